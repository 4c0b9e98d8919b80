"""Datasets as plain arrays.

``digits`` (8x8 handwritten digits) ships with scikit-learn and works offline:
it is the dataset of the ``quick`` scale. The others are downloaded by Keras on
first use (and cached in ``~/.keras/datasets``); offline, loading them fails with
:class:`DatasetUnavailableError`, which says what to do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import check_int

__all__ = ["Dataset", "DatasetUnavailableError", "DATASETS", "load_dataset"]

# name -> (keras.datasets module, cache file Keras writes, number of classes)
_KERAS_DATASETS = {
    "mnist": ("mnist", "mnist.npz", 10),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist (4 .gz files)", 10),
    "cifar10": ("cifar10", "cifar-10-batches-py.tar.gz", 10),
    "cifar100": ("cifar100", "cifar-100-python.tar.gz", 100),
}
DATASETS = ("digits",) + tuple(_KERAS_DATASETS)


class DatasetUnavailableError(RuntimeError):
    """A dataset that must be downloaded could not be."""


@dataclass
class Dataset:
    """Images scaled to [0, 1] with shape (N, H, W, C), float32; integer labels."""

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
        return (
            f"Dataset({self.name!r}: {len(self.x_train)} train, {len(self.x_test)} test, "
            f"input {self.input_shape}, {self.num_classes} classes)"
        )


def load_dataset(name: str = "digits", *, max_train: int | None = None, max_test: int | None = None,
                 seed: int = 0) -> Dataset:
    """Load a dataset by name: one of ``DATASETS``.

    ``max_train``/``max_test`` keep a seeded random subset (for quick runs);
    ``seed`` also fixes the train/test split of ``digits`` (80/20, stratified).
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}")
    seed = check_int(seed, "seed", minimum=0)
    if max_train is not None:
        max_train = check_int(max_train, "max_train", minimum=1)
    if max_test is not None:
        max_test = check_int(max_test, "max_test", minimum=1)

    if name == "digits":
        x_train, y_train, x_test, y_test, num_classes = _load_digits(seed)
    else:
        x_train, y_train, x_test, y_test, num_classes = _load_keras(name)

    rng = np.random.default_rng(seed)
    if max_train is not None and max_train < len(x_train):
        keep = np.sort(rng.choice(len(x_train), max_train, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    if max_test is not None and max_test < len(x_test):
        keep = np.sort(rng.choice(len(x_test), max_test, replace=False))
        x_test, y_test = x_test[keep], y_test[keep]
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes)


def _load_digits(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=seed, stratify=labels
    )
    return x_train, y_train, x_test, y_test, 10


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
            f"from a machine that has it. To run offline now, use load_dataset('digits'), which "
            f"ships with scikit-learn (the 'quick' scale does)."
        ) from error
    x_train = _as_images(x_train)
    x_test = _as_images(x_test)
    return x_train, y_train.reshape(-1).astype(np.int32), x_test, y_test.reshape(-1).astype(np.int32), num_classes


def _as_images(x):
    x = x.astype(np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x
