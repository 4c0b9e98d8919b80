"""The rubric in code: intervals, bars, the decision rule, and the checks lessons call."""
import math

import numpy as np
import pytest
from scipy import stats

from landscape import claims, evidence, scale


# -- intervals ---------------------------------------------------------------------------------------
def test_t_interval_matches_the_textbook_formula():
    values = [1.0, 2.0, 4.0]
    estimate = evidence.mean(values, unit="seeds")
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert estimate.value == pytest.approx(7 / 3)
    assert estimate.interval == pytest.approx((7 / 3 - half, 7 / 3 + half))
    assert "95% t interval over 3 seeds" in estimate.describe()


def test_t_interval_covers_the_mean_at_its_level():
    """Over many samples of a known normal distribution, about 95% of the intervals hold the mean."""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        e = evidence.mean(rng.normal(2.0, 1.0, 4), unit="seeds")
        hits += e.low < 2.0 < e.high
    assert 0.93 < hits / 2000 < 0.97


def test_no_replicate_measures_nothing():
    assert not evidence.mean([], unit="seeds").measured
    assert not evidence.correlation([], [], unit="runs").measured


def test_one_replicate_gives_an_infinite_interval_that_decides_nothing():
    estimate = evidence.mean([0.3], unit="seeds")
    assert math.isinf(estimate.low) and math.isinf(estimate.high)
    assert evidence.decide(estimate, evidence.above(0)) == evidence.UNDECIDED
    assert estimate.units_to_decide(evidence.above(0)) is None


def test_paired_difference_removes_what_the_pairs_share():
    base = np.array([10.0, 20.0, 30.0, 40.0])
    paired = evidence.difference(base + 1.0 + np.array([0.01, -0.01, 0.02, -0.02]), base, unit="seeds")
    welch = evidence.difference(base + 1.0, base, unit="seeds", paired=False)
    assert paired.value == pytest.approx(1.0)
    assert evidence.decide(paired, evidence.above(0)) == evidence.HOLDS
    assert evidence.decide(welch, evidence.above(0)) == evidence.UNDECIDED  # the seeds' spread dominates


def test_bootstrap_interval_of_a_mean_over_items_and_over_runs():
    rng = np.random.default_rng(1)
    items = rng.normal(0.5, 1.0, 4000)
    estimate = evidence.bootstrap(items, unit="test images")
    standard_error = items.std() / math.sqrt(items.size)
    assert estimate.value == pytest.approx(items.mean())
    assert estimate.high - estimate.low == pytest.approx(2 * 1.96 * standard_error, rel=0.1)
    runs = np.stack([items + shift for shift in (-1.0, 0.0, 1.0)])  # runs that differ a lot
    over_items = evidence.bootstrap(runs, unit="test images")
    over_both = evidence.bootstrap(runs, unit="test images", groups=True)
    assert over_both.high - over_both.low > 5 * (over_items.high - over_items.low)
    assert "test images and 3 runs" in over_both.describe()


def test_wilson_interval_and_bracket():
    all_of_them = evidence.proportion(20, 20, unit="pairs")
    assert all_of_them.value == 1.0 and all_of_them.high == 1.0 and 0.8 < all_of_them.low < 0.9
    grid = evidence.bracket(0.95, 1.0, unit="grid points")
    assert grid.level is None and not grid.scalable and grid.value == pytest.approx(0.975)
    assert "grid bracket" in grid.describe() and "%" not in grid.describe()


# -- the rule ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("interval, bar, outcome", [
    ((0.1, 0.3), evidence.above(0), evidence.HOLDS),
    ((-0.3, -0.1), evidence.above(0), evidence.EXCLUDED),
    ((-0.1, 0.3), evidence.above(0), evidence.UNDECIDED),
    ((0.0, 0.0), evidence.above(0), evidence.EXCLUDED),      # an effect of exactly zero is not "above"
    ((0.0, 0.0), evidence.below(0.01), evidence.HOLDS),
    ((0.96, 1.02), evidence.within(0.95, 1.05), evidence.HOLDS),
    ((0.90, 1.02), evidence.within(0.95, 1.05), evidence.UNDECIDED),
    ((1.06, 1.2), evidence.within(0.95, 1.05), evidence.EXCLUDED),
])
def test_decide(interval, bar, outcome):
    low, high = interval
    estimate = evidence.Estimate((low + high) / 2, low, high, "t interval", 3, "seeds")
    assert evidence.decide(estimate, bar) == outcome


