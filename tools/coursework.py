#!/usr/bin/env python3
"""Coursework from the lessons: notebooks, autograders, class grading, a book without solutions.

The lessons are the single source. Each chapter ends in a section ``## Exercises`` whose
exercises are written with sphinx-exercise's directives (numbered in the book, solutions
behind a toggle):

- ```` ```{exercise} Title ```` with ``:label: ex-NN-name``: the question;
- ```` ```{solution-start} ex-NN-name ```` ... ```` ```{solution-end} ````: the solution's code
  cells, each defining the function(s) the exercise asks for. A solution cell's metadata
  ``student_docstrings: {function: text}`` gives, for every function it defines, the
  docstring a student sees in the stub: the task (what to compute, from which inputs,
  what to return), never the answer. The solution's own docstring and body stay hidden;
- the code cells after ``{solution-end}``: the exercise's example (it calls the function);
- *checks*: code cells with metadata ``grader: {exercise: ex-NN-name, points: P,
  feedback: "...", seconds: S}`` (and the ``remove-cell`` tag, so the book hides them):
  assertions that call the student's function on inputs the exercise does not show.
  ``feedback`` is the sentence a student reads when the check fails; ``seconds`` (default
  20) is its time limit. An exercise with several checks gives partial credit. The lesson
  executes the checks against the solution, so a wrong check fails the lesson.

Commands (``python tools/coursework.py --help``)::

    build [NN_name ...]           student and instructor notebooks and an Otter-Grader
                                  autograder per chapter, in _build/coursework/NN_name/
    grade NN_name PATH [PATH ...] grade one notebook (scores and Otter's failure messages on
                                  the terminal), or a class: every notebook of a folder, in
                                  parallel, into a CSV of scores and a feedback file per student
    book                          the HTML book for students: every solution, check and
                                  example output removed (_build/student-book/)

The autograder zip is Otter's Gradescope zip plus the book's library: a wheel of this
checkout and its runtime dependencies pinned at the tested versions (``requirements.txt``,
installed by ``setup.sh``), and a per-cell time limit for the graded kernel. Grading runs
the zip's own ``run_otter.py`` (Otter's autograder) in a directory laid out as on
Gradescope, so local grading and Gradescope grade alike. An answer that loops forever is
stopped after its check's time limit and costs that check only; a cell that raises costs
only the exercise it belongs to.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
OUTPUT = ROOT / "_build" / "coursework"
STUDENT_BOOK = ROOT / "_build" / "student-book"
EXERCISE = re.compile(r"^```\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::[\w-]+:[^\n]*\n)*)(?P<body>.*?)\n```[ \t]*$",
                      re.S | re.M)
SOLUTION_START = re.compile(r"^```\{solution-start\}\s*(?P<label>\S+)")
SOLUTION_END = re.compile(r"^```\{solution-end\}")
GRADER_KEYS = {"exercise", "points", "feedback", "seconds"}
# A check's limit of CPU time unless its grader cell says otherwise: the checks take under 2 s here
# (slower ones, which train networks, set their own), so an endless loop costs 10 s, not the notebook.
DEFAULT_CHECK_SECONDS = 10.0
# A graded cell that computes longer than this (CPU time) is stopped (an endless loop in a cell of
# the student's own, e.g. one that calls their function); the set-up cell's imports need under 10 s.
CELL_SECONDS = 60.0
NOTEBOOK_TIMEOUT = 900.0  # the last resort, should a notebook escape both limits (a hung C call)
OTTER_IGNORE = "otter_ignore"  # Otter's tag: a cell it does not execute when grading
CHECK_STOPPED = "the check was stopped after"  # the time limit's message (read back by the feedback)
INSTALL_COMMAND = "python -m pip install -r requirements.txt"  # the zip's set-up step for the library
AUTOGRADER_ENV = "otter-env"  # the conda environment Otter's setup.sh creates on Gradescope


# --------------------------------------------------------------------------- the lessons
@dataclasses.dataclass
class Check:
    """One grader cell: assertions worth ``points``, the sentence a student reads if they fail."""

    exercise: str
    points: int
    source: str
    feedback: str
    seconds: float


@dataclasses.dataclass
class Exercise:
    label: str
    number: int
    title: str
    text: str
    checks: list[Check]
    student_docstrings: dict[str, str]  # function name -> the stub's docstring

    @property
    def points(self) -> int:
        return sum(check.points for check in self.checks)


@dataclasses.dataclass
class Chapter:
    stem: str
    title: str
    exercises: list[Exercise]

    @property
    def points(self) -> int:
        return sum(exercise.points for exercise in self.exercises)

    def exercise(self, label: str) -> Exercise:
        return next(e for e in self.exercises if e.label == label)


def chapters() -> list[str]:
    """Every chapter's stem (``NN_name``), in order."""
    return [p.stem for p in sorted(LESSONS.glob("*.md"))]


def check_chapter(stem: str) -> str:
    """``stem`` if it names a chapter, else a ValueError listing the chapters."""
    if stem not in chapters():
        raise ValueError(f"unknown chapter {stem!r}; the chapters are: {', '.join(chapters())}")
    return stem


def _raw(text: str):
    import nbformat

    return nbformat.v4.new_raw_cell(text)


