#!/usr/bin/env python3
"""Execute the lessons whose sources changed and store their outputs.

Each lesson is a Jupytext MyST-markdown file ``lessons/NN_name.md`` (the source
people edit) paired with ``lessons/NN_name.ipynb`` (committed with outputs; the
book renders it and never executes anything itself).

A lesson is executed again when its notebook is missing, when ``--force`` is
given, or when the notebook's ``metadata.landscape.source_hash`` differs from
:func:`source_hash`: a sha256 of the lesson's text, of every
``lib/landscape/**/*.py`` file and of the scale name (``LANDSCAPE_SCALE``,
``quick`` by default). Execution fails (exit status 1, naming the lesson and
the cell) if a cell raises or writes anything to stderr: warnings are errors.

Usage::

    python tools/execute_lessons.py            # execute stale lessons
    python tools/execute_lessons.py --force    # execute every lesson
    python tools/execute_lessons.py --check    # list stale lessons, exit 1 if any
    python tools/execute_lessons.py lessons/01_high_dimensions.md   # just these

Run it with the project's virtualenv python (``python3 tasks.py book`` does):
the notebooks are executed by a ``python3`` kernel running this interpreter.

Only :func:`source_hash` and the helpers above it are meant to be imported
(the tests do); they need nothing beyond the standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LIBRARY_DIR = ROOT / "lib" / "landscape"
FAILED_DIR = ROOT / "_build" / "failed_lessons"
REPLACED_DIR = ROOT / "_build" / "replaced_notebooks"

DEFAULT_SCALE = "quick"
METADATA_KEY = "landscape"  # notebook metadata: {"landscape": {"source_hash": ...}}
CELL_TIMEOUT = 900  # seconds per cell
STARTUP_TIMEOUT = 180  # seconds for the kernel to start
KERNEL_NAME = "python3"
JUPYTEXT_FORMAT = "md:myst"

# The environment every lesson is executed in (``tasks.py`` sets the same).
ENV_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONHASHSEED": "0",
    "LANDSCAPE_SCALE": DEFAULT_SCALE,
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    # The kernel profile (tools/ipython): fd-level output such as TensorFlow's C++
    # start-up lines is not captured into cells; Python warnings still are.
    "IPYTHONDIR": str(ROOT / "tools" / "ipython"),
}


# --------------------------------------------------------------------------
# Staleness (standard library only: imported by tests/test_lessons.py)
# --------------------------------------------------------------------------
def scale_name() -> str:
    """The scale the lessons are executed at: ``$LANDSCAPE_SCALE`` or ``quick``."""
    return os.environ.get("LANDSCAPE_SCALE") or DEFAULT_SCALE


def lesson_sources(lessons_dir: Path = LESSONS_DIR) -> list[Path]:
    """Every lesson source, ``lessons/*.md``, sorted."""
    return sorted(lessons_dir.glob("*.md"))


def library_sources(library_dir: Path = LIBRARY_DIR) -> list[Path]:
    """Every ``lib/landscape/**/*.py`` file, sorted by path."""
    return sorted(
        (p for p in library_dir.rglob("*.py") if "__pycache__" not in p.parts),
        key=lambda p: p.relative_to(library_dir).as_posix(),
    )


def notebook_path(md_path: Path) -> Path:
    return Path(md_path).with_suffix(".ipynb")


def source_hash(md_path: Path, scale: str | None = None, library_dir: Path = LIBRARY_DIR) -> str:
    """sha256 of the lesson's text, every library ``.py`` file (path and text) and the scale."""
    scale = scale_name() if scale is None else scale
    digest = hashlib.sha256()

    def add(label: str, text: str) -> None:
        data = text.encode("utf-8")
        digest.update(label.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)

    add("lesson", Path(md_path).read_text(encoding="utf-8"))
    for path in library_sources(library_dir):
        add("lib/" + path.relative_to(library_dir).as_posix(), path.read_text(encoding="utf-8"))
    add("scale", scale)
    return digest.hexdigest()


