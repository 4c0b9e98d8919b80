"""Random subspaces: the three kinds behind one interface, and training inside them."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import core, data, models, subspace, toy, train
from unbatched import Unbatched


def explicit_matrix(space):
    """M, row by row: the offset of each basis vector of theta."""
    return np.stack([space.offset(tf.one_hot(i, space.d)).numpy() for i in range(space.d)])


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_projection_is_affine_and_matches_its_matrix(kind):
    origin = np.linspace(-1, 1, 50).astype(np.float32)
    space = subspace.RandomSubspace(dim=50, d=7, kind=kind, origin=origin, seed=3)
    matrix = explicit_matrix(space)
    theta = np.random.default_rng(0).standard_normal(7).astype(np.float32)
    np.testing.assert_allclose(space.project(theta).numpy(), origin + theta @ matrix, atol=1e-5)
    np.testing.assert_allclose(space.project(np.zeros(7, np.float32)).numpy(), origin)


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_directions_have_about_unit_length(kind):
    space = subspace.RandomSubspace(dim=3000, d=40, kind=kind, seed=1)
    norms = np.linalg.norm(explicit_matrix(space), axis=1)
    assert abs(np.mean(norms) - 1) < 0.1


def test_fastfood_directions_are_nearly_orthogonal():
    space = subspace.RandomSubspace(dim=4096, d=30, kind="fastfood", seed=2)
    matrix = explicit_matrix(space)
    gram = matrix @ matrix.T / np.outer(np.linalg.norm(matrix, axis=1), np.linalg.norm(matrix, axis=1))
    # Like independent Gaussian directions: cosines of order 1/sqrt(D), not exactly 0.
    assert np.max(np.abs(gram - np.eye(30))) < 5 / np.sqrt(4096)


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_the_gradient_through_a_projection_is_its_transpose(kind):
    space = subspace.RandomSubspace(dim=400, d=30, kind=kind, seed=6)
    theta = tf.constant(np.random.default_rng(0).standard_normal(30), tf.float32)
    upstream = np.random.default_rng(1).standard_normal(400).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(theta)
        offset = space.offset(theta)
    gradient = tape.gradient(offset, theta, output_gradients=tf.constant(upstream))
    np.testing.assert_allclose(gradient.numpy(), explicit_matrix(space) @ upstream, rtol=1e-4, atol=1e-4)


def test_sparse_rows_have_sqrt_dim_entries_of_equal_size():
    space = subspace.RandomSubspace(dim=900, d=12, kind="sparse", seed=2)
    matrix = explicit_matrix(space)
    per_row = subspace.SparseProjection.per_row(900)  # 30; a repeated column adds its two entries up
    assert per_row == 30
    assert all(25 <= np.count_nonzero(row) <= 30 for row in matrix)
    multiples = np.abs(matrix[matrix != 0]) * np.sqrt(per_row)  # entries are +-1/sqrt(per_row), or twice that
    np.testing.assert_allclose(multiples, np.round(multiples), atol=1e-5)
    assert set(np.round(multiples).astype(int)) <= {1, 2}


@pytest.mark.parametrize("dim, d", [(50, 1), (50, 7), (300, 40), (1000, 1000), (2**12, 2**9), (3000, 100)])
def test_fastfood_is_the_product_of_its_factors(dim, d):
    """The offset equals (S H G Pi H B theta)[:dim] built from dense matrices, and its
    gradient is the transposed map (the implementation transforms B theta's head only)."""
    from scipy.linalg import hadamard

    space = subspace.RandomSubspace(dim=dim, d=d, kind="fastfood", seed=5)
    state = {key: value.numpy() for key, value in space.projection.state.items()}
    padded = state["signs"].size
    hadamard_matrix = hadamard(padded).astype(np.float64)
    right = hadamard_matrix[:, :d] * state["signs"][:d]  # H B, on theta zero-padded to the power of two
    dense = hadamard_matrix[:dim] @ (state["gaussian"][:, None] * right[state["permutation"]])  # dim x d
    theta = np.random.default_rng(d).standard_normal(d)
    expected = dense @ theta
    theta_tensor = tf.constant(theta, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(theta_tensor)
        offset = space.offset(theta_tensor)
    upstream = np.random.default_rng(dim).standard_normal(dim)
    gradient = tape.gradient(offset, theta_tensor, output_gradients=tf.constant(upstream, tf.float32))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(offset.numpy(), expected, atol=1e-5 * scale)
    np.testing.assert_allclose(gradient.numpy(), dense.T @ upstream, atol=1e-5 * np.abs(dense.T @ upstream).max())


def test_same_seed_same_subspace():
    a, b = (subspace.RandomSubspace(100, 5, kind="sparse", seed=4) for _ in range(2))
    np.testing.assert_array_equal(explicit_matrix(a), explicit_matrix(b))


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_toy_trains_above_but_not_below_the_number_of_short_directions(kind):
    # D - n = 20 short directions: a random 40-dim plane hits a wedge, a 5-dim one does not.
    landscape = toy.WedgeLandscape(200, 180)
    origin = landscape.initial_params(0)
    start = float(landscape.loss(origin))
    above = subspace.train_in_subspace(landscape, subspace.RandomSubspace(200, 40, kind, origin, seed=1),
                                       steps=800, learning_rate=1e-2, schedule="cosine")
    below = subspace.train_in_subspace(landscape, subspace.RandomSubspace(200, 5, kind, origin, seed=1),
                                       steps=800, learning_rate=1e-2, schedule="cosine")
    assert above.final_loss < 0.01 * start
    assert below.final_loss > 0.2 * start
    np.testing.assert_allclose(float(landscape.loss(above.params)), above.final_loss, rtol=1e-4, atol=1e-7)


def test_training_a_keras_model_in_a_subspace():
    dataset = data.load_dataset("digits", max_train=200)
    landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=(16,), seed=0), dataset)
    origin = landscape.initial_params(1)
    space = subspace.RandomSubspace(landscape.dim, 100, "fastfood", origin, seed=0)
    before = landscape.params.numpy().copy()
    result = subspace.train_in_subspace(landscape, space, steps=150, learning_rate=5e-2)
    assert result.final_loss < 0.6 * float(landscape.loss(origin))
    np.testing.assert_array_equal(before, landscape.params.numpy())  # the model itself is untouched


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(dim=10, d=0), ValueError, "d must be >= 1"),
        (dict(dim=10, d=11), ValueError, "d must be <= 10"),
        (dict(dim=10, d=2, kind="gaussian"), ValueError, "kind must be one of 'dense', 'sparse', 'fastfood'"),
        (dict(dim=10, d=2, origin=np.zeros(9, np.float32)), ValueError, "origin must be a vector of length 10"),
        (dict(dim=10**6, d=10**4), MemoryError, "use kind='fastfood'"),
        (dict(dim=2**27, d=10, kind="fastfood"), MemoryError, "lower dim or raise memory_budget"),
        (dict(dim=2**40, d=10, kind="fastfood"), ValueError, "dim must be <= 268435456"),
    ],
)
def test_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        subspace.RandomSubspace(**kwargs)


