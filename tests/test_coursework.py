"""Coursework generated from the lessons (tools/coursework.py).

What is proved here (the file takes about a minute and a half on 2 cores, most of it the class
graded in a fresh environment):

- every chapter has graded exercises; its student notebook holds no solution, no solution
  import, no check and no output, and every stub's docstring states the task, not the answer
  (checked against the solution's docstring and body);
- the checks, as the autograder zip runs them (Otter's own test files, run in this process
  against a chapter's namespace), give full marks to the solutions and take marks from every
  wrong answer of WRONG_ANSWERS (at least two per exercise: a sign, an off-by-one, a wrong axis
  or norm, a missing factor, the example's printed value as a constant), from that exercise
  only;
- the time limits stop an endless loop: a check's (here) and a graded cell's (in an IPython
  shell here);
- the autograder zip installs the library from its own wheel in a fresh environment, offline,
  and grading a class there with the zip's own run_otter.py gives full marks to the instructor
  notebook, zero to the student notebook, partial marks to a notebook with one answer right,
  one endless loop and one syntax error, and a clear line, without a traceback, to a notebook of
  another chapter, a corrupted notebook and an empty file;
- the student notebooks run, in one kernel, up to their first unanswered exercise.
"""
from __future__ import annotations

import ast
import contextlib
import csv
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import time
import venv
import warnings
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import tool_modules

with warnings.catch_warnings():  # otter imports ipylab, whose use of traitlets is deprecated (theirs, not ours)
    warnings.simplefilter("ignore", DeprecationWarning)
    import otter  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))
STEMS = [p.stem for p in LESSONS]
CLASS_CHAPTER = "02_wedge_surrogate"  # the chapter graded as a class: its checks take well under a second


coursework = tool_modules.load("coursework")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every chapter's coursework, built once (one wheel of the library for all)."""
    output = tmp_path_factory.mktemp("coursework")
    wheel = coursework.project_wheel(output / "_wheel")
    return output, {stem: coursework.build(stem, output, wheel) for stem in STEMS}


# --------------------------------------------------------------------------- the lessons' solutions
@dataclass
class Solution:
    exercise: str
    function: ast.FunctionDef
    source: str  # the solution cell's code
    others: list  # the cell's other top-level statements (imports, constants)

    @property
    def docstring(self) -> str:
        return ast.get_docstring(self.function) or ""

    @property
    def body_lines(self) -> list[str]:
        body = self.function.body[1:] if self.docstring else self.function.body
        lines = self.source.splitlines()[body[0].lineno - 1:self.function.end_lineno]
        return [line.strip() for line in lines if line.strip()]


def _solutions(stem: str) -> list[Solution]:
    lesson, start, _ = coursework.read_lesson(stem)
    found, inside, label = [], False, None
    for cell in lesson.cells[start:]:
        if cell.cell_type == "markdown":
            source = cell.source.strip()
            if coursework.SOLUTION_START.match(source):
                inside, label = True, coursework.SOLUTION_START.match(source)["label"]
            elif coursework.SOLUTION_END.match(source):
                inside = False
        elif inside:
            tree = ast.parse(cell.source)
            others = [node for node in tree.body if not isinstance(node, ast.FunctionDef)]
            found += [Solution(label, node, cell.source, others) for node in tree.body
                      if isinstance(node, ast.FunctionDef)]
    return found


def _normal(text: str) -> str:
    return " ".join(text.replace("`", "").replace("$", "").split()).lower()


def _formulas(text: str) -> set[str]:
    """The formula-like fragments of a docstring: operands joined by an operator ("(D - n) / D",
    "d + n >= D"); the space R^D is notation, not a formula."""
    text = re.sub(r"\bR\^\w+", "", text)
    fragments = re.findall(r"[\w.|()^]+(?:\s*(?:>=|<=|==|[-+*/^<>=])\s*[\w.|()^]+)+", text)
    operator = re.compile(r" [-+] |[*/^<>=]")
    return {_normal(f).rstrip(".,;:") for f in fragments if operator.search(f)}


def _answer_expressions(solution: Solution, exercise_text: str) -> set[str]:
    """The arithmetic of the solution's body ("n * n / dim", "dim - n"), except what the
    exercise's own text already states (it is the task, not the answer)."""
    body = solution.function.body[1:] if solution.docstring else solution.function.body
    found = {_normal(ast.unparse(node)) for statement in body for node in ast.walk(statement)
             if isinstance(node, (ast.BinOp, ast.Compare, ast.BoolOp))}
    return {expression for expression in found if expression not in _normal(exercise_text)}


def _shingles(text: str, size: int = 6) -> set[tuple]:
    words = re.findall(r"[\w^'-]+", _normal(text))
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


# --------------------------------------------------------------------------- notebooks and stubs
@pytest.mark.parametrize("stem", STEMS)
def test_chapter_has_graded_exercises_of_both_kinds(stem, built):
    _, chapters = built
    exercises = chapters[stem]["exercises"]
    assert len(exercises) >= 3, f"{stem} has {len(exercises)} exercises, at least 3 expected"
    text = (ROOT / "lessons" / f"{stem}.md").read_text()
    assert "{solution-start}" in text and "grader:" in text
    assert any(word in text for word in ("Predict", "Derive", "predict", "derive")), "no prediction/derivation exercise"


