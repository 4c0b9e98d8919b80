"""One function per kind of figure. Each draws on a given matplotlib Axes and returns it."""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["loss_surface_2d", "wedges_3d", "path_profiles", "trajectory", "similarity_matrix", "seed_band",
           "METHOD_COLORS", "method_color"]

# One colour per method across the book, so that a reader who learned a colour in one chapter
# can read it in the next. Matched against a label by substring, the first key that occurs.
METHOD_COLORS = {
    "straight line": "tab:red",      # the baseline between two optima
    "hull": "tab:red",               # the baseline between m + 1 optima
    "through the intersection": "k",  # the path built through the wedges' intersection
    "built": "tab:pink",             # a path or surface constructed from the known wedges
    "construction": "tab:pink",
    "hyperplane": "tab:orange",      # the paper's method (tunnel or m-connector recipe)
    "paper's recipe": "tab:orange",
    "polychain": "tab:green",        # trained curves and surfaces
    "bezier": "tab:purple",
    "stars": "tab:cyan",
    "joint": "tab:brown",
    "quadratic": "tab:olive",        # the null model without wedges
    "optima": "k",
    "weight average": "tab:red",     # ensembles of networks: their averaged weights (SWA) ...
    "swa": "tab:red",
    "prediction ensemble": "tab:blue",  # ... their averaged predictions ...
    "snapshot": "0.5",               # ... and the members themselves
    "member": "0.5",
}


def method_color(label: str, default=None):
    """The book's colour for the method named in ``label`` (see METHOD_COLORS), else ``default``."""
    text = str(label).lower()
    return next((color for key, color in METHOD_COLORS.items() if key in text), default)


def loss_surface_2d(ax, landscape, extent: float = 2.0, num: int = 201, levels: int = 20):
    """Filled contours of a 2D landscape's loss on [-extent, extent]^2."""
    if landscape.dim != 2:
        raise ValueError(f"landscape must be 2-dimensional, got dim={landscape.dim}")
    grid = np.linspace(-extent, extent, num)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    loss = landscape.losses(points).reshape(xx.shape)
    filled = ax.contourf(xx, yy, loss, levels=levels, cmap="viridis")
    ax.figure.colorbar(filled, ax=ax, label="loss")
    ax.set_aspect("equal")
    ax.set_xlabel("$P_1$")
    ax.set_ylabel("$P_2$")
    return ax


def wedges_3d(ax, n: int, extent: float = 2.0, width: float = 0.12, alpha: float = 0.08):
    """The axis-aligned n-wedges of R^3 (n = 1: three rods; n = 2: three slabs),
    drawn faintly with a small width, behind whatever is drawn on ``ax`` afterwards."""
    if n not in (1, 2):
        raise ValueError(f"n must be 1 or 2 in three dimensions, got {n!r}")
    # Draw in the order of zorder, not by depth: paths plotted later stay visible in front.
    ax.computed_zorder = False
    for long_axes in itertools.combinations(range(3), n):
        lows = [-extent if axis in long_axes else -width for axis in range(3)]
        highs = [extent if axis in long_axes else width for axis in range(3)]
        _box(ax, lows, highs, alpha)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_zlim(-extent, extent)
    ax.set_xlabel("$P_1$")
    ax.set_ylabel("$P_2$")
    ax.set_zlabel("$P_3$")
    return ax


def _box(ax, lows, highs, alpha):
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    corners = np.array(list(itertools.product(*zip(lows, highs))))
    faces = []
    for axis in range(3):
        for side in (0, 1):
            face = corners[(corners[:, axis] == (lows, highs)[side][axis])]
            # Order the 4 corners of a face around its perimeter.
            others = [a for a in range(3) if a != axis]
            centre = face[:, others].mean(axis=0)
            angle = np.arctan2(face[:, others[1]] - centre[1], face[:, others[0]] - centre[0])
            faces.append(face[np.argsort(angle)])
    ax.add_collection3d(Poly3DCollection(faces, facecolor="tab:blue", edgecolor="tab:blue", linewidth=0.2,
                                         alpha=alpha, zorder=0))


