"""Random affine subspaces ``P = origin + theta M`` and training inside them.

Three ways to draw ``M`` (d x D), one class each behind one small interface
(after Li et al. 2018):

- :class:`DenseProjection`: i.i.d. Gaussian rows normalized to unit length. Memory 4 d D bytes.
- :class:`SparseProjection`: each row has about sqrt(D) non-zero entries +-1/sqrt(k)
  (a sparse random projection); memory ~ 8 d sqrt(D) bytes.
- :class:`FastfoodProjection`: ``M`` is never stored. ``theta`` is zero-padded to a
  power of two L >= D and mapped by S H G Pi H B (H a Walsh-Hadamard transform, B
  random signs, Pi a permutation, G Gaussian scales), then cut to D entries
  (Le, Sarlos and Smola 2013): O(D) memory, O(D log D) time.

A projection is a few random tensors (its ``state``) and a graph function of them,
``offset(state, theta)``. A *nested* kind (``nested = True``: dense) promises that the
state of a smaller d with the same seed is the first rows of a larger d's, and gives
``shared_offsets`` to map many subspaces through one state at once.
:class:`SubspaceLandscape` keeps the state in variables, so one object (and one
compiled training loop) serves every subspace of a sweep: :func:`intrinsic_dimension`
pays for tracing once, not once per (d, seed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .core import (BatchedLoss, Classifier, as_params, check_choice, check_int, check_int_sequence, check_positive,
                   check_seed, compiled, compiled_loss, compiled_loss_and_grad, reused, run_side_by_side,
                   wants_xla_for_batches, workers)
from . import evidence
from .evidence import Estimate
from .train import minimize

__all__ = ["KINDS", "PROJECTIONS", "DenseProjection", "SparseProjection", "FastfoodProjection", "RandomSubspace",
           "SubspaceLandscape", "SubspaceResult", "train_in_subspace", "IntrinsicDimensionResult",
           "intrinsic_dimension", "DEFAULT_MEMORY_BUDGET", "MAX_DIM"]

DEFAULT_MEMORY_BUDGET = 2**30  # 1 GiB
MAX_DIM = 2**28  # one float32 vector of this length is 1 GiB


def _next_power_of_two(value: int) -> int:
    return 1 << (value - 1).bit_length()


def _butterflies(x):
    """Unnormalized Walsh-Hadamard transform (the Sylvester matrix H_L times ``x``) of a
    vector of static power-of-two length L: log4(L) radix-4 butterfly passes, and one
    radix-2 pass when log2(L) is odd. Each pass combines the entries whose indices
    differ in two bits, h and 2h: (a, b, c, d) -> (a+b+c+d, a-b+c-d, a+b-c-d, a-b-c+d)."""
    length = x.shape[0]
    h = 1
    while h < length:
        if 4 * h <= length:
            quads = tf.reshape(x, [-1, 4, h])
            a, b, c, d = quads[:, 0], quads[:, 1], quads[:, 2], quads[:, 3]
            x = tf.stack([a + b + c + d, a - b + c - d, a + b - c - d, a - b - c + d], axis=1)
            h *= 4
        else:
            pairs = tf.reshape(x, [-1, 2, h])
            a, b = pairs[:, 0], pairs[:, 1]
            x = tf.stack([a + b, a - b], axis=1)
            h *= 2
    return tf.reshape(x, [length])


# XLA fuses each pass into one loop over the vector: at L = 2**18, 0.6 ms a transform
# inside a training loop, against 1.6 ms for Kronecker factors as matrix products
# (TensorFlow's kernels, one pass per op) and 2.4 ms for these passes without XLA.
_butterflies_xla = tf.function(_butterflies, jit_compile=True)


@tf.custom_gradient
def _walsh_hadamard(x):
    """H_L x for a vector of static power-of-two length L (graph code)."""
    def grad(upstream):  # H is symmetric: the gradient is the same transform
        return _butterflies_xla(upstream)

    return _butterflies_xla(x), grad


@tf.function(jit_compile=True)
def _gather(values, indices):
    # On a CPU, XLA's gather of a long vector is about 3x faster than TensorFlow's kernel.
    return tf.gather(values, indices)


@tf.function(jit_compile=True)
def _segment_sum(values, segments, size):
    # TensorFlow's own CPU kernel is several times slower than XLA's scatter here.
    return tf.math.unsorted_segment_sum(values, segments, size)


def _scatter_add(values, indices, size: int):
    """A vector of ``size`` zeros with ``values`` added at ``indices``; its gradient is a gather."""

    @tf.custom_gradient
    def scatter(values):
        def grad(upstream):
            return _gather(upstream, indices)

        return _segment_sum(values, indices, size), grad

    return scatter(values)


@tf.custom_gradient
def _permute(values, permutation, inverse):
    # The gradient of a permutation is the inverse permutation: a gather, much
    # cheaper than the scatter-add TensorFlow would otherwise use.
    def grad(upstream):
        return _gather(upstream, inverse), None, None

    return _gather(values, permutation), grad


class DenseProjection:
    """Unit-length Gaussian rows, stored: the plainest projection.

    The rows are drawn one after the other from the seed's stream, so the projection of
    a smaller d with the same seed is the first d rows of a larger one (``nested``):
    subspaces of one seed share a matrix, and a sweep stores one matrix per seed.
    """

    kind = "dense"
    nested = True

    @staticmethod
    def memory_bytes(dim: int, d: int) -> int:
        return 4 * d * dim

    def __init__(self, dim: int, d: int, rng: np.random.Generator):
        rows = rng.standard_normal((d, dim), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        self.state = {"matrix": tf.constant(rows)}

    @staticmethod
    def offset(state, theta, dim):
        return tf.linalg.matvec(state["matrix"], theta, transpose_a=True)

    @staticmethod
    def shared_offsets(states, thetas, dim):
        """Offsets of a (sources, k, d) block of coordinates, row block u through source u's
        matrix: one product reads each matrix once for all of its k subspaces."""
        return tf.matmul(thetas, states["matrix"])


class SparseProjection:
    """About sqrt(D) entries +-1/sqrt(k) per row, stored as (column, value) pairs (the row
    of an entry is implied by its position)."""

    kind = "sparse"
    nested = False  # all rows' columns are drawn before any signs, so d changes every row's signs

    @staticmethod
    def per_row(dim: int) -> int:
        return max(1, int(round(math.sqrt(dim))))

    @classmethod
    def memory_bytes(cls, dim: int, d: int) -> int:
        return 8 * d * cls.per_row(dim)  # an int32 column and a float32 value per entry

    def __init__(self, dim: int, d: int, rng: np.random.Generator):
        per_row = self.per_row(dim)
        columns = rng.integers(0, dim, size=(d, per_row)).astype(np.int32)
        signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=(d, per_row))
        # Row r's entries are entries r * per_row ... (r + 1) * per_row - 1 of the flat arrays.
        self.state = {"columns": tf.constant(columns.ravel()),
                      "values": tf.constant(signs.ravel() / math.sqrt(per_row))}

    @classmethod
    def offset(cls, state, theta, dim):
        # Sum theta_row * value into each column (repeated columns in a row add up, as
        # a projection's entries should). A segment sum compiles under XLA; sparse ops do not.
        values = tf.reshape(state["values"], [-1, cls.per_row(dim)])
        return _scatter_add(tf.reshape(theta[:, None] * values, [-1]), state["columns"], dim)


class FastfoodProjection:
    """S H G Pi H B on a power-of-two padding: O(D) numbers, never the matrix."""

    kind = "fastfood"
    nested = False  # one state serves every d, but each member keeps its own copy (O(D))

    @staticmethod
    def memory_bytes(dim: int, d: int) -> int:
        return 20 * _next_power_of_two(dim)  # signs, permutation and its inverse, scales

    def __init__(self, dim: int, d: int, rng: np.random.Generator):
        padded = _next_power_of_two(dim)
        permutation = rng.permutation(padded).astype(np.int32)
        gaussian = rng.standard_normal(padded).astype(np.float32)
        # Columns of the full L x L map have norm sqrt(L) ||g||; cut to D rows they keep
        # a fraction D/L of it. Scale so every direction has unit length on average.
        scale = 1.0 / (math.sqrt(padded) * np.linalg.norm(gaussian)) * math.sqrt(padded / dim)
        self.state = {"signs": tf.constant(rng.choice(np.array([-1.0, 1.0], np.float32), size=padded)),
                      "permutation": tf.constant(permutation),
                      "inverse": tf.constant(np.argsort(permutation).astype(np.int32)),
                      "gaussian": tf.constant(gaussian * np.float32(scale))}

    @staticmethod
    def offset(state, theta, dim):
        padded = _next_power_of_two(dim)
        # B theta is zero beyond theta's length, so it lies in the first `small` coordinates.
        # H_L = H_(L/small) kron H_small, and H's first column is all ones: H_L of such a
        # vector is H_small of its head, repeated. One transform of length L, not two.
        length = theta.shape[0]
        small = padded if length is None else _next_power_of_two(length)
        x = tf.reshape(tf.pad(theta, [[0, small - tf.shape(theta)[0]]]) * state["signs"][:small], [small])
        x = tf.tile(_walsh_hadamard(x), [padded // small])
        x = tf.reshape(state["gaussian"] * _permute(x, state["permutation"], state["inverse"]), [padded])
        return _walsh_hadamard(x)[:dim]


PROJECTIONS = {cls.kind: cls for cls in (DenseProjection, SparseProjection, FastfoodProjection)}
KINDS = tuple(PROJECTIONS)


class RandomSubspace:
    """The affine map ``theta -> origin + theta M`` from R^d into R^dim.

    ``kind`` names the projection (see ``PROJECTIONS``). ``origin`` defaults to
    zeros. ``memory_budget`` (bytes) bounds the projection plus the origin: a
    subspace that would need more fails before anything is allocated.
    """

    def __init__(self, dim: int, d: int, kind: str = "dense", origin=None, seed: int = 0,
                 memory_budget: float = DEFAULT_MEMORY_BUDGET):
        self.dim = check_int(dim, "dim", minimum=1, maximum=MAX_DIM)
        self.d = check_int(d, "d", minimum=1, maximum=self.dim)
        projection = PROJECTIONS[check_choice(kind, "kind", KINDS)]
        self.kind = kind
        self.seed = check_seed(seed)
        memory_budget = check_positive(memory_budget, "memory_budget")
        self.memory_bytes = self.estimate_memory(self.dim, self.d, kind)
        if self.memory_bytes > memory_budget:
            advice = ("use kind='fastfood' (O(dim) memory) or raise memory_budget" if kind != "fastfood"
                      else "lower dim or raise memory_budget")
            raise MemoryError(
                f"a {kind} subspace with d={self.d}, dim={self.dim} needs about {self.memory_bytes / 2**30:.2f} GiB "
                f"(projection and origin), over memory_budget = {memory_budget / 2**30:.2f} GiB; {advice}")
        self.origin = tf.zeros([self.dim]) if origin is None else as_params(origin, self.dim, "origin")
        self.projection = projection(self.dim, self.d, np.random.default_rng(self.seed))

    @staticmethod
    def estimate_memory(dim: int, d: int, kind: str) -> int:
        """Bytes the projection and the origin need."""
        return PROJECTIONS[check_choice(kind, "kind", KINDS)].memory_bytes(dim, d) + 4 * dim

    def __repr__(self) -> str:
        return f"RandomSubspace(dim={self.dim}, d={self.d}, kind={self.kind!r})"

    def offset(self, theta):
        """``theta M``: the displacement from the origin (graph-friendly)."""
        return self.projection.offset(self.projection.state, theta, self.dim)

    def project(self, theta):
        """The full-space point ``origin + theta M``."""
        return self.origin + self.offset(theta)


class SubspaceLandscape:
    """A landscape restricted to random subspaces of one kind: a loss over ``theta``.

    One subspace, or several of the same kind trained together as *members* (e.g. the
    seeds and dimensions of a sweep): then ``theta`` holds each member's coordinates
    one after the other, each member maps to its own point, and the loss is the sum of
    the members' losses. They never interact (and Adam's steps are per coordinate), so
    this is training each alone, in one computation per step; it needs a landscape with
    batched losses. Members of different d are padded to the largest, ``d``: a member's
    coordinates beyond its own d are masked out of its point, so their gradient is
    exactly zero and they stay at zero. Members of a nested kind (dense) that share a
    seed share one projection, the one of their largest d: a sweep over dimensions
    stores and reads one matrix per seed, not one per member. The subspaces' origins and
    projections live in variables; :meth:`use` switches to other subspaces (any d, the
    same number of members), so a training loop compiled for this object serves a whole
    sweep.
    """

    def __init__(self, landscape, subspaces):
        self.landscape = landscape
        self.kind = None
        subspaces = self._checked(subspaces)
        self.members = len(subspaces)
        if self.members > 1 and not isinstance(landscape, BatchedLoss):
            raise TypeError(f"several subspaces at once need a landscape with batched losses; "
                            f"{type(landscape).__name__} has none: train one subspace at a time")
        self.kind = subspaces[0].kind
        self._projection = type(subspaces[0].projection)
        self._offset = self._projection.offset
        self.shared = self.members > 1 and self._projection.nested
        # Members trained together on a landscape that asks for it compile with XLA (the toy).
        self.compile_with_xla = self.members > 1 and wants_xla_for_batches(landscape)
        # Empty variables of free shape (the state's shapes depend on d): use() fills them.
        self.origin = tf.Variable(tf.zeros([self.members, landscape.dim]), trainable=False)
        self.state = {key: tf.Variable(tf.zeros([0], value.dtype), trainable=False, shape=tf.TensorShape(None))
                      for key, value in subspaces[0].projection.state.items()}
        self.mask = tf.Variable(tf.zeros([0]), trainable=False, shape=tf.TensorShape(None))
        # Shared projections: member m's coordinates go to slot (u, k) of a (sources, k)
        # grid (``slots`` holds member indices, ``members`` for an empty slot), and its
        # offset comes back from flat position ``positions[m]`` of the grid.
        self.slots = tf.Variable(tf.zeros([0, 0], tf.int32), trainable=False, shape=tf.TensorShape(None))
        self.positions = tf.Variable(tf.zeros([0], tf.int32), trainable=False, shape=tf.TensorShape(None))
        self.use(subspaces)

    def _checked(self, subspaces) -> list:
        subspaces = [subspaces] if isinstance(subspaces, RandomSubspace) else list(subspaces)
        if not subspaces or not all(isinstance(s, RandomSubspace) for s in subspaces):
            raise TypeError("subspace must be a RandomSubspace (or a non-empty list of them)")
        kind = self.kind or subspaces[0].kind
        for subspace in subspaces:
            if subspace.dim != self.landscape.dim:
                raise ValueError(f"subspace.dim ({subspace.dim}) must equal landscape.dim ({self.landscape.dim})")
            if subspace.kind != kind:
                raise ValueError(f"subspace.kind must be {kind!r} for this SubspaceLandscape, got {subspace.kind!r}")
        return subspaces

    def use(self, subspaces) -> "SubspaceLandscape":
        """Restrict to ``subspaces`` from now on (same landscape, kind and number of members)."""
        subspaces = self._checked(subspaces)
        if len(subspaces) != self.members:
            raise ValueError(f"subspaces must hold {self.members} members, got {len(subspaces)}")
        self.origin.assign(tf.stack([s.origin for s in subspaces]))
        sources = subspaces
        if self.shared:
            # One source per seed: the member of largest d (the others' rows are its first rows).
            rows = [[m for m, s in enumerate(subspaces) if s.seed == seed]
                    for seed in dict.fromkeys(s.seed for s in subspaces)]
            sources = [max((subspaces[m] for m in row), key=lambda s: s.d) for row in rows]
            width = max(len(row) for row in rows)
            self.slots.assign([row + [self.members] * (width - len(row)) for row in rows])
            flat = {m: u * width + k for u, row in enumerate(rows) for k, m in enumerate(row)}
            self.positions.assign([flat[m] for m in range(self.members)])
        for key, variable in self.state.items():
            variable.assign(_padded_stack([s.projection.state[key] for s in sources]))
        self.member_dims = tuple(s.d for s in subspaces)
        self.d = max(self.member_dims)
        self.mask.assign(tf.sequence_mask(self.member_dims, self.d, dtype=tf.float32))
        self.dim = self.members * self.d
        return self

    def project(self, theta):
        """Graph code: the full-space point of ``theta`` (a vector), or the members' points (rows)."""
        dim = self.landscape.dim
        state = {key: tf.convert_to_tensor(variable) for key, variable in self.state.items()}
        if self.members == 1:
            offset = self._offset({k: v[0] for k, v in state.items()}, theta, dim)
            # The state's shapes depend on d, so the variables do not fix them: restore the known length.
            return self.origin[0] + tf.reshape(offset, [dim])
        thetas = tf.reshape(theta, [self.members, -1]) * self.mask  # padding coordinates do nothing
        if self.shared:
            grid = tf.gather(tf.concat([thetas, tf.zeros_like(thetas[:1])], axis=0), self.slots)
            offsets = self._projection.shared_offsets(state, grid, dim)
            offsets = tf.gather(tf.reshape(offsets, [-1, dim]), self.positions)
        else:
            offsets = tf.vectorized_map(lambda pair: self._offset(pair[0], pair[1], dim), (state, thetas))
        return self.origin + tf.reshape(offsets, [self.members, dim])

    def loss_graph(self, theta):
        if self.members == 1:
            return self.landscape.loss_graph(self.project(theta))
        return tf.reduce_sum(self.landscape.batch_loss(self.project(theta)))

    def minibatch_loss_and_grad(self, theta, step):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            params = self.project(theta)
        if self.members == 1:
            loss, grad = self.landscape.minibatch_loss_and_grad(params, step)
        else:
            with tf.GradientTape() as inner:
                inner.watch(params)
                loss = tf.reduce_sum(self.landscape.batch_minibatch_loss(params, step))
            grad = inner.gradient(loss, params)
        # Chain rule: d loss / d theta = M grad, computed through the projection.
        return loss, tape.gradient(params, theta, output_gradients=grad)

    def loss(self, theta):
        """The loss (the members' summed loss) at ``theta``."""
        return compiled_loss(self, as_params(theta, self.dim, "theta"))

    def loss_and_grad(self, theta):
        return compiled_loss_and_grad(self, as_params(theta, self.dim, "theta"))

    def points(self, theta) -> np.ndarray:
        """The full-space point of every member, (members, D)."""
        params = _subspace_points(self, as_params(theta, self.dim, "theta"))
        return params.numpy().reshape(self.members, -1)

    def initial_params(self, seed: int = 0):
        # Training in a subspace starts at its origin (theta = 0), as in Li et al. 2018.
        del seed
        return tf.zeros([self.dim])


