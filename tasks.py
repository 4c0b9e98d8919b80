#!/usr/bin/env python3
"""The book's two set-up commands (standard library only, Python 3.11+).

    python3 tasks.py book   # execute the stale lessons, build the HTML book
    python3 tasks.py test   # run the test suite (library, lessons, book build, nbval)
    python3 tasks.py envs   # the newest and lowest environments (nox sessions, noxfile.py)

Both first make sure ``.venv/`` exists and holds the project installed with
``pip install -c constraints.txt -e ".[dev]"``. The install is repeated only when
pyproject.toml or constraints.txt changed (a stamp file in ``.venv`` records
their sha256), so reruns start immediately and work offline.

Extra arguments are passed on: ``python3 tasks.py book --force`` re-executes every
lesson, ``python3 tasks.py test -k toy`` selects tests, ``python3 tasks.py envs -s newest``
runs one nox session.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info < (3, 11):
    sys.exit(f"tasks.py needs Python 3.11 or newer (this is {sys.version.split()[0]})")

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".landscape-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
INSTALL_INPUTS = ("pyproject.toml", "constraints.txt")

USAGE = """usage: python3 tasks.py {book,test,envs} [extra arguments]

  book   execute the lessons whose sources changed (tools/execute_lessons.py),
         build the HTML book with jupyter-book (warnings are errors) and print
         the path of _build/html/index.html
  test   run pytest (configuration in pyproject.toml [tool.pytest.ini_options])
  envs   run nox's sessions (noxfile.py): a Colab student's environment (Python 3.12,
         the newest releases, the package from a wheel) and the lowest versions
         pyproject.toml admits; each needs PyPI. `envs -s newest` runs one
"""


# Under this setting the test command re-executes the lessons: oneDNN's kernels sum in
# another order than the ones the stored outputs were computed with, as another CPU
# would, so every test run checks that the outputs hold within their stated tolerance.
ROUNDING_PERTURBATION = {"TF_ENABLE_ONEDNN_OPTS": "1"}


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment with the book's defaults (lib/landscape/environment.py,
    loaded by path: the project may not be installed yet) and ``overrides``."""
    spec = importlib.util.spec_from_file_location("landscape_environment",
                                                  ROOT / "lib" / "landscape" / "environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.apply({**os.environ, **overrides})


def run(cmd: list[str | Path], env: dict[str, str] | None = None, **kwargs) -> int:
    printable = " ".join(str(c) for c in cmd)
    print(f"+ {printable}", flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env or environment(), **kwargs).returncode


def check(cmd: list[str | Path]) -> None:
    code = run(cmd)
    if code != 0:
        sys.exit(f"tasks.py: command failed with exit status {code}: {' '.join(map(str, cmd))}")


def install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INSTALL_INPUTS:
        digest.update(name.encode() + b"\0")
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project into it unless the stamp says it is current."""
    if not PYTHON.exists():
        if run([sys.executable, "-m", "venv", VENV]) != 0:
            sys.exit(
                "tasks.py: could not create .venv (on Debian/Ubuntu: apt install python3-venv); "
                "delete any partial .venv/ and try again"
            )
    fingerprint = install_fingerprint()
    stamp = STAMP.read_text().strip() if STAMP.exists() else ""
    if stamp != fingerprint:
        STAMP.unlink(missing_ok=True)
        check([PYTHON, "-m", "pip", "install", "--upgrade", "pip"])
        check([PYTHON, "-m", "pip", "install", "-c", "constraints.txt", "-e", ".[dev]"])
        STAMP.write_text(fingerprint + "\n")
    ensure_library_importable()


def ensure_library_importable() -> None:
    """Re-link the editable install if lib/landscape appeared after the last install."""
    if not (ROOT / "lib" / "landscape" / "__init__.py").exists():
        return
    probe = (
        "import importlib.util, pathlib; s = importlib.util.find_spec('landscape'); "
        "print(pathlib.Path(s.origin).resolve() if s and s.origin else '')"
    )
    found = subprocess.run(
        [str(PYTHON), "-c", probe], cwd=ROOT / "tools", env=environment(),
        capture_output=True, text=True,
    ).stdout.strip()
    expected = (ROOT / "lib" / "landscape" / "__init__.py").resolve()
    if found != str(expected):
        check([PYTHON, "-m", "pip", "install", "--no-deps", "-e", "."])


def book(extra: list[str]) -> int:
    code = run([PYTHON, ROOT / "tools" / "execute_lessons.py", *extra])
    if code != 0:
        print("tasks.py: executing the lessons failed (see above)", file=sys.stderr)
        return code
    code = run([PYTHON, ROOT / "tools" / "scorecard.py"])
    if code != 0:
        print("tasks.py: writing the scorecard failed (see above)", file=sys.stderr)
        return code
    code = run([BIN / "jupyter-book", "build", ROOT, "-W", "-n", "--keep-going"])
    if code != 0:
        print("tasks.py: the book build failed (warnings are errors; see above)", file=sys.stderr)
        return code
    print((ROOT / "_build" / "html" / "index.html").resolve())
    return 0


def test(extra: list[str]) -> int:
    # A result cache the test run starts empty: a lesson's cache left in the working tree
    # (lessons/.landscape_cache, from running it by hand) would replay results computed with
    # other rounding, and a local run would pass where a clean clone's fails.
    with tempfile.TemporaryDirectory(prefix="landscape-cache-") as cache:
        return run([PYTHON, "-m", "pytest", *extra],
                   env=environment(**ROUNDING_PERTURBATION, LANDSCAPE_CACHE=cache))


def envs(extra: list[str]) -> int:
    return run([BIN / "nox", "--noxfile", ROOT / "noxfile.py", *extra])


def main(argv: list[str]) -> int:
    commands = {"book": book, "test": test, "envs": envs}
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if not argv or argv[0] not in commands:
        print(USAGE, file=sys.stderr)
        return 2
    ensure_venv()
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
