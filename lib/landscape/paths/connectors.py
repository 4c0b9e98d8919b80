"""m-connectors: low-loss simplices through m + 1 optima at once (the paper's Section 4.3).

Given optima A_0..A_m (the vertices of a simplex), a *connector* maps every point of
the simplex, given by barycentric weights lambda (lambda_i >= 0, summing to 1), to a
parameter vector. Every connector here is the piecewise-linear map of the
**barycentric subdivision** of the simplex: one point v_F per face F (a non-empty
subset of the optima; v_{i} = A_i), and the small simplex of each chain of faces
F_1 c F_2 c ... c F_{m+1} is the convex hull of v_{F_1}, ..., v_{F_{m+1}}. A weight
vector lies in the small simplex of the chain obtained by sorting it (F_k = the optima
of its k largest weights), where its coordinates are mu_k = k (lambda_(k) - lambda_(k+1)).
Faces are bit masks (bit i set: optimum i is in F) indexing a table of 2^(m+1) rows, so
a batch of weights is mapped by one sort, one cumulative sum, one gather and one
weighted sum (:func:`subdivision_points`). With v_F = the barycentre of F the map is
the plain convex hull of the optima.

The faces of a connector on the optima 0..k are the rows 0 .. 2^(k+1) - 1 of its table:
a k-connector of the first k + 1 optima (:meth:`Connector.face`). For every method that
places each face point by looking at that face alone ("hull", "construction",
"hyperplane", "stars"), one m = 10 connector therefore holds the connectors of every
m <= 10, exactly as separate runs would build them.

**A finer subdivision: the grid.** The barycentric subdivision puts one point on each
face. The paper's recipe can be refined with more points per face, and repeating the
barycentric subdivision is a poor way to get them: each repetition multiplies the small
simplices by (m + 1)! and shrinks the largest of them only by a factor m / (m + 1). The
**grid of resolution r** instead takes every point whose weights are multiples of 1/r
(C(m + r, m) of them; for m = 1, the r + 1 points of a line cut into r segments) and cuts
the simplex into r^m small simplices of equal size by Freudenthal's triangulation; doubling
r subdivides every small simplex into 2^m halved copies, so r = 2, 4, 8, ... is a
repeated subdivision whose mesh halves each time. In the coordinates
y_j = r (lambda_j + ... + lambda_m), j = 1..m (so r >= y_1 >= ... >= y_m >= 0), a weight
vector lies in the small simplex with vertices floor(y), then one unit step per
coordinate in decreasing order of the fractional parts, and its coordinates there are
the differences of the sorted fractional parts (:func:`grid_points`). A grid point is
the multiset of r vertex labels its weights count; its table row is that multiset's
rank in colexicographic order, so the points of the face on the optima 0..k come first
(rows 0 .. C(k + r, k) - 1), whatever m is.

Methods of :func:`build_connector`:

hull          v_F = the barycentre of F: the plain convex hull (the baseline).
construction  toy only: v_F = the mean of the optima of F with the union of their short
              axes set to zero, so v_F lies on the wedge of every optimum of F. Each small
              simplex of a chain starting at {i} then lies in the wedge of A_i (a wedge is
              convex): a connector built, not trained.
hyperplane    the paper's recipe: every face point starts at its face's barycentre and is
              optimized inside the hyperplane through it orthogonal to the face (dimension
              D - |F| + 1; D - m for the centre of the m-simplex); the subdivision through
              the optimized points is the connector (the paper does not say how the
              optimized points are joined: this is the book's choice). With
              ``resolution=r`` the points of the grid of resolution r instead, each in the
              hyperplane through it orthogonal to the face it lies inside.
stars         every v_F trained only on the loss along the segments from the optima of F
              to v_F (edges of the subdivision), with a curriculum on the position t along
              the segment and a geometrically decaying learning rate. If every segment
              A_i -> v_F is low, v_F lies in the wedges of all optima of F, so the whole
              complex is low (on the toy exactly).
joint         all free v_F trained together on the loss at uniform random points of the
              whole simplex (Benton et al. 2021 train simplices this way); with
              ``nested=True`` at uniform points of the faces on the first k + 1 optima, k
              uniform in 1..m, so that one training makes the connectors of every m.

Training is batched: all face points of a step are evaluated in one computation, by
the landscape's batched minibatch loss (vectorized on the toy; a loop over the points
inside the compiled function on a network). Every point costs one gradient evaluation,
and the connector reports how many it spent.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .. import evidence, train
from ..core import (BatchedLoss, Classifier, as_params, check_choice, check_int, check_number,
                    check_positive, check_seed, compiled, reused, value_and_gradient)
from ..evidence import Estimate
from ..toy import WedgeLandscape
from .tunnels import HyperplaneLandscape

__all__ = ["METHODS", "GRID_METHODS", "CONNECTOR_SCHEDULES", "MAX_CONNECTOR_M", "MAX_GRID_POINTS", "QUANTITIES",
           "Connector", "ConnectorEvaluation", "EnsembleComparison", "build_connector", "compare_ensembles", "optimize_centre",
           "dirichlet_weights", "estimate_over_sets", "face_masks", "grid_size", "grid_weights", "grid_points",
           "subdivision_points", "union_prediction"]

METHODS = ("hull", "construction", "hyperplane", "stars", "joint")
GRID_METHODS = ("hull", "hyperplane", "joint")  # the methods that can place the points of a grid (resolution=r)
MAX_GRID_POINTS = 100_000  # rows of a grid's table: C(m + r, m)
CONNECTOR_SCHEDULES = ("constant", "cosine", "exponential")
MAX_CONNECTOR_M = 15  # the table holds 2^(m+1) face points
_DEFAULT_SCHEDULE = {"stars": "exponential", "hyperplane": "cosine", "joint": "cosine"}
_HELD_OUT_STREAM = -1  # second word of the held-out points' random key; training steps use 0, 1, 2, ...


# -- faces and the subdivision map ----------------------------------------------------------
def face_masks(num_vertices: int, size: int | None = None) -> np.ndarray:
    """Bit masks of the faces of a simplex with ``num_vertices`` vertices: all of them
    in increasing order, or those of ``size`` vertices."""
    num_vertices = check_int(num_vertices, "num_vertices", minimum=1, maximum=MAX_CONNECTOR_M + 1)
    masks = np.arange(1, 2**num_vertices, dtype=np.int32)
    if size is None:
        return masks
    size = check_int(size, "size", minimum=1, maximum=num_vertices)
    return masks[_bits(masks, num_vertices).sum(axis=1) == size]


def _bits(masks, count: int) -> np.ndarray:
    """(F, count) 0/1 integers: which optima each face contains."""
    return (np.asarray(masks)[:, None] >> np.arange(count)[None, :]) & 1


def _barycentres(optima: np.ndarray) -> np.ndarray:
    """The table of the plain hull: row F (bit mask) = the mean of the optima in F; row 0 unused (zeros)."""
    bits = _bits(np.arange(2 ** len(optima)), len(optima)).astype(np.float64)
    sizes = np.maximum(bits.sum(axis=1, keepdims=True), 1.0)
    return ((bits / sizes) @ optima.astype(np.float64)).astype(np.float32)


def subdivision_points(table, weights):
    """Graph code: the points of the subdivision complex at barycentric ``weights`` (B, m+1).

    ``table`` (2^(m+1), D) holds v_F in row F (a bit mask). Returns (B, D), differentiable
    in ``table``: sort each weight vector (its chain of faces), take the coordinates
    mu_k = k (lambda_(k) - lambda_(k+1)) in the chain's small simplex, and mix its vertices.
    """
    weights = tf.convert_to_tensor(weights, tf.float32)
    count = weights.shape[-1]
    order = tf.argsort(weights, axis=-1, direction="DESCENDING", stable=True)
    ranked = tf.gather(weights, order, batch_dims=1)
    following = tf.concat([ranked[:, 1:], tf.zeros_like(ranked[:, :1])], axis=1)
    mu = tf.range(1, count + 1, dtype=tf.float32) * (ranked - following)        # sums to 1
    chain = tf.cumsum(tf.bitwise.left_shift(tf.ones_like(order), order), axis=1)  # F_1 c ... c F_{m+1}
    return tf.einsum("bk,bkd->bd", mu, tf.gather(table, chain))


# -- the grid of resolution r: a finer subdivision ----------------------------------------
def grid_size(num_vertices: int, resolution: int) -> int:
    """The number of points of the grid of resolution r on a simplex with ``num_vertices``
    vertices: C(m + r, m), m = num_vertices - 1."""
    num_vertices = check_int(num_vertices, "num_vertices", minimum=1, maximum=MAX_CONNECTOR_M + 1)
    resolution = check_int(resolution, "resolution", minimum=1)
    return math.comb(num_vertices - 1 + resolution, resolution)


def _rank_terms(num_vertices: int, resolution: int) -> np.ndarray:
    """C(a + j - 1, j) for a label a < num_vertices at position j <= resolution (int64): the
    terms of a grid point's rank (column 0 unused)."""
    return np.array([[math.comb(a + j - 1, j) if j else 0 for j in range(resolution + 1)]
                     for a in range(num_vertices)], np.int64)


