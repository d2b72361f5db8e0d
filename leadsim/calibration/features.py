"""One feature row per hand-off, as of its ``handed_at``, exactly as scoring computes the rules.

* fit and BANT rules: 1 when the rule fires on the lead's attributes, else 0;
* behaviour rules: the rule's contribution with one point
  (:func:`leadsim.calibration.handoffs.unit_definition`): ``each`` rules the
  decayed count in their window, capped at their cap in occurrences;
  ``at_least`` and ``recency`` rules 1 when they fire.  ``each`` rules share
  one half-life, chosen by time-ordered cross-validation over a grid that
  includes "no decay" (:data:`NO_DECAY`) and is extended while the best value
  sits at its edge; the CV curve is kept (``half_life_scores``);
* controls, never turned into points: ``response_minutes_log``
  (``log1p`` of the minutes to the first touch) and ``owner``.

Every feature comes from :func:`leadsim.scoring.contributions` on one
pseudo-lead per hand-off (:class:`HandoffScorer`), so a revised definition
with points ``p_k`` scores ``sum_k p_k * x_k`` under :func:`leadsim.scoring.score`.
Nothing recorded after a hand-off reaches its features.

>>> from leadsim import load_definition
>>> from leadsim.datasets import make_history
>>> h = make_history(load_definition(), n_leads=400, start="2025-01-01", end="2025-07-01", seed=3)
>>> fs = build_features(h, h.definition, half_lives=(21,))
>>> fs.X.shape[0] == fs.y.shape[0] and "runs_erp" in fs.X and "owner" in fs.X
True
>>> float(fs.X["live_demo"].max()) <= 1.0      # the live demo's cap: one occurrence's worth
True
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadsim.calibration.handoffs import NO_DECAY, HandoffScorer, half_life_label, unit_definition
from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, DefinitionError, SchemaError

__all__ = ["CONTROL_COLUMNS", "DEFAULT_HALF_LIVES", "NO_DECAY", "FeatureSet", "build_features", "parse_outcome"]

DEFAULT_HALF_LIVES: tuple[float, ...] = (7.0, 14.0, 21.0, 30.0, 60.0, NO_DECAY)
#: The grid grows (doubling or halving) while its best value sits at an edge, within these bounds.
HALF_LIFE_BOUNDS = (1.0, 730.0)
CONTROL_COLUMNS = ("response_minutes_log", "owner")
_TRUE = {"true", "1", "yes", "y", "t", "1.0", "sql"}
_FALSE = {"false", "0", "no", "n", "f", "0.0"}


@dataclass
class FeatureSet:
    """Features, labels and bookkeeping of the hand-offs, in ``handed_at`` order."""

    X: pd.DataFrame
    y: pd.Series
    meta: pd.DataFrame
    definition: LeadDefinition
    _: KW_ONLY
    fit_columns: list[str]
    behaviour_columns: list[str]
    control_columns: list[str]
    half_life_days: float
    current_score: pd.Series
    half_life_scores: pd.Series | None = None
    excluded: list[str] = field(default_factory=list)
    used: LeadDefinition | None = None
    scorer: HandoffScorer | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rule_columns(self) -> list[str]:
        return [*self.fit_columns, *self.behaviour_columns]

    @property
    def X_rules(self) -> pd.DataFrame:
        """The rule features only (no controls): what points can score."""
        return self.X[self.rule_columns]

    def unit(self) -> LeadDefinition:
        """The behaviour rules whose contributions are these features (the chosen half-life)."""
        return unit_definition(self.used if self.used is not None else self.definition, half_life=self.half_life_days)

    def subset(self, rows: np.ndarray) -> FeatureSet:
        """The same feature set restricted to row positions ``rows`` (its scorer too)."""
        X = self.X.iloc[rows]
        scorer = self.scorer.subset(X.index) if getattr(self, "scorer", None) is not None else None
        return dataclasses.replace(self, X=X, y=self.y.iloc[rows], meta=self.meta.iloc[rows],
                                   current_score=self.current_score.iloc[rows], scorer=scorer)

    def __len__(self) -> int:
        return len(self.X)


def _tables(sample_or_tables: Any) -> dict[str, pd.DataFrame]:
    if isinstance(sample_or_tables, dict):
        tables = dict(sample_or_tables)
    else:
        tables = {k: getattr(sample_or_tables, k, None) for k in ("leads", "activities", "outcomes", "definition")}
    for name in ("leads", "outcomes"):
        if not isinstance(tables.get(name), pd.DataFrame):
            raise SchemaError(f"no {name} table given; pass a History or a dict with 'leads', 'activities', 'outcomes' "
                              "(calibrate derives outcomes from a 'stage_log' and 'touches')",
                              where=name)
    if tables.get("activities") is None:
        tables["activities"] = pd.DataFrame({"lead_id": [], "activity": [], "at": pd.Series([], dtype="datetime64[ns]")})
    return tables


def parse_outcome(values: pd.Series, where: str = "outcomes.sql") -> pd.Series:
    """Read an outcome column as pandas ``boolean`` (NA = still open).

    Accepts booleans, 0/1 and the words true/false/yes/no; anything else is a
    :class:`DataError` naming the values and rows.

    >>> parse_outcome(pd.Series([True, "no", 1, None])).tolist()
    [True, False, True, <NA>]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    is_true, is_false = text.isin(_TRUE).fillna(False), text.isin(_FALSE).fillna(False)
    out[is_true.to_numpy(dtype=bool)] = True
    out[is_false.to_numpy(dtype=bool)] = False
    bad = (values.notna() & ~is_true & ~is_false).to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"undeclared outcome value(s) {sorted(map(str, values[bad].unique()))[:5]} at row(s) {rows[:5].tolist()}; "
            "use true/false (or 1/0), and leave it empty while the hand-off is still open",
            where=where,
        )
    return out