def _markdown(text: str):
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def _code(text: str, tags: tuple[str, ...] = ()):
    import nbformat

    cell = nbformat.v4.new_code_cell(text)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def split_exercises(source: str):
    """A markdown cell's pieces in order: ("text", markdown) and ("exercise", (label, title, body))."""
    pieces, position = [], 0
    for match in EXERCISE.finditer(source):
        if source[position:match.start()].strip():
            pieces.append(("text", source[position:match.start()].strip()))
        options = dict(re.findall(r"^:([\w-]+):\s*(.*)$", match["options"], re.M))
        if "label" not in options:
            raise ValueError(f"an exercise needs a :label: (exercise {match['title']!r})")
        pieces.append(("exercise", (options["label"], match["title"].strip(), match["body"].strip())))
        position = match.end()
    if source[position:].strip():
        pieces.append(("text", source[position:].strip()))
    return pieces


def _read_check(cell, where: str) -> Check:
    grader = cell.metadata["grader"]
    if not isinstance(grader, dict) or set(grader) - GRADER_KEYS or not {"exercise", "points", "feedback"} <= set(grader):
        raise ValueError(f"{where}: a grader cell's metadata must be grader: {{exercise, points, feedback[, seconds]}}"
                         f" (allowed keys: {', '.join(sorted(GRADER_KEYS))}); got {grader!r}")
    points, seconds = grader["points"], grader.get("seconds", DEFAULT_CHECK_SECONDS)
    if not isinstance(points, int) or isinstance(points, bool) or points < 1:
        raise ValueError(f"{where}: grader points must be a positive integer, got {points!r}")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        raise ValueError(f"{where}: grader seconds (the check's time limit) must be a positive number, got {seconds!r}")
    if not isinstance(grader["feedback"], str) or not grader["feedback"].strip():
        raise ValueError(f"{where}: grader feedback must be the sentence a student reads when the check fails")
    return Check(grader["exercise"], points, cell.source, " ".join(grader["feedback"].split()), float(seconds))


def _solution_functions(source: str, where: str) -> list[ast.FunctionDef]:
    functions = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    if not functions:
        raise ValueError(f"{where}: a solution cell must define a function (what the checks call)")
    return functions


def read_lesson(stem: str):
    """The lesson's cells (Jupytext) and its chapter: exercises, checks, student docstrings."""
    import jupytext

    md_path = LESSONS / f"{check_chapter(stem)}.md"
    lesson = jupytext.read(md_path, fmt="md:myst")
    title = next(line.lstrip("# ").strip() for c in lesson.cells if c.cell_type == "markdown"
                 for line in c.source.splitlines() if line.startswith("# "))
    start = _exercises_start(lesson.cells, md_path.name)
    checks: dict[str, list[Check]] = {}
    for index, cell in enumerate(lesson.cells[start:], start):
        if cell.cell_type == "code" and cell.get("metadata", {}).get("grader"):
            check = _read_check(cell, f"{md_path.name}, cell {index}")
            checks.setdefault(check.exercise, []).append(check)
    exercises, current, inside = [], None, False
    for index, cell in enumerate(lesson.cells[start:], start):
        where = f"{md_path.name}, cell {index}"
        if cell.cell_type == "markdown":
            source = cell.source.strip()
            if SOLUTION_START.match(source):
                inside = True
                if current is None or SOLUTION_START.match(source)["label"] != current.label:
                    raise ValueError(f"{where}: a solution-start must name the exercise just above it")
                continue
            if SOLUTION_END.match(source):
                inside = False
                continue
            for kind, piece in split_exercises(cell.source):
                if kind == "exercise":
                    label, name, text = piece
                    if label not in checks:
                        raise ValueError(f"{md_path.name}: exercise {label} has no grader cell")
                    current = Exercise(label, len(exercises) + 1, name, text, checks[label], {})
                    exercises.append(current)
        elif inside and not cell.get("metadata", {}).get("grader"):
            docstrings = cell.get("metadata", {}).get("student_docstrings") or {}
            names = [node.name for node in _solution_functions(cell.source, where)]
            if not isinstance(docstrings, dict) or sorted(docstrings) != sorted(names) or not all(
                    isinstance(text, str) and text.strip() for text in docstrings.values()):
                raise ValueError(f"{where}: the solution cell of {current.label} defines {', '.join(names)}; its "
                                 f"metadata student_docstrings must give each one's stub docstring (the task, not "
                                 f"the answer), got {sorted(docstrings) if isinstance(docstrings, dict) else docstrings!r}")
            current.student_docstrings.update({name: textwrap.dedent(text).strip() for name, text in docstrings.items()})
    unknown = set(checks) - {e.label for e in exercises}
    if unknown:
        raise ValueError(f"{md_path.name}: grader cells name exercises that do not exist: {', '.join(sorted(unknown))}")
    return lesson, start, Chapter(stem, title, exercises)


def read_chapter(stem: str) -> Chapter:
    return read_lesson(stem)[2]


def _exercises_start(cells, name: str) -> int:
    start = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"
                  and "## Exercises" in (line.strip() for line in c.source.splitlines())), None)
    if start is None:
        raise ValueError(f"{name} has no '## Exercises' section")
    return start


