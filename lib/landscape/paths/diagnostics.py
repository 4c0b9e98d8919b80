"""What a path between two optima reveals: how it leaves the straight line, and how
the network's predictions change along it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import Classifier, as_params, as_points, check_choice, check_fraction, check_int, check_seed

__all__ = ["deviations", "cosine_similarity_matrix", "half_alignment", "block_contrast", "LabelChanges",
           "label_changes", "bootstrap_interval"]


def deviations(a, b, points) -> np.ndarray:
    """How far each point is from the straight line a-b: the point minus its
    orthogonal projection on the line (the paper's Figure 3 idea)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be vectors of the same length, got shapes {a.shape} and {b.shape}")
    direction = b - a
    if not np.any(direction):
        raise ValueError("a and b must differ (the line between identical points has no direction)")
    points = as_points(points, a.size).numpy().astype(np.float64)
    along = (points - a) @ direction / (direction @ direction)
    return points - (a + along[:, None] * direction)


def cosine_similarity_matrix(vectors) -> np.ndarray:
    """Cosine similarity between every pair of rows (rows of zero length give 0)."""
    vectors = np.asarray(vectors, np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (one vector per row), got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    return unit @ unit.T


def half_alignment(vectors) -> tuple[float, float]:
    """Mean cosine similarity of the rows of ``vectors`` within each half (pairs of
    different rows, both halves averaged) and across the halves. With an odd
    number of rows the middle one is left out: it belongs to neither half."""
    similarity = cosine_similarity_matrix(vectors)
    half = len(similarity) // 2
    if half < 2:
        raise ValueError(f"vectors must hold at least 4 rows (2 per half), got {len(similarity)}")
    first, second = np.arange(half), np.arange(len(similarity) - half, len(similarity))
    off_diagonal = ~np.eye(half, dtype=bool)
    within = 0.5 * (similarity[np.ix_(first, first)][off_diagonal].mean()
                    + similarity[np.ix_(second, second)][off_diagonal].mean())
    return float(within), float(similarity[np.ix_(first, second)].mean())


def block_contrast(vectors) -> float:
    """Two blocks, or a band? The mean cosine similarity of pairs of rows in the same half
    minus that of pairs in different halves *the same number of rows apart*, averaged over
    the separations at which both kinds of pair exist.

    :func:`half_alignment` cannot tell two blocks from a band: if each row resembles its
    neighbours and less and less the rows farther away (a path that turns gradually), rows
    of one half are closer together on average than rows of different halves, so "within"
    exceeds "across" without any switch. Comparing pairs at equal separation removes that:
    a band gives about 0, two blocks (aligned within each half, not across) a positive value.
    With an odd number of rows the middle one is left out, as in :func:`half_alignment`.
    """
    similarity = cosine_similarity_matrix(vectors)
    half = len(similarity) // 2
    if half < 2:
        raise ValueError(f"vectors must hold at least 4 rows (2 per half), got {len(similarity)}")
    rows = np.concatenate([np.arange(half), np.arange(len(similarity) - half, len(similarity))])
    in_first = np.arange(2 * half) < half
    contrasts = []
    for lag in range(1, 2 * half):
        i = np.arange(2 * half - lag)
        j = i + lag
        same = in_first[i] == in_first[j]
        if same.any() and (~same).any():
            values = similarity[rows[i], rows[j]]
            contrasts.append(values[same].mean() - values[~same].mean())
    return float(np.mean(contrasts))


@dataclass
class LabelChanges:
    """Predictions along a path compared with those at its ends, example by example.

    ``differs_from_a[i, j]``: the label predicted at point i for example j differs
    from the one predicted at ``a`` (likewise for ``b``).
    """

    differs_from_a: np.ndarray
    differs_from_b: np.ndarray

    @property
    def from_a(self) -> np.ndarray:
        """Fraction of examples whose label at each point differs from a's."""
        return self.differs_from_a.mean(axis=1)

    @property
    def from_b(self) -> np.ndarray:
        return self.differs_from_b.mean(axis=1)


def label_changes(landscape, points, a, b, split: str = "test") -> LabelChanges:
    """Compare the labels predicted at each of ``points`` with those at ``a`` and ``b``,
    on the examples of ``split`` ("train" or "test"; classifiers only). Two optima
    that fit the training set both predict its true labels, so the test split is the
    default: there the two functions differ."""
    if not isinstance(landscape, Classifier):
        raise TypeError(f"label_changes needs a classifier landscape (a ModelLandscape), got "
                        f"{type(landscape).__name__}")
    inputs, _ = landscape.split(check_choice(split, "split", ("train", "test")))
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    at_a, at_b = landscape.predict(a, inputs), landscape.predict(b, inputs)
    predictions = np.stack([landscape.predict(p, inputs) for p in as_points(points, landscape.dim)])
    return LabelChanges(differs_from_a=predictions != at_a, differs_from_b=predictions != at_b)


def bootstrap_interval(values, *, level: float = 0.9, num: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` over their last axis
    (the examples): examples are resampled with replacement ``num`` times. For a 2-D
    array the statistic is the mean over rows of the per-row means."""
    values = np.asarray(values, np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] < 2:
        raise ValueError(f"values must be a 1-D or 2-D array with at least 2 examples, got shape {values.shape}")
    level = check_fraction(level, "level")
    num = check_int(num, "num", minimum=10)
    rng = np.random.default_rng(check_seed(seed))
    resamples = rng.integers(0, values.shape[-1], size=(num, values.shape[-1]))
    means = values[..., resamples].mean(axis=-1)
    statistics = means.mean(axis=0) if values.ndim == 2 else means
    low, high = np.quantile(statistics, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
