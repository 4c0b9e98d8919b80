"""m-connectors: the subdivision map's geometry, the methods on a small toy, batching."""
import numpy as np
import pytest
import tensorflow as tf

from landscape import core, paths, toy, train
from landscape.paths import connectors


def random_table(count, dim, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2**count, dim)).astype(np.float32)


def subdivision_point_by_hand(table, weights):
    """One point the slow way: the chain of faces of the sorted weights and mu_k."""
    order = sorted(range(len(weights)), key=lambda i: -weights[i])  # ties: the lower index first
    ranked = [weights[i] for i in order] + [0.0]
    point, mask = np.zeros(table.shape[1]), 0
    for k, i in enumerate(order):
        mask |= 1 << i
        point += (k + 1) * (ranked[k] - ranked[k + 1]) * table[mask]
    return point


@pytest.fixture(scope="module")
def small_toy():
    """D = 60, n = 54 (s/D = 10%, as at the quick scale) and four optima (m = 3)."""
    landscape = toy.WedgeLandscape(60, 54)
    optima = np.stack([r.params for r in train.minimize_from_seeds(landscape, range(1, 5), steps=1500,
                                                                   learning_rate=1e-3)])
    return landscape, optima


# -- geometry -------------------------------------------------------------------------------
def test_face_masks():
    np.testing.assert_array_equal(paths.face_masks(3), np.arange(1, 8))
    np.testing.assert_array_equal(paths.face_masks(3, 2), [3, 5, 6])
    assert len(paths.face_masks(11)) == 2**11 - 1


def test_subdivision_map_matches_the_chain_construction():
    table = random_table(4, 7)
    weights = connectors.dirichlet_weights(tf.constant([3, 4]), 50, 4).numpy()
    batched = paths.subdivision_points(tf.constant(table), tf.constant(weights)).numpy()
    by_hand = np.stack([subdivision_point_by_hand(table.astype(np.float64), w.astype(np.float64))
                        for w in weights])
    np.testing.assert_allclose(batched, by_hand, atol=1e-5)


def test_hull_weights_give_the_hull_exactly():
    optima = random_table(3, 9)[:4]
    landscape = toy.WedgeLandscape(9, 6)
    hull = paths.build_connector(landscape, optima, "hull")
    weights = connectors.dirichlet_weights(tf.constant([0, 0]), 200, 4).numpy()
    np.testing.assert_allclose(hull.points(weights), weights @ optima, atol=1e-5)
    assert hull.gradient_evaluations == 0


def test_vertices_are_the_optima_and_the_centre_is_the_barycentre_point():
    table = random_table(4, 6)
    optima = table[[1, 2, 4, 8]]
    con = paths.Connector("test", optima, table)
    np.testing.assert_allclose(con.points(np.eye(4)), optima, atol=1e-6)
    np.testing.assert_allclose(con.points(np.full((1, 4), 0.25))[0], con.centre, atol=1e-5)
    np.testing.assert_array_equal(con.centre, table[15])
    # the barycentre of a face maps to that face's point
    np.testing.assert_allclose(con.points([[0.5, 0.0, 0.5, 0.0]])[0], table[0b0101], atol=1e-6)


def test_faces_of_an_m_connector_are_the_lower_connectors():
    table = random_table(5, 6, seed=1)
    con = paths.Connector("test", table[[1, 2, 4, 8, 16]], table)
    weights = connectors.dirichlet_weights(tf.constant([1, 1]), 40, 3).numpy()
    padded = np.concatenate([weights, np.zeros((40, 2), np.float32)], axis=1)
    face = con.face(2)
    assert face.m == 2 and face.table.shape == (8, 6)
    np.testing.assert_allclose(con.points(padded), face.points(weights), atol=1e-6)
    # and a face opposite a vertex: the connector on optima 1..4 is the same surface
    other = np.concatenate([np.zeros((40, 1), np.float32), weights, np.zeros((40, 1), np.float32)], axis=1)
    rows = [0] + [mask << 1 for mask in range(1, 8)]
    sub = paths.Connector("test", table[[2, 4, 8]], table[rows])
    np.testing.assert_allclose(con.points(other), sub.points(weights), atol=1e-6)


