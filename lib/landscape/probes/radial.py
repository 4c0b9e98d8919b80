"""The loss along random directions from a point: radial profiles, tunnel widths, 2D cuts.

Section 3.3 of the paper: from a point near a low-loss wedge, the loss along a
random unit direction ``v`` rises with the distance ``a`` at almost the same rate
whatever ``v`` is, so a random low-dimensional view shows a round *hole*: a radial
tunnel. :func:`radial_profile` measures the loss at ``point + a v`` for many random
directions and radii; :func:`tunnel_width` reads off how far one can go before the
loss has risen by a stated threshold (the paper's Section 4.4 compares these widths
across hyperparameters); :func:`random_cut_2d` draws the loss on a random plane
through the point, with the filter normalization of Li et al. (2018) on networks.

The paper's wedges radiate from the origin, and its radial tunnels are seen on
projections that contain the *radial* direction P/|P|: :func:`radial_width` measures
the width along +P/|P| (outward) and -P/|P| (toward the origin), and
:func:`radial_cut_2d` draws the loss on the plane spanned by the radial direction and
a random one.

Every probe evaluates all the directions of one radius together: one batched
computation per radius on a landscape with batched losses (:class:`~landscape.core.BatchedLoss`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import (BatchedLoss, Landscape, as_params, check_choice, check_increasing, check_int, check_positive,
                    check_seed)
from ..models import ModelLandscape

__all__ = ["random_directions", "radial_direction", "RadialProfile", "radial_profile", "TunnelWidth", "tunnel_width",
           "radial_width", "crossing_radii", "filter_normalized_direction", "Cut2D", "random_cut_2d", "radial_cut_2d",
           "NORMALIZATIONS"]

NORMALIZATIONS = ("auto", "filter", "norm")


def _check_landscape(landscape) -> None:
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a landscape (dim, loss, loss_graph, ...), got {type(landscape).__name__}")


def _losses(landscape, points: np.ndarray) -> np.ndarray:
    """Loss at every row of ``points``: one batched computation if the landscape has one."""
    if isinstance(landscape, BatchedLoss):
        return np.asarray(landscape.losses(points), np.float64)
    return np.array([float(landscape.loss(p)) for p in points])


def random_directions(dim: int, num: int, seed: int = 0) -> np.ndarray:
    """``num`` random unit vectors in R^dim, uniform on the sphere (normalized Gaussians),
    as a float32 array (num, dim). The same seed and dim give the same directions."""
    dim = check_int(dim, "dim", minimum=1)
    num = check_int(num, "num", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    directions = rng.standard_normal((num, dim))
    return (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def radial_direction(point) -> np.ndarray:
    """The unit vector P/|P| pointing from the origin through ``point`` (float32): the
    direction along which the paper's wedges radiate. A point at the origin has none."""
    point = np.asarray(point, np.float64)
    if point.ndim != 1 or point.size == 0:
        raise ValueError(f"point must be a non-empty vector, got shape {point.shape}")
    if not np.all(np.isfinite(point)):
        raise ValueError("point contains non-finite values")
    norm = float(np.linalg.norm(point))
    if norm == 0:
        raise ValueError("point must be away from the origin (the radial direction of 0 is undefined)")
    return (point / norm).astype(np.float32)


def _check_radii(radii, positive: bool) -> np.ndarray:
    radii = check_increasing(radii, "radii", minimum=0.0)
    if positive and radii[0] <= 0:
        raise ValueError(f"radii must be > 0 here (a width is searched between them), got {radii[0]:g}")
    return radii


