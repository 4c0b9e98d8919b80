"""Local probes of a landscape: curvature and the number of short directions.

A *short* direction is one in which the low-loss region is thin. On a real
network we count Hessian eigenvalues above a stated threshold (exactly for small
D, by Lanczos iterations on Hessian-vector products for large D). On the toy
landscape the Hessian says little at a wedge intersection (the loss is a
distance, not smooth there), so we count what the model defines: the short axes
of the wedges a point lies on, i.e. its near-zero coordinates.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .core import as_params, check_int, check_positive, compile_per_instance

__all__ = ["hessian_vector_product", "hessian_eigenvalues", "short_directions", "MAX_EXACT_DIM"]

MAX_EXACT_DIM = 4096  # above this the Hessian is not formed; Lanczos is used


def _hvp(landscape, params, vector):
    with tf.GradientTape() as tape:
        tape.watch(params)
        _, grad = landscape.loss_and_grad(params)
    return tape.gradient(grad, params, output_gradients=vector)


def _compiled_hvp(landscape):
    """H(params) @ each row of a (k, D) block, compiled once per landscape."""
    cache = landscape.__dict__
    if "_hessian_block" not in cache:
        def block(params, vectors):
            return tf.map_fn(lambda v: _hvp(landscape, params, v), vectors)
        cache["_hessian_block"] = compile_per_instance(block, reduce_retracing=True)
    return cache["_hessian_block"]


def hessian_vector_product(landscape, params, vector) -> tf.Tensor:
    """H(params) @ vector, by differentiating the gradient (no Hessian is formed)."""
    params = as_params(params, landscape.dim, "params")
    vector = as_params(vector, landscape.dim, "vector")
    return _compiled_hvp(landscape)(params, vector[None])[0]


def hessian_eigenvalues(landscape, params, *, method: str = "auto", k: int = 100) -> np.ndarray:
    """Hessian eigenvalues at ``params``, largest first.

    ``method="exact"`` forms the Hessian column by column (dim <= MAX_EXACT_DIM) and
    returns all eigenvalues; ``"lanczos"`` returns the ``k`` largest (SciPy's eigsh on
    Hessian-vector products); ``"auto"`` picks exact when the dimension allows.
    """
    if method not in ("auto", "exact", "lanczos"):
        raise ValueError(f"method must be 'auto', 'exact' or 'lanczos'; got {method!r}")
    params = as_params(params, landscape.dim, "params")
    dim = landscape.dim
    if method == "auto":
        method = "exact" if dim <= MAX_EXACT_DIM else "lanczos"
    if method == "exact":
        if dim > MAX_EXACT_DIM:
            raise ValueError(f"method='exact' needs dim <= {MAX_EXACT_DIM}, got {dim}; use method='lanczos'")
        block_rows = 256  # columns per compiled call: bounds memory, amortizes the call
        hvp = _compiled_hvp(landscape)
        hessian = np.concatenate([
            hvp(params, tf.one_hot(tf.range(start, min(start + block_rows, dim)), dim)).numpy()
            for start in range(0, dim, block_rows)]).astype(np.float64)
        return np.linalg.eigvalsh(0.5 * (hessian + hessian.T))[::-1]
    from scipy.sparse.linalg import LinearOperator, eigsh

    k = check_int(k, "k", minimum=1, maximum=dim - 1)
    operator = LinearOperator(
        (dim, dim), dtype=np.float64,
        matvec=lambda v: hessian_vector_product(landscape, params, np.asarray(v, np.float32).ravel()).numpy())
    values = eigsh(operator, k=k, which="LA", return_eigenvectors=False, tol=1e-4)
    return np.sort(values)[::-1]


def short_directions(landscape, params, *, threshold: float | None = None, tolerance: float = 1e-2,
                     method: str = "auto", k: int = 100) -> int:
    """The number of short directions at ``params``.

    Toy landscape: coordinates (in wedge coordinates) with |value| < ``tolerance``,
    the short axes of every wedge the point lies on. Real network: Hessian
    eigenvalues above the absolute ``threshold`` (required: the choice decides the
    count, so it must be stated). With Lanczos only the ``k`` largest are known;
    a count of ``k`` is a lower bound and raises an error asking for a larger ``k``.
    """
    if hasattr(landscape, "to_wedge_coordinates"):
        tolerance = check_positive(tolerance, "tolerance")
        coords = landscape.to_wedge_coordinates(as_params(params, landscape.dim, "params")).numpy()
        return int(np.sum(np.abs(coords) < tolerance))
    if threshold is None:
        raise ValueError("threshold is required on a real network: the count of Hessian eigenvalues "
                         "depends on it (e.g. threshold=1e-4)")
    threshold = check_positive(threshold, "threshold")
    eigenvalues = hessian_eigenvalues(landscape, params, method=method, k=k)
    count = int(np.sum(eigenvalues > threshold))
    if count == len(eigenvalues) < landscape.dim:
        raise ValueError(f"all {count} computed eigenvalues exceed threshold={threshold}: raise k to count them all")
    return count
