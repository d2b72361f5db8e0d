"""A slow, obviously-correct scorer: one lead at a time, plain Python loops.

Written straight from the semantics in ``leadsim.scoring``'s docstring, with
no numpy tricks, so the vectorised engine can be checked against it.
"""

from __future__ import annotations

import itertools
import math
import re

import pandas as pd


def missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def condition(value, cond, atype: str) -> bool:
    present = not missing(value)
    if cond.op == "exists":
        hit = present == bool(cond.value)
        return (not hit) if cond.negate else hit
    if not present:
        return False
    op = cond.op
    if atype in ("number", "integer"):
        x = float(value)
        if op == "eq":
            hit = x == float(cond.value)
        elif op == "ne":
            hit = x != float(cond.value)
        elif op == "in":
            hit = x in [float(v) for v in cond.value]
        elif op == "not_in":
            hit = x not in [float(v) for v in cond.value]
        elif op == "range":
            hit = (cond.min is None or x >= cond.min) and (cond.max is None or x < cond.max)
        elif op == "between":
            hit = (cond.min is None or x >= cond.min) and (cond.max is None or x <= cond.max)
        else:
            raise AssertionError(op)
    else:
        s = str(value)
        if op == "eq":
            hit = s == str(cond.value)
        elif op == "ne":
            hit = s != str(cond.value)
        elif op == "in":
            hit = s in [str(v) for v in cond.value]
        elif op == "not_in":
            hit = s not in [str(v) for v in cond.value]
        elif op == "contains":
            hit = cond.value.lower() in s.lower()
        elif op == "regex":
            hit = re.search(cond.value, s, re.IGNORECASE) is not None
        else:
            raise AssertionError(op)
    return (not hit) if cond.negate else hit


def detail_ok(detail, flt) -> bool:
    if flt is None:
        return True
    if missing(detail):
        return False
    d = str(detail)
    if flt.op == "eq":
        hit = d == flt.value
    elif flt.op == "in":
        hit = d in flt.value
    elif flt.op == "contains":
        hit = flt.value.lower() in d.lower()
    else:
        hit = re.search(flt.value, d, re.IGNORECASE) is not None
    return (not hit) if flt.negate else hit


def recycles(stage_rows, definition) -> list[pd.Timestamp]:
    """Times of the recycle moves in one lead's stage log rows [(stage, at)]."""
    rows = sorted(stage_rows, key=lambda r: r[1])  # stable: ties keep their order
    out = []
    for (prev, _), (cur, at) in itertools.pairwise(rows):
        if prev in definition.funnel.recycle.from_ and cur == definition.funnel.recycle.to:
            out.append(at)
    return out


def in_window(at, as_of, window_days, cut) -> bool:
    if at > as_of:
        return False
    if window_days is not None and not at > as_of - pd.Timedelta(days=window_days):
        return False
    return cut is None or at > cut


