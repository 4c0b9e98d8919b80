"""Claim checks: a measured quantity printed beside the paper's statement, and asserted.

Every claim of the paper that a lesson tests ends in one call::

    claims.check(
        "toy-dlim",                                     # a key, unique in the book
        paper="the limiting dimension is D - n (Section 3.3)",
        verdict="reproduced",                           # what the book found (see VERDICTS)
        on="toy",                                       # "toy", "real", "both" or "geometry"
        measured=f"D = 400: d_lim = {d_lim}",
        holds=abs(d_lim - 100) <= 5,                    # the assertion
    )

``holds`` False raises :class:`ClaimFailed` (an AssertionError), so a claim that no
longer holds fails the lesson, on every machine. The verdict says what the
assertion means: "reproduced" (the paper's claim holds here), "not reproduced"
(the check asserts what was found instead), "partly", or "sanity" (a check of the
construction, not evidence for the paper). The book's scorecard page is generated
from these calls (``tools/scorecard.py`` reads their literal arguments).

At the ``paper-dry-run`` scale (sizes of the paper, work cut to a few steps) nothing
is measured, so nothing is asserted: the check prints that it was skipped.
"""
from __future__ import annotations

import html
import re

from .scale import is_dry_run

__all__ = ["ClaimFailed", "VERDICTS", "WHERE", "check"]

VERDICTS = ("reproduced", "partly", "not reproduced", "sanity")
WHERE = ("toy", "real", "both", "geometry")
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ClaimFailed(AssertionError):
    """A claim check's measured quantity no longer supports what the lesson says."""


class ClaimResult:
    """What :func:`check` shows: plain text, and HTML with an anchor the scorecard links to."""

    def __init__(self, key, paper, verdict, on, measured, status):
        self.key, self.paper, self.verdict, self.on = key, paper, verdict, on
        self.measured, self.status = measured, status

    def __repr__(self) -> str:
        return (f"Claim check [{self.key}] ({self.on}; {self.verdict}): {self.status}\n"
                f"  paper:    {self.paper}\n  measured: {self.measured}")

    def _repr_html_(self) -> str:
        measured = html.escape(self.measured).replace("\n", "<br>")
        return (f'<div class="claim-check" id="claim-{self.key}"><b>Claim check</b> '
                f'({html.escape(self.on)}; {html.escape(self.verdict)}): {html.escape(self.status)}<br>'
                f"<i>paper:</i> {html.escape(self.paper)}<br><i>measured:</i> {measured}</div>")


def _show(result: ClaimResult) -> None:
    """Display in a notebook (HTML with the anchor, and text), print elsewhere: every
    check of a cell shows, not only the cell's last expression."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with every notebook
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(result)
    else:
        print(repr(result))


def check(key: str, *, paper: str, verdict: str, on: str, measured: str, holds) -> None:
    """Show a claim beside its measurement and assert ``holds`` (see the module docstring)."""
    if not isinstance(key, str) or not KEY.match(key):
        raise ValueError(f"key must be lowercase words joined by '-', e.g. 'toy-dlim'; got {key!r}")
    for name, value in (("paper", paper), ("measured", measured)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(map(repr, VERDICTS))}; got {verdict!r}")
    if on not in WHERE:
        raise ValueError(f"on must be one of {', '.join(map(repr, WHERE))}; got {on!r}")
    if not isinstance(holds, bool) and type(holds).__name__ not in ("bool_", "bool"):
        raise TypeError(f"holds must be a boolean (the assertion), got {type(holds).__name__} {holds!r}")
    if is_dry_run():
        _show(ClaimResult(key, paper, verdict, on, measured, "not asserted (paper-dry-run: sizes only)"))
        return
    if not bool(holds):
        raise ClaimFailed(f"claim check {key!r} failed: the lesson says {verdict!r} for "
                          f"'{paper}', but measured: {measured}")
    _show(ClaimResult(key, paper, verdict, on, measured, "holds"))
