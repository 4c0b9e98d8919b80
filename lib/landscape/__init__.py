"""landscape: the library behind the book on the large-scale structure of loss landscapes.

The spine: a *landscape* is a differentiable loss over a flat parameter vector
(:mod:`landscape.core`). :class:`toy.WedgeLandscape` is the paper's surrogate,
:class:`models.ModelLandscape` a real Keras network; every experiment takes
either.
"""
import os as _os

# Silence TensorFlow's C++ log lines when the library is what imports TensorFlow.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from . import cache, core, data, highdim, models, paths, plots, probes, scale, subspace, toy, train  # noqa: E402
from .core import set_seed  # noqa: E402
from .scale import get_scale  # noqa: E402

__version__ = "0.1.0"
__all__ = ["cache", "core", "data", "highdim", "models", "paths", "plots", "probes", "scale", "subspace", "toy", "train",
           "set_seed", "get_scale"]
