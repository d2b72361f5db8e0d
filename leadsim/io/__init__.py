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

The package has one module per concern; import from here:

* :mod:`~leadsim.io.schema`: table kinds, their columns and vocabularies;
* :mod:`~leadsim.io.validate`: :func:`validate_table`, checking and coercing a table in memory;
* :mod:`~leadsim.io.mapping`: CRM column mappings (:class:`ColumnMapping`, :func:`load_mapping`);
* :mod:`~leadsim.io.reading`: :func:`read_table`, :func:`read_tables`, :func:`check_references`;
* :mod:`~leadsim.io.export`: :func:`~leadsim.io.export.read_export`, a whole CRM export folder, rows that break
  the funnel set aside (:mod:`~leadsim.io.setaside`); :mod:`~leadsim.io.check`: what a mapping does to it;
* :mod:`~leadsim.io.database`: :class:`Database` (DuckDB or PostgreSQL from a URL), which ``read_export`` reads
  like a folder and :func:`~leadsim.io.export.export_to_db` fills from one;
* :mod:`~leadsim.io.writing`: :func:`write_table`.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> raw = pd.DataFrame({"lead_id": ["L1", "L2"], "created_at": ["2026-01-05T08:30:00Z", "2026-01-06T08:00:00Z"],
...                     "seniority": ["vp", "manager"], "company_size": ["250", None]})
>>> leads = validate_table(raw, "leads", load_definition())
>>> leads["created_at"].tolist()      # UTC times are now Berlin local times
[Timestamp('2026-01-05 09:30:00'), Timestamp('2026-01-06 09:00:00')]
>>> leads["company_size"].tolist()
[250, <NA>]
"""

from __future__ import annotations

from leadsim.io.check import MappingCheck, check_mapping
from leadsim.io.database import Database
from leadsim.io.export import Export, export_to_db, read_export
from leadsim.io.mapping import ColumnMapping, TableMapping, load_mapping
from leadsim.io.reading import check_references, read_table, read_tables
from leadsim.io.schema import ACTIVITIES, COLUMNS, DEFAULT_MISSING, FILE_FORMATS, KINDS, VOCABULARIES, Kind
from leadsim.io.transforms import apply_mapping
from leadsim.io.validate import validate_table
from leadsim.io.writing import write_table

__all__ = [
    "ACTIVITIES",
    "COLUMNS",
    "DEFAULT_MISSING",
    "FILE_FORMATS",
    "KINDS",
    "VOCABULARIES",
    "ColumnMapping",
    "Database",
    "Export",
    "Kind",
    "MappingCheck",
    "TableMapping",
    "apply_mapping",
    "check_mapping",
    "check_references",
    "export_to_db",
    "load_mapping",
    "read_export",
    "read_table",
    "read_tables",
    "validate_table",
    "write_table",
]
