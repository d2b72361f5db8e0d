"""SimPy simulation of lead flow, rep capacity and SLA timers.

>>> from leadsim.simulation import Scenario, simulate
>>> r = simulate(Scenario.queueing(6, 3, 3, horizon_days=1, warmup_days=0.1), seed=1)
>>> sorted(r.kpis.index)[:3]
['customers', 'mean_wait_hours', 'p_abandon']
"""

from leadsim.simulation.backtest import Backtest, backtest  # the function shadows its module's name here
from leadsim.simulation.curves import PRESETS, ResponseCurve
from leadsim.simulation.fitting import fit_scenario
from leadsim.simulation.model import SimulationResult, simulate
from leadsim.simulation.queueing import QueueMetrics, erlang_a, erlang_c
from leadsim.simulation.replication import (
    SerialExecutor,
    confidence_intervals,
    init_worker,
    replicate,
    seeds,
    sweep,
)
from leadsim.simulation.scenario import ROUTINGS, Scenario, load_scenario

__all__ = [
    "PRESETS",
    "ROUTINGS",
    "Backtest",
    "QueueMetrics",
    "ResponseCurve",
    "Scenario",
    "SerialExecutor",
    "SimulationResult",
    "backtest",
    "confidence_intervals",
    "erlang_a",
    "erlang_c",
    "fit_scenario",
    "init_worker",
    "load_scenario",
    "replicate",
    "seeds",
    "simulate",
    "sweep",
]
