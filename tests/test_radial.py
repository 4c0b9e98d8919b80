"""Radial probes (profiles, tunnel widths, 2D cuts), training to a target loss, and the width sweep."""
import dataclasses

import numpy as np
import pytest

from landscape import cache, core, models, probes, toy, train
from unbatched import Unbatched


@pytest.fixture(scope="module")
def near_wedge():
    """A toy landscape and a point a short distance off one of its wedges."""
    landscape = toy.WedgeLandscape(4000, 3000)
    point = train.minimize(landscape, landscape.initial_params(1), steps=300, learning_rate=1e-2).params
    return landscape, point


# -- radial profiles ---------------------------------------------------------------------
def test_random_directions_are_unit_and_seeded():
    first = probes.random_directions(50, 7, seed=3)
    assert first.shape == (7, 50) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(first, probes.random_directions(50, 7, seed=3))
    assert not np.array_equal(first, probes.random_directions(50, 7, seed=4))


def test_radial_profile_equals_the_loss_at_each_point(near_wedge):
    landscape, point = near_wedge
    profile = probes.radial_profile(landscape, point, num_directions=5, radii=[0.0, 0.5, 2.0], seed=2)
    assert profile.loss.shape == (5, 3)
    assert profile.base_loss == pytest.approx(float(landscape.loss(point)), rel=1e-6)
    np.testing.assert_allclose(profile.loss[:, 0], profile.base_loss, rtol=1e-6)  # radius 0 is the point
    direction = probes.random_directions(landscape.dim, 5, seed=2)[3]
    assert profile.loss[3, 2] == pytest.approx(float(landscape.loss(point + 2.0 * direction)), rel=1e-5)
    assert profile.point_norm == pytest.approx(np.linalg.norm(point), rel=1e-6)


def test_unbatched_landscapes_give_the_same_profile(near_wedge):
    landscape, point = near_wedge
    batched = probes.radial_profile(landscape, point, num_directions=3, radii=[0.3, 1.0], seed=0)
    looped = probes.radial_profile(Unbatched(landscape), point, num_directions=3, radii=[0.3, 1.0], seed=0)
    np.testing.assert_allclose(looped.loss, batched.loss, rtol=1e-5)


def test_the_toy_hole_rises_at_the_predicted_rate_with_the_predicted_spread(near_wedge):
    """L(P0 + a v) ~ sqrt(L0^2 + a^2 (D-n)/D): rate sqrt((D-n)/D), relative spread
    sqrt(n / (2 (D-n) D)) across directions (the chapter's derivation)."""
    landscape, point = near_wedge
    dim, short = landscape.dim, landscape.num_short
    profile = probes.radial_profile(landscape, point, num_directions=200, radii=[0.5, 1.0, 1.5], seed=0)
    slope = (profile.mean[2] - profile.mean[0]) / 1.0
    assert slope == pytest.approx(np.sqrt(short / dim), rel=0.03)
    predicted_spread = np.sqrt(landscape.n / (2 * short * dim))
    assert profile.relative_spread[1] == pytest.approx(predicted_spread, rel=0.3)
    np.testing.assert_allclose(profile.rise, profile.loss - profile.base_loss)


# -- crossing radii and tunnel widths -----------------------------------------------------
def test_crossing_radii_are_exact_for_a_power_law_rise():
    radii = np.geomspace(0.1, 10, 9)
    rise = np.stack([0.3 * radii**2.5, 2.0 * radii])  # two directions
    widths = probes.crossing_radii(radii, 1.0 + rise, 1.0, [0.5, 3.0])
    expected = np.array([[(0.5 / 0.3) ** (1 / 2.5), 0.25], [(3.0 / 0.3) ** (1 / 2.5), 1.5]])
    np.testing.assert_allclose(widths, expected, rtol=1e-9)


def test_crossing_below_the_grid_is_quadratic_and_never_crossing_is_censored():
    radii = np.array([1.0, 2.0])
    loss = np.array([[4.0, 9.0], [0.1, 0.2]])  # base 0: the first direction is over at once
    widths = probes.crossing_radii(radii, loss, 0.0, 1.0)
    assert widths[0, 0] == pytest.approx(0.5)  # 4 a^2 = 1
    assert widths[0, 1] == np.inf


