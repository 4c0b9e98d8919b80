"""Snapshot ensembles, stochastic weight averaging and independent ensembles
(Section 4.5 and Figure 6 of Fort & Jastrzebski 2019).

The wedge model predicts what each kind of ensemble is good for:

- a cyclic (cosine-restart) learning rate whose maximum is **low** keeps every
  snapshot on one wedge: the straight line between snapshots stays low, and their
  **average weights** (SWA, Izmailov et al. 2018) make a good network;
- a **high** maximum moves the network to another wedge during a cycle: the
  snapshots disagree more, so averaging their **predictions** (a snapshot ensemble,
  Huang et al. 2017) helps, while their average weights fall off the wedges;
- **independent** initializations land on different wedges for certain, at the cost
  of a whole training run per member.

Compute (:func:`train_cyclic`, :func:`independent_members`), measure
(:func:`evaluate_members`), then plot or assert on the result objects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import paths
from .core import (as_params, check_choice, check_int, check_number, check_positive, check_seed, compiled)
from .models import SPLITS, ModelLandscape, softmax

__all__ = ["CyclicSchedule", "CyclicRun", "EnsembleReport", "SweepReport", "OPTIMIZERS", "train_cyclic",
           "independent_members", "average_weights", "batch_norm_layers", "batch_norm_statistics", "evaluate_members",
           "evaluate_sweep", "epoch_losses", "disagreement"]

OPTIMIZERS = ("sgd", "momentum")
MOMENTUM = 0.9


# -- the schedule -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CyclicSchedule:
    """Cosine annealing with warm restarts (the schedule of snapshot ensembles).

    ``cycles`` cycles of ``epochs_per_cycle`` epochs each; within a cycle the learning
    rate falls from ``max_lr`` to ``min_lr`` along half a cosine, step by step, then
    jumps back to ``max_lr``. A snapshot is taken at the end of each of the last
    ``snapshots`` cycles (default: every cycle). One cycle is ordinary cosine training
    (pre-training, independent members).
    """

    cycles: int
    epochs_per_cycle: int
    max_lr: float
    min_lr: float = 0.0
    snapshots: int | None = None

    def __post_init__(self):
        check_int(self.cycles, "cycles", minimum=1)
        check_int(self.epochs_per_cycle, "epochs_per_cycle", minimum=1)
        check_positive(self.max_lr, "max_lr")
        check_number(self.min_lr, "min_lr", minimum=0.0)
        if self.max_lr < self.min_lr:
            raise ValueError(f"max_lr must be >= min_lr, got max_lr={self.max_lr:g} < min_lr={self.min_lr:g}")
        if self.snapshots is not None:
            check_int(self.snapshots, "snapshots", minimum=1)
            if self.snapshots > self.cycles:
                raise ValueError(f"snapshots must be between 1 and cycles={self.cycles} (one snapshot at the end "
                                 f"of each of the last cycles), got {self.snapshots}")

    @property
    def epochs(self) -> int:
        """Epochs of the whole schedule."""
        return self.cycles * self.epochs_per_cycle

    @property
    def kept(self) -> int:
        """Number of snapshots kept."""
        return self.cycles if self.snapshots is None else self.snapshots

    @property
    def snapshot_epochs(self) -> np.ndarray:
        """Epochs (since the start of the schedule) at which the kept snapshots are taken."""
        return self.epochs_per_cycle * np.arange(self.cycles - self.kept + 1, self.cycles + 1)

    def rate(self, epoch) -> np.ndarray:
        """The learning rate at (fractional) epochs since the start; the step that
        starts at epoch ``e`` uses ``rate(e)``."""
        epoch = np.asarray(epoch, np.float64)
        cycle = np.minimum(np.floor(epoch / self.epochs_per_cycle), self.cycles - 1)
        progress = epoch / self.epochs_per_cycle - cycle
        return self.min_lr + (self.max_lr - self.min_lr) * 0.5 * (1.0 + np.cos(math.pi * progress))


def _check_schedules(schedules, count: int) -> list[CyclicSchedule]:
    if isinstance(schedules, CyclicSchedule):
        return [schedules] * count
    if isinstance(schedules, (str, bytes)) or not isinstance(schedules, (list, tuple)):
        raise TypeError(f"schedules must be a CyclicSchedule or a list of them (one per member), "
                        f"got {type(schedules).__name__}")
    schedules = list(schedules)
    for i, schedule in enumerate(schedules):
        if not isinstance(schedule, CyclicSchedule):
            raise TypeError(f"schedules[{i}] must be a CyclicSchedule, got {type(schedule).__name__}")
    if len(schedules) != count:
        raise ValueError(f"schedules must hold one schedule per member: {count} members (rows of starts), "
                         f"{len(schedules)} schedules")
    first = schedules[0]
    for schedule in schedules[1:]:
        if (schedule.cycles, schedule.epochs_per_cycle, schedule.kept) != (first.cycles, first.epochs_per_cycle,
                                                                           first.kept):
            raise ValueError("schedules trained together must share cycles, epochs_per_cycle and snapshots "
                             "(only max_lr and min_lr may differ)")
    return schedules


# -- training -------------------------------------------------------------------------------------
@dataclass
class CyclicRun:
    """Outcome of :func:`train_cyclic`: K members trained side by side.

    snapshots : (K, S, D) weights at the end of each of the last S cycles
    epoch_loss : (K, E) mean minibatch training loss of each epoch
    epoch_params : (K, E, D) weights at the end of every epoch (``keep_epochs=True``), else None
    max_lr, min_lr : (K,) each member's schedule
    cycles, epochs_per_cycle : the schedule all members share
    epochs : epochs of training each member received in this run
    """

    snapshots: np.ndarray
    epoch_loss: np.ndarray
    max_lr: np.ndarray
    min_lr: np.ndarray
    cycles: int
    epochs_per_cycle: int
    epochs: int
    epoch_params: np.ndarray | None = None

    @property
    def final(self) -> np.ndarray:
        """(K, D) the last snapshot of every member."""
        return self.snapshots[:, -1]

    def schedule(self, member: int) -> CyclicSchedule:
        """The schedule member ``member`` was trained with."""
        member = check_int(member, "member", minimum=0, maximum=len(self.max_lr) - 1)
        kept = self.snapshots.shape[1]
        return CyclicSchedule(self.cycles, self.epochs_per_cycle, float(self.max_lr[member]),
                              float(self.min_lr[member]), None if kept == self.cycles else kept)

    def at_loss(self, member: int, targets, losses=None) -> tuple[np.ndarray, np.ndarray]:
        """Member ``member``'s trajectory read at a given training loss: in each cycle that
        has a snapshot, the weights at the end of the epoch whose loss is closest (in ratio)
        to that cycle's target (``targets``: one number, or one per snapshot). Returns the
        weights ((S, D)) and the epochs (counted from the start of the run) they were read at.

        ``losses`` ((E,)): the member's training loss at the end of every epoch
        (:func:`epoch_losses`). Default: ``epoch_loss[member]``, the means over each epoch's
        minibatches, which lag behind the weights the epoch ends with, by a factor of two
        or more where the loss falls fast (early in a cycle).

        The ends of the cycles of a low and a high maximum learning rate are not equally
        trained: a low maximum never leaves its basin and descends further cycle after
        cycle, a high one starts over after every restart. Reading the low maximum's
        trajectory at the high one's loss compares equally trained snapshots. Needs the
        run to be trained with ``keep_epochs=True``.
        """
        if self.epoch_params is None:
            raise ValueError("at_loss needs the weights of every epoch: train with train_cyclic(..., keep_epochs=True)")
        member = check_int(member, "member", minimum=0, maximum=len(self.max_lr) - 1)
        kept = self.snapshots.shape[1]
        targets = np.asarray(targets, np.float64)
        if targets.ndim == 0:
            targets = np.full(kept, float(targets))
        if targets.shape != (kept,) or not np.all(np.isfinite(targets) & (targets > 0)):
            raise ValueError(f"targets must be one positive finite loss or one per snapshot ({kept}), got "
                             f"{np.asarray(targets).tolist()}")
        epochs_run = self.epoch_loss.shape[1]
        if losses is None:
            losses = self.epoch_loss[member]
        losses = np.asarray(losses, np.float64)
        if losses.shape != (epochs_run,) or not np.all(np.isfinite(losses) & (losses > 0)):
            raise ValueError(f"losses must hold the member's positive finite loss at the end of each of the "
                             f"{epochs_run} epochs, got shape {losses.shape}")
        epochs = []
        for cycle, target in zip(range(self.cycles - kept, self.cycles), targets):
            start = cycle * self.epochs_per_cycle
            in_cycle = losses[start:start + self.epochs_per_cycle]
            epochs.append(start + 1 + int(np.argmin(np.abs(np.log(in_cycle / target)))))  # the first on a tie
        epochs = np.asarray(epochs, np.int64)
        return self.epoch_params[member, epochs - 1], epochs


@compiled
def _cyclic_loop(landscape, starts, max_lr, min_lr, order_seeds, cycles, epochs_per_cycle, momentum, clip_norm,
                 keep_epochs):
    """Graph code: every member's whole run in one computation. Each member draws one
    permutation of the training set per epoch (from its own seed); the members'
    gradients are independent operations of one graph, so TensorFlow runs them side by
    side. ``cycles``, ``epochs_per_cycle``, ``momentum``, ``clip_norm`` and ``keep_epochs``
    (whether to return the weights at the end of every epoch) are Python values (part of
    the trace)."""
    count = starts.shape[0]  # static number of members
    n, batch = landscape.num_examples, landscape.batch_size
    per_epoch = n // batch
    per_cycle = epochs_per_cycle * per_epoch
    total_steps = cycles * per_cycle
    params = starts
    velocity = tf.zeros_like(starts)
    snapshots = tf.TensorArray(tf.float32, size=cycles, element_shape=starts.shape)
    losses = tf.TensorArray(tf.float32, size=cycles * epochs_per_cycle, element_shape=[count])
    kept = tf.TensorArray(tf.float32, size=cycles * epochs_per_cycle if keep_epochs else 0,
                          element_shape=starts.shape)
    for cycle in tf.range(cycles):
        for epoch in tf.range(epochs_per_cycle):
            index = cycle * epochs_per_cycle + epoch
            orders = tf.stack([tf.argsort(tf.random.stateless_uniform(
                [n], seed=tf.stack([order_seeds[k], tf.cast(index, tf.int64)]), alg="philox"))
                for k in range(count)])
            total = tf.zeros([count])
            for i in tf.range(per_epoch):
                step_in_cycle = epoch * per_epoch + i
                progress = tf.cast(step_in_cycle, tf.float32) / float(per_cycle)
                rate = min_lr + (max_lr - min_lr) * 0.5 * (1.0 + tf.cos(math.pi * progress))
                chosen = tf.slice(orders, [0, i * batch], [count, batch])
                step = tf.cast(cycle * per_cycle + step_in_cycle, tf.int64)
                step_losses, grads = [], []
                for k in range(count):
                    member = params[k]
                    with tf.GradientTape() as tape:
                        tape.watch(member)
                        # Each member its own dropout masks: step numbers that do not overlap.
                        loss = landscape.batch_objective(member, tf.gather(landscape.x_train, chosen[k]),
                                                         tf.gather(landscape.y_train, chosen[k]), True,
                                                         step + k * total_steps)
                    step_losses.append(loss)
                    grads.append(tape.gradient(loss, member))
                grad = tf.stack(grads)
                if clip_norm > 0:  # each member's gradient to global norm clip_norm at most
                    grad = grad * tf.minimum(1.0, clip_norm / (tf.norm(grad, axis=1, keepdims=True) + 1e-12))
                velocity = momentum * velocity + grad
                params = params - rate[:, None] * velocity
                total += tf.stack(step_losses)
            losses = losses.write(index, total / per_epoch)
            if keep_epochs:
                kept = kept.write(index, params)
        snapshots = snapshots.write(cycle, params)
    every_epoch = tf.transpose(kept.stack(), [1, 0, 2]) if keep_epochs else tf.zeros([count, 0, starts.shape[1]])
    return tf.transpose(snapshots.stack(), [1, 0, 2]), tf.transpose(losses.stack()), every_epoch


def _check_landscape(landscape) -> ModelLandscape:
    if not isinstance(landscape, ModelLandscape):
        raise TypeError(f"landscape must be a ModelLandscape (a network and its data), got {type(landscape).__name__}")
    return landscape


def _check_starts(starts, dim: int) -> np.ndarray:
    if isinstance(starts, (tf.Tensor, tf.Variable)):
        starts = starts.numpy()
    try:
        array = np.asarray(starts)
    except ValueError as error:  # ragged
        raise ValueError(f"starts must be a vector of length {dim} or a (K, {dim}) array: {error}") from None
    if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"starts must be floating-point weights, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != dim or len(array) == 0:
        raise ValueError(f"starts must be a vector of length {dim} or a (K, {dim}) array with K >= 1, "
                         f"got shape {np.shape(starts)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("starts contains non-finite values (nan or inf)")
    return array.astype(np.float32)


def _check_seeds(seeds, name: str) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple, range, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of seeds such as [0, 1, 2], got {type(seeds).__name__} {seeds!r}")
    return [check_seed(s, f"{name}[{i}]") for i, s in enumerate(seeds)]


def train_cyclic(landscape: ModelLandscape, starts, schedules, *, optimizer: str = "sgd", clip_norm: float = 2.0,
                 order_seeds=None, keep_epochs: bool = False) -> CyclicRun:
    """Train K members from ``starts`` ((K, D), or one vector) with cyclic schedules, all
    in one compiled computation.

    ``schedules``: one :class:`CyclicSchedule` for all members, or one per member; they
    must share cycles, epochs per cycle and snapshots (e.g. a low and a high ``max_lr``
    from the same start, trained side by side). ``optimizer`` is "sgd" (plain) or
    "momentum" (0.9); ``clip_norm`` > 0 clips each member's gradient to that global norm
    (0: no clipping). ``order_seeds`` (one per member; default 0, 1, ...) seed each
    member's minibatch order: members with the same seed see the same minibatches.
    ``keep_epochs``: also return the weights at the end of every epoch (``run.epoch_params``,
    K x epochs x D floats; :meth:`CyclicRun.at_loss` reads them).
    Raises FloatingPointError naming the maximum learning rates whose members diverged.
    """
    landscape = _check_landscape(landscape)
    starts = _check_starts(starts, landscape.dim)
    schedules = _check_schedules(schedules, len(starts))
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    clip_norm = check_number(clip_norm, "clip_norm", minimum=0.0)
    order_seeds = list(range(len(starts))) if order_seeds is None else _check_seeds(order_seeds, "order_seeds")
    if not isinstance(keep_epochs, bool):
        raise TypeError(f"keep_epochs must be True or False, got {keep_epochs!r}")
    if len(order_seeds) != len(starts):
        raise ValueError(f"order_seeds must hold one seed per member: {len(starts)} members, "
                         f"{len(order_seeds)} seeds")
    first = schedules[0]
    snapshots, epoch_loss, epoch_params = _cyclic_loop(
        landscape, tf.constant(starts),
        tf.constant([s.max_lr for s in schedules], tf.float32), tf.constant([s.min_lr for s in schedules], tf.float32),
        tf.constant(order_seeds, tf.int64), first.cycles, first.epochs_per_cycle,
        MOMENTUM if optimizer == "momentum" else 0.0, clip_norm, keep_epochs)
    snapshots = snapshots.numpy()[:, first.cycles - first.kept:]
    epoch_loss = epoch_loss.numpy()
    finite = np.isfinite(snapshots).all(axis=(1, 2)) & np.isfinite(epoch_loss).all(axis=1)
    if not finite.all():
        bad = sorted({schedules[k].max_lr for k in np.nonzero(~finite)[0]})
        raise FloatingPointError(f"training diverged (non-finite weights or loss) for max_lr in "
                                 f"{', '.join(f'{lr:g}' for lr in bad)}; lower max_lr or clip gradients (clip_norm)")
    return CyclicRun(snapshots=snapshots, epoch_loss=epoch_loss,
                     max_lr=np.array([s.max_lr for s in schedules], np.float64),
                     min_lr=np.array([s.min_lr for s in schedules], np.float64),
                     cycles=first.cycles, epochs_per_cycle=first.epochs_per_cycle, epochs=first.epochs,
                     epoch_params=epoch_params.numpy() if keep_epochs else None)


def independent_members(landscape: ModelLandscape, seeds, schedule: CyclicSchedule, *, optimizer: str = "sgd",
                        clip_norm: float = 2.0) -> CyclicRun:
    """Members trained from independent initializations (``landscape.initial_params(seed)``)
    with independent minibatch orders (seeded by ``seeds`` too), all in one computation.
    An ensemble of them costs ``len(seeds) * schedule.epochs`` epochs; its members are
    ``run.final``."""
    landscape = _check_landscape(landscape)
    seeds = _check_seeds(seeds, "seeds")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if not isinstance(schedule, CyclicSchedule):
        raise TypeError(f"schedule must be a CyclicSchedule, got {type(schedule).__name__}")
    starts = np.stack([landscape.initial_params(s).numpy() for s in seeds])
    return train_cyclic(landscape, starts, schedule, optimizer=optimizer, clip_norm=clip_norm, order_seeds=seeds)


# -- weight averaging and batch normalization ------------------------------------------------
def average_weights(members) -> np.ndarray:
    """Stochastic weight averaging: the mean of the members' weight vectors ((M, D) -> (D,)).
    On a model with batch normalization, evaluate it with statistics recomputed for it
    (:func:`batch_norm_statistics`; :func:`evaluate_members` does)."""
    members = np.asarray(members)
    if members.dtype == object or not np.issubdtype(members.dtype, np.floating):
        raise TypeError(f"members must be floating-point weights, got dtype {members.dtype}")
    if members.ndim != 2 or len(members) < 1:
        raise ValueError(f"members must be an (M, D) array of weight vectors with M >= 1, got shape {members.shape}")
    return members.astype(np.float64).mean(axis=0).astype(np.float32)


def batch_norm_layers(model) -> list:
    """The BatchNormalization layers of a Keras model, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, tf.keras.Model):
            found.extend(batch_norm_layers(layer))
    return found


