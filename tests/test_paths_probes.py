"""Tunnels, curves, path diagnostics and short-direction counts."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import data, models, paths, probes, toy, train


@pytest.fixture(scope="module")
def small_network():
    dataset = data.load_dataset("digits", max_train=200)
    return models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=(4,), seed=0), dataset)


def test_hyperplane_iterates_stay_in_the_hyperplane():
    landscape = toy.WedgeLandscape(30, 20)
    point, normal = landscape.initial_params(0), landscape.initial_params(1)
    plane = paths.HyperplaneLandscape(landscape, point, normal)
    result = train.minimize(plane, plane.initial_params(), steps=200, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point.numpy()
    unit = normal.numpy() / np.linalg.norm(normal.numpy())
    assert abs(moved @ unit) < 1e-4 * np.linalg.norm(moved)
    assert result.final_loss < 0.5 * float(landscape.loss(point))


def test_tunnel_in_2d_goes_through_the_wedges_intersection():
    # A on the P1 axis, B on the P2 axis: the hyperplane at the midpoint is the
    # diagonal P1 = P2, whose lowest point is the origin, where both wedges meet.
    landscape = toy.WedgeLandscape(2, 1)
    a, b = np.array([1.5, 0.0], np.float32), np.array([0.0, 1.5], np.float32)
    tunnel = paths.build_tunnel(landscape, a, b, segments=2, steps=400, learning_rate=1e-2, schedule="cosine")
    assert tunnel.points.shape == (3, 2) and tunnel.gradient_evaluations == 400
    np.testing.assert_allclose(tunnel.points[1], [0, 0], atol=1e-3)
    assert tunnel.profile(landscape).max_loss < 1e-2 * paths.linear_path(landscape, a, b).max_loss


def test_tunnel_points_lie_on_their_hyperplanes_and_refinement_inserts():
    landscape = toy.WedgeLandscape(60, 50)
    a = train.minimize(landscape, landscape.initial_params(0), 300, 1e-2, schedule="cosine").params
    b = train.minimize(landscape, landscape.initial_params(1), 300, 1e-2, schedule="cosine").params
    plain = paths.build_tunnel(landscape, a, b, segments=4, steps=100)
    offsets = (plain.points[1:-1] - a) @ (b - a) / np.sum((b - a) ** 2)
    np.testing.assert_allclose(offsets, [0.25, 0.5, 0.75], atol=1e-4)
    refined = paths.build_tunnel(landscape, a, b, segments=4, steps=100, refine=3)
    assert len(refined.points) == 5 + 3 and refined.gradient_evaluations == 6 * 100
    assert refined.profile(landscape).max_loss <= plain.profile(landscape).max_loss + 1e-6


@pytest.mark.parametrize("kind", paths.CURVES)
def test_trained_curves_go_around_the_barrier(kind):
    landscape = toy.WedgeLandscape(2, 1)
    a, b = np.array([1.5, 0.0], np.float32), np.array([0.0, 1.5], np.float32)
    curve = paths.train_curve(landscape, a, b, kind, steps=600, learning_rate=1e-2, schedule="cosine")
    assert curve.gradient_evaluations == 600
    np.testing.assert_allclose(curve.points[0], a)
    np.testing.assert_allclose(curve.points[-1], b)
    assert curve.profile(landscape).max_loss < 0.5 * paths.linear_path(landscape, a, b).max_loss


def test_hyperplane_moves_without_retracing():
    landscape = toy.WedgeLandscape(30, 20)
    plane = paths.HyperplaneLandscape(landscape, landscape.initial_params(0), landscape.initial_params(1))
    train.minimize(plane, plane.initial_params(), steps=20, learning_rate=1e-2)
    point, normal = landscape.initial_params(2).numpy(), landscape.initial_params(3).numpy()
    result = train.minimize(plane.move_to(point, normal), plane.initial_params(), steps=50, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point
    assert abs(moved @ normal) < 1e-4 * np.linalg.norm(moved) * np.linalg.norm(normal)
    (loop,) = plane.__dict__["_minimize_loops"].values()
    assert loop.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="normal must be a non-zero vector"):
        plane.move_to(point, np.zeros(30, np.float32))


@pytest.mark.parametrize("kind", paths.CURVES)
def test_untrained_curves_are_the_line_and_pass_their_controls(kind):
    a, b = np.zeros(3, np.float32), np.array([3.0, 0.0, 0.0], np.float32)
    controls = tf.constant([a, [1.0, 0, 0], [2.0, 0, 0], b])  # evenly spaced on the line
    for t in np.linspace(0, 1, 7, dtype=np.float32):
        np.testing.assert_allclose(paths._curve_point(kind, controls, tf.constant(t)), t * b, atol=1e-5)
    bent = tf.constant([a, [1.0, 1.0, 0], [2.0, -1.0, 0], b])
    ends = [paths._curve_point(kind, bent, tf.constant(t)).numpy() for t in (0.0, 1.0)]
    np.testing.assert_allclose(ends, [a, b], atol=1e-6)
    if kind == "polychain":  # a polychain passes through every bend
        np.testing.assert_allclose(paths._curve_point(kind, bent, tf.constant(1 / 3)), [1.0, 1.0, 0], atol=1e-5)


@pytest.mark.parametrize("kind", paths.CURVES)
def test_curves_with_several_bends_go_around_the_barrier(kind):
    landscape = toy.WedgeLandscape(2, 1)
    a, b = np.array([1.5, 0.0], np.float32), np.array([0.0, 1.5], np.float32)
    curve = paths.train_curve(landscape, a, b, kind, bends=3, steps=800, learning_rate=1e-2, schedule="cosine")
    if kind == "polychain":
        assert curve.points.shape == (5, 2) and curve.method == "polychain, 3 bends"
    assert curve.profile(landscape).max_loss < 0.5 * paths.linear_path(landscape, a, b).max_loss
    with pytest.raises(ValueError, match="bends must be >= 1"):
        paths.train_curve(landscape, a, b, kind, bends=0)


def test_deviations_and_their_similarity():
    a, b = np.zeros(3), np.array([2.0, 0.0, 0.0])
    points = np.array([[0.5, 1.0, 0.0], [1.0, 2.0, 0.0], [1.5, 0.0, -1.0]])
    np.testing.assert_allclose(paths.deviations(a, b, points), [[0, 1, 0], [0, 2, 0], [0, 0, -1]])
    similarity = paths.cosine_similarity_matrix(paths.deviations(a, b, points))
    np.testing.assert_allclose(similarity, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)


def test_half_alignment():
    first, second = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    rows = np.stack([first, 2 * first, 3 * first, [0.0, 0.0, 1.0], second, 2 * second, second])
    within, across = paths.half_alignment(rows)  # the middle row (index 3) is left out
    assert within == pytest.approx(1.0) and across == pytest.approx(0.0)
    within, across = paths.half_alignment(np.stack([first, first, -first, -first]))
    assert within == pytest.approx(1.0) and across == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 4 rows"):
        paths.half_alignment(rows[:3])


def test_label_changes(small_network):
    a, b = small_network.initial_params(0), small_network.initial_params(1)
    from_a, from_b = paths.label_changes(small_network, np.stack([a.numpy(), b.numpy()]), a, b)
    assert from_a[0] == 0 and from_b[1] == 0 and from_a[1] == from_b[0] > 0
    with pytest.raises(ValueError, match="split must be"):
        paths.label_changes(small_network, np.stack([a.numpy()]), a, b, split="validation")
    with pytest.raises(TypeError, match="predicts"):
        paths.label_changes(toy.WedgeLandscape(3, 1), np.zeros((1, 3), np.float32), np.ones(3), np.zeros(3))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda L, a, b: paths.build_tunnel(L, a, a), ValueError, "must differ"),
        (lambda L, a, b: paths.build_tunnel(L, a, b, segments=0), ValueError, "segments must be >= 1"),
        (lambda L, a, b: paths.build_tunnel(L, a, b[:4]), ValueError, "b must be a vector of length 5"),
        (lambda L, a, b: paths.train_curve(L, a, b, "spline"), ValueError, "kind must be one of"),
        (lambda L, a, b: paths.build_tunnel(L, a, b, refine=-1), ValueError, "refine"),
    ],
)
def test_path_bad_input(call, error, words):
    landscape = toy.WedgeLandscape(5, 3)
    with pytest.raises(error, match=words):
        call(landscape, np.ones(5, np.float32), np.arange(5, dtype=np.float32))


def test_hessian_vector_product_matches_finite_differences(small_network):
    params = small_network.initial_params(2)
    vector = tf.random.stateless_normal([small_network.dim], seed=[1, 1])
    step = 1e-2
    _, plus = small_network.loss_and_grad(params + step * vector)
    _, minus = small_network.loss_and_grad(params - step * vector)
    numeric = (plus - minus).numpy() / (2 * step)
    exact = probes.hessian_vector_product(small_network, params, vector).numpy()
    assert np.linalg.norm(exact - numeric) < 2e-2 * np.linalg.norm(numeric)


def test_exact_and_lanczos_spectra_agree(small_network):
    params = small_network.initial_params(3)
    exact = probes.hessian_eigenvalues(small_network, params, method="exact")
    assert exact.shape == (small_network.dim,) and np.all(np.diff(exact) <= 1e-12)
    top = probes.hessian_eigenvalues(small_network, params, method="lanczos", k=5)
    np.testing.assert_allclose(top, exact[:5], rtol=1e-2, atol=1e-5)
    count = probes.short_directions(small_network, params, threshold=1e-3, method="exact")
    assert count == int(np.sum(exact > 1e-3))


def test_short_directions_on_the_toy_count_near_zero_coordinates():
    landscape = toy.WedgeLandscape(10, 6)
    point = np.array([0.0, 1.0, 2.0, 0.001, -3.0, 0.0, 1.0, 1.0, -0.002, 2.0], np.float32)
    assert probes.short_directions(landscape, point) == 4
    assert probes.short_directions(landscape, point, tolerance=1e-6) == 2


def test_short_directions_bad_input(small_network):
    params = small_network.initial_params(0)
    with pytest.raises(ValueError, match="threshold is required"):
        probes.short_directions(small_network, params)
    with pytest.raises(ValueError, match="method must be"):
        probes.hessian_eigenvalues(small_network, params, method="power")
    with pytest.raises(ValueError, match="raise k"):
        probes.short_directions(small_network, params, threshold=1e-12, method="lanczos", k=3)
