"""A lead definition as readable tables: rules, bands, funnel and clocks in words.

Used by ``leadsim definition show``, the notebooks and the report, so a sign-off
meeting reads the same text everywhere.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadsim import public_holidays
from leadsim.definition import Calendar, Condition, LeadDefinition

__all__ = ["calendar_text", "condition_text", "definition_tables", "value_text"]


def value_text(v: Any) -> str:
    """A value or list as short text: ``[a, b]``."""
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def condition_text(c: Condition) -> str:
    """A rule condition as one readable line, e.g. ``company_size in [50, 200)``.

    >>> condition_text(Condition(attribute="seniority", op="in", value=["vp", "c_level"]))
    'seniority in [vp, c_level]'
    >>> condition_text(Condition(attribute="company_size", op="range", min=50, max=200))
    'company_size in [50, 200)'
    """
    a, op = c.attribute, c.op
    if op in ("range", "between"):
        lo = "-inf" if c.min is None else f"{c.min:g}"
        hi = "inf" if c.max is None else f"{c.max:g}"
        text = f"{a} in [{lo}, {hi}{')' if op == 'range' else ']'}"
    elif op == "exists":
        text = f"{a} {'is present' if c.value else 'is missing'}"
    else:
        word = {"eq": "=", "ne": "!=", "in": "in", "not_in": "not in", "contains": "contains", "regex": "matches"}[op]
        value = f"/{c.value}/" if op == "regex" else value_text(c.value)
        text = f"{a} {word} {value}"
    return f"NOT ({text})" if c.negate else text


def _detail_text(flt: Any) -> str:
    if flt is None:
        return ""
    text = f"detail {flt.op} {value_text(flt.value)}"
    return f"NOT ({text})" if flt.negate else text


def calendar_text(c: Calendar) -> str:
    """One line on a calendar, for people.

    >>> from leadsim import load_definition
    >>> calendar_text(load_definition().calendar)
    'Europe/Berlin, mon, tue, wed, thu, fri 09:00-17:00, public holidays of DE (holidays ...), 0 own days off'
    """
    where = c.country + (f"-{c.subdivision}" if c.subdivision else "") if c.country else None
    days_off = (f"public holidays of {where} (holidays {public_holidays.version()}), {len(c.holidays)} own days off"
                if where else f"{len(c.holidays)} holidays listed")
    half = f", half days: {'; '.join(h.label for h in c.half_days)}" if c.half_days else ""
    return f"{c.timezone}, {', '.join(c.working_days)} {c.working_hours[0]}-{c.working_hours[1]}, {days_off}{half}"


def definition_tables(d: LeadDefinition) -> dict[str, Any]:
    """The definition as named tables, for people: what ``leadsim definition show`` prints.

    Keys: ``header`` (a dict of one-line facts), ``fit and BANT rules``,
    ``behaviour rules``, ``hot triggers``, ``grades and engagement bands``,
    ``funnel`` and ``SLA clocks`` (DataFrames).

    >>> from leadsim import load_definition
    >>> t = definition_tables(load_definition())
    >>> t["fit and BANT rules"].loc[0, ["id", "condition"]].tolist()
    ['senior_exec', 'seniority in [c_level, vp]']
    """
    header = {
        "definition": f"{d.name}, version {d.version}, language {d.language}",
        "agreed by": f"{d.agreed_by.marketing} (marketing) and {d.agreed_by.sales} (sales) on {d.agreed_by.date}",
        "calendar": calendar_text(d.calendar),
        **{f"calendar {name}": calendar_text(c) for name, c in d.calendars.items()},
        "MQL threshold": f"{d.thresholds.mql:g}",
        "on recycle": d.on_recycle,
    }
    fit = pd.DataFrame(
        [{"id": r.id, "label": r.label, "category": r.category, "condition": condition_text(r), "points": r.points}
         for r in d.fit_rules]
        + [{"id": f"bant_{k}", "label": r.label, "category": "bant", "condition": condition_text(r), "points": r.points}
           for k, r in d.bant.items()]
    )
    behaviour = pd.DataFrame(
        [
            {
                "id": r.id,
                "label": r.label,
                "activity": value_text(r.activity),
                "detail": _detail_text(r.detail),
                "mode": r.mode if r.mode != "at_least" else f"at_least {r.min_count}",
                "points": r.points,
                "cap": r.cap,
                "half_life_days": r.half_life_days,
                "window_days": r.window_days,
            }
            for r in d.behaviour_rules
        ]
    )
    hot = pd.DataFrame(
        [{"id": t.id, "label": t.label, "activity": value_text(t.activity), "detail": _detail_text(t.detail),
          "window_days": t.window_days} for t in d.hot_triggers]
    )
    th = d.thresholds
    grades = pd.DataFrame(
        [{"band": k, "kind": "fit grade", "lower bound": v} for k, v in th.fit_grades.items()]
        + [{"band": k, "kind": "engagement", "lower bound": v} for k, v in th.engagement.items()]
    )
    moves = d.funnel.allowed()
    stages = pd.DataFrame(
        [
            {
                "id": s.id,
                "label": s.label,
                "part": s.part,
                "entry": s.id in d.funnel.entry,
                "moves to": ", ".join(b for b in d.funnel.stage_ids if (s.id, b) in moves),
                "criteria": s.criteria if isinstance(s.criteria, str) or s.criteria is None
                else " AND ".join(condition_text(c) for c in s.criteria),
            }
            for s in d.funnel.stages
        ]
    )
    clocks = pd.DataFrame(
        [
            {
                "id": c.id,
                "label": c.label,
                "stage": c.stage,
                "unit": c.unit + (" (wall clock)" if c.wall_clock else ""),
                "levels": ", ".join(f"{lv.offset:g}: {'+'.join(lv.recipients)}" for lv in c.levels),
                "stop on": ", ".join(c.stop_on),
            }
            for c in d.sla.clocks
        ]
    )
    return {"header": header, "fit and BANT rules": fit, "behaviour rules": behaviour, "hot triggers": hot,
            "grades and engagement bands": grades, "funnel": stages, "SLA clocks": clocks}
