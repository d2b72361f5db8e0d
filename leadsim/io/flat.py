"""A flat lead export: one row per lead with form fields, aggregated behaviour and (for calibration) an outcome.

Many teams have no activity log, only the CRM's lead list: a row per lead
with its form fields (``Lead Origin``, ``Company Size``, ``How did you hear
about us``), aggregated web behaviour (``Total Time Spent on Website``,
``Page Views Per Visit``) and a converted flag.  :func:`read_flat` reads such
a file (CSV, Parquet or Excel) with an optional column mapping, and
:func:`flat_leads` turns it into a leads table: ``lead_id`` from the id
column, ``created_at`` set to one moment (:data:`FLAT_TIME`, a flat export has
no times) and every other column typed.

Calibration (:func:`leadsim.calibration.calibrate_flat`) infers the types:
a number when at least 95 % of the filled cells read as numbers (the
others become missing), a category when it has at most 50 levels, else
left out.  Scoring with the definition calibration wrote passes that
definition's attribute ``types``, so new rows are read as the calibration
read the export.

A mapping's ``missing`` list (top level or under ``tables: leads:``) names
cell texts that mean "not chosen" (a form's ``Select``, ``Unknown``): they
become missing, as in every other leadsim table; its ``tables: leads:``
``columns`` and ``values`` rename and recode any column.  A mapping for a
flat export needs no ``leads`` columns the definition knows (template:
``data/mappings/flat_export.yaml``).

>>> t = pd.DataFrame({"Lead Number": ["F1", "F2", "F3"], "size": ["120", None, "40"],
...                   "origin": ["API", None, "Chat"]})
>>> leads, types = flat_leads(t, id_column="Lead Number")
>>> types, leads["size"].tolist()
({'size': 'number', 'origin': 'category'}, [120.0, nan, 40.0])
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from leadsim.definition import LeadsimWarning
from leadsim.errors import DataError, SchemaError

__all__ = ["FLAT_TIME", "definition_leads", "flat_leads", "read_flat", "read_flat_leads"]

#: The moment every flat row is created and scored at (a flat export has no times).
FLAT_TIME = pd.Timestamp("2000-01-03 09:00")
#: Most levels a text column may have to become a category attribute.
MAX_LEVELS = 50


def _as_number(col: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float)
    return pd.to_numeric(col, errors="coerce").astype(float)


def _typed(col: pd.Series, typ: str | None = None) -> tuple[pd.Series, str | None]:
    """The column's values and type: ``typ`` when given, else inferred (see the module docstring)."""
    if typ is None:
        if pd.api.types.is_bool_dtype(col):
            typ = "category"
        elif pd.api.types.is_numeric_dtype(col):
            typ = "number"
        else:
            num = pd.to_numeric(col, errors="coerce")
            filled = col.notna().sum()
            if filled and num.notna().sum() >= 0.95 * filled:
                typ = "number"
            else:
                typ = "category" if 1 <= col.astype("string").nunique(dropna=True) <= MAX_LEVELS else None
    if typ is None:
        return col, None
    if typ in ("number", "integer"):
        return _as_number(col), typ
    text = col.astype("string")
    return (text.str.lower() if pd.api.types.is_bool_dtype(col) else text), typ


