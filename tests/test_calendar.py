"""BusinessCalendar against hand-computed cases and a minute-by-minute reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim.calendar import BusinessCalendar
from leadsim.errors import DataError, DefinitionError, LeadsimError

T = pd.Timestamp
# Berlin, Mon-Fri 09-17, Good Friday 2026-04-03 and Easter Monday 2026-04-06 off
CAL = BusinessCalendar("Europe/Berlin", ["mon", "tue", "wed", "thu", "fri"], ("09:00", "17:00"), ["2026-04-03", "2026-04-06"])


# ---------------------------------------------------------------- slow references


def ref_open(t: pd.Timestamp) -> bool:
    return t.weekday() < 5 and t.date() not in (dt.date(2026, 4, 3), dt.date(2026, 4, 6)) and 9 * 60 <= t.hour * 60 + t.minute < 17 * 60


def ref_next_open(t: pd.Timestamp) -> pd.Timestamp:
    t = t.floor("min")
    while not ref_open(t):
        t += pd.Timedelta(minutes=1)
    return t


def ref_add_minutes(t: pd.Timestamp, m: int) -> pd.Timestamp:
    t = ref_next_open(t)
    while m > 0:
        if ref_open(t):
            m -= 1
        t += pd.Timedelta(minutes=1)
    return t


def ref_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    n, t = 0, a
    while t < b:
        n += ref_open(t)
        t += pd.Timedelta(minutes=1)
    return sign * n


def ref_add_days(t: pd.Timestamp, n: int) -> pd.Timestamp:
    t = ref_next_open(t)
    while n:
        t += pd.Timedelta(days=1)
        if ref_open(t.replace(hour=12, minute=0)):
            n -= 1
    return t


# ---------------------------------------------------------------- hand-written


def test_hand_cases():
    fri = T("2026-03-06 16:00")
    assert CAL.add_working_days(fri, 1) == T("2026-03-09 16:00")
    assert CAL.add_working_days(T("2026-03-07 13:00"), 0) == T("2026-03-09 09:00")  # Saturday
    assert CAL.add_working_days(T("2026-03-07 13:00"), 3) == T("2026-03-12 09:00")
    assert CAL.add_working_days(T("2026-03-05 18:00"), 1) == T("2026-03-09 09:00")  # Thu evening
    assert CAL.add_working_days(T("2026-03-05 07:00"), 1) == T("2026-03-06 09:00")  # Thu morning
    # holiday: Thursday before Easter, day 1 jumps over Good Friday and Easter Monday
    assert CAL.add_working_days(T("2026-04-02 10:00"), 1) == T("2026-04-07 10:00")
    assert CAL.next_open(T("2026-03-09 09:00")) == T("2026-03-09 09:00")
    assert CAL.next_open(T("2026-03-09 17:00")) == T("2026-03-10 09:00")
    assert CAL.add_working_minutes(T("2026-03-09 09:00"), 480) == T("2026-03-09 17:00")
    assert CAL.add_working_minutes(T("2026-03-09 09:00"), 481) == T("2026-03-10 09:01")
    assert CAL.add_working_minutes(T("2026-03-06 16:30"), 120) == T("2026-03-09 10:30")
    assert CAL.working_minutes_between(T("2026-03-06 16:00"), T("2026-03-09 10:00")) == 120
    assert CAL.working_minutes_between(T("2026-03-09 10:00"), T("2026-03-06 16:00")) == -120
    assert CAL.add(T("2026-03-06 16:00"), 2, "days", wall_clock=True) == T("2026-03-08 16:00")
    assert CAL.add(T("2026-03-06 16:00"), 1.5, "hours") == T("2026-03-09 09:30")
    assert CAL.add(T("2026-03-09 09:00"), 0.5, "days") == T("2026-03-09 13:00")


def test_containers_and_nat():
    idx = pd.DatetimeIndex(["2026-03-06 16:00", None, "2026-03-07 10:00"])
    out = CAL.add_working_days(idx, 1)
    assert isinstance(out, pd.DatetimeIndex)
    assert out[0] == T("2026-03-09 16:00") and out[1] is pd.NaT and out[2] == T("2026-03-10 09:00")
    s = pd.Series(idx, index=[5, 6, 7], name="at")
    res = CAL.next_open(s)
    assert list(res.index) == [5, 6, 7] and res.dtype == "datetime64[ns]"
    arr = CAL.add_working_minutes(idx.to_numpy(), 30)
    assert isinstance(arr, np.ndarray) and arr[0] == np.datetime64("2026-03-06T16:30")
    assert CAL.is_open(s).tolist() == [True, False, False]
    mins = CAL.working_minutes_between(s, pd.Series(pd.DatetimeIndex(["2026-03-09 09:00"] * 3), index=[5, 6, 7]))
    assert mins.iloc[0] == 60 and np.isnan(mins.iloc[1]) and mins.iloc[2] == 0


def test_localize():
    cal = BusinessCalendar("Europe/Berlin")
    s = pd.Series(pd.to_datetime(["2026-03-06 15:00", "2026-07-06 15:00"]).tz_localize("UTC"))
    assert cal.localize(s).tolist() == [T("2026-03-06 16:00"), T("2026-07-06 17:00")]  # CET / CEST
    naive = pd.Series(pd.to_datetime(["2026-03-06 15:00"]))
    assert cal.localize(naive).iloc[0] == T("2026-03-06 15:00")
    with pytest.raises(DataError, match="time zone"):
        cal.next_open(s)


def test_bad_input():
    with pytest.raises(DefinitionError, match="at least one working day"):
        BusinessCalendar("UTC", [])
    with pytest.raises(DefinitionError, match="unknown working day"):
        BusinessCalendar("UTC", ["monday", "xyz"])
    with pytest.raises(DefinitionError, match="opening must come before"):
        BusinessCalendar("UTC", ["mon"], ("17:00", "09:00"))
    with pytest.raises(LeadsimError, match="zero or more"):
        CAL.add_working_days(T("2026-03-06"), -1)
    with pytest.raises(LeadsimError, match="unknown SLA unit"):
        CAL.add(T("2026-03-06"), 1, "weeks")


def test_from_definition(definition):
    cal = BusinessCalendar.from_definition(definition)
    assert cal.timezone == "Europe/Berlin" and cal.day_minutes == 480
    assert not cal.is_working_day(T("2026-12-25 10:00"))


# ---------------------------------------------------------------- properties

_times = st.datetimes(min_value=dt.datetime(2026, 3, 26), max_value=dt.datetime(2026, 4, 14)).map(
    lambda d: pd.Timestamp(d).floor("min")
)


@settings(max_examples=40, deadline=None)
@given(t=_times, m=st.integers(0, 1500))
def test_add_minutes_matches_reference(t, m):
    assert CAL.add_working_minutes(t, m) == ref_add_minutes(t, m)
    assert CAL.working_minutes_between(t, CAL.add_working_minutes(t, m)) == m


@settings(max_examples=40, deadline=None)
@given(a=_times, b=_times)
def test_between_matches_reference(a, b):
    if abs((b - a).days) > 6:
        b = a + (b - a) / 4
        b = b.floor("min")
    assert CAL.working_minutes_between(a, b) == ref_between(a, b)


@settings(max_examples=40, deadline=None)
@given(t=_times, n=st.integers(0, 5))
def test_add_days_matches_reference(t, n):
    assert CAL.add_working_days(t, n) == ref_add_days(t, n)
    assert CAL.next_open(t) == ref_next_open(t)


@settings(max_examples=20, deadline=None)
@given(ts=st.lists(_times, min_size=1, max_size=20), n=st.integers(0, 4))
def test_vector_equals_scalar(ts, n):
    vec = CAL.add_working_days(pd.DatetimeIndex(ts), n)
    assert list(vec) == [CAL.add_working_days(t, n) for t in ts]
