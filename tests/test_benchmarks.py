"""The benchmarks stay runnable (their numbers are read by people, not asserted here)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_subspace_speed_benchmark_runs():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "subspace_speed.py"), "--small"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    assert "ratio to full space" in out and "fastfood d=100" in out
    assert "peak memory" in out
