"""Estimates with intervals, bars, and the one rule that turns them into a verdict.

The book's rubric (the page *How this book decides*) in code. A measured effect is an
:class:`Estimate`: a value and an interval over the independent units that dominate its
noise (seeds, pairs of optima, random directions, test images), made by one of

- :func:`mean`: a t interval of the mean over a few independent runs (seeds, pairs);
- :func:`difference`: a t interval of a mean difference, paired (same seeds) or Welch;
- :func:`bootstrap`: a percentile bootstrap over many items (test images, directions),
  optionally over groups (seeds) as well;
- :func:`proportion`: a Wilson interval of a fraction of successes;
- :func:`bracket`: a deterministic bracket, such as the two grid points a threshold
  crossing lies between.

A claim names a :class:`Bar`, the region where the claim holds (:func:`above`,
:func:`below`, :func:`within`), and :func:`decide` compares the interval with it:

- the whole interval inside the region: the claim **holds** ("reproduced");
- the whole interval outside: the measurement **excludes** it ("not reproduced");
- otherwise **inconclusive**, and :meth:`Estimate.units_to_decide` says how many units
  (at the same effect, the interval shrinking like one over their square root) would
  decide it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .core import check_fraction, check_int, check_seed

__all__ = ["Estimate", "Bar", "mean", "geometric_mean", "difference", "slope", "correlation", "bootstrap", "proportion", "bracket", "ratio", "spread_to_step", "above",
           "below", "within", "decide", "percentiles", "HOLDS", "EXCLUDED", "UNDECIDED", "LEVEL"]

LEVEL = 0.95  # every interval of the book, unless a check says otherwise
HOLDS, EXCLUDED, UNDECIDED = "holds", "excluded", "undecided"


def _number(value, name: str, *, allow_nan: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}") from None
    if math.isnan(number) and not allow_nan:
        raise ValueError(f"{name} must not be NaN")
    return number


def _unit(unit) -> str:
    if not isinstance(unit, str) or not unit.strip():
        raise ValueError(f"unit must name what was sampled (e.g. 'seeds', 'test images'), got {unit!r}")
    return unit


def _values(values, name: str = "values") -> np.ndarray:
    """A 1-D float array. NaN, or no value at all, is allowed (a quantity the paper-dry-run
    scale could not measure): it makes a NaN estimate, which :func:`decide` refuses and a
    claim check fails on at any other scale."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {array.shape}")
    if np.any(np.isinf(array)):
        raise ValueError(f"{name} must be finite numbers, got {array.tolist()}")
    return array


def _format(number: float, digits: int) -> str:
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return f"{number:.{digits}g}"


@dataclass(frozen=True)
class Estimate:
    """A measured effect and its interval.

    ``value`` is the estimate, ``[low, high]`` its interval at ``level`` (None for a
    deterministic bracket), ``method`` how it was made, ``n`` how many independent
    ``unit`` s it rests on. ``scalable``: whether the interval narrows like
    ``1/sqrt(n)`` with more units (False for a grid bracket, which a finer grid narrows).
    """

    value: float
    low: float
    high: float
    method: str
    n: int
    unit: str
    level: float | None = LEVEL
    scalable: bool = True

    def __post_init__(self):
        for name in ("value", "low", "high"):
            object.__setattr__(self, name, _number(getattr(self, name), name, allow_nan=True))
        if self.measured and not self.low <= self.value <= self.high:
            raise ValueError(f"the interval [{self.low}, {self.high}] must contain the value {self.value}")
        check_int(self.n, "n", minimum=1)
        _unit(self.unit)

    @property
    def interval(self) -> tuple[float, float]:
        return self.low, self.high

    @property
    def measured(self) -> bool:
        """False when the value or an end of the interval is NaN (nothing was measured)."""
        return not any(math.isnan(x) for x in (self.value, self.low, self.high))

    def transform(self, function, method_note: str = "") -> "Estimate":
        """The same estimate through an increasing function (a log ratio as a ratio, say)."""
        values = [float(function(x)) for x in (self.value, self.low, self.high)]
        if not values[1] <= values[0] <= values[2]:
            raise ValueError("transform needs an increasing function")
        method = f"{self.method}, {method_note}" if method_note else self.method
        return Estimate(values[0], values[1], values[2], method, self.n, self.unit, self.level, self.scalable)

    def scaled(self, factor: float) -> "Estimate":
        """The estimate times a positive constant (a mean per image as a count of images, say)."""
        factor = _number(factor, "factor")
        if factor <= 0:
            raise ValueError(f"factor must be positive, got {factor}")
        return Estimate(self.value * factor, self.low * factor, self.high * factor, self.method, self.n, self.unit,
                        self.level, self.scalable)

    def describe(self, digits: int = 3) -> str:
        """``0.21 [0.05, 0.37] (95% t interval over 3 seeds)``."""
        interval = f"{_format(self.value, digits)} [{_format(self.low, digits)}, {_format(self.high, digits)}]"
        if self.level is None:  # a deterministic bracket: no level, no sample
            return f"{interval} ({self.method})"
        return f"{interval} ({self.level:.0%} {self.method} over {self.n} {self.unit})"

    def units_to_decide(self, bar: "Bar") -> int | None:
        """How many units would make the interval decide ``bar`` at the same estimate, if the
        interval narrows like ``1/sqrt(n)``; None if that cannot be said (a grid bracket, or the
        estimate sitting on the bar itself). Only meaningful when the verdict is undecided."""
        if not self.scalable or not self.measured or not math.isfinite(self.high - self.low):
            return None
        factors = []
        for edge in (bar.low, bar.high):
            if math.isinf(edge) or not self.low < edge < self.high:
                continue
            if self.value == edge:
                return None
            half = (self.value - self.low) if self.value > edge else (self.high - self.value)
            factors.append(half / abs(self.value - edge))
        if not factors:
            return None
        needed = int(math.ceil(self.n * max(factors) ** 2))
        return needed if needed < 100 else int(float(f"{needed:.2g}"))  # an estimate: two digits


