"""The benchmarks stay runnable (their numbers are read by people, not asserted here)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_suite_smoke_run():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--small"],
                         capture_output=True, text=True, timeout=900, check=True).stdout
    for benchmark in ("toy training step", "subspace training step", "toy sweep step", "subspace memory",
                      "Hessian eigenvalues", "chapter at quick", "grading", "exercise", "class"):
        assert f"| {benchmark} |" in out, out
    assert "vs NumPy argpartition" in out and "power iteration with deflation" in out
