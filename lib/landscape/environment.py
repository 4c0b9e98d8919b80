"""The environment the book's code runs in: the one place these settings are written.

Standard library only, so ``tasks.py`` and the lesson executor can load this file
before TensorFlow (or even the project) is installed. ``import landscape`` applies
it before importing TensorFlow, so a lesson's set-up cell needs no ``os.environ`` lines.
"""
from __future__ import annotations

import contextlib
import os
import sys

# setdefault semantics: a value the user set (e.g. LANDSCAPE_SCALE=paper) wins.
DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ log lines: errors only
    "TF_ENABLE_ONEDNN_OPTS": "0",  # the oneDNN notice off (tests turn it on to change rounding)
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # the debugger's frozen-modules notice in kernels
    "LANDSCAPE_SCALE": "quick",
}


def apply(environ=None) -> dict:
    """Set every default that is not already set; return the environment."""
    environ = os.environ if environ is None else environ
    for key, value in DEFAULTS.items():
        if not environ.get(key):
            environ[key] = value
    return environ


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for the duration (Python's sys.stderr is kept).

    TensorFlow's C++ runtime prints start-up lines (CUDA stubs, absl) straight to
    fd 2 while it loads, before it reads TF_CPP_MIN_LOG_LEVEL; a notebook kernel
    would show them as red stderr in the first cell (Colab does). Python errors and
    warnings go through ``sys.stderr`` objects, not this descriptor, so they still show.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
