"""The library's base: argument checks, flat views, seeding, compiling, environment, scales,
claim checks and the result cache."""
import dataclasses
import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import tensorflow as tf

from landscape import cache, core, environment, models, scale, toy, train


# -- flat view -------------------------------------------------------------------------
def test_flat_view_round_trip_is_exact(digits_small):
    model = models.simple_cnn(digits_small.input_shape, digits_small.num_classes, channels=(4, 8), seed=1)
    view = core.FlatView(model.trainable_variables)
    before = [v.numpy().copy() for v in model.trainable_variables]
    flat = view.flatten()
    assert flat.shape == (view.dim,) and view.dim == sum(b.size for b in before)
    for original, piece in zip(before, view.unflatten(flat)):
        np.testing.assert_array_equal(original, piece.numpy())
    other = tf.random.stateless_normal([view.dim], seed=[1, 2])
    view.assign(other)
    np.testing.assert_array_equal(view.flatten().numpy(), other.numpy())
    view.assign(flat)
    for original, variable in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(original, variable.numpy())


def test_flat_view_unflattens_a_batch(digits_small):
    view = core.FlatView(models.mlp(digits_small.input_shape, 10, widths=(3,)).trainable_variables)
    batch = tf.random.stateless_normal([4, view.dim], seed=[0, 1])
    pieces = view.unflatten(batch)
    assert [tuple(p.shape) for p in pieces] == [(4, *s) for s in view.shapes]
    np.testing.assert_array_equal(view.unflatten(batch[2])[0].numpy(), pieces[0][2].numpy())


# -- checks accept NumPy numbers and name the argument -----------------------------------
def test_checks_accept_numpy_numbers_and_reject_bools():
    assert core.check_positive(np.float32(0.1), "rate") == pytest.approx(0.1)
    assert core.check_int(np.int64(3), "steps") == 3
    assert core.check_number(np.float64(0.0), "l2", minimum=0.0) == 0.0
    with pytest.raises(TypeError, match="rate must be a number"):
        core.check_positive(True, "rate")
    with pytest.raises(ValueError, match="rate must be a finite number"):
        core.check_positive(float("nan"), "rate")
    with pytest.raises(ValueError, match="seed must be <= 2147483647"):
        core.check_seed(2**40)
    with pytest.raises(TypeError, match="widths must be a sequence of integers"):
        core.check_int_sequence(64, "widths")
    with pytest.raises(ValueError, match="radii must be strictly increasing"):
        core.check_increasing([1.0, 1.0], "radii")


def test_as_points_checks_shape_and_values():
    assert core.as_points(np.zeros((2, 3)), 3).dtype == tf.float32
    with pytest.raises(ValueError, match=r"points must have shape \(k, 3\)"):
        core.as_points(np.zeros(3), 3)
    with pytest.raises(ValueError, match="non-finite"):
        core.as_points(np.full((1, 3), np.nan), 3)


# -- seeding and compiling ------------------------------------------------------------------
def test_set_seed_makes_numpy_and_tensorflow_repeat():
    core.set_seed(3)
    first = (np.random.rand(), float(tf.random.uniform([])))
    core.set_seed(3)
    assert first == (np.random.rand(), float(tf.random.uniform([])))
    with pytest.raises(ValueError, match="seed"):
        core.set_seed(-1)


def test_compiled_functions_trace_once_per_landscape_and_configuration():
    landscape = toy.WedgeLandscape(20, 10)
    before = train._minimize_loop.tracing_count()
    for seed in range(4):
        train.minimize(landscape, landscape.initial_params(seed), steps=7)
    assert train._minimize_loop.tracing_count() - before == 1
    other = toy.WedgeLandscape(20, 10)  # another landscape: one more trace, no warning on stderr
    train.minimize(other, other.initial_params(0), steps=7)
    assert train._minimize_loop.tracing_count() - before == 2


def test_use_xla_switches_and_checks_its_argument():
    assert core.xla_enabled() is False  # the measured faster default on CPU
    with pytest.raises(TypeError, match="enabled must be True or False"):
        core.use_xla("yes")


def test_the_toy_asks_for_xla_from_the_radix_select_on():
    small, large = toy.WedgeLandscape(1000, 500), toy.WedgeLandscape(toy.RADIX_SELECT_FROM, 1000)
    assert not core.wants_xla(small) and core.wants_xla(large) and not core.xla_enabled()
    for landscape, compiled_with_xla in ((small, False), (large, True)):
        plain, xla = (train._minimize_loop._plain.experimental_get_tracing_count(),
                      train._minimize_loop._xla.experimental_get_tracing_count())
        result = train.minimize(landscape, landscape.initial_params(0), steps=3, learning_rate=1e-2)
        assert result.losses[-1] < result.losses[0]
        assert train._minimize_loop._xla.experimental_get_tracing_count() - xla == int(compiled_with_xla)
        assert train._minimize_loop._plain.experimental_get_tracing_count() - plain == int(not compiled_with_xla)


