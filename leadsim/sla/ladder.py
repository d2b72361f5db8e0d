"""The SLA ladder: due times, stop rule, tie rule, recipients and messages, as pure functions.

One implementation of each rule of a clock (see :mod:`leadsim.sla` for the
rules in words), called by :func:`leadsim.sla.schedule` and
:func:`leadsim.sla.audit` on histories and by the simulation during a run, so
that a simulated run and the audit of its log cannot disagree:

* :func:`due_times`: when each level of a clock started at given moments is
  due, on the definition's calendar;
* :func:`stop_time` and :func:`fires`: the stop events a clock listens to,
  and the tie rule (a level fires only when due strictly before the stop);
* :func:`build_alerts`: the alert table (recipients and messages rendered in
  the definition's language) for the levels that fired, whoever fired them.

>>> import numpy as np, pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> touch = d.sla.clocks[1]
>>> cal = BusinessCalendar.from_definition(d)
>>> start = np.array([pd.Timestamp("2026-03-06 16:00").value])        # a Friday
>>> [str(pd.Timestamp(t[0])) for t in due_times(cal, start, touch)]
['2026-03-06 16:00:00', '2026-03-09 16:00:00', '2026-03-10 16:00:00', '2026-03-11 16:00:00']
>>> monday_touch = pd.Timestamp("2026-03-09 16:00").value
>>> stop = stop_time(touch, {"touch": monday_touch, "leave_stage": INF})
>>> [bool(fires(t, stop)) for t in due_times(cal, start, touch)]      # a touch at the due time stops it
[True, False, False, False]
>>> level_days(touch, 2, cal), localised_number(1.5, "de"), localised_number(2.0, "en")
(2, '1,5', '2')
"""

from __future__ import annotations

import itertools
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadsim.calendar import BusinessCalendar
from leadsim.calendars import TeamCalendars
from leadsim.definition import LeadDefinition, SlaClock
from leadsim.definition.alerting import fill_url
from leadsim.display import MISSING, localised_number, localised_numbers
from leadsim.errors import DefinitionError, SchemaError
from leadsim.keys import stable_order

__all__ = [
    "ALERT_COLUMNS",
    "INF",
    "STOP_EVENTS",
    "AlertTexts",
    "Fired",
    "Handoffs",
    "arrow_text",
    "build_alerts",
    "check_clocks",
    "context",
    "due_times",
    "fires",
    "level_days",
    "stop_time",
    "take_text",
    "text_series",
    "unassigned",
]

INF = np.iinfo(np.int64).max
"""A time (int64 ns) that never comes: no stop event, or a level past the horizon."""
"""What a message shows for a value nobody knows (a lead without company, a hand-off without score)."""
STOP_EVENTS = ("touch", "leave_stage", "recycle")
"""The stop events besides a stage id (the lead's next entry into that stage)."""
_SCALARS = (int, float)
ALERT_COLUMNS = [
    "handoff_id", "lead_id", "stage", "owner", "handoff_at", "clock", "level", "offset", "due_at", "recipients",
    "message",
]


# --------------------------------------------------------------------------- the ladder


def check_clocks(definition: LeadDefinition) -> list[SlaClock]:
    """The definition's clocks, guarded again (a definition edited in code skips the YAML checks)."""
    ids = set(definition.funnel.stage_ids)
    for c in definition.sla.clocks:
        offs = [lv.offset for lv in c.levels]
        where = f"sla.clocks.{c.id}.levels"
        if not offs:
            raise DefinitionError("a clock needs at least one level", where=where)
        for i, o in enumerate(offs):
            if not (isinstance(o, int | float) and math.isfinite(o) and o >= 0):
                raise DefinitionError(f"level {i} has offset {o!r}; offsets must be zero or more", where=where)
        if any(b <= a for a, b in itertools.pairwise(offs)):
            raise DefinitionError(f"level offsets {offs} are out of order; they must strictly increase", where=where)
        if c.stage not in ids:
            raise DefinitionError(f"unknown stage {c.stage!r}; known: {sorted(ids)}", where=f"sla.clocks.{c.id}.stage")
        for ev in c.stop_on:
            if ev not in STOP_EVENTS and ev not in ids:
                raise DefinitionError(f"unknown stop event {ev!r}; use {list(STOP_EVENTS)} or a stage id",
                                      where=f"sla.clocks.{c.id}.stop_on")
    return list(definition.sla.clocks)