def _padded_stack(arrays):
    """Stack the state arrays of the members (or of the sources they share), padding each
    with zeros along its first axis to the longest: zero rows of a dense matrix and
    zero-valued entries of a sparse one add nothing to a point (a Fastfood state's length
    does not depend on d)."""
    longest = max(int(a.shape[0]) for a in arrays)
    return tf.stack([tf.pad(a, [[0, longest - int(a.shape[0])]] + [[0, 0]] * (a.shape.rank - 1)) for a in arrays])


@compiled(reduce_retracing=True)
def _subspace_points(restricted, theta):
    return restricted.project(theta)


@dataclass
class SubspaceResult:
    """Outcome of :func:`train_in_subspace`."""

    theta: np.ndarray
    params: np.ndarray
    losses: np.ndarray
    final_loss: float


def train_in_subspace(landscape, subspace: RandomSubspace, steps: int = 1000, learning_rate: float = 1e-2, *,
                      restricted: SubspaceLandscape | None = None, **options) -> SubspaceResult:
    """Optimize only ``theta`` (from 0) for the loss at ``origin + theta M``.

    ``options`` go to :func:`landscape.train.minimize` (optimizer, schedule).
    No layer of a Keras model is rewritten: gradients flow through the flat view.
    Pass the same ``restricted`` (a :class:`SubspaceLandscape` of this landscape and
    kind) to many calls to share one compiled training loop.
    """
    if not isinstance(subspace, RandomSubspace):
        raise TypeError(f"subspace must be a RandomSubspace, got {type(subspace).__name__}")
    if restricted is None:
        restricted = _restricted(landscape, [subspace])
    elif restricted.landscape is not landscape:
        raise ValueError("restricted must be a SubspaceLandscape of this landscape")
    else:
        restricted.use(subspace)
    result = minimize(restricted, restricted.initial_params(), steps, learning_rate, **options)
    params = subspace.project(tf.constant(result.params)).numpy()
    return SubspaceResult(theta=result.params, params=params, losses=result.losses, final_loss=result.final_loss)


