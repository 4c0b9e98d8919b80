"""Coursework generated from the lessons (tools/coursework.py): every chapter has
exercises; its student notebook holds no solution and no hidden test, runs up to the
first unanswered exercise; its autograder gives full marks to the instructor notebook,
zero to the untouched student notebook and partial marks to one exercise solved."""
import ast
import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))


def _tool():
    spec = importlib.util.spec_from_file_location("coursework", ROOT / "tools" / "coursework.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


coursework = _tool()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    output = tmp_path_factory.mktemp("coursework")
    return output, {md.stem: coursework.build(md.stem, output) for md in LESSONS}


def _solution_bodies(md):
    """The body lines (beyond signature and docstring) of every solution function of a lesson."""
    lesson = jupytext.read(md, fmt="md:myst")
    inside, bodies = False, []
    for cell in lesson.cells:
        if cell.cell_type == "markdown":
            inside = bool(coursework.SOLUTION_START.match(cell.source.strip())) or (
                inside and not coursework.SOLUTION_END.match(cell.source.strip()))
        elif inside:
            lines = cell.source.splitlines()
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    documented = isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
                    first = node.body[1] if documented and len(node.body) > 1 else node.body[0]
                    bodies += [line.strip() for line in lines[first.lineno - 1:node.end_lineno] if line.strip()]
    return bodies


def _grader_sources(md):
    lesson = jupytext.read(md, fmt="md:myst")
    return [c.source for c in lesson.cells if c.cell_type == "code" and c.get("metadata", {}).get("grader")]


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_chapter_has_graded_exercises_of_both_kinds(md, built):
    _, chapters = built
    exercises = chapters[md.stem]["exercises"]
    assert len(exercises) >= 3, f"{md.name} has {len(exercises)} exercises, at least 3 expected"
    text = md.read_text()
    assert "{solution-start}" in text and "grader:" in text
    assert any(word in text for word in ("Predict", "Derive", "predict", "derive")), "no prediction/derivation exercise"


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_notebook_has_no_solution_and_no_hidden_test(md, built):
    _, chapters = built
    student = nbformat.read(chapters[md.stem]["student"], as_version=4)
    nbformat.validate(student)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    leaked = [line for line in _solution_bodies(md) if line in code.splitlines() or f" {line}" in code]
    assert not leaked, f"solution lines in the student notebook: {leaked[:3]}"
    for source in _grader_sources(md):
        assert source.strip() not in code
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules' in student.cells[1].source  # the Colab cell is kept
    assert code.count("raise NotImplementedError(") >= 3


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_autograder_full_zero_and_partial(md, built, tmp_path):
    output, chapters = built
    chapter = chapters[md.stem]
    full = coursework.grade(md.stem, chapter["instructor"], output)
    assert full["total"][0] == full["total"][1] > 0, full
    zero = coursework.grade(md.stem, chapter["student"], output)
    assert zero["total"][0] == 0, zero
    # One exercise solved (the first), and a cell that raises elsewhere: only that exercise scores.
    student = nbformat.read(chapter["student"], as_version=4)
    instructor = nbformat.read(chapter["instructor"], as_version=4)
    first = chapter["exercises"][0]
    stub = next(i for i, c in enumerate(student.cells) if f'NotImplementedError("{first}:' in c.source)
    name = ast.parse(student.cells[stub].source.replace("...", "pass")).body[-1].name
    solved = next(c for c in instructor.cells if c.cell_type == "code" and f"def {name}(" in c.source)
    student.cells[stub].source = solved.source
    student.cells.insert(stub + 1, nbformat.v4.new_code_cell('raise RuntimeError("a cell that fails")'))
    partial_path = tmp_path / f"{md.stem}.ipynb"
    nbformat.write(student, partial_path)
    partial = coursework.grade(md.stem, partial_path, output)
    assert partial["scores"][first][0] == partial["scores"][first][1] > 0, partial
    assert 0 < partial["total"][0] < partial["total"][1], partial


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_notebook_runs_up_to_the_first_unanswered_exercise(md, built, executor):
    _, chapters = built
    student = nbformat.read(chapters[md.stem]["student"], as_version=4)
    client = NotebookClient(student, timeout=600, kernel_name="python3",
                            kernel_manager_class=executor._current_environment_kernel(),
                            resources={"metadata": {"path": str(ROOT / "lessons")}})
    with pytest.raises(CellExecutionError, match="NotImplementedError") as raised:
        client.execute()
    first = chapters[md.stem]["exercises"][0]
    assert first in str(raised.value)
