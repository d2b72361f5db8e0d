"""The parts of a lead definition as pydantic models: calendar, attributes, rules, thresholds, funnel, SLA.

Each part checks itself (operands of an operator, ascending bands, known
stages in the funnel, increasing SLA levels ...); checks across parts live on
:class:`~leadsim.definition.model.LeadDefinition`.  Rules are data: a
:class:`Condition` uses one of the closed set of :data:`OPERATORS`.

>>> Condition(attribute="company_size", op="range", min=50, max=200).op
'range'
>>> from pydantic import ValidationError
>>> try:
...     Condition(attribute="company_size", op="range")
... except ValidationError as err:
...     print(err.errors()[0]["msg"])
Value error, op 'range' on 'company_size' needs 'min' and/or 'max'
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from leadsim.definition.alerting import Deadline, check_record_url, template_fields
from leadsim.errors import DefinitionError

__all__ = [
    "MESSAGE_FIELDS",
    "OPERATORS",
    "WEEKDAYS",
    "AgreedBy",
    "Attribute",
    "BantRule",
    "BehaviourRule",
    "ChangeEntry",
    "Condition",
    "DetailFilter",
    "FitRule",
    "Funnel",
    "HotTrigger",
    "LeadsimWarning",
    "Milestones",
    "ProgressionStep",
    "SideExit",
    "Sla",
    "SlaClock",
    "SlaLevel",
    "Stage",
    "StrictModel",
    "Thresholds",
    "UrgencyBands",
    "opening_hours",
    "time_zone",
]

#: The closed set of operators a rule condition may use.
OPERATORS = ("eq", "ne", "in", "not_in", "range", "between", "contains", "exists", "regex")
#: Placeholders an SLA message template may use.
MESSAGE_FIELDS = ("owner", "lead", "company", "score", "source", "days", "stage", "clock", "level", "link", "campaign",
                  "days_left")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class LeadsimWarning(UserWarning):
    """A legal but risky choice (a protected attribute scored, a thin sample ...)."""


def time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone, else a ``ValueError`` saying what to write (for pydantic validators).

    >>> time_zone("Europe/Berlin")
    'Europe/Berlin'
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'") from None
    return name


def opening_hours(v: tuple[str, str], what: str) -> tuple[str, str]:
    """Two ``HH:MM`` times, the first before the second (working hours, shifts), else a ``ValueError`` naming ``what``.

    >>> opening_hours(("08:30", "17:00"), "shifts.sdr")
    ('08:30', '17:00')
    """
    try:
        start, end = (dt.time.fromisoformat(x) for x in v)
    except ValueError:
        raise ValueError(f"{what} {list(v)} must be two times like ['09:00', '17:00']") from None
    if not start < end:
        raise ValueError(f"{what} {list(v)}: the opening must come before the closing time")
    return v


class StrictModel(BaseModel):
    """Base of every part: unknown keys are errors, and so are invalid assignments."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- header


class AgreedBy(StrictModel):
    marketing: str
    sales: str
    date: dt.date


class ChangeEntry(StrictModel):
    version: str
    date: dt.date
    by: str = ""
    note: str


class Attribute(StrictModel):
    """A field a lead record carries."""

    name: str
    type: Literal["category", "text", "number", "integer", "bool", "date"]
    allowed: list[Any] | None = None
    description: str = ""
    recorded: Literal["before_handoff", "after_handoff"] = "before_handoff"
    protected: bool = False

    @model_validator(mode="after")
    def _allowed_for_category(self) -> Attribute:
        if self.allowed is not None and self.type != "category":
            raise ValueError(f"attribute {self.name!r}: 'allowed' only applies to type category")
        return self


# --------------------------------------------------------------------------- rules