@compiled(reduce_retracing=True)
def _training_pass(landscape, params, x, state):
    """Graph code: one training-mode pass; returns the updated non-trainable state."""
    _, updated = landscape.model.stateless_call(landscape.view.unflatten(params), state, x, training=True)
    return updated


def batch_norm_statistics(landscape: ModelLandscape, params, *, examples: int = 4096) -> list[tf.Tensor]:
    """The values of the model's non-trainable variables with which to evaluate the
    weights ``params``: every batch normalization's moving mean and variance replaced
    by the statistics of its inputs over the first ``examples`` training examples, in
    one training-mode pass (SWA's "recompute batch norm"); other variables unchanged.

    Averaged weights need this: the snapshots' statistics do not belong to their
    average, and a :class:`ModelLandscape` keeps the statistics the model was built
    with. Keras updates a moving statistic as ``m * old + (1 - m) * batch``: starting
    the pass from ``old = 0`` gives back ``batch = new / (1 - m)``.
    """
    landscape = _check_landscape(landscape)
    params = as_params(params, landscape.dim)
    examples = check_int(examples, "examples", minimum=2)
    variables = landscape.model.non_trainable_variables
    state = [tf.convert_to_tensor(v) for v in variables]
    momentum = {}  # position in the non-trainable variables -> the layer's momentum
    for layer in batch_norm_layers(landscape.model):
        for statistic in (layer.moving_mean, layer.moving_variance):
            for i, variable in enumerate(variables):
                if variable is statistic:
                    momentum[i] = float(layer.momentum)
    if not momentum:
        return state
    start = [tf.zeros_like(v) if i in momentum else v for i, v in enumerate(state)]
    updated = _training_pass(landscape, params, landscape.x_train[:examples], start)
    return [updated[i] / (1.0 - momentum[i]) if i in momentum else v for i, v in enumerate(state)]


