"""The two scales every lesson reads: ``quick`` (CPU, seconds; CI and the rendered
book) and ``paper`` (the paper's settings, for a GPU).

Choose with ``LANDSCAPE_SCALE=paper`` in the environment or ``get_scale("paper")``
in a lesson's parameter cell.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

__all__ = ["Scale", "SCALES", "get_scale"]


@dataclass(frozen=True)
class Scale:
    """Sizes of the experiments. Lessons read these instead of typing numbers."""

    name: str
    # toy landscape
    toy_dim: int            # D
    toy_n: int              # long directions per wedge; D - n short ones
    toy_steps: int          # optimization steps per toy optimum
    toy_learning_rate: float
    num_pairs: int          # independent pairs of optima in pairwise claims
    # real networks
    dataset: str
    model: str              # "mlp" or "simple_cnn"
    mlp_widths: tuple
    train_steps: int
    batch_size: int | None  # None: full batch
    learning_rate: float    # Adam, constant (the paper's setting)
    max_train: int | None   # subset of the training set (None: all)
    # random subspaces (Chapter 3)
    toy_pairs: tuple        # (D, n) pairs of the limiting-dimension sweep
    fc_dataset: str         # dataset of the fully connected network (Li et al. use MNIST)
    cnn_channels: tuple     # channels of the small CNN
    cnn_batch_size: int | None
    subspace_dims: tuple    # d values tried on real networks
    subspace_seeds: int
    subspace_steps: int
    subspace_learning_rate: float
    subspace_kind: str      # projection of the real-network sweeps ("dense" is fastest for small D)
    # tunnels between optima (Chapter 4)
    tunnel_toy: tuple       # (D, n) of the toy landscape
    tunnel_segments: tuple  # segment counts of the hyperplane tunnel
    tunnel_toy_steps: int   # Adam steps per hyperplane point on the toy
    tunnel_refine: int      # refinements (insertions at the highest point) of a 2-segment tunnel
    curve_bends: int        # bends of the many-bend polychain and Bezier curve
    curve_toy_steps: int
    tunnel_mlp_widths: tuple  # the real network when model == "mlp" (small: its Hessian is formed exactly)
    tunnel_steps: int       # Adam steps per hyperplane point on the real network
    curve_steps: int
    tunnel_l2: float        # L2 coefficient of the regularized network (true minima, equal loss along the tunnel)
    hessian_k: int          # eigenvalues computed by Lanczos when the Hessian is too large to form

    def with_(self, **changes) -> "Scale":
        """A copy with some fields changed (e.g. ``scale.with_(toy_dim=100)``)."""
        return replace(self, **changes)


SCALES = {
    "quick": Scale(
        name="quick", toy_dim=500, toy_n=450, toy_steps=1500, toy_learning_rate=1e-3, num_pairs=20,
        dataset="digits", model="mlp", mlp_widths=(64, 32), train_steps=1500, batch_size=None,
        learning_rate=1e-2, max_train=None,
        toy_pairs=((400, 300), (600, 450), (800, 600)), fc_dataset="digits", cnn_channels=(8, 16, 16),
        cnn_batch_size=128, subspace_dims=(25, 50, 100, 200, 400), subspace_seeds=2, subspace_steps=400,
        subspace_learning_rate=0.1, subspace_kind="dense",
        tunnel_toy=(200, 180), tunnel_segments=(2, 8, 32), tunnel_toy_steps=300, tunnel_refine=60, curve_bends=8,
        curve_toy_steps=6000, tunnel_mlp_widths=(32,), tunnel_steps=500, curve_steps=2000, tunnel_l2=1e-4,
        hessian_k=1000,
    ),
    "paper": Scale(
        name="paper", toy_dim=10_000, toy_n=9_000, toy_steps=5000, toy_learning_rate=1e-3, num_pairs=20,
        dataset="cifar10", model="simple_cnn", mlp_widths=(200, 200), train_steps=20_000, batch_size=128,
        learning_rate=1e-3, max_train=None,
        toy_pairs=((4000, 3000), (6000, 4500), (8000, 6000)), fc_dataset="mnist", cnn_channels=(16, 32, 32),
        cnn_batch_size=128, subspace_dims=(100, 200, 300, 400, 500, 600, 750, 1000, 1500, 2000, 3000),
        subspace_seeds=3, subspace_steps=10_000, subspace_learning_rate=1e-2, subspace_kind="fastfood",
        tunnel_toy=(2000, 1800), tunnel_segments=(2, 8, 32), tunnel_toy_steps=1000, tunnel_refine=200,
        curve_bends=8, curve_toy_steps=10_000, tunnel_mlp_widths=(200, 200), tunnel_steps=2000, curve_steps=10_000,
        tunnel_l2=1e-4, hessian_k=1000,
    ),
}


def get_scale(name: str | None = None) -> Scale:
    """The preset called ``name``; default: ``$LANDSCAPE_SCALE`` or "quick"."""
    if name is None:
        name = os.environ.get("LANDSCAPE_SCALE", "quick")
    if name not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}; got {name!r}"
                         " (set by the argument or LANDSCAPE_SCALE)")
    return SCALES[name]
