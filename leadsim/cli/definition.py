"""``leadsim definition validate|show|diff``: check, read and compare lead definitions."""

from __future__ import annotations

import argparse

from leadsim.cli._common import add_json_flag, emit
from leadsim.definition import LeadDefinition, diff, load_definition
from leadsim.definition_tables import definition_tables, value_text


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


def cmd_show(args: argparse.Namespace) -> int:
    d = load_definition(args.file)
    if args.json:
        emit(d.to_dict(), True)
        return 0
    parts = definition_tables(d)
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
        emit(table.astype(object).map(lambda v: "" if v is None else value_text(v)), False)
    return 0
