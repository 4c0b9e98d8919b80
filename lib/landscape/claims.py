"""Claim checks: a measured effect, its interval and a bar, turned into a verdict by the
book's one rule, printed beside the paper's statement and asserted.

Four kinds of check, one function each (the book's page *How this book decides* is the
rubric they implement)::

    claims.check("real-width-learning-rate",            # a claim of the paper
                 paper="a higher learning rate gives wider tunnels", section="4.4", on="real",
                 estimate=evidence.mean(log_ratios, unit="seeds"), bar=evidence.above(0),
                 expect="reproduced")
    claims.finding(...)   # the book's own finding: the same rule, verdicts "supported" ...
    claims.sanity(...)    # holds by construction or is a textbook fact: a boolean, with why
    claims.beyond(...)    # beyond the paper (a speculation it makes): measured, not scored

A claim with several parts (``parts=[claims.part(name, estimate, bar), ...]``) is
*reproduced* when every part holds, *not reproduced* when none holds and one is excluded,
*partly* when some hold and some do not, *inconclusive* when no part is decided. The
lesson states the verdict it expects (``expect=``, a literal, as its prose does); a
computed verdict that differs raises :class:`ClaimFailed`, so the prose and the
measurement cannot drift apart on any machine.

Every check displays as text and HTML (with the anchor ``claim-<key>`` the scorecard links
to, and a link to the rubric) and carries a JSON record in the output's metadata, which
``tools/scorecard.py`` reads from the executed notebooks. At the ``paper-dry-run`` scale
(sizes of the paper, work cut to a few steps) nothing is measured, so nothing is decided
or asserted: the check says so.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from . import evidence
from .evidence import Bar, Estimate
from .scale import DRY_RUN_SUFFIX, SCALES, current_scale_name, is_dry_run

__all__ = ["ClaimFailed", "Part", "part", "check", "finding", "sanity", "beyond", "KINDS", "WHERE", "READINGS",
           "CLAIM_VERDICTS", "FINDING_VERDICTS", "METADATA_KEY", "RUBRIC_PAGE"]

KINDS = {"claim": "the paper's claim", "finding": "the book's finding", "sanity": "sanity check",
         "beyond": "beyond the paper"}
WHERE = {"toy": "toy landscape", "real": "real network", "both": "toy and real", "geometry": "geometry"}
READINGS = {"paper": "the paper's reading", "book": "the book's reading"}
CLAIM_VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive")
FINDING_VERDICTS = ("supported", "partly", "contradicted", "inconclusive")
METADATA_KEY = "landscape_claim"
RUBRIC_PAGE = "book/evidence"  # the rubric, as a path of the book (without extension)
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
OUTCOME_WORDS = {evidence.HOLDS: "holds", evidence.EXCLUDED: "excluded", evidence.UNDECIDED: "undecided"}


class ClaimFailed(AssertionError):
    """A check's measurement no longer supports what the lesson says."""


@dataclass(frozen=True)
class Part:
    """One measured part of a claim: an estimate with its interval, and the bar it must clear."""

    name: str
    estimate: Estimate
    bar: Bar

    def __post_init__(self):
        _text(self.name, "part name")
        if not isinstance(self.estimate, Estimate):
            raise TypeError(f"estimate of part {self.name!r} must be an evidence.Estimate, got "
                            f"{type(self.estimate).__name__}")
        if not isinstance(self.bar, Bar):
            raise TypeError(f"bar of part {self.name!r} must be an evidence.Bar (evidence.above, below or within), "
                            f"got {type(self.bar).__name__}")


def part(name: str, estimate: Estimate, bar: Bar) -> Part:
    """A part of a claim (see :func:`check`)."""
    return Part(name, estimate, bar)


