"""CRM column mappings: how a CRM export's columns and values become a leadsim table.

A mapping file (YAML, see ``data/mappings/crm_example.yaml``) has one
:class:`TableMapping` per table kind under ``tables:``; :func:`load_mapping`
reads and checks it, :func:`apply_mapping` renames, filters and recodes one
export with it before the table is validated.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leadsim.definition import LeadDefinition, format_validation_error, read_yaml
from leadsim.definition.loading import require_definition
from leadsim.definition.parts import time_zone
from leadsim.errors import InputFileError, LeadsimError, MappingError, SchemaError
from leadsim.io.schema import COLUMNS, Kind, allowed_values, columns_for, did_you_mean, strip_cells

__all__ = ["ColumnMapping", "TableMapping", "apply_mapping", "load_mapping"]


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
        return v if v is None else time_zone(v)

    @field_validator("date_format")
    @classmethod
    def _fmt(cls, v: str | None) -> str | None:
        if v is not None and "%" not in v:
            raise ValueError(f"date_format {v!r} has no % directive; write e.g. '%d.%m.%Y %H:%M'")
        return v

    def check(self, definition: LeadDefinition, *, source: str = "<mapping>") -> ColumnMapping:
        """Check that every mapped column and value exists in ``definition``; return self."""
        for kind, tm in self.tables.items():
            known = columns_for(kind, definition)
            for part in ("columns", "values", "dates", "defaults"):
                for col in getattr(tm, part):
                    if col not in known:
                        raise MappingError(
                            f"unknown leadsim column {col!r} for table {kind}{did_you_mean(col, known)}; "
                            f"known columns: {list(known)}",
                            where=f"{source}: tables.{kind}.{part}",
                        )
            for col, recode in tm.values.items():
                allowed = allowed_values(kind, col, known[col], definition)
                if allowed is None:
                    continue
                bad = [v for v in recode.values() if v is not None and v not in allowed]
                if bad:
                    raise MappingError(
                        f"maps onto value(s) {bad} that {col!r} does not allow; allowed: {sorted(allowed, key=str)}",
                        where=f"{source}: tables.{kind}.values.{col}",
                    )
        return self


def load_mapping(path: str | os.PathLike[str], definition: LeadDefinition) -> ColumnMapping:
    """Read a column-mapping YAML file and check it against ``definition``.

    >>> from leadsim import load_definition
    >>> from leadsim._resources import data_dir
    >>> m = load_mapping(data_dir() / "mappings" / "crm_example.yaml", load_definition())
    >>> m.tables["leads"].columns["lead_id"]
    'Lead ID'
    """
    definition = require_definition(definition, where=str(path))
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
        raise MappingError(format_validation_error(err, data), where=str(path)) from None
    mapping.check(definition, source=str(path))
    return mapping


def apply_mapping(df: pd.DataFrame, kind: str, tm: TableMapping, where: str) -> pd.DataFrame:
    """An export's rows and columns as a ``kind`` table: rows filtered, columns renamed, values recoded, defaults filled.

    Export columns that are not mapped are kept when they are leadsim columns
    of ``kind`` (every column, for leads: they may be attributes).  ``where``
    names the file in messages.

    >>> tm = TableMapping(columns={"lead_id": "ID"}, values={"source": {"Web": "web_form"}})
    >>> apply_mapping(pd.DataFrame({"ID": ["L1"], "source": ["Web"]}), "leads", tm, "x.csv").to_dict("records")
    [{'lead_id': 'L1', 'source': 'web_form'}]
    """
    for col, keep in tm.rows_where.items():
        if col not in df.columns:
            raise MappingError(f"rows_where names export column {col!r}, which the file lacks; "
                               f"its columns are {list(df.columns)}", where=where)
        df = df[df[col].isin(keep).fillna(False).astype(bool)].reset_index(drop=True)
    missing = [src for src in tm.columns.values() if src not in df.columns]
    if missing:
        raise SchemaError(
            f"the mapping names export column(s) {missing} that the file lacks{did_you_mean(missing[0], df.columns)}; "
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
            key = strip_cells(out[col])
            hit = key.isin(list(recode)).fillna(False).astype(bool)
            out[col] = out[col].astype(object).where(~hit, key[hit].map(recode))
    for col, value in tm.defaults.items():
        if col not in out.columns:
            out[col] = value
        else:
            out[col] = out[col].where(out[col].notna(), value)
    return out
