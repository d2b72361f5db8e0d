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
expected conversion is twice the export's average (at most 90 %; 1.5 or 1.25
times when no group of leads reaches that), said in the notes.

>>> from leadsim.datasets import make_flat_export
>>> flat = make_flat_export(n=3000, seed=1)
>>> cal = calibrate_flat(flat.table, "converted", id_column="lead_number")
>>> sorted(r.attribute for r in cal.definition.fit_rules)[:3]
['company_size', 'company_size', 'industry']
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leadsim.calibration.features import parse_outcome
from leadsim.definition import LeadDefinition, load_definition
from leadsim.errors import DataError
from leadsim.io.flat import FLAT_TIME, definition_leads, flat_leads

__all__ = ["FLAT_TIME", "calibrate_flat", "flat_definition", "flat_leads", "score_flat"]

#: Without a target: hand over the leads expected to convert at twice the average (or 1.5, 1.25 times when the
#: export's best leads do not reach that).
DEFAULT_LIFTS = (2.0, 1.5, 1.25)


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
                   pdo: float | None = None, seed: int = 0, where: str = "leads"):
    """A calibrated definition from a one-row-per-lead table (see the module docstring).

    ``where`` names the table in error messages (the CLI gives the file).
    """
    from leadsim.calibration.workflow import calibrate
    from leadsim.cli.data import no_activities

    leads, types = flat_leads(table, id_column=id_column, outcome=outcome, missing=missing, where=where)
    y = parse_outcome(table[outcome].reset_index(drop=True), where=f"{where}: column {outcome!r}")
    known = y.notna().to_numpy(dtype=bool)
    if not types:
        raise DataError("no column besides the id and the outcome holds numbers or categories (at most "
                        "50 levels); a flat export needs form fields or behaviour columns to build rules from",
                        where=where)
    definition = flat_definition(types)
    outcomes = pd.DataFrame({"handoff_id": leads["lead_id"][known], "lead_id": leads["lead_id"][known],
                             "handed_at": FLAT_TIME, "handoff_reason": "score", "sql": y[known].astype(bool)})
    tables = {"leads": leads, "activities": no_activities(), "outcomes": outcomes}
    base = float(y[known].astype(float).mean())
    targets = [target_rate] if target_rate is not None or pdo is not None else \
        [min(0.9, k * base) for k in DEFAULT_LIFTS]
    for k, target in enumerate(targets):
        try:
            cal = calibrate(tables, definition, half_lives=(21.0,), include=include, split="kfold", discover=True,
                            max_rules=max_rules, target_rate=target, pdo=pdo, seed=seed, weighting="none")
            break
        except DataError as err:
            if k + 1 == len(targets) or "no threshold reaches" not in err.message:
                raise
    if len(targets) > 1:
        cal.notes.append(f"threshold: the leads whose expected conversion is {target / base:.2g} times the export's "
                         f"average ({target:.0%} against {base:.0%}); give target_rate or pdo to choose")
    cal.notes.append("the current definition is the export's columns without rules: it ranks no better than chance "
                     "(ROC AUC 0.5) and hands over no one; compare the revised definition with the models")
    if int((~known).sum()):
        cal.notes.append(f"{int((~known).sum())} row(s) without an outcome left out")
    return cal


def score_flat(table: pd.DataFrame, definition: LeadDefinition, *, id_column: str | None = None) -> pd.DataFrame:
    """:func:`leadsim.scoring.score` of new rows of a flat export with the definition :func:`calibrate_flat` wrote.

    The rows are read with the definition's attribute types
    (:func:`leadsim.io.flat.definition_leads`) and scored as of
    :data:`FLAT_TIME`, with no activities (what ``leadsim score --leads
    new_rows.csv --id COLUMN`` does).
    """
    from leadsim.scoring import score

    leads = definition_leads(table, definition, id_column=id_column)
    return score(leads, None, definition, as_of=FLAT_TIME)
