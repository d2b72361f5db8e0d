"""Back-test: fit a scenario on the earlier part of a history, simulate the later part, compare with what happened.

:func:`backtest` fits :func:`~leadsim.simulation.fitting.fit_scenario` on
``[start, fit_until)``, then simulates ``[fit_until, until)`` ``replications``
times (after a warm-up, by default as long as the fit window, so the
simulated funnel holds leads of the ages the history held when the comparison
starts).  Each replication first redraws the fitted parameters
from their sampling distribution (:func:`redraw`), so the spread of the
replications is a *prediction* interval that carries the fit's own
uncertainty and does not shrink as replications are added.

Both the history and every simulated run are measured by one function,
:func:`history_metrics`, built on the functions users run on their data:
:func:`leadsim.funnel.waterfall` (stage entries), :func:`leadsim.funnel.velocity`
(days in stage), :func:`leadsim.sla.audit` (breach rate of each level), and
the hand-offs, Sales Leads and first-response times of the window.  The
table says for each metric what happened, the simulated median, the
prediction interval and whether the actual lies inside (``inside``).

What the model leaves out shows up as rows outside: the simulated leads are
drawn by the model's lead generator, not resampled from the history; the
SDR's and rep's decision chances are the scenario's, not the fitted stage
shares; a trend in arrivals is reported by the fit, not simulated.

>>> import warnings
>>> from leadsim.datasets import load_sample
>>> from leadsim.simulation.replication import SerialExecutor
>>> h = load_sample()
>>> with warnings.catch_warnings(action="ignore"):
...     bt = backtest(h, h.definition, start="2026-01-05", fit_until="2026-02-02", until="2026-02-16",
...                   replications=3, executor=SerialExecutor())
>>> list(bt.table.columns)
['metric', 'actual', 'simulated', 'lo', 'hi', 'inside']
>>> bool(bt.table.set_index("metric").loc["handoffs_per_week", "actual"] > 0)
True
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, ScenarioError
from leadsim.funnel import to_local, velocity, waterfall
from leadsim.simulation.replication import MIN_REPLICATIONS, init_worker, run_tasks, seeds
from leadsim.simulation.scenario import Scenario, build

__all__ = ["Backtest", "backtest", "coverage", "history_metrics", "prediction_interval", "redraw"]

_DAY = pd.Timedelta(days=1)


def _before(df: pd.DataFrame | None, end: pd.Timestamp, d: LeadDefinition, where: str) -> pd.DataFrame | None:
    """The rows of ``df`` timed before ``end`` (a prefix of a history is still a valid history)."""
    if df is None or not len(df):
        return df
    return df[(to_local(df["at"], d, where=where) < end).to_numpy(dtype=bool)].reset_index(drop=True)


def history_metrics(tables: Any, definition: LeadDefinition, *, start: Any, end: Any) -> pd.Series:
    """What happened in ``[start, end)`` of a history (a :class:`~leadsim.datasets.History` or a dict of its
    tables), measured the same way for real and simulated logs: over the window's hand-offs
    (:func:`leadsim.outcomes.from_history` as of ``end``) how many a week, the share that became Sales Leads and
    the first-response minutes (median, 90th percentile); Sales Leads a week; and over the leads that entered
    the funnel in the window, followed up to ``end``: stage entries per week (``waterfall``), median days in the
    Lead and Sales Lead stages (``velocity``) and each SLA level's breach rate (``audit``)."""
    from leadsim.outcomes import from_history
    from leadsim.sla import audit

    d = require_definition(definition, where="history_metrics")
    t = tables.tables() if hasattr(tables, "tables") else dict(tables)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    weeks = (end - start) / pd.Timedelta(weeks=1)
    log = _before(t["stage_log"], end, d, "stage_log.at")
    touches = _before(t.get("touches"), end, d, "touches.at")
    at = to_local(log["at"], d, where="stage_log.at")
    first = at.groupby(log["lead_id"].astype(str).to_numpy()).min()
    cohort_ids = set(first.index[(first >= start).to_numpy(dtype=bool)])  # leads that entered in the window
    cohort = log[log["lead_id"].astype(str).isin(cohort_ids).to_numpy(dtype=bool)].reset_index(drop=True)
    ms = d.funnel.milestones
    out: dict[str, float] = {}
    for r in waterfall(cohort, d).stages.itertuples(index=False):
        if r.part != "exit":
            out[f"entered.{r.stage}_per_week"] = float(r.entered) / weeks
    handoffs = from_history(log, touches, d, as_of=end - pd.Timedelta(1, "ns"))
    handoffs = handoffs[(handoffs["handed_at"] >= start).to_numpy(dtype=bool)]
    out["handoffs_per_week"] = len(handoffs) / weeks
    out["sqls_per_week"] = float(((at >= start) & (log["stage"] == ms.sql)).sum()) / weeks
    decided = handoffs["sql"].dropna()
    out["lead_to_sales_lead"] = float(decided.astype(bool).mean()) if len(decided) else math.nan
    vel = velocity(cohort, d)
    for stage in (ms.mql, ms.sql):
        out[f"days_in.{stage}_p50"] = float(vel.at[stage, "median_days"]) if stage in vel.index else math.nan
    response = handoffs["response_minutes"].dropna().to_numpy(float)
    out["response_minutes_p50"] = float(np.median(response)) if len(response) else math.nan
    out["response_minutes_p90"] = float(np.quantile(response, 0.9)) if len(response) else math.nan
    own = None if touches is None else touches[touches["lead_id"].astype(str).isin(cohort_ids).to_numpy(dtype=bool)]
    res = audit(cohort, own, d, owners=t.get("owners"), leads=t.get("leads"), as_of=end - pd.Timedelta(1, "ns"))
    for row in res.summary["levels"].itertuples(index=False):
        out[f"breach_rate.{row.clock}.{row.level}"] = float(row.breach_rate)
    return pd.Series(out, dtype=float)


