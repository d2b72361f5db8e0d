"""The ``calendar`` (and ``calendars``) part of a lead definition, as a pydantic model.

A calendar is a time zone, working days, working hours and days off.  Days off
come from a country (and region) through the ``holidays`` package
(:mod:`leadsim.public_holidays`), plus the company's own ``holidays``; a
calendar without ``country`` has only its listed ``holidays``.

>>> Calendar(country="de", subdivision="by", timezone="Europe/Berlin").country
'DE'
>>> from pydantic import ValidationError
>>> try:
...     Calendar(timezone="Europe/Bonn")
... except ValidationError as err:
...     print(err.errors()[0]["msg"])
Value error, unknown time zone 'Europe/Bonn'; use an IANA name such as 'UTC' or 'Europe/Berlin'
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from leadsim.definition.parts import WEEKDAYS, StrictModel, opening_hours, time_zone
from leadsim.errors import DefinitionError
from leadsim.public_holidays import check_region

__all__ = ["Calendar"]


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
