"""The toy landscape: the surrogate equals the brute-force distance to every wedge."""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from landscape import toy


def brute_force_distance(point, n):
    """Distance to the nearest n-wedge by enumerating every n-subset of long axes."""
    dim = len(point)
    best = np.inf
    for long_axes in itertools.combinations(range(dim), n):
        short = np.ones(dim, dtype=bool)
        short[list(long_axes)] = False
        best = min(best, np.sqrt(np.sum(point[short] ** 2)))
    return best


@st.composite
def point_and_n(draw, max_dim=7):
    dim = draw(st.integers(1, max_dim))
    n = draw(st.integers(0, dim - 1))
    values = draw(st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=dim, max_size=dim))
    return np.array(values, dtype=np.float32), n


@settings(max_examples=150, deadline=None)
@given(point_and_n())
def test_surrogate_equals_brute_force(case):
    point, n = case
    landscape = toy.WedgeLandscape(len(point), n)
    expected = brute_force_distance(point.astype(np.float64), n)
    assert float(landscape.loss(point)) == pytest.approx(expected, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("dim", [1, 2, 5, 6])
def test_extreme_n_values(dim):
    rng = np.random.default_rng(dim)
    point = rng.standard_normal(dim).astype(np.float32)
    # n = 0: the only wedge is the origin, the loss is the norm.
    assert float(toy.WedgeLandscape(dim, 0).loss(point)) == pytest.approx(np.linalg.norm(point), rel=1e-6)
    # n = D - 1: one short axis, the loss is the smallest |coordinate|.
    expected = brute_force_distance(point.astype(np.float64), dim - 1)
    assert float(toy.WedgeLandscape(dim, dim - 1).loss(point)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(np.min(np.abs(point)), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(point_and_n(max_dim=6), st.integers(0, 50))
def test_rotated_surrogate_is_brute_force_in_rotated_coordinates(case, seed):
    point, n = case
    landscape = toy.WedgeLandscape(len(point), n, rotate=True, seed=seed)
    rotation = landscape.rotation.matrix().astype(np.float64)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(len(point)), atol=1e-5)
    expected = brute_force_distance(rotation.T @ point.astype(np.float64), n)
    assert float(landscape.loss(point)) == pytest.approx(expected, rel=1e-4, abs=1e-4)


@settings(max_examples=80, deadline=None)
@given(point_and_n(max_dim=7), st.booleans())
def test_gradient_matches_finite_differences(case, rotate):
    point, n = case
    dim = len(point)
    landscape = toy.WedgeLandscape(dim, n, rotate=rotate, seed=3)
    coords = point.astype(np.float64)
    if rotate:
        coords = landscape.rotation.matrix().astype(np.float64).T @ coords
    magnitudes = np.sort(np.abs(coords))
    # Away from ties (where the nearest wedge switches) and from the wedge itself.
    if n > 0:
        assume(magnitudes[dim - n] - magnitudes[dim - n - 1] > 0.05)
    assume(np.sqrt(np.sum(magnitudes[: dim - n] ** 2)) > 0.05)
    _, grad = landscape.loss_and_grad(point)
    step = 1e-3
    numeric = np.zeros(dim)
    for i in range(dim):
        offset = np.zeros(dim, dtype=np.float32)
        offset[i] = step
        numeric[i] = (float(landscape.loss(point + offset)) - float(landscape.loss(point - offset))) / (2 * step)
    np.testing.assert_allclose(grad.numpy(), numeric, atol=2e-2)


def test_gradient_is_zero_not_nan_on_a_wedge():
    landscape = toy.WedgeLandscape(4, 2)
    loss, grad = landscape.loss_and_grad(np.array([3.0, 0.0, -2.0, 0.0], dtype=np.float32))
    assert float(loss) == 0.0
    assert np.all(np.isfinite(grad.numpy()))


def test_losses_batch_matches_single():
    for rotate in (False, True):
        landscape = toy.WedgeLandscape(9, 4, rotate=rotate, seed=1)
        points = np.random.default_rng(0).standard_normal((5, 9)).astype(np.float32)
        single = [float(landscape.loss(p)) for p in points]
        np.testing.assert_allclose(landscape.losses(points), single, rtol=1e-5)


def test_which_wedge_and_projection():
    landscape = toy.WedgeLandscape(5, 3)
    point = np.array([0.1, -4.0, 2.0, -0.3, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(landscape.long_axes(point), [1, 2, 4])
    np.testing.assert_array_equal(landscape.short_axes(point), [0, 3])
    projected = landscape.project_to_wedge(point).numpy()
    np.testing.assert_allclose(projected, [0, -4, 2, 0, 1])
    assert float(landscape.loss(projected)) == 0.0
    assert np.linalg.norm(point - projected) == pytest.approx(float(landscape.loss(point)), rel=1e-6)


@pytest.mark.parametrize("rotate", [False, True])
def test_intersection_point_lies_on_both_wedges_and_path_stays_low(rotate):
    from landscape import paths

    landscape = toy.WedgeLandscape(12, 8, rotate=rotate, seed=2)
    a = landscape.project_to_wedge(landscape.initial_params(0))
    b = landscape.project_to_wedge(landscape.initial_params(1))
    assert not landscape.same_wedge(a, b)
    corner = landscape.intersection_point(a, b)
    assert float(landscape.loss(corner)) < 1e-5
    through = paths.polyline_path(landscape, [a, corner, b], num=101)
    line = paths.linear_path(landscape, a, b, num=101)
    assert through.max_loss < 1e-5
    assert line.max_loss > 0.1


@pytest.mark.parametrize("dim, n", [(toy.RADIX_SELECT_FROM, 1000), (toy.RADIX_SELECT_FROM + 123, 40_000)])
def test_radix_select_equals_sorting(dim, n):
    landscape = toy.WedgeLandscape(dim, n)
    rng = np.random.default_rng(dim)
    point = rng.standard_normal(dim).astype(np.float32)
    point[rng.integers(0, dim, 500)] = 0.0  # ties at zero
    point[rng.integers(0, dim, 500)] = 0.25  # and ties elsewhere
    expected = np.sqrt(np.sum(np.sort(np.abs(point.astype(np.float64)))[: dim - n] ** 2))
    loss, grad = landscape.loss_and_grad(point)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    # The gradient is x / L on the selected coordinates: its norm is 1, its support D - n
    # coordinates (ties at the threshold share the last slots).
    assert float(tf.norm(grad)) == pytest.approx(1.0, rel=1e-4)
    assert float(landscape.loss(point)) == pytest.approx(float(loss), rel=1e-6)
    batch = landscape.losses(np.stack([point, point]))  # the batched path uses top_k
    np.testing.assert_allclose(batch, [expected, expected], rtol=1e-5)


def test_radix_select_ties_at_the_threshold_share_the_slots():
    dim, n = toy.RADIX_SELECT_FROM, toy.RADIX_SELECT_FROM - 10
    point = np.ones(dim, np.float32)  # every coordinate tied: 10 of them are short
    loss, grad = toy.WedgeLandscape(dim, n).loss_and_grad(point)
    assert float(loss) == pytest.approx(np.sqrt(10.0), rel=1e-6)
    assert float(tf.reduce_sum(grad)) == pytest.approx(np.sqrt(10.0), rel=1e-4)


@pytest.mark.parametrize("dim, block", [(1, None), (7, None), (64, 64), (65, 64), (300, 64), (300, None)])
def test_random_rotation_is_orthogonal_dense_and_inverted(dim, block):
    rotation = toy.RandomRotation(dim, seed=3, block=block)
    q = rotation.matrix().astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(dim), atol=1e-5)
    if dim > 1:
        assert np.mean(np.abs(q) > 1e-6) > 0.99  # every coordinate mixes with every other
    points = np.random.default_rng(dim).standard_normal((3, dim)).astype(np.float32)
    np.testing.assert_allclose(rotation.transpose_apply(tf.constant(points)).numpy(), points @ q, atol=1e-4)
    np.testing.assert_allclose(rotation.apply(rotation.transpose_apply(tf.constant(points))).numpy(), points,
                               atol=1e-4)


def test_rotated_wedges_at_the_paper_dimension_are_cheap():
    landscape = toy.WedgeLandscape(10_000, 9_000, rotate=True, seed=1)
    point = landscape.initial_params(0)
    coords = landscape.to_wedge_coordinates(point)
    assert float(tf.norm(coords)) == pytest.approx(float(tf.norm(point)), rel=1e-5)
    assert float(landscape.loss(point)) > 0


def test_toy_counts_its_short_directions():
    landscape = toy.WedgeLandscape(10, 6)
    point = np.array([0.0, 1.0, 2.0, 0.001, -3.0, 0.0, 1.0, 1.0, -0.002, 2.0], np.float32)
    assert landscape.short_directions(point) == 4
    assert landscape.short_directions(point, tolerance=1e-6) == 2


def test_initial_params_are_seeded():
    landscape = toy.WedgeLandscape(50, 40, init_scale=2.0)
    a, b, c = (landscape.initial_params(s).numpy() for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 1.5 < np.std(a) < 2.5


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(dim=5, n=5), ValueError, "n must be <= 4"),
        (dict(dim=5, n=7), ValueError, "n must be <= 4"),
        (dict(dim=5, n=-1), ValueError, "n must be >= 0"),
        (dict(dim=0, n=0), ValueError, "dim must be >= 1"),
        (dict(dim=5.0, n=1), TypeError, "dim must be an integer"),
        (dict(dim=5, n=1, rotate="yes"), TypeError, "rotate"),
        (dict(dim=5, n=1, init_scale=0.0), ValueError, "init_scale"),
        (dict(dim=10**11, n=1), ValueError, "dim must be <= 268435456"),
    ],
)
def test_bad_construction(kwargs, error, words):
    with pytest.raises(error, match=words):
        toy.WedgeLandscape(**kwargs)


@pytest.mark.parametrize(
    "params, error, words",
    [
        (np.zeros(4, dtype=np.float32), ValueError, "length 5"),
        (np.zeros((5, 1), dtype=np.float32), ValueError, "length 5"),
        (np.zeros(5, dtype=np.int64), TypeError, "floating-point"),
        (np.array(["a"] * 5), TypeError, "floating-point"),
        (np.array([0, 0, np.nan, 0, 0], dtype=np.float32), ValueError, "non-finite"),
        (np.array([0, 0, np.inf, 0, 0]), ValueError, "non-finite"),
    ],
)
def test_bad_params(params, error, words):
    landscape = toy.WedgeLandscape(5, 2)
    with pytest.raises(error, match=words):
        landscape.loss(params)
    with pytest.raises(error, match=words):
        landscape.loss_and_grad(params)


def test_float64_input_is_accepted_and_cast():
    landscape = toy.WedgeLandscape(3, 1)
    assert float(landscape.loss(np.array([3.0, 4.0, 0.0]))) == pytest.approx(3.0)
    assert float(landscape.loss([3.0, 4.0, 12.0])) == pytest.approx(5.0)


def test_quadratic_basins_are_the_lowest_bowl():
    centers = np.array([[0.0, 0.0], [4.0, 0.0]], np.float32)
    eigenvalues = np.array([[1.0, 4.0], [2.0, -1.0]], np.float32)  # the negative one is clipped to 0
    eigenvectors = np.stack([np.eye(2), np.eye(2)]).astype(np.float32)
    basins = toy.QuadraticBasins(centers, eigenvalues, eigenvectors, losses=[0.0, 0.5])
    point = np.array([1.0, 1.0], np.float32)
    first, second = 0.5 * (1 * 1 + 4 * 1), 0.5 + 0.5 * (2 * 9 + 0)
    assert float(basins.loss(point)) == pytest.approx(min(first, second))
    np.testing.assert_allclose(basins.losses(np.stack([point, centers[1]])), [first, 0.5], rtol=1e-6)
    _, grad = basins.loss_and_grad(point)
    np.testing.assert_allclose(grad.numpy(), [1.0, 4.0], rtol=1e-6)
    with pytest.raises(ValueError, match="eigenvectors must have shape"):
        toy.QuadraticBasins(centers, eigenvalues, np.eye(2, dtype=np.float32))