# --------------------------------------------------------------------------- notebooks and tests
def _docstring_lines(text: str, indent: str) -> list[str]:
    lines = text.strip().splitlines()
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}'] + [f"{indent}{line}".rstrip() for line in lines[1:]] + [f'{indent}"""']


def with_solution_markers(source: str, label: str, docstrings: dict[str, str]) -> str:
    """A solution cell in otter-assign's format. The student sees each function's signature,
    its student docstring and ``raise NotImplementedError``; everything else (imports, the
    solution's docstring, shown to the instructor as comments, and its body) is the solution."""
    tree = ast.parse(source)
    lines = source.splitlines()
    out: list[str] = []
    for node in tree.body:
        first_line = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        if not isinstance(node, ast.FunctionDef):
            # The blank lines after it are the solution's too: a stub must not start with them.
            out += ["# BEGIN SOLUTION NO PROMPT", *lines[first_line:node.end_lineno], "", "", "# END SOLUTION"]
            continue
        documented = isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
            and isinstance(node.body[0].value.value, str)
        body = node.body[1:] if documented else node.body
        if not body or body[0].lineno == node.lineno:
            raise ValueError(f"{label}: write {node.name}'s body on lines of its own (below its signature)")
        indent = " " * body[0].col_offset
        signature_end = (node.body[0].lineno if documented else body[0].lineno) - 1
        solution_doc = [f"{indent}# {line}".rstrip() for line in ast.get_docstring(node).splitlines()] if documented else []
        out += [*lines[first_line:signature_end],
                *_docstring_lines(docstrings[node.name], indent),
                f"{indent}# BEGIN SOLUTION NO PROMPT",
                *solution_doc,
                *lines[body[0].lineno - 1:node.end_lineno],
                f"{indent}# END SOLUTION",
                f'{indent}raise NotImplementedError("{label}: write {node.name}")', "", ""]
    return "\n".join(out).rstrip() + "\n"


CHECK_TEMPLATE = '''\
def _check_time_limit(seconds):
    """Stop this check after `seconds` of CPU time with a TimeoutError (SIGPROF; where there is none, no limit)."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def limit():
        if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum, frame):
            raise TimeoutError(f"{stopped} {{seconds:g}} s of computing")

        # CPU time, not wall time: a loaded machine slows a check down but does not stop it.
        previous = signal.signal(signal.SIGPROF, stop)
        signal.setitimer(signal.ITIMER_PROF, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)

    return limit()


with _check_time_limit({seconds!r}):
{body}
'''


def check_source(check: Check) -> str:
    """The check's code as the autograder runs it: the grader cell under its time limit."""
    return CHECK_TEMPLATE.format(stopped=CHECK_STOPPED, seconds=check.seconds,
                                 body=textwrap.indent(check.source.strip("\n"), "    "))


def _question_tests(exercise: Exercise) -> list:
    cells = [_raw("# BEGIN TESTS")]
    for check in exercise.checks:
        config = (f"hidden: true\npoints: {check.points}\n"
                  f"failure_message: {json.dumps(check.feedback)}\n")  # a JSON string is a YAML string
        cells.append(_code(f'""" # BEGIN TEST CONFIG\n{config}""" # END TEST CONFIG\n{check_source(check)}'))
    return cells + [_raw("# END TESTS"), _raw("# END QUESTION")]


def master_notebook(stem: str):
    """The lesson's set-up cells and exercises in otter-assign's format, and the chapter.

    The examples (code cells after a solution) are tagged ``otter_ignore``: Otter skips them
    when grading (the checks call the functions on their own inputs), so an example cannot
    hang or slow the grading."""
    import nbformat

    lesson, start, chapter = read_lesson(stem)
    code = [c for c in lesson.cells if c.cell_type == "code"]
    heading = lesson.cells[start].source
    first = _markdown(heading[heading.index("## Exercises") + len("## Exercises"):])
    config = ("# ASSIGNMENT CONFIG\n" f"name: {stem}\n" "init_cell: false\ncheck_all_cell: false\n"
              "export_cell: false\nrun_tests: false\nsolutions_pdf: false\ngenerate: true\n"
              # Gradescope's grading environment: the Python the book was tested with
              f"python_version: '{sys.version_info.major}.{sys.version_info.minor}'\n")
    cells = [_raw(config), _markdown(f"# Exercises: {chapter.title}\n\nThe chapter's exercises. Read the chapter in "
                                     "the book first; complete each function where it raises `NotImplementedError`."),
             *[_code(c.source) for c in code[:2]]]  # the Colab cell and the set-up cell
    question, inside = None, False
    for cell in [first] + lesson.cells[start + 1:]:
        if cell.cell_type == "code" and cell.get("metadata", {}).get("grader"):
            continue
        if cell.cell_type == "markdown":
            if SOLUTION_START.match(cell.source.strip()):
                inside = True
                cells.append(_raw("# BEGIN SOLUTION"))
                continue
            if SOLUTION_END.match(cell.source.strip()):
                inside = False
                cells.append(_raw("# END SOLUTION"))
                continue
            for kind, piece in split_exercises(cell.source):
                if kind == "text":
                    cells.append(_markdown(piece))
                    continue
                if question:
                    cells += _question_tests(question)
                question = chapter.exercise(piece[0])
                points = question.points
                cells += [_raw(f"# BEGIN QUESTION\nname: {question.label}\npoints: {points}\ncheck_cell: false"),
                          _markdown(f"**Exercise {question.number}: {question.title}** (`{question.label}`, {points} "
                                    f"point{'s' if points != 1 else ''})\n\n{question.text}")]
        elif inside:
            cells.append(_code(with_solution_markers(cell.source, question.label, question.student_docstrings)))
        else:
            cells.append(_code(cell.source, tags=(OTTER_IGNORE,) if question else ()))
    if question:
        cells += _question_tests(question)
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    return notebook, chapter


def instructor_notebook(master):
    """The master without otter's markers and tests: set-up cells, exercises, solutions."""
    import nbformat

    notebook = nbformat.v4.new_notebook(metadata=master.metadata)
    skipping = False
    for cell in master.cells:
        if cell.cell_type == "raw":
            skipping = cell.source.startswith("# BEGIN TESTS") or (skipping and not cell.source.startswith("# END TESTS"))
            continue
        if skipping:
            continue
        source = "\n".join(line for line in cell.source.splitlines()
                           if line.strip() not in ("# BEGIN SOLUTION NO PROMPT", "# BEGIN SOLUTION", "# END SOLUTION")
                           and not line.strip().startswith('raise NotImplementedError("ex-')).strip("\n")
        if cell.cell_type == "code":
            notebook.cells.append(_code(source, tags=tuple(cell.metadata.get("tags", ()))))
        else:
            notebook.cells.append(nbformat.v4.new_markdown_cell(source))
    return notebook


# --------------------------------------------------------------------------- the autograder zip
RUN_OTTER = '''\
"""Runs Otter-Grader's autograding process (Otter's run_otter.py, plus the coursework's cell time limit).

On Gradescope this file is /autograder/source/run_otter.py; tools/coursework.py runs it the
same way in a directory laid out like /autograder (source/, submission/, results/).
"""
import os
from pathlib import Path

SOURCE = Path(__file__).resolve().parent
# The graded kernel loads ipython/profile_default/startup/: a time limit on every cell.
os.environ["IPYTHONDIR"] = str(SOURCE / "ipython")

try:
    from otter.run.run_autograder import main as run_autograder
except ModuleNotFoundError as e:
    if "'otter'" in str(e):
        raise RuntimeError(
            "The 'otter' module could not be imported. This is usually caused by errors while building the "
            "grading image, so check the image build logs and include them when requesting support."
        )
    raise e


if __name__ == "__main__":
    run_autograder(str(SOURCE.parent))
'''

CELL_TIME_LIMIT = '''\
"""Stop any cell of a graded notebook that computes longer than COURSEWORK_CELL_SECONDS (default {seconds:g} s).

An answer that loops forever, called from a cell of the student's own, would hang the
grading: SIGPROF stops the cell with a TimeoutError, the notebook goes on. The limit is on
CPU time, so a loaded machine slows the set-up cell's imports down without stopping them.
Otter's own cells, which run the checks, are left alone: each check has its own limit.
"""


def _coursework_cell_time_limit():
    import os
    import re
    import signal

    seconds = float(os.environ.get("COURSEWORK_CELL_SECONDS", "{seconds:g}"))
    otter_cells = re.compile(r"^\\s*notebook_\\w+\\(\\)\\.check\\(|Checker\\.check_if_not_already_checked", re.M)

    def stop(signum, frame):
        raise TimeoutError(f"this cell computed for more than {{seconds:g}} s and was stopped (an endless loop?)")

    def start(info):
        if not otter_cells.search(info.raw_cell or ""):
            signal.setitimer(signal.ITIMER_PROF, seconds)

    def cancel(result):
        signal.setitimer(signal.ITIMER_PROF, 0)

    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGPROF, stop)
        get_ipython().events.register("pre_run_cell", start)
        get_ipython().events.register("post_run_cell", cancel)


_coursework_cell_time_limit()
del _coursework_cell_time_limit
'''

KERNEL_CONFIG = '''\
# The graded kernel's profile (IPYTHONDIR=<autograder>/ipython): no history database.
c.HistoryManager.enabled = False
'''

SETUP_STEP = f'''
# The book's library: a wheel of the checkout this autograder was built from (wheels/) and
# its runtime dependencies at the versions the book was tested with (added by tools/coursework.py).
cd /autograder/source
mamba run -n {AUTOGRADER_ENV} {INSTALL_COMMAND}
'''


def project_wheel(directory: Path) -> Path:
    """A wheel of this checkout (the library), built offline with the installed setuptools."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.whl"):
        old.unlink()
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(directory), str(ROOT)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"could not build the library's wheel:\n{proc.stdout}\n{proc.stderr}")
    (wheel,) = directory.glob("*.whl")
    return wheel


def requirement_closure(requirements: list[str]) -> dict[str, str]:
    """{distribution name: installed version} for ``requirements`` and everything they need,
    as installed in this environment (markers evaluated here; extras followed)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    todo, done = [Requirement(r) for r in requirements], set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in done:
            continue
        done.add(key)
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{requirement.name} (needed by the notebooks) is not installed here: install "
                               f"the project with `python3 tasks.py book` first") from None
        found[key[0]] = distribution.version
        for line in distribution.requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra})
                                                for extra in (*requirement.extras, "")):
                todo.append(dependency)
    return found


