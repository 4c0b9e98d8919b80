"""Curvature probes and short-direction counts."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import probes, toy, train


@pytest.fixture(scope="module")
def trained(tiny_network):
    """A point near a minimum of the tiny network (a cosine schedule settles it)."""
    return train.minimize(tiny_network, tiny_network.initial_params(0), 600, 1e-2, schedule="cosine").params


def test_hessian_vector_product_matches_finite_differences(tiny_network):
    params = tiny_network.initial_params(2)
    vector = tf.random.stateless_normal([tiny_network.dim], seed=[1, 1])
    step = 1e-2
    _, plus = tiny_network.loss_and_grad(params + step * vector)
    _, minus = tiny_network.loss_and_grad(params - step * vector)
    numeric = (plus - minus).numpy() / (2 * step)
    exact = probes.hessian_vector_product(tiny_network, params, vector).numpy()
    assert np.linalg.norm(exact - numeric) < 2e-2 * np.linalg.norm(numeric)


def test_exact_and_lanczos_spectra_agree(tiny_network):
    hessian = probes.Hessian(tiny_network, tiny_network.initial_params(3))
    exact = hessian.eigenvalues(method="exact")
    assert exact.shape == (tiny_network.dim,) and np.all(np.diff(exact) <= 1e-12)
    np.testing.assert_allclose(hessian.eigenvalues(5, method="lanczos"), exact[:5], rtol=1e-2, atol=1e-5)
    np.testing.assert_allclose(hessian.eigenvalues(3, which="smallest", method="lanczos"), exact[-3:],
                               rtol=1e-2, atol=1e-5)
    assert hessian.numerical_floor() == pytest.approx(max(0.0, -exact[-1]))
    assert hessian.trace(num_samples=300) == pytest.approx(exact.sum(), rel=0.2)


def test_short_directions_count_eigenvalues_above_the_threshold(tiny_network, trained):
    hessian = probes.Hessian(tiny_network, trained)
    exact = hessian.eigenvalues()
    threshold = max(1e-3, 2 * hessian.numerical_floor())
    count = probes.short_directions(tiny_network, trained, threshold=threshold, method="exact")
    assert count == int(np.sum(exact > threshold)) > 0


def test_lanczos_count_reaching_k_is_an_error_not_a_number(tiny_network, trained):
    floor = probes.Hessian(tiny_network, trained).numerical_floor()
    with pytest.raises(ValueError, match="raise k"):
        probes.short_directions(tiny_network, trained, threshold=1.01 * floor + 1e-9, method="lanczos", k=3)


def test_threshold_below_the_numerical_floor_is_an_error(tiny_network):
    params = tiny_network.initial_params(0)  # not a minimum: negative eigenvalues
    floor = probes.Hessian(tiny_network, params).numerical_floor()
    assert floor > 0
    with pytest.raises(ValueError, match="numerical floor"):
        probes.short_directions(tiny_network, params, threshold=floor / 2, method="exact")


def test_short_directions_on_the_toy_are_counted_by_the_toy():
    landscape = toy.WedgeLandscape(10, 6)
    point = np.array([0.0, 1.0, 2.0, 0.001, -3.0, 0.0, 1.0, 1.0, -0.002, 2.0], np.float32)
    assert probes.short_directions(landscape, point) == 4
    assert probes.short_directions(landscape, point, tolerance=1e-6) == 2


def test_short_directions_bad_input(tiny_network):
    params = tiny_network.initial_params(0)
    with pytest.raises(ValueError, match="threshold is required"):
        probes.short_directions(tiny_network, params)
    with pytest.raises(ValueError, match="method must be"):
        probes.hessian_eigenvalues(tiny_network, params, method="power")
    with pytest.raises(ValueError, match="k is required"):
        probes.Hessian(tiny_network, params).eigenvalues(method="lanczos")


def test_lanczos_computes_enough_eigenvalues_to_count_above_a_threshold(tiny_network, trained, monkeypatch):
    hessian = probes.Hessian(tiny_network, trained)
    exact = hessian.eigenvalues(method="exact")
    threshold = float(exact[12] + exact[13]) / 2  # 13 eigenvalues above it, more than k = 3
    values = hessian.eigenvalues(3, method="lanczos", above=threshold)
    assert len(values) > 13 and values[-1] <= threshold  # k doubled (3, 6, 12, 24) until one is below
    assert probes.count_above(values, threshold, tiny_network.dim) == 13
    assert len(hessian.eigenvalues(3, method="lanczos", above=10 * exact[0])) == 3  # no more than asked
    with pytest.raises(ValueError, match="above"):
        hessian.eigenvalues(3, method="lanczos", above=float("nan"))
    # A dry run cuts the work: k stays as given, and a lower bound is returned as the count.
    monkeypatch.setenv("LANDSCAPE_SCALE", "paper-dry-run")
    partial = hessian.eigenvalues(3, method="lanczos", above=threshold)
    assert len(partial) == 3 and probes.count_above(partial, threshold, tiny_network.dim) == 3


def test_counts_from_a_partial_spectrum_refuse_to_guess():
    largest_five = np.array([5.0, 4.0, 3.0, 2.0, 1.0])  # the top 5 of a 100 x 100 Hessian
    assert probes.count_above(largest_five, 2.5, 100) == 3
    with pytest.raises(ValueError, match="lower bound"):
        probes.count_above(largest_five, 0.5, 100)
    assert probes.count_above(largest_five, 0.5, 100, strict=False) is None
    assert probes.count_above(largest_five, 0.5, 5) == 5  # the whole spectrum: an exact count
    curve = probes.count_curve(largest_five, [0.5, 2.5, 6.0], 100)
    np.testing.assert_array_equal(curve, [np.nan, 3, 0])


def test_eigh_above_a_threshold_returns_the_same_top_pairs():
    from landscape import toy as toy_module

    rng = np.random.default_rng(4)
    basis, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    values = np.array([3.0, 2.0, 1.0, 0.5] + [1e-6] * 8)
    landscape = toy_module.QuadraticBasins([np.zeros(12)], [values], [basis])
    hessian = probes.Hessian(landscape, np.zeros(12, np.float32))
    top, vectors = hessian.eigh(above=0.1)
    np.testing.assert_allclose(top, [0.5, 1.0, 2.0, 3.0], rtol=1e-4)
    all_values, all_vectors = hessian.eigh()
    np.testing.assert_allclose(np.abs(vectors.T @ all_vectors[:, -4:]), np.eye(4), atol=1e-3)


def test_quadratic_basins_rebuild_a_quadratic_landscape_from_its_hessians():
    rng = np.random.default_rng(5)
    basis, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    centres = np.stack([np.full(10, -3.0), np.full(10, 3.0)])
    values = np.array([[2.0, 1.0, 0.3] + [0.0] * 7, [4.0, 0.5, 0.2] + [0.0] * 7])
    original = toy.QuadraticBasins(centres, values, np.stack([basis, basis]), losses=[0.1, 0.2])
    rebuilt = probes.quadratic_basins(original, centres, threshold=0.1)
    points = rng.normal(scale=0.3, size=(5, 10)).astype(np.float32)
    for centre in centres:
        np.testing.assert_allclose(rebuilt.losses(centre + points), original.losses(centre + points), rtol=1e-3)
    with pytest.raises(ValueError, match="threshold"):
        probes.quadratic_basins(original, centres, threshold=-1.0)


def test_one_colour_per_method():
    from landscape import plots

    assert plots.method_color("hyperplane tunnel, 8 segments") == plots.method_color("paper's recipe")
    assert plots.method_color("polychain, 8 bends") == plots.METHOD_COLORS["polychain"]
    assert plots.method_color("straight line") != plots.method_color("stars")
    assert plots.method_color("something else", default="C9") == "C9"


def test_seed_band_draws_the_mean_over_seeds_and_its_interval():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    from landscape import plots

    fig, ax = plt.subplots()
    values = np.array([[1.0, 4.0], [2.0, 8.0], [3.0, 3.0]])  # 3 settings, 2 seeds
    line = plots.seed_band(ax, [1, 2, 3], values, included=[True, True, False], color="C3")
    np.testing.assert_allclose(line.get_ydata(), [2.0, 4.0])  # geometric means of the included settings
    (band,) = ax.collections
    low = band.get_paths()[0].vertices[:, 1].min()
    half = stats.t.ppf(0.975, 1) * np.log(4.0) / np.sqrt(2) / np.sqrt(2)  # sd of log(1), log(4) is log(4)/sqrt(2)
    assert low == pytest.approx(2.0 * np.exp(-half), rel=1e-6)
    assert len(ax.lines) == 2 and ax.lines[1].get_xdata().tolist() == [3.0]  # the excluded setting: an open marker
    plain = plots.seed_band(ax, [1, 2, 3], values, geometric=False)
    np.testing.assert_allclose(plain.get_ydata(), [2.5, 5.0, 3.0])
    with pytest.raises(ValueError, match="values must have shape"):
        plots.seed_band(ax, [1, 2], values)
    with pytest.raises(ValueError, match="positive values"):
        plots.seed_band(ax, [1, 2, 3], -values)
    plt.close(fig)