def grid_weights(num_vertices: int, resolution: int) -> np.ndarray:
    """The barycentric weights (C(m + r, m), m + 1) of the grid of resolution r (every weight
    a multiple of 1/r), in table order: a point is the multiset of r vertex labels its
    weights count (weight i = multiplicity of i / r), ranked colexicographically, so the
    points of the face on the vertices 0..k are the first C(k + r, k) rows."""
    size = grid_size(num_vertices, resolution)
    if size > MAX_GRID_POINTS:
        raise ValueError(f"resolution={resolution} gives {size} grid points on a simplex with {num_vertices} "
                         f"vertices (more than {MAX_GRID_POINTS}); lower the resolution or m")
    terms = _rank_terms(num_vertices, resolution)
    weights = np.zeros((size, num_vertices), np.float32)
    for labels in itertools.combinations_with_replacement(range(num_vertices), resolution):  # ascending
        rank = sum(terms[label, j] for j, label in enumerate(labels, start=1))
        weights[rank] = np.bincount(labels, minlength=num_vertices) / resolution
    return weights


def _grid_rows(vertices, resolution: int, terms):
    """Graph code: the table rows of grid points given in the coordinates y (..., m): the
    multiset's sorted labels are a_j = #{l : y_l >= r - j + 1}, j = 1..r, and its rank is
    the sum of C(a_j + j - 1, j) (``terms``, from :func:`_rank_terms`)."""
    levels = tf.range(resolution, 0, -1, dtype=vertices.dtype)                     # r - j + 1, j = 1..r
    labels = tf.reduce_sum(tf.cast(vertices[..., None, :] >= levels[:, None], tf.int64), axis=-1)
    j = tf.broadcast_to(tf.range(1, resolution + 1, dtype=tf.int64), tf.shape(labels))
    return tf.reduce_sum(tf.gather_nd(terms, tf.stack([labels, j], axis=-1)), axis=-1)


