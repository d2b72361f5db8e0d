"""Held-out comparison: the current definition's score, the calibrated model, naive Bayes.

Time-ordered by default (train on the older hand-offs, test on the newer),
stratified k-fold as an option.  Metrics: ROC AUC, PR AUC (average
precision), Brier score, expected calibration error (ECE, equal-width bins,
weighted by bin size), log loss; reliability curves; lift and cumulative gain
by decile; the Lead -> Sales Lead rate at the current and at the proposed
threshold.  The current definition's score and the calibrated definition's
integer points are rankings, not probabilities, so they have no Brier score,
ECE or log loss.  The naive Bayes baseline
(:class:`sklearn.naive_bayes.BernoulliNB` over the same rule features, each
read as "fired / occurred") is the approach Odoo's CRM takes.

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
from leadsim.calibration.scorecard import Scorecard, absorbed_intercept, recommend_threshold, scorecard
from leadsim.errors import DataError

__all__ = ["CalibrationReport", "evaluate", "expected_calibration_error", "lift_table", "reliability_table"]

MODELS = ("current definition", "calibrated definition", "calibrated", "naive Bayes")
_RANKINGS = ("current definition", "calibrated definition")


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
    selection: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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
                "half_life_days": self.scorecard.half_life_days,
                "points": {k: float(v) for k, v in self.scorecard.points.items()},
                "coefficients": {k: float(v) for k, v in self.scorecard.coefficients.items()},
            },
            "half_life_scores": None if self.half_life_scores is None
            else {str(k): (None if pd.isna(v) else float(v)) for k, v in self.half_life_scores.items()},
            "selection": self.selection,
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


def _splits(features, split: str, test_size: float, n_splits: int, rng) -> list[tuple[np.ndarray, np.ndarray]]:
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
    """Fit on the training part(s), compare the three rankings on the held-out part(s).

    ``weights`` (e.g. inverse propensities) weight the fits and the threshold
    curve; held-out metrics are unweighted (they describe the hand-offs as
    they were).  The proposed threshold comes from the training part:
    ``capacity``/``target_rate`` as in :func:`recommend_threshold`, or ``pdo``.
    """
    model = model if model is not None else MQLCalibrator(random_state=0)
    w_all = np.ones(len(features)) if weights is None else np.asarray(weights, float)
    T = features.definition.thresholds.mql
    parts = []
    card = curve = None
    for tr, te in _splits(features, split, test_size, n_splits, seed):
        ftr, fte = features.subset(tr), features.subset(te)
        if ftr.y.nunique() < 2 or fte.y.nunique() < 2:
            raise DataError("a training or test part holds only one class; use more data or split='kfold'", where="evaluate")
        m = clone(model).fit(ftr.X, ftr.y.to_numpy(), sample_weight=w_all[tr])
        nb = BernoulliNB().fit(_nb_matrix(features, tr), ftr.y.to_numpy(), sample_weight=w_all[tr])
        if pdo is not None:
            card = scorecard(m, ftr, pdo=pdo)
            _, curve = recommend_threshold(ftr, m, weights=w_all[tr])
        else:
            cutoff, curve = recommend_threshold(ftr, m, capacity=capacity, target_rate=target_rate, weights=w_all[tr])
            floor = 1 / (1 + np.exp(-absorbed_intercept(m, ftr)))
            card = scorecard(m, ftr, cutoff_probability=float(min(max(cutoff, floor + 0.01), 0.99)))
        parts.append(pd.DataFrame({
            "y": fte.y.to_numpy(dtype=float),
            "current definition": fte.current_score.to_numpy(dtype=float),
            "calibrated": m.predict_proba(fte.X)[:, 1],
            "naive Bayes": nb.predict_proba(_nb_matrix(features, te))[:, 1],
            "calibrated definition": card.score(fte.X),
            "current_mql": fte.current_score.to_numpy(dtype=float) >= T,
        }))
    res = pd.concat(parts, ignore_index=True)
    y = res["y"].to_numpy()
    rows, rel, lift = [], [], []
    for name in MODELS:
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
    proposed = res["calibrated definition"].to_numpy() >= T
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
    return CalibrationReport(
        metrics=pd.DataFrame(rows).set_index("model"),
        reliability=pd.concat(rel, ignore_index=True),
        lift=pd.concat(lift, ignore_index=True),
        rates=rates,
        curve=curve,
        scorecard=card,
        split=split,
        half_life_scores=features.half_life_scores,
        notes=notes,
    )