@dataclass
class IntrinsicDimensionResult:
    """Training in random subspaces of several dimensions d, over several seeds.

    Arrays indexed ``[i, j]`` are for ``dims[i]`` and ``seeds[j]``. ``accuracy`` is the
    test accuracy (train accuracy for a landscape without a test split), or None
    on landscapes that do not classify (the toy).
    """

    dims: np.ndarray
    seeds: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    accuracy: np.ndarray | None
    full_space_loss: np.ndarray | None
    full_space_accuracy: np.ndarray | None
    full_space_params: np.ndarray | None = None  # (seeds, D): the full-space optima, e.g. for their Hessians

    @property
    def relative_loss(self) -> np.ndarray:
        """Final loss as a fraction of the loss at the subspace's origin."""
        return self.final_loss / self.initial_loss[None, :]

    def limiting_dimension(self, fraction: float = 0.01):
        """Smallest d whose mean final loss is below ``fraction`` of the initial loss (None if none)."""
        reached = np.flatnonzero(self.relative_loss.mean(axis=1) < fraction)
        return int(self.dims[reached[0]]) if reached.size else None

    def d_int(self, level: float = 0.9):
        """Smallest d whose mean accuracy reaches ``level`` times the full-space accuracy
        (Li et al. 2018's d_int90 for level 0.9); None if no d does."""
        if self.accuracy is None or self.full_space_accuracy is None:
            raise ValueError("d_int needs accuracies: use a classifier landscape and full_space=True")
        reached = np.flatnonzero(self.accuracy.mean(axis=1) >= level * self.full_space_accuracy.mean())
        return int(self.dims[reached[0]]) if reached.size else None

    def limiting_dimension_bracket(self, fraction: float = 0.01) -> Estimate:
        """:meth:`limiting_dimension` as a bracket of the grid: from the last d whose mean final
        loss is at or above ``fraction`` of the initial loss to the first below it."""
        return self._crossing(self.relative_loss.mean(axis=1) < fraction, "loss crossing")

    def d_int_bracket(self, level: float = 0.9) -> Estimate:
        """:meth:`d_int` as a bracket of the grid: from the last d whose mean accuracy is below
        ``level`` times the full-space accuracy to the first that reaches it."""
        if self.accuracy is None or self.full_space_accuracy is None:
            raise ValueError("d_int needs accuracies: use a classifier landscape and full_space=True")
        reached = self.accuracy.mean(axis=1) >= level * self.full_space_accuracy.mean()
        return self._crossing(reached, f"d_int{round(level * 100)} crossing")

    def _crossing(self, reached: np.ndarray, method: str) -> Estimate:
        """The bracket [last d before the first reached, first reached] (0 below the grid; NaN
        value and an infinite end if no d of the grid is reached)."""
        dims = self.dims.astype(float)
        first = np.flatnonzero(reached)
        if not first.size:
            return evidence.bracket(dims[-1], np.inf, value=np.nan, unit="grid dimensions",
                                    method=f"grid bracket of the {method}")
        low = dims[first[0] - 1] if first[0] > 0 else 0.0
        return evidence.bracket(low, dims[first[0]], value=dims[first[0]], unit="grid dimensions",
                                method=f"grid bracket of the {method}")

    def d_int_per_seed(self, level: float = 0.9) -> list:
        """:meth:`d_int` of each seed's subspaces alone (against the same full-space accuracy)."""
        if self.accuracy is None or self.full_space_accuracy is None:
            raise ValueError("d_int needs accuracies: use a classifier landscape and full_space=True")
        target = level * self.full_space_accuracy.mean()
        found = []
        for column in self.accuracy.T:
            reached = np.flatnonzero(column >= target)
            found.append(int(self.dims[reached[0]]) if reached.size else None)
        return found


