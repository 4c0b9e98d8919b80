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

    def with_(self, **changes) -> "Scale":
        """A copy with some fields changed (e.g. ``scale.with_(toy_dim=100)``)."""
        return replace(self, **changes)


SCALES = {
    "quick": Scale(
        name="quick", toy_dim=500, toy_n=450, toy_steps=1500, toy_learning_rate=1e-3, num_pairs=20,
        dataset="digits", model="mlp", mlp_widths=(64, 32), train_steps=1500, batch_size=None,
        learning_rate=1e-2, max_train=None,
    ),
    "paper": Scale(
        name="paper", toy_dim=10_000, toy_n=9_000, toy_steps=5000, toy_learning_rate=1e-3, num_pairs=20,
        dataset="cifar10", model="simple_cnn", mlp_widths=(200, 200), train_steps=20_000, batch_size=128,
        learning_rate=1e-3, max_train=None,
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
