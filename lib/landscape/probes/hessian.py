"""Curvature at a point: one object, a few verbs (after PyHessian).

>>> hessian = Hessian(landscape, params)
>>> hessian.eigenvalues()          # all of them (exact), or the k largest by Lanczos
>>> hessian.trace()                # Hutchinson's estimate
>>> hessian.vector_product(v)

A *short* direction is one in which the low-loss region is thin. On a real network
we count Hessian eigenvalues above a stated threshold; on the toy landscape the
Hessian says little (the loss is a distance, not smooth where wedges meet), and
the toy counts its short directions itself (:class:`~landscape.core.CountsShortDirections`).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..core import (CountsShortDirections, as_params, as_points, check_choice, check_int, check_positive, check_seed,
                    compiled)
from ..scale import is_dry_run

__all__ = ["MAX_EXACT_DIM", "Hessian", "quadratic_basins", "hessian_eigenvalues", "hessian_vector_product", "count_above", "count_curve",
           "short_directions"]

MAX_EXACT_DIM = 4096  # above this the Hessian is not formed; Lanczos is used
BLOCK_ROWS = 256  # Hessian columns per compiled call when forming it: bounds memory, amortizes the call
METHODS = ("auto", "exact", "lanczos")


def _hvp_graph(landscape, params, vector):
    with tf.GradientTape() as outer:
        outer.watch(params)
        with tf.GradientTape() as inner:
            inner.watch(params)
            loss = landscape.loss_graph(params)
        grad = inner.gradient(loss, params)
    return outer.gradient(grad, params, output_gradients=vector)


@compiled
def _hvp(landscape, params, vector):
    return _hvp_graph(landscape, params, vector)


@compiled
def _hessian_block(landscape, params, vectors):
    return tf.map_fn(lambda v: _hvp_graph(landscape, params, v), vectors)


class Hessian:
    """The Hessian of ``landscape``'s full loss at ``params``, never formed unless asked.

    Any landscape works (the protocol's ``loss_graph`` is differentiated twice); on
    the toy it is exact but says little (see the module docstring).
    """

    def __init__(self, landscape, params):
        self.landscape = landscape
        self.dim = landscape.dim
        self.params = as_params(params, self.dim, "params")
        self._matrix = None  # formed once, on demand (it is the costly part)
        self._spectrum = None

    def vector_product(self, vector) -> tf.Tensor:
        """H @ vector, by differentiating the gradient."""
        return _hvp(self.landscape, self.params, as_params(vector, self.dim, "vector"))

    def matrix(self) -> np.ndarray:
        """The whole (symmetrized) Hessian, float64; dim <= MAX_EXACT_DIM. Formed once."""
        if self._matrix is not None:
            return self._matrix
        if self.dim > MAX_EXACT_DIM:
            raise ValueError(f"the Hessian is formed only for dim <= {MAX_EXACT_DIM}, got {self.dim}; "
                             "use eigenvalues(k=...) (Lanczos)")
        blocks = [_hessian_block(self.landscape, self.params,
                                 tf.one_hot(tf.range(start, min(start + BLOCK_ROWS, self.dim)), self.dim)).numpy()
                  for start in range(0, self.dim, BLOCK_ROWS)]
        hessian = np.concatenate(blocks).astype(np.float64)
        self._matrix = 0.5 * (hessian + hessian.T)
        return self._matrix

    def eigh(self, above: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (ascending) and eigenvectors (columns), from the formed Hessian: all of
        them (kept for :meth:`eigenvalues`), or with ``above`` only those above it, found by
        LAPACK's subset solver in single precision, several times faster when they are a
        minority (the Hessian's entries are single-precision sums to begin with)."""
        if above is None:
            values, vectors = np.linalg.eigh(self.matrix())
            self._spectrum = values[::-1]
            return values, vectors
        from scipy.linalg import eigh

        above = float(above)
        if not np.isfinite(above):
            raise ValueError(f"above must be a finite threshold, got {above!r}")
        values, vectors = eigh(self.matrix().astype(np.float32), subset_by_value=(above, np.inf), driver="evr")
        return values.astype(np.float64), vectors.astype(np.float64)

    def eigenvalues(self, k: int | None = None, *, which: str = "largest", method: str = "auto",
                    above: float | None = None) -> np.ndarray:
        """Eigenvalues, largest first.

        ``method="exact"`` forms the Hessian (dim <= MAX_EXACT_DIM) and returns all
        of them (``k`` ignored); ``"lanczos"`` returns the ``k`` largest (or smallest,
        ``which="smallest"``) by SciPy's eigsh on Hessian-vector products; ``"auto"``
        is exact when the dimension allows.

        ``above``: a threshold the caller will count eigenvalues above (see
        :func:`count_above`). If all ``k`` largest exceed it, ``k`` is doubled until one
        does not, so the count is known rather than a lower bound (a ``k`` chosen for
        one network need not suffice for another). Not at ``paper-dry-run``, where the
        work is cut and nothing is measured.
        """
        check_choice(method, "method", METHODS)
        check_choice(which, "which", ("largest", "smallest"))
        if above is not None:
            above = float(above)
            if not np.isfinite(above):
                raise ValueError(f"above must be a finite threshold, got {above!r}")
            if which != "largest":
                raise ValueError("above applies to the largest eigenvalues only (which='largest')")
        if method == "auto":
            method = "exact" if self.dim <= MAX_EXACT_DIM else "lanczos"
        if method == "exact":
            if self._spectrum is None:
                self._spectrum = np.linalg.eigvalsh(self.matrix())[::-1]
            return self._spectrum
        if k is None:
            raise ValueError("k is required with method='lanczos' (how many eigenvalues to compute)")
        k = check_int(k, "k", minimum=1, maximum=self.dim - 1)
        values = self._lanczos(k, which)
        while (above is not None and values[-1] > above and len(values) < self.dim - 1
               and not is_dry_run()):
            values = self._lanczos(min(2 * len(values), self.dim - 1), which)
        return values

    def _lanczos(self, k: int, which: str) -> np.ndarray:
        from scipy.sparse.linalg import LinearOperator, eigsh

        operator = LinearOperator((self.dim, self.dim), dtype=np.float64, matvec=lambda v: _hvp(
            self.landscape, self.params, tf.constant(np.asarray(v, np.float32).ravel())).numpy())
        values = eigsh(operator, k=k, which="LA" if which == "largest" else "SA",
                       return_eigenvectors=False, tol=1e-4)
        return np.sort(values)[::-1]

    def numerical_floor(self) -> float:
        """The size of the most negative eigenvalue (0 if none): at a minimum the
        Hessian has none, so this is the scale below which eigenvalues are noise."""
        if self.dim <= MAX_EXACT_DIM:
            smallest = float(self.eigenvalues(method="exact")[-1])
        else:
            smallest = float(self.eigenvalues(1, which="smallest", method="lanczos")[0])
        return max(0.0, -smallest)

    def trace(self, num_samples: int = 100, seed: int = 0) -> float:
        """Hutchinson's estimate of the trace: the mean of v.Hv over Rademacher v."""
        num_samples = check_int(num_samples, "num_samples", minimum=1)
        rng = np.random.default_rng(check_seed(seed))
        signs = tf.constant(rng.choice(np.array([-1.0, 1.0], np.float32), size=(num_samples, self.dim)))
        products = _hessian_block(self.landscape, self.params, signs)
        return float(tf.reduce_mean(tf.reduce_sum(signs * products, axis=1)))


def hessian_vector_product(landscape, params, vector) -> tf.Tensor:
    """H(params) @ vector, by differentiating the gradient (no Hessian is formed)."""
    return Hessian(landscape, params).vector_product(vector)


def hessian_eigenvalues(landscape, params, *, method: str = "auto", k: int = 100) -> np.ndarray:
    """Hessian eigenvalues at ``params``, largest first (see :meth:`Hessian.eigenvalues`)."""
    return Hessian(landscape, params).eigenvalues(k, method=method)


def count_above(eigenvalues, threshold: float, dim: int, *, strict: bool = True) -> int | None:
    """The number of ``eigenvalues`` above ``threshold``, where ``eigenvalues`` may be only the
    largest few of a ``dim`` x ``dim`` Hessian (Lanczos). If all of them exceed the
    threshold the true count is unknown (only a lower bound): that is an error, not a
    number (``strict=False`` returns None instead, for a lesson to show "unknown");
    ``Hessian.eigenvalues(k, above=threshold)`` computes enough of them. At
    ``paper-dry-run`` (work cut, nothing measured) the lower bound is returned."""
    eigenvalues = np.asarray(eigenvalues)
    threshold = check_positive(threshold, "threshold")
    count = int(np.sum(eigenvalues > threshold))
    if count == len(eigenvalues) < dim and not is_dry_run():
        if not strict:
            return None
        raise ValueError(f"all {count} computed eigenvalues exceed threshold={threshold:g}: the count is only a "
                         f"lower bound; compute more eigenvalues (raise k, was {len(eigenvalues)})")
    return count


def count_curve(eigenvalues, thresholds, dim: int) -> np.ndarray:
    """``count_above`` for every threshold, with nan where only a lower bound is known (for plots)."""
    eigenvalues = np.asarray(eigenvalues)
    counts = np.array([np.sum(eigenvalues > t) for t in np.asarray(thresholds)], dtype=float)
    if len(eigenvalues) < dim:
        counts[counts == len(eigenvalues)] = np.nan
    return counts


def short_directions(landscape, params, *, threshold: float | None = None, tolerance: float = 1e-2,
                     method: str = "auto", k: int = 100) -> int:
    """The number of short directions at ``params``.

    A landscape that knows them by construction (the toy) counts them itself, with
    ``tolerance``. On a real network: Hessian eigenvalues above the absolute
    ``threshold`` (required: the choice decides the count, so it must be stated).
    With Lanczos only the ``k`` largest are known; a count that reaches ``k`` is only
    a lower bound and raises an error asking for a larger ``k``. A threshold below the
    numerical floor (the most negative eigenvalue's size) counts noise: an error too.
    """
    if isinstance(landscape, CountsShortDirections):
        return landscape.short_directions(params, tolerance)
    if threshold is None:
        raise ValueError("threshold is required on a real network: the count of Hessian eigenvalues "
                         "depends on it (e.g. threshold=1e-4)")
    threshold = check_positive(threshold, "threshold")
    hessian = Hessian(landscape, params)
    eigenvalues = hessian.eigenvalues(k, method=method)
    floor = max(0.0, -float(eigenvalues[-1])) if len(eigenvalues) == hessian.dim else hessian.numerical_floor()
    if threshold <= floor:
        raise ValueError(f"threshold={threshold:g} is at or below the numerical floor {floor:.3g} (the most "
                         "negative eigenvalue's size): the count would include noise; raise the threshold")
    return count_above(eigenvalues, threshold, hessian.dim)


def quadratic_basins(landscape, optima, *, threshold: float = 1e-4, hessian_landscape=None):
    """A null model without wedges, built from a landscape itself: one quadratic basin around
    each optimum (:class:`landscape.toy.QuadraticBasins`), curved as the exact Hessian there in
    its eigen-directions above ``threshold`` and flat in the others, at the optimum's own loss.
    ``hessian_landscape`` (default ``landscape``) is what the Hessians are computed on, e.g. a
    subset of the training examples. Needs dim <= MAX_EXACT_DIM (the Hessians are formed)."""
    from ..toy import QuadraticBasins

    hessian_landscape = landscape if hessian_landscape is None else hessian_landscape
    optima = as_points(optima, landscape.dim).numpy()
    threshold = check_positive(threshold, "threshold")
    curved = []
    for point in optima:
        curved.append(Hessian(hessian_landscape, point).eigh(above=threshold))
    rank = max(1, max(len(values) for values, _ in curved))  # pad the others with flat (zero) directions
    return QuadraticBasins(optima, [np.pad(values, (0, rank - len(values))) for values, _ in curved],
                           [np.pad(vectors, ((0, 0), (0, rank - vectors.shape[1]))) for _, vectors in curved],
                           losses=[float(landscape.loss(point)) for point in optima])