def grid_points(table, weights, resolution: int):
    """Graph code: the points of a grid connector of resolution r at barycentric ``weights``
    (B, m+1). ``table`` (C(m + r, m), D) holds the grid points in the order of
    :func:`grid_weights`. Returns (B, D), differentiable in ``table``: Freudenthal's
    triangulation in the coordinates y_j = r (lambda_j + ... + lambda_m) (see the module
    docstring)."""
    weights = tf.convert_to_tensor(weights, tf.float32)
    count = weights.shape[-1]
    if count == 1:
        return tf.gather(table, tf.zeros(tf.shape(weights)[:1], tf.int32))
    tail = tf.cumsum(weights, axis=1, reverse=True)[:, 1:] * float(resolution)   # r >= y_1 >= ... >= y_m >= 0
    base = tf.clip_by_value(tf.floor(tail), 0.0, float(resolution - 1))
    fraction = tail - base                                                        # in [0, 1]
    order = tf.argsort(fraction, axis=1, direction="DESCENDING", stable=True)
    ranked = tf.gather(fraction, order, batch_dims=1)
    climbs = tf.cumsum(tf.one_hot(order, count - 1), axis=1)                      # unit steps, largest part first
    vertices = base[:, None, :] + tf.concat([tf.zeros_like(climbs[:, :1]), climbs], axis=1)   # (B, m+1, m)
    coefficients = tf.concat([1.0 - ranked[:, :1], ranked[:, :-1] - ranked[:, 1:], ranked[:, -1:]], axis=1)
    terms = tf.constant(_rank_terms(count, resolution))
    rows = _grid_rows(tf.cast(tf.round(vertices), tf.int64), resolution, terms)
    return tf.einsum("bk,bkd->bd", coefficients, tf.gather(table, rows))


def dirichlet_weights(seed, num, count: int, nested: bool = False):
    """Graph code: ``num`` uniform random points of the simplex with ``count`` vertices
    (Dirichlet(1, ..., 1)), drawn from the stateless random key ``seed`` (two integers).

    ``nested``: each point is instead uniform on the face of the first k + 1 vertices, k
    uniform in 1 .. count - 1 (the weights beyond k set to 0: a normalized part of a
    Dirichlet(1, ..., 1) vector is Dirichlet(1, ..., 1) itself)."""
    exponential = -tf.math.log(tf.random.stateless_uniform(tf.stack([num, count]), seed=seed, minval=1e-7,
                                                           maxval=1.0))
    if nested:
        last = tf.random.stateless_uniform(tf.stack([num, 1]), seed=seed + tf.constant([0, 1 << 20], seed.dtype),
                                           minval=1, maxval=count, dtype=tf.int32)
        exponential *= tf.cast(tf.range(count)[None, :] <= last, exponential.dtype)
    return exponential / tf.reduce_sum(exponential, axis=1, keepdims=True)


def union_prediction(dim: int, short: int, m: int) -> float:
    """The expected size of the union of the short axes of m + 1 independent random
    wedges with ``short`` short axes each among ``dim``: D (1 - (1 - s/D)^(m+1))."""
    dim = check_int(dim, "dim", minimum=1)
    short = check_int(short, "short", minimum=0, maximum=dim)
    m = check_int(m, "m", minimum=0)
    return dim * (1.0 - (1.0 - short / dim) ** (m + 1))


# -- the result --------------------------------------------------------------------------
@dataclass
class ConnectorEvaluation:
    """Loss at ``num_points`` held-out uniform points of the simplex on the connector and,
    at the same barycentric weights, on the plain convex hull of the optima;
    ``vertex_loss`` is the highest loss of the optima themselves, ``vertex_mean`` their mean.
    ``losses`` and ``hull_losses`` hold the loss at every held-out point."""

    highest: float
    mean: float
    hull_highest: float
    hull_mean: float
    vertex_loss: float
    num_points: int
    vertex_mean: float = 0.0
    losses: np.ndarray = field(default=None, repr=False, compare=False)  # (the scalars above summarize them)
    hull_losses: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def fraction_of_hull(self) -> float:
        """The connector's highest held-out loss as a fraction of the hull's."""
        return self.highest / self.hull_highest

    @property
    def barrier_fraction(self) -> float:
        """The connector's barrier (highest held-out loss minus the optima's mean loss) as a
        fraction of the hull's at the same points: the book's measure of a low-loss surface."""
        return (self.highest - self.vertex_mean) / (self.hull_highest - self.vertex_mean)

    @property
    def over_optima(self) -> float:
        """The connector's highest held-out loss over the optima's mean loss (the strict
        reading of a low-loss surface: every point as low as an optimum, within a factor)."""
        return self.highest / self.vertex_mean

    def barrier_fraction_estimate(self, resamples: int = 2000, seed: int = 0) -> Estimate:
        """:attr:`barrier_fraction` with a percentile bootstrap over the held-out points (the
        same points for the connector and the hull). It covers the sampling of the surface
        only, not the choice of the optima."""
        return self._bootstrap(lambda on, hull: (on.max(axis=1) - self.vertex_mean)
                               / (hull.max(axis=1) - self.vertex_mean), self.barrier_fraction, resamples, seed)

    def over_optima_estimate(self, resamples: int = 2000, seed: int = 0) -> Estimate:
        """:attr:`over_optima` with a percentile bootstrap over the held-out points."""
        return self._bootstrap(lambda on, hull: on.max(axis=1) / self.vertex_mean, self.over_optima, resamples, seed)

    def _bootstrap(self, statistic, value: float, resamples: int, seed: int) -> Estimate:
        if self.losses is None or self.hull_losses is None or self.num_points < 2:
            raise ValueError("the evaluation holds no per-point losses (evaluate with num_points >= 2)")
        resamples = check_int(resamples, "resamples", minimum=100)
        rows = np.random.default_rng(check_seed(seed)).integers(0, self.num_points, (resamples, self.num_points))
        with np.errstate(invalid="ignore", divide="ignore"):
            low, high = evidence.percentiles(statistic(self.losses[rows], self.hull_losses[rows]))
        return Estimate(value, min(float(low), value), max(float(high), value), "bootstrap", self.num_points,
                        "held-out points")


