"""landscape: the library behind the book on the large-scale structure of loss landscapes.

The spine: a *landscape* is a differentiable loss over a flat parameter vector
(:mod:`landscape.core`). :class:`toy.WedgeLandscape` is the paper's surrogate,
:class:`models.ModelLandscape` a real Keras network; every experiment takes either.
"""
from . import environment as _environment

_environment.apply()
with _environment.quiet_stderr():
    import tensorflow as _tf  # noqa: F401  (loaded once, quietly; later imports are free)

from . import (  # noqa: E402
    cache, claims, core, data, ensembles, evidence, highdim, models, paths, plots, probes, scale, subspace, toy,
    train)
from .core import set_seed  # noqa: E402
from .scale import get_scale  # noqa: E402

__version__ = "0.2.0"
__all__ = ["cache", "claims", "core", "data", "ensembles", "evidence", "highdim", "models", "paths", "plots", "probes",
           "scale", "subspace", "toy", "train", "set_seed", "get_scale"]
