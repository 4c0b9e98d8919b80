"""The paper's toy landscape: the Euclidean distance to the nearest n-wedge.

An *n-wedge* is the set of points whose coordinates are zero except on ``n``
chosen axes (its *long* axes); the other ``s = D - n`` axes are its *short*
directions. There is one wedge per n-subset of the D axes. The distance from P
to the nearest wedge is found without enumerating wedges (Section 3.2 of the
paper): sort |P_i|, keep the D - n smallest, take the root of their sum of
squares. With ``rotate=True`` the whole arrangement is turned by a random
orthogonal matrix Q (the wedges become Q times the axis-aligned ones).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .core import as_params, check_int, check_positive, compile_per_instance

__all__ = ["WedgeLandscape", "MAX_ROTATED_DIM"]

# A rotation is a dense D x D matrix: above this size it costs > 256 MB.
MAX_ROTATED_DIM = 8192


@tf.custom_gradient
def _safe_norm(x):
    """||x||, with gradient x/||x|| and 0 (not nan) at x = 0, where the loss is minimal."""
    norm = tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1))

    def grad(upstream):
        safe = tf.where(norm > 0, norm, tf.ones_like(norm))
        return upstream[..., None] * tf.where(norm[..., None] > 0, x / safe[..., None], 0.0)

    return norm, grad


class WedgeLandscape:
    """Distance to the nearest n-wedge in D dimensions (the paper's surrogate loss).

    Parameters
    ----------
    dim : int
        The dimension D of the parameter space (>= 1).
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

    def __init__(self, dim: int, n: int, *, rotate: bool = False, seed: int = 0, init_scale: float = 1.0):
        self.dim = check_int(dim, "dim", minimum=1)
        self.n = check_int(n, "n", minimum=0, maximum=self.dim - 1)
        if not isinstance(rotate, bool):
            raise TypeError(f"rotate must be True or False, got {rotate!r}")
        self.rotate = rotate
        self.seed = check_int(seed, "seed", minimum=0)
        self.init_scale = check_positive(init_scale, "init_scale")
        self.rotation = None
        if rotate:
            if self.dim > MAX_ROTATED_DIM:
                raise ValueError(
                    f"dim must be <= {MAX_ROTATED_DIM} with rotate=True (a dense rotation of "
                    f"dim={self.dim} needs {4 * self.dim**2 / 2**30:.1f} GiB); use rotate=False"
                )
            self.rotation = tf.constant(_random_rotation(self.dim, self.seed))
        self._loss_and_grad = compile_per_instance(self._loss_and_grad_graph)

    @property
    def num_short(self) -> int:
        """Number of short directions of every wedge, s = D - n."""
        return self.dim - self.n

    def __repr__(self) -> str:
        rotated = ", rotate=True" if self.rotate else ""
        return f"WedgeLandscape(dim={self.dim}, n={self.n}{rotated})"

    # -- the loss ---------------------------------------------------------------
    def to_wedge_coordinates(self, params) -> tf.Tensor:
        """Coordinates in which the wedges are axis-aligned (Q^T P; P itself unrotated)."""
        if self.rotation is None:
            return params
        return tf.linalg.matvec(self.rotation, params, transpose_a=True)

    def from_wedge_coordinates(self, coords) -> tf.Tensor:
        if self.rotation is None:
            return coords
        return tf.linalg.matvec(self.rotation, coords)

    def _distance(self, coords):
        """Distance to the nearest axis-aligned wedge, over the last axis of ``coords``."""
        # The D - n smallest |coordinates| are the ones the nearest wedge zeroes.
        _, short = tf.math.top_k(-tf.abs(coords), k=self.num_short, sorted=False)
        return _safe_norm(tf.gather(coords, short, axis=-1, batch_dims=len(coords.shape) - 1))

    def _loss_graph(self, params):
        return self._distance(self.to_wedge_coordinates(params))

    def _loss_and_grad_graph(self, params):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = self._loss_graph(params)
        return loss, tape.gradient(loss, params)

    def loss(self, params) -> tf.Tensor:
        """Euclidean distance from ``params`` to the nearest n-wedge."""
        return self._loss_graph(as_params(params, self.dim))

    def loss_and_grad(self, params):
        return self._loss_and_grad(as_params(params, self.dim))

    def minibatch_loss_and_grad(self, params, step):
        # The toy loss has no data: its stochastic gradient is the full gradient.
        del step
        return self._loss_and_grad_graph(params)

    def losses(self, points) -> np.ndarray:
        """Loss of every row of a (k, D) array, vectorized."""
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != self.dim:
            raise ValueError(f"points must have shape (k, {self.dim}), got {points.shape}")
        if not np.all(np.isfinite(points)):
            raise ValueError("points contains non-finite values (nan or inf)")
        coords = tf.constant(points)
        if self.rotation is not None:
            coords = tf.matmul(coords, self.rotation)
        return self._distance(coords).numpy()

    def initial_params(self, seed: int = 0) -> tf.Tensor:
        """A random point, i.i.d. Gaussian components with std ``init_scale``."""
        seed = check_int(seed, "seed", minimum=0)
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
        from it to ``b`` stays on b's wedge (distance to one fixed wedge is convex),
        so the two segments form a low-loss path through the wedges' intersection.
        """
        a = as_params(a, self.dim, "a")
        b = as_params(b, self.dim, "b")
        shared = np.intersect1d(self.long_axes(a), self.long_axes(b))
        coords = self.to_wedge_coordinates(a).numpy()
        kept = np.zeros_like(coords)
        kept[shared] = coords[shared]
        return self.from_wedge_coordinates(tf.constant(kept))


def _random_rotation(dim: int, seed: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q *= np.sign(np.diag(r))
    return q.astype(np.float32)