def runtime_requirements() -> list[str]:
    """The library's runtime dependencies (pyproject.toml) and theirs, pinned as installed here."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    pins = requirement_closure(project["dependencies"])
    pins.pop(project["name"], None)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def finish_autograder(otter_zip: Path, target: Path, wheel: Path) -> None:
    """Otter's Gradescope zip plus the library (wheel, pinned requirements, a set-up step that
    installs them) and the per-cell time limit (run_otter.py sets IPYTHONDIR)."""
    requirements = (f"# The book's library and its runtime dependencies, as tested (tools/coursework.py).\n"
                    + "\n".join(runtime_requirements()) + f"\n./wheels/{wheel.name}\n")
    with zipfile.ZipFile(otter_zip) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zipped:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "run_otter.py":
                data = RUN_OTTER.encode()
            elif item.filename == "setup.sh":
                data = data.decode().rstrip("\n").encode() + b"\n" + SETUP_STEP.encode()
            zipped.writestr(item, data)
        zipped.writestr("requirements.txt", requirements)
        zipped.write(wheel, f"wheels/{wheel.name}")
        zipped.writestr("ipython/profile_default/startup/00-cell-time-limit.py", CELL_TIME_LIMIT.format(seconds=CELL_SECONDS))
        zipped.writestr("ipython/profile_default/ipython_kernel_config.py", KERNEL_CONFIG)


def _otter_assign():
    """Otter Assign's main function (it changes the working directory while it runs: one at a time)."""
    with warnings.catch_warnings():  # otter imports ipylab, whose use of traitlets is deprecated (theirs)
        warnings.simplefilter("ignore", DeprecationWarning)
        from otter.assign import main

    return main