def flat_leads(table: pd.DataFrame, *, id_column: str | None = None, outcome: str | None = None,
               missing: Sequence[str] = (), types: Mapping[str, str] | None = None,
               where: str = "leads") -> tuple[pd.DataFrame, dict[str, str]]:
    """The export as a leads table (``lead_id``, ``created_at`` = :data:`FLAT_TIME`, typed columns) and the types.

    ``id_column`` names the id (default: a ``lead_id`` column, else the row
    numbers); ``outcome`` is left out of the attributes; ``missing`` lists cell
    texts that mean "not chosen" (e.g. ``Select``); ``types`` (attribute ->
    type) reads those columns with those types and leaves the others out.
    """
    if id_column is None and "lead_id" in table.columns:
        id_column = "lead_id"
    for col, what, option in ((id_column, "id", "--id"), (outcome, "outcome", "--outcome")):
        if col is not None and col not in table.columns:
            from leadsim.io.schema import did_you_mean

            raise SchemaError(f"no {what} column {col!r}{did_you_mean(col, map(str, table.columns))}; the columns are "
                              f"{list(table.columns)[:15]}; give {option} COLUMN", where=where)
    ids = (table[id_column].astype("string").str.strip().reset_index(drop=True) if id_column is not None
           else pd.Series([f"row_{i + 2}" for i in range(len(table))], dtype="string"))
    bad = ids.isna() | ids.duplicated(keep=False)
    if bad.any():
        from leadsim.io.schema import rows_text

        shown = ids[bad].head(3).tolist()
        raise DataError(f"the id column must be filled and unique; {rows_text(bad.to_numpy(), 3)} hold {shown}",
                        where=f"{where}: column {id_column!r}")
    markers = set(missing)
    out = {"lead_id": ids.to_numpy(dtype=object), "created_at": np.full(len(table), FLAT_TIME)}
    found: dict[str, str] = {}
    for c in table.columns:
        name = str(c)
        if c in (id_column, outcome, "lead_id", "created_at") or (types is not None and name not in types):
            continue
        col = table[c].reset_index(drop=True)
        if markers and not pd.api.types.is_numeric_dtype(col):
            col = col.where(~col.astype("string").str.strip().isin(markers).fillna(False).to_numpy(dtype=bool), None)
        values, typ = _typed(col, None if types is None else types[name])
        if typ is None:
            continue
        if typ in ("number", "integer") and types is not None:
            lost = col.notna() & values.isna() & col.astype("string").str.strip().ne("").fillna(False)
            if lost.any():
                warnings.warn(f"{where}: column {name!r}: {int(lost.sum())} value(s) are not numbers (e.g. "
                              f"{col[lost].iloc[0]!r}) and count as missing, as they did in calibration",
                              LeadsimWarning, stacklevel=2)
        out[name] = values.to_numpy(dtype=float, na_value=np.nan) if typ in ("number", "integer") else \
            values.to_numpy(dtype=object, na_value=None)
        found[name] = typ
    return pd.DataFrame(out), found


def read_flat(path: str | os.PathLike[str], *, mapping=None) -> pd.DataFrame:
    """Read a flat export file: cells stripped, missing markers missing, the mapping's leads renames and recodes.

    ``mapping``: a :class:`~leadsim.io.mapping.ColumnMapping`, the path of its
    YAML file, or None.  Errors name the file (empty, unreadable, unknown type).
    """
    from leadsim.io.mapping import ColumnMapping, parse_mapping
    from leadsim.io.reading import read_raw
    from leadsim.io.schema import DEFAULT_MISSING
    from leadsim.io.transforms import apply_mapping, prepare

    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = parse_mapping(mapping)
    tm = mapping.tables.get("leads") if mapping is not None else None
    markers = set(DEFAULT_MISSING) | set(mapping.missing if mapping is not None else ()) | set(tm.missing if tm else ())
    p = Path(path)
    df = read_raw(p, tm, sorted(markers))
    if tm is not None:
        df = apply_mapping(prepare(df, tm, where=str(p), other=None), "leads", tm, str(p))
        df = df.drop(columns=[c for c in ("_file", "_line", "_column") if c in df.columns])
    if not len(df):
        raise DataError("the file has a header but no rows; expected one row per lead", where=str(p))
    return df


def definition_leads(table: pd.DataFrame, definition, *, id_column: str | None = None,
                     where: str = "leads") -> pd.DataFrame:
    """Rows of a flat export as a checked leads table, read with ``definition``'s attribute types.

    What :func:`leadsim.calibration.calibrate_flat` learnt from is read the
    same way here (:func:`flat_leads` with the definition's types), so new
    rows are scored as calibration saw them; columns the definition does not
    know (the outcome, a status) are left out.
    """
    from leadsim.io.validate import validate_table

    types = {a.name: a.type for a in definition.attributes}
    leads, _ = flat_leads(table, id_column=id_column, types=types, where=where)
    return validate_table(leads, "leads", definition, source=where)


def read_flat_leads(path: str | os.PathLike[str], definition, *, id_column: str | None = None,
                    mapping=None) -> pd.DataFrame:
    """:func:`read_flat` then :func:`definition_leads`: what ``leadsim score --leads FILE --id COLUMN`` scores."""
    return definition_leads(read_flat(path, mapping=mapping), definition, id_column=id_column, where=str(path))
