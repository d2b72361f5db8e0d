"""A whole CRM export folder through a mapping: every table, and the rows that break the funnel set aside.

:func:`read_export` reads the files a :class:`~leadsim.io.mapping.ColumnMapping`
names inside an export folder (file names match without regard to case),
runs each source's row steps and column mapping, checks every table, and
applies the funnel's rules with :mod:`leadsim.io.setaside`: by default rows
that break the funnel (an unknown stage value, an illegal move, a duplicate, a
change before the lead was created, a row whose lead is not in the export)
are set aside with their reason; with ``strict=True`` the first one is an
error.  Exit reasons become the definition's vocabulary ids
(:mod:`leadsim.io.reasons`).  :meth:`Export.summary` says it in one line per table, and for every
table kept + set aside = read.

The templates ``data/mappings/salesforce.yaml``, ``hubspot.yaml`` and
``marketo.yaml`` read each system's standard export.

>>> from leadsim import load_definition
>>> from leadsim._resources import data_path
>>> folder = data_path("exports/salesforce")
>>> import warnings
>>> warnings.simplefilter("ignore")  # two industries outside the sample definition's categories
>>> ex = read_export(folder, load_definition(), mapping=data_path("mappings/salesforce.yaml"))
>>> sorted(ex.tables)
['leads', 'owners', 'stage_log', 'touches']
>>> print(ex.summary()[2])
stage_log: kept 82 of 89 rows; 7 set aside: 3 unknown stage value 'Recycled - Nurture', 1 before the lead was created, 1 duplicate row, 1 illegal move Disqualified → Lead, 1 illegal move Lost → Opportunity
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import InputFileError
from leadsim.io.database import Database, table_name
from leadsim.io.mapping import FROM_STAGE, ColumnMapping, SourceMapping, TableMapping, load_mapping
from leadsim.io.reading import read_raw
from leadsim.io.reasons import check_reasons
from leadsim.io.schema import COLUMNS, DEFAULT_MISSING, columns_for, strip_cells
from leadsim.io.setaside import SetAside, clean_stage_log, set_aside_rows
from leadsim.io.transforms import PROVENANCE, apply_mapping, numbered, prepare
from leadsim.io.validate import validate_table

__all__ = ["Export", "export_files", "export_to_db", "read_export", "read_with", "source_reader"]

#: The order tables are read in (leads first: the others are checked against them).
ORDER = ("leads", "owners", "stage_log", "activities", "touches", "outcomes")
#: The time column of each timed table (a database reads only its window, see :func:`read_export`).
TIMED = {"stage_log": "at", "activities": "at", "touches": "at", "outcomes": "handed_at"}


@dataclass
class Export:
    """The tables read from an export, what was set aside, and the counts that reconcile them."""

    tables: dict[str, pd.DataFrame]
    set_aside: pd.DataFrame
    read: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None  # a database sent only the timed rows up to a day after this

    def kept(self, table: str) -> int:
        """Rows of ``table`` kept: read minus set aside (a stage log's repeats without a change count as kept)."""
        return self.read[table] - int((self.set_aside["table"] == table).sum())

    def summary(self) -> list[str]:
        """One line per table: rows kept of rows read, and what was set aside, most common reason first."""
        out = []
        for t in (t for t in ORDER if t in self.read):
            n_read, aside = self.read[t], self.set_aside[self.set_aside["table"] == t]
            line = f"{t}: kept {self.kept(t):,} of {n_read:,} rows"
            if len(aside):
                counts = aside["reason"].value_counts(sort=False)
                counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
                line += f"; {len(aside):,} set aside: " + ", ".join(f"{n:,} {r}" for r, n in counts.items())
            if self.ignored.get(t):
                line += f" ({self.ignored[t]:,} more left out by the mapping's 'ignore')"
            out.append(line)
        if self.as_of is not None:
            out.append(f"(timed rows read up to a day after {self.as_of:%Y-%m-%d %H:%M %Z}: what --as-of needs)")
        return out


def export_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The files of an export folder by lower-cased name (a name's case does not matter)."""
    p = Path(folder)
    if not p.exists():
        raise InputFileError("export folder not found; check the path", where=str(p))
    if not p.is_dir():
        raise InputFileError("is a file; --export takes the folder that holds the export's files", where=str(p))
    return {f.name.casefold(): f for f in sorted(p.iterdir()) if f.is_file()}


def read_export(source: str | os.PathLike[str] | Database, definition: LeadDefinition, *,
                mapping: ColumnMapping | str | os.PathLike[str], strict: bool = False,
                tables: Collection[str] | None = None, as_of: pd.Timestamp | None = None) -> Export:
    """Read every table ``mapping`` names from the export folder or :class:`~leadsim.io.database.Database`
    ``source``; see the module docstring.  In a database, ``file: Lead.csv`` names table ``lead``
    (:func:`~leadsim.io.database.table_name`), and a row's file and line are its table and row number + 1.

    ``tables``: only these tables (and leads, which the others are checked against).  ``as_of`` (a moment with
    a zone): a database sends only the rows of the timed tables (activities, stage log, touches, outcomes) up to
    a day after it, where their time column holds times; files are read whole."""
    where = source.where if isinstance(source, Database) else str(source)
    definition = require_definition(definition, where=where)
    if not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    ex = read_with(source_reader(source, mapping, as_of=as_of), definition, mapping=mapping, strict=strict,
                   tables=tables)
    ex.as_of = as_of if isinstance(source, Database) else None
    return ex


def read_with(raw: Callable[[str, SourceMapping | None, str], pd.DataFrame], definition: LeadDefinition, *,
              mapping: ColumnMapping, strict: bool = False, tables: Collection[str] | None = None) -> Export:
    """:func:`read_export` with a ready :func:`source_reader` (whose files are read once, whoever asks)."""
    sa = SetAside(strict=strict)
    ex = Export(tables={}, set_aside=pd.DataFrame())
    wanted = set(ORDER) if tables is None else {"leads", *tables}
    for kind in (k for k in ORDER if k in mapping.tables and k in wanted):
        tm = mapping.tables[kind]
        frames = [_read_source(kind, src, raw, mapping, definition, sa, ex) for src in tm.sources()]
        ex.tables[kind] = _finish(kind, frames, tm, definition, sa, ex)
    ex.set_aside = sa.table()
    return ex


def source_reader(source: str | os.PathLike[str] | Database, mapping: ColumnMapping, *,
                  as_of: pd.Timestamp | None = None) -> Callable[[str, SourceMapping | None, str], pd.DataFrame]:
    """``raw(file, src, table)``: the rows of one file of an export folder, or of the table it names in a database,
    as text cells with their provenance (each read once; ``src`` None: every column; ``as_of``: see
    :func:`read_export`)."""
    cache: dict[tuple[str, int], pd.DataFrame] = {}
    markers = sorted(set(DEFAULT_MISSING) | set(mapping.missing))
    if isinstance(source, Database):
        db, cm = source, mapping

        def raw(name: str, src: SourceMapping | None, table: str) -> pd.DataFrame:
            found = db.find(table_name(name), what=f"the {table} table")
            key = (found, id(src))
            if key not in cache:
                formats = {src.columns[k]: f for k, f in src.dates.items() if k in src.columns} if src else {}
                cols = None if src is None or table == "leads" else _wanted(src, table, db.columns(found))
                timed = src.columns.get(TIMED.get(table, "")) if src is not None and as_of is not None else None
                df = db.read(found, cols, timezone=cm.timezone, date_format=cm.date_format, formats=formats,
                             window=(timed, as_of) if timed else None)
                gone = set(markers) | set(src.missing if src else [])
                for c in df.columns:
                    cells = strip_cells(df[c])
                    df[c] = cells.where(~cells.isin(gone), None)
                cache[key] = numbered(df, found)
            return cache[key]

        return raw
    return _folder_reader(source, markers, cache)


def _wanted(src: SourceMapping, kind: str, have: list[str]) -> list[str] | None:
    """The columns of a database table ``src`` reads for a ``kind`` table (None: all, for leads' attributes or
    when one is missing, so the error lists them all)."""
    names = {*src.columns.values(), *src.rows_where, *src.rows_matching, *src.rows_not_matching, *src.split,
             *src.lookup, *(jf.column for jf in src.json_fields.values()),
             *(src.unpivot.columns if src.unpivot else ())} - set(src.json_fields)
    known = set(COLUMNS[kind]) | {FROM_STAGE}
    folded = {c.casefold(): c for c in have}
    if any(n.casefold() not in folded for n in names):
        return None
    wanted = {folded[n.casefold()] for n in names} | {c for c in have if c in known}
    return [c for c in have if c in wanted]


def _folder_reader(folder: str | os.PathLike[str], markers: list[str],
                   cache: dict[tuple[str, int], pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    files = export_files(folder)

    def raw(name: str, src: SourceMapping | None, table: str) -> pd.DataFrame:
        path = files.get(name.casefold())
        if path is None:
            raise InputFileError(f"the mapping reads {name!r} for the {table} table, which the export folder lacks; "
                                 f"it holds {sorted(f.name for f in files.values())}; export that object or "
                                 "change 'file:' in the mapping", where=str(folder))
        key = (path.name, id(src))
        if key not in cache:
            cache[key] = numbered(read_raw(path, src, markers + list(src.missing if src else [])), path.name)
        return cache[key]

    return raw


def _read_source(kind: str, src: SourceMapping, raw: Callable[..., pd.DataFrame], mapping: ColumnMapping,
                 definition: LeadDefinition, sa: SetAside, ex: Export) -> pd.DataFrame:
    if not src.file:
        raise InputFileError(f"the mapping's {kind} table names no 'file:' inside the export folder",
                             where="mapping")
    where = src.file
    rows = prepare(raw(src.file, src, kind), src, where=where, other=lambda f: raw(f, None, kind))
    df = apply_mapping(rows, kind, src, where)
    ex.ignored[kind] = ex.ignored.get(kind, 0) + int(df.attrs.get("ignored", 0))
    ex.read[kind] = ex.read.get(kind, 0) + len(df)
    if "lead_id" in df.columns:
        df = set_aside_rows(df, df["lead_id"].isna().to_numpy(), kind, "no lead in the export for this row", sa)
    if kind == "stage_log":
        if "stage" not in df.columns:
            df["stage"] = None  # an owner-change part: the stage is carried in from the lead's previous row
        df = _known_stages(df, definition)
    if kind == "leads":
        dup = df["lead_id"].astype("string").duplicated().fillna(False).to_numpy(dtype=bool)
        df = set_aside_rows(df, dup, kind, "duplicate lead id", sa)
    formats = {c: mapping.date_format for c, t in columns_for(kind, definition).items()
               if t in ("datetime", "date") and mapping.date_format}
    formats.update(src.dates)
    carried = df["stage"].isna().to_numpy(dtype=bool) if kind == "stage_log" else None
    if carried is not None and carried.any():  # checked with a stand-in stage; the lead's own is carried in later
        df = df.assign(stage=df["stage"].where(~carried, definition.funnel.stage_ids[0]))
    out = validate_table(df, kind, definition, source=where, date_formats=formats,  # type: ignore[arg-type]
                         source_timezone=mapping.timezone, decimal=src.decimal,
                         on_unknown="na")  # a company's own picklist values: missing, with a warning
    if carried is not None and carried.any():
        out["stage"] = out["stage"].astype(object).where(~carried, None)
    out["_entry"] = src.entry
    return out


def _known_stages(df: pd.DataFrame, definition: LeadDefinition) -> pd.DataFrame:
    """Stage values that are stage ids or labels (any case) become ids; others are kept aside in ``_unknown``.

    They are set aside once entries have taken their stage (an entry whose current status is unknown may still
    enter in the status its first change left)."""
    lookup = {}
    for s in definition.funnel.stages:
        lookup[s.id.casefold()] = lookup[s.label.casefold()] = s.id
    if FROM_STAGE in df.columns:
        df[FROM_STAGE] = df[FROM_STAGE].astype("string").str.strip().str.casefold().map(lookup)
    text = df["stage"].astype("string").str.strip()
    ids = text.str.casefold().map(lookup)
    df["_unknown"] = text.where(ids.isna() & text.notna(), None)
    df["stage"] = ids.astype(object).where(ids.notna(), None)
    return df


def _finish(kind: str, frames: list[pd.DataFrame], tm: TableMapping, definition: LeadDefinition, sa: SetAside,
            ex: Export) -> pd.DataFrame:
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    leads = ex.tables.get("leads")
    created = None if leads is None else leads.set_index("lead_id")["created_at"]
    if kind != "leads" and leads is not None and "lead_id" in df.columns:
        unknown = ~df["lead_id"].isin(leads["lead_id"]).to_numpy(dtype=bool)
        df = set_aside_rows(df, unknown, kind, "lead not in the leads table", sa)
    if kind == "stage_log":
        df = _entries(df, sa)
        unknown = df["_unknown"].notna().to_numpy(dtype=bool)
        df = set_aside_rows(df, unknown, kind, "unknown stage value '" + df["_unknown"].fillna("") + "'", sa)
        df = _carry(df, tm.carry, sa)
        df = clean_stage_log(df, definition, sa, created=created, collapse_repeats=tm.collapse_repeats)
        df = check_reasons(df, definition, sa, created=created)
    elif kind == "touches" and created is not None and len(df):
        early = (df["at"] < df["lead_id"].map(created)).fillna(False).to_numpy(dtype=bool)
        df = set_aside_rows(df, early, kind, "before the lead was created", sa)
    drop = [c for c in (*PROVENANCE, "_entry", "_unknown", "_carried", FROM_STAGE) if c in df.columns]
    return df.drop(columns=drop).reset_index(drop=True)


def _entries(log: pd.DataFrame, sa: SetAside) -> pd.DataFrame:
    """Entry rows take the ``from_stage`` of the lead's earliest change row, when it has one; first at ties."""
    log = log.assign(_entry=log["_entry"].astype(bool))
    order = np.lexsort((~log["_entry"].to_numpy(), log["at"].to_numpy(), log["lead_id"].to_numpy(dtype=object)))
    log = log.iloc[order].reset_index(drop=True)
    if FROM_STAGE in log.columns and log["_entry"].any():
        change = log[~log["_entry"] & log[FROM_STAGE].notna()]
        first_from = change.groupby("lead_id", sort=False)[FROM_STAGE].first()
        e = log["_entry"].to_numpy()
        came_from = log.loc[e, "lead_id"].map(first_from)
        log.loc[e, "stage"] = came_from.where(came_from.notna(), log.loc[e, "stage"])
        log.loc[e, "_unknown"] = log.loc[e, "_unknown"].where(came_from.isna(), None)
    gap = (log["_entry"] & log["stage"].isna() & log["_unknown"].isna()).to_numpy(dtype=bool)
    return set_aside_rows(log, gap, "stage_log", "entry row without a stage", sa)


def _carry(log: pd.DataFrame, columns: list[str], sa: SetAside) -> pd.DataFrame:
    """Missing values of ``columns`` from the lead's previous row; a row with still no stage is set aside."""
    log["_carried"] = log["stage"].isna()
    for c in columns:
        if c in log.columns:
            log[c] = log.groupby("lead_id", sort=False)[c].ffill()
    gap = log["stage"].isna().to_numpy(dtype=bool)
    return set_aside_rows(log, gap, "stage_log", "no stage to carry: the lead has no stage yet", sa)


def export_to_db(folder: str | os.PathLike[str], db: Database, definition: LeadDefinition, *,
                 mapping: ColumnMapping | str | os.PathLike[str], replace: bool = False) -> dict[str, int]:
    """Load every file ``mapping`` names in the export ``folder`` into ``db``, one typed table each (named by
    :func:`~leadsim.io.database.table_name`: ``Lead.csv`` -> ``lead``), in one transaction; returns the rows
    per table.  Columns become booleans, integers, numbers, dates or times with a zone where every value reads
    back as the same text (naive times in the mapping's ``timezone`` when it gives one), text otherwise."""
    from leadsim.io.database import infer_types

    definition = require_definition(definition, where=str(folder))
    if not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    files = export_files(folder)
    markers = sorted(set(DEFAULT_MISSING) | set(mapping.missing))
    wanted: dict[str, SourceMapping | None] = {}
    for tm in mapping.tables.values():
        for src in tm.sources():
            if src.file:
                wanted.setdefault(src.file, src)
            for lk in src.lookup.values():
                wanted.setdefault(lk.file, None)
    out: dict[str, pd.DataFrame] = {}
    for name, src in wanted.items():
        path = files.get(name.casefold())
        if path is None:
            raise InputFileError(f"the mapping reads {name!r}, which the export folder lacks; it holds "
                                 f"{sorted(f.name for f in files.values())}", where=str(folder))
        df = read_raw(path, src, markers + list(src.missing if src else []))
        out[table_name(name)] = infer_types(df, timezone=mapping.timezone)
    db.write_tables(out, replace=replace)
    return {k: len(v) for k, v in out.items()}
