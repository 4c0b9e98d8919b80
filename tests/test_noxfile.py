"""noxfile.py, the newest and lowest environments: what its sessions read from the
repository (the install cell, the extras, the bounds, the tests) is what they should.
The sessions themselves run with `python3 tasks.py envs` (they install from PyPI)."""
import importlib.util
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def noxfile():
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_sessions_run_the_install_cell_of_the_lessons(noxfile):
    url = pyproject()["project"]["urls"]["Repository"]
    assert noxfile.install_cell_command() == ["install", "-q", f"git+{url}"]


def test_the_sessions_use_colabs_python_and_the_lowest_python_claimed(noxfile):
    assert noxfile.NEWEST_PYTHON == "3.12"
    assert pyproject()["project"]["requires-python"] == f">={noxfile.LOWEST_PYTHON}"


def test_the_test_tools_are_the_pinned_ones_of_the_extras(noxfile):
    extras = pyproject()["project"]["optional-dependencies"]
    tools = noxfile.tool_requirements()
    assert len(tools) == len(noxfile.TOOLS) and all(spec in extras["book"] + extras["test"] for spec in tools)
    assert all("==" in spec for spec in tools)


def test_the_library_tests_are_the_files_that_import_it(noxfile):
    selected = set(noxfile.library_tests())
    assert {"tests/test_toy.py", "tests/test_xla.py", "tests/test_bad_input.py",
            "tests/test_tensorflow_first.py"} <= selected
    assert not selected & {"tests/test_book_build.py", "tests/test_browser.py", "tests/test_environment.py",
                           "tests/test_lessons.py", "tests/test_colab_install.py", "tests/test_noxfile.py"}
    assert all((ROOT / path).exists() for path in selected)


@pytest.mark.parametrize("requirement, installed, expected", [
    ("tensorflow>=2.16", "2.16.1", True),
    ("tensorflow>=2.16", "2.17.0", False),     # the bound resolves higher: it is not what is tested
    ("numpy>=1.26", "1.26.0", True),
    ("numpy>=1.26", "2.0.0", False),
    ("mnist1d>=0.0.2,<0.1", "0.0.2.post1", True),
    ("scikit-learn>=1.3", "1.3.0rc1", True),
    ("scikit-learn>=1.3", None, False),        # not installed
    ("tqdm", "4.70.1", True),                   # no lower bound
])
def test_at_lower_bound(noxfile, requirement, installed, expected):
    assert noxfile.at_lower_bound(requirement, installed) is expected


def test_a_missing_interpreter_is_named_not_guessed(noxfile, monkeypatch, tmp_path):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert noxfile.python_for("3.99") == "3.99"  # nox then reports Python 3.99 as not found


def test_the_wheel_is_built_from_the_checkouts_files_only(noxfile):
    files = noxfile.checkout_files()
    assert "pyproject.toml" in files and "lib/landscape/__init__.py" in files and "noxfile.py" in files
    assert not [f for f in files if f.startswith((".venv/", ".nox/", "_build/", "build/")) or ".egg-info/" in f]
