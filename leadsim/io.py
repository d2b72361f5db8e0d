"""Read and write leadsim's tables, with schema checks and CRM column mappings.

:func:`read_table` reads one table (CSV, Parquet or Excel, chosen by the file
extension), optionally renames and recodes a CRM export through a
:class:`ColumnMapping`, and checks it against the shapes every other part of
leadsim relies on: required columns present, ids unique, dates parsed (and
tz-aware times converted to the definition's calendar zone, then made naive),
attribute columns coerced to the definition's types, categories within their
allowed values.  Anything wrong raises a :class:`~leadsim.errors.LeadsimError`
that names the file, the column, the rows and the bad values.

Rows are numbered as in a spreadsheet: the header is row 1, the first record
row 2 (for a plain CSV file that is also the line number).

>>> import pandas as pd
>>> from leadsim import load_definition
>>> raw = pd.DataFrame({"lead_id": ["L1", "L2"], "created_at": ["2026-01-05 09:30", "2026-01-06T08:00:00Z"],
...                     "seniority": ["vp", "manager"], "company_size": ["250", None]})
>>> leads = validate_table(raw, "leads", load_definition())
>>> leads["created_at"].tolist()      # the UTC time is now Berlin local time
[Timestamp('2026-01-05 09:30:00'), Timestamp('2026-01-06 09:00:00')]
>>> leads["company_size"].tolist()
[250, <NA>]
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import os
import re
import tempfile
import warnings
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leadsim.definition import LeadDefinition, LeadsimWarning, _format_validation, load_definition, read_yaml
from leadsim.errors import DataError, InputFileError, LeadsimError, MappingError, SchemaError

__all__ = [
    "COLUMNS",
    "KINDS",
    "ColumnMapping",
    "TableMapping",
    "check_references",
    "load_mapping",
    "read_table",
    "read_tables",
    "validate_table",
    "write_table",
]

Kind = Literal["leads", "activities", "stage_log", "touches", "owners", "outcomes"]
#: The table kinds leadsim reads.
KINDS: tuple[str, ...] = ("leads", "activities", "stage_log", "touches", "owners", "outcomes")

#: Core columns of each table kind: name -> (type, required).  A required
#: column must be present; for ``id`` and ``datetime`` types every value must
#: be present too.  Leads also carry the definition's attributes.
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "leads": {
        "lead_id": ("id", True),
        "company": ("text", False),
        "source": ("source", False),
        "created_at": ("datetime", True),
    },
    "activities": {
        "lead_id": ("id", True),
        "activity": ("id", True),
        "at": ("datetime", True),
        "detail": ("text", False),
    },
    "stage_log": {
        "lead_id": ("id", True),
        "stage": ("stage", True),
        "at": ("datetime", True),
        "reason": ("text", False),
        "owner": ("text", False),
    },
    "touches": {
        "lead_id": ("id", True),
        "at": ("datetime", True),
        "kind": ("text", False),
        "by": ("text", False),
    },
    "owners": {
        "owner": ("id", True),
        "role": ("role", True),
        "manager": ("text", False),
        "team": ("text", False),
    },
    "outcomes": {
        "handoff_id": ("id", False),
        "lead_id": ("id", True),
        "handed_at": ("datetime", True),
        "handoff_reason": ("handoff_reason", False),
        "propensity": ("number", False),
        "definition_version": ("text", False),
        "owner": ("text", False),
        "response_minutes": ("number", False),
        "sql": ("bool", True),
        "opportunity": ("bool", False),
        "won": ("bool", False),
        "reason": ("text", False),
    },
}

#: Closed vocabularies of core columns.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "source": ("web_form", "paid", "organic", "event", "outbound"),
    "role": ("sdr", "rep"),
    "handoff_reason": ("score", "hot", "exploration"),
}

#: The activity vocabulary of leadsim's sample and simulation.
ACTIVITIES: tuple[str, ...] = ("web_visit", "email_click", "content_download", "webinar", "live_demo", "in_depth_demo",
                               "form_fill", "unsubscribe")

#: Cell texts read as missing in every file (a mapping can add more).
DEFAULT_MISSING: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "#N/A", "NaT")
_TRUE = {"true", "yes", "y", "1", "t", "1.0"}
_FALSE = {"false", "no", "n", "0", "f", "0.0"}
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}


# --------------------------------------------------------------------------- the mapping model


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableMapping(_Model):
    """How one CRM export becomes one leadsim table.

    ``columns`` maps a leadsim column to the export's column name; ``values``
    recodes a leadsim column's values (export value -> leadsim value, ``null``
    for missing); ``dates`` gives a ``strptime`` format per date column;
    ``defaults`` fills a column the export lacks with a constant;
    ``rows_where`` keeps only rows whose export column holds one of the listed
    values (e.g. the "Lead Status" rows of a field-history export);
    ``collapse_repeats`` (stage logs) drops a status change that maps onto the
    stage the lead is already in.
    """

    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dates: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)
    rows_where: dict[str, list[str]] = Field(default_factory=dict)
    collapse_repeats: bool = True
    sep: str | None = None
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8-sig"
    sheet: str | int | None = None

    @field_validator("dates")
    @classmethod
    def _formats(cls, v: dict[str, str]) -> dict[str, str]:
        for col, fmt in v.items():
            if "%" not in fmt:
                raise ValueError(f"date format {fmt!r} for {col!r} has no % directive; write e.g. '%d.%m.%Y %H:%M'")
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _string_keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for col, recode in v.items():
            if not isinstance(recode, dict):
                raise ValueError(f"values.{col} must map export values to leadsim values, e.g. {{'Yes': true}}")
            for k in recode:
                if isinstance(k, bool) or k is None:
                    raise ValueError(
                        f"values.{col}: key {k!r} is not text; quote it (\"Yes\", \"No\", \"null\") because YAML "
                        "reads bare yes/no/on/off/null as booleans or null"
                    )
            out[col] = {str(k): val for k, val in recode.items()}
        return out

    @field_validator("columns")
    @classmethod
    def _distinct_sources(cls, v: dict[str, str]) -> dict[str, str]:
        src = list(v.values())
        dup = sorted({s for s in src if src.count(s) > 1})
        if dup:
            raise ValueError(f"export column(s) {dup} mapped onto more than one leadsim column")
        return v


class ColumnMapping(_Model):
    """A CRM column-mapping file: one :class:`TableMapping` per table kind.

    ``missing`` lists cell texts read as missing in every table (on top of
    :data:`DEFAULT_MISSING`), ``date_format`` is the default ``strptime``
    format of every date column, ``timezone`` the zone of the export's naive
    times (they are converted to the definition's calendar zone).
    """

    name: str = ""
    missing: list[str] = Field(default_factory=lambda: ["", "-"])
    date_format: str | None = None
    timezone: str | None = None
    tables: dict[Kind, TableMapping]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                zoneinfo.ZoneInfo(v)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'") from None
        return v

    @field_validator("date_format")
    @classmethod
    def _fmt(cls, v: str | None) -> str | None:
        if v is not None and "%" not in v:
            raise ValueError(f"date_format {v!r} has no % directive; write e.g. '%d.%m.%Y %H:%M'")
        return v

    def check(self, definition: LeadDefinition, *, source: str = "<mapping>") -> ColumnMapping:
        """Check that every mapped column and value exists in ``definition``; return self."""
        for kind, tm in self.tables.items():
            known = _columns_for(kind, definition)
            for part in ("columns", "values", "dates", "defaults"):
                for col in getattr(tm, part):
                    if col not in known:
                        raise MappingError(
                            f"unknown leadsim column {col!r} for table {kind}{_suggest(col, known)}; "
                            f"known columns: {list(known)}",
                            where=f"{source}: tables.{kind}.{part}",
                        )
            for col, recode in tm.values.items():
                allowed = _allowed_values(kind, col, known[col], definition)
                if allowed is None:
                    continue
                bad = [v for v in recode.values() if v is not None and v not in allowed]
                if bad:
                    raise MappingError(
                        f"maps onto value(s) {bad} that {col!r} does not allow; allowed: {sorted(allowed, key=str)}",
                        where=f"{source}: tables.{kind}.values.{col}",
                    )
        return self


def load_mapping(path: str | os.PathLike[str], definition: LeadDefinition | None = None) -> ColumnMapping:
    """Read a column-mapping YAML file; with ``definition``, also check it against it.

    >>> from leadsim._resources import data_dir
    >>> m = load_mapping(data_dir() / "mappings" / "crm_example.yaml")
    >>> m.tables["leads"].columns["lead_id"]
    'Lead ID'
    """
    try:
        data = read_yaml(path, "column mapping")
    except LeadsimError as err:
        if isinstance(err, InputFileError):
            raise
        raise MappingError(err.message, where=err.where) from None
    if not isinstance(data, dict):
        raise MappingError(f"a column mapping is a YAML mapping with a 'tables:' key, got {type(data).__name__}",
                           where=str(path))
    try:
        mapping = ColumnMapping.model_validate(data)
    except ValidationError as err:
        raise MappingError(_format_validation(err, data), where=str(path)) from None
    if definition is not None:
        mapping.check(definition, source=str(path))
    return mapping


# --------------------------------------------------------------------------- helpers


def _columns_for(kind: str, definition: LeadDefinition) -> dict[str, str]:
    """Every leadsim column of ``kind`` with its type."""
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where="kind")
    cols = {c: t for c, (t, _) in COLUMNS[kind].items()}
    if kind == "leads":
        for a in definition.attributes:
            cols.setdefault(a.name, a.type)
    return cols


def _allowed_values(kind: str, col: str, typ: str, definition: LeadDefinition) -> set[Any] | None:
    if typ == "stage":
        return set(definition.funnel.stage_ids)
    if typ == "bool":
        return {True, False}
    if typ in VOCABULARIES:
        return set(VOCABULARIES[typ])
    if kind == "leads" and typ == "category":
        allowed = definition.attribute(col).allowed
        return set(allowed) if allowed is not None else None
    return None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _rows(mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    """'rows 2, 5 and 3 more' for a boolean mask over a RangeIndex frame."""
    idx = np.flatnonzero(np.asarray(mask)) + 2
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


def _examples(s: pd.Series, mask: pd.Series, limit: int = 3) -> str:
    """'row 4: 'x', row 9: 'y'' for the first bad cells."""
    idx = np.flatnonzero(np.asarray(mask))
    parts = [f"row {i + 2}: {s.iloc[i]!r}" for i in idx[:limit]]
    more = f" (and {len(idx) - limit} more)" if len(idx) > limit else ""
    return ", ".join(parts) + more


def _text(s: pd.Series) -> pd.Series:
    """Values as stripped strings (default string dtype), missing kept missing."""
    if pd.api.types.is_float_dtype(s):  # 12.0 read from a number column -> "12"
        whole = s.notna() & (s == np.round(s))
        out = s.astype(object)
        out[whole] = s[whole].astype("int64").astype(str)
        s = out
    out = s.astype(str)
    return out.str.strip()


# --------------------------------------------------------------------------- coercion


def _localize(naive: pd.Series, src_zone: str, zone: str) -> pd.Series:
    """Naive times of ``src_zone`` as naive times of ``zone`` (an ambiguous autumn hour is read as standard time)."""
    aware = naive.dt.tz_localize(src_zone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward")
    return aware.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")


def _coerce_datetime(s: pd.Series, fmt: str | None, zone: str, src_zone: str | None) -> tuple[pd.Series, pd.Series]:
    """Parse to naive local ``datetime64[ns]`` of ``zone``; return (values, bad mask)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]"), pd.Series(False, index=s.index)
    if pd.api.types.is_datetime64_dtype(s):
        out = s.astype("datetime64[ns]")
        return (_localize(out, src_zone, zone) if src_zone else out), pd.Series(False, index=s.index)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    native = s.map(lambda v: isinstance(v, dt.date | pd.Timestamp)) if s.dtype == object else None
    if native is not None and native.any():
        out[native] = pd.to_datetime(s[native].map(pd.Timestamp).map(lambda t: t.tz_convert(zone).tz_localize(None)
                                                                      if t.tzinfo else t))
        s = s.where(~native)
    txt = _text(s)
    present = txt.notna()
    aware = present & txt.str.contains(_TZ_SUFFIX, na=False)
    naive = present & ~aware
    if aware.any():
        parsed = pd.to_datetime(txt[aware], utc=True, format=fmt or "ISO8601", errors="coerce")
        out[aware] = parsed.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")
    if naive.any():
        parsed = pd.to_datetime(txt[naive], format=fmt or "ISO8601", errors="coerce").astype("datetime64[ns]")
        out[naive] = _localize(parsed, src_zone, zone) if src_zone else parsed
    bad = present & out.isna()
    return out, bad