def test_fastfood_at_a_million_dimensions_stays_small():
    space = subspace.RandomSubspace(dim=10**6, d=10**4, kind="fastfood", seed=0)
    assert space.memory_bytes < 2**25
    point = space.project(tf.ones([10**4]))
    assert point.shape == (10**6,) and bool(tf.reduce_all(tf.math.is_finite(point)))


def test_intrinsic_dimension_finds_the_number_of_short_directions():
    landscape = toy.WedgeLandscape(120, 90)  # 30 short directions
    result = subspace.intrinsic_dimension(landscape, [10, 20, 27, 30, 33, 45], seeds=2, steps=1500,
                                          learning_rate=2e-2, schedule="cosine", full_space=False)
    assert result.final_loss.shape == (6, 2) and result.accuracy is None
    assert abs(result.limiting_dimension(0.01) - 30) <= 3
    assert np.all(result.relative_loss[:2] > 0.05)  # far below D - n: no wedge within reach
    with pytest.raises(ValueError, match="accuracies"):
        result.d_int(0.9)


def test_intrinsic_dimension_on_a_network_and_origin_radius():
    dataset = data.load_dataset("digits", max_train=200, max_test=100)
    landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=(16,), seed=0), dataset)
    result = subspace.intrinsic_dimension(landscape, [5, 150], seeds=[3], steps=150, learning_rate=0.1,
                                          full_space_learning_rate=1e-2, origin_radius=4.0)
    assert result.accuracy.shape == (2, 1) and result.full_space_accuracy.shape == (1,)
    assert result.accuracy[1, 0] > result.accuracy[0, 0]
    assert result.d_int(0.5) in (5, 150)
    origin = landscape.initial_params(3)
    assert result.initial_loss[0] == pytest.approx(float(landscape.loss(origin * (4.0 / tf.norm(origin)))), rel=1e-5)


