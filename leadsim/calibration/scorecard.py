"""From a fitted model to rules: scorecard points, a threshold, a revised definition.

Scorecard scaling: with ``factor`` points per unit of log-odds (``PDO =
factor * ln 2`` points double the odds), rule ``k`` earns ``round(factor *
b_k)`` points (behaviour rules: per decayed occurrence).  The MQL threshold
keeps its number ``T``: a lead is an MQL when its points reach ``T``, i.e.
when the model's log-odds reach ``b0 + T / factor``, where ``b0`` is the
intercept with the controls (response delay, owner) held at their average
effect.  So the intercept is absorbed into the threshold and only points
move.  Choose either the PDO (the cut-off probability follows) or the cut-off
probability (the PDO follows), e.g. from :func:`recommend_threshold`.

>>> from leadsim import load_definition
>>> from leadsim.datasets import make_history
>>> from leadsim.calibration import MQLCalibrator, build_features
>>> h = make_history(load_definition(), n_leads=600, start="2025-01-01", end="2025-09-01", seed=5)
>>> fs = build_features(h, h.definition, half_lives=21)
>>> m = MQLCalibrator(cv=3).fit(fs.X, fs.y)
>>> card = scorecard(m, fs, cutoff_probability=0.5)
>>> card.threshold, bool(card.pdo > 0)
(100.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition, diff
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError
from leadsim.points import at_or_over

__all__ = ["Scorecard", "diff_markdown", "model_input", "recalibrate", "recommend_threshold", "scorecard"]

_LN2 = math.log(2.0)


@dataclass
class Scorecard:
    """Integer points per rule and the threshold they are scaled to."""

    points: pd.Series
    raw_points: pd.Series
    coefficients: pd.Series
    threshold: float
    factor: float
    intercept: float
    cutoff_probability: float
    half_life_days: float

    @property
    def pdo(self) -> float:
        """Points to double the odds."""
        return self.factor * _LN2

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Points of each row of a feature frame (rule columns only)."""
        return X[list(self.points.index)].to_numpy(dtype=float) @ self.points.to_numpy(dtype=float)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"coef": self.coefficients, "raw_points": self.raw_points, "points": self.points})


def _rule_coefficients(model, rule_columns: Sequence[str]) -> pd.Series:
    c = model.coefficients()
    c = c[(c["level"] == "") & c["feature"].isin(rule_columns)].set_index("feature")["coef"]
    return c.reindex(rule_columns).fillna(0.0)


def model_input(model, features) -> pd.DataFrame:
    """The columns of ``features.X`` the model was fitted on (rule features only, or with the controls)."""
    names = getattr(model, "feature_names_in_", None)
    return features.X if names is None else features.X[[str(c) for c in names]]


def absorbed_intercept(model, features, beta: pd.Series | None = None) -> float:
    """The intercept with the controls (if the model has any) held at their average effect (log-odds scale)."""
    beta = _rule_coefficients(model, features.rule_columns) if beta is None else beta
    X = model_input(model, features)
    return float(np.mean(model.decision_function(X) - X[list(beta.index)].to_numpy(dtype=float) @ beta.to_numpy()))


