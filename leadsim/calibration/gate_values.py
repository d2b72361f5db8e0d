"""Gate values proposed like rules: a minimum behaviour score and a minimum fit grade, with their evidence.

The MQL gates (:mod:`leadsim.definition.gates`) hold back a lead over the
threshold that shows no buying behaviour or fits too poorly.  Calibration
changes the points, so a ``min_behaviour`` of 10 old points means something
else in the revised ones.  :func:`propose_gates` scores every hand-off with
the revised definition (:func:`leadsim.scoring.score`) and, for each gate
check (``mql.min_behaviour``, ``mql.min_grade``, ``hot.min_grade``), weighs
candidate values:

* ``min_behaviour``: the behaviour score at the 10th, 25th, 50th and 75th
  percentile of the hand-offs that show any behaviour, rounded to whole
  points, and the current value *translated*: the revised value that lets
  the same share of hand-offs pass as the current value did under the
  current points;
* ``min_grade``: each grade but the lowest.

Each candidate gets the rule columns of the proposals table: ``support``
(share of hand-offs that pass), ``sql_rate`` among them, ``odds_ratio`` of
an SQL for passing, adjusted for the revised score, with a 95 % Wald
interval (:func:`leadsim.calibration.inference.logit_wald`), and
``auc_gain``: the cross-validated ROC AUC of the score plus the pass flag
minus that of the score alone (:func:`leadsim.calibration.discovery.cv_auc`).
A gate value is proposed (``new`` or ``changed``) when it adds at least
``min_gain`` AUC and passing is clearly associated with more SQLs (interval
above 1); the best such value wins.  Otherwise a current gate is ``kept``,
translated to the revised points (a gate is also a business rule: "an MQL
shows buying behaviour"; the evidence is listed so that the teams can drop
it).  Candidates not chosen appear as ``not proposed``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leadsim.calibration.discovery import PROPOSAL_COLUMNS, cv_auc, cv_folds, standardised
from leadsim.calibration.inference import logit_wald
from leadsim.definition import LeadDefinition

__all__ = ["GATE_CHECKS", "propose_gates"]

#: The gate checks that take a value, as (gate, check).
GATE_CHECKS = (("mql", "min_behaviour"), ("mql", "min_grade"), ("hot", "min_grade"))
QUANTILES = (0.10, 0.25, 0.50, 0.75)


def _grade_rank(grades: pd.Series, definition: LeadDefinition) -> np.ndarray:
    """0 for the best grade, 1 for the next ...; missing grades rank last."""
    order = list(definition.thresholds.fit_grades)
    return grades.map({g: k for k, g in enumerate(order)}).fillna(len(order)).to_numpy(dtype=float)


def _translated(current: float, before: np.ndarray, after: np.ndarray) -> float:
    """The whole-point value of ``after`` that lets about the share of rows pass that ``current`` let pass in ``before``.

    A positive minimum stays at least 1 point: "some buying behaviour" must not round to "none".
    """
    share = float((before >= current - 1e-9).mean())
    floor = 1.0 if current > 0 else 0.0
    if share >= 1.0:
        return floor
    return float(max(floor, round(float(np.quantile(after, 1.0 - share)))))


def _evidence(passes: np.ndarray, score: np.ndarray, y: np.ndarray, w: np.ndarray, folds, base_auc: float) -> dict:
    if passes.all() or not passes.any():
        return {"odds_ratio": np.nan, "low": np.nan, "high": np.nan, "auc_gain": 0.0}
    fit = logit_wald(np.column_stack([standardised(score[:, None])[:, 0], passes]), y, sample_weight=w)
    b, lo, hi = fit.coef[1], fit.low[1], fit.high[1]
    gain = cv_auc(standardised(np.column_stack([score, passes.astype(float)])), y, w, folds) - base_auc
    return {"odds_ratio": math.exp(b), "low": math.exp(lo), "high": math.exp(hi), "auc_gain": gain}


def propose_gates(features, revised: LeadDefinition, *, previous: LeadDefinition | None = None,
                  weights: np.ndarray | None = None, min_gain: float = 0.001, time_ordered: bool = True,
                  seed: int = 0) -> tuple[pd.DataFrame, LeadDefinition]:
    """The gate rows of the proposals table and ``revised`` with the proposed gate values (see the module docstring).

    ``features``: the :class:`~leadsim.calibration.FeatureSet` the points
    were fitted on; ``previous``: the definition in force (default:
    ``features.definition``), whose gate values are translated to the
    revised points.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # many small fits: BLAS threads only fight each other
        return _propose(features, revised, previous, weights, min_gain, time_ordered, seed)


def _propose(features, revised, previous, weights, min_gain, time_ordered, seed):
    previous = features.definition if previous is None else previous
    now = features.scorer.score(revised).reindex(features.X.index)
    before = features.scorer.score(previous).reindex(features.X.index)
    y = features.y.to_numpy(dtype=bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    score = now["score"].to_numpy(dtype=float)
    folds = cv_folds(len(y), y, time_ordered, seed)
    base_auc = cv_auc(standardised(score[:, None]), y, w, folds)
    behaviour = now["behaviour_score"].to_numpy(dtype=float)
    rank = _grade_rank(now["grade"], revised)
    grades = list(revised.thresholds.fit_grades)
    rows, gates = [], revised.gates.model_copy(deep=True)
    for gate_name, check in GATE_CHECKS:
        current = getattr(getattr(previous.gates, gate_name), check)
        cands: dict[object, np.ndarray] = {}
        kept = None
        if check == "min_behaviour":
            if np.ptp(behaviour) == 0:
                continue
            shown = behaviour[behaviour > 0]
            for q in QUANTILES:
                v = float(round(float(np.quantile(shown, q))))
                cands.setdefault(v, behaviour >= v - 1e-9)
            if current is not None:
                kept = _translated(current, before["behaviour_score"].to_numpy(dtype=float), behaviour)
                cands[kept] = behaviour >= kept - 1e-9
        else:
            for k, g in enumerate(grades[:-1]):
                cands[g] = rank <= k
            kept = current if current in cands else None
        scored = {v: {"passes": p, **_evidence(p, score, y, w, folds, base_auc)} for v, p in cands.items()}
        good = [v for v, e in scored.items() if e["auc_gain"] >= min_gain and e["low"] > 1]
        best = max(good, key=lambda v: scored[v]["auc_gain"]) if good else kept
        for v, e in scored.items():
            change = "not proposed" if v != best else "new" if current is None else "kept" if v == kept else "changed"
            label = (f"behaviour score >= {v:g}" if check == "min_behaviour" else f"fit grade {v} or better")
            p = e["passes"]
            rows.append({"rule": f"gate {gate_name}.{check}", "change": change, "kind": "gate value",
                         "condition": label, "support": float(p.mean()), "n": int(p.sum()),
                         "sql_rate": float(y[p].mean()) if p.any() else np.nan, "odds_ratio": e["odds_ratio"],
                         "low": e["low"], "high": e["high"], "auc_gain": e["auc_gain"]})
        setattr(getattr(gates, gate_name), check, best)
    out = revised.model_copy(deep=True)
    out.gates = gates
    table = pd.DataFrame(rows, columns=PROPOSAL_COLUMNS)
    return table, LeadDefinition.model_validate(out.model_dump())