@dataclass(frozen=True)
class Bar:
    """The region of values where a claim holds: ``low < value < high``."""

    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self):
        low, high = _number(self.low, "low"), _number(self.high, "high")
        if not low < high or (math.isinf(low) and math.isinf(high)):
            raise ValueError(f"a bar needs low < high with at least one finite end, got ({low}, {high})")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def describe(self, digits: int = 3) -> str:
        if math.isinf(self.high):
            return f"> {_format(self.low, digits)}"
        if math.isinf(self.low):
            return f"< {_format(self.high, digits)}"
        return f"in ({_format(self.low, digits)}, {_format(self.high, digits)})"


def above(value) -> Bar:
    """The claim holds for values above ``value``."""
    return Bar(low=_number(value, "value"))


def below(value) -> Bar:
    """The claim holds for values below ``value``."""
    return Bar(high=_number(value, "value"))


def within(low, high) -> Bar:
    """The claim holds for values between ``low`` and ``high``."""
    return Bar(_number(low, "low"), _number(high, "high"))


def decide(estimate: Estimate, bar: Bar) -> str:
    """HOLDS if the whole interval is inside the bar's region, EXCLUDED if it is wholly
    outside, UNDECIDED otherwise (the rubric's one rule)."""
    if not isinstance(estimate, Estimate):
        raise TypeError(f"estimate must be an evidence.Estimate, got {type(estimate).__name__}")
    if not isinstance(bar, Bar):
        raise TypeError(f"bar must be an evidence.Bar (above, below or within), got {type(bar).__name__}")
    if not estimate.measured:
        raise ValueError(f"the estimate is not a number ({estimate.describe()}): nothing was measured")
    if estimate.low > bar.low and estimate.high < bar.high:
        return HOLDS
    if estimate.high <= bar.low or estimate.low >= bar.high:
        return EXCLUDED
    return UNDECIDED


