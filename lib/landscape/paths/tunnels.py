"""The paper's low-loss tunnel: optimize points of the line inside hyperplanes normal to it.

This is the nudged elastic band method without springs (Jonsson et al. 1998); the
refinement (insert an optimized point at the highest point of the path, repeat) is
the idea of AutoNEB (Draxler et al. 2018).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .. import train
from ..core import (BatchedLoss, as_params, as_points, check_int, check_positive, compiled_loss, compiled_loss_and_grad,
                    reused, value_and_gradient)
from .profiles import Polyline, arc_positions, linear_path, polyline_path

__all__ = ["HyperplaneLandscape", "build_tunnel", "tunnel_resolution", "ResolutionTrend", "resolution_trend"]


class HyperplaneLandscape:
    """A landscape restricted to a hyperplane, or to several at once.

    One point: ``point`` and ``normal`` are vectors, and the parameters z live in R^D,
    mapped to ``point + z - (z . u) u`` (u the unit normal), so every iterate of any
    optimizer stays exactly in the hyperplane, even Adam's, whose per-coordinate
    scaling would tilt a projected gradient. Several points: ``point`` and ``normal``
    are (k, D) arrays, row i in its own hyperplane, and the parameters are the k rows
    flattened. Their losses add up without interacting (and Adam's steps are per
    coordinate), so training them together is training each alone, in one computation
    per step; this needs a landscape with batched losses.
    ``move_to`` puts the same object on other hyperplanes: points and normals are
    variables, so a training loop compiled once serves every hyperplane of a tunnel.

    Codimension m: one point and an (m, D) ``normal``, whose rows are orthonormalized
    (they must be independent). The plane is then the (D - m)-dimensional affine subspace
    through the point orthogonal to all of them, ``point + z - N^T N z``: the hyperplane
    the m-connector recipe puts up at the centre of a face of m + 1 optima
    (:func:`~landscape.paths.optimize_centre`).
    """

    def __init__(self, landscape, point, normal):
        self.landscape = landscape
        shape = np.shape(point)
        self.single = len(shape) == 1
        self.rows = 1 if self.single else int(shape[0])
        if not self.single and not isinstance(landscape, BatchedLoss):
            raise TypeError(f"several hyperplanes at once need a landscape with batched losses; "
                            f"{type(landscape).__name__} has none: optimize one point at a time")
        # one normal per point, or m normals of a single point (a codimension-m plane)
        self.codim = int(np.shape(normal)[0]) if self.single and len(np.shape(normal)) == 2 else 1
        self.dim = self.rows * landscape.dim
        self.point = tf.Variable(tf.zeros([self.rows, landscape.dim]), trainable=False)
        self.normal = tf.Variable(tf.zeros([max(self.rows, self.codim), landscape.dim]), trainable=False)
        self.move_to(point, normal)

    def move_to(self, point, normal) -> "HyperplaneLandscape":
        """Use the hyperplanes through ``point`` normal to ``normal`` from now on."""
        if self.single and self.codim > 1:
            points = as_params(point, self.landscape.dim, "point")[None]
            normals = as_points(normal, self.landscape.dim, "normal")
            if normals.shape[0] != self.codim:
                raise ValueError(f"normal must hold {self.codim} rows (this plane's codimension), got "
                                 f"{normals.shape[0]}")
            rows = normals.numpy().astype(np.float64)
            basis, triangle = np.linalg.qr(rows.T)
            if np.min(np.abs(np.diag(triangle))) <= 1e-6 * max(1.0, float(np.abs(rows).max())):
                raise ValueError("normal's rows must be linearly independent (each adds one dimension to "
                                 "remove from the plane)")
            self.point.assign(points)
            self.normal.assign(basis.T.astype(np.float32))
            return self
        if self.single:
            if len(np.shape(normal)) == 2 and np.shape(normal)[0] == 1:  # one normal as a (1, D) row
                normal = tf.reshape(normal, [-1])
            points = as_params(point, self.landscape.dim, "point")[None]
            normals = as_params(normal, self.landscape.dim, "normal")[None]
        else:
            points = as_points(point, self.landscape.dim, "point")
            normals = as_points(normal, self.landscape.dim, "normal")
            if points.shape[0] != self.rows or normals.shape[0] != self.rows:
                raise ValueError(f"point and normal must have {self.rows} rows, got {points.shape[0]} and "
                                 f"{normals.shape[0]}")
        norms = tf.norm(normals, axis=1, keepdims=True)
        if not bool(tf.reduce_all(norms > 0)):
            raise ValueError("normal must be a non-zero vector (every row)")
        self.point.assign(points)
        self.normal.assign(normals / norms)
        return self

    def _rows(self, z):
        return tf.reshape(z, [self.rows, self.landscape.dim])

    def _project(self, rows):
        if self.codim > 1:  # one row, m orthonormal normals: rows - (rows N^T) N
            return rows - tf.matmul(tf.matmul(rows, self.normal, transpose_b=True), self.normal)
        return rows - tf.reduce_sum(rows * self.normal, axis=1, keepdims=True) * self.normal

    def to_params(self, z):
        """The point(s) of the full space: a vector, or (k, D) rows."""
        params = self.point + self._project(self._rows(z))
        return params[0] if self.single else params

    def loss_graph(self, z):
        if self.single:
            return self.landscape.loss_graph(self.to_params(z))
        return tf.reduce_sum(self.landscape.batch_loss(self.to_params(z)))

    def minibatch_loss_and_grad(self, z, step):
        if self.single:
            loss, grad = self.landscape.minibatch_loss_and_grad(self.to_params(z), step)
            grad = grad[None]
        else:
            loss, grad = value_and_gradient(
                lambda params: tf.reduce_sum(self.landscape.batch_minibatch_loss(params, step)), self.to_params(z))
        # The map is a projection, symmetric: the gradient is projected the same way.
        return loss, tf.reshape(self._project(grad), [self.dim])

    def loss(self, z):
        return compiled_loss(self, as_params(z, self.dim, "z"))

    def loss_and_grad(self, z):
        return compiled_loss_and_grad(self, as_params(z, self.dim, "z"))

    def initial_params(self, seed: int = 0):
        del seed
        return tf.zeros([self.dim])


def check_endpoints(landscape, a, b):
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    if bool(np.array_equal(a.numpy(), b.numpy())):
        raise ValueError("a and b must differ (there is no path between identical points)")
    return a, b


def _optimize_in_hyperplanes(plane, point, normal, steps, learning_rate, options):
    plane.move_to(point, normal)
    result = train.minimize(plane, plane.initial_params(), steps, learning_rate, **options)
    return plane.to_params(tf.constant(result.params)).numpy()


def build_tunnel(landscape, a, b, segments: int = 8, *, steps: int = 500, learning_rate: float = 1e-2,
                 refine: int = 0, num_samples: int = 101, **options) -> Polyline:
    """The paper's low-loss tunnel (Section 4.2), optionally refined.

    1) Split the line from ``a`` to ``b`` into ``segments`` segments; 2) at each of the
    ``segments - 1`` interior points put up the hyperplane normal to the line;
    3) minimize the loss in it from that point (``steps`` steps); 4) join the optimized
    points by straight segments. With ``refine = k``, k times: find the highest point
    of the path (on ``num_samples`` samples), optimize it in the hyperplane normal to
    its own segment and insert it as a new vertex. ``options`` go to
    :func:`landscape.train.minimize`. On a landscape with vectorized batched losses the
    interior points are optimized together, in one computation per step; otherwise one
    after the other. All share one compiled training loop.
    """
    a, b = check_endpoints(landscape, a, b)
    segments = check_int(segments, "segments", minimum=1)
    refine = check_int(refine, "refine", minimum=0)
    steps = check_int(steps, "steps", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    num_samples = check_int(num_samples, "num_samples", minimum=3)
    start, end = a.numpy(), b.numpy()
    on_line = start + (np.arange(1, segments, dtype=np.float32)[:, None] / segments) * (end - start)
    normals = np.repeat((end - start)[None], segments - 1, axis=0)
    # The hyperplane landscapes are kept on ``landscape`` (see core.reused): every tunnel
    # of a landscape shares their compiled training loops.
    plane = reused(landscape, ("hyperplane", 1), lambda: HyperplaneLandscape(landscape, start, end - start))
    if segments > 2 and isinstance(landscape, BatchedLoss) and landscape.vectorized:
        planes = reused(landscape, ("hyperplane", segments - 1), lambda: HyperplaneLandscape(landscape, on_line,
                                                                                               normals))
        interior = list(_optimize_in_hyperplanes(planes, on_line, normals, steps, learning_rate, options))
    else:
        interior = [_optimize_in_hyperplanes(plane, p, n, steps, learning_rate, options)
                    for p, n in zip(on_line, normals)]
    vertices = [start, *interior, end]
    evaluations = (segments - 1) * steps
    for _ in range(refine):
        profile = polyline_path(landscape, vertices, num=num_samples)
        highest = float(profile.t[int(np.argmax(profile.loss))])
        segment, along = arc_positions(vertices, highest)
        segment, along = int(segment), float(along)
        if along <= 0.0 or along >= 1.0:
            break  # the highest point is a vertex itself: nothing left to insert
        left, right = vertices[segment], vertices[segment + 1]
        point = left + along * (right - left)
        vertices.insert(segment + 1, _optimize_in_hyperplanes(plane, point, right - left, steps,
                                                              learning_rate, options))
        evaluations += steps
    method = f"hyperplane tunnel, {segments} segments" + (f" + {refine} refinements" if refine else "")
    return Polyline(method=method, points=np.stack(vertices), gradient_evaluations=evaluations)


def tunnel_resolution(landscape, pairs, segments, *, steps: int = 500, num: int = 801, **options) -> np.ndarray:
    """The hyperplane tunnel's barrier as a fraction of the straight line's, for every pair
    of optima ``(a, b)`` in ``pairs`` at every number of ``segments``: shape (pairs, resolutions).
    ``steps`` and ``options`` go to :func:`build_tunnel`; ``num`` samples each tunnel."""
    segments = [check_int(k, "segments", minimum=1) for k in segments]
    if not segments:
        raise ValueError("segments must list at least one number of segments, e.g. (2, 4, 8)")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs must hold at least one pair of optima (a, b)")
    rows = []
    for a, b in pairs:
        line = linear_path(landscape, a, b, num=101).barrier
        rows.append([build_tunnel(landscape, a, b, segments=k, steps=steps, **options).profile(landscape, num=num)
                     .barrier / line for k in segments])
    return np.array(rows)


@dataclass(frozen=True)
class ResolutionTrend:
    """How a path's barrier falls with its resolution, per pair: ``slopes`` of log barrier
    on log segments over the finest resolutions (below zero: still falling)."""

    segments: np.ndarray
    barriers: np.ndarray
    slopes: np.ndarray

    def segments_to_reach(self, target: float) -> np.ndarray:
        """Per pair, the number of segments at which the barrier would reach ``target`` if it
        kept falling at its measured rate (infinite where it does not fall)."""
        target = check_positive(target, "target")
        last, finest = self.barriers[:, -1], float(self.segments[-1])
        needed = np.full(len(last), np.inf)
        falling = self.slopes < 0
        # log needed = log finest + log(target / last) / slope; kept in logs, so a slope near
        # zero gives an infinite count, not an overflow
        with np.errstate(over="ignore"):
            needed[falling] = np.exp(np.log(finest) + np.log(target / last[falling]) / self.slopes[falling])
        return np.where(last <= target, finest, needed)


def resolution_trend(segments, barriers, *, last: int = 4) -> ResolutionTrend:
    """Fit, per pair (a row of ``barriers``, one column per entry of ``segments``), the slope
    of log barrier on log segments over the ``last`` finest resolutions."""
    segments = np.asarray(segments, dtype=float)
    barriers = np.atleast_2d(np.asarray(barriers, dtype=float))
    if segments.ndim != 1 or barriers.shape[1] != segments.size:
        raise ValueError(f"barriers must have one column per entry of segments ({segments.size}), "
                         f"got shape {barriers.shape}")
    last = check_int(last, "last", minimum=2)
    if last > segments.size:
        raise ValueError(f"last must be at most the number of resolutions ({segments.size}), got {last}")
    if np.any(barriers <= 0) or np.any(segments <= 0):
        raise ValueError("segments and barriers must be positive (a slope is fitted to their logs)")
    x = np.log(segments[-last:])
    slopes = np.array([np.polyfit(x, np.log(row[-last:]), 1)[0] for row in barriers])
    return ResolutionTrend(segments, barriers, slopes)