def test_a_network_sweep_gives_the_same_numbers_with_one_worker_or_two():
    dataset = data.load_dataset("digits", max_train=100, max_test=50)
    results = []
    for count in (1, 2):
        core.set_workers(count)
        try:
            landscape = models.ModelLandscape(models.mlp(dataset.input_shape, 10, widths=(8,), seed=0), dataset)
            results.append(subspace.intrinsic_dimension(landscape, [5, 20, 40], seeds=2, steps=30,
                                                        learning_rate=0.1, full_space_learning_rate=1e-2))
        finally:
            core.set_workers(None)
    one, two = results
    for field in ("final_loss", "accuracy", "full_space_loss", "full_space_accuracy"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))


def test_d_int_picks_the_smallest_dimension_reaching_the_level():
    result = subspace.IntrinsicDimensionResult(
        dims=np.array([10, 20, 40]), seeds=np.array([0, 1]), initial_loss=np.array([1.0, 1.0]),
        final_loss=np.array([[0.5, 0.5], [0.2, 0.1], [0.001, 0.003]]),
        accuracy=np.array([[0.5, 0.6], [0.85, 0.9], [0.95, 0.97]]),
        full_space_loss=np.array([0.0, 0.0]), full_space_accuracy=np.array([0.98, 0.98]))
    assert result.d_int(0.9) == 40  # 0.875 < 0.882 <= 0.96
    assert result.d_int_per_seed(0.9) == [40, 20]
    assert result.d_int(0.8) == 20
    assert result.d_int(0.999) is None
    assert result.limiting_dimension(0.01) == 40
    assert result.limiting_dimension(0.2) == 20


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(dims=[]), ValueError, "dims"),
        (dict(dims=[0]), ValueError, r"dims\[0\] must be >= 1"),
        (dict(dims=[50]), ValueError, r"dims must be <= landscape.dim = 20"),
        (dict(dims=[5], seeds=0), ValueError, "seeds must be >= 1"),
        (dict(dims=[5], seeds=[]), ValueError, "seeds"),
        (dict(dims=[5], origin_radius=-1.0), ValueError, "origin_radius"),
    ],
)
def test_intrinsic_dimension_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        subspace.intrinsic_dimension(toy.WedgeLandscape(20, 10), steps=5, **kwargs)


def test_train_in_subspace_rejects_a_mismatched_subspace():
    with pytest.raises(ValueError, match="subspace.dim"):
        subspace.train_in_subspace(toy.WedgeLandscape(20, 10), subspace.RandomSubspace(30, 5))
    with pytest.raises(TypeError, match="RandomSubspace"):
        subspace.train_in_subspace(toy.WedgeLandscape(20, 10), np.zeros((5, 20)))


