"""Who works on which calendar in a run, and each simulated person's shift.

A scenario's ``calendars`` puts a role's people on named calendars of the
definition (its ``calendars:``): a name puts the whole role on it, a mapping
of names to counts puts that many of the role's people on each (the first
by number, in the mapping's order: ``rep: {boston: 1}`` is rep1; the rest
work on the home calendar).  ``home`` names the definition's own calendar.

Each person's shift is their calendar's working days, holidays and hours
(or the role's ``shifts`` hours, read as local times of their calendar's
zone), moved through UTC onto the run's clock: minutes since the start on
the home calendar (:meth:`leadsim.calendars.TeamCalendars.index`).  A run
whose scenario names no calendars builds exactly the shifts it always did.

>>> from leadsim.simulation import load_scenario
>>> sc = load_scenario().with_values({"start": "2026-03-09", "horizon_days": 7, "calendars": {"rep": {"boston": 1}}})
>>> staff = Staff(sc, sc.lead_definition)
>>> staff.calendar("rep", 1), staff.calendar("rep", 2), staff.single
('boston', None, False)
>>> staff.shift("rep", 1).opens[0] / 60, staff.shift("rep", 2).opens[0] / 60   # 09:00 in Boston, in Berlin
(14.0, 9.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsim.calendars import TeamCalendars
from leadsim.simulation.clocks import WorkTime

__all__ = ["HOME", "Staff", "check_calendars", "handover_arrays", "held_due"]

#: the name of the definition's own calendar in a scenario's ``calendars``
HOME = "home"
_ROLES = {"sdr": "sdr_headcount", "rep": "rep_headcount"}


def check_calendars(calendars: dict[str, Any], named: list[str], peak: dict[str, int]) -> None:
    """Refuse a scenario's ``calendars`` that name a calendar the definition lacks or more people than a role
    has (``peak``: the most people of each role during the run); a ``ValueError`` naming the field and the fix.

    >>> check_calendars({"rep": {"tokyo": 1}}, ["boston"], {"sdr": 3, "rep": 4})
    Traceback (most recent call last):
    ...
    ValueError: calendars.rep: unknown calendar 'tokyo'; use home or one the definition names under 'calendars' (['boston'])
    """
    for role, spec in calendars.items():
        counts = {spec: None} if isinstance(spec, str) else spec
        for name, n in counts.items():
            if name != HOME and name not in named:
                raise ValueError(f"calendars.{role}: unknown calendar {name!r}; use {HOME} or one the definition "
                                 f"names under 'calendars' ({named})")
            if n is not None and n < 0:
                raise ValueError(f"calendars.{role}.{name}: a number of people cannot be negative, got {n}")
        total = sum(n for n in counts.values() if n is not None)
        if total > peak[role]:
            raise ValueError(f"calendars.{role}: puts {total} people on calendars but the role has at most "
                             f"{peak[role]} ({_ROLES[role]}); lower the counts or raise the headcount")


class Staff:
    """Each simulated person's calendar and shift (see the module docstring).

    ``calendar(role, number)`` is the person's calendar name (``None``: the
    home calendar), ``shift(role, number)`` their :class:`WorkTime` on the
    run's clock, ``clock_time(code)`` a calendar's full working time on the
    run's clock (an SLA clock runs on it), ``code(name)`` the calendar code of
    a person by name (``None``, nobody: the home calendar).  ``single``: every
    person works on the home calendar, so the run is the one it always was.
    """

    def __init__(self, scenario: Any, definition: Any):
        self.team = TeamCalendars(definition)
        self.start = pd.Timestamp(scenario.start)
        self.days = scenario.horizon_days
        self.spec = {role: ({spec: None} if isinstance(spec, str) else dict(spec))
                     for role, spec in scenario.calendars.items()}
        self.hours = dict(scenario.shifts)
        self.single = not any(name != HOME and (n is None or n > 0) and scenario.peak(_ROLES[role]) > 0
                              for role, counts in self.spec.items() for name, n in counts.items())
        self._index: dict[tuple[int, Any], WorkTime] = {}
        self._codes: dict[str, int] = {}

    def calendar(self, role: str, number: int) -> str | None:
        """The calendar name of ``role``'s person ``number`` (1, 2, ...); ``None`` for the home calendar."""
        first = 1
        for name, n in self.spec.get(role, {}).items():
            if n is None or number < first + n:
                return None if name == HOME else name
            first += n
        return None

    def _time(self, code: int, hours: Any) -> WorkTime:
        key = (code, None if hours is None else tuple(hours))
        if key not in self._index:
            self._index[key] = self.team.index(self.start, self.days, code, hours)
        return self._index[key]

    def shift(self, role: str, number: int) -> WorkTime:
        """The shift of ``role``'s person ``number``, on the run's clock (remembered by name for :meth:`code`)."""
        name = self.calendar(role, number)
        code = 0 if name is None else self.team.names.index(name)
        self._codes[f"{role}{number}"] = code
        return self._time(code, self.hours.get(role))

    def clock_time(self, code: int) -> WorkTime:
        """Calendar ``code``'s working time on the run's clock (the home calendar's is the run's own index)."""
        return self._time(code, None)

    def code(self, person: str | None) -> int:
        """The calendar code of a person by name; 0 (home) for nobody or a name without a shift."""
        return self._codes.get(person, 0) if person is not None else 0

    def owner_calendars(self, names: list[str]) -> pd.arrays.StringArray:
        """The owners table's ``calendar`` column for ``names`` (missing: the home calendar)."""
        return pd.array([None if self.code(n) == 0 else self.team.names[self.code(n)] for n in names],
                        dtype="string")