def test_tunnel_width_on_the_toy_matches_the_rate(near_wedge):
    landscape, point = near_wedge
    width = probes.tunnel_width(landscape, point, thresholds=(0.25, 0.5), num_directions=50,
                                radii=np.geomspace(0.05, 2.0, 12))
    rate = np.sqrt(landscape.num_short / landscape.dim)
    base = width.base_loss
    # sqrt(base^2 + a^2 rate^2) = base + threshold
    expected = np.sqrt((base + width.thresholds) ** 2 - base**2) / rate
    np.testing.assert_allclose(width.mean, expected, rtol=0.03)
    assert np.all(width.censored == 0)
    assert np.all(width.relative_spread < 0.1)
    np.testing.assert_allclose(width.angular, np.arctan(width.widths / np.linalg.norm(point)).mean(axis=1))
    censored = probes.tunnel_width(landscape, point, thresholds=5.0, num_directions=4, radii=[0.1, 1.0])
    assert censored.censored.tolist() == [4] and censored.mean[0] == pytest.approx(1.0)


def test_relative_radii_are_fractions_of_the_norm(near_wedge):
    landscape, point = near_wedge
    norm = float(np.linalg.norm(point))
    absolute = probes.tunnel_width(landscape, point, 0.5, 6, radii=norm * np.array([0.01, 0.02, 0.05]), seed=1)
    relative = probes.tunnel_width(landscape, point, 0.5, 6, radii=[0.01, 0.02, 0.05], seed=1, relative=True)
    np.testing.assert_allclose(relative.widths, absolute.widths, rtol=1e-5)
    assert relative.max_radius == pytest.approx(0.05 * norm)


def test_radial_width_looks_along_plus_and_minus_the_point(near_wedge):
    landscape, point = near_wedge
    unit = probes.radial_direction(point)
    assert np.linalg.norm(unit) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(unit * np.linalg.norm(point), point, rtol=1e-4, atol=1e-6)
    # The toy's loss scales with the point, L(cP) = c L(P): along the radial direction it
    # rises by L0 a / |P| outward and falls inward, so a threshold below the loss at the
    # origin's far side is crossed outward at a = threshold |P| / L0, never inward within |P|.
    base = float(landscape.loss(point))
    norm = float(np.linalg.norm(point))
    threshold = 0.5 * base
    radii = np.geomspace(0.05, 0.9, 30)
    width = probes.radial_width(landscape, point, thresholds=threshold, radii=radii, relative=True)
    assert width.widths.shape == (1, 2) and width.point_norm == pytest.approx(norm)
    assert width.widths[0, 0] == pytest.approx(threshold * norm / base, rel=0.02)
    assert not np.isfinite(width.widths[0, 1])  # toward the origin the toy's loss falls
    random = probes.tunnel_width(landscape, point, thresholds=threshold, num_directions=10, radii=radii,
                                 relative=True)
    assert width.widths[0, 0] > 10 * random.mean[0]  # the radial direction is a long direction of the toy
    profile = probes.radial_profile(landscape, point, radii=[0.0, 0.5 * norm], directions=[unit, -2 * unit])
    np.testing.assert_allclose(profile.loss[:, 1], [1.5 * base, 0.5 * base], rtol=1e-3)
    with pytest.raises(ValueError, match="away from the origin"):
        probes.radial_direction(np.zeros(3))
    with pytest.raises(ValueError, match="directions must be an array"):
        probes.radial_profile(landscape, point, directions=np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-zero vectors"):
        probes.radial_profile(landscape, point, directions=np.zeros((1, landscape.dim)))


# -- 2D cuts -------------------------------------------------------------------------------
def test_filter_normalization_gives_each_filter_the_points_norm(tiny_network):
    point = tiny_network.initial_params(0).numpy()
    shapes = tiny_network.view.shapes
    direction = probes.filter_normalized_direction(point, shapes, seed=1)
    offset = 0
    for shape in shapes:
        size = int(np.prod(shape))
        d, w = direction[offset:offset + size].reshape(shape), point[offset:offset + size].reshape(shape)
        if len(shape) == 1:
            assert np.all(d == 0)  # biases are not perturbed
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=0), np.linalg.norm(w, axis=0), rtol=1e-5)
        offset += size
    with pytest.raises(ValueError, match="shapes hold"):
        probes.filter_normalized_direction(point[:-1], shapes)


