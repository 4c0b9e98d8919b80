"""nbval, with measured numbers compared within a tolerance (a pytest plugin).

nbval re-executes every lesson notebook and compares each cell's text outputs with
the stored ones. Text, line structure and integers must agree exactly; a number
written as a decimal (``0.0403``, ``4.0e-04``, ``97.6``) may move by

    max(rtol * max(|stored|, |new|), one unit in the last printed digit)

with ``DEFAULT_RTOL`` unless the cell says otherwise. Why: op determinism makes a
lesson's outputs identical run to run on one machine, but another CPU or thread
count sums in another order, and a few hundred training steps amplify the last
bits (the lessons are executed under such a perturbation by the test command, see
``tasks.py``). A cell whose quantity is known to be noisier declares its own
tolerance, with the reason, in its metadata (in the lesson's ``.md``)::

    ```{code-cell} ipython3
    ---
    tolerance: {rtol: 0.1, integers: 2, reason: "a spread over three seeds"}
    ---
    ```

``rtol`` replaces the default for decimals; ``atol`` is an absolute amount any decimal
may move by (for quantities near zero on a known scale, such as a loss as a fraction of
a barrier, whose relative change is noise; default 0); ``integers`` is the absolute
amount by which a printed integer (a count, a crossing dimension) may move (default 0).
An integer written after a tilde (``~17``, how many seeds would decide an inconclusive
check) is an estimate, not a count: it is compared like a decimal.

Loaded with ``-p lesson_outputs`` (pyproject addopts); it replaces nbval's own
collection (no ``--nbval`` flag) and reuses nbval's kernel handling, sanitizer and
reports. Only the comparison of two output strings differs.
"""
from __future__ import annotations

import copy
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbval.plugin import (IPyNbCell, IPyNbFile, coalesce_streams, get_sanitize_patterns,
                          transform_streams_for_comparison)

DEFAULT_RTOL = 0.05
METADATA_KEY = "tolerance"
ALLOWED_KEYS = {"rtol", "atol", "integers", "reason"}
# The sanitizer file pyproject's addopts give nbval (--nbval-sanitize-with); a test keeps the two the same.
SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
# Output fields never compared: nbval's own list (IPyNbFile.__init__), with images, as nbval
# has it without --nbdime. Both the nbval run and notebook_drift use this one list.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")

# A number not glued to a word before it (not the 2 of "L2" or "d_int90"): an optional
# tilde (an estimate), optional sign, digits, optional decimals, optional exponent. Units
# may follow ("1570x", "3D").
NUMBER = re.compile(r"(?<![\w.])~?[-+]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][-+]?\d+)?")
ESTIMATE = "~"
SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    integers: int = 0
    atol: float = 0.0

    @classmethod
    def of_cell(cls, cell, where: str = "cell") -> "Tolerance":
        """The tolerance declared in a cell's metadata, checked (a typo must not pass silently)."""
        spec = cell.get("metadata", {}).get(METADATA_KEY)
        if spec is None:
            return cls()
        if not isinstance(spec, dict) or set(spec) - ALLOWED_KEYS:
            raise ValueError(f"{where}: metadata {METADATA_KEY!r} must be a mapping with keys "
                             f"{sorted(ALLOWED_KEYS)}, got {spec!r}")
        if not str(spec.get("reason", "")).strip():
            raise ValueError(f"{where}: a {METADATA_KEY!r} must give its reason")
        rtol, integers = spec.get("rtol", DEFAULT_RTOL), spec.get("integers", 0)
        if not isinstance(rtol, (int, float)) or not 0 <= rtol < 1:
            raise ValueError(f"{where}: tolerance rtol must be in [0, 1), got {rtol!r}")
        if not isinstance(integers, int) or integers < 0:
            raise ValueError(f"{where}: tolerance integers must be an integer >= 0, got {integers!r}")
        atol = spec.get("atol", 0.0)
        if not isinstance(atol, (int, float)) or not 0 <= atol < math.inf:
            raise ValueError(f"{where}: tolerance atol must be a finite number >= 0, got {atol!r}")
        return cls(float(rtol), integers, float(atol))


def _is_decimal(token: str) -> bool:
    return token.startswith(ESTIMATE) or any(c in token for c in ".eE")


def _last_digit_unit(token: str) -> float:
    """One unit in the last printed place: 1e-4 for "0.0403", 1e-5 for "4.0e-04"."""
    mantissa, _, exponent = token.lower().lstrip(ESTIMATE).partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def split_numbers(text: str) -> tuple[list[str], list[str]]:
    """The text between numbers (runs of spaces collapsed: numpy pads columns) and the numbers."""
    parts = NUMBER.split(text)
    return [SPACES.sub(" ", part) for part in parts], NUMBER.findall(text)


