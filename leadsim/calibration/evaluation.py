"""Held-out comparison, side by side: what the definition scores and what models learn.

Time-ordered by default (train on the older hand-offs, test on the newer),
stratified k-fold as an option (the flat lead export, which has no times).
The rows of the metrics table:

* ``current definition``: the definition in force, scored by
  :func:`leadsim.scoring.score` at each hand-off;
* ``revised definition``: the integer points proposed from the training
  part, written into a revised definition and scored by ``score()`` at each
  held-out hand-off (not a re-computation: the definition as it would run);
* ``rule-feature model``: the logistic model on the rule features only, the
  model the points are scaled from;
* ``gradient boosting``: :class:`sklearn.ensemble.HistGradientBoostingClassifier`
  on the same rule features, a flexible reference for what readable,
  additive points cost (not an upper bound);
* ``model with controls``: the logistic model with response delay and owner
  as well (controls never become points);
* ``naive Bayes``: :class:`sklearn.naive_bayes.BernoulliNB` over the rule
  features read as "fired / occurred", the approach Odoo's CRM takes.

Metrics: ROC AUC, PR AUC (average precision), Brier score, expected
calibration error (ECE, equal-width bins, weighted by bin size), log loss;
reliability curves and reliability by the revised definition's grade (A-D);
lift and cumulative gain by decile; hand-off volume and the Lead -> Sales
Lead rate at the current and at the proposed threshold.  The definitions'
scores are rankings, not probabilities, so they have no Brier score, ECE or
log loss.

>>> import numpy as np
>>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]))
0.175
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import BernoulliNB

from leadsim.calibration.estimator import MQLCalibrator
from leadsim.calibration.handoffs import half_life_label
from leadsim.calibration.scorecard import Scorecard, absorbed_intercept, recalibrate, recommend_threshold, scorecard
from leadsim.errors import DataError
from leadsim.points import at_or_over

__all__ = ["CalibrationReport", "evaluate", "expected_calibration_error", "lift_table", "reliability_table", "splits"]

MODELS = ("current definition", "revised definition", "rule-feature model", "gradient boosting",
          "model with controls", "naive Bayes")
_RANKINGS = ("current definition", "revised definition")


def expected_calibration_error(y, p, n_bins: int = 10, sample_weight=None) -> float:
    """ECE: the bin-size-weighted mean of ``|observed rate - mean predicted|`` over equal-width bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    b = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    tot = np.bincount(b, w, n_bins)
    gap = np.abs(np.bincount(b, w * y, n_bins) - np.bincount(b, w * p, n_bins))
    return float(round(gap.sum() / tot.sum(), 12))


def reliability_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin of predicted chance: ``n``, ``mean_predicted``, ``observed``."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    b = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame({
            "bin": np.arange(n_bins), "n": n,
            "mean_predicted": np.bincount(b, p, n_bins) / n, "observed": np.bincount(b, y, n_bins) / n,
        })
    return df[df["n"] > 0].reset_index(drop=True)


def lift_table(y, score, n: int = 10) -> pd.DataFrame:
    """Deciles by score (1 = highest): ``n``, ``sql``, ``rate``, ``lift``, ``cum_gain`` (share of all SQLs)."""
    y, s = np.asarray(y, float), np.asarray(score, float)
    order = np.argsort(-s, kind="stable")
    dec = np.empty(len(y), int)
    dec[order] = np.arange(len(y)) * n // max(len(y), 1) + 1
    g = pd.DataFrame({"decile": dec, "y": y}).groupby("decile")["y"].agg(["size", "sum"])
    g.columns = ["n", "sql"]
    g["rate"] = g["sql"] / g["n"]
    base = y.mean() if len(y) else np.nan
    g["lift"] = g["rate"] / base
    g["cum_gain"] = g["sql"].cumsum() / max(y.sum(), 1)
    return g.reset_index()