def prediction_interval(values: Any, level: float = 0.95) -> tuple[float, float]:
    """The ``level`` prediction interval for one more run like ``values``: their ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles at the plotting positions k/(n+1) (Hyndman and Fan's type 6), so that a new
    run falls below the k-th smallest of n with chance k/(n+1) and inside with about ``level`` -- the default
    positions (k-1)/(n-1) would cover 81 % instead of 90 % with 20 runs.  Fewer than
    ``(1 + level) / (1 - level)`` runs give their range (NaN, NaN without values).

    >>> prediction_interval(np.arange(1.0, 20.0), 0.90)  # 19 runs: the smallest and the largest, 18/20 = 90 %
    (1.0, 19.0)
    >>> prediction_interval(np.arange(1.0, 40.0), 0.90)  # 39 runs: the 2nd and the 38th smallest
    (2.0, 38.0)
    """
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if not len(x):
        return math.nan, math.nan
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], method="weibull")
    return float(lo), float(hi)


def redraw(scenario: Scenario, rng: np.random.Generator) -> Scenario:
    """``scenario`` with each fitted parameter that the scenario holds drawn anew from its sampling distribution
    (its ``provenance`` row): rates per week from a Gamma on the count behind them, shares and chances from a
    Jeffreys Beta, minutes (kept > 0) and log-odds from a normal with the interval's spread, the speed-to-lead
    curve's anchors from a normal draw of the fitted delay coefficient; headcounts and parameters without an
    interval stay.  A scenario without provenance comes back unchanged."""
    prov = scenario.provenance
    if prov is None:
        return scenario
    values: dict[str, Any] = {}
    for r in prov.itertuples(index=False):
        if not (np.isfinite(r.lo) and np.isfinite(r.hi) and r.hi > r.lo and r.n > 0 and np.isfinite(r.value)):
            continue
        if "per week" in r.unit:
            new: Any = r.value * rng.gamma(r.n + 0.5) / r.n
        elif r.unit in ("share", "chance"):
            k = r.value * r.n
            new = rng.beta(k + 0.5, r.n - k + 0.5)
        elif r.unit == "minutes":
            new = max(rng.normal(r.value, (r.hi - r.lo) / 3.92), 0.05 * r.value)
        elif r.parameter.startswith("response.") and r.parameter.endswith(".delay_log_odds"):
            name = r.parameter.split(".")[1]  # the curve's anchors from a redrawn delay coefficient
            anchors = getattr(scenario.curve, name)
            if not anchors:
                continue
            b = rng.normal(r.value, (r.hi - r.lo) / 3.92)
            x0 = np.log1p(min(float(x) for x in anchors))
            new = {str(x): float(np.exp(b * (np.log1p(float(x)) - x0))) for x in anchors}
            values[f"curve.{name}"] = new
            continue
        elif r.parameter.startswith("decisions.") and r.unit.startswith("log-odds"):
            new = rng.normal(r.value, (r.hi - r.lo) / 3.92)
        else:
            continue
        values[r.parameter] = float(new)
    # a fitted figure the scenario reports but does not hold (a stage share) is left out; the provenance stays
    return scenario.with_values(values, skip_unknown=True)


