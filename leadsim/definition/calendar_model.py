"""The ``calendar`` (and ``calendars``) part of a lead definition, as a pydantic model.

A calendar is a time zone, working days, working hours, days off and half
days.  Days off come from a country (and region) through the ``holidays``
package (:mod:`leadsim.public_holidays`), plus the company's own ``holidays``;
a calendar without ``country`` has only its listed ``holidays``.
``half_days`` are working days that close early: one date
(``{date: 2026-12-24, until: "12:00"}``) or a day of every year
(``{every_year: "12-31", until: "13:00"}``); a dated entry overrides an
every-year one on its date, and a half day that falls on a weekend or a day
off changes nothing.

>>> Calendar(country="de", subdivision="by", timezone="Europe/Berlin").country
'DE'
>>> from pydantic import ValidationError
>>> try:
...     Calendar(timezone="Europe/Bonn")
... except ValidationError as err:
...     print(err.errors()[0]["msg"])
Value error, unknown time zone 'Europe/Bonn'; use an IANA name such as 'UTC' or 'Europe/Berlin'
>>> Calendar(half_days=[{"every_year": "12-24", "until": "12:00"}]).half_days[0]
HalfDay(date=None, every_year='12-24', until='12:00')
>>> try:
...     Calendar(half_days=[{"date": "2026-12-31", "until": "18:00"}])
... except ValidationError as err:
...     print(err.errors()[0]["msg"])   # doctest: +NORMALIZE_WHITESPACE
Value error, half_days[0] (2026-12-31 until 18:00): 'until' must fall inside the working hours 09:00-17:00
(after the opening, before the closing); a day without any working time goes under holidays
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from leadsim.definition.parts import WEEKDAYS, StrictModel, opening_hours, time_zone
from leadsim.errors import DefinitionError
from leadsim.public_holidays import check_region

__all__ = ["Calendar", "HalfDay"]


class HalfDay(StrictModel):
    """A working day that closes early: ``until`` (``"HH:MM"``) on ``date``, or on ``every_year`` (``"MM-DD"``)."""

    date: dt.date | None = None
    every_year: str | None = None
    until: str

    @field_validator("every_year")
    @classmethod
    def _month_day(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            dt.date.fromisoformat(f"2000-{str(v).strip()}")   # a leap year: 02-29 is a day of some years
        except ValueError:
            raise ValueError(f"every_year {v!r} must be a month and day like '12-24'") from None
        return str(v).strip()

    @field_validator("until")
    @classmethod
    def _time(cls, v: str) -> str:
        try:
            t = dt.time.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"until {v!r} must be a time like '12:00'") from None
        return f"{t.hour:02d}:{t.minute:02d}"

    @model_validator(mode="after")
    def _one_day(self) -> HalfDay:
        if (self.date is None) == (self.every_year is None):
            raise ValueError("a half day needs either 'date' (2026-12-24) or 'every_year' ('12-24'), not both")
        return self

    @property
    def label(self) -> str:
        """``"2026-12-24 until 12:00"`` or ``"every 12-24 until 12:00"``."""
        return f"{self.date or 'every ' + str(self.every_year)} until {self.until}"


class Calendar(StrictModel):
    """A business calendar: the definition's own (``calendar``) or a named one (``calendars``) for a team.

    ``country`` (ISO 3166-1, e.g. ``DE``) and ``subdivision`` (e.g. ``BY``)
    take the public holidays of every year from the ``holidays`` package;
    ``holidays`` lists further days off (the company's own, or every holiday
    when there is no ``country``).
    """

    timezone: str = "UTC"
    working_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    working_hours: tuple[str, str] = ("09:00", "17:00")
    country: str | None = None
    subdivision: str | None = None
    holidays: list[dt.date] = Field(default_factory=list)
    half_days: list[HalfDay] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return time_zone(v)

    @field_validator("working_days")
    @classmethod
    def _some_day(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a calendar needs at least one working day, e.g. [mon, tue, wed, thu, fri]")
        if len(set(v)) != len(v):
            raise ValueError(f"working day listed twice in {v}")
        return v

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, v: tuple[str, str]) -> tuple[str, str]:
        return opening_hours(v, "working hours")

    @model_validator(mode="after")
    def _half_days(self) -> Calendar:
        seen: dict[Any, int] = {}
        for i, h in enumerate(self.half_days):
            if not self.opening < dt.time.fromisoformat(h.until) < self.closing:
                raise ValueError(
                    f"half_days[{i}] ({h.label}): 'until' must fall inside the working hours "
                    f"{self.working_hours[0]}-{self.working_hours[1]} (after the opening, before the closing); "
                    "a day without any working time goes under holidays")
            key = h.date or h.every_year
            if key in seen:
                raise ValueError(f"half_days[{i}] ({h.label}) repeats half_days[{seen[key]}]: "
                                 "list each day once")
            seen[key] = i
        return self

    @model_validator(mode="after")
    def _region(self) -> Calendar:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError(f"subdivision {self.subdivision!r} needs a country, e.g. country: DE")
            return self
        try:
            country, sub = check_region(self.country, self.subdivision)
        except DefinitionError as err:
            raise ValueError(err.message) from None
        if (country, sub) != (self.country, self.subdivision):
            # set through __dict__: validate_assignment would run this check again
            self.__dict__["country"], self.__dict__["subdivision"] = country, sub
        return self

    @property
    def opening(self) -> dt.time:
        return dt.time.fromisoformat(self.working_hours[0])

    @property
    def closing(self) -> dt.time:
        return dt.time.fromisoformat(self.working_hours[1])

    @property
    def weekday_numbers(self) -> list[int]:
        """Working days as ``datetime.weekday()`` numbers (Monday = 0)."""
        return sorted(WEEKDAYS.index(d) for d in self.working_days)
