"""Training on any landscape: plain gradient methods on a flat parameter vector.

The optimizers are written out in a few lines of TensorFlow (not Keras
optimizers) so the whole loop runs as one ``tf.function`` on CPU or GPU, with no
NumPy round trip per step, and so a student can read exactly what is done.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .core import as_params, check_int, check_positive, compile_per_instance

__all__ = ["MinimizeResult", "minimize", "minimize_from_seeds", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("adam", "sgd", "momentum")
SCHEDULES = ("constant", "cosine")


@dataclass
class MinimizeResult:
    """Outcome of :func:`minimize`.

    params : final parameters, float32 array (D,)
    losses : the (minibatch) loss at every step, before the step's update
    final_loss : the full loss at ``params``
    trajectory : (k, D) parameters every ``record_every`` steps plus the final
        ones, or None when not recorded
    """

    params: np.ndarray
    losses: np.ndarray
    final_loss: float
    trajectory: np.ndarray | None = None


def _check_choice(value, name, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _learning_rate(schedule, base_rate, step, steps):
    if schedule == "cosine":
        progress = tf.cast(step, tf.float32) / tf.cast(tf.maximum(steps, 1), tf.float32)
        return base_rate * 0.5 * (1.0 + tf.cos(math.pi * progress))
    return base_rate


def _build_loop(landscape, optimizer, schedule, record_every):
    beta1, beta2, epsilon, momentum = 0.9, 0.999, 1e-8, 0.9

    def loop(params, steps, base_rate):
        first = tf.zeros_like(params)  # Adam's first moment, or the momentum buffer
        second = tf.zeros_like(params)  # Adam's second moment
        losses = tf.TensorArray(tf.float32, size=steps)
        trajectory = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=params.shape)
        for step in tf.range(steps):
            loss, grad = landscape.minibatch_loss_and_grad(params, step)
            rate = _learning_rate(schedule, base_rate, step, steps)
            if record_every > 0:
                if step % record_every == 0:
                    trajectory = trajectory.write(trajectory.size(), params)
            if optimizer == "adam":
                first = beta1 * first + (1.0 - beta1) * grad
                second = beta2 * second + (1.0 - beta2) * tf.square(grad)
                t = tf.cast(step + 1, tf.float32)
                corrected = rate * tf.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                params = params - corrected * first / (tf.sqrt(second) + epsilon)
            elif optimizer == "momentum":
                first = momentum * first + grad
                params = params - rate * first
            else:
                params = params - rate * grad
            losses = losses.write(step, loss)
        if record_every > 0:
            trajectory = trajectory.write(trajectory.size(), params)
            return params, losses.stack(), trajectory.stack()
        return params, losses.stack(), tf.zeros([0, params.shape[0]])

    return compile_per_instance(loop)


def minimize(
    landscape,
    params,
    steps: int = 1000,
    learning_rate: float = 1e-2,
    *,
    optimizer: str = "adam",
    schedule: str = "constant",
    record_every: int = 0,
) -> MinimizeResult:
    """Minimize ``landscape`` from ``params`` for ``steps`` gradient steps.

    ``optimizer`` is "adam" (the paper's choice), "sgd" or "momentum" (SGD with
    momentum 0.9); ``schedule`` is "constant" (the paper's) or "cosine" (decays to
    zero, to settle exactly into a minimum). On a real network each step uses one
    minibatch (the landscape's ``batch_size``). ``record_every > 0`` keeps the
    parameters every that many steps, for drawing optimization paths.
    """
    start = as_params(params, landscape.dim, "params")
    steps = check_int(steps, "steps", minimum=1)
    rate = check_positive(learning_rate, "learning_rate")
    _check_choice(optimizer, "optimizer", OPTIMIZERS)
    _check_choice(schedule, "schedule", SCHEDULES)
    record_every = check_int(record_every, "record_every", minimum=0)

    # One compiled loop per landscape and configuration: repeated runs (many
    # initializations) do not pay for tracing again.
    cache = landscape.__dict__.setdefault("_minimize_loops", {})
    key = (optimizer, schedule, record_every)
    if key not in cache:
        cache[key] = _build_loop(landscape, optimizer, schedule, record_every)
    final, losses, trajectory = cache[key](start, tf.constant(steps), tf.constant(rate, tf.float32))
    final_loss = float(landscape.loss(final))
    if not np.isfinite(final_loss):
        raise FloatingPointError(
            f"training diverged (final loss {final_loss}); lower learning_rate (was {rate})"
        )
    return MinimizeResult(
        params=final.numpy(),
        losses=losses.numpy(),
        final_loss=final_loss,
        trajectory=trajectory.numpy() if record_every > 0 else None,
    )


def minimize_from_seeds(landscape, seeds, steps: int = 1000, learning_rate: float = 1e-2,
                        **options) -> list[MinimizeResult]:
    """Minimize from ``landscape.initial_params(seed)`` for every seed (independent runs).

    ``options`` are passed to :func:`minimize`; the compiled loop is shared by all runs.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    return [minimize(landscape, landscape.initial_params(seed), steps, learning_rate, **options)
            for seed in seeds]