@dataclass
class RadialProfile:
    """The loss at ``point + a v`` for random unit directions v and radii a.

    radii : (R,) the distances a
    loss : (K, R) the loss along direction k at radius r
    base_loss : the loss at the point itself
    point_norm : |point| (the distance of the point from the origin)
    seed : the seed of the directions
    """

    radii: np.ndarray
    loss: np.ndarray
    base_loss: float
    point_norm: float
    seed: int

    @property
    def mean(self) -> np.ndarray:
        """Mean loss over the directions, at every radius (R,)."""
        return self.loss.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation over the directions (ddof 1; 0 with one direction), at every radius."""
        if self.loss.shape[0] < 2:
            return np.zeros(self.loss.shape[1])
        return self.loss.std(axis=0, ddof=1)

    @property
    def relative_spread(self) -> np.ndarray:
        """Standard deviation over the directions divided by the mean, at every radius:
        how much the loss depends on the direction (0 for a perfectly round hole)."""
        return self.std / np.maximum(np.abs(self.mean), np.finfo(float).tiny)

    @property
    def rise(self) -> np.ndarray:
        """The loss minus the loss at the point (K, R)."""
        return self.loss - self.base_loss


def _profile(landscape, point: np.ndarray, directions: np.ndarray, radii: np.ndarray):
    base = float(_losses(landscape, point[None])[0])
    columns = [_losses(landscape, point[None] + np.float32(r) * directions) for r in radii]
    return base, np.stack(columns, axis=1)


def radial_profile(landscape, point, num_directions: int = 64, radii=(0.5, 1.0, 2.0, 4.0), seed: int = 0, *,
                   directions=None) -> RadialProfile:
    """The loss at ``point + a v`` along ``num_directions`` random unit directions v
    (uniform on the sphere, seeded) at every radius a of ``radii`` (increasing, >= 0).

    ``directions`` (K, D): probe along these directions instead (each scaled to unit
    length; ``num_directions`` and ``seed`` are then not used), e.g. the radial
    direction and its opposite, ``[radial_direction(point), -radial_direction(point)]``.
    All the directions of one radius are evaluated in one batched computation on a
    landscape with batched losses. The spread across directions at a radius
    (:attr:`RadialProfile.relative_spread`) says how round the hole is.
    """
    _check_landscape(landscape)
    point = as_params(point, landscape.dim, "point").numpy()
    num_directions = check_int(num_directions, "num_directions", minimum=1)
    radii = _check_radii(radii, positive=False)
    seed = check_seed(seed)
    if directions is None:
        directions = random_directions(landscape.dim, num_directions, seed)
    else:
        directions = np.asarray(directions, np.float64)
        if directions.ndim != 2 or directions.shape[1] != landscape.dim or directions.shape[0] == 0:
            raise ValueError(f"directions must be an array (K, {landscape.dim}) with K >= 1, got shape "
                             f"{directions.shape}")
        lengths = np.linalg.norm(directions, axis=1, keepdims=True)
        if not np.all(np.isfinite(directions)) or np.any(lengths == 0):
            raise ValueError("directions must be finite, non-zero vectors")
        directions = (directions / lengths).astype(np.float32)
    base, loss = _profile(landscape, point, directions, radii)
    return RadialProfile(radii=radii, loss=loss, base_loss=base, point_norm=float(np.linalg.norm(point)),
                         seed=seed)


@dataclass
class TunnelWidth:
    """How far from a point the loss stays low, along random unit directions.

    The width along direction k for threshold t is the smallest distance a at which
    the loss at ``point + a v_k`` exceeds the loss at the point by t. A direction
    whose loss stays below that up to ``max_radius`` is *censored*: its width is only
    known to exceed max_radius and is stored as inf.

    thresholds : (T,) loss rises (absolute, in loss units)
    widths : (T, K) per threshold and direction (inf: censored)
    base_loss : the loss at the point
    point_norm : |point|
    max_radius : the largest radius probed
    """

    thresholds: np.ndarray
    widths: np.ndarray
    base_loss: float
    point_norm: float
    max_radius: float

    def _bounded(self) -> np.ndarray:
        return np.where(np.isfinite(self.widths), self.widths, self.max_radius)

    @property
    def censored(self) -> np.ndarray:
        """Per threshold, the number of directions that never crossed it within max_radius."""
        return np.sum(~np.isfinite(self.widths), axis=1)

    @property
    def mean(self) -> np.ndarray:
        """Mean width over the directions, per threshold (T,). A censored direction
        counts as max_radius, so with censored directions this is a lower bound."""
        return self._bounded().mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation of the width over the directions (ddof 1), per threshold."""
        if self.widths.shape[1] < 2:
            return np.zeros(self.widths.shape[0])
        return self._bounded().std(axis=1, ddof=1)

    @property
    def relative_spread(self) -> np.ndarray:
        """std / mean per threshold: 0 for a perfectly round hole."""
        return self.std / self.mean

    @property
    def angular(self) -> np.ndarray:
        """Mean angular width in radians, per threshold: arctan(width / |point|).

        The paper speaks of the *angular* width without defining it; this is the
        book's definition. A random direction is nearly orthogonal to the point in
        high dimension, so arctan(w / |P|) is the angle, seen from the origin,
        between the point and the first high-loss point along the direction.
        """
        return np.arctan(self._bounded() / self.point_norm).mean(axis=1)


