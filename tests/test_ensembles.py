"""Snapshot ensembles, weight averaging and independent ensembles (landscape.ensembles), and
MNIST-1D, the data set of their chapter."""
import random

import numpy as np
import pytest
import tensorflow as tf

from landscape import core, data, ensembles, models


# -- the schedule -------------------------------------------------------------------------------------
def test_schedule_falls_along_a_cosine_and_restarts():
    schedule = ensembles.CyclicSchedule(3, 10, 1.0, min_lr=0.1)
    np.testing.assert_allclose(schedule.rate([0, 5, 10, 15, 20, 30]), [1.0, 0.55, 1.0, 0.55, 1.0, 0.1], atol=1e-12)
    assert schedule.rate(9.999) == pytest.approx(0.1, abs=1e-6)  # the end of a cycle, just before the restart
    assert (schedule.epochs, schedule.kept) == (30, 3)
    np.testing.assert_array_equal(schedule.snapshot_epochs, [10, 20, 30])
    kept = ensembles.CyclicSchedule(3, 10, 1.0, snapshots=2)
    assert kept.kept == 2 and list(kept.snapshot_epochs) == [20, 30]


def _sgd_by_hand(landscape, start, schedule, per_epoch, clip_norm, momentum):
    """The same training written out step by step with the landscape's full gradient."""
    params, velocity, snapshots = np.asarray(start, np.float64), 0.0, []
    for step in range(schedule.epochs * per_epoch):
        _, grad = landscape.loss_and_grad(params.astype(np.float32))
        grad = grad.numpy().astype(np.float64)
        if clip_norm > 0:
            grad *= min(1.0, clip_norm / np.linalg.norm(grad))
        velocity = momentum * velocity + grad
        params = params - schedule.rate(step / per_epoch) * velocity
        if (step + 1) % (schedule.epochs_per_cycle * per_epoch) == 0:
            snapshots.append(params)
    return np.array(snapshots[schedule.cycles - schedule.kept:])


@pytest.mark.parametrize("optimizer, clip_norm", [("sgd", 0.0), ("momentum", 0.5)])
def test_cyclic_training_is_sgd_with_the_schedule(tiny_network, optimizer, clip_norm):
    # Full batch (one step per epoch): the minibatch order does not matter.
    schedule = ensembles.CyclicSchedule(2, 3, 0.5, min_lr=0.05)
    start = tiny_network.initial_params(1).numpy()
    run = ensembles.train_cyclic(tiny_network, start, schedule, optimizer=optimizer, clip_norm=clip_norm)
    expected = _sgd_by_hand(tiny_network, start, schedule, 1, clip_norm, 0.9 if optimizer == "momentum" else 0.0)
    assert run.snapshots.shape == (1, 2, tiny_network.dim) and run.epoch_loss.shape == (1, 6)
    np.testing.assert_allclose(run.snapshots[0], expected, rtol=2e-4, atol=2e-5)
    assert run.epoch_loss[0, -1] < run.epoch_loss[0, 0]
    assert run.schedule(0) == schedule


def test_snapshots_are_the_ends_of_the_last_cycles(digits_small):
    landscape = models.ModelLandscape(models.mlp(digits_small.input_shape, 10, widths=(8,)), digits_small,
                                      batch_size=100)
    start = landscape.initial_params(0).numpy()
    every = ensembles.train_cyclic(landscape, start, ensembles.CyclicSchedule(3, 1, 0.5))
    last_two = ensembles.train_cyclic(landscape, start, ensembles.CyclicSchedule(3, 1, 0.5, snapshots=2))
    assert every.snapshots.shape == (1, 3, landscape.dim) and last_two.snapshots.shape == (1, 2, landscape.dim)
    np.testing.assert_array_equal(last_two.snapshots, every.snapshots[:, 1:])
    np.testing.assert_array_equal(every.final, every.snapshots[:, -1])
    assert every.epochs == 3 and every.epoch_loss.shape == (1, 3)