def combine(outcomes, verdicts=CLAIM_VERDICTS) -> str:
    """The verdict of a claim from its parts' outcomes (the rubric's rule for several parts)."""
    reproduced, partly, not_reproduced, inconclusive = verdicts
    outcomes = list(outcomes)
    held = outcomes.count(evidence.HOLDS)
    if held == len(outcomes):
        return reproduced
    if held:
        return partly
    if evidence.EXCLUDED in outcomes:
        return not_reproduced
    return inconclusive


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _key(key) -> str:
    if not isinstance(key, str) or not KEY.match(key):
        raise ValueError(f"key must be lowercase words joined by '-', e.g. 'toy-dlim'; got {key!r}")
    return key


def _choice(value, name: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _parts(estimate, bar, parts) -> list[Part]:
    if parts is None:
        if estimate is None or bar is None:
            raise ValueError("give either estimate= and bar=, or parts=[claims.part(name, estimate, bar), ...]")
        return [Part("effect", estimate, bar)]
    if estimate is not None or bar is not None:
        raise ValueError("give either estimate= and bar=, or parts=, not both")
    parts = list(parts)
    if not parts or not all(isinstance(p, Part) for p in parts):
        raise TypeError("parts must be a non-empty list of claims.part(name, estimate, bar)")
    return parts


class Check:
    """What a check shows (text and HTML) and records (a JSON-ready dict)."""

    def __init__(self, record: dict):
        self.record = record

    @property
    def verdict(self) -> str:
        return self.record["verdict"]

    def _heading(self) -> str:
        r = self.record
        title = {"claim": "Claim check", "finding": "Finding", "sanity": "Sanity check",
                 "beyond": "Beyond the paper"}[r["kind"]]
        where = WHERE[r["on"]]
        bits = [where]
        if r["kind"] == "claim":
            bits.append(f"section {r['section']}")
            bits.append(READINGS[r["reading"]])
        return f"{title} [{r['key']}] ({'; '.join(bits)})"

    def _status(self) -> str:
        r = self.record
        if r["verdict"] is None:
            return f"not asserted ({r['scale']}: sizes only)"
        if r["kind"] in ("claim", "finding") and r["expect"] is None:
            return f"{r['verdict']} at scale {r['scale']} (not asserted: the lesson states no verdict at this scale)"
        if r["kind"] == "sanity":
            return "holds"
        if r["kind"] == "beyond":
            return f"measured at scale {r['scale']}, not scored"
        return f"{r['verdict']} at scale {r['scale']}"

    def _part_lines(self) -> list[str]:
        lines = []
        for p in self.record.get("parts", []):
            outcome = ""
            if p["outcome"] is not None:
                outcome = f"; bar {p['bar']}: {OUTCOME_WORDS[p['outcome']]}"
                if p["outcome"] == evidence.UNDECIDED:
                    if p["units_to_decide"]:
                        outcome += f" (about ~{p['units_to_decide']} {p['unit']} would decide at this effect)"
                    elif p["level"] is not None:  # a sample resampled at two levels (runs and test examples)
                        outcome += " (a larger sample at each resampled level would decide)"
                    else:  # a grid bracket
                        outcome += " (a finer grid or another design would decide)"
            elif p["bar"] is not None and self.record["kind"] != "beyond":
                outcome = f"; bar {p['bar']}"
            lines.append(f"{p['name']}: {p['described']}{outcome}")
        return lines

    def _rows(self) -> list[tuple[str, str]]:
        """(label, text) of every line under the heading, the same in text and HTML."""
        r = self.record
        label = {"claim": "paper", "finding": "finding", "sanity": "checks", "beyond": "paper"}[r["kind"]]
        rows = [(label, r["statement"])] + [("measured", line) for line in self._part_lines()]
        rows += [(name, r[key]) for name, key in (("measured", "measured"), ("detail", "detail"), ("why", "why"))
                 if r.get(key)]
        return rows

    def __repr__(self) -> str:
        lines = [f"{self._heading()}: {self._status()}"]
        lines += [f"  {label + ':':<9} {text}" for label, text in self._rows()]
        lines.append(f"  rubric:   {RUBRIC_PAGE} (How this book decides)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [f"<i>{label}:</i> {html.escape(text)}" for label, text in self._rows()]
        rows.append(f'<a href="../{RUBRIC_PAGE}.html">How this book decides</a>')
        return (f'<div class="claim-check" id="claim-{self.record["key"]}"><b>{html.escape(self._heading())}</b>: '
                f"{html.escape(self._status())}<br>" + "<br>".join(rows) + "</div>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return ({"text/plain": repr(self), "text/html": self._repr_html_()}, {METADATA_KEY: self.record})


def _show(result: Check) -> None:
    """Display in a notebook (text, HTML and the record), print elsewhere; every check of a
    cell shows, not only the cell's last expression (the checks return None, so a check
    that ends a cell is not shown twice)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with every notebook
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(result)
    else:
        print(repr(result))


def _json_number(x: float):
    """A float as JSON allows it: infinities and NaN (an interval of one run, a quantity the
    dry run could not measure) become the strings "inf", "-inf" and "nan"."""
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _part_record(p: Part, decided: bool) -> dict:
    e = p.estimate
    outcome = evidence.decide(e, p.bar) if decided else None
    return {"name": p.name, "value": _json_number(e.value), "low": _json_number(e.low),
            "high": _json_number(e.high), "level": e.level,
            "method": e.method, "n": e.n, "unit": e.unit, "described": e.describe(), "bar": p.bar.describe(),
            "outcome": outcome,
            "units_to_decide": e.units_to_decide(p.bar) if outcome == evidence.UNDECIDED else None}


def _expected(expect, verdicts, scale: str) -> str | None:
    """The verdict a lesson states at ``scale``: ``expect`` itself, or its entry for the scale
    (a dict scale -> verdict, for a claim whose verdict differs between scales; None where
    the lesson states none, e.g. at the paper scale, which this book has not run)."""
    if isinstance(expect, dict):
        for name, verdict in expect.items():
            _choice(name, "a scale of expect", SCALES)
            _choice(verdict, f"expect[{name!r}]", verdicts)
        return expect.get(scale.removesuffix(DRY_RUN_SUFFIX))
    return _choice(expect, "expect", verdicts)


def _decided(key: str, kind: str, statement: str, on: str, parts: list[Part], expect, verdicts,
             scale: str | None, extra: dict) -> None:
    scale = scale or current_scale_name()
    expect = _expected(expect, verdicts, scale)
    dry = is_dry_run()
    if not dry:
        for p in parts:
            if not p.estimate.measured:
                raise ClaimFailed(f"check {key!r}: part {p.name!r} measured nothing (NaN): {p.estimate.describe()}")
    records = [_part_record(p, decided=not dry) for p in parts]
    verdict = None if dry else combine([r["outcome"] for r in records], verdicts)
    record = {"key": key, "kind": kind, "statement": statement, "on": on, "expect": expect, "verdict": verdict,
              "scale": scale, "parts": records, **extra}
    result = Check(record)
    if verdict is not None and expect is not None and verdict != expect:
        raise ClaimFailed(f"check {key!r}: the lesson expects {expect!r} for '{statement}', but the rubric "
                          f"decides {verdict!r}:\n{result!r}")
    _show(result)


def check(key: str, *, paper: str, section: str, on: str, expect, estimate: Estimate | None = None,
          bar: Bar | None = None, parts=None, reading: str = "paper", detail: str | None = None,
          scale: str | None = None) -> None:
    """A claim of the paper: decide it from ``estimate`` and ``bar`` (or ``parts``) and assert
    that the verdict is ``expect`` (one of CLAIM_VERDICTS; or a dict scale -> verdict where the
    verdict differs between scales, e.g. ``{"quick": "inconclusive", "medium": "reproduced"}``).

    ``section`` is where the paper makes the claim ("4.4", "Figure 5"); ``reading`` says whose
    definition the measurement uses where the paper leaves it open ("paper" or "book");
    ``detail`` is optional context printed under the measurement; ``scale`` names the scale
    the numbers were measured at (default: the scale the lesson runs at).
    """
    _key(key)
    _text(paper, "paper")
    _text(section, "section")
    _choice(on, "on", WHERE)
    _expected(expect, CLAIM_VERDICTS, current_scale_name() if scale is None else scale)
    _choice(reading, "reading", READINGS)
    if detail is not None:
        _text(detail, "detail")
    _decided(key, "claim", paper, on, _parts(estimate, bar, parts), expect, CLAIM_VERDICTS, scale,
                    {"section": section, "reading": reading, "detail": detail})


def finding(key: str, *, statement: str, on: str, expect, estimate: Estimate | None = None,
            bar: Bar | None = None, parts=None, detail: str | None = None, scale: str | None = None) -> None:
    """A finding of this book (not a claim of the paper), decided by the same rule; ``expect``
    is one of FINDING_VERDICTS ("supported", "partly", "contradicted", "inconclusive")."""
    _key(key)
    _text(statement, "statement")
    _choice(on, "on", WHERE)
    _expected(expect, FINDING_VERDICTS, current_scale_name() if scale is None else scale)
    if detail is not None:
        _text(detail, "detail")
    _decided(key, "finding", statement, on, _parts(estimate, bar, parts), expect, FINDING_VERDICTS, scale,
                    {"section": None, "reading": "book", "detail": detail})


def sanity(key: str, *, statement: str, on: str, measured: str, holds, why: str) -> None:
    """A check that holds by construction or is a textbook fact: not evidence for the paper.
    ``holds`` (a boolean) is asserted; ``why`` says why it cannot be evidence."""
    _key(key)
    _text(statement, "statement")
    _choice(on, "on", WHERE)
    _text(measured, "measured")
    _text(why, "why")
    if not isinstance(holds, bool) and type(holds).__name__ not in ("bool_", "bool"):
        raise TypeError(f"holds must be a boolean (the assertion), got {type(holds).__name__} {holds!r}")
    dry = is_dry_run()
    record = {"key": key, "kind": "sanity", "statement": statement, "on": on, "expect": "holds",
              "verdict": None if dry else "holds", "scale": current_scale_name(), "parts": [],
              "measured": measured, "why": why, "section": None, "reading": None, "detail": None}
    if not dry and not bool(holds):
        raise ClaimFailed(f"sanity check {key!r} failed: '{statement}', measured: {measured}")
    _show(Check(record))


def beyond(key: str, *, statement: str, on: str, estimate: Estimate | None = None, bar: Bar | None = None,
           parts=None, detail: str | None = None, scale: str | None = None) -> None:
    """A measurement of something the paper only speculates about: shown with its interval
    (and, with a bar, whether the interval clears it), never scored or asserted."""
    _key(key)
    _text(statement, "statement")
    _choice(on, "on", WHERE)
    if parts is None and bar is None:
        if not isinstance(estimate, Estimate):
            raise ValueError("give estimate= (an evidence.Estimate; optionally with bar=), or parts=")
        items = [("effect", estimate, None)]
    else:
        items = [(p.name, p.estimate, p.bar) for p in _parts(estimate, bar, parts)]
    dry = is_dry_run()
    records = []
    for name, e, b in items:
        outcome = None if dry or b is None or not e.measured else evidence.decide(e, b)
        records.append({"name": name, "value": _json_number(e.value), "low": _json_number(e.low),
                        "high": _json_number(e.high), "level": e.level,
                        "method": e.method, "n": e.n, "unit": e.unit, "described": e.describe(),
                        "bar": None if b is None else b.describe(), "outcome": outcome,
                        "units_to_decide": e.units_to_decide(b) if outcome == evidence.UNDECIDED else None})
    record = {"key": key, "kind": "beyond", "statement": statement, "on": on, "expect": None,
              "verdict": None if dry else "not scored", "scale": scale or current_scale_name(), "parts": records,
              "section": None, "reading": None, "detail": detail}
    _show(Check(record))
