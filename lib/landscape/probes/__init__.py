"""Local probes of a landscape.

- :mod:`.hessian`: curvature: Hessian-vector products, eigenvalues (exact or
  Lanczos), the trace, and the number of short directions at a point.
- :mod:`.radial`: the loss along many random directions from a point (radial
  profiles, tunnel widths, the width along the radial direction) and 2D cuts.
- :mod:`.sweeps`: networks trained to a matched loss with different
  hyperparameters, and their tunnel widths.
"""
from .hessian import (MAX_EXACT_DIM, Hessian, count_above, count_curve, hessian_eigenvalues, hessian_vector_product,
                      quadratic_basins, short_directions)
from .radial import (NORMALIZATIONS, Cut2D, RadialProfile, TunnelWidth, crossing_radii, filter_normalized_direction,
                     radial_cut_2d, radial_direction, radial_profile, radial_width, random_cut_2d,
                     random_directions, tunnel_width)
from .sweeps import SWEPT, Run, SweepSetup, TrainedRun, WidthSweep, rank_correlation, sweep_runs, width_sweep

__all__ = ["MAX_EXACT_DIM", "Hessian", "count_above", "count_curve", "hessian_eigenvalues", "hessian_vector_product",
           "quadratic_basins", "short_directions",
           "NORMALIZATIONS", "Cut2D", "RadialProfile", "TunnelWidth", "crossing_radii", "filter_normalized_direction",
           "radial_cut_2d", "radial_direction", "radial_profile", "radial_width", "random_cut_2d", "random_directions",
           "tunnel_width",
           "SWEPT", "Run", "SweepSetup", "TrainedRun", "WidthSweep", "rank_correlation", "sweep_runs", "width_sweep"]