def due_times(calendar: BusinessCalendar | TeamCalendars, start_ns: np.ndarray, clock: SlaClock, *,
              code: Any = 0, handovers: list[tuple[np.ndarray, np.ndarray]] | None = None) -> list[np.ndarray]:
    """Due times (int64 ns) of every level of ``clock`` for clocks started at ``start_ns`` (int64 ns).

    With :class:`~leadsim.calendars.TeamCalendars`, each clock runs on the
    calendar ``code`` of the owner holding the lead when it starts, and
    ``handovers`` (one ``(at ns, new code)`` pair of arrays per re-assignment,
    ``INF`` where a lead has no more) moves it: the working time a level has
    used up on the old owner's calendar counts, the rest runs on the new
    owner's (``docs/design.md`` section 1.5, "Clocks on the holder's calendar").
    """
    start = np.asarray(start_ns, dtype=np.int64)
    offsets = [lv.offset for lv in clock.levels]
    if isinstance(calendar, BusinessCalendar):
        dues = calendar.add_many(start.astype("datetime64[ns]"), offsets, clock.unit, clock.wall_clock)
        return [np.asarray(d).astype("datetime64[ns]").view(np.int64) for d in dues]
    code = np.broadcast_to(np.asarray(code, dtype=np.int64), start.shape)
    dues = calendar.add_many(start, code, offsets, clock.unit, clock.wall_clock)
    if clock.wall_clock or not handovers:
        return dues
    per = {"days": None, "hours": 60.0, "minutes": 1.0}[clock.unit]
    for off, due in zip(offsets, dues, strict=True):
        at, cal = start.copy(), code.copy()
        left = np.full(len(start), float(off))
        for moved_at, moved_to in handovers:
            move = np.flatnonzero((moved_at != INF) & (due > moved_at))
            if not len(move):
                break  # later re-assignments are later still: every level is due before them
            used = calendar.working_minutes_between(at[move], moved_at[move], cal[move])
            left[move] -= used / (calendar.day_minutes(cal[move]) if per is None else per)
            at[move], cal[move] = moved_at[move], moved_to[move]
            for r in move:
                due[r] = calendar.add(at[r:r + 1], cal[r], max(float(left[r]), 0.0), clock.unit)[0]
    return dues


def stop_time(clock: SlaClock, events: Mapping[str, Any], restart: Any = INF) -> Any:
    """When ``clock`` stops: the first of the events it listens to, or the lead's next entry into its stage.

    ``events`` maps each name in ``clock.stop_on`` (``touch``, ``leave_stage``,
    ``recycle`` or a stage id) to the time of the first such event at or after
    the clock's start (:data:`INF` when there is none); ``restart`` is the
    lead's next entry into the clock's stage (a fresh hand-off starts a fresh
    clock).  Scalars or arrays of int64 ns.
    """
    stop = restart
    for ev in clock.stop_on:
        t = events[ev]
        # plain numbers (a run checks one clock at a time) take the builtin; arrays numpy's element-wise minimum
        stop = min(stop, t) if type(t) in _SCALARS and type(stop) in _SCALARS else np.minimum(stop, t)
    return stop


def fires(due: Any, stop: Any, as_of: Any = INF) -> Any:
    """The tie rule: a level fires when it is due strictly before the stop, and (in an audit) by ``as_of``."""
    if type(due) in _SCALARS and type(stop) in _SCALARS:
        return due < stop and due <= as_of
    return (np.asarray(due) < stop) & (np.asarray(due) <= as_of)


def level_days(clock: SlaClock, offset: float, calendar: BusinessCalendar) -> float:
    """A level's offset in days, for ``{days}`` in messages: working days, or calendar days for a wall clock."""
    if clock.unit == "days":
        return offset
    minutes = offset * (60 if clock.unit == "hours" else 1)
    return minutes / (1440 if clock.wall_clock else calendar.day_minutes)


def unassigned(clock: SlaClock) -> str:
    """Who ``owner`` means when nobody holds the lead: the queue of the clock's stage (e.g. ``lead-queue``)."""
    return f"{clock.stage}-queue"


# --------------------------------------------------------------------------- text


