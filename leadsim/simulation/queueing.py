"""Analytic multi-server queues: the references the simulation must reproduce.

An SDR pool answering leads is a multi-server queue.  With Poisson arrivals
(rate ``lam`` per hour), exponential handling (rate ``mu`` per hour per
server) and ``c`` servers it is M/M/c, solved by **Erlang C**.  When a waiting
lead goes cold after an exponential patience (rate ``theta`` = 1 / mean
patience) it is M/M/c+M, solved by **Erlang A** (Palm's model).

Erlang C, from its closed form with offered load ``a = lam / mu``::

    C(c, a) = (a^c / c!) * c / (c - a)  /  (sum_{k<c} a^k / k!  +  (a^c / c!) * c / (c - a))
    mean wait = C(c, a) / (c * mu - lam)

Erlang A, from the stationary distribution of its birth-death chain (birth
``lam``, death ``min(n, c) * mu + max(n - c, 0) * theta``)::

    pi_n ∝ a^n / n!                                   for n <= c
    pi_n = pi_c * prod_{j=1}^{n-c} lam / (c mu + j theta)   for n > c
    P(wait) = sum_{n>=c} pi_n,   E[Q] = sum_{n>c} (n - c) pi_n
    mean wait = E[Q] / lam        (Little's law, abandoned leads counted until they leave)
    P(abandon) = theta * E[Q] / lam

>>> r = erlang_c(lam=1.0, mu=2.0, c=1)        # M/M/1, rho = 0.5
>>> round(r.p_wait, 6), round(r.mean_wait_hours, 6)
(0.5, 0.5)
>>> erlang_a(lam=8.0, mu=2.0, c=5, theta=2.0).p_abandon > 0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from leadsim.errors import ScenarioError

__all__ = ["QueueMetrics", "erlang_a", "erlang_c"]


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state metrics of a queue; times in hours."""

    p_wait: float
    mean_wait_hours: float
    p_abandon: float
    utilisation: float

    def as_dict(self) -> dict[str, float]:
        return {
            "p_wait": self.p_wait,
            "mean_wait_hours": self.mean_wait_hours,
            "p_abandon": self.p_abandon,
            "utilisation": self.utilisation,
        }


def _check(lam: float, mu: float, c: int) -> None:
    if not (math.isfinite(lam) and lam > 0):
        raise ScenarioError(f"arrival rate must be > 0 per hour, got {lam}", where="arrivals_per_hour")
    if not (math.isfinite(mu) and mu > 0):
        raise ScenarioError(f"service rate must be > 0 per hour, got {mu}", where="services_per_hour")
    if int(c) != c or c < 1:
        raise ScenarioError(f"servers must be a whole number >= 1, got {c}", where="servers")


def _log_poisson_terms(a: float, c: int) -> list[float]:
    """log(a^k / k!) for k = 0..c, computed stably."""
    return [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]


def erlang_c(lam: float, mu: float, c: int) -> QueueMetrics:
    """M/M/c (Erlang C): probability of waiting and mean wait in hours.

    Raises :class:`~leadsim.errors.ScenarioError` when the queue cannot drain
    (``lam >= c * mu``).

    >>> r = erlang_c(lam=2.0, mu=1.5, c=2)   # a = 4/3, rho = 2/3
    >>> round(r.p_wait, 4)
    0.5333
    """
    _check(lam, mu, c)
    a = lam / mu
    if a >= c:
        raise ScenarioError(
            f"utilisation {a / c:.2f} >= 1: {c} server(s) can never drain {lam}/h at {mu}/h each; add servers",
            where="servers",
        )
    logs = _log_poisson_terms(a, c)
    top = max(logs)
    below = sum(math.exp(x - top) for x in logs[:c])
    tail = math.exp(logs[c] - top) * c / (c - a)
    p_wait = tail / (below + tail)
    return QueueMetrics(p_wait, p_wait / (c * mu - lam), 0.0, a / c)


def erlang_a(lam: float, mu: float, c: int, theta: float, *, tol: float = 1e-15) -> QueueMetrics:
    """M/M/c+M (Erlang A): waiting, abandonment and mean wait (hours).

    ``theta`` is the abandonment rate per hour (1 / mean patience in hours).
    Stable for any load since waiting leads leave.

    >>> r = erlang_a(lam=3.0, mu=3.0, c=1, theta=3.0)   # theta = mu: M/M/inf, P(N >= 1)
    >>> round(r.p_wait, 6) == round(1 - math.exp(-1.0), 6)
    True
    """
    _check(lam, mu, c)
    if not (math.isfinite(theta) and theta > 0):
        raise ScenarioError(f"abandonment rate must be > 0 per hour, got {theta}", where="patience_hours")
    a = lam / mu
    logs = _log_poisson_terms(a, c)
    top = logs[c]
    weights = [math.exp(x - top) for x in logs]  # relative to pi_c
    below = sum(weights[:c])
    # tail n >= c, relative to pi_c: 1, r1, r1 r2, ...
    tail, queue, term, j = 1.0, 0.0, 1.0, 0
    while True:
        j += 1
        term *= lam / (c * mu + j * theta)
        tail += term
        queue += j * term
        if term < tol * tail and j > (lam - c * mu) / theta:
            break
    norm = below + tail
    p_wait = tail / norm
    eq = queue / norm
    busy = (sum(k * w for k, w in enumerate(weights[:c])) + c * tail) / norm
    return QueueMetrics(p_wait, eq / lam, theta * eq / lam, busy / c)