@compiled(reduce_retracing=True)
def _logits_with_state(landscape, params, x, state):
    logits, _ = landscape.model.stateless_call(landscape.view.unflatten(params), state, x, training=False)
    return logits


@compiled(reduce_retracing=True)
def _loss_with_state(landscape, params, state):
    """Graph code: the full training objective (as ``landscape.loss``) with the given
    non-trainable state (e.g. recomputed batch-norm statistics)."""
    weights = landscape.view.unflatten(params)
    total = 0.0
    for start in range(0, landscape.num_examples, landscape.eval_batch_size):
        stop = min(start + landscape.eval_batch_size, landscape.num_examples)
        x, y = landscape.x_train[start:stop], landscape.y_train[start:stop]
        if landscape.include_regularization and landscape.model.losses:
            logits, _, extra = landscape.model.stateless_call(weights, state, x, training=False, return_losses=True)
            loss = landscape.keras_loss(y, logits) + tf.add_n(extra)
        else:
            logits, _ = landscape.model.stateless_call(weights, state, x, training=False)
            loss = landscape.keras_loss(y, logits)
        total += (stop - start) / landscape.num_examples * loss
    return total


class _RecomputedStatisticsLoss:
    """The training loss of a batch-norm network, each point evaluated with statistics
    recomputed for it: what a path through a batch-norm network is measured on."""

    def __init__(self, landscape: ModelLandscape, examples: int):
        self.landscape, self.dim, self.examples = landscape, landscape.dim, examples

    def loss(self, params):
        params = as_params(params, self.dim)
        return _loss_with_state(self.landscape, params,
                                batch_norm_statistics(self.landscape, params, examples=self.examples))


