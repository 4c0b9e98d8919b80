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


# -- reading a trajectory at a training loss ------------------------------------------------------------
def _run_by_hand(epoch_loss, cycles, epochs_per_cycle, kept=None, dim=3):
    """A CyclicRun whose weights at the end of epoch e (1-based) of member k are all 100 k + e, so
    that the weights read show the member and the epoch they were read at."""
    count, epochs = np.shape(epoch_loss)
    stamps = 100.0 * np.arange(count)[:, None] + np.arange(1, epochs + 1)[None, :]
    epoch_params = np.repeat(stamps[:, :, None], dim, axis=2).astype(np.float32)
    kept = cycles if kept is None else kept
    snapshots = epoch_params[:, epochs_per_cycle * np.arange(cycles - kept + 1, cycles + 1) - 1]
    return ensembles.CyclicRun(snapshots=snapshots, epoch_loss=np.asarray(epoch_loss, np.float32),
                               max_lr=np.ones(count), min_lr=np.zeros(count), cycles=cycles,
                               epochs_per_cycle=epochs_per_cycle, epochs=epochs, epoch_params=epoch_params)


def test_at_loss_reads_each_cycle_at_the_epoch_closest_to_its_target():
    # Two cycles of four epochs; targets 0.45 and 0.26: the nearest losses are 0.5 (epoch 3) and 0.25 (epoch 8).
    run = _run_by_hand([[4.0, 1.0, 0.5, 0.2, 3.0, 0.9, 0.3, 0.25]], cycles=2, epochs_per_cycle=4)
    weights, epochs = run.at_loss(0, [0.45, 0.26])
    assert epochs.tolist() == [3, 8]
    np.testing.assert_array_equal(weights, [[3.0] * 3, [8.0] * 3])
    # One target for every cycle; below every loss of a cycle: its end; above: its first epoch.
    assert run.at_loss(0, 1e-3)[1].tolist() == [4, 8]
    assert run.at_loss(0, 10.0)[1].tolist() == [1, 5]
    # Closest in ratio, not in difference: 0.3 is 3.3 times below 1.0 but 6 times above 0.05.
    assert run.at_loss(0, 0.3, losses=[2.0, 1.0, 0.05, 0.04, 2.0, 1.0, 0.05, 0.04])[1].tolist() == [2, 6]


def test_at_loss_reads_only_the_cycles_with_a_snapshot_and_the_given_member():
    loss = np.array([[1.0, 0.5, 1.0, 0.5, 1.0, 0.5], [1.0, 0.1, 1.0, 0.1, 1.0, 0.1]])
    run = _run_by_hand(loss, cycles=3, epochs_per_cycle=2, kept=2)
    weights, epochs = run.at_loss(1, [0.9, 0.2])
    assert epochs.tolist() == [3, 6]  # cycles 2 and 3: epoch 3 (loss 1.0, near 0.9), epoch 6 (0.1, near 0.2)
    np.testing.assert_array_equal(weights[:, 0], [103.0, 106.0])


def test_every_epoch_is_kept_and_its_loss_measured(tiny_network):
    # Full batch: the loss of epoch e + 1's one step is the loss at the weights epoch e ended with.
    schedule = ensembles.CyclicSchedule(2, 3, 0.5)
    starts = np.stack([tiny_network.initial_params(s).numpy() for s in (0, 1)])
    run = ensembles.train_cyclic(tiny_network, starts, schedule, keep_epochs=True)
    assert run.epoch_params.shape == (2, 6, tiny_network.dim)
    np.testing.assert_array_equal(run.epoch_params[:, [2, 5]], run.snapshots)
    measured = ensembles.epoch_losses(tiny_network, run)
    assert measured.shape == (2, 6)
    np.testing.assert_allclose(measured[:, :-1], run.epoch_loss[:, 1:], rtol=1e-4)
    plain = ensembles.train_cyclic(tiny_network, starts, schedule)
    assert plain.epoch_params is None
    np.testing.assert_allclose(plain.snapshots, run.snapshots, rtol=1e-6, atol=1e-7)


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


def _line(landscape, a, b, points):
    return np.array([float(landscape.loss((1 - t) * a + t * b)) for t in np.linspace(0, 1, points)])


def test_report_properties_from_the_members_themselves(tiny_network):
    members = np.stack([tiny_network.initial_params(s).numpy() for s in (4, 5, 6)])
    report = ensembles.evaluate_members(tiny_network, members, barrier_points=5)
    x, y = tiny_network.split("test")
    probabilities = np.stack([tiny_network.probabilities(m, x) for m in members])
    correct = probabilities.argmax(axis=2) == y
    average_correct = tiny_network.probabilities(members.mean(axis=0), x).argmax(axis=1) == y
    losses = np.array([float(tiny_network.loss(m)) for m in members])
    lines = [_line(tiny_network, members[i], members[i + 1], 5) for i in range(2)]
    barriers = np.array([line.max() - (line[0] + line[-1]) / 2 for line in lines])
    np.testing.assert_allclose(report.member_train_loss, losses, rtol=1e-4)
    assert report.mean_train_loss == pytest.approx(losses.mean(), rel=1e-4)
    np.testing.assert_allclose(report.barrier_ratios, barriers / [(losses[0] + losses[1]) / 2,
                                                                 (losses[1] + losses[2]) / 2], rtol=1e-3)
    assert report.barrier_ratio == pytest.approx(float(np.max(report.barrier_ratios)))
    assert report.max_barrier == pytest.approx(barriers.max(), rel=1e-3)
    assert report.mean_member_accuracy == pytest.approx(correct.mean())
    assert report.swa_gap == pytest.approx(average_correct.mean() - correct.mean())
    assert report.ensemble_gain == pytest.approx((probabilities.mean(0).argmax(1) == y).mean() - correct.mean())
    np.testing.assert_array_equal(report.member_correct, correct)
    np.testing.assert_array_equal(report.average_correct, average_correct)
    np.testing.assert_array_equal(report.ensemble_correct, probabilities.mean(0).argmax(1) == y)


