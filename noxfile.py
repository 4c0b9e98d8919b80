"""The test environments beside the pinned one, as nox sessions (uv makes them and installs).

``python3 tasks.py test`` tests the pinned environment: ``constraints.txt`` on the
machine's Python. A Colab student never has it. These sessions test the two ends of what
``pyproject.toml`` promises instead, each in a fresh virtual environment:

- **newest**, a Colab student's: Python 3.12 (Colab's), the newest release of every
  runtime dependency (no constraints file) beside the test tools, as Colab preinstalls
  them; then the package installed from a wheel built from this checkout by the lessons'
  own install cell (its pip command, the wheel in place of the git URL), which must
  change nothing else. Every lesson executes top to bottom at ``quick`` in a kernel that
  starts without the book's environment variables, as Colab's does, its claim checks
  asserted and any stderr output an error; the run prints how far each notebook's
  numbers moved from the stored outputs (the test command's tolerance summary; a move
  beyond a tolerance is reported, not failed). Then the library's unit tests.
- **lowest**: the lowest release every lower bound of ``pyproject.toml`` admits (uv's
  ``--resolution lowest-direct``; what they need in turn at its newest), on the lowest
  Python ``requires-python`` admits; the same install cell, then a check that each
  runtime dependency is at its bound's release, then the library's unit tests.

Run them with ``python3 tasks.py envs`` (both; ``-s newest`` for one; arguments after
``--`` go to pytest). They need the package index (PyPI): a session skips, saying so,
when it cannot be reached. Python 3.12 and 3.11 come from ``PATH`` or pyenv
(``pyenv install 3.12``); nothing is downloaded but packages.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))
import book_pages  # noqa: E402  (the repository URL and pyproject, read the way the tests read them)

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True  # a missing Python fails the run, never passes it
nox.options.download_python = "never"  # only packages come from the network here
nox.options.sessions = ["newest", "lowest"]

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NEWEST_PYTHON = "3.12"  # Colab's
LOWEST_PYTHON = re.fullmatch(r">=\s*(\d+\.\d+)", PYPROJECT["project"]["requires-python"].strip())[1]
# The tools a session needs beside the package, at the versions the extras pin.
TOOLS = ("pytest", "pytest-xdist", "nbval", "hypothesis", "pyyaml", "nbclient", "ipykernel", "jupytext")
# What the sessions report, beside every runtime dependency.
ALSO_REPORTED = ("keras", "ml-dtypes", "tensorboard", "h5py")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)[0])


def runtime_requirements() -> list[str]:
    return list(PYPROJECT["project"]["dependencies"])


def tool_requirements() -> list[str]:
    extras = PYPROJECT["project"]["optional-dependencies"]
    pinned = {_name(spec): spec for spec in extras["book"] + extras["test"]}
    missing = [name for name in TOOLS if name not in pinned]
    if missing:
        raise RuntimeError(f"noxfile.py: {missing} not in pyproject's book/test extras (TOOLS names them)")
    return [pinned[name] for name in TOOLS]


def python_for(version: str) -> str:
    """An interpreter of ``version``: ``python3.X`` on PATH if it runs, else pyenv's newest
    ``3.X.*``; else ``version`` itself, which nox then reports as not found."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    installed = sorted(Path(pyenv_root, "versions").glob(f"{version}.*/bin/python{version}"),
                       key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parents[1].name.split(".")])
    candidates += [str(p) for p in reversed(installed)]
    for candidate in filter(None, candidates):
        try:  # a pyenv shim is on PATH even when that version is not selected, and then fails
            subprocess.run([candidate, "-c", ""], check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        return candidate
    print(f"noxfile.py: no Python {version} on PATH or in pyenv ({pyenv_root}/versions); "
          f"install it (pyenv install {version}) to run the sessions that need it", file=sys.stderr)
    return version


def install_cell_command() -> list[str]:
    """The pip arguments of the lessons' Colab install cell (``%pip install -q "git+URL"``),
    the same in every lesson (tests/test_lessons.py checks the cell itself)."""
    commands = set()
    for md in sorted((ROOT / "lessons").glob("*.md")):
        text = md.read_text(encoding="utf-8")
        first_cell = re.search(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.DOTALL)
        line = re.search(r"^\s*%pip (install .*)$", first_cell[1] if first_cell else "", re.MULTILINE)
        if not line:
            raise RuntimeError(f"{md.name}: no `%pip install` line in its first code cell (the Colab install cell)")
        commands.add(line[1].strip())
    if len(commands) != 1:
        raise RuntimeError(f"the lessons' install cells differ: {sorted(commands)}")
    args = shlex.split(commands.pop())
    urls = [a for a in args if a.startswith("git+")]
    if urls != [f"git+{book_pages.repository_url()}"]:
        raise RuntimeError(f"the install cell installs {urls}, not git+ the repository URL of pyproject.toml")
    return args


def require_package_index(session: nox.Session) -> None:
    """Skip, saying why, when the package index cannot be reached (no network): these
    sessions exist to install releases from it."""
    index = (os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL")
             or "https://pypi.org/simple").rstrip("/") + "/pip/"
    try:
        urllib.request.urlopen(urllib.request.Request(index, method="HEAD"), timeout=30).close()
    except urllib.error.HTTPError:
        return  # it answered: whatever is wrong there, the install says it and fails
    except (urllib.error.URLError, OSError) as error:
        session.skip(f"the package index ({index}) is unreachable ({error}): this session installs its "
                     f"releases from it, so it is NOT tested here; run it where PyPI can be reached")


def checkout_files() -> list[str]:
    """The checkout's files as git sees them, uncommitted changes included (ignored files,
    such as .venv, .nox and build leftovers, are not)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True, timeout=60).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def build_wheel(session: nox.Session) -> Path:
    """A wheel of this checkout, built as pip builds a ``git+`` URL: from a fresh copy of the
    source (no build/ or egg-info left over from an earlier build can slip into it), in an
    isolated build environment; into the session's temporary directory."""
    tmp = Path(session.create_tmp())
    source, into = tmp / "source", tmp / "wheel"
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(into, ignore_errors=True)
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    session.run("uv", "build", "--wheel", "--quiet", "--out-dir", str(into), str(source), external=True)
    (wheel,) = into.glob("*.whl")
    return wheel


def freeze(session: nox.Session) -> dict[str, str]:
    text = session.run("python", "-m", "pip", "list", "--format", "json", "--disable-pip-version-check",
                       silent=True, log=False)
    return {_canonical(item["name"]): item["version"] for item in json.loads(text)}


def install_as_colab(session: nox.Session, wheel: Path) -> None:
    """The lessons' install cell, with the wheel in place of the git URL, in an environment
    that already holds the runtime dependencies (as Colab's does): it must add the package
    and change nothing else."""
    args = [str(wheel) if a.startswith("git+") else a for a in install_cell_command()]
    before = freeze(session)
    session.run("python", "-m", "pip", *args)  # `%pip` is the kernel interpreter's pip
    after = freeze(session)
    changed = {name: (before.get(name), version) for name, version in after.items() if before.get(name) != version}
    changed.update({name: (version, None) for name, version in before.items() if name not in after})
    project = _canonical(PYPROJECT["project"]["name"])
    if set(changed) != {project}:
        session.error(f"the install cell changed more than the package: {changed}")


def report_versions(session: nox.Session) -> dict[str, str]:
    names = [_name(r) for r in runtime_requirements()] + list(ALSO_REPORTED)
    script = (
        "import json, sys, importlib.metadata as m, landscape; from pathlib import Path\n"
        f"names = {names!r}\n"
        "found = {n: m.version(n) for n in names if any(True for _ in m.distributions(name=n))}\n"
        "print(json.dumps({'python': sys.version.split()[0], **found, 'landscape': str(Path(landscape.__file__).parent)}))\n"
    )
    versions = json.loads(session.run("python", "-c", script, silent=True, log=False).strip().splitlines()[-1])
    if "site-packages" not in versions["landscape"]:
        session.error(f"landscape was imported from {versions['landscape']}, not from the installed wheel")
    session.log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "landscape"))
    return versions