def _coerce_number(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(object)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64"), pd.Series(False, index=s.index)
    txt = _text(s)
    if decimal == ",":
        txt = txt.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    out = pd.to_numeric(txt, errors="coerce").astype("float64")
    return out, txt.notna() & out.isna()


def _coerce_integer(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    num, bad = _coerce_number(s, decimal)
    frac = num.notna() & (num != np.round(num))
    return num.where(~frac).astype("Int64"), bad | frac


def _coerce_bool(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    low = _text(s).str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(_TRUE).fillna(False).astype(bool)] = True
    out[low.isin(_FALSE).fillna(False).astype(bool)] = False
    return out, low.notna() & out.isna()


def _finish_bool(s: pd.Series) -> pd.Series:
    """Plain numpy bool when nothing is missing (what most code expects)."""
    return s.astype(bool) if not s.isna().any() else s


# --------------------------------------------------------------------------- reading


def _read_raw(path: Path, tm: TableMapping | None, missing: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError("file not found; check the path", where=str(path))
    if path.is_dir():
        raise InputFileError("is a directory; give a table file (.csv, .parquet or .xlsx)", where=str(path))
    fmt = _EXTENSIONS.get(path.suffix.lower())
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
        stripped = _strip(df[c])
        df[c] = stripped.where(~stripped.isin(markers), None)
    return df.reset_index(drop=True)


def _strip(s: pd.Series) -> pd.Series:
    """Strip the white space around text cells (vectorised for string columns)."""
    if s.dtype != object and pd.api.types.is_string_dtype(s):
        return s.str.strip()
    return s.map(lambda v: v.strip() if isinstance(v, str) else v)


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


def _apply_mapping(df: pd.DataFrame, kind: str, tm: TableMapping, where: str) -> pd.DataFrame:
    for col, keep in tm.rows_where.items():
        if col not in df.columns:
            raise MappingError(f"rows_where names export column {col!r}, which the file lacks; "
                               f"its columns are {list(df.columns)}", where=where)
        df = df[df[col].isin(keep).fillna(False).astype(bool)].reset_index(drop=True)
    missing = [src for src in tm.columns.values() if src not in df.columns]
    if missing:
        raise SchemaError(
            f"the mapping names export column(s) {missing} that the file lacks{_suggest(missing[0], df.columns)}; "
            f"its columns are {list(df.columns)}",
            where=where,
        )
    known = set(COLUMNS[kind])
    keep = {src: dst for dst, src in tm.columns.items()}
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        if c in keep:
            out[keep[c]] = df[c]
        elif (c in known or kind == "leads") and c not in tm.columns:
            out[c] = df[c]
    for col, recode in tm.values.items():
        if col in out.columns:
            key = _strip(out[col])
            hit = key.isin(list(recode)).fillna(False).astype(bool)
            out[col] = out[col].astype(object).where(~hit, key[hit].map(recode))
    for col, value in tm.defaults.items():
        if col not in out.columns:
            out[col] = value
        else:
            out[col] = out[col].where(out[col].notna(), value)
    return out


def validate_table(
    df: pd.DataFrame,
    kind: Kind,
    definition: LeadDefinition | None = None,
    *,
    source: str = "<table>",
    date_formats: Mapping[str, str] | None = None,
    source_timezone: str | None = None,
    decimal: str = ".",
    on_unknown: Literal["error", "na"] = "error",
    collapse_repeats: bool = False,
) -> pd.DataFrame:
    """Check and coerce an in-memory table of ``kind``; return a new DataFrame.

    ``on_unknown="error"`` (the default) raises :class:`DataError` for a value
    outside a category's allowed values (listing the values, their rows and
    the allowed ones); ``"na"`` warns (:class:`LeadsimWarning`) and sets them
    missing instead.
    """
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where=source)
    definition = definition or load_definition()
    zone = definition.calendar.timezone
    date_formats = dict(date_formats or {})
    cols = _columns_for(kind, definition)
    df = df.copy()
    if isinstance(df.index, pd.MultiIndex) or df.index.name is not None:
        df = df.reset_index()
    df.columns = [str(c) for c in df.columns]
    df = df.reset_index(drop=True)
    dup_cols = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup_cols:
        raise SchemaError(f"column(s) {dup_cols} appear more than once", where=source)
    required = [c for c, (_, req) in COLUMNS[kind].items() if req]
    absent = [c for c in required if c not in df.columns]
    if absent:
        hint = _suggest(absent[0], df.columns)
        raise SchemaError(
            f"required column {absent[0]!r} is missing from the {kind} table{hint}; found columns {list(df.columns)}; "
            "rename it, or map the export's column with a column-mapping file (--mapping)",
            where=source,
        )
    not_given = [c for c in cols if c not in df.columns]
    for col, typ in cols.items():
        where = f"{source}: column {col!r}"
        if col not in df.columns:
            df[col] = _empty(typ, len(df))
            continue
        s = df[col]
        if typ in ("datetime", "date"):
            values, bad = _coerce_datetime(s, date_formats.get(col), zone, source_timezone)
            if bad.any():
                fmt = date_formats.get(col)
                expect = f"the format {fmt!r}" if fmt else "ISO 8601 such as '2026-01-05 14:30' or '2026-01-05T14:30:00+01:00'"
                raise DataError(
                    f"{int(bad.sum())} value(s) are not dates ({_examples(s, bad)}); expected {expect}; "
                    "declare the export's format under 'dates:' in a column mapping",
                    where=where,
                )
            if typ == "date":
                values = values.dt.normalize()
        elif typ == "number":
            values, bad = _coerce_number(s, decimal)
            if bad.any():
                raise DataError(f"{int(bad.sum())} value(s) are not numbers ({_examples(s, bad)})", where=where)
        elif typ == "integer":
            values, bad = _coerce_integer(s, decimal)
            if bad.any():
                raise DataError(f"{int(bad.sum())} value(s) are not whole numbers ({_examples(s, bad)})", where=where)
        elif typ == "bool":
            values, bad = _coerce_bool(s)
            if bad.any():
                raise DataError(
                    f"{int(bad.sum())} value(s) are not yes/no ({_examples(s, bad)}); use true/false, yes/no or 1/0, "
                    "or recode them under 'values:' in a column mapping",
                    where=where,
                )
            values = _finish_bool(values) if kind == "outcomes" else values
        elif typ == "stage":
            values = _stage_ids(_text(s), definition, where)
        else:  # id, text, category and the closed vocabularies
            values = _text(s)
            allowed = _allowed_values(kind, col, typ, definition)
            if allowed is not None:
                values = _check_allowed(values, allowed, where, on_unknown)
        if COLUMNS.get(kind, {}).get(col, ("", False))[1] and typ in ("id", "datetime", "stage", "role"):
            gap = values.isna()
            if gap.any():
                raise DataError(f"{int(gap.sum())} value(s) missing in a required column ({_rows(gap)}); "
                                "every record needs one", where=where)
        df[col] = values
    if kind == "leads":
        _check_unique(df, "lead_id", source)
        used = {r.attribute for r in [*definition.fit_rules, *definition.bant.values()]}
        lacking = [c for c in not_given if c in used]
        if lacking:
            warnings.warn(f"{source}: no column(s) {lacking}; the rules on them score nothing", LeadsimWarning,
                          stacklevel=2)
    elif kind == "activities" and len(df):
        _warn_unused_activities(df["activity"], definition, source)
    elif kind == "owners":
        _check_unique(df, "owner", source)
    elif kind == "outcomes":
        if df["handoff_id"].isna().all():
            order = df.sort_values(["lead_id", "handed_at"], kind="stable")
            n = order.groupby("lead_id").cumcount() + 1
            df["handoff_id"] = (order["lead_id"] + "#" + n.astype(str)).reindex(df.index)
        _check_unique(df, "handoff_id", source)
    elif kind == "stage_log" and collapse_repeats and len(df):
        df = df.sort_values(["lead_id", "at"], kind="stable")
        repeat = df["stage"].eq(df.groupby("lead_id")["stage"].shift())
        df = df[~repeat].reset_index(drop=True)
    order = list(cols) + [c for c in df.columns if c not in cols]
    return df[order]


def _warn_unused_activities(names: pd.Series, definition: LeadDefinition, source: str) -> None:
    """Warn about activity names that neither leadsim's vocabulary nor any rule knows (an un-recoded CRM value?)."""
    known = set(ACTIVITIES)
    for r in [*definition.behaviour_rules, *definition.hot_triggers]:
        known.update(r.activities)
    counts = names.value_counts()
    odd = counts[~counts.index.isin(list(known))]
    if len(odd):
        shown = ", ".join(f"{k!r} ({v} rows)" for k, v in odd.head(5).items())
        warnings.warn(
            f"{source}: column 'activity': {shown} match no rule and score nothing; leadsim's activities are "
            f"{list(ACTIVITIES)}; recode them under 'values: activity:' in a column mapping if they are the same thing",
            LeadsimWarning,
            stacklevel=3,
        )


def _empty(typ: str, n: int) -> pd.Series:
    if typ in ("datetime", "date"):
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if typ == "number":
        return pd.Series(np.nan, index=range(n), dtype="float64")
    if typ == "integer":
        return pd.Series(pd.NA, index=range(n), dtype="Int64")
    if typ == "bool":
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    return pd.Series(None, index=range(n), dtype=object).astype(str)


def _check_unique(df: pd.DataFrame, col: str, source: str) -> None:
    dup = df[col].duplicated(keep=False)
    if dup.any():
        ids = list(dict.fromkeys(df.loc[dup, col]))
        raise DataError(
            f"{len(ids)} {col} value(s) occur more than once ({', '.join(map(repr, ids[:5]))}"
            f"{' ...' if len(ids) > 5 else ''}; {_rows(dup)}); each record needs its own {col}",
            where=f"{source}: column {col!r}",
        )


def _check_allowed(values: pd.Series, allowed: set[Any], where: str, on_unknown: str) -> pd.Series:
    lookup = {str(a): a for a in allowed}
    bad = values.notna() & ~values.isin(list(lookup))
    if not bad.any():
        if any(not isinstance(a, str) for a in allowed):
            return values.map(lambda v: lookup.get(v, v), na_action="ignore")
        return values
    parts = []
    for v in list(dict.fromkeys(values[bad]))[:6]:
        parts.append(f"{v!r} ({_rows(values == v, 3)})")
    msg = (f"{int(bad.sum())} value(s) outside the allowed values: {', '.join(parts)}; allowed: "
           f"{sorted(lookup)}")
    if on_unknown == "error":
        raise DataError(msg + "; recode them under 'values:' in a column mapping, or fix the file", where=where)
    warnings.warn(f"{where}: {msg}; set to missing", LeadsimWarning, stacklevel=4)
    return values.where(~bad)


def _stage_ids(values: pd.Series, definition: LeadDefinition, where: str) -> pd.Series:
    lookup: dict[str, str] = {}
    for st in definition.funnel.stages:
        lookup[st.id.casefold()] = st.id
        lookup[st.label.casefold()] = st.id
    key = values.str.casefold()
    out = key.map(lookup)
    bad = values.notna() & out.isna()
    if bad.any():
        names = list(dict.fromkeys(values[bad]))[:5]
        raise DataError(
            f"unknown stage(s) {names} ({_rows(bad)}); the definition's stages are "
            f"{[f'{s.id} ({s.label})' for s in definition.funnel.stages]}; recode CRM statuses under "
            "'values: stage:' in a column mapping",
            where=where,
        )
    return out.astype(str)


def read_table(
    path: str | os.PathLike[str],
    kind: Kind,
    definition: LeadDefinition | None = None,
    mapping: ColumnMapping | str | os.PathLike[str] | None = None,
    *,
    on_unknown: Literal["error", "na"] = "error",
) -> pd.DataFrame:
    """Read one table of ``kind`` from a CSV, Parquet or Excel file and check it.

    ``mapping`` (a :class:`ColumnMapping` or the path of its YAML file)
    renames and recodes a CRM export first; the mapping's table of ``kind``
    is used when it has one.  Without ``definition`` the embedded default is
    used for attribute types and the calendar zone.
    """
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where=str(path))
    definition = definition or load_definition()
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
    df = _read_raw(p, tm, sorted(missing))
    if tm is not None:
        df = _apply_mapping(df, kind, tm, str(p))
    formats: dict[str, str] = {}
    if mapping is not None and mapping.date_format:
        formats = {c: mapping.date_format for c, t in _columns_for(kind, definition).items() if t in ("datetime", "date")}
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
            first = ", ".join(f"{i!r} ({_rows((table['lead_id'] == i).to_numpy(), 3)})" for i in ids[:5])
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
                raise DataError(f"column {col!r} names owner(s) {who} not in the owners table ({_rows(bad)}); "
                                "add them to the owners table or correct the names", where=files.get(name, name))


def read_tables(
    leads: str | os.PathLike[str],
    *,
    activities: str | os.PathLike[str] | None = None,
    stage_log: str | os.PathLike[str] | None = None,
    touches: str | os.PathLike[str] | None = None,
    owners: str | os.PathLike[str] | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    definition: LeadDefinition | None = None,
    mapping: ColumnMapping | str | os.PathLike[str] | None = None,
    on_unknown: Literal["error", "na"] = "error",
) -> dict[str, pd.DataFrame]:
    """Read several tables, check each, then check the references between them.

    Returns a dict keyed by kind (only the tables given).
    """
    definition = definition or load_definition()
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    paths = {"leads": leads, "activities": activities, "stage_log": stage_log, "touches": touches,
             "owners": owners, "outcomes": outcomes}
    out = {k: read_table(p, k, definition, mapping, on_unknown=on_unknown)  # type: ignore[arg-type]
           for k, p in paths.items() if p is not None}
    check_references(out["leads"], **{k: v for k, v in out.items() if k != "leads"}, files=paths)
    return out


# --------------------------------------------------------------------------- writing


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``df`` as CSV, Parquet or Excel (by extension), atomically.

    A named index (such as the ``lead_id`` index of a score table) becomes a
    column.  An existing file is never replaced unless ``overwrite=True``.
    """
    p = Path(path)
    fmt = _EXTENSIONS.get(p.suffix.lower())
    if fmt is None:
        raise InputFileError(f"unknown output type {p.suffix!r}; use .csv, .parquet or .xlsx", where=str(p))
    if p.is_dir():
        raise InputFileError("is a directory; give a file name", where=str(p))
    if p.exists() and not overwrite:
        raise InputFileError("exists already; leadsim does not write over files (choose another name)", where=str(p))
    if not p.parent.exists():
        raise InputFileError(f"the folder {p.parent} does not exist", where=str(p))
    if isinstance(df.index, pd.MultiIndex) or df.index.name is not None:
        df = df.reset_index()
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent)
    os.close(fd)
    try:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_excel(tmp, index=False)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
