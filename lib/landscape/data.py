"""Datasets as plain arrays.

Two datasets work offline: ``digits`` (8x8 handwritten digits, ships with
scikit-learn; the ``quick`` scale's default) and ``mnist1d`` (MNIST-1D, Greydanus
2020: 10,000 one-dimensional signals of 40 samples generated in memory by the
``mnist1d`` package, made for science-of-deep-learning experiments on a CPU; a
CNN beats an MLP on it by a wide margin). The others are downloaded by Keras on
first use (and cached in ``~/.keras/datasets``); offline, loading them fails
with :class:`DatasetUnavailableError`, which says what to do.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .core import check_choice, check_int, check_seed

__all__ = ["Dataset", "DatasetUnavailableError", "DATASETS", "load_dataset"]

# name -> (keras.datasets module, cache file Keras writes, number of classes)
_KERAS_DATASETS = {
    "mnist": ("mnist", "mnist.npz", 10),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist (4 .gz files)", 10),
    "cifar10": ("cifar10", "cifar-10-batches-py.tar.gz", 10),
    "cifar100": ("cifar100", "cifar-100-python.tar.gz", 100),
}
DATASETS = ("digits", "mnist1d") + tuple(_KERAS_DATASETS)
MNIST1D_SAMPLES = 10_000  # 8,000 train / 2,000 test


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
    elif name == "mnist1d":
        x_train, y_train, x_test, y_test, num_classes = _load_mnist1d()
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


def _load_mnist1d():
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = MNIST1D_SAMPLES
    # make_dataset reseeds Python's and NumPy's global generators: keep the caller's streams.
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        generated = make_dataset(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)

    def signals(x):
        return np.asarray(x, np.float32)[..., None]

    return (signals(generated["x"]), np.asarray(generated["y"], np.int32),
            signals(generated["x_test"]), np.asarray(generated["y_test"], np.int32), 10)


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
