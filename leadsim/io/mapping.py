"""CRM column mappings: how a CRM export's columns and values become a leadsim table.

A mapping file (YAML; ``data/mappings/`` holds templates for Salesforce,
HubSpot and Marketo, and ``crm_example.yaml`` for single files) has one
:class:`TableMapping` per table kind under ``tables:``; :func:`load_mapping`
reads and checks it.  :mod:`leadsim.io.transforms` runs a source's row steps
and maps its columns; :mod:`leadsim.io.export` reads a whole export folder.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from leadsim.definition import LeadDefinition, format_validation_error, read_yaml
from leadsim.definition.loading import require_definition
from leadsim.definition.parts import time_zone
from leadsim.errors import InputFileError, LeadsimError, MappingError
from leadsim.io.schema import Kind, allowed_values, columns_for, did_you_mean

__all__ = ["FROM_STAGE", "IGNORE", "ColumnMapping", "JsonField", "Lookup", "SourceMapping", "TableMapping", "Unpivot",
           "load_mapping", "mapped_columns", "parse_mapping"]

#: A mapped value that leaves its row out (a status that is no stage, an activity type leadsim does not score).
IGNORE = "ignore"
#: A stage log's pseudo-column: the stage a change row moves *from* (Salesforce's OldValue); it sets the entry stage.
FROM_STAGE = "from_stage"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Lookup(_Model):
    """Replace a column's values through another file of the export (a join).

    A value equal to one of the ``match`` columns of a row of ``file`` becomes
    that row's ``take`` value; a value found nowhere becomes missing (or stays,
    with ``unmatched: keep``).  Salesforce example: a task's ``WhoId`` is the
    lead's id *or*, once the lead is converted, its contact's id:
    ``{file: Lead.csv, match: [Id, ConvertedContactId], take: Id}``.
    """

    file: str
    match: list[str]
    take: str
    unmatched: Literal["missing", "keep"] = "missing"


class JsonField(_Model):
    """A new export column holding ``key`` of the JSON object in ``column`` (Marketo's ``attributes``)."""

    column: str
    key: str


class Unpivot(_Model):
    """One row per non-empty cell of ``columns`` (export column -> the value it stands for).

    The new rows carry ``into[0]`` (the value) and ``into[1]`` (the cell),
    plus every other column of their row.  HubSpot example: ``columns:
    {"Became a Lead Date": Lead, ...}, into: [Stage, Date]``.
    """

    columns: dict[str, str]
    into: tuple[str, str] = ("value", "cell")


class SourceMapping(_Model):
    """How the rows of one export file become rows of a leadsim table.

    Steps, in this order: ``json`` adds columns read from a JSON column;
    ``rows_where`` keeps rows whose column holds one of the listed values and
    ``rows_matching`` / ``rows_not_matching`` those whose column matches (or
    does not match) a regular expression; ``split`` turns a cell listing
    several values (``"401263;401264"``) into one row per value; ``unpivot``
    turns date columns into rows; ``lookup`` replaces ids through another
    file.  Then ``columns`` maps a leadsim column to the export's column (case
    does not matter), ``values`` recodes a leadsim column's values (export
    value -> leadsim value; ``null`` for missing; ``ignore`` drops the row),
    ``dates`` gives a ``strptime`` format per date column and ``defaults``
    fills a column the export lacks.  ``file`` names the file inside an
    export folder (``--export``); its name's case does not matter either.
    """

    file: str | None = None
    json_fields: dict[str, JsonField] = Field(default_factory=dict, alias="json")
    rows_where: dict[str, list[str]] = Field(default_factory=dict)
    rows_matching: dict[str, str] = Field(default_factory=dict)
    rows_not_matching: dict[str, str] = Field(default_factory=dict)
    split: dict[str, str] = Field(default_factory=dict)
    unpivot: Unpivot | None = None
    lookup: dict[str, Lookup] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dates: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)
    sep: str | None = None
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8-sig"
    sheet: str | int | None = None
    entry: bool = False

    @field_validator("dates")
    @classmethod
    def _formats(cls, v: dict[str, str]) -> dict[str, str]:
        for col, fmt in v.items():
            if "%" not in fmt:
                raise ValueError(f"date format {fmt!r} for {col!r} has no % directive; write e.g. '%d.%m.%Y %H:%M'")
        return v

    @field_validator("rows_matching", "rows_not_matching")
    @classmethod
    def _patterns(cls, v: dict[str, str]) -> dict[str, str]:
        for col, pattern in v.items():
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"pattern {pattern!r} for {col!r} is not a regular expression: {err}") from None
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
        src = [x.casefold() for x in v.values()]
        dup = sorted({s for s in src if src.count(s) > 1})
        if dup:
            raise ValueError(f"export column(s) {dup} mapped onto more than one leadsim column")
        return v