def build(stem: str, output: Path | None = None, wheel: Path | None = None) -> dict:
    """Write the student and instructor notebooks and the autograder of one chapter
    (into ``output``/NN_name, by default _build/coursework/NN_name)."""
    import nbformat

    output = output or OUTPUT
    master, chapter = master_notebook(stem)
    target = output / stem
    shutil.rmtree(target, ignore_errors=True)
    wheel = wheel or project_wheel(output / "_wheel")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        nbformat.write(master, work / f"{stem}.ipynb")
        log = io.StringIO()
        try:  # Otter Assign's own function, in this process: a tenth of a second, not a new Python's 2 s
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                _otter_assign()(str(work / f"{stem}.ipynb"), str(work / "dist"), no_pdfs=True, no_run_tests=True)
        except Exception as error:
            raise RuntimeError(f"otter assign failed for {stem}: {error}\n{log.getvalue()}") from error
        for part in ("student", "instructor", "autograder"):
            (target / part).mkdir(parents=True)
        shutil.copy(work / "dist" / "student" / f"{stem}.ipynb", target / "student" / f"{stem}.ipynb")
        (zipped,) = (work / "dist" / "autograder").glob("*.zip")
        finish_autograder(zipped, target / "autograder" / f"{stem}.zip", wheel)
    instructor = instructor_notebook(master)
    # The student notebook's metadata names the assignment: otter checks it when grading.
    instructor.metadata = nbformat.read(target / "student" / f"{stem}.ipynb", as_version=4).metadata
    nbformat.write(instructor, target / "instructor" / f"{stem}.ipynb")
    return {"chapter": stem, "exercises": [e.label for e in chapter.exercises], "student": target / "student" / f"{stem}.ipynb",
            "instructor": target / "instructor" / f"{stem}.ipynb", "autograder": target / "autograder" / f"{stem}.zip"}


def autograder_for(stem: str, output: Path | None = None) -> Path:
    """The chapter's autograder zip, built (again) if missing or older than its lesson."""
    output = output or OUTPUT
    zipped = output / stem / "autograder" / f"{stem}.zip"
    if not zipped.exists() or zipped.stat().st_mtime < (LESSONS / f"{stem}.md").stat().st_mtime:
        print(f"building the coursework of {stem} ...", file=sys.stderr, flush=True)
        build(stem, output)
    return zipped


# --------------------------------------------------------------------------- grading
@dataclasses.dataclass
class FailedCheck:
    exercise: str
    points: float
    feedback: str  # the check's sentence, for the student
    reason: str  # what went wrong in the student's code, in plain words ("" for a wrong answer)
    otter_message: str  # Otter's own failure message (the doctest's output), for the instructor


@dataclasses.dataclass
class GradedNotebook:
    """One submission's grade: per exercise (points, out of), the failed checks, the cells that
    raised an error, Otter's summary; ``note`` says why a file was not graded at all."""

    student: str
    path: Path
    chapter: Chapter
    scores: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    failed: list[FailedCheck] = dataclasses.field(default_factory=list)
    cell_errors: list[str] = dataclasses.field(default_factory=list)
    note: str = ""
    otter_summary: str = ""
    otter_results: object = None  # otter.test_files.GradingResults
    seconds: float = 0.0

    @property
    def graded(self) -> bool:
        return not self.note

    @property
    def total(self) -> tuple[float, float]:
        return sum(s for s, _ in self.scores.values()), float(self.chapter.points)

    def as_dict(self) -> dict:
        return {"scores": self.scores, "total": self.total, "note": self.note, "failed": self.failed,
                "cell_errors": self.cell_errors}


def _precheck(path: Path, stem: str) -> str:
    """Why ``path`` cannot be graded for chapter ``stem`` ("" if it can), in one clear sentence."""
    import nbformat

    if path.suffix != ".ipynb":
        return f"not a Jupyter notebook ({path.suffix or 'no extension'}): nothing graded"
    if path.stat().st_size == 0:
        return "an empty file: nothing graded"
    try:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except Exception as error:  # nbformat raises JSON, validation and version errors alike
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"not a readable notebook ({first[:120]}): nothing graded"
    name = notebook.get("metadata", {}).get("otter", {}).get("assignment_name")
    if name is None:
        return ("not a coursework notebook (its metadata names no chapter; was it made from the student notebook "
                "of tools/coursework.py build?): nothing graded")
    if name != stem:
        return f"the notebook of chapter {name}, not of {stem}: nothing graded"
    return ""


def _exception_line(message: str) -> tuple[str, str]:
    """The exception Otter's doctest output ends with: (type, message), or ("", "")."""
    found = re.findall(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit))(?::[ \t]*(.*))?$", message, re.M)
    return found[-1] if found else ("", "")