def _restricted(landscape, spaces, worker: int = 0) -> SubspaceLandscape:
    """A SubspaceLandscape of ``landscape`` on ``spaces``, reused across calls (one trace
    of the training loop per landscape, kind, number of members and worker: runs side
    by side need one helper each, since ``use`` sets the helper's variables)."""
    key = ("subspaces", spaces[0].kind, len(spaces)) + ((worker,) if worker else ())
    return reused(landscape, key, lambda: SubspaceLandscape(landscape, spaces)).use(spaces)


def _member_groups(landscape, dims, num_seeds, kind) -> list:
    """The (dim index, seed index) pairs of a sweep, in groups trained together.

    On a landscape that evaluates many points in one vectorized computation the whole
    sweep is one group (members of smaller d padded to the largest), or one group per d
    if the padded projections would exceed a quarter of the memory budget. Otherwise one
    pair at a time: training them together would only loop inside the graph, which is slower.
    """
    pairs = [(i, j) for i in range(len(dims)) for j in range(num_seeds)]
    if not (isinstance(landscape, BatchedLoss) and landscape.vectorized) or len(pairs) == 1:
        return [[pair] for pair in pairs]
    projection = PROJECTIONS[kind]
    stored = num_seeds if projection.nested else len(pairs)  # a nested kind keeps one projection per seed
    padded = stored * projection.memory_bytes(landscape.dim, int(max(dims))) + len(pairs) * 4 * landscape.dim
    if padded <= DEFAULT_MEMORY_BUDGET // 4:
        return [pairs]
    return [[(i, j) for j in range(num_seeds)] for i in range(len(dims))]