class TableMapping(SourceMapping):
    """How an export becomes one leadsim table: one source, or several ``parts`` read and stacked.

    ``parts`` (each a :class:`SourceMapping` with its own ``file``) build one
    table from several files or row kinds, e.g. a Salesforce stage log from
    the lead history's status rows, its owner rows and the opportunity
    history.  ``collapse_repeats`` (stage logs) drops a row that maps onto the
    stage the lead is in already and names no new owner; ``carry`` fills a
    row's missing values of these columns from the lead's previous row in time
    order (an owner-change row takes the stage the lead is in; a status row the
    owner who holds it).  A part with ``entry: true`` gives each lead's entry
    row; when the lead's first change row maps a ``from_stage``, the entry is
    in that stage.
    """

    parts: list[SourceMapping] = Field(default_factory=list)
    collapse_repeats: bool = True
    carry: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way(self) -> TableMapping:
        if self.parts and (self.file or self.columns or self.rows_where or self.unpivot is not None):
            raise ValueError("a table with 'parts' reads its files in the parts; move file, columns and row filters "
                             "into them")
        return self

    def sources(self) -> list[SourceMapping]:
        """The parts, or the table itself when it has none."""
        return list(self.parts) or [self]


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
            known = mapped_columns(kind, definition)
            for col in tm.carry:
                if col not in known:
                    raise MappingError(f"carry names unknown leadsim column {col!r}{did_you_mean(col, known)}",
                                       where=f"{source}: tables.{kind}.carry")
            for k, src in enumerate(tm.sources()):
                at = f"tables.{kind}" + (f".parts[{k}]" if tm.parts else "")
                if src.entry and kind != "stage_log":
                    raise MappingError("'entry: true' marks the entry rows of a stage log", where=f"{source}: {at}")
                for part in ("columns", "values", "dates", "defaults"):
                    for col in getattr(src, part):
                        if col not in known:
                            raise MappingError(
                                f"unknown leadsim column {col!r} for table {kind}{did_you_mean(col, known)}; "
                                f"known columns: {list(known)}",
                                where=f"{source}: {at}.{part}",
                            )
                for col, recode in src.values.items():
                    allowed = allowed_values(kind, col, known[col], definition)
                    if allowed is None:
                        continue
                    bad = [v for v in recode.values() if v is not None and v != IGNORE and v not in allowed]
                    if bad:
                        raise MappingError(
                            f"maps onto value(s) {bad} that {col!r} does not allow; allowed: "
                            f"{sorted(allowed, key=str)} (or {IGNORE!r} to leave the row out)",
                            where=f"{source}: {at}.values.{col}",
                        )
        return self


def mapped_columns(kind: str, definition: LeadDefinition) -> dict[str, str]:
    """The leadsim columns a mapping may fill for ``kind``: the table's own, plus a stage log's ``from_stage``."""
    known = columns_for(kind, definition)
    if kind == "stage_log":
        known = {**known, FROM_STAGE: "stage"}
    return known


def load_mapping(path: str | os.PathLike[str], definition: LeadDefinition) -> ColumnMapping:
    """Read a column-mapping YAML file and check it against ``definition``.

    >>> from leadsim import load_definition
    >>> from leadsim._resources import data_dir
    >>> m = load_mapping(data_dir() / "mappings" / "crm_example.yaml", load_definition())
    >>> m.tables["leads"].columns["lead_id"]
    'Lead ID'
    """
    definition = require_definition(definition, where=str(path))
    return parse_mapping(path).check(definition, source=str(path))


def parse_mapping(path: str | os.PathLike[str]) -> ColumnMapping:
    """Read a column-mapping YAML file without checking its columns against a definition.

    For a flat lead export (:mod:`leadsim.io.flat`), whose columns become the
    definition's attributes only once it is read: its ``missing`` markers,
    and the leads table's renames and recodes, apply to any column.
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
        raise MappingError(format_validation_error(err, data), where=str(path)) from None
    return mapping
