"""Agreement coefficients of the exercise, each with an interval, from the libraries made for them.

* Cohen's kappa, its standard error and interval, and weighted kappa for the
  ordinal stage: :func:`statsmodels.stats.inter_rater.cohens_kappa` (large-sample
  standard error of Fleiss, Cohen & Everitt 1969; ``wt="linear"`` or
  ``"quadratic"``).  :func:`kappa` only shapes its input and output.
* Krippendorff's alpha, nominal or ordinal, missing answers allowed:
  :func:`krippendorff.alpha`.  :func:`alpha` shapes the raters x companies matrix;
  its interval is a seeded bootstrap over companies (:func:`bootstrap`).
* Gwet's AC1 (nominal) and AC2 (weighted, for the stage) for two raters: no
  package that installs beside leadsim's pins provides them, so :func:`gwet`
  writes them out with Gwet's variance (Gwet 2008, British Journal of
  Mathematical and Statistical Psychology 61, 29-48; the weighted form of his
  Handbook of Inter-Rater Reliability, 4th ed., 2014).
* For more than two raters who each rate every company, Light's kappa (the
  mean of the pairwise Cohen's kappas) beside alpha; Fleiss' kappa is not used
  because it assumes different raters per company.

When one answer dominates, kappa can be low although the raters agree almost
always (the *kappa paradox*); :func:`paradox_note` says so in words.

>>> r = kappa([[82, 8], [7, 3]])
>>> round(r["agreement"], 3), round(r["value"], 3), round(gwet([[82, 8], [7, 3]])["value"], 3)
(0.85, 0.202, 0.815)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "STAGE_WEIGHTS",
    "agreement_weights",
    "alpha",
    "bootstrap",
    "gwet",
    "kappa",
    "light_kappa",
    "paradox_note",
    "table_of",
]

#: The weighting used for the ordinal stage: statsmodels' ``wt`` option and Gwet's weights alike.
STAGE_WEIGHTS = "linear"


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _nan_result(agreement: float = math.nan, n: float = 0.0) -> dict[str, float]:
    return {"n": n, "agreement": agreement, "expected": math.nan, "value": math.nan, "se": math.nan,
            "low": math.nan, "high": math.nan}


def table_of(a: Sequence[int], b: Sequence[int], k: int, weights: Sequence[float] | None = None) -> np.ndarray:
    """The k x k table of two raters' category codes (0..k-1), optionally weighted.

    >>> table_of([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    t = np.zeros((k, k))
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=float)
    np.add.at(t, (np.asarray(a, dtype=int), np.asarray(b, dtype=int)), w)
    return t


def kappa(table: Any, *, wt: str | None = None, level: float = 0.95) -> dict[str, float]:
    """Cohen's kappa (``wt=None``) or weighted kappa (``wt="linear"``/``"quadratic"``) of a k x k table.

    Computed by :func:`statsmodels.stats.inter_rater.cohens_kappa`; the
    interval is ``value +- z * se`` at ``level`` with statsmodels' standard
    error, clipped to [-1, 1].  ``agreement`` is the raw share of the diagonal.
    Undefined (NaN) when there are no ratings or both raters used one and the
    same category throughout.

    >>> r = kappa([[20, 5], [10, 15]])
    >>> round(r["value"], 3), round(r["se"], 5), round(r["low"], 4), round(r["high"], 4)
    (0.4, 0.127, 0.1511, 0.6489)
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"need a square table, got shape {t.shape}")
    n = float(t.sum())
    if n <= 0:
        return _nan_result()
    p = t / n
    agreement = float(np.trace(p))
    expected = float(p.sum(axis=1) @ p.sum(axis=0))
    if expected >= 1 - 1e-12:
        return {**_nan_result(agreement, n), "expected": expected}
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cohens_kappa(t, wt=wt)
    value, se = float(res["kappa"]), math.sqrt(max(float(res["var_kappa"]), 0.0))
    if not math.isfinite(value):
        return {**_nan_result(agreement, n), "expected": expected}
    z = _z(level)
    return {"n": n, "agreement": agreement, "expected": expected, "value": value, "se": se,
            "low": max(-1.0, value - z * se), "high": min(1.0, value + z * se)}


def agreement_weights(k: int, kind: str | None) -> np.ndarray:
    """Gwet's agreement weights for k ordered categories: identity, ``linear`` or ``quadratic``.

    >>> agreement_weights(3, "linear").tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    if kind is None:
        return np.eye(k)
    d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / max(k - 1, 1)
    if kind == "linear":
        return 1 - d
    if kind == "quadratic":
        return 1 - d**2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {kind!r}")


def gwet(table: Any, *, weights: str | None = None, level: float = 0.95) -> dict[str, float]:
    """Gwet's AC1 (``weights=None``) or AC2 (``"linear"``/``"quadratic"``) of two raters' k x k table.

    With agreement weights ``w`` (:func:`agreement_weights`), cell shares
    ``p_kl``, category shares ``pi_k = (p_k. + p_.k) / 2`` and ``T_w`` the sum of
    all weights::

        p_a   = sum_kl w_kl p_kl
        p_e   = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)
        AC    = (p_a - p_e) / (1 - p_e)
        var   = [ sum_kl p_kl (w_kl - 2 (1 - AC) e_kl)**2 - (p_a - 2 (1 - AC) p_e)**2 ] / (n (1 - p_e)**2)

    where ``e_kl = T_w / (q (q - 1)) * (1 - (pi_k + pi_l) / 2)``; the interval is
    ``AC +- t * se`` with Student's t on ``n - 1`` degrees of freedom, as Gwet
    reports it.  Gwet's worked example (the three-category table of two
    abstractors, n = 100) gives AC1 0.8493305 with standard error 0.04321747:

    >>> r = gwet([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    >>> round(r["value"], 7), round(r["se"], 8), round(r["low"], 3), round(r["high"], 3)
    (0.8493305, 0.04321747, 0.764, 0.935)
    """
    from scipy.stats import t as student

    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError(f"need a square table of at least 2 categories, got shape {t.shape}")
    n = float(t.sum())
    if n <= 0:
        return _nan_result()
    q = t.shape[0]
    w = agreement_weights(q, weights)
    p = t / n
    pi = (p.sum(axis=1) + p.sum(axis=0)) / 2
    scale = w.sum() / (q * (q - 1))
    p_a = float((w * p).sum())
    p_e = float(scale * np.sum(pi * (1 - pi)))
    out = {"n": n, "agreement": float(np.trace(p)), "expected": p_e}
    if p_e >= 1 - 1e-12:
        return {**_nan_result(out["agreement"], n), "expected": p_e}
    ac = (p_a - p_e) / (1 - p_e)
    e = scale * (1 - (pi[:, None] + pi[None, :]) / 2)
    var = (np.sum(p * (w - 2 * (1 - ac) * e) ** 2) - (p_a - 2 * (1 - ac) * p_e) ** 2) / (n * (1 - p_e) ** 2)
    se = math.sqrt(max(float(var), 0.0))
    crit = float(student.ppf(0.5 + level / 2, n - 1)) if n > 1 else math.nan
    return {**out, "value": ac, "se": se, "low": max(-1.0, ac - crit * se), "high": min(1.0, ac + crit * se)}


def alpha(ratings: Any, *, level_of_measurement: str = "nominal", categories: int | None = None) -> float:
    """Krippendorff's alpha of a raters x companies matrix of category codes, NaN for no answer.

    Computed by :func:`krippendorff.alpha`; ``categories`` fixes the value
    domain ``0 .. categories - 1`` (else the codes present).  NaN when fewer
    than two companies have two answers or only one value occurs.

    >>> round(alpha([[0, 1, 1, 0, float("nan")], [0, 1, 0, 0, 1]]), 3)
    0.533
    """
    import krippendorff

    data = np.asarray(ratings, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2:
        return math.nan
    paired = np.sum(~np.isnan(data), axis=0) >= 2
    values = np.unique(data[:, paired][~np.isnan(data[:, paired])])
    if paired.sum() < 2 or len(values) < 2:
        return math.nan
    domain = np.arange(categories, dtype=float) if categories else None
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = krippendorff.alpha(reliability_data=data[:, paired], value_domain=domain,
                                   level_of_measurement=level_of_measurement)
    return float(value)


def light_kappa(codes: Any, *, wt: str | None = None) -> float:
    """Light's kappa: the mean of the pairwise Cohen's kappas of a raters x companies code matrix (NaN = none).

    Each pair uses the companies both raters answered; pairs with an undefined
    kappa are left out of the mean.

    >>> round(light_kappa([[0, 1, 1, 0], [0, 1, 0, 0], [0, 1, 1, 1]]), 3)
    0.5
    """
    data = np.asarray(codes, dtype=float)
    k = int(np.nanmax(data)) + 1 if np.isfinite(data).any() else 0
    values = []
    for i in range(len(data)):
        for j in range(i + 1, len(data)):
            ok = ~np.isnan(data[i]) & ~np.isnan(data[j])
            if ok.sum() and k >= 2:
                v = kappa(table_of(data[i][ok], data[j][ok], k), wt=wt)["value"]
                if math.isfinite(v):
                    values.append(v)
    return float(np.mean(values)) if values else math.nan


def bootstrap(statistic: Callable[[np.ndarray], float], data: Any, *, n_boot: int = 1000,
              seed: np.random.Generator | int | None = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``statistic(data[:, idx])`` over ``n_boot`` resamples of the columns (companies).

    ``data`` is raters x companies; the same seed gives the same interval.
    Resamples where the statistic is undefined are left out; NaN when all are.

    >>> d = np.array([[0, 1] * 30, [0, 1] * 25 + [1, 0] * 5], dtype=float)
    >>> lo, hi = bootstrap(lambda x: alpha(x), d, n_boot=200, seed=1)
    >>> bool(0 < lo < alpha(d) < hi <= 1)
    True
    """
    arr = np.asarray(data, dtype=float)
    n = arr.shape[-1]
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    values = np.array([statistic(arr[..., i]) for i in idx], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def paradox_note(table: Any, *, names: tuple[str, str] = ("A", "B"), labels: Sequence[str] | None = None,
                 gap: float = 0.25, skew: float = 0.75) -> str | None:
    """A sentence explaining the kappa paradox when it bites, else None.

    It bites when one answer makes up at least ``skew`` of both raters' answers
    and raw agreement exceeds kappa by at least ``gap``: chance agreement is
    then high, so kappa is low although the raters rarely differ; Gwet's AC1
    does not depend on the skew that way.

    >>> print(paradox_note([[82, 8], [7, 3]], names=("marketing", "sales"), labels=["good", "not"]))
    marketing and sales agree on 85 % of the companies, yet kappa is only 0.20: 'good' makes up 90 % and 89 % of their answers, so chance alone would agree on 81 % and kappa measures only the rest (the kappa paradox). Gwet's AC1, which does not depend on that skew, is 0.82.
    """
    t = np.asarray(table, dtype=float)
    n = t.sum()
    if n <= 0:
        return None
    k = kappa(t)
    if not math.isfinite(k["value"]):
        return None
    rows, cols = t.sum(axis=1) / n, t.sum(axis=0) / n
    top = int(np.argmax(rows + cols))
    if min(rows[top], cols[top]) < skew or k["agreement"] - k["value"] < gap:
        return None
    label = labels[top] if labels is not None else f"category {top}"
    a, b = names
    return (f"{a} and {b} agree on {k['agreement']:.0%} of the companies, yet kappa is only {k['value']:.2f}: "
            f"'{label}' makes up {rows[top]:.0%} and {cols[top]:.0%} of their answers, so chance alone would agree "
            f"on {k['expected']:.0%} and kappa measures only the rest (the kappa paradox). Gwet's AC1, which does "
            f"not depend on that skew, is {gwet(t)['value']:.2f}.").replace("%", " %")
