"""Replications with confidence intervals, and parameter sweeps on any executor.

Seeds come from ``numpy.random.SeedSequence(seed)``: replication ``k``
always gets the same child seed, at every grid point, so results are
identical whichever executor (serial, a process pool, a Dask cluster through
``Client.get_executor()``) runs them and in whatever order they finish, and
the settings of a sweep are compared on common random numbers
(:mod:`leadsim.simulation.streams`): each setting's difference from the
baseline is taken replication by replication, with the same seed on both
sides.  Intervals are Student-t intervals over the replications, kept within
each KPI's range (:func:`~leadsim.simulation.kpis.kpi_range`: a share's
within 0 and 1); the intervals of the differences are Bonferroni-corrected
for the number of settings compared.  :func:`replicate` can also add
replications until each headline KPI's interval is as narrow as asked, or a
budget is spent.

>>> from leadsim.simulation.scenario import Scenario
>>> s = Scenario.queueing(6, 3, 3, horizon_days=1, warmup_days=0.1)
>>> ci = replicate(s, 3, seed=1)
>>> list(ci.columns)
['mean', 'std', 'half_width', 'lo', 'hi', 'n']
>>> bool(ci.loc["p_wait", "lo"] <= ci.loc["p_wait", "mean"] <= ci.loc["p_wait", "hi"])
True
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
from typing import Any

import numpy as np
import pandas as pd

from leadsim._progress import tqdm
from leadsim.errors import ScenarioError
from leadsim.simulation.scenario import Scenario, build

__all__ = ["MIN_REPLICATIONS", "SerialExecutor", "confidence_intervals", "init_worker", "replicate", "run_kpis",
           "run_tasks", "seeds", "sweep"]

#: Fewest replications for an interval anyone should act on (outputs with fewer say so).
MIN_REPLICATIONS = 10


def init_worker() -> None:
    """Import what :func:`run_kpis` needs, as a pool's ``initializer``.

    A worker process that starts afresh (``spawn``, ``forkserver``, a Dask
    worker) otherwise pays these imports (about 1 s) inside its first task.
    With ``fork`` the worker inherits them and this costs nothing.

    >>> with cf.ProcessPoolExecutor(1, initializer=init_worker) as ex:
    ...     ex.submit(run_kpis, Scenario.queueing(6, 3, 3, horizon_days=0.2, warmup_days=0), 1).result()["customers"] > 0
    True
    """
    import leadsim.simulation.model  # noqa: F401 - the import is the point


def seeds(seed: int | None, n: int) -> list[int]:
    """``n`` independent integer seeds (stable across executors; the same at every grid point of a sweep)."""
    root = np.random.SeedSequence(seed if seed is not None else 0)
    return [int(s.generate_state(1, np.uint64)[0]) for s in root.spawn(n)]


def run_kpis(scenario: dict[str, Any] | Scenario, seed: int) -> dict[str, float]:
    """One run's KPIs as a plain dict (picklable; what executors run)."""
    from leadsim.simulation.model import simulate

    sc = scenario if isinstance(scenario, Scenario) else build(scenario, source="sweep")
    return {k: float(v) for k, v in simulate(sc, seed=seed).kpis.items()}


def confidence_intervals(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t interval of each column of ``runs`` (one row per replication), kept within each KPI's
    range (:func:`~leadsim.simulation.kpis.kpi_range`; ``half_width`` is the interval's before that)."""
    from scipy import stats  # here, not at module level: SciPy is ~half of a worker's import time

    from leadsim.simulation.kpis import kpi_range

    n = runs.notna().sum()
    mean = runs.mean()
    std = runs.std(ddof=1)
    t = pd.Series(stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), index=runs.columns)
    hw = t * std / np.sqrt(n.clip(lower=1))
    low = pd.Series([kpi_range(str(c))[0] for c in runs.columns], index=runs.columns)
    high = pd.Series([kpi_range(str(c))[1] for c in runs.columns], index=runs.columns)
    return pd.DataFrame({"mean": mean, "std": std, "half_width": hw, "lo": (mean - hw).clip(lower=low),
                         "hi": (mean + hw).clip(upper=high), "n": n})


def _paired(runs: pd.DataFrame, base: pd.DataFrame, level: float) -> pd.DataFrame:
    """Each KPI's mean difference from ``base`` (replication by replication) with its Student-t interval."""
    from scipy import stats

    d = runs.reset_index(drop=True) - base.reset_index(drop=True)
    n = d.notna().sum()
    t = pd.Series(stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), index=d.columns)
    hw = t * d.std(ddof=1) / np.sqrt(n.clip(lower=1))
    mean = d.mean()
    return pd.DataFrame({"diff": mean, "diff_lo": mean - hw, "diff_hi": mean + hw})


