"""Paths between optima and the loss along them.

``linear_path`` is the straight line; ``polyline_path`` any piecewise-linear path
(a tunnel's optimized points joined by segments), evaluated densely, between
its vertices too. ``build_tunnel`` is the paper's hyperplane method (with optional
refinement); ``train_curve`` trains a polychain or a Bezier curve on the
loss along the whole path (Garipov et al. 2018), for comparison.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import train
from .core import as_params, check_int

__all__ = ["PathProfile", "linear_path", "polyline_path", "evaluate_points", "HyperplaneLandscape", "Path",
           "build_tunnel", "CURVES", "train_curve", "deviations", "cosine_similarity_matrix", "half_alignment",
           "label_changes"]


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


# -- tunnels and curves between two optima ---------------------------------------------------
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

    def minibatch_loss_and_grad(self, z, step):
        return self._pull_back(z, lambda p: self.landscape.minibatch_loss_and_grad(p, step))

    def loss(self, z):
        return self.landscape.loss(self.to_params(as_params(z, self.dim, "z")))

    def loss_and_grad(self, z):
        return self._pull_back(as_params(z, self.dim, "z"), self.landscape.loss_and_grad)

    def initial_params(self, seed: int = 0):
        del seed
        return tf.zeros([self.dim])


def _check_endpoints(landscape, a, b):
    a = as_params(a, landscape.dim, "a")
    b = as_params(b, landscape.dim, "b")
    if bool(np.array_equal(a.numpy(), b.numpy())):
        raise ValueError("a and b must differ (there is no path between identical points)")
    return a, b


def _optimize_in_hyperplane(plane, point, normal, steps, learning_rate, options):
    plane.move_to(point, normal)
    result = train.minimize(plane, plane.initial_params(), steps, learning_rate, **options)
    return plane.to_params(tf.constant(result.params)).numpy()


@dataclass
class Path:
    """A path between two optima: the vertices of a piecewise-linear path (or dense
    samples of a curve), and the work it cost (gradient evaluations)."""

    method: str
    points: np.ndarray
    gradient_evaluations: int

    def profile(self, landscape, num: int = 101) -> PathProfile:
        """Loss along the whole path, between its vertices too."""
        return polyline_path(landscape, self.points, num=num)


def build_tunnel(landscape, a, b, segments: int = 8, *, steps: int = 500, learning_rate: float = 1e-2,
                 refine: int = 0, num_samples: int = 101, **options) -> Path:
    """The paper's low-loss tunnel (Section 4.2), optionally refined.

    1) Split the line from ``a`` to ``b`` into ``segments`` segments; 2) at each of the
    ``segments - 1`` interior points put up the hyperplane normal to the line;
    3) minimize the loss in it from that point (``steps`` steps); 4) join the optimized
    points by straight segments. With ``refine = k``, k times: find the highest point
    of the path (on ``num_samples`` samples), optimize it in the hyperplane normal to
    its own segment and insert it as a new vertex (as nudged-elastic-band methods do).
    """
    a, b = _check_endpoints(landscape, a, b)
    segments = check_int(segments, "segments", minimum=1)
    refine = check_int(refine, "refine", minimum=0)
    steps = check_int(steps, "steps", minimum=1)
    start, end = a.numpy(), b.numpy()
    plane = HyperplaneLandscape(landscape, start, end - start)  # one object, one compiled loop
    vertices = [start]
    for k in range(1, segments):
        on_line = start + (k / segments) * (end - start)
        vertices.append(_optimize_in_hyperplane(plane, on_line, end - start, steps, learning_rate, options))
    vertices.append(end)
    evaluations = (segments - 1) * steps
    for _ in range(refine):
        profile = polyline_path(landscape, vertices, num=num_samples)
        highest = float(profile.t[int(np.argmax(profile.loss))])
        lengths = np.linalg.norm(np.diff(np.stack(vertices), axis=0), axis=1)
        cumulative = np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
        segment = int(np.clip(np.searchsorted(cumulative, highest, side="right") - 1, 0, len(lengths) - 1))
        along = (highest - cumulative[segment]) / max(cumulative[segment + 1] - cumulative[segment], 1e-12)
        if along <= 0.0 or along >= 1.0:
            break  # the highest point is a vertex itself: nothing left to insert
        left, right = vertices[segment], vertices[segment + 1]
        point = left + along * (right - left)
        vertices.insert(segment + 1, _optimize_in_hyperplane(plane, point, right - left, steps,
                                                             learning_rate, options))
        evaluations += steps
    method = f"hyperplane tunnel, {segments} segments" + (f" + {refine} refinements" if refine else "")
    return Path(method=method, points=np.stack(vertices), gradient_evaluations=evaluations)


CURVES = ("polychain", "bezier")


def _curve_point(kind, controls, t):
    """The point at position t in [0, 1] of the curve through ``controls`` ((k+2, D):
    a, the k bends, b). Polychain: straight segments between consecutive controls,
    equal shares of t each; Bezier: Bernstein polynomials of degree k+1."""
    count = controls.shape[0]
    if kind == "polychain":
        position = t * (count - 1)
        segment = tf.minimum(tf.cast(tf.floor(position), tf.int32), count - 2)
        along = position - tf.cast(segment, position.dtype)
        return (1.0 - along) * controls[segment] + along * controls[segment + 1]
    degree = count - 1
    weights = tf.stack([math.comb(degree, i) * t**i * (1.0 - t) ** (degree - i) for i in range(count)])
    return tf.tensordot(weights, controls, axes=1)


class _CurveLandscape:
    """The loss along a curve from a to b as a function of its ``bends`` control
    points (flattened to one vector): each training step evaluates one random
    position t on the curve (Garipov et al. 2018)."""

    def __init__(self, landscape, kind, a, b, bends, seed):
        self.landscape, self.kind, self.a, self.b, self.seed = landscape, kind, a, b, seed
        self.bends = bends
        self.dim = bends * landscape.dim

    def controls(self, flat):
        return tf.concat([self.a[None], tf.reshape(flat, [self.bends, -1]), self.b[None]], axis=0)

    def minibatch_loss_and_grad(self, flat, step):
        t = tf.random.stateless_uniform([], seed=tf.stack([tf.cast(self.seed, tf.int64), tf.cast(step, tf.int64)]))
        with tf.GradientTape() as tape:
            tape.watch(flat)
            point = _curve_point(self.kind, self.controls(flat), t)
        loss, grad = self.landscape.minibatch_loss_and_grad(point, step)
        return loss, tape.gradient(point, flat, output_gradients=grad)

    def loss(self, flat):
        controls = self.controls(as_params(flat, self.dim, "bends"))
        points = [_curve_point(self.kind, controls, tf.constant(t)) for t in np.linspace(0.0, 1.0, 21, dtype=np.float32)]
        return float(np.mean(evaluate_points(self.landscape, np.stack([p.numpy() for p in points]))[0]))


def train_curve(landscape, a, b, kind: str = "polychain", *, bends: int = 1, steps: int = 1000,
                learning_rate: float = 1e-2, num_samples: int = 101, seed: int = 0, **options) -> Path:
    """A polychain or a Bezier curve from ``a`` to ``b`` with ``bends`` free control
    points, trained on the loss along the whole curve (Garipov et al. 2018).

    The control points start evenly spaced on the line (so the untrained curve is
    the line). A polychain's ``points`` are its vertices (a, the bends, b); a Bezier
    curve's are ``num_samples`` points along it.
    """
    a, b = _check_endpoints(landscape, a, b)
    if kind not in CURVES:
        raise ValueError(f"kind must be one of {', '.join(map(repr, CURVES))}; got {kind!r}")
    bends = check_int(bends, "bends", minimum=1)
    curve = _CurveLandscape(landscape, kind, a, b, bends, check_int(seed, "seed", minimum=0))
    fractions = np.arange(1, bends + 1, dtype=np.float32)[:, None] / (bends + 1)
    start = (a.numpy() + fractions * (b.numpy() - a.numpy())).ravel()
    result = train.minimize(curve, start, steps, learning_rate, **options)
    controls = curve.controls(tf.constant(result.params))
    if kind == "polychain":
        points = controls.numpy()
    else:
        ts = np.linspace(0.0, 1.0, check_int(num_samples, "num_samples", minimum=3), dtype=np.float32)
        points = np.stack([_curve_point(kind, controls, tf.constant(t)).numpy() for t in ts])
    name = kind if bends == 1 else f"{kind}, {bends} bends"
    return Path(method=name, points=points, gradient_evaluations=steps)


# -- diagnosing a path --------------------------------------------------------------------
def deviations(a, b, points) -> np.ndarray:
    """How far each point is from the straight line a-b: the point minus its
    orthogonal projection on the line (the paper's Figure 3 idea)."""
    a, b, points = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(points, np.float64)
    direction = b - a
    along = (points - a) @ direction / (direction @ direction)
    return points - (a + along[:, None] * direction)


def cosine_similarity_matrix(vectors) -> np.ndarray:
    """Cosine similarity between every pair of rows (rows of zero length give 0)."""
    vectors = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    return unit @ unit.T


def half_alignment(vectors) -> tuple[float, float]:
    """Mean cosine similarity of the rows of ``vectors`` within each half (pairs of
    different rows, both halves averaged) and across the halves. With an odd
    number of rows the middle one is left out: it belongs to neither half."""
    similarity = cosine_similarity_matrix(vectors)
    half = len(similarity) // 2
    if half < 2:
        raise ValueError(f"vectors must hold at least 4 rows (2 per half), got {len(similarity)}")
    first, second = np.arange(half), np.arange(len(similarity) - half, len(similarity))
    off_diagonal = ~np.eye(half, dtype=bool)
    within = 0.5 * (similarity[np.ix_(first, first)][off_diagonal].mean()
                    + similarity[np.ix_(second, second)][off_diagonal].mean())
    return float(within), float(similarity[np.ix_(first, second)].mean())


def label_changes(landscape, points, a, b, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the examples of ``split`` ("train" or "test") whose predicted label
    at each point differs from the prediction at ``a`` and at ``b`` (real networks
    only). Two optima that fit the training set both predict its true labels, so
    the test split is the default: there the two functions differ."""
    if not hasattr(landscape, "predict"):
        raise TypeError("label_changes needs a landscape that predicts labels (a ModelLandscape)")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if split == "test":
        if getattr(landscape, "dataset", None) is None:
            raise ValueError("split='test' needs a landscape built from a Dataset")
        inputs = landscape.dataset.x_test
    else:
        inputs = None
    at_a, at_b = landscape.predict(a, inputs), landscape.predict(b, inputs)
    predictions = [landscape.predict(p, inputs) for p in np.asarray(points, np.float32)]
    return (np.array([np.mean(p != at_a) for p in predictions]),
            np.array([np.mean(p != at_b) for p in predictions]))