def test_random_cut_through_a_network_and_the_toy(tiny_network, near_wedge):
    point = tiny_network.initial_params(0)
    cut = probes.random_cut_2d(tiny_network, point, extent=0.5, num=5, seed=0)
    assert cut.normalization == "filter" and cut.loss.shape == (5, 5)
    assert cut.loss[2, 2] == pytest.approx(cut.base_loss, rel=1e-5)  # the centre is the point
    first = probes.filter_normalized_direction(point.numpy(), tiny_network.view.shapes, 0)
    assert cut.loss[2, 4] == pytest.approx(float(tiny_network.loss(point + 0.5 * first)), rel=1e-5)
    landscape, toy_point = near_wedge
    toy_cut = probes.random_cut_2d(landscape, toy_point, num=3)
    assert toy_cut.normalization == "norm"
    np.testing.assert_allclose(toy_cut.direction_norms, np.linalg.norm(toy_point), rtol=1e-5)


def test_radial_cut_spans_the_radial_and_a_random_direction(near_wedge):
    landscape, point = near_wedge
    norm = float(np.linalg.norm(point))
    cut = probes.radial_cut_2d(landscape, point, inward=1.0, outward=1.0, across=0.5, num=5, seed=2)
    assert cut.normalization == "radial" and cut.loss.shape == (5, 5)
    np.testing.assert_allclose(cut.alphas, np.linspace(-1, 1, 5))
    np.testing.assert_allclose(cut.direction_norms, norm, rtol=1e-5)
    assert cut.loss[2, 2] == pytest.approx(cut.base_loss, rel=1e-5)  # the centre is the point
    assert cut.loss[2, 0] == pytest.approx(0.0, abs=1e-4)  # alpha = -1 is the origin, on every wedge
    assert cut.loss[2, 4] == pytest.approx(2 * cut.base_loss, rel=1e-3)  # 2P: the toy's loss doubles
    with pytest.raises(ValueError, match="inward must be > 0"):
        probes.radial_cut_2d(landscape, point, inward=0.0)