def arrow_text(x: Any) -> pa.Array:
    """Strings (Series, Index, array) as one pyarrow large_string array, without a copy when arrow-backed."""
    arr = pa.array(pd.array(x, dtype="string"))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def take_text(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """``arr[idx]`` with a null where ``idx < 0``."""
    neg = idx < 0
    return arr.take(pa.array(idx, mask=neg) if neg.any() else pa.array(idx))


def text_series(arr: Any, na_nan: bool = False) -> pd.Series:
    """A pandas string Series (``string`` dtype, or ``str`` with ``na_nan``) over a pyarrow string array."""
    dtype = pd.StringDtype("pyarrow", na_value=np.nan) if na_nan else pd.StringDtype("pyarrow")
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr, dtype=dtype))


def _fill(template: str, field: Any, n: int) -> pa.Array:
    """Fill a template for ``n`` alerts at once (pyarrow element-wise join, no row loop).

    ``field(name)`` gives a pyarrow array of ``n`` strings (nulls print as "–") or a constant.
    """
    pieces: list[Any] = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            pieces.append(pa.scalar(literal, pa.large_string()))
        if name is None:
            continue
        val = field(name)
        if spec:
            vals = val.to_pylist() if isinstance(val, pa.Array) else [val] * n
            val = pa.array([MISSING if v is None else format(v, spec) for v in vals], pa.large_string())
        pieces.append(val if isinstance(val, pa.Array) else pa.scalar(str(val), pa.large_string()))
    if not any(isinstance(p_, pa.Array) for p_ in pieces):
        text = "".join(p_.as_py() for p_ in pieces)
        return pa.array([text] * n, pa.large_string())
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()), null_handling="replace",
                                       null_replacement=MISSING)


@dataclass
class Handoffs:
    """Hand-offs as integer codes: ids, lead codes into ``lead_ids``, owner codes into ``owner_names`` (-1: none),
    start ns, and (optional) the score each hand-off was made with (NaN: unknown)."""

    hid: np.ndarray
    lead: np.ndarray
    lead_ids: pd.Index
    owner: np.ndarray
    owner_names: pd.Index
    at: np.ndarray
    score: np.ndarray | None = None


@dataclass
class Fired:
    """The alerts of one clock level: hand-off rows, due ns, and the owner code holding each lead then."""

    clock: int
    level: int
    rows: np.ndarray
    due: np.ndarray
    owner: np.ndarray


def _owner_managers(owners: pd.DataFrame | None) -> pd.Series:
    if owners is None:
        return pd.Series(dtype="string")
    missing = [c for c in ("owner", "manager") if c not in owners.columns]
    if missing:
        raise SchemaError(f"the owners table lacks column(s) {missing}; it needs owner, role, manager, team",
                          where="owners")
    o = owners.dropna(subset=["owner"]).drop_duplicates("owner")
    return pd.Series(o["manager"].astype("string").to_numpy(), index=o["owner"].astype("string").to_numpy())


def _lead_info(leads: pd.DataFrame | None, scores: Any, campaign: str = "campaign") -> pd.DataFrame:
    info = pd.DataFrame(columns=["company", "source", "campaign", "score"])
    if leads is not None:
        if "lead_id" not in leads.columns:
            raise SchemaError("the leads table needs a lead_id column", where="leads")
        known = leads.drop_duplicates("lead_id").set_index("lead_id")
        known.index = known.index.astype("string")
        info = pd.DataFrame(index=known.index)
        info["company"] = known["company"].astype("string") if "company" in known.columns else pd.NA
        info["source"] = known["source"].astype("string") if "source" in known.columns else pd.NA
        info["campaign"] = known[campaign].astype("string") if campaign in known.columns else pd.NA
        info["score"] = np.nan
    if scores is not None and not (isinstance(scores, pd.DataFrame) and "at" in scores.columns):
        if isinstance(scores, pd.DataFrame):
            sc = scores.set_index("lead_id") if "lead_id" in scores.columns else scores
            if "score" not in sc.columns:
                raise SchemaError("the scores table needs a score column (as leadsim.scoring.score returns)",
                                  where="scores")
            sc = sc["score"]
        else:
            sc = pd.Series(scores)
        sc.index = sc.index.astype("string")
        info = info.reindex(info.index.union(sc.index))
        info["score"] = pd.to_numeric(sc, errors="coerce").reindex(info.index).to_numpy()
    return info


