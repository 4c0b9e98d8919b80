"""Geometry of high dimensions that 2D pictures hide (Chapter 1).

Each function returns plain numpy arrays so a lesson can plot them and check a
closed-form prediction against a simulation.
"""
from __future__ import annotations

import numpy as np

from .core import check_fraction, check_int, check_seed

__all__ = ["random_cosines", "gaussian_norms", "shell_volume_fraction", "line_distance_to_subspace"]


def random_cosines(dim: int, num_pairs: int = 1000, seed: int = 0) -> np.ndarray:
    """Cosine similarity of ``num_pairs`` pairs of independent random directions in R^dim.

    Their spread shrinks like 1/sqrt(dim): random directions are nearly orthogonal.
    """
    dim = check_int(dim, "dim", minimum=2)
    num_pairs = check_int(num_pairs, "num_pairs", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    u = rng.standard_normal((num_pairs, dim))
    v = rng.standard_normal((num_pairs, dim))
    return np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))


def gaussian_norms(dim: int, num: int = 1000, seed: int = 0) -> np.ndarray:
    """Norms of standard Gaussian vectors in R^dim, divided by sqrt(dim).

    They concentrate at 1: almost all of a Gaussian's mass sits in a thin shell.
    """
    dim = check_int(dim, "dim", minimum=1)
    num = check_int(num, "num", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    return np.linalg.norm(rng.standard_normal((num, dim)), axis=1) / np.sqrt(dim)


def shell_volume_fraction(dim, thickness: float) -> np.ndarray:
    """Fraction of a unit ball's volume within ``thickness`` of its surface: 1 - (1 - t)^dim."""
    thickness = check_fraction(thickness, "thickness")
    try:
        dim = np.asarray(dim, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"dim must be a number or an array of numbers, got {dim!r}") from None
    if not np.all(np.isfinite(dim)) or np.any(dim < 1):
        raise ValueError(f"dim must hold finite numbers >= 1, got {dim!r}")
    return 1.0 - (1.0 - thickness) ** dim


def line_distance_to_subspace(dim: int, n: int, num_lines: int = 1000, seed: int = 0) -> np.ndarray:
    """Closest approach of random lines to an n-dimensional coordinate subspace of R^dim.

    Each line passes through a standard Gaussian point with a uniformly random
    direction. Only the dim - n coordinates off the subspace matter: the line's
    shadow there is a line a + t b, whose distance to the origin is
    ||a - (a.b / b.b) b||. For n = dim - 1 (a hyperplane, like a line in 2D) every
    line crosses; for n <= dim - 2 a random line almost surely misses.
    """
    dim = check_int(dim, "dim", minimum=1)
    n = check_int(n, "n", minimum=0, maximum=dim - 1)
    num_lines = check_int(num_lines, "num_lines", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    a = rng.standard_normal((num_lines, dim - n))
    b = rng.standard_normal((num_lines, dim - n))
    along = np.sum(a * b, axis=1, keepdims=True) / np.sum(b * b, axis=1, keepdims=True)
    return np.linalg.norm(a - along * b, axis=1)
