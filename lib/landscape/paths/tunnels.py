"""The paper's low-loss tunnel: optimize points of the line inside hyperplanes normal to it.

This is the nudged elastic band method without springs (Jonsson et al. 1998); the
refinement (insert an optimized point at the highest point of the path, repeat) is
the idea of AutoNEB (Draxler et al. 2018).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import train
from ..core import as_params, check_int, check_positive
from .profiles import Polyline, arc_positions, polyline_path

__all__ = ["HyperplaneLandscape", "build_tunnel"]


class HyperplaneLandscape:
    """A landscape restricted to the hyperplane through ``point`` normal to ``normal``.

    Its parameters z live in R^D and map to ``point + z - (z . u) u`` (u the unit
    normal), so every iterate of any optimizer stays exactly in the hyperplane,
    even Adam's, whose per-coordinate scaling would tilt a projected gradient.
    ``move_to`` puts the same object on another hyperplane: point and normal are
    variables, so a training loop compiled once serves every hyperplane of a tunnel.
    """

    def __init__(self, landscape, point, normal):
        self.landscape = landscape
        self.dim = landscape.dim
        self.point = tf.Variable(tf.zeros([self.dim]), trainable=False)
        self.normal = tf.Variable(tf.zeros([self.dim]), trainable=False)
        self.move_to(point, normal)

    def move_to(self, point, normal) -> "HyperplaneLandscape":
        """Use the hyperplane through ``point`` normal to ``normal`` from now on."""
        point = as_params(point, self.dim, "point")
        normal = as_params(normal, self.dim, "normal")
        norm = tf.norm(normal)
        if float(norm) == 0.0:
            raise ValueError("normal must be a non-zero vector")
        self.point.assign(point)
        self.normal.assign(normal / norm)
        return self

    def to_params(self, z):
        return self.point + z - tf.reduce_sum(z * self.normal) * self.normal

    def _pull_back(self, z, full_loss_and_grad):
        loss, grad = full_loss_and_grad(self.to_params(z))
        # The map is a projection, symmetric: the gradient is projected the same way.
        return loss, grad - tf.reduce_sum(grad * self.normal) * self.normal

    def loss_graph(self, z):
        return self.landscape.loss_graph(self.to_params(z))

    def minibatch_loss_and_grad(self, z, step):
        return self._pull_back(z, lambda p: self.landscape.minibatch_loss_and_grad(p, step))

    def loss(self, z):
        return self.landscape.loss(self.to_params(as_params(z, self.dim, "z")))

    def loss_and_grad(self, z):
        return self._pull_back(as_params(z, self.dim, "z"), self.landscape.loss_and_grad)

    def initial_params(self, seed: int = 0):
        del seed
        return tf.zeros([self.dim])


def check_endpoints(landscape, a, b):
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    if bool(np.array_equal(a.numpy(), b.numpy())):
        raise ValueError("a and b must differ (there is no path between identical points)")
    return a, b


def _optimize_in_hyperplane(plane, point, normal, steps, learning_rate, options):
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
    :func:`landscape.train.minimize`. All hyperplanes share one compiled training loop.
    """
    a, b = check_endpoints(landscape, a, b)
    segments = check_int(segments, "segments", minimum=1)
    refine = check_int(refine, "refine", minimum=0)
    steps = check_int(steps, "steps", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    num_samples = check_int(num_samples, "num_samples", minimum=3)
    start, end = a.numpy(), b.numpy()
    plane = HyperplaneLandscape(landscape, start, end - start)
    vertices = [start]
    for k in range(1, segments):
        on_line = start + (k / segments) * (end - start)
        vertices.append(_optimize_in_hyperplane(plane, on_line, end - start, steps, learning_rate, options))
    vertices.append(end)
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
        vertices.insert(segment + 1, _optimize_in_hyperplane(plane, point, right - left, steps,
                                                             learning_rate, options))
        evaluations += steps
    method = f"hyperplane tunnel, {segments} segments" + (f" + {refine} refinements" if refine else "")
    return Polyline(method=method, points=np.stack(vertices), gradient_evaluations=evaluations)
