#!/usr/bin/env python3
"""Execute the lessons whose sources changed and store their outputs.

A lesson is ``lessons/NN_name.md`` (Jupytext MyST markdown, the source people edit)
paired with ``lessons/NN_name.ipynb`` (committed with outputs; the book renders it).
What is the project's own here, and nothing else:

- **staleness**: a notebook stores ``metadata.landscape.source_hash``, a sha256 of the
  lesson, every ``lib/landscape`` file and the scale; a lesson whose hash changed (or
  whose notebook cells no longer match its ``.md``) is executed again;
- **the stderr rule**: a cell that raises or writes to stderr (a warning, a log line)
  fails the lesson, naming the cell.

Jupytext reads the ``.md``, nbclient executes, in the kernel of this interpreter.

    python tools/execute_lessons.py            # execute stale lessons
    python tools/execute_lessons.py --force    # execute every lesson
    python tools/execute_lessons.py --check    # list stale lessons, exit 1 if any
    python tools/execute_lessons.py lessons/01_high_dimensions.md   # just these
    python tools/execute_lessons.py --into DIR --compare --colab-environment
        # every lesson into DIR (the stored notebooks untouched), each compared with its
        # stored outputs (how far the numbers moved; never a failure), the kernel started
        # without the book's environment defaults, as Colab starts it (noxfile.py, newest)
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LIBRARY_DIR = ROOT / "lib" / "landscape"
FAILED_DIR = ROOT / "_build" / "failed_lessons"
CELL_TIMEOUT = 900  # seconds per cell
STORED_CELL_TIMEOUT = 4 * 3600  # a stored scale's cell (a sweep of hours, run once) may take this long
IGNORED_CELL_METADATA = ("execution", "collapsed", "scrolled")  # written by Jupyter, not by authors


def _environment():
    """lib/landscape/environment.py, loaded by path (the project may not be installed)."""
    spec = importlib.util.spec_from_file_location("landscape_environment", LIBRARY_DIR / "environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scale_name() -> str:
    """The scale lessons are executed at: ``$LANDSCAPE_SCALE``, or ``quick`` if unset or empty."""
    return os.environ.get("LANDSCAPE_SCALE") or _environment().DEFAULTS["LANDSCAPE_SCALE"]


# Scales whose executed notebooks are stored beside the book's, in lessons/<scale>/: they take
# hours, so they are executed once and kept, and their staleness is judged by what decides
# their numbers in the lesson (the code cells and the scale's sizes), not by every byte of the
# library or the prose (see stored_hash).
STORED_SCALES = ("medium",)


def output_dir(scale: str) -> Path:
    """Where the notebooks of ``scale`` live: lessons/ for quick (the book's), lessons/<scale>/."""
    return LESSONS_DIR / scale if scale in STORED_SCALES else LESSONS_DIR


def notebook_path(md_path: Path, scale: str) -> Path:
    return output_dir(scale) / Path(md_path).with_suffix(".ipynb").name


def scale_sections(code: str, fields) -> tuple[str, ...]:
    """The sections of the scale (``scale.<section>``) that a lesson's code reads; every field
    if it uses ``scale`` any other way (passes it on, say), which cannot be followed."""
    import ast

    # IPython's magics and shell lines are not Python (they never read the scale): a pass keeps the blocks
    lines = [line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
             for line in code.splitlines()]
    tree = ast.parse("\n".join(lines))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sections = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == "scale") or isinstance(node.ctx, ast.Store):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in fields:
            sections.add(parent.attr)
        else:
            return tuple(fields)
    return tuple(sorted(sections))


