"""What a mapping does to an export, before anything runs: columns, values, what is left unmapped, row counts.

:func:`check_mapping` reads an export folder through a mapping the way
:func:`~leadsim.io.export.read_export` does and reports, per table and file,
which export column each leadsim column comes from, what each export value
becomes (a leadsim value, ``ignore``, *unmapped* where the column has a
closed set of values, or *as is* where it is open text such as a source), the export columns no
table reads, and the rows read, kept and set aside.  ``leadsim mapping check``
prints it.

>>> import warnings; warnings.simplefilter("ignore")
>>> from leadsim import load_definition
>>> from leadsim._resources import data_path
>>> c = check_mapping(data_path("exports/marketo"), load_definition(), mapping=data_path("mappings/marketo.yaml"))
>>> c.rows.set_index("table").loc["stage_log", ["read", "kept", "set_aside"]].tolist()
[57, 53, 4]
>>> v = c.values
>>> v[(v["column"] == "stage") & (v["maps_to"] == "(unmapped)")]["value"].tolist()
['Partner Nurture']
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import InputFileError, SchemaError
from leadsim.io.database import Database
from leadsim.io.export import ORDER, read_with, source_reader
from leadsim.io.mapping import IGNORE, ColumnMapping, load_mapping, mapped_columns
from leadsim.io.schema import allowed_values, strip_cells
from leadsim.io.transforms import PROVENANCE, column, prepare

__all__ = ["MappingCheck", "check_mapping"]


@dataclass
class MappingCheck:
    """The tables of a mapping check (see :func:`check_mapping`)."""

    columns: pd.DataFrame
    values: pd.DataFrame
    unread: pd.DataFrame
    rows: pd.DataFrame
    summary: list[str]


def check_mapping(source: str | os.PathLike[str] | Database, definition: LeadDefinition, *,
                  mapping: ColumnMapping | str | os.PathLike[str]) -> MappingCheck:
    """Explain what ``mapping`` reads from the export folder or database ``source``; see the module docstring."""
    where = source.where if isinstance(source, Database) else str(source)
    definition = require_definition(definition, where=where)
    if not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping, definition)
    raw = source_reader(source, mapping)
    cols, vals, used = [], [], {}
    known = {k: mapped_columns(k, definition) for k in mapping.tables}
    for kind in (k for k in ORDER if k in mapping.tables):
        for src in mapping.tables[kind].sources():
            try:
                # a file with the source's encoding and separator; a database table with every column
                df = raw(src.file or "", None if isinstance(source, Database) else src, kind)
            except (InputFileError, SchemaError):
                cols.append({"table": kind, "file": src.file, "leadsim": "", "export": "", "status": "file missing"})
                continue
            name = str(df["_file"].iloc[0]) if len(df) else (src.file or "")
            df = df.drop(columns=[c for c in PROVENANCE if c in df.columns])
            used.setdefault(name, (set(), list(df.columns)))
            seen = used[name][0]
            read_cols = [*src.rows_where, *src.rows_matching, *src.rows_not_matching, *src.split, *src.lookup,
                         *(jf.column for jf in src.json_fields.values()),
                         *(src.unpivot.columns if src.unpivot is not None else [])]
            for c in read_cols:
                if c.casefold() in {x.casefold() for x in df.columns}:
                    seen.add(column(df, c, where=name))
            rows = prepare(df.assign(**dict.fromkeys(PROVENANCE)), src, where=name,
                           other=lambda f, kind=kind: raw(f, None, kind))
            for dst, col in src.columns.items():
                try:
                    found = column(rows, col, where=name)
                except SchemaError:  # reported as missing instead of stopping the check
                    found = None
                if found is not None and found in df.columns:
                    seen.add(found)
                cols.append({"table": kind, "file": name, "leadsim": dst, "export": col,
                             "status": "found" if found is not None else "missing"})
                recode = src.values.get(dst) if found is not None else None
                if recode is None:
                    continue
                closed = allowed_values(kind, dst, known[kind][dst], definition) is not None
                counts = strip_cells(rows[found].astype("string")).value_counts(dropna=False, sort=False)
                for value, n in counts.items():
                    text = "(missing)" if pd.isna(value) else str(value)
                    to = recode.get(text)
                    vals.append({"table": kind, "file": name, "column": dst, "value": text, "rows": int(n),
                                 "maps_to": "(missing)" if pd.isna(value) else
                                 (("(unmapped)" if closed else "(as is)") if text not in recode
                                  else ("null" if to is None else str(to)))})
    unread = [{"file": name, "column": c} for name, (seen, all_cols) in used.items() for c in all_cols
              if c not in seen]
    ex = read_with(raw, definition, mapping=mapping)  # the files the check read are not read again
    rows_t = pd.DataFrame([{"table": t, "read": n, "kept": ex.kept(t), "set_aside": n - ex.kept(t),
                            "ignored": ex.ignored.get(t, 0)} for t, n in ex.read.items()])
    values = pd.DataFrame(vals, columns=["table", "file", "column", "value", "rows", "maps_to"])
    return MappingCheck(columns=pd.DataFrame(cols, columns=["table", "file", "leadsim", "export", "status"]),
                        values=values, unread=pd.DataFrame(unread, columns=["file", "column"]), rows=rows_t,
                        summary=[*ex.summary(), *_value_notes(values)])


def _value_notes(values: pd.DataFrame) -> list[str]:
    out = []
    um = values[values["maps_to"] == "(unmapped)"]
    for (table, col), g in um.groupby(["table", "column"], sort=False):
        n_of = g.groupby("value", sort=False)["rows"].sum()
        shown = ", ".join(f"{v!r} ({n})" for v, n in n_of.items())
        out.append(f"{table}.{col}: unmapped value(s) {shown}; map them under 'values:' (or to {IGNORE!r})")
    return out

