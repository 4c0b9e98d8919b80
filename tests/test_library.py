"""Unit tests of the library's spine: flat views, ModelLandscape, data, training, cache, scales."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from landscape import cache, core, data, highdim, models, paths, scale, toy, train


@pytest.fixture(scope="module")
def digits():
    return data.load_dataset("digits", max_train=300, max_test=100)


@pytest.fixture(scope="module")
def mlp_landscape(digits):
    model = models.mlp(digits.input_shape, digits.num_classes, widths=(16,), seed=0)
    return models.ModelLandscape(model, digits)


# -- flat view -------------------------------------------------------------------------
def test_flat_view_round_trip_is_exact(digits):
    model = models.simple_cnn(digits.input_shape, digits.num_classes, channels=(4, 8), seed=1)
    view = core.FlatView(model.trainable_variables)
    before = [v.numpy().copy() for v in model.trainable_variables]
    flat = view.flatten()
    assert flat.shape == (view.dim,) and view.dim == sum(b.size for b in before)
    for original, piece in zip(before, view.unflatten(flat)):
        np.testing.assert_array_equal(original, piece.numpy())
    # Write a different vector and read it back bit for bit, then restore.
    other = tf.random.stateless_normal([view.dim], seed=[1, 2])
    view.assign(other)
    np.testing.assert_array_equal(view.flatten().numpy(), other.numpy())
    view.assign(flat)
    for original, variable in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(original, variable.numpy())


def test_flat_view_rejects_empty():
    with pytest.raises(ValueError, match="variables"):
        core.FlatView([])


# -- ModelLandscape --------------------------------------------------------------------
@pytest.mark.parametrize("builder, l2", [(models.mlp, 0.0), (models.simple_cnn, 1e-3)])
def test_model_landscape_loss_equals_keras_evaluate(digits, builder, l2):
    model = builder(digits.input_shape, digits.num_classes, seed=2, l2=l2)
    landscape = models.ModelLandscape(model, digits)
    model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras_loss = model.evaluate(digits.x_train, digits.y_train, batch_size=len(digits.x_train), verbose=0)
    assert float(landscape.loss(landscape.params)) == pytest.approx(keras_loss, rel=1e-5)
    # At another point: write it into the model and ask Keras again.
    other = landscape.initial_params(5)
    ours = float(landscape.loss(other))
    landscape.assign(other)
    keras_other = model.evaluate(digits.x_train, digits.y_train, batch_size=64, verbose=0)
    assert ours == pytest.approx(keras_other, rel=1e-4)


def test_loss_does_not_modify_the_model(mlp_landscape):
    before = mlp_landscape.params.numpy().copy()
    mlp_landscape.loss(mlp_landscape.initial_params(3))
    mlp_landscape.loss_and_grad(mlp_landscape.initial_params(4))
    np.testing.assert_array_equal(before, mlp_landscape.params.numpy())


def test_model_gradient_matches_finite_difference(mlp_landscape):
    params = mlp_landscape.initial_params(1)
    _, grad = mlp_landscape.loss_and_grad(params)
    direction = tf.random.stateless_normal([mlp_landscape.dim], seed=[3, 4])
    direction /= tf.norm(direction)
    step = 1e-2
    numeric = (float(mlp_landscape.loss(params + step * direction))
               - float(mlp_landscape.loss(params - step * direction))) / (2 * step)
    assert float(tf.reduce_sum(grad * direction)) == pytest.approx(numeric, rel=2e-2, abs=1e-4)


def test_initial_params_seeded_and_model_untouched(mlp_landscape):
    before = mlp_landscape.params.numpy().copy()
    a, b, c = (mlp_landscape.initial_params(s).numpy() for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(before, mlp_landscape.params.numpy())


def test_minibatches_cover_an_epoch(digits):
    model = models.mlp(digits.input_shape, digits.num_classes, widths=(8,), seed=0)
    full = models.ModelLandscape(model, digits)
    batched = models.ModelLandscape(model, digits, batch_size=100)
    params = full.params
    # Three batches of 100 out of 300 examples: their mean loss is the full loss.
    losses = [float(batched.minibatch_loss_and_grad(params, tf.constant(step))[0]) for step in range(3)]
    assert np.mean(losses) == pytest.approx(float(full.loss(params)), rel=1e-5)


def test_training_a_real_network_learns(mlp_landscape):
    start = mlp_landscape.initial_params(0)
    result = train.minimize(mlp_landscape, start, steps=200, learning_rate=1e-2)
    assert result.final_loss < 0.5 * float(mlp_landscape.loss(start))
    assert mlp_landscape.accuracy(result.params) > 0.8
    assert mlp_landscape.predict(result.params).shape == (300,)


def test_model_landscape_bad_input(digits, mlp_landscape):
    with pytest.raises(TypeError, match="model"):
        models.ModelLandscape("not a model", digits)
    with pytest.raises(TypeError, match="data"):
        models.ModelLandscape(mlp_landscape.model, "digits")
    with pytest.raises(ValueError, match="batch_size"):
        models.ModelLandscape(mlp_landscape.model, digits, batch_size=0)
    with pytest.raises(ValueError, match=f"length {mlp_landscape.dim}"):
        mlp_landscape.loss(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="split"):
        mlp_landscape.accuracy(mlp_landscape.params, split="valid")
    with pytest.raises(ValueError, match="dropout"):
        models.mlp((8, 8, 1), dropout=1.5)


# -- data ------------------------------------------------------------------------------
def test_digits_works_offline():
    dataset = data.load_dataset("digits")
    assert dataset.input_shape == (8, 8, 1)
    assert len(dataset.x_train) + len(dataset.x_test) == 1797
    assert dataset.x_train.dtype == np.float32 and 0 <= dataset.x_train.min() and dataset.x_train.max() <= 1
    assert set(np.unique(dataset.y_train)) == set(range(10))


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="name must be one of 'digits'"):
        data.load_dataset("imagenet")


def test_download_failure_says_what_to_do(monkeypatch):
    def offline():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tf.keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError) as error:
        data.load_dataset("cifar10")
    message = str(error.value)
    assert "~/.keras/datasets" in message and "load_dataset('digits')" in message and "internet" in message


# -- training --------------------------------------------------------------------------
def test_minimize_reaches_a_wedge_and_records_trajectory():
    landscape = toy.WedgeLandscape(40, 30)
    start = landscape.initial_params(0)
    result = train.minimize(landscape, start, steps=300, learning_rate=1e-2, schedule="cosine", record_every=50)
    assert result.final_loss < 1e-3 * float(landscape.loss(start))
    assert result.losses.shape == (300,)
    assert result.trajectory.shape == (7, 40)
    np.testing.assert_array_equal(result.trajectory[0], start.numpy())
    np.testing.assert_array_equal(result.trajectory[-1], result.params)
    # Gradient descent only shrinks the short coordinates: it lands on the nearest wedge.
    assert landscape.same_wedge(start, result.params)


@pytest.mark.parametrize("optimizer", train.OPTIMIZERS)
def test_every_optimizer_descends(optimizer):
    landscape = toy.WedgeLandscape(20, 10)
    start = landscape.initial_params(1)
    result = train.minimize(landscape, start, steps=100, learning_rate=1e-2, optimizer=optimizer)
    assert result.final_loss < 0.5 * float(landscape.loss(start))


def test_minimize_is_deterministic():
    landscape = toy.WedgeLandscape(30, 20, rotate=True)
    first = train.minimize(landscape, landscape.initial_params(2), steps=50)
    second = train.minimize(landscape, landscape.initial_params(2), steps=50)
    np.testing.assert_array_equal(first.params, second.params)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(learning_rate=-1.0), ValueError, "learning_rate"),
        (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of"),
        (dict(schedule="step"), ValueError, "schedule must be one of"),
        (dict(record_every=-2), ValueError, "record_every"),
    ],
)
def test_minimize_bad_input(kwargs, error, words):
    landscape = toy.WedgeLandscape(5, 2)
    with pytest.raises(error, match=words):
        train.minimize(landscape, landscape.initial_params(0), **kwargs)


# -- paths -----------------------------------------------------------------------------
def test_linear_path_endpoints_and_bad_input():
    landscape = toy.WedgeLandscape(3, 1)
    a = np.array([2.0, 0.0, 0.0], np.float32)
    b = np.array([0.0, 2.0, 0.0], np.float32)
    profile = paths.linear_path(landscape, a, b, num=5)
    np.testing.assert_allclose(profile.t, [0, 0.25, 0.5, 0.75, 1])
    # At the midpoint (1, 1, 0) the two smallest |coordinates| are 1 and 0.
    np.testing.assert_allclose(profile.loss, [0, np.hypot(0.5, 0), 1.0, 0.5, 0], atol=1e-6)
    with pytest.raises(ValueError, match="differ"):
        paths.linear_path(landscape, a, a)
    with pytest.raises(ValueError, match="length 3"):
        paths.linear_path(landscape, a, np.zeros(4, np.float32))


def test_polyline_samples_between_vertices():
    landscape = toy.WedgeLandscape(2, 1)
    corner = np.zeros(2, np.float32)
    profile = paths.polyline_path(landscape, [[2.0, 0.0], corner, [0.0, 2.0]], num=9)
    assert profile.max_loss == 0.0
    assert profile.t[4] == 0.5


# -- cache -----------------------------------------------------------------------------
def test_cache_round_trip_without_pickle(tmp_path):
    store = cache.ResultCache(tmp_path)
    config = {"dim": 10, "n": 8, "seeds": [0, 1], "start": np.arange(3.0)}
    calls = []

    def compute():
        calls.append(1)
        return train.MinimizeResult(params=np.arange(4, dtype=np.float32), losses=np.ones(3), final_loss=0.5)

    first = store.get_or_compute("demo", config, compute, train.MinimizeResult)
    second = store.get_or_compute("demo", config, compute, train.MinimizeResult)
    assert len(calls) == 1
    for field in dataclasses.fields(first):
        np.testing.assert_array_equal(getattr(first, field.name), getattr(second, field.name))
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npz"]
    # A different configuration is a different entry.
    store.get_or_compute("demo", dict(config, dim=11), compute, train.MinimizeResult)
    assert len(calls) == 2


def test_config_hash_is_order_independent_and_content_sensitive():
    assert cache.config_hash({"a": 1, "b": 2}) == cache.config_hash({"b": 2, "a": 1})
    assert cache.config_hash({"a": np.zeros(3)}) != cache.config_hash({"a": np.ones(3)})
    with pytest.raises(TypeError, match="config values"):
        cache.config_hash({"a": object()})


# -- scales, seeding, geometry ------------------------------------------------------------
def test_scales(monkeypatch):
    assert scale.get_scale("quick").dataset == "digits"
    assert scale.get_scale("paper").model == "simple_cnn"
    monkeypatch.setenv("LANDSCAPE_SCALE", "paper")
    assert scale.get_scale().name == "paper"
    with pytest.raises(ValueError, match="scale must be one of 'quick', 'paper'"):
        scale.get_scale("huge")
    monkeypatch.setenv("LANDSCAPE_SCALE", "medium")
    with pytest.raises(ValueError, match="LANDSCAPE_SCALE"):
        scale.get_scale()
    for preset in scale.SCALES.values():
        assert 0 < preset.toy_n < preset.toy_dim


def test_set_seed_makes_numpy_and_tensorflow_repeat():
    core.set_seed(3)
    first = (np.random.rand(), float(tf.random.uniform([])))
    core.set_seed(3)
    assert first == (np.random.rand(), float(tf.random.uniform([])))
    with pytest.raises(ValueError, match="seed"):
        core.set_seed(-1)


def test_high_dimensional_geometry():
    spread = [np.std(highdim.random_cosines(d, 4000)) for d in (10, 1000)]
    assert spread[0] == pytest.approx(1 / np.sqrt(10), rel=0.1)
    assert spread[1] == pytest.approx(1 / np.sqrt(1000), rel=0.1)
    assert abs(np.mean(highdim.gaussian_norms(2000, 500)) - 1) < 0.01
    assert highdim.shell_volume_fraction(1000, 0.01) > 0.99
    # A hyperplane is always crossed; a codimension-2 subspace almost never.
    assert np.all(highdim.line_distance_to_subspace(10, 9) < 1e-9)
    assert np.mean(highdim.line_distance_to_subspace(10, 8) < 1e-3) < 0.01


def test_minimize_from_seeds_matches_single_runs():
    landscape = toy.WedgeLandscape(30, 25)
    runs = train.minimize_from_seeds(landscape, [3, 4], steps=40, learning_rate=1e-2)
    single = train.minimize(landscape, landscape.initial_params(4), steps=40, learning_rate=1e-2)
    np.testing.assert_array_equal(runs[1].params, single.params)
    with pytest.raises(ValueError, match="seeds"):
        train.minimize_from_seeds(landscape, [])
