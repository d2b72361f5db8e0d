"""The statistics behind :func:`leadsim.simulation.fitting.fit_scenario`: 95 % intervals, two small GLMs and the
response-behaviour fit.

The interval functions return plain floats (NaN where the data cannot tell),
so the fit can put them straight into its provenance table.

* :func:`poisson_interval`: a count's exact (Garwood) interval, for rates;
* :func:`wilson_interval`: a share's Wilson score interval, always within [0, 1];
* :func:`exponential_mean_interval`: the exact interval of an exponential mean (durations);
* :func:`edge_interval`: where a time-of-day range starts or ends (a shift), from the times seen near that edge;
* :func:`glm`: a logistic or Poisson regression by Newton's method, with Wald standard errors;
* :func:`handoff_table` and :func:`response_rows`: response behaviour (below).


Response behaviour
------------------
The hand-offs are
those :func:`leadsim.outcomes.from_history` derives (entries into the MQL
stage; ``sql`` labelled within the funnel's outcome window, as of the
window's end).  For each the *response delay* is the wall-clock time from the
hand-off to the first touch (by anyone) before the lead leaves the stage, as
the simulation's curves read it (``docs/design.md`` section 7.1,
"Speed-to-lead curves").

* **Contact at the first attempt**: yes when the lead left the stage after
  that touch with no other touch in between (the SDR reached it and
  decided), no when another attempt followed; unknown while the lead is
  still there with one touch.
* **Qualification** of a lead reached at the first attempt: its ``sql`` label.

Each is a logistic regression on ``log(1 + delay minutes)`` with the controls
calibration uses: the owner (who held the lead, else who touched it first),
the source and the score (the outcomes' ``score`` where given, else the
lead's fit score).  The delay's coefficient is reported with a 95 % Wald
interval; the scenario's ``curve`` takes it as odds multipliers at anchors
spanning the delays seen (5 % to 95 %; flat outside, no extrapolation),
``1`` at the first, and ``contact_base`` is the average predicted contact
chance at the first anchor.  Observational odds, not causal effects.

>>> anchors(np.array([0.0, 3, 20, 90, 700, 3000]))
[0.8, 5.0, 15.0, 60.0, 240.0, 480.0, 1440.0, 2425.0]
>>> poisson_interval(10)
(4.795..., 18.390...)
>>> tuple(round(x, 3) for x in wilson_interval(0, 20))
(0.0, 0.161)
>>> fit = glm(np.c_[np.ones(6), [0, 1, 2, 3, 4, 5]], np.array([2, 3, 4, 6, 7, 10]), family="poisson")
>>> round(float(np.exp(fit.coef[1])), 2)          # counts grow by about a third per step
1.36
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.errors import LeadsimError
from leadsim.funnel import visits
from leadsim.outcomes import from_history

__all__ = ["DELAY_GRID", "MIN_LABELLED", "Z95", "GlmFit", "anchors", "edge_interval", "exponential_mean_interval",
           "fit_scores", "glm", "handoff_table", "poisson_interval", "response_rows", "wilson_interval"]

#: the normal quantile of a two-sided 95 % interval
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile (SciPy is imported only where needed)


def poisson_interval(count: float, level: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) interval of a Poisson mean from one observed ``count``.

    >>> poisson_interval(0)
    (0.0, 3.688...)
    """
    from scipy import stats  # here: importing the simulation leaves SciPy out

    a = (1 - level) / 2
    k = float(count)
    lo = 0.0 if k <= 0 else float(stats.chi2.ppf(a, 2 * k) / 2)
    return lo, float(stats.chi2.ppf(1 - a, 2 * k + 2) / 2)


