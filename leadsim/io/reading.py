"""Reading tables from files: CSV, Parquet or Excel, optionally through a CRM column mapping, then checked.

:func:`read_table` reads one file (the format chosen by its extension),
applies a :class:`~leadsim.io.mapping.ColumnMapping` and checks the result with
:func:`~leadsim.io.validate.validate_table`; :func:`read_tables` reads several
and :func:`check_references` checks that they refer to each other correctly.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, InputFileError, MappingError, SchemaError
from leadsim.io.mapping import ColumnMapping, SourceMapping, load_mapping
from leadsim.io.schema import COLUMNS, DEFAULT_MISSING, FILE_FORMATS, KINDS, Kind, columns_for, rows_text, strip_cells
from leadsim.io.transforms import apply_mapping, prepare
from leadsim.io.validate import validate_table

__all__ = ["check_references", "read_raw", "read_table", "read_tables"]


def read_raw(path: Path, tm: SourceMapping | None, missing: list[str]) -> pd.DataFrame:
    """One file's rows as text, cells stripped and missing markers set missing; ``tm`` gives its encoding,
    separator and sheet.  Errors name the file and the fix (encoding, type, empty file)."""
    if not path.exists():
        raise InputFileError("file not found; check the path", where=str(path))
    if path.is_dir():
        raise InputFileError("is a directory; give a table file (.csv, .parquet or .xlsx)", where=str(path))
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFileError(f"unknown file type {path.suffix!r}; use .csv, .parquet or .xlsx", where=str(path))
    if path.stat().st_size == 0:
        raise InputFileError("the file is empty; expected a header row and records", where=str(path))
    if fmt == "excel":
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # every .xlsx/.xlsm is a zip archive
                raise InputFileError("is not an Excel workbook in .xlsx format (old .xls and text files named "
                                     ".xls/.xlsx cannot be read); save it as .xlsx or .csv", where=str(path))
    try:
        if fmt == "csv":
            encoding = tm.encoding if tm else "utf-8-sig"
            sep = tm.sep if tm and tm.sep else None
            if sep is None:
                with path.open(encoding=encoding, errors="replace") as fh:
                    head = fh.readline()
                sep = "\t" if head.count("\t") > head.count(",") else ";" if head.count(";") > head.count(",") else ","
            df = _read_csv(path, sep, encoding)
        elif fmt == "parquet":
            df = pd.read_parquet(path)
        else:
            sheet = tm.sheet if tm and tm.sheet is not None else 0
            df = pd.read_excel(path, sheet_name=sheet, dtype=object)
    except pd.errors.EmptyDataError:
        raise InputFileError("the file is empty; expected a header row and records", where=str(path)) from None
    except UnicodeDecodeError as err:
        raise InputFileError(f"not {err.encoding} text ({err.reason}); set 'encoding:' (e.g. cp1252) in a "
                             "column mapping", where=str(path)) from None
    except (pd.errors.ParserError, ValueError, OSError, ImportError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(f"cannot read as {fmt}: {first}", where=str(path)) from None
    except Exception as err:  # pyarrow / openpyxl raise their own types on corrupt files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(f"cannot read as {fmt}: {first}", where=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) == 0:
        raise InputFileError("the file has no columns; expected a header row", where=str(path))
    markers = set(missing)
    obj = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    for c in obj:
        stripped = strip_cells(df[c])
        df[c] = stripped.where(~stripped.isin(markers), None)
    return df.reset_index(drop=True)


def _read_csv(path: Path, sep: str, encoding: str) -> pd.DataFrame:
    """All cells as text; a row with more or fewer fields than the header is an error.

    The pyarrow parser is tried first (several times faster); anything it cannot
    read (quoted line breaks, ragged rows ...) goes through pandas' own parser,
    which finds and reports a ragged row.
    """
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding, engine="pyarrow")
    except UnicodeDecodeError:
        raise
    except Exception:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding,
                               index_col=False, on_bad_lines="error")
        except (pd.errors.ParserWarning, pd.errors.ParserError):
            pass
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        width = len(next(reader))
        for rowno, row in enumerate(reader, start=2):
            if row and len(row) != width:
                raise InputFileError(
                    f"row {rowno} has {len(row)} fields but the header has {width} (separator {sep!r}); "
                    "quote cells that contain the separator",
                    where=str(path),
                )
    raise InputFileError(f"cannot parse as CSV with separator {sep!r}", where=str(path))


def read_table(
    path: str | os.PathLike[str],
    kind: Kind,
    definition: LeadDefinition,
    *,
    mapping: ColumnMapping | str | os.PathLike[str] | None = None,
    on_unknown: Literal["error", "na"] = "error",
) -> pd.DataFrame:
    """Read one table of ``kind`` from a CSV, Parquet or Excel file and check it.

    ``mapping`` (a :class:`ColumnMapping` or the path of its YAML file)
    renames and recodes a CRM export first; the mapping's table of ``kind``
    is used when it has one.  ``definition`` gives the attribute types and the
    calendar zone.

    >>> from leadsim import load_definition
    >>> from leadsim._resources import data_path
    >>> owners = read_table(data_path("sample/owners.parquet"), "owners", load_definition())
    >>> list(owners.columns), sorted(owners["role"].unique())
    (['owner', 'role', 'manager', 'team'], ['rep', 'sdr'])
    """
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where=str(path))
    definition = require_definition(definition, where=str(path))
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    elif mapping is not None:
        mapping.check(definition)
    tm = mapping.tables.get(kind) if mapping is not None else None
    missing = set(DEFAULT_MISSING)
    if mapping is not None:
        missing |= set(mapping.missing)
    if tm is not None:
        missing |= set(tm.missing)
    p = Path(path)
    df = read_raw(p, tm, sorted(missing))
    if tm is not None:
        if tm.parts or tm.entry:
            raise MappingError(f"the mapping builds the {kind} table from several files of an export folder; "
                               "give the folder (--export DIR) instead of single files", where=str(p))
        df = apply_mapping(prepare(df, tm, where=str(p), other=None), kind, tm, str(p))
    formats: dict[str, str] = {}
    if mapping is not None and mapping.date_format:
        formats = {c: mapping.date_format for c, t in columns_for(kind, definition).items() if t in ("datetime", "date")}
    if tm is not None:
        formats.update(tm.dates)
    return validate_table(
        df,
        kind,
        definition,
        source=str(p),
        date_formats=formats,
        source_timezone=mapping.timezone if mapping is not None else None,
        decimal=tm.decimal if tm is not None else ".",
        on_unknown=on_unknown,
        collapse_repeats=kind == "stage_log" and tm is not None and tm.collapse_repeats,
    )


def check_references(
    leads: pd.DataFrame,
    *,
    activities: pd.DataFrame | None = None,
    stage_log: pd.DataFrame | None = None,
    touches: pd.DataFrame | None = None,
    outcomes: pd.DataFrame | None = None,
    owners: pd.DataFrame | None = None,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
) -> None:
    """Raise :class:`DataError` when a table refers to a lead (or owner) that does not exist.

    ``files`` (kind -> path) names the file a table was read from in the message.

    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["L1"]})
    >>> check_references(leads, activities=pd.DataFrame({"lead_id": ["L1", "L9"]}))
    Traceback (most recent call last):
    ...
    leadsim.errors.DataError: activities: 1 row(s) refer to lead(s) not in the leads table: 'L9' (row 3); add those ...
    """
    files = {k: str(v) for k, v in (files or {}).items() if v is not None}
    known = pd.Index(leads.index if "lead_id" not in leads.columns else leads["lead_id"])
    for name, table in (("activities", activities), ("stage_log", stage_log), ("touches", touches),
                        ("outcomes", outcomes)):
        if table is None:
            continue
        bad = ~table["lead_id"].isin(known)
        if bad.any():
            ids = list(dict.fromkeys(table.loc[bad.to_numpy(), "lead_id"]))
            first = ", ".join(f"{i!r} ({rows_text((table['lead_id'] == i).to_numpy(), 3)})" for i in ids[:5])
            raise DataError(f"{int(bad.sum())} row(s) refer to lead(s) not in the leads table: {first}"
                            f"{' ...' if len(ids) > 5 else ''}; add those leads to the leads table or remove the rows",
                            where=files.get(name, name))
    if owners is not None:
        names = set(owners["owner"].dropna())
        for name, table, col in (("stage_log", stage_log, "owner"), ("touches", touches, "by"),
                                 ("outcomes", outcomes, "owner")):
            if table is None or col not in table.columns:
                continue
            bad = table[col].notna() & ~table[col].isin(names)
            if bad.any():
                who = list(dict.fromkeys(table.loc[bad.to_numpy(), col]))[:5]
                raise DataError(f"column {col!r} names owner(s) {who} not in the owners table ({rows_text(bad)}); "
                                "add them to the owners table or correct the names", where=files.get(name, name))


def read_tables(
    leads: str | os.PathLike[str],
    *,
    activities: str | os.PathLike[str] | None = None,
    stage_log: str | os.PathLike[str] | None = None,
    touches: str | os.PathLike[str] | None = None,
    owners: str | os.PathLike[str] | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    definition: LeadDefinition,
    mapping: ColumnMapping | str | os.PathLike[str] | None = None,
    on_unknown: Literal["error", "na"] = "error",
) -> dict[str, pd.DataFrame]:
    """Read several tables, check each, then check the references between them.

    Returns a dict keyed by kind (only the tables given).  ``definition`` is
    required (keyword-only, after the tables).

    >>> from leadsim import load_definition
    >>> from leadsim._resources import data_path
    >>> tables = read_tables(data_path("sample/leads.parquet"), touches=data_path("sample/touches.parquet"),
    ...                      definition=load_definition())
    >>> sorted(tables)
    ['leads', 'touches']
    """
    definition = require_definition(definition, where="read_tables")
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    paths = {"leads": leads, "activities": activities, "stage_log": stage_log, "touches": touches,
             "owners": owners, "outcomes": outcomes}
    out = {k: read_table(p, k, definition, mapping=mapping, on_unknown=on_unknown)  # type: ignore[arg-type]
           for k, p in paths.items() if p is not None}
    check_references(out["leads"], **{k: v for k, v in out.items() if k != "leads"}, files=paths)
    return out
