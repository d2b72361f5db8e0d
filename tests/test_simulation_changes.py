"""Dated changes in a scenario: from day N, other headcounts or routing; a back-test finds an undeclared change and
passes once it is declared."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from leadsim.definition import LeadsimWarning
from leadsim.errors import ScenarioError
from leadsim.simulation import simulate
from leadsim.simulation.backtest import backtest
from leadsim.simulation.scenario import load_scenario


def _run(sc, seed=2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return simulate(sc, seed=seed)


@pytest.fixture(scope="module")
def base():
    return load_scenario().with_values({"horizon_days": 28, "sdr_headcount": 3, "rep_headcount": 2, "bursts": [],
                                        "behaviour.sessions_per_month": 3.5, "handling.research_minutes": 0})


def test_sdrs_taken_off_the_team_pick_up_nothing_new_and_the_one_left_carries_the_work(base):
    sc = base.with_values({"changes": [{"from_day": 14, "settings": {"sdr_headcount": 1}}]})
    before, after = _run(base), _run(sc)
    cut = pd.Timestamp(sc.start) + pd.Timedelta(days=14)
    t = after.touches
    assert set(t.loc[t["at"] > cut, "by"]) & {"sdr2", "sdr3"} == set()  # a touch is logged when the work starts
    assert {"sdr2", "sdr3"} <= set(t.loc[t["at"] < cut, "by"])
    pd.testing.assert_frame_equal(after.leads, before.leads)  # the same leads arrive (common random numbers)
    assert after.kpis["sdr_utilisation"] > before.kpis["sdr_utilisation"]
    assert after.kpis["breach_rate.response.1"] > before.kpis["breach_rate.response.1"]
    # utilisation counts each SDR's own stretch: by hand from the services and the shift's open minutes
    s = after.services
    busy = s.loc[s["rep"].str.startswith("sdr"), "minutes"].sum()
    from leadsim.calendar import BusinessCalendar
    from leadsim.simulation.clocks import WorkTime

    shift = WorkTime(BusinessCalendar.from_definition(sc.lead_definition), pd.Timestamp(sc.start), 28,
                     sc.shifts["sdr"])
    open_minutes = shift.open_minutes(0, 28 * 1440) + 2 * shift.open_minutes(0, 14 * 1440)
    # (the KPI also counts work still in hand when the run ends, which services logs only once it is done)
    assert after.kpis["sdr_utilisation"] == pytest.approx(busy / open_minutes, rel=0.02)
    assert after.kpis["sdr_utilisation"] != pytest.approx(busy / (3 * shift.open_minutes(0, 28 * 1440)), rel=0.2)


def test_a_hiring_plan_adds_people_from_its_day(base):
    sc = base.with_values({"changes": [{"from_day": 7, "settings": {"sdr_headcount": 4, "rep_headcount": 3}},
                                       {"from_day": 21, "settings": {"routing": "fifo"}}]})
    run = _run(sc)
    t = run.touches
    first = t.groupby("by")["at"].min()
    hired = pd.Timestamp(sc.start) + pd.Timedelta(days=7)
    assert first["sdr4"] >= hired and first["rep3"] >= hired
    assert {"sdr4", "rep3"} <= set(run.owners["owner"])


@pytest.mark.parametrize(("changes", "message"), [
    ([{"from_day": 3, "settings": {"shifts": 1}}], "cannot set 'shifts'"),
    ([{"from_day": 3, "settings": {"rep_headcount": 1}}], "rep_headcount may only grow"),
    ([{"from_day": 30, "settings": {"sdr_headcount": 1}}], "not inside the run's 28 days"),
    ([{"from_day": 3, "settings": {"sdr_headcount": -1}}], "whole number >= 0"),
    ([{"from_day": 3, "settings": {"routing": "random"}}], "routing must be one of"),
])
def test_a_change_the_model_cannot_make_is_refused_by_name(base, changes, message):
    with pytest.raises(ScenarioError, match=message):
        base.with_values({"changes": changes})


def test_a_back_test_flags_an_undeclared_change_and_passes_once_it_is_declared():
    """One SDR fewer from the middle of the history on: fitted on the first half, the back-test that ignores the
    change finds the response time and the breach rate outside their intervals; declared, they fall inside."""
    truth = load_scenario().with_values({"horizon_days": 28, "sdr_headcount": 2, "rep_headcount": 2, "bursts": [],
                                         "arrivals.web_form.per_week": 200, "arrivals.paid.per_week": 130,
                                         "arrivals.organic.per_week": 170,
                                         "curve": {"preset": "default", "contact_base": 0.75},
                                         "handling.call_minutes": 15, "handling.qualify_minutes": 30,
                                         "handling.research_minutes": 0,
                                         "changes": [{"from_day": 14, "settings": {"sdr_headcount": 1}}]})
    start = pd.Timestamp(truth.start)
    rows = ["response_minutes_p50", "breach_rate.response.1"]
    flagged = passed = 0
    for seed in range(1, 5):
        h = _run(truth, seed).history()
        tables = []
        for declared in (None, [{"from_day": 0, "settings": {"sdr_headcount": 1}}]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LeadsimWarning)
                bt = backtest(h, truth.lead_definition, fit_until=start + pd.Timedelta(days=14),
                              until=start + pd.Timedelta(days=28), replications=10, seed=seed, changes=declared)
            tables.append(bt.table.set_index("metric").loc[rows, "inside"])
        flagged += int(not tables[0].any())
        passed += int(tables[1].all())
    assert flagged >= 3 and passed >= 3, (flagged, passed)
    assert "declared changes: from" in bt.method and "sdr_headcount 1" in bt.method