@dataclass
class CalibrationReport:
    """Everything :func:`evaluate` (and :func:`leadsim.calibration.calibrate`) found."""

    metrics: pd.DataFrame
    reliability: pd.DataFrame
    lift: pd.DataFrame
    rates: pd.DataFrame
    curve: pd.DataFrame
    scorecard: Scorecard
    split: str
    half_life_scores: pd.Series | None = None
    by_grade: pd.DataFrame | None = None
    delay: dict[str, Any] | None = None
    points_gap: float | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: criteria discovery's table (leadsim.calibration.discovery), when it ran
    proposals: pd.DataFrame | None = None
    #: the columns the leakage guard flagged, with the reason and what was done
    leakage: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        def recs(df):
            return df.replace({np.nan: None}).to_dict("records")

        return {
            "split": self.split,
            "metrics": recs(self.metrics.reset_index()),
            "rates": recs(self.rates.reset_index()),
            "reliability": recs(self.reliability),
            "lift": recs(self.lift),
            "scorecard": {
                "threshold": self.scorecard.threshold, "pdo": self.scorecard.pdo,
                "cutoff_probability": self.scorecard.cutoff_probability,
                "half_life_days": half_life_label(self.scorecard.half_life_days),
                "points": {k: float(v) for k, v in self.scorecard.points.items()},
                "coefficients": {k: float(v) for k, v in self.scorecard.coefficients.items()},
            },
            "half_life_scores": None if self.half_life_scores is None
            else {half_life_label(k): (None if pd.isna(v) else float(v)) for k, v in self.half_life_scores.items()},
            "reliability_by_grade": None if self.by_grade is None else recs(self.by_grade),
            "response_delay": self.delay,
            "points_vs_score_max_gap": self.points_gap,
            "selection": self.selection,
            "proposals": None if self.proposals is None else recs(self.proposals),
            "leakage": None if self.leakage is None else recs(self.leakage),
            "notes": list(self.notes),
        }

    def figures(self) -> dict[str, Any]:
        """Matplotlib figures by name (reliability, lift, gain, volume/precision, points)."""
        import matplotlib.pyplot as plt

        from leadsim.plots import calibration as cp

        out = {}
        for name, fn in (("reliability", cp.plot_reliability), ("gain", cp.plot_gain), ("lift", cp.plot_lift),
                         ("volume_precision", cp.plot_volume_precision), ("points", cp.plot_points)):
            fig, ax = plt.subplots(figsize=(6, 4))
            fn(self, ax=ax)
            fig.tight_layout()
            out[name] = fig
        return out


def splits(features, split: str, test_size: float, n_splits: int, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) of a :class:`~leadsim.calibration.FeatureSet`: ``split="time"`` holds out the newest
    ``test_size`` share of hand-offs (one pair); ``"kfold"`` gives ``n_splits`` stratified folds, shuffled by ``rng``.
    """
    n = len(features)
    y = features.y.to_numpy(dtype=bool)
    if split == "time":
        if not 0 < test_size < 1:
            raise DataError(f"test_size {test_size} must lie strictly between 0 and 1", where="evaluate")
        cut = round(n * (1 - test_size))
        order = np.argsort(features.meta["handed_at"].to_numpy(), kind="stable")
        return [(order[:cut], order[cut:])]
    if split == "kfold":
        skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=int(np.random.default_rng(rng).integers(2**31)))
        return list(skf.split(np.zeros(n), y))
    raise DataError(f"split {split!r}: use 'time' or 'kfold'", where="evaluate")


def _nb_matrix(features, rows) -> np.ndarray:
    return (features.X.iloc[rows][features.rule_columns].to_numpy(dtype=float) > 0).astype(float)


def gradient_boosting(seed: int = 0):
    """The flexible reference: a small, seeded, regularised histogram gradient-boosting classifier."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=20,
                                          l2_regularization=1.0, early_stopping=False, random_state=seed)


def fit_points(features, model, *, weights, capacity=None, target_rate=None, pdo=None, note=None):
    """The rule-feature model, its scorecard and the revised definition, fitted on ``features``.

    Returns ``(model, scorecard, revised definition, threshold curve, notes)``.
    """
    from threadpoolctl import threadpool_limits

    notes = []
    with threadpool_limits(limits=1):
        m = clone(model).fit(features.X_rules, features.y.to_numpy(), sample_weight=weights)
    cutoff, curve = recommend_threshold(features, m, capacity=capacity, target_rate=target_rate, weights=weights)
    if pdo is not None:
        card = scorecard(m, features, pdo=pdo)
    else:
        floor = 1 / (1 + np.exp(-absorbed_intercept(m, features)))
        if cutoff <= floor:
            notes.append(f"the recommended cut-off {cutoff:.3f} lies at the chance of a lead no rule fires for; "
                         f"raised to {floor + 0.01:.3f}")
            cutoff = floor + 0.01
        card = scorecard(m, features, cutoff_probability=float(min(cutoff, 0.99)))
    revised = recalibrate(card, features.definition, unit=features.unit(), note=note)
    given = {r.id: r.points for r in revised.fit_rules} | {r.id: r.points for r in revised.behaviour_rules}
    given |= {f"bant_{k}": r.points for k, r in revised.bant.items()}
    for rid in card.points.index:
        if given.get(rid, card.points[rid]) != card.points[rid]:
            notes.append(f"rule {rid!r}: the model gives {card.points[rid]:+g} points, but a gate excludes leads "
                         f"it fires for, so it keeps {given[rid]:+g} point(s) of its old sign")
            card.points[rid] = given[rid]
    return m, card, revised, curve, notes