# -- measures ---------------------------------------------------------------------------------------
def disagreement(labels) -> np.ndarray:
    """(M, M) fraction of examples on which members i and j predict different labels,
    from their (M, N) predicted labels."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be an (M, N) array of predicted labels, got shape {labels.shape}")
    return (labels[:, None, :] != labels[None, :, :]).mean(axis=2)


@dataclass
class EnsembleReport:
    """Measures of one ensemble of M members on one split (test by default).

    member_accuracy, member_loss : (M,) each member's accuracy and mean cross-entropy
    ensemble_accuracy, ensemble_loss : of the mean of the members' predicted probabilities
    average_accuracy, average_loss : of the averaged weights (SWA; batch norm recomputed)
    disagreement : (M, M) fraction of examples on which two members predict different labels
    barriers : (M - 1,) highest training loss on the straight line between consecutive
        members minus the mean of its two ends' losses
    barrier_t, barrier_loss : (P,) and (M - 1, P) the training loss along those lines
    member_labels, ensemble_labels, average_labels, labels : predicted and true labels,
        example by example ((M, N), (N,), (N,), (N,))
    epochs : training epochs the whole ensemble cost (pre-training included)
    """

    name: str
    split: str
    member_accuracy: np.ndarray
    member_loss: np.ndarray
    ensemble_accuracy: float
    ensemble_loss: float
    average_accuracy: float
    average_loss: float
    disagreement: np.ndarray
    barriers: np.ndarray
    barrier_t: np.ndarray
    barrier_loss: np.ndarray
    member_labels: np.ndarray
    ensemble_labels: np.ndarray
    average_labels: np.ndarray
    labels: np.ndarray
    epochs: int

    @property
    def best(self) -> int:
        """Index of the most accurate member (the first, on a tie)."""
        return int(np.argmax(self.member_accuracy))

    @property
    def mean_disagreement(self) -> float:
        """Mean disagreement over pairs of distinct members."""
        m = len(self.disagreement)
        return float(self.disagreement[~np.eye(m, dtype=bool)].mean())

    @property
    def max_barrier(self) -> float:
        return float(self.barriers.max()) if len(self.barriers) else float("nan")

    @property
    def member_train_loss(self) -> np.ndarray:
        """(M,) each member's training loss (on the examples the barriers are measured on):
        the ends of the lines between consecutive members."""
        return np.append(self.barrier_loss[:, 0], self.barrier_loss[-1, -1])

    @property
    def mean_train_loss(self) -> float:
        """The members' mean training loss (see :attr:`member_train_loss`)."""
        return float(self.member_train_loss.mean())

    @property
    def barrier_ratios(self) -> np.ndarray:
        """(M - 1,) each barrier over the mean training loss of its line's two ends. Above 1
        the line rises above its ends by more than their own loss: the book's reading of a
        change of wedge between two nearby points."""
        return self.barriers / self.barrier_loss[:, [0, -1]].mean(axis=1)

    @property
    def barrier_ratio(self) -> float:
        """The largest of :attr:`barrier_ratios`."""
        return float(self.barrier_ratios.max()) if len(self.barriers) else float("nan")

    @property
    def mean_member_accuracy(self) -> float:
        return float(self.member_accuracy.mean())

    @property
    def swa_gap(self) -> float:
        """Accuracy of the weight average (SWA) minus the members' mean accuracy."""
        return float(self.average_accuracy - self.member_accuracy.mean())

    @property
    def ensemble_gain(self) -> float:
        """Accuracy of the prediction ensemble minus the members' mean accuracy."""
        return float(self.ensemble_accuracy - self.member_accuracy.mean())

    @property
    def member_correct(self) -> np.ndarray:
        """(M, N) whether each member classifies each example correctly."""
        return self.member_labels == self.labels[None]

    @property
    def ensemble_correct(self) -> np.ndarray:
        return self.ensemble_labels == self.labels

    @property
    def average_correct(self) -> np.ndarray:
        return self.average_labels == self.labels

    def row(self) -> dict:
        """The numbers of one table row."""
        return dict(ensemble=self.name, members=len(self.member_accuracy), epochs=self.epochs,
                    mean_member=float(self.member_accuracy.mean()), best_member=float(self.member_accuracy.max()),
                    average=self.average_accuracy, prediction_ensemble=self.ensemble_accuracy,
                    max_barrier=self.max_barrier, disagreement=self.mean_disagreement)