@pytest.mark.parametrize("stem", STEMS)
def test_student_notebook_has_no_solution_and_no_hidden_test(stem, built):
    _, chapters = built
    student = nbformat.read(chapters[stem]["student"], as_version=4)
    nbformat.validate(student)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    everything = "\n".join(c.source for c in student.cells)
    for solution in _solutions(stem):
        leaked = [line for line in solution.body_lines if line in code.splitlines() or f" {line}" in code]
        assert not leaked, f"solution lines of {solution.function.name} in the student notebook: {leaked[:3]}"
        if solution.docstring:
            assert _normal(solution.docstring) not in _normal(everything), f"{solution.function.name}'s solution docstring"
        for statement in solution.others:  # e.g. ch. 1's `from scipy.stats import chi`
            assert ast.unparse(statement) not in code, f"the solution's `{ast.unparse(statement)}` in the student notebook"
    for exercise in coursework.read_chapter(stem).exercises:
        for check in exercise.checks:
            assert check.source.strip() not in code
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules' in student.cells[1].source  # the Colab cell is kept
    assert code.count("raise NotImplementedError(") >= 3
    # The examples call the student's functions: Otter skips them when grading (the checks call
    # the functions on their own inputs), so an example cannot hang or slow the grading.
    examples = [c for c in student.cells if c.cell_type == "code" and "otter" in c.metadata and "tests" in c.metadata["otter"]]
    assert examples and all(coursework.OTTER_IGNORE in c.metadata.get("tags", []) for c in examples)
    instructor = "\n".join(c.source for c in nbformat.read(chapters[stem]["instructor"], as_version=4).cells)
    assert all(line in instructor for solution in _solutions(stem) for line in solution.body_lines)


@pytest.mark.parametrize("stem", STEMS)
def test_stubs_state_the_task_not_the_answer(stem, built):
    """Each stub: the solution's signature, the lesson's student docstring (naming every input
    and what to return, sharing no formula, no line, no arithmetic and no six words in a row
    with the solution), then ``raise NotImplementedError``; nothing else in its cell."""
    _, chapters = built
    chapter = coursework.read_chapter(stem)
    student = nbformat.read(chapters[stem]["student"], as_version=4)
    for solution in _solutions(stem):
        name, exercise = solution.function.name, chapter.exercise(solution.exercise)
        cell = next(c for c in student.cells if c.cell_type == "code" and f"def {name}(" in c.source)
        tree = ast.parse(cell.source)
        assert all(isinstance(node, ast.FunctionDef) for node in tree.body), f"{name}'s stub cell holds more: {cell.source}"
        stub = next(node for node in tree.body if node.name == name)
        assert ast.dump(stub.args) == ast.dump(solution.function.args), f"{name}: the stub's signature differs"
        assert len(stub.body) == 2 and isinstance(stub.body[1], ast.Raise), f"{name}: {ast.unparse(stub)}"
        assert "NotImplementedError" in ast.unparse(stub.body[1])
        doc = ast.get_docstring(stub)
        assert doc and _normal(doc) == _normal(exercise.student_docstrings[name])
        arguments = [a.arg for a in solution.function.args.args + solution.function.args.kwonlyargs]
        missing = [a for a in arguments if not re.search(rf"(?<![\w]){re.escape(a)}(?![\w])", doc)]
        assert not missing, f"{name}'s stub docstring does not say what {missing} is"
        assert re.search(r"\breturns?\b", doc, re.I), f"{name}'s stub docstring does not say what to return"
        assert _normal(doc) != _normal(solution.docstring)
        given = [f for f in _formulas(solution.docstring) if f in _normal(doc) and f not in _normal(exercise.text)]
        assert not given, f"{name}'s stub docstring states the solution's formula {given}"
        given = [e for e in _answer_expressions(solution, exercise.text) if e in _normal(doc)]
        assert not given, f"{name}'s stub docstring holds the solution's arithmetic {given}"
        given = [line for line in solution.body_lines if _normal(line) in _normal(doc)]
        assert not given, f"{name}'s stub docstring holds the solution's lines {given}"
        shared = (_shingles(doc) & _shingles(solution.docstring)) - _shingles(exercise.text)  # the task's words are fine
        assert not shared, f"{name}'s stub docstring copies the solution's docstring: {sorted(shared)[:2]}"


def test_the_leak_checks_can_fail():
    """The detectors above catch the leaks the issue found (ch. 6, ch. 3)."""
    assert "(d - n) / d" in _formulas("A random unit direction puts a fraction (D - n) / D of its length there.")
    assert "d + n >= d" in _formulas("A d-plane meets an n-wedge in general position iff d + n >= D.")
    assert not _formulas("The nearest point of the nearest n-wedge of R^D, a d-plane.")
    spread = next(s for s in _solutions("06_radial_tunnels") if s.function.name == "relative_spread")
    assert "dim - n" in _answer_expressions(spread, "") and "2 * n / (short * (dim + 2))" in _answer_expressions(spread, "")
    assert _shingles("Mean number of long axes two independent random n-wedges of R^dim share") & _shingles(
        "The mean number of long axes two independent random n-wedges of R^dim share, a float")


def test_a_lesson_without_student_docstrings_is_refused(tmp_path, monkeypatch):
    lesson = (ROOT / "lessons" / "03_random_hyperplanes.md").read_text()
    (tmp_path / "03_random_hyperplanes.md").write_text(
        re.sub(r"student_docstrings:\n  predicted_limiting_dimension: \|-\n(    .*\n)+", "", lesson, count=1))
    monkeypatch.setattr(coursework, "LESSONS", tmp_path)
    with pytest.raises(ValueError, match=r"predicted_limiting_dimension.*student_docstrings"):
        coursework.read_chapter("03_random_hyperplanes")
    with pytest.raises(ValueError, match=r"unknown chapter '99_nope'; the chapters are: 03_random_hyperplanes"):
        coursework.read_chapter("99_nope")


# --------------------------------------------------------------------------- checks against wrong answers
@dataclass
class WrongAnswer:
    exercise: str
    what: str
    keeps: int  # the points it keeps on its exercise (of a part it gets right)
    source: str