def score_lead(lead: dict, acts: list, rec: list, definition, as_of: pd.Timestamp) -> dict:
    """Contributions (by rule id), the hot trigger id that hands the lead over (None: none, or its gate holds it
    back), is_mql and held_by of one lead; acts = [(activity, at, detail)]."""
    attrs = {a.name: a.type for a in definition.attributes}
    out: dict = {}
    for r in list(definition.fit_rules) + definition.bant_rules():
        out[r.id] = r.points if condition(lead.get(r.attribute), r, attrs[r.attribute]) else 0.0
    cut = None
    if definition.on_recycle == "restart":
        before = [t for t in rec if t <= as_of]
        cut = max(before) if before else None
    for r in definition.behaviour_rules:
        hits = [
            at for (name, at, detail) in acts
            if name in r.activities and detail_ok(detail, r.detail) and in_window(at, as_of, r.window_days, cut)
        ]
        if r.mode == "each":
            total = 0.0
            for at in hits:
                age_days = (as_of - at) / pd.Timedelta(days=1)
                total += 1.0 if r.half_life_days is None else 0.5 ** (age_days / r.half_life_days)
            raw = r.points * total
            if r.cap is not None:
                raw = math.copysign(min(abs(raw), r.cap), r.points) if raw != 0 else 0.0
            out[r.id] = raw
        elif r.mode == "at_least":
            out[r.id] = r.points if len(hits) >= r.min_count else 0.0
        else:
            out[r.id] = r.points if hits else 0.0
    hot = None
    for trig in definition.hot_triggers:
        if any(
            name in trig.activities and detail_ok(detail, trig.detail) and in_window(at, as_of, trig.window_days, cut)
            for (name, at, detail) in acts
        ):
            hot = trig.id
            break
    total = sum(out[i] for i in definition.rule_ids)
    n_fit = len(definition.fit_rules) + len(definition.bant)
    fit = sum(out[i] for i in definition.rule_ids[:n_fit])
    behaviour = sum(out[i] for i in definition.rule_ids[n_fit:])
    # the documented tolerance: a score within a millionth of a point below the threshold reaches it
    reached = total >= definition.thresholds.mql - 1e-6
    mql_fails = gate_failure(definition.gates.mql, out, fit, behaviour, definition)
    hot_fails = gate_failure(definition.gates.hot, out, fit, behaviour, definition) if hot else None
    held = None
    if hot and hot_fails:
        held, hot = "hot." + hot_fails, None
    elif reached and mql_fails:
        held = "mql." + mql_fails
    mql = hot is not None or (reached and mql_fails is None)
    return {"contrib": out, "score": total, "hot": hot, "mql": mql, "held_by": None if mql else held}


def gate_failure(gate, contrib: dict, fit: float, behaviour: float, definition) -> str | None:
    """The first check of a gate a lead fails, as named in score()'s held_by (without the gate), or None."""
    for rule_id in gate.exclude:
        if contrib[rule_id] != 0:
            return f"exclude.{rule_id}"
    if gate.min_grade is not None:
        bound = definition.thresholds.fit_grades[gate.min_grade]
        if bound is not None and fit < bound - 1e-6:
            return "min_grade"
    if gate.min_behaviour is not None and behaviour < gate.min_behaviour - 1e-6:
        return "min_behaviour"
    return None


def _by_lead(leads, activities, stage_log, definition):
    acts = {lid: [] for lid in leads["lead_id"]}
    if activities is not None:
        for row in activities.itertuples(index=False):
            acts[row.lead_id].append((row.activity, pd.Timestamp(row.at), getattr(row, "detail", None)))
    stages = {lid: [] for lid in leads["lead_id"]}
    if stage_log is not None:
        for row in stage_log.itertuples(index=False):
            stages[row.lead_id].append((row.stage, pd.Timestamp(row.at)))
    return acts, {lid: recycles(rows, definition) for lid, rows in stages.items()}


def reference_score(leads, activities, definition, as_of, stage_log=None) -> dict:
    """{lead_id: score_lead(...)} at ``as_of``."""
    as_of = pd.Timestamp(as_of)
    acts, rec = _by_lead(leads, activities, stage_log, definition)
    return {
        lead["lead_id"]: score_lead(lead, acts[lead["lead_id"]], rec[lead["lead_id"]], definition, as_of)
        for lead in leads.to_dict("records")
    }


def reference_mql_events(leads, activities, definition, until, stage_log=None) -> list[dict]:
    until = pd.Timestamp(until)
    acts, rec = _by_lead(leads, activities, stage_log, definition)
    events = []
    for lead in leads.to_dict("records"):
        lid = lead["lead_id"]
        created = lead.get("created_at")
        created = None if missing(created) else pd.Timestamp(created)
        moments = set()
        if created is not None:
            moments.add(created)
        for _, at, _ in acts[lid]:
            moments.add(at if created is None else max(at, created))
        moments.update(rec[lid])
        done_episodes = set()
        for t in sorted(m for m in moments if m <= until):
            episode = sum(1 for r in rec[lid] if r <= t)
            if episode in done_episodes:
                continue
            snap = score_lead(lead, acts[lid], rec[lid], definition, t)
            if snap["mql"]:
                done_episodes.add(episode)
                events.append(
                    {"lead_id": lid, "at": t, "reason": "hot" if snap["hot"] else "score",
                     "trigger": snap["hot"], "score": snap["score"]}
                )
    return events
