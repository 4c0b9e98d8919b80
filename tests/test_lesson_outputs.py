"""The comparison of re-executed lesson outputs (tests/lesson_outputs.py): exact for text
and integers, within a tolerance for decimals, and able to fail."""
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from lesson_outputs import (DEFAULT_RTOL, SANITIZE_FILE, Tolerance, compare_text, largest_relative_difference,
                            notebook_drift, split_numbers, summary_line, tolerance_used)

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_are_split_from_the_text_around_them():
    text, numbers = split_numbers("D = 400, L2 1e-4: spread 0.0403 [0.5  0.73] -0.62, fig-2 and 1570x.")
    assert numbers == ["400", "1e-4", "0.0403", "0.5", "0.73", "-0.62", "2", "1570"]
    assert text[1] == ", L2 " and text[4] == " " and text[-1] == "x."  # numpy's padding collapsed


@pytest.mark.parametrize("stored, new, passes", [
    ("spread 0.0403", "spread 0.0403", True),
    ("spread 0.0403", "spread 0.0410", True),            # 1.7%: rounding on another CPU
    ("spread 0.0403", "spread 0.0524", False),           # 30%: real drift
    ("accuracy 0.97", "accuracy 0.98", True),            # one unit in the last printed digit
    ("accuracy 0.30", "accuracy 0.39", False),
    ("loss 4.0e-04", "loss 4.1e-04", True),
    ("loss 4.0e-04", "loss 5.2e-04", False),
    ("d_lim 100", "d_lim 101", False),                    # integers are exact by default
    ("20 of 20 pairs", "19 of 20 pairs", False),
    ("different wedges: True", "different wedges: False", False),
    ("spread 0.04", "spread 0.04 and more", False),       # structure differs
    ("about ~17 seeds would decide", "about ~18 seeds would decide", True),   # an estimate: like a decimal
    ("about ~17 seeds would decide", "about ~25 seeds would decide", False),
    ("about ~17 seeds would decide", "about 17 seeds would decide", False),    # an estimate is not a count
])
def test_default_tolerance(stored, new, passes):
    assert (compare_text(stored, new, Tolerance()) is None) == passes


def test_cell_tolerance_is_declared_with_a_reason():
    cell = {"metadata": {"tolerance": {"rtol": 0.2, "integers": 3, "reason": "noisy"}}}
    tolerance = Tolerance.of_cell(cell)
    assert compare_text("count 150, ratio 1.00", "count 153, ratio 1.19", tolerance) is None
    assert compare_text("count 150, ratio 1.00", "count 154, ratio 1.00", tolerance) is not None
    assert Tolerance.of_cell({"metadata": {}}) == Tolerance(DEFAULT_RTOL, 0)
    with pytest.raises(ValueError, match="reason"):
        Tolerance.of_cell({"metadata": {"tolerance": {"rtol": 0.2}}})
    with pytest.raises(ValueError, match="keys"):
        Tolerance.of_cell({"metadata": {"tolerance": {"rtoll": 0.2, "reason": "typo"}}})
    with pytest.raises(ValueError, match="rtol"):
        Tolerance.of_cell({"metadata": {"tolerance": {"rtol": 2, "reason": "too loose"}}})
    with pytest.raises(ValueError, match="atol"):
        Tolerance.of_cell({"metadata": {"tolerance": {"atol": -0.1, "reason": "negative"}}})


def test_an_absolute_tolerance_lets_small_numbers_move_and_still_catches_large_ones():
    tolerance = Tolerance.of_cell({"metadata": {"tolerance": {"atol": 0.03, "reason": "fractions of a barrier"}}})
    assert compare_text("ratios 0.012, 0.00079, 0.9", "ratios 0.024, 0.00081, 0.9", tolerance) is None
    assert compare_text("ratios 0.012, 0.00079, 0.9", "ratios 0.052, 0.00079, 0.9", tolerance) is not None
    assert compare_text("ratios 0.012, 0.00079, 0.9", "ratios 0.012, 0.00079, 1.2", tolerance) is not None  # 30%
    assert compare_text("count 5", "count 6", tolerance) is not None  # integers stay exact


def test_largest_relative_difference():
    assert largest_relative_difference("a 1.00 b 2.0", "a 1.01 b 2.0") == pytest.approx(0.01 / 1.01)
    assert largest_relative_difference("a 1", "a 1 b") != largest_relative_difference("a 1", "a 1 b")  # nan