def context(definition: LeadDefinition, owners: Any, leads: Any, scores: Any) -> dict[str, Any]:
    """What rendering needs besides the hand-offs: calendar, managers, lead facts, language, labels."""
    return {
        "calendar": BusinessCalendar.from_definition(definition),
        "team": TeamCalendars(definition, owners=owners),
        "managers": _owner_managers(owners),
        "info": _lead_info(leads, scores, definition.sla.campaign_column),
        "language": definition.language or "en",
        "record_url": definition.sla.record_url,
        "deadline": definition.sla.deadline,
        "leadership": list(definition.sla.leadership),
        "stage_labels": {s.id: s.label for s in definition.funnel.stages},
    }


class AlertTexts:
    """Per-lead and per-owner text for templates and recipients, looked up once and taken per alert."""

    def __init__(self, h: Handoffs, ctx: dict[str, Any]) -> None:
        self.h, self.ctx = h, ctx
        self._by_lead: dict[str, pa.Array] = {}
        self._by_owner: dict[str, pa.Array] = {}

    def lead_table(self, name: str) -> pa.Array:
        if name not in self._by_lead:
            ids = self.h.lead_ids
            if name == "lead":
                self._by_lead[name] = arrow_text(ids)
            elif name == "link":  # the record's address per lead, from sla.record_url
                url = self.ctx["record_url"] or ""
                self._by_lead[name] = pa.array([fill_url(url, lead_id=i) for i in ids], pa.large_string())
            else:
                info: pd.DataFrame = self.ctx["info"]
                if not len(info):
                    self._by_lead[name] = pa.nulls(len(ids), pa.large_string())
                else:
                    pos = info.index.get_indexer(pd.Index(ids).astype("string"))
                    if name == "score":
                        vals = pd.Series(pd.to_numeric(info["score"], errors="coerce").astype("float64").to_numpy())
                        text = arrow_text(localised_numbers(vals, self.ctx["language"], 0))
                    else:
                        text = arrow_text(info[name].astype("string"))
                    self._by_lead[name] = take_text(text, pos)
        return self._by_lead[name]

    def owner_table(self, name: str) -> pa.Array:
        if name not in self._by_owner:
            names = self.h.owner_names
            if name == "owner":
                self._by_owner[name] = arrow_text(names)
            else:
                managers: pd.Series = self.ctx["managers"]
                mgr = managers.reindex(pd.Index(names).astype("string")) if len(managers) else \
                    pd.Series(pd.NA, index=range(len(names)))
                self._by_owner[name] = arrow_text(pd.Series(mgr.to_numpy(), dtype="string"))
        return self._by_owner[name]

    def field(self, name: str, rows: np.ndarray, owner: np.ndarray) -> pa.Array:
        if name == "score" and self.h.score is not None:
            return arrow_text(localised_numbers(pd.Series(self.h.score[rows], dtype="float64"),
                                                self.ctx["language"], 0))
        if name in ("lead", "company", "source", "campaign", "score"):
            return self.lead_table(name).take(pa.array(self.h.lead[rows]))
        if name == "link":
            return self.lead_table(name).take(pa.array(self.h.lead[rows]))
        if name in ("owner", "manager"):
            return take_text(self.owner_table(name), owner)
        raise KeyError(name)


def _numbers(values: np.ndarray, language: str) -> pa.Array:
    """Numbers as text in the definition's language, one per alert (each distinct value formatted once)."""
    uniq, inv = np.unique(values, return_inverse=True)
    return pa.array([localised_number(float(u), language) for u in uniq], pa.large_string()).take(pa.array(inv))


def _message(texts: AlertTexts, f: Fired, clock: SlaClock, ctx: dict[str, Any]) -> pa.Array:
    """Messages of one clock level for the hand-offs ``f.rows``."""
    lv = clock.levels[f.level]
    days = level_days(clock, lv.offset, ctx["calendar"])
    deadline = ctx.get("deadline")
    team: TeamCalendars = ctx["team"]
    consts = {
        "days": localised_number(days, ctx["language"]),
        # the definition only lets {days_left} appear on clocks of the deadline's stage
        "days_left": localised_number(deadline.days - days, ctx["language"]) if deadline is not None else MISSING,
        "stage": ctx["stage_labels"][clock.stage],
        "clock": clock.label or clock.id,
        "level": str(f.level),
    }

    if clock.unit != "days" and not clock.wall_clock and not team.single:
        # working hours or minutes in days of the calendar of the owner holding the lead when the level is due
        minutes = lv.offset * (60 if clock.unit == "hours" else 1)
        per_row = minutes / team.day_minutes(team.codes_of(f.owner, texts.h.owner_names))
        consts["days"] = _numbers(per_row, ctx["language"])
        if deadline is not None:
            consts["days_left"] = _numbers(deadline.days - per_row, ctx["language"])

    def field(name: str) -> Any:
        return consts[name] if name in consts else texts.field(name, f.rows, f.owner)

    return _fill(lv.message, field, len(f.rows)) if lv.message else pa.array([""] * len(f.rows), pa.large_string())