def number_difference(stored: str, new: str, tolerance: Tolerance) -> float | None:
    """How far two printed numbers are apart in units of what is allowed (> 1 fails);
    None when they are the same kind of token and equal."""
    if stored.startswith(ESTIMATE) != new.startswith(ESTIMATE):
        return math.inf  # an estimate became a count, or the reverse
    a, b = float(stored.lstrip(ESTIMATE)), float(new.lstrip(ESTIMATE))
    if a == b:
        return None
    if not (_is_decimal(stored) or _is_decimal(new)):
        return abs(a - b) / tolerance.integers if tolerance.integers else math.inf
    allowed = max(tolerance.rtol * max(abs(a), abs(b)), tolerance.atol, _last_digit_unit(stored),
                  _last_digit_unit(new))
    return abs(a - b) / allowed


def compare_text(stored: str, new: str, tolerance: Tolerance) -> str | None:
    """None if ``new`` matches ``stored`` within ``tolerance``, else why not."""
    if stored == new:
        return None
    stored_text, stored_numbers = split_numbers(stored)
    new_text, new_numbers = split_numbers(new)
    if stored_text != new_text or len(stored_numbers) != len(new_numbers):
        return "the text around the numbers differs"
    for index, (a, b) in enumerate(zip(stored_numbers, new_numbers)):
        ratio = number_difference(a, b, tolerance)
        if ratio is not None and ratio > 1 + 1e-9:  # rounding of the division itself
            kind = "integer" if not (_is_decimal(a) or _is_decimal(b)) else "number"
            return (f"{kind} {index + 1} of the output moved from {a} to {b}, beyond the tolerance "
                    f"(rtol {tolerance.rtol:g}, atol {tolerance.atol:g}, integers +-{tolerance.integers})")
    return None


def largest_relative_difference(stored: str, new: str) -> float:
    """The largest relative change of any decimal number between two outputs of the same
    structure (for reports; nan if the structures differ)."""
    stored_text, stored_numbers = split_numbers(stored)
    new_text, new_numbers = split_numbers(new)
    if stored_text != new_text or len(stored_numbers) != len(new_numbers):
        return math.nan
    largest = 0.0
    for a, b in zip(stored_numbers, new_numbers):
        x, y = float(a.lstrip(ESTIMATE)), float(b.lstrip(ESTIMATE))
        if x != y:
            largest = max(largest, abs(x - y) / max(abs(x), abs(y)))
    return largest


def tolerance_used(stored: str, new: str, tolerance: Tolerance) -> float:
    """The largest fraction of its allowance any number used (0: identical, > 1: fails)."""
    stored_text, stored_numbers = split_numbers(stored)
    new_text, new_numbers = split_numbers(new)
    if stored_text != new_text or len(stored_numbers) != len(new_numbers):
        return math.inf
    ratios = [number_difference(a, b, tolerance) for a, b in zip(stored_numbers, new_numbers)]
    return max([r for r in ratios if r is not None], default=0.0)


@dataclass
class OutputComparison:
    """How one cell's re-executed outputs compare with its stored ones."""
    used: float  # the largest share of its tolerance any number used (0: identical, > 1: beyond, inf: text differs)
    problem: str | None = None  # why they do not match within the tolerance (None: they do)
    key: str | None = None  # the output field of the first mismatch, and its two values
    stored: object = None
    new: object = None


def _by_field(outputs, sanitize, skip_compare) -> dict[str, list]:
    """nbval's view of a cell's outputs: each field (a stream name, a MIME type) with its
    values in order, sanitized; skipped fields left out."""
    by_key = defaultdict(list)
    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in skip_compare:
                continue
            items = value.items() if key == "data" else [(key, value)]
            for field, content in items:
                if field not in skip_compare:
                    by_key[field].append(sanitize(content))
    return by_key


def compare_outputs(stored_outputs, new_outputs, tolerance: Tolerance, sanitize=lambda s: s,
                    skip_compare=SKIP_COMPARE) -> OutputComparison:
    """Compare a cell's outputs (streams already coalesced, as nbval does) within ``tolerance``:
    the one comparison behind both the nbval run and :func:`notebook_drift`."""
    reference, testing = _by_field(stored_outputs, sanitize, skip_compare), _by_field(new_outputs, sanitize,
                                                                                       skip_compare)
    if set(reference) != set(testing):
        return OutputComparison(math.inf, f"output fields differ: stored {sorted(reference)}, "
                                          f"re-executed {sorted(testing)}")
    result = OutputComparison(0.0)
    for key, stored_values in reference.items():
        new_values = testing[key]
        if len(stored_values) != len(new_values):
            return OutputComparison(math.inf, f"{len(stored_values)} stored outputs of kind {key!r}, "
                                              f"{len(new_values)} re-executed")
        for stored, new in zip(stored_values, new_values):
            if isinstance(stored, str) and isinstance(new, str):
                problem, used = compare_text(stored, new, tolerance), tolerance_used(stored, new, tolerance)
            else:
                problem, used = (None, 0.0) if stored == new else ("the outputs differ", math.inf)
            result.used = max(result.used, used)
            if problem and result.problem is None:
                result.problem, result.key, result.stored, result.new = problem, key, stored, new
    return result


