"""The fast working-time index (``BusinessCalendar.index``) against the calendar's own arithmetic.

The index works in float minutes, the calendar in nanoseconds.  The property
tests draw times and offsets on a grid of 1/64 minute, where both are exact,
so a result that lands on a closing time is a closing time in both (the one
place the old engines disagreed); a last property uses arbitrary floats and
allows the one ambiguity floats have there (a closing time or the next
opening, the same working moment).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim.calendar import BusinessCalendar
from leadsim.errors import DataError, DefinitionError
from leadsim.simulation.clocks import WorkTime as SimWorkTime
from leadsim.worktime import INF, WorkTime

T = pd.Timestamp
TOL = 1e-6  # minutes
# Berlin, Mon-Fri 09-17, Good Friday 2026-04-03 and Easter Monday 2026-04-06 off; minute 0 = Monday 2026-03-30
EASTER = BusinessCalendar("Europe/Berlin", ["mon", "tue", "wed", "thu", "fri"], ("09:00", "17:00"),
                          ["2026-04-03", "2026-04-06"])
START = T("2026-03-30")
MON, TUE, WED, THU, FRI = (k * 1440 for k in range(5))
NEXT_TUE = 8 * 1440
H = 60


def at(minutes: float) -> pd.Timestamp:
    return START + pd.Timedelta(minutes=minutes)


def mins(ts: pd.Timestamp, start: pd.Timestamp = START) -> float:
    return (ts - start) / pd.Timedelta(minutes=1)


# ---------------------------------------------------------------- hand-worked


def test_closing_times_and_holidays_by_hand():
    w = EASTER.index(START, days=14)
    assert w.add_minutes(MON + 9 * H, 480) == MON + 17 * H            # lands on the closing: stays there
    assert w.add_minutes(MON + 9 * H, 481) == TUE + 9 * H + 1
    assert w.add_minutes(MON + 16 * H + 30, 30) == MON + 17 * H
    assert not w.is_open(MON + 17 * H) and w.is_open(MON + 17 * H - 1e-6) and w.is_open(MON + 9 * H)
    assert w.next_open(MON + 17 * H) == TUE + 9 * H                   # the closing itself is closed
    assert w.add_minutes(MON + 17 * H, 0) == TUE + 9 * H
    assert w.add_minutes(MON + 17 * H, 60) == TUE + 10 * H            # a clock started at the closing
    assert w.add_days(MON + 17 * H, 1) == WED + 9 * H
    assert w.next_close(MON + 17 * H) == TUE + 17 * H and w.next_close(MON + 12 * H) == MON + 17 * H
    assert w.open_minutes(MON + 16 * H, TUE + 10 * H) == 120
    assert w.at_position(480) == MON + 17 * H and w.at_position(480.5) == TUE + 9 * H + 0.5
    # over Easter: Thursday -> Tuesday
    assert w.add(THU + 10 * H, 1, "days") == NEXT_TUE + 10 * H
    assert w.add(THU + 16 * H + 30, 1, "hours") == NEXT_TUE + 9 * H + 30
    assert w.add(THU + 16 * H, 0.5, "days") == NEXT_TUE + 12 * H      # 1 h Thursday, 3 h Tuesday
    assert w.add(THU + 9 * H, 480, "minutes") == THU + 17 * H
    assert w.next_open(FRI + 10 * H) == NEXT_TUE + 9 * H
    assert w.open_minutes(THU + 9 * H, NEXT_TUE + 9 * H) == 480
    # wall clock: plain elapsed time, from the start itself, also on a holiday
    assert w.add(THU + 16 * H + 30, 2, "hours", wall_clock=True) == THU + 18 * H + 30
    assert w.add(FRI + 3 * H, 1.5, "days", wall_clock=True) == FRI + 3 * H + 1.5 * 1440
    for got, want in ((w.add(THU + 10 * H, 1, "days"), EASTER.add(at(THU + 10 * H), 1, "days")),
                      (w.add_minutes(MON + 9 * H, 480), EASTER.add_working_minutes(at(MON + 9 * H), 480))):
        assert at(got) == want


def test_a_shift_narrower_than_the_working_hours_by_hand():
    w = EASTER.index(START, days=14, hours=("10:00", "16:00"))
    assert w.length == 360 and w.opens[:2] == [MON + 10 * H, TUE + 10 * H]
    assert not w.is_open(MON + 9 * H + 30) and not w.is_open(MON + 16 * H)
    assert w.next_open(MON + 16 * H) == TUE + 10 * H
    assert w.add_minutes(MON + 15 * H, 60) == MON + 16 * H            # the shift's end, not the office's
    assert w.add_minutes(THU + 15 * H, 120) == NEXT_TUE + 11 * H       # over Easter
    assert w.add_days(MON + 9 * H, 0.5) == MON + 13 * H                 # half a shift from its start
    assert w.open_minutes(MON, TUE) == 360


def test_the_simulation_and_the_calendar_use_one_engine(definition):
    cal = BusinessCalendar.from_definition(definition)
    assert SimWorkTime is WorkTime
    assert isinstance(cal.index(START, 3), WorkTime)
    w = SimWorkTime(cal, START, 3, ("10:00", "12:00"))
    assert (w.opens[0], w.closes[0]) == (10 * H, 12 * H)


def test_range_units_and_bad_hours():
    w = EASTER.index(START, days=2, margin_days=0)
    assert w.opens == [MON + 9 * H, TUE + 9 * H]
    assert w.next_open(TUE + 17 * H) == INF and w.at_position(961) == INF and w.add_days(MON, 2) == INF
    assert w.position(WED + 12 * H) == 960 and w.next_close(WED) == INF
    assert w.next_open(-30.0) == MON + 9 * H                           # before start: the first opening
    with pytest.raises(DataError, match="unknown SLA unit"):
        w.add(0.0, 1, "weeks")
    with pytest.raises(DataError, match="unknown SLA unit"):
        w.add(0.0, 1, "weeks", wall_clock=True)
    with pytest.raises(DefinitionError, match="start must come before"):
        EASTER.index(START, 2, hours=("16:00", "10:00"))
    with pytest.raises(DefinitionError, match="two times"):
        EASTER.index(START, 2, hours=("ten", "16:00"))
    empty = BusinessCalendar("UTC", ["sat"]).index(START, days=3, margin_days=0)  # Mon-Wed: no working day
    assert empty.next_open(0.0) == INF and empty.position(100.0) == 0.0
    assert math.isinf(empty.at_position_array([1.0])[0]) and empty.position_array([5.0]).tolist() == [0.0]
    assert math.isinf(empty.next_open_array([1.0])[0])


def test_arrays_nan_and_local_times():
    w = EASTER.index(START, days=14)
    t = np.array([MON + 8 * H, MON + 17 * H, THU + 16 * H, np.nan, 40 * 1440.0 * 10])
    assert np.isnan(w.next_open_array(t)[3]) and np.isnan(w.position_array(t)[3])
    assert np.isnan(w.at_position_array([np.nan])[0]) and np.isnan(w.add_minutes_array(t, np.nan)).all()
    assert math.isinf(w.next_open_array(t)[4]) and w.position_array(t)[4] == w.cum_end[-1]
    assert w.add_minutes_array(t[:3], [0, 30, 120]).tolist() == [MON + 9 * H, TUE + 9 * H + 30, NEXT_TUE + 10 * H]
    times = w.timestamps([MON + 9 * H + 0.5, INF, np.nan])
    assert times[0] == np.datetime64("2026-03-30T09:00:30") and np.isnat(times[1:]).all()
    assert w.minutes(times).tolist()[0] == MON + 9 * H + 0.5 and np.isnan(w.minutes(times)[1:]).all()
    assert w.minutes(T("2026-03-31 09:00")) == TUE + 9 * H and math.isnan(w.minutes(pd.NaT))
    assert w.timestamps([1 / 120 - 1e-9], unit="s")[0] == np.datetime64("2026-03-30T00:00:00")  # half up
    assert w.timestamps([1 / 120], unit="s")[0] == np.datetime64("2026-03-30T00:00:01")
    assert "WorkTime(from 2026-03-30" in repr(w)


# ---------------------------------------------------------------- random calendars against the calendar

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "Pacific/Chatham")
GRID = 64  # times and offsets on 1/64 minute: exact in floats and in nanoseconds


def _hm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass
class Setup:
    ref: BusinessCalendar   # the calendar whose arithmetic the index must reproduce (the shift's hours, if any)
    index: WorkTime
    start: pd.Timestamp
    horizon: int

    def ts(self, minutes: float) -> pd.Timestamp:
        return self.start + pd.Timedelta(round(minutes * 60e9), "ns")

    def mins(self, ts: pd.Timestamp) -> float:
        return mins(ts, self.start)


@st.composite
def setups(draw) -> Setup:
    days = draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=7, unique=True))
    o = draw(st.integers(0, 22 * 60))
    c = draw(st.integers(o + 60, 1439))
    start = T(draw(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))))
    horizon = draw(st.integers(3, 30))
    holidays = [start + pd.Timedelta(days=k) for k in draw(st.lists(st.integers(-3, horizon + 30), max_size=8))]
    zone = draw(st.sampled_from(_ZONES))
    cal = BusinessCalendar(zone, days, (_hm(o), _hm(c)), holidays)
    shift = None
    if draw(st.booleans()):
        so = draw(st.integers(o, c - 30))
        shift = (_hm(so), _hm(draw(st.integers(so + 30, c))))
    ref = cal if shift is None else BusinessCalendar(zone, days, shift, holidays)
    return Setup(ref, cal.index(start, horizon, hours=shift), start, horizon)


def _time(data, s: Setup) -> float:
    """A time in the horizon: on the 1/64-minute grid, or exactly an opening, a closing or a midnight."""
    w = s.index
    kind = data.draw(st.sampled_from(["grid", "grid", "open", "close", "midnight"]))
    last = max(0, sum(o < s.horizon * 1440 for o in w.opens) - 1)
    if kind == "open" and w.opens:
        return w.opens[data.draw(st.integers(0, last))]
    if kind == "close" and w.closes:
        return w.closes[data.draw(st.integers(0, last))]
    if kind == "midnight":
        return 1440.0 * data.draw(st.integers(0, s.horizon - 1))
    return data.draw(st.integers(0, s.horizon * 1440 * GRID - 1)) / GRID


def _offset(data, s: Setup, t: float, unit: str) -> float:
    """Whole or fractional; or, in minutes from an open time, exactly what is left until the closing."""
    w = s.index
    if unit == "minutes" and w.is_open(t) and data.draw(st.booleans()):
        return w.next_close(t) - t
    top = {"days": 5, "hours": 3 * w.length / 60, "minutes": 3 * w.length}[unit]
    return data.draw(st.integers(0, int(top * GRID))) / GRID


@settings(max_examples=80, deadline=None)
@given(s=setups(), data=st.data())
def test_add_matches_the_calendar(s, data):
    t = _time(data, s)
    unit = data.draw(st.sampled_from(["days", "hours", "minutes"]))
    wall = data.draw(st.booleans())
    off = _offset(data, s, t, unit)
    got = s.index.add(t, off, unit, wall)
    want = s.mins(s.ref.add(s.ts(t), off, unit, wall))
    assert got == pytest.approx(want, abs=TOL), (s.ref, s.start, t, off, unit, wall)
    if unit == "minutes" and not wall:
        assert s.index.add_minutes_array([t], off)[0] == pytest.approx(want, abs=TOL)
    if unit == "days" and not wall:
        assert s.index.add_days(t, off) == got


@settings(max_examples=60, deadline=None)
@given(s=setups(), data=st.data())
def test_queries_match_the_calendar(s, data):
    w = s.index
    a, b = _time(data, s), _time(data, s)
    for t in (a, b):
        assert w.is_open(t) == s.ref.is_open(s.ts(t))
        assert w.next_open(t) == pytest.approx(s.mins(s.ref.next_open(s.ts(t))), abs=TOL)
        nc, no = w.next_close(t), w.next_open(t)
        assert 0 < nc - no <= w.length and nc % 1440 == s.ref.close_min and nc // 1440 == no // 1440
        # working time up to the closing exactly: the closing, not the next opening
        want = s.mins(s.ref.add_working_minutes(s.ts(t), nc - no))
        assert w.add_minutes(t, nc - no) == pytest.approx(want, abs=TOL) and want == pytest.approx(nc, abs=TOL)
        p = w.position(t)
        assert w.at_position(p) <= no + TOL and w.position(w.at_position(p)) == pytest.approx(p, abs=TOL)
        if w.is_open(t) and t not in w.opens:  # at an opening's position is the closing before it (if any)
            assert w.at_position(p) == pytest.approx(t, abs=TOL)
    assert w.open_minutes(a, b) == pytest.approx(s.ref.working_minutes_between(s.ts(a), s.ts(b)), abs=TOL)


@settings(max_examples=30, deadline=None)
@given(s=setups(), data=st.data())
def test_arrays_match_the_scalars_and_the_calendar(s, data):
    w = s.index
    t = np.array([_time(data, s) for _ in range(data.draw(st.integers(1, 8)))])
    m = data.draw(st.integers(0, int(2 * w.length * GRID))) / GRID
    assert w.next_open_array(t).tolist() == [w.next_open(x) for x in t]
    assert w.position_array(t).tolist() == [w.position(x) for x in t]
    pos = w.position_array(t) + m
    assert w.at_position_array(pos).tolist() == [w.at_position(x) for x in pos]
    assert w.add_minutes_array(t, m).tolist() == [w.add_minutes(x, m) for x in t]
    want = s.ref.add_working_minutes(pd.DatetimeIndex([s.ts(x) for x in t]), m)
    np.testing.assert_allclose(w.add_minutes_array(t, m), [s.mins(x) for x in want], rtol=0, atol=TOL)
    back = w.minutes(w.timestamps(t))
    np.testing.assert_allclose(back, t, rtol=0, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(s=setups(), data=st.data(),
       t=st.floats(0, 1, exclude_max=True), off=st.floats(0, 4), unit=st.sampled_from(["days", "hours", "minutes"]),
       wall=st.booleans())
def test_arbitrary_floats_agree_up_to_the_closing_or_next_opening(s, data, t, off, unit, wall):
    w = s.index
    t *= s.horizon * 1440
    off *= {"days": 1, "hours": w.length / 60, "minutes": w.length}[unit]
    got = w.add(t, off, unit, wall)
    want = s.mins(s.ref.add(s.ts(t), off, unit, wall))
    if abs(got - want) > TOL:  # only a closing against the next opening: one working moment, no open time between
        lo, hi = sorted((got, want))
        assert not wall and w.position(lo) == pytest.approx(w.position(hi), abs=TOL), (got, want)
        assert w.open_minutes(lo, hi) == pytest.approx(0, abs=TOL) and w.next_open(lo + TOL) == pytest.approx(hi)