def _reason(message: str, exercise: Exercise) -> str:
    """What went wrong in the student's code, from Otter's message, in words a student understands."""
    kind, text = _exception_line(message)
    if kind == "TimeoutError" and CHECK_STOPPED in text:
        seconds = text.split(CHECK_STOPPED)[-1].strip()
        return f"your code did not finish within {seconds} and was stopped: is there an endless loop?"
    if kind == "NotImplementedError":
        stub = re.search(r"write (\w+)", text or "")
        return f"not answered: {stub[1] if stub else 'the function'} still raises NotImplementedError"
    missing = re.match(r"name '(\w+)' is not defined", text or "")
    if kind == "NameError" and missing and missing[1] in exercise.student_docstrings:
        return (f"{missing[1]} is not defined: the cell that defines it did not run; does it have a syntax error, "
                f"or raise an error?")
    if kind in ("", "AssertionError"):
        return ""
    return f"your code raised {kind}: {' '.join((text or '').split())[:200]}".rstrip(": ")


def _cell_errors(executed, submitted, chapter: Chapter) -> list[str]:
    """The student's cells that raised an error when graded, each named by its exercise."""
    own = {cell.source for cell in submitted.cells if cell.cell_type == "code"}
    current, errors = "the set-up cells", []
    for cell in executed.cells:
        if cell.cell_type == "markdown":
            found = re.search(r"\(`(ex-[\w-]+)`", cell.source)
            if found and found[1] in {e.label for e in chapter.exercises}:
                exercise = chapter.exercise(found[1])
                current = f"Exercise {exercise.number} ({exercise.label})"
            continue
        if cell.cell_type != "code" or cell.source not in own:
            continue  # a cell Otter added to run the checks
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                evalue = " ".join(str(output.get("evalue", "")).split())[:200]
                evalue = re.sub(r"\(\d+\.py, line (\d+)\)", r"(line \1)", evalue)  # the kernel's temporary file name
                errors.append(f"{current}, the cell starting `{first[:60]}`: {output.get('ename')}: {evalue}")
    return errors


def _autograder_error(results_json: Path, log: str) -> str:
    if results_json.exists():
        for test in json.loads(results_json.read_text()).get("tests", []):
            if test.get("name") == "Autograder Error":
                text = test.get("output", "").split("\n\n", 1)[-1].strip()
                return f"Otter could not grade it: {text}"
    tail = [line for line in log.strip().splitlines() if line.strip()][-1:] or ["no output"]
    return f"Otter could not grade it: {tail[0][:300]}"


def _run_autograder(autograder: Path, notebook: Path, python: str, timeout: float, env: dict) -> tuple:
    """Run the zip's run_otter.py on ``notebook`` in a Gradescope-like layout:
    (GradingResults or None, the reason if None)."""
    import dill

    with tempfile.TemporaryDirectory(prefix="coursework-grading-") as work:
        work = Path(work)
        for part in ("source", "submission", "results"):
            (work / part).mkdir()
        with zipfile.ZipFile(autograder) as zipped:
            zipped.extractall(work / "source")
        shutil.copy(notebook, work / "submission" / notebook.name)
        (work / "submission_metadata.json").write_text("{}")
        with subprocess.Popen([python, str(work / "source" / "run_otter.py")], cwd=work, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True) as proc:
            try:
                log, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the kernel exits with its parent (JPY_PARENT_PID)
                proc.communicate()
                return None, f"grading stopped after {timeout:g} s (the notebook never finished): nothing graded"
        pickled = work / "results" / "results.pkl"
        if proc.returncode != 0 or not pickled.exists():
            return None, _autograder_error(work / "results" / "results.json", log)
        with open(pickled, "rb") as f:
            return dill.load(f), ""


def grade_notebook(stem: str, notebook: Path, autograder: Path, *, python: str | None = None,
                   timeout: float = NOTEBOOK_TIMEOUT, env: dict | None = None, chapter: Chapter | None = None
                   ) -> GradedNotebook:
    """Grade one submission with the chapter's autograder zip (Otter's grading, run as on Gradescope)."""
    import nbformat

    notebook = Path(notebook)
    chapter = chapter or read_chapter(stem)
    graded = GradedNotebook(notebook.stem, notebook, chapter)
    started = time.perf_counter()
    graded.note = _precheck(notebook, stem)
    if not graded.note:
        results, graded.note = _run_autograder(autograder, notebook, python or sys.executable, timeout,
                                               env if env is not None else os.environ.copy())
        if results is not None and results.has_catastrophic_failure():
            graded.note = f"Otter could not grade it: {results.catastrophic_error}"
        elif results is not None:
            _read_results(graded, results, nbformat.read(notebook, as_version=4))
    if graded.note:
        from otter.test_files import GradingResults

        graded.otter_results = GradingResults.without_results(RuntimeError(graded.note))
        graded.otter_summary = graded.note
    graded.otter_results.file = notebook.name  # what Otter's final_grades.csv names each row by
    graded.seconds = time.perf_counter() - started
    return graded


def _read_results(graded: GradedNotebook, results, submitted) -> None:
    graded.otter_results, graded.otter_summary = results, results.summary()
    for exercise in graded.chapter.exercises:
        test_file = results.results.get(exercise.label)
        if test_file is None:
            graded.scores[exercise.label] = (0.0, float(exercise.points))
            graded.failed += [FailedCheck(exercise.label, c.points, c.feedback, "the check did not run", "")
                              for c in exercise.checks]
            continue
        graded.scores[exercise.label] = (float(test_file.score), float(test_file.possible))
        for check, result in zip(exercise.checks, test_file.test_case_results):
            if not result.passed:
                graded.failed.append(FailedCheck(exercise.label, check.points, check.feedback,
                                                 _reason(result.message or "", exercise), result.message or ""))
    if results.notebook is not None:
        graded.cell_errors = _cell_errors(results.notebook, submitted, graded.chapter)


