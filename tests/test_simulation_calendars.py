"""Simulated people on the definition's named calendars (scenario ``calendars``): their shifts follow their
calendar's zone, hours and holidays, the run's owners table says who works where, and the run's alerts are the
audit's on its own history (each clock on the holder's calendar, re-assignments across calendars included).

The hand-worked instants: in March 2026 the US moves its clocks on the 8th, Europe on the 29th.  Boston's
09:00-17:00 is 14:00-22:00 UTC in the week of 2 March (EST, UTC-5) and 13:00-21:00 UTC in the week of 9 March
and of 16 March (EDT, UTC-4); Berlin's 09:00-17:00 is 08:00-16:00 UTC in all three (CET, UTC+1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_simulation_sla import rows, run  # the run-versus-audit pattern of the SLA tests

from leadsim.calendars import TeamCalendars
from leadsim.errors import ScenarioError
from leadsim.simulation import load_scenario
from leadsim.simulation.kpis import sla_audit
from leadsim.simulation.people import Staff, held_due
from leadsim.sla.ladder import due_times

START = pd.Timestamp("2026-03-02")  # a Monday
# the open hours in UTC, per day (Monday to Friday), written out
BOSTON_UTC = {**{f"2026-03-0{d}": ("14:00", "22:00") for d in range(2, 7)},   # EST
              **{f"2026-03-{d:02d}": ("13:00", "21:00") for d in (*range(9, 14), *range(16, 21))}}  # EDT; CET
BERLIN_UTC = dict.fromkeys(BOSTON_UTC, ("08:00", "16:00"))


def scenario(**over):
    values = {"start": str(START.date()), "horizon_days": 21, "handling.decision_days": 10, "arrivals.web_form.per_week": 200,
              "arrivals.paid.per_week": 30, "arrivals.organic.per_week": 25, "arrivals.event.per_week": 3,
              "bursts": [], "outbound.per_week": 4, "sdr_headcount": 4, "rep_headcount": 2,
              "exploration_share": 0.3, "escalation": "free_rep", "handling.rep_touch_minutes": 200,
              "definition.thresholds.mql": 30, "calendars": {"rep": {"boston": 1}},
              # a short touch ladder, so managers are called and free reps take leads over
              "definition.sla.clocks.touch.levels.1.offset": 0.05,
              "definition.sla.clocks.touch.levels.2.offset": 0.1,
              "definition.sla.clocks.touch.levels.3.offset": 0.15}
    values.update(over)
    return load_scenario().with_values(values)


@pytest.fixture(scope="module")
def boston_run():
    return run(scenario())


def utc(minutes: pd.Series) -> pd.Series:
    """Run minutes (since Berlin's midnight of START) as UTC instants."""
    return (START + pd.to_timedelta(minutes, unit="min")).dt.tz_localize("Europe/Berlin").dt.tz_convert("UTC")


def inside(t: pd.Timestamp, hours: dict[str, tuple[str, str]], *, closing: bool) -> bool:
    day = str(t.date())
    if day not in hours:
        return False
    lo, hi = (pd.Timestamp(f"{day} {h}", tz="UTC") for h in hours[day])
    return lo <= t <= hi if closing else lo <= t < hi


def test_a_rep_on_the_boston_calendar_works_boston_hours_only(boston_run):
    s = boston_run.services
    s = s.assign(start_utc=utc(s["start"]), end_utc=utc(s["end"]))
    boston, berlin = s[s["rep"] == "rep1"], s[s["rep"] == "rep2"]
    assert len(boston) >= 10 and len(berlin) >= 10
    for row in boston.itertuples(index=False):
        assert inside(row.start_utc, BOSTON_UTC, closing=False), row
        assert inside(row.end_utc, BOSTON_UTC, closing=True), row  # work may end exactly at closing
        if row.start_utc.date() == row.end_utc.date():  # no break in the middle: busy only while open
            assert (row.end_utc - row.start_utc) / pd.Timedelta(minutes=1) == pytest.approx(row.minutes)
    for row in berlin.itertuples(index=False):
        assert inside(row.start_utc, BERLIN_UTC, closing=False), row
        assert inside(row.end_utc, BERLIN_UTC, closing=True), row
    # Boston works on after Berlin closes (16:00 UTC), an hour earlier in UTC once the US is on summer time
    assert (boston["start_utc"].dt.hour >= 16).any()
    summer = boston[boston["start_utc"] >= pd.Timestamp("2026-03-09", tz="UTC")]
    assert (summer["start_utc"].dt.hour == 13).any()


def test_the_runs_alerts_are_the_audits_on_its_history_with_each_owners_calendar(boston_run):
    res = boston_run
    owners = res.history().owners
    assert owners.set_index("owner")["calendar"].fillna("home").to_dict() == {  # empty: the home calendar
        "sdr1": "home", "sdr2": "home", "sdr3": "home", "sdr4": "home", "rep1": "boston", "rep2": "home"}
    # escalations moved Sales Leads between the Boston and the Berlin rep: the clocks changed calendars
    moved = res.stage_log[res.stage_log["reason"] == "escalation"]
    assert len(moved) > 0
    # ... and a process alert came due after such a move (on the new holder's calendar, the used time counted)
    assert set(res.alerts.loc[res.alerts["clock"] == "process", "lead_id"]) & set(moved["lead_id"])
    audit = sla_audit(res)
    assert len(res.alerts) > 20
    pd.testing.assert_frame_equal(rows(res.alerts), rows(audit.alerts))
    # the Boston rep's touch alerts fall in Boston hours (a Sales Lead clock runs on its holder's calendar)
    held = res.alerts[(res.alerts["clock"] == "touch") & (res.alerts["owner"] == "rep1") & (res.alerts["level"] > 0)]
    assert len(held)
    due = held["due_at"].dt.tz_localize("Europe/Berlin").dt.tz_convert("UTC")
    assert all(inside(t, BOSTON_UTC, closing=True) for t in due if str(t.date()) in BOSTON_UTC)
    assert set(audit.summary["calendars"]) == {"home", "boston", "london"}


def test_a_whole_role_on_one_calendar_and_home_by_name():
    sc = scenario(calendars={"sdr": "home", "rep": "boston"}, rep_headcount=3)
    staff = Staff(sc, sc.lead_definition)
    assert [staff.calendar("rep", k) for k in (1, 2, 3)] == ["boston"] * 3
    assert staff.calendar("sdr", 1) is None
    # Monday 9 March: Boston opens at 14:00 Berlin time (US on summer time), Berlin at 09:00; run minutes from START
    assert staff.shift("rep", 3).next_open(7 * 1440.0) == 7 * 1440.0 + 14 * 60
    assert staff.shift("sdr", 1).next_open(7 * 1440.0) == 7 * 1440.0 + 9 * 60


def test_a_scenario_without_calendars_writes_the_owners_table_it_always_did():
    sc = scenario(calendars={}, horizon_days=3)
    assert Staff(sc, sc.lead_definition).single
    assert list(run(sc).owners.columns) == ["owner", "role", "manager", "team"]


@pytest.mark.parametrize(("calendars", "match"), [
    ({"rep": {"tokyo": 1}}, r"calendars\.rep: unknown calendar 'tokyo'; use home or one the definition names"),
    ({"sdr": "tokio"}, r"calendars\.sdr: unknown calendar 'tokio'"),
    ({"rep": {"boston": 2, "london": 1}}, r"calendars\.rep: puts 3 people on calendars but the role has at most 2 "
                                          r"\(rep_headcount\); lower the counts or raise the headcount"),
    ({"rep": {"boston": -1}}, r"calendars\.rep\.boston: a number of people cannot be negative"),
])
def test_bad_calendars_in_a_scenario_are_refused_naming_the_field_and_the_fix(calendars, match):
    with pytest.raises(ScenarioError, match=match):
        scenario(calendars=calendars)


def test_a_clock_moved_from_boston_to_berlin_counts_the_boston_time_used():
    """Process (7 working days) started Monday 9 March 10:00 Berlin, held in Boston (open from 14:00 Berlin),
    re-assigned to a Berlin rep on Tuesday 20:00 Berlin (15:00 in Boston): Boston used Monday 14:00-22:00 and
    Tuesday 14:00-20:00, 840 minutes = 1.75 days; the 5.25 days left run in Berlin from Wednesday 09:00:
    5 days to Wednesday 18 March 09:00, then 0.25 x 480 minutes -> 11:00."""
    sc = load_scenario().with_values({"start": "2026-03-09", "horizon_days": 21, "calendars": {"rep": {"boston": 1}}})
    d = sc.lead_definition
    staff = Staff(sc, d)
    process = next(c for c in d.sla.clocks if c.id == "process")
    boston = staff.team.names.index("boston")
    moved = 1440.0 + 20 * 60
    due = held_due(staff, boston, [(moved, int(moved * 60e9), 0)], process, 0, 10 * 60.0)
    assert due == 9 * 1440 + 11 * 60
    # the audit's rule on nanoseconds gives the same instant
    team = TeamCalendars(d, owners=pd.DataFrame({"owner": ["rep1", "rep2"], "calendar": ["boston", None]}))
    t0 = np.array([pd.Timestamp("2026-03-09 10:00").value])
    at = np.array([pd.Timestamp("2026-03-10 20:00").value])
    audit_due = due_times(team, t0, process, code=np.array([boston]), handovers=[(at, np.array([0]))])[0]
    assert pd.Timestamp(audit_due[0]) == pd.Timestamp("2026-03-18 11:00")
    # without a re-assignment: 7 Boston days, Wednesday 18 March 09:00 in Boston = 14:00 Berlin
    assert held_due(staff, boston, [], process, 0, 10 * 60.0) == 9 * 1440 + 14 * 60
