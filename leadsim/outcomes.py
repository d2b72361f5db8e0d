"""Outcomes from history: one row per hand-off, derived from the stage log and the touches.

:func:`from_history` turns the two tables every CRM can export (stage changes
and sales contacts) into the ``outcomes`` table of ``docs/design.md`` section
2.2 ("The six input tables"), so :func:`leadsim.calibration.calibrate` can
learn from a history that has no outcomes table of its own.  The rules
(``docs/design.md`` section 1.9, "Outcomes from history"):

* **Hand-off**: every *entry* into the definition's ``funnel.milestones.mql``
  stage (a visit of :func:`leadsim.funnel.visits`): a re-entry after a recycle
  is a new hand-off, a re-assignment row (the same stage again) is not.
  ``handoff_id`` is ``lead_id#n``, ``n`` counting the lead's hand-offs in
  time order from 1 (as :func:`leadsim.io.read_table` builds missing ids).
* ``handoff_reason``: the hand-off row's ``reason`` when it is ``score``,
  ``hot`` or ``exploration`` (any case); ``manual`` for anything else (an
  import, a CRM status change, no reason).
* ``propensity``: the stage log's own ``propensity`` on the hand-off row when
  it has that column and the row a value; else 1 for score, hot and manual
  hand-offs and NA for exploration ones (their chance of hand-off is not in
  the log; :func:`~leadsim.calibration.calibrate` then weighs them 1 and says so).
* ``owner``: who holds the lead at the hand-off (the owner of its last log row
  at or before it, :func:`leadsim.sla.audit.holder`).
* ``response_minutes``: working minutes on the definition's calendar
  (``BusinessCalendar.working_minutes_between``) from the hand-off to the first
  touch that counts (:func:`leadsim.sla.audit.first_touch`: by the owner
  holding the lead at the touch, by anyone while nobody holds it or when the
  touch has no ``by``), at or after the hand-off and no later than the moment
  the lead leaves the stage; NA when there is none.
* **Path**: the visits after the hand-off's visit while they stay on the main
  path beyond the MQL stage (Sales Lead, Opportunity, Customer in the sample).
  The first other visit (a recycle, disqualified, lost, or anything else)
  ends the path: the lead *left* then.  A milestone is *reached* at the first
  path visit of its stage or a later main-path stage.
* ``sql``: True when the ``sql`` milestone is reached at most
  ``funnel.outcome_window_days`` calendar days after the hand-off (the
  window's end included); False when it is reached later, when the lead left
  before reaching it, or when the window has ended at ``as_of`` without it;
  NA while the window is still open at ``as_of`` (not a negative).
* ``opportunity``, ``won``: False when ``sql`` is False; True when the path
  reaches the milestone (no window of their own: a deal closes in months);
  False when the lead left before; NA while open.
* ``reason``: the ``reason`` of the log row that moved the lead out of the
  MQL stage (in the sample ``qualified`` or a recycle or disqualify reason
  id such as ``no_contact`` or ``student``); NA while it is still there.

``as_of`` is the moment the history was exported (``docs/design.md`` section
3.4): read like every ``as_of`` (a tz-aware one converted to the calendar's
zone); stage-log rows and touches after it are ignored, a row exactly at it
counts.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> log = pd.DataFrame({
...     "lead_id": ["L1", "L1", "L1", "L2", "L2"],
...     "stage": ["name", "lead", "sales_lead", "name", "Lead"],
...     "at": pd.to_datetime(["2026-03-02 08:00", "2026-03-02 10:00", "2026-03-04 12:00",
...                           "2026-04-20 09:00", "2026-04-21 16:30"]),
...     "reason": ["created", "score", "qualified", "import", "import"],
...     "owner": [None, "ana", "rob", None, "ben"]})
>>> touches = pd.DataFrame({"lead_id": ["L1", "L2"], "by": ["ana", "ben"],
...                         "at": pd.to_datetime(["2026-03-02 10:30", "2026-04-22 09:15"])})
>>> o = from_history(log, touches, load_definition(), as_of="2026-04-30")
>>> print(o[["handoff_id", "handoff_reason", "owner", "response_minutes", "sql", "reason"]].to_string(index=False))
handoff_id handoff_reason owner  response_minutes  sql    reason
      L1#1          score   ana              30.0 True qualified
      L2#1         manual   ben              45.0 <NA>      <NA>

L2 was handed over on Tuesday 16:30 and first called on Wednesday 09:15: 30 + 15
working minutes.  Its 30-day window is still open on 30 April, so ``sql`` is NA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, DefinitionError, SchemaError
from leadsim.funnel import coded_log, to_local, visits
from leadsim.keys import stable_order
from leadsim.scoring.inputs import timestamp
from leadsim.sla.audit import coded_touches, first_touch, holder
from leadsim.sla.ladder import INF, Handoffs

__all__ = ["HANDOFF_REASONS", "OUTCOME_COLUMNS", "from_history", "latest_time"]

#: log reasons taken over as the hand-off's reason; any other is ``manual``
HANDOFF_REASONS = ("score", "hot", "exploration")
#: the columns :func:`from_history` returns, in order
OUTCOME_COLUMNS = ("handoff_id", "lead_id", "handed_at", "handoff_reason", "propensity", "owner",
                   "response_minutes", "sql", "opportunity", "won", "reason")
_NS_PER_DAY = 86_400_000_000_000


def _onward_ranks(definition: LeadDefinition) -> np.ndarray:
    """Main-path rank of each stage (by ``funnel.stage_ids`` position) beyond the MQL stage, -1 for every other
    stage (the marketing stages, the MQL stage itself, the exits)."""
    f = definition.funnel
    main = [s.id for s in f.stages if s.part != "exit" and s.id not in (f.disqualify.to, f.lost.to)]
    rank = {s: i for i, s in enumerate(main)}
    if f.milestones.mql not in rank:
        raise DefinitionError(f"the MQL milestone {f.milestones.mql!r} is not a stage of the main path {main}",
                              where="funnel.milestones.mql")
    onward = np.full(len(f.stage_ids), -1, dtype=np.int64)
    for s, r in rank.items():
        if r > rank[f.milestones.mql]:
            onward[f.stage_ids.index(s)] = r
    return onward


def _log_column(stage_log: pd.DataFrame, name: str) -> pd.Series:
    if name in stage_log.columns:
        return stage_log[name].astype("string").reset_index(drop=True)
    return pd.Series(pd.NA, index=range(len(stage_log)), dtype="string")


def _log_propensity(stage_log: pd.DataFrame) -> np.ndarray:
    """The stage log's ``propensity`` column as floats in input order (NaN: none given)."""
    if "propensity" not in stage_log.columns:
        return np.full(len(stage_log), np.nan)
    raw = stage_log["propensity"]
    p = pd.to_numeric(raw, errors="coerce")
    bad = (p.isna() & raw.notna()).to_numpy(dtype=bool)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise DataError(f"row {stage_log.index[i]}: propensity {raw.iloc[i]!r} is not a number; give a chance "
                        f"in (0, 1] or leave it empty", where="stage_log.propensity")
    return p.to_numpy(dtype=float, na_value=np.nan)


