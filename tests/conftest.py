import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# Before TensorFlow is imported anywhere: no C++ log lines, no oneDNN rounding differences.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# Kernels started by nbval read tools/ipython (TensorFlow's C++ start-up lines,
# written to fd 2, are not captured into cells; Python warnings still are).
os.environ.setdefault("IPYTHONDIR", str(Path(__file__).resolve().parents[1] / "tools" / "ipython"))

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1800  # seconds


def repository_url() -> str:
    """The one place the repository URL is written: pyproject's [project.urls] Repository."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def colab_link(lesson: str) -> str:
    """The Colab URL that opens lessons/<lesson>.ipynb from the repository's main branch."""
    github = re.sub(r"^https://github\.com/", "", repository_url()).rstrip("/")
    return f"https://colab.research.google.com/github/{github}/blob/main/lessons/{lesson}.ipynb"


def jupyter_book() -> str:
    sibling = Path(sys.executable).with_name("jupyter-book")
    found = str(sibling) if sibling.exists() else shutil.which("jupyter-book")
    assert found, "jupyter-book is not installed in this environment"
    return found


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    """The HTML book, built once per test run into a temporary directory.

    Shared by tests/test_book_build.py (static checks of the HTML) and
    tests/test_browser.py (the pages opened in headless Chromium). Every Sphinx
    warning is an error; the config says execute_notebooks: "off", so the stored
    notebook outputs are rendered and nothing is executed.
    """
    out = tmp_path_factory.mktemp("book")
    cmd = [jupyter_book(), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, cwd=ROOT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the book build failed (warnings are errors):\n{log[-8000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").exists(), f"no index.html in {html}:\n{log[-4000:]}"
    return html