def test_tolerance_used_says_how_close_a_comparison_came_to_failing():
    tolerance = Tolerance(rtol=0.1, integers=2)
    assert tolerance_used("loss 1.00, count 7", "loss 1.00, count 7", tolerance) == 0
    # the decimal used 0.05 / (0.1 * 1.05) = 48% of its allowance, the count 1 / 2 = 50%
    assert tolerance_used("loss 1.00, count 7", "loss 1.05, count 8", tolerance) == pytest.approx(0.5)
    assert tolerance_used("loss 1.00, count 7", "loss 1.05, count 7", tolerance) == pytest.approx(0.05 / 0.105)
    assert tolerance_used("loss 1.00", "loss 1.30", tolerance) > 1
    assert tolerance_used("loss 1.00", "cost 1.00", tolerance) == float("inf")


def _change_a_number_by_30_percent(notebook):
    """In the first code cell whose stored text output holds a decimal number, multiply it by 1.3."""
    for index, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        for output in cell.get("outputs", []):
            text = output.get("text") if output.get("output_type") == "stream" else None
            if not text:
                continue
            _, numbers = split_numbers(text)
            decimals = [n for n in numbers if "." in n and abs(float(n)) > 0.05]
            if decimals:
                old = decimals[0]
                new = f"{float(old) * 1.3:.{len(old.split('.')[1])}f}"
                output["text"] = text.replace(old, new, 1)
                return index, old, new
    raise AssertionError("no stored decimal number to change")


def test_a_stored_output_changed_by_30_percent_fails_and_the_rest_passes(tmp_path):
    """End to end: nbval re-executes chapter 1 (the quickest) against a copy whose stored
    output was changed by 30%: that cell fails, every other cell passes."""
    source = ROOT / "lessons" / "01_high_dimensions.ipynb"
    notebook = nbformat.read(source, as_version=4)
    index, old, new = _change_a_number_by_30_percent(notebook)
    copy = tmp_path / source.name
    nbformat.write(notebook, copy)
    shutil.copy(ROOT / "tests" / "nbval_sanitize.cfg", tmp_path / "nbval_sanitize.cfg")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(copy), "-p", "lesson_outputs", "--lesson-outputs",
         "--nbval-current-env", "--nbval-sanitize-with", str(tmp_path / "nbval_sanitize.cfg"),
         "-p", "no:cacheprovider", "-q", "-o", "addopts=", "-o", f"pythonpath={ROOT / 'tests'}",
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 1, report[-3000:]
    assert f"Cell {index} " in report and f"moved from {new} to {old}" in report, report[-3000:]
    assert "1 failed" in report and " passed" in report, report[-3000:]


def test_notebook_drift_reports_a_moved_number_without_executing(tmp_path):
    """The comparison outside pytest (the newest environment's report, tools/execute_lessons.py
    --compare) is the nbval run's: a number moved by 30% is beyond its tolerance, in that cell
    only; the untouched cells used none of theirs."""
    stored = nbformat.read(ROOT / "lessons" / "01_high_dimensions.ipynb", as_version=4)
    moved = nbformat.read(ROOT / "lessons" / "01_high_dimensions.ipynb", as_version=4)
    index, old, new = _change_a_number_by_30_percent(moved)
    drifts = {d.cell: d for d in notebook_drift(stored, moved)}
    assert drifts[f"Cell {index}"].used > 1 and f"moved from {old} to {new}" in drifts[f"Cell {index}"].problem
    assert all(d.used == 0 and d.problem is None for cell, d in drifts.items() if cell != f"Cell {index}")
    assert len(drifts) == sum(c.cell_type == "code" and c.execution_count is not None for c in stored.cells)
    moved.cells[[i for i, c in enumerate(moved.cells) if c.cell_type == "code"][index]].outputs[0]["text"] += "more\n"
    assert notebook_drift(stored, moved)[index].used == float("inf")  # text differs
    moved.cells.pop()
    with pytest.raises(ValueError, match="same lesson"):
        notebook_drift(stored, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("other")]))


def test_summary_lines():
    assert summary_line("lessons/a.ipynb", 0.0, "Cell 3") == "lessons/a.ipynb: 0%"
    assert summary_line("lessons/a.ipynb", 0.372, "Cell 3") == "lessons/a.ipynb: 37% (Cell 3)"
    assert summary_line("lessons/a.ipynb", float("inf"), "Cell 3") == "lessons/a.ipynb: text differs (Cell 3)"


def test_the_sanitizer_is_the_one_nbval_is_given():
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    given = addopts[addopts.index("--nbval-sanitize-with") + 1]
    assert (ROOT / given).resolve() == SANITIZE_FILE.resolve()
