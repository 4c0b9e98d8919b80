"""Paths between optima, one concept a module.

- :mod:`.profiles`: the loss along a path (straight lines, polylines), evaluated densely.
- :mod:`.tunnels`: the paper's hyperplane tunnel (with refinement).
- :mod:`.curves`: polychains and Bezier curves trained on the loss along them.
- :mod:`.diagnostics`: what a path reveals (deviations from the line, predictions along it).
- :mod:`.connectors`: m-connectors, low-loss simplices through m + 1 optima.
"""
from .connectors import (GRID_METHODS, METHODS, Connector, ConnectorEvaluation, EnsembleComparison, build_connector,
                         compare_ensembles, dirichlet_weights, estimate_over_sets, face_masks, grid_points, grid_size,
                         grid_weights, optimize_centre, subdivision_points, union_prediction)
from .curves import CURVES, Bezier, Polychain, train_curve
from .diagnostics import (block_contrast, bootstrap_interval, cosine_similarity_matrix, deviations, half_alignment,
                          label_changes)
from .profiles import PathProfile, Polyline, arc_positions, evaluate_points, linear_path, polyline_path
from .tunnels import HyperplaneLandscape, ResolutionTrend, build_tunnel, resolution_trend, tunnel_resolution

__all__ = ["PathProfile", "Polyline", "arc_positions", "evaluate_points", "linear_path", "polyline_path",
           "HyperplaneLandscape", "build_tunnel", "tunnel_resolution", "ResolutionTrend", "resolution_trend", "CURVES", "Polychain", "Bezier", "train_curve",
           "deviations", "cosine_similarity_matrix", "half_alignment", "block_contrast", "label_changes",
           "bootstrap_interval",
           "METHODS", "GRID_METHODS", "Connector", "ConnectorEvaluation", "EnsembleComparison", "build_connector",
           "compare_ensembles", "dirichlet_weights", "estimate_over_sets", "face_masks", "grid_points", "grid_size",
           "grid_weights", "optimize_centre", "subdivision_points", "union_prediction"]
