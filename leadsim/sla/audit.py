"""Clocks over histories: :func:`schedule` (what each hand-off would get) and :func:`audit` (what fired).

Both apply the ladder of :mod:`leadsim.sla.ladder`; this module turns tables
into its inputs: hand-offs, the owner holding each lead at each moment, the
first touch by the holder, and the stop events of every clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadsim.calendar import BusinessCalendar
from leadsim.calendars import TeamCalendars
from leadsim.definition import LeadDefinition, SlaClock
from leadsim.errors import DataError, SchemaError
from leadsim.exits import exit_moves, how_visits_ended
from leadsim.funnel import CodedLog, coded_log, id_ints, normalise_stages, to_local, validate_stage_log, visits
from leadsim.points import sort_table
from leadsim.scoring.inputs import timestamp
from leadsim.sla.ladder import (
    INF,
    Fired,
    Handoffs,
    arrow_text,
    build_alerts,
    check_clocks,
    context,
    due_times,
    fires,
    stop_time,
    take_text,
    text_series,
)

__all__ = ["AuditResult", "audit", "first_at_or_after", "handoffs_from_log", "schedule"]

_NAT = np.iinfo(np.int64).min


def _code_texts(x: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniq = pd.factorize(x.astype("string"))
    return np.asarray(codes, dtype=np.int64), pd.Index(uniq)


def _handoff_scores(scores: Any, h: Handoffs, definition: LeadDefinition) -> np.ndarray | None:
    """With a score history (``lead_id``, ``at``, ``score``): each hand-off's latest score at or before its start."""
    if not (isinstance(scores, pd.DataFrame) and "at" in scores.columns):
        return None
    missing = [c for c in ("lead_id", "score") if c not in scores.columns]
    if missing:
        raise SchemaError(f"a score history needs lead_id, at, score; missing {missing}", where="scores")
    at = to_local(scores["at"], definition, where="scores").to_numpy().astype("datetime64[ns]").view(np.int64)
    lead = pd.Index(h.lead_ids).astype("string").get_indexer(scores["lead_id"].astype("string"))
    ok = lead >= 0
    lead, at, val = lead[ok], at[ok], pd.to_numeric(scores["score"], errors="coerce").to_numpy(float)[ok]
    order = np.lexsort((at, lead))
    lead, at, val = lead[order], at[order], val[order]
    out = np.full(len(h.at), np.nan)
    if not len(lead):
        return out
    pos = _last_at_or_before(lead, at, h.lead, h.at)
    out[pos >= 0] = val[pos[pos >= 0]]
    return out


# --------------------------------------------------------------------------- schedule