def scorecard(
    model,
    features,
    *,
    threshold: float | None = None,
    pdo: float | None = None,
    cutoff_probability: float | None = None,
) -> Scorecard:
    """Scale a fitted :class:`MQLCalibrator` to points; give ``pdo`` or ``cutoff_probability``."""
    if (pdo is None) == (cutoff_probability is None):
        raise DataError("give exactly one of pdo (points to double the odds) or cutoff_probability", where="scorecard")
    T = float(threshold if threshold is not None else features.definition.thresholds.mql)
    if T <= 0:
        raise DataError(f"the MQL threshold {T} must be positive to absorb the intercept", where="thresholds.mql")
    beta = _rule_coefficients(model, features.rule_columns)
    b0 = absorbed_intercept(model, features, beta)
    if pdo is not None:
        if not pdo > 0:
            raise DataError(f"pdo {pdo} must be a positive number of points", where="pdo")
        factor = pdo / _LN2
        cutoff = 1.0 / (1.0 + math.exp(-(b0 + T / factor)))
    else:
        if not 0 < cutoff_probability < 1:
            raise DataError(f"cutoff_probability {cutoff_probability} must lie strictly between 0 and 1", where="scorecard")
        gap = math.log(cutoff_probability / (1 - cutoff_probability)) - b0
        if gap <= 0:
            raise DataError(
                f"cut-off probability {cutoff_probability:.3f} is at or below the chance of a lead no rule fires for "
                f"({1 / (1 + math.exp(-b0)):.3f}); with the threshold at {T:g} points choose a higher cut-off",
                where="scorecard",
            )
        factor = T / gap
        cutoff = float(cutoff_probability)
    raw = beta * factor
    return Scorecard(
        points=raw.round().astype(float) + 0.0, raw_points=raw, coefficients=beta, threshold=T, factor=factor,
        intercept=b0, cutoff_probability=cutoff, half_life_days=float(features.half_life_days),
    )