def test_batched_evaluation_equals_pointwise(small_toy):
    landscape, optima = small_toy
    con = paths.build_connector(landscape, optima, "construction")
    weights = connectors.dirichlet_weights(tf.constant([5, 5]), 30, 4).numpy()
    batched = con.points(weights)
    one_by_one = np.stack([con.points(w[None])[0] for w in weights])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-6)
    np.testing.assert_allclose(landscape.losses(batched), [float(landscape.loss(p)) for p in batched], rtol=1e-5,
                               atol=1e-7)


def test_batched_gradients_equal_pointwise_on_a_network(tiny_network):
    points = tf.constant(np.stack([tiny_network.initial_params(s).numpy() for s in range(3)]))
    batched = connectors._point_gradients(tiny_network, points, tf.constant(0))
    for row, point in enumerate(tf.unstack(points)):
        _, grad = tiny_network.minibatch_loss_and_grad(point, tf.constant(0))
        np.testing.assert_allclose(batched[row].numpy(), grad.numpy(), rtol=1e-4, atol=1e-6)


# -- the methods on a small toy ------------------------------------------------------------
@pytest.fixture(scope="module")
def built(small_toy):
    landscape, optima = small_toy
    return {
        "hull": paths.build_connector(landscape, optima, "hull"),
        "construction": paths.build_connector(landscape, optima, "construction"),
        "stars": paths.build_connector(landscape, optima, "stars", steps=300, per_face=2, learning_rate=0.1),
        "hyperplane": paths.build_connector(landscape, optima, "hyperplane", steps=200, learning_rate=1e-2),
    }


def test_construction_and_stars_are_low_where_the_hull_is_high(small_toy, built):
    landscape, optima = small_toy
    vertex = max(float(landscape.loss(p)) for p in optima)
    for k in (1, 2, 3):
        hull = built["hull"].face(k).evaluate(landscape, num_points=500)
        assert hull.hull_highest == pytest.approx(hull.highest, rel=1e-5)  # the hull is its own baseline
        assert hull.highest > 100 * vertex
        for method in ("construction", "stars"):
            result = built[method].face(k).evaluate(landscape, num_points=500)
            assert result.hull_highest == pytest.approx(hull.highest, rel=1e-5)  # the same held-out points
            assert result.fraction_of_hull < 0.02, (method, k, result)
    assert built["stars"].gradient_evaluations == 300 * 11 * 2  # 11 faces of 2 or more optima, 2 points each


def test_centre_counts_the_union_of_short_axes(small_toy, built):
    landscape, optima = small_toy
    union = len(set().union(*[set(landscape.short_axes(p)) for p in optima]))
    for method in ("construction", "stars"):
        assert abs(landscape.short_directions(built[method].centre) - union) <= 0.1 * union


def test_hyperplane_recipe_points_stay_in_their_faces_hyperplanes(small_toy, built):
    _, optima = small_toy
    table = built["hyperplane"].table
    bary = connectors._barycentres(optima)
    for mask in paths.face_masks(4):
        members = optima[connectors._bits([mask], 4)[0].astype(bool)]
        moved = table[mask] - bary[mask]
        if len(members) == 1:
            np.testing.assert_array_equal(moved, 0.0)
            continue
        edges = (members[1:] - members[0]).T
        assert np.linalg.norm(edges.T @ moved) <= 1e-4 * np.linalg.norm(moved) * np.linalg.norm(edges)
        assert np.linalg.norm(moved) > 0
    assert built["hyperplane"].gradient_evaluations == 200 * 11