def schedule(
    handoffs: pd.DataFrame,
    definition: LeadDefinition,
    *,
    owners: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    scores: Any = None,
) -> pd.DataFrame:
    """Every alert each hand-off would get if nobody acted.

    ``handoffs``: ``lead_id``, ``stage`` (id or label), ``at``, ``owner``.
    Returns one row per (hand-off, clock watching its stage, level):
    ``handoff_id`` (the hand-off's row number), ``lead_id``, ``stage``,
    ``owner``, ``handoff_at``, ``clock``, ``level`` (0, 1, ... along the
    ladder), ``offset``, ``due_at``, ``recipients`` (comma-separated),
    ``message``; ordered by ``due_at``.  ``scores``: a Series by lead id, a
    table with a ``score`` column (as :func:`leadsim.scoring.score` returns),
    or a score history with ``lead_id``, ``at``, ``score`` (each hand-off
    takes its lead's latest score at or before it).
    """
    clocks = check_clocks(definition)
    missing = [c for c in ("lead_id", "stage", "at") if c not in handoffs.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; hand-offs need lead_id, stage, at, owner", where="handoffs")
    stage = normalise_stages(handoffs["stage"], definition, where="handoffs").to_numpy()
    at = to_local(handoffs["at"], definition, where="handoffs").to_numpy().astype("datetime64[ns]").view(np.int64)
    lead, lead_ids = _code_texts(handoffs["lead_id"])
    if "owner" in handoffs.columns:
        owner, owner_names = _code_texts(handoffs["owner"])
    else:
        owner, owner_names = np.full(len(handoffs), -1, dtype=np.int64), pd.Index([], dtype="string")
    h = Handoffs(hid=np.arange(len(handoffs)), lead=lead, lead_ids=lead_ids, owner=owner, owner_names=owner_names,
                 at=at)
    h.score = _handoff_scores(scores, h, definition)
    ctx = context(definition, owners, leads, scores)
    fired = []
    for ci, clock in enumerate(clocks):
        rows = np.flatnonzero(stage == clock.stage)
        if not len(rows):
            continue
        team = ctx["team"]
        code = team.codes_of(owner[rows], owner_names)
        for i, due in enumerate(due_times(team, at[rows], clock, code=code)):
            fired.append(Fired(ci, i, rows, due, owner[rows]))
    out = build_alerts(h, clocks, fired, ctx)
    if len(at):
        out.attrs["calendars"] = ctx["team"].provenance(pd.Timestamp(int(at.min())), out["due_at"].max())
    return out


# --------------------------------------------------------------------------- audit


@dataclass
class AuditResult:
    """What an SLA audit found.

    ``alerts``: every alert that fired (the :func:`schedule` columns plus
    ``fired_at``).  ``summary``: a dict of tables and numbers (JSON-able
    through ``leadsim.cli._common.emit``): ``as_of``, ``n_handoffs``,
    ``n_alerts``, ``handoffs`` (per clock), ``levels`` (per clock level:
    hand-offs whose due time had come, touched/stopped before it, fired,
    breach rate), ``time_to_first_touch`` (working hours, per clock that
    stops on a touch), ``escalations_by_owner`` and
    ``escalations_by_manager`` (alerts above level 0), ``exits`` (per clock,
    how its visits ended by a side exit, by reason: ``handoffs``, ``alerted``
    with any level of the clock fired, ``last_level`` with its last level
    fired; see :func:`leadsim.exits.reason_breakdown` for the reasons).
    """

    alerts: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    handoffs: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"AuditResult({self.summary.get('n_handoffs', 0)} hand-offs, {len(self.alerts)} alerts)"


def handoffs_from_log(stage_log: pd.DataFrame, definition: LeadDefinition) -> pd.DataFrame:
    """The hand-offs in a stage log: every entry into a stage an SLA clock watches.

    Columns ``handoff_id, lead_id, stage, at, owner``; a re-assignment within
    the stage is not a new hand-off, a re-entry after a recycle is.
    """
    v = visits(validate_stage_log(stage_log, definition))
    watched = {c.stage for c in definition.sla.clocks}
    h = v[v["stage"].isin(watched)][["lead_id", "stage", "at", "owner"]].reset_index(drop=True)
    h.insert(0, "handoff_id", np.arange(len(h)))
    return h


def coded_touches(touches: pd.DataFrame | None, definition: LeadDefinition, c: CodedLog, first_seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Touches as (lead code, at ns, ``by`` code): ``by`` -1 when missing (anyone's touch), -2 for a name no hand-off has.

    ``c`` is the coded stage log (:func:`leadsim.funnel.coded_log`) and ``first_seen`` each lead's first log
    time (ns, by lead code).  Missing ``lead_id``/``at`` columns are a SchemaError; a touch on a lead the log
    does not know, or before the lead's first log row, is a DataError naming the row.  Without a ``by``
    column every touch counts as anyone's (-1).
    """
    if touches is None:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    missing = [k for k in ("lead_id", "at") if k not in touches.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; touches need lead_id, at, kind, by", where="touches")
    lead_text = touches["lead_id"].astype("string")
    at = to_local(touches["at"], definition, where="touches").to_numpy().astype("datetime64[ns]").view(np.int64)
    nums = id_ints(lead_text, c.id_shape) if c.id_shape is not None and c.id_numbers is not None else None
    if nums is not None:  # ids of the log's shape: look numbers up, not text
        lead = pd.Index(c.id_numbers).get_indexer(nums)  # a hash lookup; -1: unknown
    else:
        codes, uniq = _code_texts(lead_text)
        pos = np.append(c.lead_ids.get_indexer(uniq), -1)  # code -1 (missing id): unknown
        lead = pos[codes]
    unknown = lead < 0
    if unknown.any():
        i = np.flatnonzero(unknown)[0]
        raise DataError(
            f"row {touches.index[i]}: touch on lead {lead_text.iloc[i]!r}, which the stage log does not know "
            f"({int(unknown.sum())} such row(s)); give the stage log of every touched lead",
            where="touches",
        )
    first = first_seen[lead]
    early = at < first
    if early.any():
        i = np.flatnonzero(early)[0]
        raise DataError(
            f"row {touches.index[i]}: touch on lead {lead_text.iloc[i]!r} at {pd.Timestamp(at[i])}, before the lead existed "
            f"(first stage-log row {pd.Timestamp(first[i])}; {int(early.sum())} such row(s)); check the times' zone and the lead id",
            where="touches",
        )
    if "by" in touches.columns:
        bcodes, buniq = _code_texts(touches["by"])
        bpos = c.owner_names.get_indexer(buniq) if len(c.owner_names) else np.full(len(buniq), -1)
        by = np.append(np.where(bpos < 0, -2, bpos), -1)[bcodes]
    else:
        by = np.full(len(touches), -1, dtype=np.int64)
    return lead, at, by


def _next_event(ev_mask: np.ndarray, pos: np.ndarray, lead_code: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Time of the first event row after each row ``pos`` of the same lead (sorted log), else +inf."""
    ev_pos = np.flatnonzero(ev_mask)
    if not len(ev_pos):
        return np.full(len(pos), INF, dtype=np.int64)
    k = np.searchsorted(ev_pos, pos, side="right")
    cand = ev_pos[np.minimum(k, len(ev_pos) - 1)]
    ok = (k < len(ev_pos)) & (lead_code[cand] == lead_code[pos])
    return np.where(ok, at_ns[cand], INF)


def first_at_or_after(key_t: np.ndarray, t_ns: np.ndarray, key_h: np.ndarray, h_ns: np.ndarray) -> np.ndarray:
    """For each (key_h, h_ns): the smallest t_ns with the same key and t_ns >= h_ns, else +inf.

    Keys are non-negative ints.  When (key, time in units of the touches'
    common step) fits one int64, the touches are one sorted int64 array and
    one ``searchsorted`` answers all queries (a query time rounds up to the
    step: a touch is at or after it exactly when its step count is).  Else the
    touches are sorted by (key, time) and each query bisects its key's run,
    all queries in step.

    >>> got = first_at_or_after(np.array([1, 1, 2]), np.array([10, 30, 5]), np.array([1, 1, 2, 3]),
    ...                         np.array([0, 11, 6, 0]))
    >>> [int(x) if x < INF else "none" for x in got]
    [10, 30, 'none', 'none']
    """
    out = np.full(len(key_h), INF, dtype=np.int64)
    if not len(key_t) or not len(key_h):
        return out
    tmin = int(t_ns.min())
    unit = int(np.gcd.reduce(t_ns - tmin)) or 1
    span = (int(t_ns.max()) - tmin) // unit + 2  # + 1: a slot after the last touch
    if (max(int(key_t.max()), int(key_h.max())) + 1) * span < 2**62:
        comp = np.sort(key_t * np.int64(span) + (t_ns - tmin) // unit)
        steps = np.clip(-((tmin - h_ns) // unit), 0, span - 1)  # ceil((h - tmin) / unit)
        q = key_h * np.int64(span) + steps
        j = np.searchsorted(comp, q, side="left")
        jj = np.minimum(j, len(comp) - 1)
        ok = (j < len(comp)) & (comp[jj] // span == key_h)
        out[ok] = comp[jj[ok]] % span * unit + tmin
        return out
    order = np.lexsort((t_ns, key_t))
    ks, ts = key_t[order], t_ns[order]
    _start, end, pos = _bisect_runs(ks, ts, key_h, h_ns, "left")
    ok = pos < end
    out[ok] = ts[pos[ok]]
    return out


def _bisect_runs(key_t: np.ndarray, t_ns: np.ndarray, key_q: np.ndarray, q_ns: np.ndarray,
                 side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by key, then time: for each query (key, time), its key's run ``[start, end)`` and where the
    time goes in it (``side`` as in ``np.searchsorted``); all queries bisect their runs in step."""
    lo = np.searchsorted(key_t, key_q, side="left")
    hi = np.searchsorted(key_t, key_q, side="right")
    start, end = lo.copy(), hi.copy()
    while True:
        act = np.flatnonzero(lo < hi)
        if not len(act):
            break
        mid = (lo[act] + hi[act]) // 2
        right = t_ns[mid] < q_ns[act] if side == "left" else t_ns[mid] <= q_ns[act]
        lo[act[right]] = mid[right] + 1
        hi[act[~right]] = mid[~right]
    return start, end, lo


def _last_at_or_before(key_t: np.ndarray, t_ns: np.ndarray, key_q: np.ndarray, q_ns: np.ndarray) -> np.ndarray:
    """For each query (key, time): the position of the last row with that key at or before the time, else -1
    (``key_t``/``t_ns`` sorted by key, then time: a coded stage log)."""
    start, _end, pos = _bisect_runs(key_t, t_ns, key_q, q_ns, "right")
    return np.where(pos > start, pos - 1, -1)


def holder(c: CodedLog, lead: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
    """The owner code holding each lead at each time (the owner of its last log row at or before it; -1: none).

    ``c`` is a coded stage log (:func:`leadsim.funnel.coded_log`), ``lead`` codes into ``c.lead_ids`` and
    ``t_ns`` int64 nanoseconds; owner codes index ``c.owner_names``.  The holder-at-time rule of
    ``docs/design.md`` section 1.5 ("Who holds a lead"), shared by :func:`audit` and :mod:`leadsim.outcomes`.
    """
    pos = _last_at_or_before(c.lead, c.at, lead, t_ns)
    return np.where(pos >= 0, c.owner[np.maximum(pos, 0)], -1)


def first_touch(c: CodedLog, h: Handoffs, t_lead: np.ndarray, t_ns: np.ndarray, t_by: np.ndarray) -> np.ndarray:
    """First touch on each hand-off's lead at or after its start that counts: one by the owner holding the lead
    when it was made, or one when nobody held it, or one whose ``by`` is missing.

    The touch stop rule of ``docs/design.md`` section 1.5, in one place: :func:`audit` stops its clocks with it
    and :func:`leadsim.outcomes.from_history` measures response times with it.  ``h`` needs only ``lead`` (codes
    of ``c``) and ``at`` (ns); the touches come from :func:`coded_touches`.  Returns ns, ``INF`` when none.
    """
    if not len(t_lead) or not len(h.at):
        return np.full(len(h.at), INF, dtype=np.int64)
    held = holder(c, t_lead, t_ns)
    counts = (t_by == -1) | (held == -1) | (t_by == held)
    return first_at_or_after(t_lead[counts], t_ns[counts], h.lead, h.at)


def audit(
    stage_log: pd.DataFrame,
    touches: pd.DataFrame | None,
    definition: LeadDefinition,
    *,
    owners: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    scores: Any = None,
    as_of: Any = None,
) -> AuditResult:
    """Replay the SLA clocks over a history: which alerts fired, and how often each level was breached.

    ``stage_log`` and ``touches`` are the shared tables (``docs/design.md``,
    "Tables").  A touch on a lead the log does not know, or before the lead's
    first log row, is a :class:`~leadsim.errors.DataError`.  See
    :mod:`leadsim.sla` for the stop events, the tie rule and who holds a lead.

    Lead ids and owners are turned into integer codes once; the clocks run
    on int64 arrays and text is only made for the alerts that fired.
    """
    clocks = check_clocks(definition)
    c = coded_log(stage_log, definition, where="stage_log")
    # visits: collapse re-assignments (same lead, same stage in a row)
    new_lead = np.ones(len(c.lead), dtype=bool)
    new_lead[1:] = c.lead[1:] != c.lead[:-1]
    keep = new_lead.copy()
    keep[1:] |= c.stage[1:] != c.stage[:-1]
    lead_code, stage, at_ns, owner = c.lead[keep], c.stage[keep], c.at[keep], c.owner[keep]
    kept_rows = np.flatnonzero(keep)  # each visit's first row in the coded log; re-assignments follow it
    nl = new_lead[keep]
    until = np.full(len(at_ns), INF, dtype=np.int64)
    until[:-1] = np.where(nl[1:], INF, at_ns[1:])
    prev = np.full(len(stage), -1, dtype=np.int64)
    prev[1:] = np.where(nl[1:], -1, stage[:-1])

    first_seen = np.zeros(len(c.lead_ids), dtype=np.int64)
    first_seen[c.lead[new_lead]] = c.at[new_lead]
    t_lead, t_ns, t_by = coded_touches(touches, definition, c, first_seen)
    if as_of is None:
        cands = [int(x.max()) for x in (c.at, t_ns) if len(x)]
        as_of = pd.Timestamp(max(cands)) if len(c.at) else pd.Timestamp.max
    as_of_ns = timestamp(as_of, definition, what="as_of").value

    f = definition.funnel
    sid = {s: i for i, s in enumerate(f.stage_ids)}
    is_recycle = (stage == sid[f.recycle.to]) & np.isin(prev, [sid[s] for s in f.recycle.from_])

    ctx = context(definition, owners, leads, scores)
    cal: BusinessCalendar = ctx["calendar"]
    if len(c.at):
        cal.warn_beyond(pd.Timestamp(int(c.at.min())), pd.Timestamp(as_of_ns), "the audit")
    watched = [sid[s] for s in sorted({k.stage for k in clocks}, key=f.stage_ids.index)]
    hpos = np.flatnonzero(np.isin(stage, watched))
    h = Handoffs(
        hid=np.arange(len(hpos)), lead=lead_code[hpos], lead_ids=c.lead_ids,
        owner=owner[hpos], owner_names=c.owner_names, at=at_ns[hpos],
    )
    h.score = _handoff_scores(scores, h, definition)
    touch_ns = first_touch(c, h, t_lead, t_ns, t_by)
    stage_ids = pa.array(f.stage_ids, pa.large_string())
    hand = pd.DataFrame(
        {
            "handoff_id": h.hid,
            "lead_id": text_series(arrow_text(c.lead_ids).take(pa.array(h.lead)), na_nan=True).array,
            "stage": text_series(stage_ids.take(pa.array(stage[hpos])), na_nan=True).array,
            "at": h.at.view("datetime64[ns]"),
            "owner": text_series(take_text(arrow_text(c.owner_names), h.owner)).array,
            "first_touch_at": np.where(touch_ns == INF, _NAT, touch_ns).view("datetime64[ns]"),
        }
    )

    fired_parts, level_rows, ttf_rows, per_clock = [], [], [], []
    for ci, clock in enumerate(clocks):
        sel = stage[hpos] == sid[clock.stage]
        pos = hpos[sel]
        rows = np.flatnonzero(sel)
        start = at_ns[pos]
        events = {}
        for ev in clock.stop_on:
            if ev == "touch":
                events[ev] = touch_ns[sel]
            elif ev == "leave_stage":
                events[ev] = until[pos]
            elif ev == "recycle":
                events[ev] = _next_event(is_recycle, pos, lead_code, at_ns)
            else:
                events[ev] = _next_event(stage == sid[ev], pos, lead_code, at_ns)
        # a fresh hand-off into the clock's stage ends this clock
        stop = stop_time(clock, events, _next_event(stage == sid[clock.stage], pos, lead_code, at_ns))
        col = np.full(len(hpos), _NAT, dtype=np.int64)
        col[rows] = np.where(stop == INF, _NAT, stop)
        hand[f"stop_{clock.id}"] = col.view("datetime64[ns]")
        per_clock.append(
            {
                "clock": clock.id,
                "label": clock.label or clock.id,
                "stage": clock.stage,
                "handoffs": len(pos),
                "stopped": int((stop <= as_of_ns).sum()),
                "running": int((stop > as_of_ns).sum()),
            }
        )
        code, moves = _holder_calendars(ctx["team"], c, kept_rows, pos)
        for i, (lv, due) in enumerate(zip(clock.levels, due_times(ctx["team"], start, clock, code=code,
                                                                    handovers=moves), strict=True)):
            reached = due <= as_of_ns
            fired = fires(due, stop, as_of_ns)
            n_fired, n_reached = int(fired.sum()), int(reached.sum())
            level_rows.append(
                {
                    "clock": clock.id,
                    "level": i,
                    "offset": float(lv.offset),
                    "unit": clock.unit,
                    "due_by_as_of": n_reached,
                    "stopped_before": n_reached - n_fired,
                    "fired": n_fired,
                    "breach_rate": float(n_fired / n_reached) if n_reached else float("nan"),
                }
            )
            if n_fired:
                due_f = due[fired]
                fired_parts.append(Fired(ci, i, rows[fired], due_f, holder(c, lead_code[pos[fired]], due_f)))
        if "touch" in clock.stop_on:
            ttf_rows.append(_ttf_row(clock, start, touch_ns[sel], ctx["team"], code))

    exits = _exits_by_reason(stage_log, definition, clocks, hand, until[hpos], fired_parts)
    alerts = build_alerts(h, clocks, fired_parts, ctx)
    alerts["fired_at"] = alerts["due_at"]
    esc_owner, esc_manager = _escalations(h, clocks, fired_parts, ctx)
    summary = {
        "as_of": pd.Timestamp(as_of_ns),  # as read: local time of the home zone
        "n_handoffs": len(hpos),
        "n_alerts": len(alerts),
        "handoffs": pd.DataFrame(per_clock, columns=["clock", "label", "stage", "handoffs", "stopped", "running"]),
        "levels": pd.DataFrame(level_rows, columns=["clock", "level", "offset", "unit", "due_by_as_of",
                                                    "stopped_before", "fired", "breach_rate"]),
        "time_to_first_touch": pd.DataFrame(ttf_rows, columns=["clock", "handoffs", "touched", "touched_share",
                                                                "median_hours", "p80_hours", "p95_hours"]),
        "escalations_by_owner": esc_owner,
        "escalations_by_manager": esc_manager,
        "exits": exits,
        "calendars": ctx["team"].provenance(pd.Timestamp(int(c.at.min())) if len(c.at) else None,
                                            pd.Timestamp(as_of_ns)),
    }
    return AuditResult(alerts=alerts, summary=summary, handoffs=hand)


def _holder_calendars(team: TeamCalendars, c: CodedLog, kept_rows: np.ndarray,
                      pos: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The calendar code of the owner holding each hand-off's lead at its start, and the re-assignments within
    the visit as (at ns, new calendar code) pairs, one pair of arrays per re-assignment (``INF``: no more)."""
    code = team.codes_of(c.owner[kept_rows[pos]], c.owner_names)
    if team.single or not len(pos):
        return code, []
    first = kept_rows[pos]
    end = np.append(kept_rows, len(c.at))[pos + 1]
    moves = []
    for j in range(1, int((end - first).max())):
        has = first + j < end
        row = np.where(has, first + j, 0)
        moves.append((np.where(has, c.at[row], INF), team.codes_of(c.owner[row], c.owner_names)))
    return code, moves


def _ttf_row(clock: SlaClock, start: np.ndarray, touch: np.ndarray, team: TeamCalendars,
             code: np.ndarray) -> dict[str, Any]:
    """Time to first touch in working hours, on the calendar of the owner holding each lead at its hand-off."""
    touched = touch != INF
    hours = np.array([])
    if touched.any():
        hours = team.working_minutes_between(start[touched], touch[touched], code[touched]) / 60.0
    q = np.quantile(hours, [0.5, 0.8, 0.95]) if len(hours) else [np.nan] * 3
    return {
        "clock": clock.id,
        "handoffs": len(start),
        "touched": int(touched.sum()),
        "touched_share": float(touched.mean()) if len(start) else float("nan"),
        "median_hours": float(q[0]),
        "p80_hours": float(q[1]),
        "p95_hours": float(q[2]),
    }


def _escalations(h: Handoffs, clocks: list[SlaClock], fired: list[Fired],
                 ctx: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alerts per owner (holding the lead when the alert fired) and per manager: all, above level 0, at the top
    of their ladder.  Counted per owner code (``bincount``), then grouped by name on the few owners."""
    n = len(h.owner_names) + 1  # last slot: no owner
    counts = np.zeros((3, n), dtype=np.int64)
    for f in fired:
        code = np.where(f.owner < 0, n - 1, f.owner)
        b = np.bincount(code, minlength=n)
        counts[0] += b
        if f.level > 0:
            counts[1] += b
        if f.level == len(clocks[f.clock].levels) - 1:
            counts[2] += b
    names = pd.Series([*list(pd.Index(h.owner_names).astype("string")), pd.NA], dtype="string")
    managers: pd.Series = ctx["managers"]
    mgr = pd.Series(managers.reindex(names).to_numpy() if len(managers) else pd.NA, index=names.index, dtype="string")
    per_owner = pd.DataFrame({"alerts": counts[0], "escalations": counts[1], "top_level_alerts": counts[2]})
    have = counts[0] > 0
    out = []
    for who, key in (("owner", names), ("manager", mgr)):
        cols = [who, "alerts", "escalations", "top_level_alerts"]
        if not have.any():
            out.append(pd.DataFrame(columns=cols))
            continue
        k = key.fillna("(none)").to_numpy()[have]
        agg = per_owner[have].groupby(k).sum().rename_axis(who).reset_index()
        out.append(sort_table(agg, ["escalations", "alerts"], ascending=False, ties=who).reset_index(drop=True)[cols])
    return out[0], out[1]


def _exits_by_reason(stage_log: pd.DataFrame, definition: LeadDefinition, clocks: list[SlaClock],
                     hand: pd.DataFrame, until: np.ndarray, fired: list[Fired]) -> pd.DataFrame:
    """Per clock: the hand-offs into its stage that left it by a side exit, by exit and reason, and how many were
    alerted (any level fired) or reached the last level."""
    cols = ["clock", "exit", "reason", "label", "handoffs", "alerted", "last_level"]
    moves = exit_moves(stage_log, definition)
    ended = how_visits_ended(hand["lead_id"], hand["stage"],
                             pd.Series(np.where(until == INF, _NAT, until).view("datetime64[ns]")), moves)
    rows = []
    for ci, clock in enumerate(clocks):
        alerted = np.zeros(len(hand), bool)
        last = np.zeros(len(hand), bool)
        for f in fired:
            if f.clock == ci:
                alerted[f.rows] = True
                last[f.rows] |= f.level == len(clock.levels) - 1
        df = ended.assign(alerted=alerted, last_level=last)[(hand["stage"] == clock.stage).to_numpy()]
        df = df[df["exit"].notna()]
        g = df.groupby(["exit", "reason"], observed=True).agg(
            handoffs=("alerted", "size"), alerted=("alerted", "sum"), last_level=("last_level", "sum")).reset_index()
        for r in g.itertuples(index=False):
            rows.append({"clock": clock.id, "exit": r.exit, "reason": r.reason,
                         "label": definition.reasons.label(r.reason), "handoffs": int(r.handoffs),
                         "alerted": int(r.alerted), "last_level": int(r.last_level)})
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out["_e"] = out["exit"].map({"recycle": 0, "disqualify": 1, "lost": 2})
        out["_c"] = out["clock"].map({k.id: i for i, k in enumerate(clocks)})
        out = out.sort_values(["_c", "_e", "handoffs", "reason"], ascending=[True, True, False, True],
                              kind="stable").drop(columns=["_e", "_c"]).reset_index(drop=True)
    return out
