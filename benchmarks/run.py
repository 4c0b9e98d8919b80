#!/usr/bin/env python3
"""Run the benchmark suite and print one table; each row measures the project and its
reference side by side in the same run and gives the ratio (ours / reference).

    .venv/bin/python benchmarks/run.py              # everything but the chapters (minutes)
    .venv/bin/python benchmarks/run.py --chapters   # also execute every chapter at quick
    .venv/bin/python benchmarks/run.py --coursework # also time the grading of every chapter
    .venv/bin/python benchmarks/run.py --small      # a smoke run of every benchmark (the tests)
    .venv/bin/python benchmarks/run.py --write      # also write benchmarks/latest.md (the book's page)

Speed targets are checked here, by reading the ratios, never by timed assertions in the
tests: these machines are noisy. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def interleaved_medians(runners, steps, rounds):
    """Median seconds per step of each runner (called with a number of steps), timed in
    interleaved rounds so that the machine's slow spells fall on all of them alike."""
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(steps)
            samples[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> str:
    model = "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def format_value(seconds: float, unit: str | None) -> str:
    if unit:
        return f"{seconds:.0f} {unit}"
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def table(found: list[dict]) -> list[str]:
    lines = ["| benchmark | configuration | ours | reference | ratio | target |", "| --- | --- | --- | --- | --- | --- |"]
    for row in found:
        unit = row.get("unit")
        lines.append(f"| {row['benchmark']} | {row['configuration']} | {format_value(row['ours'], unit)} | "
                     f"{format_value(row['reference'], unit)} | {row['ours'] / row['reference']:.2f} | {row['target']} |")
    return lines


def print_table(found: list[dict]) -> None:
    print("\n".join(table(found)), flush=True)


def run_suite(rows, description: str, argv=None) -> int:
    """A suite's own command line: ``python benchmarks/<suite>.py [--small]``."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="small sizes, for a smoke test")
    print_table(rows(parser.parse_args(argv).small))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a smoke run of every benchmark")
    parser.add_argument("--chapters", action="store_true", help="also execute every chapter at quick")
    parser.add_argument("--coursework", action="store_true", help="also time the coursework's grading")
    parser.add_argument("--write", action="store_true", help="write benchmarks/latest.md (and coursework.md)")
    args = parser.parse_args(argv)
    import chapter_speed
    import coursework_speed
    import hessian_speed
    import subspace_speed
    import toy_speed

    suites = [toy_speed, subspace_speed, hessian_speed] + ([chapter_speed] if args.chapters or args.small else [])
    found = []
    for suite in suites:
        print(f"running {suite.__name__} ...", file=sys.stderr, flush=True)
        found += suite.rows(args.small)
    graded = coursework_speed.rows(args.small) if args.coursework or args.small else []
    print_table(found + graded)
    if args.write:
        stamp = datetime.date.today().isoformat()
        flags = "".join(f" --{flag}" for flag in ("chapters", "coursework") if getattr(args, flag))
        header = [f"Measured on {stamp} on {machine()}, with `benchmarks/run.py{flags}`.", ""]
        (HERE / "latest.md").write_text("\n".join(header + table(found) + [""]))
        if graded:
            (HERE / "coursework.md").write_text("\n".join(header + table(graded) + [""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
