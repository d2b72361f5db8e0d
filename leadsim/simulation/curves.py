"""Speed-to-lead curves: how contact and qualification odds fall with delay.

Each curve maps the response delay (wall-clock minutes from hand-off to the
attempt) to an *odds multiplier* against the curve's own baseline (multiplier
1 at the first anchor).  Between anchors the log-odds interpolate linearly in
the delay; before the first and after the last anchor they stay flat (no
extrapolation beyond what a study reported).  Contact and qualification are
separate steps with separate curves; a preset never applies one study's drop
to both.

Presets (observational odds, not causal effects -- ``docs/design.md`` section 7.1, "Speed-to-lead curves"):

``lrm_2007``
    Lead Response Management study (Oldroyd & Elkington, 2007): qualification
    odds fall 4x from 5 to 10 minutes and 21x from 5 to 30 minutes; contact
    odds fall 100x from 5 to 30 minutes.
``hbr_2011``
    "The Short Life of Online Sales Leads" (HBR, 2011): firms trying within an
    hour were ~7x as likely to qualify as an hour later, >60x as at 24 h or
    more (baseline: 60 minutes).  HBR reports no separate contact curve, so
    contact stays flat.
``default``
    A milder, stated assumption: contact odds /2 at 1 h, /4 at 8 h, /8 at 2
    days; qualification odds /1.5 at 1 h, /3 at 1 day (baseline 5 minutes).
``flat``
    No decay (a control).

>>> c = ResponseCurve.preset("lrm_2007")
>>> round(c.qualification_multiplier(10) / c.qualification_multiplier(5), 4)
0.25
>>> round(c.contact_multiplier(30), 4)
0.01
>>> adjust(0.5, 0.25)        # odds 1 -> 0.25
0.2
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

__all__ = ["PRESETS", "ResponseCurve", "adjust"]

PRESETS: dict[str, dict[str, dict[float, float]]] = {
    "lrm_2007": {"contact": {5: 1.0, 30: 1 / 100}, "qualification": {5: 1.0, 10: 1 / 4, 30: 1 / 21}},
    "hbr_2011": {"contact": {60: 1.0}, "qualification": {60: 1.0, 120: 1 / 7, 1440: 1 / 60}},
    "default": {"contact": {5: 1.0, 60: 1 / 2, 480: 1 / 4, 2880: 1 / 8},
                "qualification": {5: 1.0, 60: 1 / 1.5, 1440: 1 / 3}},
    "flat": {"contact": {0: 1.0}, "qualification": {0: 1.0}},
}


def adjust(p: float | np.ndarray, multiplier: float | np.ndarray) -> float | np.ndarray:
    """Multiply the odds of probability ``p`` by ``multiplier``; back to a probability."""
    if type(p) is float and type(multiplier) is float:  # the simulation's per-call case, without numpy
        odds = p / (1 - p) * multiplier
        return odds / (1 + odds)
    odds = np.asarray(p, float) / (1 - np.asarray(p, float)) * multiplier
    out = odds / (1 + odds)
    return float(out) if np.ndim(out) == 0 else out


def _log_anchors(anchors: dict[float, float]) -> tuple[list[float], list[float], float | None]:
    """(sorted minutes, log multipliers, the constant if there is one anchor) of a curve."""
    xs = sorted(anchors)
    ys = [math.log(anchors[x]) for x in xs]
    return [float(x) for x in xs], ys, float(anchors[xs[0]]) if len(xs) == 1 else None


def _interp(xy: tuple[list[float], list[float], float | None], minutes: float) -> float:
    """``exp`` of the log multipliers interpolated linearly at ``minutes`` (flat outside the anchors).

    Plain Python (one call per contact attempt): the arithmetic of ``numpy.interp``.
    """
    xs, ys, const = xy
    if const is not None:
        return const
    if minutes <= xs[0]:
        return math.exp(ys[0])
    j = bisect_right(xs, minutes) - 1
    if j >= len(xs) - 1:
        return math.exp(ys[-1])
    slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
    return math.exp(slope * (minutes - xs[j]) + ys[j])


@dataclass(frozen=True)
class ResponseCurve:
    """A named pair of contact and qualification odds curves."""

    name: str
    contact: dict[float, float]
    qualification: dict[float, float]

    @classmethod
    def preset(cls, name: str, contact: dict[float, float] | None = None,
               qualification: dict[float, float] | None = None) -> ResponseCurve:
        base = PRESETS[name]
        custom = contact is not None or qualification is not None
        return cls(
            f"{name}+custom" if custom else name,
            {float(k): float(v) for k, v in (contact or base["contact"]).items()},
            {float(k): float(v) for k, v in (qualification or base["qualification"]).items()},
        )

    @functools.cached_property
    def _contact_xy(self) -> tuple[list[float], list[float], float | None]:
        return _log_anchors(self.contact)

    @functools.cached_property
    def _qualification_xy(self) -> tuple[list[float], list[float], float | None]:
        return _log_anchors(self.qualification)

    def contact_multiplier(self, minutes: float) -> float:
        return _interp(self._contact_xy, minutes)

    def qualification_multiplier(self, minutes: float) -> float:
        return _interp(self._qualification_xy, minutes)
