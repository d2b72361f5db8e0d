"""Checking an in-memory table against its kind: :func:`validate_table`.

Required columns present, ids unique, dates parsed (tz-aware times converted
to the definition's calendar zone, then made naive), attribute columns coerced
to the definition's types, categories within their allowed values.  Anything
wrong raises a :class:`~leadsim.errors.LeadsimError` naming the column, the
rows (numbered as in a spreadsheet: the header is row 1) and the bad values.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadsim.calendar import ZONE_SUFFIX
from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, SchemaError
from leadsim.io.schema import (
    ACTIVITIES,
    COLUMNS,
    KINDS,
    Kind,
    allowed_values,
    columns_for,
    did_you_mean,
    rows_text,
)

__all__ = ["validate_table"]

_TRUE = {"true", "yes", "y", "1", "t", "1.0"}
_FALSE = {"false", "no", "n", "0", "f", "0.0"}


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


def _coerce_datetime(s: pd.Series, fmt: str | None, zone: str, src_zone: str | None,
                     where: str = "<column>") -> tuple[pd.Series, pd.Series]:
    """Parse to naive local ``datetime64[ns]`` of ``zone``; return (values, bad mask).

    Text with a zone (``...Z``, ``+01:00``) and text without one in the same column is an error unless a
    mapping names the zone of the naive ones (``src_zone``): they would be read as calendar time while the rest
    are converted, without anybody noticing."""
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
    aware = present & txt.str.contains(ZONE_SUFFIX, na=False)
    naive = present & ~aware
    if aware.any() and naive.any() and src_zone is None:
        raise DataError(f"mixed time zones: {int(aware.sum())} value(s) carry a zone ({_examples(s, aware)}) and "
                        f"{int(naive.sum())} do not ({_examples(s, naive)}); export the column one way, or name the "
                        "zone of the ones without in a column mapping ('timezone:')", where=where)
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



def validate_table(
    df: pd.DataFrame,
    kind: Kind,
    definition: LeadDefinition,
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

    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "created_at": ["2026-03-02 09:00", "2026-03-02 10:00"],
    ...                       "industry": ["software", "mining"]})
    >>> from leadsim import load_definition
    >>> validate_table(leads, "leads", load_definition(), source="leads.csv")
    Traceback (most recent call last):
    ...
    leadsim.errors.DataError: leads.csv: column 'industry': 1 value(s) outside the allowed values: 'mining' (row 3); ...
    >>> owners = pd.DataFrame({"owner": ["ana", "ben"], "role": ["BDR", "Account Executive"]})  # roles are open
    >>> validate_table(owners, "owners", load_definition())["role"].tolist()
    ['BDR', 'Account Executive']
    """
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where=source)
    definition = require_definition(definition, where=source)
    zone = definition.calendar.timezone
    date_formats = dict(date_formats or {})
    cols = columns_for(kind, definition)
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
        hint = did_you_mean(absent[0], df.columns)
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
            values, bad = _coerce_datetime(s, date_formats.get(col), zone, source_timezone, where)
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
                comma = decimal == "." and _text(s)[bad].str.fullmatch(r"-?[\d.]*\d,\d+").fillna(False).all()
                hint = "; they are written with a decimal comma: set decimal: ',' for this table in the column " \
                       "mapping" if comma else ""
                raise DataError(f"{int(bad.sum())} value(s) are not numbers ({_examples(s, bad)}){hint}", where=where)
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
            allowed = allowed_values(kind, col, typ, definition)
            if allowed is not None:
                values = _check_allowed(values, allowed, where, on_unknown)
        if COLUMNS.get(kind, {}).get(col, ("", False))[1] and typ in ("id", "datetime", "stage", "role"):
            gap = values.isna()
            if gap.any():
                raise DataError(f"{int(gap.sum())} value(s) missing in a required column ({rows_text(gap)}); "
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
            f"{' ...' if len(ids) > 5 else ''}; {rows_text(dup)}); each record needs its own {col}",
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
        parts.append(f"{v!r} ({rows_text(values == v, 3)})")
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
            f"unknown stage(s) {names} ({rows_text(bad)}); the definition's stages are "
            f"{[f'{s.id} ({s.label})' for s in definition.funnel.stages]}; recode CRM statuses under "
            "'values: stage:' in a column mapping",
            where=where,
        )
    return out.astype(str)
