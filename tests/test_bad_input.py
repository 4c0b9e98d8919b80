"""Bad input to the public API: a clear ValueError/TypeError/MemoryError that names the
argument and what is allowed, never a TensorFlow trace, never a silently wrong answer.

Each row: (a short name, a call on (W, R) where W is a small toy landscape and R a
tiny network, the error type, a regex the message must match).
"""
import numpy as np
import pytest
import tensorflow as tf

from landscape import cache, claims, core, data, ensembles, evidence, highdim, models, paths, plots, probes, scale, subspace, toy, train

F = np.float32
ONES5 = np.ones(5, F)
RANGE5 = np.arange(5, dtype=F)


def digits_arrays(count=20):
    dataset = data.load_dataset("digits", max_train=count, max_test=10)
    return dataset.x_train, dataset.y_train


def mlp8():
    return models.mlp((8, 8, 1), 10, widths=(4,))


def cyclic_run(keep_epochs=True):
    """A CyclicRun of one member, 2 cycles of 2 epochs, 3 weights (built by hand, no training)."""
    return ensembles.CyclicRun(snapshots=np.zeros((1, 2, 3), F), epoch_loss=np.full((1, 4), 0.5, F),
                               max_lr=np.ones(1), min_lr=np.zeros(1), cycles=2, epochs_per_cycle=2, epochs=4,
                               epoch_params=np.zeros((1, 4, 3), F) if keep_epochs else None)


def sweep_report():
    """A SweepReport over one stand-in report (what its methods check before reading it)."""
    from types import SimpleNamespace

    report = SimpleNamespace(swa_gap=0.1, row=lambda: {})
    return ensembles.SweepReport(max_lr=np.ones(1), reports=[[report]], later=[[report]], later_from=1)


