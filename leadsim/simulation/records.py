"""Simulation output as typed records first, DataFrames at the end.

Every event appends one tuple to a list (cheap inside the event loop); the
:class:`Recorder` turns the lists into the shared tables once the run ends.
Times are simulation minutes (floats) or, where the exact moment must match
the scoring engine, integer nanoseconds since the start.

>>> r = Recorder()
>>> r.service("sdr1", 0, 0.0, 5.0, 5.0)
>>> r.frame("services")[["rep", "lead", "start", "end", "minutes"]].to_dict("records")
[{'rep': 'sdr1', 'lead': 0, 'start': 0.0, 'end': 5.0, 'minutes': 5.0}]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["COLUMNS", "MIN_NS", "NEVER_NS", "SECOND", "Handoff", "Recorder", "labels", "ranks", "strings"]

MIN_NS = 60_000_000_000
"""Nanoseconds in a simulation minute."""
SECOND = 1 / 60
"""A second, in simulation minutes."""
NEVER_NS = np.iinfo(np.int64).max
"""A time in ns that never comes."""

COLUMNS = {
    # one row per stage change; t_ns = exact time in ns since start
    "stage": ["lead", "stage", "t_ns", "reason", "owner"],
    "touch": ["lead", "t", "kind", "by"],
    "handoff": ["handoff", "lead", "t_ns", "reason", "propensity", "owner", "response", "sql",
                "opportunity", "won", "outcome", "score"],  # the fields of Handoff
    "alert": ["start", "clock", "level", "owner"],  # a level that fired: the hand-off (clock start), owner then
    "service": ["rep", "lead", "start", "end", "minutes"],
    "wait": ["item", "arrived", "started", "left"],
    "monitor": ["t", "sdr_queue", "rep_queue", "sdr_busy", "rep_busy", "sdr_on_shift", "rep_on_shift"],
    "mql": ["lead", "t_ns", "reason", "trigger", "score"],
}


_ALIASES = {"stages": "stage", "touches": "touch", "handoffs": "handoff", "alerts": "alert", "services": "service",
            "waits": "wait", "mqls": "mql"}


@dataclass(slots=True)
class Handoff:
    """One hand-off of a lead to the SDRs, filled in as the lead moves on (a row of the outcomes table)."""

    handoff: int
    lead: int
    t_ns: int
    reason: str
    propensity: float
    score: float
    owner: str | None = None  # the SDR who called first
    response: float | None = None  # minutes from hand-off to the first call
    sql: bool = False
    opportunity: bool = False
    won: bool = False
    outcome: str | None = None


class Recorder:
    """Append-only event lists, one per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {k: [] for k in COLUMNS}
        self.handoffs: list[Handoff] = []

    def stage(self, lead: int, stage: str, t_ns: int, reason: str, owner: str | None) -> None:
        self.rows["stage"].append((lead, stage, t_ns, reason, owner))

    def touch(self, lead: int, t: float, kind: str, by: str) -> None:
        self.rows["touch"].append((lead, t, kind, by))

    def service(self, rep: str, lead: int, start: float, end: float, minutes: float) -> None:
        self.rows["service"].append((rep, lead, start, end, minutes))

    def handoff(self, lead: int, t_ns: int, reason: str, propensity: float, score: float) -> Handoff:
        row = Handoff(len(self.handoffs), lead, t_ns, reason, propensity, score)
        self.handoffs.append(row)
        return row

    def columns(self, name: str) -> dict[str, tuple]:
        """Each column of a table as a tuple of its values, in recording order (empty tuples if none)."""
        key = _ALIASES.get(name, name)
        cols = COLUMNS[key]
        if key == "handoff":
            return {c: tuple(getattr(h, c) for h in self.handoffs) for c in cols}
        rows = self.rows[key]
        if not rows:
            return dict.fromkeys(cols, ())
        return dict(zip(cols, zip(*rows, strict=True), strict=True))  # zip transposes in C

    def frame(self, name: str) -> pd.DataFrame:
        """A table as a DataFrame: numbers stay numbers, anything else Python objects."""
        data = {}
        for col, values in self.columns(name).items():
            first = next((v for v in values if v is not None), None)
            arr = np.array(values, dtype=object if first is None or isinstance(first, str) else None)
            data[col] = np.array(values, dtype=object) if arr.dtype.kind in "US" else arr
        return pd.DataFrame(data)


def strings(values) -> pd.api.extensions.ExtensionArray:
    """Python strings (``None`` missing) as a pandas ``str`` array, through Arrow.

    >>> list(strings(("a", None)))
    ['a', nan]
    """
    return pd.array(pa.array(values, pa.large_string()), dtype="str")


def labels(codes, names) -> pd.api.extensions.ExtensionArray:
    """Codes into ``names`` (-1: missing) as a pandas ``str`` array; Arrow takes the strings.

    >>> list(labels(np.array([1, -1, 0]), ["web_visit", "webinar"]))
    ['webinar', nan, 'web_visit']
    """
    vocab = pa.array([str(x) for x in names], pa.large_string())
    codes = np.asarray(codes, np.int64)
    return pd.array(vocab.take(pa.array(codes, mask=codes < 0)), dtype="str")


def ranks(names) -> np.ndarray:
    """Each name's position in sorted order: sorting on it sorts by name, without comparing strings.

    >>> ranks(["L10", "L2", "L1"]).tolist()
    [1, 2, 0]
    """
    names = np.asarray(names, dtype=str)
    out = np.empty(len(names), np.int64)
    out[np.argsort(names, kind="stable")] = np.arange(len(names))
    return out
