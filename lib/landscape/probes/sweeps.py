"""Radial tunnel widths of networks trained with different hyperparameters (the paper's Section 4.4).

A sweep trains one network per :class:`Run` (learning rate, batch size, L2 strength,
dropout rate, width, seed), each until its training loss falls below a common target
(a *matched-loss* comparison: a fixed number of epochs would compare networks that got
to different losses, and the width grows as the loss falls), then measures each
network's :func:`~landscape.probes.radial.tunnel_width` on the data loss, its width
along the radial direction (:func:`~landscape.probes.radial.radial_width`), and its test
accuracy (the paper's Section 4.4 ties the widths to generalization).

The networks are standard Keras models (:func:`landscape.models.mlp` or
:func:`~landscape.models.simple_cnn` with their ``dropout`` and ``l2`` options), seen
through :class:`~landscape.models.ModelLandscape` and trained by
:func:`landscape.train.minimize` with ``stop_below``. Every finished run, and every
width measured, is saved in a :class:`~landscape.cache.ResultCache` as soon as it is
done, so an interrupted sweep resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import data, models, train
from ..cache import ResultCache
from ..core import FlatView, check_choice, check_int, check_int_sequence, check_number, check_positive, check_seed
from .radial import TunnelWidth, _check_thresholds, radial_width, tunnel_width

__all__ = ["Run", "SWEPT", "MODELS", "SweepSetup", "TrainedRun", "TestResult", "WidthSweep", "sweep_runs",
           "width_sweep", "rank_correlation"]

SWEPT = ("learning_rate", "batch_size", "l2", "dropout", "width")
MODELS = tuple(models.ARCHITECTURES)


@dataclass(frozen=True)
class Run:
    """One network of a sweep: its hyperparameters and the seed of its initialization.

    ``width`` is the first layer's width (units of an MLP, channels of a CNN); the
    other layers keep their proportions to it in the setup's architecture.
    ``fixed_steps``: train exactly this many steps instead of to the target loss
    (the fixed-budget comparison that matched losses replace).
    """

    learning_rate: float
    batch_size: int
    l2: float = 0.0
    dropout: float = 0.0
    width: int = 64
    seed: int = 0
    fixed_steps: int | None = None

    def __post_init__(self):
        check_positive(self.learning_rate, "learning_rate")
        check_int(self.batch_size, "batch_size", minimum=1)
        check_number(self.l2, "l2", minimum=0.0)
        check_number(self.dropout, "dropout", minimum=0.0, maximum=1.0, high_open=True)
        check_int(self.width, "width", minimum=1)
        check_seed(self.seed)
        if self.fixed_steps is not None:
            check_int(self.fixed_steps, "fixed_steps", minimum=1)

    def config(self) -> dict:
        return {k: (float(v) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self).items()}


def sweep_runs(base: Run, values: dict, seeds) -> list[Run]:
    """The runs of one-at-a-time sweeps around ``base``: for every hyperparameter name in
    ``values`` (one of SWEPT), every value with the others as in ``base``, for every
    seed. Runs shared by several sweeps (the base itself) appear once."""
    if not isinstance(base, Run):
        raise TypeError(f"base must be a Run, got {type(base).__name__}")
    if not isinstance(values, dict) or not values:
        raise TypeError(f"values must be a non-empty dict of hyperparameter name -> values, got {values!r}")
    seeds = check_int_sequence(seeds, "seeds", minimum=0)
    runs = []
    for name, sweep in values.items():
        check_choice(name, "values' keys", SWEPT)
        if isinstance(sweep, (str, bytes)) or np.ndim(sweep) != 1 or len(sweep) == 0:
            raise ValueError(f"values[{name!r}] must be a non-empty sequence, got {sweep!r}")
        for value in sweep:
            for seed in seeds:
                run = dataclasses.replace(base, **{name: type(getattr(base, name))(value)}, seed=seed)
                if run not in runs:
                    runs.append(run)
    return runs


@dataclass(frozen=True)
class SweepSetup:
    """What every run of a sweep shares.

    dataset, max_train : the data (a subset of the training set when max_train is set)
    model, widths : "mlp", "simple_cnn" or "cnn1d" and the base architecture's layer widths
    target_loss : training stops when the data loss (without the L2 term, dropout
        off) on ``check_examples`` training examples falls below it
    max_steps, check_every : at most this many steps; the loss is checked this often
    probe_examples : training examples the width is measured on (None: all)
    test_examples : test examples the accuracy is measured on (None: all)
    num_directions, radii, thresholds, probe_seed : see :func:`tunnel_width`; radii
        are fractions of each network's norm
    """

    dataset: str
    model: str
    widths: tuple
    target_loss: float
    max_steps: int
    check_every: int
    num_directions: int
    radii: tuple
    thresholds: tuple
    max_train: int | None = None
    check_examples: int | None = None
    probe_examples: int | None = None
    probe_seed: int = 0
    test_examples: int | None = None

    def __post_init__(self):
        check_choice(self.model, "model", MODELS)
        check_int_sequence(self.widths, "widths", minimum=1)
        check_positive(self.target_loss, "target_loss")
        check_int(self.max_steps, "max_steps", minimum=1)
        check_int(self.check_every, "check_every", minimum=1)
        check_int(self.num_directions, "num_directions", minimum=1)
        _check_thresholds(self.thresholds)
        for name in ("max_train", "check_examples", "probe_examples", "test_examples"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, minimum=1)

    def training_config(self) -> dict:
        keys = ("dataset", "model", "widths", "target_loss", "max_steps", "check_every", "max_train", "check_examples")
        return {k: _plain(getattr(self, k)) for k in keys}

    def probe_config(self) -> dict:
        keys = ("num_directions", "radii", "thresholds", "probe_examples", "probe_seed")
        return {k: _plain(getattr(self, k)) for k in keys}

    def test_config(self) -> dict:
        # "per_example": results cached before TestResult kept each example's outcome are not reused
        return {"test_examples": self.test_examples, "per_example": True}

    def architecture(self, width: int) -> tuple:
        """The layer widths of a network whose first layer has ``width`` units."""
        return tuple(max(1, round(w * width / self.widths[0])) for w in self.widths)


def _plain(value):
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


@dataclass
class TrainedRun:
    """A trained network: its parameters, how many steps it took, whether it reached the
    target loss, and its data loss at the end (on the setup's check examples)."""

    params: np.ndarray
    steps: int
    reached: bool
    train_loss: float


@dataclass
class TestResult:
    """A trained network on the test set: accuracy (a fraction) and mean loss, over
    ``examples`` test examples, and ``correct``, whether it classifies each of them right
    (an interval over the test set resamples these). (Cached apart from
    :class:`TrainedRun`, whose format predates it: a cached sweep gains its test results
    without retraining.)"""

    accuracy: float
    loss: float
    examples: int
    correct: np.ndarray


@dataclass
class WidthSweep:
    """The widths of every run of a sweep (N runs, T thresholds, K directions).

    The hyperparameters are arrays (N,) (fixed_steps -1: trained to the target);
    steps, reached, train_loss describe the training; norm is |P|, dim the number of
    parameters; widths (N, T, K) are per direction (inf: censored at max_radius (N,));
    params holds each trained network's parameters (a list: widths differ in length).
    radial_widths (N, T, 2) are the widths along +P/|P| (outward) and -P/|P| (toward
    the origin), on the same radii; test_accuracy and test_loss (N,) are measured on
    the test set (``test_examples`` examples), and test_correct (N, test_examples) says
    which examples each network classifies right (its mean over the examples is
    test_accuracy): an interval that resamples them covers the test set's sampling.
    """

    learning_rate: np.ndarray
    batch_size: np.ndarray
    l2: np.ndarray
    dropout: np.ndarray
    width: np.ndarray
    seed: np.ndarray
    fixed_steps: np.ndarray
    steps: np.ndarray
    reached: np.ndarray
    train_loss: np.ndarray
    norm: np.ndarray
    dim: np.ndarray
    thresholds: np.ndarray
    widths: np.ndarray
    max_radius: np.ndarray
    target_loss: float
    params: list
    radial_widths: np.ndarray
    test_accuracy: np.ndarray
    test_loss: np.ndarray
    test_examples: int
    test_correct: np.ndarray

    def _bounded(self) -> np.ndarray:
        return np.where(np.isfinite(self.widths), self.widths, self.max_radius[:, None, None])

    @property
    def mean_width(self) -> np.ndarray:
        """Mean width over the directions (N, T); censored directions count as max_radius."""
        return self._bounded().mean(axis=2)

    @property
    def angular_width(self) -> np.ndarray:
        """Mean arctan(width / |P|) over the directions, in radians (N, T)."""
        return np.arctan(self._bounded() / self.norm[:, None, None]).mean(axis=2)

    @property
    def radial_width(self) -> np.ndarray:
        """Width along +P/|P| and -P/|P| (N, T, 2); a direction that never crossed the
        threshold counts as max_radius (a lower bound)."""
        return np.where(np.isfinite(self.radial_widths), self.radial_widths, self.max_radius[:, None, None])

    @property
    def radial_censored(self) -> np.ndarray:
        """Whether the radial width never crossed the threshold within max_radius (N, T, 2)."""
        return ~np.isfinite(self.radial_widths)

    @property
    def censored(self) -> np.ndarray:
        """Directions that never crossed the threshold within max_radius (N, T)."""
        return np.sum(~np.isfinite(self.widths), axis=2)

    @property
    def relative_spread(self) -> np.ndarray:
        """Standard deviation of the width over the directions / its mean (N, T)."""
        bounded = self._bounded()
        return bounded.std(axis=2, ddof=1) / bounded.mean(axis=2) if bounded.shape[2] > 1 else \
            np.zeros(bounded.shape[:2])

    def index(self, run: Run) -> int:
        """The position of ``run`` in the sweep (a ValueError if it is not there)."""
        fixed = -1 if run.fixed_steps is None else run.fixed_steps
        match = np.flatnonzero((self.learning_rate == run.learning_rate) & (self.batch_size == run.batch_size)
                               & (self.l2 == run.l2) & (self.dropout == run.dropout) & (self.width == run.width)
                               & (self.seed == run.seed) & (self.fixed_steps == fixed))
        if match.size == 0:
            raise ValueError(f"run {run} is not in this sweep")
        return int(match[0])

    def panel(self, base: Run, name: str, values, seeds) -> np.ndarray:
        """Indices (V, S) of the runs of one sweep: ``name`` at each of ``values``, the
        other hyperparameters as in ``base``, for each seed. Index a per-run quantity
        with it, e.g. ``sweep.mean_width[sweep.panel(base, "l2", values, seeds)]`` (V, S, T)."""
        check_choice(name, "name", SWEPT)
        return np.array([[self.index(dataclasses.replace(base, **{name: type(getattr(base, name))(v)}, seed=s))
                          for s in seeds] for v in values])


def rank_correlation(x, y) -> float:
    """Spearman's rank correlation of two sequences (ties share their mean rank); 0.0
    when either is constant (no trend), without the warning SciPy gives."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D sequences of the same length >= 2, got shapes {x.shape}, {y.shape}")
    rx, ry = rankdata(x) - (x.size + 1) / 2, rankdata(y) - (y.size + 1) / 2
    scale = np.sqrt(np.sum(rx**2) * np.sum(ry**2))
    return float(np.sum(rx * ry) / scale) if scale > 0 else 0.0


class _Networks:
    """Models and landscapes of one sweep, built once and shared: a landscape is traced
    once by the compiled training loop and then reused by every run that can."""

    def __init__(self, setup: SweepSetup):
        self.setup = setup
        self.dataset = data.load_dataset(setup.dataset, max_train=setup.max_train)
        self._models, self._landscapes, self._initial = {}, {}, {}

    def model(self, width, dropout=0.0, l2=0.0):
        key = (width, dropout, l2)
        if key not in self._models:
            layers = self.setup.architecture(width)
            self._models[key] = models.build(self.setup.model, self.dataset.input_shape, self.dataset.num_classes,
                                             layers, dropout=dropout, l2=l2)
        return self._models[key]

    def _subset(self, count):
        x, y = self.dataset.x_train, self.dataset.y_train
        return (x, y) if count is None else (x[:count], y[:count])

    def trained(self, run: Run):
        """The landscape a run trains on. Its minibatch order and dropout masks are the
        same for every run (common random numbers: differences between hyperparameters
        are not drowned in sampling noise); seeds differ in the initialization. Runs
        that differ only in learning rate or seed share it, and so share one trace of
        the compiled training loop."""
        key = ("train", run.width, run.dropout, run.l2, run.batch_size)
        if key not in self._landscapes:
            batch = min(run.batch_size, len(self.dataset.x_train))
            self._landscapes[key] = models.ModelLandscape(self.model(run.width, run.dropout, run.l2), self.dataset,
                                                          batch_size=batch, seed=0)
        return self._landscapes[key]

    def initial(self, run: Run) -> np.ndarray:
        """The initial parameters of a run: the Keras initializers of the architecture,
        seeded by the run's seed. (``ModelLandscape.initial_params`` salts its seeds with
        Keras' layer names, which depend on how many layers the process built before:
        a resumed sweep would start from other points.)"""
        key = (run.width, run.seed)
        if key not in self._initial:
            layers = self.setup.architecture(run.width)
            model = models.build(self.setup.model, self.dataset.input_shape, self.dataset.num_classes, layers,
                                 seed=run.seed)
            self._initial[key] = FlatView(model.trainable_variables).flatten().numpy()
        return self._initial[key]

    def test_loss(self, width, examples):
        """The loss on the first ``examples`` test examples (all for None), no L2 term."""
        key = ("test", width, examples)
        if key not in self._landscapes:
            x, y = self.dataset.x_test, self.dataset.y_test
            subset = (x, y) if examples is None else (x[:examples], y[:examples])
            self._landscapes[key] = models.ModelLandscape(self.model(width), subset, include_regularization=False)
        return self._landscapes[key]

    def data_loss(self, width, examples):
        """The data loss (no L2 term, dropout off) of the architecture of ``width``."""
        key = ("data", width, examples)
        if key not in self._landscapes:
            self._landscapes[key] = models.ModelLandscape(self.model(width), self._subset(examples),
                                                          include_regularization=False)
        return self._landscapes[key]


def _train(networks: _Networks, run: Run) -> TrainedRun:
    setup = networks.setup
    landscape = networks.trained(run)
    monitor = networks.data_loss(run.width, setup.check_examples)
    start = networks.initial(run)
    if run.fixed_steps is None:
        result = train.minimize(landscape, start, setup.max_steps, run.learning_rate, stop_below=setup.target_loss,
                                check_every=setup.check_every, monitor=monitor)
    else:
        result = train.minimize(landscape, start, run.fixed_steps, run.learning_rate)
    loss = float(monitor.loss(result.params))
    reached = bool(result.reached_target) if run.fixed_steps is None else loss < setup.target_loss
    return TrainedRun(params=result.params, steps=int(result.steps_taken), reached=reached, train_loss=loss)


def _test(networks: _Networks, run: Run, params) -> TestResult:
    landscape = networks.test_loss(run.width, networks.setup.test_examples)
    predicted = np.argmax(landscape.logits(params), axis=1)  # the landscape's examples are the test examples
    correct = predicted == landscape.y_train.numpy()
    return TestResult(accuracy=float(np.mean(correct)), loss=float(landscape.loss(params)),
                      examples=landscape.num_examples, correct=correct)


def width_sweep(setup: SweepSetup, runs: Sequence[Run], *, cache: ResultCache | None = None,
                progress: bool = False) -> WidthSweep:
    """Train every run of ``runs`` to the setup's target loss (or for its fixed steps),
    then measure its radial tunnel width on the data loss, along random directions and
    along the radial direction, and its accuracy and loss on the test set.

    Each trained network and each measured width is saved in ``cache`` (if given) the
    moment it is done, keyed by the run and the setup: a sweep interrupted (a crash, a
    disconnected Colab) resumes with the runs it had not finished. ``progress`` shows a
    tqdm bar over the runs (in Jupyter a widget; keep it off where stderr must stay empty).
    All runs of one width are probed along the same random directions.
    """
    if not isinstance(setup, SweepSetup):
        raise TypeError(f"setup must be a SweepSetup, got {type(setup).__name__}")
    runs = list(runs)
    if not runs or not all(isinstance(r, Run) for r in runs):
        raise TypeError("runs must be a non-empty sequence of Run")
    if cache is not None and not isinstance(cache, ResultCache):
        raise TypeError(f"cache must be a landscape.cache.ResultCache or None, got {type(cache).__name__}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    networks = _Networks(setup)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs), desc="width sweep")
    trained, measured, radials, tests = [], [], [], []
    for run in runs:
        key = {"run": run.config(), "setup": setup.training_config()}
        result = cache.load("width-sweep-run", key, TrainedRun) if cache is not None else None
        if result is None:
            result = _train(networks, run)
            if cache is not None:  # saved now: an interruption later does not lose it
                cache.save("width-sweep-run", key, result)
        probe_key = {**key, "probe": setup.probe_config()}
        width = cache.load("width-sweep-width", probe_key, TunnelWidth) if cache is not None else None
        if width is None:
            width = tunnel_width(networks.data_loss(run.width, setup.probe_examples), result.params,
                                 thresholds=setup.thresholds, num_directions=setup.num_directions,
                                 radii=setup.radii, seed=setup.probe_seed, relative=True)
            if cache is not None:
                cache.save("width-sweep-width", probe_key, width)
        radial = cache.load("width-sweep-radial", probe_key, TunnelWidth) if cache is not None else None
        if radial is None:
            radial = radial_width(networks.data_loss(run.width, setup.probe_examples), result.params,
                                  thresholds=setup.thresholds, radii=setup.radii, relative=True)
            if cache is not None:
                cache.save("width-sweep-radial", probe_key, radial)
        test_key = {**key, "test": setup.test_config()}
        test = cache.load("width-sweep-test", test_key, TestResult) if cache is not None else None
        if test is None:
            test = _test(networks, run, result.params)
            if cache is not None:
                cache.save("width-sweep-test", test_key, test)
        trained.append(result)
        measured.append(width)
        radials.append(radial)
        tests.append(test)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()

    def column(name, dtype):
        return np.array([getattr(r, name) for r in runs], dtype)

    return WidthSweep(
        learning_rate=column("learning_rate", np.float64), batch_size=column("batch_size", np.int64),
        l2=column("l2", np.float64), dropout=column("dropout", np.float64), width=column("width", np.int64),
        seed=column("seed", np.int64),
        fixed_steps=np.array([-1 if r.fixed_steps is None else r.fixed_steps for r in runs], np.int64),
        steps=np.array([t.steps for t in trained], np.int64), reached=np.array([t.reached for t in trained]),
        train_loss=np.array([t.train_loss for t in trained]),
        norm=np.array([w.point_norm for w in measured]), dim=np.array([t.params.size for t in trained], np.int64),
        thresholds=np.asarray(measured[0].thresholds, np.float64), widths=np.stack([w.widths for w in measured]),
        max_radius=np.array([w.max_radius for w in measured]), target_loss=float(setup.target_loss),
        params=[t.params for t in trained], radial_widths=np.stack([r.widths for r in radials]),
        test_accuracy=np.array([t.accuracy for t in tests]), test_loss=np.array([t.loss for t in tests]),
        test_examples=int(tests[0].examples), test_correct=np.stack([np.asarray(t.correct, bool) for t in tests]))
