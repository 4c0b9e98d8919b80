"""Every lesson executed at the paper and the medium scale's sizes with the work cut to a few steps.

Nothing ever runs the ``paper`` scale on this machine (no GPU, no download), so before a
reader pays for a GPU this test runs every lesson with ``LANDSCAPE_SCALE=paper-dry-run``:
the paper's models, dimensions, datasets and projection kinds, with steps, examples and
eigenvalue counts cut (``Scale.dry_run``) and claims shown but not asserted. MNIST and
CIFAR-10 are small random stand-ins written in Keras' cache layout under a temporary
``KERAS_HOME``, so the real loading code runs; a kernel start-up file lets Keras accept
them (their hash is not the real archives'). The medium scale's dry run
(``medium-dry-run``: MNIST-1D generated in memory, the 1-D CNN) runs the code paths of the
medium notebooks stored in ``lessons/medium/`` the same way, before anyone spends the two
hours of executing them.
"""
import sys
import textwrap
from pathlib import Path

import pytest

import keras_cache

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))


@pytest.fixture(scope="module")
def paper_dry_run_environment(tmp_path_factory):
    home = keras_cache.write_keras_home(tmp_path_factory.mktemp("keras"))
    ipython = tmp_path_factory.mktemp("ipython")
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-fake-keras-datasets.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        import keras_cache
        keras_cache.accept_fake_archives({str(home)!r})
        """))
    return {"KERAS_HOME": str(home), "IPYTHONDIR": str(ipython),
            "LANDSCAPE_CACHE": str(tmp_path_factory.mktemp("cache"))}


@pytest.mark.paper_dry_run
@pytest.mark.parametrize("dry_run", ["paper-dry-run", "medium-dry-run"])
@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_at_the_larger_scales_sizes(md, dry_run, paper_dry_run_environment, executor, tmp_path,
                                                monkeypatch):
    for key, value in paper_dry_run_environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LANDSCAPE_SCALE", dry_run)
    try:
        notebook = executor.execute(md, dry_run, output=tmp_path / md.with_suffix(".ipynb").name)
    except executor.LessonFailed as error:
        pytest.fail(f"{md.name} fails at the sizes of {dry_run}:\n{error}", pytrace=False)
    text = notebook.read_text()
    assert dry_run in text  # the lesson printed the scale it ran at
    assert sys.executable  # executed by this environment's kernel (see executor)