def test_a_centre_optimized_alone_is_the_recipes_centre(small_toy, built):
    """optimize_centre trains the one point the recipe trains in the middle, in the same
    hyperplane (orthogonal to the whole face) with the same Adam and schedule."""
    landscape, optima = small_toy
    alone = paths.optimize_centre(landscape, optima, steps=200, learning_rate=1e-2, schedule="cosine")
    np.testing.assert_allclose(alone.params, built["hyperplane"].centre, atol=1e-4)
    moved = alone.params - optima.mean(axis=0)
    edges = (optima[1:] - optima[0]).T
    assert np.linalg.norm(edges.T @ moved) <= 1e-4 * np.linalg.norm(moved) * np.linalg.norm(edges)
    assert alone.final_loss < float(landscape.loss(optima.mean(axis=0)))


def test_a_centre_trains_on_from_a_start_until_a_target(tiny_network):
    optima = np.stack([tiny_network.initial_params(s).numpy() for s in range(3)])
    start = optima.mean(axis=0) + 0.01 * np.random.default_rng(0).standard_normal(tiny_network.dim).astype(np.float32)
    start_loss = float(tiny_network.loss(start))
    target = 0.98 * start_loss
    result = paths.optimize_centre(tiny_network, optima, start, steps=400, learning_rate=1e-2, stop_below=target,
                                   check_every=5, record_every=5)
    assert result.reached_target and result.steps_taken < 400
    assert result.final_loss < target <= float(tiny_network.loss(result.trajectory[0]))
    moved = result.params - start  # it moves only inside the hyperplane through the start
    edges = (optima[1:] - optima[0]).T
    assert np.linalg.norm(edges.T @ moved) <= 1e-4 * np.linalg.norm(moved) * np.linalg.norm(edges)
    assert result.trajectory.shape[1] == tiny_network.dim


def test_centres_of_one_m_share_a_compiled_loop(small_toy):
    landscape, optima = small_toy
    paths.optimize_centre(landscape, optima, steps=5)
    before = train._minimize_loop.tracing_count()
    paths.optimize_centre(landscape, optima[::-1], steps=5)
    assert train._minimize_loop.tracing_count() == before


def test_face_methods_build_the_same_lower_connectors(small_toy, built):
    landscape, optima = small_toy
    lower = paths.build_connector(landscape, optima[:3], "construction")
    np.testing.assert_array_equal(lower.table, built["construction"].face(2).table)
    lower = paths.build_connector(landscape, optima[:3], "hyperplane", steps=200, learning_rate=1e-2)
    np.testing.assert_allclose(lower.table, built["hyperplane"].face(2).table, atol=1e-4)


def test_joint_training_lowers_a_1_connector(small_toy):
    landscape, optima = small_toy
    con = paths.build_connector(landscape, optima[:2], "joint", steps=400, batch=32, learning_rate=1e-2)
    assert con.gradient_evaluations == 400 * 32
    assert con.evaluate(landscape, num_points=200).fraction_of_hull < 0.2


def test_evaluation_is_held_out_and_reproducible(small_toy, built):
    landscape, _ = small_toy
    first = built["stars"].evaluate(landscape, num_points=100, seed=4)
    assert first == built["stars"].evaluate(landscape, num_points=100, seed=4)
    assert first.num_points == 100 and first.mean <= first.highest
    # the held-out key is not one a training step uses (steps count from 0)
    held_out = connectors.dirichlet_weights(tf.constant([0, connectors._HELD_OUT_STREAM]), 8, 4).numpy()
    for step in range(3):
        trained = connectors.dirichlet_weights(tf.constant([0, step]), 8, 4).numpy()
        assert not np.allclose(held_out, trained)


def test_connectors_compile_under_xla(small_toy):
    landscape, optima = small_toy
    core.use_xla(True)
    try:
        for method, options in (("stars", dict(per_face=1)), ("hyperplane", {}), ("joint", dict(batch=8))):
            con = paths.build_connector(landscape, optima[:3], method, steps=3, learning_rate=1e-3, **options)
            assert np.all(np.isfinite(con.table))
    finally:
        core.use_xla(False)


