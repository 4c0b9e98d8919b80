"""Random subspaces: the three kinds behind one interface, and training inside them."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import data, models, subspace, toy


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
        (dict(dim=10**6, d=10**4), MemoryError, "fastfood"),
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
