#!/usr/bin/env python3
"""Benchmark: executing every chapter at the ``quick`` scale, as ``python3 tasks.py book``
does (a fresh kernel per chapter, TensorFlow's import included), into a temporary
directory (the committed notebooks are not touched).

    .venv/bin/python benchmarks/chapter_speed.py [lessons/01_high_dimensions.md ...]
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def executor():
    spec = importlib.util.spec_from_file_location("execute_lessons", ROOT / "tools" / "execute_lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(small: bool = False, lessons=None) -> list[dict]:
    tool = executor()
    tool._environment().apply()
    lessons = [Path(p).resolve() for p in lessons] if lessons else sorted((ROOT / "lessons").glob("*.md"))
    if small:
        lessons = lessons[:1]
    found, total = [], 0.0
    with tempfile.TemporaryDirectory() as directory:
        for md in lessons:
            start = time.perf_counter()
            tool.execute(md, "quick", output=Path(directory) / md.with_suffix(".ipynb").name)
            seconds = time.perf_counter() - start
            total += seconds
            found.append(dict(benchmark="chapter at quick", configuration=md.stem, ours=seconds, reference=90.0,
                              target="<= 90 s a chapter"))
    found.append(dict(benchmark="chapter at quick", configuration=f"all {len(lessons)} chapters", ours=total,
                      reference=360.0, target="<= 6 min in all"))
    return found


def main(argv=None):
    from run import print_table

    print_table(rows(lessons=(argv if argv is not None else sys.argv[1:]) or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