def test_training_on_a_network(tiny_network):
    optima = [tiny_network.initial_params(s).numpy() for s in range(3)]
    for method in ("hyperplane", "joint", "stars"):
        con = paths.build_connector(tiny_network, optima, method, steps=3, learning_rate=1e-3, batch=4)
        assert con.table.shape == (8, tiny_network.dim) and np.all(np.isfinite(con.table))
        np.testing.assert_array_equal(con.table[[1, 2, 4]], np.stack(optima))  # the vertices never move
    result = con.evaluate(tiny_network, num_points=5)
    assert result.vertex_loss > 0 and result.highest >= result.mean


def test_union_prediction():
    assert paths.union_prediction(200, 20, 0) == pytest.approx(20)
    assert paths.union_prediction(200, 20, 1) == pytest.approx(200 * (1 - 0.9**2))
    assert paths.union_prediction(200, 20, 10) == pytest.approx(200 * (1 - 0.9**11))


def test_ensembles(tiny_network):
    members = [tiny_network.initial_params(s).numpy() for s in range(3)]
    result = paths.compare_ensembles(tiny_network, members, split="train")
    assert result.member_accuracy.shape == (3,)
    assert 0.0 <= result.disagreement <= 1.0 and 0.0 <= result.ensemble_accuracy <= 1.0
    same = paths.compare_ensembles(tiny_network, [members[0], members[0]], split="train")
    assert same.disagreement == 0.0 and same.ensemble_accuracy == pytest.approx(same.member_accuracy[0])


def test_every_method_is_listed():
    assert set(paths.METHODS) == {"hull", "construction", "hyperplane", "stars", "joint"}


def test_a_connector_is_a_cacheable_result(tmp_path, small_toy, built):
    from landscape import cache

    store = cache.ResultCache(tmp_path)
    store.save("connector", {"m": 3}, built["stars"])
    loaded = store.load("connector", {"m": 3}, paths.Connector)
    np.testing.assert_array_equal(loaded.table, built["stars"].table)
    assert (loaded.method, loaded.gradient_evaluations) == ("stars", built["stars"].gradient_evaluations)


# -- the grid of resolution r (a finer subdivision) ------------------------------------------
@pytest.mark.parametrize("count, resolution", [(2, 5), (3, 4), (4, 3), (6, 2)])
def test_grid_weights_are_every_multiple_of_one_over_r_once(count, resolution):
    weights = paths.grid_weights(count, resolution)
    assert weights.shape == (paths.grid_size(count, resolution), count)
    counts = np.rint(weights * resolution).astype(int)
    np.testing.assert_allclose(weights * resolution, counts, atol=1e-5)
    assert np.all(counts.sum(axis=1) == resolution) and len({tuple(c) for c in counts}) == len(counts)
    for k in range(count):  # the face on the vertices 0..k is a prefix of the table
        rows = paths.grid_size(k + 1, resolution)
        assert np.all(weights[:rows, k + 1:] == 0) and np.all(weights[rows:, k + 1:].sum(axis=1) > 0)
        np.testing.assert_array_equal(weights[rows - 1], np.eye(count)[k])  # ... ending at vertex k


def test_grid_map_interpolates_its_table_and_is_exact_on_the_hull():
    optima = random_table(3, 7)[:4]
    resolution = 3
    weights = paths.grid_weights(4, resolution)
    table = random_table(5, 7, seed=2)[:len(weights)]
    np.testing.assert_allclose(paths.grid_points(tf.constant(table), tf.constant(weights), resolution).numpy(),
                               table, atol=1e-5)  # a grid point maps to its own row
    hull_table = weights @ optima
    random = connectors.dirichlet_weights(tf.constant([2, 2]), 300, 4)
    np.testing.assert_allclose(paths.grid_points(tf.constant(hull_table), random, resolution).numpy(),
                               random.numpy() @ optima, atol=1e-5)  # linear tables are reproduced