@dataclass
class Backtest:
    """A back-test: the comparison ``table`` (``metric``, ``actual``, ``simulated``, ``lo``, ``hi``, ``inside``), the
    fitted ``scenario``, every replication's metrics (``runs``) and how it was made (``method``)."""

    table: pd.DataFrame
    scenario: Scenario
    runs: pd.DataFrame
    method: str

    def plot(self, ax: Any = None) -> Any:
        """Each metric's prediction interval and median (relative to the median) with the actual marked."""
        from leadsim.plots.simulation import backtest_chart

        return backtest_chart(self.table, ax=ax)


def _simulate_metrics(data: dict[str, Any], seed: int, start: str, end: str) -> dict[str, float]:
    """One replication (picklable): redraw, simulate, measure the window."""
    from leadsim.simulation.model import simulate

    sc = build(data, source="backtest")
    rng = np.random.default_rng(seed)
    run = simulate(redraw(sc, rng), seed=seed)
    return history_metrics(run.history(), sc.lead_definition, start=start, end=end).to_dict()


def backtest(history: Any, definition: LeadDefinition, *, fit_until: Any, until: Any, start: Any = None,
             replications: int = 20, seed: int | None = 0, executor: cf.Executor | None = None,
             warmup_days: float | None = None, level: float = 0.95, progress: bool = False,
             changes: list[dict[str, Any]] | None = None) -> Backtest:
    """Fit on ``[start, fit_until)``, simulate ``[fit_until, until)`` ``replications`` times, compare; see the
    module docstring.  ``start`` defaults to the history's beginning; ``warmup_days`` (default: the fit window's
    length, so the simulated leads in flight at ``fit_until`` have the ages the history's had) how long the
    simulation runs before ``fit_until``; ``changes``: what changed in the simulated stretch that the past cannot
    show (``{"from_day": days after fit_until, "settings": {"sdr_headcount": 2}}``, as a scenario's dated
    changes); ``executor`` as for
    :func:`~leadsim.simulation.replication.sweep` (default a local process pool); ``level`` the prediction
    interval's coverage (:func:`prediction_interval` of the replications)."""
    from leadsim.simulation.fitting import fit_scenario

    d = require_definition(definition, where="backtest")
    fit_until, until = pd.Timestamp(fit_until).normalize(), pd.Timestamp(until).normalize()
    if not until > fit_until:
        raise DataError(f"until ({until:%Y-%m-%d}) must come after fit_until ({fit_until:%Y-%m-%d})", where="backtest")
    if int(replications) != replications or replications < 2:
        raise ScenarioError(f"a back-test needs at least 2 replications, got {replications}", where="replications")
    fitted = fit_scenario(history, d, start=start, end=fit_until)
    days = (until - fit_until) / _DAY
    if warmup_days is None:
        warmup_days = (fit_until - pd.Timestamp(fitted.start)) / _DAY
    sim_start = fit_until - pd.Timedelta(days=warmup_days)
    declared = [{"from_day": warmup_days + float(c["from_day"]), "settings": dict(c["settings"])}
                for c in (changes or [])]
    ahead = fitted.with_values({"start": sim_start.date().isoformat(), "horizon_days": warmup_days + days,
                                "warmup_days": warmup_days, "changes": declared})
    data = ahead.portable()
    tasks = [(data, s, str(fit_until), str(until)) for s in seeds(seed, int(replications))]
    runs = pd.DataFrame(run_tasks(_simulate_metrics, tasks, executor=executor, progress=progress, desc="back-test"))
    actual = history_metrics(history, d, start=fit_until, end=until)
    rows = []
    for m in actual.index:
        sim = runs[m].dropna().to_numpy(float) if m in runs else np.empty(0)
        med = float(np.median(sim)) if len(sim) else math.nan
        lo, hi = prediction_interval(sim, level)
        a = float(actual[m])
        rows.append({"metric": m, "actual": a, "simulated": med, "lo": lo, "hi": hi,
                     "inside": bool(lo <= a <= hi) if not (math.isnan(a) or math.isnan(lo)) else False})
    method = (f"fitted on {fitted.start}..{fit_until:%Y-%m-%d}, simulated {fit_until:%Y-%m-%d}..{until:%Y-%m-%d} after "
              f"a {warmup_days:g}-day warm-up; {replications} replications, each redrawing the fitted parameters, "
              f"seeds from SeedSequence({seed if seed is not None else 0}); {level:.0%} prediction intervals "
              "(quantiles of the replications at plotting positions k/(n+1))")
    if replications < (1 + level) / (1 - level):
        method += (f" (with {replications} replications the interval is their range: it covers a new run with "
                   f"about {(replications - 1) / (replications + 1):.0%}, not {level:.0%}; "
                   f"{math.ceil((1 + level) / (1 - level))} replications give the full level)")
    if declared:
        method += "; declared changes: " + "; ".join(
            f"from {fit_until + pd.Timedelta(days=c['from_day'] - warmup_days):%Y-%m-%d} "
            + ", ".join(f"{k} {v}" for k, v in c["settings"].items()) for c in declared)
    if replications < MIN_REPLICATIONS:
        method += f" (fewer than {MIN_REPLICATIONS} replications: indicative only)"
    return Backtest(pd.DataFrame(rows), fitted, runs, method)