def run_tasks(fn: Any, tasks: list[tuple[Any, ...]], *, executor: cf.Executor | None, progress: bool = False,
              desc: str = "runs") -> list[Any]:
    """``fn(*task)`` for every task, results in task order: on ``executor`` (any
    :class:`concurrent.futures.Executor`), or a local process pool when None and there are several tasks.

    >>> run_tasks(pow, [(2, 3), (3, 2)], executor=SerialExecutor())
    [8, 9]
    """
    own = executor is None
    if own and len(tasks) > 1:
        executor = cf.ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(tasks)), initializer=init_worker)
    try:
        if executor is None:
            return [fn(*t) for t in tqdm(tasks, desc=desc, disable=not progress)]
        futures = {executor.submit(fn, *t): i for i, t in enumerate(tasks)}
        out: list[Any] = [None] * len(tasks)
        for fut in tqdm(cf.as_completed(futures), total=len(futures), desc=desc, disable=not progress):
            out[futures[fut]] = fut.result()
        return out
    finally:
        if own and executor is not None:
            executor.shutdown()


def replicate(scenario: Scenario, n: int, *, seed: int | None = 0, executor: cf.Executor | None = None,
              progress: bool = False, level: float = 0.95, runs: bool = False,
              half_width: dict[str, float] | None = None, budget: int = 100, step: int = 5) -> pd.DataFrame:
    """``n`` replications of ``scenario``: KPIs with ``level`` confidence intervals.

    Runs in-process unless an ``executor`` is given.  With ``runs=True`` the
    per-replication KPIs (one row each) are returned instead.  ``half_width``
    (KPI -> the widest half-width wanted): after the first ``max(n, 10)``,
    replications are added ``step`` at a time until every one of those KPIs'
    intervals is that narrow or ``budget`` replications are spent; the table's
    ``attrs["stopped"]`` says which, ``attrs["method"]`` how it was made.
    """
    if int(n) != n or n < 2:
        raise ScenarioError(f"replications must be a whole number >= 2 for an interval, got {n}", where="replications")
    data = scenario.portable()

    def batch(new: list[int]) -> list[list[dict[str, float]]]:
        if executor is None:
            return [[run_kpis(scenario, s) for s in tqdm(new, desc="replications", disable=not progress)]]
        return [run_tasks(run_kpis, [(data, s) for s in new], executor=executor, progress=progress,
                          desc="replications")]

    (table,), total, stopped = _until_narrow(batch, 1, n=int(n), seed=seed, half_width=half_width, budget=budget,
                                             step=step, level=level)
    out = table if runs else confidence_intervals(table, level)
    out.attrs["stopped"] = stopped
    out.attrs["method"] = _method(scenario, total, seed, level)
    return out


def _until_narrow(batch: Any, points: int, *, n: int, seed: int | None, half_width: dict[str, float] | None,
                  budget: int, step: int, level: float) -> tuple[list[pd.DataFrame], int, str]:
    """Replications of ``points`` settings on the same seeds (``batch(seeds)``: one list of KPI rows a point):
    ``n``, or with ``half_width`` from ``max(n, 10)`` on, ``step`` more at a time until every point's interval of
    each of those KPIs is that narrow or ``budget`` are spent.  Returns the runs per point, how many, and which."""
    total = n if not half_width else max(n, MIN_REPLICATIONS)
    if half_width and budget < total:
        raise ScenarioError(f"a budget of {budget} replications is below the first {total}", where="budget")
    rows: list[list[dict[str, float]]] = [[] for _ in range(points)]
    done = 0
    while True:
        for j, got in enumerate(batch(seeds(seed, total)[done:])):
            rows[j] += got
        done = total
        tables = [pd.DataFrame(r) for r in rows]
        if not half_width:
            return tables, total, f"fixed at {total} replications"
        cis = [confidence_intervals(t, level) for t in tables]
        unknown = sorted(set(half_width) - set(cis[0].index))
        if unknown:
            raise ScenarioError(f"unknown KPI(s) {unknown} in half_width; a run has {sorted(cis[0].index)[:8]} ...",
                                where="half_width")
        widest = {k: max(float(ci.loc[k, "half_width"]) for ci in cis) for k in half_width}
        wide = {k: v for k, v in widest.items() if not v <= half_width[k]}
        if not wide:
            return tables, total, f"target half-widths met after {total} replications"
        if total >= budget:
            return tables, total, (f"budget of {budget} replications spent; still wider than asked: "
                                   + ", ".join(f"{k} ±{v:.3g} (target {half_width[k]:.3g})" for k, v in wide.items()))
        total = min(total + step, budget)


def _method(scenario: Scenario, n: int, seed: int | None, level: float, comparisons: int = 0) -> str:
    """What every simulation output states: warm-up, replications, seeds and the interval method."""
    text = (f"{n} replications, warm-up {scenario.warmup_days:g} days of {scenario.horizon_days:g}, seeds from "
            f"SeedSequence({seed if seed is not None else 0}) with common random numbers; {level:.0%} Student-t "
            "intervals kept within each KPI's range")
    if n < MIN_REPLICATIONS:
        text += f" (fewer than {MIN_REPLICATIONS} replications: indicative only)"
    if comparisons:
        text += (f"; differences from the baseline paired by seed, Bonferroni-corrected for {comparisons} "
                 f"comparison{'s' if comparisons > 1 else ''}")
    return text


