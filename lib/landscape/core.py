"""The landscape protocol and its capabilities, argument checks, flat views of weights,
seeding, and how the library compiles its hot loops.

A *landscape* is a differentiable loss over a flat float32 parameter vector ``P``
of length ``dim``. Every experiment in the book is written against this small
protocol, so the same code runs on the toy n-wedge landscape and on a real
network. What only some landscapes can do is declared as a capability (a
protocol checked with ``isinstance``), never guessed.
"""
from __future__ import annotations

import logging
import math
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
import tensorflow as tf

from . import environment

__all__ = [
    "Landscape", "BatchedLoss", "Classifier", "CountsShortDirections",
    "FlatView", "as_params", "as_points", "check_int", "check_seed", "check_number", "check_positive",
    "check_fraction", "check_choice", "check_increasing", "check_int_sequence",
    "Compiled", "compiled", "use_xla", "xla_enabled", "wants_xla", "wants_xla_for_batches", "set_seed",
    "value_and_gradient", "reused", "set_workers", "workers", "run_side_by_side",
    "compiled_loss", "compiled_loss_and_grad", "compiled_batch_loss",
]


# -- the protocol and its capabilities ----------------------------------------------------
@runtime_checkable
class Landscape(Protocol):
    """What every landscape provides.

    ``loss`` and ``loss_and_grad`` take a float32 vector of length ``dim``.
    ``loss_graph(P)`` is the same loss as graph code (callable inside compiled
    functions, differentiable twice where the loss is smooth);
    ``minibatch_loss_and_grad(P, step)`` is the stochastic version used by
    training loops (deterministic landscapes return the full gradient).
    """

    dim: int

    def loss_graph(self, params) -> tf.Tensor: ...

    def loss(self, params) -> tf.Tensor: ...

    def loss_and_grad(self, params) -> tuple[tf.Tensor, tf.Tensor]: ...

    def minibatch_loss_and_grad(self, params, step) -> tuple[tf.Tensor, tf.Tensor]: ...

    def initial_params(self, seed: int = 0) -> tf.Tensor: ...


@runtime_checkable
class BatchedLoss(Protocol):
    """A landscape that evaluates many parameter vectors in one computation.

    ``batch_loss(points)`` takes a (k, dim) float32 tensor and returns the k full
    losses; ``batch_minibatch_loss(points, step)`` the k losses on training step
    ``step``'s minibatch (the same minibatch for every point). Both are graph code:
    training loops differentiate them to train many points at once. ``losses(points)``
    is the eager version of ``batch_loss``, returning a NumPy array. ``vectorized``
    says whether the rows are computed in one vectorized computation (the toy) or one
    after the other inside the graph (a network): only in the first case is training
    many points together faster than training them one at a time.
    """

    vectorized: bool

    def batch_loss(self, points) -> tf.Tensor: ...

    def batch_minibatch_loss(self, points, step) -> tf.Tensor: ...

    def losses(self, points) -> np.ndarray: ...


@runtime_checkable
class Classifier(Protocol):
    """A landscape whose parameters define a classifier (a real network).

    ``dataset`` is the :class:`~landscape.data.Dataset` it was built from, or None
    when it was built from bare arrays (then there is no test split).
    """

    dataset: object

    def predict(self, params, x=None) -> np.ndarray: ...

    def accuracy(self, params, split: str = "train") -> float: ...

    def probabilities(self, params, x=None) -> np.ndarray: ...


@runtime_checkable
class CountsShortDirections(Protocol):
    """A landscape that knows its short directions at a point by construction (the toy)."""

    def short_directions(self, params, tolerance: float = 1e-2) -> int: ...


# -- argument checks: a clear error that names the argument ---------------------------------
def _is_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise a clear error naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


SEED_MAX = 2**31 - 1