def at_lower_bound(requirement: str, installed: str | None) -> bool:
    """Whether ``installed`` is a release of the lower bound ``requirement`` names: 2.16.1
    for ``tensorflow>=2.16``, 0.0.2.post1 for ``mnist1d>=0.0.2``. A requirement without a
    lower bound has nothing to be at; a package not installed is not at its bound."""
    bound = re.search(r">=\s*([0-9]+(?:\.[0-9]+)*)", requirement)
    if not bound:
        return True
    release = re.match(r"[0-9]+(?:\.[0-9]+)*", installed or "")
    wanted = bound[1].split(".")
    return bool(release) and release[0].split(".")[:len(wanted)] == wanted


def library_tests() -> list[str]:
    """The library's unit tests: every test file that imports ``landscape``, and the test
    of a student who imports TensorFlow first. (The rest of tests/ checks the repository
    itself: the pins, the book build, the browser, the stored notebooks.)"""
    files = [p for p in sorted((ROOT / "tests").glob("test_*.py"))
             if re.search(r"^(from landscape\b|import landscape\b)", p.read_text(encoding="utf-8"), re.MULTILINE)]
    files.append(ROOT / "tests" / "test_tensorflow_first.py")
    return [str(p.relative_to(ROOT)) for p in dict.fromkeys(files)]


@nox.session(python=python_for(NEWEST_PYTHON))
def newest(session: nox.Session) -> None:
    """Python 3.12, the newest releases, the wheel installed by the lessons' install cell:
    every lesson (claim checks asserted; drift from the stored outputs reported) and the unit tests."""
    require_package_index(session)
    wheel = build_wheel(session)
    session.install("pip", *runtime_requirements(), *tool_requirements())  # newest: no constraints
    install_as_colab(session, wheel)
    report_versions(session)
    executed = Path(session.create_tmp()) / "lessons"  # the stored notebooks stay as they are
    session.run("python", "tools/execute_lessons.py", "--into", str(executed), "--compare", "--colab-environment")
    session.run("python", "-m", "pytest", *library_tests(), *session.posargs)


@nox.session(python=python_for(LOWEST_PYTHON))
def lowest(session: nox.Session) -> None:
    """The lowest Python and the lowest release of every runtime dependency pyproject admits:
    the install cell, the versions checked against the bounds, the unit tests."""
    require_package_index(session)
    wheel = build_wheel(session)
    session.install("pip")  # the newest: Colab's pip is recent, and a lowest pip is not what is tested
    session.install("--resolution", "lowest-direct", *runtime_requirements(), *tool_requirements())
    install_as_colab(session, wheel)
    versions = report_versions(session)
    problems = [f"{requirement}: installed {versions.get(_name(requirement))}"
                for requirement in runtime_requirements()
                if not at_lower_bound(requirement, versions.get(_name(requirement)))]
    if problems:
        session.error("the lowest resolution is not at the lower bounds (raise the bound to what is tested): "
                      + "; ".join(problems))
    # Warnings stay errors but one: matplotlib before 3.10.7 calls pyparsing's camelCase names,
    # which the newest pyparsing (3.3) deprecates. It is raised inside matplotlib, where Python
    # never shows a student a DeprecationWarning; the newest session keeps every warning an error.
    session.run("python", "-m", "pytest", *library_tests(),
                "-W", "ignore::pyparsing.warnings.PyparsingDeprecationWarning", *session.posargs)
