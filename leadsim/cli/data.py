"""One way in for every command that reads lead data: the sample, single files, or a whole CRM export.

Every such command takes the same options (:func:`add_data_options`) and reads
them with :func:`load_data`:

* nothing: the embedded sample and its definition;
* ``--leads``, ``--activities``, ``--stage-log`` (``--log``), ``--touches``,
  ``--owners``, ``--outcomes``: single files, through ``--mapping`` when given;
* ``--leads FILE --id COLUMN``: a flat lead export (one row per lead, its id
  in COLUMN, no times; :func:`leadsim.io.flat.read_flat_leads`), scored as of
  one moment with no activities;
* ``--export DIR --mapping FILE``: a whole export folder, the mapping naming
  each table's file (templates: ``data/mappings/salesforce.yaml``, ...);
* ``--db URL --mapping FILE``: the same tables in a database (``duckdb:///history.duckdb`` or
  ``postgresql://user:password@host:port/db``), ``file: Lead.csv`` naming table ``lead``
  (:mod:`leadsim.io.database`; ``leadsim export-to-db`` loads an export folder into one).

Rows that break the funnel are set aside (one summary line per table on
standard error; ``--set-aside FILE`` keeps them as CSV); ``--strict`` stops at
the first one instead, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from leadsim.cli._common import add_definition_option
from leadsim.definition import LeadDefinition, load_definition
from leadsim.errors import InputFileError

__all__ = ["Data", "add_data_options", "load_data", "no_activities"]

#: Table kind -> its command-line option.
OPTIONS = {"leads": "--leads", "activities": "--activities", "stage_log": "--stage-log", "touches": "--touches",
           "owners": "--owners", "outcomes": "--outcomes"}
HELP = {"leads": "leads table (.csv, .parquet or .xlsx)", "activities": "activities table",
        "stage_log": "stage log", "touches": "touches table (sales calls, e-mails, meetings)",
        "owners": "owners table (roles, managers)", "outcomes": "hand-off outcomes (handoff_id, lead_id, handed_at, sql)"}


@dataclass
class Data:
    """What a command reads: the definition, the tables, where they came from, and what was set aside."""

    definition: LeadDefinition
    tables: dict[str, pd.DataFrame]
    origin: str
    files: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def get(self, kind: str) -> pd.DataFrame | None:
        return self.tables.get(kind)


def no_activities() -> pd.DataFrame:
    """An empty activities table: what a command scores with when the data hold no behaviour (fit only)."""
    return pd.DataFrame({"lead_id": pd.Series([], dtype=str), "activity": pd.Series([], dtype=str),
                         "at": pd.Series([], dtype="datetime64[ns]"), "detail": pd.Series([], dtype=str)})


def add_data_options(p: argparse.ArgumentParser, *, tables: tuple[str, ...]) -> None:
    """The data options every command shares; ``tables`` are the single-table options it offers."""
    g = p.add_argument_group("data (default: the embedded sample)")
    add_definition_option(g)
    g.add_argument("--export", metavar="DIR", help="a CRM export folder; --mapping names each table's file in it")
    g.add_argument("--db", metavar="URL", help="read the tables --mapping names from a database: "
                   "duckdb:///history.duckdb or postgresql://user:password@host:port/db (needs leadsim[db])")
    g.add_argument("--mapping", metavar="FILE", help="column mapping YAML (templates: data/mappings/salesforce.yaml, "
                   "hubspot.yaml, marketo.yaml)")
    for kind in tables:
        names = [OPTIONS[kind], "--log"] if kind == "stage_log" else [OPTIONS[kind]]
        g.add_argument(*names, dest=kind, metavar="FILE", help=HELP[kind])
    g.add_argument("--strict", action="store_true", help="stop at the first row that breaks the funnel (exit 2) "
                   "instead of setting it aside")
    g.add_argument("--set-aside", metavar="FILE", help="write the rows set aside, with their reasons, to this CSV")


def load_data(args: argparse.Namespace, *, need: tuple[str, ...] = (), use: tuple[str, ...] | None = None,
              as_of: str | None = None, quiet: bool = False) -> Data:
    """Read what the options name (see the module docstring); ``need`` lists tables the command cannot do without.

    From an export or a database only the tables in ``use`` are read (None: all the mapping names; leads
    always); ``as_of`` (the command's ``--as-of`` text, when given): a database sends only the timed rows up
    to a day after it."""
    from leadsim.io import read_table
    from leadsim.io.export import Export, read_export
    from leadsim.io.mapping import load_mapping
    from leadsim.io.setaside import SetAside, clean_stage_log, set_aside_rows

    definition = load_definition(args.definition)
    given = {k: getattr(args, k) for k in OPTIONS if getattr(args, k, None) is not None}
    strict = bool(getattr(args, "strict", False))
    db_url = getattr(args, "db", None)
    if getattr(args, "id_column", None) is not None and (db_url or args.export):
        raise InputFileError("--id reads a flat export given as --leads FILE, not an export folder or database",
                             where="--id")
    if db_url:
        from leadsim.io.database import Database, masked

        if not args.mapping:
            raise InputFileError("--db needs --mapping: the mapping names each table in the database "
                                 "(templates in data/mappings/)", where="--mapping")
        if args.export or given:
            first = "--export" if args.export else OPTIONS[next(iter(given))]
            raise InputFileError(f"{first} and --db both give tables; give one of them", where="--db")
        from leadsim.io.database import table_name

        database = Database(db_url)  # a bad URL is named before the mapping is read
        mapping = load_mapping(args.mapping, definition)
        moment = None
        if as_of is not None:
            from leadsim.cli._common import parse_time

            moment = parse_time(as_of, "--as-of", definition).tz_localize(
                definition.calendar.timezone, ambiguous=True, nonexistent="shift_forward")
        with database as db:
            ex = read_export(db, definition, mapping=mapping, strict=strict, tables=use, as_of=moment)
        data = Data(definition, ex.tables, f"the database {masked(db_url)}", files=dict.fromkeys(ex.tables, masked(db_url)),
                    paths=[args.definition, args.mapping], summary=ex.summary())
        data.sources = sorted({table_name(f) for tm in mapping.tables.values() for src in tm.sources()
                               for f in [src.file or "", *(lk.file for lk in src.lookup.values())] if f})
        _finish(args, ex.set_aside, data, quiet)
    elif args.export:
        if not args.mapping:
            raise InputFileError("--export needs --mapping: the mapping names each table's file in the folder "
                                 "(templates in data/mappings/)", where="--mapping")
        if given:
            raise InputFileError(f"{OPTIONS[next(iter(given))]} and --export both give tables; --export reads every "
                                 "table its mapping names", where="--export")
        ex = read_export(args.export, definition, mapping=args.mapping, strict=strict, tables=use)
        data = Data(definition, ex.tables, f"the export in {args.export}", files=dict.fromkeys(ex.tables, args.export),
                    paths=[args.definition, args.export, args.mapping], summary=ex.summary())
        _finish(args, ex.set_aside, data, quiet)
    elif given and getattr(args, "id_column", None) is not None:
        from leadsim.io.flat import read_flat_leads

        if set(given) != {"leads"}:
            other = next(OPTIONS[k] for k in given if k != "leads")
            raise InputFileError(f"--id reads --leads as a flat export (one row per lead, no activities); {other} "
                                 "does not go with it", where=other)
        tables = {"leads": read_flat_leads(given["leads"], definition, id_column=args.id_column, mapping=args.mapping)}
        data = Data(definition, tables, str(given["leads"]), files=dict(given),
                    paths=[args.definition, given["leads"], args.mapping])
    elif given:
        lacking = [k for k in need if k not in given]
        if lacking:
            raise InputFileError(f"{', '.join(OPTIONS[k] for k in given)} needs {OPTIONS[lacking[0]]} too (or give "
                                 "no files to use the sample)", where=OPTIONS[lacking[0]])
        mapping = load_mapping(args.mapping, definition) if args.mapping else None
        tables = {k: read_table(path, k, definition, mapping=mapping) for k, path in given.items()}  # type: ignore[arg-type]
        sa = SetAside(strict=strict)
        read = {k: len(v) for k, v in tables.items()}
        leads = tables.get("leads")
        for k, t in list(tables.items()):
            if k != "leads" and leads is not None and "lead_id" in t.columns:
                t = set_aside_rows(t.assign(_file=given[k], _line=t.index + 2), ~t["lead_id"].isin(leads["lead_id"]),
                                   k, "lead not in the leads table", sa)
            if k == "stage_log":
                created = None if leads is None else leads.set_index("lead_id")["created_at"]
                if "_file" not in t.columns:
                    t = t.assign(_file=given[k], _line=t.index + 2)
                t = clean_stage_log(t, definition, sa, created=created, collapse_repeats=False)
            tables[k] = t.drop(columns=[c for c in ("_file", "_line") if c in t.columns])
        ex = Export(tables=tables, set_aside=sa.table(), read=read)
        data = Data(definition, tables, str(given.get("leads") or next(iter(given.values()))), files=dict(given),
                    paths=[args.definition, *given.values(), args.mapping], summary=ex.summary())
        if len(ex.set_aside):
            _finish(args, ex.set_aside, data, quiet)
    else:
        if getattr(args, "id_column", None) is not None:
            raise InputFileError("--id names the id column of a flat export; give the export as --leads FILE",
                                 where="--id")
        if args.mapping or strict:
            raise InputFileError("--mapping and --strict apply to your data; give --export DIR, --db URL or table "
                                 "files too",
                                 where="--mapping" if args.mapping else "--strict")
        from leadsim.datasets import load_sample

        h = load_sample()
        data = Data(definition, h.tables(), "the embedded sample", paths=[args.definition])
    lacking = [k for k in need if k not in data.tables]
    if lacking:
        how = "its mapping names no such table" if args.export or db_url else f"give {OPTIONS[lacking[0]]} FILE"
        raise InputFileError(f"this command needs the {lacking[0]} table; {how}", where=OPTIONS[lacking[0]])
    return data


def _finish(args: argparse.Namespace, set_aside: pd.DataFrame, data: Data, quiet: bool) -> None:
    """Say what was kept and set aside (standard error), and write the set-aside rows where asked."""
    out = getattr(args, "set_aside", None)
    if out:
        path = Path(out)
        if path.exists():
            raise InputFileError("exists already; choose another --set-aside file (leadsim never overwrites files)",
                                 where=str(path))
        from leadsim.files import write_atomic

        write_atomic(path, lambda tmp: set_aside.to_csv(tmp, index=False))
        data.paths.append(str(path))
    if quiet:
        return
    for line in data.summary:
        print(line, file=sys.stderr)
    if len(set_aside) and not out:
        print("(pass --set-aside FILE to keep the rows set aside, with their reasons)", file=sys.stderr)