def _accuracy(landscape, params):
    return landscape.accuracy(params, "test" if landscape.dataset is not None else "train")


def intrinsic_dimension(landscape, dims, seeds=3, *, kind: str = "dense", origin_radius: float | None = None,
                        steps: int = 1000, learning_rate: float = 1e-2, full_space: bool = True,
                        full_space_learning_rate: float | None = None, progress: bool = False,
                        **options) -> IntrinsicDimensionResult:
    """Train in random ``d``-dimensional subspaces for every d in ``dims`` and every seed.

    For seed ``j`` the subspace's origin is ``landscape.initial_params(j)`` (rescaled to
    norm ``origin_radius`` if given) and its directions are drawn with the same seed,
    so every d shares the origins. ``seeds`` is a count or a list. With ``full_space``
    the same origins are also trained in the full space, the reference of d_int90, with
    ``full_space_learning_rate`` (default ``learning_rate``: subspaces often want a larger
    one). ``options`` go to :func:`landscape.train.minimize`. The whole sweep shares
    one compiled training loop.
    """
    dims = np.asarray(sorted(set(check_int_sequence(dims, "dims", minimum=1))))
    if dims[-1] > landscape.dim:
        raise ValueError(f"dims must be <= landscape.dim = {landscape.dim}, got {dims[-1]}")
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = list(range(check_int(seeds, "seeds", minimum=1)))
    else:
        seeds = [check_seed(s, "seeds[i]") for s in check_int_sequence(seeds, "seeds", minimum=0)]
    check_choice(kind, "kind", KINDS)
    if origin_radius is not None:
        origin_radius = check_positive(origin_radius, "origin_radius")
    full_rate = learning_rate if full_space_learning_rate is None else check_positive(
        full_space_learning_rate, "full_space_learning_rate")
    origins = []
    for seed in seeds:
        origin = landscape.initial_params(seed)
        if origin_radius is not None:
            origin = origin * (origin_radius / tf.norm(origin))
        origins.append(origin)
    initial_loss = np.array([float(landscape.loss(origin)) for origin in origins])
    classifies = isinstance(landscape, Classifier)

    final_loss = np.zeros((dims.size, len(seeds)))
    accuracy = np.zeros_like(final_loss) if classifies else None
    groups = _member_groups(landscape, dims, len(seeds), kind)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(groups), desc="subspace training")

    def train_group(members, worker):
        spaces = [RandomSubspace(landscape.dim, int(dims[i]), kind, origins[j], seed=seeds[j]) for i, j in members]
        restricted = _restricted(landscape, spaces, worker)
        result = minimize(restricted, restricted.initial_params(), steps, learning_rate, **options)
        points = restricted.points(result.params)
        losses = (landscape.losses(points) if isinstance(landscape, BatchedLoss)
                  else np.array([float(landscape.loss(p)) for p in points]))
        accuracies = [_accuracy(landscape, point) for point in points] if classifies else [None] * len(points)
        if bar is not None:
            bar.update()
        return losses, accuracies

    # Groups of one member (networks) run side by side, one helper per worker; a worker
    # holds one projection of the largest d, so the workers must fit the memory budget.
    side_by_side = 1
    if all(len(members) == 1 for members in groups):
        per_worker = PROJECTIONS[kind].memory_bytes(landscape.dim, int(dims[-1])) + 4 * landscape.dim
        side_by_side = max(1, min(workers(), (DEFAULT_MEMORY_BUDGET // 4) // per_worker))
    for members, (losses, accuracies) in zip(groups, run_side_by_side(train_group, groups, side_by_side)):
        for (i, j), loss, member_accuracy in zip(members, losses, accuracies):
            final_loss[i, j] = loss
            if classifies:
                accuracy[i, j] = member_accuracy
    if bar is not None:
        bar.close()

    full_loss = full_accuracy = full_params = None
    if full_space:
        full = run_side_by_side(lambda origin, worker: minimize(landscape, origin, steps, full_rate, **options),
                                origins)
        full_loss = np.array([run.final_loss for run in full])
        full_params = np.stack([np.asarray(run.params, np.float32) for run in full])
        if classifies:
            full_accuracy = np.array([_accuracy(landscape, run.params) for run in full])
    return IntrinsicDimensionResult(dims=dims, seeds=np.asarray(seeds), initial_loss=initial_loss,
                                    final_loss=final_loss, accuracy=accuracy, full_space_loss=full_loss,
                                    full_space_accuracy=full_accuracy, full_space_params=full_params)
