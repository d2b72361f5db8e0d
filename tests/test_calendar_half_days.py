"""Half days (working days that close early) against hand-worked deadlines and a minute-by-minute reference.

The hand-worked calendar: Germany (nationwide public holidays), Monday to
Friday 09:00-17:00 Europe/Berlin, with 24 and 31 December working until 12:00.
Around Christmas 2026:

- Thu 24 Dec: half day, 09:00-12:00 (3 working hours);
- Fri 25 and Sat 26 Dec: Christmas holidays; Sun 27 Dec: a Sunday;
- Mon 28 to Wed 30 Dec: full days; Thu 31 Dec: half day, 09:00-12:00;
- Fri 1 Jan 2027: New Year's Day; Mon 4 Jan 2027: a full day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim import load_definition, schedule
from leadsim.calendar import BusinessCalendar
from leadsim.calendars import TeamCalendars, provenance_table
from leadsim.definition import parse_definition
from leadsim.errors import DefinitionError

T = pd.Timestamp
HALF = [{"every_year": "12-24", "until": "12:00"}, {"every_year": "12-31", "until": "12:00"}]
CAL = BusinessCalendar("Europe/Berlin", country="DE", half_days=HALF)


# ---------------------------------------------------------------- hand-worked deadlines


def test_four_working_hours_from_christmas_eve_land_on_monday_28_december_at_11():
    # 10:00-12:00 on the half day (2 h), 25/26 Dec holidays, 27 Dec a Sunday, 28 Dec 09:00 + 2 h
    assert CAL.add(T("2026-12-24 10:00"), 4, "hours") == T("2026-12-28 11:00")
    assert CAL.add_working_minutes(T("2026-12-24 10:00"), 120) == T("2026-12-24 12:00")   # lands on the closing
    assert CAL.add_working_minutes(T("2026-12-24 10:00"), 121) == T("2026-12-28 09:01")
    assert CAL.working_minutes_between(T("2026-12-24 10:00"), T("2026-12-28 11:00")) == 240.0


def test_the_half_day_is_closed_after_its_until_and_a_clock_started_then_waits_for_the_next_opening():
    assert CAL.is_open(T("2026-12-24 11:59")) and not CAL.is_open(T("2026-12-24 12:00"))
    assert CAL.is_working_day(T("2026-12-24 15:00"))              # a half day is still a working day
    assert CAL.next_open(T("2026-12-24 14:00")) == T("2026-12-28 09:00")
    assert CAL.add(T("2026-12-24 14:00"), 30, "minutes") == T("2026-12-28 09:30")


def test_a_days_clock_counts_the_half_day_and_ends_on_its_closing_when_the_same_time_is_past_it():
    # Wed 23 Dec 14:00 + 1 working day: Thu 24 Dec, which closes at 12:00 -> 12:00
    assert CAL.add(T("2026-12-23 14:00"), 1, "days") == T("2026-12-24 12:00")
    # + 2 days: the half day counts as one, then Mon 28 Dec at the same time
    assert CAL.add(T("2026-12-23 14:00"), 2, "days") == T("2026-12-28 14:00")
    # a morning time fits on the half day: from Tue 22 Dec 10:00, days 1, 2, 3 are 23, 24 and 28 Dec
    assert CAL.add(T("2026-12-22 10:00"), 1, "days") == T("2026-12-23 10:00")
    assert CAL.add(T("2026-12-22 10:00"), 2, "days") == T("2026-12-24 10:00")
    assert CAL.add(T("2026-12-22 10:00"), 3, "days") == T("2026-12-28 10:00")
    # New Year: Wed 30 Dec 15:00 + 1 day -> Thu 31 Dec closes 12:00; + 2 days -> Mon 4 Jan 2027 15:00
    assert CAL.add_many(T("2026-12-30 15:00"), [1, 2], "days") == [T("2026-12-31 12:00"), T("2027-01-04 15:00")]


def test_a_dated_entry_overrides_the_every_year_one_and_half_days_on_days_off_change_nothing():
    cal = BusinessCalendar("Europe/Berlin", country="DE",
                           half_days=[*HALF, {"date": "2026-12-24", "until": "14:00"},
                                      {"date": "2026-12-25", "until": "12:00"},     # Christmas Day: a holiday
                                      {"date": "2027-12-25", "until": "12:00"}])    # a Saturday
    assert cal.add(T("2026-12-24 10:00"), 4, "hours") == T("2026-12-24 14:00")
    assert not cal.is_working_day(T("2026-12-25 10:00"))
    assert T("2026-12-25") not in pd.DatetimeIndex(cal.half_days)
    assert T("2027-12-25") not in pd.DatetimeIndex(cal.half_days)
    # 2027: Fri 24 Dec a half day, Sat/Sun 25/26, Mon 27 to Thu 30 Dec full days, Fri 31 Dec a half day
    assert cal.working_minutes_between(T("2027-12-24 00:00"), T("2028-01-01 00:00")) == 180 + 4 * 480 + 180


def test_an_every_year_29_february_counts_in_leap_years_only():
    cal = BusinessCalendar("UTC", half_days=[{"every_year": "02-29", "until": "13:00"}])
    assert cal.add(T("2028-02-29 12:00"), 2, "hours") == T("2028-03-01 10:00")   # Tuesday, half day until 13:00
    assert cal.add(T("2027-02-26 16:00"), 2, "hours") == T("2027-03-01 10:00")   # no 29 Feb in 2027


def test_vectors_with_half_days_and_nat():
    times = pd.Series([T("2026-12-24 10:00"), pd.NaT, T("2026-12-23 16:30"), T("2026-12-31 11:00")])
    out = CAL.add(times, 4, "hours")
    assert out.tolist()[0] == T("2026-12-28 11:00") and pd.isna(out.iloc[1])
    # 23 Dec 16:30: 30 min, then 24 Dec 09:00-12:00 (3 h), then 28 Dec 09:00 + 30 min
    assert out.iloc[2] == T("2026-12-28 09:30")
    # 31 Dec 11:00: 1 h to the closing, 1 Jan holiday, Sat/Sun, Mon 4 Jan 09:00 + 3 h
    assert out.iloc[3] == T("2027-01-04 12:00")


# ---------------------------------------------------------------- the index the simulation uses


def test_the_fast_index_and_every_shift_close_at_the_half_days_until():
    w = CAL.index(T("2026-12-21"), days=14)                         # Monday 21 Dec
    day = 3 * 1440.0                                                 # Thursday 24 Dec, minute 0
    assert (w.opens[3], w.closes[3]) == (day + 540, day + 720)
    assert w.add(day + 600, 4, "hours") == pytest.approx(7 * 1440 + 660)          # Mon 28 Dec 11:00
    assert w.add(2 * 1440 + 840, 1, "days") == pytest.approx(day + 720)           # Wed 14:00 + 1 day: 12:00
    assert w.open_minutes(0, 14 * 1440) == 6 * 480 + 2 * 180                      # 21-23, 28-30 Dec; 24, 31 Dec
    late = CAL.index(T("2026-12-21"), days=14, hours=("10:00", "16:00"))
    assert (late.opens[3], late.closes[3]) == (day + 600, day + 720)              # the shift ends at 12:00 too
    afternoon = CAL.index(T("2026-12-21"), days=14, hours=("13:00", "17:00"))
    assert not afternoon.is_open(day + 800)                                       # no afternoon shift that day
    assert afternoon.next_open(day + 600) == 7 * 1440 + 780                       # Mon 28 Dec 13:00


_times = st.datetimes(min_value=dt.datetime(2026, 12, 18), max_value=dt.datetime(2027, 1, 8)).map(
    lambda d: pd.Timestamp(d).floor("min"))


def ref_open(t: pd.Timestamp) -> bool:
    """Slow reference: German Christmas and New Year, half days 24 and 31 December until 12:00."""
    days_off = {dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2027, 1, 1)}
    closing = 12 * 60 if (t.month, t.day) in ((12, 24), (12, 31)) else 17 * 60
    return t.weekday() < 5 and t.date() not in days_off and 9 * 60 <= t.hour * 60 + t.minute < closing


def ref_add_minutes(t: pd.Timestamp, m: int) -> pd.Timestamp:
    while not ref_open(t):
        t += pd.Timedelta(minutes=1)
    while m > 0:
        m -= ref_open(t)
        t += pd.Timedelta(minutes=1)
    return t


@settings(max_examples=40, deadline=None)
@given(t=_times, m=st.integers(0, 1500))
def test_calendar_and_index_match_a_minute_by_minute_reference(t, m):
    due = CAL.add_working_minutes(t, m)
    assert due == ref_add_minutes(t, m)
    assert CAL.working_minutes_between(t, due) == m or (m == 0 and due >= t)
    w = CAL.index(T("2026-12-14"), days=40)
    assert w.timestamps([w.add_minutes(w.minutes(t), m)])[0] == due.to_datetime64()
    assert CAL.is_open(t) == ref_open(t) == w.is_open(w.minutes(t))


# ---------------------------------------------------------------- the definition, outputs, errors


def _definition_with(half_days: list[dict], where: str = "calendar") -> dict:
    d = load_definition().to_dict()
    target = d["calendar"] if where == "calendar" else d["calendars"][where]
    target["half_days"] = half_days
    return d


def test_schedule_of_the_response_clock_follows_the_half_day():
    """The sample's response clock (0, 30, 120 working minutes) for a lead handed over on 24 Dec 2026 11:00:
    30 min -> 11:30; 120 min: 60 min to 12:00, then Mon 28 Dec 09:00 + 60 min = 10:00."""
    d = parse_definition(_definition_with([{"date": "2026-12-24", "until": "12:00"}]), source="test")
    h = pd.DataFrame({"lead_id": ["L"], "stage": ["lead"], "owner": ["anna"], "at": [T("2026-12-24 11:00")]})
    s = schedule(h, d)
    assert s.loc[s["clock"] == "response", "due_at"].tolist() == [
        T("2026-12-24 11:00"), T("2026-12-24 11:30"), T("2026-12-28 10:00")]
    # without the half day: 120 minutes end at 13:00 the same day
    s0 = schedule(h, load_definition())
    assert s0.loc[s0["clock"] == "response", "due_at"].tolist()[-1] == T("2026-12-24 13:00")


def test_a_named_calendars_half_day_holds_its_owner_in_its_own_zone():
    """London (09:00-17:30 Europe/London, one hour behind Berlin in winter) closes at 12:30 London on 24 Dec
    2026, a half day of the London calendar only (Berlin's 24 Dec is a full day here)."""
    d = parse_definition(_definition_with([{"date": "2026-12-24", "until": "12:30"}], "london"), source="test")
    owners = pd.DataFrame({"owner": ["liam"], "role": ["sdr"], "manager": ["max"], "team": ["uk"],
                           "calendar": ["london"]})
    h = pd.DataFrame({"lead_id": ["L"], "stage": ["lead"], "owner": ["liam"], "at": [T("2026-12-24 13:00")]})
    s = schedule(h, d, owners=owners)
    # 13:00 Berlin = 12:00 London: 30 min to the 12:30 closing; England's 25/26 Dec and the 28 Dec
    # substitute Boxing Day holiday, so Tue 29 Dec 09:00 London + 90 min = 10:30 London = 11:30 Berlin
    assert s.loc[s["clock"] == "response", "due_at"].tolist() == [
        T("2026-12-24 13:00"), T("2026-12-24 13:30"), T("2026-12-29 11:30")]
    team = TeamCalendars(d, owners=owners)
    w = team.index(T("2026-12-21"), 14, team.names.index("london"))
    assert (w.opens[3] / 60, w.closes[3] / 60) == (3 * 24 + 10, 3 * 24 + 13.5)   # 10:00-13:30 Berlin


def test_outputs_record_the_half_days_they_used():
    prov = CAL.provenance("2026-12-01", "2026-12-31")
    assert prov["half_days"] == ["2026-12-24 until 12:00", "2026-12-31 until 12:00"]
    d = parse_definition(_definition_with(HALF), source="test")
    t = provenance_table(TeamCalendars(d).provenance("2026-12-01", "2027-01-31"))
    home = t.set_index("calendar").loc["home"]
    assert home["n_half_days"] == 2 and home["half_days"] == "2026-12-24 until 12:00, 2026-12-31 until 12:00"
    assert t.set_index("calendar").loc["boston", "n_half_days"] == 0


@pytest.mark.parametrize(("entry", "message"), [
    ({"date": "2026-12-24", "until": "18:00"},
     r"calendars\.boston.*half_days\[1\] \(2026-12-24 until 18:00\): 'until' must fall inside the working hours "
     r"09:00-17:00"),
    ({"date": "2026-12-24", "until": "09:00"}, r"calendars\.boston.*half_days\[1\].*goes under holidays"),
    ({"date": "2026-13-24", "until": "12:00"}, r"calendars\.boston\.half_days\.1\.date: .*valid date"),
    ({"every_year": "12/24", "until": "12:00"}, r"calendars\.boston\.half_days\.1\.every_year: every_year '12/24' "
                                                r"must be a month and day like '12-24'"),
    ({"date": "2026-12-24", "until": "noon"}, r"calendars\.boston\.half_days\.1\.until: until 'noon' must be a time"),
    ({"date": "2026-12-24", "every_year": "12-24", "until": "12:00"}, r"either 'date'.*or 'every_year'"),
    ({"date": "2026-12-31", "until": "13:00"}, r"half_days\[1\] \(2026-12-31 until 13:00\) repeats half_days\[0\]"),
])
def test_bad_half_days_name_the_calendar_and_the_entry(entry, message):
    d = _definition_with([{"date": "2026-12-31", "until": "12:00"}, entry], "boston")
    with pytest.raises(DefinitionError, match=message):
        parse_definition(d, source="test")


def test_the_calendar_itself_checks_half_days_given_to_it_directly():
    with pytest.raises(DefinitionError, match=r"calendar\.half_days\[0\].*inside the working hours 09:00-17:00"):
        BusinessCalendar("UTC", half_days=[{"date": "2026-12-24", "until": "08:00"}])
    with pytest.raises(DefinitionError, match=r"calendar\.half_days\[0\].*either a date"):
        BusinessCalendar("UTC", half_days=[{"until": "12:00"}])
    assert np.array_equal(BusinessCalendar("UTC", half_days=[("2026-12-24", "12:00")]).half_days,
                          np.array(["2026-12-24"], dtype="datetime64[D]"))
