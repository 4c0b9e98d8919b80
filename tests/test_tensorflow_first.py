"""A student who imports TensorFlow before the library sees no start-up lines in a lesson cell.

Colab starts its kernel with none of the book's environment variables: ``import landscape``
sets TF_CPP_MIN_LOG_LEVEL (and the rest) before it imports TensorFlow, which keeps
TensorFlow's C++ runtime quiet for the whole session. A student whose first cell is
``import tensorflow as tf`` has imported TensorFlow before that, with its C++ logging at
its default (everything), and TensorFlow reads that level only once: later lines could
show in any lesson cell. The library then looks for the devices quietly at its import
(``landscape/__init__.py``), which is where the rest came from (on a machine without a
GPU driver, "failed call to cuInit", in the cell that ran the first operation).

What no library can hide: the lines TensorFlow prints *while* the student's own cell
imports it (oneDNN, "Could not find cuda drivers", the CPU instructions notice); the
library is not loaded yet. This test executes a whole lesson that way, as in Colab, and
asserts that none of the lesson's cells writes to stderr.
"""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "lessons" / "06_radial_tunnels.md"  # trains Keras networks and toy landscapes, ~20 s
STUDENT_CELL = "import os\nprint('TF_CPP_MIN_LOG_LEVEL set:', 'TF_CPP_MIN_LOG_LEVEL' in os.environ)\nimport tensorflow as tf"
# Proves the check can see C++ output: text written to file descriptor 2, as TensorFlow's
# runtime writes its log lines, arrives in the cell's outputs as stderr. The kernel reads
# fd 2 in a thread, so such text may arrive a moment late, in the next cell: this cell
# waits for it (and would also catch a late line of the lesson's last cell).
CONTROL_CELL = "import os, sys, time\nos.write(2, b'written to fd 2\\n')\ntime.sleep(2)\nsys.stderr.flush()"


def stderr_of(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stderr")


@pytest.fixture(scope="module")
def executed(executor):
    nb = executor.build_notebook(LESSON)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    assert "google.colab" in nb.cells[code[0]].source, "the lesson's first code cell is not the install cell"
    student = nbformat.v4.new_code_cell(STUDENT_CELL)
    control = nbformat.v4.new_code_cell(CONTROL_CELL)
    nb.cells.insert(code[0] + 1, student)  # after the install cell, before the library's import
    nb.cells.append(control)
    client = NotebookClient(nb, timeout=executor.CELL_TIMEOUT, startup_timeout=180, kernel_name="python3",
                            kernel_manager_class=executor._current_environment_kernel(),
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(LESSON.parent)}})
    client.execute(env=executor.colab_kernel_environment())  # claim checks assert: a failure raises here
    return nb, student, control


def test_tensorflow_was_imported_before_the_library_with_its_default_logging(executed):
    nb, student, _ = executed
    printed = "".join(out.get("text", "") for out in student.outputs if out.get("name") == "stdout")
    assert printed == "TF_CPP_MIN_LOG_LEVEL set: False\n", printed
    library = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "from landscape" in c.source)
    assert nb.cells.index(student) < library


def test_no_lesson_cell_writes_to_stderr(executed):
    nb, student, control = executed
    noisy = {i: stderr_of(cell) for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and cell is not student and cell is not control and stderr_of(cell)}
    assert not noisy, "lesson cells wrote to stderr after `import tensorflow as tf`:\n" + "\n".join(
        f"cell {i}:\n{text}" for i, text in noisy.items())


def test_the_check_sees_output_on_file_descriptor_2(executed):
    _, _, control = executed
    assert stderr_of(control) == "written to fd 2\n", "the control cell's stderr (a late lesson line?)"


def test_the_colab_kernel_environment_has_none_of_the_books_variables(executor):
    book = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "1", "PYTHONHASHSEED": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTEST_CURRENT_TEST": "a test"}
    kept = {"LANDSCAPE_SCALE": "paper", "HOME": "/home/student"}
    assert executor.colab_kernel_environment({**book, **kept}) == kept
