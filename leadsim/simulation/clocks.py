"""Working time in simulation minutes.

Inside a run, time is a float: minutes since the scenario's start (a naive
local midnight of the definition's calendar).  :class:`WorkTime` is the
calendar's own fast index, :class:`leadsim.worktime.WorkTime`, which
``BusinessCalendar.index(start, days, hours)`` builds; it is named here for
the simulation's modules.  ``WorkTime(calendar, start, days, hours)`` is the
same as ``calendar.index(start, days, hours)``: the open intervals of the
calendar (or of a shift on its working days) over the horizon, so
working-time arithmetic is a ``bisect`` instead of a pandas call per event,
with the calendar's conventions (a start outside working hours moves to the
next opening; an addition that lands exactly on a closing time stays there;
"day N" is the same local time N working days later).

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

from leadsim.worktime import INF, WorkTime

__all__ = ["INF", "WorkTime"]