WRONG_ANSWERS = [
    # chapter 1
    WrongAnswer("ex-01-cosine-spread", "divides by one vector's length only", 1, '''
def cosine_spread(dim, num_pairs=2000, seed=0):
    u, v = np.random.default_rng(seed).standard_normal((2, num_pairs, dim))
    return float(np.std(np.sum(u * v, axis=1) / np.linalg.norm(u, axis=1)))
'''),
    WrongAnswer("ex-01-cosine-spread", "the mean cosine, not its spread", 1, '''
def cosine_spread(dim, num_pairs=2000, seed=0):
    u, v = np.random.default_rng(seed).standard_normal((2, num_pairs, dim))
    return float(np.mean(np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))))
'''),
    WrongAnswer("ex-01-cosine-spread", "the example's printed value as a constant", 0, '''
def cosine_spread(dim, num_pairs=2000, seed=0):
    return 0.045
'''),
    WrongAnswer("ex-01-cosine-spread", "1/sqrt(D) with made-up noise, ignoring the seed", 1, '''
def cosine_spread(dim, num_pairs=2000, seed=0):
    return float(1 / np.sqrt(dim)) * (1 + 0.01 * np.random.default_rng().standard_normal())
'''),
    WrongAnswer("ex-01-lines-within", "off by one: chi with k degrees of freedom", 0, '''
from scipy.stats import chi
def fraction_within(k, radius):
    return float(chi.cdf(radius, k))
'''),
    WrongAnswer("ex-01-lines-within", "the squared length's distribution (chi-squared)", 1, '''
from scipy.stats import chi2
def fraction_within(k, radius):
    return 1.0 if k == 1 else float(chi2.cdf(radius, k - 1))
'''),
    WrongAnswer("ex-01-lines-within", "the example's printed value as a constant", 0, '''
def fraction_within(k, radius):
    return 0.118
'''),
    WrongAnswer("ex-01-shell-dimension", "off by one: floor instead of ceiling", 0, '''
import math
def shell_dimension(fraction, thickness):
    return math.floor(math.log(1 - fraction) / math.log(1 - thickness))
'''),
    WrongAnswer("ex-01-shell-dimension", "off by one: a dimension too many", 0, '''
import math
def shell_dimension(fraction, thickness):
    return math.ceil(math.log(1 - fraction) / math.log(1 - thickness)) + 1
'''),
    WrongAnswer("ex-01-shell-dimension", "the example's printed value as a constant", 0, '''
def shell_dimension(fraction, thickness):
    return 459
'''),
    # chapter 2
    WrongAnswer("ex-02-wedge-loss", "keeps the n smallest coordinates, not the D - n smallest", 0, '''
def wedge_loss(points, n):
    points = np.asarray(points, dtype=np.float64)
    smallest = np.partition(np.abs(points), n - 1, axis=1)[:, :n] if n else points[:, :0]
    return np.sqrt(np.sum(smallest**2, axis=1))
'''),
    WrongAnswer("ex-02-wedge-loss", "forgets the absolute value", 0, '''
def wedge_loss(points, n):
    points = np.asarray(points, dtype=np.float64)
    short = points.shape[1] - n
    return np.sqrt(np.sum(np.partition(points, short - 1, axis=1)[:, :short]**2, axis=1))
'''),
    WrongAnswer("ex-02-wedge-loss", "the L1 norm instead of the Euclidean one", 0, '''
def wedge_loss(points, n):
    points = np.asarray(points, dtype=np.float64)
    short = points.shape[1] - n
    return np.sum(np.partition(np.abs(points), short - 1, axis=1)[:, :short], axis=1)
'''),
    WrongAnswer("ex-02-shared-axes", "off by one: n (n - 1) / D (the issue's case)", 0, '''
def expected_shared_axes(dim, n):
    return n * (n - 1) / dim
'''),
    WrongAnswer("ex-02-shared-axes", "the short axes: (D - n)^2 / D", 0, '''
def expected_shared_axes(dim, n):
    return (dim - n) ** 2 / dim
'''),
    WrongAnswer("ex-02-shared-axes", "the example's printed value as a constant", 0, '''
def expected_shared_axes(dim, n):
    return 405.0
'''),
    WrongAnswer("ex-02-project", "keeps the n smallest coordinates", 0, '''
def project_to_wedge(point, n):
    point = np.asarray(point, dtype=np.float64)
    projected = np.zeros_like(point)
    keep = np.argsort(np.abs(point), kind="stable")[:n]
    projected[keep] = point[keep]
    return projected
'''),
    WrongAnswer("ex-02-project", "sign: ranks by value, not by magnitude", 0, '''
def project_to_wedge(point, n):
    point = np.asarray(point, dtype=np.float64)
    projected = np.zeros_like(point)
    keep = np.argsort(-point, kind="stable")[:n]
    projected[keep] = point[keep]
    return projected
'''),
    WrongAnswer("ex-02-project", "the offset to the wedge, not the point on it", 0, '''
def project_to_wedge(point, n):
    point = np.asarray(point, dtype=np.float64)
    projected = np.zeros_like(point)
    keep = np.argsort(-np.abs(point), kind="stable")[:n]
    projected[keep] = point[keep]
    return point - projected
'''),
    # chapter 3
    WrongAnswer("ex-03-predict", "n instead of D - n", 0, '''
def predicted_limiting_dimension(dim, n):
    return n
'''),
    WrongAnswer("ex-03-predict", "off by one: D - n + 1", 0, '''
def predicted_limiting_dimension(dim, n):
    return dim - n + 1
'''),
    WrongAnswer("ex-03-predict", "the example's printed value as a constant", 0, '''
def predicted_limiting_dimension(dim, n):
    return 60
'''),
    WrongAnswer("ex-03-dense-subspace", "rows not normalized (a missing factor)", 1, '''
def dense_subspace_point(origin, theta, seed=0):
    origin, theta = np.asarray(origin, dtype=np.float64), np.asarray(theta, dtype=np.float64)
    return origin + theta @ np.random.default_rng(seed).standard_normal((theta.size, origin.size))
'''),
    WrongAnswer("ex-03-dense-subspace", "normalizes the columns (the wrong axis)", 1, '''
def dense_subspace_point(origin, theta, seed=0):
    origin, theta = np.asarray(origin, dtype=np.float64), np.asarray(theta, dtype=np.float64)
    rows = np.random.default_rng(seed).standard_normal((theta.size, origin.size))
    return origin + theta @ (rows / np.linalg.norm(rows, axis=0, keepdims=True))
'''),
    WrongAnswer("ex-03-dense-subspace", "forgets the origin", 0, '''
def dense_subspace_point(origin, theta, seed=0):
    origin, theta = np.asarray(origin, dtype=np.float64), np.asarray(theta, dtype=np.float64)
    rows = np.random.default_rng(seed).standard_normal((theta.size, origin.size))
    return theta @ (rows / np.linalg.norm(rows, axis=1, keepdims=True))
'''),
    WrongAnswer("ex-03-train", "the final loss, not divided by the loss at the origin", 0, '''
def subspace_final_loss(dim, n, d, seed=0):
    landscape = toy.WedgeLandscape(dim, n)
    space = subspace.RandomSubspace(dim, d, "dense", landscape.initial_params(seed), seed=seed)
    return subspace.train_in_subspace(landscape, space, steps=1000, learning_rate=0.02, schedule="cosine").final_loss
'''),
    WrongAnswer("ex-03-train", "a sparse subspace, not a dense one", 0, '''
def subspace_final_loss(dim, n, d, seed=0):
    landscape = toy.WedgeLandscape(dim, n)
    origin = landscape.initial_params(seed)
    space = subspace.RandomSubspace(dim, d, "sparse", origin, seed=seed)
    result = subspace.train_in_subspace(landscape, space, steps=1000, learning_rate=0.02, schedule="cosine")
    return result.final_loss / float(landscape.loss(origin))
'''),
    WrongAnswer("ex-03-train", "a tenth of the steps", 0, '''
def subspace_final_loss(dim, n, d, seed=0):
    landscape = toy.WedgeLandscape(dim, n)
    origin = landscape.initial_params(seed)
    space = subspace.RandomSubspace(dim, d, "dense", origin, seed=seed)
    result = subspace.train_in_subspace(landscape, space, steps=100, learning_rate=0.02, schedule="cosine")
    return result.final_loss / float(landscape.loss(origin))
'''),
    # chapter 4
    WrongAnswer("ex-04-hyperplane-step", "no projection: a plain gradient step", 0, '''
def hyperplane_step(landscape, point, normal, learning_rate):
    point = np.asarray(point, dtype=np.float32)
    return point - learning_rate * landscape.loss_and_grad(point)[1].numpy().astype(np.float64)
'''),
    WrongAnswer("ex-04-hyperplane-step", "projects on the normal without normalizing it", 0, '''
def hyperplane_step(landscape, point, normal, learning_rate):
    point, normal = np.asarray(point, dtype=np.float32), np.asarray(normal, dtype=np.float64)
    grad = landscape.loss_and_grad(point)[1].numpy().astype(np.float64)
    return point - learning_rate * (grad - np.dot(grad, normal) * normal)
'''),
    WrongAnswer("ex-04-hyperplane-step", "sign: steps up the gradient", 0, '''
def hyperplane_step(landscape, point, normal, learning_rate):
    point = np.asarray(point, dtype=np.float32)
    unit = np.asarray(normal, dtype=np.float64) / np.linalg.norm(normal)
    grad = landscape.loss_and_grad(point)[1].numpy().astype(np.float64)
    return point + learning_rate * (grad - np.dot(grad, unit) * unit)
'''),
    WrongAnswer("ex-04-intersection-count", "sign: adds the shared axes", 0, '''
def intersection_short_directions(dim, n, shared):
    return 2 * (dim - n) + shared
'''),
    WrongAnswer("ex-04-intersection-count", "forgets the shared axes", 0, '''
def intersection_short_directions(dim, n, shared):
    return 2 * (dim - n)
'''),
    WrongAnswer("ex-04-intersection-count", "the example's printed value as a constant", 0, '''
def intersection_short_directions(dim, n, shared):
    return 40
'''),
    WrongAnswer("ex-04-highest-loss", "the vertices only", 0, '''
def highest_loss_on_polyline(landscape, vertices, num=101):
    return float(np.max(landscape.losses(np.asarray(vertices, dtype=np.float32))))
'''),
    WrongAnswer("ex-04-highest-loss", "evenly spaced per segment, not by length", 0, '''
def highest_loss_on_polyline(landscape, vertices, num=101):
    vertices = np.asarray(vertices, dtype=np.float64)
    t = np.linspace(0.0, len(vertices) - 1, num)
    segment = np.clip(np.floor(t).astype(int), 0, len(vertices) - 2)
    points = vertices[segment] + (t - segment)[:, None] * (vertices[segment + 1] - vertices[segment])
    return float(np.max(landscape.losses(points.astype(np.float32))))
'''),
    WrongAnswer("ex-04-highest-loss", "the mean loss, not the highest", 0, '''
def highest_loss_on_polyline(landscape, vertices, num=101):
    vertices = np.asarray(vertices, dtype=np.float64)
    lengths = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    positions = np.linspace(0.0, cumulative[-1], num)
    segment = np.clip(np.searchsorted(cumulative, positions, side="right") - 1, 0, len(lengths) - 1)
    along = (positions - cumulative[segment]) / np.where(lengths[segment] > 0, lengths[segment], 1.0)
    points = vertices[segment] + along[:, None] * (vertices[segment + 1] - vertices[segment])
    return float(np.mean(landscape.losses(points.astype(np.float32))))
'''),
    # chapter 5
    WrongAnswer("ex-05-union", "off by one: the exponent m, not m + 1", 0, '''
def expected_union(dim, short, m):
    return dim * (1.0 - (1.0 - short / dim) ** m)
'''),
    WrongAnswer("ex-05-union", "no overlap: (m + 1) s", 0, '''
def expected_union(dim, short, m):
    return float((m + 1) * short)
'''),
    WrongAnswer("ex-05-union", "a missing factor D: the fraction of the axes", 0, '''
def expected_union(dim, short, m):
    return 1.0 - (1.0 - short / dim) ** (m + 1)
'''),
    WrongAnswer("ex-05-union", "the example's printed value as a constant", 0, '''
def expected_union(dim, short, m):
    return 93.7
'''),
    WrongAnswer("ex-05-simplex-points", "normalized uniform weights: in the simplex, not uniform", 1, '''
def simplex_points(optima, num, seed=0):
    weights = np.random.default_rng(seed).random((num, len(optima)))
    return (weights / weights.sum(axis=1, keepdims=True)) @ np.asarray(optima, dtype=np.float64)
'''),
    WrongAnswer("ex-05-simplex-points", "Dirichlet(2, ..., 2): crowds the centre", 1, '''
def simplex_points(optima, num, seed=0):
    weights = np.random.default_rng(seed).dirichlet(2 * np.ones(len(optima)), size=num)
    return weights @ np.asarray(optima, dtype=np.float64)
'''),
    WrongAnswer("ex-05-simplex-points", "weights not normalized: leaves the simplex", 0, '''
def simplex_points(optima, num, seed=0):
    return np.random.default_rng(seed).random((num, len(optima))) @ np.asarray(optima, dtype=np.float64)
'''),
    WrongAnswer("ex-05-construction-centre", "zeroes the long axes, not the short ones", 0, '''
def constructed_centre(landscape, optima):
    optima = np.asarray(optima, dtype=np.float32)
    centre = optima.mean(axis=0)
    for point in optima:
        centre[landscape.long_axes(point)] = 0.0
    return centre
'''),
    WrongAnswer("ex-05-construction-centre", "zeroes only the first optimum's short axes", 0, '''
def constructed_centre(landscape, optima):
    optima = np.asarray(optima, dtype=np.float32)
    centre = optima.mean(axis=0)
    centre[landscape.short_axes(optima[0])] = 0.0
    return centre
'''),
    WrongAnswer("ex-05-construction-centre", "the plain mean of the optima", 0, '''
def constructed_centre(landscape, optima):
    return np.asarray(optima, dtype=np.float32).mean(axis=0)
'''),
    # chapter 6
    WrongAnswer("ex-06-rise-rate", "a missing square root: (D - n) / D", 0, '''
def rise_rate(dim, n):
    return float((dim - n) / dim)
'''),
    WrongAnswer("ex-06-rise-rate", "the long axes: sqrt(n / D)", 0, '''
def rise_rate(dim, n):
    return float(np.sqrt(n / dim))
'''),
    WrongAnswer("ex-06-rise-rate", "the example's printed value as a constant", 0, '''
def rise_rate(dim, n):
    return 0.5
'''),
    WrongAnswer("ex-06-spread", "a missing factor 1/2: the spread of the squared length", 0, '''
def relative_spread(dim, n):
    return float(np.sqrt(2 * n / ((dim - n) * (dim + 2))))
'''),
    WrongAnswer("ex-06-spread", "swaps the long and the short axes", 0, '''
def relative_spread(dim, n):
    return float(0.5 * np.sqrt(2 * (dim - n) / (n * (dim + 2))))
'''),
    WrongAnswer("ex-06-spread", "the example's printed value as a constant", 0, '''
def relative_spread(dim, n):
    return 0.0274
'''),
    WrongAnswer("ex-06-width-at-lr", "the width before training", 0, '''
def width_after_training(learning_rate, seed=0):
    dataset = data.load_dataset("digits")
    landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=(16,), seed=seed), dataset,
                                      batch_size=64)
    width = probes.tunnel_width(landscape, landscape.initial_params(seed), thresholds=(0.5,), num_directions=8, seed=0)
    return float(width.mean[0])
'''),
    WrongAnswer("ex-06-width-at-lr", "the example's printed value as a constant", 0, '''
def width_after_training(learning_rate, seed=0):
    return 9.64
'''),
    # chapter 7
    WrongAnswer("ex-07-cyclic-rate", "no restart: the cosine runs past the cycle", 0, '''
import math
def cyclic_rate(epoch, epochs_per_cycle, max_lr, min_lr=0.0):
    return min_lr + (max_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs_per_cycle))
'''),
    WrongAnswer("ex-07-cyclic-rate", "sign: rises from min_lr to max_lr", 0, '''
import math
def cyclic_rate(epoch, epochs_per_cycle, max_lr, min_lr=0.0):
    progress = (epoch % epochs_per_cycle) / epochs_per_cycle
    return min_lr + (max_lr - min_lr) * 0.5 * (1.0 - math.cos(math.pi * progress))
'''),
    WrongAnswer("ex-07-cyclic-rate", "a missing factor 1/2", 0, '''
import math
def cyclic_rate(epoch, epochs_per_cycle, max_lr, min_lr=0.0):
    progress = (epoch % epochs_per_cycle) / epochs_per_cycle
    return min_lr + (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
'''),
    WrongAnswer("ex-07-mean-rate", "forgets min_lr: max_lr / 2", 0, '''
def mean_cycle_rate(max_lr, min_lr=0.0):
    return 0.5 * max_lr
'''),
    WrongAnswer("ex-07-mean-rate", "sign: (max - min) / 2", 0, '''
def mean_cycle_rate(max_lr, min_lr=0.0):
    return 0.5 * (max_lr - min_lr)
'''),
    WrongAnswer("ex-07-mean-rate", "the example's printed value as a constant", 0, '''
def mean_cycle_rate(max_lr, min_lr=0.0):
    return 1.05
'''),
    WrongAnswer("ex-07-prediction-ensemble", "a majority vote of the members' classes", 1, '''
def ensemble_accuracy(probabilities, labels):
    probabilities = np.asarray(probabilities)
    votes = probabilities.argmax(axis=2)
    winners = [np.bincount(column, minlength=probabilities.shape[2]).argmax() for column in votes.T]
    return float(np.mean(np.array(winners) == np.asarray(labels)))
'''),
    WrongAnswer("ex-07-prediction-ensemble", "averages over the examples (the wrong axis)", 1, '''
def ensemble_accuracy(probabilities, labels):
    return float(np.mean(np.mean(probabilities, axis=1).argmax(axis=1) == np.asarray(labels)[:np.shape(probabilities)[0]]))
'''),
    WrongAnswer("ex-07-prediction-ensemble", "the example's printed accuracy as a constant", 1, '''
def ensemble_accuracy(probabilities, labels):
    return 0.928
'''),
    WrongAnswer("ex-07-prediction-ensemble", "weight average: the sum, a missing factor 1/k", 1, '''
def weight_average(members):
    return np.sum(np.asarray(members, dtype=np.float64), axis=0)
'''),
    WrongAnswer("ex-07-prediction-ensemble", "weight average over the wrong axis", 1, '''
def weight_average(members):
    return np.mean(np.asarray(members, dtype=np.float64), axis=1)
'''),
]