def grade(stem: str, submission: Path, output: Path | None = None, **options) -> dict:
    """Grade one submission: {"scores": {exercise: (points, out of)}, "total": (points, out of), ...}."""
    graded = grade_notebook(check_chapter(stem), Path(submission), autograder_for(stem, output), **options)
    return graded.as_dict()


def grade_class(stem: str, paths: list[Path], *, output: Path | None = None, workers: int | None = None,
                python: str | None = None, timeout: float = NOTEBOOK_TIMEOUT, env: dict | None = None,
                progress=None) -> list[GradedNotebook]:
    """Grade every submission in ``paths`` (notebooks, or folders of them) for chapter ``stem``,
    ``workers`` at a time (default: one per CPU core)."""
    check_chapter(stem)
    files = submissions(paths)
    autograder, chapter = autograder_for(stem, output), read_chapter(stem)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, max(len(files), 1))) as pool:
        futures = [pool.submit(grade_notebook, stem, path, autograder, python=python, timeout=timeout, env=env,
                               chapter=chapter) for path in files]
        for future in concurrent.futures.as_completed(futures):
            if progress:
                progress(future.result())
        return sorted((f.result() for f in futures), key=lambda g: g.student)


def submissions(paths: list[Path]) -> list[Path]:
    """The files to grade: each file given, and every file (not hidden, not a folder) of each folder given."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"no such file or folder: {path}")
    stems = [p.stem for p in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise ValueError(f"two submissions would have the same student name (file name without extension): "
                         f"{', '.join(twice)}")
    return files


def feedback_text(graded: GradedNotebook) -> str:
    """The student's feedback: score per exercise, each failed check in words, the cells that raised."""
    chapter = graded.chapter
    lines = [f"Feedback on {graded.path.name}: {chapter.title} ({chapter.stem})", ""]
    if not graded.graded:
        return "\n".join(lines + [f"Not graded: {graded.note}.", f"Score: 0 / {chapter.points:g}", ""])
    lines += [f"Score: {graded.total[0]:g} / {graded.total[1]:g}", ""]
    for exercise in chapter.exercises:
        score, out_of = graded.scores[exercise.label]
        lines.append(f"Exercise {exercise.number}, {exercise.title} ({exercise.label}): {score:g} / {out_of:g}")
        unanswered = []
        for failed in (f for f in graded.failed if f.exercise == exercise.label):
            if failed.reason.startswith("not answered"):
                if failed.reason not in unanswered:  # one line per function, whatever its checks
                    unanswered.append(failed.reason)
                    lines.append(f"  - {failed.reason}")
                continue
            lines.append(textwrap.fill(failed.feedback, 96, initial_indent="  - ", subsequent_indent="    "))
            if failed.reason:
                lines.append(textwrap.fill(f"Why: {failed.reason}", 96, initial_indent="    ", subsequent_indent="    "))
    if graded.cell_errors:
        lines += ["", "Cells that raised an error when your notebook ran:"]
        lines += [textwrap.fill(error, 96, initial_indent="  - ", subsequent_indent="    ") for error in graded.cell_errors]
    return "\n".join(lines) + "\n"


def write_reports(graded: list[GradedNotebook], directory: Path) -> dict:
    """scores.csv (student, exercise, points, out_of, note), Otter's final_grades.csv, a feedback
    file per student (feedback/) and Otter's summary per notebook (grading-summaries/)."""
    from otter.grade.utils import merge_scores_to_df

    directory.mkdir(parents=True, exist_ok=True)
    for part in ("feedback", "grading-summaries"):
        shutil.rmtree(directory / part, ignore_errors=True)
        (directory / part).mkdir()
    with open(directory / "scores.csv", "w", newline="") as f:
        table = csv.writer(f)
        table.writerow(["student", "exercise", "points", "out_of", "note"])
        for notebook in graded:
            for exercise in notebook.chapter.exercises if notebook.graded else []:
                score, out_of = notebook.scores[exercise.label]
                reasons = sorted({failed.reason for failed in notebook.failed
                                  if failed.exercise == exercise.label and failed.reason})
                table.writerow([notebook.student, exercise.label, f"{score:g}", f"{out_of:g}", "; ".join(reasons)])
            table.writerow([notebook.student, "total", f"{notebook.total[0]:g}", f"{notebook.total[1]:g}", notebook.note])
    merge_scores_to_df([notebook.otter_results for notebook in graded]).to_csv(directory / "final_grades.csv",
                                                                             index=False)
    for notebook in graded:
        (directory / "feedback" / f"{notebook.student}.txt").write_text(feedback_text(notebook))
        (directory / "grading-summaries" / f"{notebook.student}.txt").write_text(notebook.otter_summary + "\n")
    return {"scores": directory / "scores.csv", "otter": directory / "final_grades.csv",
            "feedback": directory / "feedback", "summaries": directory / "grading-summaries"}


# --------------------------------------------------------------------------- the book for students
BOOK_FILES = ("_config.yml", "_toc.yml", "book", "benchmarks")


def strip_solutions(notebook) -> int:
    """Remove, in a lesson notebook, every solution (the cells from solution-start to solution-end),
    every grader cell and the outputs of the exercises' examples. Returns the cells removed."""
    start = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown"
                  and "## Exercises" in (line.strip() for line in c.source.splitlines())), len(notebook.cells))
    kept, inside, removed = notebook.cells[:start], False, 0
    for cell in notebook.cells[start:]:
        source = cell.source.strip()
        if cell.cell_type == "markdown" and ("{solution-start}" in source or "{solution-end}" in source):
            if not (SOLUTION_START.match(source) or SOLUTION_END.match(source)):
                raise ValueError("a solution-start or solution-end directive must begin a markdown cell of its own "
                                 "(put +++ before it in the lesson)")
            inside = bool(SOLUTION_START.match(source))
            removed += 1
            continue
        if inside or cell.get("metadata", {}).get("grader"):
            removed += 1
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        kept.append(cell)
    notebook.cells = kept
    return removed


