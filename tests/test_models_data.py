"""Real networks as landscapes, and the datasets (offline ones, and Keras' loaders on test data)."""
import numpy as np
import pytest
import tensorflow as tf

import keras_cache
from landscape import core, data, models, train


@pytest.mark.parametrize("builder, l2", [(models.mlp, 0.0), (models.simple_cnn, 1e-3)])
def test_model_landscape_loss_equals_keras_evaluate(digits_small, builder, l2):
    model = builder(digits_small.input_shape, digits_small.num_classes, seed=2, l2=l2)
    landscape = models.ModelLandscape(model, digits_small)
    model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras_loss = model.evaluate(digits_small.x_train, digits_small.y_train, batch_size=300, verbose=0)
    assert float(landscape.loss(landscape.params)) == pytest.approx(keras_loss, rel=1e-5)
    other = landscape.initial_params(5)
    ours = float(landscape.loss(other))
    landscape.assign(other)
    assert ours == pytest.approx(model.evaluate(digits_small.x_train, digits_small.y_train, batch_size=64,
                                                verbose=0), rel=1e-4)


def test_batched_losses_equal_single_losses(tiny_network):
    points = np.stack([tiny_network.initial_params(s).numpy() for s in range(3)])
    single = [float(tiny_network.loss(p)) for p in points]
    np.testing.assert_allclose(tiny_network.losses(points), single, rtol=1e-5)
    assert isinstance(tiny_network, core.BatchedLoss) and isinstance(tiny_network, core.Classifier)


def test_loss_does_not_modify_the_model(tiny_network):
    before = tiny_network.params.numpy().copy()
    tiny_network.loss(tiny_network.initial_params(3))
    tiny_network.loss_and_grad(tiny_network.initial_params(4))
    np.testing.assert_array_equal(before, tiny_network.params.numpy())


def test_model_gradient_matches_finite_difference(tiny_network):
    params = tiny_network.initial_params(1)
    _, grad = tiny_network.loss_and_grad(params)
    direction = tf.random.stateless_normal([tiny_network.dim], seed=[3, 4])
    direction /= tf.norm(direction)
    step = 1e-2
    numeric = (float(tiny_network.loss(params + step * direction))
               - float(tiny_network.loss(params - step * direction))) / (2 * step)
    assert float(tf.reduce_sum(grad * direction)) == pytest.approx(numeric, rel=2e-2, abs=1e-4)


