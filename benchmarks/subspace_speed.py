#!/usr/bin/env python3
"""Benchmark: a training step in a random subspace against a full-space step, and a
toy sweep's step (many subspaces trained together) against the same without sharing.

Prints ratios measured side by side in one run (the machine is noisy, so the
configurations are interleaved over several rounds and the median is reported),
and the peak memory of training at D = 1e6, d = 1e4 in a Fastfood subspace,
measured in a fresh child process.

    .venv/bin/python benchmarks/subspace_speed.py            # the issue's sizes
    .venv/bin/python benchmarks/subspace_speed.py --small    # a smoke run (used by the tests)
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys

import numpy as np

from run import interleaved_medians, print_table


def step_times(widths, dims, steps, rounds, inputs: str = "digits", batch_size=None):
    """Median seconds per training step: full space and each (kind, d) subspace of an MLP
    with ``widths``, on digits (full batch by default) or on random MNIST-shaped data
    (784 inputs; a step's time does not depend on the values)."""
    from landscape import data, models, subspace, train

    if inputs == "digits":
        dataset = data.load_dataset("digits")
        shape = dataset.input_shape
    else:
        rng = np.random.default_rng(0)
        dataset, shape = (rng.random((4096, 784), dtype=np.float32), rng.integers(0, 10, 4096)), (784,)
    landscape = models.ModelLandscape(models.mlp(shape, 10, widths=widths, seed=0), dataset, batch_size=batch_size)
    origin = landscape.initial_params(0)
    runners = {"full space": lambda n: train.minimize(landscape, origin, n, 1e-3)}  # noqa: E731
    for kind, d in dims:
        space = subspace.RandomSubspace(landscape.dim, d, kind, origin, seed=0)
        restricted = subspace.SubspaceLandscape(landscape, space)
        runners[f"{kind} d={d}"] = (lambda r: lambda n: train.minimize(r, r.initial_params(), n, 1e-2))(restricted)
    for run in runners.values():
        run(2)  # trace and warm up
    return landscape.dim, interleaved_medians(runners, steps, rounds)


def sweep_times(dim, steps, rounds):
    """A toy sweep's training step as chapter 3 runs it (5 dimensions around D - n times
    5 seeds, trained together): as the library does it (one dense matrix per seed, XLA)
    against the same members with a matrix each and no XLA, side by side."""
    from landscape import subspace, toy, train

    landscape = toy.WedgeLandscape(dim, dim * 3 // 4)
    short = landscape.num_short
    spaces = [subspace.RandomSubspace(dim, round(short * f), "dense", landscape.initial_params(j), seed=j)
              for f in (0.5, 0.95, 1.0, 1.05, 1.5) for j in range(5)]
    ours = subspace.SubspaceLandscape(landscape, spaces)
    unshared = subspace.SubspaceLandscape(landscape, spaces)
    unshared.shared, unshared.compile_with_xla = False, False
    unshared.use(spaces)
    runners = {name: (lambda r: lambda n: train.minimize(r, r.initial_params(), n, 2e-2))(restricted)
               for name, restricted in (("ours", ours), ("unshared", unshared))}
    for run in runners.values():
        run(steps)  # trace and compile
    return interleaved_medians(runners, steps, rounds)


def peak_megabytes() -> float:
    """This process's peak resident memory in MB (VmHWM). Not getrusage's ru_maxrss: on
    Linux that keeps, across exec, the peak of the image forked from the parent, so a
    child of this (large) benchmark process would report the parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(dim, d, steps):
    """Run in a child process: peak RSS of Fastfood training at (dim, d)."""
    from landscape import subspace, toy  # the baseline includes TensorFlow itself

    baseline = peak_megabytes()
    landscape = toy.WedgeLandscape(dim, dim - d // 2)
    space = subspace.RandomSubspace(dim, d, "fastfood", landscape.initial_params(0), seed=0)
    result = subspace.train_in_subspace(landscape, space, steps=steps, learning_rate=1e-2)
    peak = peak_megabytes()
    print(f"{baseline:.0f} {peak:.0f} {result.final_loss / result.losses[0]:.3f}")


# (description, MLP widths, inputs, batch size, subspaces): the network on digits at
# full batch, and the paper's chapter-3 fully connected network (and a wider one, D ~ 1e6)
# at the paper's batch of 128, where a step is cheap and the projection weighs most.
NETWORKS = [
    ("MLP (1000, 100) on digits, full batch", (1000, 100), "digits", None,
     [("fastfood", 1000), ("fastfood", 10_000), ("sparse", 1000), ("dense", 1000)]),
    ("MLP (200, 200) on 784 inputs, batch 128", (200, 200), "mnist-shaped", 128, [("fastfood", 1000), ("sparse", 1000)]),
    ("MLP (1000, 200) on 784 inputs, batch 128", (1000, 200), "mnist-shaped", 128, [("fastfood", 1000)]),
]


def rows(small: bool = False) -> list[dict]:
    if small:
        networks = [("MLP (32,) on digits", (32,), "digits", None, [("fastfood", 100)])]
        steps, rounds, big = 5, 2, (2**14, 1000, 3)
    else:
        networks, steps, rounds, big = NETWORKS, 50, 5, (10**6, 10**4, 20)
    found = []
    for description, widths, inputs, batch_size, dims in networks:
        dim, times = step_times(widths, dims, steps, rounds, inputs, batch_size)
        found += [dict(benchmark="subspace training step", configuration=f"{description}, D = {dim}: {name} vs full space",
                       ours=seconds, reference=times["full space"], target="<= 1.5x (Fastfood, D >= 1e5)")
                  for name, seconds in times.items() if name != "full space"]
    sweep_dim = 200 if small else 800
    sweep = sweep_times(sweep_dim, steps if small else 500, rounds)
    found.append(dict(benchmark="toy sweep step", configuration=f"25 members at D = {sweep_dim} (chapter 3): a dense "
                      "matrix per seed and XLA vs a matrix per member, no XLA", ours=sweep["ours"],
                      reference=sweep["unshared"], target="< 1x"))
    child = subprocess.run([sys.executable, __file__, "--memory-child", *map(str, big)],
                           capture_output=True, text=True, check=True)
    baseline, peak, _ = child.stdout.split()
    dim, d = big[0], big[1]
    found.append(dict(benchmark="subspace memory", configuration=f"Fastfood training at D = {dim:.0e}, d = {d:.0e}: peak "
                      "MB above Python and TensorFlow vs the 4 d D bytes of a dense M",
                      ours=float(peak) - float(baseline), reference=4 * d * dim / 2**20, target="O(D), far below dense",
                      unit="MB"))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--memory-child", nargs=3, type=int, metavar=("DIM", "D", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    print_table(rows(args.small))
    return 0


if __name__ == "__main__":
    sys.exit(main())
