"""``leadsim export-to-db``: load a CRM export folder into a database, one typed table per file.

``leadsim export-to-db --export DIR --mapping FILE --db URL [--replace]`` writes each file the mapping names as
a table named after it (``Lead.csv`` -> ``lead``), so the same mapping then reads the database with ``--db``
(:func:`leadsim.io.export.export_to_db`).  All tables are written in one transaction.
"""

from __future__ import annotations

import argparse

from leadsim.cli._common import add_definition_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-to-db", help="load a CRM export folder into a database (DuckDB or PostgreSQL)")
    p.add_argument("--export", metavar="DIR", required=True, help="the CRM export folder")
    p.add_argument("--mapping", metavar="FILE", required=True, help="column mapping YAML naming the files to load")
    p.add_argument("--db", metavar="URL", required=True,
                   help="duckdb:///history.duckdb or postgresql://user:password@host:port/db")
    p.add_argument("--replace", action="store_true", help="replace tables that exist already")
    add_definition_option(p)
    p.set_defaults(func=cmd_export_to_db)


def cmd_export_to_db(args: argparse.Namespace) -> int:
    from leadsim.definition import load_definition
    from leadsim.io.database import Database
    from leadsim.io.export import export_to_db

    definition = load_definition(args.definition)
    with Database(args.db, create=True) as db:
        rows = export_to_db(args.export, db, definition, mapping=args.mapping, replace=args.replace)
        where = db.where
    for table, n in rows.items():
        print(f"{table}: {n:,} rows")
    print(f"wrote {len(rows)} tables to {where}")
    return 0
