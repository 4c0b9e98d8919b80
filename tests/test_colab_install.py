"""Installing the library in Colab keeps what Colab preinstalls, today and after its next upgrade.

The lessons' first cell runs ``pip install git+<repository>`` in Colab, whose TensorFlow,
NumPy, SciPy, scikit-learn and matplotlib are preinstalled. Here pip's own resolver decides,
offline, what that install would change in an environment like this one but with a
TensorFlow *newer* than any release we tested (relabelled copies of this environment's
metadata): it must change nothing but this package (its small own dependency, mnist1d, is
taken as installed: what matters is what Colab already has). The other preinstalled
packages cannot be relabelled alone (their metadata pin each other), so for them
tests/test_environment.py checks that the runtime requirements have no upper bound.
"""
import json
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The release after the newest this book was tested with, as Colab will ship it one day.
COLAB_FUTURE = {"tensorflow": "2.22.0"}
THIS_PACKAGE = "loss-landscape-book"


def _copy_metadata(distribution, site: Path, version: str | None = None):
    """A dist-info directory that says ``distribution`` is installed (optionally at another version)."""
    name = distribution.metadata["Name"]
    target = site / f"{name.replace('-', '_')}-{version or distribution.version}.dist-info"
    target.mkdir()
    text = distribution.read_text("METADATA")
    if version:
        text = "\n".join(f"Version: {version}" if line.startswith("Version:") else line
                         for line in text.splitlines()) + "\n"
    (target / "METADATA").write_text(text)
    (target / "INSTALLER").write_text("pip\n")
    (target / "RECORD").write_text("")


@pytest.fixture(scope="module")
def colab_like_python(tmp_path_factory):
    """A bare virtual environment holding only the metadata of this one's packages,
    with Colab's preinstalled packages relabelled to future versions."""
    home = tmp_path_factory.mktemp("colab")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for distribution in metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower()
        if not name or name in (THIS_PACKAGE, "pip") or list(site.glob(f"{name.replace('-', '_')}-*.dist-info")):
            continue
        _copy_metadata(distribution, site, COLAB_FUTURE.get(name))
    return python


@pytest.fixture(scope="module")
def project_wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_install_in_colab_changes_only_this_package(colab_like_python, project_wheel, tmp_path):
    report = tmp_path / "report.json"
    proc = subprocess.run(  # --no-index: pip may only use what is installed, or fail
        [sys.executable, "-m", "pip", "--python", str(colab_like_python), "install", "--dry-run", "--no-index",
         "--report", str(report), "--quiet", str(project_wheel)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        "pip could not install the library beside Colab's newer packages without downgrading them "
        f"(is a runtime range capped?):\n{proc.stdout}\n{proc.stderr}")
    installs = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert set(installs) == {THIS_PACKAGE}, f"the install would also change: {installs}"


def test_a_capped_range_is_caught(colab_like_python, tmp_path):
    """The check above can fail: a package that caps TensorFlow below Colab's cannot be installed."""
    capped = tmp_path / "capped"
    (capped / "capped_demo").mkdir(parents=True)
    (capped / "capped_demo" / "__init__.py").write_text("")
    (capped / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "capped-demo"\nversion = "0"\ndependencies = ["tensorflow<2.22"]\n')
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(capped)], check=True, capture_output=True, timeout=600)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(colab_like_python), "install", "--dry-run", "--no-index",
         "--quiet", str(next(out.glob("*.whl")))], capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "tensorflow" in (proc.stdout + proc.stderr).lower()