def recommend_threshold(
    features,
    model,
    *,
    capacity: float | None = None,
    target_rate: float | None = None,
    weights: np.ndarray | None = None,
) -> tuple[float, pd.DataFrame]:
    """A cut-off probability for a weekly capacity or a target Lead -> Sales Lead rate, and the curve.

    The curve ranks the hand-offs by predicted chance (weighted by ``weights``,
    e.g. inverse propensities, so it speaks for the whole scored population):
    ``cutoff``, ``per_week`` (volume handed over per week), ``expected_rate``
    (mean predicted chance of those handed over), ``observed_rate`` and
    ``sql_per_week``.  ``capacity`` (hand-offs per week sales can talk to) takes
    the lowest cut-off within capacity; ``target_rate`` the lowest cut-off whose
    expected rate reaches it; neither: the current volume (hand-offs whose
    score under the definition in force reaches its threshold) is kept.
    """
    if capacity is not None and target_rate is not None:
        raise DataError("give a capacity or a target rate, not both", where="recommend_threshold")
    X, y = features.X, features.y.to_numpy(dtype=float)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    p = model.predict_proba(model_input(model, features))[:, 1]
    order = np.argsort(-p, kind="stable")
    p_s, w_s, y_s = p[order], w[order], y[order]
    t = features.meta["handed_at"]
    weeks = max((t.max() - t.min()).total_seconds() / (7 * 86400), 1.0)
    cw = np.cumsum(w_s)
    curve = pd.DataFrame({
        "cutoff": p_s,
        "per_week": cw / weeks,
        "expected_rate": np.cumsum(w_s * p_s) / cw,
        "observed_rate": np.cumsum(w_s * y_s) / cw,
        "sql_per_week": np.cumsum(w_s * p_s) / weeks,
    })
    if capacity is not None:
        if not capacity > 0:
            raise DataError(f"capacity {capacity} must be a positive number of hand-offs per week", where="capacity")
        ok = np.flatnonzero(curve["per_week"].to_numpy() <= capacity)
        i = ok[-1] if len(ok) else 0
    elif target_rate is not None:
        if not 0 < target_rate < 1:
            raise DataError(f"target rate {target_rate} must lie strictly between 0 and 1", where="target_rate")
        ok = np.flatnonzero(curve["expected_rate"].to_numpy() >= target_rate)
        if not len(ok):
            raise DataError(
                f"no threshold reaches a Lead -> Sales Lead rate of {target_rate:.0%}; the best expected is "
                f"{curve['expected_rate'].max():.0%}", where="target_rate")
        i = ok[-1]
    else:
        current = at_or_over(features.current_score.to_numpy(dtype=float), features.definition.thresholds.mql)
        i = int(np.clip(np.searchsorted(cw, (w * current).sum(), side="right") - 1, 0, len(cw) - 1))
    step = max(len(curve) // 200, 1)
    return float(p_s[i]), curve.iloc[::step].reset_index(drop=True)


def recalibrate(
    card: Scorecard,
    definition: LeadDefinition,
    *,
    unit: LeadDefinition | None = None,
    note: str | None = None,
    by: str = "leadsim calibrate",
    path: str | Path | None = None,
    overwrite: bool = False,
) -> LeadDefinition:
    """A new version of ``definition`` with the scorecard's points, scoring what the model scored.

    Fit and BANT rules get their points.  Behaviour rules keep their shape
    (mode, window, ``min_count``): ``unit`` (the features' unit rules,
    :meth:`FeatureSet.unit`; default: ``definition``'s with the scorecard's
    half-life) gives each ``each`` rule the calibrated half-life and its cap in
    occurrences, so the new cap is ``|points|`` times that many occurrences
    and :func:`leadsim.scoring.score` of the result is ``sum(points *
    feature)``.  A rule a gate excludes keeps at least one point of its old
    sign (a gate cannot name a rule worth 0).  The threshold keeps its number;
    rules the model did not see keep their points.  With ``path`` the YAML is
    written atomically (never over an existing file unless ``overwrite``).
    """
    from leadsim.calibration.handoffs import half_life_label, revised_rule, unit_definition
    from leadsim.scoring.gates import gate_rules

    definition = require_definition(definition, where="recalibrate")
    if not isinstance(card, Scorecard):
        raise DataError(f"expected a Scorecard (from scorecard() or calibrate()), got {type(card).__name__}; "
                        "call recalibrate(card, definition)", where="recalibrate")
    unit = unit if unit is not None else unit_definition(definition, half_life=card.half_life_days)
    gated = set(gate_rules(definition))
    old = {r.id: r.points for r in definition.fit_rules} | {r.id: r.points for r in definition.behaviour_rules}
    old |= {f"bant_{k}": r.points for k, r in definition.bant.items()}
    pts = card.points.copy()
    for rid in pts.index:
        if rid in gated and (pts[rid] == 0 or np.sign(pts[rid]) != np.sign(old.get(rid, 0))):
            pts[rid] = float(np.sign(old.get(rid, 1)) or 1.0)
    hl = half_life_label(card.half_life_days)
    new = definition.bump(
        note or (f"Recalibrated on SQL outcomes: points scaled at {card.pdo:.1f} points to double the odds, "
                 f"MQL threshold {card.threshold:g} = a {card.cutoff_probability:.0%} chance of SQL, "
                 f"behaviour half-life {hl}{' days' if hl != 'no decay' else ''}."),
        by=by,
    )
    new.fit_rules = [r.model_copy(update={"points": float(pts[r.id])}) if r.id in pts.index else r
                     for r in definition.fit_rules]
    new.bant = {k: (r.model_copy(update={"points": float(pts[f"bant_{k}"])}) if f"bant_{k}" in pts.index else r)
                for k, r in definition.bant.items()}
    units = {r.id: r for r in unit.behaviour_rules}
    new.behaviour_rules = [revised_rule(units[r.id], float(pts[r.id]), original=r)
                           if r.id in pts.index and r.id in units else r for r in definition.behaviour_rules]
    new = new.model_validate(new.model_dump())
    if path is not None:
        new.to_yaml(path, overwrite=overwrite)
    return new


def diff_markdown(old: LeadDefinition, new: LeadDefinition) -> str:
    """The :func:`leadsim.definition.diff` table as Markdown, for a sign-off e-mail."""
    d = diff(old, new)
    lines = [f"# {old.name}: {old.version} -> {new.version}", "", "| section | item | field | old | new |",
             "|---|---|---|---|---|"]
    for r in d.itertuples(index=False):
        cells = [str(x).replace("|", "\\|") for x in (r.section, r.item, r.field, r.old, r.new)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
