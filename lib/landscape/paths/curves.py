"""Curves between two optima trained on the loss along their whole length (Garipov et al. 2018).

A curve from ``a`` to ``b`` is fixed by ``k`` free control points. Two kinds, one
class each over the same core: a :class:`Polychain` (straight segments through the
control points, its *bends*) and a :class:`Bezier` curve (Bernstein polynomials of
degree k + 1). Training samples one random position t on the curve per step.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from .. import train
from ..core import as_params, check_choice, check_int, check_positive, check_seed, reused
from .profiles import Polyline, evaluate_points
from .tunnels import check_endpoints

__all__ = ["CURVES", "Polychain", "Bezier", "train_curve"]


class Polychain:
    """Straight segments through the controls (a, the bends, b), equal shares of t each."""

    kind = "polychain"

    @staticmethod
    def point(controls, t):
        """Graph code: the point at position t in [0, 1] of the curve through ``controls`` ((k+2, D))."""
        count = controls.shape[0]
        position = t * (count - 1)
        segment = tf.minimum(tf.cast(tf.floor(position), tf.int32), count - 2)
        along = position - tf.cast(segment, position.dtype)
        return (1.0 - along) * tf.gather(controls, segment) + along * tf.gather(controls, segment + 1)

    @staticmethod
    def points(controls, num_samples):
        """The vertices: a polychain is fully described by them."""
        del num_samples
        return controls.numpy()


class Bezier:
    """The Bezier curve of degree k + 1 with the controls as control points."""

    kind = "bezier"

    @staticmethod
    def point(controls, t):
        degree = controls.shape[0] - 1
        weights = tf.stack([math.comb(degree, i) * t**i * (1.0 - t) ** (degree - i) for i in range(degree + 1)])
        return tf.tensordot(weights, controls, axes=1)

    @classmethod
    def points(cls, controls, num_samples):
        """Dense samples along the curve."""
        ts = np.linspace(0.0, 1.0, num_samples, dtype=np.float32)
        return np.stack([cls.point(controls, tf.constant(t)).numpy() for t in ts])


CURVES = {cls.kind: cls for cls in (Polychain, Bezier)}


class _CurveLandscape:
    """The loss along a curve from a to b as a function of its ``bends`` control points
    (flattened to one vector): each training step evaluates one random position t."""

    def __init__(self, landscape, curve, bends):
        self.landscape, self.curve, self.bends = landscape, curve, bends
        self.dim = bends * landscape.dim
        # Endpoints and seed are variables: one object (one compiled loop) serves every curve.
        self.a = tf.Variable(tf.zeros([landscape.dim]), trainable=False)
        self.b = tf.Variable(tf.zeros([landscape.dim]), trainable=False)
        self.seed = tf.Variable(0, dtype=tf.int64, trainable=False)

    def between(self, a, b, seed) -> "_CurveLandscape":
        self.a.assign(a)
        self.b.assign(b)
        self.seed.assign(seed)
        return self

    def controls(self, flat):
        return tf.concat([self.a[None], tf.reshape(flat, [self.bends, -1]), self.b[None]], axis=0)

    def minibatch_loss_and_grad(self, flat, step):
        t = tf.random.stateless_uniform([], seed=tf.stack([tf.convert_to_tensor(self.seed), tf.cast(step, tf.int64)]))
        with tf.GradientTape() as tape:
            tape.watch(flat)
            point = self.curve.point(self.controls(flat), t)
        loss, grad = self.landscape.minibatch_loss_and_grad(point, step)
        return loss, tape.gradient(point, flat, output_gradients=grad)

    def loss(self, flat):
        """Mean loss at 21 evenly spaced positions (what training minimizes, on average)."""
        controls = self.controls(as_params(flat, self.dim, "bends"))
        points = np.stack([self.curve.point(controls, tf.constant(t)).numpy()
                           for t in np.linspace(0.0, 1.0, 21, dtype=np.float32)])
        return float(np.mean(evaluate_points(self.landscape, points)[0]))


def train_curve(landscape, a, b, kind: str = "polychain", *, bends: int = 1, steps: int = 1000,
                learning_rate: float = 1e-2, num_samples: int = 101, seed: int = 0, **options) -> Polyline:
    """A polychain or a Bezier curve from ``a`` to ``b`` with ``bends`` free control
    points, trained on the loss along the whole curve (Garipov et al. 2018).

    The control points start evenly spaced on the line (so the untrained curve is
    the line). A polychain's ``points`` are its vertices (a, the bends, b); a Bezier
    curve's are ``num_samples`` points along it.
    """
    a, b = check_endpoints(landscape, a, b)
    curve = CURVES[check_choice(kind, "kind", CURVES)]
    bends = check_int(bends, "bends", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    num_samples = check_int(num_samples, "num_samples", minimum=3)
    seed = check_seed(seed)
    trainable = reused(landscape, ("curve", kind, bends), lambda: _CurveLandscape(landscape, curve, bends))
    trainable.between(a, b, seed)
    fractions = np.arange(1, bends + 1, dtype=np.float32)[:, None] / (bends + 1)
    start = (a.numpy() + fractions * (b.numpy() - a.numpy())).ravel()
    result = train.minimize(trainable, start, steps, learning_rate, **options)
    points = curve.points(trainable.controls(tf.constant(result.params)), num_samples)
    name = kind if bends == 1 else f"{kind}, {bends} bends"
    return Polyline(method=name, points=points, gradient_evaluations=steps)