def test_units_to_decide_scales_with_the_square_of_the_width():
    estimate = evidence.Estimate(0.1, -0.1, 0.3, "t interval", 4, "seeds")  # half-width 0.2, 0.1 from the bar
    assert estimate.units_to_decide(evidence.above(0)) == 16
    assert evidence.Estimate(0.0, -0.1, 0.1, "t interval", 4, "seeds").units_to_decide(evidence.above(0)) is None


# -- claim checks ------------------------------------------------------------------------------------
@pytest.fixture
def shown(monkeypatch):
    """The checks shown by claims.check & co. (also printed, as outside a notebook)."""
    results = []
    original = claims._show
    monkeypatch.setattr(claims, "_show", lambda result: (results.append(result), original(result)))
    return results


def test_claim_check_decides_shows_and_records(monkeypatch, capsys, shown):
    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    claims.check("toy-dlim", paper="d_lim = D - n", section="3.3", on="toy", expect="reproduced",
                          estimate=evidence.mean([0.98, 1.0, 1.01], unit="seeds"), bar=evidence.within(0.9, 1.1))
    printed = capsys.readouterr().out
    assert "Claim check [toy-dlim] (toy landscape; section 3.3; the paper's reading): reproduced" in printed
    assert "bar in (0.9, 1.1): holds" in printed and "book/evidence" in printed
    data, metadata = shown[-1]._repr_mimebundle_()
    assert 'id="claim-toy-dlim"' in data["text/html"] and "../book/evidence.html" in data["text/html"]
    record = metadata[claims.METADATA_KEY]
    assert record["verdict"] == "reproduced" and record["parts"][0]["outcome"] == evidence.HOLDS
    assert record["scale"] in scale.SCALE_NAMES


def test_claim_check_fails_when_the_rule_disagrees_with_the_lesson(monkeypatch, shown):
    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    straddling = evidence.mean([-0.1, 0.2, 0.05], unit="seeds")
    with pytest.raises(claims.ClaimFailed, match="decides 'inconclusive'"):
        claims.check("a-b", paper="p", section="1", on="real", expect="reproduced", estimate=straddling,
                     bar=evidence.above(0))
    claims.check("a-b", paper="p", section="1", on="real", expect="inconclusive", estimate=straddling,
                 bar=evidence.above(0))
    assert "seeds would decide" in repr(shown[-1]) and "~" in repr(shown[-1])


@pytest.mark.parametrize("outcomes, verdict", [
    (["holds", "holds"], "reproduced"),
    (["holds", "excluded"], "partly"),
    (["holds", "undecided"], "partly"),
    (["excluded", "undecided"], "not reproduced"),
    (["excluded", "excluded"], "not reproduced"),
    (["undecided", "undecided"], "inconclusive"),
])
def test_parts_combine_by_the_rubric(outcomes, verdict):
    assert claims.combine(outcomes) == verdict


def test_finding_sanity_and_beyond(monkeypatch, capsys, shown):
    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    claims.finding("f-a", statement="s", on="real", expect="supported",
                   estimate=evidence.mean([0.9, 0.95, 0.92], unit="seeds"), bar=evidence.above(0.8))
    claims.sanity("s-a", statement="s", on="toy", measured="m", holds=True, why="by construction")
    with pytest.raises(claims.ClaimFailed, match="sanity check 's-b' failed"):
        claims.sanity("s-b", statement="s", on="toy", measured="m", holds=np.bool_(False), why="w")
    claims.beyond("b-a", statement="s", on="real", estimate=evidence.mean([0.1, -0.1, 0.0], unit="seeds"))
    assert shown[-1].verdict == "not scored"
    printed = capsys.readouterr().out
    assert "Finding [f-a]" in printed and "Sanity check [s-a]" in printed and "Beyond the paper [b-a]" in printed


def test_dry_run_shows_without_deciding(monkeypatch, capsys, shown):
    monkeypatch.setenv("LANDSCAPE_SCALE", scale.DRY_RUN)
    monkeypatch.setattr(scale, "_current", None)
    claims.check("a-b", paper="p", section="1", on="toy", expect="reproduced",
                 estimate=evidence.mean([float("nan")], unit="seeds"), bar=evidence.above(0))
    assert shown[-1].verdict is None and "not asserted" in capsys.readouterr().out


def test_nothing_measured_fails_outside_the_dry_run(monkeypatch):
    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    with pytest.raises(claims.ClaimFailed, match="measured nothing"):
        claims.check("a-b", paper="p", section="1", on="toy", expect="inconclusive",
                     estimate=evidence.mean([float("nan"), 1.0], unit="seeds"), bar=evidence.above(0))


