"""SimPy simulation of lead flow, rep capacity and SLA timers."""

from leadsim.simulation.queueing import QueueMetrics, erlang_a, erlang_c

__all__ = ["QueueMetrics", "erlang_a", "erlang_c"]