def _probabilities(landscape, params, x, batch_norm_examples) -> np.ndarray:
    """Class probabilities (float64) of one weight vector, batch norm recomputed for it."""
    if not batch_norm_layers(landscape.model):
        return landscape.probabilities(params, x)
    params = as_params(params, landscape.dim)
    state = batch_norm_statistics(landscape, params, examples=batch_norm_examples)
    size = landscape.eval_batch_size
    return softmax(np.concatenate([_logits_with_state(landscape, params, x[i:i + size], state).numpy()
                                    for i in range(0, len(x), size)]))


def _nll(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-300, None))))


def evaluate_members(landscape: ModelLandscape, members, *, name: str = "ensemble", epochs: int = 0,
                     split: str = "test", barrier_points: int = 11, barrier_landscape: ModelLandscape | None = None,
                     batch_norm_examples: int = 4096) -> EnsembleReport:
    """Measure an ensemble of weight vectors ``members`` ((M, D), M >= 2).

    On ``split``: the accuracy and loss of each member, of the mean of their predicted
    probabilities, and of their averaged weights; the pairwise disagreement. On the
    training set of ``barrier_landscape`` (default ``landscape``; pass
    ``landscape.with_examples(n)``, built once, to measure on fewer examples): the loss
    at ``barrier_points`` points of the straight line between consecutive members, and
    its barrier (``paths.linear_path``). On a model with batch normalization every
    vector is evaluated with statistics recomputed for it (on ``batch_norm_examples``
    training examples). ``epochs``, what the ensemble cost, is carried into the report.
    """
    landscape = _check_landscape(landscape)
    name = name if isinstance(name, str) else str(name)
    epochs = check_int(epochs, "epochs", minimum=0)
    check_choice(split, "split", SPLITS)
    barrier_points = check_int(barrier_points, "barrier_points", minimum=3)  # the ends and a point between
    batch_norm_examples = check_int(batch_norm_examples, "batch_norm_examples", minimum=2)
    barrier_landscape = _check_barrier_landscape(barrier_landscape, landscape)
    members = _check_members(members, landscape.dim)
    line_losses = _line_losses(landscape, barrier_landscape, members, barrier_points, batch_norm_examples)
    return _measure(landscape, members, line_losses, name=name, epochs=epochs, split=split,
                    batch_norm_examples=batch_norm_examples)


