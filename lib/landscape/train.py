"""Training on any landscape: plain gradient methods on a flat parameter vector.

The optimizers are written out in a few lines of TensorFlow (not Keras
optimizers) so the whole loop runs as one compiled function on CPU or GPU, with
no NumPy round trip per step, and so a student can read exactly what is done.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .core import (Landscape, as_params, check_choice, check_int, check_number, check_positive, compiled,
                   run_side_by_side)

__all__ = ["MinimizeResult", "minimize", "minimize_from_seeds", "OPTIMIZERS", "SCHEDULES", "learning_rate_at"]

OPTIMIZERS = ("adam", "sgd", "momentum")
SCHEDULES = ("constant", "cosine")
BETA1, BETA2, EPSILON, MOMENTUM = 0.9, 0.999, 1e-8, 0.9


@dataclass
class MinimizeResult:
    """Outcome of :func:`minimize`.

    params : final parameters, float32 array (D,)
    losses : the (minibatch) loss at every step, before the step's update
    final_loss : the full loss at ``params``
    trajectory : (k, D) parameters every ``record_every`` steps plus the final
        ones, or None when not recorded
    steps_taken : the number of steps taken (fewer than asked when ``stop_below``
        stopped the run; ``losses`` then holds only these)
    reached_target : with ``stop_below``, whether the monitored loss fell below it
        (at a check, or at the final parameters); None without ``stop_below``
    """

    params: np.ndarray
    losses: np.ndarray
    final_loss: float
    trajectory: np.ndarray | None = None
    steps_taken: int | None = None
    reached_target: bool | None = None


def learning_rate_at(schedule: str, base_rate, step, steps):
    """Graph code: the learning rate at ``step`` of ``steps`` ("cosine" decays to 0)."""
    if schedule == "cosine":
        progress = tf.cast(step, tf.float32) / tf.cast(tf.maximum(steps, 1), tf.float32)
        return base_rate * 0.5 * (1.0 + tf.cos(math.pi * progress))
    return base_rate


def optimizer_step(optimizer: str, params, grad, state, rate, step):
    """Graph code: one update. ``state`` is (first, second): Adam's moments, or the
    momentum buffer and an unused tensor. Returns the new params and state."""
    first, second = state
    if optimizer == "adam":
        first = BETA1 * first + (1.0 - BETA1) * grad
        second = BETA2 * second + (1.0 - BETA2) * tf.square(grad)
        t = tf.cast(step + 1, tf.float32)
        corrected = rate * tf.sqrt(1.0 - BETA2**t) / (1.0 - BETA1**t)
        return params - corrected * first / (tf.sqrt(second) + EPSILON), (first, second)
    if optimizer == "momentum":
        first = MOMENTUM * first + grad
        return params - rate * first, (first, second)
    return params - rate * grad, (first, second)


@compiled(reduce_retracing=True)
def _minimize_loop(landscape, params, steps, base_rate, optimizer, schedule, record_every, stop_below=None,
                   check_every=1, monitor=None):
    state = (tf.zeros_like(params), tf.zeros_like(params))
    losses = tf.TensorArray(tf.float32, size=steps, element_shape=[])
    # Fixed-size trajectory buffer (XLA needs static sizes): row i is step i * record_every.
    slots = (steps + record_every - 1) // record_every + 1 if record_every > 0 else 1
    trajectory = tf.TensorArray(tf.float32, size=slots, element_shape=params.shape)
    taken = tf.constant(steps)
    for step in tf.range(steps):
        if stop_below is not None:
            # The stopping test runs in the graph: no host round trip per step. The
            # monitored loss is computed only on check steps (tf.cond skips it otherwise).
            below = tf.cond(step % check_every == 0, lambda: monitor.loss_graph(params) < stop_below,
                            lambda: tf.constant(False))
            if below:
                taken = step
                break
        loss, grad = landscape.minibatch_loss_and_grad(params, step)
        if record_every > 0:
            if step % record_every == 0:
                trajectory = trajectory.write(step // record_every, params)
        rate = learning_rate_at(schedule, base_rate, step, steps)
        params, state = optimizer_step(optimizer, params, grad, state, rate, step)
        losses = losses.write(step, loss)
    trajectory = trajectory.write(slots - 1, params)
    return params, losses.stack(), trajectory.stack(), taken


def minimize(
    landscape,
    params,
    steps: int = 1000,
    learning_rate: float = 1e-2,
    *,
    optimizer: str = "adam",
    schedule: str = "constant",
    record_every: int = 0,
    stop_below: float | None = None,
    check_every: int = 10,
    monitor=None,
) -> MinimizeResult:
    """Minimize ``landscape`` from ``params`` for ``steps`` gradient steps.

    ``optimizer`` is "adam" (the paper's choice), "sgd" or "momentum" (SGD with
    momentum 0.9); ``schedule`` is "constant" (the paper's) or "cosine" (decays to
    zero, to settle exactly into a minimum). On a real network each step uses one
    minibatch (the landscape's ``batch_size``). ``record_every > 0`` keeps the
    parameters every that many steps, for drawing optimization paths.

    Training to a target loss: with ``stop_below`` the run stops at the first step
    ``s`` (a multiple of ``check_every``, before that step's update) where the full
    loss of ``monitor`` at the parameters is below ``stop_below``; ``steps`` is then the
    most steps taken. ``monitor`` is a landscape over the same parameters (default: the
    trained one), e.g. the same network without its L2 term, so that runs with
    different penalties are compared at the same data loss. Its full loss is computed
    on the check steps only, inside the compiled loop. ``result.steps_taken`` and
    ``result.reached_target`` say where the run stopped and whether it got there.
    """
    start = as_params(params, landscape.dim, "params")
    steps = check_int(steps, "steps", minimum=1)
    rate = check_positive(learning_rate, "learning_rate")
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    check_choice(schedule, "schedule", SCHEDULES)
    record_every = check_int(record_every, "record_every", minimum=0)
    check_every = check_int(check_every, "check_every", minimum=1)
    if stop_below is not None:
        stop_below = check_number(stop_below, "stop_below")
        monitor = landscape if monitor is None else monitor
        if not isinstance(monitor, Landscape):
            raise TypeError(f"monitor must be a landscape (with loss_graph), got {type(monitor).__name__}")
        if monitor.dim != landscape.dim:
            raise ValueError(f"monitor must be a landscape over the same parameters: dim {monitor.dim}, "
                             f"the trained landscape has dim {landscape.dim}")
    elif monitor is not None:
        raise ValueError("monitor is only used with stop_below (the loss that stops training)")
    # One trace per landscape and configuration (TensorFlow keeps it): repeated runs
    # from many initializations do not pay for tracing again. ``steps`` is a Python
    # int, part of the configuration: XLA needs the sizes of the loop's buffers.
    if stop_below is None:
        final, losses, trajectory, taken = _minimize_loop(
            landscape, start, steps, tf.constant(rate, tf.float32), optimizer, schedule, record_every)
    else:
        # The target is a tensor: one trace serves every target; check_every and the
        # monitor are part of the configuration.
        final, losses, trajectory, taken = _minimize_loop(
            landscape, start, steps, tf.constant(rate, tf.float32), optimizer, schedule, record_every,
            tf.constant(stop_below, tf.float32), check_every, monitor)
    final_loss = float(landscape.loss(final))
    if not np.isfinite(final_loss):
        raise FloatingPointError(f"training diverged (final loss {final_loss}); lower learning_rate (was {rate})")
    taken = int(taken)
    reached = None
    if stop_below is not None:
        reached = taken < steps or float(monitor.loss(final)) < stop_below
    trajectory = trajectory.numpy() if record_every > 0 else None
    if trajectory is not None and taken < steps:
        trajectory = np.concatenate([trajectory[:(taken + record_every - 1) // record_every], trajectory[-1:]])
    return MinimizeResult(params=final.numpy(), losses=losses.numpy()[:taken], final_loss=final_loss,
                          trajectory=trajectory, steps_taken=taken, reached_target=reached)


def minimize_from_seeds(landscape, seeds, steps: int = 1000, learning_rate: float = 1e-2,
                        **options) -> list[MinimizeResult]:
    """Minimize from ``landscape.initial_params(seed)`` for every seed (independent runs).

    ``options`` are passed to :func:`minimize`; the compiled loop is shared by all runs,
    which train side by side (:func:`landscape.core.run_side_by_side`; the results are
    those of one run after another, bit for bit).
    """
    if isinstance(seeds, (int, np.integer, str)):
        raise TypeError(f"seeds must be a sequence of seeds such as [1, 2] or range(4), got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    starts = [landscape.initial_params(seed) for seed in seeds]  # in this thread: Keras initializers are not ours
    return run_side_by_side(lambda start, worker: minimize(landscape, start, steps, learning_rate, **options), starts)