@pytest.fixture(scope="module")
def sweep_members(tiny_network):
    """(starts 2, rates 2, snapshots 3, D): distinct random networks, so every measure differs."""
    return np.stack([tiny_network.initial_params(s).numpy() for s in range(12)]).reshape(2, 2, 3, tiny_network.dim)


def test_sweep_measures_every_run_and_its_later_snapshots(tiny_network, sweep_members):
    sweep = ensembles.evaluate_sweep(tiny_network, sweep_members, [0.1, 0.2], later_from=1, epochs=7,
                                     barrier_points=3)
    assert sweep.seeds == 2 and sweep.later_from == 1 and sweep.max_lr.tolist() == [0.1, 0.2]
    x, y = tiny_network.split("test")
    accuracy = np.array([[[float(np.mean(tiny_network.probabilities(m, x).argmax(1) == y)) for m in run]
                          for run in start] for start in sweep_members])  # (2, 2, 3)
    average = np.array([[tiny_network.probabilities(run.mean(0), x).argmax(1) == y for run in start]
                        for start in sweep_members])
    later_average = np.array([[tiny_network.probabilities(run[1:].mean(0), x).argmax(1) == y for run in start]
                              for start in sweep_members])
    for s in range(2):
        for r in range(2):
            full, later = sweep.reports[s][r], sweep.later[s][r]
            np.testing.assert_allclose(full.member_accuracy, accuracy[s, r])
            np.testing.assert_allclose(later.member_accuracy, accuracy[s, r, 1:])
            assert later.average_accuracy == pytest.approx(later_average[s, r].mean())
            line = _line(tiny_network, sweep_members[s, r, 1], sweep_members[s, r, 2], 3)
            np.testing.assert_allclose(later.barrier_loss, [line], rtol=1e-4)
            np.testing.assert_allclose(full.barrier_loss[1], line, rtol=1e-4)
            assert full.epochs == later.epochs == 7 and f"{[0.1, 0.2][r]:g}" in full.name
    np.testing.assert_allclose(sweep.values("swa_gap"), average.mean(axis=2) - accuracy.mean(axis=2))
    np.testing.assert_allclose(sweep.values("swa_gap", later=True),
                               later_average.mean(axis=2) - accuracy[:, :, 1:].mean(axis=2))
    np.testing.assert_allclose(sweep.values("mean_member_accuracy", later=True), accuracy[:, :, 1:].mean(axis=2))


def test_sweep_correctness_image_by_image(tiny_network, sweep_members):
    sweep = ensembles.evaluate_sweep(tiny_network, sweep_members, [0.1, 0.2], barrier_points=3)
    x, y = tiny_network.split("test")
    probabilities = np.array([[[tiny_network.probabilities(m, x) for m in run] for run in start]
                              for start in sweep_members])  # (2, 2, 3, N, classes)
    correct = probabilities.argmax(axis=4) == y  # (2, 2, 3, N)
    np.testing.assert_allclose(sweep.correct("mean"), correct.mean(axis=2))
    np.testing.assert_array_equal(sweep.correct("ensemble"), probabilities.mean(axis=2).argmax(axis=3) == y)
    best = correct.mean(axis=3).argmax(axis=2)  # the most accurate snapshot of each run (the first on a tie)
    np.testing.assert_array_equal(sweep.correct("best"), np.take_along_axis(correct, best[:, :, None, None], 2)[:, :, 0])
    np.testing.assert_array_equal(sweep.correct("average"), [[tiny_network.probabilities(run.mean(0), x).argmax(1) == y
                                                              for run in start] for start in sweep_members])
    assert sweep.correct("mean", later=True).shape == (2, 2, len(y))
    np.testing.assert_allclose(sweep.correct("mean", later=True), correct[:, :, 1:].mean(axis=2))


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


# -- the chapter's scales ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quick", "medium", "paper"])
def test_independent_and_snapshot_ensembles_cost_the_same_epochs(name):
    from landscape import get_scale

    config = get_scale(name).ensembles
    assert config.independent * config.pretrain_epochs == config.pretrain_epochs + config.cycles * config.epochs_per_cycle
    assert len(config.max_lrs) >= 6 and list(config.max_lrs) == sorted(config.max_lrs)  # issue 26: six or more
    assert config.cycles >= 3  # the snapshots from the second on are still an ensemble


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
