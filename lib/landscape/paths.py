"""Paths between optima and the loss along them.

``linear_path`` is the straight line; ``polyline_path`` any piecewise-linear path
(a tunnel's optimized points joined by segments), evaluated densely, between
its vertices too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import as_params, check_int

__all__ = ["PathProfile", "linear_path", "polyline_path", "evaluate_points"]


@dataclass
class PathProfile:
    """Loss along a path. ``t`` runs from 0 (first point) to 1 (last), proportional
    to the distance travelled; ``accuracy`` is set on real networks."""

    t: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray | None = None

    @property
    def max_loss(self) -> float:
        return float(np.max(self.loss))

    @property
    def endpoint_loss(self) -> float:
        """Mean loss of the two ends."""
        return float(0.5 * (self.loss[0] + self.loss[-1]))


def evaluate_points(landscape, points) -> tuple[np.ndarray, np.ndarray | None]:
    """Loss (and accuracy, where the landscape has one) at every row of ``points``."""
    points = np.asarray(points, dtype=np.float32)
    if hasattr(landscape, "losses"):
        loss = landscape.losses(points)
    else:
        loss = np.array([float(landscape.loss(p)) for p in points], dtype=np.float32)
    accuracy = None
    if hasattr(landscape, "accuracy"):
        accuracy = np.array([landscape.accuracy(p) for p in points], dtype=np.float32)
    return loss, accuracy


def polyline_path(landscape, points, num: int = 101) -> PathProfile:
    """Loss at ``num`` evenly spaced points along the piecewise-linear path through ``points``."""
    num = check_int(num, "num", minimum=2)
    vertices = [as_params(p, landscape.dim, f"points[{i}]").numpy() for i, p in enumerate(points)]
    if len(vertices) < 2:
        raise ValueError(f"points must hold at least 2 vectors, got {len(vertices)}")
    vertices = np.stack(vertices)
    lengths = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    if lengths.sum() == 0:
        raise ValueError("points must not all be identical (the path has zero length)")
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
    t = np.linspace(0.0, 1.0, num)
    # For each t: the segment it falls on and how far along that segment.
    segment = np.clip(np.searchsorted(cumulative, t, side="right") - 1, 0, len(lengths) - 1)
    span = np.where(lengths[segment] > 0, cumulative[segment + 1] - cumulative[segment], 1.0)
    along = np.clip((t - cumulative[segment]) / span, 0.0, 1.0)[:, None]
    samples = (1 - along) * vertices[segment] + along * vertices[segment + 1]
    loss, accuracy = evaluate_points(landscape, samples)
    return PathProfile(t=t, loss=loss, accuracy=accuracy)


def linear_path(landscape, a, b, num: int = 51) -> PathProfile:
    """Loss along the straight line from ``a`` to ``b`` at ``num`` evenly spaced points."""
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    if bool(np.array_equal(a.numpy(), b.numpy())):
        raise ValueError("a and b must differ (the line between identical points is a point)")
    return polyline_path(landscape, [a, b], num=num)