def test_every_exercise_has_at_least_two_wrong_answers():
    labels = [e.label for stem in STEMS for e in coursework.read_chapter(stem).exercises]
    assert len(labels) == 21, labels
    counts = {label: sum(w.exercise == label for w in WRONG_ANSWERS) for label in labels}
    assert all(count >= 2 for count in counts.values()), counts
    assert {w.exercise for w in WRONG_ANSWERS} <= set(labels)


class ChapterChecks:
    """A chapter's checks as its autograder runs them: Otter's test files from the zip, run in
    this process (no kernel) against the chapter's set-up cell and solutions, or a wrong answer."""

    def __init__(self, stem: str, autograder: Path, directory: Path):
        from otter.test_files.ok_test import OKTestFile

        self.chapter = coursework.read_chapter(stem)
        with zipfile.ZipFile(autograder) as zipped:
            zipped.extractall(directory)
        self.tests = {label: OKTestFile.from_file(str(directory / "tests" / f"{label}.py"))
                      for label in (e.label for e in self.chapter.exercises)}
        lesson, start, _ = coursework.read_lesson(stem)
        self.namespace = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            exec([c for c in lesson.cells if c.cell_type == "code"][1].source, self.namespace)  # the set-up cell
            for solution in _solutions(stem):
                exec(solution.source, self.namespace)
        self.solved = self.run()

    def run(self, namespace=None, only=None) -> dict:
        """{exercise: (points, out of)} of the exercises in ``only`` (default all)."""
        scores = {}
        for label, test in self.tests.items():
            if only is None or label in only:
                with contextlib.redirect_stdout(io.StringIO()):
                    test.run(dict(namespace or self.namespace))
                scores[label] = (test.score, test.possible)
        return scores

    def depends_on(self, label: str, names: set[str]) -> bool:
        """Whether the checks of ``label`` can reach ``names``: the names their code uses, and
        those the notebook's own functions they call use in turn."""
        used = {node.id for check in self.chapter.exercise(label).checks
                for node in ast.walk(ast.parse(check.source)) if isinstance(node, ast.Name)}
        todo = list(used)
        while todo:
            value = self.namespace.get(todo.pop())
            if getattr(value, "__globals__", None) is self.namespace:  # a function of the notebook's
                new = set(value.__code__.co_names) - used
                used |= new
                todo += new
        return bool(used & names)


