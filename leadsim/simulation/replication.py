"""Replications with confidence intervals, and parameter sweeps on any executor.

Seeds come from ``numpy.random.SeedSequence(seed)``: replication ``k`` of
grid point ``j`` always gets the same child seed, so results are identical
whichever executor (serial, a process pool, a Dask cluster through
``Client.get_executor()``) runs them and in whatever order they finish.

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

__all__ = ["SerialExecutor", "confidence_intervals", "init_worker", "replicate", "run_kpis", "seeds", "sweep"]


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


def seeds(seed: int | None, n: int, *, point: int = 0) -> list[int]:
    """``n`` independent integer seeds for grid point ``point`` (stable across executors)."""
    root = np.random.SeedSequence(seed if seed is not None else 0)
    child = np.random.SeedSequence(root.entropy, spawn_key=(point,))
    return [int(s.generate_state(1, np.uint64)[0]) for s in child.spawn(n)]


def run_kpis(scenario: dict[str, Any] | Scenario, seed: int) -> dict[str, float]:
    """One run's KPIs as a plain dict (picklable; what executors run)."""
    from leadsim.simulation.model import simulate

    sc = scenario if isinstance(scenario, Scenario) else build(scenario, source="sweep")
    return {k: float(v) for k, v in simulate(sc, seed=seed).kpis.items()}


def confidence_intervals(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t interval of each column of ``runs`` (one row per replication)."""
    from scipy import stats  # here, not at module level: SciPy is ~half of a worker's import time

    n = runs.notna().sum()
    mean = runs.mean()
    std = runs.std(ddof=1)
    t = pd.Series(stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), index=runs.columns)
    hw = t * std / np.sqrt(n.clip(lower=1))
    return pd.DataFrame({"mean": mean, "std": std, "half_width": hw, "lo": mean - hw, "hi": mean + hw, "n": n})


def _execute(tasks: list[tuple[dict[str, Any], int]], executor: cf.Executor | None, progress: bool,
             desc: str) -> list[dict[str, float]]:
    own = executor is None
    if own and len(tasks) > 1:
        executor = cf.ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(tasks)), initializer=init_worker)
    try:
        if executor is None:
            return [run_kpis(sc, s) for sc, s in tqdm(tasks, desc=desc, disable=not progress)]
        futures = {executor.submit(run_kpis, sc, s): i for i, (sc, s) in enumerate(tasks)}
        out: list[dict[str, float] | None] = [None] * len(tasks)
        for fut in tqdm(cf.as_completed(futures), total=len(futures), desc=desc, disable=not progress):
            out[futures[fut]] = fut.result()
        return out  # type: ignore[return-value]
    finally:
        if own and executor is not None:
            executor.shutdown()


def replicate(scenario: Scenario, n: int, *, seed: int | None = 0, executor: cf.Executor | None = None,
              progress: bool = False, level: float = 0.95, runs: bool = False) -> pd.DataFrame:
    """``n`` replications of ``scenario``: KPIs with ``level`` confidence intervals.

    Runs in-process unless an ``executor`` is given.  With ``runs=True`` the
    per-replication KPIs (one row each) are returned instead.
    """
    if int(n) != n or n < 2:
        raise ScenarioError(f"replications must be a whole number >= 2 for an interval, got {n}", where="replications")
    data = scenario.model_dump(mode="json")
    tasks = [(data, s) for s in seeds(seed, int(n))]
    if executor is None:
        res = [run_kpis(scenario, s) for _, s in tqdm(tasks, desc="replications", disable=not progress)]
    else:
        res = _execute(tasks, executor, progress, "replications")
    table = pd.DataFrame(res)
    return table if runs else confidence_intervals(table, level)


def sweep(base: Scenario, grid: dict[str, list[Any]], *, replications: int = 5, executor: cf.Executor | None = None,
          seed: int | None = 0, progress: bool = True, level: float = 0.95) -> pd.DataFrame:
    """Every combination of ``grid`` (dotted keys into the scenario) x ``replications``.

    ``executor``: any :class:`concurrent.futures.Executor`; default a local
    process pool.  Returns one row per (grid point, KPI) with the grid values,
    ``kpi``, ``mean``, ``lo``, ``hi``, ``half_width``, ``n``.

    >>> from leadsim.simulation.scenario import Scenario
    >>> s = Scenario.queueing(6, 3, 3, horizon_days=1, warmup_days=0.1)
    >>> out = sweep(s, {"sdr_headcount": [3, 4]}, replications=2, executor=SerialExecutor(), progress=False)
    >>> sorted(out["sdr_headcount"].unique().tolist())
    [3, 4]
    """
    if not isinstance(grid, dict) or not grid:
        raise ScenarioError("a grid maps dotted scenario keys to lists of values, e.g. {sdr_headcount: [3, 4]}",
                            where="grid")
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], list | tuple) or not grid[k]:
            raise ScenarioError(f"grid key {k!r} needs a non-empty list of values, got {grid[k]!r}", where="grid")
    points = list(itertools.product(*(grid[k] for k in keys)))
    scenarios = []
    for vals in points:
        sc = base.with_values(dict(zip(keys, vals, strict=True)))
        if sc.mode == "queueing" and sc.queueing_spec is not None and "sdr_headcount" in keys:
            sc = sc.with_values({"queueing_spec.servers": sc.sdr_headcount})  # keep servers and headcount in step
        scenarios.append(sc.model_dump(mode="json"))
    if int(replications) != replications or replications < 1:
        raise ScenarioError(f"replications must be a whole number >= 1, got {replications}", where="replications")
    tasks = [(scenarios[j], s) for j in range(len(points)) for s in seeds(seed, int(replications), point=j)]
    res = _execute(tasks, executor, progress, "sweep")
    rows = []
    for j, vals in enumerate(points):
        table = pd.DataFrame(res[j * replications:(j + 1) * replications])
        ci = confidence_intervals(table, level) if replications > 1 else pd.DataFrame(
            {"mean": table.iloc[0], "std": np.nan, "half_width": np.nan, "lo": np.nan, "hi": np.nan, "n": 1})
        for kpi, r in ci.iterrows():
            rows.append({**dict(zip(keys, vals, strict=True)), "kpi": kpi, **r.to_dict()})
    return pd.DataFrame(rows)


class SerialExecutor(cf.Executor):
    """Runs each task at submit time in this process (a reference executor)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:
            fut.set_exception(err)
        return fut