def sweep(base: Scenario, grid: dict[str, list[Any]], *, replications: int = MIN_REPLICATIONS,
          executor: cf.Executor | None = None, seed: int | None = 0, progress: bool = True, level: float = 0.95,
          baseline: dict[str, Any] | None = None, half_width: dict[str, float] | None = None, budget: int = 100,
          step: int = 5) -> pd.DataFrame:
    """Every combination of ``grid`` (dotted keys into the scenario) x ``replications``, on common random numbers.

    ``executor``: any :class:`concurrent.futures.Executor`; default a local
    process pool.  Returns one row per (grid point, KPI) with the grid values,
    ``kpi``, ``mean``, ``std``, ``half_width``, ``lo``, ``hi``, ``n`` and, with
    two or more replications, ``diff``, ``diff_lo``, ``diff_hi``: the mean
    difference from the ``baseline`` grid point (default: the first) taken
    replication by replication on the same seeds, its interval
    Bonferroni-corrected for the number of other points; ``is_baseline`` marks
    that point.  ``attrs["method"]`` states replications, warm-up, seeds and
    the interval method.  ``half_width``, ``budget`` and ``step`` as for
    :func:`replicate`, every point's interval counting (``attrs["stopped"]``).

    >>> from leadsim.simulation.scenario import Scenario
    >>> s = Scenario.queueing(6, 3, 3, horizon_days=1, warmup_days=0.1)
    >>> out = sweep(s, {"sdr_headcount": [3, 4]}, replications=2, executor=SerialExecutor(), progress=False)
    >>> sorted(out["sdr_headcount"].unique().tolist())
    [3, 4]
    >>> w = out[out["kpi"] == "mean_wait_hours"].set_index("sdr_headcount")
    >>> float(w.loc[3, "diff"]), bool(w.loc[4, "diff"] < 0)   # one more server, the same customers: less waiting
    (0.0, True)
    """
    if not isinstance(grid, dict) or not grid:
        raise ScenarioError("a grid maps dotted scenario keys to lists of values, e.g. {sdr_headcount: [3, 4]}",
                            where="grid")
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], list | tuple) or not grid[k]:
            raise ScenarioError(f"grid key {k!r} needs a non-empty list of values, got {grid[k]!r}", where="grid")
    points = list(itertools.product(*(grid[k] for k in keys)))
    if baseline is None:
        base_j = 0
    else:
        want = tuple(baseline.get(k) for k in keys)
        if set(baseline) != set(keys) or want not in points:
            raise ScenarioError(f"baseline {baseline!r} is not a point of the grid; give a value for each of {keys} "
                                "from its list", where="baseline")
        base_j = points.index(want)
    scenarios = []
    for vals in points:
        sc = base.with_values(dict(zip(keys, vals, strict=True)))
        if sc.mode == "queueing" and sc.queueing_spec is not None and "sdr_headcount" in keys:
            sc = sc.with_values({"queueing_spec.servers": sc.sdr_headcount})  # keep servers and headcount in step
        scenarios.append(sc.portable())
    if int(replications) != replications or replications < 1:
        raise ScenarioError(f"replications must be a whole number >= 1, got {replications}", where="replications")

    def batch(new: list[int]) -> list[list[dict[str, float]]]:  # the same seeds at every point: common random numbers
        res = run_tasks(run_kpis, [(sc, s) for sc in scenarios for s in new], executor=executor, progress=progress,
                        desc="sweep")
        return [res[j * len(new):(j + 1) * len(new)] for j in range(len(points))]

    tables, replications, stopped = _until_narrow(batch, len(points), n=int(replications), seed=seed,
                                                  half_width=half_width, budget=budget, step=step, level=level)
    others = len(points) - 1
    rows = []
    for j, vals in enumerate(points):
        table = tables[j]
        if replications > 1:
            ci = confidence_intervals(table, level)
            ci = ci.join(_paired(table, tables[base_j], 1 - (1 - level) / max(others, 1)))
        else:
            ci = pd.DataFrame({"mean": table.iloc[0], "std": np.nan, "half_width": np.nan, "lo": np.nan, "hi": np.nan,
                               "n": 1})
        for kpi, r in ci.iterrows():
            rows.append({**dict(zip(keys, vals, strict=True)), "kpi": kpi, **r.to_dict(), "is_baseline": j == base_j})
    out = pd.DataFrame(rows)
    out.attrs["method"] = _method(base, int(replications), seed, level, others if replications > 1 else 0)
    out.attrs["stopped"] = stopped
    return out


class SerialExecutor(cf.Executor):
    """Runs each task at submit time in this process (a reference executor)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:
            fut.set_exception(err)
        return fut
