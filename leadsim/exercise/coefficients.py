"""The agreement coefficients of a comparison, pair by pair and over all heads, in one long table.

:func:`coefficient_table` shapes the reviewers' verdicts (good / not; unsure and
blank are no answer) and, where the worksheets carry it, their stage (the
ordinal scale of :data:`~leadsim.exercise.coding.STAGES`) into the inputs of
:mod:`leadsim.exercise.statistics`, and returns one row per pair (or group),
scale and statistic with its interval.

>>> import pandas as pd
>>> v = pd.DataFrame({"m": ["good", "not", "good", "not", "good"], "s": ["good", "not", "not", "not", "good"]})
>>> t, notes = coefficient_table(v, None, ["m", "s"], n_boot=200)
>>> t[["scale", "statistic", "n", "value"]].round(3).to_dict("records")[:3]
[{'scale': 'verdict', 'statistic': 'kappa', 'n': 5, 'value': 0.615}, {'scale': 'verdict', 'statistic': 'AC1', 'n': 5, 'value': 0.6}, {'scale': 'verdict', 'statistic': 'alpha', 'n': 5, 'value': 0.64}]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadsim.exercise import statistics as st
from leadsim.exercise.coding import STAGES

__all__ = ["COEFFICIENT_COLUMNS", "VERDICT_CODES", "codes", "coefficient_table"]

#: Columns of the table :func:`coefficient_table` returns.
COEFFICIENT_COLUMNS = ["scale", "a", "b", "statistic", "n", "agreement", "value", "low", "high", "interval"]
#: Verdicts as codes for the statistics; unsure and blank are no answer.
VERDICT_CODES = {"good": 0, "not": 1}

_ANALYTIC_KAPPA = "analytic (Fleiss-Cohen-Everitt, statsmodels)"
_ANALYTIC_GWET = "analytic (Gwet)"
_BOOT = "bootstrap"


def codes(values: pd.Series, scale: str) -> np.ndarray:
    """Verdicts (good/not) or stage ids as float codes, NaN for anything else (unsure, blank)."""
    mapping = VERDICT_CODES if scale == "verdict" else {s: i for i, s in enumerate(STAGES)}
    return np.array([mapping.get(v, math.nan) if isinstance(v, str) else math.nan for v in values], dtype=float)


def _row(scale: str, a: str, b: str, statistic: str, n: int, agreement: float, value: float, low: float,
         high: float, interval: str) -> dict:
    return {"scale": scale, "a": a, "b": b, "statistic": statistic, "n": int(n), "agreement": agreement,
            "value": value, "low": low, "high": high, "interval": interval}


def _pair_rows(scale: str, a: str, b: str, x: np.ndarray, y: np.ndarray, k: int, *, level: float, n_boot: int,
               seed: int | np.random.Generator | None, kappa_interval: str) -> tuple[list[dict], np.ndarray]:
    ok = ~np.isnan(x) & ~np.isnan(y)
    n = int(ok.sum())
    table = st.table_of(x[ok], y[ok], k)
    wt = None if scale == "verdict" else st.STAGE_WEIGHTS
    kap = st.kappa(table, wt=wt, level=level)
    kap_name = "kappa" if wt is None else f"weighted kappa ({wt})"
    lo, hi, how = kap["low"], kap["high"], _ANALYTIC_KAPPA
    both = np.vstack([x[ok], y[ok]])
    if kappa_interval == "bootstrap":
        lo, hi = st.bootstrap(lambda d: st.kappa(st.table_of(d[0], d[1], k), wt=wt)["value"], both,
                              n_boot=n_boot, seed=seed, level=level)
        how = _BOOT
    ac = st.gwet(table, weights=wt, level=level)
    ac_name = "AC1" if wt is None else f"AC2 ({wt})"
    measure = "nominal" if scale == "verdict" else "ordinal"
    al = st.alpha(both, level_of_measurement=measure, categories=k)
    al_lo, al_hi = st.bootstrap(lambda d: st.alpha(d, level_of_measurement=measure, categories=k), both,
                                n_boot=n_boot, seed=seed, level=level)
    rows = [
        _row(scale, a, b, kap_name, n, kap["agreement"], kap["value"], lo, hi, how),
        _row(scale, a, b, ac_name, n, kap["agreement"], ac["value"], ac["low"], ac["high"], _ANALYTIC_GWET),
        _row(scale, a, b, "alpha" if measure == "nominal" else "alpha (ordinal)", n, kap["agreement"], al, al_lo,
             al_hi, _BOOT),
    ]
    return rows, table


def coefficient_table(verdicts: pd.DataFrame, stages: pd.DataFrame | None, reviewers: Sequence[str], *,
                      heads: Sequence[str] | None = None, level: float = 0.95, n_boot: int = 1000,
                      seed: int | np.random.Generator | None = 0,
                      kappa_interval: str = "analytic") -> tuple[pd.DataFrame, list[str]]:
    """Coefficients per pair of reviewers (verdict; stage where both gave one) and over all heads.

    Per pair and scale: kappa (weighted, linear, for the stage), Gwet's AC1
    (AC2 for the stage) and Krippendorff's alpha (nominal; ordinal for the
    stage), each with ``n`` (companies both answered), raw ``agreement`` and an
    interval at ``level``.  With three or more ``heads`` (the reviewers other
    than the definition), rows with ``b == "all"`` give alpha over all heads
    (missing answers allowed) and Light's kappa (mean of the pairwise kappas),
    both with bootstrap intervals.  ``seed`` seeds every bootstrap, so one seed
    gives one table.  Returns the table and the kappa-paradox notes.
    """
    heads = [r for r in reviewers if r != "definition"] if heads is None else list(heads)
    rows: list[dict] = []
    notes: list[str] = []
    scales = [("verdict", verdicts, len(VERDICT_CODES))]
    if stages is not None:
        scales.append(("stage", stages, len(STAGES)))
    for scale, frame, k in scales:
        names = [r for r in reviewers if r in frame.columns]
        coded = {r: codes(frame[r], scale) for r in names}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if scale == "stage" and not (np.isfinite(coded[a]).any() and np.isfinite(coded[b]).any()):
                    continue
                pair, table = _pair_rows(scale, a, b, coded[a], coded[b], k, level=level, n_boot=n_boot, seed=seed,
                                         kappa_interval=kappa_interval)
                rows += pair
                if scale == "verdict":
                    note = st.paradox_note(table, names=(a, b), labels=list(VERDICT_CODES))
                    if note:
                        notes.append(note)
        group = [h for h in heads if h in coded and np.isfinite(coded[h]).any()]
        if len(group) >= 3:
            data = np.vstack([coded[h] for h in group])
            measure = "nominal" if scale == "verdict" else "ordinal"
            wt = None if scale == "verdict" else st.STAGE_WEIGHTS
            answered = int(np.sum(np.sum(~np.isnan(data), axis=0) >= 2))
            al = st.alpha(data, level_of_measurement=measure, categories=k)
            lo, hi = st.bootstrap(lambda d, m=measure, k=k: st.alpha(d, level_of_measurement=m, categories=k), data,
                                  n_boot=n_boot, seed=seed, level=level)
            rows.append(_row(scale, ", ".join(group), "all", "alpha" if measure == "nominal" else "alpha (ordinal)",
                             answered, math.nan, al, lo, hi, _BOOT))
            lk = st.light_kappa(data, wt=wt)
            lo, hi = st.bootstrap(lambda d, wt=wt: st.light_kappa(d, wt=wt), data, n_boot=n_boot, seed=seed, level=level)
            rows.append(_row(scale, ", ".join(group), "all", "Light's kappa" if wt is None
                             else f"Light's kappa ({wt})", answered, math.nan, lk, lo, hi, _BOOT))
    return pd.DataFrame(rows, columns=COEFFICIENT_COLUMNS), notes
