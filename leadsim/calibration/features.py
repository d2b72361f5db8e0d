"""One feature row per hand-off, as of its ``handed_at``, in the definition's rule forms.

* fit and BANT rules: 1 when the rule fires on the lead's attributes, else 0;
* behaviour rules: the *uncapped* decayed count of the rule's matching
  activities (name and detail filter) in its ``window_days`` before the
  hand-off, each weighted ``0.5 ** (age_days / half_life_days)`` with one
  shared half-life (``at_least`` and ``recency`` rules count the same way);
  a logistic model cannot learn a half-life, so it is chosen by time-ordered
  cross-validation over a grid;
* controls, never turned into points: ``response_minutes_log``
  (``log1p`` of the minutes to the first touch) and ``owner``.

The conditions are evaluated by :func:`leadsim.scoring.contributions` on a
"counting" copy of the rules (every point 1, no caps), so calibration reads
the data exactly as scoring does.  Each hand-off is scored at its own
``handed_at`` by shifting its lead's activities so that all hand-offs share
one reference time: nothing recorded after the hand-off leaks in.

>>> from leadsim import load_definition
>>> from leadsim.datasets import make_history
>>> h = make_history(load_definition(), n_leads=400, start="2025-01-01", end="2025-07-01", seed=3)
>>> fs = build_features(h, h.definition, half_lives=(21,))
>>> fs.X.shape[0] == fs.y.shape[0] and "runs_erp" in fs.X and "owner" in fs.X
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import BehaviourRule, LeadDefinition, LeadsimWarning
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, DefinitionError, SchemaError
from leadsim.scoring import rule_matches

__all__ = ["CONTROL_COLUMNS", "DEFAULT_HALF_LIVES", "FeatureSet", "build_features", "parse_outcome"]

DEFAULT_HALF_LIVES: tuple[float, ...] = (7.0, 14.0, 21.0, 30.0, 60.0)
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

    @property
    def rule_columns(self) -> list[str]:
        return [*self.fit_columns, *self.behaviour_columns]

    def subset(self, rows: np.ndarray) -> FeatureSet:
        """The same feature set restricted to row positions ``rows``."""
        return FeatureSet(
            self.X.iloc[rows], self.y.iloc[rows], self.meta.iloc[rows], self.definition,
            fit_columns=self.fit_columns, behaviour_columns=self.behaviour_columns,
            control_columns=self.control_columns, half_life_days=self.half_life_days,
            current_score=self.current_score.iloc[rows], half_life_scores=self.half_life_scores,
            excluded=self.excluded,
        )

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


def _counting(definition: LeadDefinition, *, fit: bool, half_life: float | None = None) -> LeadDefinition:
    """A copy whose contributions *are* the features: points 1, no caps, one half-life."""
    if fit:
        return definition.model_copy(update={
            "fit_rules": [r.model_copy(update={"points": 1.0}) for r in definition.fit_rules],
            "bant": {k: r.model_copy(update={"points": 1.0}) for k, r in definition.bant.items()},
            "behaviour_rules": [], "hot_triggers": [], "on_recycle": "keep",
        })
    beh = [
        BehaviourRule.model_construct(
            id=r.id, label=r.label, activity=r.activity, detail=r.detail, points=1.0, mode="each", min_count=1,
            cap=None, half_life_days=half_life, window_days=r.window_days,
        )
        for r in definition.behaviour_rules
    ]
    return definition.model_copy(update={"fit_rules": [], "bant": {}, "behaviour_rules": beh, "hot_triggers": [],
                                          "on_recycle": "keep"})


def _behaviour_only(definition: LeadDefinition) -> LeadDefinition:
    return definition.model_copy(update={"fit_rules": [], "bant": {}, "hot_triggers": [], "on_recycle": "keep"})


def _fit_only(definition: LeadDefinition) -> LeadDefinition:
    return definition.model_copy(update={"behaviour_rules": [], "hot_triggers": [], "on_recycle": "keep"})


class _Pairs:
    """Every (hand-off, earlier activity of its lead) pair with the activity's age at the hand-off."""

    def __init__(self, activities: pd.DataFrame, definition: LeadDefinition, lead: np.ndarray, handed: np.ndarray,
                 max_window_days: float | None):
        _require(activities, "activities", ["lead_id", "activity", "at"])
        self.n = len(lead)
        lead_codes, lead_u = pd.factorize(pd.Index(lead, dtype=object))
        act_lead, act_lead_u = pd.factorize(activities["lead_id"])
        a_codes = np.append(pd.Index(lead_u).get_indexer(pd.Index(act_lead_u, dtype=object)), -1)[act_lead]
        at = activities["at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        combo, self.match, self.combos = rule_matches(activities, definition)
        keep = (a_codes >= 0) & self.match[np.maximum(combo, 0)].any(axis=1) & (combo >= 0)
        a_codes, at_k, combo_k = a_codes[keep], at[keep], combo[keep]
        order = np.argsort(a_codes, kind="stable")
        a_codes, at_k, combo_k = a_codes[order], at_k[order], combo_k[order]
        starts = np.searchsorted(a_codes, lead_codes, side="left")
        lens = np.searchsorted(a_codes, lead_codes, side="right") - starts
        h_of_pair = np.repeat(np.arange(self.n, dtype=np.int64), lens)
        pair = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(lens.sum())
        age = handed.view(np.int64)[h_of_pair] - at_k[pair]
        ok = age >= 0
        if max_window_days is not None:
            ok &= age < int(max_window_days * 86_400e9)
        self.handoff = h_of_pair[ok]
        self.age_ns = age[ok]
        self.age_days = self.age_ns / 86_400e9
        self.combo = combo_k[pair[ok]]
        self.rules = definition.behaviour_rules
        self._masks: dict[int, np.ndarray] = {}

    def _mask(self, j: int) -> np.ndarray:
        """Pairs rule ``j`` looks at (kind and window); cached across half-lives."""
        if j not in self._masks:
            m = self.match[:, j][self.combo]
            w = self.rules[j].window_days
            if w is not None:
                m &= self.age_days < w
            self._masks[j] = m
        return self._masks[j]

    def counts(self, half_life: float) -> pd.DataFrame:
        """Uncapped decayed counts per behaviour rule (all modes count the same way)."""
        w = np.exp2(-self.age_days / half_life)
        out = np.zeros((self.n, len(self.rules)))
        for j in range(len(self.rules)):
            out[:, j] = np.bincount(self.handoff, weights=w * self._mask(j), minlength=self.n)
        return pd.DataFrame(out, columns=[r.id for r in self.rules])


def _current_behaviour(pairs: _Pairs, definition: LeadDefinition, ids: np.ndarray, handed: np.ndarray) -> np.ndarray:
    """The behaviour score of the definition in force (caps, modes, half-lives) at each hand-off.

    Each hand-off becomes a pseudo-lead holding its pairs' activities, shifted
    so that one ``as_of`` scores every hand-off at its own ``handed_at``.
    """
    from leadsim.scoring import contributions

    if not definition.behaviour_rules:
        return np.zeros(len(ids))
    ref = int(handed.view(np.int64).max())
    acts = pd.DataFrame({
        "lead_id": pd.Categorical.from_codes(pairs.handoff, categories=pd.Index(ids)),
        "activity": pd.Categorical.from_codes(pairs.combos["a"].to_numpy()[pairs.combo],
                                              categories=pairs.combos.attrs["activities"]),
        "at": (ref - pairs.age_ns).view("datetime64[ns]"),
        "detail": pd.Categorical.from_codes(pairs.combos["d"].to_numpy()[pairs.combo],
                                            categories=pairs.combos.attrs["details"]),
    })
    leads = pd.DataFrame({"lead_id": pd.Categorical(ids)})
    return contributions(leads, acts, _behaviour_only(definition), as_of=pd.Timestamp(ref)).sum(axis=1).to_numpy()


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

    # fit + BANT indicators: per lead (attributes do not change), then per hand-off
    from leadsim.scoring import contributions

    handed_leads = leads.iloc[np.unique(pos)]
    for r in [*used.fit_rules, *used.bant_rules()]:
        if r.attribute in handed_leads.columns and handed_leads[r.attribute].isna().all():
            raise DataError(
                f"attribute {r.attribute!r} (rule {r.id!r}) is missing for every handed-over lead; "
                "fill it in the leads table or remove the rule before calibrating",
                where=f"leads.{r.attribute}",
            )
    t_any = pd.Timestamp(handed_np.max())
    fit_df = contributions(handed_leads, None, _counting(used, fit=True), as_of=t_any)
    fit_x = fit_df.reindex(lead_ids).reset_index(drop=True)
    fit_cols = list(fit_x.columns)
    current_fit = contributions(handed_leads, None, _fit_only(definition), as_of=t_any).sum(axis=1).reindex(lead_ids).to_numpy()

    # behaviour: decayed windowed counts with the half-life chosen by CV
    windows = [r.window_days for r in used.behaviour_rules]
    max_window = None if any(w is None for w in windows) or not windows else max(windows)
    pairs = _Pairs(activities, used, lead_ids, handed_np, max_window)
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
    if not grid or any(h <= 0 for h in grid):
        raise DataError(f"half_lives {grid} must be positive numbers of days", where="half_lives")
    yb = y.to_numpy(dtype=bool)
    scores = None
    if len(grid) > 1:
        gen = np.random.default_rng(seed)
        rows = np.arange(len(out)) if len(out) <= cv_rows else np.sort(gen.choice(len(out), cv_rows, replace=False))
        full = {h: pairs.counts(h) for h in grid}
        scores = _select_half_life(fit_x.iloc[rows], {h: b.iloc[rows] for h, b in full.items()}, ctrl.iloc[rows],
                                   yb[rows])
        best = float(scores.idxmin()) if scores.notna().any() else grid[len(grid) // 2]
        beh_x = full[best]
        del full
    else:
        best = grid[0]
        beh_x = pairs.counts(best)
    current_beh = _current_behaviour(pairs, definition, ids, handed_np)

    X = pd.concat([fit_x, beh_x, ctrl], axis=1)
    X.index = pd.Index(ids, name="handoff_id")
    meta_cols = [c for c in ("lead_id", "handed_at", "handoff_reason", "propensity", "definition_version", "owner",
                             "response_minutes") if c in out.columns]
    meta = out[meta_cols].copy()
    meta["handed_at"] = handed_np
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
        current_score=pd.Series(current_fit + current_beh, index=X.index, name="score"),
        half_life_scores=scores,
        excluded=excluded,
    )