def test_a_line_grid_is_the_polyline_through_its_points():
    table = random_table(3, 5)[:5]  # resolution 4: points at t = 0, 1/4, ..., 1
    t = np.linspace(0, 1, 33, dtype=np.float32)
    mapped = paths.grid_points(tf.constant(table), tf.constant(np.stack([1 - t, t], axis=1)), 4).numpy()
    by_hand = np.stack([np.interp(x, np.linspace(0, 1, 5), table[:, d]) for d in range(5) for x in [t]]).T
    np.testing.assert_allclose(mapped, by_hand, atol=1e-5)


def test_doubling_the_resolution_subdivides_the_same_surface():
    """Freudenthal's triangulation at 2r refines that at r: a grid connector re-sampled at
    the points of the finer grid is the same piecewise-linear surface."""
    for count, resolution in ((3, 2), (4, 2), (3, 4)):
        coarse = paths.Connector("test", np.eye(count, 6, dtype=np.float32),
                                 random_table(6, 6, seed=count)[:paths.grid_size(count, resolution)],
                                 resolution=resolution)
        fine = paths.Connector("test", coarse.optima, coarse.points(paths.grid_weights(count, 2 * resolution)),
                               resolution=2 * resolution)
        weights = connectors.dirichlet_weights(tf.constant([count, resolution]), 400, count).numpy()
        np.testing.assert_allclose(fine.points(weights), coarse.points(weights), atol=1e-5)


def test_grid_connector_faces_and_centre():
    count, resolution = 4, 3
    table = random_table(6, 5, seed=3)[:paths.grid_size(count, resolution)]
    con = paths.Connector("test", table[[0, 3, 9, 19]], table, resolution=resolution)
    np.testing.assert_allclose(con.points(np.eye(count)), con.optima, atol=1e-6)
    weights = connectors.dirichlet_weights(tf.constant([1, 2]), 40, 3).numpy()
    padded = np.concatenate([weights, np.zeros((40, 1), np.float32)], axis=1)
    face = con.face(2)
    assert face.table.shape == (10, 5) and face.resolution == resolution
    np.testing.assert_allclose(con.points(padded), face.points(weights), atol=1e-6)
    np.testing.assert_allclose(con.centre, con.points(np.full((1, 4), 0.25))[0], atol=1e-6)
    assert con.free_points == 20 - 4
    assert paths.Connector("test", table[[1, 2, 4, 8]], random_table(4, 5)).free_points == 16 - 4 - 1


def test_grid_recipe_points_stay_in_their_faces_hyperplanes(small_toy):
    landscape, optima = small_toy
    con = paths.build_connector(landscape, optima[:3], "hyperplane", steps=100, learning_rate=1e-2, resolution=4)
    weights = paths.grid_weights(3, 4)
    moved = con.table - weights @ optima[:3]
    for row, w in enumerate(weights):
        members = optima[:3][w > 0]
        if len(members) == 1:
            np.testing.assert_array_equal(moved[row], 0.0)
            continue
        edges = (members[1:] - members[0]).T
        assert np.linalg.norm(edges.T @ moved[row]) <= 1e-4 * np.linalg.norm(moved[row]) * np.linalg.norm(edges)
        assert np.linalg.norm(moved[row]) > 0
    assert con.gradient_evaluations == 100 * (15 - 3) and con.resolution == 4
    hull = paths.build_connector(landscape, optima[:3], "hull", resolution=4)
    evaluation = con.evaluate(landscape, num_points=200)
    assert evaluation.hull_highest == pytest.approx(hull.evaluate(landscape, num_points=200).highest, rel=1e-5)
    # a resolution of 2 on a line is one optimized midpoint, as in the barycentric subdivision
    line = paths.build_connector(landscape, optima[:2], "hyperplane", steps=100, learning_rate=1e-2, resolution=2)
    bary = paths.build_connector(landscape, optima[:2], "hyperplane", steps=100, learning_rate=1e-2)
    np.testing.assert_allclose(line.table[1], bary.table[3], atol=1e-5)