def stored_hash(ipynb_path: Path) -> str | None:
    """The ``landscape.source_hash`` stored in a notebook's metadata, if any."""
    try:
        with open(ipynb_path, encoding="utf-8") as f:
            metadata = json.load(f).get("metadata", {})
    except (OSError, ValueError):
        return None
    value = metadata.get(METADATA_KEY, {})
    return value.get("source_hash") if isinstance(value, dict) else None


def stale_reason(md_path: Path, scale: str | None = None) -> str | None:
    """Why the lesson must be executed again, or None if its notebook is up to date."""
    ipynb = notebook_path(md_path)
    if not ipynb.exists():
        return "no notebook"
    stored = stored_hash(ipynb)
    if stored is None:
        return "notebook has no landscape.source_hash"
    if stored != source_hash(md_path, scale):
        return "lesson, library or scale changed"
    return None


def orphan_notebooks(lessons_dir: Path = LESSONS_DIR) -> list[Path]:
    """Notebooks in lessons/ without their ``.md`` source."""
    return sorted(p for p in lessons_dir.glob("*.ipynb") if not p.with_suffix(".md").exists())


# --------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------
class LessonFailed(Exception):
    """A lesson cell raised, timed out, or wrote to stderr."""


def _cell_label(nb, index: int) -> str:
    cell = nb.cells[index]
    code_number = sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    if len(first) > 70:
        first = first[:67] + "..."
    return f"cell {index} (code cell {code_number} of the notebook, starting {first!r})"


def _stable_cell_ids(nb) -> None:
    """Give cells ids derived from their content, so re-executing does not churn them."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        base = hashlib.sha256((cell.cell_type + "\0" + cell.source).encode("utf-8")).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"


def _kernel_manager_class():
    """An AsyncKernelManager whose ``python3`` kernel is this interpreter.

    A ``python3`` kernelspec installed elsewhere on the machine (e.g. in
    ~/.local/share/jupyter) must not hijack the execution.
    """
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class CurrentEnvKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(
                    resource_dir=ipykernel.kernelspec.RESOURCES,
                    **ipykernel.kernelspec.get_kernel_dict(),
                )
            return super().get_kernel_spec(kernel_name)

    class CurrentEnvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return CurrentEnvKernelSpecManager(data_dir=self.data_dir)

    # Transport stays TCP on loopback: with "ipc" the kernel, whose cwd is lessons/,
    # created its sockets there and never answered.

    return CurrentEnvKernelManager


def build_notebook(md_path: Path):
    """The lesson's notebook, as jupytext reads it from the ``.md``, without outputs."""
    import jupytext

    nb = jupytext.read(md_path, fmt=JUPYTEXT_FORMAT)
    # What `jupytext --sync` writes into a paired .ipynb: the pairing itself is
    # declared in jupytext.toml, the text representation belongs to the .md only.
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    _stable_cell_ids(nb)
    return nb