def student_book(output: Path | None = None) -> Path:
    """Build the HTML book for students (no solution, no check, no example output, no link to the
    notebooks with solutions) into ``output`` (default _build/student-book); returns the folder
    of its index.html."""
    import nbformat
    import yaml

    output = output or STUDENT_BOOK
    source = output / "source"
    shutil.rmtree(output, ignore_errors=True)
    source.mkdir(parents=True)
    for name in BOOK_FILES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, source / name)
    (source / "lessons").mkdir()
    for path in sorted(LESSONS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        strip_solutions(notebook)
        nbformat.write(notebook, source / "lessons" / path.name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    # The launch and repository buttons would open the lessons with their solutions.
    config["launch_buttons"].update(colab_url="", binderhub_url="")
    config["html"].update(use_repository_button=False, use_issues_button=False)
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jupyter_book if jupyter_book.exists() else "jupyter-book"), "build", str(source),
                           "--path-output", str(output), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=1800)
    html = output / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        raise RuntimeError(f"the student book's build failed (warnings are errors):\n{(proc.stdout + proc.stderr)[-6000:]}")
    return html


# --------------------------------------------------------------------------- command line
def _print_notebook(graded: GradedNotebook) -> None:
    width = max([len(label) for label in graded.scores] + [5])
    if not graded.graded:
        print(f"{graded.path.name}: {graded.note}")
        return
    for label, (score, maximum) in graded.scores.items():
        print(f"{label:<{width}}  {score:g} / {maximum:g}")
    print(f"{'total':<{width}}  {graded.total[0]:g} / {graded.total[1]:g}")
    for failed in graded.failed:
        print(f"\nfailed in {failed.exercise} ({failed.points:g} point{'s' if failed.points != 1 else ''}): "
              f"{failed.feedback}")
        if failed.reason:
            print(f"  ({failed.reason})")
        message = failed.otter_message.strip()
        if message and not failed.reason.startswith("not answered"):
            # Otter's message from the failure on (before it, doctest replays the check's set-up)
            message = message[message.find("Failed example:"):] if "Failed example:" in message else message
            print(textwrap.indent(message, "    | "))
    for error in graded.cell_errors:
        print(f"\ncell error: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"chapters: {', '.join(chapters())}")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the notebooks and autograders")
    build_parser.add_argument("chapters", nargs="*", help="chapter stems (default: every chapter)")
    grade_parser = commands.add_parser(
        "grade", help="grade a notebook, or a class: every notebook of a folder",
        description="Grade one notebook (scores and failure messages printed), or several: a folder of "
                    "submissions (one notebook per student, named by its file), graded in parallel into "
                    "scores.csv, Otter's final_grades.csv and a feedback file per student.")
    grade_parser.add_argument("chapter", help="the chapter stem, e.g. 02_wedge_surrogate")
    grade_parser.add_argument("paths", nargs="+", type=Path, help="a notebook, or folders of submissions")
    grade_parser.add_argument("--output", type=Path, help="where the class's reports go "
                                                          "(default: _build/coursework/CHAPTER/grades)")
    grade_parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                              help="notebooks graded at once (default: one per CPU core)")
    grade_parser.add_argument("--python", help="the Python that runs the autograder (default: this one)")
    book_parser = commands.add_parser("book", help="build the HTML book for students, without solutions")
    book_parser.add_argument("--output", type=Path, help=f"default: {STUDENT_BOOK.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.command == "build":
        unknown = [stem for stem in args.chapters if stem not in chapters()]
        if unknown:
            parser.error(f"unknown chapter {unknown[0]!r}; the chapters are: {', '.join(chapters())}")
        wheel = project_wheel(OUTPUT / "_wheel")
        for stem in args.chapters or chapters():
            built = build(stem, OUTPUT, wheel)
            print(f"{stem}: {len(built['exercises'])} exercises -> {built['student'].parent.parent.relative_to(ROOT)}")
        return 0
    if args.command == "book":
        print(student_book(args.output.resolve() if args.output else None) / "index.html")
        return 0
    if args.chapter not in chapters():
        parser.error(f"unknown chapter {args.chapter!r}; the chapters are: {', '.join(chapters())}")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    try:
        files = submissions(args.paths)
    except ValueError as error:
        parser.error(str(error))
    if len(files) == 1 and not args.paths[0].is_dir():
        note = _precheck(files[0], args.chapter)  # before building anything: a clear line, no traceback
        if note:
            print(f"{files[0].name}: {note}")
            return 1
        graded = grade_notebook(args.chapter, files[0], autograder_for(args.chapter), python=args.python)
        _print_notebook(graded)
        return 0 if graded.graded else 1
    output = args.output or OUTPUT / args.chapter / "grades"
    started = time.perf_counter()
    graded = grade_class(args.chapter, files, workers=args.workers, python=args.python,
                         progress=lambda g: print(f"{g.student}: " + (f"{g.total[0]:g} / {g.total[1]:g}" if g.graded
                                                                       else g.note) + f" ({g.seconds:.0f} s)",
                                                   flush=True))
    written = write_reports(graded, output)
    print(f"{len(graded)} submissions graded in {time.perf_counter() - started:.0f} s; "
          f"scores in {written['scores']}, feedback in {written['feedback']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