def epoch_losses(landscape: ModelLandscape, run: CyclicRun, *, batch_norm_examples: int = 4096) -> np.ndarray:
    """(K, E) the training loss of ``landscape`` (e.g. ``landscape.with_examples(n)``, the
    examples the barriers are measured on) at the weights every epoch of every member of
    ``run`` ended with (trained with ``keep_epochs=True``): what :meth:`CyclicRun.at_loss`
    reads a trajectory by. ``run.epoch_loss`` is the mean over an epoch's minibatches,
    taken while the weights still moved. On a model with batch normalization each point
    is evaluated with statistics recomputed for it."""
    landscape = _check_landscape(landscape)
    if not isinstance(run, CyclicRun):
        raise TypeError(f"run must be a CyclicRun (train_cyclic's result), got {type(run).__name__}")
    if run.epoch_params is None:
        raise ValueError("epoch_losses needs the weights of every epoch: train with train_cyclic(..., keep_epochs=True)")
    if run.epoch_params.shape[-1] != landscape.dim:
        raise ValueError(f"landscape must have the run's weights: dim {landscape.dim} != {run.epoch_params.shape[-1]}")
    batch_norm_examples = check_int(batch_norm_examples, "batch_norm_examples", minimum=2)
    on = _RecomputedStatisticsLoss(landscape, batch_norm_examples) if batch_norm_layers(landscape.model) else landscape
    return np.array([[float(on.loss(weights)) for weights in member] for member in run.epoch_params])