def trajectory(ax, points, label=None, color=None, marker_end="o", **kwargs):
    """An optimization path (rows of ``points``) in 2D or 3D, start marked x, end marked o."""
    points = np.asarray(points)
    coords = [points[:, i] for i in range(points.shape[1])]
    (line,) = ax.plot(*coords, label=label, color=color, **kwargs)
    ax.plot(*[[c[0]] for c in coords], "x", color=line.get_color())
    if marker_end:
        ax.plot(*[[c[-1]] for c in coords], marker_end, color=line.get_color())
    return ax


def path_profiles(ax, profiles: dict, log: bool = False, legend_outside: bool = False, **style):
    """Loss against position along each path; ``profiles`` maps labels to PathProfile.
    On a log axis a zero loss cannot be drawn: such points are marked at the bottom."""
    for label, profile in profiles.items():
        (line,) = ax.plot(profile.t, profile.loss, label=label, **({"color": method_color(label)} | style))
        if log and np.any(profile.loss <= 0):
            zero = profile.loss <= 0
            ax.plot(profile.t[zero], np.full(zero.sum(), _log_floor(profiles)), "v", ms=3,
                    color=line.get_color())
    ax.set_xlabel("position along the path $t$")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    if legend_outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    else:
        ax.legend()
    return ax


def _log_floor(profiles):
    positive = np.concatenate([p.loss[p.loss > 0] for p in profiles.values()] or [np.ones(1)])
    return float(positive.min()) / 3 if positive.size else 1e-6


def similarity_matrix(ax, matrix, title=None):
    """A cosine-similarity matrix as an image on [-1, 1], with a colour bar."""
    image = ax.imshow(np.asarray(matrix), vmin=-1.0, vmax=1.0, cmap="RdBu_r")
    ax.figure.colorbar(image, ax=ax, label="cosine similarity", shrink=0.8)
    ax.set_xlabel("point along the path")
    ax.set_ylabel("point along the path")
    if title:
        ax.set_title(title)
    return ax


def seed_band(ax, x, values, included=None, *, geometric: bool = True, level: float = 0.95, color=None, label=None,
              **style):
    """A quantity measured at several settings and seeds: its mean over the seeds as a line
    with markers, and the t interval of that mean as a band.

    ``values`` (V, S): V settings at ``x`` (V,), S seeds. ``geometric``: the geometric
    mean and the interval of the mean log (ratios, widths), else the plain mean.
    ``included`` (V,) booleans: settings drawn as open markers outside the line and band
    when False (runs that did not reach their target, say). Returns the line.
    """
    from scipy import stats

    x = np.asarray(x, np.float64)
    values = np.asarray(values, np.float64)
    if values.ndim != 2 or values.shape[0] != x.size:
        raise ValueError(f"values must have shape (len(x), seeds) = ({x.size}, S), got {values.shape}")
    included = np.ones(x.size, bool) if included is None else np.asarray(included, bool)
    if included.shape != x.shape:
        raise ValueError(f"included must have one entry per setting ({x.size}), got shape {included.shape}")
    if geometric and np.any(values <= 0):
        raise ValueError("geometric=True needs positive values")
    data = np.log(values) if geometric else values
    centre = data.mean(axis=1)
    seeds = values.shape[1]
    half = (stats.t.ppf(0.5 + level / 2, seeds - 1) * data.std(axis=1, ddof=1) / np.sqrt(seeds) if seeds > 1
            else np.zeros(x.size))
    back = np.exp if geometric else (lambda v: v)
    (line,) = ax.plot(x[included], back(centre[included]), "o-", color=color, label=label, ms=4, **style)
    ax.fill_between(x[included], back((centre - half)[included]), back((centre + half)[included]),
                    color=line.get_color(), alpha=0.2, lw=0)
    if np.any(~included):
        ax.plot(x[~included], back(centre[~included]), "o", mfc="none", color=line.get_color(), ms=6)
    return line
