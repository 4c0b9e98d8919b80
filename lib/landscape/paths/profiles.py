"""The loss along a path: straight lines and polylines, evaluated densely.

A path is given by its vertices; the loss is evaluated at evenly spaced points
along its whole length (between the vertices too), all in one batched computation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import BatchedLoss, Classifier, as_params, as_points, check_int

__all__ = ["PathProfile", "Polyline", "arc_positions", "evaluate_points", "linear_path", "polyline_path"]


@dataclass
class PathProfile:
    """Loss along a path. ``t`` runs from 0 (first point) to 1 (last), proportional
    to the distance travelled; ``accuracy`` (training accuracy) is set on classifiers."""

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

    @property
    def barrier(self) -> float:
        """Highest loss on the path minus the mean loss of its ends."""
        return self.max_loss - self.endpoint_loss


@dataclass
class Polyline:
    """A path between two optima built by some method: its vertices (or dense samples
    of a curve), and the work it cost (gradient evaluations)."""

    method: str
    points: np.ndarray
    gradient_evaluations: int

    def profile(self, landscape, num: int = 101) -> PathProfile:
        """Loss along the whole path, between its vertices too."""
        return polyline_path(landscape, self.points, num=num)


def evaluate_points(landscape, points) -> tuple[np.ndarray, np.ndarray | None]:
    """Loss (and training accuracy, on a classifier) at every row of ``points``."""
    batch = as_points(points, landscape.dim)
    if isinstance(landscape, BatchedLoss):
        loss = landscape.losses(batch)
    else:
        loss = np.array([float(landscape.loss(p)) for p in batch], dtype=np.float32)
    accuracy = None
    if isinstance(landscape, Classifier):
        accuracy = np.array([landscape.accuracy(p) for p in batch], dtype=np.float32)
    return loss, accuracy


def arc_positions(vertices, t):
    """For positions ``t`` in [0, 1] along the polyline through ``vertices`` (by arc
    length): the segment each falls on and the fraction of the way along it."""
    vertices = np.asarray(vertices, np.float64)
    lengths = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    if lengths.sum() == 0:
        raise ValueError("points must not all be identical (the path has zero length)")
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
    t = np.asarray(t, np.float64)
    segment = np.clip(np.searchsorted(cumulative, t, side="right") - 1, 0, len(lengths) - 1)
    span = np.where(lengths[segment] > 0, cumulative[segment + 1] - cumulative[segment], 1.0)
    along = np.clip((t - cumulative[segment]) / span, 0.0, 1.0)
    return segment, along


def polyline_path(landscape, points, num: int = 101) -> PathProfile:
    """Loss at ``num`` evenly spaced points along the piecewise-linear path through ``points``."""
    num = check_int(num, "num", minimum=2)
    if len(points) < 2:
        raise ValueError(f"points must hold at least 2 vectors, got {len(points)}")
    vertices = np.stack([as_params(p, landscape.dim, f"points[{i}]").numpy() for i, p in enumerate(points)])
    t = np.linspace(0.0, 1.0, num)
    segment, along = arc_positions(vertices, t)
    samples = (1 - along[:, None]) * vertices[segment] + along[:, None] * vertices[segment + 1]
    loss, accuracy = evaluate_points(landscape, samples.astype(np.float32))
    return PathProfile(t=t, loss=loss, accuracy=accuracy)


def linear_path(landscape, a, b, num: int = 51) -> PathProfile:
    """Loss along the straight line from ``a`` to ``b`` at ``num`` evenly spaced points."""
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    if bool(np.array_equal(a.numpy(), b.numpy())):
        raise ValueError("a and b must differ (the line between identical points is a point)")
    return polyline_path(landscape, [a, b], num=num)