def held_due(staff: Staff, code: int, handovers: Any, clock: Any, k: int, t0: float) -> float:
    """When level ``k`` of ``clock``, started at ``t0`` (run minutes) with the lead held on calendar ``code``, is
    due: :func:`leadsim.sla.ladder.due_times` on the run's clock.  ``handovers``: the visit's re-assignments as
    ``(minutes, ns, new code)``; the working time a level used up on the old holder's calendar counts, the rest
    runs on the new one's; a level due before a re-assignment keeps its time.

    >>> from leadsim.simulation import load_scenario
    >>> sc = load_scenario().with_values({"start": "2026-03-09", "horizon_days": 14, "calendars": {"rep": "boston"}})
    >>> staff = Staff(sc, sc.lead_definition)
    >>> boston = staff.team.names.index("boston")
    >>> process = next(c for c in sc.lead_definition.sla.clocks if c.id == "process")   # 7, 8, 9 working days
    >>> held_due(staff, boston, [], process, 0, 10 * 60.0) / 60      # Monday 14:00 Berlin (Boston 09:00) + 7 days
    230.0
    """
    w = staff.clock_time(code)
    left = clock.levels[k].offset
    due = w.add(t0, left, clock.unit, clock.wall_clock)
    if clock.wall_clock:
        return due
    at = t0
    for moved_at, _ns, new in handovers:
        if not due > moved_at:
            break  # due before the re-assignment: it keeps its time
        used = w.open_minutes(at, moved_at)
        left -= used / {"days": w.length, "hours": 60.0, "minutes": 1.0}[clock.unit]
        at, w = moved_at, staff.clock_time(new)
        due = w.add(at, max(left, 0.0), clock.unit)
    return due


def handover_arrays(moves: dict[int, list[tuple[float, int, int]]], starts: np.ndarray,
                    base_ns: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The re-assignments of each clock start in ``starts`` as the ``handovers`` of
    :func:`leadsim.sla.ladder.due_times`: one ``(at ns, new calendar code)`` pair of arrays per re-assignment,
    the int64 maximum where a start has no more.  ``moves`` maps a start to its ``(minutes, ns since the run's
    start, code)`` re-assignments in order.

    >>> at, code = handover_arrays({1: [(60.0, 3_600_000_000_000, 2)]}, np.array([0, 1]), 0)[0]
    >>> at.tolist() == [np.iinfo(np.int64).max, 3_600_000_000_000], code.tolist()
    (True, [0, 2])
    """
    lists = [moves.get(int(s), []) for s in starts]
    out = []
    for j in range(max((len(x) for x in lists), default=0)):
        at = np.array([x[j][1] + base_ns if j < len(x) else np.iinfo(np.int64).max for x in lists], np.int64)
        out.append((at, np.array([x[j][2] if j < len(x) else 0 for x in lists], np.int64)))
    return out