def test_reused_helpers_belong_to_their_landscape():
    import copy

    landscape = toy.WedgeLandscape(10, 5)
    first = core.reused(landscape, "a", object)
    assert core.reused(landscape, "a", object) is first
    assert core.reused(landscape, "b", object) is not first
    duplicate = copy.copy(landscape)  # shares the attribute, must not share the helpers
    assert core.reused(duplicate, "a", object) is not first
    assert core.reused(landscape, "a", object) is first

    class Slotted:
        __slots__ = ()

    slotted = Slotted()
    assert core.reused(slotted, "a", object) is not core.reused(slotted, "a", object)


# -- the environment --------------------------------------------------------------------------
def test_environment_defaults_do_not_override_the_user():
    env = environment.apply({"LANDSCAPE_SCALE": "paper", "TF_ENABLE_ONEDNN_OPTS": ""})
    assert env["LANDSCAPE_SCALE"] == "paper" and env["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_importing_the_library_writes_nothing_to_stderr():
    """As in Colab, where no kernel profile hides TensorFlow's C++ start-up lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "LANDSCAPE_"))}
    proc = subprocess.run([sys.executable, "-c", "import landscape, tensorflow; print('ok')"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"
    assert proc.stderr == "", f"import landscape wrote to stderr:\n{proc.stderr}"


def test_the_first_xla_compilation_writes_nothing_to_stderr():
    """TensorFlow 2.16 to 2.20 log their first XLA compilation whatever TF_CPP_MIN_LOG_LEVEL
    says (chapter 3's toy sweeps compile with XLA); the library compiles once quietly before
    its first compiled call. Run where TensorFlow is older than 2.21 (the lowest environment,
    noxfile.py), this is what fails without it."""
    code = ("from landscape import toy, train\n"
            "L = toy.WedgeLandscape(dim=64, n=32, seed=0)\n"
            "train.minimize(L, L.initial_params(0), steps=3, learning_rate=0.01)  # the first compiled call\n"
            "import tensorflow as tf\n"
            "print(tf.function(lambda x: x * 2, jit_compile=True)(tf.constant(1.0)).numpy())")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "LANDSCAPE_"))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "2.0", proc.stderr[-3000:]
    assert proc.stderr == "", f"the first XLA compilation wrote to stderr:\n{proc.stderr}"


def test_quiet_stderr_keeps_python_errors_visible(capfd):
    with environment.quiet_stderr():
        os.write(2, b"C++ noise\n")
    sys.stderr.write("python warning\n")
    assert capfd.readouterr().err == "python warning\n"


# -- scales ---------------------------------------------------------------------------------
def test_scales(monkeypatch):
    assert scale.get_scale("quick").network.dataset == "digits"
    assert scale.get_scale("paper").network.model == "simple_cnn"
    monkeypatch.setenv("LANDSCAPE_SCALE", "paper")
    assert scale.get_scale().name == "paper"
    monkeypatch.setenv("LANDSCAPE_SCALE", "")
    assert scale.get_scale().name == "quick"  # as the executor reads it
    with pytest.raises(ValueError, match="scale .* must be one of 'quick', 'medium', 'paper'"):
        scale.get_scale("huge")
    monkeypatch.setenv("LANDSCAPE_SCALE", "large")
    with pytest.raises(ValueError, match="LANDSCAPE_SCALE"):
        scale.get_scale()
    for preset in scale.SCALES.values():
        assert 0 < preset.toy.n < preset.toy.dim


def test_dry_run_keeps_the_sizes_and_cuts_the_work():
    paper, dry = scale.get_scale("paper"), scale.get_scale(scale.DRY_RUN)
    assert dry.name == scale.DRY_RUN
    assert (dry.toy.dim, dry.network.model, dry.subspaces.dims, dry.subspaces.kind) == (
        paper.toy.dim, paper.network.model, paper.subspaces.dims, paper.subspaces.kind)
    assert dry.toy.steps <= 5 < paper.toy.steps and dry.network.max_train == 64
    assert dry.tunnels.hessian_k < paper.tunnels.hessian_k
    medium = scale.get_scale(scale.MEDIUM_DRY_RUN)
    assert medium.name == "medium-dry-run" and medium.network.dataset == scale.get_scale("medium").network.dataset
    assert medium.network.train_steps <= 5 < scale.get_scale("medium").network.train_steps


def test_medium_scale_keeps_quick_toys_and_resolves_real_networks():
    quick, medium = scale.get_scale("quick"), scale.get_scale("medium")
    assert medium.toy == quick.toy and medium.subspaces.toy_pairs == quick.subspaces.toy_pairs
    assert medium.network.dataset == "mnist1d_large" and medium.network.sizes() == medium.network.channels
    assert quick.network.sizes() == quick.network.mlp_widths and quick.network.sizes((8,)) == (8,)


# -- the result cache -----------------------------------------------------------------------------
@dataclasses.dataclass
class Sweep:
    values: np.ndarray
    runs: list
    shape: tuple
    label: str
    extra: dict


def a_sweep():
    return Sweep(values=np.arange(3.0), runs=[np.ones(2), np.zeros((2, 2), np.float32)], shape=(3, 4),
                 label="lr", extra={"seeds": (0, 1), "best": None})


def test_cache_round_trip_is_exact_and_never_pickles(tmp_path):
    store = cache.ResultCache(tmp_path)
    config = {"dim": 10, "seeds": [0, 1], "start": np.arange(3.0)}
    calls = []

    def compute():
        calls.append(1)
        return a_sweep()

    first = store.get_or_compute("demo", config, compute, Sweep)
    second = store.get_or_compute("demo", config, compute, Sweep)
    assert len(calls) == 1
    assert second.shape == (3, 4) and isinstance(second.shape, tuple)
    assert isinstance(second.runs, list) and second.runs[1].dtype == np.float32
    np.testing.assert_array_equal(second.runs[1], first.runs[1])
    assert second.extra == {"seeds": (0, 1), "best": None}
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npz"]
    store.get_or_compute("demo", dict(config, dim=11), compute, Sweep)
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["truncate npz", "empty npz", "broken json", "empty json", "other config"])
def test_unreadable_cache_entries_are_named_removed_and_recomputed(tmp_path, damage):
    store = cache.ResultCache(tmp_path)
    config = {"a": 1}
    store.save("demo", config, a_sweep())
    npz, js = tmp_path / f"demo-{cache.config_hash(config)}.npz", tmp_path / f"demo-{cache.config_hash(config)}.json"
    if damage == "truncate npz":
        npz.write_bytes(npz.read_bytes()[:40])
    elif damage == "empty npz":
        npz.write_bytes(b"")
    elif damage == "broken json":
        js.write_text("{\"config\": ")
    elif damage == "empty json":
        js.write_text("")
    else:
        stored = json.loads(js.read_text())
        stored["config"] = {"a": 2}
        js.write_text(json.dumps(stored))
    with pytest.warns(UserWarning, match=js.name):
        result = store.get_or_compute("demo", config, a_sweep, Sweep)
    np.testing.assert_array_equal(result.values, np.arange(3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load("demo", config, Sweep) is not None  # recomputed and stored again


def test_stale_temporary_files_are_cleaned(tmp_path):
    leftover = tmp_path / "demo-0123.tmp999.npz"
    leftover.write_bytes(b"half a file")
    os.utime(leftover, (0, 0))
    fresh = tmp_path / "demo-4567.tmp998.npz"
    fresh.write_bytes(b"being written right now")
    cache.ResultCache(tmp_path)
    assert not leftover.exists() and fresh.exists()


def test_config_hash_is_order_independent_content_sensitive_and_typed():
    assert cache.config_hash({"a": 1, "b": 2}) == cache.config_hash({"b": 2, "a": 1})
    assert cache.config_hash({"a": np.zeros(3)}) != cache.config_hash({"a": np.ones(3)})
    with pytest.raises(TypeError, match="config keys must be strings"):
        cache.config_hash({1: "a"})
    with pytest.raises(TypeError, match="config values"):
        cache.config_hash({"a": object()})


def test_run_side_by_side_keeps_the_order_and_gives_each_worker_its_items():
    seen = []
    results = core.run_side_by_side(lambda item, worker: seen.append((item, worker)) or item * item, range(7), 3)
    assert results == [i * i for i in range(7)]
    assert sorted(seen) == [(i, i % 3) for i in range(7)]  # item i on worker i % 3, each item once
    assert core.run_side_by_side(lambda item, worker: worker, [5, 6], 1) == [0, 0]
    assert core.run_side_by_side(lambda item, worker: worker, [5], 4) == [0]  # never more workers than items
    assert core.run_side_by_side(lambda item, worker: item, [], 2) == []


def test_run_side_by_side_raises_the_earliest_failure_and_stops_taking_items():
    started = []
    item_1_started = threading.Event()

    def task(item, worker):
        started.append(item)
        if item == 1:
            item_1_started.set()
        if item == 2:  # fails second on worker 0, once item 1 has started on worker 1
            item_1_started.wait(timeout=10)
        if item in (1, 2):
            raise ArithmeticError(f"item {item}")
        return item

    with pytest.raises(ArithmeticError, match="item 1"):
        core.run_side_by_side(task, range(40), 2)
    assert len(started) < 40


def test_workers_come_from_set_workers_then_the_environment(monkeypatch):
    monkeypatch.setenv("LANDSCAPE_WORKERS", "3")
    assert core.workers() == 3
    try:
        core.set_workers(1)
        assert core.workers() == 1
    finally:
        core.set_workers(None)
    monkeypatch.delenv("LANDSCAPE_WORKERS")
    assert 1 <= core.workers() <= 4
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv("LANDSCAPE_WORKERS", bad)
        with pytest.raises(ValueError, match="LANDSCAPE_WORKERS must be a whole number >= 1"):
            core.workers()