def test_initial_params_seeded_and_model_untouched(tiny_network):
    before = tiny_network.params.numpy().copy()
    a, b, c = (tiny_network.initial_params(s).numpy() for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(before, tiny_network.params.numpy())


def test_minibatches_cover_an_epoch(digits_small):
    model = models.mlp(digits_small.input_shape, digits_small.num_classes, widths=(8,), seed=0)
    full = models.ModelLandscape(model, digits_small)
    batched = models.ModelLandscape(model, digits_small, batch_size=100)
    params = full.params
    losses = [float(batched.minibatch_loss_and_grad(params, tf.constant(step))[0]) for step in range(3)]
    assert np.mean(losses) == pytest.approx(float(full.loss(params)), rel=1e-5)


def test_training_a_real_network_learns(tiny_network):
    start = tiny_network.initial_params(0)
    result = train.minimize(tiny_network, start, steps=200, learning_rate=1e-2)
    assert result.final_loss < 0.5 * float(tiny_network.loss(start))
    assert tiny_network.accuracy(result.params) > 0.8
    assert tiny_network.predict(result.params).shape == (300,)
    probabilities = tiny_network.probabilities(result.params, tiny_network.dataset.x_test)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(probabilities.argmax(axis=1), tiny_network.predict(result.params,
                                                                             tiny_network.dataset.x_test))


def test_with_examples_keeps_the_model_on_fewer_examples(tiny_network):
    fewer = tiny_network.with_examples(50)
    assert fewer.num_examples == 50 and fewer.dim == tiny_network.dim and fewer.dataset is None
    params = tiny_network.initial_params(2)
    first = models.ModelLandscape(tiny_network.model, (tiny_network.x_train[:50].numpy(),
                                                       tiny_network.y_train[:50].numpy()))
    assert float(fewer.loss(params)) == pytest.approx(float(first.loss(params)), rel=1e-6)


def test_cnn1d_on_mnist1d():
    dataset = data.load_dataset("mnist1d", max_train=200, max_test=100)
    model = models.cnn1d(dataset.input_shape, 10, channels=(8, 8))
    landscape = models.ModelLandscape(model, dataset, batch_size=50)
    result = train.minimize(landscape, landscape.initial_params(0), steps=40, learning_rate=1e-2)
    assert result.final_loss < float(landscape.loss(landscape.initial_params(0)))


# -- data ------------------------------------------------------------------------------
def test_digits_works_offline():
    dataset = data.load_dataset("digits")
    assert dataset.input_shape == (8, 8, 1)
    assert len(dataset.x_train) + len(dataset.x_test) == 1797
    assert dataset.x_train.dtype == np.float32 and 0 <= dataset.x_train.min() and dataset.x_train.max() <= 1
    assert set(np.unique(dataset.y_train)) == set(range(10))


def test_mnist1d_is_generated_in_memory_and_keeps_the_global_random_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written (no pickle, no download)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    dataset = data.load_dataset("mnist1d")
    assert np.random.rand() == expected
    assert dataset.input_shape == (40, 1) and (len(dataset.x_train), len(dataset.x_test)) == (8000, 2000)
    assert set(np.unique(dataset.y_test)) == set(range(10)) and dataset.x_train.dtype == np.float32
    assert not list(tmp_path.iterdir())
    again = data.load_dataset("mnist1d", max_train=10)
    np.testing.assert_array_equal(again.x_test, dataset.x_test)
    large = data.load_dataset("mnist1d_large")
    assert (len(large.x_train), len(large.x_test)) == (20_000, 5_000) and large.input_shape == (40, 1)
    assert set(np.unique(large.y_test)) == set(range(10))


def test_keras_loaders_read_their_cache_layout(tmp_path, monkeypatch):
    home = keras_cache.write_keras_home(tmp_path / "keras")
    keras_cache.accept_fake_archives(home)
    mnist = data.load_dataset("mnist", max_train=100)
    assert mnist.input_shape == (28, 28, 1) and len(mnist.x_train) == 100 and len(mnist.x_test) == 256
    cifar = data.load_dataset("cifar10", max_train=64, max_test=32)
    assert cifar.input_shape == (32, 32, 3) and cifar.num_classes == 10 and cifar.y_train.dtype == np.int32
    assert 0 <= cifar.x_train.min() and cifar.x_train.max() <= 1


def test_download_failure_says_what_to_do(monkeypatch):
    def offline():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tf.keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError) as error:
        data.load_dataset("cifar10")
    message = str(error.value)
    assert "~/.keras/datasets" in message and "load_dataset('digits')" in message and "internet" in message


def test_dropout_draws_new_masks_every_step_and_none_when_evaluating(digits_small):
    model = models.mlp(digits_small.input_shape, 10, widths=(32,), dropout=0.5, seed=0)
    landscape = models.ModelLandscape(model, digits_small)
    params = landscape.params
    first, second, again = (float(landscape.minibatch_loss_and_grad(params, tf.constant(s))[0]) for s in (0, 1, 0))
    assert first != second and first == again  # a new mask per step, the same for the same step
    assert float(landscape.loss(params)) == float(landscape.loss(params))  # dropout off when evaluating


def test_build_chooses_an_architecture_by_name():
    cnn = models.build("cnn1d", (40, 1), 10, (8, 8), dropout=0.2, seed=1)
    assert cnn.name == "cnn1d" and any(isinstance(layer, tf.keras.layers.Dropout) for layer in cnn.layers)
    net = models.build("mlp", (8, 8, 1), 10, (16,))
    assert net.count_params() == 64 * 16 + 16 + 16 * 10 + 10
    with pytest.raises(ValueError, match="architecture must be one of"):
        models.build("resnet", (8, 8, 1), 10, (16,))
