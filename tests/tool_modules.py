"""The repository's tools (tools/*.py) as modules for the tests, each loaded once."""
from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


@functools.cache
def load(name: str):
    """tools/<name>.py, registered in sys.modules (dataclasses look their module up there)."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