class Condition(StrictModel):
    """One test on an attribute: ``attribute op value``.

    Operators: ``eq``/``ne`` (a scalar), ``in``/``not_in`` (a list), ``range``
    (``min <= x < max``, either bound optional), ``between`` (``min <= x <=
    max``), ``contains`` (substring, case-insensitive), ``regex`` (a regular
    expression searched in the text, case-insensitive), ``exists`` (the value
    is present; ``value: false`` for absent).  ``negate: true`` inverts the
    test.  A missing value never satisfies a condition, negated or not, except
    ``exists``.
    """

    attribute: str
    op: Literal["eq", "ne", "in", "not_in", "range", "between", "contains", "exists", "regex"]
    value: Any = None
    min: float | None = None
    max: float | None = None
    negate: bool = False

    @model_validator(mode="after")
    def _operands(self) -> Condition:
        op, v = self.op, self.value
        if op in ("eq", "ne") and (v is None or isinstance(v, list | dict)):
            raise ValueError(f"op {op!r} on {self.attribute!r} needs a single 'value'")
        if op in ("in", "not_in") and not (isinstance(v, list) and v):
            raise ValueError(f"op {op!r} on {self.attribute!r} needs 'value' as a non-empty list")
        if op in ("range", "between"):
            if self.min is None and self.max is None:
                raise ValueError(f"op {op!r} on {self.attribute!r} needs 'min' and/or 'max'")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(f"op {op!r} on {self.attribute!r}: min {self.min} is above max {self.max}")
        if op in ("contains", "regex") and not (isinstance(v, str) and v):
            raise ValueError(f"op {op!r} on {self.attribute!r} needs 'value' as a non-empty string")
        if op == "regex":
            try:
                re.compile(v)
            except re.error as err:
                raise ValueError(f"regex {v!r} on {self.attribute!r} does not compile: {err}") from None
        if op == "exists":
            if v is None:
                self.__dict__["value"] = True
            elif not isinstance(v, bool):
                raise ValueError(f"op 'exists' on {self.attribute!r} takes value true or false")
        return self


class DetailFilter(StrictModel):
    """A test on an activity's ``detail`` text (which page, which document)."""

    op: Literal["eq", "in", "contains", "regex"]
    value: str | list[str]
    negate: bool = False

    @model_validator(mode="after")
    def _operands(self) -> DetailFilter:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("detail op 'in' needs a list")
        if self.op != "in" and not isinstance(self.value, str):
            raise ValueError(f"detail op {self.op!r} needs a single string")
        if self.op == "regex":
            try:
                re.compile(self.value)
            except re.error as err:
                raise ValueError(f"detail regex {self.value!r} does not compile: {err}") from None
        return self


_RULE_ID = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