def percentiles(statistics, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap statistics (an infinite or NaN statistic,
    from a resample with nothing to divide by, counts as what it is, without a warning)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = np.quantile(np.asarray(statistics, np.float64), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def mean(values, *, unit: str, level: float = LEVEL) -> Estimate:
    """The mean of independent replicates (seeds, pairs) with a Student t interval (infinite
    for a single replicate: one run says nothing about the spread between runs)."""
    array = _values(values)
    level = check_fraction(level, "level")
    if array.size == 0:
        return Estimate(math.nan, math.nan, math.nan, "t interval", 1, _unit(unit), level)
    centre = float(array.mean())
    if array.size == 1:
        return Estimate(centre, -math.inf, math.inf, "t interval", 1, _unit(unit), level)
    half = float(stats.t.ppf((1 + level) / 2, array.size - 1) * array.std(ddof=1) / math.sqrt(array.size))
    return Estimate(centre, centre - half, centre + half, "t interval", array.size, _unit(unit), level)


def geometric_mean(ratios, *, unit: str, level: float = LEVEL) -> Estimate:
    """The geometric mean of positive ratios (one per run), with the t interval of their mean
    log carried back: ratios spread multiplicatively (6, 8, 21), so they are averaged as logs."""
    array = _values(ratios, "ratios")
    if np.any(array <= 0):
        raise ValueError(f"ratios must be positive, got {array.tolist()}")
    logs = mean(np.log(array), unit=unit, level=level)
    return Estimate(math.exp(logs.value), math.exp(logs.low), math.exp(logs.high), "t interval of the mean log",
                    logs.n, logs.unit, level)


def difference(first, second, *, unit: str, paired: bool = True, level: float = LEVEL) -> Estimate:
    """mean(first) - mean(second) with a t interval: paired (the same seeds or pairs on both
    sides) or Welch's (independent samples)."""
    a, b = _values(first, "first"), _values(second, "second")
    level = check_fraction(level, "level")
    if paired:
        if a.size != b.size:
            raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
        result = mean(a - b, unit=unit, level=level)
        return Estimate(result.value, result.low, result.high, "paired t interval", result.n, result.unit, level)
    centre = float(a.mean() - b.mean())
    if min(a.size, b.size) < 2:
        return Estimate(centre, -math.inf, math.inf, "Welch t interval", 1, _unit(unit), level)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        return Estimate(centre, centre, centre, "Welch t interval", min(a.size, b.size), _unit(unit), level)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof) * math.sqrt(va + vb))
    return Estimate(centre, centre - half, centre + half, "Welch t interval", min(a.size, b.size), _unit(unit),
                    level)


def slope(x, y, *, unit: str, level: float = LEVEL) -> Estimate:
    """The least-squares slope of ``y`` on ``x`` with its t interval (n - 2 degrees of freedom):
    does a quantity grow with a setting (a count with m, a width with a learning rate)?"""
    x, y = _values(x, "x"), _values(y, "y")
    if x.size != y.size or x.size < 2:
        raise ValueError(f"x and y must have the same length (at least 2), got {x.size} and {y.size}")
    if np.ptp(x) == 0:
        raise ValueError("x must take at least two different values")
    level = check_fraction(level, "level")
    centred = x - x.mean()
    value = float(centred @ (y - y.mean()) / (centred @ centred))
    if x.size == 2:
        return Estimate(value, -math.inf, math.inf, "t interval of the slope", 2, _unit(unit), level)
    residuals = y - y.mean() - value * centred
    error = math.sqrt(float(residuals @ residuals) / (x.size - 2) / float(centred @ centred))
    half = float(stats.t.ppf((1 + level) / 2, x.size - 2) * error)
    return Estimate(value, value - half, value + half, "t interval of the slope", x.size, _unit(unit), level)


def correlation(x, y, *, unit: str, items: str = "items", level: float = LEVEL, resamples: int = 2000,
                seed: int = 0) -> Estimate:
    """Pearson's correlation of paired values.

    ``y`` 1-D (one number per unit): the Fisher z interval (needs 4 pairs or more for a
    finite interval). ``y`` 2-D, units x items (each run's outcome on each test example,
    say; ``items`` names them): each unit's y is its mean over the items, and the interval
    is a percentile bootstrap that resamples the units and, the same for every unit, the
    items. A test
    accuracy is itself measured on a sample of examples; on a few hundred of them that
    sampling moves a correlation over runs about as much as the runs do, and a Fisher
    interval over the runs alone would be too sure. (Such an interval narrows only when
    runs and items both grow, so it says no number of runs that would decide.)
    """
    x = _values(x, "x")
    table = np.asarray(y, np.float64) if np.ndim(y) == 2 else None
    if table is not None:
        if table.shape[1] < 2 or not np.all(np.isfinite(table)):
            raise ValueError(f"y as a table (units x items) must hold finite numbers and at least 2 items, "
                             f"got shape {table.shape}")
        y = table.mean(axis=1)
    y = _values(y, "y")
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length (units), got {x.size} and {y.size}")
    level = check_fraction(level, "level")
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:  # too few pairs, or a constant: no correlation to measure
        method = "Fisher z interval" if table is None else "bootstrap over units and items"
        return Estimate(math.nan, math.nan, math.nan, method, max(x.size, 1), _unit(unit), level)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    if table is not None:
        return _correlation_bootstrap(x, table, r, unit, _unit(items), level, resamples, seed)
    if x.size == 3 or abs(r) == 1.0:
        return Estimate(r, -1.0 if x.size == 3 else r, 1.0 if x.size == 3 else r, "Fisher z interval", x.size,
                        _unit(unit), level)
    half = stats.norm.ppf((1 + level) / 2) / math.sqrt(x.size - 3)
    z = math.atanh(r)
    return Estimate(r, math.tanh(z - half), math.tanh(z + half), "Fisher z interval", x.size, _unit(unit), level)