@dataclass
class Connector:
    """An m-connector: its optima (m+1, D), the table of its face points, the method that
    placed them and the gradient evaluations that cost (one per point per training step).

    ``resolution`` None: the barycentric subdivision, table (2^(m+1), D), row F = v_F (a bit
    mask; row 0 unused). ``resolution`` r: the grid of resolution r, table (C(m + r, m), D)
    in the order of :func:`grid_weights`."""

    method: str
    optima: np.ndarray = field(repr=False)
    table: np.ndarray = field(repr=False)
    gradient_evaluations: int = 0
    resolution: int | None = None

    def __post_init__(self):
        self.optima = np.asarray(self.optima, np.float32)  # (the maps run in float32, as the landscapes do)
        self.table = np.asarray(self.table, np.float32)

    @property
    def m(self) -> int:
        return len(self.optima) - 1

    @property
    def dim(self) -> int:
        return self.optima.shape[1]

    @property
    def free_points(self) -> int:
        """The points a method places (all but the optima)."""
        return len(self.table) - self.m - 1 - (self.resolution is None)

    @property
    def centre(self) -> np.ndarray:
        """The connector's point at the barycentre of the simplex (v of the whole simplex for
        the barycentric subdivision)."""
        if self.resolution is None:
            return self.table[-1]
        return self.points(np.full((1, self.m + 1), 1.0 / (self.m + 1), np.float32))[0]

    def face(self, k: int) -> "Connector":
        """The k-connector of the first k + 1 optima that this connector contains (it reports
        the whole connector's gradient evaluations: they were spent on all faces at once)."""
        k = check_int(k, "k", minimum=1, maximum=self.m)
        rows = 2 ** (k + 1) if self.resolution is None else grid_size(k + 1, self.resolution)
        return Connector(self.method, self.optima[:k + 1], self.table[:rows], self.gradient_evaluations,
                         self.resolution)

    def _map(self, weights):
        if self.resolution is None:
            return subdivision_points(tf.constant(self.table), weights)
        return grid_points(tf.constant(self.table), weights, self.resolution)

    def points(self, weights) -> np.ndarray:
        """Parameter vectors (B, D) at barycentric ``weights`` (B, m+1)."""
        weights = _check_weights(weights, self.m + 1)
        return self._map(tf.constant(weights)).numpy()

    def sample(self, num: int, seed: int = 0) -> np.ndarray:
        """``num`` points of the connector at uniform random barycentric weights (a random
        key that neither training nor :meth:`evaluate` uses)."""
        num = check_int(num, "num", minimum=1)
        return self._map(dirichlet_weights(tf.constant([check_seed(seed), _HELD_OUT_STREAM - 1]), num,
                                           self.m + 1)).numpy()

    def evaluate(self, landscape, num_points: int = 1000, seed: int = 0) -> ConnectorEvaluation:
        """Highest and mean loss at ``num_points`` uniform random points of the simplex,
        beside the plain hull at the same weights. The points are drawn from a random key
        that no training step uses: training never saw them."""
        _check_landscape(landscape, self.dim)
        num_points = check_int(num_points, "num_points", minimum=1)
        weights = dirichlet_weights(tf.constant([check_seed(seed), _HELD_OUT_STREAM]), num_points, self.m + 1)
        on_connector = _losses(landscape, self._map(weights))
        on_hull = _losses(landscape, tf.matmul(weights, tf.constant(self.optima)))
        at_vertices = _losses(landscape, tf.constant(self.optima))
        return ConnectorEvaluation(highest=float(on_connector.max()), mean=float(on_connector.mean()),
                                   hull_highest=float(on_hull.max()), hull_mean=float(on_hull.mean()),
                                   vertex_loss=float(at_vertices.max()), num_points=num_points,
                                   vertex_mean=float(at_vertices.mean()), losses=np.asarray(on_connector, np.float64),
                                   hull_losses=np.asarray(on_hull, np.float64))


QUANTITIES = ("barrier_fraction", "over_optima")