def stored_hash(md_path: Path, scale: str) -> str:
    """sha256 of the lesson's code cells (sources and metadata) and the sizes of the scale's
    sections the lesson reads: what a stored scale's notebook must be executed again for (a
    change to another chapter's sizes leaves it current)."""
    import dataclasses

    sys.path.insert(0, str(LIBRARY_DIR.parent))
    try:
        from landscape.scale import SCALES  # (imports the library, and with it TensorFlow, once)
    finally:
        sys.path.pop(0)
    digest = hashlib.sha256()
    keys = cell_keys(build_notebook(md_path))
    for key in keys:
        if key[0] == "code":
            digest.update(("\0".join(key) + "\1").encode())
    sizes = dataclasses.asdict(SCALES[scale])
    read = {section: sizes[section] for key in keys if key[0] == "code"
            for section in scale_sections(key[1], tuple(sizes))}
    digest.update(json.dumps(read, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def source_hash(md_path: Path, scale: str | None = None) -> str:
    """sha256 of the lesson's text, every library ``.py`` file (path and text) and the scale
    (for a stored scale: :func:`stored_hash`)."""
    if (scale or scale_name()) in STORED_SCALES:
        return stored_hash(md_path, scale or scale_name())
    digest = hashlib.sha256()
    library = sorted(p for p in LIBRARY_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    for label, path in [("lesson", Path(md_path))] + [("lib/" + p.relative_to(LIBRARY_DIR).as_posix(), p)
                                                      for p in library]:
        data = path.read_bytes()
        digest.update(f"{label}\0{len(data)}\0".encode() + data)
    digest.update(b"scale\0" + (scale or scale_name()).encode())
    return digest.hexdigest()


def build_notebook(md_path: Path):
    """The lesson's notebook as Jupytext reads it from the ``.md``, with stable cell ids."""
    import jupytext

    nb = jupytext.read(md_path, fmt="md:myst")
    nb.metadata.get("jupytext", {}).pop("text_representation", None)  # belongs to the .md only
    seen: dict[str, int] = {}
    for cell in nb.cells:  # ids from content, so re-executing does not churn them
        base = hashlib.sha256((cell.cell_type + "\0" + cell.source).encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return nb


def cell_keys(nb) -> list[tuple]:
    """What must agree between a lesson's .md and its .ipynb: cell types, sources, metadata."""
    return [(c.cell_type, c.source, json.dumps({k: v for k, v in c.get("metadata", {}).items()
                                                if k not in IGNORED_CELL_METADATA}, sort_keys=True))
            for c in nb.cells]


def stale_reason(md_path: Path, scale: str | None = None) -> str | None:
    """Why the lesson must be executed again, or None if its notebook is up to date."""
    import nbformat

    ipynb = notebook_path(md_path, scale or scale_name())
    if not ipynb.exists():
        return "no notebook"
    stored = nbformat.read(ipynb, as_version=4)
    if stored.metadata.get("landscape", {}).get("source_hash") != source_hash(md_path, scale):
        return ("the lesson's code or the scale changed" if (scale or scale_name()) in STORED_SCALES
                else "lesson, library or scale changed")
    if (scale or scale_name()) not in STORED_SCALES and cell_keys(stored) != cell_keys(build_notebook(md_path)):
        return "notebook cells differ from the .md (was the .ipynb edited?)"
    return None


def colab_kernel_environment(environ=None) -> dict[str, str]:
    """``environ`` (default: this process's) without the book's environment defaults, as a
    Colab kernel starts: nothing sets TF_CPP_MIN_LOG_LEVEL and the rest before the kernel
    runs, so ``import landscape`` must. A scale the user chose (LANDSCAPE_SCALE) is kept.
    Nor does it hold PYTEST_CURRENT_TEST (a kernel started by a test inherits it), under
    which ipykernel stops sending what is written to file descriptor 2, TensorFlow's
    C++ log lines among it, to the cells."""
    environ = dict(os.environ if environ is None else environ)
    for key in [*_environment().DEFAULTS, "PYTEST_CURRENT_TEST"]:
        if key != "LANDSCAPE_SCALE":
            environ.pop(key, None)
    return environ


def _lesson_outputs():
    """tests/lesson_outputs.py (the tolerant comparison of outputs), loaded by path."""
    if "lesson_outputs" in sys.modules:  # pytest loaded it already (-p lesson_outputs)
        return sys.modules["lesson_outputs"]
    spec = importlib.util.spec_from_file_location("lesson_outputs", ROOT / "tests" / "lesson_outputs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def drift_report(executed: dict[Path, Path]) -> list[str]:
    """How far each executed notebook's numbers moved from its lesson's stored notebook, as
    the test command's summary says it (tests/lesson_outputs.py): per notebook the largest
    share of a tolerance any number used, then each cell beyond its tolerance."""
    import nbformat

    outputs = _lesson_outputs()
    sanitize = outputs.sanitizer()
    lines, beyond = [], []
    for md, new in executed.items():
        stored_path = md.with_suffix(".ipynb")
        label = stored_path.relative_to(ROOT).as_posix()
        drifts = outputs.notebook_drift(nbformat.read(stored_path, as_version=4), nbformat.read(new, as_version=4),
                                        sanitize)
        worst = max(drifts, key=lambda d: d.used, default=None)
        if worst is None:
            lines.append(f"{label}: no compared outputs")
            continue
        lines.append(outputs.summary_line(label, worst.used, worst.cell))
        beyond += [f"  {label}::{d.cell}: {d.problem}" for d in drifts if d.problem]
    if beyond:
        lines += ["beyond the stored outputs' tolerance (reported, not failed: a newer environment may move numbers):",
                  *beyond]
    return lines


class LessonFailed(Exception):
    """A lesson cell raised, timed out, or wrote to stderr."""


def _current_environment_kernel():
    """A kernel manager whose ``python3`` is this interpreter: a ``python3`` kernelspec
    installed elsewhere (e.g. ~/.local/share/jupyter) must not hijack the execution."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    class Manager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return ThisInterpreter(data_dir=self.data_dir)

    return Manager


def execute(md_path: Path, scale: str, output: Path | None = None, cell_seconds: list | None = None,
            kernel_env: dict[str, str] | None = None) -> Path:
    """Execute one lesson in the current environment and write its notebook (by default
    beside the ``.md``); raise :class:`LessonFailed` on any error or stderr output.
    ``cell_seconds``, if given, receives (seconds, cell index, first line) per code cell;
    ``kernel_env`` is the kernel's environment (default: this process's)."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    digest = source_hash(md_path, scale)  # the sources as they are now: later edits make it stale
    nb = build_notebook(md_path)
    name = md_path.name
    # The result cache a lesson may use (landscape.cache): a stored scale's lives in _build/cache/<scale>,
    # so that a run of hours resumes where it stopped; any other scale's starts empty each time, so that
    # the stored outputs always come from the library as it is now. A LANDSCAPE_CACHE set by the caller wins.
    kernel_env = dict(os.environ if kernel_env is None else kernel_env)
    temporary_cache = None
    if not os.environ.get("LANDSCAPE_CACHE"):
        if scale in STORED_SCALES:
            kernel_env["LANDSCAPE_CACHE"] = str(ROOT / "_build" / "cache" / scale)
        else:
            temporary_cache = tempfile.mkdtemp(prefix="landscape-cache-")
            kernel_env["LANDSCAPE_CACHE"] = temporary_cache

    started = {}

    def start_clock(cell, cell_index):
        started[cell_index] = time.monotonic()

    def reject_stderr(cell, cell_index, execute_reply):
        if cell_seconds is not None:
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("---")), "")
            cell_seconds.append((time.monotonic() - started[cell_index], cell_index, first[:60]))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                raise LessonFailed(f"{name}: cell {cell_index} wrote to stderr (warnings and log lines are "
                                   f"errors):\n{''.join(out.get('text', '')).rstrip()}")

    client = NotebookClient(nb, timeout=STORED_CELL_TIMEOUT if scale in STORED_SCALES else CELL_TIMEOUT,
                            startup_timeout=180, kernel_name="python3",
                            kernel_manager_class=_current_environment_kernel(),
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(md_path.parent)}},
                            record_timing=False, on_cell_start=start_clock, on_cell_executed=reject_stderr)
    try:
        client.execute(env=kernel_env)
    except (LessonFailed, CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        FAILED_DIR.mkdir(parents=True, exist_ok=True)
        jupytext.write(nb, FAILED_DIR / md_path.with_suffix(".ipynb").name, fmt="ipynb")
        if isinstance(error, LessonFailed):
            raise
        raise LessonFailed(f"{name}: {type(error).__name__}: {error}\n(partial notebook in {FAILED_DIR})") from None
    finally:
        if temporary_cache is not None:
            shutil.rmtree(temporary_cache, ignore_errors=True)
    nb.metadata["landscape"] = {"source_hash": digest, "scale": scale}
    output = output or notebook_path(md_path, scale)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".tmp.ipynb")  # then renamed: never a half-written notebook
    text = jupytext.writes(nb, fmt="ipynb")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    os.replace(tmp, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", type=Path, help="lesson .md files (default: every lessons/*.md)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="execute even if up to date")
    group.add_argument("--check", action="store_true", help="list stale lessons; exit 1 if any")
    group.add_argument("--into", type=Path, metavar="DIR",
                       help="execute every lesson given (stale or not) into DIR; the stored notebooks are untouched")
    parser.add_argument("--compare", action="store_true",
                        help="with --into: print how far each notebook's numbers moved from the stored ones "
                             "(the test command's tolerance summary); drift never fails the run")
    parser.add_argument("--colab-environment", action="store_true",
                        help="start the kernel without the book's environment defaults, as Colab does "
                             "(import landscape must apply them)")
    parser.add_argument("--profile", action="store_true", help="print the slowest cells of each executed lesson")
    args = parser.parse_args(argv)
    if args.compare and not args.into:
        parser.error("--compare needs --into DIR (the stored notebooks are what it compares with)")
    kernel_env = colab_kernel_environment() if args.colab_environment else None
    _environment().apply()
    scale = scale_name()
    if kernel_env is not None:
        kernel_env["LANDSCAPE_SCALE"] = scale
    lessons = [p.resolve().with_suffix(".md") for p in args.lessons] or sorted(LESSONS_DIR.glob("*.md"))
    if args.into:
        args.into.mkdir(parents=True, exist_ok=True)
    status = 0
    for orphan in sorted(p for p in LESSONS_DIR.glob("*.ipynb") if not p.with_suffix(".md").exists()):
        print(f"error: {orphan.name} has no .md source (the .md is the source)", file=sys.stderr)
        status = 1
    executed: dict[Path, Path] = {}
    for md in lessons:
        if not md.exists():
            print(f"error: {md} is not a lesson source (lessons/NN_name.md)", file=sys.stderr)
            status = 1
            continue
        reason = f"into {args.into}" if args.into else stale_reason(md, scale) or ("forced" if args.force else None)
        if args.check or reason is None:
            print(f"{md.name}: {'stale (' + reason + ')' if reason else 'up to date'}", flush=True)
            status |= int(args.check and reason is not None)
            continue
        print(f"{md.name}: executing at scale {scale!r} ({reason}) ...", flush=True)
        start = time.monotonic()
        cells: list = []
        output = args.into / md.with_suffix(".ipynb").name if args.into else None
        try:
            executed[md] = execute(md, scale, output=output, cell_seconds=cells, kernel_env=kernel_env)
        except LessonFailed as error:
            print(f"FAILED {error}", file=sys.stderr, flush=True)
            status = 1
            continue
        print(f"{md.name}: executed in {time.monotonic() - start:.0f} s", flush=True)
        for seconds, index, first in sorted(cells, reverse=True)[:6] if args.profile else []:
            print(f"    {seconds:6.1f} s  cell {index}: {first}", flush=True)
    if args.compare and executed:
        lines = drift_report(executed)
        print("lesson outputs: largest share of a tolerance used, by notebook "
              "(against the stored outputs; 100% would fail the test command)", flush=True)
        for line in lines:
            print(line, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