@pytest.fixture(scope="module")
def chapter_checks(built, tmp_path_factory):
    _, chapters = built
    cache = {}

    def get(stem: str) -> ChapterChecks:
        if stem not in cache:
            cache[stem] = ChapterChecks(stem, chapters[stem]["autograder"], tmp_path_factory.mktemp(stem))
        return cache[stem]

    return get


@pytest.mark.parametrize("stem", STEMS)
def test_the_checks_give_full_marks_to_the_solutions(stem, chapter_checks):
    checks = chapter_checks(stem)
    assert checks.solved == {e.label: (e.points, e.points) for e in checks.chapter.exercises}


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=[f"{w.exercise}: {w.what}" for w in WRONG_ANSWERS])
def test_a_wrong_answer_loses_its_exercise_marks_only(wrong, chapter_checks):
    stem = next(s for s in STEMS if wrong.exercise.startswith(f"ex-{s[:2]}-"))
    checks = chapter_checks(stem)
    namespace = dict(checks.namespace)
    exec(wrong.source, namespace)
    redefined = {node.name for node in ast.parse(wrong.source).body if isinstance(node, ast.FunctionDef)}
    # The other exercises' checks are rerun unless they provably never reach the wrong function
    # (chapter 6's width check trains six networks: it runs for its own wrong answers only).
    others = {e.label for e in checks.chapter.exercises if e.label != wrong.exercise
              and checks.depends_on(e.label, redefined)}
    scores = checks.run(namespace, only={wrong.exercise} | others)
    points, possible = scores.pop(wrong.exercise)
    assert points == wrong.keeps < possible, f"{wrong.what}: {points:g} of {possible:g} points"
    assert all(score == out_of for score, out_of in scores.values()), f"other exercises lost marks: {scores}"


