#!/usr/bin/env python3
"""Benchmark: grading time of the coursework, per chapter and per exercise.

For each chapter: the time ``tools/coursework.py grade`` takes on the instructor notebook
(kernel start, TensorFlow import, every exercise and every hidden test), and the time of
each exercise's cells (its solution and its example) when the instructor notebook runs.

    .venv/bin/python benchmarks/coursework_speed.py [chapter stems]
"""
from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
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


def rows(small: bool = False, chapters=None) -> list[dict]:
    coursework = _module("coursework", ROOT / "tools" / "coursework.py")
    executor = _module("execute_lessons", ROOT / "tools" / "execute_lessons.py")
    executor._environment().apply()
    stems = chapters or [p.stem for p in sorted((ROOT / "lessons").glob("*.md"))]
    if small:
        stems = stems[:1]
    found = []
    with tempfile.TemporaryDirectory() as directory:
        for stem in stems:
            built = coursework.build(stem, Path(directory))
            start = time.perf_counter()
            coursework.grade(stem, built["instructor"], Path(directory))
            found.append(dict(benchmark="grading", configuration=f"{stem}: one notebook, all exercises",
                              ours=time.perf_counter() - start, reference=180.0, target="a few minutes at most"))
            for label, seconds in exercise_seconds(built["instructor"], executor).items():
                found.append(dict(benchmark="exercise", configuration=f"{stem}: {label}", ours=seconds,
                                  reference=60.0, target="seconds"))
    return found


def main(argv=None):
    from run import print_table

    print_table(rows(chapters=(argv if argv is not None else sys.argv[1:]) or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