class ToleranceCell(IPyNbCell):
    """An nbval cell whose text outputs are compared by :func:`compare_outputs`."""

    def compare_outputs(self, test, ref, skip_compare=None):
        tolerance = Tolerance.of_cell(self.cell, f"{self.fspath.basename} cell {self.cell_num}")
        result = compare_outputs(ref, test, tolerance, self.sanitize, skip_compare or self.parent.skip_compare)
        self.comparison_traceback = []
        if result.problem is None:
            self.user_properties.append(("tolerance_used", result.used))  # how close to failing, for the summary
            return True
        self.comparison_traceback.append(f"{result.problem}:" if result.key else result.problem)
        if result.key:
            self.format_output_compare(result.key, result.stored, result.new)
        return False


class ToleranceNotebook(IPyNbFile):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_compare = SKIP_COMPARE

    def collect(self):
        for item in super().collect():
            yield ToleranceCell.from_parent(self, name=item.name, cell_num=item.cell_num, cell=item.cell,
                                            options=item.options)


# -- the same comparison outside pytest: a re-executed notebook against the stored one ----------
def sanitizer(path: Path = SANITIZE_FILE):
    """The function nbval applies to both sides before comparing (the patterns of ``path``)."""
    patterns = get_sanitize_patterns(Path(path).read_text(encoding="utf-8"))

    def sanitize(text):
        if not isinstance(text, str):
            return text
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text
    return sanitize


IGNORED_BY_NBVAL = {"nbval-skip", "nbval-ignore-output"}


@dataclass
class CellDrift:
    cell: str  # nbval's name of the cell, "Cell N" (code cells counted from 0)
    used: float  # as OutputComparison.used
    problem: str | None


def notebook_drift(stored_nb, new_nb, sanitize=None) -> list[CellDrift]:
    """Every compared code cell of ``new_nb`` (a re-execution of the lesson stored in
    ``stored_nb``) against its stored outputs, as the nbval run compares them; a cell the
    stored notebook never ran, or tagged for nbval to skip, is left out."""
    sanitize = sanitize or sanitizer()
    stored_cells = [c for c in stored_nb.cells if c.cell_type == "code"]
    new_cells = [c for c in new_nb.cells if c.cell_type == "code"]
    if [c.source for c in stored_cells] != [c.source for c in new_cells]:
        raise ValueError("the two notebooks do not hold the same code cells: not the same lesson")
    drifts = []
    for number, (stored, new) in enumerate(zip(stored_cells, new_cells)):
        if stored.get("execution_count") is None or IGNORED_BY_NBVAL & set(stored.get("metadata", {}).get("tags", [])):
            continue
        tolerance = Tolerance.of_cell(stored, f"cell {number}")
        result = compare_outputs(coalesce_streams(copy.deepcopy(stored.get("outputs", []))),
                                 coalesce_streams(copy.deepcopy(new.get("outputs", []))), tolerance, sanitize)
        drifts.append(CellDrift(f"Cell {number}", result.used, result.problem))
    return drifts


def summary_line(notebook: str, used: float, cell: str) -> str:
    """One line of the summary: the notebook, its largest share of a tolerance, and where."""
    share = "text differs" if math.isinf(used) else f"{used:.0%}"
    return f"{notebook}: {share}" + (f" ({cell})" if used > 0 else "")


STORED_SCALE_DIRS = ("medium",)  # lessons/medium/: executed once at a larger scale, never re-executed here


def pytest_collect_file(file_path, parent):
    if (file_path.suffix == ".ipynb" and parent.config.getoption("lesson_outputs")
            and file_path.parent.name not in STORED_SCALE_DIRS):
        return ToleranceNotebook.from_parent(parent, path=file_path)
    return None


_MARGINS: dict = {}


def pytest_runtest_logreport(report):
    """Collect each notebook's largest use of its tolerance (on the controller under xdist)."""
    used = [value for key, value in report.user_properties if key == "tolerance_used"]
    if used and report.when == "call":
        notebook, _, cell = report.nodeid.partition("::")
        _MARGINS[notebook] = max(_MARGINS.get(notebook, (0.0, "")), (max(used), cell))


def pytest_terminal_summary(terminalreporter):
    if _MARGINS:
        terminalreporter.section("lesson outputs: largest share of a tolerance used, by notebook")
        for notebook, (used, cell) in sorted(_MARGINS.items()):
            terminalreporter.write_line(summary_line(notebook, used, cell))


def pytest_addoption(parser):
    parser.addoption("--lesson-outputs", action="store_true", dest="lesson_outputs",
                     help="re-execute lesson notebooks and compare their outputs within tolerance")
