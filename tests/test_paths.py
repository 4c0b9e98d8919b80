"""Paths between optima: profiles, tunnels, trained curves, and what they reveal."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import paths, toy, train
from unbatched import Unbatched


def test_linear_path_endpoints_and_bad_input():
    landscape = toy.WedgeLandscape(3, 1)
    a = np.array([2.0, 0.0, 0.0], np.float32)
    b = np.array([0.0, 2.0, 0.0], np.float32)
    profile = paths.linear_path(landscape, a, b, num=5)
    np.testing.assert_allclose(profile.t, [0, 0.25, 0.5, 0.75, 1])
    # At the midpoint (1, 1, 0) the two smallest |coordinates| are 1 and 0.
    np.testing.assert_allclose(profile.loss, [0, np.hypot(0.5, 0), 1.0, 0.5, 0], atol=1e-6)
    assert profile.barrier == pytest.approx(1.0)
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


def test_arc_positions():
    vertices = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 3.0]])
    segment, along = paths.arc_positions(vertices, [0.0, 0.125, 0.25, 0.625, 1.0])
    np.testing.assert_array_equal(segment, [0, 0, 1, 1, 1])
    np.testing.assert_allclose(along, [0.0, 0.5, 0.0, 0.5, 1.0])


def test_hyperplane_iterates_stay_in_the_hyperplane():
    landscape = toy.WedgeLandscape(30, 20)
    point, normal = landscape.initial_params(0), landscape.initial_params(1)
    plane = paths.HyperplaneLandscape(landscape, point, normal)
    result = train.minimize(plane, plane.initial_params(), steps=200, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point.numpy()
    unit = normal.numpy() / np.linalg.norm(normal.numpy())
    assert abs(moved @ unit) < 1e-4 * np.linalg.norm(moved)
    assert result.final_loss < 0.5 * float(landscape.loss(point))


def test_a_codimension_m_plane_keeps_its_iterates_orthogonal_to_every_normal():
    landscape = toy.WedgeLandscape(30, 20)
    point = landscape.initial_params(0).numpy()
    normals = np.stack([landscape.initial_params(seed).numpy() for seed in (1, 2, 3)])  # not orthogonal
    plane = paths.HyperplaneLandscape(landscape, point, normals)
    assert plane.codim == 3 and plane.dim == 30
    result = train.minimize(plane, plane.initial_params(), steps=200, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point
    assert np.linalg.norm(normals @ moved) < 1e-4 * np.linalg.norm(moved) * np.linalg.norm(normals)
    assert result.final_loss < 0.5 * float(landscape.loss(point))
    # moved to another point and three other normals, it serves them without tracing again
    before = train._minimize_loop.tracing_count()
    other = np.stack([landscape.initial_params(seed).numpy() for seed in (4, 5, 6)])
    result = train.minimize(plane.move_to(point, other), plane.initial_params(), steps=200, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point
    assert np.linalg.norm(other @ moved) < 1e-4 * np.linalg.norm(moved) * np.linalg.norm(other)
    assert train._minimize_loop.tracing_count() == before


def test_later_tunnels_and_curves_of_a_landscape_do_not_trace_again():
    landscape = toy.WedgeLandscape(30, 20)
    ends = [landscape.initial_params(seed) for seed in range(4)]
    for pair in range(2):
        a, b = ends[2 * pair], ends[2 * pair + 1]
        before = train._minimize_loop.tracing_count()
        paths.build_tunnel(landscape, a, b, segments=4, steps=10, refine=1)
        paths.train_curve(landscape, a, b, "bezier", bends=2, steps=10, seed=pair)
        if pair == 1:
            assert train._minimize_loop.tracing_count() == before


def test_hyperplane_moves_without_retracing():
    landscape = toy.WedgeLandscape(30, 20)
    plane = paths.HyperplaneLandscape(landscape, landscape.initial_params(0), landscape.initial_params(1))
    before = train._minimize_loop.tracing_count()
    train.minimize(plane, plane.initial_params(), steps=20, learning_rate=1e-2)
    point, normal = landscape.initial_params(2).numpy(), landscape.initial_params(3).numpy()
    result = train.minimize(plane.move_to(point, normal), plane.initial_params(), steps=20, learning_rate=1e-2)
    moved = plane.to_params(tf.constant(result.params)).numpy() - point
    assert abs(moved @ normal) < 1e-4 * np.linalg.norm(moved) * np.linalg.norm(normal)
    assert train._minimize_loop.tracing_count() - before == 1
    with pytest.raises(ValueError, match="normal must be a non-zero vector"):
        plane.move_to(point, np.zeros(30, np.float32))


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


@pytest.mark.parametrize("kind", list(paths.CURVES))
def test_trained_curves_go_around_the_barrier(kind):
    landscape = toy.WedgeLandscape(2, 1)
    a, b = np.array([1.5, 0.0], np.float32), np.array([0.0, 1.5], np.float32)
    curve = paths.train_curve(landscape, a, b, kind, steps=600, learning_rate=1e-2, schedule="cosine")
    assert curve.gradient_evaluations == 600
    np.testing.assert_allclose(curve.points[0], a)
    np.testing.assert_allclose(curve.points[-1], b)
    assert curve.profile(landscape).max_loss < 0.5 * paths.linear_path(landscape, a, b).max_loss


@pytest.mark.parametrize("kind", list(paths.CURVES))
def test_untrained_curves_are_the_line_and_pass_their_controls(kind):
    curve = paths.CURVES[kind]
    a, b = np.zeros(3, np.float32), np.array([3.0, 0.0, 0.0], np.float32)
    controls = tf.constant([a, [1.0, 0, 0], [2.0, 0, 0], b])  # evenly spaced on the line
    for t in np.linspace(0, 1, 7, dtype=np.float32):
        np.testing.assert_allclose(curve.point(controls, tf.constant(t)), t * b, atol=1e-5)
    bent = tf.constant([a, [1.0, 1.0, 0], [2.0, -1.0, 0], b])
    ends = [curve.point(bent, tf.constant(t)).numpy() for t in (0.0, 1.0)]
    np.testing.assert_allclose(ends, [a, b], atol=1e-6)
    if kind == "polychain":  # a polychain passes through every bend
        np.testing.assert_allclose(curve.point(bent, tf.constant(1 / 3)), [1.0, 1.0, 0], atol=1e-5)


@pytest.mark.parametrize("kind", list(paths.CURVES))
def test_curves_with_several_bends_go_around_the_barrier(kind):
    landscape = toy.WedgeLandscape(2, 1)
    a, b = np.array([1.5, 0.0], np.float32), np.array([0.0, 1.5], np.float32)
    curve = paths.train_curve(landscape, a, b, kind, bends=3, steps=800, learning_rate=1e-2, schedule="cosine")
    if kind == "polychain":
        assert curve.points.shape == (5, 2) and curve.method == "polychain, 3 bends"
    assert curve.profile(landscape).max_loss < 0.5 * paths.linear_path(landscape, a, b).max_loss


def test_deviations_and_their_similarity():
    a, b = np.zeros(3), np.array([2.0, 0.0, 0.0])
    points = np.array([[0.5, 1.0, 0.0], [1.0, 2.0, 0.0], [1.5, 0.0, -1.0]])
    np.testing.assert_allclose(paths.deviations(a, b, points), [[0, 1, 0], [0, 2, 0], [0, 0, -1]])
    similarity = paths.cosine_similarity_matrix(paths.deviations(a, b, points))
    np.testing.assert_allclose(similarity, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)
    with pytest.raises(ValueError, match="a and b must differ"):
        paths.deviations(a, a, points)


def test_half_alignment():
    first, second = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    rows = np.stack([first, 2 * first, 3 * first, [0.0, 0.0, 1.0], second, 2 * second, second])
    within, across = paths.half_alignment(rows)  # the middle row (index 3) is left out
    assert within == pytest.approx(1.0) and across == pytest.approx(0.0)
    within, across = paths.half_alignment(np.stack([first, first, -first, -first]))
    assert within == pytest.approx(1.0) and across == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 4 rows"):
        paths.half_alignment(rows[:3])


def test_label_changes(tiny_network):
    a, b = tiny_network.initial_params(0), tiny_network.initial_params(1)
    changes = paths.label_changes(tiny_network, np.stack([a.numpy(), b.numpy()]), a, b)
    assert changes.differs_from_a.shape == (2, 100)
    assert changes.from_a[0] == 0 and changes.from_b[1] == 0 and changes.from_a[1] == changes.from_b[0] > 0
    with pytest.raises(ValueError, match="split must be"):
        paths.label_changes(tiny_network, np.stack([a.numpy()]), a, b, split="validation")
    with pytest.raises(TypeError, match="classifier"):
        paths.label_changes(toy.WedgeLandscape(3, 1), np.zeros((1, 3), np.float32), np.ones(3), np.zeros(3))


def test_bootstrap_interval_covers_the_mean():
    values = (np.random.default_rng(0).random(400) < 0.3).astype(float)
    low, high = paths.bootstrap_interval(values, level=0.9)
    assert low < values.mean() < high and high - low < 0.1
    rows = np.stack([values, 1 - values])
    low, high = paths.bootstrap_interval(rows)
    assert low <= 0.5 <= high


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda L, a, b: paths.build_tunnel(L, a, a), ValueError, "must differ"),
        (lambda L, a, b: paths.build_tunnel(L, a, b, segments=0), ValueError, "segments must be >= 1"),
        (lambda L, a, b: paths.build_tunnel(L, a, b[:4]), ValueError, "b must be a vector of length 5"),
        (lambda L, a, b: paths.train_curve(L, a, b, "spline"), ValueError, "kind must be one of"),
        (lambda L, a, b: paths.train_curve(L, a, b, bends=0), ValueError, "bends must be >= 1"),
        (lambda L, a, b: paths.build_tunnel(L, a, b, refine=-1), ValueError, "refine"),
    ],
)
def test_path_bad_input(call, error, words):
    landscape = toy.WedgeLandscape(5, 3)
    with pytest.raises(error, match=words):
        call(landscape, np.ones(5, np.float32), np.arange(5, dtype=np.float32))


def test_hyperplanes_optimized_together_equal_one_by_one():
    landscape = toy.WedgeLandscape(40, 30)
    a, b = landscape.initial_params(0).numpy(), landscape.initial_params(1).numpy()
    together = paths.build_tunnel(landscape, a, b, segments=6, steps=80)
    alone = paths.build_tunnel(Unbatched(landscape), a, b, segments=6, steps=80)
    np.testing.assert_allclose(together.points, alone.points, atol=1e-5)
    with pytest.raises(TypeError, match="batched losses"):
        paths.HyperplaneLandscape(Unbatched(landscape), np.stack([a, b]), np.stack([b - a, b - a]))


def test_block_contrast_tells_two_blocks_from_a_band():
    """half_alignment says 'within > across' for both; block_contrast only for the blocks."""
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(200), rng.standard_normal(200)
    blocks = np.stack([u + 0.3 * rng.standard_normal(200) for _ in range(5)]
                      + [v + 0.3 * rng.standard_normal(200) for _ in range(5)])
    angles = np.linspace(0.0, np.pi, 10)  # a path that turns steadily from u to v: a band
    band = np.stack([np.cos(a) * u + np.sin(a) * v for a in angles])
    for vectors in (blocks, band):
        within, across = paths.half_alignment(vectors)
        assert within > across + 0.3
    assert paths.block_contrast(blocks) > 0.5
    assert abs(paths.block_contrast(band)) < 0.05
    with pytest.raises(ValueError, match="at least 4 rows"):
        paths.block_contrast(blocks[:3])


def test_resolution_trend_recovers_a_power_law_and_extrapolates_it():
    segments = np.array([8, 16, 32, 64])
    barriers = np.vstack([0.8 * segments ** -0.5, 0.4 * segments ** -0.25, np.full(4, 0.3)])
    trend = paths.resolution_trend(segments, barriers)
    np.testing.assert_allclose(trend.slopes, [-0.5, -0.25, 0.0], atol=1e-9)
    needed = trend.segments_to_reach(0.01)
    np.testing.assert_allclose(needed[:2], [(0.8 / 0.01) ** 2, (0.4 / 0.01) ** 4], rtol=1e-6)
    assert needed[2] == np.inf  # a flat barrier never gets there
    assert trend.segments_to_reach(0.9)[0] == 64  # already below the target at the finest resolution
    with pytest.raises(ValueError, match="one column per entry of segments"):
        paths.resolution_trend([2, 4], barriers)
    with pytest.raises(ValueError, match="last"):
        paths.resolution_trend(segments, barriers, last=5)
    with pytest.raises(ValueError, match="positive"):
        paths.resolution_trend(segments, -barriers)


def test_tunnel_resolution_matches_one_tunnel_and_names_bad_input():
    landscape = toy.WedgeLandscape(30, 20)
    a, b = (train.minimize(landscape, landscape.initial_params(seed), steps=200).params for seed in (0, 1))
    table = paths.tunnel_resolution(landscape, [(a, b)], (2, 4), steps=50)
    assert table.shape == (1, 2)
    one = paths.build_tunnel(landscape, a, b, segments=4, steps=50).profile(landscape, num=801).barrier
    assert table[0, 1] == pytest.approx(one / paths.linear_path(landscape, a, b, num=101).barrier, rel=1e-5)
    with pytest.raises(ValueError, match="segments"):
        paths.tunnel_resolution(landscape, [(a, b)], ())
    with pytest.raises(ValueError, match="pairs"):
        paths.tunnel_resolution(landscape, [], (2,))