def test_a_check_stops_an_endless_loop():
    """A check's time limit: the answer is stopped and the check fails, quickly."""
    namespace = {}
    exec("def answer():\n    while True:\n        pass\n", namespace)
    check = coursework.Check("ex-00-demo", 1, "assert answer() == 1", "demo", seconds=0.3)
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=coursework.CHECK_STOPPED):
        exec(coursework.check_source(check), namespace)
    assert time.perf_counter() - started < 5
    exec(coursework.check_source(coursework.Check("ex-00-demo", 1, "x = 1", "demo", seconds=0.3)), namespace)
    time.sleep(0.5)  # the limit is cancelled after a check that finishes: nothing fires later


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # IPython's own traitlets use, not ours
def test_a_graded_cell_that_runs_forever_is_stopped(monkeypatch):
    """The zip's kernel start-up file stops a cell after COURSEWORK_CELL_SECONDS, not Otter's own
    cells that run the checks (each check has its own limit)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("COURSEWORK_CELL_SECONDS", "0.3")
    shell = InteractiveShell.instance()
    try:
        shell.run_cell(coursework.CELL_TIME_LIMIT.format(seconds=coursework.CELL_SECONDS))
        started = time.perf_counter()
        result = shell.run_cell("def answer():\n    while True:\n        pass\n\nanswer()")
        assert isinstance(result.error_in_exec, TimeoutError) and time.perf_counter() - started < 5
        assert "stopped" in str(result.error_in_exec)
        assert shell.run_cell("import time; time.sleep(0.5)  # Checker.check_if_not_already_checked(t)",
                              ).success
        assert shell.run_cell("x = 1").success
    finally:
        InteractiveShell.clear_instance()
        import signal
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)


# --------------------------------------------------------------------------- a class, graded in a fresh environment
def _installed_entries(name: str) -> list[Path]:
    """The top-level files and folders (packages, dist-info) a distribution installed."""
    distribution = metadata.distribution(name)
    tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
    return [Path(distribution.locate_file(top)) for top in tops if top != "__pycache__"]


@pytest.fixture(scope="module")
def fresh_python(built, tmp_path_factory):
    """A new virtual environment in which the zip's own set-up step (``python -m pip install -r
    requirements.txt``, from setup.sh) installed the library from the zip's wheel, offline.

    What Gradescope's image holds before that step (Otter, from its environment.yml) and the
    pinned packages the step asks for are this environment's installed files, linked (pip finds
    them installed and cannot download anything: --no-index). Nothing else is linked, so a
    notebook that imports a package the zip does not pin fails to grade."""
    _, chapters = built
    home = tmp_path_factory.mktemp("fresh")
    source = home / "autograder-source"
    with zipfile.ZipFile(chapters[CLASS_CHAPTER]["autograder"]) as zipped:
        zipped.extractall(source)
    setup = (source / "setup.sh").read_text()
    assert f"cd /autograder/source\nmamba run -n {coursework.AUTOGRADER_ENV} {coursework.INSTALL_COMMAND}" in setup
    pinned = [line.split("==")[0] for line in (source / "requirements.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")]
    linked = home / "linked"
    linked.mkdir()
    names = set(pinned) | set(coursework.requirement_closure(["otter-grader", "ipykernel", "jupyter_client"]))
    for name in sorted(names):
        for entry in _installed_entries(name):
            if not (linked / entry.name).exists():
                (linked / entry.name).symlink_to(entry)
    environment = home / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "linked.pth").write_text(f"{linked}\n")
    started = time.perf_counter()
    quiet_pip = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}  # no find-links
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), *coursework.INSTALL_COMMAND.split()[3:],
                              "--no-index", "--disable-pip-version-check"],
                             cwd=source, capture_output=True, text=True, timeout=600,
                             env={**quiet_pip, "PIP_CONFIG_FILE": os.devnull})
    assert install.returncode == 0, f"the zip's requirements do not install offline:\n{install.stdout}\n{install.stderr}"
    return python, site, install.stdout, time.perf_counter() - started


def test_the_zip_installs_the_library_from_its_own_wheel(fresh_python):
    python, site, log, _ = fresh_python
    assert re.search(r"Successfully installed loss-landscape-book-\S+\s*$", log.strip()), log
    where = subprocess.run([str(python), "-c", "import importlib.util; print(importlib.util.find_spec('landscape').origin)"],
                           cwd=site,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), f"landscape came from {where}, not from the zip's wheel"


def _partial_submission(chapters: dict, path: Path) -> None:
    """The student notebook with exercise 1 solved, exercise 2 looping forever and a syntax
    error in exercise 3's answer cell."""
    student = nbformat.read(chapters[CLASS_CHAPTER]["student"], as_version=4)
    instructor = nbformat.read(chapters[CLASS_CHAPTER]["instructor"], as_version=4)

    def answer(name, source):
        next(c for c in student.cells if c.cell_type == "code" and f"def {name}(" in c.source).source = source

    answer("wedge_loss", next(c.source for c in instructor.cells if c.cell_type == "code" and "def wedge_loss(" in c.source))
    answer("expected_shared_axes", "def expected_shared_axes(dim, n):\n    while True:\n        dim += 1\n")
    answer("project_to_wedge", "def project_to_wedge(point, n):\n    return point[:n] +\n")
    nbformat.write(student, path)