def _correlation_bootstrap(x, table, r, unit, items, level, resamples, seed) -> Estimate:
    resamples = check_int(resamples, "resamples", minimum=100)
    rng = np.random.default_rng(check_seed(seed))
    units, count = table.shape
    statistics = np.empty(resamples)
    for b in range(resamples):
        rows = rng.integers(0, units, units)
        # the items drawn, as how often each is drawn: each unit's mean over them is one product
        weights = np.bincount(rng.integers(0, count, count), minlength=count) / count
        xs, ys = x[rows], (table @ weights)[rows]
        # a resample that drew one unit (or items all alike) has no correlation: counted as 0, the null
        statistics[b] = np.corrcoef(xs, ys)[0, 1] if np.ptp(xs) > 0 and np.ptp(ys) > 0 else 0.0
    low, high = percentiles(statistics, level)
    return Estimate(r, min(float(low), r), max(float(high), r), f"bootstrap over {count} {items} and", units,
                    _unit(unit), level, scalable=False)


def bootstrap(values, *, unit: str, groups: bool = False, statistic=None, level: float = LEVEL,
              resamples: int = 2000, seed: int = 0) -> Estimate:
    """The mean of many items (test images, directions) with a percentile bootstrap interval.

    ``values`` is 1-D (items) or 2-D (groups x items, e.g. runs x test images; the statistic is
    the mean over groups of each group's mean). The items are resampled, the same items for
    every group (paired: one test set); with ``groups=True`` the groups (seeds) are resampled
    too, so the interval covers seed-to-seed variation as well.

    ``statistic`` (1-D values only) replaces the mean: a function of an array of shape
    (resamples, items) returning one number per row, e.g. the spread ``sd / mean``.
    """
    if statistic is not None:
        return _bootstrap_statistic(values, statistic, unit, level, resamples, seed)
    array = np.asarray(values, np.float64)
    if array.ndim not in (1, 2) or array.shape[-1] < 2 or array.size == 0:
        raise ValueError(f"values must be a 1-D or 2-D array with at least 2 items, got shape {array.shape}")
    if np.any(np.isinf(array)):
        raise ValueError("values must be finite numbers")
    level = check_fraction(level, "level")
    resamples = check_int(resamples, "resamples", minimum=100)
    rng = np.random.default_rng(check_seed(seed))
    table = np.atleast_2d(array)
    if groups and table.shape[0] < 2:
        raise ValueError("groups=True needs at least 2 groups (rows)")
    per_group = np.empty((table.shape[0], resamples))  # each group's mean in each resample
    chunk = max(1, 2_000_000 // table.size)  # resamples at a time, to bound the memory of the gather
    for start in range(0, resamples, chunk):
        items = rng.integers(0, table.shape[1], size=(min(chunk, resamples - start), table.shape[1]))
        per_group[:, start:start + len(items)] = table[:, items].mean(axis=-1)
    if groups:
        rows = rng.integers(0, table.shape[0], size=(resamples, table.shape[0]))
        statistics = np.take_along_axis(per_group.T, rows, axis=1).mean(axis=1)
    else:
        statistics = per_group.mean(axis=0)
    low, high = percentiles(statistics, level)
    centre = float(table.mean())
    low, high = min(float(low), centre), max(float(high), centre)
    sampled = f"{_unit(unit)} and {table.shape[0]} runs" if groups else _unit(unit)
    return Estimate(centre, low, high, "bootstrap", table.shape[1], sampled, level)


def _bootstrap_statistic(values, statistic, unit, level, resamples, seed) -> Estimate:
    array = _values(values)
    if array.size < 2:
        raise ValueError(f"values must hold at least 2 items, got {array.size}")
    if not callable(statistic):
        raise TypeError(f"statistic must be a function of a (resamples, items) array, got {type(statistic).__name__}")
    level = check_fraction(level, "level")
    resamples = check_int(resamples, "resamples", minimum=100)
    rows = np.random.default_rng(check_seed(seed)).integers(0, array.size, size=(resamples, array.size))
    value = float(np.asarray(statistic(array[None, :]), np.float64).ravel()[0])
    low, high = percentiles(statistic(array[rows]), level)
    return Estimate(value, min(float(low), value), max(float(high), value), "bootstrap", array.size, _unit(unit),
                    level)


def proportion(successes: int, trials: int, *, unit: str, level: float = LEVEL) -> Estimate:
    """The fraction ``successes / trials`` with a Wilson score interval."""
    trials = check_int(trials, "trials", minimum=1)
    successes = check_int(successes, "successes", minimum=0)
    if successes > trials:
        raise ValueError(f"successes must be at most trials ({trials}), got {successes}")
    level = check_fraction(level, "level")
    z = stats.norm.ppf((1 + level) / 2)
    p = successes / trials
    centre = (p + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / (1 + z**2 / trials)
    return Estimate(p, min(p, centre - half), max(p, centre + half), "Wilson interval", trials, _unit(unit), level)


def bracket(low, high, *, value=None, unit: str = "grid points", method: str = "grid bracket") -> Estimate:
    """A deterministic bracket ``[low, high]`` (e.g. the grid points a crossing lies between);
    ``value`` defaults to its midpoint (NaN: not found on the grid). A finer grid, not more
    samples, narrows it."""
    low, high = _number(low, "low"), _number(high, "high")
    if low > high:
        raise ValueError(f"low must be at most high, got {low} > {high}")
    value = (low + high) / 2 if value is None else _number(value, "value", allow_nan=True)
    return Estimate(value, low, high, method, 2, _unit(unit), None, scalable=False)


def ratio(numerator: Estimate, denominator: Estimate, *, method: str | None = None) -> Estimate:
    """The quotient of two independent estimates of non-negative quantities (the denominator's
    value positive), with the conservative interval ``[max(numerator.low, 0) /
    denominator.high, numerator.high / denominator.low]`` (a lower end of
    the denominator at or below zero leaves the upper end unbounded). Its level is at least
    that of the less certain of the two; it scales with more samples only when both do."""
    for name, e in (("numerator", numerator), ("denominator", denominator)):
        if not isinstance(e, Estimate):
            raise TypeError(f"{name} must be an evidence.Estimate, got {type(e).__name__}")
    if not (numerator.measured and denominator.measured):
        return Estimate(math.nan, math.nan, math.nan, method or "ratio of two estimates",
                        max(numerator.n, denominator.n), numerator.unit, numerator.level)
    if numerator.value < 0 or denominator.value <= 0:
        raise ValueError("ratio needs a non-negative numerator and a positive denominator, got "
                         f"{numerator.describe()} / {denominator.describe()}")
    value = numerator.value / denominator.value
    # a count's t interval may reach below zero; the quantity itself cannot
    low = max(numerator.low, 0.0) / denominator.high
    high = numerator.high / denominator.low if denominator.low > 0 else math.inf
    levels = [x for x in (numerator.level, denominator.level) if x is not None]
    method = method or f"{numerator.method} / {denominator.method}"
    return Estimate(value, min(low, value), max(high, value), method, max(numerator.n, denominator.n),
                    numerator.unit, min(levels) if levels else None,
                    scalable=numerator.scalable and denominator.scalable)


def spread_to_step(before, after, *, unit: str, level: float = LEVEL, resamples: int = 2000,
                   seed: int = 0) -> Estimate:
    """How much random draws matter against a step of the swept setting: the larger of the
    standard deviations over draws at two neighbouring settings (``before``, ``after``: one
    value per draw, the same draws in the same order), divided by the change of the mean
    between them; with a percentile bootstrap over the draws (resampled jointly, since a
    draw is the same at both settings). Below 0.25, two standard deviations stay inside
    half a step: the draws cannot reorder the two settings."""
    a, b = _values(before, "before"), _values(after, "after")
    if a.size != b.size:
        raise ValueError(f"before and after must hold the same draws, got {a.size} and {b.size}")
    level = check_fraction(level, "level")
    resamples = check_int(resamples, "resamples", minimum=100)
    if a.size < 2:  # one draw says nothing about the spread between draws
        return Estimate(math.nan, math.nan, math.nan, "bootstrap of sd / step", 1, _unit(unit), level)

    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-300)

    def statistic(x, y):
        step = np.abs(y.mean(axis=-1) - x.mean(axis=-1))  # (a NaN draw: the dry run measured nothing)
        spread = np.maximum(x.std(axis=-1, ddof=1), y.std(axis=-1, ddof=1))
        spread = np.where(spread < 1e-9 * scale, 0.0, spread)  # equal draws: rounding, not spread
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(step > 0, spread / step, np.inf)

    value = float(statistic(a, b))
    rows = np.random.default_rng(check_seed(seed)).integers(0, a.size, size=(resamples, a.size))
    low, high = percentiles(statistic(a[rows], b[rows]), level)
    return Estimate(value, min(float(low), value), max(float(high), value), "bootstrap of sd / step", a.size,
                    _unit(unit), level)
