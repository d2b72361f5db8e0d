"""The row steps of a mapping source: JSON fields, row filters, split cells, unpivoted dates, look-ups.

:func:`prepare` runs the steps of a :class:`~leadsim.io.mapping.SourceMapping`
on the rows of one export file, before its columns are mapped (see
:func:`~leadsim.io.mapping.apply_mapping`).  Export column names are matched
without regard to case (Salesforce's Data Loader writes ``CREATEDDATE`` where
the API writes ``CreatedDate``).  Every row keeps where it came from
(:data:`PROVENANCE`: file, line, and for unpivoted rows the column), so a row
set aside later can be found in the export.

>>> from leadsim.io.mapping import SourceMapping
>>> raw = pd.DataFrame({"ID": ["7", "8"], "Who": ["a;b", "c"], "Became a Lead Date": ["2026-03-02", None]})
>>> src = SourceMapping(split={"who": ";"}, unpivot={"columns": {"Became a Lead Date": "Lead"},
...                                                   "into": ["Stage", "Date"]})
>>> prepare(raw, src, where="contacts.csv", other=None)[["ID", "Who", "Stage", "Date"]].to_dict("records")
[{'ID': '7', 'Who': 'a', 'Stage': 'Lead', 'Date': '2026-03-02'}, {'ID': '7', 'Who': 'b', 'Stage': 'Lead', 'Date': '2026-03-02'}]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from leadsim.errors import MappingError, SchemaError
from leadsim.io.mapping import FROM_STAGE, IGNORE, SourceMapping
from leadsim.io.schema import COLUMNS, did_you_mean, strip_cells

__all__ = ["PROVENANCE", "apply_mapping", "column", "numbered", "prepare"]

#: Columns that say where a row came from: the file, its line (the header is line 1) and, for an unpivoted row,
#: the export column of its cell.
PROVENANCE = ("_file", "_line", "_column")


def numbered(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """``df`` with its provenance: ``_file`` and ``_line`` (row ``i`` of a file with one header line is line ``i + 2``)."""
    out = df.copy()
    out["_file"] = file
    out["_line"] = np.arange(len(df), dtype=np.int64) + 2
    out["_column"] = None
    return out


def column(df: pd.DataFrame | Iterable[str], name: str, *, where: str, what: str = "the mapping names") -> str:
    """The export column ``name`` as the file spells it: an exact match, else the one equal but for case.

    >>> column(pd.DataFrame(columns=["CREATEDDATE"]), "CreatedDate", where="Lead.csv")
    'CREATEDDATE'
    """
    cols = [str(c) for c in (df.columns if isinstance(df, pd.DataFrame) else df)]
    if name in cols:
        return name
    folded = [c for c in cols if c.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    if len(folded) > 1:
        raise SchemaError(f"{what} export column {name!r}, which the file has in several spellings {folded}",
                          where=where)
    shown = [c for c in cols if c not in PROVENANCE]
    raise SchemaError(f"{what} export column {name!r}, which the file lacks{did_you_mean(name, shown)}; "
                      f"its columns are {shown}", where=where)


def prepare(df: pd.DataFrame, src: SourceMapping, *, where: str,
            other: Callable[[str], pd.DataFrame] | None) -> pd.DataFrame:
    """Run ``src``'s row steps on ``df`` (one export file's rows); ``other(file)`` reads another file for look-ups."""
    for new, jf in src.json_fields.items():
        df = df.assign(**{new: _json_values(df[column(df, jf.column, where=where, what="json reads")], jf.key,
                                            where=f"{where}: column {jf.column!r}")})
    for col, keep in src.rows_where.items():
        c = column(df, col, where=where, what="rows_where names")
        df = df[strip_cells(df[c]).isin([str(k) for k in keep]).fillna(False).to_numpy(dtype=bool)]
    for col, pattern in src.rows_matching.items():
        df = df[_matches(df, col, pattern, where)]
    for col, pattern in src.rows_not_matching.items():
        df = df[~_matches(df, col, pattern, where)]
    for col, sep in src.split.items():
        c = column(df, col, where=where, what="split names")
        parts = df[c].astype("string").str.split(re.escape(sep), regex=True)
        df = df.assign(**{c: parts}).explode(c)
        df[c] = strip_cells(df[c].astype("string")).replace("", pd.NA)
        df = df[df[c].notna().to_numpy(dtype=bool)]
    if src.unpivot is not None:
        df = _unpivot(df, src, where)
    for col, lk in src.lookup.items():
        if other is None:
            raise MappingError(f"lookup on {col!r} reads {lk.file!r}: give the whole export folder (--export)",
                               where=where)
        c = column(df, col, where=where, what="lookup names")
        df = df.assign(**{c: _look_up(df[c], lk.match, lk.take, lk.unmatched, other(lk.file), lk.file)})
    return df.reset_index(drop=True)


def _matches(df: pd.DataFrame, col: str, pattern: str, where: str) -> np.ndarray:
    c = column(df, col, where=where, what="a row pattern names")
    return df[c].astype("string").str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _json_values(cells: pd.Series, key: str, *, where: str) -> pd.Series:
    out = []
    for i, cell in enumerate(cells.tolist()):
        if cell is None or cell is pd.NA or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
            out.append(None)
            continue
        try:
            obj = json.loads(cell)
        except ValueError:
            raise MappingError(f"row {i + 2}: {str(cell)[:60]!r} is not JSON", where=where) from None
        value = obj.get(key) if isinstance(obj, dict) else None
        out.append(None if value is None else str(value))
    return pd.Series(out, index=cells.index, dtype=object)


def _unpivot(df: pd.DataFrame, src: SourceMapping, where: str) -> pd.DataFrame:
    assert src.unpivot is not None
    value_col, cell_col = src.unpivot.into
    cols = {column(df, c, where=where, what="unpivot names"): v for c, v in src.unpivot.columns.items()}
    rest = [c for c in df.columns if c not in cols and c != "_column"]
    frames = []
    for c, value in cols.items():
        cell = strip_cells(df[c].astype("string"))
        keep = cell.notna() & (cell != "")
        part = df.loc[keep.to_numpy(dtype=bool), rest].copy()
        part[value_col] = value
        part[cell_col] = cell[keep].astype(object)
        part["_column"] = c
        frames.append(part)
    if not frames:
        return df.iloc[0:0]
    return pd.concat(frames).sort_index(kind="stable")


def _look_up(values: pd.Series, match: list[str], take: str, unmatched: str, table: pd.DataFrame,
             file: str) -> pd.Series:
    key_of: dict[str, object] = {}
    t = column(table, take, where=file, what="lookup takes")
    for m in match:
        mc = column(table, m, where=file, what="lookup matches")
        for k, v in zip(strip_cells(table[mc].astype("string")).tolist(), table[t].tolist(), strict=True):
            if k is not None and k is not pd.NA and k != "":
                key_of.setdefault(k, v)
    text = strip_cells(values.astype("string"))
    found = text.map(key_of)
    if unmatched == "keep":
        return found.where(found.notna(), values)
    return found


def apply_mapping(df: pd.DataFrame, kind: str, tm: SourceMapping, where: str) -> pd.DataFrame:
    """Prepared export rows (see :func:`prepare`) as a ``kind`` table: columns renamed, values recoded, defaults filled.

    Export columns that are not mapped are kept when they are leadsim columns
    of ``kind`` (every column, for leads: they may be attributes), and so is
    the rows' provenance.  A value recoded to ``ignore`` leaves its row out
    (``out.attrs["ignored"]`` counts them).  ``where`` names the file in messages.

    >>> from leadsim.io.mapping import TableMapping
    >>> tm = TableMapping(columns={"lead_id": "ID"}, values={"source": {"Web": "web_form", "Test": "ignore"}})
    >>> raw = pd.DataFrame({"id": ["L1", "L2"], "source": ["Web", "Test"]})
    >>> apply_mapping(raw, "leads", tm, "x.csv").to_dict("records")
    [{'lead_id': 'L1', 'source': 'web_form'}]
    """
    keep = {column(df, src, where=where): dst for dst, src in tm.columns.items()}
    known = set(COLUMNS[kind]) | ({FROM_STAGE} if kind == "stage_log" else set())
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        if c in keep:
            out[keep[c]] = df[c]
        elif c in PROVENANCE or ((c in known or kind == "leads") and c not in tm.columns and c not in out.columns):
            out[c] = df[c]
    ignored = np.zeros(len(out), bool)
    for col, recode in tm.values.items():
        if col in out.columns:
            key = strip_cells(out[col])
            hit = key.isin(list(recode)).fillna(False).astype(bool)
            out[col] = out[col].astype(object).where(~hit, key[hit].map(recode))
            ignored |= (out[col] == IGNORE).fillna(False).to_numpy(dtype=bool)
    for col, value in tm.defaults.items():
        if col not in out.columns:
            out[col] = value
        else:
            out[col] = out[col].where(out[col].notna(), value)
    out = out[~ignored].reset_index(drop=True)
    out.attrs["ignored"] = int(ignored.sum())
    return out
