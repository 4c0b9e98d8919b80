"""Training on any landscape."""
import numpy as np
import pytest

from landscape import core, toy, train


def test_minimize_reaches_a_wedge_and_records_trajectory():
    landscape = toy.WedgeLandscape(40, 30)
    start = landscape.initial_params(0)
    result = train.minimize(landscape, start, steps=300, learning_rate=1e-2, schedule="cosine", record_every=50)
    assert result.final_loss < 1e-3 * float(landscape.loss(start))
    assert result.losses.shape == (300,)
    assert result.trajectory.shape == (7, 40)
    np.testing.assert_array_equal(result.trajectory[0], start.numpy())
    np.testing.assert_array_equal(result.trajectory[-1], result.params)
    # Gradient descent only shrinks the short coordinates: it lands on the nearest wedge.
    assert landscape.same_wedge(start, result.params)


def test_trajectory_with_steps_not_a_multiple_of_record_every():
    landscape = toy.WedgeLandscape(10, 5)
    result = train.minimize(landscape, landscape.initial_params(0), steps=7, record_every=3)
    assert result.trajectory.shape == (4, 10)  # steps 0, 3, 6 and the final parameters
    np.testing.assert_array_equal(result.trajectory[-1], result.params)


@pytest.mark.parametrize("optimizer", train.OPTIMIZERS)
def test_every_optimizer_descends(optimizer):
    landscape = toy.WedgeLandscape(20, 10)
    start = landscape.initial_params(1)
    result = train.minimize(landscape, start, steps=100, learning_rate=1e-2, optimizer=optimizer)
    assert result.final_loss < 0.5 * float(landscape.loss(start))


def test_minimize_is_deterministic():
    landscape = toy.WedgeLandscape(30, 20, rotate=True)
    first = train.minimize(landscape, landscape.initial_params(2), steps=50)
    second = train.minimize(landscape, landscape.initial_params(2), steps=50)
    np.testing.assert_array_equal(first.params, second.params)


def test_minimize_from_seeds_matches_single_runs():
    landscape = toy.WedgeLandscape(30, 25)
    runs = train.minimize_from_seeds(landscape, [3, 4], steps=40, learning_rate=1e-2)
    single = train.minimize(landscape, landscape.initial_params(4), steps=40, learning_rate=1e-2)
    np.testing.assert_array_equal(runs[1].params, single.params)


def test_minimize_from_seeds_on_a_network_does_not_depend_on_the_workers(tiny_network):
    results = []
    for count in (1, 2):
        core.set_workers(count)
        try:
            results.append(train.minimize_from_seeds(tiny_network, [1, 2, 3], steps=20, learning_rate=1e-2))
        finally:
            core.set_workers(None)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one.params, two.params)
        np.testing.assert_array_equal(one.losses, two.losses)
