import os
from pathlib import Path

# Before TensorFlow is imported anywhere: no C++ log lines, no oneDNN rounding differences.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# Kernels started by nbval read tools/ipython (TensorFlow's C++ start-up lines,
# written to fd 2, are not captured into cells; Python warnings still are).
os.environ.setdefault("IPYTHONDIR", str(Path(__file__).resolve().parents[1] / "tools" / "ipython"))