def _by_grade(res: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    g = res.groupby("grade", sort=True)
    out = pd.DataFrame({"n": g.size(), "mean_predicted": g["rule-feature model"].mean(), "observed": g["y"].mean()})
    out["gap"] = out["observed"] - out["mean_predicted"]
    return out.reset_index()


def evaluate(
    features,
    *,
    model: MQLCalibrator | None = None,
    split: str = "time",
    test_size: float = 0.3,
    n_splits: int = 5,
    weights: np.ndarray | None = None,
    capacity: float | None = None,
    target_rate: float | None = None,
    pdo: float | None = None,
    n_bins: int = 10,
    seed: np.random.Generator | int | None = 0,
) -> CalibrationReport:
    """Fit on the training part(s), compare the rankings side by side on the held-out part(s).

    ``weights`` (e.g. inverse propensities) weight the fits and the threshold
    curve; held-out metrics are unweighted (they describe the hand-offs as
    they were).  The proposed points and threshold come from the training
    part: ``capacity``/``target_rate`` as in :func:`recommend_threshold`, or
    ``pdo``.  ``features`` must come from :func:`build_features` (it scores
    the revised definition at each hand-off).
    """
    from threadpoolctl import threadpool_limits

    if getattr(features, "scorer", None) is None:
        raise DataError("these features carry no hand-off scorer; build them with build_features()",
                        where="evaluate")
    model = model if model is not None else MQLCalibrator(random_state=0)
    w_all = np.ones(len(features)) if weights is None else np.asarray(weights, float)
    T = features.definition.thresholds.mql
    parts, gaps = [], []
    card = curve = None
    for tr, te in splits(features, split, test_size, n_splits, seed):
        ftr, fte = features.subset(tr), features.subset(te)
        if ftr.y.nunique() < 2 or fte.y.nunique() < 2:
            raise DataError("a training or test part holds only one class; use more data or split='kfold'", where="evaluate")
        y_tr = ftr.y.to_numpy()
        rule_m, card, revised, curve, _ = fit_points(ftr, model, weights=w_all[tr], capacity=capacity,
                                                     target_rate=target_rate, pdo=pdo)
        with threadpool_limits(limits=1):
            nb = BernoulliNB().fit(_nb_matrix(features, tr), y_tr, sample_weight=w_all[tr])
            gb = gradient_boosting().fit(ftr.X_rules, y_tr, sample_weight=w_all[tr])
            ctrl = clone(model).fit(ftr.X, y_tr, sample_weight=w_all[tr]) if ftr.control_columns else None
        scored = fte.scorer.score(revised).reindex(fte.X.index)
        gaps.append(float(np.max(np.abs(scored["score"].to_numpy(float) - card.score(fte.X)))))
        part = pd.DataFrame({
            "y": fte.y.to_numpy(dtype=float),
            "current definition": fte.current_score.to_numpy(dtype=float),
            "revised definition": scored["score"].to_numpy(dtype=float),
            "rule-feature model": rule_m.predict_proba(fte.X_rules)[:, 1],
            "gradient boosting": gb.predict_proba(fte.X_rules)[:, 1],
            "naive Bayes": nb.predict_proba(_nb_matrix(features, te))[:, 1],
            "current_mql": at_or_over(fte.current_score.to_numpy(dtype=float), T),
            "grade": scored["grade"].astype(str).to_numpy(),
        })
        if ctrl is not None:
            part["model with controls"] = ctrl.predict_proba(fte.X)[:, 1]
        parts.append(part)
    res = pd.concat(parts, ignore_index=True)
    y = res["y"].to_numpy()
    rows, rel, lift = [], [], []
    for name in [m for m in MODELS if m in res]:
        s = res[name].to_numpy()
        prob = name not in _RANKINGS
        rows.append({
            "model": name, "roc_auc": roc_auc_score(y, s), "pr_auc": average_precision_score(y, s),
            "brier": brier_score_loss(y, s) if prob else np.nan,
            "ece": expected_calibration_error(y, s, n_bins) if prob else np.nan,
            "log_loss": log_loss(y, np.clip(s, 1e-12, 1 - 1e-12), labels=[0, 1]) if prob else np.nan,
            "n_test": len(y), "sql_rate": float(y.mean()),
        })
        if prob:
            rel.append(reliability_table(y, s, n_bins).assign(model=name))
        lift.append(lift_table(y, s).assign(model=name))
    proposed = at_or_over(res["revised definition"].to_numpy(), T)
    current = res["current_mql"].to_numpy()
    rates = pd.DataFrame([
        {"threshold": "current", "points": T, "share_handed": current.mean(),
         "lead_to_sales_lead": y[current].mean() if current.any() else np.nan},
        {"threshold": "proposed", "points": T, "share_handed": proposed.mean(),
         "lead_to_sales_lead": y[proposed].mean() if proposed.any() else np.nan},
    ]).set_index("threshold")
    notes = []
    if split == "time":
        notes.append("time-ordered split: trained on the older hand-offs, tested on the newest "
                     f"{test_size:.0%}")
    else:
        notes.append(f"stratified {n_splits}-fold cross-validation (no time order used)")
    return CalibrationReport(
        metrics=pd.DataFrame(rows).set_index("model"),
        reliability=pd.concat(rel, ignore_index=True),
        lift=pd.concat(lift, ignore_index=True),
        rates=rates,
        curve=curve,
        scorecard=card,
        split=split,
        half_life_scores=features.half_life_scores,
        by_grade=_by_grade(res, n_bins),
        points_gap=max(gaps),
        notes=notes,
    )
