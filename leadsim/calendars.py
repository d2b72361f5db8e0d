"""Teams on their own hours: the calendar each owner works on, and working time on it.

A definition has its own ``calendar`` (the home calendar: every table's
naive times are local times of its zone) and may name more under
``calendars``; the owners table's optional ``calendar`` column says which one
an owner works on (empty: the home calendar).  :class:`TeamCalendars` holds
them as codes (0 is the home calendar, then the named ones in the
definition's order) and does working-time arithmetic for many times at once,
each on its own calendar: a time is moved from the home zone into the
calendar's zone through UTC (:func:`leadsim.calendar.zone_shift`), the
calendar's own vectorised arithmetic runs there, and the result comes back,
so daylight-saving changes on different dates (the US moves its clocks two
or three weeks before Europe) fall where they should.

>>> import numpy as np, pandas as pd
>>> from leadsim import load_definition
>>> owners = pd.DataFrame({"owner": ["Ann", "Bob"], "calendar": [None, "boston"]})
>>> team = TeamCalendars(load_definition(), owners=owners)
>>> team.owner_codes(pd.Index(["Bob", "Ann", "Eve"])).tolist()        # Eve is not in the table: home calendar
[1, 0, 0]
>>> fri = np.array([pd.Timestamp("2026-03-06 16:00").value] * 2)      # Friday 16:00 in Berlin
>>> [str(pd.Timestamp(t)) for t in team.add(fri, np.array([0, 1]), 2, "hours")]   # Berlin; Boston (10:00 there)
['2026-03-09 10:00:00', '2026-03-06 18:00:00']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsim.calendar import BusinessCalendar, zone_shift
from leadsim.errors import DataError, SchemaError
from leadsim.worktime import WorkTime

__all__ = ["TeamCalendars", "provenance_table"]


class TeamCalendars:
    """The home calendar (code 0) and the definition's named calendars (codes 1, 2, ...), and who works on which.

    ``owners``: the owners table; its optional ``calendar`` column names one of
    the definition's ``calendars`` per owner (empty: the home calendar).  A
    name the definition does not have is a :class:`~leadsim.errors.DataError`
    naming the row.
    """

    def __init__(self, definition: Any, *, owners: pd.DataFrame | None = None):
        self.home = BusinessCalendar.from_definition(definition)
        named = list(getattr(definition, "calendars", {}) or {})
        #: calendar names by code (``None``: the home calendar)
        self.names: list[str | None] = [None, *named]
        #: calendars by code
        self.calendars: list[BusinessCalendar] = [self.home] + [
            BusinessCalendar.from_definition(definition, name=n) for n in named]
        self._by_owner = pd.Series(dtype="int64")
        if owners is not None and "calendar" in owners.columns:
            if "owner" not in owners.columns:
                raise SchemaError("the owners table lacks column 'owner'; it needs owner, role, manager, team",
                                  where="owners")
            o = owners.dropna(subset=["owner"]).drop_duplicates("owner")
            wanted = o["calendar"].astype("string").str.strip().replace("", pd.NA)
            codes = pd.Index(named).get_indexer(wanted.fillna("").to_numpy()) + 1
            bad = wanted.notna().to_numpy() & (codes == 0)
            if bad.any():
                i = np.flatnonzero(bad)[0]
                raise DataError(
                    f"row {o.index[i]}: owner {o['owner'].iloc[i]!r} works on calendar {wanted.iloc[i]!r}, which the "
                    f"definition does not name; use one of {named} (under 'calendars' in the definition) or leave "
                    "it empty for the definition's own calendar", where="owners.calendar")
            self._by_owner = pd.Series(codes, index=o["owner"].astype("string").to_numpy())

    def __repr__(self) -> str:
        return f"TeamCalendars(home {self.home.timezone}, named {self.names[1:]}, {len(self._by_owner)} owners)"

    @property
    def single(self) -> bool:
        """True when every owner works on the home calendar."""
        return not bool((self._by_owner > 0).any())

    def owner_codes(self, owner_names: Any) -> np.ndarray:
        """The calendar code of each owner name (0 for an owner without one, or not in the owners table)."""
        names = pd.Index(owner_names).astype("string")
        if not len(self._by_owner):
            return np.zeros(len(names), dtype=np.int64)
        return self._by_owner.reindex(names).fillna(0).to_numpy(dtype=np.int64)

    def codes_of(self, owner: np.ndarray, owner_names: Any) -> np.ndarray:
        """Calendar codes of owner codes into ``owner_names`` (-1, nobody: the home calendar)."""
        table = np.append(self.owner_codes(owner_names), 0)
        return table[np.where(np.asarray(owner) < 0, len(table) - 1, owner)]

    def _each(self, code: Any, n: int) -> list[tuple[int, np.ndarray]]:
        code = np.broadcast_to(np.asarray(code, dtype=np.int64), (n,))
        return [(int(k), np.flatnonzero(code == k)) for k in np.unique(code)]

    def to_local(self, ns: np.ndarray, k: int) -> np.ndarray:
        """Home-zone times (int64 ns) as local times of calendar ``k``."""
        return zone_shift(ns, self.home.timezone, self.calendars[k].timezone)

    def to_home(self, ns: np.ndarray, k: int) -> np.ndarray:
        """Local times of calendar ``k`` (int64 ns) as home-zone times."""
        return zone_shift(ns, self.calendars[k].timezone, self.home.timezone)

    def add_many(self, start_ns: np.ndarray, code: Any, offsets: list[float], unit: str,
                 wall_clock: bool = False) -> list[np.ndarray]:
        """``BusinessCalendar.add_many`` for home-zone start times (int64 ns), each on its calendar ``code``;
        returns one int64 ns array of home-zone times per offset.  A wall-clock offset needs no calendar."""
        start = np.asarray(start_ns, dtype=np.int64)
        out = [np.empty(len(start), dtype=np.int64) for _ in offsets]
        for k, rows in self._each(0 if wall_clock else code, len(start)):
            local = self.to_local(start[rows], k)
            dues = self.calendars[k].add_many(local.astype("datetime64[ns]"), offsets, unit, wall_clock)
            for o, d in zip(out, dues, strict=True):
                o[rows] = self.to_home(np.asarray(d).astype("datetime64[ns]").view(np.int64), k)
        return out

    def add(self, start_ns: np.ndarray, code: Any, offset: float, unit: str, wall_clock: bool = False) -> np.ndarray:
        """One offset after each start, on each start's calendar (see :meth:`add_many`)."""
        return self.add_many(start_ns, code, [offset], unit, wall_clock)[0]

    def working_minutes_between(self, a_ns: np.ndarray, b_ns: np.ndarray, code: Any) -> np.ndarray:
        """Working minutes in ``[a, b)`` on each pair's calendar (home-zone int64 ns)."""
        a, b = np.asarray(a_ns, dtype=np.int64), np.asarray(b_ns, dtype=np.int64)
        out = np.full(len(a), np.nan)
        for k, rows in self._each(code, len(a)):
            out[rows] = self.calendars[k].working_minutes_between(
                self.to_local(a[rows], k).astype("datetime64[ns]"), self.to_local(b[rows], k).astype("datetime64[ns]"))
        return out

    def day_minutes(self, code: Any) -> np.ndarray:
        """The length of a working day, in minutes, of each calendar ``code``."""
        return np.array([c.day_minutes for c in self.calendars], dtype=float)[np.asarray(code, dtype=np.int64)]

    def index(self, start: Any, days: float, code: int = 0, hours: tuple[str, str] | None = None) -> WorkTime:
        """Calendar ``code``'s working time (or a shift of other ``hours``, local times of that calendar's zone,
        on its working days) as a :class:`~leadsim.worktime.WorkTime` on minutes since the home-zone midnight
        ``start``: each opening and closing is moved from the calendar's zone to the home zone through UTC.
        Code 0 is :meth:`BusinessCalendar.index` of the home calendar itself.

        >>> from leadsim import load_definition
        >>> team = TeamCalendars(load_definition())
        >>> w = team.index(pd.Timestamp("2026-03-09"), 7, team.names.index("boston"))   # Monday; US on summer time
        >>> w.opens[0] / 60, w.closes[0] / 60      # 09:00-17:00 in Boston is 14:00-22:00 in Berlin this week
        (14.0, 22.0)
        """
        if code == 0:
            return self.home.index(start, days, hours)
        start = pd.Timestamp(start).normalize()
        start_ns = start.value
        cal = self.calendars[code]
        # from the local midnight a day before the run's start there: a zone ahead of home starts its day earlier
        local = pd.Timestamp(self.to_local(np.array([start_ns]), code)[0]).normalize() - pd.Timedelta(days=1)
        w = cal.index(local, days + 2, hours)
        minute = 60_000_000_000

        def home_minutes(m: list[float]) -> np.ndarray:
            ns = local.value + np.round(np.asarray(m, float) * minute).astype(np.int64)
            return (self.to_home(ns, code) - start_ns) / minute

        opens, closes = home_minutes(w.opens), home_minutes(w.closes)
        keep = closes > 0
        return WorkTime.from_intervals(cal, start, np.maximum(opens[keep], 0.0), closes[keep],
                                       open_min=w.open_min, close_min=w.close_min)

    def provenance(self, start: Any = None, end: Any = None) -> dict[str, Any]:
        """:meth:`BusinessCalendar.provenance` of every calendar, by name (``"home"`` for the definition's own)."""
        return {(n or "home"): c.provenance(start, end) for n, c in zip(self.names, self.calendars, strict=True)}