@pytest.mark.parametrize("changes, error, words", [
    (dict(key="Toy DLim"), ValueError, "key must be lowercase"),
    (dict(expect="true"), ValueError, "expect must be one of"),
    (dict(on="cnn"), ValueError, "on must be one of"),
    (dict(reading="mine"), ValueError, "reading must be one of"),
    (dict(section=""), ValueError, "section must be a non-empty string"),
    (dict(bar=0.5), TypeError, "bar of part 'effect' must be an evidence.Bar"),
    (dict(estimate=0.5), TypeError, "estimate of part 'effect' must be an evidence.Estimate"),
    (dict(parts=[]), ValueError, "either estimate= and bar=, or parts=, not both"),
])
def test_claim_check_bad_input(changes, error, words):
    arguments = dict(key="a-b", paper="p", section="1", on="toy", expect="reproduced",
                     estimate=evidence.mean([1.0, 2.0], unit="seeds"), bar=evidence.above(0))
    arguments.update(changes)
    key = arguments.pop("key")
    with pytest.raises(error, match=words):
        claims.check(key, **arguments)


@pytest.mark.parametrize("call, error, words", [
    (lambda: evidence.mean([[1.0, 2.0]], unit="seeds"), ValueError, "1-D sequence"),
    (lambda: evidence.mean([1.0, math.inf], unit="seeds"), ValueError, "finite"),
    (lambda: evidence.mean([1.0, 2.0], unit=""), ValueError, "unit must name"),
    (lambda: evidence.difference([1.0, 2.0], [1.0], unit="seeds"), ValueError, "same length"),
    (lambda: evidence.proportion(3, 2, unit="pairs"), ValueError, "at most trials"),
    (lambda: evidence.bracket(2.0, 1.0), ValueError, "low must be at most high"),
    (lambda: evidence.within(1.0, 1.0), ValueError, "low < high"),
    (lambda: evidence.bootstrap([1.0], unit="images"), ValueError, "at least 2 items"),
    (lambda: evidence.decide(evidence.mean([float("nan")], unit="seeds"), evidence.above(0)), ValueError,
     "nothing was measured"),
])
def test_evidence_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_geometric_mean_averages_ratios_as_logs():
    estimate = evidence.geometric_mean([2.0, 8.0], unit="pairs")
    assert estimate.value == pytest.approx(4.0)
    logs = evidence.mean(np.log([2.0, 8.0]), unit="pairs")
    assert estimate.interval == pytest.approx((math.exp(logs.low), math.exp(logs.high)))
    with pytest.raises(ValueError, match="must be positive"):
        evidence.geometric_mean([1.0, 0.0], unit="pairs")


def test_slope_matches_scipy_linregress():
    x, y = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([2.1, 3.9, 6.2, 7.8, 10.1])
    estimate = evidence.slope(x, y, unit="values of m")
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.975, 3) * fit.stderr
    assert estimate.value == pytest.approx(fit.slope)
    assert estimate.interval == pytest.approx((fit.slope - half, fit.slope + half))
    with pytest.raises(ValueError, match="two different values"):
        evidence.slope([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], unit="m")


def test_bootstrap_of_another_statistic():
    rng = np.random.default_rng(2)
    widths = rng.normal(1.0, 0.2, 400)
    spread = evidence.bootstrap(widths, unit="directions",
                                statistic=lambda v: v.std(axis=-1, ddof=1) / v.mean(axis=-1))
    assert spread.value == pytest.approx(widths.std(ddof=1) / widths.mean())
    assert spread.low < 0.2 < spread.high and spread.high - spread.low < 0.05
    with pytest.raises(TypeError, match="statistic must be a function"):
        evidence.bootstrap(widths, unit="directions", statistic="sd")


def test_correlation_interval():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    estimate = evidence.correlation(x, x + 0.5 * rng.normal(size=40), unit="runs")
    assert 0.7 < estimate.low < estimate.value < estimate.high < 1.0
    assert evidence.correlation([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], unit="runs").interval == (-1.0, 1.0)
    assert not evidence.correlation([1.0, 2.0], [1.0, 3.0], unit="runs").measured  # too few: nothing measured
    assert not evidence.spread_to_step([1.0], [2.0], unit="draws").measured