def _check_thresholds(thresholds) -> np.ndarray:
    if isinstance(thresholds, (str, bytes)):
        raise TypeError(f"thresholds must be a number or a sequence of numbers, got {thresholds!r}")
    values = np.atleast_1d(np.asarray(thresholds, dtype=object))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"thresholds must be a number or a non-empty sequence of numbers, got {thresholds!r}")
    return np.array([check_positive(v, "threshold") for v in values])


def crossing_radii(radii, loss, base_loss, thresholds) -> np.ndarray:
    """Where each profile first rises above each threshold, from losses on a radius grid.

    ``loss`` (K, R) at ``radii`` (R,) (or (K, R): a grid per profile), ``base_loss``
    the loss at the point. Returns (T, K) radii, inf where the threshold is never
    crossed. Between the two grid radii that bracket the first crossing, the rise
    (loss - base_loss) is interpolated as a power law, c a^p (a straight line in
    log-log coordinates); below the first grid radius, as a quadratic rise from 0
    (the loss is smooth at a minimum). On grids with a ratio of 1.4 between radii the
    interpolation error was below 1% on trained networks.
    """
    thresholds = _check_thresholds(thresholds)
    loss = np.atleast_2d(np.asarray(loss, np.float64))
    radii = np.broadcast_to(np.asarray(radii, np.float64), loss.shape)
    rise = np.maximum(loss - float(base_loss), 1e-12)
    rows = np.arange(loss.shape[0])
    out = np.full((len(thresholds), loss.shape[0]), np.inf)
    for j, threshold in enumerate(thresholds):
        above = rise > threshold
        first = np.argmax(above, axis=1)
        crossed = above.any(axis=1)
        hi_r, hi = radii[rows, first], rise[rows, first]
        lo_r, lo = radii[rows, np.maximum(first - 1, 0)], rise[rows, np.maximum(first - 1, 0)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            power = np.log(hi / lo) / np.log(hi_r / lo_r)
            inside = np.exp(np.log(lo_r) + np.log(threshold / lo) / power)
            from_zero = hi_r * np.sqrt(threshold / hi)
        inside = np.clip(np.nan_to_num(inside, nan=hi_r, posinf=hi_r, neginf=lo_r), lo_r, hi_r)
        width = np.where(first > 0, inside, np.where(radii[rows, 0] > 0, from_zero, radii[rows, 0]))
        out[j] = np.where(crossed, width, np.inf)
    return out


DEFAULT_RELATIVE_RADII = tuple(np.geomspace(0.02, 5.0, 17))  # ratio 1.41 between radii


def _width_along(landscape, point: np.ndarray, directions: np.ndarray, thresholds, radii, relative) -> TunnelWidth:
    """The width along the rows of ``directions`` (unit vectors), on the grid ``radii``
    (fractions of |point| if ``relative``)."""
    radii = _check_radii(radii, positive=True)
    if not isinstance(relative, bool):
        raise TypeError(f"relative must be True or False, got {relative!r}")
    norm = float(np.linalg.norm(point))
    if relative:
        if norm == 0:
            raise ValueError("relative=True needs a point with non-zero norm (the radii are fractions of it)")
        radii = radii * norm
    base, loss = _profile(landscape, point, directions, radii)
    return TunnelWidth(thresholds=thresholds, widths=crossing_radii(radii, loss, base, thresholds),
                       base_loss=base, point_norm=norm, max_radius=float(radii[-1]))


def tunnel_width(landscape, point, thresholds=(0.25, 1.0), num_directions: int = 20, radii=None, seed: int = 0, *,
                 relative: bool | None = None) -> TunnelWidth:
    """The radial tunnel width at ``point`` along ``num_directions`` random unit directions.

    For each threshold (a rise of the loss above its value at the point, in loss
    units, > 0) and direction: the smallest distance at which the loss has risen by
    that much, found on the grid ``radii`` (increasing, > 0) and interpolated between
    grid radii (:func:`crossing_radii`). With ``relative=True`` the radii are
    fractions of |point|, so networks of very different norms share one grid.
    Without ``radii``: 17 fractions of |point| from 0.02 to 5 (``relative`` is then
    True). The directions are those of :func:`radial_profile` with the same seed.
    """
    _check_landscape(landscape)
    point = as_params(point, landscape.dim, "point").numpy()
    thresholds = _check_thresholds(thresholds)
    num_directions = check_int(num_directions, "num_directions", minimum=1)
    if radii is None:
        radii, relative = DEFAULT_RELATIVE_RADII, True if relative is None else relative
    relative = False if relative is None else relative
    seed = check_seed(seed)
    directions = random_directions(landscape.dim, num_directions, seed)
    return _width_along(landscape, point, directions, thresholds, radii, relative)


def radial_width(landscape, point, thresholds=(0.25, 1.0), radii=None, *, relative: bool | None = None
                 ) -> TunnelWidth:
    """The width at ``point`` along the radial direction: its two "directions" are
    +P/|P| (outward, away from the origin) and -P/|P| (toward the origin), in that order.

    The same measure as :func:`tunnel_width` (thresholds, radii and ``relative`` alike),
    so the two compare directly: a radial tunnel is wider along the radial direction
    than along random ones. Along -P/|P| the origin is at the distance |P| (1 in
    relative radii); a width beyond it lies on the far side of the origin.
    """
    _check_landscape(landscape)
    point = as_params(point, landscape.dim, "point").numpy()
    thresholds = _check_thresholds(thresholds)
    if radii is None:
        radii, relative = DEFAULT_RELATIVE_RADII, True if relative is None else relative
    relative = False if relative is None else relative
    outward = radial_direction(point)
    return _width_along(landscape, point, np.stack([outward, -outward]), thresholds, radii, relative)


# -- random 2D cuts -----------------------------------------------------------------------
def filter_normalized_direction(point, shapes, seed: int = 0) -> np.ndarray:
    """A random Gaussian direction rescaled filter by filter to ``point``'s filters
    (Li et al. 2018), as a flat float32 vector.

    ``shapes`` are the shapes of the weight tensors the flat ``point`` is made of, in
    order (a ModelLandscape's ``view.shapes``). A *filter* is one output unit's
    incoming weights: the slice ``[..., j]`` of a Keras kernel (Dense: (in, out);
    Conv2D: (h, w, in, out)). Slice j of the direction gets the norm of slice j of
    the point, so the direction is as large, unit by unit, as the network itself, and
    a cut is not dominated by the layers with the largest weights. One-dimensional
    tensors (biases) get a zero direction, as in Li et al.
    """
    point = np.asarray(point, np.float32)
    shapes = [tuple(int(n) for n in shape) for shape in shapes]
    total = sum(int(np.prod(shape)) for shape in shapes)
    if point.ndim != 1 or total != point.size:
        raise ValueError(f"shapes hold {total} numbers but point has shape {point.shape}")
    rng = np.random.default_rng(check_seed(seed))
    pieces, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        weights = point[offset:offset + size].reshape(shape)
        direction = rng.standard_normal(shape)
        if len(shape) >= 2:
            axes = tuple(range(len(shape) - 1))
            scale = np.sqrt(np.sum(np.square(weights, dtype=np.float64), axis=axes, keepdims=True))
            direction *= scale / np.sqrt(np.sum(np.square(direction), axis=axes, keepdims=True))
        else:
            direction[:] = 0.0
        pieces.append(direction.reshape(-1))
        offset += size
    return np.concatenate(pieces).astype(np.float32)


@dataclass
class Cut2D:
    """The loss on the plane ``point + alpha d1 + beta d2``, on a grid.

    alphas, betas : (A,), (B,) the grid's coordinates
    loss : (B, A) the loss (rows: beta, columns: alpha)
    base_loss : the loss at the point (alpha = beta = 0)
    direction_norms : |d1|, |d2|
    normalization : "filter" (Li et al.), "norm" (both directions as long as the point) or
        "radial" (:func:`radial_cut_2d`: the radial direction and a random one orthogonal to
        it, both as long as the point)
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    base_loss: float
    direction_norms: np.ndarray
    normalization: str


def random_cut_2d(landscape, point, extent: float = 1.0, num: int = 21, seed: int = 0, *,
                  normalization: str = "auto") -> Cut2D:
    """The loss on a random plane through ``point``, on a ``num`` x ``num`` grid of
    [-extent, extent]^2 in units of the two directions.

    ``normalization``: "filter" rescales each random direction filter by filter to the
    network's own filters (Li et al. 2018; needs a network, a ModelLandscape);
    "norm" scales both directions to the length |point| (for the toy, which has no
    filters); "auto" chooses "filter" on a network and "norm" otherwise. Each row of
    the grid is evaluated in one batched computation.
    """
    _check_landscape(landscape)
    point = as_params(point, landscape.dim, "point").numpy()
    extent = check_positive(extent, "extent")
    num = check_int(num, "num", minimum=2)
    seed = check_seed(seed)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    network = isinstance(landscape, ModelLandscape)
    if normalization == "auto":
        normalization = "filter" if network else "norm"
    if normalization == "filter":
        if not network:
            raise TypeError(f"normalization='filter' needs a network (a ModelLandscape, whose filters are known), "
                            f"got {type(landscape).__name__}; use normalization='norm'")
        first, second = (filter_normalized_direction(point, landscape.view.shapes, seed + k) for k in (0, 1))
    else:
        norm = np.linalg.norm(point)
        if norm == 0:
            raise ValueError("normalization='norm' needs a point with non-zero norm (the directions get its length)")
        first, second = random_directions(landscape.dim, 2, seed) * np.float32(norm)
    grid = np.linspace(-extent, extent, num)
    return _plane(landscape, point, first, second, grid, grid.copy(), normalization)


def _plane(landscape, point, first, second, alphas, betas, normalization) -> Cut2D:
    """The loss at point + alpha first + beta second on the grid alphas x betas, one
    batched computation per row (beta)."""
    base = float(_losses(landscape, point[None])[0])
    rows = [_losses(landscape, point[None] + np.float32(beta) * second + alphas[:, None].astype(np.float32) * first)
            for beta in betas]
    return Cut2D(alphas=alphas, betas=betas, loss=np.stack(rows), base_loss=base,
                 direction_norms=np.array([np.linalg.norm(first), np.linalg.norm(second)]),
                 normalization=normalization)


def radial_cut_2d(landscape, point, inward: float = 1.0, outward: float = 1.0, across: float = 1.0, num: int = 21,
                  seed: int = 0) -> Cut2D:
    """The loss on the plane through ``point`` spanned by the radial direction P/|P| and
    a random direction orthogonal to it, both in units of |P|.

    ``alphas`` run along the radial direction from ``-inward`` to ``outward``
    (alpha = -1 is the origin, alpha = 0 the point), ``betas`` across it from
    ``-across`` to ``across``, ``num`` points each. In these units the angle seen from
    the origin between the point and a point at distance w across is arctan(w), the
    book's angular width; a tunnel that radiates from the origin is a cone with its
    apex at (-1, 0). The random direction is that of :func:`random_directions` with
    ``seed``, its radial component removed. ``normalization`` is "radial".
    """
    _check_landscape(landscape)
    point = as_params(point, landscape.dim, "point").numpy()
    inward = check_positive(inward, "inward")
    outward = check_positive(outward, "outward")
    across = check_positive(across, "across")
    num = check_int(num, "num", minimum=2)
    seed = check_seed(seed)
    if landscape.dim < 2:
        raise ValueError(f"a radial cut needs a landscape of dimension >= 2, got {landscape.dim}")
    radial = radial_direction(point).astype(np.float64)
    norm = float(np.linalg.norm(point))
    other = random_directions(landscape.dim, 1, seed)[0].astype(np.float64)
    other -= (other @ radial) * radial
    other /= np.linalg.norm(other)
    first, second = (np.float32(norm) * v.astype(np.float32) for v in (radial, other))
    return _plane(landscape, point, first, second, np.linspace(-inward, outward, num), np.linspace(-across, across, num),
                  "radial")