def test_grid_needs_a_method_that_places_points_alone(small_toy):
    landscape, optima = small_toy
    with pytest.raises(ValueError, match="resolution applies to the methods 'hull', 'hyperplane'"):
        paths.build_connector(landscape, optima, "stars", resolution=2)
    with pytest.raises(ValueError, match="resolution must be"):
        paths.build_connector(landscape, optima, "hull", resolution=0)
    with pytest.raises(ValueError, match="grid points"):
        paths.grid_weights(16, 40)


def test_nested_weights_lie_on_the_faces_of_the_first_optima():
    weights = connectors.dirichlet_weights(tf.constant([4, 2]), 4000, 5, nested=True).numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    last = np.array([np.flatnonzero(w > 0).max() for w in weights])  # the face 0..k each point lies on
    assert set(last) == {1, 2, 3, 4}
    assert all(abs(np.mean(last == k) - 0.25) < 0.03 for k in (1, 2, 3, 4))  # k uniform in 1..m
    on_edge = weights[last == 1][:, 1]  # uniform on the edge 0-1: weight of optimum 1 uniform on (0, 1)
    assert abs(on_edge.mean() - 0.5) < 0.03 and abs(np.mean(on_edge < 0.25) - 0.25) < 0.04


def test_joint_training_on_a_grid_trains_every_face(small_toy):
    landscape, optima = small_toy
    nested, uniform = (paths.build_connector(landscape, optima, "joint", steps=400, batch=32, learning_rate=1e-2,
                                             resolution=2, nested=nested) for nested in (True, False))
    assert nested.resolution == 2 and nested.table.shape == (10, landscape.dim) and nested.free_points == 6
    assert nested.gradient_evaluations == 400 * 32
    np.testing.assert_array_equal(nested.points(np.eye(4)), optima)  # the optima never move
    # uniform points of a 3-simplex rarely come near its edges; nested ones train the edge 0-1 as a 1-connector
    edge = [c.face(1).evaluate(landscape, num_points=200).fraction_of_hull for c in (nested, uniform)]
    assert edge[0] < 0.02 and edge[1] > 0.2, edge
    whole = [c.evaluate(landscape, num_points=200).fraction_of_hull for c in (nested, uniform)]
    assert max(whole) < 0.6, whole  # both lower the whole simplex below the hull


def test_methods_can_be_called_again_with_other_sizes(small_toy):
    """The compiled loops are traced with relaxed shapes on a second call: nothing may
    depend on a static size (an m = 1 and an m = 3 connector in one process)."""
    landscape, optima = small_toy
    for count in (2, 4, 3):
        for method, options in (("joint", dict(batch=8)), ("stars", dict(per_face=1)), ("hyperplane", {})):
            con = paths.build_connector(landscape, optima[:count], method, steps=2, learning_rate=1e-3, **options)
            assert np.all(np.isfinite(con.table)) and con.m == count - 1


def test_estimate_over_sets(small_toy, built):
    landscape, _ = small_toy
    one = built["stars"].face(2).evaluate(landscape, num_points=100)
    alone = paths.estimate_over_sets([one])
    assert alone.unit == "held-out points" and alone.low <= one.barrier_fraction <= alone.high
    assert paths.estimate_over_sets(one, "over_optima").value == pytest.approx(one.over_optima)
    several = [built[name].face(2).evaluate(landscape, num_points=100) for name in ("stars", "construction", "hull")]
    estimate = paths.estimate_over_sets(several, "over_optima")
    assert estimate.unit == "sets of optima" and estimate.n == 3
    assert estimate.value == pytest.approx(np.exp(np.mean(np.log([e.over_optima for e in several]))))
    with pytest.raises(ValueError, match="quantity must be one of"):
        paths.estimate_over_sets(several, "highest")
    with pytest.raises(TypeError, match="non-empty list of ConnectorEvaluation"):
        paths.estimate_over_sets([])


def test_a_connector_holds_float32():
    con = paths.Connector("test", np.eye(3, 4), np.zeros((8, 4)))
    assert con.table.dtype == np.float32 and con.optima.dtype == np.float32
    assert con.points(np.full((1, 3), 1 / 3)).shape == (1, 4)
