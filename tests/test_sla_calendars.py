"""SLA clocks on the calendar of the owner holding the lead: Boston hours, time zones, daylight saving.

Every expected instant is worked out by hand and written in UTC:

- Berlin is UTC+1 until Sunday 29 March 2026 (last Sunday of March);
- Boston (America/New_York) is UTC-5 until Sunday 8 March 2026 (second
  Sunday of March), UTC-4 from then on;
- so in the week of 9 March 2026 Boston is 5 hours behind Berlin, not 6;
- the sample definition's ``boston`` calendar works Monday to Friday,
  09:00-17:00 Boston time; no Massachusetts holiday falls in March 2026
  (Patriots' Day is 20 April).

leadsim's tables hold naive local times of the definition's own zone
(Europe/Berlin); the test converts them to UTC with pandas.
"""

from __future__ import annotations

import pandas as pd
import pytest

from leadsim import audit, load_definition, schedule
from leadsim.calendars import TeamCalendars
from leadsim.errors import DataError

OWNERS = pd.DataFrame({
    "owner": ["anna", "bea", "liam"], "role": ["rep"] * 3, "manager": ["max", "max", "max"],
    "team": ["north", "us", "uk"], "calendar": [None, "boston", "london"],
})


@pytest.fixture(scope="module")
def definition():
    return load_definition()


def utc(berlin_naive) -> list[str]:
    """Naive Berlin local times as UTC instants, written like '2026-03-09 14:00'."""
    s = pd.Series(pd.to_datetime(berlin_naive))
    return s.dt.tz_localize("Europe/Berlin").dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M").tolist()


def ladder(definition, owner: str, at: str, clock: str, stage: str = "sales_lead") -> list[str]:
    h = pd.DataFrame({"lead_id": ["L"], "stage": [stage], "owner": [owner], "at": [pd.Timestamp(at)]})
    s = schedule(h, definition, owners=OWNERS)
    return utc(s.loc[s["clock"] == clock, "due_at"])


def test_a_boston_owner_handed_a_lead_friday_afternoon_follows_boston_hours(definition):
    # Friday 6 March 2026, 16:00 Berlin = 15:00 UTC = 10:00 in Boston (EST): open
    # day 1: Monday 10:00 Boston, now on summer time (EDT, UTC-4) = 14:00 UTC (15:00 in Berlin)
    assert ladder(definition, "bea", "2026-03-06 16:00", "touch") == [
        "2026-03-06 15:00", "2026-03-09 14:00", "2026-03-10 14:00", "2026-03-11 14:00"]
    # day 7, 8, 9 (Tue 17, Wed 18, Thu 19 March) at 10:00 Boston
    assert ladder(definition, "bea", "2026-03-06 16:00", "process") == [
        "2026-03-17 14:00", "2026-03-18 14:00", "2026-03-19 14:00"]
    # the same hand-off to a Berlin owner keeps Berlin's 16:00 = 15:00 UTC every day
    assert ladder(definition, "anna", "2026-03-06 16:00", "touch") == [
        "2026-03-06 15:00", "2026-03-09 15:00", "2026-03-10 15:00", "2026-03-11 15:00"]


def test_in_the_week_the_us_is_on_summer_time_and_europe_not(definition):
    # Monday 9 March 2026, 15:30 Berlin = 14:30 UTC = 10:30 in Boston (EDT)
    assert ladder(definition, "bea", "2026-03-09 15:30", "touch") == [
        "2026-03-09 14:30", "2026-03-10 14:30", "2026-03-11 14:30", "2026-03-12 14:30"]
    # the SDR response clock (0, 30, 120 working minutes) handed at 21:30 Berlin = 20:30 UTC = 16:30 Boston:
    # 30 minutes end at Boston's closing, 17:00 = 21:00 UTC; 120 minutes: 30 on Monday, 90 from Tuesday
    # 09:00 Boston = 10:30 Boston = 14:30 UTC
    assert ladder(definition, "bea", "2026-03-09 21:30", "response", stage="lead") == [
        "2026-03-09 20:30", "2026-03-09 21:00", "2026-03-10 14:30"]
    # a Berlin owner: closed at 21:30, so everything starts at Tuesday's 09:00 Berlin = 08:00 UTC
    assert ladder(definition, "anna", "2026-03-09 21:30", "response", stage="lead") == [
        "2026-03-10 08:00", "2026-03-10 08:30", "2026-03-10 10:00"]


def test_a_london_owner_works_on_3_october_and_berlin_does_not(definition):
    # Thursday 2 October 2025 16:00 Berlin (UTC+2) = 14:00 UTC = 15:00 London (BST)
    # London: day 1 is Friday 3 October 15:00 London = 14:00 UTC; Berlin skips German Unity Day
    assert ladder(definition, "liam", "2025-10-02 16:00", "touch")[:2] == ["2025-10-02 14:00", "2025-10-03 14:00"]
    assert ladder(definition, "anna", "2025-10-02 16:00", "touch")[:2] == ["2025-10-02 14:00", "2025-10-06 14:00"]


