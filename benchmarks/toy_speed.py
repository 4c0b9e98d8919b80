#!/usr/bin/env python3
"""Benchmark: the toy surrogate's loss and gradient inside a compiled Adam training step.

Against two references measured in the same run: NumPy's loss and gradient with
``np.argpartition`` (the obvious fast implementation), and the memory-bandwidth bound:
the bytes a step must touch (the parameters read for the loss and written by the update,
the gradient written and read, Adam's two moments read and written: 8 float32 vectors)
over this machine's copy bandwidth, measured with a large NumPy copy. The three are
timed in alternation, round after round, and each row reports the medians.

    .venv/bin/python benchmarks/toy_speed.py [--small]
"""
from __future__ import annotations

import sys

import numpy as np

from run import interleaved_medians, run_suite

BYTES_PER_COORDINATE = 8 * 4  # 8 float32 vectors touched per step, see the docstring


def numpy_loss_and_grad(x, short):
    """The reference: the D - n smallest |x_i| by argpartition, their norm and its gradient."""
    index = np.argpartition(np.abs(x), short - 1)[:short]
    selected = x[index]
    loss = np.sqrt(np.dot(selected, selected))
    grad = np.zeros_like(x)
    grad[index] = selected / loss
    return loss, grad


def rows(small: bool = False) -> list[dict]:
    from landscape import toy, train

    dims = (10**4, 10**5) if small else (10**4, 10**5, 10**6, 10**7)
    copy_size = 2**20 if small else 2**25
    source, target = np.ones(copy_size, np.float32), np.empty(copy_size, np.float32)
    rounds = 2 if small else 5
    found = []
    for dim in dims:
        for fraction in (0.5, 0.9):
            landscape = toy.WedgeLandscape(dim, int(fraction * dim))
            start = landscape.initial_params(0)
            # Enough steps that the run's fixed cost (its final full loss, copies out) is
            # small beside the steps: this row measures a step of a training loop.
            steps = 3 if small else max(10, min(1000, 10**8 // dim))
            train.minimize(landscape, start, steps, 1e-3)  # trace
            x = start.numpy()
            # Each runner is one timed call (a training run of ``steps`` steps, one NumPy
            # loss and gradient, one copy that reads and writes every byte of ``source``).
            times = interleaved_medians({
                "ours": lambda _: train.minimize(landscape, start, steps, 1e-3),
                "reference": lambda _: numpy_loss_and_grad(x, landscape.num_short),
                "copy": lambda _: np.copyto(target, source)}, 1, rounds)
            ours, reference = times["ours"] / steps, times["reference"]
            bound = BYTES_PER_COORDINATE * dim * times["copy"] / (2 * source.nbytes)
            name = f"D = {dim:.0e}, n = {fraction:g} D"
            found.append(dict(benchmark="toy training step", configuration=name + " vs NumPy argpartition",
                              ours=ours, reference=reference, target="<= 2x at D = 1e6"))
            found.append(dict(benchmark="toy training step", configuration=name + " vs bandwidth bound",
                              ours=ours, reference=bound, target="<= 3x at D = 1e6"))
    return found


def main(argv=None):
    return run_suite(rows, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
