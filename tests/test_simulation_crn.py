"""Common random numbers: a change of headcount moves who waits, not who arrives, so a paired difference between
two settings run on the same seeds is far less noisy than the difference of independent runs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from leadsim.definition import LeadsimWarning
from leadsim.simulation import simulate
from leadsim.simulation.scenario import Scenario, load_scenario

SEEDS = range(8)


def _run(sc, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return simulate(sc, seed=seed)


@pytest.fixture(scope="module")
def settings():
    base = load_scenario().with_values({"horizon_days": 28, "sdr_headcount": 2, "rep_headcount": 2})
    return base, base.with_values({"sdr_headcount": 3})


def test_one_more_sdr_sees_the_same_leads_arrive_and_behave(settings):
    base, more = settings
    a, b = _run(base, 5), _run(more, 5)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    first_mql = a.mql.groupby("lead_id")["at"].min()
    assert first_mql.equals(b.mql.groupby("lead_id")["at"].min())  # the first MQL moments: behaviour, not work
    assert not a.touches.equals(b.touches)  # ... while the work itself differs


def test_a_paired_difference_has_less_than_half_the_variance_of_an_unpaired_one(settings):
    base, more = settings
    a = pd.DataFrame([_run(base, s).kpis for s in SEEDS])
    b = pd.DataFrame([_run(more, s).kpis for s in SEEDS])
    c = pd.DataFrame([_run(more, 1000 + s).kpis for s in SEEDS])  # independent seeds
    for kpi in ("response_minutes_mean", "lead_to_sales_lead", "sdr_utilisation", "sqls_per_week"):
        paired, unpaired = np.var(b[kpi] - a[kpi], ddof=1), np.var(c[kpi] - a[kpi], ddof=1)
        assert paired < 0.5 * unpaired, (kpi, paired, unpaired)


def test_the_queue_keeps_its_customers_when_a_server_is_added():
    one = _run(Scenario.queueing(6, 2, 4, horizon_days=3, warmup_days=0), 11)
    two = _run(Scenario.queueing(6, 2, 5, horizon_days=3, warmup_days=0), 11)
    np.testing.assert_array_equal(one.services["arrived"], two.services["arrived"])
    assert two.mean_wait_hours < one.mean_wait_hours


def test_same_seed_same_run_and_another_seed_another(settings):
    base, _ = settings
    a, b, c = _run(base, 9), _run(base, 9), _run(base, 10)
    pd.testing.assert_series_equal(a.kpis, b.kpis)
    assert not a.kpis.equals(c.kpis)