def check_seed(value, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**31 - 1] (what every random generator used here accepts)."""
    return check_int(value, name, minimum=0, maximum=SEED_MAX)


def check_number(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float within the bounds, or raise naming ``name``.
    Python and NumPy numbers are accepted; booleans, strings and nan are not."""
    if not _is_number(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value < minimum or (low_open and value == minimum)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and (value > maximum or (high_open and value == maximum)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {maximum:g}, got {value:g}")
    return value


def check_positive(value, name: str) -> float:
    """A positive finite number."""
    return check_number(value, name, minimum=0.0, low_open=True)


def check_fraction(value, name: str) -> float:
    """A number strictly between 0 and 1."""
    return check_number(value, name, minimum=0.0, maximum=1.0, low_open=True, high_open=True)


def check_choice(value, name: str, allowed) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError listing them."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def check_int_sequence(values, name: str, *, minimum: int | None = None) -> list[int]:
    """A non-empty sequence of integers (not a bare integer or a string)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, range)):
        raise TypeError(f"{name} must be a sequence of integers such as (64, 32), got {type(values).__name__} "
                        f"{values!r}")
    values = [check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(values)]
    if not values:
        raise ValueError(f"{name} must hold at least one value")
    return values


def check_increasing(values, name: str, *, minimum: float | None = None) -> np.ndarray:
    """A non-empty 1-D sequence of finite numbers, strictly increasing, each >= ``minimum``."""
    if isinstance(values, (str, bytes)) or _is_number(values):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__} {values!r}")
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got {values!r}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers, got {values!r}")
    if minimum is not None and array.min() < minimum:
        raise ValueError(f"{name} must hold numbers >= {minimum:g}, got {array.min():g}")
    if np.any(np.diff(array) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {values!r}")
    return array


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
        try:
            array = np.asarray(params)
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"{name} must be a vector of length {dim}: {error}") from None
        if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"{name} must be a floating-point vector (float32), got dtype {array.dtype}")
        shape = array.shape
        values = tf.convert_to_tensor(array, dtype=tf.float32)
    if len(shape) != 1 or shape[0] != dim:
        raise ValueError(f"{name} must be a vector of length {dim}, got shape {shape}")
    # Inside a compiled function the values are unknown until run time: check shape only.
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(values))):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return values


def as_points(points, dim: int, name: str = "points") -> tf.Tensor:
    """Validate a (k, dim) batch of parameter vectors; return it as a float32 tensor."""
    try:
        array = points.numpy() if isinstance(points, (tf.Tensor, tf.Variable)) else np.asarray(points)
    except ValueError as error:
        raise ValueError(f"{name} must have shape (k, {dim}): {error}") from None
    if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be floating-point, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] != dim or array.shape[0] == 0:
        raise ValueError(f"{name} must have shape (k, {dim}) with k >= 1, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return tf.constant(array, tf.float32)


# -- flat views of weights ---------------------------------------------------------------
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
        pieces = tf.split(flat, self.sizes, axis=-1)
        lead = flat.shape[:-1]
        return [tf.reshape(piece, [*lead, *shape]) for piece, shape in zip(pieces, self.shapes)]

    def assign(self, flat) -> None:
        flat = as_params(flat, self.dim, "flat")
        for variable, value in zip(self.variables, self.unflatten(flat)):
            variable.assign(tf.cast(value, variable.dtype))


# -- compiling hot loops -------------------------------------------------------------------
_XLA = {"enabled": os.environ.get("LANDSCAPE_XLA", "0") == "1"}


def use_xla(enabled: bool) -> None:
    """Compile the library's loops with XLA (``jit_compile=True``) from now on, or not.

    Every loop is written so that XLA can compile it (no host round trip, no NumPy,
    no Python control flow on tensors). On this book's 2-core CPU XLA was slower for
    its small models, so it is off by default; ``LANDSCAPE_XLA=1`` turns it on at start.
    A landscape can ask for XLA for itself (see :func:`wants_xla`).
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")
    _XLA["enabled"] = enabled


def xla_enabled() -> bool:
    return _XLA["enabled"]


def wants_xla(landscape) -> bool:
    """Whether ``landscape`` asks for XLA whatever :func:`use_xla` says (its
    ``compile_with_xla`` is True): the toy does at large D, where XLA fuses the many
    passes over the vector that a step makes into a few."""
    return getattr(landscape, "compile_with_xla", False) is True


def wants_xla_for_batches(landscape) -> bool:
    """Whether ``landscape`` asks for XLA when many of its points are trained together
    (its ``compile_batches_with_xla`` is True): the toy does at any D. Keras models do
    not: XLA compiles them slowly, and a max-pooling gradient has no deterministic XLA
    kernel."""
    return getattr(landscape, "compile_batches_with_xla", False) is True


class _DropRetracingNotice(logging.Filter):
    """The library's compiled functions take the landscape (a Python object) as an
    argument: TensorFlow traces once per landscape and keeps the traces in its own
    weak-keyed cache. A sweep over many landscapes is then expected retracing, not
    the accident TensorFlow's notice warns of; the notice (logged to stderr, which
    the lessons treat as an error) is dropped for the library's functions only."""

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "landscape." in message)


logging.getLogger("tensorflow").addFilter(_DropRetracingNotice())


_FIRST_XLA = {"done": False, "lock": threading.Lock()}


def _compile_xla_once_quietly() -> None:
    """TensorFlow 2.16 to 2.20 log the first XLA compilation of a process ("XLA service ...
    initialized for platform Host", "Compiled cluster using XLA!  This line is logged at
    most once") to stderr whatever TF_CPP_MIN_LOG_LEVEL says (2.21 does not); a lesson
    cell would show them. So before the library's first compiled call (which may use XLA,
    or call an XLA-compiled function inside), compile a trivial function with XLA once on
    every device, with file descriptor 2 sent to /dev/null."""
    with _FIRST_XLA["lock"]:
        if _FIRST_XLA["done"]:
            return
        _FIRST_XLA["done"] = True
        with environment.quiet_stderr():
            for device in tf.config.list_logical_devices():
                try:
                    with tf.device(device.name):
                        tf.function(lambda: tf.reduce_sum(tf.ones([2])), jit_compile=True)()
                except (tf.errors.OpError, ValueError):  # a device XLA cannot compile for: nothing to log
                    pass


class Compiled:
    """A function compiled by TensorFlow twice over: with and without XLA, chosen at
    each call by :func:`use_xla`. Each keeps TensorFlow's own trace cache."""

    def __init__(self, function, **options):
        # Name the function after its module so the retracing filter recognises it.
        function.__qualname__ = f"landscape.{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"
        self.python_function = function
        self._plain = tf.function(function, jit_compile=False, **options)
        self._xla = tf.function(function, jit_compile=True, **options)

    def __call__(self, *args, **kwargs):
        if not _FIRST_XLA["done"]:
            _compile_xla_once_quietly()
        return (self._xla if _XLA["enabled"] or wants_xla(args[0] if args else None) else self._plain)(*args, **kwargs)

    def tracing_count(self) -> int:
        """How many times TensorFlow traced the function (both variants)."""
        return self._plain.experimental_get_tracing_count() + self._xla.experimental_get_tracing_count()


def compiled(fn=None, **options):
    """Decorator: compile a module-level function with the library's settings.

    Its first argument should be the landscape (or other object) it works on:
    TensorFlow then traces once per object (held weakly) and configuration, and
    reuses the trace for every later call. ``options`` go to ``tf.function``.
    """
    if fn is not None:
        return Compiled(fn, **options)
    return lambda function: Compiled(function, **options)


def reused(landscape, key, build):
    """A helper object over ``landscape`` (a landscape restricted to subspaces or
    hyperplanes), built by ``build()`` once per ``key`` and kept on the landscape.

    The library's compiled loops trace once per object they are given; an experiment
    that built a fresh helper at every call would pay for tracing at every call. A
    helper's variables are set again by each caller (``use``, ``move_to``), so sharing
    it is safe. A landscape that cannot hold attributes gets a fresh helper each time.
    """
    owner, helpers = getattr(landscape, "_reused_helpers", (None, None))
    if owner is not landscape:  # none yet, or a copy's attribute pointing at the original's helpers
        helpers = {}
        try:
            landscape._reused_helpers = (landscape, helpers)
        except AttributeError:  # __slots__ or a frozen object: no cache, same results
            return build()
    if key not in helpers:
        helpers[key] = build()
    return helpers[key]


def value_and_gradient(function, x):
    """``function(x)`` and its gradient with respect to the tensor ``x`` (graph code; the
    one place the library writes the gradient-tape pattern)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = function(x)
    return value, tape.gradient(value, x)


# -- independent runs side by side ------------------------------------------------------------
_WORKERS = {"count": None}  # None: from $LANDSCAPE_WORKERS, else the default of workers()


def _default_workers() -> int:
    """One worker per CPU core this process may use (at most 4), or one on a GPU.

    The book's networks are small: one training step cannot keep two cores busy (its
    convolutions take well under a millisecond), so two independent runs side by side
    finish sooner than one after the other. On a GPU one run already fills the device.
    More than 4 workers would mostly add traces (one per worker and helper)."""
    if tf.config.list_physical_devices("GPU"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def set_workers(count: int | None) -> None:
    """Train at most ``count`` independent runs at once from now on (None: the default,
    see :func:`workers`). Results do not depend on it, only the time taken."""
    _WORKERS["count"] = None if count is None else check_int(count, "count", minimum=1)


def workers() -> int:
    """How many independent runs the library trains side by side: :func:`set_workers`,
    else ``$LANDSCAPE_WORKERS``, else one per CPU core (at most 4; one on a GPU)."""
    if _WORKERS["count"] is not None:
        return _WORKERS["count"]
    value = os.environ.get("LANDSCAPE_WORKERS", "").strip()
    if not value:
        return _default_workers()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LANDSCAPE_WORKERS must be a whole number >= 1 (or unset), got {value!r}")
    return int(value)


def run_side_by_side(task, items, count: int | None = None) -> list:
    """``[task(item, worker) for item in items]``, computed by ``count`` threads at once
    (default :func:`workers`, never more than there are items).

    Item ``i`` goes to worker ``i % count``, so a worker can keep its own helper objects
    (``reused`` with the worker in the key). TensorFlow releases Python's lock while a
    compiled loop runs, so the workers' runs share the cores. Each worker's first item,
    the call that traces its helpers, runs while the others wait: TensorFlow locks the
    tracing of one function, but a first call traces several (the loop, the loss, the
    accuracy), and one at a time is the simple order to trust.
    With op determinism (:func:`set_seed`) every result is the one a single worker
    gives, bit for bit. Results come back in the order of ``items``. After a failure
    no worker starts another item; the earliest failed item's error is raised.
    """
    items = list(items)
    count = min(workers() if count is None else check_int(count, "count", minimum=1), len(items))
    if count <= 1:
        return [task(item, 0) for item in items]
    results = [None] * len(items)
    errors = {}
    first_calls = threading.Lock()
    failed = threading.Event()

    def work(worker):
        for position, index in enumerate(range(worker, len(items), count)):
            if failed.is_set():
                return
            try:
                if position == 0:
                    with first_calls:
                        results[index] = task(items[index], worker)
                else:
                    results[index] = task(items[index], worker)
            except BaseException as error:  # noqa: B036  (re-raised in the caller's thread)
                errors[index] = error
                failed.set()
                return

    with ThreadPoolExecutor(count, thread_name_prefix="landscape-worker") as pool:
        try:
            for future in [pool.submit(work, worker) for worker in range(count)]:
                future.result()
        except BaseException:  # e.g. KeyboardInterrupt in a notebook: stop taking new items
            failed.set()
            raise
    if errors:
        raise errors[min(errors)]
    return results


# The compiled evaluations every landscape's eager methods call (``loss``, ``loss_and_grad``,
# ``losses``): one trace per landscape, kept by TensorFlow.
@compiled(reduce_retracing=True)
def compiled_loss(landscape, params):
    return landscape.loss_graph(params)


@compiled(reduce_retracing=True)
def compiled_loss_and_grad(landscape, params):
    return value_and_gradient(landscape.loss_graph, params)


@compiled(reduce_retracing=True)
def compiled_batch_loss(landscape, points):
    return landscape.batch_loss(points)


# -- seeding -------------------------------------------------------------------------------
def set_seed(seed: int = 0) -> int:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow ops deterministic.

    One call at the top of a lesson makes every number it prints reproducible
    on the same machine (other CPUs round differently in the last bits).
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return seed
