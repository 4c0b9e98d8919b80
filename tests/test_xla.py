"""Every compiled function of the library compiles with XLA (``jit_compile=True``).

A function that compiles under XLA is one graph: no NumPy call, no host round trip and
no Python control flow on tensors inside it. That is what lets the library's loops run
unchanged on a GPU (there is none here to prove it on). The functions are found by
introspection, so a compiled function added later is either exercised here or named by
the failure. XLA is off by default (slower on a 2-core CPU for the book's small models,
see benchmarks/); ``core.use_xla(True)`` switches every compiled function over.
"""
import importlib
import pkgutil

import numpy as np
import pytest
import tensorflow as tf

import landscape
from landscape import core, data, ensembles, models, paths, probes, subspace, toy, train


def compiled_functions() -> dict[str, core.Compiled]:
    """Every ``core.Compiled`` defined in the library, by its qualified name."""
    found = {}
    for info in pkgutil.walk_packages(landscape.__path__, "landscape."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, core.Compiled):
                found[value.python_function.__qualname__] = value
    return found


def xla_trace_counts(functions) -> dict[str, int]:
    return {name: function._xla.experimental_get_tracing_count() for name, function in functions.items()}


@pytest.fixture(scope="module")
def batch_norm_network():
    """A 1D convolution with batch normalization on MNIST-1D (for SWA's recomputed statistics)."""
    dataset = data.load_dataset("mnist1d", max_train=200, max_test=100)
    inputs = tf.keras.Input(dataset.input_shape)
    hidden = tf.keras.layers.Conv1D(4, 5, strides=4, padding="same")(inputs)
    hidden = tf.keras.layers.BatchNormalization()(hidden)
    outputs = tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(tf.keras.layers.ReLU()(hidden)))
    return models.ModelLandscape(tf.keras.Model(inputs, outputs), dataset, batch_size=100)


def again(network):
    """A new landscape object over the same model and data."""
    return models.ModelLandscape(network.model, network.dataset, batch_size=network.batch_size)


def run_every_experiment(wedges, network, batch_norm_network):
    """One small call of each experiment kind; returns numbers to compare across modes."""
    start = wedges.initial_params(0)
    points = np.stack([wedges.initial_params(seed).numpy() for seed in range(3)])
    values = {"toy loss": float(wedges.loss(start)), "toy gradient": wedges.loss_and_grad(start)[1].numpy(),
              "toy batch": wedges.losses(points)}
    values["toy training"] = train.minimize(wedges, start, steps=20, learning_rate=1e-2).params
    space = subspace.RandomSubspace(wedges.dim, 6, "dense", origin=start, seed=0)
    values["subspace"] = subspace.train_in_subspace(wedges, space, steps=20, learning_rate=1e-2).params
    sweep = subspace.intrinsic_dimension(wedges, [4, 8], seeds=2, kind="fastfood", steps=20, full_space=False)
    values["subspace sweep"] = sweep.final_loss
    for method, options in (("stars", dict(per_face=1)), ("hyperplane", {}), ("joint", dict(batch=4))):
        connector = paths.build_connector(wedges, points, method, steps=3, learning_rate=1e-3, **options)
        values[f"connector {method}"] = connector.table

    params = network.initial_params(0)
    values["network training"] = train.minimize(network, params, steps=5, learning_rate=1e-2).params
    values["network labels"] = network.predict(params)
    hessian = probes.Hessian(network, params)
    values["Hessian top 3"] = hessian.eigenvalues(3, method="lanczos")
    values["Hessian trace"] = hessian.trace(num_samples=4)
    run = ensembles.train_cyclic(network, params.numpy(), ensembles.CyclicSchedule(1, 2, 0.1))
    values["cyclic snapshots"] = run.snapshots

    members = np.stack([batch_norm_network.initial_params(seed).numpy() for seed in (0, 1)])
    report = ensembles.evaluate_members(batch_norm_network, members, barrier_points=3, batch_norm_examples=100)
    values["batch-norm average loss"] = report.average_loss
    values["batch-norm barriers"] = report.barriers
    return values


def test_every_compiled_function_of_the_library_compiles_with_xla(tiny_network, batch_norm_network):
    functions = compiled_functions()
    assert len(functions) >= 15, sorted(functions)  # the walk found the library's functions
    wedges = toy.WedgeLandscape(40, 30)
    plain = run_every_experiment(wedges, tiny_network, batch_norm_network)
    before = xla_trace_counts(functions)
    core.use_xla(True)
    try:
        # Fresh landscapes: the traces above are kept per landscape object and mode.
        xla = run_every_experiment(toy.WedgeLandscape(40, 30), again(tiny_network), again(batch_norm_network))
    finally:
        core.use_xla(False)
    after = xla_trace_counts(functions)
    missing = sorted(name for name in functions if after[name] == before[name])
    assert not missing, f"not compiled with XLA by any experiment of this test: {missing}"
    # XLA fuses operations (other rounding): short runs from the same start agree closely.
    # Random draws inside a compiled loop (the stars' and the joint connector's points on
    # the simplex) come from other streams under XLA: those runs are only checked finite.
    for key, value in plain.items():
        if key in ("connector stars", "connector joint"):
            assert np.all(np.isfinite(xla[key])) and np.shape(xla[key]) == np.shape(value), key
        else:
            np.testing.assert_allclose(xla[key], value, rtol=2e-3, atol=2e-4, err_msg=key)
