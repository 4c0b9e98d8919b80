"""landscape: the library behind the book on the large-scale structure of loss landscapes.

The spine: a *landscape* is a differentiable loss over a flat parameter vector
(:mod:`landscape.core`). :class:`toy.WedgeLandscape` is the paper's surrogate,
:class:`models.ModelLandscape` a real Keras network; every experiment takes either.
"""
from . import environment as _environment

_environment.apply()
with _environment.quiet_stderr():
    import tensorflow as _tf  # noqa: F401  (loaded once, quietly; later imports are free)

    # TensorFlow looks for its devices once, at the first operation, and its C++ runtime
    # reports what it found on fd 2 (on a machine without a GPU driver: "failed call to
    # cuInit"). TF_CPP_MIN_LOG_LEVEL hides that only if it was set before TensorFlow was
    # imported; a student who ran `import tensorflow as tf` before this library would see
    # it in whichever lesson cell ran the first operation. So look now, quietly. (This
    # lists the physical devices only: they can still be configured afterwards.)
    _tf.config.list_physical_devices()

from . import (  # noqa: E402
    cache, claims, core, data, ensembles, evidence, highdim, models, paths, plots, probes, scale, subspace, toy,
    train)
from .core import set_seed  # noqa: E402
from .scale import get_scale  # noqa: E402

__version__ = "0.2.0"
__all__ = ["cache", "claims", "core", "data", "ensembles", "evidence", "highdim", "models", "paths", "plots", "probes",
           "scale", "subspace", "toy", "train", "set_seed", "get_scale"]
