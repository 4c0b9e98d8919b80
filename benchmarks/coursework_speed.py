#!/usr/bin/env python3
"""Benchmark: grading time of the coursework, per chapter, per exercise and per class.

For each chapter: the time ``tools/coursework.py grade`` takes on the instructor notebook
(kernel start, TensorFlow import, every check; the examples are not run when grading), and
the time of each exercise's cells (its solution and its example) when the instructor
notebook runs. For chapters 2 and 6 (the fastest and the slowest to grade): the time to
grade a class of 20 submissions (16 answered, 2 untouched, 2 with one exercise answered),
as many at a time as the machine has cores.

    .venv/bin/python benchmarks/coursework_speed.py [chapter stems]
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASS_CHAPTERS = ("02_wedge_surrogate", "06_radial_tunnels")
CLASS_SIZE = 20


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def exercise_seconds(notebook_path, executor) -> dict:
    """Seconds of each exercise's cells, executing the instructor notebook."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path, as_version=4)
    owner, current = {}, None
    for index, cell in enumerate(notebook.cells):
        found = re.search(r"\(`(ex-[\w-]+)`", cell.source) if cell.cell_type == "markdown" else None
        current = found.group(1) if found else current
        owner[index] = current
    started, seconds = {}, {}

    def start(cell, cell_index):
        started[cell_index] = time.perf_counter()

    def stop(cell, cell_index, execute_reply):
        label = owner.get(cell_index)
        if label:
            seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - started[cell_index]

    NotebookClient(notebook, timeout=900, kernel_name="python3", kernel_manager_class=executor._current_environment_kernel(),
                   resources={"metadata": {"path": str(ROOT / "lessons")}}, on_cell_start=start,
                   on_cell_executed=stop).execute()
    return seconds


def class_folder(built: dict, folder: Path, size: int) -> Path:
    """``size`` submissions: all but four answered, two untouched, two with the first exercise only."""
    import nbformat

    folder.mkdir(parents=True)
    untouched, partial = (2, 2) if size >= 8 else (1, 0)
    for i in range(size - untouched - partial):
        shutil.copy(built["instructor"], folder / f"answered-{i:02d}.ipynb")
    for i in range(untouched):
        shutil.copy(built["student"], folder / f"untouched-{i:02d}.ipynb")
    student, instructor = (nbformat.read(built[part], as_version=4) for part in ("student", "instructor"))
    stub = next(c for c in student.cells if c.cell_type == "code" and f'"{built["exercises"][0]}: write' in c.source)
    name = re.search(r"def (\w+)\(", stub.source)[1]
    stub.source = next(c.source for c in instructor.cells if c.cell_type == "code" and f"def {name}(" in c.source)
    for i in range(partial):
        nbformat.write(student, folder / f"partial-{i:02d}.ipynb")
    return folder


def rows(small: bool = False, chapters=None) -> list[dict]:
    coursework = _module("coursework", ROOT / "tools" / "coursework.py")
    executor = _module("execute_lessons", ROOT / "tools" / "execute_lessons.py")
    executor._environment().apply()
    stems = chapters or coursework.chapters()
    if small:
        stems = stems[:1]
    found = []
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        wheel = coursework.project_wheel(directory / "_wheel")
        for stem in stems:
            built = coursework.build(stem, directory, wheel)
            start = time.perf_counter()
            graded = coursework.grade_notebook(stem, built["instructor"], built["autograder"])
            assert graded.total[0] == graded.total[1], graded.as_dict()  # a benchmark of a broken grading is no benchmark
            found.append(dict(benchmark="grading", configuration=f"{stem}: one notebook, all exercises",
                              ours=time.perf_counter() - start, reference=30.0, target="under 30 s"))
            for label, seconds in exercise_seconds(built["instructor"], executor).items():
                found.append(dict(benchmark="exercise", configuration=f"{stem}: {label}", ours=seconds,
                                  reference=60.0, target="seconds"))
            if stem in CLASS_CHAPTERS or small:
                size, workers = (2 if small else CLASS_SIZE), os.cpu_count() or 1
                folder = class_folder(built, directory / f"class-{stem}", size)
                start = time.perf_counter()
                graded = coursework.grade_class(stem, [folder], output=directory, workers=workers)
                assert all(g.graded for g in graded), [g.note for g in graded]
                found.append(dict(benchmark="class", configuration=f"{stem}: {size} notebooks, {workers} at a time",
                                  ours=time.perf_counter() - start, reference=size * 30.0 / workers,
                                  target="under 30 s a notebook"))
    return found


def main(argv=None):
    from run import print_table

    print_table(rows(chapters=(argv if argv is not None else sys.argv[1:]) or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
