"""Times and time zones: reading a column of times as one zone's naive local times, and moving naive local times
from one zone to another through UTC (docs/design.md section 3.1, "Time").

:class:`leadsim.calendar.BusinessCalendar` reads every table's times with :func:`local_times` (its ``localize``);
:class:`leadsim.calendars.Calendars` moves times between an owner's zone and the home zone with :func:`zone_shift`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from leadsim.errors import DataError

__all__ = ["ZONE_SUFFIX", "local_times", "zone_shift"]


def local_times(times: Any, zone: str, *, where: str = "calendar") -> Any:
    """``times`` as naive local times of ``zone`` (the rule :meth:`BusinessCalendar.localize` documents), in the
    container they came in (a scalar, Series, Index or array).

    >>> local_times(pd.Series(["2026-07-01T08:00:00Z"]), "Europe/Berlin").tolist()
    [Timestamp('2026-07-01 10:00:00')]
    """
    scalar = not isinstance(times, pd.Series | pd.Index | np.ndarray | list | tuple)
    s = pd.Series([times]) if scalar else (times if isinstance(times, pd.Series) else pd.Series(list(times)))
    if s.dtype.kind != "M" and not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = _parse_times(s, zone, where)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(zone).dt.tz_localize(None)
    s = s.astype("datetime64[ns]")
    if scalar:
        return s.iloc[0]
    if isinstance(times, pd.Index):
        return pd.DatetimeIndex(s, name=times.name)
    if isinstance(times, np.ndarray):
        return s.to_numpy()
    return s


def zone_shift(ns: np.ndarray, from_zone: str, to_zone: str) -> np.ndarray:
    """Naive local times of ``from_zone`` (int64 ns) as naive local times of ``to_zone``, through UTC.

    A local time that occurs twice (the hour when clocks go back) is read as
    standard time, the second occurrence; one that does not exist (the hour
    skipped when clocks go forward) is shifted forward to the first valid
    time.  ``NaT`` (the minimum int64) stays ``NaT``.  ``to_zone="UTC"`` gives
    UTC times.

    >>> t = np.array([pd.Timestamp("2026-03-09 09:00").value])      # Boston on summer time, Berlin not yet
    >>> str(pd.Timestamp(zone_shift(t, "America/New_York", "Europe/Berlin")[0]))
    '2026-03-09 14:00:00'
    """
    ns = np.asarray(ns, dtype=np.int64)
    if from_zone == to_zone or not len(ns):
        return ns.copy()
    idx = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
    aware = idx.tz_localize(from_zone, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward")
    out = aware.tz_convert(to_zone).tz_localize(None).as_unit("ns").asi8.copy()
    out[ns == np.iinfo(np.int64).min] = np.iinfo(np.int64).min
    return out


#: text that ends in a zone: ``Z`` or an offset such as ``+01:00``, ``-0500``
ZONE_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _parse_times(s: pd.Series, zone: str, where: str) -> pd.Series:
    """Text or objects as naive local ``datetime64[ns]`` of ``zone`` (see :meth:`BusinessCalendar.localize`)."""
    txt = s.astype("string").str.strip()
    present = s.notna().to_numpy()
    aware = (txt.str.contains(ZONE_SUFFIX).fillna(False).to_numpy(dtype=bool) if s.dtype != bool
             else np.zeros(len(s), dtype=bool)) & present
    naive = present & ~aware

    def rows(mask: np.ndarray) -> str:
        i = np.flatnonzero(mask)
        return ", ".join(f"row {s.index[j]}: {s.iloc[j]!r}" for j in i[:3]) + (
            f" (and {len(i) - 3} more)" if len(i) > 3 else "")

    if aware.any() and naive.any():
        raise DataError(f"mixed time zones: {int(aware.sum())} value(s) carry a zone ({rows(aware)}) and "
                        f"{int(naive.sum())} do not ({rows(naive)}); write every time with its offset or none "
                        f"(naive times are {zone} local time)", where=where)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if aware.any():
        parsed = pd.to_datetime(txt[aware], utc=True, format="mixed", errors="coerce")
        out[aware] = parsed.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")
    if naive.any():
        out[naive] = pd.to_datetime(txt[naive], format="mixed", errors="coerce").astype("datetime64[ns]")
    bad = present & out.isna().to_numpy()
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise DataError(f"row {s.index[i]}: cannot read {s.iloc[i]!r} as a time; use ISO times like "
                        "2026-03-02 10:00 (local time) or 2026-03-02T09:00:00Z", where=where)
    return out