def test_correlation_over_runs_and_test_examples_covers_the_test_sets_sampling():
    """Runs whose accuracies differ by a few test examples: resampling the examples as well
    as the runs widens the interval the Fisher interval over runs alone gives (it ignores
    that each accuracy is itself a sample); with many examples the two nearly agree."""
    rng = np.random.default_rng(4)
    runs = 50
    width = rng.normal(size=runs)
    ability = 0.95 + 0.004 * width + 0.004 * rng.normal(size=runs)  # accuracy rises with width
    for examples, wider in ((300, True), (200_000, False)):
        correct = rng.random((runs, examples)) < ability[:, None]
        both = evidence.correlation(width, correct, unit="runs", items="test examples")
        fisher = evidence.correlation(width, correct.mean(axis=1), unit="runs")
        assert both.value == pytest.approx(fisher.value)
        assert both.low <= both.value <= both.high
        ratio = (both.high - both.low) / (fisher.high - fisher.low)
        assert (ratio > 1.15) if wider else (0.8 < ratio < 1.1), (examples, ratio)
        assert "bootstrap over" in both.describe() and f"{examples} test examples" in both.describe()
        assert both.units_to_decide(evidence.above(0.99)) is None  # runs alone cannot decide it
    # over fresh test sets of the same runs, the intervals hold the correlation such a test
    # set measures on average (noisier accuracies attenuate it) at least at their level
    estimates = [evidence.correlation(width, np.random.default_rng(100 + seed).random((runs, 300)) < ability[:, None],
                                      unit="runs", resamples=400, seed=seed) for seed in range(100)]
    expected = np.mean([e.value for e in estimates])
    assert np.mean([e.low < expected < e.high for e in estimates]) > 0.9
    with pytest.raises(ValueError, match="at least 2 items"):
        evidence.correlation(width, np.ones((runs, 1)), unit="runs")
    with pytest.raises(ValueError, match="same length"):
        evidence.correlation(width[:-1], correct, unit="runs")


def test_records_are_json_even_for_infinite_intervals(monkeypatch, shown):
    import json

    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    claims.check("a-b", paper="p", section="1", on="real", expect="inconclusive",
                 estimate=evidence.mean([0.5], unit="seeds"), bar=evidence.above(0))
    record = shown[-1]._repr_mimebundle_()[1][claims.METADATA_KEY]
    assert json.loads(json.dumps(record, allow_nan=False))["parts"][0]["low"] == "-inf"


def test_expectations_per_scale(monkeypatch, shown):
    monkeypatch.setattr(scale, "_current", None)
    straddling = evidence.mean([-0.1, 0.2, 0.05], unit="seeds")
    expect = {"quick": "inconclusive", "medium": "reproduced"}
    monkeypatch.setenv("LANDSCAPE_SCALE", "quick")
    claims.check("a-b", paper="p", section="1", on="real", expect=expect, estimate=straddling, bar=evidence.above(0))
    monkeypatch.setenv("LANDSCAPE_SCALE", "medium")
    with pytest.raises(claims.ClaimFailed, match="expects 'reproduced'"):
        claims.check("a-b", paper="p", section="1", on="real", expect=expect, estimate=straddling,
                     bar=evidence.above(0))
    monkeypatch.setenv("LANDSCAPE_SCALE", "paper")  # no expectation stated: shown, not asserted
    claims.check("a-b", paper="p", section="1", on="real", expect=expect, estimate=straddling, bar=evidence.above(0))
    assert "not asserted" in repr(shown[-1])
    with pytest.raises(ValueError, match="a scale of expect must be one of"):
        claims.check("a-b", paper="p", section="1", on="real", expect={"huge": "reproduced"}, estimate=straddling,
                     bar=evidence.above(0))


def test_ratio_interval_is_conservative_and_keeps_scalability():
    count = evidence.mean([10.0, 12.0, 14.0], unit="seeds")
    dint = evidence.bracket(8, 16)
    r = evidence.ratio(count, dint)
    assert r.value == pytest.approx(12.0 / 12.0)
    assert r.low == pytest.approx(count.low / 16) and r.high == pytest.approx(count.high / 8)
    assert not r.scalable  # a grid bracket narrows only with a finer grid
    assert evidence.decide(r, evidence.within(0.75, 1.25)) == evidence.UNDECIDED


def test_ratio_of_an_unmeasured_estimate_is_unmeasured_and_bad_input_is_named():
    r = evidence.ratio(evidence.mean([], unit="seeds"), evidence.bracket(1, 2))
    assert not r.measured
    with pytest.raises(TypeError, match="numerator"):
        evidence.ratio(3.0, evidence.bracket(1, 2))
    with pytest.raises(ValueError, match="positive denominator"):
        evidence.ratio(evidence.mean([1.0, 2.0], unit="seeds"), evidence.bracket(-1, 0, value=-0.5))
    wide = evidence.ratio(evidence.mean([1.0, 2.0], unit="seeds"), evidence.bracket(1, 2))
    assert wide.low == 0.0  # the count's t interval reaches below zero; a count cannot
    unbounded = evidence.ratio(evidence.mean([1.0, 2.0], unit="seeds"), evidence.bracket(0, 2, value=1))
    assert unbounded.high == float("inf")
