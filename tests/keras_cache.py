"""Small stand-ins for Keras' downloaded datasets, in Keras' own cache layout.

The tests never download: they write MNIST and CIFAR-10 files of random images in
the layout ``keras.datasets.*.load_data()`` reads under ``$KERAS_HOME/datasets``, so
the real loading code runs. Keras checks a downloaded file's sha256 against the
real archive's; :func:`accept_fake_archives` lets exactly these files through.
"""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

CIFAR_PER_BATCH = 10_000  # Keras' loader expects the real sizes: 5 x 10,000 train, 10,000 test
MNIST_TRAIN, MNIST_TEST = 1024, 256


def write_mnist(datasets: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path = datasets / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (MNIST_TRAIN, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, MNIST_TRAIN, dtype=np.uint8),
             x_test=rng.integers(0, 256, (MNIST_TEST, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, MNIST_TEST, dtype=np.uint8))
    return path


def write_cifar10(datasets: Path, seed: int = 0) -> Path:
    """The archive Keras downloads, with mostly-constant images (it compresses to a few MB)."""
    rng = np.random.default_rng(seed)
    path = datasets / "cifar-10-batches-py-target_archive"
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = rng.integers(0, 10, CIFAR_PER_BATCH)
            images = np.repeat((labels * 25).astype(np.uint8)[:, None], 3072, axis=1)
            images[:, :16] = rng.integers(0, 256, (CIFAR_PER_BATCH, 16), dtype=np.uint8)
            payload = pickle.dumps({b"data": images, b"labels": labels.tolist()}, protocol=4)  # numpy arrays as _reconstruct + bytes, which Keras allows
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def write_keras_home(home: Path) -> Path:
    datasets = home / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    write_mnist(datasets)
    write_cifar10(datasets)
    return home


def accept_fake_archives(home: Path) -> None:
    """Point Keras at ``home`` (in this process) and accept the files under it whatever
    their hash (test data only)."""
    from keras.src.backend import config
    from keras.src.utils import file_utils

    config._KERAS_DIR = str(home)
    original = file_utils.validate_file

    def validate(fpath, file_hash, algorithm="auto", chunk_size=65535):
        if Path(fpath).resolve().is_relative_to(Path(home).resolve()):
            return True
        return original(fpath, file_hash, algorithm=algorithm, chunk_size=chunk_size)

    file_utils.validate_file = validate
