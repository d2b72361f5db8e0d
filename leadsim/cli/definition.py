"""``leadsim definition validate|show|diff``: check, read and compare lead definitions."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from leadsim.cli._common import add_json_flag, emit
from leadsim.definition import Condition, LeadDefinition, diff, load_definition


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("definition", help="validate, show or diff a lead definition (YAML)")
    group = p.add_subparsers(dest="action", metavar="ACTION")

    v = group.add_parser("validate", help="check a definition file; exit 2 with the first problem")
    v.add_argument("file", nargs="?", help="definition YAML (default: the embedded one; 'de' for the German one)")
    v.set_defaults(func=cmd_validate)

    s = group.add_parser("show", help="print a definition's rules, thresholds, funnel and SLA clocks as tables")
    s.add_argument("file", nargs="?", help="definition YAML (default: the embedded one)")
    add_json_flag(s)
    s.set_defaults(func=cmd_show)

    d = group.add_parser("diff", help="what changed between two definitions")
    d.add_argument("old", help="the old definition YAML")
    d.add_argument("new", help="the new definition YAML")
    add_json_flag(d)
    d.set_defaults(func=cmd_diff)

    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _counts(d: LeadDefinition) -> str:
    return (
        f"{len(d.fit_rules)} fit rules, {len(d.bant)} BANT rules, {len(d.behaviour_rules)} behaviour rules, "
        f"{len(d.hot_triggers)} hot triggers, {len(d.funnel.stages)} stages, {len(d.sla.clocks)} SLA clocks"
    )


def cmd_validate(args: argparse.Namespace) -> int:
    d = load_definition(args.file)
    print(f"OK: {args.file or 'embedded default'}: {d.name} version {d.version} ({_counts(d)}); MQL threshold {d.thresholds.mql:g}")
    return 0


def _fmt(v: Any) -> str:
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
        value = f"/{c.value}/" if op == "regex" else _fmt(c.value)
        text = f"{a} {word} {value}"
    return f"NOT ({text})" if c.negate else text


def _detail_text(flt: Any) -> str:
    if flt is None:
        return ""
    text = f"detail {flt.op} {_fmt(flt.value)}"
    return f"NOT ({text})" if flt.negate else text


def tables(d: LeadDefinition) -> dict[str, Any]:
    """The definition as named tables (what ``show`` prints)."""
    header = {
        "definition": f"{d.name}, version {d.version}, language {d.language}",
        "agreed by": f"{d.agreed_by.marketing} (marketing) and {d.agreed_by.sales} (sales) on {d.agreed_by.date}",
        "calendar": f"{d.calendar.timezone}, {', '.join(d.calendar.working_days)} "
        f"{d.calendar.working_hours[0]}-{d.calendar.working_hours[1]}, {len(d.calendar.holidays)} holidays",
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
                "activity": _fmt(r.activity),
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
        [{"id": t.id, "label": t.label, "activity": _fmt(t.activity), "detail": _detail_text(t.detail),
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


def cmd_show(args: argparse.Namespace) -> int:
    d = load_definition(args.file)
    if args.json:
        emit(d.to_dict(), True)
        return 0
    parts = tables(d)
    for k, v in parts.pop("header").items():
        print(f"{k}: {v}")
    for title, table in parts.items():
        table = table.astype(object).where(table.notna(), "")
        emit(table.set_index("id") if "id" in table.columns else table.set_index("band"), False, title=title)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    old, new = load_definition(args.old), load_definition(args.new)
    table = diff(old, new)
    if args.json:
        emit({"old_version": old.version, "new_version": new.version, "changes": table}, True)
        return 0
    print(f"{args.old} (version {old.version}) -> {args.new} (version {new.version}): {len(table)} change(s)")
    if len(table):
        emit(table.astype(object).map(lambda v: "" if v is None else _fmt(v)), False)
    return 0