TABLE = [
    # -- core ----------------------------------------------------------------------------
    ("check_int float", lambda W, R: core.check_int(2.5, "steps"), TypeError, "steps must be an integer"),
    ("check_int bool", lambda W, R: core.check_int(True, "steps"), TypeError, "steps must be an integer"),
    ("check_int string", lambda W, R: core.check_int("3", "steps"), TypeError, "steps must be an integer"),
    ("check_seed negative", lambda W, R: core.check_seed(-1), ValueError, "seed must be >= 0"),
    ("check_seed huge", lambda W, R: core.check_seed(2**40), ValueError, "seed must be <= 2147483647"),
    ("check_positive zero", lambda W, R: core.check_positive(0, "rate"), ValueError, "rate must be > 0"),
    ("check_positive inf", lambda W, R: core.check_positive(float("inf"), "rate"), ValueError, "rate must be a finite"),
    ("check_positive string", lambda W, R: core.check_positive("0.1", "rate"), TypeError, "rate must be a number"),
    ("check_fraction 1", lambda W, R: core.check_fraction(1.0, "level"), ValueError, "level must be < 1"),
    ("check_choice", lambda W, R: core.check_choice("x", "kind", ("a", "b")), ValueError, "kind must be one of 'a', 'b'"),
    ("check_increasing unsorted", lambda W, R: core.check_increasing([2, 1], "radii"), ValueError, "radii must be strictly increasing"),
    ("check_increasing negative", lambda W, R: core.check_increasing([-1, 1], "radii", minimum=0), ValueError, "radii must hold numbers >= 0"),
    ("check_increasing scalar", lambda W, R: core.check_increasing(3.0, "radii"), TypeError, "radii must be a sequence"),
    ("check_increasing empty", lambda W, R: core.check_increasing([], "radii"), ValueError, "radii must be a non-empty"),
    ("set_workers zero", lambda W, R: core.set_workers(0), ValueError, "count must be >= 1"),
    ("set_workers float", lambda W, R: core.set_workers(1.5), TypeError, "count must be an integer"),
    ("run_side_by_side count", lambda W, R: core.run_side_by_side(lambda i, w: i, [1], 0), ValueError, "count must be >= 1"),
    ("check_int_sequence int", lambda W, R: core.check_int_sequence(64, "widths"), TypeError, "widths must be a sequence"),
    ("check_int_sequence empty", lambda W, R: core.check_int_sequence([], "widths"), ValueError, "widths must hold at least one"),
    ("as_params ragged", lambda W, R: core.as_params([[1.0], [1.0, 2.0]], 2), ValueError, "params must be a vector of length 2"),
    ("as_params ints", lambda W, R: core.as_params(np.arange(3), 3), TypeError, "params must be a floating-point"),
    ("as_params tensor int", lambda W, R: core.as_params(tf.range(3), 3), TypeError, "floating-point vector"),
    ("as_points vector", lambda W, R: core.as_points(ONES5, 5), ValueError, r"points must have shape \(k, 5\)"),
    ("as_points empty", lambda W, R: core.as_points(np.zeros((0, 5), F), 5), ValueError, "k >= 1"),
    ("FlatView empty", lambda W, R: core.FlatView([]), ValueError, "variables must be a non-empty list"),
    ("FlatView assign wrong length", lambda W, R: core.FlatView(mlp8().trainable_variables).assign(ONES5), ValueError, "flat must be a vector of length"),
    ("set_seed float", lambda W, R: core.set_seed(0.5), TypeError, "seed must be an integer"),
    ("use_xla string", lambda W, R: core.use_xla("on"), TypeError, "enabled must be True or False"),
    # -- toy -------------------------------------------------------------------------------
    ("toy n = dim", lambda W, R: toy.WedgeLandscape(5, 5), ValueError, "n must be <= 4"),
    ("toy n negative", lambda W, R: toy.WedgeLandscape(5, -1), ValueError, "n must be >= 0"),
    ("toy dim zero", lambda W, R: toy.WedgeLandscape(0, 0), ValueError, "dim must be >= 1"),
    ("toy dim float", lambda W, R: toy.WedgeLandscape(5.0, 1), TypeError, "dim must be an integer"),
    ("toy dim huge", lambda W, R: toy.WedgeLandscape(10**11, 1), ValueError, "dim must be <= 268435456"),
    ("toy rotate string", lambda W, R: toy.WedgeLandscape(5, 1, rotate="yes"), TypeError, "rotate must be True or False"),
    ("rotation block", lambda W, R: toy.RandomRotation(10, block=0), ValueError, "block must be >= 1"),
    ("toy seed negative", lambda W, R: toy.WedgeLandscape(5, 1, seed=-1), ValueError, "seed must be >= 0"),
    ("toy init_scale zero", lambda W, R: toy.WedgeLandscape(5, 1, init_scale=0.0), ValueError, "init_scale must be > 0"),
    ("toy init_scale numpy ok, nan bad", lambda W, R: toy.WedgeLandscape(5, 1, init_scale=np.float32("nan")), ValueError, "init_scale must be a finite"),
    ("toy loss short", lambda W, R: W.loss(np.ones(4, F)), ValueError, "params must be a vector of length 5"),
    ("toy loss matrix", lambda W, R: W.loss(np.ones((5, 1), F)), ValueError, "params must be a vector of length 5"),
    ("toy loss ints", lambda W, R: W.loss(np.ones(5, int)), TypeError, "params must be a floating-point"),
    ("toy loss strings", lambda W, R: W.loss(np.array(["a"] * 5)), TypeError, "params must be a floating-point"),
    ("toy loss nan", lambda W, R: W.loss(np.array([0, 0, np.nan, 0, 0], F)), ValueError, "params contains non-finite"),
    ("toy loss_and_grad inf", lambda W, R: W.loss_and_grad(np.array([0, np.inf, 0, 0, 0])), ValueError, "non-finite"),
    ("toy losses vector", lambda W, R: W.losses(ONES5), ValueError, r"points must have shape \(k, 5\)"),
    ("toy losses wrong width", lambda W, R: W.losses(np.ones((2, 4), F)), ValueError, r"points must have shape \(k, 5\)"),
    ("toy initial_params seed", lambda W, R: W.initial_params(-3), ValueError, "seed must be >= 0"),
    ("toy short_directions tolerance", lambda W, R: W.short_directions(ONES5, tolerance=0.0), ValueError, "tolerance must be > 0"),
    ("toy intersection wrong b", lambda W, R: W.intersection_point(ONES5, np.ones(3, F)), ValueError, "b must be a vector of length 5"),
    ("toy same_wedge nan", lambda W, R: W.same_wedge(ONES5, np.full(5, np.nan, F)), ValueError, "non-finite"),
    # -- data ------------------------------------------------------------------------------
    ("dataset name", lambda W, R: data.load_dataset("imagenet"), ValueError, "name must be one of 'digits', 'mnist1d'"),
    ("dataset name type", lambda W, R: data.load_dataset(3), ValueError, "name must be one of"),
    ("dataset max_train zero", lambda W, R: data.load_dataset("digits", max_train=0), ValueError, "max_train must be >= 1"),
    ("dataset max_test float", lambda W, R: data.load_dataset("digits", max_test=1.5), TypeError, "max_test must be an integer"),
    ("dataset seed huge", lambda W, R: data.load_dataset("digits", seed=2**40), ValueError, "seed must be <= 2147483647"),
    # -- models ----------------------------------------------------------------------------
    ("mlp widths int", lambda W, R: models.mlp((8, 8, 1), widths=64), TypeError, "widths must be a sequence of integers"),
    ("mlp widths zero", lambda W, R: models.mlp((8, 8, 1), widths=(0,)), ValueError, r"widths\[0\] must be >= 1"),
    ("mlp classes one", lambda W, R: models.mlp((8, 8, 1), num_classes=1), ValueError, "num_classes must be >= 2"),
    ("mlp dropout 1.5", lambda W, R: models.mlp((8, 8, 1), dropout=1.5), ValueError, "dropout must be < 1"),
    ("mlp dropout string", lambda W, R: models.mlp((8, 8, 1), dropout="0.1"), TypeError, "dropout must be a number"),
    ("mlp l2 negative", lambda W, R: models.mlp((8, 8, 1), l2=-1e-4), ValueError, "l2 must be >= 0"),
    ("mlp seed negative", lambda W, R: models.mlp((8, 8, 1), seed=-1), ValueError, "seed must be >= 0"),
    ("cnn channels int", lambda W, R: models.simple_cnn((8, 8, 1), channels=16), TypeError, "channels must be a sequence"),
    ("cnn1d kernel zero", lambda W, R: models.cnn1d((40, 1), kernel_size=0), ValueError, "kernel_size must be >= 1"),
    ("landscape model string", lambda W, R: models.ModelLandscape("model", digits_arrays()), TypeError, "model must be a tf.keras.Model"),
    ("landscape data string", lambda W, R: models.ModelLandscape(mlp8(), "digits"), TypeError, "data must be a landscape.data.Dataset"),
    ("landscape data nan", lambda W, R: models.ModelLandscape(mlp8(), (np.full((4, 8, 8, 1), np.nan, F), np.zeros(4, int))), ValueError, "data's inputs contains non-finite"),
    ("landscape data wrong shape", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((4, 28, 28, 1), F), np.zeros(4, int))), ValueError, r"inputs of the model's shape \(8, 8, 1\)"),
    ("landscape labels one-hot", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((4, 8, 8, 1), F), np.eye(10)[:4])), ValueError, "one-hot"),
    ("landscape labels out of range", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((4, 8, 8, 1), F), np.array([0, 1, 2, 10]))), ValueError, r"labels in \[0, 9\]"),
    ("landscape labels negative", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((4, 8, 8, 1), F), np.array([0, -1, 2, 3]))), ValueError, r"labels in \[0, 9\]"),
    ("landscape labels count", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((4, 8, 8, 1), F), np.zeros(3, int))), ValueError, "one label per input"),
    ("landscape labels strings", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((2, 8, 8, 1), F), np.array(["a", "b"]))), ValueError, "integer class labels"),
    ("landscape inputs strings", lambda W, R: models.ModelLandscape(mlp8(), (np.array([["a"]]), np.zeros(1, int))), TypeError, "numeric array"),
    ("landscape inputs empty", lambda W, R: models.ModelLandscape(mlp8(), (np.zeros((0, 8, 8, 1), F), np.zeros(0, int))), ValueError, "non-empty batch"),
    ("landscape batch_size zero", lambda W, R: models.ModelLandscape(mlp8(), digits_arrays(), batch_size=0), ValueError, "batch_size must be >= 1"),
    ("landscape batch_size too big", lambda W, R: models.ModelLandscape(mlp8(), digits_arrays(), batch_size=21), ValueError, "batch_size must be <= 20"),
    ("landscape include_regularization", lambda W, R: models.ModelLandscape(mlp8(), digits_arrays(), include_regularization="yes"), TypeError, "include_regularization must be True or False"),
    ("landscape seed", lambda W, R: models.ModelLandscape(mlp8(), digits_arrays(), seed=-2), ValueError, "seed must be >= 0"),
    ("network loss short", lambda W, R: R.loss(ONES5), ValueError, "params must be a vector of length 1210"),
    ("network accuracy split", lambda W, R: R.accuracy(R.params, split="valid"), ValueError, "split must be one of 'train', 'test'"),
    ("network predict wrong inputs", lambda W, R: R.predict(R.params, np.zeros((2, 5), F)), ValueError, r"x must hold inputs of the model's shape"),
    ("network predict nan inputs", lambda W, R: R.predict(R.params, np.full((2, 8, 8, 1), np.nan, F)), ValueError, "x contains non-finite"),
    ("network with_examples zero", lambda W, R: R.with_examples(0), ValueError, "count must be >= 1"),
    ("network losses wrong width", lambda W, R: R.losses(np.ones((2, 3), F)), ValueError, r"points must have shape"),
    ("bare-array landscape test split", lambda W, R: R.with_examples(10).accuracy(R.params, "test"), ValueError, "split='test' needs a landscape built from a Dataset"),
    # -- train -----------------------------------------------------------------------------
    ("minimize steps zero", lambda W, R: train.minimize(W, ONES5, steps=0), ValueError, "steps must be >= 1"),
    ("minimize rate negative", lambda W, R: train.minimize(W, ONES5, learning_rate=-1.0), ValueError, "learning_rate must be > 0"),
    ("minimize rate numpy nan", lambda W, R: train.minimize(W, ONES5, learning_rate=np.float32("nan")), ValueError, "learning_rate must be a finite"),
    ("minimize optimizer", lambda W, R: train.minimize(W, ONES5, optimizer="lbfgs"), ValueError, "optimizer must be one of 'adam', 'sgd', 'momentum'"),
    ("minimize schedule", lambda W, R: train.minimize(W, ONES5, schedule="step"), ValueError, "schedule must be one of 'constant', 'cosine'"),
    ("minimize record_every", lambda W, R: train.minimize(W, ONES5, record_every=-2), ValueError, "record_every must be >= 0"),
    ("minimize params short", lambda W, R: train.minimize(W, np.ones(3, F)), ValueError, "params must be a vector of length 5"),
    ("minimize_from_seeds empty", lambda W, R: train.minimize_from_seeds(W, []), ValueError, "seeds must hold at least one seed"),
    ("minimize_from_seeds int", lambda W, R: train.minimize_from_seeds(W, 3), TypeError, "seeds must be a sequence of seeds"),
    # -- subspaces ---------------------------------------------------------------------------
    ("subspace d zero", lambda W, R: subspace.RandomSubspace(10, 0), ValueError, "d must be >= 1"),
    ("subspace d > dim", lambda W, R: subspace.RandomSubspace(10, 11), ValueError, "d must be <= 10"),
    ("subspace kind", lambda W, R: subspace.RandomSubspace(10, 2, kind="gaussian"), ValueError, "kind must be one of 'dense', 'sparse', 'fastfood'"),
    ("subspace origin", lambda W, R: subspace.RandomSubspace(10, 2, origin=np.zeros(9, F)), ValueError, "origin must be a vector of length 10"),
    ("subspace dense too big", lambda W, R: subspace.RandomSubspace(10**6, 10**4), MemoryError, "use kind='fastfood'"),
    ("subspace fastfood too big", lambda W, R: subspace.RandomSubspace(2**27, 10, kind="fastfood"), MemoryError, "lower dim or raise memory_budget"),
    ("subspace dim huge", lambda W, R: subspace.RandomSubspace(2**40, 10, kind="fastfood"), ValueError, "dim must be <= 268435456"),
    ("subspace budget", lambda W, R: subspace.RandomSubspace(10, 2, memory_budget=0), ValueError, "memory_budget must be > 0"),
    ("subspace seed", lambda W, R: subspace.RandomSubspace(10, 2, seed=2**40), ValueError, "seed must be <= 2147483647"),
    ("estimate_memory kind", lambda W, R: subspace.RandomSubspace.estimate_memory(10, 2, "dct"), ValueError, "kind must be one of"),
    ("train_in_subspace mismatch", lambda W, R: subspace.train_in_subspace(W, subspace.RandomSubspace(30, 5)), ValueError, r"subspace.dim \(30\) must equal landscape.dim \(5\)"),
    ("train_in_subspace not a subspace", lambda W, R: subspace.train_in_subspace(W, np.zeros((2, 5))), TypeError, "subspace must be a RandomSubspace"),
    ("intrinsic dims empty", lambda W, R: subspace.intrinsic_dimension(W, [], steps=2), ValueError, "dims must hold at least one value"),
    ("intrinsic dims zero", lambda W, R: subspace.intrinsic_dimension(W, [0], steps=2), ValueError, r"dims\[0\] must be >= 1"),
    ("intrinsic dims too big", lambda W, R: subspace.intrinsic_dimension(W, [50], steps=2), ValueError, "dims must be <= landscape.dim = 5"),
    ("intrinsic dims int", lambda W, R: subspace.intrinsic_dimension(W, 3, steps=2), TypeError, "dims must be a sequence"),
    ("intrinsic seeds zero", lambda W, R: subspace.intrinsic_dimension(W, [2], seeds=0, steps=2), ValueError, "seeds must be >= 1"),
    ("intrinsic seeds empty", lambda W, R: subspace.intrinsic_dimension(W, [2], seeds=[], steps=2), ValueError, "seeds must hold at least one value"),
    ("intrinsic origin_radius", lambda W, R: subspace.intrinsic_dimension(W, [2], origin_radius=-1.0, steps=2), ValueError, "origin_radius must be > 0"),
    ("intrinsic kind", lambda W, R: subspace.intrinsic_dimension(W, [2], kind="dct", steps=2), ValueError, "kind must be one of"),
    ("intrinsic full rate", lambda W, R: subspace.intrinsic_dimension(W, [2], full_space_learning_rate=0, steps=2), ValueError, "full_space_learning_rate must be > 0"),
    # -- paths -------------------------------------------------------------------------------
    ("linear_path same points", lambda W, R: paths.linear_path(W, ONES5, ONES5), ValueError, "a and b must differ"),
    ("linear_path num", lambda W, R: paths.linear_path(W, ONES5, RANGE5, num=1), ValueError, "num must be >= 2"),
    ("polyline one point", lambda W, R: paths.polyline_path(W, [ONES5]), ValueError, "points must hold at least 2 vectors"),
    ("polyline identical points", lambda W, R: paths.polyline_path(W, [ONES5, ONES5]), ValueError, "zero length"),
    ("polyline wrong vector", lambda W, R: paths.polyline_path(W, [ONES5, np.ones(4, F)]), ValueError, r"points\[1\] must be a vector of length 5"),
    ("tunnel same points", lambda W, R: paths.build_tunnel(W, ONES5, ONES5), ValueError, "a and b must differ"),
    ("tunnel segments", lambda W, R: paths.build_tunnel(W, ONES5, RANGE5, segments=0), ValueError, "segments must be >= 1"),
    ("tunnel refine", lambda W, R: paths.build_tunnel(W, ONES5, RANGE5, refine=-1), ValueError, "refine must be >= 0"),
    ("tunnel steps", lambda W, R: paths.build_tunnel(W, ONES5, RANGE5, steps=0), ValueError, "steps must be >= 1"),
    ("tunnel rate", lambda W, R: paths.build_tunnel(W, ONES5, RANGE5, learning_rate=0), ValueError, "learning_rate must be > 0"),
    ("tunnel samples", lambda W, R: paths.build_tunnel(W, ONES5, RANGE5, num_samples=2), ValueError, "num_samples must be >= 3"),
    ("curve kind", lambda W, R: paths.train_curve(W, ONES5, RANGE5, "spline"), ValueError, "kind must be one of 'polychain', 'bezier'"),
    ("curve bends", lambda W, R: paths.train_curve(W, ONES5, RANGE5, bends=0), ValueError, "bends must be >= 1"),
    ("curve seed", lambda W, R: paths.train_curve(W, ONES5, RANGE5, seed=-1), ValueError, "seed must be >= 0"),
    ("hyperplane zero normal", lambda W, R: paths.HyperplaneLandscape(W, ONES5, np.zeros(5, F)), ValueError, "normal must be a non-zero vector"),
    ("deviations same points", lambda W, R: paths.deviations(ONES5, ONES5, np.ones((2, 5))), ValueError, "a and b must differ"),
    ("deviations shapes", lambda W, R: paths.deviations(ONES5, np.ones(4), np.ones((2, 5))), ValueError, "a and b must be vectors of the same length"),
    ("deviations points", lambda W, R: paths.deviations(ONES5, RANGE5, np.ones((2, 4))), ValueError, r"points must have shape \(k, 5\)"),
    ("similarity vector", lambda W, R: paths.cosine_similarity_matrix(ONES5), ValueError, "vectors must be a 2-D array"),
    ("half_alignment few rows", lambda W, R: paths.half_alignment(np.ones((3, 2))), ValueError, "at least 4 rows"),
    ("label_changes on toy", lambda W, R: paths.label_changes(W, np.ones((1, 5), F), ONES5, RANGE5), TypeError, "needs a classifier landscape"),
    ("label_changes split", lambda W, R: paths.label_changes(R, R.params[None], R.params, R.params, split="val"), ValueError, "split must be one of"),
    ("bootstrap level", lambda W, R: paths.bootstrap_interval(np.ones(5), level=1.5), ValueError, "level must be < 1"),
    ("bootstrap one example", lambda W, R: paths.bootstrap_interval(np.ones(1)), ValueError, "at least 2 examples"),
    ("bootstrap num", lambda W, R: paths.bootstrap_interval(np.ones(5), num=1), ValueError, "num must be >= 10"),
    # -- probes ------------------------------------------------------------------------------
    ("short_directions no threshold", lambda W, R: probes.short_directions(R, R.params), ValueError, "threshold is required"),
    ("short_directions negative threshold", lambda W, R: probes.short_directions(R, R.params, threshold=-1.0), ValueError, "threshold must be > 0"),
    ("hessian method", lambda W, R: probes.hessian_eigenvalues(R, R.params, method="power"), ValueError, "method must be one of 'auto', 'exact', 'lanczos'"),
    ("hessian which", lambda W, R: probes.Hessian(R, R.params).eigenvalues(3, which="middle"), ValueError, "which must be one of"),
    ("hessian lanczos k", lambda W, R: probes.Hessian(R, R.params).eigenvalues(0, method="lanczos"), ValueError, "k must be >= 1"),
    ("hessian params short", lambda W, R: probes.Hessian(R, ONES5), ValueError, "params must be a vector of length"),
    ("hessian vector short", lambda W, R: probes.hessian_vector_product(R, R.params, ONES5), ValueError, "vector must be a vector of length"),
    ("hessian trace samples", lambda W, R: probes.Hessian(R, R.params).trace(num_samples=0), ValueError, "num_samples must be >= 1"),
    # -- ensembles ---------------------------------------------------------------------------
    ("cyclic zero cycles", lambda W, R: ensembles.CyclicSchedule(0, 10, 1.0), ValueError, "cycles must be >= 1"),
    ("cyclic zero epochs", lambda W, R: ensembles.CyclicSchedule(2, 0, 1.0), ValueError, "epochs_per_cycle must be >= 1"),
    ("cyclic snapshots above cycles", lambda W, R: ensembles.CyclicSchedule(3, 10, 1.0, snapshots=4), ValueError, "snapshots must be between 1 and cycles=3"),
    ("cyclic max below min", lambda W, R: ensembles.CyclicSchedule(3, 10, 0.01, min_lr=0.1), ValueError, "max_lr must be >= min_lr"),
    ("cyclic max_lr zero", lambda W, R: ensembles.CyclicSchedule(3, 10, 0.0), ValueError, "max_lr must be > 0"),
    ("cyclic cycles float", lambda W, R: ensembles.CyclicSchedule(2.5, 10, 1.0), TypeError, "cycles must be an integer"),
    ("train_cyclic on toy", lambda W, R: ensembles.train_cyclic(W, ONES5, ensembles.CyclicSchedule(1, 1, 0.1)), TypeError, "landscape must be a ModelLandscape"),
    ("train_cyclic starts short", lambda W, R: ensembles.train_cyclic(R, ONES5, ensembles.CyclicSchedule(1, 1, 0.1)), ValueError, "starts must be a vector of length 1210"),
    ("train_cyclic starts ints", lambda W, R: ensembles.train_cyclic(R, np.zeros(R.dim, int), ensembles.CyclicSchedule(1, 1, 0.1)), TypeError, "starts must be floating-point"),
    ("train_cyclic schedules count", lambda W, R: ensembles.train_cyclic(R, np.zeros((2, R.dim), F), [ensembles.CyclicSchedule(1, 1, 0.1)]), ValueError, "schedules must hold one schedule per member: 2 members"),
    ("train_cyclic schedules differ", lambda W, R: ensembles.train_cyclic(R, np.zeros((2, R.dim), F), [ensembles.CyclicSchedule(1, 1, 0.1), ensembles.CyclicSchedule(2, 1, 0.1)]), ValueError, "must share cycles"),
    ("train_cyclic schedule type", lambda W, R: ensembles.train_cyclic(R, R.params, 0.1), TypeError, "schedules must be a CyclicSchedule"),
    ("train_cyclic order_seeds count", lambda W, R: ensembles.train_cyclic(R, R.params, ensembles.CyclicSchedule(1, 1, 0.1), order_seeds=[1, 2]), ValueError, "order_seeds must hold one seed per member"),
    ("train_cyclic optimizer", lambda W, R: ensembles.train_cyclic(R, R.params, ensembles.CyclicSchedule(1, 1, 0.1), optimizer="adam"), ValueError, "optimizer must be one of 'sgd', 'momentum'"),
    ("train_cyclic clip negative", lambda W, R: ensembles.train_cyclic(R, R.params, ensembles.CyclicSchedule(1, 1, 0.1), clip_norm=-1.0), ValueError, "clip_norm must be >= 0"),
    ("independent seeds int", lambda W, R: ensembles.independent_members(R, 3, ensembles.CyclicSchedule(1, 1, 0.1)), TypeError, "seeds must be a sequence of seeds"),
    ("independent seeds empty", lambda W, R: ensembles.independent_members(R, [], ensembles.CyclicSchedule(1, 1, 0.1)), ValueError, "seeds must hold at least one seed"),
    ("average_weights vector", lambda W, R: ensembles.average_weights(ONES5), ValueError, r"members must be an \(M, D\) array"),
    ("evaluate one member", lambda W, R: ensembles.evaluate_members(R, R.params.numpy()[None]), ValueError, "members must hold at least 2 weight vectors"),
    ("evaluate members wrong length", lambda W, R: ensembles.evaluate_members(R, np.ones((2, 5), F)), ValueError, r"members must be an \(M, 1210\) array"),
    ("evaluate barrier_points", lambda W, R: ensembles.evaluate_members(R, np.zeros((2, R.dim), F), barrier_points=2), ValueError, "barrier_points must be >= 3"),
    ("evaluate split", lambda W, R: ensembles.evaluate_members(R, np.zeros((2, R.dim), F), split="valid"), ValueError, "split must be one of 'train', 'test'"),
    ("evaluate members nan", lambda W, R: ensembles.evaluate_members(R, np.full((2, R.dim), np.nan, F)), ValueError, "members contains non-finite"),
    ("batch_norm_statistics short", lambda W, R: ensembles.batch_norm_statistics(R, ONES5), ValueError, "params must be a vector of length 1210"),
    ("disagreement vector", lambda W, R: ensembles.disagreement(np.zeros(4, int)), ValueError, r"labels must be an \(M, N\) array"),
    ("train_cyclic keep_epochs", lambda W, R: ensembles.train_cyclic(R, R.params, ensembles.CyclicSchedule(1, 1, 0.1), keep_epochs=1), TypeError, "keep_epochs must be True or False"),
    ("at_loss without epochs", lambda W, R: cyclic_run(keep_epochs=False).at_loss(0, 0.1), ValueError, "at_loss needs the weights of every epoch: train with train_cyclic"),
    ("at_loss targets count", lambda W, R: cyclic_run().at_loss(0, [0.1, 0.2, 0.3]), ValueError, r"targets must be one positive finite loss or one per snapshot \(2\)"),
    ("at_loss target nan", lambda W, R: cyclic_run().at_loss(0, float("nan")), ValueError, "targets must be one positive finite loss"),
    ("at_loss target zero", lambda W, R: cyclic_run().at_loss(0, [0.1, 0.0]), ValueError, "targets must be one positive finite loss"),
    ("at_loss member", lambda W, R: cyclic_run().at_loss(1, 0.1), ValueError, "member must be <= 0"),
    ("at_loss losses length", lambda W, R: cyclic_run().at_loss(0, 0.1, losses=[0.5, 0.5, 0.5]), ValueError, "losses must hold the member's positive finite loss at the end of each of the 4 epochs"),
    ("epoch_losses run type", lambda W, R: ensembles.epoch_losses(R, np.zeros((1, 4, 3), F)), TypeError, "run must be a CyclicRun"),
    ("epoch_losses without epochs", lambda W, R: ensembles.epoch_losses(R, cyclic_run(keep_epochs=False)), ValueError, "epoch_losses needs the weights of every epoch"),
    ("epoch_losses other weights", lambda W, R: ensembles.epoch_losses(R, cyclic_run()), ValueError, r"landscape must have the run's weights: dim 1210 != 3"),
    ("evaluate_sweep 3-D", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((2, 2, R.dim), F), [0.1, 0.2]), ValueError, r"snapshots must be an \(S, R, M, 1210\) array"),
    ("evaluate_sweep rates count", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 2, 2, R.dim), F), [0.1]), ValueError, r"max_lrs must hold one positive rate per column of snapshots \(2\)"),
    ("evaluate_sweep rate zero", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 2, 2, R.dim), F), [0.1, 0.0]), ValueError, "max_lrs must hold one positive rate"),
    ("evaluate_sweep one snapshot", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 1, 1, R.dim), F), [0.1]), ValueError, "snapshots must hold at least 2 snapshots per run"),
    ("evaluate_sweep later_from", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 1, 3, R.dim), F), [0.1], later_from=2), ValueError, "later_from must be <= 1"),
    ("evaluate_sweep barrier_points", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 1, 3, R.dim), F), [0.1], barrier_points=2), ValueError, "barrier_points must be >= 3"),
    ("evaluate_sweep int weights", lambda W, R: ensembles.evaluate_sweep(R, np.zeros((1, 1, 3, R.dim), int), [0.1]), TypeError, "members must be floating-point weights"),
    ("sweep values unknown", lambda W, R: sweep_report().values("swa"), ValueError, "measure must name a number of an EnsembleReport"),
    ("sweep values method", lambda W, R: sweep_report().values("row"), ValueError, "measure must name a number of an EnsembleReport"),
    ("sweep correct which", lambda W, R: sweep_report().correct("worst"), ValueError, "which must be one of 'average', 'ensemble', 'mean', 'best'"),
    ("radial no directions", lambda W, R: probes.radial_profile(W, ONES5, num_directions=0), ValueError, "num_directions must be >= 1"),
    ("radial directions float", lambda W, R: probes.radial_profile(W, ONES5, num_directions=2.5), TypeError, "num_directions must be an integer"),
    ("radial unsorted radii", lambda W, R: probes.radial_profile(W, ONES5, radii=[1.0, 0.5]), ValueError, "radii must be strictly increasing"),
    ("radial negative radii", lambda W, R: probes.radial_profile(W, ONES5, radii=[-1.0, 1.0]), ValueError, "radii must hold numbers >= 0"),
    ("radial empty radii", lambda W, R: probes.radial_profile(W, ONES5, radii=[]), ValueError, "radii must be a non-empty"),
    ("radial point short", lambda W, R: probes.radial_profile(W, np.ones(4, F)), ValueError, "point must be a vector of length 5"),
    ("radial not a landscape", lambda W, R: probes.radial_profile(object(), ONES5), TypeError, "landscape must be a landscape"),
    ("tunnel_width zero threshold", lambda W, R: probes.tunnel_width(W, ONES5, thresholds=0.0), ValueError, "threshold must be > 0"),
    ("tunnel_width negative threshold", lambda W, R: probes.tunnel_width(W, ONES5, thresholds=[0.5, -1.0]), ValueError, "threshold must be > 0"),
    ("tunnel_width threshold string", lambda W, R: probes.tunnel_width(W, ONES5, thresholds="0.5"), TypeError, "thresholds must be a number or a sequence"),
    ("tunnel_width zero radius", lambda W, R: probes.tunnel_width(W, ONES5, radii=[0.0, 1.0]), ValueError, "radii must be > 0"),
    ("tunnel_width point nan", lambda W, R: probes.tunnel_width(W, np.full(5, np.nan, F)), ValueError, "point contains non-finite"),
    ("tunnel_width no directions", lambda W, R: probes.tunnel_width(W, ONES5, num_directions=0), ValueError, "num_directions must be >= 1"),
    ("tunnel_width relative at origin", lambda W, R: probes.tunnel_width(W, np.zeros(5, F), radii=[1.0], relative=True), ValueError, "non-zero norm"),
    ("radial_width at origin", lambda W, R: probes.radial_width(W, np.zeros(5, F), radii=[1.0]), ValueError, "away from the origin"),
    ("radial_width zero threshold", lambda W, R: probes.radial_width(W, ONES5, thresholds=0.0), ValueError, "threshold must be > 0"),
    ("radial_profile directions wrong dim", lambda W, R: probes.radial_profile(W, ONES5, directions=np.ones((2, 4))), ValueError, "directions must be an array"),
    ("radial cut negative across", lambda W, R: probes.radial_cut_2d(W, ONES5, across=-1.0), ValueError, "across must be > 0"),
    ("radial cut num", lambda W, R: probes.radial_cut_2d(W, ONES5, num=1), ValueError, "num must be >= 2"),
    ("cut num", lambda W, R: probes.random_cut_2d(W, ONES5, num=1), ValueError, "num must be >= 2"),
    ("cut extent", lambda W, R: probes.random_cut_2d(W, ONES5, extent=0.0), ValueError, "extent must be > 0"),
    ("cut normalization", lambda W, R: probes.random_cut_2d(W, ONES5, normalization="layer"), ValueError, "normalization must be one of"),
    ("cut filter on toy", lambda W, R: probes.random_cut_2d(W, ONES5, normalization="filter"), TypeError, "needs a network"),
    ("filter direction shapes", lambda W, R: probes.filter_normalized_direction(ONES5, [(2, 2)]), ValueError, "shapes hold 4 numbers"),
    ("minimize stop_below nan", lambda W, R: train.minimize(W, ONES5, 5, stop_below=float("nan")), ValueError, "stop_below must be a finite"),
    ("minimize check_every zero", lambda W, R: train.minimize(W, ONES5, 5, stop_below=0.1, check_every=0), ValueError, "check_every must be >= 1"),
    ("minimize monitor alone", lambda W, R: train.minimize(W, ONES5, 5, monitor=W), ValueError, "monitor is only used with stop_below"),
    ("minimize monitor dim", lambda W, R: train.minimize(W, ONES5, 5, stop_below=0.1, monitor=R), ValueError, "monitor must be a landscape over the same parameters"),
    ("minimize monitor type", lambda W, R: train.minimize(W, ONES5, 5, stop_below=0.1, monitor="loss"), TypeError, "monitor must be a landscape"),
    ("sweep run rate", lambda W, R: probes.Run(learning_rate=0.0, batch_size=8), ValueError, "learning_rate must be > 0"),
    ("sweep run dropout", lambda W, R: probes.Run(learning_rate=0.1, batch_size=8, dropout=1.0), ValueError, "dropout must be < 1"),
    ("sweep runs name", lambda W, R: probes.sweep_runs(probes.Run(0.1, 8), {"momentum": [0.9]}, [0]), ValueError, "values' keys must be one of"),
    ("sweep runs seeds", lambda W, R: probes.sweep_runs(probes.Run(0.1, 8), {"l2": [0.0]}, 3), TypeError, "seeds must be a sequence"),
    ("sweep setup model", lambda W, R: probes.SweepSetup("digits", "resnet", (8,), 0.1, 10, 5, 2, (1.0,), (0.5,)), ValueError, "model must be one of 'mlp', 'simple_cnn'"),
    ("sweep setup threshold", lambda W, R: probes.SweepSetup("digits", "mlp", (8,), 0.1, 10, 5, 2, (1.0,), (0.0,)), ValueError, "threshold must be > 0"),
    ("sweep setup type", lambda W, R: probes.width_sweep({"dataset": "digits"}, [probes.Run(0.1, 8)]), TypeError, "setup must be a SweepSetup"),
    ("rank correlation lengths", lambda W, R: probes.rank_correlation([1, 2], [1, 2, 3]), ValueError, "same length"),
    # -- geometry, cache, scales, claims, plots -----------------------------------------------
    ("cosines dim", lambda W, R: highdim.random_cosines(1), ValueError, "dim must be >= 2"),
    ("cosines seed", lambda W, R: highdim.random_cosines(10, seed=-1), ValueError, "seed must be >= 0"),
    ("norms num", lambda W, R: highdim.gaussian_norms(10, num=0), ValueError, "num must be >= 1"),
    ("shell nan thickness", lambda W, R: highdim.shell_volume_fraction(10, float("nan")), ValueError, "thickness must be a finite"),
    ("shell nan dim", lambda W, R: highdim.shell_volume_fraction(float("nan"), 0.1), ValueError, "dim must hold finite numbers >= 1"),
    ("shell dim string", lambda W, R: highdim.shell_volume_fraction("ten", 0.1), TypeError, "dim must be a number"),
    ("line distance n", lambda W, R: highdim.line_distance_to_subspace(5, 5), ValueError, "n must be <= 4"),
    ("config hash int keys", lambda W, R: cache.config_hash({1: "a"}), TypeError, "config keys must be strings"),
    ("config hash object", lambda W, R: cache.config_hash({"a": object()}), TypeError, "config values must be"),
    ("config hash not a dict", lambda W, R: cache.config_hash([1]), TypeError, "config must be a dict"),
    ("config hash nan", lambda W, R: cache.config_hash({"a": float("nan")}), ValueError, "config values must be finite"),
    ("cache name", lambda W, R: cache.ResultCache("/tmp/landscape-bad-input").save("a b", {}, train.MinimizeResult(ONES5, ONES5, 0.0)), ValueError, "name must be letters"),
    ("cache result not dataclass", lambda W, R: cache.ResultCache("/tmp/landscape-bad-input").save("a", {}, {"x": 1}), TypeError, "result must be a dataclass instance"),
    ("cache object field", lambda W, R: cache.ResultCache("/tmp/landscape-bad-input").save("a", {}, train.MinimizeResult(ONES5, ONES5, object())), TypeError, "field 'final_loss' holds a object"),
    ("scale name", lambda W, R: scale.get_scale("huge"), ValueError, "scale .* must be one of 'quick', 'medium', 'paper', 'paper-dry-run', 'medium-dry-run'"),
    ("claim key", lambda W, R: claims.check("Bad Key", paper="p", section="1", on="toy", expect="reproduced", estimate=evidence.mean([1.0, 2.0], unit="seeds"), bar=evidence.above(0)), ValueError, "key must be lowercase"),
    ("claim expect", lambda W, R: claims.check("a", paper="p", section="1", on="toy", expect="yes", estimate=evidence.mean([1.0, 2.0], unit="seeds"), bar=evidence.above(0)), ValueError, "expect must be one of"),
    ("claim no estimate", lambda W, R: claims.check("a", paper="p", section="1", on="toy", expect="reproduced"), ValueError, "give either estimate= and bar="),
    ("sanity holds", lambda W, R: claims.sanity("a", statement="s", on="toy", measured="m", holds="yes", why="w"), TypeError, "holds must be a boolean"),
    ("finding expect", lambda W, R: claims.finding("a", statement="s", on="toy", expect="reproduced", estimate=evidence.mean([1.0, 2.0], unit="seeds"), bar=evidence.above(0)), ValueError, "expect must be one of 'supported'"),
    ("evidence level", lambda W, R: evidence.mean([1.0, 2.0], unit="seeds", level=1.5), ValueError, "level must be"),
    ("evidence unit", lambda W, R: evidence.mean([1.0, 2.0], unit=3), ValueError, "unit must name"),
    ("evidence bar", lambda W, R: evidence.above("high"), TypeError, "value must be a number"),
    ("plot 2d on 5d", lambda W, R: plots.loss_surface_2d(None, W), ValueError, "landscape must be 2-dimensional"),
    ("plot wedges n", lambda W, R: plots.wedges_3d(None, n=3), ValueError, "n must be 1 or 2"),
    # -- m-connectors ------------------------------------------------------------------------
    ("connector one optimum", lambda W, R: paths.build_connector(W, [ONES5]), ValueError, "optima must hold at least 2 vectors"),
    ("connector optima lengths", lambda W, R: paths.build_connector(W, [ONES5, np.ones(4, F)]), ValueError, r"optima\[1\] must be a vector of length 5"),
    ("connector optima dependent", lambda W, R: paths.build_connector(W, [ONES5, 2 * ONES5, 3 * ONES5]), ValueError, "optima must be affinely independent.*linearly dependent"),
    ("connector optima equal", lambda W, R: paths.build_connector(W, [ONES5, ONES5], "hull"), ValueError, "optima must be affinely independent"),
    ("connector m > dim", lambda W, R: paths.build_connector(W, list(np.eye(5, dtype=F)) + [ONES5, RANGE5]), ValueError, "m = 6 simplex, which needs m <= the dimension 5"),
    ("connector optima string", lambda W, R: paths.build_connector(W, "optima"), TypeError, "optima must be a sequence of parameter vectors"),
    ("connector optima 1-D array", lambda W, R: paths.build_connector(W, ONES5), ValueError, r"optima must be a sequence of parameter vectors \(an \(m \+ 1, D\) array\)"),
    ("connector optima nan", lambda W, R: paths.build_connector(W, [ONES5, np.full(5, np.nan, F)]), ValueError, r"optima\[1\] contains non-finite"),
    ("connector method", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "simplex"), ValueError, "method must be one of 'hull', 'construction', 'hyperplane', 'stars', 'joint'"),
    ("connector construction on network", lambda W, R: paths.build_connector(R, [R.params, R.params + 1.0], "construction"), TypeError, "method='construction' needs the toy landscape"),
    ("connector steps", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], steps=0), ValueError, "steps must be >= 1"),
    ("connector rate", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], learning_rate=0.0), ValueError, "learning_rate must be > 0"),
    ("connector schedule", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "joint", schedule="step"), ValueError, "schedule must be one of 'constant', 'cosine', 'exponential'"),
    ("connector stars schedule", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "stars", schedule="cosine"), ValueError, "schedule must be 'exponential' for method='stars'"),
    ("connector per_face", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], per_face=0), ValueError, "per_face must be >= 1"),
    ("connector batch float", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], batch=2.5), TypeError, "batch must be an integer"),
    ("connector t_start", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], t_start=0.0), ValueError, "t_start must be > 0"),
    ("connector hold", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], hold=1.0), ValueError, "hold must be < 1"),
    ("connector final_fraction", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], final_fraction=2.0), ValueError, "final_fraction must be <= 1"),
    ("connector seed", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], seed=-1), ValueError, "seed must be >= 0"),
    ("connector weights sum", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").points([[0.5, 0.6]]), ValueError, "weights must be barycentric"),
    ("connector weights negative", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").points([[1.5, -0.5]]), ValueError, "weights must be barycentric"),
    ("connector weights shape", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").points([0.5, 0.5]), ValueError, r"weights must have shape \(B, 2\)"),
    ("connector face k", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:3], "hull").face(3), ValueError, "k must be <= 2"),
    ("connector evaluate num_points", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").evaluate(W, num_points=0), ValueError, "num_points must be >= 1"),
    ("connector evaluate other landscape", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").evaluate(R), ValueError, r"landscape.dim \(1210\) must equal the optima's length \(5\)"),
    ("connector sample num", lambda W, R: paths.build_connector(W, np.eye(5, dtype=F)[:2], "hull").sample(0), ValueError, "num must be >= 1"),
    ("face_masks size", lambda W, R: paths.face_masks(3, 4), ValueError, "size must be <= 3"),
    ("union_prediction short", lambda W, R: paths.union_prediction(10, 11, 2), ValueError, "short must be <= 10"),
    ("ensembles on toy", lambda W, R: paths.compare_ensembles(W, [ONES5, RANGE5]), TypeError, "compare_ensembles needs a classifier landscape"),
    ("ensembles one member", lambda W, R: paths.compare_ensembles(R, [R.params]), ValueError, "members must hold at least 2"),
    ("ensembles split", lambda W, R: paths.compare_ensembles(R, [R.params, R.params], split="val"), ValueError, "split must be one of 'train', 'test'"),
]

OBSCURE = ("InvalidArgumentError", "ResourceExhaustedError", "graph execution", "Traceback", "tf.function")


@pytest.fixture(scope="module")
def landscapes(tiny_network):
    return toy.WedgeLandscape(5, 3), tiny_network


def test_the_table_is_large():
    assert len(TABLE) >= 100
    assert len({name for name, *_ in TABLE}) == len(TABLE), "names must be unique"


@pytest.mark.parametrize("name, call, error, words", TABLE, ids=[row[0] for row in TABLE])
def test_bad_call_gets_a_clear_error(landscapes, name, call, error, words):
    with pytest.raises(error, match=words) as raised:
        call(*landscapes)
    assert type(raised.value) in (ValueError, TypeError, MemoryError), (
        f"{name}: raised {type(raised.value).__name__}, a subclass: {raised.value}")
    assert not any(mark in str(raised.value) for mark in OBSCURE), f"{name}: obscure message {raised.value}"