def provenance_table(provenance: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The calendars an output used (an audit's ``summary["calendars"]``, a schedule's ``attrs["calendars"]``)
    as one row per calendar, for people: zone, days, hours, country and subdivision, the ``holidays`` version
    and the days off and half days in the span it covered.

    >>> from leadsim import load_definition
    >>> prov = TeamCalendars(load_definition()).provenance("2026-03-01", "2026-04-30")
    >>> t = provenance_table(prov)
    >>> print(t[["calendar", "timezone", "working_hours", "country", "subdivision"]].to_string(index=False))
    calendar         timezone working_hours country subdivision
        home    Europe/Berlin   09:00-17:00      DE            
      boston America/New_York   09:00-17:00      US          MA
      london    Europe/London   09:00-17:30      GB         ENG
    >>> t.loc[t["calendar"] == "london", "days_off"].item()
    '2026-04-03, 2026-04-06'
    """
    rows = [{"calendar": name, "timezone": p["timezone"], "working_days": " ".join(p["working_days"]),
             "working_hours": "-".join(p["working_hours"]), "country": p["country"] or "",
             "subdivision": p["subdivision"] or "", "holidays_version": p["holidays_version"] or "",
             "n_days_off": len(p["days_off"]), "days_off": ", ".join(p["days_off"]),
             "n_half_days": len(p.get("half_days", [])), "half_days": ", ".join(p.get("half_days", []))}
            for name, p in provenance.items()]
    return pd.DataFrame(rows, columns=["calendar", "timezone", "working_days", "working_hours", "country",
                                       "subdivision", "holidays_version", "n_days_off", "days_off",
                                       "n_half_days", "half_days"])
