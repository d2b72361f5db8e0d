"""The business calendar every timestamp and SLA clock lives on.

A :class:`BusinessCalendar` holds the definition's time zone, working days,
working hours, holidays (non-working days) and half days (working days that
close early).  All methods take
naive *local* times and accept either one ``pandas.Timestamp`` or many
(``DatetimeIndex``, ``Series``, ``numpy`` array); arrays are handled with
vectorised numpy (``numpy.busday_offset``/``busday_count``), never a Python
loop, and come back in the same container (``datetime64[ns]``).  ``NaT`` stays
``NaT``.

Conventions (docs/design.md section 3, "Time"):

- ``next_open(t)`` is ``t`` itself while the office is open (opening time
  included, closing time excluded), else the next opening.
- ``add_working_days(t, n)``: the same local time ``n`` working days later;
  a start outside working hours first moves to the next opening.  A
  fractional ``n`` adds its fraction of a working day as working minutes.
- ``add_working_minutes(t, m)`` counts working time only; a result that lands
  exactly on a closing time stays there (09:00 + 480 min = 17:00 the same day).
- ``working_minutes_between(a, b)`` is the working time in ``[a, b)``
  (negative when ``b < a``), consistent with ``add_working_minutes``.
- A half day is a working day whose closing is its ``until``: working time
  on it stops there, and "the same local time ``n`` working days later" that
  falls after it is that half day's closing.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> cal = BusinessCalendar.from_definition(load_definition())
>>> fri = pd.Timestamp("2026-03-06 16:00")          # a Friday
>>> cal.add_working_days(fri, 1)                      # Monday, same time
Timestamp('2026-03-09 16:00:00')
>>> cal.next_open(pd.Timestamp("2026-03-07 11:00"))   # Saturday -> Monday opening
Timestamp('2026-03-09 09:00:00')
>>> cal.add_working_minutes(fri, 90)                  # 60 min Friday, 30 min Monday
Timestamp('2026-03-09 09:30:00')
>>> cal.working_minutes_between(fri, pd.Timestamp("2026-03-09 09:30"))
90.0
>>> cal.add_working_days(pd.Timestamp("2026-04-02 10:00"), 1)   # Good Friday, Easter Monday
Timestamp('2026-04-07 10:00:00')
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from leadsim import public_holidays
from leadsim.errors import DataError, DefinitionError
from leadsim.timezones import ZONE_SUFFIX, local_times, zone_shift
from leadsim.worktime import WorkTime

__all__ = ["ZONE_SUFFIX", "BusinessCalendar", "zone_shift"]

_NS_PER_MIN = 60_000_000_000
_NS_PER_DAY = 86_400_000_000_000
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNITS = ("days", "hours", "minutes")


def _minutes(t: dt.time | str) -> int:
    if isinstance(t, str):
        t = dt.time.fromisoformat(t)
    return t.hour * 60 + t.minute


class BusinessCalendar:
    """Working days, working hours and holidays in one time zone.

    Parameters
    ----------
    timezone:
        IANA zone name of the local times (``"Europe/Berlin"``).
    working_days:
        Day names (``"mon"`` ... ``"sun"``) the office works.
    working_hours:
        ``("09:00", "17:00")``: opening and closing local time.
    holidays:
        Dates that are not working days even on a working weekday.
    half_days:
        Working days that close early: ``{"date": "2026-12-24", "until": "12:00"}``,
        ``{"every_year": "12-31", "until": "13:00"}`` (each year of
        :data:`leadsim.public_holidays.YEARS`), or the definition's
        :class:`~leadsim.definition.calendar_model.HalfDay` entries.  A dated
        entry overrides an every-year one on its date; one on a weekend or a
        holiday changes nothing.

    >>> cal = BusinessCalendar("UTC", ["mon", "tue"], ("08:00", "12:00"))
    >>> cal.is_open(pd.Timestamp("2026-03-03 11:59"))   # a Tuesday
    True
    >>> cal.is_open(pd.Timestamp("2026-03-03 12:00"))
    False
    >>> xmas = BusinessCalendar("Europe/Berlin", country="DE", half_days=[{"every_year": "12-24", "until": "12:00"}])
    >>> xmas.add(pd.Timestamp("2026-12-24 10:00"), 4, "hours")    # 2 h on the half day, then Monday 28 Dec
    Timestamp('2026-12-28 11:00:00')
    """

    def __init__(
        self,
        timezone: str = "UTC",
        working_days: list[str] | tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri"),
        working_hours: tuple[str, str] | tuple[dt.time, dt.time] = ("09:00", "17:00"),
        holidays: list[Any] | tuple[Any, ...] = (),
        *,
        country: str | None = None,
        subdivision: str | None = None,
        half_days: list[Any] | tuple[Any, ...] = (),
    ):
        days = [str(d).strip().lower()[:3] for d in working_days]
        bad = [d for d in days if d not in _WEEKDAYS]
        if bad:
            raise DefinitionError(f"unknown working day(s) {bad}; use {list(_WEEKDAYS)}", where="calendar.working_days")
        if not days:
            raise DefinitionError(
                "a calendar needs at least one working day, e.g. [mon, tue, wed, thu, fri]",
                where="calendar.working_days",
            )
        try:
            self.open_min = _minutes(working_hours[0])
            self.close_min = _minutes(working_hours[1])
        except (ValueError, TypeError, IndexError):
            raise DefinitionError(
                f"working hours {working_hours!r} must be two times like ['09:00', '17:00']",
                where="calendar.working_hours",
            ) from None
        if not self.open_min < self.close_min:
            raise DefinitionError(
                f"working hours {list(working_hours)}: the opening must come before the closing time",
                where="calendar.working_hours",
            )
        self.timezone = timezone
        self.working_days = [d for d in _WEEKDAYS if d in days]
        self.weekmask = [d in days for d in _WEEKDAYS]
        try:
            own = {pd.Timestamp(h).date() for h in holidays}
        except (ValueError, TypeError):
            raise DefinitionError(f"holidays {list(holidays)!r} must be dates like 2026-12-25", where="calendar.holidays") from None
        self.country, self.subdivision = (None, None) if country is None else public_holidays.check_region(country, subdivision)
        public = public_holidays.resolve(self.country, self.subdivision) if self.country else frozenset()
        #: the years whose days off this calendar knows (both included), ``None`` for a calendar without any
        self.years: tuple[int, int] | None = (
            public_holidays.YEARS if self.country else (min(own).year, max(own).year) if own else None
        )
        hol = np.array(sorted(own | public), dtype="datetime64[D]")
        #: every day off (public holidays and the company's own), ascending
        self.holidays = hol
        self._bdc = np.busdaycalendar(weekmask=self.weekmask, holidays=hol)
        #: length of one working day in minutes
        self.day_minutes = self.close_min - self.open_min
        self._open_ns = self.open_min * _NS_PER_MIN
        self._close_ns = self.close_min * _NS_PER_MIN
        self._day_ns = self.day_minutes * _NS_PER_MIN
        self._set_half_days(half_days)

    def _set_half_days(self, entries: Any) -> None:
        """Resolve ``half_days`` to the working days they shorten: ``half_days`` (datetime64[D], ascending) with
        ``_half_close_ns`` (their closing, ns after midnight) and the running sums the working clock needs."""
        by_day: dict[dt.date, int] = {}
        dated: dict[dt.date, int] = {}
        first, last = public_holidays.YEARS
        for i, e in enumerate(entries):
            where = f"calendar.half_days[{i}]"
            e = e.model_dump() if hasattr(e, "model_dump") else e
            try:
                date, every, until = ((e.get("date"), e.get("every_year"), e["until"]) if isinstance(e, dict)
                                      else (e[0], None, e[1]))
                close = _minutes(str(until)) if not isinstance(until, dt.time) else _minutes(until)
            except (KeyError, IndexError, TypeError, ValueError):
                raise DefinitionError(f"half day {e!r} must be like {{date: 2026-12-24, until: '12:00'}} or "
                                      "{every_year: '12-24', until: '12:00'}", where=where) from None
            if not self.open_min < close < self.close_min:
                raise DefinitionError(
                    f"half day {e!r}: 'until' must fall inside the working hours "
                    f"{self.open_min // 60:02d}:{self.open_min % 60:02d}-{self.close_min // 60:02d}:"
                    f"{self.close_min % 60:02d}; a day without any working time goes under holidays", where=where)
            try:
                if (date is None) == (every is None):
                    raise ValueError
                if date is not None:
                    dated[pd.Timestamp(date).date()] = close
                    continue
                month, day = (int(x) for x in str(every).split("-"))
                for year in range(first, last + 1):
                    try:
                        by_day[dt.date(year, month, day)] = close
                    except ValueError:  # 29 February of a year without one
                        if (month, day) != (2, 29):
                            raise
            except (ValueError, TypeError):
                raise DefinitionError(f"half day {e!r} needs either a date (2026-12-24) or every_year ('12-24')",
                                      where=where) from None
        by_day.update(dated)
        days = np.array(sorted(by_day), dtype="datetime64[D]")
        keep = np.is_busday(days, busdaycal=self._bdc) if len(days) else np.zeros(0, dtype=bool)
        #: the half days that shorten a working day (ascending), and the closing of each in ns after midnight
        self.half_days = days[keep]
        self._half_close_ns = np.array([by_day[d] for d in self.half_days.tolist()], dtype=np.int64) * _NS_PER_MIN
        short = self._close_ns - self._half_close_ns
        #: working ns lost before each half day (index j: on half days 0..j-1), one more entry at the end
        self._half_cum_short = np.concatenate([[0], np.cumsum(short)]).astype(np.int64)
        index = np.busday_count(np.datetime64("1970-01-01", "D"), self.half_days, busdaycal=self._bdc).astype(np.int64)
        #: the working-clock position where each half day closes
        self._half_end_pos = index * self._day_ns - self._half_cum_short[:-1] + (self._half_close_ns - self._open_ns)

    def closing_minutes(self, days: Any) -> np.ndarray:
        """The closing of each of ``days`` (dates or times) in minutes after midnight: the working hours' closing,
        or a half day's ``until``.

        >>> cal = BusinessCalendar("UTC", half_days=[{"date": "2026-12-31", "until": "13:00"}])
        >>> cal.closing_minutes(pd.DatetimeIndex(["2026-12-30", "2026-12-31"])).tolist()
        [1020, 780]
        """
        d = np.asarray(pd.DatetimeIndex(np.atleast_1d(np.asarray(days, dtype="datetime64[ns]")))
                       .values.astype("datetime64[D]"))
        return (np.broadcast_to(self._close_of(d), d.shape) // _NS_PER_MIN).astype(np.int64)

    def _close_of(self, day: np.ndarray) -> Any:
        """The closing (ns after midnight) of each ``day`` (datetime64[D]); a scalar without half days."""
        if not len(self.half_days):
            return self._close_ns
        i = np.searchsorted(self.half_days, day)
        hit = (i < len(self.half_days)) & (self.half_days[np.minimum(i, len(self.half_days) - 1)] == day)
        return np.where(hit, self._half_close_ns[np.minimum(i, len(self.half_days) - 1)], self._close_ns)

    @classmethod
    def from_definition(cls, definition: Any, *, name: str | None = None) -> BusinessCalendar:
        """The calendar of a :class:`~leadsim.definition.LeadDefinition` (or a ``Calendar`` part itself);
        ``name`` picks one of the definition's named ``calendars`` instead of its own.

        Built once per calendar and definition part and then shared (a calendar is not changed after it is
        built), so resolving a country's holidays costs nothing the second time.

        >>> from leadsim import load_definition
        >>> BusinessCalendar.from_definition(load_definition()).country
        'DE'
        """
        c = getattr(definition, "calendar", definition)
        if name is not None:
            known = getattr(definition, "calendars", {}) or {}
            if name not in known:
                raise DefinitionError(f"unknown calendar {name!r}; the definition names {sorted(known)}",
                                      where="calendars")
            c = known[name]
        key = (c.timezone, tuple(c.working_days), tuple(c.working_hours), tuple(c.holidays),
               getattr(c, "country", None), getattr(c, "subdivision", None),
               tuple((h.date, h.every_year, h.until) for h in getattr(c, "half_days", ()) or ()))
        return _built(cls, key)

    def provenance(self, start: Any = None, end: Any = None) -> dict[str, Any]:
        """What this calendar rests on, for outputs to record: zone, hours, country and region, the
        ``holidays`` package version (``None`` without a country), and the days off and half days (those
        that shorten a working day) from ``start`` to ``end``.

        >>> cal = BusinessCalendar("Europe/Berlin", country="DE", half_days=[{"every_year": "12-24", "until": "12:00"}])
        >>> p = cal.provenance("2025-10-01", "2025-12-31")
        >>> p["days_off"], p["half_days"], p["holidays_version"] >= "0.109"
        (['2025-10-03', '2025-12-25', '2025-12-26'], ['2025-12-24 until 12:00'], True)
        """
        def span(days: np.ndarray) -> np.ndarray:
            keep = np.ones(len(days), dtype=bool)
            if start is not None and not pd.isna(start):
                keep &= days >= np.datetime64(pd.Timestamp(start).date(), "D")
            if end is not None and not pd.isna(end):
                keep &= days <= np.datetime64(pd.Timestamp(end).date(), "D")
            return keep

        hol = self.holidays[span(self.holidays)]
        half = span(self.half_days)
        half_days = [f"{d} until {m // 60:02d}:{m % 60:02d}" for d, m in
                     zip(self.half_days[half], (self._half_close_ns[half] // _NS_PER_MIN).tolist(), strict=True)]
        hours = (f"{self.open_min // 60:02d}:{self.open_min % 60:02d}", f"{self.close_min // 60:02d}:{self.close_min % 60:02d}")
        return {
            "timezone": self.timezone,
            "working_days": list(self.working_days),
            "working_hours": list(hours),
            "country": self.country,
            "subdivision": self.subdivision,
            "holidays_version": public_holidays.version() if self.country else None,
            "days_off": [str(d) for d in hol],
            "half_days": half_days,
        }

    def warn_beyond(self, start: Any, end: Any, what: str) -> bool:
        """Warn (:class:`~leadsim.definition.LeadsimWarning`) when ``[start, end]`` reaches past the years
        whose days off this calendar knows (a hand-typed list ends somewhere); ``True`` if it warned.

        >>> import warnings
        >>> cal = BusinessCalendar("UTC", holidays=["2026-12-25"])
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     cal.warn_beyond("2026-06-01", "2027-02-01", "the audit")
        True
        >>> print(w[0].message)   # doctest: +ELLIPSIS
        the audit runs from 2026-06-01 to 2027-02-01, past 2026, the last year the calendar's holidays list; ...
        """
        if self.years is None or start is None or end is None or pd.isna(start) or pd.isna(end):
            return False
        first, last = self.years
        a, b = pd.Timestamp(start), pd.Timestamp(end)
        if a.year >= first and b.year <= last:
            return False
        from leadsim.definition import LeadsimWarning  # the definition package does not import this module

        where = "past" if b.year > last else "before"
        year = last if b.year > last else first
        fix = ("add the missing years to calendar.holidays, or give calendar.country (e.g. country: DE) so "
               "leadsim takes every year's public holidays from the holidays package") if not self.country else \
            f"holidays are resolved for {first}-{last} only"
        warnings.warn(f"{what} runs from {a.date()} to {b.date()}, {where} {year}, the "
                      f"{'last' if where == 'past' else 'first'} year the calendar's holidays list; days off after "
                      f"it are missing ({fix})", LeadsimWarning, stacklevel=2)
        return True

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.timezone!r}, {self.working_days}, "
            f"('{self.open_min // 60:02d}:{self.open_min % 60:02d}', '{self.close_min // 60:02d}:{self.close_min % 60:02d}'), "
            f"{len(self.holidays)} holidays" + (f", {len(self.half_days)} half days)" if len(self.half_days) else ")")
        )

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _to_ns(t: Any) -> tuple[np.ndarray, Any]:
        """int64 nanoseconds (NaT = min int) and a function rebuilding the caller's container."""
        if isinstance(t, pd.Timestamp | dt.datetime | np.datetime64 | str):
            ts = pd.Timestamp(t)
            if ts.tzinfo is not None:
                raise DataError(
                    f"time {ts} carries a time zone; pass naive local times (see BusinessCalendar.localize)",
                    where="calendar",
                )
            arr = np.array([ts.as_unit("ns").value if ts is not pd.NaT else np.iinfo(np.int64).min], dtype=np.int64)

            def back(v: np.ndarray) -> Any:
                return pd.Timestamp(v.astype("datetime64[ns]")[0])

            return arr, back
        if isinstance(t, pd.Series):
            vals = _naive_values(t)

            def back(v: np.ndarray) -> Any:
                return pd.Series(v.astype("datetime64[ns]"), index=t.index, name=t.name)

            return vals, back
        if isinstance(t, pd.DatetimeIndex):
            vals = _naive_values(pd.Series(t))

            def back(v: np.ndarray) -> Any:
                return pd.DatetimeIndex(v.astype("datetime64[ns]"), name=t.name)

            return vals, back
        arr = np.asarray(t)
        if arr.dtype.kind != "M":
            try:
                arr = pd.to_datetime(arr.ravel()).values.reshape(arr.shape)
            except (ValueError, TypeError):
                raise DataError(f"cannot read {arr.ravel()[:3].tolist()} as times", where="calendar") from None
        shape = arr.shape
        vals = arr.astype("datetime64[ns]").ravel().view(np.int64)

        def back(v: np.ndarray) -> Any:
            return v.astype("datetime64[ns]").reshape(shape)

        return vals, back

    def _split(self, ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(day as datetime64[D], time of day in ns, NaT mask)."""
        nat = ns == np.iinfo(np.int64).min
        safe = np.where(nat, 0, ns)
        day_ns = np.floor_divide(safe, _NS_PER_DAY) * _NS_PER_DAY
        day = (day_ns // _NS_PER_DAY).astype("datetime64[D]")
        return day, safe - day_ns, nat

    @staticmethod
    def _join(day: np.ndarray, tod: np.ndarray, nat: np.ndarray) -> np.ndarray:
        out = day.astype(np.int64) * _NS_PER_DAY + tod
        out[nat] = np.iinfo(np.int64).min
        return out

    def _next_open_ns(self, ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        day, tod, nat = self._split(ns)
        bus = np.is_busday(day, busdaycal=self._bdc)
        close = self._close_of(day)
        open_now = bus & (tod >= self._open_ns) & (tod < close)
        before = bus & (tod < self._open_ns)
        # next working day strictly after `day` (rolls forward from a non-working day)
        nxt = np.busday_offset(day, 0, roll="forward", busdaycal=self._bdc)
        after_close_bus = bus & (tod >= close)
        if after_close_bus.any():
            nxt = np.where(after_close_bus, np.busday_offset(day, 1, roll="forward", busdaycal=self._bdc), nxt)
        new_day = np.where(open_now | before, day, nxt)
        new_tod = np.where(open_now, tod, self._open_ns)
        return new_day, new_tod, nat

    # ------------------------------------------------------------------ public

    def is_open(self, t: Any) -> Any:
        """Whether the office is open at ``t`` (opening included, closing excluded)."""
        ns, _ = self._to_ns(t)
        day, tod, nat = self._split(ns)
        return _wrap_bool(t, np.is_busday(day, busdaycal=self._bdc) & (tod >= self._open_ns) & (tod < self._close_of(day))
                          & ~nat)

    def is_working_day(self, t: Any) -> Any:
        """Whether the date of ``t`` is a working day (not a weekend, not a holiday)."""
        ns, _ = self._to_ns(t)
        day, _, nat = self._split(ns)
        return _wrap_bool(t, np.is_busday(day, busdaycal=self._bdc) & ~nat)

    def next_open(self, t: Any) -> Any:
        """``t`` if the office is open then, else the next opening time."""
        ns, back = self._to_ns(t)
        return back(self._join(*self._next_open_ns(ns)))

    def add_working_days(self, t: Any, n: float) -> Any:
        """The same local time ``n`` working days later (from the next opening if closed)."""
        n = _check_offset(n, "working days")
        ns, back = self._to_ns(t)
        return back(self._add_days_ns(ns, n))

    def _add_days_ns(self, ns: np.ndarray, n: float, opened: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        whole = math.floor(n)
        frac = n - whole
        day, tod, nat = opened if opened is not None else self._next_open_ns(ns)
        if whole:
            day = np.busday_offset(day, whole, roll="forward", busdaycal=self._bdc)
            if len(self.half_days):  # the same time on a half day that has closed by then: its closing
                tod = np.minimum(tod, self._close_of(day))
        out = self._join(day, tod, nat)
        if frac:
            out = self._add_minutes_ns(out, frac * self.day_minutes)
        return out

    def add_working_minutes(self, t: Any, m: float) -> Any:
        """``t`` plus ``m`` minutes of working time (from the next opening if closed)."""
        m = _check_offset(m, "working minutes")
        ns, back = self._to_ns(t)
        return back(self._add_minutes_ns(ns, m))

    def _add_minutes_ns(self, ns: np.ndarray, m: float, opened: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        day, tod, nat = opened if opened is not None else self._next_open_ns(ns)
        add = round(m * _NS_PER_MIN)
        if len(self.half_days):
            return self._add_minutes_by_position(day, tod, nat, add)
        rest_today = self._close_ns - tod
        fits = add <= rest_today
        over = np.maximum(add - rest_today, 0)
        # whole further days needed (>= 1 where it does not fit today), remainder in (0, day]
        k = np.where(fits, 0, -(-over // self._day_ns))
        rem = over - (k - 1) * self._day_ns
        later = ~fits
        new_day = day.copy()
        if later.any():
            new_day[later] = np.busday_offset(day[later], k[later], roll="forward", busdaycal=self._bdc)
        new_tod = np.where(fits, tod + add, self._open_ns + rem)
        return self._join(new_day, new_tod, nat)

    def _add_minutes_by_position(self, day: np.ndarray, tod: np.ndarray, nat: np.ndarray, add: int) -> np.ndarray:
        """``add`` working ns after open times (day, tod) on a calendar with half days: the working clock's
        position plus ``add``, turned back into a time (a result on a closing stays there)."""
        if add <= 0:
            return self._join(day, tod, nat)
        pos = self._position_ns(self._join(day, tod, np.zeros(len(day), dtype=bool))) + add
        # half days closing strictly before pos: their lost time is added back to reach a clock of full days
        full = pos + self._half_cum_short[np.searchsorted(self._half_end_pos, pos, side="left")]
        i = (full - 1) // self._day_ns
        epoch = np.datetime64("1970-01-01", "D")
        new_day = np.busday_offset(epoch, i, roll="forward", busdaycal=self._bdc)
        return self._join(new_day, self._open_ns + full - i * self._day_ns, nat)

    def working_minutes_between(self, a: Any, b: Any) -> Any:
        """Working minutes in ``[a, b)``; negative when ``b`` is before ``a``; NaN with a NaT."""
        na, _back_a = self._to_ns(a)
        nb, _back_b = self._to_ns(b)
        if na.shape != nb.shape and na.size != 1 and nb.size != 1:
            raise DataError(f"cannot pair {na.size} start times with {nb.size} end times", where="calendar")
        res = (self._position_ns(nb) - self._position_ns(na)) / _NS_PER_MIN
        res = np.where((na == np.iinfo(np.int64).min) | (nb == np.iinfo(np.int64).min), np.nan, res)
        scalar_a = isinstance(a, pd.Timestamp | dt.datetime | np.datetime64 | str)
        scalar_b = isinstance(b, pd.Timestamp | dt.datetime | np.datetime64 | str)
        if scalar_a and scalar_b:
            return float(res[0])
        ref = b if scalar_a else a
        if isinstance(ref, pd.Series):
            return pd.Series(res, index=ref.index)
        return res

    def _position_ns(self, ns: np.ndarray) -> np.ndarray:
        """Working nanoseconds elapsed since 1970-01-01 (a monotone 'working clock')."""
        day, tod, _ = self._split(ns)
        n_days = np.busday_count(np.datetime64("1970-01-01", "D"), day, busdaycal=self._bdc).astype(np.int64)
        if not len(self.half_days):
            inside = np.clip(tod - self._open_ns, 0, self._day_ns)
            inside = np.where(np.is_busday(day, busdaycal=self._bdc), inside, 0)
            return n_days * self._day_ns + inside
        inside = np.clip(tod - self._open_ns, 0, self._close_of(day) - self._open_ns)
        inside = np.where(np.is_busday(day, busdaycal=self._bdc), inside, 0)
        lost = self._half_cum_short[np.searchsorted(self.half_days, day, side="left")]  # half days before `day`
        return n_days * self._day_ns - lost + inside

    def add(self, t: Any, offset: float, unit: str = "days", wall_clock: bool = False) -> Any:
        """``t`` plus an SLA offset: ``unit`` days/hours/minutes, working time unless ``wall_clock``.

        Working time starts at the next opening when ``t`` is outside working
        hours; a wall-clock offset runs from ``t`` itself, around the clock.

        >>> cal = BusinessCalendar("UTC")
        >>> cal.add(pd.Timestamp("2026-03-06 16:30"), 2, "hours")
        Timestamp('2026-03-09 10:30:00')
        >>> cal.add(pd.Timestamp("2026-03-06 16:30"), 2, "hours", wall_clock=True)
        Timestamp('2026-03-06 18:30:00')
        """
        if unit not in _UNITS:
            raise DataError(f"unknown SLA unit {unit!r}; use one of {list(_UNITS)}", where="sla")
        offset = _check_offset(offset, unit)
        if wall_clock:
            ns, back = self._to_ns(t)
            step = {"days": _NS_PER_DAY, "hours": 60 * _NS_PER_MIN, "minutes": _NS_PER_MIN}[unit]
            out = ns + round(offset * step)
            out[ns == np.iinfo(np.int64).min] = np.iinfo(np.int64).min
            return back(out)
        if unit == "days":
            return self.add_working_days(t, offset)
        return self.add_working_minutes(t, offset * (60 if unit == "hours" else 1))

    def add_many(self, t: Any, offsets: list[float], unit: str = "days", wall_clock: bool = False) -> list[Any]:
        """``[self.add(t, o, unit, wall_clock) for o in offsets]``, finding the next opening of ``t`` once.

        >>> cal = BusinessCalendar("UTC")
        >>> [str(x) for x in cal.add_many(pd.Timestamp("2026-03-06 16:30"), [0, 1, 2.5])]
        ['2026-03-06 16:30:00', '2026-03-09 16:30:00', '2026-03-11 12:30:00']
        """
        if wall_clock or unit not in ("days", "hours", "minutes"):
            return [self.add(t, o, unit, wall_clock) for o in offsets]
        offsets = [_check_offset(o, unit) for o in offsets]
        ns, back = self._to_ns(t)
        opened = self._next_open_ns(ns)
        if unit == "days":
            return [back(self._add_days_ns(ns, o, opened)) for o in offsets]
        per = 60 if unit == "hours" else 1
        return [back(self._add_minutes_ns(ns, o * per, opened)) for o in offsets]

    def index(self, start: Any, days: float, hours: tuple[str, str] | None = None, *,
              margin_days: int = 120) -> WorkTime:
        """This calendar's working time as a fast index on float minutes since local midnight of ``start``.

        It covers ``days`` days plus ``margin_days`` (results beyond are
        ``math.inf``) and follows this calendar's conventions exactly, in
        floats; ``hours`` (``("10:00", "16:00")``) indexes a shift on the
        same working days instead of the working hours.  See
        :class:`leadsim.worktime.WorkTime`.

        >>> cal = BusinessCalendar("UTC")
        >>> w = cal.index(pd.Timestamp("2026-03-06"), days=7)              # a Friday
        >>> w.add(16.5 * 60, 2, "hours") / 60                               # = cal.add(Fri 16:30, 2, "hours")
        82.5
        >>> str(w.timestamps([82.5 * 60])[0])
        '2026-03-09T10:30:00.000000000'
        """
        return WorkTime(self, start, days, hours, margin_days=margin_days)

    def localize(self, times: Any, *, where: str = "calendar") -> Any:
        """Times as naive local times of this calendar: the one rule every table's times are read by.

        tz-aware input (``...Z``, ``+01:00``, aware datetimes) is converted to
        the calendar's zone through UTC and the zone dropped, each value by its
        own offset (an export's ``+01:00`` in winter and ``+02:00`` in summer
        alike); naive input is taken to be local already; strings are parsed.
        A column mixing both is a :class:`~leadsim.errors.DataError` (the naive
        ones would silently be read as this zone's time), and so is text that
        is no time; ``where`` names the column in the message.

        >>> cal = BusinessCalendar("Europe/Berlin")
        >>> cal.localize(pd.Series(["2026-03-06T15:00:00Z", "2026-03-30T09:00:00+02:00"])).tolist()
        [Timestamp('2026-03-06 16:00:00'), Timestamp('2026-03-30 09:00:00')]
        >>> cal.localize(pd.Series(["2026-03-06T15:00:00Z", "2026-03-06 16:00"]), where="touches.at")
        Traceback (most recent call last):
        ...
        leadsim.errors.DataError: touches.at: mixed time zones: 1 value(s) carry a zone (row 0: '2026-03-06T15:00:00Z') and 1 do not (row 1: '2026-03-06 16:00'); write every time with its offset or none (naive times are Europe/Berlin local time)
        """
        return local_times(times, self.timezone, where=where)


@functools.lru_cache(maxsize=128)
def _built(cls: type[BusinessCalendar], key: tuple[Any, ...]) -> BusinessCalendar:
    zone, days, hours, hol, country, sub, half = key
    return cls(zone, list(days), hours, list(hol), country=country, subdivision=sub,
               half_days=[{"date": d, "every_year": e, "until": u} for d, e, u in half])


def _wrap_bool(t: Any, res: np.ndarray) -> Any:
    if isinstance(t, pd.Timestamp | dt.datetime | np.datetime64 | str):
        return bool(res[0])
    if isinstance(t, pd.Series):
        return pd.Series(res, index=t.index, name=t.name)
    return res


def _naive_values(s: pd.Series) -> np.ndarray:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        raise DataError(
            f"times in {s.name or 'the column'} carry a time zone; convert them with BusinessCalendar.localize first",
            where="calendar",
        )
    if s.dtype.kind != "M":
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError):
            raise DataError(f"cannot read {s.head(3).tolist()} as times", where=str(s.name or "calendar")) from None
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            raise DataError("times carry a time zone; convert them with BusinessCalendar.localize first", where="calendar")
    return s.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _check_offset(n: float, what: str) -> float:
    try:
        n = float(n)
    except (TypeError, ValueError):
        raise DataError(f"{what} offset {n!r} is not a number", where="calendar") from None
    if not math.isfinite(n) or n < 0:
        raise DataError(f"{what} offset must be zero or more, got {n}", where="calendar")
    return n
