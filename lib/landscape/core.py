"""The landscape protocol, parameter validation, flat views of weights, seeding.

A *landscape* is a differentiable loss over a flat float32 parameter vector ``P``
of length ``dim``. Every experiment in the book is written against this small
protocol, so the same code runs on the toy n-wedge landscape and on a real
network.
"""
from __future__ import annotations

import os
import random
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
import tensorflow as tf

__all__ = [
    "Landscape",
    "FlatView",
    "as_params",
    "check_int",
    "check_positive",
    "compile_per_instance",
    "set_seed",
]


@runtime_checkable
class Landscape(Protocol):
    """What every landscape provides.

    ``loss`` and ``loss_and_grad`` take a float32 vector of length ``dim``.
    ``minibatch_loss_and_grad(P, step)`` is the stochastic version used by
    training loops (deterministic landscapes return the full gradient).
    """

    dim: int

    def loss(self, params) -> tf.Tensor: ...

    def loss_and_grad(self, params) -> tuple[tf.Tensor, tf.Tensor]: ...

    def minibatch_loss_and_grad(self, params, step) -> tuple[tf.Tensor, tf.Tensor]: ...

    def initial_params(self, seed: int = 0) -> tf.Tensor: ...


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_positive(value, name: str) -> float:
    """Return ``value`` as a positive finite float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def as_params(params, dim: int, name: str = "params") -> tf.Tensor:
    """Validate a parameter vector and return it as a float32 ``tf.Tensor``.

    Accepts numpy arrays, lists and tensors of any floating dtype (they are cast
    to float32); rejects other dtypes, wrong shapes and non-finite values with an
    error that names the argument.
    """
    if isinstance(params, (tf.Tensor, tf.Variable)):
        dtype = params.dtype
        if not dtype.is_floating:
            raise TypeError(f"{name} must be a floating-point vector (float32), got dtype {dtype.name}")
        shape = tuple(params.shape)
        values = tf.cast(tf.convert_to_tensor(params), tf.float32)
    else:
        array = np.asarray(params)
        if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"{name} must be a floating-point vector (float32), got dtype {array.dtype}"
            )
        shape = array.shape
        values = tf.convert_to_tensor(array, dtype=tf.float32)
    if len(shape) != 1 or shape[0] != dim:
        raise ValueError(f"{name} must be a vector of length {dim}, got shape {shape}")
    # Inside a compiled function the values are unknown until run time: check shape only.
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(values))):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return values


class FlatView:
    """A flat float32 view of a list of variables (e.g. a Keras model's weights).

    ``flatten`` concatenates the variables into one vector; ``unflatten`` splits
    a vector back into tensors of the variables' shapes; ``assign`` writes a
    vector into the variables. The round trip is exact (no arithmetic happens).
    """

    def __init__(self, variables: Sequence[tf.Variable]):
        self.variables = list(variables)
        if not self.variables:
            raise ValueError("variables must be a non-empty list (is the model built?)")
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.dim = int(sum(self.sizes))

    def flatten(self, tensors=None) -> tf.Tensor:
        tensors = self.variables if tensors is None else tensors
        return tf.concat([tf.reshape(tf.cast(t, tf.float32), [-1]) for t in tensors], axis=0)

    def unflatten(self, flat) -> list[tf.Tensor]:
        pieces = tf.split(flat, self.sizes)
        return [tf.reshape(piece, shape) for piece, shape in zip(pieces, self.shapes)]

    def assign(self, flat) -> None:
        flat = as_params(flat, self.dim, "flat")
        for variable, value in zip(self.variables, self.unflatten(flat)):
            variable.assign(tf.cast(value, variable.dtype))


def compile_per_instance(fn, **options):
    """``tf.function(fn)`` for a function that closes over one landscape's constants.

    Each landscape (and each random subspace) compiles its own graph on purpose: its
    sizes and constants are baked in. TensorFlow counts traces by the Python code
    object, so a sweep over many landscapes looks like accidental retracing and
    logs a warning; that warning is switched off for these functions only.
    """
    compiled = tf.function(fn, **options)
    compiled._omit_frequent_tracing_warning = True
    return compiled


def set_seed(seed: int = 0) -> int:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow ops deterministic.

    One call at the top of a lesson makes every number it prints reproducible
    (on the same machine and TensorFlow version).
    """
    seed = check_int(seed, "seed", minimum=0)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return seed
