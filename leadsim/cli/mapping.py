"""``leadsim mapping check``: what a column mapping does to an export folder or database, before anything runs."""

from __future__ import annotations

import argparse

from leadsim.cli._common import add_definition_option, add_json_flag, emit
from leadsim.definition import load_definition


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mapping", help="column mappings: check one against an export folder")
    ms = p.add_subparsers(dest="mapping_command", metavar="ACTION", required=True)
    c = ms.add_parser("check", help="what each column and value maps to, what is unmapped, rows per table")
    c.add_argument("--mapping", required=True, metavar="FILE",
                   help="column mapping YAML (templates: data/mappings/salesforce.yaml, hubspot.yaml, marketo.yaml)")
    where = c.add_mutually_exclusive_group(required=True)
    where.add_argument("--export", metavar="DIR", help="the export folder")
    where.add_argument("--db", metavar="URL", help="a database holding the export's tables (duckdb:///file.duckdb, "
                       "postgresql://...)")
    add_definition_option(c)
    c.add_argument("--all-values", action="store_true", help="list every mapped value, not only the unmapped ones")
    add_json_flag(c)
    c.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from leadsim.io.check import check_mapping

    if args.db:
        from leadsim.io.database import Database

        with Database(args.db) as db:
            c = check_mapping(db, load_definition(args.definition), mapping=args.mapping)
    else:
        c = check_mapping(args.export, load_definition(args.definition), mapping=args.mapping)
    values = c.values if args.all_values or args.json else c.values[c.values["maps_to"] == "(unmapped)"]
    if args.json:
        emit({"columns": c.columns, "values": values, "unread": c.unread, "rows": c.rows, "summary": c.summary}, True)
        return 0
    emit(c.columns, False, title="Columns: leadsim column <- export column")
    emit(values, False, title="Values" + ("" if args.all_values else " left unmapped (--all-values lists all)"))
    emit(c.unread, False, title="Export columns no table reads")
    emit(c.rows, False, title="Rows per table")
    print()
    for line in c.summary:
        print(line)
    return 0
