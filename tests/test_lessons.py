"""Every lesson is a consistent, up-to-date pair lessons/NN_name.md + lessons/NN_name.ipynb.

- the .md (the source) and the .ipynb (rendered by the book, with outputs) have the
  same cells, and the notebook's stored source hash is current;
- the notebook has stored outputs and none of them is an error or stderr;
- its first code cell is the Colab install cell: guarded by
  `"google.colab" in sys.modules`, installing exactly the pyproject Repository URL and
  never installing or upgrading TensorFlow;
- it is listed in _toc.yml.

Fix a failure with `python3 tasks.py book` (it re-executes stale lessons).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
MD_FILES = sorted(LESSONS.glob("*.md"))
IPYNB_FILES = sorted(LESSONS.glob("*.ipynb"))
FIX = "run `python3 tasks.py book` to rebuild and re-execute it"


def read_ipynb(md: Path):
    return nbformat.read(md.with_suffix(".ipynb"), as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def describe(cell) -> str:
    if cell is None:
        return "    (no cell)"
    tags = cell.get("metadata", {}).get("tags", [])
    head = f"    {cell.cell_type} cell" + (f", tags {tags}" if tags else "") + ":\n"
    return head + "\n".join("      | " + line for line in cell.source.splitlines()[:15])


lesson = pytest.mark.parametrize("md", MD_FILES, ids=[p.stem for p in MD_FILES])


# ---------------------------------------------------------------------------
def test_there_are_lessons():
    assert MD_FILES, f"no lessons in {LESSONS}: a book without chapters is broken"


def test_every_notebook_has_its_source():
    orphans = [p.name for p in IPYNB_FILES if not p.with_suffix(".md").exists()]
    assert not orphans, f"notebooks without their .md source (the .md is the source): {orphans}"


@lesson
def test_notebook_exists(md):
    assert md.with_suffix(".ipynb").exists(), f"{md.name} has no paired notebook: {FIX}"


@lesson
def test_notebook_cells_match_source(md, executor):
    if not md.with_suffix(".ipynb").exists():
        pytest.skip("no notebook (see test_notebook_exists)")
    expected, stored = executor.build_notebook(md).cells, read_ipynb(md).cells

    def key(cell):
        return executor.cell_keys(nbformat.from_dict({"cells": [cell]}))[0]

    for index in range(max(len(expected), len(stored))):
        want = expected[index] if index < len(expected) else None
        have = stored[index] if index < len(stored) else None
        if want is None or have is None or key(want) != key(have):
            ipynb_name = md.with_suffix(".ipynb").name
            head = (
                f"{ipynb_name} differs from {md.name} at cell {index} "
                f"({len(stored)} cells in the notebook, {len(expected)} in the source); {FIX}.\n"
            )
            if want is not None and have is not None and want.cell_type == have.cell_type:
                diff = difflib.unified_diff(
                    have.source.splitlines(), want.source.splitlines(),
                    fromfile=f"{ipynb_name} cell {index}", tofile=f"{md.name} cell {index}",
                    lineterm="",
                )
                metadata = (key(have)[2], key(want)[2])
                extra = (f"\n  metadata: {metadata[0]} in the notebook, {metadata[1]} in the source"
                         if metadata[0] != metadata[1] else "")
                pytest.fail(head + "\n".join("    " + line for line in diff) + extra)
            pytest.fail(
                head + f"  in {md.name}:\n{describe(want)}\n  in {ipynb_name}:\n{describe(have)}"
            )


@lesson
def test_medium_notebook_is_up_to_date(md, executor):
    """The medium scale's notebook (lessons/medium/) decides the verdicts the quick scale cannot;
    once stored, it must come from the lesson's current code cells and the medium sizes. A
    lesson not yet executed at medium is skipped here and shown as not run in the scorecard."""
    if not (md.parent / "medium" / md.with_suffix(".ipynb").name).exists():
        pytest.skip(f"{md.stem} has not been executed at the medium scale yet (the scorecard says so)")
    reason = executor.stale_reason(md, "medium")
    assert reason is None, (f"lessons/medium/{md.stem}.ipynb: {reason}: run `LANDSCAPE_SCALE=medium "
                            f".venv/bin/python tools/execute_lessons.py lessons/{md.name}` (it takes a while), "
                            "then tools/scorecard.py")


def test_a_stored_notebook_depends_only_on_the_scale_sections_its_lesson_reads(executor):
    """A medium notebook takes up to an hour: another chapter's sizes must not make it stale,
    and a use of the scale that cannot be followed must count every section."""
    fields = ("name", "toy", "radial", "ensembles")
    assert executor.scale_sections("config = scale.radial\nprint(scale.name, scale.toy.dim)", fields) == (
        "name", "radial", "toy")
    assert executor.scale_sections('if IN_COLAB:\n    %pip install x\nscale = get_scale(SCALE)\n'
                                   'print("at this scale")', fields) == ()
    assert executor.scale_sections("run(scale)", fields) == fields
    assert executor.scale_sections("scale.radial.seeds, scale.unknown", fields) == fields


@lesson
def test_notebook_is_up_to_date(md, executor):
    ipynb = md.with_suffix(".ipynb")
    if not ipynb.exists():
        pytest.skip("no notebook (see test_notebook_exists)")
    stored = read_ipynb(md).metadata.get("landscape", {}).get("source_hash")
    assert stored == executor.source_hash(md), (
        f"{ipynb.name} is stale: its landscape.source_hash does not match {md.name}, "
        f"lib/landscape and scale {executor.scale_name()!r}; {FIX}"
    )


@lesson
def test_notebook_has_clean_stored_outputs(md):
    if not md.with_suffix(".ipynb").exists():
        pytest.skip("no notebook (see test_notebook_exists)")
    cells = code_cells(read_ipynb(md))
    assert any(c.get("outputs") for c in cells), f"{md.with_suffix('.ipynb').name} has no stored outputs; {FIX}"
    for index, cell in enumerate(cells, start=1):
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            assert kind != "error", f"code cell {index} has a stored error output"
            assert not (kind == "stream" and output.get("name") == "stderr"), (
                f"code cell {index} has a stored stderr output:\n{output.get('text', '')}"
            )


GUARD = re.compile(r"""if\s+(["'])google\.colab\1\s+in\s+sys\.modules""")
FORBIDDEN_IN_INSTALL = re.compile(
    r"\btensorflow\b|--upgrade-strategy|--force-reinstall|--ignore-installed|(?<![\w-])-I\b",
    re.IGNORECASE,
)


def _strip_comments(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lines.append(re.sub(r"\s+#\s.*$", "", line))
    return "\n".join(lines)


def _pip_commands(source: str) -> list[str]:
    """Each statement that mentions pip, with its continuation lines (bracket-balanced)."""
    lines = _strip_comments(source).splitlines()
    commands, i = [], 0
    while i < len(lines):
        if re.search(r"\bpip\b", lines[i]):
            statement, depth = [], 0
            while i < len(lines):
                statement.append(lines[i])
                depth += sum(lines[i].count(c) for c in "([{") - sum(lines[i].count(c) for c in ")]}")
                i += 1
                if depth <= 0 and not statement[-1].rstrip().endswith("\\"):
                    break
            commands.append("\n".join(statement))
        else:
            i += 1
    return commands


@lesson
def test_first_code_cell_installs_the_library_in_colab(md, executor, repository_url):
    cells = code_cells(executor.build_notebook(md))
    assert cells, f"{md.name} has no code cells"
    source = cells[0].source
    guard = GUARD.search(source)
    assert guard, f'{md.name}: the first code cell must be guarded by `if "google.colab" in sys.modules:`'

    installs = [c for c in _pip_commands(source) if re.search(r"\binstall\b", c)]
    assert installs, f"{md.name}: the first code cell must pip-install the library in Colab"
    assert source.find(installs[0].splitlines()[0].strip()) > guard.start(), (
        f"{md.name}: the pip install must come after (inside) the Colab guard"
    )
    for command in installs:
        bad = FORBIDDEN_IN_INSTALL.search(command)
        assert not bad, (
            f"{md.name}: the Colab install must keep Colab's TensorFlow; found {bad.group(0)!r} in\n{command}"
        )

    url = repository_url
    # The URL may be written out, or held in a variable of the cell and expanded by
    # IPython (`%pip install git+{REPO_URL}`, `!pip install git+$REPO_URL`) or an f-string.
    assigned = dict(re.findall(r"""^\s*([A-Za-z_]\w*)\s*=\s*["']([^"']+)["']""", source, re.MULTILINE))

    def expand(text: str) -> str:
        return re.sub(r"\{(\w+)\}|\$(\w+)", lambda m: assigned.get(m[1] or m[2], m[0]), text)

    targets = re.findall(r"git\+([^\s'\"\]\),]+)", expand(_strip_comments(source)))
    assert targets, f"{md.name}: the first code cell must install git+{url}"
    for target in targets:
        base = re.sub(r"@[^/@]*$", "", target)  # an optional @ref is allowed
        assert base == url, f"{md.name}: installs git+{target}, expected git+{url} (pyproject Repository)"


@lesson
def test_lesson_is_in_the_table_of_contents(md, toc):
    assert f"lessons/{md.stem}" in toc, f"lessons/{md.stem} is not listed in _toc.yml"


def test_table_of_contents_lists_only_existing_lessons(toc):
    missing = [e for e in toc if e.startswith("lessons/") and not (ROOT / e).with_suffix(".md").exists()]
    assert not missing, f"_toc.yml lists lessons that do not exist: {missing}"


@lesson
def test_set_up_cell_needs_no_environment_lines(md, executor):
    """The library sets TensorFlow's quiet defaults when imported (lib/landscape/environment.py)."""
    sources = "\n".join(c.source for c in code_cells(executor.build_notebook(md)))
    assert "os.environ" not in sources and "TF_CPP_MIN_LOG_LEVEL" not in sources


CHECKS = re.compile(r"\bclaims\.(check|finding|sanity|beyond)\(")


@lesson
def test_lesson_ends_its_claims_in_claim_checks(md, executor):
    """Every check goes through landscape.claims (decided by the rubric, asserted, and on the
    scorecard); no bare assert hides in a lesson (except in the exercises' grader cells, which
    test the solutions and become the autograder's hidden tests)."""
    sources = [c.source for c in code_cells(executor.build_notebook(md)) if not c.metadata.get("grader")]
    assert any(CHECKS.search(source) for source in sources), f"{md.name} has no check"
    bare = [s for s in sources if re.search(r"^\s*assert\b", s, re.MULTILINE)]
    assert not bare, f"{md.name}: use claims.check (or finding, sanity) instead of a bare assert:\n{bare[0]}"


@lesson
def test_every_check_states_the_verdict_it_expects_as_a_literal(md, executor):
    """The prose states a verdict; the check's expect= must be a literal the reader can see
    (a string, a choice between two strings, or a dict of them by scale), not computed from
    the measurement."""
    import ast

    for cell in code_cells(executor.build_notebook(md)):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # the Colab cell's %pip line
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("check", "finding") and getattr(node.func.value, "id", "") == "claims"):
                expect = {k.arg: k.value for k in node.keywords}.get("expect")
                assert expect is not None, f"{md.name} line {node.lineno}: claims.{node.func.attr} without expect="
                literals = [expect] if isinstance(expect, ast.Constant) else (
                    [expect.body, expect.orelse] if isinstance(expect, ast.IfExp) else
                    expect.keys + expect.values if isinstance(expect, ast.Dict) else [])
                assert literals and all(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in literals), (
                    f"{md.name} line {node.lineno}: expect= must be a literal verdict (or a choice of literals)")


def test_scorecard_is_generated_from_the_current_lessons():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "scorecard.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
