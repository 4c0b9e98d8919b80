"""The paper's toy landscape: the Euclidean distance to the nearest n-wedge.

An *n-wedge* is the set of points whose coordinates are zero except on ``n``
chosen axes (its *long* axes); the other ``s = D - n`` axes are its *short*
directions. There is one wedge per n-subset of the D axes. The distance from P
to the nearest wedge is found without enumerating wedges (Section 3.2 of the
paper): keep the D - n smallest |P_i| and take the root of their sum of squares.
With ``rotate=True`` the whole arrangement is turned by a random orthogonal
matrix Q (the wedges become Q times the axis-aligned ones); :class:`RandomRotation`
builds Q from small random rotations and permutations, so it costs O(D) memory at
any D. :class:`QuadraticBasins` is a null model without wedges.

Selecting the D - n smallest magnitudes does not need a sort. For large D the
threshold (the (D - n)-th smallest |P_i|) is found by a two-pass radix select on
the bits of |P_i| (for non-negative floats, the order of the bit patterns is the
order of the values), then one masked sum: O(D) time and memory. Small D uses
``tf.math.top_k``, which is faster there.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .core import (as_params, as_points, check_int, check_positive, check_seed, compiled_batch_loss, compiled_loss,
                   compiled_loss_and_grad, value_and_gradient)

__all__ = ["WedgeLandscape", "QuadraticBasins", "RandomRotation", "MAX_DIM", "RADIX_SELECT_FROM"]
# One float32 vector of this length is 1 GiB; training holds several.
MAX_DIM = 2**28
# From this D on, the radix select beats top_k (measured in benchmarks/toy_speed.py).
RADIX_SELECT_FROM = 2**16


def _bincount(values, size):
    # DenseBincount with a constant size compiles under XLA (tf.math.bincount's does not).
    return tf.raw_ops.DenseBincount(input=values, size=size, weights=tf.zeros([0], tf.int32))


def _kth_smallest_bits(bits, k):
    """The bit pattern of the k-th smallest of ``bits`` (non-negative int32), in two
    counting passes: first over the high 16 bits, then the low 16 bits within the
    bucket that holds the k-th value."""
    high = tf.bitwise.right_shift(bits, 16)
    cumulative = tf.cumsum(_bincount(high, 2**15))
    bucket = tf.reduce_sum(tf.cast(cumulative < k, tf.int32))  # first bucket reaching k
    before = tf.concat([[0], cumulative], axis=0)[bucket]
    low = tf.where(tf.equal(high, bucket), tf.bitwise.bitwise_and(bits, 0xFFFF), 2**16)  # 2**16: not counted
    cumulative = tf.cumsum(_bincount(low, 2**16)) + before
    return bucket * 2**16 + tf.reduce_sum(tf.cast(cumulative < k, tf.int32))


def _selection_weights(coords, k):
    """Weight 1 on the k smallest |coords|, 0 elsewhere; coordinates tied at the
    threshold share the remaining slots equally (so the weights sum to exactly k)."""
    bits = tf.bitcast(tf.abs(coords), tf.int32)
    threshold = _kth_smallest_bits(bits, k)
    below = bits < threshold
    tied = tf.equal(bits, threshold)
    remaining = tf.cast(k, tf.float32) - tf.reduce_sum(tf.cast(below, tf.float32))
    share = remaining / tf.maximum(tf.reduce_sum(tf.cast(tied, tf.float32)), 1.0)
    return tf.where(below, 1.0, tf.where(tied, share, 0.0))


@tf.custom_gradient
def _weighted_norm(x, weights):
    """sqrt(sum w x^2), with gradient w x / norm, and 0 (not nan) at norm 0, where the loss is minimal."""
    norm = tf.sqrt(tf.reduce_sum(weights * tf.square(x), axis=-1))

    def grad(upstream):
        safe = tf.where(norm > 0, norm, tf.ones_like(norm))
        return upstream[..., None] * weights * x / safe[..., None], tf.zeros_like(weights)

    return norm, grad


class WedgeLandscape:
    """Distance to the nearest n-wedge in D dimensions (the paper's surrogate loss).

    Parameters
    ----------
    dim : int
        The dimension D of the parameter space (1 <= D <= MAX_DIM).
    n : int
        The number of long directions of each wedge, 0 <= n < dim. The number of
        short directions is ``dim - n``.
    rotate : bool
        Turn the wedges by a random orthogonal matrix (seeded by ``seed``), to show
        that conclusions do not depend on the wedges being axis-aligned.
    seed : int
        Seed of the rotation.
    init_scale : float
        Standard deviation of the Gaussian initial points.
    """

    vectorized = True  # batch_loss handles all rows in one top_k

    def __init__(self, dim: int, n: int, *, rotate: bool = False, seed: int = 0, init_scale: float = 1.0):
        self.dim = check_int(dim, "dim", minimum=1, maximum=MAX_DIM)
        self.n = check_int(n, "n", minimum=0, maximum=self.dim - 1)
        if not isinstance(rotate, bool):
            raise TypeError(f"rotate must be True or False, got {rotate!r}")
        self.rotate = rotate
        self.seed = check_seed(seed)
        self.init_scale = check_positive(init_scale, "init_scale")
        self.rotation = RandomRotation(self.dim, self.seed) if rotate else None
        # From RADIX_SELECT_FROM on, XLA fuses the selection's and the optimizer's passes
        # over the vector: a training step is about half as long (benchmarks/toy_speed.py).
        self.compile_with_xla = self.dim >= RADIX_SELECT_FROM
        # Many points trained together (a sweep's members in a SubspaceLandscape) are a
        # step of many small ops on a (k, D) batch, which XLA fuses at any D: chapter 3's
        # sweep at D = 800 (25 members) runs about 2.7x faster (benchmarks/subspace_speed.py).
        self.compile_batches_with_xla = True

    @property
    def num_short(self) -> int:
        """Number of short directions of every wedge, s = D - n."""
        return self.dim - self.n

    def __repr__(self) -> str:
        rotated = ", rotate=True" if self.rotate else ""
        return f"WedgeLandscape(dim={self.dim}, n={self.n}{rotated})"

    # -- the loss ---------------------------------------------------------------
    def to_wedge_coordinates(self, params) -> tf.Tensor:
        """Coordinates in which the wedges are axis-aligned (Q^T P; P itself unrotated).
        Works on a vector or on the rows of a batch."""
        return params if self.rotation is None else self.rotation.transpose_apply(params)

    def from_wedge_coordinates(self, coords) -> tf.Tensor:
        return coords if self.rotation is None else self.rotation.apply(coords)

    def distance(self, coords):
        """Distance to the nearest axis-aligned wedge, over the last axis of ``coords``
        (graph code: a vector, or a batch of rows)."""
        if coords.shape.rank == 1 and self.dim >= RADIX_SELECT_FROM:
            return _weighted_norm(coords, _selection_weights(coords, self.num_short))
        # The D - n smallest |coordinates| are the ones the nearest wedge zeroes.
        _, short = tf.math.top_k(-tf.abs(coords), k=self.num_short, sorted=False)
        kept = tf.gather(coords, short, axis=-1, batch_dims=coords.shape.rank - 1)
        return _weighted_norm(kept, tf.ones_like(kept))

    def loss_graph(self, params):
        """Graph code: the loss at one vector."""
        return self.distance(self.to_wedge_coordinates(params))

    def loss(self, params) -> tf.Tensor:
        """Euclidean distance from ``params`` to the nearest n-wedge."""
        return compiled_loss(self, as_params(params, self.dim))

    def loss_and_grad(self, params):
        return compiled_loss_and_grad(self, as_params(params, self.dim))

    def minibatch_loss_and_grad(self, params, step):
        """Graph code for training loops. The toy loss has no data: its stochastic
        gradient is the full gradient."""
        del step
        return value_and_gradient(self.loss_graph, params)

    def batch_loss(self, points) -> tf.Tensor:
        """Loss of every row of a (k, D) tensor, in one computation (graph code)."""
        return self.distance(self.to_wedge_coordinates(points))

    def batch_minibatch_loss(self, points, step) -> tf.Tensor:
        del step  # no data: the same as the full loss
        return self.batch_loss(points)

    def losses(self, points) -> np.ndarray:
        """Loss of every row of a (k, D) array."""
        return compiled_batch_loss(self, as_points(points, self.dim)).numpy()

    def initial_params(self, seed: int = 0) -> tf.Tensor:
        """A random point, i.i.d. Gaussian components with std ``init_scale``."""
        seed = check_seed(seed)
        return self.init_scale * tf.random.stateless_normal([self.dim], seed=[seed, 7919])

    # -- which wedge ------------------------------------------------------------
    def long_axes(self, params) -> np.ndarray:
        """Sorted indices of the n long axes of the wedge nearest to ``params``."""
        coords = self.to_wedge_coordinates(as_params(params, self.dim)).numpy()
        # Stable tie-breaking (by index) so the answer is reproducible.
        order = np.argsort(-np.abs(coords), kind="stable")
        return np.sort(order[: self.n])

    def short_axes(self, params) -> np.ndarray:
        """Sorted indices of the D - n short axes of the wedge nearest to ``params``."""
        return np.setdiff1d(np.arange(self.dim), self.long_axes(params))

    def same_wedge(self, a, b) -> bool:
        """Whether two points are nearest to the same wedge."""
        return bool(np.array_equal(self.long_axes(a), self.long_axes(b)))

    def short_directions(self, params, tolerance: float = 1e-2) -> int:
        """The number of short directions at ``params``: its near-zero coordinates
        (|value| < ``tolerance`` in wedge coordinates), the short axes of every wedge
        the point lies on. (The Hessian says little here: the loss is a distance,
        not smooth where wedges meet.)"""
        tolerance = check_positive(tolerance, "tolerance")
        coords = self.to_wedge_coordinates(as_params(params, self.dim)).numpy()
        return int(np.sum(np.abs(coords) < tolerance))

    def project_to_wedge(self, params) -> tf.Tensor:
        """The nearest point on the nearest wedge (the loss is the distance to it)."""
        params = as_params(params, self.dim)
        coords = self.to_wedge_coordinates(params).numpy()
        coords[self.short_axes(params)] = 0.0
        return self.from_wedge_coordinates(tf.constant(coords))

    def intersection_point(self, a, b) -> tf.Tensor:
        """A point on both the wedge of ``a`` and the wedge of ``b``.

        It keeps the coordinates of ``a`` on the axes long in both wedges and zeroes
        the rest. The segment from ``a`` to it stays on a's wedge, and the segment
        from it to ``b`` stays on b's wedge (the distance to one fixed wedge is
        convex), so the two segments form a low-loss path through the wedges'
        intersection *by construction*.
        """
        a = as_params(a, self.dim, "a")
        b = as_params(b, self.dim, "b")
        shared = np.intersect1d(self.long_axes(a), self.long_axes(b))
        coords = self.to_wedge_coordinates(a).numpy()
        kept = np.zeros_like(coords)
        kept[shared] = coords[shared]
        return self.from_wedge_coordinates(tf.constant(kept))




def _haar_rotation(size: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))


class RandomRotation:
    """A random orthogonal D x D matrix Q that is cheap at any D.

    Up to ``DENSE_UP_TO`` dimensions Q is one Haar-random rotation, stored dense. Above,
    Q = B3 P2 B2 P1 B1: each B is block-diagonal with Haar-random blocks of ``block``
    rows (the last block smaller when ``block`` does not divide D), each P a random
    permutation. Three layers let every coordinate reach every other (block^3 >= D up
    to 262,144 dimensions with blocks of 64). Memory O(D * block), a product
    O(D * block): a dense Haar rotation would cost 4 D^2 bytes and an O(D^3) QR (hours
    at D = 10,000 on a CPU). It is not Haar-distributed, but it is a generic rotation,
    which is all the toy needs: wedges that are not aligned with the coordinates.
    """

    DENSE_UP_TO = 2048

    def __init__(self, dim: int, seed: int = 0, block: int | None = None, layers: int = 3):
        self.dim = check_int(dim, "dim", minimum=1)
        rng = np.random.default_rng(check_seed(seed))
        if block is None:
            block = self.dim if self.dim <= self.DENSE_UP_TO else 64
        self.block = min(check_int(block, "block", minimum=1), self.dim)
        self.num_blocks = -(-self.dim // self.block)
        self.layers = 1 if self.dim <= self.block else check_int(layers, "layers", minimum=1)
        blocks, permutations = [], []
        for layer in range(self.layers):
            stack = np.tile(np.eye(self.block), (self.num_blocks, 1, 1))
            for b in range(self.num_blocks):
                size = min(self.block, self.dim - b * self.block)
                stack[b, :size, :size] = _haar_rotation(size, rng)
            blocks.append(tf.constant(stack, tf.float32))
            if layer < self.layers - 1:
                permutations.append(rng.permutation(self.dim).astype(np.int32))
        self.blocks = blocks
        self.permutations = [tf.constant(p) for p in permutations]
        self.inverse_permutations = [tf.constant(np.argsort(p).astype(np.int32)) for p in permutations]

    def _blockwise(self, x, blocks, transpose):
        """x (..., D) times a block-diagonal matrix, one block per run of ``block`` coordinates."""
        padded = self.num_blocks * self.block
        lead = tf.shape(x)[:-1]
        x = tf.pad(x, [[0, 0]] * (x.shape.rank - 1) + [[0, padded - self.dim]])
        x = tf.reshape(x, tf.concat([lead, [self.num_blocks, self.block]], axis=0))
        x = tf.einsum("...ni,nji->...nj" if transpose else "...ni,nij->...nj", x, blocks)
        return tf.reshape(x, tf.concat([lead, [padded]], axis=0))[..., : self.dim]

    def transpose_apply(self, x):
        """Q^T x for a vector, or for every row of a (k, D) tensor (graph code)."""
        for layer, blocks in enumerate(self.blocks):  # x Q = x B1^T... in row form: apply B1 first
            x = self._blockwise(x, blocks, transpose=False)
            if layer < len(self.permutations):
                x = tf.gather(x, self.permutations[layer], axis=-1)
        return x

    def apply(self, x):
        """Q x (the inverse of :meth:`transpose_apply`)."""
        for layer in reversed(range(len(self.blocks))):
            if layer < len(self.permutations):
                x = tf.gather(x, self.inverse_permutations[layer], axis=-1)
            x = self._blockwise(x, self.blocks[layer], transpose=True)
        return x

    def matrix(self) -> np.ndarray:
        """Q as a dense array (for small D: tests and pictures)."""
        return self.apply(tf.eye(self.dim)).numpy().T
class QuadraticBasins:
    """A null model without wedges: the loss is the lowest of a few quadratic basins,

        L(P) = min_i  l_i + 1/2 (P - c_i)^T H_i (P - c_i),

    each given by its centre ``c_i``, its loss ``l_i`` there and its Hessian's
    eigenvalues and eigenvectors (negative eigenvalues are set to 0). ``eigenvectors``
    may hold only r of them per basin (columns of a (k, D, r) array): the basin is then
    flat in the other directions, and a point costs O(k D r). Built from a network's
    Hessians at its optima, it is that network's landscape as anisotropic bowls, so a
    chapter can show which of the network's features any pair of basins produces and
    which need wedges.
    """

    vectorized = True

    def __init__(self, centers, eigenvalues, eigenvectors, losses=None):
        centers = np.asarray(centers, np.float32)
        if centers.ndim != 2 or len(centers) < 1:
            raise ValueError(f"centers must be a (k, D) array, got shape {centers.shape}")
        k, dim = centers.shape
        eigenvalues = np.asarray(eigenvalues, np.float32)
        eigenvectors = np.asarray(eigenvectors, np.float32)
        if eigenvalues.ndim != 2 or eigenvalues.shape[0] != k or not 1 <= eigenvalues.shape[1] <= dim:
            raise ValueError(f"eigenvalues must have shape ({k}, r) with 1 <= r <= {dim}, got {eigenvalues.shape}")
        rank = eigenvalues.shape[1]
        if eigenvectors.shape != (k, dim, rank):
            raise ValueError(f"eigenvectors must have shape ({k}, {dim}, {rank}) (columns are vectors), got "
                             f"{eigenvectors.shape}")
        losses = np.zeros(k, np.float32) if losses is None else np.asarray(losses, np.float32)
        if losses.shape != (k,):
            raise ValueError(f"losses must have shape ({k},), got {losses.shape}")
        self.dim = dim
        self.centers = tf.constant(centers)
        self.curvatures = tf.constant(np.maximum(eigenvalues, 0.0))
        self.eigenvectors = tf.constant(eigenvectors)
        self.floors = tf.constant(losses)

    def __repr__(self) -> str:
        return f"QuadraticBasins({len(self.floors)} basins, dim={self.dim})"

    def batch_loss(self, points) -> tf.Tensor:
        """Graph code: the loss of every row of a (m, D) tensor."""
        offsets = points[:, None, :] - self.centers[None]                       # (m, k, D)
        coordinates = tf.einsum("mkd,kde->mke", offsets, self.eigenvectors)      # in each basin's eigenbasis
        basins = self.floors + 0.5 * tf.reduce_sum(self.curvatures * tf.square(coordinates), axis=-1)
        return tf.reduce_min(basins, axis=-1)

    def loss_graph(self, params):
        return self.batch_loss(params[None])[0]

    def batch_minibatch_loss(self, points, step) -> tf.Tensor:
        del step
        return self.batch_loss(points)

    def loss(self, params) -> tf.Tensor:
        return compiled_loss(self, as_params(params, self.dim))

    def loss_and_grad(self, params):
        return compiled_loss_and_grad(self, as_params(params, self.dim))

    def minibatch_loss_and_grad(self, params, step):
        del step
        return value_and_gradient(self.loss_graph, params)

    def losses(self, points) -> np.ndarray:
        return compiled_batch_loss(self, as_points(points, self.dim)).numpy()

    def initial_params(self, seed: int = 0) -> tf.Tensor:
        seed = check_seed(seed)
        return tf.random.stateless_normal([self.dim], seed=[seed, 7919])