def _check_barrier_landscape(barrier_landscape, landscape) -> ModelLandscape:
    if barrier_landscape is None:
        return landscape
    barrier_landscape = _check_landscape(barrier_landscape)
    if barrier_landscape.dim != landscape.dim:
        raise ValueError(f"barrier_landscape must have the same weights as landscape: dim "
                         f"{barrier_landscape.dim} != {landscape.dim}")
    return barrier_landscape


def _check_members(members, dim: int) -> np.ndarray:
    members = np.asarray(members)
    if members.dtype == object or not np.issubdtype(members.dtype, np.floating):
        raise TypeError(f"members must be floating-point weights, got dtype {members.dtype}")
    if members.ndim != 2 or members.shape[1] != dim:
        raise ValueError(f"members must be an (M, {dim}) array of weight vectors, got shape {members.shape}")
    if len(members) < 2:
        raise ValueError(f"members must hold at least 2 weight vectors to make an ensemble, got {len(members)}")
    if not np.all(np.isfinite(members)):
        raise ValueError("members contains non-finite values (nan or inf)")
    return members.astype(np.float32)


def _line_losses(landscape, barrier_landscape, members, barrier_points: int, batch_norm_examples: int) -> np.ndarray:
    """(M - 1, P) the training loss at P points of the line between each two consecutive members."""
    on = barrier_landscape
    if batch_norm_layers(landscape.model):
        on = _RecomputedStatisticsLoss(barrier_landscape, batch_norm_examples)
    line_losses = []
    for a, b in zip(members[:-1], members[1:]):
        if np.array_equal(a, b):  # the line is a point: no barrier
            profile_loss = np.full(barrier_points, float(on.loss(a)))
        else:
            profile_loss = paths.linear_path(on, a, b, num=barrier_points).loss
        line_losses.append(np.asarray(profile_loss, np.float64))
    return np.stack(line_losses)


def _measure(landscape, members, line_losses, *, name, epochs, split, batch_norm_examples,
             probabilities=None) -> EnsembleReport:
    """The report of ``members`` ((M, D) float32) whose lines' losses are ``line_losses``;
    ``probabilities`` ((M, N, C) on ``split``), the members' if already computed."""
    x, labels = landscape.split(split)
    labels = np.asarray(labels)
    if probabilities is None:
        probabilities = np.stack([_probabilities(landscape, m, x, batch_norm_examples) for m in members])
    mean_probabilities = probabilities.mean(axis=0)
    average = _probabilities(landscape, average_weights(members), x, batch_norm_examples)
    member_labels = probabilities.argmax(axis=2)
    t = np.linspace(0.0, 1.0, line_losses.shape[1])
    barriers = line_losses.max(axis=1) - 0.5 * (line_losses[:, 0] + line_losses[:, -1])
    return EnsembleReport(
        name=name, split=split,
        member_accuracy=(member_labels == labels[None]).mean(axis=1),
        member_loss=np.array([_nll(p, labels) for p in probabilities]),
        ensemble_accuracy=float((mean_probabilities.argmax(axis=1) == labels).mean()),
        ensemble_loss=_nll(mean_probabilities, labels),
        average_accuracy=float((average.argmax(axis=1) == labels).mean()),
        average_loss=_nll(average, labels),
        disagreement=disagreement(member_labels),
        barriers=np.asarray(barriers, np.float64), barrier_t=t, barrier_loss=line_losses,
        member_labels=member_labels, ensemble_labels=mean_probabilities.argmax(axis=1),
        average_labels=average.argmax(axis=1), labels=labels, epochs=epochs)


