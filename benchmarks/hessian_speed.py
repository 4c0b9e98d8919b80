#!/usr/bin/env python3
"""Benchmark: the top eigenvalues of a network's Hessian.

The library's Lanczos (SciPy's eigsh on Hessian-vector products) against power iteration
with deflation (PyHessian's method: find the top eigenvector by power iteration, project it
out, repeat), both run until their eigenvalues match the exact spectrum to the same
relative accuracy; and both against forming the Hessian and diagonalizing it (small D).

    .venv/bin/python benchmarks/hessian_speed.py [--small]
"""
from __future__ import annotations

import sys
import time

import numpy as np


def power_iteration_with_deflation(hessian, k, tolerance, max_iterations=1000, seed=0):
    """The k largest eigenvalues, one after another (PyHessian's algorithm); the number of
    Hessian-vector products used."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    found, vectors, products = [], [], 0
    for _ in range(k):
        v = rng.standard_normal(hessian.dim).astype(np.float32)
        value = None
        for _ in range(max_iterations):
            for u in vectors:  # deflation: stay orthogonal to the eigenvectors found
                v -= np.dot(u, v) * u
            v /= np.linalg.norm(v)
            hv = hessian.vector_product(tf.constant(v)).numpy()
            products += 1
            new = float(np.dot(v, hv))
            v = hv
            if value is not None and abs(new - value) <= tolerance * abs(new):
                value = new
                break
            value = new
        found.append(value)
        vectors.append(v / np.linalg.norm(v))
    return np.sort(found)[::-1], products


def rows(small: bool = False) -> list[dict]:
    from landscape import data, models, probes, train

    dataset = data.load_dataset("digits", max_train=300 if small else None)
    widths, k = ((8,), 5) if small else ((32,), 50)
    landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=widths, seed=0), dataset)
    point = train.minimize(landscape, landscape.initial_params(0), 100 if small else 1000, 1e-2).params
    hessian = probes.Hessian(landscape, point)
    hessian.vector_product(point)  # trace
    start = time.perf_counter()
    exact = hessian.eigenvalues(method="exact")[:k]
    exact_seconds = time.perf_counter() - start
    start = time.perf_counter()
    lanczos = probes.Hessian(landscape, point).eigenvalues(k, method="lanczos")
    lanczos_seconds = time.perf_counter() - start
    lanczos_error = float(np.max(np.abs(lanczos - exact) / np.abs(exact)))
    start = time.perf_counter()
    power, products = power_iteration_with_deflation(hessian, k, tolerance=max(lanczos_error, 1e-4))
    power_seconds = time.perf_counter() - start
    power_error = float(np.max(np.abs(power - exact) / np.abs(exact)))
    name = f"top {k} of D = {landscape.dim}"
    return [
        dict(benchmark="Hessian eigenvalues", configuration=f"{name}: Lanczos (error {lanczos_error:.1e}) vs power "
             f"iteration with deflation (error {power_error:.1e}, {products} products)", ours=lanczos_seconds,
             reference=power_seconds, target="<= 0.2x (5x faster)"),
        dict(benchmark="Hessian eigenvalues", configuration=f"{name}: Lanczos vs the exact spectrum",
             ours=lanczos_seconds, reference=exact_seconds, target="(exact only at small D)"),
    ]


def main(argv=None):
    from run import run_suite

    return run_suite(rows, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