def coverage(truth: Scenario, *, runs: int = 20, fit_days: float, replications: int = 20, level: float = 0.90,
             seed: int | None = 0, executor: cf.Executor | None = None, warmup_days: float | None = None,
             progress: bool = False) -> pd.DataFrame:
    """How often the back-test's prediction intervals cover what happened, on histories whose truth is known:
    ``runs`` histories simulated from ``truth`` (its whole horizon), each back-tested with the fit on its first
    ``fit_days`` and the prediction on the rest.  One row per metric: ``covered`` of ``runs`` and ``share``,
    and ``tied``: in how many runs the actual sat exactly on an end of its interval (a value the metric takes
    often, such as a breach rate of 0 when breaches are rare: the interval holds it by the tie, not by its spread;
    when the interval is one value, a level no lead reached, it tells nothing).  A well-calibrated ``level``
    interval covers in about ``level`` of the runs; a metric tied in most runs covers more."""
    from leadsim.simulation.model import simulate

    start = pd.Timestamp(truth.start)
    fit_until, until = start + pd.Timedelta(days=fit_days), start + pd.Timedelta(days=truth.horizon_days)
    own = executor is None
    pool = cf.ProcessPoolExecutor(os.cpu_count() or 1, initializer=init_worker) if own else executor
    try:
        inside, tied = [], []
        # the truths and each back-test's replications from two branches of the seed: no replication shares a truth's
        truths, tests = (np.random.SeedSequence(seed if seed is not None else 0)).spawn(2)
        for k, (s, t) in enumerate(zip(truths.spawn(int(runs)), tests.spawn(int(runs)), strict=True)):
            h = simulate(truth, seed=int(s.generate_state(1, np.uint64)[0])).history()
            bt = backtest(h, truth.lead_definition, fit_until=fit_until, until=until, replications=replications,
                          seed=int(t.generate_state(1, np.uint64)[0]), executor=pool, warmup_days=warmup_days,
                          level=level)
            tab = bt.table.set_index("metric")
            inside.append(tab["inside"])
            tied.append((tab["actual"] == tab["lo"]) | (tab["actual"] == tab["hi"]))
            if progress:
                print(f"history {k + 1}/{runs}: {int(inside[-1].sum())} of {len(inside[-1])} metrics inside")
    finally:
        if own:
            pool.shutdown()
    table = pd.DataFrame(inside)
    ties = pd.DataFrame(tied).reindex(columns=table.columns, fill_value=False)
    return pd.DataFrame({"metric": table.columns, "covered": table.sum().to_numpy(int), "runs": len(table),
                         "share": table.mean().to_numpy(float), "tied": ties.sum().to_numpy(int)})