# -- a sweep of the maximum learning rate ------------------------------------------------------------
@dataclass
class SweepReport:
    """Snapshot ensembles at R maximum learning rates, each repeated from S starts
    (:func:`evaluate_sweep`).

    max_lr : (R,) the maximum learning rates
    reports : S lists of R :class:`EnsembleReport`, every snapshot of a run
    later : the same over the snapshots from ``later_from`` on (0-based): without the first
        snapshots, which may sit across the one large barrier after pre-training
    later_from : the first snapshot ``later`` keeps
    """

    max_lr: np.ndarray
    reports: list
    later: list
    later_from: int

    @property
    def seeds(self) -> int:
        return len(self.reports)

    def values(self, measure: str, *, later: bool = False) -> np.ndarray:
        """(S, R) a number of every report, e.g. ``"swa_gap"``, ``"barrier_ratio"``,
        ``"ensemble_gain"``, ``"mean_disagreement"``, ``"average_accuracy"``."""
        table = self.later if later else self.reports
        if not isinstance(measure, str) or not hasattr(table[0][0], measure) or callable(getattr(table[0][0], measure)) \
                or np.ndim(getattr(table[0][0], measure)) != 0:
            raise ValueError(f"measure must name a number of an EnsembleReport (e.g. 'swa_gap'), got {measure!r}")
        return np.array([[float(getattr(report, measure)) for report in row] for row in table])

    def correct(self, which: str, *, later: bool = False) -> np.ndarray:
        """(S, R, N) whether each test example is classified correctly by ``which``: "average"
        (SWA), "ensemble" (the prediction ensemble), "mean" (the fraction of the members
        that are right) or "best" (the most accurate member)."""
        check_choice(which, "which", ("average", "ensemble", "mean", "best"))
        table = self.later if later else self.reports

        def one(report):
            if which == "mean":
                return report.member_correct.mean(axis=0)
            if which == "best":
                return report.member_correct[report.best].astype(float)
            return getattr(report, f"{which}_correct").astype(float)

        return np.array([[one(report) for report in row] for row in table])


def evaluate_sweep(landscape: ModelLandscape, snapshots, max_lrs, *, later_from: int = 1, epochs: int = 0,
                   split: str = "test", barrier_points: int = 11, barrier_landscape: ModelLandscape | None = None,
                   batch_norm_examples: int = 4096) -> SweepReport:
    """Measure snapshot ensembles from S starts at R maximum learning rates: ``snapshots``
    is an (S, R, M, D) array (``run.snapshots.reshape(S, R, M, D)`` of runs trained start
    by start, rate by rate), ``max_lrs`` the R rates. Each run is measured as by
    :func:`evaluate_members`, over all its snapshots and over those from ``later_from``
    on (the lines between consecutive snapshots are computed once for both)."""
    landscape = _check_landscape(landscape)
    array = np.asarray(snapshots)
    if array.ndim != 4 or array.shape[-1] != landscape.dim:
        raise ValueError(f"snapshots must be an (S, R, M, {landscape.dim}) array (starts, rates, snapshots, weights), "
                         f"got shape {array.shape}")
    max_lrs = np.asarray(max_lrs, np.float64)
    if max_lrs.shape != (array.shape[1],) or not np.all(max_lrs > 0):
        raise ValueError(f"max_lrs must hold one positive rate per column of snapshots ({array.shape[1]}), "
                         f"got {max_lrs.tolist()}")
    if array.shape[2] < 2:
        raise ValueError(f"snapshots must hold at least 2 snapshots per run to make an ensemble, got {array.shape[2]}")
    later_from = check_int(later_from, "later_from", minimum=0, maximum=array.shape[2] - 2)  # 2 snapshots left
    epochs = check_int(epochs, "epochs", minimum=0)
    check_choice(split, "split", SPLITS)
    barrier_points = check_int(barrier_points, "barrier_points", minimum=3)
    batch_norm_examples = check_int(batch_norm_examples, "batch_norm_examples", minimum=2)
    barrier_landscape = _check_barrier_landscape(barrier_landscape, landscape)
    x, _ = landscape.split(split)
    reports, later = [], []
    for start in array:
        reports.append([]), later.append([])
        for rate, run in zip(max_lrs, start):
            members = _check_members(run, landscape.dim)
            lines = _line_losses(landscape, barrier_landscape, members, barrier_points, batch_norm_examples)
            probabilities = np.stack([_probabilities(landscape, m, x, batch_norm_examples) for m in members])
            name = f"snapshots, max LR {rate:g}"
            reports[-1].append(_measure(landscape, members, lines, name=name, epochs=epochs, split=split,
                                        batch_norm_examples=batch_norm_examples, probabilities=probabilities))
            later[-1].append(_measure(landscape, members[later_from:], lines[later_from:],
                                      name=f"{name}, from snapshot {later_from + 1}", epochs=epochs, split=split,
                                      batch_norm_examples=batch_norm_examples,
                                      probabilities=probabilities[later_from:]))
    return SweepReport(max_lr=max_lrs, reports=reports, later=later, later_from=later_from)
