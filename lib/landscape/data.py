"""Datasets as plain arrays.

Two datasets work offline: ``digits`` (8x8 handwritten digits, ships with
scikit-learn; the ``quick`` scale's default) and ``mnist1d`` (MNIST-1D, Greydanus
2020: 10,000 one-dimensional signals of 40 samples generated in memory, exactly as
the ``mnist1d`` package generates them, made for science-of-deep-learning experiments
on a CPU; a CNN beats an MLP on it by a wide margin), and ``mnist1d_large`` (the same
generator, 25,000 signals: test sets of 5,000 that resolve a point of accuracy, for the
``medium`` scale). The others are downloaded by Keras on
first use (and cached in ``~/.keras/datasets``); offline, loading them fails
with :class:`DatasetUnavailableError`, which says what to do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import check_choice, check_int, check_seed

__all__ = ["Dataset", "DatasetUnavailableError", "DATASETS", "load_dataset", "make_mnist1d"]

# name -> (keras.datasets module, cache file Keras writes, number of classes)
_KERAS_DATASETS = {
    "mnist": ("mnist", "mnist.npz", 10),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist (4 .gz files)", 10),
    "cifar10": ("cifar10", "cifar-10-batches-py.tar.gz", 10),
    "cifar100": ("cifar100", "cifar-100-python.tar.gz", 100),
}
DATASETS = ("digits", "mnist1d", "mnist1d_large") + tuple(_KERAS_DATASETS)
MNIST1D_SAMPLES = 10_000  # 8,000 train / 2,000 test
MNIST1D_LARGE_SAMPLES = 25_000  # 20,000 train / 5,000 test: test sets that resolve a point of accuracy


class DatasetUnavailableError(RuntimeError):
    """A dataset that must be downloaded could not be."""


@dataclass
class Dataset:
    """Inputs as float32 arrays (images (N, H, W, C) scaled to [0, 1]; signals (N, L, 1)),
    integer labels in [0, num_classes)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {len(self.x_train)} train, {len(self.x_test)} test, "
                f"input {self.input_shape}, {self.num_classes} classes)")


def load_dataset(name: str = "digits", *, max_train: int | None = None, max_test: int | None = None,
                 seed: int = 0) -> Dataset:
    """Load a dataset by name: one of ``DATASETS``.

    ``max_train``/``max_test`` keep a seeded random subset (for quick runs);
    ``seed`` also fixes the train/test split of ``digits`` (80/20, stratified).
    """
    check_choice(name, "name", DATASETS)
    seed = check_seed(seed)
    if max_train is not None:
        max_train = check_int(max_train, "max_train", minimum=1)
    if max_test is not None:
        max_test = check_int(max_test, "max_test", minimum=1)

    if name == "digits":
        x_train, y_train, x_test, y_test, num_classes = _load_digits(seed)
    elif name in ("mnist1d", "mnist1d_large"):
        x_train, y_train, x_test, y_test, num_classes = _load_mnist1d(
            MNIST1D_SAMPLES if name == "mnist1d" else MNIST1D_LARGE_SAMPLES)
    else:
        x_train, y_train, x_test, y_test, num_classes = _load_keras(name)

    rng = np.random.default_rng(seed)
    if max_train is not None and max_train < len(x_train):
        keep = np.sort(rng.choice(len(x_train), max_train, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    if max_test is not None and max_test < len(x_test):
        keep = np.sort(rng.choice(len(x_test), max_test, replace=False))
        x_test, y_test = x_test[keep], y_test[keep]
    if x_train.dtype == np.uint8:  # Keras' images: scale to [0, 1]
        x_train, x_test = (x.astype(np.float32) / 255.0 for x in (x_train, x_test))
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes)


def _load_digits(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=seed, stratify=labels)
    return x_train, y_train, x_test, y_test, 10


# MNIST-1D's generator (the ``mnist1d`` package, Greydanus 2020), vectorized. The package
# builds its examples one at a time (several seconds for 10,000, plus importing it); here
# the same random numbers are drawn in the same order from a private generator seeded as
# the package seeds NumPy's global one, and the arithmetic (interp1d's linear formula,
# the same Gaussian filter) is done on all examples at once: the result is bit-identical
# (tests/test_models_data.py compares it with the package) in a fraction of a second, and
# NumPy's global random state is never touched.
MNIST1D_ARGS = dict(train_split=0.8, template_len=12, padding=(36, 60), scale_coeff=0.4, max_translation=48,
                    corr_noise_scale=0.25, iid_noise_scale=2e-2, shear_scale=0.75, final_seq_length=40, seed=42)


def _mnist1d_templates() -> np.ndarray:
    digits = np.asarray([
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5], [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5], [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5], [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5], [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5], [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5]])
    digits -= digits.mean(1, keepdims=True)
    digits /= digits.std(1, keepdims=True)
    digits -= digits[:, :1]  # signals start and end at 0
    return digits / 6.0