def _finite_points(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("points must be a finite number")
    return v


Points = Annotated[float, AfterValidator(_finite_points)]
"""A rule's points: any finite number (negative allowed)."""


class FitRule(Condition):
    """Explicit (who they are) points: demographic or firmographic."""

    id: _RULE_ID
    label: str = ""
    category: Literal["demographic", "firmographic"]
    points: Points


class BantRule(Condition):
    """How one BANT fact is read from the data, and what it is worth."""

    label: str = ""
    points: Points


class BehaviourRule(StrictModel):
    """Implicit (what they do) points from the activity log.

    ``mode: each`` gives ``points`` per occurrence, each occurrence decayed by
    ``0.5 ** (age_days / half_life_days)``, summed, then capped at ``cap`` in
    magnitude.  ``mode: at_least`` gives ``points`` once when at least
    ``min_count`` occurrences fall in the last ``window_days``; ``mode:
    recency`` gives ``points`` once when the latest occurrence is within
    ``window_days``.  Only activities at or before the scoring moment count.
    """

    id: _RULE_ID
    label: str = ""
    activity: str | list[str]
    detail: DetailFilter | None = None
    points: Points
    mode: Literal["each", "at_least", "recency"] = "each"
    min_count: int = Field(1, ge=1)
    cap: float | None = Field(None, gt=0)
    half_life_days: float | None = Field(None, gt=0)
    window_days: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _mode_fields(self) -> BehaviourRule:
        if self.mode != "each" and self.half_life_days is not None:
            raise ValueError(f"rule {self.id!r}: half_life_days only applies to mode 'each'")
        if self.mode != "each" and self.cap is not None:
            raise ValueError(f"rule {self.id!r}: cap only applies to mode 'each'")
        if self.mode in ("at_least", "recency") and self.window_days is None:
            raise ValueError(f"rule {self.id!r}: mode {self.mode!r} needs window_days")
        if self.mode != "at_least" and self.min_count != 1:
            raise ValueError(f"rule {self.id!r}: min_count only applies to mode 'at_least'")
        return self

    @property
    def activities(self) -> list[str]:
        return [self.activity] if isinstance(self.activity, str) else list(self.activity)


class HotTrigger(StrictModel):
    """A behaviour that means *act now*, whatever the score."""

    id: _RULE_ID
    label: str = ""
    activity: str | list[str]
    detail: DetailFilter | None = None
    window_days: float = Field(14, gt=0)

    @property
    def activities(self) -> list[str]:
        return [self.activity] if isinstance(self.activity, str) else list(self.activity)


class UrgencyBands(StrictModel):
    window_days: float = Field(7, gt=0)
    bands: list[float] = Field(default_factory=lambda: [5.0, 15.0, 30.0])

    @field_validator("bands")
    @classmethod
    def _ascending(cls, v: list[float]) -> list[float]:
        if sorted(v) != v or len(set(v)) != len(v):
            raise ValueError(f"urgency bands {v} must be strictly ascending")
        return v


def _check_bands(v: dict[str, float | None], what: str) -> dict[str, float | None]:
    if len(v) < 2:
        raise ValueError(f"{what} needs at least two bands")
    bounds = list(v.values())
    if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
        raise ValueError(f"{what}: give each band its lower bound, best first, and the last band null (everything below)")
    if any(a <= b for a, b in itertools.pairwise(bounds[:-1])):
        raise ValueError(f"{what}: lower bounds {bounds[:-1]} must fall strictly from the best band down")
    return v


class Thresholds(StrictModel):
    """MQL threshold, fit grades, engagement bands, priority and urgency."""

    mql: float
    fit_grades: dict[str, float | None] = Field(
        default_factory=lambda: {"A": 60.0, "B": 35.0, "C": 15.0, "D": None}
    )
    engagement: dict[str, float | None] = Field(
        default_factory=lambda: {"1": 60.0, "2": 30.0, "3": 10.0, "4": None}
    )
    matrix: dict[str, str] | None = None
    priority_percentiles: tuple[float, float] = (50.0, 80.0)
    urgency: UrgencyBands = Field(default_factory=UrgencyBands)

    @field_validator("mql")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("the MQL threshold must be a finite number")
        return v

    @field_validator("fit_grades")
    @classmethod
    def _grades(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        return _check_bands(v, "fit_grades")

    @field_validator("engagement", mode="before")
    @classmethod
    def _engagement_keys(cls, v: Any) -> Any:
        return {str(k): b for k, b in v.items()} if isinstance(v, dict) else v

    @field_validator("engagement")
    @classmethod
    def _engagement(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        return _check_bands(v, "engagement")

    @field_validator("priority_percentiles")
    @classmethod
    def _pct(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] < v[1] < 100:
            raise ValueError(f"priority_percentiles {list(v)} must satisfy 0 < low < high < 100")
        return v


# --------------------------------------------------------------------------- funnel


class Stage(StrictModel):
    id: _RULE_ID
    label: str
    part: Literal["TOFU", "MOFU", "BOFU", "exit"]
    terminal: bool = False
    criteria: str | list[Condition] | None = None
    offers: list[str] = Field(default_factory=list)


class SideExit(StrictModel):
    from_: list[str] = Field(alias="from")
    to: str
    #: reason ids (of ``reasons.vocabulary``) this exit accepts; None: see :meth:`LeadDefinition.exit_reasons`
    reasons: list[str] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class Milestones(StrictModel):
    """Which stage ids carry the hand-off meanings (so labels can be anything)."""

    scored: str = "target"
    mql: str = "lead"
    sql: str = "sales_lead"
    opportunity: str = "opportunity"
    won: str = "customer"


class ProgressionStep(StrictModel):
    """What moves a lead on through the marketing stages before it is an MQL.

    A lead in ``from`` moves to ``to`` at its first activity at or after it
    entered ``from`` whose type is one of ``activities`` (any type when
    left out), provided its fit score is at least ``min_fit`` (no fit check
    when omitted).  One activity moves a lead one step at most.  The rule is
    applied by :func:`leadsim.progression.climb`; see ``docs/design.md``,
    "Stages and the TOFU progression".

    >>> ProgressionStep.model_validate({"from": "name", "to": "active", "activities": ["webinar"]}).activities
    ['webinar']
    """

    from_: _RULE_ID = Field(alias="from")
    to: _RULE_ID
    activities: list[str] | None = None
    min_fit: float | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    @field_validator("activities")
    @classmethod
    def _some(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("'activities' lists the activity types that move a lead on; leave it out to mean any activity")
        return v

    @field_validator("min_fit")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"min_fit must be a finite number of fit points, got {v}")
        return v


class Funnel(StrictModel):
    """Stages in order, where leads may enter, every allowed move, and what moves a lead through TOFU."""

    stages: list[Stage]
    entry: list[str]
    transitions: dict[str, list[str]]
    recycle: SideExit
    disqualify: SideExit
    lost: SideExit
    milestones: Milestones = Field(default_factory=Milestones)
    progression: list[ProgressionStep] = Field(default_factory=list)
    #: calendar days after a hand-off within which reaching the ``sql`` milestone counts (leadsim.outcomes)
    outcome_window_days: int = Field(30, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Funnel:
        ids = [s.id for s in self.stages]
        if len(set(ids)) != len(ids):
            raise ValueError(f"stage ids must be unique, got {ids}")
        known = set(ids)

        def check(name: str, where: str) -> None:
            if name not in known:
                raise ValueError(f"{where}: unknown stage {name!r}; known stages are {ids}")

        for e in self.entry:
            check(e, "entry")
        for src, dests in self.transitions.items():
            check(src, "transitions")
            for d in dests:
                check(d, f"transitions.{src}")
        for exit_name in ("recycle", "disqualify", "lost"):
            ex = getattr(self, exit_name)
            check(ex.to, f"{exit_name}.to")
            for f in ex.from_:
                check(f, f"{exit_name}.from")
        for role, sid in self.milestones.model_dump().items():
            check(sid, f"milestones.{role}")
        self._check_progression(ids)
        return self

    def _check_progression(self, ids: list[str]) -> None:
        if self.milestones.mql not in ids:
            return
        marketing = self.marketing_stages
        allowed = self.allowed()
        for k, step in enumerate(self.progression):
            where = f"progression[{k}] ({step.from_} -> {step.to})"
            for sid in (step.from_, step.to):
                if sid not in marketing:
                    raise ValueError(f"{where}: {sid!r} is not a marketing stage (one before the MQL stage "
                                     f"{self.milestones.mql!r}: {marketing}); the progression moves leads through those only")
            if (step.from_, step.to) not in allowed:
                raise ValueError(f"{where}: the funnel does not allow this move; add {step.to!r} under "
                                 f"transitions.{step.from_}")
            if ids.index(step.to) <= ids.index(step.from_):
                raise ValueError(f"{where}: a progression step moves a lead forward, to a later stage")

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    @property
    def marketing_stages(self) -> list[str]:
        """The stages before the MQL milestone, in the funnel's order (where the progression moves leads)."""
        ids = self.stage_ids
        return ids[: ids.index(self.milestones.mql)]

    @property
    def inbound_entry(self) -> str | None:
        """Where a new inbound lead enters: the first marketing stage listed under ``entry`` (None: none is)."""
        return next((s for s in self.marketing_stages if s in self.entry), None)

    def allowed(self) -> set[tuple[str, str]]:
        """Every allowed (from, to) move, side exits included."""
        moves = {(a, b) for a, bs in self.transitions.items() for b in bs}
        for ex in (self.recycle, self.disqualify, self.lost):
            moves |= {(f, ex.to) for f in ex.from_}
        return moves

    def stage(self, name: str) -> Stage:
        """A stage by id or display label (case-insensitive)."""
        key = str(name).strip().casefold()
        for s in self.stages:
            if key in (s.id.casefold(), s.label.casefold()):
                return s
        raise DefinitionError(
            f"unknown stage {name!r}; the definition's stages are {[s.label for s in self.stages]}",
            where="funnel.stages",
        )


# --------------------------------------------------------------------------- SLA


class SlaLevel(StrictModel):
    offset: float = Field(..., description="days, hours or minutes after the clock starts")
    recipients: list[str] = Field(default_factory=lambda: ["owner"])
    message: str = ""

    @field_validator("offset")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"an SLA offset must be zero or more, got {v}")
        return v

    @field_validator("message")
    @classmethod
    def _template(cls, v: str) -> str:
        template_fields(v, MESSAGE_FIELDS, what="message template")
        return v


class SlaClock(StrictModel):
    """A clock that starts when a lead enters ``stage`` and climbs ``levels``.

    ``stop_on`` lists what stops it: ``touch`` (the owner's first touch),
    ``leave_stage`` (any move out of the stage), ``recycle``, or a stage id
    (entering that stage).
    """

    id: _RULE_ID
    label: str = ""
    stage: str
    unit: Literal["days", "hours", "minutes"] = "days"
    wall_clock: bool = False
    stop_on: list[str]
    levels: list[SlaLevel]

    @model_validator(mode="after")
    def _ordered(self) -> SlaClock:
        if not self.levels:
            raise ValueError(f"clock {self.id!r} needs at least one level")
        offs = [lv.offset for lv in self.levels]
        if any(b <= a for a, b in itertools.pairwise(offs)):
            raise ValueError(f"clock {self.id!r}: level offsets {offs} must be strictly increasing")
        if not self.stop_on:
            raise ValueError(f"clock {self.id!r} needs at least one stop_on event")
        return self


class Sla(StrictModel):
    clocks: list[SlaClock] = Field(default_factory=list)
    leadership: list[str] = Field(default_factory=lambda: ["sales-leadership"])
    auto_return_after_last: bool = False
    #: the CRM record of a lead, for the {link} message field (see leadsim.definition.alerting)
    record_url: Annotated[str | None, AfterValidator(check_record_url)] = None
    #: the leads column the {campaign} message field shows
    campaign_column: str = "campaign"
    #: the deadline the {days_left} message field counts down to
    deadline: Deadline | None = None
