"""Random affine subspaces ``P = origin + theta M`` and training inside them.

Three ways to draw ``M`` (d x D), behind one interface (after Li et al. 2018):

- ``"dense"``: i.i.d. Gaussian rows normalized to unit length. Memory 4 d D bytes.
- ``"sparse"``: each row has about sqrt(D) non-zero entries +-1/sqrt(k) (a sparse
  random projection); memory ~ 8 d sqrt(D) bytes.
- ``"fastfood"``: ``M`` is never stored. ``theta`` is zero-padded to a power of
  two L >= D and mapped by S H G Pi H B (H a Walsh-Hadamard transform, B random
  signs, Pi a permutation, G Gaussian scales), then cut to D entries: O(D)
  memory, O(D log D) time.

A :class:`SubspaceLandscape` is itself a landscape over ``theta``, so the same
``train.minimize`` trains in the subspace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .core import as_params, check_int, check_positive
from .train import minimize

__all__ = ["KINDS", "RandomSubspace", "SubspaceLandscape", "SubspaceResult", "train_in_subspace",
           "IntrinsicDimensionResult", "intrinsic_dimension", "DEFAULT_MEMORY_BUDGET"]

KINDS = ("dense", "sparse", "fastfood")
DEFAULT_MEMORY_BUDGET = 2**30  # 1 GiB


def _next_power_of_two(value: int) -> int:
    return 1 << (value - 1).bit_length()


def _hadamard_matrix(size: int) -> np.ndarray:
    """The Sylvester Hadamard matrix of a power-of-two size (entries +-1)."""
    matrix = np.ones((1, 1), np.float32)
    while matrix.shape[0] < size:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


def _hadamard_factors(length: int, largest: int = 128) -> list:
    """Split H_length into a Kronecker product of Hadamard matrices of at most ``largest`` rows."""
    bits = length.bit_length() - 1
    parts = max(1, math.ceil(bits / (largest.bit_length() - 1)))
    sizes = [bits // parts + (1 if i < bits % parts else 0) for i in range(parts)]
    return [tf.constant(_hadamard_matrix(2**b)) for b in sizes if b > 0]


def _walsh_hadamard(x, factors):
    """Unnormalized Walsh-Hadamard transform of a power-of-two-length vector.

    H_L is the Kronecker product of the small ``factors``: apply each one to the
    leading axis of the vector seen as a tensor, then rotate that axis to the end.
    A few small matrix products (O(L log L) work) are far faster than log2(L)
    butterfly passes of elementwise ops.
    """
    length = x.shape[-1]
    for factor in factors:
        size = factor.shape[0]
        x = tf.transpose(tf.matmul(factor, tf.reshape(x, [size, length // size])))
    return tf.reshape(x, [length])


class RandomSubspace:
    """The affine map ``theta -> origin + theta M`` from R^d into R^dim.

    ``origin`` defaults to zeros. ``memory_budget`` (bytes) guards the dense and
    sparse kinds: a projection that would need more fails before allocating.
    """

    def __init__(self, dim: int, d: int, kind: str = "dense", origin=None, seed: int = 0,
                 memory_budget: float = DEFAULT_MEMORY_BUDGET):
        self.dim = check_int(dim, "dim", minimum=1)
        self.d = check_int(d, "d", minimum=1, maximum=self.dim)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
        self.kind = kind
        self.seed = check_int(seed, "seed", minimum=0)
        memory_budget = check_positive(memory_budget, "memory_budget")
        self.origin = (tf.zeros([self.dim]) if origin is None else as_params(origin, self.dim, "origin"))
        self.memory_bytes = self.estimate_memory(self.dim, self.d, kind)
        if self.memory_bytes > memory_budget:
            raise MemoryError(
                f"a {kind} projection with d={self.d}, dim={self.dim} needs about "
                f"{self.memory_bytes / 2**30:.2f} GiB, over the budget of {memory_budget / 2**30:.2f} GiB; "
                f"use kind='fastfood' (O(dim) memory) or raise memory_budget")
        rng = np.random.default_rng(self.seed)
        if kind == "dense":
            rows = rng.standard_normal((self.d, self.dim), dtype=np.float32)
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
            self._matrix = tf.constant(rows)
        elif kind == "sparse":
            per_row = self._sparse_per_row(self.dim)
            columns = rng.integers(0, self.dim, size=(self.d, per_row))
            signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=(self.d, per_row))
            indices = np.stack([np.repeat(np.arange(self.d), per_row), columns.ravel()], axis=1)
            matrix = tf.sparse.SparseTensor(indices.astype(np.int64), signs.ravel() / math.sqrt(per_row),
                                            [self.d, self.dim])
            # Repeated column draws in a row are summed, as a projection should.
            self._matrix = tf.sparse.reorder(matrix)
        else:
            self._padded = _next_power_of_two(self.dim)
            self._factors = _hadamard_factors(self._padded)
            self._signs = tf.constant(rng.choice(np.array([-1.0, 1.0], np.float32), size=self._padded))
            permutation = rng.permutation(self._padded).astype(np.int32)
            self._permutation = tf.constant(permutation)
            self._inverse_permutation = tf.constant(np.argsort(permutation).astype(np.int32))
            gaussian = rng.standard_normal(self._padded).astype(np.float32)
            self._gaussian = tf.constant(gaussian)
            # Columns of the full L x L map have norm sqrt(L) ||g||; cut to D rows they keep
            # a fraction D/L of it. Scale so every direction has unit length on average.
            self._scale = float(1.0 / (math.sqrt(self._padded) * np.linalg.norm(gaussian))
                                * math.sqrt(self._padded / self.dim))

    @staticmethod
    def _sparse_per_row(dim: int) -> int:
        return max(1, int(round(math.sqrt(dim))))

    @classmethod
    def estimate_memory(cls, dim: int, d: int, kind: str) -> int:
        """Bytes the projection itself needs."""
        if kind == "dense":
            return 4 * d * dim
        if kind == "sparse":
            return 20 * d * cls._sparse_per_row(dim)  # two int64 indices and a float32 per entry
        return 12 * _next_power_of_two(dim)

    def __repr__(self) -> str:
        return f"RandomSubspace(dim={self.dim}, d={self.d}, kind={self.kind!r})"

    def offset(self, theta):
        """``theta M``: the displacement from the origin (graph-friendly)."""
        if self.kind == "dense":
            return tf.linalg.matvec(self._matrix, theta, transpose_a=True)
        if self.kind == "sparse":
            return tf.sparse.sparse_dense_matmul(self._matrix, theta[:, None], adjoint_a=True)[:, 0]
        padded = tf.pad(theta, [[0, self._padded - self.d]])
        mapped = _walsh_hadamard(self._signs * padded, self._factors)
        mapped = self._gaussian * self._permute(mapped)
        return self._scale * _walsh_hadamard(mapped, self._factors)[: self.dim]

    def _permute(self, x):
        # The gradient of a permutation is the inverse permutation: a gather, much
        # cheaper than the scatter-add TensorFlow would otherwise use.
        @tf.custom_gradient
        def permute(values):
            return tf.gather(values, self._permutation), lambda upstream: tf.gather(upstream, self._inverse_permutation)

        return permute(x)

    def project(self, theta):
        """The full-space point ``origin + theta M``."""
        return self.origin + self.offset(theta)


class SubspaceLandscape:
    """A landscape restricted to a random subspace: a loss over ``theta`` in R^d."""

    def __init__(self, landscape, subspace: RandomSubspace):
        if subspace.dim != landscape.dim:
            raise ValueError(f"subspace.dim ({subspace.dim}) must equal landscape.dim ({landscape.dim})")
        self.landscape = landscape
        self.subspace = subspace
        self.dim = subspace.d

    def _pull_back(self, theta, full_loss_and_grad):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            params = self.subspace.project(theta)
        loss, grad = full_loss_and_grad(params)
        # Chain rule: d loss / d theta = M grad, computed through the projection.
        return loss, tape.gradient(params, theta, output_gradients=grad)

    def minibatch_loss_and_grad(self, theta, step):
        return self._pull_back(theta, lambda p: self.landscape.minibatch_loss_and_grad(p, step))

    def loss(self, theta):
        theta = as_params(theta, self.dim, "theta")
        return self.landscape.loss(self.subspace.project(theta))

    def loss_and_grad(self, theta):
        theta = as_params(theta, self.dim, "theta")
        return self._pull_back(theta, self.landscape.loss_and_grad)

    def initial_params(self, seed: int = 0):
        # Training in a subspace starts at its origin (theta = 0), as in Li et al. 2018.
        del seed
        return tf.zeros([self.dim])


@dataclass
class SubspaceResult:
    """Outcome of :func:`train_in_subspace`."""

    theta: np.ndarray
    params: np.ndarray
    losses: np.ndarray
    final_loss: float


def train_in_subspace(landscape, subspace: RandomSubspace, steps: int = 1000, learning_rate: float = 1e-2,
                      **options) -> SubspaceResult:
    """Optimize only ``theta`` (from 0) for the loss at ``origin + theta M``.

    ``options`` go to :func:`landscape.train.minimize` (optimizer, schedule).
    No layer of a Keras model is rewritten: gradients flow through the flat view.
    """
    if not isinstance(subspace, RandomSubspace):
        raise TypeError(f"subspace must be a RandomSubspace, got {type(subspace).__name__}")
    restricted = SubspaceLandscape(landscape, subspace)
    result = minimize(restricted, restricted.initial_params(), steps, learning_rate, **options)
    params = subspace.project(tf.constant(result.params)).numpy()
    return SubspaceResult(theta=result.params, params=params, losses=result.losses, final_loss=result.final_loss)


@dataclass
class IntrinsicDimensionResult:
    """Training in random subspaces of several dimensions d, over several seeds.

    Arrays indexed ``[i, j]`` are for ``dims[i]`` and ``seeds[j]``. ``accuracy`` is the
    test accuracy (train accuracy for a landscape without a test split), or None
    on landscapes without predictions (the toy).
    """

    dims: np.ndarray
    seeds: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    accuracy: np.ndarray | None
    full_space_loss: np.ndarray | None
    full_space_accuracy: np.ndarray | None

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
            raise ValueError("d_int needs accuracies: use a landscape with predictions and full_space=True")
        reached = np.flatnonzero(self.accuracy.mean(axis=1) >= level * self.full_space_accuracy.mean())
        return int(self.dims[reached[0]]) if reached.size else None


def _accuracy(landscape, params):
    split = "test" if getattr(landscape, "dataset", None) is not None else "train"
    return landscape.accuracy(params, split)


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
    one). ``options`` go to :func:`landscape.train.minimize`.
    """
    dims = np.asarray(sorted({check_int(d, "dims[i]", minimum=1, maximum=landscape.dim) for d in dims}))
    if dims.size == 0:
        raise ValueError("dims must hold at least one dimension")
    seeds = list(range(check_int(seeds, "seeds", minimum=1))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds:
        raise ValueError("seeds must be a positive count or a non-empty list")
    if origin_radius is not None:
        origin_radius = check_positive(origin_radius, "origin_radius")
    origins = []
    for seed in seeds:
        origin = landscape.initial_params(seed)
        if origin_radius is not None:
            origin = origin * (origin_radius / tf.norm(origin))
        origins.append(origin)
    initial_loss = np.array([float(landscape.loss(origin)) for origin in origins])
    has_accuracy = hasattr(landscape, "accuracy")

    final_loss = np.zeros((dims.size, len(seeds)))
    accuracy = np.zeros_like(final_loss) if has_accuracy else None
    runs = [(i, j) for i in range(dims.size) for j in range(len(seeds))]
    if progress:
        from tqdm.auto import tqdm

        runs = tqdm(runs, desc="subspace training")
    for i, j in runs:
        space = RandomSubspace(landscape.dim, int(dims[i]), kind, origins[j], seed=seeds[j])
        result = train_in_subspace(landscape, space, steps, learning_rate, **options)
        final_loss[i, j] = result.final_loss
        if has_accuracy:
            accuracy[i, j] = _accuracy(landscape, result.params)

    full_loss = full_accuracy = None
    if full_space:
        full_rate = learning_rate if full_space_learning_rate is None else full_space_learning_rate
        full = [minimize(landscape, origin, steps, full_rate, **options) for origin in origins]
        full_loss = np.array([run.final_loss for run in full])
        if has_accuracy:
            full_accuracy = np.array([_accuracy(landscape, run.params) for run in full])
    return IntrinsicDimensionResult(dims=dims, seeds=np.asarray(seeds), initial_loss=initial_loss,
                                    final_loss=final_loss, accuracy=accuracy, full_space_loss=full_loss,
                                    full_space_accuracy=full_accuracy)