def estimate_over_sets(evaluations, quantity: str = "barrier_fraction") -> Estimate:
    """A connector's ``quantity`` (an attribute of :class:`ConnectorEvaluation`: the barrier
    over the hull's, or the highest loss over the optima's) with the interval over what
    varies. ``evaluations`` holds one evaluation per independent set of optima (the same
    method and m): with several, the geometric mean over the sets with the t interval of
    the mean log, which covers the choice of the optima; with one, a percentile bootstrap
    over its held-out points, which covers only how the surface was sampled."""
    check_choice(quantity, "quantity", QUANTITIES)
    if isinstance(evaluations, ConnectorEvaluation):
        evaluations = [evaluations]
    evaluations = list(evaluations)
    if not evaluations or not all(isinstance(e, ConnectorEvaluation) for e in evaluations):
        raise TypeError("evaluations must be a non-empty list of ConnectorEvaluation (one per set of optima)")
    if len(evaluations) == 1:
        return getattr(evaluations[0], f"{quantity}_estimate")()
    values = np.array([getattr(e, quantity) for e in evaluations])
    if np.any(values <= 0):  # (a connector below its optima's mean loss: no log, the plain mean)
        return evidence.mean(values, unit="sets of optima")
    return evidence.geometric_mean(values, unit="sets of optima")


def _check_weights(weights, count: int) -> np.ndarray:
    try:
        weights = np.asarray(weights, np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"weights must be a numeric array of shape (B, {count}): {error}") from None
    if weights.ndim != 2 or weights.shape[1] != count or len(weights) == 0:
        raise ValueError(f"weights must have shape (B, {count}) with B >= 1 (one row of barycentric weights per "
                         f"point), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.allclose(weights.sum(axis=1), 1.0,
                                                                                  atol=1e-4):
        raise ValueError("weights must be barycentric: finite, non-negative, each row summing to 1")
    return weights


def _check_landscape(landscape, dim: int) -> None:
    if landscape.dim != dim:
        raise ValueError(f"landscape.dim ({landscape.dim}) must equal the optima's length ({dim})")


def _losses(landscape, points) -> np.ndarray:
    """Full loss at every row of ``points``, batched where the landscape can."""
    if isinstance(landscape, BatchedLoss):
        return np.asarray(landscape.losses(points))
    return np.array([float(landscape.loss(p)) for p in tf.unstack(points)], np.float32)


# -- validating the optima ------------------------------------------------------------------
def _check_optima(landscape, optima) -> np.ndarray:
    if isinstance(optima, (tf.Tensor, tf.Variable)):
        optima = optima.numpy()
    if isinstance(optima, np.ndarray):
        if optima.ndim != 2:
            raise ValueError(f"optima must be a sequence of parameter vectors (an (m + 1, D) array), got shape "
                             f"{optima.shape}")
    elif not isinstance(optima, (list, tuple)):
        raise TypeError(f"optima must be a sequence of parameter vectors, got {type(optima).__name__}")
    rows = list(optima)
    if len(rows) < 2:
        raise ValueError(f"optima must hold at least 2 vectors (an m-connector joins m + 1 >= 2 optima), got "
                         f"{len(rows)}")
    stacked = np.stack([as_params(p, landscape.dim, f"optima[{i}]").numpy() for i, p in enumerate(rows)])
    m = len(stacked) - 1
    if m > landscape.dim:
        raise ValueError(f"optima: m + 1 = {m + 1} optima span an m = {m} simplex, which needs m <= the dimension "
                         f"{landscape.dim}")
    if m > MAX_CONNECTOR_M:
        raise ValueError(f"optima must hold at most {MAX_CONNECTOR_M + 1} vectors (m <= {MAX_CONNECTOR_M}: the "
                         f"subdivision has 2^(m+1) face points), got {m + 1}")
    edges = (stacked[1:] - stacked[0]).astype(np.float64)
    singular = np.linalg.svd(edges, compute_uv=False)
    if singular[-1] <= 1e-5 * max(singular[0], 1e-30):
        raise ValueError("optima must be affinely independent: the edges optima[i] - optima[0] are linearly "
                         "dependent, so the optima do not span an m-simplex (are two of them equal?)")
    return stacked


# -- the methods -----------------------------------------------------------------------------
def _construct(landscape: WedgeLandscape, optima: np.ndarray) -> np.ndarray:
    """v_F = the mean of the optima of F with the union of their short axes zeroed (wedge coordinates)."""
    coords = landscape.to_wedge_coordinates(tf.constant(optima)).numpy()
    short = np.zeros(coords.shape, dtype=bool)
    for i, point in enumerate(optima):
        short[i, landscape.short_axes(point)] = True
    table = _barycentres(coords)
    bits = _bits(np.arange(2 ** len(optima)), len(optima)).astype(bool)
    for mask in range(1, 2 ** len(optima)):
        if bits[mask].sum() > 1:
            table[mask, short[bits[mask]].any(axis=0)] = 0.0
    return landscape.from_wedge_coordinates(tf.constant(table)).numpy()


