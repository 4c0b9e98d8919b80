#!/usr/bin/env python3
"""Benchmark: the toy surrogate's loss and gradient inside a compiled Adam training step.

Against two references measured in the same run: NumPy's loss and gradient with
``np.argpartition`` (the obvious fast implementation), and the memory-bandwidth bound:
the bytes a step must touch (the parameters read for the loss and written by the update,
the gradient written and read, Adam's two moments read and written: 8 float32 vectors)
over this machine's copy bandwidth, measured with a large NumPy copy.

    .venv/bin/python benchmarks/toy_speed.py [--small]
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

BYTES_PER_COORDINATE = 8 * 4  # 8 float32 vectors touched per step, see the docstring


def copy_bandwidth(size=2**25, rounds=5) -> float:
    """Bytes per second of a large NumPy copy (read + write)."""
    source, target = np.ones(size, np.float32), np.empty(size, np.float32)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        np.copyto(target, source)
        samples.append(time.perf_counter() - start)
    return 2 * source.nbytes / min(samples)


def numpy_loss_and_grad(x, short):
    """The reference: the D - n smallest |x_i| by argpartition, their norm and its gradient."""
    index = np.argpartition(np.abs(x), short - 1)[:short]
    selected = x[index]
    loss = np.sqrt(np.dot(selected, selected))
    grad = np.zeros_like(x)
    grad[index] = selected / loss
    return loss, grad


def median_seconds(run, rounds):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rows(small: bool = False) -> list[dict]:
    from landscape import toy, train

    dims = (10**4, 10**5) if small else (10**4, 10**5, 10**6, 10**7)
    bandwidth = copy_bandwidth(2**20 if small else 2**25)
    found = []
    for dim in dims:
        for fraction in (0.5, 0.9):
            landscape = toy.WedgeLandscape(dim, int(fraction * dim))
            start = landscape.initial_params(0)
            # Enough steps that the run's fixed cost (its final full loss, copies out) is
            # small beside the steps: this row measures a step of a training loop.
            steps = 3 if small else max(10, min(1000, 10**8 // dim))
            train.minimize(landscape, start, steps, 1e-3)  # trace
            ours = median_seconds(lambda: train.minimize(landscape, start, steps, 1e-3), 3) / steps
            x = start.numpy()
            reference = median_seconds(lambda: numpy_loss_and_grad(x, landscape.num_short), 5)
            bound = BYTES_PER_COORDINATE * dim / bandwidth
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
