"""Calibration from a flat lead export: one row per lead, form fields, aggregated behaviour and a converted flag.

:func:`calibrate_flat` builds a lead definition from such a table: every
column but the id and the outcome becomes an attribute (numbers when nearly
all values read as numbers, categories when they have at most 50 levels;
other text is left out), criteria discovery
(:func:`leadsim.calibration.discovery.discover`) proposes fit rules on the
form fields and on the aggregated behaviour columns, and the points are
calibrated and evaluated by stratified 5-fold cross-validation.  The
leakage guard leaves out status-like and outcome-like columns.  The result
is a :class:`~leadsim.calibration.Calibration` like :func:`calibrate`'s, and
its definition scores new rows of the same export with
:func:`leadsim.scoring.score` (no activities needed).

Without ``target_rate`` or ``pdo`` the threshold hands over the leads whose
expected conversion is twice the export's average (at most 90 %).

>>> from leadsim.datasets import make_flat_export
>>> flat = make_flat_export(n=3000, seed=1)
>>> cal = calibrate_flat(flat.table, "converted", id_column="lead_number")
>>> sorted(r.attribute for r in cal.definition.fit_rules)[:3]
['company_size', 'company_size', 'industry']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadsim.calibration.features import parse_outcome
from leadsim.definition import LeadDefinition, load_definition
from leadsim.errors import DataError, SchemaError

__all__ = ["calibrate_flat", "flat_definition", "flat_leads"]

#: The moment every flat row is scored at (a flat export has no times).
FLAT_TIME = pd.Timestamp("2000-01-03 09:00")


def _typed(col: pd.Series) -> tuple[pd.Series, str | None]:
    if pd.api.types.is_bool_dtype(col):
        return col.astype("string").str.lower(), "category"
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float), "number"
    num = pd.to_numeric(col, errors="coerce")
    if col.notna().sum() and num.notna().sum() >= 0.95 * col.notna().sum():
        return num.astype(float), "number"
    text = col.astype("string")
    return text, ("category" if 1 <= text.nunique(dropna=True) <= 50 else None)


def flat_leads(table: pd.DataFrame, *, id_column: str | None = None, outcome: str | None = None,
               missing: Sequence[str] = (), where: str = "leads") -> tuple[pd.DataFrame, dict[str, str]]:
    """The export as a leads table (``lead_id``, ``created_at`` = :data:`FLAT_TIME`, typed columns) and the types.

    ``missing`` lists cell texts that mean "not chosen" (e.g. ``Select``).
    """
    if id_column is not None and id_column not in table.columns:
        raise SchemaError(f"no id column {id_column!r}; columns are {list(table.columns)[:15]}; give --id COLUMN",
                          where=where)
    if outcome is not None and outcome not in table.columns:
        raise SchemaError(f"no outcome column {outcome!r}; columns are {list(table.columns)[:15]}; "
                          "give --outcome COLUMN", where=where)
    ids = (table[id_column].astype("string") if id_column is not None
           else pd.Series([f"row_{i + 2}" for i in range(len(table))], dtype="string"))
    if ids.isna().any() or ids.duplicated().any():
        bad = ids[ids.isna() | ids.duplicated(keep=False)].head(3).tolist()
        raise DataError(f"the id column must be filled and unique; e.g. {bad}", where=f"{where}.{id_column}")
    markers = set(missing)
    out = {"lead_id": ids.to_numpy(dtype=object), "created_at": np.full(len(table), FLAT_TIME)}
    types = {}
    for c in table.columns:
        if c in (id_column, outcome, "lead_id", "created_at"):
            continue
        col = table[c]
        if markers and not pd.api.types.is_numeric_dtype(col):
            col = col.where(~col.astype("string").str.strip().isin(markers).fillna(False).to_numpy(dtype=bool), None)
        values, typ = _typed(col.reset_index(drop=True))
        if typ is None:
            continue
        out[str(c)] = values.to_numpy(dtype=object if typ == "category" else float,
                                      **({"na_value": None} if typ == "category" else {"na_value": np.nan}))
        types[str(c)] = typ
    return pd.DataFrame(out), types


def flat_definition(types: dict[str, str], *, name: str = "Lead definition from a flat export") -> LeadDefinition:
    """A starting definition with one attribute per column and no rules (the sample's funnel and calendar)."""
    d = load_definition().model_dump()
    d.update(name=name, version="0.1.0", fit_rules=[], behaviour_rules=[], bant={}, hot_triggers=[], gates={},
             attributes=[{"name": c, "type": t, "description": "column of the flat export"} for c, t in types.items()])
    d["thresholds"]["matrix"] = None
    d["changelog"] = [{**d["changelog"][0], "version": "0.1.0", "by": "leadsim calibrate",
                       "note": "Starting point: the flat export's columns, no rules."}]
    return LeadDefinition.model_validate(d)


def calibrate_flat(table: pd.DataFrame, outcome: str, *, id_column: str | None = None, missing: Sequence[str] = (),
                   include: Sequence[str] = (), max_rules: int | None = None, target_rate: float | None = None,
                   pdo: float | None = None, seed: int = 0):
    """A calibrated definition from a one-row-per-lead table (see the module docstring)."""
    from leadsim.calibration.workflow import calibrate
    from leadsim.cli.data import no_activities

    leads, types = flat_leads(table, id_column=id_column, outcome=outcome, missing=missing)
    y = parse_outcome(table[outcome].reset_index(drop=True), where=f"leads.{outcome}")
    known = y.notna().to_numpy(dtype=bool)
    if not types:
        raise DataError("no column besides the id and the outcome holds numbers or categories", where="leads")
    definition = flat_definition(types)
    outcomes = pd.DataFrame({"handoff_id": leads["lead_id"][known], "lead_id": leads["lead_id"][known],
                             "handed_at": FLAT_TIME, "handoff_reason": "score", "sql": y[known].astype(bool)})
    tables = {"leads": leads, "activities": no_activities(), "outcomes": outcomes}
    if target_rate is None and pdo is None:
        target_rate = float(min(0.9, 2 * y[known].astype(float).mean()))
    cal = calibrate(tables, definition, half_lives=(21.0,), include=include, split="kfold", discover=True,
                    max_rules=max_rules, target_rate=target_rate, pdo=pdo, seed=seed, weighting="none")
    if int((~known).sum()):
        cal.notes.append(f"{int((~known).sum())} row(s) without an outcome left out")
    return cal