def _next_at_or_end(marks: np.ndarray, after: np.ndarray, n: int) -> np.ndarray:
    """For each position in ``after``: the first marked position greater than it, else ``n``."""
    pos = np.flatnonzero(marks)
    j = np.searchsorted(pos, after, side="right")
    out = np.full(len(after), n, dtype=np.int64)
    ok = j < len(pos)
    out[ok] = pos[j[ok]]
    return out


def _label(true: np.ndarray, false: np.ndarray) -> pd.arrays.BooleanArray:
    out = pd.array(np.where(true, True, None), dtype="boolean")
    out[false & ~true] = False
    return out


def from_history(stage_log: pd.DataFrame, touches: pd.DataFrame | None, definition: LeadDefinition, *,
                 as_of: Any) -> pd.DataFrame:
    """One row per hand-off in ``stage_log``, with its owner, response time and outcome as of ``as_of``.

    ``stage_log`` and ``touches`` are the tables of ``docs/design.md`` section
    2.2 (``touches`` may be None: no response times); the stage log is
    checked as :func:`leadsim.funnel.validate_stage_log` checks it (missing
    columns, unknown stages, unreadable times, moves the funnel does not allow)
    and touches as :func:`leadsim.sla.audit` does (a touch on a lead the log
    does not know, or before its first row, is a :class:`DataError` naming the
    row).  Returns the columns ``OUTCOME_COLUMNS`` (ids and text as pandas
    strings, ``handed_at`` naive local, ``sql``/``opportunity``/``won``
    nullable ``boolean``), ordered by ``handed_at`` then lead id.  The rules
    are in the module docstring.
    """
    definition = require_definition(definition, where="outcomes.from_history")
    if touches is not None and not isinstance(touches, pd.DataFrame):
        raise SchemaError(f"touches is a DataFrame (lead_id, at, kind, by) or None, got {type(touches).__name__}",
                          where="touches")
    f = definition.funnel
    cut = timestamp(as_of, definition, what="as_of").value
    onward = _onward_ranks(definition)
    if onward[f.stage_ids.index(f.milestones.sql)] < 0:
        raise DefinitionError(f"the sql milestone {f.milestones.sql!r} must be a main-path stage after the MQL "
                              f"stage {f.milestones.mql!r}", where="funnel.milestones.sql")

    c = coded_log(stage_log, definition, where="stage_log")  # the checks of validate_stage_log
    reason_text = _log_column(stage_log, "reason").to_numpy(dtype=object, na_value=None)[c.order]
    propensity_in = _log_propensity(stage_log)[c.order]

    # visits up to as_of (re-assignments collapsed), in sorted-log positions
    seen = np.flatnonzero(c.at <= cut)
    v = visits(pd.DataFrame({"lead_id": c.lead[seen], "stage": c.stage[seen], "at": c.at[seen], "row": seen}))
    lead_v, stage_v, at_v = (v[k].to_numpy(dtype=np.int64) for k in ("lead_id", "stage", "at"))
    row_v = v["row"].to_numpy(dtype=np.int64)
    n_v = len(v)
    new_lead = np.ones(n_v, dtype=bool)
    new_lead[1:] = lead_v[1:] != lead_v[:-1]
    hv = np.flatnonzero(stage_v == f.stage_ids.index(f.milestones.mql))
    nxt = np.minimum(hv + 1, max(n_v - 1, 0))
    left = (hv + 1 < n_v) & ~new_lead[nxt]  # the lead moved out of the MQL stage by as_of
    lead_h, at_h = lead_v[hv], at_v[hv]

    # the path beyond the MQL stage: where it ends, and where each milestone is reached
    end = _next_at_or_end((onward[stage_v] < 0) | new_lead, hv, n_v)
    exited = (end < n_v) & ~new_lead[np.minimum(end, max(n_v - 1, 0))]

    def reached(milestone: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(reached on the path, when) per hand-off; None when the milestone is not beyond the MQL stage."""
        r = onward[f.stage_ids.index(milestone)]
        if r < 0:
            return None
        q = _next_at_or_end(onward[stage_v] >= r, hv, n_v)
        hit = q < end
        return hit, np.where(hit, at_v[np.minimum(q, max(n_v - 1, 0))], 0)

    hit, t_sql = reached(f.milestones.sql)  # type: ignore[misc]  # checked above
    window_end = at_h + np.int64(f.outcome_window_days) * _NS_PER_DAY
    in_time = hit & (t_sql <= window_end)
    sql_false = (hit & ~in_time) | (~hit & (exited | (window_end <= cut)))
    labels = {"sql": _label(in_time, sql_false)}
    for name in ("opportunity", "won"):
        got = reached(getattr(f.milestones, name))
        labels[name] = (pd.array([pd.NA] * len(hv), dtype="boolean") if got is None
                        else _label(got[0] & ~sql_false, sql_false | (~got[0] & exited)))

    # owner at the hand-off; first touch that counts, before the lead leaves the stage
    owner_code = holder(c, lead_h, at_h)
    first_seen = np.zeros(len(c.lead_ids), dtype=np.int64)
    starts = np.ones(len(c.lead), dtype=bool)
    starts[1:] = c.lead[1:] != c.lead[:-1]
    first_seen[c.lead[starts]] = c.at[starts]
    t_lead, t_ns, t_by = coded_touches(touches, definition, c, first_seen)
    now = t_ns <= cut
    h = Handoffs(hid=np.arange(len(hv)), lead=lead_h, lead_ids=c.lead_ids, owner=owner_code,
                 owner_names=c.owner_names, at=at_h)
    touch = first_touch(c, h, t_lead[now], t_ns[now], t_by[now])
    counted = (touch != INF) & (touch <= np.where(left, at_v[nxt], INF))
    minutes = np.full(len(hv), np.nan)
    if counted.any():
        cal = BusinessCalendar.from_definition(definition)
        minutes[counted] = cal.working_minutes_between(at_h[counted].view("datetime64[ns]"),
                                                       touch[counted].view("datetime64[ns]"))

    # reasons and propensities from the log rows
    given = pd.Series(reason_text[row_v[hv]], dtype="string").str.strip().str.casefold()
    why = given.where(given.isin(HANDOFF_REASONS), "manual").fillna("manual")
    prop = propensity_in[row_v[hv]]
    prop = np.where(np.isnan(prop), np.where(why.to_numpy() == "exploration", np.nan, 1.0), prop)
    exit_reason = np.where(left, reason_text[row_v[nxt]], None)

    first_of_lead = np.r_[True, lead_h[1:] != lead_h[:-1]] if len(hv) else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(first_of_lead, np.arange(len(hv)), 0)) if len(hv) else hv
    lead_text = pd.Series(np.asarray(c.lead_ids, dtype=object)[lead_h], dtype="string")
    names = np.append(np.asarray(c.owner_names, dtype=object), None)
    out = pd.DataFrame({
        "handoff_id": lead_text + "#" + pd.Series(np.arange(len(hv)) - run_start + 1).astype("string"),
        "lead_id": lead_text,
        "handed_at": at_h.view("datetime64[ns]"),
        "handoff_reason": why.astype("string"),
        "propensity": prop.astype(float),
        "owner": pd.Series(names[owner_code], dtype="string"),
        "response_minutes": minutes,
        **labels,
        "reason": pd.Series(exit_reason, dtype="string"),
    })
    order = stable_order(at_h, lead_h)
    return out.take(order).reset_index(drop=True)[list(OUTCOME_COLUMNS)]


def latest_time(stage_log: pd.DataFrame, touches: pd.DataFrame | None, definition: LeadDefinition) -> pd.Timestamp:
    """The latest time in the stage log and the touches (naive local): the default ``as_of`` of a history.

    The same default as :func:`leadsim.sla.audit` (``docs/design.md`` section 3.4).

    >>> from leadsim import load_definition
    >>> log = pd.DataFrame({"lead_id": ["L1"], "stage": ["name"], "at": ["2026-03-02T09:00:00Z"]})
    >>> latest_time(log, pd.DataFrame({"lead_id": ["L1"], "at": ["2026-03-02 09:30"]}), load_definition())
    Timestamp('2026-03-02 10:00:00')
    """
    times = []
    for name, table in (("stage_log", stage_log), ("touches", touches)):
        if isinstance(table, pd.DataFrame) and "at" in table.columns and len(table):
            times.append(to_local(table["at"], definition, where=name).max())
    if not times:
        raise DataError("the stage log and the touches hold no times; pass as_of, the moment the history was "
                        "exported", where="stage_log.at")
    return pd.Timestamp(max(times))