def _face_bases(optima: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(F, D, m) orthonormal bases of the directions of each face's hull (zero columns
    beyond the face's own dimension |F| - 1)."""
    count, dim = optima.shape
    bases = np.zeros((len(masks), dim, count - 1), np.float32)
    for row, members in enumerate(_bits(masks, count).astype(bool)):
        vertices = optima[members].astype(np.float64)
        basis, _ = np.linalg.qr((vertices[1:] - vertices[0]).T)
        bases[row, :, :basis.shape[1]] = basis
    return bases


def _rate_at(schedule: str, base_rate, final_fraction, step, steps):
    """Graph code: the learning rate at ``step`` of ``steps``: "constant", "cosine" (to 0),
    or "exponential" (geometric decay to ``base_rate * final_fraction``)."""
    if schedule == "exponential":
        return base_rate * final_fraction ** (tf.cast(step, tf.float32) / tf.cast(steps, tf.float32))
    return train.learning_rate_at(schedule, base_rate, step, steps)


def _point_gradients(landscape, points, step):
    """Graph code: the gradient of the loss at every row of ``points`` on step ``step``'s
    minibatch, in one computation (a landscape without batched losses: a loop inside the graph)."""
    if isinstance(landscape, BatchedLoss):
        return value_and_gradient(lambda p: tf.reduce_sum(landscape.batch_minibatch_loss(p, step)), points)[1]
    return tf.map_fn(lambda p: landscape.minibatch_loss_and_grad(p, step)[1], points)


def _adam(params, grad, state, rate, step):
    return train.optimizer_step("adam", params, grad, state, rate, step)


@compiled(reduce_retracing=True)
def _hyperplane_loop(landscape, centres, bases, steps, learning_rate, final_fraction, schedule):
    """Adam on every face point at once, each inside the hyperplane through its face's
    barycentre orthogonal to the face. As in :class:`~landscape.paths.HyperplaneLandscape`
    the free variables z are mapped to centre + z - B B^T z, so every iterate stays exactly
    in its hyperplane (projecting Adam's step instead would tilt it out)."""
    def project(rows):
        return rows - tf.einsum("fdk,fk->fd", bases, tf.einsum("fdk,fd->fk", bases, rows))

    free = tf.zeros_like(centres)
    state = (tf.zeros_like(centres), tf.zeros_like(centres))
    for step in tf.range(steps):
        grad = project(_point_gradients(landscape, centres + project(free), step))
        rate = _rate_at(schedule, learning_rate, final_fraction, step, steps)
        free, state = _adam(free, grad, state, rate, step)
    return centres + project(free)


@compiled(reduce_retracing=True)
def _stars_loop(landscape, optima, faces, inside, per_face, steps, learning_rate, final_fraction, t_start, hold,
                seed):
    """Every face point v_F trained on points (1 - t) A_i + t v_F of the segments from its
    optima (i drawn among the optima of F, ``per_face`` points per face and step).

    The position t follows a curriculum: t ~ U(0, t_start) for the first ``hold`` of the
    steps, then t ~ U(0, t_max) with t_max growing geometrically to 1. Near an optimum
    the nearest wedge is that optimum's own, so early steps pull v_F toward the
    intersection of the right wedges; far along a segment a point is nearest to some
    unrelated wedge, and sampling there first pulls v_F toward it. The learning rate
    decays geometrically (Adam's jitter, not the landscape, would otherwise set the
    final loss)."""
    inside = tf.repeat(inside, per_face, axis=0)                         # one row per point
    batch = tf.shape(inside)[0]  # (dynamic shapes: a later call with other sizes reuses a relaxed trace)
    state = (tf.zeros_like(faces), tf.zeros_like(faces))
    for step in tf.range(steps):
        progress = tf.cast(step, tf.float32) / tf.cast(steps, tf.float32)
        pick = tf.random.stateless_uniform(tf.shape(inside), seed=tf.stack([seed, step])) * inside
        vertex = tf.gather(optima, tf.argmax(pick, axis=1, output_type=tf.int32))
        grown = tf.clip_by_value((progress - hold) / (1.0 - hold), 0.0, 1.0)
        t = tf.random.stateless_uniform(tf.stack([batch, 1]), seed=tf.stack([seed + 1, step])) * t_start ** (1.0 - grown)
        grads = _point_gradients(landscape, (1.0 - t) * vertex + t * tf.repeat(faces, per_face, axis=0), step)
        # d/dv_F of the mean loss of the face's points: the chain rule through the segment is t
        grad = tf.ensure_shape(tf.reduce_mean(tf.reshape(t * grads, tf.stack([-1, per_face, tf.shape(faces)[1]])),
                                              axis=1), faces.shape)
        rate = _rate_at("exponential", learning_rate, final_fraction, step, steps)
        faces, state = _adam(faces, grad, state, rate, step)
    return faces


@compiled(reduce_retracing=True)
def _joint_loop(landscape, table, trainable, count, nested, resolution, batch, steps, learning_rate, final_fraction,
                schedule, seed):
    """All rows of ``table`` with ``trainable`` = 1 trained together on the mean loss at
    ``batch`` uniform random points of the whole simplex (``count`` vertices; ``nested``:
    of its faces on the first k + 1 vertices, k uniform) per step; ``resolution`` None:
    the table is a barycentric subdivision's, else a grid's."""
    state = (tf.zeros_like(table), tf.zeros_like(table))
    for step in tf.range(steps):
        weights = dirichlet_weights(tf.stack([seed, step]), batch, count, nested)
        with tf.GradientTape() as tape:
            tape.watch(table)
            points = (subdivision_points(table, weights) if resolution is None
                      else grid_points(table, weights, resolution))
        grads = _point_gradients(landscape, points, step)
        grad = trainable * tape.gradient(points, table, output_gradients=grads / batch)
        rate = _rate_at(schedule, learning_rate, final_fraction, step, steps)
        table, state = _adam(table, grad, state, trainable * rate, step)
    return table


def build_connector(landscape, optima, method: str = "stars", *, steps: int = 300, learning_rate: float = 0.1,
                    schedule: str | None = None, final_fraction: float = 1e-3, per_face: int = 2,
                    batch: int = 64, t_start: float = 0.02, hold: float = 0.5, seed: int = 0,
                    resolution: int | None = None, nested: bool = False) -> Connector:
    """An m-connector through ``optima`` (m + 1 parameter vectors) by ``method``, one of
    ``METHODS`` (see the module's docstring).

    steps           Adam steps ("hyperplane", "stars", "joint")
    learning_rate   Adam's initial rate (about 0.1 for "stars" on the toy, 1e-2 on networks)
    schedule        "constant", "cosine" (to 0) or "exponential" (to learning_rate *
                    final_fraction); default: "exponential" for "stars" (which always uses
                    it), "cosine" for the others
    per_face        "stars": points per face per step
    batch           "joint": points of the simplex per step
    nested          "joint": draw each point on the face of the first k + 1 optima, k uniform
                    in 1..m, so that every face (:meth:`Connector.face`) is trained as a
                    connector itself; False: uniform on the whole simplex, whose low faces
                    (near its edges) few points reach when m is large
    t_start, hold   "stars": t ~ U(0, t_start) for the first ``hold`` of the steps, then the
                    range grows to (0, 1); t_start = 1, hold = 0 is plain t ~ U(0, 1)
    seed            the random positions of training points
    resolution      None: the barycentric subdivision (one point per face); r >= 1: the
                    grid of resolution r ("hull" and "hyperplane" only; r = 1 is the hull)

    Returns a :class:`Connector`. "construction" needs the toy landscape (it reads the
    wedges): any other landscape is a TypeError.
    """
    check_choice(method, "method", METHODS)
    if method == "construction" and not isinstance(landscape, WedgeLandscape):
        raise TypeError(f"method='construction' needs the toy landscape (a toy.WedgeLandscape: it reads the wedges' "
                        f"short axes), got {type(landscape).__name__}; train a connector instead (method='stars')")
    optima = _check_optima(landscape, optima)
    steps = check_int(steps, "steps", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    schedule = _DEFAULT_SCHEDULE.get(method, "constant") if schedule is None else check_choice(
        schedule, "schedule", CONNECTOR_SCHEDULES)
    if method == "stars" and schedule != "exponential":
        raise ValueError(f"schedule must be 'exponential' for method='stars' (its learning rate always decays "
                         f"geometrically), got {schedule!r}")
    final_fraction = check_number(final_fraction, "final_fraction", minimum=0.0, maximum=1.0, low_open=True)
    per_face = check_int(per_face, "per_face", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    t_start = check_number(t_start, "t_start", minimum=0.0, maximum=1.0, low_open=True)
    hold = check_number(hold, "hold", minimum=0.0, maximum=1.0, high_open=True)
    seed = check_seed(seed)
    if not isinstance(nested, (bool, np.bool_)):
        raise TypeError(f"nested must be True or False, got {type(nested).__name__} {nested!r}")
    if resolution is not None:
        resolution = check_int(resolution, "resolution", minimum=1)
        if method not in GRID_METHODS:
            raise ValueError(f"resolution applies to the methods {', '.join(map(repr, GRID_METHODS))} (a grid of "
                             f"points, each placed alone); method={method!r} needs the barycentric subdivision "
                             f"(resolution=None)")
        return _grid_connector(landscape, optima, method, resolution, steps, learning_rate, schedule, final_fraction,
                               batch, nested, seed)

    count = len(optima)
    table = _barycentres(optima)
    free = face_masks(count)[_bits(face_masks(count), count).sum(axis=1) > 1]  # faces of 2 or more optima
    evaluations = 0
    rate, fraction = tf.constant(learning_rate, tf.float32), tf.constant(final_fraction, tf.float32)
    if method == "construction":
        table = _construct(landscape, optima)
    elif method == "hyperplane":
        table[free] = _hyperplane_loop(landscape, tf.constant(table[free]), tf.constant(_face_bases(optima, free)),
                                       tf.constant(steps), rate, fraction, schedule).numpy()
        evaluations = steps * len(free)
    elif method == "stars":
        inside = tf.constant(_bits(free, count), tf.float32)
        table[free] = _stars_loop(landscape, tf.constant(optima), tf.constant(table[free]), inside, per_face,
                                  tf.constant(steps), rate, fraction, tf.constant(t_start, tf.float32),
                                  tf.constant(hold, tf.float32), tf.constant(seed)).numpy()
        evaluations = steps * len(free) * per_face
    elif method == "joint":
        trainable = np.zeros([len(table), 1], np.float32)
        trainable[free] = 1.0
        table = _joint_loop(landscape, tf.constant(table), tf.constant(trainable), count, bool(nested), None, batch,
                            tf.constant(steps), rate, fraction, schedule, tf.constant(seed)).numpy()
        evaluations = steps * batch
    if not np.all(np.isfinite(table)):
        raise FloatingPointError(f"training the connector diverged (non-finite face points); lower learning_rate "
                                 f"(was {learning_rate:g})")
    return Connector(method=method, optima=optima, table=table, gradient_evaluations=evaluations)


def _grid_connector(landscape, optima, method, resolution, steps, learning_rate, schedule, final_fraction, batch,
                    nested, seed):
    """A connector on the grid of resolution ``resolution``: the hull; the paper's recipe
    (every grid point that is not an optimum optimized in the hyperplane through it
    orthogonal to the face it lies inside, the face of its non-zero weights); or joint
    training of all grid points."""
    weights = grid_weights(len(optima), resolution)
    table = (weights.astype(np.float64) @ optima.astype(np.float64)).astype(np.float32)
    support = weights > 0
    free = np.flatnonzero(support.sum(axis=1) > 1)
    evaluations = 0
    rate, fraction = tf.constant(learning_rate, tf.float32), tf.constant(final_fraction, tf.float32)
    if method == "hyperplane" and len(free):
        masks = (support[free] * (1 << np.arange(len(optima)))).sum(axis=1)
        table[free] = _hyperplane_loop(landscape, tf.constant(table[free]), tf.constant(_face_bases(optima, masks)),
                                       tf.constant(steps), rate, fraction, schedule).numpy()
        evaluations = steps * len(free)
    elif method == "joint" and len(free):
        trainable = np.zeros([len(table), 1], np.float32)
        trainable[free] = 1.0
        table = _joint_loop(landscape, tf.constant(table), tf.constant(trainable), len(optima), bool(nested),
                            resolution, batch, tf.constant(steps), rate, fraction, schedule, tf.constant(seed)).numpy()
        evaluations = steps * batch
    if not np.all(np.isfinite(table)):
        raise FloatingPointError(f"training the connector diverged (non-finite grid points); lower learning_rate "
                                 f"(was {learning_rate:g})")
    return Connector(method=method, optima=optima, table=table, gradient_evaluations=evaluations,
                     resolution=resolution)


def optimize_centre(landscape, optima, start=None, *, steps: int = 500, learning_rate: float = 1e-2,
                    **options) -> train.MinimizeResult:
    """The paper's point in the middle of an m-connector, alone: ``start`` (default: the
    barycentre of the m + 1 ``optima``) optimized with :func:`landscape.train.minimize`
    inside the (D - m)-dimensional hyperplane through it orthogonal to the optima's face,
    the hyperplane the recipe puts up there. Continuing from a connector's centre
    (``start=connector.centre``) trains that point further in its own hyperplane.

    ``options`` go to :func:`~landscape.train.minimize`: ``schedule``, and ``stop_below``
    with ``check_every`` to train until the loss falls below a target (the way to compare
    points at one loss when training does not converge within the budget).

    Returns the :class:`~landscape.train.MinimizeResult` with ``params`` (and the
    ``trajectory``, if recorded) in the full space.
    """
    optima = _check_optima(landscape, optima)
    start = optima.mean(axis=0) if start is None else as_params(start, landscape.dim, "start").numpy()
    normals = _face_bases(optima, np.array([(1 << len(optima)) - 1]))[0].T  # (m, D): the face's directions
    # kept on the landscape (core.reused): every centre of one m shares a compiled training loop
    plane = reused(landscape, ("face-hyperplane", len(normals)),
                   lambda: HyperplaneLandscape(landscape, start, normals)).move_to(start, normals)
    result = train.minimize(plane, plane.initial_params(), steps, learning_rate, **options)
    trajectory = result.trajectory
    if trajectory is not None:
        trajectory = np.stack([plane.to_params(tf.constant(z)).numpy() for z in trajectory])
    return dataclasses.replace(result, params=plane.to_params(tf.constant(result.params)).numpy(),
                               trajectory=trajectory)


# -- beyond the paper: ensembles on a connector ---------------------------------------------
@dataclass
class EnsembleComparison:
    """Members of an ensemble on one split: each member's accuracy, the accuracy of the
    averaged predicted probabilities, and the mean fraction of examples on which two
    members predict different labels."""

    member_accuracy: np.ndarray
    ensemble_accuracy: float
    disagreement: float
    ensemble_correct: np.ndarray = field(default=None, repr=False, compare=False)  # per example: the ensemble is right


def compare_ensembles(landscape, members, split: str = "test") -> EnsembleComparison:
    """Accuracy and prediction diversity of the ensemble of ``members`` (parameter vectors;
    at least 2) of a classifier landscape, on ``split``."""
    if not isinstance(landscape, Classifier):
        raise TypeError(f"compare_ensembles needs a classifier landscape (a ModelLandscape), got "
                        f"{type(landscape).__name__}")
    check_choice(split, "split", ("train", "test"))
    rows = list(members)
    if len(rows) < 2:
        raise ValueError(f"members must hold at least 2 parameter vectors, got {len(rows)}")
    inputs, labels = landscape.split(split)
    probabilities = np.stack([landscape.probabilities(as_params(p, landscape.dim, f"members[{i}]"), inputs)
                              for i, p in enumerate(rows)])
    predicted = probabilities.argmax(axis=2)
    pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
    ensemble_correct = probabilities.mean(axis=0).argmax(axis=1) == np.asarray(labels)
    return EnsembleComparison(
        member_accuracy=np.mean(predicted == labels, axis=1),
        ensemble_accuracy=float(np.mean(ensemble_correct)),
        disagreement=float(np.mean([np.mean(predicted[i] != predicted[j]) for i, j in pairs])),
        ensemble_correct=ensemble_correct)
