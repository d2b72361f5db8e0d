"""Fast working-time arithmetic on float minutes: the index a :class:`~leadsim.calendar.BusinessCalendar` builds.

``BusinessCalendar.index(start, days)`` returns a :class:`WorkTime`: the open
intervals of the calendar (or of a shift, other hours on the same working
days) from local midnight of ``start`` over ``days`` days plus a margin, as
float *minutes since that midnight*.  Working-time arithmetic is then a
``bisect`` on a list instead of a pandas call, which is what the simulation
(one call per event) and the history generator (arrays of times) need.

It is the calendar's arithmetic, only faster, with the same conventions:

- the office is open from the opening (included) to the closing (excluded),
  so ``next_open`` of a closing time is the next opening;
- working time starts at the next opening when a clock starts outside
  working hours, and a working-time addition that lands exactly on a closing
  time stays there (09:00 + 480 working minutes = 17:00 the same day);
- "``n`` working days later" is the same local time ``n`` working days later,
  its fraction a fraction of a working day (of the shift, for a shift);
- a wall-clock offset is plain elapsed time from the start itself;
- a half day closes the calendar, and every shift on it, at its ``until``
  (a shift that would start after it has no time that day), and "the same
  local time ``n`` working days later" past a half day's closing is that
  closing.

A position or time beyond the indexed range is ``math.inf``; times before
``start`` are not indexed (they count as before the first opening).
:meth:`WorkTime.add` works in floats (minutes); the calendar rounds to
nanoseconds, so the two agree to a few nanoseconds, exactly on whole minutes.

>>> import pandas as pd
>>> from leadsim.calendar import BusinessCalendar
>>> cal = BusinessCalendar("Europe/Berlin", holidays=["2026-04-03", "2026-04-06"])  # Mon-Fri 09-17, Easter
>>> w = cal.index(pd.Timestamp("2026-03-30"), days=14)         # a Monday
>>> w.add_minutes(9 * 60, 480) / 60                             # Monday 09:00 + 8 working hours = 17:00
17.0
>>> w.next_open(17 * 60) / 60                                   # the closing itself: Tuesday's opening
33.0
>>> str(w.timestamps([w.add(3 * 1440 + 10 * 60, 1, "days")])[0])   # Thursday + 1 day, over Easter
'2026-04-07T10:00:00.000000000'
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadsim.errors import DataError, DefinitionError

if TYPE_CHECKING:
    from leadsim.calendar import BusinessCalendar

__all__ = ["INF", "WorkTime"]

#: what a time or position beyond the indexed range is
INF = math.inf
_WALL = {"days": 1440.0, "hours": 60.0, "minutes": 1.0}
_MINUTE = np.timedelta64(60_000_000_000, "ns")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def _minute_of(t: str | dt.time) -> int:
    t = dt.time.fromisoformat(t) if isinstance(t, str) else t
    return t.hour * 60 + t.minute


class WorkTime:
    """The open intervals of a calendar (or of a shift on its working days) as minutes since ``start``.

    Build it with :meth:`leadsim.calendar.BusinessCalendar.index`.  The scalar
    methods take and return floats (minutes since local midnight of
    ``start``); the ``*_array`` methods do the same on numpy arrays, and
    :meth:`minutes` / :meth:`timestamps` convert to and from local times.

    Attributes: ``start`` (local midnight, minute 0), ``opens`` and ``closes``
    (every opening and closing in the range, ascending), ``cum`` and
    ``cum_end`` (the working minutes before each opening and at each
    closing), ``length`` (minutes of one working day or shift),
    ``open_min`` and ``close_min`` (the hours as minutes of the day), and
    ``calendar``.  Build it once and do not change it.

    >>> from leadsim.calendar import BusinessCalendar
    >>> w = BusinessCalendar("UTC").index(pd.Timestamp("2026-03-02"), days=7, hours=("10:00", "16:00"))
    >>> w.opens[:2], w.closes[:2], w.length
    ([600.0, 2040.0], [960.0, 2400.0], 360.0)
    """

    def __init__(self, calendar: BusinessCalendar, start: Any, days: float,
                 hours: tuple[str, str] | tuple[dt.time, dt.time] | None = None, *, margin_days: int = 120):
        self.calendar = calendar
        self.start = pd.Timestamp(start).normalize()
        self._start64 = self.start.to_datetime64().astype("datetime64[ns]")
        n = max(0, math.ceil(days)) + margin_days
        dates = pd.date_range(self.start, periods=n, freq="D")
        work = np.asarray(calendar.is_working_day(pd.DatetimeIndex(dates)), dtype=bool)
        if hours is None:
            o, c = calendar.open_min, calendar.close_min
        else:
            try:
                o, c = _minute_of(hours[0]), _minute_of(hours[1])
            except (ValueError, TypeError, IndexError):
                raise DefinitionError(f"hours {hours!r} must be two times like ['09:00', '17:00']",
                                      where="shifts") from None
            if not o < c:
                raise DefinitionError(f"hours {list(hours)}: the start must come before the end", where="shifts")
        day0 = np.flatnonzero(work).astype(float) * 1440.0
        self.open_min, self.close_min = o, c
        self.length = float(c - o)
        if len(calendar.half_days):  # half days close early, for the working hours and every shift alike
            ends = np.minimum(float(c), calendar.closing_minutes(dates[work]).astype(float))
            day0, ends = day0[ends > o], ends[ends > o]
            self.opens: list[float] = (day0 + o).tolist()
            self.closes: list[float] = (day0 + ends).tolist()
            self.cum_end = np.cumsum(ends - o).tolist()
            self.cum = (np.asarray(self.cum_end) - (ends - o)).tolist()
        else:
            self.opens = (day0 + o).tolist()
            self.closes = (day0 + c).tolist()
            self.cum = [i * self.length for i in range(len(self.opens))]
            self.cum_end = [x + self.length for x in self.cum]
        self._a_opens, self._a_closes = np.array(self.opens, float), np.array(self.closes, float)
        self._a_cum, self._a_cum_end = np.array(self.cum, float), np.array(self.cum_end, float)

    @classmethod
    def from_intervals(cls, calendar: BusinessCalendar, start: Any, opens: Any, closes: Any, *,
                       open_min: int, close_min: int) -> WorkTime:
        """A WorkTime of given open intervals (minutes since local midnight of ``start``, ascending, not
        overlapping): another zone's working hours seen on this clock (see
        :meth:`leadsim.calendars.TeamCalendars.index`).  ``open_min`` and ``close_min`` are the hours in
        that calendar's own zone; :attr:`length` is their difference (a working day there).

        >>> from leadsim.calendar import BusinessCalendar
        >>> w = WorkTime.from_intervals(BusinessCalendar("UTC"), pd.Timestamp("2026-03-02"), [840.0, 2280.0],
        ...                             [1320.0, 2760.0], open_min=540, close_min=1020)
        >>> w.add_minutes(1300.0, 30), w.is_open(2279.0), w.length
        (2290.0, False, 480.0)
        """
        self = cls.__new__(cls)
        self.calendar = calendar
        self.start = pd.Timestamp(start).normalize()
        self._start64 = self.start.to_datetime64().astype("datetime64[ns]")
        self.open_min, self.close_min = open_min, close_min
        self.length = float(close_min - open_min)
        a_opens, a_closes = np.asarray(opens, float), np.asarray(closes, float)
        self.opens, self.closes = a_opens.tolist(), a_closes.tolist()
        ends = np.cumsum(a_closes - a_opens)  # a day may be longer or shorter on this clock (daylight saving)
        self.cum_end = ends.tolist()
        self.cum = (ends - (a_closes - a_opens)).tolist()
        self._a_opens, self._a_closes = a_opens, a_closes
        self._a_cum, self._a_cum_end = np.array(self.cum, float), np.array(self.cum_end, float)
        return self

    def __repr__(self) -> str:
        return (f"WorkTime(from {self.start.date()}, {len(self.opens)} working days of "
                f"{self.open_min // 60:02d}:{self.open_min % 60:02d}-{self.close_min // 60:02d}:{self.close_min % 60:02d})")

    # -- scalar queries (the simulation calls these once per event) ------------------------------

    def next_open(self, t: float) -> float:
        """``t`` while open (opening included, closing excluded), else the next opening.

        >>> w = _example()
        >>> w.next_open(600.0), w.next_open(1020.0), w.next_open(-5.0)   # open; Monday's closing; before start
        (600.0, 1980.0, 540.0)
        """
        i = bisect_right(self.closes, t)
        if i >= len(self.opens):
            return INF
        return max(t, self.opens[i])

    def next_close(self, t: float) -> float:
        """The closing that ends the open interval at or after ``t`` (``t`` itself is never its own closing).

        >>> w = _example()
        >>> w.next_close(600.0), w.next_close(1020.0)    # Monday 10:00; Monday's closing -> Tuesday's
        (1020.0, 2460.0)
        """
        i = bisect_right(self.closes, t)
        return self.closes[i] if i < len(self.closes) else INF

    def is_open(self, t: float) -> bool:
        """Whether ``t`` is working time (opening included, closing excluded).

        >>> w = _example()
        >>> w.is_open(540.0), w.is_open(1019.5), w.is_open(1020.0)
        (True, True, False)
        """
        i = bisect_right(self.closes, t)
        return i < len(self.opens) and self.opens[i] <= t

    def position(self, t: float) -> float:
        """Working minutes elapsed from the first opening to ``t``.

        >>> w = _example()
        >>> w.position(600.0), w.position(1200.0), w.position(1440 + 600.0)
        (60.0, 480.0, 540.0)
        """
        i = bisect_right(self.closes, t)
        if i >= len(self.opens):
            return self.cum_end[-1] if self.cum_end else 0.0
        return self.cum[i] + max(0.0, t - self.opens[i])

    def at_position(self, pos: float) -> float:
        """The time at ``pos`` working minutes (the inverse of :meth:`position`); a closing stays a closing.

        >>> w = _example()
        >>> w.at_position(60.0), w.at_position(480.0), w.at_position(480.5)
        (600.0, 1020.0, 1980.5)
        """
        j = bisect_left(self.cum_end, pos)
        if j >= len(self.opens):
            return INF
        return self.opens[j] + (pos - self.cum[j])

    def add_minutes(self, t: float, m: float) -> float:
        """``t`` plus ``m`` working minutes, from the next opening if closed (``m <= 0``: the next opening).

        >>> w = _example()
        >>> w.add_minutes(540.0, 480), w.add_minutes(540.0, 481), w.add_minutes(1020.0, 0)
        (1020.0, 1981.0, 1980.0)
        """
        start = self.next_open(t)
        if start == INF or m <= 0:
            return start
        return self.at_position(self.position(start) + m)

    def add_days(self, t: float, n: float) -> float:
        """The same local time ``n`` working days later, from the next opening if closed; a fraction of a
        day adds that fraction of :attr:`length` as working minutes.

        >>> w = _example()
        >>> w.add_days(4 * 1440 + 960.0, 1) / 60       # Friday 16:00 -> Monday 16:00
        184.0
        >>> w.add_days(1200.0, 0.5) / 60               # Monday 20:00 -> Tuesday 09:00 + 4 h
        37.0
        """
        start = self.next_open(t)
        i = bisect_right(self.closes, start)
        whole = math.floor(n)
        if i + whole >= len(self.opens):
            return INF
        out = min(self.opens[i + whole] + (start - self.opens[i]), self.closes[i + whole])  # a half day's closing
        frac = n - whole
        return self.add_minutes(out, frac * self.length) if frac else out

    def add(self, t: float, offset: float, unit: str = "days", wall_clock: bool = False) -> float:
        """An SLA offset after ``t``, as :meth:`leadsim.calendar.BusinessCalendar.add`.

        >>> w = _example()
        >>> w.add(960.0, 2, "hours") / 60, w.add(960.0, 2, "hours", wall_clock=True) / 60
        (34.0, 18.0)
        """
        if wall_clock:
            try:
                return t + offset * _WALL[unit]
            except KeyError:
                raise DataError(f"unknown SLA unit {unit!r}; use one of {list(_WALL)}", where="sla") from None
        if unit == "days":
            return self.add_days(t, offset)
        if unit == "hours":
            return self.add_minutes(t, offset * 60.0)
        if unit == "minutes":
            return self.add_minutes(t, offset)
        raise DataError(f"unknown SLA unit {unit!r}; use one of {list(_WALL)}", where="sla")

    def open_minutes(self, a: float, b: float) -> float:
        """Open minutes within ``[a, b)`` (negative when ``b < a``).

        >>> _example().open_minutes(960.0, 1440 + 600.0)     # Monday 16:00 to Tuesday 10:00
        120.0
        """
        return self.position(b) - self.position(a)

    # -- arrays (the history generator works on many times at once) ------------------------------

    def next_open_array(self, t: Any) -> np.ndarray:
        """:meth:`next_open` of each of ``t`` (NaN stays NaN).

        >>> _example().next_open_array([600.0, 1020.0, np.nan]).tolist()
        [600.0, 1980.0, nan]
        """
        t = np.asarray(t, float)
        i = np.searchsorted(self._a_closes, t, side="right")
        beyond = i >= len(self.opens)
        out = np.maximum(t, self._a_opens[np.minimum(i, len(self.opens) - 1)]) if self.opens else t.copy()
        return np.where(beyond & ~np.isnan(t), INF, out)

    def position_array(self, t: Any) -> np.ndarray:
        """:meth:`position` of each of ``t`` (NaN stays NaN).

        >>> _example().position_array([600.0, 1200.0, 1440 + 600.0]).tolist()
        [60.0, 480.0, 540.0]
        """
        t = np.asarray(t, float)
        if not self.opens:
            return np.where(np.isnan(t), np.nan, 0.0)
        i = np.searchsorted(self._a_closes, t, side="right")
        k = np.minimum(i, len(self.opens) - 1)
        inside = self._a_cum[k] + np.maximum(0.0, t - self._a_opens[k])
        return np.where(i >= len(self.opens), np.where(np.isnan(t), np.nan, self.cum_end[-1]), inside)

    def at_position_array(self, pos: Any) -> np.ndarray:
        """:meth:`at_position` of each of ``pos``: a closing stays a closing (NaN stays NaN).

        >>> _example().at_position_array([60.0, 480.0, 480.5]).tolist()
        [600.0, 1020.0, 1980.5]
        """
        pos = np.asarray(pos, float)
        if not self.opens:
            return np.where(np.isnan(pos), np.nan, INF)
        j = np.searchsorted(self._a_cum_end, pos, side="left")
        k = np.minimum(j, len(self.opens) - 1)
        out = self._a_opens[k] + (pos - self._a_cum[k])
        return np.where((j >= len(self.opens)) & ~np.isnan(pos), INF, out)

    def add_minutes_array(self, t: Any, m: Any) -> np.ndarray:
        """:meth:`add_minutes` of each of ``t`` and ``m`` (broadcast; NaN stays NaN).

        >>> _example().add_minutes_array([540.0, 540.0, 1020.0], [480, 481, 0]).tolist()
        [1020.0, 1981.0, 1980.0]
        """
        t, m = np.broadcast_arrays(np.asarray(t, float), np.asarray(m, float))
        later = self.at_position_array(self.position_array(t) + m)
        return np.where(m > 0, later, np.where(np.isnan(m), np.nan, self.next_open_array(t)))

    # -- local times -----------------------------------------------------------------------------

    def minutes(self, times: Any) -> Any:
        """Naive local times as minutes since :attr:`start` (a float for one time; NaT is NaN).

        >>> w = _example()
        >>> w.minutes(pd.Timestamp("2026-03-03 09:30"))
        2010.0
        >>> w.minutes(np.array(["2026-03-02T10:00:30"], dtype="datetime64[ns]")).tolist()
        [600.5]
        """
        if isinstance(times, pd.Timestamp | dt.datetime | np.datetime64 | str):
            ts = pd.Timestamp(times)
            return math.nan if ts is pd.NaT else (ts - self.start) / pd.Timedelta(minutes=1)
        return (np.asarray(times, dtype="datetime64[ns]") - self._start64) / _MINUTE

    def timestamps(self, minutes: Any, unit: str = "ns") -> np.ndarray:
        """Minutes since :attr:`start` as ``datetime64[ns]`` local times, rounded half up to whole ``unit``
        (``"ns"``, ``"us"``, ``"ms"`` or ``"s"``); NaN and ``inf`` become NaT.

        >>> w = _example()
        >>> [str(x) for x in w.timestamps([600.0, 600.25 + 1e-9, INF], unit="s")]
        ['2026-03-02T10:00:00.000000000', '2026-03-02T10:00:15.000000000', 'NaT']
        """
        m = np.asarray(minutes, float)
        ok = np.isfinite(m)
        step = _UNIT_NS[unit]
        if step == 1:
            ns = np.floor(np.where(ok, m, 0.0) * 60e9 + 0.5).astype(np.int64)
        else:
            ns = np.floor(np.where(ok, m, 0.0) * (60e9 / step) + 0.5).astype(np.int64) * step
        ns = np.where(ok, ns, np.iinfo(np.int64).min)  # NaT
        return self._start64 + ns.astype("timedelta64[ns]")


def _example() -> WorkTime:
    """Mon-Fri 09:00-17:00 from Monday 2026-03-02 (the docstrings' index)."""
    from leadsim.calendar import BusinessCalendar

    return BusinessCalendar("UTC").index(pd.Timestamp("2026-03-02"), days=14)