@pytest.fixture(scope="module")
def graded_class(built, fresh_python, tmp_path_factory):
    """One class of chapter 2 graded by ``grade_class`` in the fresh environment, 2 at a time."""
    output, chapters = built
    folder = tmp_path_factory.mktemp("submissions")
    shutil.copy(chapters[CLASS_CHAPTER]["instructor"], folder / "ada.ipynb")
    shutil.copy(chapters[CLASS_CHAPTER]["student"], folder / "bea.ipynb")
    shutil.copy(chapters["01_high_dimensions"]["student"], folder / "cem.ipynb")  # another chapter's
    (folder / "dan.ipynb").write_text("")  # an empty file
    (folder / "eli.ipynb").write_text('{"cells": [{"cell_type": "code", ')  # a corrupted notebook
    _partial_submission(chapters, folder / "ava.ipynb")  # graded first: its endless loop takes longest
    env = {**os.environ, "JUPYTER_DATA_DIR": str(folder.parent / "jupyter-data")}  # no user-installed kernelspec
    started = time.perf_counter()
    graded = coursework.grade_class(CLASS_CHAPTER, [folder], output=output, workers=2, python=str(fresh_python[0]),
                                    env=env)
    seconds = time.perf_counter() - started
    reports = coursework.write_reports(graded, folder.parent / "reports")
    return {g.student: g for g in graded}, reports, seconds


def test_the_class_grades_full_zero_and_partial(graded_class):
    graded, _, _ = graded_class
    full, zero, partial = graded["ada"], graded["bea"], graded["ava"]
    assert full.graded and full.total == (5, 5) and not full.failed and not full.cell_errors, full.as_dict()
    assert zero.graded and zero.total == (0, 5), zero.as_dict()
    assert all(f.reason.startswith("not answered") for f in zero.failed)
    assert partial.scores == {"ex-02-wedge-loss": (2, 2), "ex-02-shared-axes": (0, 1), "ex-02-project": (0, 2)}
    reasons = {f.exercise: f.reason for f in partial.failed}
    assert "did not finish within 10 s of computing" in reasons["ex-02-shared-axes"], reasons
    assert "project_to_wedge is not defined" in reasons["ex-02-project"], reasons
    assert len(partial.cell_errors) == 1 and "Exercise 3 (ex-02-project)" in partial.cell_errors[0]
    assert "SyntaxError" in partial.cell_errors[0]
    # the endless loop cost its check's 10 s of computing, not the notebook's 900 s
    assert partial.seconds < coursework.NOTEBOOK_TIMEOUT / 3, partial.seconds


