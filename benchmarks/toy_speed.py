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

import statistics
import sys
import time

import numpy as np

BYTES_PER_COORDINATE = 8 * 4  # 8 float32 vectors touched per step, see the docstring


class CopyTimer:
    """Seconds per byte of a large NumPy copy (each byte read once and written once)."""

    def __init__(self, size: int):
        self.source, self.target = np.ones(size, np.float32), np.empty(size, np.float32)

    def __call__(self) -> float:
        start = time.perf_counter()
        np.copyto(self.target, self.source)
        return (time.perf_counter() - start) / (2 * self.source.nbytes)


def numpy_loss_and_grad(x, short):
    """The reference: the D - n smallest |x_i| by argpartition, their norm and its gradient."""
    index = np.argpartition(np.abs(x), short - 1)[:short]
    selected = x[index]
    loss = np.sqrt(np.dot(selected, selected))
    grad = np.zeros_like(x)
    grad[index] = selected / loss
    return loss, grad


def seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def rows(small: bool = False) -> list[dict]:
    from landscape import toy, train

    dims = (10**4, 10**5) if small else (10**4, 10**5, 10**6, 10**7)
    copy = CopyTimer(2**20 if small else 2**25)
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
            # The three measurements alternate, round after round, so that the machine's
            # slow spells fall on all of them alike; medians of the rounds.
            ours, reference, per_byte = [], [], []
            for _ in range(rounds):
                ours.append(seconds(lambda: train.minimize(landscape, start, steps, 1e-3)) / steps)
                reference.append(seconds(lambda: numpy_loss_and_grad(x, landscape.num_short)))
                per_byte.append(copy())
            ours, reference = statistics.median(ours), statistics.median(reference)
            bound = BYTES_PER_COORDINATE * dim * statistics.median(per_byte)
            name = f"D = {dim:.0e}, n = {fraction:g} D"
            found.append(dict(benchmark="toy training step", configuration=name + " vs NumPy argpartition",
                              ours=ours, reference=reference, target="<= 2x at D = 1e6"))
            found.append(dict(benchmark="toy training step", configuration=name + " vs bandwidth bound",
                              ours=ours, reference=bound, target="<= 3x at D = 1e6"))
    return found


def main(argv=None):
    from run import run_suite

    return run_suite(rows, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