def _recipients(texts: AlertTexts, clock: SlaClock, level: int, ctx: dict[str, Any]) -> pa.Array:
    """Recipients of one clock level for every owner code, then for "no owner" (they depend on the owner only).

    ``owner`` is the owner holding the lead, or the queue of the clock's stage
    when nobody does; a missing manager is left out.
    """
    n = len(texts.h.owner_names)
    names = clock.levels[level].recipients
    cols = {who: [*texts.owner_table(who).to_pylist(), None] for who in ("owner", "manager") if who in names}
    if "owner" in cols:
        cols["owner"][n] = unassigned(clock)
    const = {"leadership": ", ".join(ctx["leadership"])}
    out = []
    for i in range(n + 1):
        vals = [cols[who][i] if who in cols else const.get(who, who) for who in names]
        out.append(", ".join(v for v in vals if v is not None))
    return pa.array(out, pa.large_string())


def build_alerts(h: Handoffs, clocks: list[SlaClock], fired: list[Fired], ctx: dict[str, Any]) -> pd.DataFrame:
    """The alert table (:data:`ALERT_COLUMNS`) of the levels that fired, ordered by due time, hand-off, clock, level.

    Messages are built per clock level from the distinct lead/owner strings
    and put in order with one take; recipients depend on the owner only, so
    they are built per (clock level, owner) and taken from that small table.
    """
    fired = [f for f in fired if len(f.rows)]
    if not fired:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in ALERT_COLUMNS})
        out["due_at"] = pd.Series(dtype="datetime64[ns]")
        return out
    texts = AlertTexts(h, ctx)
    rows = np.concatenate([f.rows for f in fired])
    due = np.concatenate([f.due for f in fired])
    own = np.concatenate([f.owner for f in fired])
    clk = np.concatenate([np.full(len(f.rows), f.clock, dtype=np.int64) for f in fired])
    lvl = np.concatenate([np.full(len(f.rows), f.level, dtype=np.int64) for f in fired])
    off = np.concatenate([np.full(len(f.rows), float(clocks[f.clock].levels[f.level].offset)) for f in fired])
    order = stable_order(due, h.hid[rows], clk * (max(len(k.levels) for k in clocks)) + lvl)
    msg = [_message(texts, f, clocks[f.clock], ctx) for f in fired]
    r, c, o = rows[order], clk[order], own[order]
    slots = len(h.owner_names) + 1
    rec_table = pa.concat_arrays([_recipients(texts, clocks[f.clock], f.level, ctx) for f in fired])
    grp = np.concatenate([np.full(len(f.rows), i, dtype=np.int64) for i, f in enumerate(fired)])[order]
    rec_at = grp * slots + np.where(o < 0, slots - 1, o)
    clock_ids = pa.array([k.id for k in clocks], pa.large_string())
    clock_stages = pa.array([k.stage for k in clocks], pa.large_string())
    return pd.DataFrame(
        {
            "handoff_id": h.hid[r],
            "lead_id": text_series(take_text(arrow_text(h.lead_ids), h.lead[r])).array,
            "stage": text_series(clock_stages.take(pa.array(c)), na_nan=True).array,
            "owner": text_series(take_text(texts.owner_table("owner"), o)).array,
            "handoff_at": h.at[r].view("datetime64[ns]"),
            "clock": text_series(clock_ids.take(pa.array(c)), na_nan=True).array,
            "level": lvl[order],
            "offset": off[order],
            "due_at": due[order].view("datetime64[ns]"),
            "recipients": text_series(rec_table.take(pa.array(rec_at))).array,
            "message": text_series(pa.concat_arrays(msg).take(pa.array(order))).array,
        }
    )