def test_files_that_cannot_be_graded_get_a_clear_line(graded_class):
    graded, reports, _ = graded_class
    expected = {"cem": "the notebook of chapter 01_high_dimensions, not of 02_wedge_surrogate",
                "dan": "an empty file", "eli": "not a readable notebook"}
    for student, note in expected.items():
        assert not graded[student].graded and graded[student].note.startswith(note), graded[student].note
    rows = list(csv.DictReader(reports["scores"].read_text().splitlines()))
    assert list(rows[0]) == ["student", "exercise", "points", "out_of", "note"]
    totals = {row["student"]: row for row in rows if row["exercise"] == "total"}
    assert set(totals) == {"ada", "bea", "cem", "dan", "eli", "ava"}
    assert [totals[s]["points"] for s in ("ada", "bea", "ava")] == ["5", "0", "2"]
    assert all(totals[s]["note"].startswith(note) and totals[s]["points"] == "0" for s, note in expected.items())
    assert {(r["exercise"], r["points"], r["out_of"]) for r in rows if r["student"] == "ava"} == {
        ("ex-02-wedge-loss", "2", "2"), ("ex-02-shared-axes", "0", "1"), ("ex-02-project", "0", "2"), ("total", "2", "5")}
    otter = list(csv.DictReader(reports["otter"].read_text().splitlines()))  # Otter's own final_grades.csv
    assert {row["file"] for row in otter} == {"points-per-question", *(f"{s}.ipynb" for s in totals)}
    assert next(r for r in otter if r["file"] == "ava.ipynb")["total_points_earned"] == "2"


def test_each_student_gets_feedback_in_words_not_a_traceback(graded_class):
    graded, reports, _ = graded_class
    feedback = {path.stem: path.read_text() for path in reports["feedback"].glob("*.txt")}
    assert set(feedback) == set(graded)
    assert not any("Traceback" in text or "File \"" in text for text in feedback.values())
    chapter = coursework.read_chapter(CLASS_CHAPTER)
    ava = " ".join(feedback["ava"].split())  # the file is wrapped at 96 columns
    assert "Score: 2 / 5" in ava
    for label in ("ex-02-shared-axes", "ex-02-project"):
        (check,) = chapter.exercise(label).checks
        assert check.feedback in ava, label
    assert "endless loop" in ava and "SyntaxError" in ava and "project_to_wedge is not defined" in ava
    assert "not answered: wedge_loss still raises NotImplementedError" in feedback["bea"]
    assert "Not graded: an empty file" in feedback["dan"]
    assert "Score: 5 / 5" in feedback["ada"] and "  - " not in feedback["ada"]
    summaries = {path.stem: path.read_text() for path in reports["summaries"].glob("*.txt")}
    assert "NotImplementedError" in summaries["bea"]  # Otter's own messages, for the instructor


def test_grade_prints_scores_and_otter_failure_messages(graded_class, capsys):
    graded, _, _ = graded_class
    coursework._print_notebook(graded["ava"])
    out = capsys.readouterr().out
    assert re.search(r"ex-02-shared-axes\s+0 / 1", out) and re.search(r"total\s+2 / 5", out)
    assert "Failed example:" in out and "TimeoutError: the check was stopped after 10 s of computing" in out  # Otter's
    assert "endless loop" in out and "cell error: Exercise 3 (ex-02-project)" in out


def test_grade_command_names_the_chapters_and_refuses_other_chapters_clearly(built, capsys):
    _, chapters = built
    with pytest.raises(SystemExit) as exited:
        coursework.main(["grade", "99_nope", str(chapters[CLASS_CHAPTER]["student"])])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unknown chapter '99_nope'; the chapters are: " + ", ".join(STEMS) in err and "Traceback" not in err
    assert coursework.main(["grade", CLASS_CHAPTER, str(chapters["01_high_dimensions"]["student"])]) == 1
    out = capsys.readouterr().out
    assert "the notebook of chapter 01_high_dimensions, not of 02_wedge_surrogate: nothing graded" in out
    assert "Traceback" not in out
    with pytest.raises(SystemExit):
        coursework.main(["grade", CLASS_CHAPTER, "--workers", "0", str(chapters[CLASS_CHAPTER]["student"])])
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err


# --------------------------------------------------------------------------- the student notebooks run
def test_student_notebooks_run_up_to_their_first_unanswered_exercise(built, executor):
    """Each student notebook's cells up to its first exercise's example, executed (every chapter
    in one kernel: a set-up cell imports what its chapter needs): the set-up runs, the example
    stops at the stub."""
    _, chapters = built
    cells, stops = [], {}
    for stem in STEMS:
        student = nbformat.read(chapters[stem]["student"], as_version=4)
        example = next(i for i, c in enumerate(student.cells) if coursework.OTTER_IGNORE in c.metadata.get("tags", []))
        cells += student.cells[:example + 1]
        stops[stem] = len(cells) - 1
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                              "display_name": "Python 3"}})
    NotebookClient(notebook, timeout=600, allow_errors=True, kernel_manager_class=executor._current_environment_kernel(),
                   resources={"metadata": {"path": str(ROOT / "lessons")}}).execute()
    errors = {i: o for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"}
    for stem, stop in stops.items():
        assert errors.get(stop, {}).get("ename") == "NotImplementedError", (stem, errors.get(stop))
        assert errors[stop]["evalue"].startswith(f"{chapters[stem]['exercises'][0]}: write"), errors[stop]
    assert set(errors) == set(stops.values()), {i: errors[i]["evalue"] for i in set(errors) - set(stops.values())}