def _require(df: pd.DataFrame, table: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; present: {list(df.columns)[:12]}", where=table)


def _usable_rules(definition: LeadDefinition, include: Sequence[str]) -> tuple[LeadDefinition, list[str]]:
    """Drop rules on attributes recorded after hand-off or protected, unless opted in (with a warning)."""
    attrs = {a.name: a for a in definition.attributes}
    unknown = [n for n in include if n not in attrs]
    if unknown:
        raise DefinitionError(f"include names unknown attribute(s) {unknown}; known: {sorted(attrs)}", where="include")
    risky = {n for n, a in attrs.items() if a.recorded == "after_handoff" or a.protected}
    for n in sorted(set(include) & risky):
        a = attrs[n]
        why = "is recorded after the hand-off (it leaks the outcome)" if a.recorded == "after_handoff" else "is protected"
        warnings.warn(f"calibration uses attribute {n!r}, which {why}; you opted in", LeadsimWarning, stacklevel=3)
    drop = risky - set(include)
    fit = [r for r in definition.fit_rules if r.attribute not in drop]
    bant = {k: r for k, r in definition.bant.items() if r.attribute not in drop}
    excluded = [r.id for r in definition.fit_rules if r.attribute in drop]
    excluded += [f"bant_{k}" for k, r in definition.bant.items() if r.attribute in drop]
    return definition.model_copy(update={"fit_rules": fit, "bant": bant}), excluded


def _select_half_life(fit_x: pd.DataFrame, beh: dict[float, pd.DataFrame], controls: pd.DataFrame, y: np.ndarray,
                      n_splits: int = 3) -> pd.Series:
    """Mean held-out log loss per half-life over time-ordered splits (rows are in time order).

    A plain L2 logistic regression (C = 1) on the standardised rule features
    and the numeric controls; only the half-life varies between candidates.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import TimeSeriesSplit
    from threadpoolctl import threadpool_limits

    base = [fit_x.to_numpy(dtype=float)]
    if "response_minutes_log" in controls:
        rm = controls["response_minutes_log"].to_numpy(dtype=float)
        miss = np.isnan(rm)
        base += [np.where(miss, np.nanmean(rm) if (~miss).any() else 0.0, rm)[:, None], miss[:, None].astype(float)]
    scores = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for h, b in beh.items():
            X = np.hstack([*base, b.to_numpy(dtype=float)])
            sd = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
            losses = []
            for tr, te in TimeSeriesSplit(n_splits=n_splits).split(X):
                if len(np.unique(y[tr])) < 2 or len(np.unique(y[te])) < 2:
                    continue
                m = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200).fit(X[tr], y[tr])
                losses.append(log_loss(y[te], m.predict_proba(X[te])[:, 1], labels=[False, True]))
            scores[h] = float(np.mean(losses)) if losses else np.nan
    return pd.Series(scores, name="log_loss").rename_axis("half_life_days")


def build_features(
    sample_or_tables: Any,
    definition: LeadDefinition,
    *,
    half_lives: Sequence[float] | float = DEFAULT_HALF_LIVES,
    include: Sequence[str] = (),
    controls: bool = True,
    labelled_only: bool = True,
    cv_rows: int = 100_000,
    seed: np.random.Generator | int | None = 0,
) -> FeatureSet:
    """Features of every (labelled) hand-off as of its ``handed_at``; see the module docstring.

    ``sample_or_tables`` is a :class:`leadsim.datasets.History` or a dict of
    ``leads``, ``activities`` and ``outcomes``; ``definition`` is the one in
    force (a History's own: ``build_features(h, h.definition)``).  ``half_lives``: one value, or a grid chosen by time-ordered CV
    (on at most ``cv_rows`` randomly drawn hand-offs).  ``include`` opts in
    attributes recorded after the hand-off or protected (with a
    :class:`LeadsimWarning`); rules on them are left out otherwise.
    """
    definition = require_definition(definition, where="build_features")
    tables = _tables(sample_or_tables)
    leads, activities, outcomes = tables["leads"], tables["activities"], tables["outcomes"]
    _require(outcomes, "outcomes", ["handoff_id", "lead_id", "handed_at", "sql"])
    _require(leads, "leads", ["lead_id"])
    used, excluded = _usable_rules(definition, include)

    y_all = parse_outcome(outcomes["sql"])
    keep = y_all.notna().to_numpy(dtype=bool) if labelled_only else np.ones(len(outcomes), bool)
    out = outcomes.loc[keep].copy()
    y = y_all[keep]
    raw_handed = out["handed_at"]
    if pd.api.types.is_datetime64_any_dtype(raw_handed.dtype):
        handed = raw_handed
    else:
        handed = pd.to_datetime(raw_handed, errors="coerce", format="mixed")
    if handed.isna().any():
        rows = np.flatnonzero(handed.isna().to_numpy())[:5].tolist()
        raise DataError(f"missing or unreadable handed_at at row(s) {rows}", where="outcomes.handed_at")
    if getattr(handed.dt, "tz", None) is not None:
        handed = handed.dt.tz_convert(definition.calendar.timezone).dt.tz_localize(None)
    order = np.argsort(handed.to_numpy(dtype="datetime64[ns]"), kind="stable")
    out, y, handed = out.iloc[order], y.iloc[order], handed.iloc[order]
    if len(out) == 0:
        raise DataError("no labelled hand-offs (sql true/false) to learn from", where="outcomes.sql")
    ids = out["handoff_id"].astype(str).to_numpy(dtype=object)
    if len(set(ids)) != len(ids):
        raise DataError("duplicate handoff_id values; each hand-off appears once", where="outcomes.handoff_id")
    lead_ids = out["lead_id"].astype(str).to_numpy(dtype=object)
    lead_index = pd.Index(leads["lead_id"].astype(str).to_numpy(dtype=object))
    pos = lead_index.get_indexer(lead_ids)
    if (pos < 0).any():
        bad = sorted(set(lead_ids[pos < 0]))[:5]
        raise DataError(f"hand-off(s) for lead id(s) not in the leads table, e.g. {bad}", where="outcomes.lead_id")
    handed_np = handed.to_numpy(dtype="datetime64[ns]")

    handed_leads = leads.iloc[np.unique(pos)]
    for r in [*used.fit_rules, *used.bant_rules()]:
        if r.attribute in handed_leads.columns and handed_leads[r.attribute].isna().all():
            raise DataError(
                f"attribute {r.attribute!r} (rule {r.id!r}) is missing for every handed-over lead; "
                "fill it in the leads table or remove the rule before calibrating",
                where=f"leads.{r.attribute}",
            )
    windows = [r.window_days for r in used.behaviour_rules]
    max_window = None if any(w is None for w in windows) or not windows else max(windows)
    scorer = HandoffScorer(leads, activities, handoff=ids, lead=lead_ids, handed=handed_np,
                           max_window_days=max_window)
    fit_x = scorer.contributions(unit_definition(used, half_life=None, fit=True)).reset_index(drop=True)
    fit_cols = list(fit_x.columns)
    current = scorer.score(definition)["score"].to_numpy(dtype=float)

    ctrl = pd.DataFrame(index=range(len(out)))
    ctrl_cols: list[str] = []
    if controls and "response_minutes" in out.columns and out["response_minutes"].notna().any():
        rm = pd.to_numeric(out["response_minutes"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ctrl["response_minutes_log"] = np.log1p(np.clip(rm, 0, None))
        ctrl_cols.append("response_minutes_log")
    if controls and "owner" in out.columns and out["owner"].notna().any():
        ctrl["owner"] = out["owner"].astype(object).where(out["owner"].notna(), None).to_numpy(dtype=object)
        ctrl_cols.append("owner")
    grid = [float(half_lives)] if np.isscalar(half_lives) else [float(h) for h in half_lives]
    if not grid or any(not h > 0 for h in grid):
        raise DataError(f"half_lives {grid} must be positive numbers of days (math.inf: no decay)",
                        where="half_lives")

    def behaviour(h: float) -> pd.DataFrame:
        return scorer.contributions(unit_definition(used, half_life=h)).reset_index(drop=True)

    yb = y.to_numpy(dtype=bool)
    scores, notes = None, []
    has_each = any(r.mode == "each" for r in used.behaviour_rules)
    if len(grid) > 1 and has_each:
        gen = np.random.default_rng(seed)
        rows = np.arange(len(out)) if len(out) <= cv_rows else np.sort(gen.choice(len(out), cv_rows, replace=False))
        scores, best, beh_x, notes = _search_half_life(grid, behaviour, fit_x.iloc[rows], ctrl.iloc[rows], yb[rows],
                                                       rows)
    else:
        best = grid[0]
        beh_x = behaviour(best)

    X = pd.concat([fit_x, beh_x, ctrl], axis=1)
    X.index = pd.Index(ids, name="handoff_id")
    meta_cols = [c for c in ("lead_id", "handed_at", "handoff_reason", "propensity", "definition_version", "owner",
                             "response_minutes") if c in out.columns]
    meta = out[meta_cols].copy()
    meta["handed_at"] = handed_np
    if "source" in leads.columns:
        meta["source"] = leads["source"].to_numpy(dtype=object)[pos]
    meta.index = X.index
    return FeatureSet(
        X=X,
        y=pd.Series(yb, index=X.index, name="sql"),
        meta=meta,
        definition=definition,
        fit_columns=fit_cols,
        behaviour_columns=list(beh_x.columns),
        control_columns=ctrl_cols,
        half_life_days=best,
        current_score=pd.Series(current, index=X.index, name="score"),
        half_life_scores=scores,
        excluded=excluded,
        used=used,
        scorer=scorer,
        notes=notes,
    )


def _search_half_life(grid, behaviour, fit_x, ctrl, y, rows) -> tuple[pd.Series, float, pd.DataFrame, list[str]]:
    """CV log loss per half-life; the grid is extended (x2 or /2) while its best finite value sits at an edge."""
    cache: dict[float, pd.DataFrame] = {}
    curve: dict[float, float] = {}
    notes: list[str] = []
    todo = sorted(set(grid))
    lo, hi = HALF_LIFE_BOUNDS
    for _ in range(8):
        for h in todo:
            cache[h] = behaviour(h)
            curve.update(_select_half_life(fit_x, {h: cache[h].iloc[rows]}, ctrl, y).to_dict())
        todo = []
        ok = {h: v for h, v in curve.items() if not np.isnan(v)}
        if not ok:
            break
        best = min(ok, key=lambda h: (ok[h], h))
        finite = sorted(h for h in curve if math.isfinite(h))
        if len(finite) >= 2 and best == finite[-1] and best * 2 <= hi:
            todo = [best * 2]
        elif len(finite) >= 2 and best == finite[0] and best / 2 >= lo:
            todo = [best / 2]
        if todo:
            notes.append(f"half-life {half_life_label(best)} days was at the edge of the grid; tried {todo[0]:g}")
    scores = pd.Series(curve, name="log_loss").rename_axis("half_life_days").sort_index(kind="stable")
    ok = scores.dropna()
    best = float(min(ok.index, key=lambda h: (ok[h], h))) if len(ok) else sorted(grid)[len(grid) // 2]
    if best not in cache:
        cache[best] = behaviour(best)
    return scores, best, cache[best], notes