def cell_keys(nb) -> list[tuple]:
    """What must agree between a lesson's .md and its .ipynb: cell types, sources, tags."""
    return [
        (c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells
    ]


def cells_differ(md_path: Path) -> bool:
    """True if the stored notebook's cells are not those of the .md (an edited .ipynb?)."""
    import nbformat

    ipynb = notebook_path(md_path)
    if not ipynb.exists():
        return False
    return cell_keys(nbformat.read(ipynb, as_version=4)) != cell_keys(build_notebook(md_path))


def write_notebook(nb, ipynb_path: Path) -> None:
    import jupytext

    ipynb_path.parent.mkdir(parents=True, exist_ok=True)
    text = jupytext.writes(nb, fmt="ipynb")
    tmp = ipynb_path.with_name(ipynb_path.name + ".tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    os.replace(tmp, ipynb_path)


def execute_lesson(md_path: Path, scale: str) -> None:
    """Execute one lesson and save its notebook; raise LessonFailed on any error or stderr."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    rel = md_path.relative_to(ROOT).as_posix() if md_path.is_relative_to(ROOT) else str(md_path)
    # Hash the sources as they are now: edits made while the lesson runs make it stale.
    digest = source_hash(md_path, scale)
    nb = build_notebook(md_path)
    current = {"index": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", ""))
                raise LessonFailed(
                    f"{rel}: {_cell_label(nb, cell_index)} wrote to stderr "
                    f"(warnings and log lines are errors):\n{text.rstrip()}"
                )

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=_kernel_manager_class(),
        # The kernel's own log (e.g. "running over TCP without encryption") is noise;
        # errors still show. Nothing of it reaches the notebook.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(md_path.parent)}},
        allow_errors=False,
        record_timing=False,
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute()
    except (LessonFailed, CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as exc:
        _save_failed(nb, md_path)
        if isinstance(exc, LessonFailed):
            raise
        where = _cell_label(nb, current["index"]) if current["index"] is not None else "kernel start"
        kinds = [
            (CellExecutionError, "raised an exception"),
            (CellTimeoutError, f"timed out after {CELL_TIMEOUT} s"),
            (DeadKernelError, "killed the kernel"),
        ]
        kind = next((k for cls, k in kinds if isinstance(exc, cls)), "failed (kernel problem)")
        raise LessonFailed(f"{rel}: {where} {kind}:\n{exc}") from None

    # Belt and braces: no stderr or error output may be stored.
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            bad = output.get("output_type") == "error" or (
                output.get("output_type") == "stream" and output.get("name") == "stderr"
            )
            if bad:
                _save_failed(nb, md_path)
                raise LessonFailed(f"{rel}: {_cell_label(nb, index)} has a stderr or error output")

    nb.metadata[METADATA_KEY] = {"source_hash": digest, "scale": scale}
    write_notebook(nb, notebook_path(md_path))


def _save_failed(nb, md_path: Path) -> None:
    """Keep the partially executed notebook for inspection (never over the real one)."""
    try:
        target = FAILED_DIR / notebook_path(md_path).name
        write_notebook(nb, target)
        print(f"  partially executed notebook saved to {target}", file=sys.stderr)
    except Exception:  # noqa: BLE001 - best effort only
        pass


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def _resolve(paths: list[str]) -> list[Path]:
    if not paths:
        return lesson_sources()
    resolved = []
    for p in paths:
        path = Path(p).resolve()
        if path.suffix == ".ipynb":
            path = path.with_suffix(".md")
        if path.suffix != ".md" or not path.exists():
            raise SystemExit(f"error: {p} is not a lesson source (lessons/NN_name.md)")
        resolved.append(path)
    return resolved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson .md files (default: every lessons/*.md)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="execute even if up to date")
    group.add_argument("--check", action="store_true", help="list stale lessons; exit 1 if any")
    args = parser.parse_args(argv)

    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    scale = scale_name()

    lessons = _resolve(args.lessons)
    orphans = orphan_notebooks()
    status = 0
    if not lessons:
        print(f"error: no lessons found in {LESSONS_DIR}", file=sys.stderr)
        status = 1
    for orphan in orphans:
        print(
            f"error: {orphan.relative_to(ROOT)} has no {orphan.with_suffix('.md').name} "
            "(the .md is the source; delete the notebook or restore its source)",
            file=sys.stderr,
        )
        status = 1

    for md in lessons:
        rel = md.relative_to(ROOT).as_posix() if md.is_relative_to(ROOT) else str(md)
        reason = stale_reason(md, scale)
        edited = reason is None and cells_differ(md)
        if edited:
            reason = "notebook cells differ from the .md (was the .ipynb edited?)"
        if args.check:
            if reason is None:
                print(f"{rel}: up to date")
            else:
                print(f"{rel}: stale ({reason})")
                status = 1
            continue
        if reason is None and not args.force:
            print(f"{rel}: up to date", flush=True)
            continue
        if edited:
            # The .md is the source; keep the notebook it replaces in case it held real edits.
            backup = REPLACED_DIR / notebook_path(md).name
            backup.parent.mkdir(parents=True, exist_ok=True)
            backup.write_bytes(notebook_path(md).read_bytes())
            print(f"  note: the replaced notebook is kept as {backup}", flush=True)
        print(f"{rel}: executing at scale {scale!r} ({reason or 'forced'}) ...", flush=True)
        start = time.monotonic()
        try:
            execute_lesson(md, scale)
        except LessonFailed as exc:
            print(f"FAILED {exc}", file=sys.stderr, flush=True)
            status = 1
            continue
        print(f"{rel}: executed in {time.monotonic() - start:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
