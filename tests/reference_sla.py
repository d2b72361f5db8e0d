"""A slow, obviously-correct SLA audit: one hand-off at a time, plain Python loops.

Written straight from the clock rules in ``leadsim.sla``'s docstring, with no
vectorised tricks, so :func:`leadsim.sla.audit` can be checked against it.
``benchmarks/bench_sla.py`` times the real audit against it (its named baseline).
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadDefinition


def naive_audit(log: pd.DataFrame, touches: pd.DataFrame, definition: LeadDefinition, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per-hand-off Python loop: the slow obvious SLA audit (``lead_id, clock, level, due_at, owner``).

    ``log`` must be sorted by lead and time (``validate_stage_log`` output).  ``owner``: who held the lead when
    the level was due (the owner of its last log row at or before then).
    """
    cal = BusinessCalendar.from_definition(definition)
    f = definition.funnel
    rows: dict[str, list[tuple[pd.Timestamp, object]]] = defaultdict(list)
    visits: dict[str, list[tuple[str, pd.Timestamp, object]]] = defaultdict(list)
    for lead, stage, at, owner in zip(log["lead_id"], log["stage"], log["at"], log["owner"], strict=True):
        who = None if pd.isna(owner) else owner
        rows[lead].append((at, who))
        vs = visits[lead]
        if vs and vs[-1][0] == stage:
            continue  # a re-assignment, not a new visit
        vs.append((stage, at, who))

    def holder(lead, t):
        held = None
        for at, who in rows[lead]:
            if at <= t:
                held = who
        return held

    touched: dict[str, list[tuple[pd.Timestamp, object]]] = defaultdict(list)
    by = touches["by"] if "by" in touches.columns else [None] * len(touches)
    for lead, at, who in zip(touches["lead_id"], touches["at"], by, strict=True):
        touched[lead].append((at, None if pd.isna(who) else who))
    out = []
    for lead, vs in visits.items():
        for i, (stage, start, _owner) in enumerate(vs):
            for clock in definition.sla.clocks:
                if clock.stage != stage:
                    continue
                stops = [at for s, at, _ in vs[i + 1 :] if s == clock.stage][:1]
                for ev in clock.stop_on:
                    if ev == "touch":  # by whoever held the lead when it was touched
                        stops += [at for at, who in touched[lead]
                                  if at >= start and (who is None or holder(lead, at) in (None, who))]
                    elif ev == "leave_stage":
                        stops += [at for s, at, _ in vs[i + 1 : i + 2]]
                    elif ev == "recycle":
                        stops += [vs[j][1] for j in range(i + 1, len(vs))
                                  if vs[j][0] == f.recycle.to and vs[j - 1][0] in f.recycle.from_]
                    else:
                        stops += [at for s, at, _ in vs[i + 1 :] if s == ev]
                stop = min(stops) if stops else pd.Timestamp.max
                for level, lv in enumerate(clock.levels):
                    due = cal.add(pd.Timestamp(start), lv.offset, clock.unit, clock.wall_clock)
                    if due < stop and due <= as_of:
                        out.append((lead, clock.id, level, due, holder(lead, due)))
    res = pd.DataFrame(out, columns=["lead_id", "clock", "level", "due_at", "owner"])
    res["due_at"] = res["due_at"].astype("datetime64[ns]")
    return res.sort_values(["lead_id", "clock", "level", "due_at"], kind="stable").reset_index(drop=True)