@pytest.mark.parametrize("length", [1, 2, 4, 8, 256, 2**13])
def test_fast_walsh_hadamard_equals_the_matrix(length):
    from scipy.linalg import hadamard

    x = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    exact = hadamard(length) @ x.astype(np.float64)
    np.testing.assert_allclose(subspace._walsh_hadamard(tf.constant(x)).numpy(), exact, rtol=1e-4, atol=1e-3)
    # H is symmetric, so the gradient of u . (H x) with respect to x is H u.
    upstream = tf.constant(np.random.default_rng(length + 1).standard_normal(length).astype(np.float32))
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        projected = tf.reduce_sum(upstream * subspace._walsh_hadamard(x))
    expected = hadamard(length) @ upstream.numpy().astype(np.float64)
    np.testing.assert_allclose(tape.gradient(projected, x).numpy(), expected, rtol=1e-4, atol=1e-3)


def test_a_sweep_compiles_its_training_loop_once():
    from landscape import train

    landscape = toy.WedgeLandscape(60, 40)
    before = train._minimize_loop.tracing_count()
    subspace.intrinsic_dimension(landscape, [5, 10, 20, 30], seeds=3, steps=20, full_space=False)
    # One trace, then one with the d axis relaxed to any length: not one per (d, seed).
    assert train._minimize_loop.tracing_count() - before <= 2


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_subspace_landscape_switches_subspaces(kind):
    landscape = toy.WedgeLandscape(50, 40)
    first = subspace.RandomSubspace(50, 4, kind, landscape.initial_params(0), seed=1)
    second = subspace.RandomSubspace(50, 9, kind, landscape.initial_params(1), seed=2)
    restricted = subspace.SubspaceLandscape(landscape, first).use(second)
    theta = np.linspace(-1, 1, 9).astype(np.float32)
    np.testing.assert_allclose(restricted.project(tf.constant(theta)).numpy(), second.project(theta).numpy(),
                               rtol=1e-5, atol=1e-5)
    assert restricted.dim == 9
    other = "dense" if kind != "dense" else "sparse"
    with pytest.raises(ValueError, match="subspace.kind must be"):
        restricted.use(subspace.RandomSubspace(50, 3, other))


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_scale_presets_fit_the_memory_budget(name):
    from landscape import scale

    preset = scale.get_scale(name).subspaces
    for dim, n in preset.toy_pairs:  # chapter 3 sweeps d up to 1.5 (D - n), dense
        assert subspace.RandomSubspace.estimate_memory(dim, round(1.5 * (dim - n)), "dense") <= subspace.DEFAULT_MEMORY_BUDGET
    inputs = {"digits": (8, 8, 1), "mnist": (28, 28, 1)}[preset.fc_dataset]
    fc_dim = core.FlatView(models.mlp(inputs, 10, widths=preset.fc_widths).trainable_variables).dim
    largest = subspace.RandomSubspace.estimate_memory(fc_dim, max(preset.dims), preset.kind)
    assert largest <= subspace.DEFAULT_MEMORY_BUDGET


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_seeds_trained_together_equal_seeds_trained_alone(kind):
    landscape = toy.WedgeLandscape(80, 60)
    arguments = dict(dims=[5, 25], seeds=3, kind=kind, steps=60, learning_rate=2e-2, full_space=False)
    together = subspace.intrinsic_dimension(landscape, **arguments)
    alone = subspace.intrinsic_dimension(Unbatched(landscape), **arguments)
    np.testing.assert_allclose(together.final_loss, alone.final_loss, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", subspace.KINDS)
def test_members_of_different_d_train_as_if_alone(kind):
    landscape = toy.WedgeLandscape(50, 40)
    small = subspace.RandomSubspace(50, 3, kind, landscape.initial_params(0), seed=1)
    large = subspace.RandomSubspace(50, 8, kind, landscape.initial_params(1), seed=2)
    both = subspace.SubspaceLandscape(landscape, [small, large])
    assert both.d == 8 and both.member_dims == (3, 8) and both.dim == 16
    result = train.minimize(both, both.initial_params(), 30, 2e-2)
    theta = result.params.reshape(2, 8)
    assert np.all(theta[0, 3:] == 0.0)  # the small member's padding never moves
    points = both.points(result.params)
    np.testing.assert_allclose(points[0], small.project(theta[0, :3]).numpy(), rtol=1e-5, atol=1e-5)
    alone = train.minimize(subspace.SubspaceLandscape(landscape, small), tf.zeros([3]), 30, 2e-2)
    np.testing.assert_allclose(theta[0, :3], alone.params, rtol=1e-4, atol=1e-6)


def test_later_sweeps_of_a_landscape_do_not_trace_again():
    landscape = toy.WedgeLandscape(60, 40)
    network = models.ModelLandscape(models.mlp((8, 8, 1), 10, widths=(4,)), data.load_dataset("digits", max_train=64),
                                    batch_size=32)
    for sweep in range(2):
        before = train._minimize_loop.tracing_count()
        subspace.intrinsic_dimension(landscape, [5, 10, 20], seeds=2, steps=10, full_space=False)
        subspace.intrinsic_dimension(network, [5, 10, 20], seeds=2, steps=10, full_space=False)
        subspace.train_in_subspace(network, subspace.RandomSubspace(network.dim, 7, seed=3), steps=10)
        if sweep == 1:
            assert train._minimize_loop.tracing_count() == before


def test_dense_projections_of_one_seed_are_nested():
    # The promise a nested kind makes: a smaller d is the first rows of a larger d.
    small, large = (subspace.RandomSubspace(300, d, "dense", seed=4) for d in (7, 40))
    np.testing.assert_array_equal(small.projection.state["matrix"].numpy(),
                                  large.projection.state["matrix"].numpy()[:7])
    assert subspace.DenseProjection.nested and not subspace.SparseProjection.nested


def test_members_of_one_seed_share_one_matrix_and_train_as_if_alone():
    landscape = toy.WedgeLandscape(50, 40)
    spaces = [subspace.RandomSubspace(50, d, "dense", landscape.initial_params(seed), seed=seed)
              for d, seed in ((3, 1), (8, 1), (5, 2))]
    together = subspace.SubspaceLandscape(landscape, spaces)
    assert together.shared and together.state["matrix"].numpy().shape == (2, 8, 50)  # one matrix per seed
    result = train.minimize(together, together.initial_params(), 30, 2e-2)
    theta = result.params.reshape(3, 8)
    assert np.all(theta[0, 3:] == 0.0) and np.all(theta[2, 5:] == 0.0)
    points = together.points(result.params)
    for member, space in enumerate(spaces):
        np.testing.assert_allclose(points[member], space.project(theta[member, :space.d]).numpy(), rtol=1e-5,
                                   atol=1e-5)
        alone = train.minimize(subspace.SubspaceLandscape(landscape, space), tf.zeros([space.d]), 30, 2e-2)
        np.testing.assert_allclose(theta[member, :space.d], alone.params, rtol=1e-4, atol=1e-5)


def test_toy_sweeps_compile_with_xla_and_network_sweeps_do_not():
    landscape = toy.WedgeLandscape(40, 30)
    network = models.ModelLandscape(models.mlp((8, 8, 1), 10, widths=(4,)), data.load_dataset("digits", max_train=64),
                                    batch_size=32)
    one, two = (subspace.RandomSubspace(40, d, "dense", seed=d) for d in (5, 9))
    assert subspace.SubspaceLandscape(landscape, [one, two]).compile_with_xla
    assert not subspace.SubspaceLandscape(landscape, one).compile_with_xla  # one member: top_k is faster plain
    net_space = subspace.RandomSubspace(network.dim, 5, "dense", seed=0)
    assert not subspace.SubspaceLandscape(network, net_space).compile_with_xla
    xla = train._minimize_loop._xla.experimental_get_tracing_count()
    subspace.intrinsic_dimension(toy.WedgeLandscape(40, 30), [5, 10], seeds=2, steps=5, full_space=False)
    assert train._minimize_loop._xla.experimental_get_tracing_count() == xla + 1