def _log(rows):
    return pd.DataFrame(rows, columns=["lead_id", "stage", "at", "owner"]).assign(at=lambda d: pd.to_datetime(d["at"]))


def test_a_re_assignment_moves_the_clock_to_the_new_owners_calendar(definition):
    # Anna (Berlin) gets the lead Friday 6 March 16:00 Berlin; Bea (Boston) takes it over Monday 10:00 Berlin
    # (09:00 UTC, 05:00 in Boston).  Used on Anna's calendar: Friday 16-17 and Monday 09-10 = 2 h = 0.25 day.
    # Day 1 needs 0.75 day = 6 h more on Boston's: from Monday's opening 09:00 -> 15:00 Boston = 19:00 UTC.
    # Day 2 needs 1.75 days: one working day from Monday 09:00 -> Tuesday 09:00, + 6 h -> 15:00 = 19:00 UTC.
    log = _log([("L", "name", "2026-03-02 09:05", None), ("L", "lead", "2026-03-02 09:10", "sdr1"),
                ("L", "sales_lead", "2026-03-06 16:00", "anna"), ("L", "sales_lead", "2026-03-09 10:00", "bea")])
    res = audit(log, None, definition, owners=OWNERS, as_of=pd.Timestamp("2026-04-30"))
    touch = res.alerts[res.alerts["clock"] == "touch"]
    assert utc(touch["due_at"]) == ["2026-03-06 15:00", "2026-03-09 19:00", "2026-03-10 19:00", "2026-03-11 19:00"]
    assert touch["owner"].tolist() == ["anna", "bea", "bea", "bea"]
    assert res.summary["calendars"]["boston"]["timezone"] == "America/New_York"
    assert "2026-04-06" in res.summary["calendars"]["home"]["days_off"]  # Easter Monday, within the audit


def test_time_to_first_touch_counts_the_holders_working_hours(definition):
    # Bea gets the lead Friday 16:00 Berlin (10:00 Boston) and calls Monday 15:00 Berlin (10:00 Boston):
    # 7 h Friday (10-17) + 1 h Monday = 8 working hours in Boston (Berlin hours would give 1 + 6 = 7)
    log = _log([("L", "name", "2026-03-02 09:05", None), ("L", "lead", "2026-03-02 09:10", "sdr1"),
                ("L", "sales_lead", "2026-03-06 16:00", "bea")])
    touches = pd.DataFrame({"lead_id": ["L"], "at": [pd.Timestamp("2026-03-09 15:00")], "by": ["bea"], "kind": ["call"]})
    res = audit(log, touches, definition, owners=OWNERS, as_of=pd.Timestamp("2026-03-31"))
    ttf = res.summary["time_to_first_touch"].set_index("clock")
    assert ttf.loc["touch", "median_hours"] == pytest.approx(8.0)


def test_an_unknown_calendar_in_the_owners_table_names_the_row_and_the_known_ones(definition):
    owners = OWNERS.assign(calendar=[None, "boston", "tokyo"])
    with pytest.raises(DataError, match=r"owners\.calendar: row 2: owner 'liam' works on calendar 'tokyo'.*"
                                        r"\['boston', 'london'\]"):
        TeamCalendars(definition, owners=owners)


def test_days_in_an_hours_clocks_message_are_days_of_the_holders_calendar(definition):
    """12 working hours are 1.5 days of Berlin's or Boston's 8-hour day, 720 / 510 = 1.41 -> 1.4 of London's
    09:00-17:30 day; a wall clock counts calendar days for everyone (0.5)."""
    from leadsim.definition import parse_definition

    d = definition.to_dict()
    touch = next(c for c in d["sla"]["clocks"] if c["id"] == "touch")
    touch["unit"] = "hours"
    for lv, hours in zip(touch["levels"], [0, 12, 36, 60], strict=True):
        lv["offset"] = hours
        lv["message"] = "{days} days for {lead}"
    hours_def = parse_definition(d, source="test")
    touch.update(wall_clock=True)
    wall_def = parse_definition(d, source="test")

    def message(defn, owner):
        h = pd.DataFrame({"lead_id": ["L"], "stage": ["sales_lead"], "owner": [owner],
                          "at": [pd.Timestamp("2026-03-09 10:00")]})
        s = schedule(h, defn, owners=OWNERS)
        return s.loc[(s["clock"] == "touch") & (s["level"] == 1), "message"].item()

    assert [message(hours_def, o) for o in ("anna", "bea", "liam")] == [
        "1.5 days for L", "1.5 days for L", "1.4 days for L"]
    assert [message(wall_def, o) for o in ("anna", "liam")] == ["0.5 days for L", "0.5 days for L"]
