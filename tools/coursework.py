#!/usr/bin/env python3
"""Coursework from the lessons: student and instructor notebooks, and an autograder per chapter.

The lessons are the single source. Each chapter ends in a section ``## Exercises`` whose
exercises are written with sphinx-exercise's directives (numbered in the book, solutions
behind a toggle):

- ```` ```{exercise} Title ```` with ``:label: ex-NN-name``: the question;
- ```` ```{solution-start} ex-NN-name ```` ... ```` ```{solution-end} ````: the solution's code
  cells, each defining the function(s) the exercise asks for;
- code cells with metadata ``grader: {exercise: ex-NN-name, points: P}`` (and the
  ``remove-cell`` tag, so the book hides them): assertions that call the student's
  function on inputs the exercise does not show. The lesson executes them against the
  solution, so a wrong grader fails the lesson.

``build`` turns a lesson into an Otter-Grader master notebook (the set-up cells, then
the exercises, with otter's question/solution/test markers) and runs ``otter assign``:

    _build/coursework/NN_name/student/NN_name.ipynb      solutions replaced by stubs that raise
                                                         NotImplementedError, no outputs, no tests
    _build/coursework/NN_name/instructor/NN_name.ipynb   the same with the solutions
    _build/coursework/NN_name/autograder/NN_name.zip     otter's autograder (the hidden tests)

``grade`` runs ``otter run`` (locally, no Docker) on a submission and prints a score per
exercise and the total; a cell that raises costs only its exercise.

    python tools/coursework.py build [NN_name ...]
    python tools/coursework.py grade NN_name submission.ipynb
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
OUTPUT = ROOT / "_build" / "coursework"
EXERCISE = re.compile(r"^```\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::[\w-]+:[^\n]*\n)*)(?P<body>.*?)\n```[ \t]*$",
                      re.S | re.M)
SOLUTION_START = re.compile(r"^```\{solution-start\}\s*(?P<label>\S+)")
SOLUTION_END = re.compile(r"^```\{solution-end\}")
OTTER_BIN = Path(sys.executable).with_name("otter")


def _raw(text: str):
    import nbformat

    return nbformat.v4.new_raw_cell(text)


def _markdown(text: str):
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def _code(text: str):
    import nbformat

    return nbformat.v4.new_code_cell(text)


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


def with_solution_markers(source: str, label: str) -> str:
    """Mark each top-level function's body as the solution (for otter) and add the stub
    a student sees instead: the signature and docstring, then NotImplementedError."""
    tree = ast.parse(source)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not functions:
        raise ValueError(f"the solution of {label} must define a function (what the grader calls)")
    lines = source.splitlines()
    for node in sorted(functions, key=lambda n: n.lineno, reverse=True):
        documented = isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None),
                                                                        ast.Constant)
        first = node.body[1] if documented and len(node.body) > 1 else node.body[0]
        indent = " " * first.col_offset
        lines[node.end_lineno:node.end_lineno] = [
            f"{indent}# END SOLUTION",
            f'{indent}raise NotImplementedError("{label}: write {node.name}")']
        lines[first.lineno - 1:first.lineno - 1] = [f"{indent}# BEGIN SOLUTION"]
    return "\n".join(lines)


def master_notebook(md_path: Path):
    """The lesson's set-up cells and exercises in otter-assign's format, and the exercise labels."""
    import jupytext
    import nbformat

    lesson = jupytext.read(md_path, fmt="md:myst")
    code = [c for c in lesson.cells if c.cell_type == "code"]
    start = next((i for i, c in enumerate(lesson.cells) if c.cell_type == "markdown"
                  and "## Exercises" in (line.strip() for line in c.source.splitlines())), None)
    if start is None:
        raise ValueError(f"{md_path.name} has no '## Exercises' section")
    heading = lesson.cells[start].source
    first = nbformat.v4.new_markdown_cell(heading[heading.index("## Exercises") + len("## Exercises"):])
    title = next(line.lstrip("# ").strip() for c in lesson.cells if c.cell_type == "markdown"
                 for line in c.source.splitlines() if line.startswith("# "))
    config = ("# ASSIGNMENT CONFIG\n" f"name: {md_path.stem}\n" "init_cell: false\ncheck_all_cell: false\n"
              "export_cell: false\nrun_tests: false\nsolutions_pdf: false\ngenerate: true\n")
    cells = [_raw(config), _markdown(f"# Exercises: {title}\n\nThe chapter's exercises. Read the chapter in the book "
                                     "first; complete each function where it raises `NotImplementedError`."),
             *[nbformat.v4.new_code_cell(c.source) for c in code[:2]]]  # the Colab cell and the set-up cell
    exercises, tests, question = [], {}, None
    in_solution = False
    body = [first] + lesson.cells[start + 1:]
    for cell in body:  # the grader cells, per exercise
        grader = cell.get("metadata", {}).get("grader")
        if cell.cell_type == "code" and grader:
            tests.setdefault(grader["exercise"], []).append((cell.source, int(grader.get("points", 1))))
    for cell in body:
        if cell.cell_type == "code" and cell.get("metadata", {}).get("grader"):
            continue
        if cell.cell_type == "markdown":
            if SOLUTION_START.match(cell.source.strip()):
                in_solution = True
                cells.append(_raw("# BEGIN SOLUTION"))
                continue
            if SOLUTION_END.match(cell.source.strip()):
                in_solution = False
                cells.append(_raw("# END SOLUTION"))
                continue
            for kind, piece in split_exercises(cell.source):
                if kind == "text":
                    cells.append(_markdown(piece))
                    continue
                if question:
                    cells += _end_question(question, tests)
                label, name, text = piece
                points = sum(p for _, p in tests.get(label, []))
                if not points:
                    raise ValueError(f"{md_path.name}: exercise {label} has no grader cell")
                cells += [_raw(f"# BEGIN QUESTION\nname: {label}\npoints: {points}\ncheck_cell: false"),
                          _markdown(f"**Exercise {len(exercises) + 1}: {name}** (`{label}`, {points} point{'s' if points != 1 else ''})\n\n{text}")]
                exercises.append(label)
                question = label
        else:
            cells.append(_code(with_solution_markers(cell.source, question) if in_solution else cell.source))
    if question:
        cells += _end_question(question, tests)
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    return notebook, exercises


def _end_question(label, tests):
    cells = [_raw("# BEGIN TESTS")]
    for source, points in tests.get(label, []):
        cells.append(_code(f'""" # BEGIN TEST CONFIG\nhidden: true\npoints: {points}\n""" # END TEST CONFIG\n{source}'))
    return cells + [_raw("# END TESTS"), _raw("# END QUESTION")]


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
                           if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")
                           and not line.strip().startswith('raise NotImplementedError("ex-'))
        notebook.cells.append(nbformat.v4.new_code_cell(source) if cell.cell_type == "code"
                              else nbformat.v4.new_markdown_cell(source))
    return notebook


