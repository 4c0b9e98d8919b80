"""The environment files agree with each other and with pyproject.toml.

- environment.yml (conda/Binder) lists exactly pyproject's dependencies plus its
  `book` and `test` extras, and that set resolves on the package index.
- constraints.txt (the exact versions the book is built with) satisfies every range.
- TensorFlow is required as a range, never pinned, so `pip install git+...` in Colab
  keeps Colab's preinstalled TensorFlow.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version


ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def runtime_requirements() -> list[str]:
    return list(pyproject()["project"]["dependencies"])


def mirrored_requirements() -> list[str]:
    """pyproject's dependencies plus its `book` and `test` extras."""
    extras = pyproject()["project"]["optional-dependencies"]
    return runtime_requirements() + list(extras["book"]) + list(extras["test"])


def normalized(spec: str) -> str:
    req = Requirement(spec)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    url = f" @ {req.url}" if req.url else ""
    return f"{canonicalize_name(req.name)}{extras}{req.specifier}{url}{marker}"


def environment() -> dict:
    with open(ROOT / "environment.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def conda_dependencies() -> list:
    return environment()["dependencies"]


def pip_section() -> list[str]:
    sections = [d["pip"] for d in conda_dependencies() if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one `pip:` section"
    return [str(s) for s in sections[0]]


def constraint_pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)", line)
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


# ---------------------------------------------------------------------------
def test_environment_yml_parses_and_has_python_and_pip():
    env = environment()
    assert env["name"] == "loss-landscape-book"
    assert "conda-forge" in env["channels"]
    names = [d for d in conda_dependencies() if isinstance(d, str)]
    pythons = [d for d in names if re.fullmatch(r"python\s*([=<>!~].*)?", d)]
    assert pythons, "environment.yml must list python"
    assert "pip" in names, "environment.yml must list pip"
    version = re.sub(r"^python\s*=*\s*", "", pythons[0])
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert version and requires.contains(version.rstrip(".*")), (
        f"environment.yml's {pythons[0]!r} is outside requires-python {requires}"
    )


def test_environment_pip_section_mirrors_pyproject():
    env_specs = pip_section()
    assert len(env_specs) == len(set(map(normalized, env_specs))), "duplicates in environment.yml"
    expected = set(map(normalized, mirrored_requirements()))
    actual = set(map(normalized, env_specs))
    assert actual == expected, (
        "environment.yml's pip section must equal pyproject's dependencies + book + test extras.\n"
        f"  only in environment.yml: {sorted(actual - expected)}\n"
        f"  only in pyproject.toml:  {sorted(expected - actual)}"
    )


def test_constraints_satisfy_pyproject_ranges():
    pins = constraint_pins()
    problems = []
    extras = pyproject()["project"]["optional-dependencies"]
    project = canonicalize_name(pyproject()["project"]["name"])
    every_extra = [spec for specs in extras.values() for spec in specs
                   if canonicalize_name(Requirement(spec).name) != project]  # not dev's self-reference
    for spec in runtime_requirements() + every_extra:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{spec}: no pin in constraints.txt")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{spec}: constraints.txt pins {pins[name]}")
    assert not problems, "constraints.txt does not satisfy pyproject.toml:\n  " + "\n  ".join(problems)


def installed_closure(name: str, extras: set[str]) -> dict[str, str]:
    """Every installed distribution that installing ``name[extras]`` needs, with its version."""
    import importlib.metadata as metadata

    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    needed, todo = {}, [(name, set(extras))]
    while todo:
        requirement_name, requested = todo.pop()
        key = canonicalize_name(requirement_name)
        if key not in installed:
            continue
        new = (requested | {""}) - needed.setdefault(key, set())
        if not new:
            continue
        needed[key] |= new
        for text in installed[key].requires or []:
            req = Requirement(text)
            for extra in new:
                applies = extra == "" if req.marker is None else req.marker.evaluate({"extra": extra})
                if applies:
                    todo.append((req.name, set(req.extras)))
    return {key: installed[key].version for key in needed}


def test_constraints_pin_everything_the_install_needs():
    """Every package of this environment's `.[dev]` install is pinned at its installed version:
    pip then never searches (an unpinned package whose newest release conflicts with a pin
    sends its resolver backtracking for many minutes)."""
    project = canonicalize_name(pyproject()["project"]["name"])
    needed = installed_closure(project, {"dev"})
    needed.pop(project, None)
    pins = constraint_pins()
    problems = [f"{name}=={version}: " + ("not pinned" if name not in pins else f"pinned at {pins[name]}")
                for name, version in sorted(needed.items()) if pins.get(name) != Version(version)]
    assert not problems, ("constraints.txt is not the environment's exact set; regenerate it (README, Pins):\n  "
                          + "\n  ".join(problems))


def test_constraints_do_not_pin_the_project_itself():
    project = canonicalize_name(pyproject()["project"]["name"])
    assert project not in constraint_pins(), (
        "constraints.txt pins the project itself; regenerate it with `pip freeze --exclude-editable`"
    )


def test_tensorflow_is_a_range_not_a_pin():
    reqs = [Requirement(s) for s in runtime_requirements()]
    tf = [r for r in reqs if canonicalize_name(r.name) == "tensorflow"]
    assert len(tf) == 1, "pyproject's dependencies must list tensorflow once"
    operators = {s.operator for s in tf[0].specifier}
    assert not operators & {"==", "==="}, (
        f"{tf[0]} pins TensorFlow exactly: Colab would reinstall it. Use a range."
    )
    assert operators & {">=", ">", "~="}, f"{tf[0]} needs a lower bound"


COLAB_PREINSTALLED = {"tensorflow", "numpy", "scipy", "scikit-learn", "matplotlib", "tqdm", "requests"}


def test_what_colab_preinstalls_has_no_upper_bound():
    """An upper bound would make the Colab install cell downgrade Colab's own package the
    day Colab ships a newer release (tests/test_colab_install.py shows it for TensorFlow)."""
    capped = [str(r) for r in map(Requirement, runtime_requirements())
              if canonicalize_name(r.name) in COLAB_PREINSTALLED
              and {s.operator for s in r.specifier} & {"<", "<=", "~=", "==", "==="}]
    assert not capped, f"runtime requirements capping what Colab preinstalls: {capped}"


NETWORK_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable|Connection refused|ConnectTimeout"
    r"|Read timed out|ProxyError|SSLError|Could not fetch URL",
    re.IGNORECASE,
)


@pytest.mark.network
def test_environment_pip_section_resolves():
    """`pip install --dry-run` of environment.yml's pip section succeeds (needs PyPI)."""
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           *pip_section()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and NETWORK_ERRORS.search(output):
        pytest.skip("the package index is unreachable; cannot check that environment.yml resolves")
    assert proc.returncode == 0, f"environment.yml's pip section does not resolve:\n{output[-4000:]}"