def wilson_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a share ``successes / n`` (NaN when ``n`` is 0).

    >>> tuple(round(x, 3) for x in wilson_interval(30, 100))
    (0.219, 0.396)
    """
    from scipy import stats  # here: importing the simulation leaves SciPy out

    if n <= 0:
        return np.nan, np.nan
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def exponential_mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi) of exponentially distributed ``values``: ``2 sum / mean`` is chi-square with ``2n`` d.f.

    >>> m, lo, hi = exponential_mean_interval(np.full(50, 6.0))
    >>> m, round(lo, 2), round(hi, 2)
    (6.0, 4.63, 8.08)
    """
    from scipy import stats  # here: importing the simulation leaves SciPy out

    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan
    s = float(x.sum())
    a = (1 - level) / 2
    return s / n, 2 * s / float(stats.chi2.ppf(1 - a, 2 * n)), 2 * s / float(stats.chi2.ppf(a, 2 * n))


def edge_interval(minutes: np.ndarray, side: str, *, trim: float = 0.002, spacings: int | None = None,
                  level: float = 0.95) -> tuple[float, float, float]:
    """(estimate, lo, hi) of the lower (``side="open"``) or upper (``"close"``) end of a range of times.

    Near its edge the times are taken as a Poisson process of constant
    density, cut off at the edge: the ``k``-th time from the edge lies a
    Gamma(``k``) distance away and the ``m`` gaps behind it estimate the
    density, so ``distance / k`` over the mean gap is F(``2k``, ``2m``)
    distributed.  ``k - 1 = floor(trim * n)`` times at the very edge are left
    out, so a few stray times (an e-mail sent at night) do not move it.
    Many times exactly at the edge (work waiting at the shift's start) give a
    zero-width interval there.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(450, 960, 400)              # 07:30 to 16:00
    >>> est, lo, hi = edge_interval(x, "close")
    >>> lo <= 960 <= hi and hi - lo < 15
    True
    """
    from scipy import stats  # here: importing the simulation leaves SciPy out

    x = np.sort(np.asarray(minutes, float)[np.isfinite(minutes)])
    n = len(x)
    if side == "close":
        x = -x[::-1]
    elif side != "open":
        raise ValueError(f"side must be 'open' or 'close', got {side!r}")
    k = int(np.floor(trim * n)) + 1
    m = spacings if spacings is not None else int(min(50, max(5, n // 20)))
    if n < k + m:
        return np.nan, np.nan, np.nan
    gap = (x[k - 1 + m] - x[k - 1]) / m
    a = (1 - level) / 2
    est = x[k - 1] - k * gap
    lo = x[k - 1] - k * gap * float(stats.f.ppf(1 - a, 2 * k, 2 * m))
    hi = x[k - 1] - k * gap * float(stats.f.ppf(a, 2 * k, 2 * m))
    if side == "close":
        est, lo, hi = -est, -hi, -lo
    return float(est), float(lo), float(hi)


@dataclass(frozen=True)
class GlmFit:
    """A fitted GLM: coefficients, their covariance (inverse Fisher information) and whether Newton converged."""

    coef: np.ndarray
    cov: np.ndarray
    converged: bool
    n: int

    def se(self, j: int) -> float:
        return float(np.sqrt(max(self.cov[j, j], 0.0)))

    def wald(self, j: int) -> tuple[float, float, float]:
        """(estimate, lo, hi) of coefficient ``j`` with a 95 % Wald interval."""
        b, s = float(self.coef[j]), self.se(j)
        return b, b - Z95 * s, b + Z95 * s


def glm(X: np.ndarray, y: np.ndarray, *, family: str, offset: np.ndarray | None = None, ridge: float = 0.0,
        max_iter: int = 50) -> GlmFit:
    """Maximum likelihood of a logistic (``family="logistic"``, ``y`` 0/1) or Poisson (log link, ``y``
    counts, ``offset`` the log exposure) regression by Newton's method.

    ``ridge`` adds ``ridge * b**2 / 2`` for every coefficient but the first
    (the intercept), only to keep nearly separated indicator columns finite.

    >>> X = np.c_[np.ones(8), [0, 0, 1, 1, 2, 2, 3, 3]]
    >>> fit = glm(X, np.array([0, 0, 0, 1, 0, 1, 1, 1]), family="logistic")
    >>> fit.converged, round(float(fit.coef[1]), 2)
    (True, 1.74)
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, float)
    pen = np.full(X.shape[1], float(ridge))
    pen[0] = 0.0
    b = np.zeros(X.shape[1])
    if family == "poisson":
        b[0] = np.log(max(y.sum(), 0.5) / max(np.exp(off).sum(), 1e-12))
    elif family != "logistic":
        raise ValueError(f"family must be 'logistic' or 'poisson', got {family!r}")
    converged = False
    info = np.eye(X.shape[1])
    for _ in range(max_iter):
        eta = np.clip(X @ b + off, -30, 30)
        if family == "logistic":
            mu = 1 / (1 + np.exp(-eta))
            w = mu * (1 - mu)
        else:
            mu = np.exp(eta)
            w = mu
        grad = X.T @ (y - mu) - pen * b
        info = (X * w[:, None]).T @ X + np.diag(pen)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        b = b + step
        if np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    cov = np.linalg.pinv(info)
    return GlmFit(b, cov, converged and bool(np.all(np.isfinite(b))), len(y))


# --------------------------------------------------------------------------- response behaviour


#: Anchor delays (minutes) the fitted curves use, within the delays seen.
DELAY_GRID = (0.0, 5.0, 15.0, 60.0, 240.0, 480.0, 1440.0, 2880.0, 10080.0)
#: A curve is fitted from at least this many labelled hand-offs, with at least 5 of each outcome.
MIN_LABELLED = 30


def anchors(delays: np.ndarray) -> list[float]:
    """The anchor delays of a fitted curve: the 5 % and 95 % quantiles of ``delays`` and the grid points between."""
    lo, hi = (float(round(q, 1)) for q in np.quantile(delays, [0.05, 0.95]))
    inner = [g for g in DELAY_GRID if lo < g < hi]
    return sorted({lo, *inner, hi})


def handoff_table(log: pd.DataFrame, touches: pd.DataFrame | None, tables: dict[str, pd.DataFrame],
                  d: LeadDefinition, w0: pd.Timestamp, w1: pd.Timestamp) -> pd.DataFrame:
    """One row per hand-off in ``[w0, w1)``: ``lead_id``, ``handed_at``, ``until`` (left the stage; NaT while
    there at ``w1``), ``left_to`` (the stage it left to; NA while there), ``owner``, ``first_touch_at``, ``first_by``, ``n_touches``, ``delay_minutes``,
    ``contact`` and ``qualified`` (nullable booleans), ``fit_score`` (the lead's fit score as of ``w1``; NaN where it
    cannot be computed) and ``score`` (the outcomes' score where given, else ``fit_score``).

    ``log`` is validated (:func:`leadsim.funnel.validate_stage_log`), ``touches`` those in the window.
    """
    as_of = w1 - pd.Timedelta(1, "ns")
    out = from_history(log, touches, d, as_of=as_of)
    out = out[(out["handed_at"] >= w0) & (out["handed_at"] < w1)].reset_index(drop=True)
    v = visits(log[log["at"] < w1].reset_index(drop=True))
    v = v.assign(left_to=v["stage"].shift(-1).where(v["until"].notna()))  # a closed visit's next is the lead's own
    v = v[v["stage"] == d.funnel.milestones.mql][["lead_id", "at", "until", "left_to"]]
    v = v.assign(lead_id=v["lead_id"].astype("string")).rename(columns={"at": "handed_at"})
    ho = out[["lead_id", "handed_at", "owner", "sql"]].merge(v, on=["lead_id", "handed_at"], how="left")
    ho["first_touch_at"] = pd.NaT
    ho["first_by"] = pd.Series(pd.NA, index=ho.index, dtype="string")
    ho["n_touches"] = 0
    if touches is not None and len(touches) and len(ho):
        t = touches[["lead_id", "at", "by"]].sort_values("at", kind="stable")
        h = ho[["lead_id", "handed_at", "until"]].assign(k=np.arange(len(ho))).sort_values("handed_at", kind="stable")
        m = pd.merge_asof(t, h, left_on="at", right_on="handed_at", by="lead_id", direction="backward")
        m = m[m["k"].notna() & (m["until"].isna() | (m["at"] < m["until"]))].sort_values(["k", "at"], kind="stable")
        first = m.drop_duplicates("k")
        k = first["k"].astype(int).to_numpy()
        ho.loc[k, "first_touch_at"] = first["at"].to_numpy()
        ho.loc[k, "first_by"] = first["by"].to_numpy()
        counts = m.groupby("k").size()
        ho.loc[counts.index.astype(int), "n_touches"] = counts.to_numpy()
    ho["first_touch_at"] = pd.to_datetime(ho["first_touch_at"])
    ho["delay_minutes"] = (ho["first_touch_at"] - ho["handed_at"]) / pd.Timedelta(minutes=1)
    left = ho["until"].notna().to_numpy()
    n = ho["n_touches"].to_numpy()
    contact = pd.array(np.where(n >= 2, False, np.where((n == 1) & left, True, None)), dtype="boolean")
    ho["contact"] = contact
    ho["qualified"] = ho["sql"].astype("boolean").where(contact.fillna(False).to_numpy(bool), pd.NA)
    ho["owner"] = ho["owner"].astype("string").fillna(ho["first_by"])
    ho["fit_score"] = fit_scores(tables["leads"], ho["lead_id"], d, as_of=w1)
    ho["score"] = _scores(ho, tables)
    return ho


def _scores(ho: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> np.ndarray:
    """The score each hand-off was made with (outcomes' ``score``), else the lead's fit score, else NaN."""
    given = tables.get("outcomes")
    if isinstance(given, pd.DataFrame) and {"lead_id", "handed_at", "score"} <= set(given.columns):
        g = given[["lead_id", "handed_at", "score"]].assign(lead_id=given["lead_id"].astype("string"))
        g = g.drop_duplicates(["lead_id", "handed_at"])
        s = ho[["lead_id", "handed_at"]].merge(g, on=["lead_id", "handed_at"], how="left")["score"]
        if s.notna().any():
            return pd.to_numeric(s, errors="coerce").to_numpy(float)
    return ho["fit_score"].to_numpy(float)


def fit_scores(leads: pd.DataFrame, ids: pd.Series, d: LeadDefinition, *, as_of: pd.Timestamp) -> np.ndarray:
    """The fit score of each of the leads ``ids`` as of ``as_of`` (NaN where it cannot be computed)."""
    from leadsim.scoring import score

    want = pd.Index(ids, dtype="string")
    mine = leads[leads["lead_id"].astype("string").isin(want).to_numpy(bool)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeadsimWarning)
            fit = score(mine, None, d, as_of=as_of)["fit_score"]
    except LeadsimError:  # the score is a control: without it the fit goes on
        return np.full(len(want), np.nan)
    fit.index = fit.index.astype("string")
    return fit.reindex(want).to_numpy(float)


def _levels(values: pd.Series, min_count: int = 5) -> np.ndarray:
    """Indicator columns of ``values`` (rare levels and NA pooled; the most common level is the reference)."""
    v = values.astype("string").fillna("(none)")
    counts = v.value_counts()
    v = v.where(v.map(counts) >= min_count, "(other)")
    levels = v.value_counts().index[1:]
    return np.column_stack([(v == lv).to_numpy(float) for lv in levels]) if len(levels) else np.empty((len(v), 0))


def _design(ho: pd.DataFrame, sources: pd.Series) -> np.ndarray:
    delay = np.log1p(np.clip(ho["delay_minutes"].to_numpy(float), 0, None))
    cols = [np.ones(len(ho)), delay]
    s = ho["score"].to_numpy(float)
    if np.isfinite(s).sum() > 1 and np.nanstd(s) > 0:
        miss = ~np.isfinite(s)
        z = (s - np.nanmean(s)) / np.nanstd(s)
        cols.append(np.where(miss, 0.0, z))
        if miss.any():
            cols.append(miss.astype(float))
    return np.column_stack([*cols, _levels(sources), _levels(ho["owner"])])


def response_rows(fit: Any, ho: pd.DataFrame, curve: dict[str, Any]) -> dict[str, Any]:
    """Fit contact and qualification on the delay, add the provenance rows to ``fit``; the scenario's new curve."""
    curve = dict(curve)
    src = ho["lead_id"].map(fit.lead_source) if getattr(fit, "lead_source", None) is not None else \
        pd.Series(pd.NA, index=ho.index)
    where = "stage_log hand-offs and the first touch (touches.at) before the lead left the stage"
    controls = "controls: owner, source, score"
    for name, label in (("contact", "contact"), ("qualification", "qualified")):
        y = ho[label]
        sel = y.notna().to_numpy() & ho["delay_minutes"].notna().to_numpy()
        n, pos = int(sel.sum()), int(y[sel].astype(bool).sum()) if sel.any() else 0
        sub = ho[sel].reset_index(drop=True)
        ok = n >= MIN_LABELLED and min(pos, n - pos) >= 5 and sub["delay_minutes"].nunique() > 1
        result = None
        if ok:
            X = _design(sub, src[sel].reset_index(drop=True))
            result = glm(X, y[sel].astype(bool).to_numpy(float), family="logistic", ridge=1e-3)
            ok = result.converged and result.se(1) > 0
        param = f"response.{name}.delay_log_odds"
        if not ok:
            fit.add(param, np.nan, n=n, unit="log-odds per log(1 + minutes)", source=where,
                    method=f"not estimated ({n} labelled, {pos} positive; needs {MIN_LABELLED} with 5 of each): "
                           f"the base curve {curve.get('preset')!r}")
            warnings.warn(f"too few labelled hand-offs to fit the {name} curve ({n}, {pos} positive): the "
                          f"scenario keeps the base curve {curve.get('preset')!r}", LeadsimWarning, stacklevel=3)
            continue
        b, lo, hi = result.wald(1)
        fit.add(param, b, lo, hi, n=n, unit="log-odds per log(1 + minutes)", source=where,
                method=f"logistic regression of {label} on log(1 + delay); {controls}; Wald interval")
        xs = anchors(sub["delay_minutes"].to_numpy(float))
        x0 = np.log1p(xs[0])
        mult = {x: float(np.exp(b * (np.log1p(x) - x0))) for x in xs}
        for x in xs[1:]:
            e = np.log1p(x) - x0
            fit.add(f"curve.{name}.{x:g}min", mult[x], np.exp(lo * e), np.exp(hi * e), n=n,
                    unit=f"odds multiplier against {xs[0]:g} min", source=where,
                    method="exp(coefficient x (log(1 + delay) - log(1 + first anchor))); from the Wald interval")
        curve[name] = {str(x): m for x, m in mult.items()}
        if name == "contact":
            X0 = X.copy()
            X0[:, 1] = x0
            draws = np.random.default_rng(0).multivariate_normal(result.coef, result.cov, 400)
            p = (1 / (1 + np.exp(-(X0 @ draws.T)))).mean(axis=0)
            base = float(np.mean(1 / (1 + np.exp(-(X0 @ result.coef)))))
            fit.add("curve.contact_base", base, *np.quantile(p, [0.025, 0.975]), n=n, unit="chance",
                    source=where, method=f"mean predicted contact chance at {xs[0]:g} min; interval from 400 "
                    "draws of the coefficients (normal approximation)")
            curve["contact_base"] = float(np.clip(base, 0.01, 0.99))
    return curve