# -- training to a target loss --------------------------------------------------------------
def test_minimize_stops_at_the_first_check_below_the_target():
    landscape = toy.WedgeLandscape(60, 40)
    start = landscape.initial_params(0)
    full = train.minimize(landscape, start, steps=400, learning_rate=1e-2, record_every=1)
    target = 0.5 * float(landscape.loss(start))
    stopped = train.minimize(landscape, start, steps=400, learning_rate=1e-2, stop_below=target, check_every=7,
                             record_every=5)
    losses = np.array([float(landscape.loss(p)) for p in full.trajectory[:-1]])  # the loss before each step
    checks = np.arange(0, 400, 7)
    first = checks[np.argmax(losses[checks] < target)]
    assert stopped.steps_taken == first and stopped.reached_target
    np.testing.assert_array_equal(stopped.params, full.trajectory[first])  # same steps, stopped there
    np.testing.assert_array_equal(stopped.losses, full.losses[:first])
    assert stopped.trajectory.shape == ((first + 4) // 5 + 1, 60)
    assert float(landscape.loss(stopped.params)) < target <= losses[first - 7]


def test_minimize_without_a_target_is_unchanged_and_an_unreached_target_runs_all_steps():
    landscape = toy.WedgeLandscape(30, 20)
    start = landscape.initial_params(1)
    plain = train.minimize(landscape, start, steps=50)
    assert plain.steps_taken == 50 and plain.reached_target is None and plain.losses.shape == (50,)
    never = train.minimize(landscape, start, steps=50, stop_below=-1.0, check_every=3)
    np.testing.assert_array_equal(never.params, plain.params)
    assert never.steps_taken == 50 and never.reached_target is False


def test_the_stopping_check_compiles_under_xla():
    landscape = toy.WedgeLandscape(30, 20)
    start = landscape.initial_params(1)
    plain = train.minimize(landscape, start, steps=200, learning_rate=1e-2, stop_below=1.0, check_every=5)
    core.use_xla(True)
    try:
        xla = train.minimize(landscape, start, steps=200, learning_rate=1e-2, stop_below=1.0, check_every=5)
    finally:
        core.use_xla(False)
    assert xla.steps_taken == plain.steps_taken
    np.testing.assert_allclose(xla.params, plain.params, rtol=1e-4, atol=1e-5)


def test_monitor_excludes_the_l2_term(digits_small):
    """Training with L2 stops on the data loss of a monitor without the penalty."""
    model = models.mlp(digits_small.input_shape, 10, widths=(16,), l2=1e-3)
    trained = models.ModelLandscape(model, digits_small, batch_size=32)
    monitor = models.ModelLandscape(model, digits_small, include_regularization=False)
    start = trained.initial_params(0)
    result = train.minimize(trained, start, steps=2000, learning_rate=1e-2, stop_below=0.3, check_every=10,
                            monitor=monitor)
    assert result.reached_target and result.steps_taken % 10 == 0
    assert float(monitor.loss(result.params)) < 0.3 < result.final_loss  # the objective includes the penalty


def test_dropout_draws_fresh_masks_every_step(digits_small):
    model = models.mlp(digits_small.input_shape, 10, widths=(32,), dropout=0.5)
    landscape = models.ModelLandscape(model, digits_small)  # full batch: only the masks change with the step
    points = landscape.initial_params(0)[None]
    step0 = float(landscape.batch_minibatch_loss(points, 0)[0])
    assert float(landscape.batch_minibatch_loss(points, 0)[0]) == step0  # a step's mask is reproducible
    others = [float(landscape.batch_minibatch_loss(points, s)[0]) for s in (1, 2, 3)]
    assert len({step0, *others}) == 4
    result = train.minimize(models.ModelLandscape(model, digits_small, batch_size=32), landscape.initial_params(0),
                            steps=3000, learning_rate=1e-2, stop_below=0.3, check_every=10,
                            monitor=models.ModelLandscape(model, digits_small))
    assert result.reached_target


# -- the width sweep ------------------------------------------------------------------------
SETUP = probes.SweepSetup(dataset="digits", model="mlp", widths=(8,), target_loss=1.0, max_steps=300, check_every=10,
                          num_directions=3, radii=(0.1, 0.3, 1.0, 3.0), thresholds=(0.25, 1.0), max_train=200,
                          probe_examples=100)
BASE = probes.Run(learning_rate=1e-2, batch_size=32, width=8)


def test_sweep_runs_are_unique_and_panels_find_them():
    runs = probes.sweep_runs(BASE, {"learning_rate": [1e-3, 1e-2], "width": [4, 8]}, seeds=[0, 1])
    assert len(runs) == 6 and len(set(runs)) == 6  # the base appears once per seed
    assert dataclasses.replace(BASE, learning_rate=1e-3, seed=1) in runs
    assert probes.rank_correlation([1, 2, 3], [3, 5, 9]) == pytest.approx(1.0)
    assert probes.rank_correlation([1, 2, 3], [2, 2, 2]) == 0.0


def test_an_interrupted_sweep_resumes_from_the_cache(tmp_path, monkeypatch):
    runs = probes.sweep_runs(BASE, {"learning_rate": [3e-3, 1e-2], "l2": [0.0, 1e-3]}, seeds=[0])
    runs.append(dataclasses.replace(BASE, fixed_steps=20))
    assert len(runs) == 4
    reference = probes.width_sweep(SETUP, runs)  # uninterrupted, no cache
    assert reference.reached[:3].all() and reference.widths.shape == (4, 2, 3)

    calls = []
    real_minimize = train.minimize

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt("the session was disconnected")
        calls.append(1)
        return real_minimize(*args, **kwargs)

    store = cache.ResultCache(tmp_path)
    monkeypatch.setattr(train, "minimize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        probes.width_sweep(SETUP, runs, cache=store)
    assert len(list(tmp_path.glob("width-sweep-run-*.npz"))) == 2  # the two finished runs were saved

    calls.clear()
    counted = []
    monkeypatch.setattr(train, "minimize", lambda *a, **k: counted.append(1) or real_minimize(*a, **k))
    resumed = probes.width_sweep(SETUP, runs, cache=store, progress=True)
    assert len(counted) == 2  # only the two unfinished runs were trained
    for field in ("steps", "reached", "train_loss", "norm"):
        np.testing.assert_allclose(getattr(resumed, field), getattr(reference, field), rtol=1e-5)
    np.testing.assert_allclose(resumed.mean_width, reference.mean_width, rtol=1e-4)

    counted.clear()
    again = probes.width_sweep(SETUP, runs, cache=store)
    assert not counted  # everything cached
    np.testing.assert_array_equal(again.widths, resumed.widths)
    index = again.panel(BASE, "learning_rate", [3e-3, 1e-2], [0])
    assert index.shape == (2, 1) and again.learning_rate[index[0, 0]] == 3e-3
    assert again.fixed_steps[again.index(runs[-1])] == 20 and again.steps[again.index(runs[-1])] == 20
    assert again.angular_width.shape == (4, 2) and np.all(again.censored >= 0)
    assert again.radial_widths.shape == (4, 2, 2) and np.all(again.radial_width > 0)
    np.testing.assert_array_equal(again.radial_widths, resumed.radial_widths)
    assert again.test_examples == 360 and np.all((again.test_accuracy > 0.1) & (again.test_accuracy <= 1))
    np.testing.assert_array_equal(again.test_accuracy, resumed.test_accuracy)
    assert again.test_correct.shape == (4, 360) and again.test_correct.dtype == bool
    np.testing.assert_array_equal(again.test_correct, resumed.test_correct)  # the cache keeps each example


def test_sweep_measures_radial_widths_and_test_accuracy_of_each_network():
    run = dataclasses.replace(BASE, seed=3)
    setup = dataclasses.replace(SETUP, test_examples=50)
    sweep = probes.width_sweep(setup, [run])
    dataset = probes.sweeps.data.load_dataset("digits", max_train=200)
    networks_model = models.mlp(dataset.input_shape, 10, widths=(8,))
    landscape = models.ModelLandscape(networks_model, dataset, include_regularization=False)
    params = sweep.params[0]
    x, y = landscape.split("test")
    expected = float(np.mean(landscape.predict(params, x[:50]) == y[:50]))
    assert sweep.test_examples == 50 and sweep.test_accuracy[0] == pytest.approx(expected)
    np.testing.assert_array_equal(sweep.test_correct[0], landscape.predict(params, x[:50]) == y[:50])
    probe = models.ModelLandscape(networks_model, (landscape.x_train.numpy()[:100], landscape.y_train.numpy()[:100]),
                                  include_regularization=False)
    radial = probes.radial_width(probe, params, thresholds=setup.thresholds, radii=setup.radii, relative=True)
    np.testing.assert_allclose(sweep.radial_widths[0], radial.widths, rtol=1e-4)


def test_the_width_sweep_trains_through_the_library_path(monkeypatch):
    """A sweep's runs are Keras models with dropout and L2 trained by train.minimize."""
    seen = []
    real_minimize = train.minimize

    def spy(landscape, *args, **kwargs):
        seen.append((landscape, kwargs))
        return real_minimize(landscape, *args, **kwargs)

    monkeypatch.setattr(train, "minimize", spy)
    runs = [dataclasses.replace(BASE, dropout=0.2), dataclasses.replace(BASE, l2=1e-3)]
    sweep = probes.width_sweep(SETUP, runs)
    assert all(isinstance(landscape, models.ModelLandscape) for landscape, _ in seen)
    layers = [type(layer).__name__ for layer in seen[0][0].model.layers]
    assert "Dropout" in layers and seen[1][0].model.losses  # dropout and the L2 penalty are in the models
    assert all(kwargs["stop_below"] == SETUP.target_loss and kwargs["monitor"].include_regularization is False
               for _, kwargs in seen)
    assert sweep.train_loss.max() < SETUP.target_loss
    assert sweep.params[0].shape == (int(sweep.dim[0]),) and np.all(sweep.reached)


def test_simple_cnn_sweep_setup_scales_channels():
    setup = dataclasses.replace(SETUP, model="simple_cnn", widths=(16, 32, 32))
    assert setup.architecture(8) == (8, 16, 16) and setup.architecture(64) == (64, 128, 128)
