"""Local probes of a landscape.

- :mod:`.hessian`: curvature: Hessian-vector products, eigenvalues (exact or
  Lanczos), the trace, and the number of short directions at a point.
- :mod:`.radial`: the loss along many random directions from a point (radial
  profiles, tunnel widths) and random 2D cuts.
"""
from .hessian import (MAX_EXACT_DIM, Hessian, count_above, count_curve, hessian_eigenvalues, hessian_vector_product,
                      short_directions)

__all__ = ["MAX_EXACT_DIM", "Hessian", "count_above", "count_curve", "hessian_eigenvalues", "hessian_vector_product",
           "short_directions"]
