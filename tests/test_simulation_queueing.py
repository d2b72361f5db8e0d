"""Acceptance: the model reduced to M/M/c(+M) reproduces Erlang C and Erlang A.

Replications are added in batches until every estimate's 95% half-width is
below 3% of its value (0.005 absolute for probabilities under 0.1); then the
analytic value must lie inside the interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsim.simulation import Scenario, erlang_a, erlang_c, seeds, simulate
from leadsim.simulation.replication import confidence_intervals

CASES = [
    # lambda/h, mu/h, servers, mean patience h, days per replication  (utilisation 0.5 - 0.9)
    (20.0, 10.0, 3, None, 10),  # Erlang C, rho = 0.67 (its mean wait is the noisiest estimate)
    (36.0, 12.0, 4, 1.0, 6),  # Erlang A, offered rho = 0.75
    (45.0, 10.0, 5, 0.5, 6),  # Erlang A, offered rho = 0.9
]


def _target(metric: str, value: float) -> float:
    if metric != "mean_wait_hours" and value < 0.1:
        return 0.005
    return 0.03 * value


@pytest.mark.parametrize(("lam", "mu", "c", "patience", "days"), CASES)
def test_reduced_model_reproduces_erlang(lam, mu, c, patience, days):
    ref = erlang_c(lam, mu, c) if patience is None else erlang_a(lam, mu, c, 1.0 / patience)
    assert 0.5 <= lam / (mu * c) <= 0.9
    scenario = Scenario.queueing(lam, mu, c, patience, horizon_days=days, warmup_days=0.25)
    metrics = ["p_wait", "mean_wait_hours"] + ([] if patience is None else ["p_abandon"])
    rows = []
    all_seeds = seeds(42, 120)
    for k, s in enumerate(all_seeds):
        r = simulate(scenario, seed=s)
        rows.append({m: getattr(r, m) for m in metrics})
        if k >= 5 and (k + 1) % 4 == 0:
            ci = confidence_intervals(pd.DataFrame(rows))
            if all(ci.loc[m, "half_width"] < _target(m, getattr(ref, m)) for m in metrics):
                break
    ci = confidence_intervals(pd.DataFrame(rows))
    for m in metrics:
        want = getattr(ref, m)
        assert ci.loc[m, "half_width"] < _target(m, want), (m, ci.loc[m].to_dict(), len(rows))
        assert ci.loc[m, "lo"] <= want <= ci.loc[m, "hi"], (m, want, ci.loc[m].to_dict())
    if patience is None:
        assert np.all(pd.DataFrame(rows).get("p_abandon", pd.Series([0.0])) == 0)
