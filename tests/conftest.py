"""Shared fixtures and helpers of the test suite (pytest loads this file first)."""
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import book_pages
import tool_modules

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1800  # seconds


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The environment (TensorFlow's quiet defaults, the scale) before TensorFlow is imported
# anywhere: lib/landscape/environment.py is the one place it is written.
_load_module("landscape_environment", ROOT / "lib" / "landscape" / "environment.py").apply()


# -- facts the tests share -----------------------------------------------------------------
@pytest.fixture(scope="session")
def repository_url() -> str:
    return book_pages.repository_url()


@pytest.fixture(scope="session")
def colab_link():
    """lesson name -> the Colab URL that opens lessons/<lesson>.ipynb from the main branch."""
    return book_pages.colab_link


@pytest.fixture(scope="session")
def toc():
    return book_pages.toc_entries()


@pytest.fixture(scope="session")
def executor():
    """tools/execute_lessons.py as a module (staleness, source hash)."""
    return tool_modules.load("execute_lessons")


# -- small landscapes ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def digits_small():
    from landscape import data

    return data.load_dataset("digits", max_train=300, max_test=100)


@pytest.fixture(scope="session")
def tiny_network(digits_small):
    """An MLP 64-16-10 on 300 digits: a real landscape small enough for exact Hessians."""
    from landscape import models

    return models.ModelLandscape(models.mlp(digits_small.input_shape, 10, widths=(16,), seed=0), digits_small)


# -- the rendered book ---------------------------------------------------------------------
def jupyter_book() -> str:
    sibling = Path(sys.executable).with_name("jupyter-book")
    found = str(sibling) if sibling.exists() else shutil.which("jupyter-book")
    assert found, "jupyter-book is not installed in this environment"
    return found


@contextlib.contextmanager
def _exclusive(lock: Path, timeout: float = BUILD_TIMEOUT):
    """Hold ``lock`` (a file created exclusively) across the test run's worker processes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock} held for more than {timeout} s") from None
            time.sleep(1)
    try:
        yield
    finally:
        os.close(handle)
        lock.unlink()


@pytest.fixture(scope="session")
def html_dir(request, tmp_path_factory) -> Path:
    """The HTML book, built once per test run into a temporary directory.

    Shared by tests/test_book_build.py (static checks of the HTML) and
    tests/test_browser.py (the pages opened in headless Chromium), also when pytest-xdist
    runs them in different worker processes (the first worker builds, under a lock,
    into the run's shared temporary directory). Every Sphinx warning is an error; the
    config says execute_notebooks: "off", so the stored notebook outputs are rendered
    and nothing is executed.
    """
    workers = getattr(request.config, "workerinput", None) is not None
    shared = tmp_path_factory.getbasetemp().parent if workers else tmp_path_factory.getbasetemp()
    out, html = shared / "book", shared / "book" / "_build" / "html"
    with _exclusive(shared / "book.lock"):
        if not (html / "index.html").exists():
            cmd = [jupyter_book(), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, cwd=ROOT)
            log = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"the book build failed (warnings are errors):\n{log[-8000:]}"
            assert (html / "index.html").exists(), f"no index.html in {html}:\n{log[-4000:]}"
    return html