def _interpolate(rows: np.ndarray, length: int) -> np.ndarray:
    """Each row resampled linearly to ``length`` points, with the arithmetic of
    ``np.interp`` (which scipy's interp1d calls for one row): the segment whose left
    end is at or below the point, and the last value exactly at the right end."""
    old = np.linspace(0, 1, rows.shape[-1])
    new = np.linspace(0, 1, length)
    lo = np.clip(np.searchsorted(old, new, side="right") - 1, 0, len(old) - 2)
    slope = (rows[..., lo + 1] - rows[..., lo]) / (old[lo + 1] - old[lo])
    values = slope * (new - old[lo]) + rows[..., lo]
    return np.where(new >= old[-1], rows[..., -1:], values)


def make_mnist1d(num_samples: int = MNIST1D_SAMPLES, seed: int = 42):
    """MNIST-1D as ``mnist1d.data.make_dataset`` makes it with the package's default
    arguments: ``(x_train, y_train, x_test, y_test)``, signals (N, 40) float64 and
    integer labels, 80% train. NumPy's global random state is left untouched."""
    from scipy.ndimage import gaussian_filter1d

    num_samples = check_int(num_samples, "num_samples", minimum=10)
    a = MNIST1D_ARGS
    templates = _mnist1d_templates()
    per_class = num_samples // 10
    count = per_class * 10
    low, high = a["padding"]
    length = a["template_len"] + high  # every padded template is dilated to this length
    rng = np.random.RandomState(check_seed(seed))  # the package's stream: np.random.seed(seed)
    pad = np.empty(count, int)
    scale, shift, shear = np.empty(count), np.empty(count, int), np.empty(count)
    correlated, independent = np.empty((count, length)), np.empty((count, length))
    for i in range(count):  # the package's draws, in its order
        pad[i] = low + int(rng.rand() * (high - low + 1))
        scale[i] = rng.rand()
        shift[i] = rng.choice(a["max_translation"])
        correlated[i] = rng.randn(length)
        independent[i] = rng.randn(length)
        shear[i] = rng.rand()
    order = rng.permutation(count)
    labels = np.repeat(np.arange(10), per_class)
    x = np.empty((count, length))
    for padding in np.unique(pad):  # pad with zeros, then dilate (grouped by padding)
        rows = pad == padding
        padded = np.concatenate([templates[labels[rows]] + 1e-8, np.zeros((rows.sum(), padding))], axis=1)
        x[rows] = _interpolate(padded, length)
    x *= (1 + a["scale_coeff"] * (scale - 0.5))[:, None]
    x = x[np.arange(count)[:, None], (np.arange(length)[None, :] - shift[:, None]) % length]  # translate
    noise = gaussian_filter1d(a["corr_noise_scale"] * correlated, 2, axis=-1)
    mask = x != 0
    x = mask * x + (1 - mask) * noise
    x = x + a["iid_noise_scale"] * independent
    x = x - (a["shear_scale"] * (shear - 0.5))[:, None] * np.linspace(-0.5, 0.5, length)
    x = _interpolate(x, a["final_seq_length"])[order]
    y = labels[order]
    x = (x - x.mean()) / x.std()
    split = int(count * a["train_split"])
    return x[:split], y[:split], x[split:], y[split:]


def _load_mnist1d(num_samples: int):
    x_train, y_train, x_test, y_test = make_mnist1d(num_samples)

    def signals(x):
        return np.asarray(x, np.float32)[..., None]

    return signals(x_train), y_train.astype(np.int32), signals(x_test), y_test.astype(np.int32), 10


def _load_keras(name):
    import tensorflow as tf

    module, filename, num_classes = _KERAS_DATASETS[name]
    try:
        (x_train, y_train), (x_test, y_test) = getattr(tf.keras.datasets, module).load_data()
    except Exception as error:  # Keras raises several types for a failed download
        raise DatasetUnavailableError(
            f"Could not load {name!r}: Keras downloads it on first use and that failed "
            f"({type(error).__name__}: {error}). To fix: connect to the internet once (the file "
            f"is then cached in ~/.keras/datasets/), or copy {filename} into ~/.keras/datasets/ "
            f"from a machine that has it. To run offline now, use load_dataset('digits') or "
            f"load_dataset('mnist1d'), which need no download (the 'quick' scale does)."
        ) from error
    # Still bytes: load_dataset subsets them before they become floats (4 times larger).
    x_train, x_test = (x[..., None] if x.ndim == 3 else x for x in (x_train, x_test))
    return x_train, y_train.reshape(-1).astype(np.int32), x_test, y_test.reshape(-1).astype(np.int32), num_classes