def build(stem: str, output: Path = OUTPUT) -> dict:
    """Write the student and instructor notebooks and the autograder of one chapter."""
    import nbformat

    master, exercises = master_notebook(LESSONS / f"{stem}.md")
    target = output / stem
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        nbformat.write(master, work / f"{stem}.ipynb")
        proc = subprocess.run([str(OTTER_BIN), "assign", "--no-pdfs", "--no-run-tests", str(work / f"{stem}.ipynb"),
                               str(work / "dist")], capture_output=True, text=True, cwd=work, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"otter assign failed for {stem}:\n{proc.stdout}\n{proc.stderr}")
        (target / "student").mkdir(parents=True)
        (target / "instructor").mkdir()
        (target / "autograder").mkdir()
        shutil.copy(work / "dist" / "student" / f"{stem}.ipynb", target / "student" / f"{stem}.ipynb")
        (zipped,) = (work / "dist" / "autograder").glob("*.zip")
        shutil.copy(zipped, target / "autograder" / f"{stem}.zip")
    instructor = instructor_notebook(master)
    # The student notebook's metadata names the assignment: otter checks it when grading.
    instructor.metadata = nbformat.read(target / "student" / f"{stem}.ipynb", as_version=4).metadata
    nbformat.write(instructor, target / "instructor" / f"{stem}.ipynb")
    return {"chapter": stem, "exercises": exercises, "student": target / "student" / f"{stem}.ipynb",
            "instructor": target / "instructor" / f"{stem}.ipynb", "autograder": target / "autograder" / f"{stem}.zip"}


def grade(stem: str, submission: Path, output: Path = OUTPUT) -> dict:
    """Grade ``submission`` with the chapter's autograder: {exercise: (score, max)} and the total."""
    autograder = output / stem / "autograder" / f"{stem}.zip"
    if not autograder.exists():
        build(stem, output)
    with tempfile.TemporaryDirectory() as work:
        proc = subprocess.run([str(OTTER_BIN), "run", "-a", str(autograder), "-o", work, str(Path(submission).resolve())],
                              capture_output=True, text=True, timeout=900)
        results = Path(work) / "results.json"
        if not results.exists():
            raise RuntimeError(f"otter run produced no results for {submission}:\n{proc.stdout}\n{proc.stderr}")
        tests = json.loads(results.read_text())["tests"]
    scores = {t["name"]: (float(t.get("score") or 0.0), float(t["max_score"])) for t in tests
              if t.get("max_score") is not None}
    return {"scores": scores, "total": (sum(s for s, _ in scores.values()), sum(m for _, m in scores.values()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the notebooks and autograders")
    build_parser.add_argument("chapters", nargs="*", help="chapter stems (default: every lesson)")
    grade_parser = commands.add_parser("grade", help="grade a submission")
    grade_parser.add_argument("chapter")
    grade_parser.add_argument("submission", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        stems = args.chapters or [p.stem for p in sorted(LESSONS.glob("*.md"))]
        for stem in stems:
            built = build(stem)
            print(f"{stem}: {len(built['exercises'])} exercises -> {built['student'].parent.parent.relative_to(ROOT)}")
        return 0
    result = grade(args.chapter, args.submission)
    width = max(map(len, result["scores"]), default=10)
    for name, (score, maximum) in sorted(result["scores"].items()):
        print(f"{name:<{width}}  {score:g} / {maximum:g}")
    print(f"{'total':<{width}}  {result['total'][0]:g} / {result['total'][1]:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
