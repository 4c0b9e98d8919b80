#!/usr/bin/env python3
"""Benchmark: a training step in a random subspace against a full-space step.

Prints ratios measured side by side in one run (the machine is noisy, so the
configurations are interleaved over several rounds and the median is reported),
and the peak memory of training at D = 1e6, d = 1e4 in a Fastfood subspace,
measured in a fresh child process.

    .venv/bin/python benchmarks/subspace_speed.py            # the issue's sizes
    .venv/bin/python benchmarks/subspace_speed.py --small    # a smoke run (used by the tests)
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def step_times(widths, dims, steps, rounds):
    from landscape import data, models, subspace, train

    dataset = data.load_dataset("digits")
    landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=widths, seed=0), dataset)
    origin = landscape.initial_params(0)
    runners = {"full space": lambda n: train.minimize(landscape, origin, n, 1e-3)}
    for kind, d in dims:
        space = subspace.RandomSubspace(landscape.dim, d, kind, origin, seed=0)
        restricted = subspace.SubspaceLandscape(landscape, space)
        runners[f"{kind} d={d}"] = (lambda r: lambda n: train.minimize(r, r.initial_params(), n, 1e-2))(restricted)
    for run in runners.values():
        run(2)  # trace and warm up
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(steps)
            samples[name].append((time.perf_counter() - start) / steps)
    return landscape.dim, {name: statistics.median(values) for name, values in samples.items()}


def memory_child(dim, d, steps):
    """Run in a child process: peak RSS of Fastfood training at (dim, d)."""
    import tensorflow as tf  # noqa: F401  (baseline includes TensorFlow itself)

    from landscape import subspace, toy

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    landscape = toy.WedgeLandscape(dim, dim - d // 2)
    space = subspace.RandomSubspace(dim, d, "fastfood", landscape.initial_params(0), seed=0)
    result = subspace.train_in_subspace(landscape, space, steps=steps, learning_rate=1e-2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{baseline:.0f} {peak:.0f} {result.final_loss / result.losses[0]:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--memory-child", nargs=3, type=int, metavar=("DIM", "D", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0

    if args.small:
        widths, dims, steps, rounds, big = (32,), [("fastfood", 100)], 5, 2, (2**14, 1000, 3)
    else:
        widths, dims, steps, rounds, big = (1000, 100), [("fastfood", 1000), ("fastfood", 10_000),
                                                         ("sparse", 1000)], 50, 5, (10**6, 10**4, 20)
    dim, times = step_times(widths, dims, steps, rounds)
    full = times["full space"]
    print(f"MLP {widths} on digits (full batch), D = {dim}: median time per training step over {rounds} rounds")
    for name, seconds in times.items():
        print(f"  {name:<18} {seconds * 1e3:8.2f} ms   ratio to full space {seconds / full:5.2f}")

    child = subprocess.run([sys.executable, __file__, "--memory-child", *map(str, big)],
                           capture_output=True, text=True, check=True)
    baseline, peak, relative = child.stdout.split()
    print(f"Fastfood training at D = {big[0]}, d = {big[1]} ({big[2]} steps, toy landscape, relative loss {relative}):")
    print(f"  peak memory {peak} MB for the whole process, of which {float(peak) - float(baseline):.0f} MB "
          f"above the {baseline} MB of Python + TensorFlow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
