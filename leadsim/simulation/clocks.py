"""Working time in simulation minutes, and SLA clocks as SimPy processes.

Inside a run, time is a float: minutes since the scenario's start (a naive
local midnight of the definition's calendar).  :class:`WorkTime` indexes the
open intervals of a :class:`~leadsim.calendar.BusinessCalendar` (or of a
shift on its working days) over the horizon, so working-time arithmetic is a
``bisect`` instead of a pandas call per event.  It follows the calendar's
conventions: a start outside working hours moves to the next opening; an
addition that lands exactly on a closing time stays there; "day N" is the
same local time N working days later.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.calendar import BusinessCalendar
>>> cal = BusinessCalendar.from_definition(load_definition())
>>> w = WorkTime(cal, pd.Timestamp("2026-03-02"), days=14)     # a Monday
>>> w.next_open(20 * 60) / 60                                   # 20:00 -> Tuesday 09:00
33.0
>>> w.add(16 * 60, 90, "minutes") / 60                          # 16:00 + 90 working minutes
33.5
>>> w.add(4 * 1440 + 16 * 60, 1, "days") / 60                   # Friday 16:00 + 1 day = Monday 16:00
184.0
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right

import numpy as np
import pandas as pd

from leadsim.calendar import BusinessCalendar

__all__ = ["WorkTime"]

INF = math.inf


def _minute_of(t: str | dt.time) -> int:
    t = dt.time.fromisoformat(t) if isinstance(t, str) else t
    return t.hour * 60 + t.minute


class WorkTime:
    """Open intervals of a calendar (optionally with other hours) as minute offsets."""

    def __init__(self, calendar: BusinessCalendar, start: pd.Timestamp, days: float,
                 hours: tuple[str, str] | None = None, *, margin_days: int = 120):
        self.start = pd.Timestamp(start).normalize()
        n = math.ceil(days) + margin_days
        dates = pd.date_range(self.start, periods=n, freq="D")
        work = np.asarray(calendar.is_working_day(pd.DatetimeIndex(dates)), dtype=bool)
        if hours is None:
            o, c = calendar.open_min, calendar.close_min
        else:
            o, c = _minute_of(hours[0]), _minute_of(hours[1])
        day0 = np.flatnonzero(work).astype(float) * 1440.0
        self.opens = (day0 + o).tolist()
        self.closes = (day0 + c).tolist()
        self.length = float(c - o)
        self.cum = [i * self.length for i in range(len(self.opens))]
        self.cum_end = [x + self.length for x in self.cum]

    # -- queries ----------------------------------------------------------------

    def next_open(self, t: float) -> float:
        """``t`` while open (opening included, closing excluded), else the next opening."""
        i = bisect_right(self.closes, t)
        if i >= len(self.opens):
            return INF
        return max(t, self.opens[i])

    def is_open(self, t: float) -> bool:
        i = bisect_right(self.closes, t)
        return i < len(self.opens) and self.opens[i] <= t

    def position(self, t: float) -> float:
        """Working minutes elapsed from the first opening to ``t``."""
        i = bisect_right(self.closes, t)
        if i >= len(self.opens):
            return self.cum_end[-1] if self.cum_end else 0.0
        return self.cum[i] + max(0.0, t - self.opens[i])

    def at_position(self, pos: float) -> float:
        """The inverse of :meth:`position`; a closing time stays a closing time."""
        j = bisect_left(self.cum_end, pos)
        if j >= len(self.opens):
            return INF
        return self.opens[j] + (pos - self.cum[j])

    def add_minutes(self, t: float, m: float) -> float:
        start = self.next_open(t)
        if start == INF or m <= 0:
            return start
        return self.at_position(self.position(start) + m)

    def add_days(self, t: float, n: float) -> float:
        start = self.next_open(t)
        i = bisect_right(self.closes, start)
        whole = math.floor(n)
        if i + whole >= len(self.opens):
            return INF
        out = self.opens[i + whole] + (start - self.opens[i])
        frac = n - whole
        return self.add_minutes(out, frac * self.length) if frac else out

    def add(self, t: float, offset: float, unit: str = "days", wall_clock: bool = False) -> float:
        """An SLA offset after ``t`` (see :meth:`leadsim.calendar.BusinessCalendar.add`)."""
        if wall_clock:
            return t + offset * {"days": 1440.0, "hours": 60.0, "minutes": 1.0}[unit]
        if unit == "days":
            return self.add_days(t, offset)
        return self.add_minutes(t, offset * (60.0 if unit == "hours" else 1.0))

    def open_minutes(self, a: float, b: float) -> float:
        """Open minutes within ``[a, b)``."""
        return self.position(b) - self.position(a)

    def timestamps(self, minutes: np.ndarray) -> np.ndarray:
        """Sim minutes as ``datetime64[ns]`` local times (half a nanosecond rounds up, as the run's stage times)."""
        ns = np.floor(np.asarray(minutes, float) * 60e9 + 0.5).astype(np.int64)
        return self.start.to_datetime64().astype("datetime64[ns]") + ns.astype("timedelta64[ns]")