def test_members_trained_together_equal_members_trained_alone(digits_small):
    landscape = models.ModelLandscape(models.mlp(digits_small.input_shape, 10, widths=(8,)), digits_small,
                                      batch_size=50)
    start = landscape.initial_params(0).numpy()
    low, high = ensembles.CyclicSchedule(2, 1, 0.1), ensembles.CyclicSchedule(2, 1, 0.4)
    together = ensembles.train_cyclic(landscape, [start, start], [low, high], order_seeds=[7, 7])
    alone = ensembles.train_cyclic(landscape, start, high, order_seeds=[7])
    np.testing.assert_allclose(together.snapshots[1], alone.snapshots[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(together.snapshots[0], together.snapshots[1])
    np.testing.assert_array_equal(together.max_lr, [0.1, 0.4])
    # The trace is kept: another run of the same configuration is not traced again.
    before = ensembles._cyclic_loop.tracing_count()
    ensembles.train_cyclic(landscape, [start, start], [high, low], order_seeds=[1, 2])
    assert ensembles._cyclic_loop.tracing_count() == before


def test_independent_members_start_from_their_seeds(digits_small):
    landscape = models.ModelLandscape(models.mlp(digits_small.input_shape, 10, widths=(8,)), digits_small,
                                      batch_size=100)
    run = ensembles.independent_members(landscape, [3, 4], ensembles.CyclicSchedule(1, 2, 0.2))
    alone = ensembles.train_cyclic(landscape, landscape.initial_params(4).numpy(), ensembles.CyclicSchedule(1, 2, 0.2),
                                   order_seeds=[4])
    assert run.final.shape == (2, landscape.dim)
    np.testing.assert_allclose(run.final[1], alone.final[0], rtol=1e-5, atol=1e-6)


def test_cyclic_loop_compiles_under_xla(tiny_network, digits_small):
    # Full batch, the same numbers; with minibatches XLA derives other random orders from the seeds.
    start = tiny_network.initial_params(0).numpy()
    schedule = ensembles.CyclicSchedule(2, 1, 0.3)
    plain = ensembles.train_cyclic(tiny_network, start, schedule)
    batched = models.ModelLandscape(tiny_network.model, digits_small, batch_size=100)
    core.use_xla(True)
    try:
        compiled = ensembles.train_cyclic(tiny_network, start, schedule)
        minibatches = ensembles.train_cyclic(batched, [start, start], [schedule, schedule])
    finally:
        core.use_xla(False)
    np.testing.assert_allclose(compiled.snapshots, plain.snapshots, rtol=1e-4, atol=1e-5)
    assert np.all(minibatches.epoch_loss[:, -1] < minibatches.epoch_loss[:, 0])


def test_divergence_is_reported_with_the_learning_rate(digits_small):
    landscape = models.ModelLandscape(models.mlp(digits_small.input_shape, 10, widths=(8,), activation="relu"),
                                      digits_small, batch_size=100)
    start = landscape.initial_params(0).numpy()
    with pytest.raises(FloatingPointError, match="diverged .* max_lr in 1e\\+30"):
        ensembles.train_cyclic(landscape, [start, start], [ensembles.CyclicSchedule(1, 2, 0.1),
                                                           ensembles.CyclicSchedule(1, 2, 1e30)], clip_norm=0.0)


# -- weight averaging and the measures -------------------------------------------------------------
def test_averaging_identical_members_changes_nothing(tiny_network):
    member = tiny_network.initial_params(2).numpy()
    np.testing.assert_array_equal(ensembles.average_weights([member, member, member]), member)
    report = ensembles.evaluate_members(tiny_network, [member, member, member], epochs=5, barrier_points=5)
    accuracy = tiny_network.accuracy(member, "test")
    assert report.member_accuracy.tolist() == [accuracy] * 3
    assert report.average_accuracy == report.ensemble_accuracy == accuracy
    assert report.average_loss == pytest.approx(report.member_loss[0]) and report.ensemble_loss == pytest.approx(
        report.member_loss[0])
    assert report.mean_disagreement == 0 and np.all(report.barriers == 0) and report.epochs == 5
    assert report.barrier_loss.shape == (2, 5)


def test_measures_of_an_ensemble(tiny_network):
    members = np.stack([tiny_network.initial_params(s).numpy() for s in range(3)])
    report = ensembles.evaluate_members(tiny_network, members, name="three", barrier_points=7)
    x, y = tiny_network.split("test")
    probabilities = np.stack([tiny_network.probabilities(m, x) for m in members])
    labels = probabilities.argmax(axis=2)
    np.testing.assert_allclose(report.member_accuracy, (labels == y).mean(axis=1))
    assert report.ensemble_accuracy == pytest.approx(float((probabilities.mean(0).argmax(1) == y).mean()))
    assert report.average_accuracy == tiny_network.accuracy(members.mean(axis=0), "test")
    assert report.disagreement[0, 1] == pytest.approx(float((labels[0] != labels[1]).mean()))
    np.testing.assert_array_equal(np.diag(report.disagreement), 0)
    line = np.array([tiny_network.loss((1 - t) * members[0] + t * members[1]) for t in report.barrier_t])
    np.testing.assert_allclose(report.barrier_loss[0], line, rtol=1e-4)
    assert report.barriers[0] == pytest.approx(line.max() - (line[0] + line[-1]) / 2, rel=1e-4)
    assert report.member_correct.shape == (3, len(y)) and report.row()["members"] == 3
    assert report.best == int(np.argmax(report.member_accuracy))


def test_disagreement_matrix():
    labels = np.array([[0, 1, 2, 3], [0, 1, 2, 0], [1, 1, 1, 1]])
    np.testing.assert_allclose(ensembles.disagreement(labels), [[0, 0.25, 0.75], [0.25, 0, 0.75], [0.75, 0.75, 0]])


# -- batch normalization ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch_norm_network():
    dataset = data.load_dataset("mnist1d", max_train=400, max_test=200)
    inputs = tf.keras.Input(dataset.input_shape)
    hidden = tf.keras.layers.Conv1D(8, 5, strides=2, padding="same", name="conv")(inputs)
    hidden = tf.keras.layers.BatchNormalization(name="bn")(hidden)
    hidden = tf.keras.layers.LeakyReLU(0.2)(hidden)
    inner = tf.keras.Sequential([tf.keras.Input(hidden.shape[1:]), tf.keras.layers.Conv1D(8, 5, strides=2),
                                 tf.keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    outputs = tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(inner(hidden)))
    return models.ModelLandscape(tf.keras.Model(inputs, outputs), dataset, batch_size=100)


def test_batch_norm_layers_are_found_in_nested_models(batch_norm_network):
    assert [layer.name for layer in ensembles.batch_norm_layers(batch_norm_network.model)] == ["bn", "inner_bn"]
    assert ensembles.batch_norm_layers(models.cnn1d((40, 1))) == []


def test_batch_norm_statistics_are_the_data_statistics_at_the_averaged_weights(batch_norm_network):
    landscape = batch_norm_network
    starts = np.stack([landscape.initial_params(s).numpy() for s in (0, 1)])
    run = ensembles.train_cyclic(landscape, starts, ensembles.CyclicSchedule(2, 2, 0.2))
    average = ensembles.average_weights(run.snapshots.reshape(-1, landscape.dim))
    state = ensembles.batch_norm_statistics(landscape, average, examples=400)
    # The first batch norm sees the convolution's outputs: their moments over examples and positions.
    weights = dict(zip([v.path for v in landscape.model.trainable_variables], landscape.view.unflatten(average)))
    conv = tf.nn.conv1d(landscape.x_train, weights["conv/kernel"], 2, "SAME") + weights["conv/bias"]
    mean, variance = tf.nn.moments(conv, axes=[0, 1])
    paths = [v.path for v in landscape.model.non_trainable_variables]
    np.testing.assert_allclose(state[paths.index("bn/moving_mean")], mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state[paths.index("bn/moving_variance")], variance, rtol=1e-4, atol=1e-5)
    inner_variance = state[paths.index("inner/inner_bn/moving_variance")].numpy()
    assert np.all(inner_variance > 0) and not np.allclose(inner_variance, 1.0)  # recomputed, not the initial 1
    # The model itself is untouched, and a model without batch norm keeps its state.
    np.testing.assert_array_equal(landscape.model.non_trainable_variables[paths.index("bn/moving_variance")], 1.0)
    report = ensembles.evaluate_members(landscape, run.snapshots[0], barrier_points=3, batch_norm_examples=400)
    # The same averaged weights with the model's stored (initial) statistics predict something else:
    # compared by the loss, a continuous quantity (two accuracies on 200 images can tie by chance). After
    # two short cycles the statistics move the loss by a few parts in a thousand; rounding, by 1e-7.
    x_test, y_test = landscape.split("test")
    stored = landscape.probabilities(ensembles.average_weights(run.snapshots[0]), x_test)
    stored_loss = -np.mean(np.log(stored[np.arange(len(y_test)), y_test]))
    assert not np.isclose(report.average_loss, stored_loss, rtol=1e-4, atol=0) and np.all(np.isfinite(report.barriers))


# -- MNIST-1D ---------------------------------------------------------------------------------------
def test_mnist1d_generator_is_bit_identical_to_the_package():
    mnist1d_data = pytest.importorskip("mnist1d.data")
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    ours = data.make_mnist1d(500)
    assert np.random.rand() == expected  # NumPy's global random state untouched
    args = mnist1d_data.get_dataset_args()
    args.num_samples = 500
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        theirs = mnist1d_data.make_dataset(args)  # reseeds the global generators
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    for mine, key in zip(ours, ("x", "y", "x_test", "y_test")):
        np.testing.assert_array_equal(mine, theirs[key])
    assert ours[0].shape == (400, 40) and ours[2].shape == (100, 40)
