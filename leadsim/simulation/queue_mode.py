"""The queueing mode: the model reduced to M/M/c (or M/M/c+M), to check against Erlang C and Erlang A.

Poisson arrivals straight into the SDR queue, exponential handling, optional
exponential patience, no calendar (:meth:`Scenario.queueing`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import simpy

from leadsim.definition import LeadsimWarning
from leadsim.simulation.records import Recorder
from leadsim.simulation.reps import Item, Rep, WorkQueue
from leadsim.simulation.result import SimulationResult
from leadsim.simulation.scenario import Scenario
from leadsim.simulation.streams import Streams, exponential

__all__ = ["run_queueing", "start_patience"]


def start_patience(env: simpy.Environment, queue: WorkQueue, item: Item, minutes: float, on_cold) -> None:
    """Withdraw ``item`` if it is still waiting (the same wait) after ``minutes``."""
    since = item.enqueued_at

    def fire(_ev: Any) -> None:
        if item.queued and item.enqueued_at == since and queue.withdraw(item):
            on_cold(item)

    env.timeout(minutes).callbacks.append(fire)


def run_queueing(scenario: Scenario, seed: Any) -> SimulationResult:
    spec = scenario.queueing_spec
    streams = Streams(seed)  # arrivals, service and patience each their own stream: common random numbers
    gaps, service, patience_of = (streams.of(p) for p in ("arrivals", "service", "patience"))
    work: dict[int, float] = {}
    env = simpy.Environment()
    queue = WorkQueue(env)
    rec = Recorder()
    waits = rec.rows["wait"]
    mean_service = 60.0 / spec.services_per_hour
    mean_gap = 60.0 / spec.arrivals_per_hour
    patience = None if spec.patience_hours is None else spec.patience_hours * 60.0
    horizon = scenario.horizon_days * 1440.0
    msgs: list[str] = []
    rho = spec.arrivals_per_hour / (spec.services_per_hour * spec.servers)
    if rho >= 1 and patience is None:
        msgs.append(f"utilisation {rho:.2f} >= 1: the queue can never drain (add servers or patience)")
        warnings.warn(msgs[-1], LeadsimWarning, stacklevel=3)

    def serve(rep: Rep, item: Item):
        w = waits[item.name]
        w[2] = env.now
        yield rep.work(work.pop(item.name))

    def cold(item: Item) -> None:
        waits[item.name][3] = env.now

    for i in range(spec.servers):
        Rep(env, f"sdr{i + 1}", queue, serve)

    def source():
        k = 0
        while True:
            yield env.timeout(exponential(gaps.random(), mean_gap))
            if env.now >= horizon:
                return
            item = Item(k)
            work[k] = exponential(service.random(), mean_service)  # customer k's service, whoever serves it
            waits.append([k, env.now, math.nan, math.nan])
            queue.put(item, (env.now,))
            if patience is not None:
                start_patience(env, queue, item, exponential(patience_of.random(), patience), cold)
            k += 1

    env.process(source())
    env.run()
    w = np.asarray(waits, float).reshape(-1, 4)
    keep = w[:, 1] >= scenario.warmup_days * 1440.0
    w = w[keep]
    left = np.where(np.isnan(w[:, 2]), w[:, 3], w[:, 2])
    wait = left - w[:, 1]
    abandoned = ~np.isnan(w[:, 3])
    p_wait = float(np.mean((wait > 0) | abandoned)) if len(w) else math.nan
    mean_wait = float(np.mean(wait)) / 60.0 if len(w) else math.nan
    p_abandon = float(np.mean(abandoned)) if len(w) else math.nan
    kpis = pd.Series({"p_wait": p_wait, "mean_wait_hours": mean_wait, "p_abandon": p_abandon,
                      "customers": float(len(w))})
    empty = pd.DataFrame()
    waits_df = pd.DataFrame(w, columns=["item", "arrived", "started", "left"])
    return SimulationResult(scenario, seed, "none (queueing)", empty, empty, empty, empty, empty, empty, empty,
                            waits_df, empty, empty, kpis, msgs, p_wait, mean_wait, p_abandon)
