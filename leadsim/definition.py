"""The written lead definition: one versioned YAML file both teams sign off.

A :class:`LeadDefinition` holds the fit rules, behaviour rules, BANT, the MQL
threshold and grades, the hot triggers, the funnel and the SLA clocks.  Rules
are *data*: a small closed set of operators (see :data:`OPERATORS`) that the
scoring engine evaluates with vectorised pandas/numpy code.  Nothing in a
definition file is ever run as Python.

>>> from leadsim import load_definition
>>> d = load_definition()                # the embedded default
>>> d.thresholds.mql
100.0
>>> [s.label for s in d.funnel.stages][:4]
['Name', 'Active', 'Target', 'Lead']
>>> d2 = d.model_copy(deep=True)
>>> d2.thresholds.mql = 90
>>> diff(d, d2)[["section", "item", "old", "new"]].to_dict("records")
[{'section': 'thresholds', 'item': 'mql', 'old': 100.0, 'new': 90.0}]
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import re
import string
import tempfile
import warnings
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leadsim._resources import data_path
from leadsim.errors import DefinitionError, InputFileError

__all__ = [
    "OPERATORS",
    "Attribute",
    "BehaviourRule",
    "Calendar",
    "Condition",
    "FitRule",
    "Funnel",
    "HotTrigger",
    "LeadDefinition",
    "LeadsimWarning",
    "SlaClock",
    "SlaLevel",
    "Stage",
    "diff",
    "load_definition",
]

#: The closed set of operators a rule condition may use.
OPERATORS = ("eq", "ne", "in", "not_in", "range", "between", "contains", "exists", "regex")
#: Placeholders an SLA message template may use.
MESSAGE_FIELDS = ("owner", "lead", "company", "score", "source", "days", "stage", "clock", "level")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class LeadsimWarning(UserWarning):
    """A legal but risky choice (a protected attribute scored, a thin sample ...)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- header


class AgreedBy(_Model):
    marketing: str
    sales: str
    date: dt.date


class ChangeEntry(_Model):
    version: str
    date: dt.date
    by: str = ""
    note: str


class Calendar(_Model):
    """The local business calendar every timestamp and SLA clock lives on."""

    timezone: str = "UTC"
    working_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    working_hours: tuple[str, str] = ("09:00", "17:00")
    holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/Berlin'") from None
        return v

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
        try:
            start, end = (dt.time.fromisoformat(x) for x in v)
        except ValueError:
            raise ValueError(f"working hours {list(v)} must be two times like ['09:00', '17:00']") from None
        if not start < end:
            raise ValueError(f"working hours {list(v)}: the opening must come before the closing time")
        return v

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


class Attribute(_Model):
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


class Condition(_Model):
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


class DetailFilter(_Model):
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


class FitRule(Condition):
    """Explicit (who they are) points: demographic or firmographic."""

    id: _RULE_ID
    label: str = ""
    category: Literal["demographic", "firmographic"]
    points: float

    @field_validator("points")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("points must be a finite number")
        return v


class BantRule(Condition):
    """How one BANT fact is read from the data, and what it is worth."""

    label: str = ""
    points: float


class BehaviourRule(_Model):
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
    points: float
    mode: Literal["each", "at_least", "recency"] = "each"
    min_count: int = Field(1, ge=1)
    cap: float | None = Field(None, gt=0)
    half_life_days: float | None = Field(None, gt=0)
    window_days: float | None = Field(None, gt=0)

    @field_validator("points")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("points must be a finite number")
        return v

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


class HotTrigger(_Model):
    """A behaviour that means *act now*, whatever the score."""

    id: _RULE_ID
    label: str = ""
    activity: str | list[str]
    detail: DetailFilter | None = None
    window_days: float = Field(14, gt=0)

    @property
    def activities(self) -> list[str]:
        return [self.activity] if isinstance(self.activity, str) else list(self.activity)


class UrgencyBands(_Model):
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


class Thresholds(_Model):
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


class Stage(_Model):
    id: _RULE_ID
    label: str
    part: Literal["TOFU", "MOFU", "BOFU", "exit"]
    terminal: bool = False
    criteria: str | list[Condition] | None = None
    offers: list[str] = Field(default_factory=list)


class SideExit(_Model):
    from_: list[str] = Field(alias="from")
    to: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class Milestones(_Model):
    """Which stage ids carry the hand-off meanings (so labels can be anything)."""

    scored: str = "target"
    mql: str = "lead"
    sql: str = "sales_lead"
    opportunity: str = "opportunity"
    won: str = "customer"


class Funnel(_Model):
    """Stages in order, where leads may enter, and every allowed move."""

    stages: list[Stage]
    entry: list[str]
    transitions: dict[str, list[str]]
    recycle: SideExit
    disqualify: SideExit
    lost: SideExit
    milestones: Milestones = Field(default_factory=Milestones)

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
        return self

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

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


class SlaLevel(_Model):
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
        try:
            fields = [f for _, f, spec, conv in string.Formatter().parse(v) if f is not None]
        except ValueError as err:
            raise ValueError(f"message template {v!r} is malformed: {err}") from None
        bad = [f for f in fields if f not in MESSAGE_FIELDS]
        if bad:
            raise ValueError(f"message template uses unknown field(s) {bad}; allowed: {list(MESSAGE_FIELDS)}")
        return v


class SlaClock(_Model):
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


class Sla(_Model):
    clocks: list[SlaClock] = Field(default_factory=list)
    leadership: list[str] = Field(default_factory=lambda: ["sales-leadership"])
    auto_return_after_last: bool = False


# --------------------------------------------------------------------------- the definition


class LeadDefinition(_Model):
    """The whole written agreement; see ``data/definition.yaml`` for an example."""

    version: str
    name: str = "Lead definition"
    language: str = "en"
    agreed_by: AgreedBy
    changelog: list[ChangeEntry] = Field(default_factory=list)
    allow_protected: bool = False
    calendar: Calendar = Field(default_factory=Calendar)
    attributes: list[Attribute]
    fit_rules: list[FitRule] = Field(default_factory=list)
    behaviour_rules: list[BehaviourRule] = Field(default_factory=list)
    bant: dict[Literal["budget", "authority", "need", "timeline"], BantRule] = Field(default_factory=dict)
    thresholds: Thresholds
    hot_triggers: list[HotTrigger] = Field(default_factory=list)
    on_recycle: Literal["keep", "restart"] = "keep"
    funnel: Funnel
    sla: Sla = Field(default_factory=Sla)

    @model_validator(mode="after")
    def _cross_checks(self) -> LeadDefinition:
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"attribute(s) declared twice: {dup}")
        ids = [r.id for r in self.fit_rules] + [r.id for r in self.behaviour_rules]
        ids += [f"bant_{k}" for k in self.bant] + [t.id for t in self.hot_triggers]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule id(s) used twice: {dup}; every rule and trigger needs its own id")
        attrs = {a.name: a for a in self.attributes}
        conditions: list[tuple[str, Condition]] = [(f"fit_rules.{r.id}", r) for r in self.fit_rules]
        conditions += [(f"bant.{k}", r) for k, r in self.bant.items()]
        for where, cond in conditions:
            a = attrs.get(cond.attribute)
            if a is None:
                raise ValueError(f"{where}: unknown attribute {cond.attribute!r}; declare it under 'attributes' (known: {names})")
            _check_condition_type(cond, a, where)
            if a.protected:
                if not self.allow_protected:
                    raise ValueError(
                        f"{where}: attribute {a.name!r} is protected and may not be scored; "
                        "remove the rule, or set allow_protected: true if your legal review allows it"
                    )
                warnings.warn(f"{where} scores the protected attribute {a.name!r}", LeadsimWarning, stacklevel=2)
        stage_ids = set(self.funnel.stage_ids)
        for clock in self.sla.clocks:
            if clock.stage not in stage_ids:
                raise ValueError(f"sla clock {clock.id!r}: unknown stage {clock.stage!r}; known: {sorted(stage_ids)}")
            for ev in clock.stop_on:
                if ev not in ("touch", "leave_stage", "recycle") and ev not in stage_ids:
                    raise ValueError(
                        f"sla clock {clock.id!r}: unknown stop_on event {ev!r}; use touch, leave_stage, recycle or a stage id"
                    )
        if self.thresholds.matrix:
            cells = {g + e for g in self.thresholds.fit_grades for e in self.thresholds.engagement}
            bad = sorted(set(self.thresholds.matrix) - cells)
            if bad:
                raise ValueError(f"thresholds.matrix: unknown cell(s) {bad}; cells are grade+band such as {sorted(cells)[:3]}")
        return self

    # -- convenience -------------------------------------------------------

    def attribute(self, name: str) -> Attribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise DefinitionError(f"unknown attribute {name!r}", where="attributes")

    def bant_rules(self) -> list[FitRule]:
        """BANT facts as fit rules with ids ``bant_<fact>`` (category ``bant``)."""
        out = []
        for fact, r in self.bant.items():
            data = r.model_dump(exclude={"label", "points"})
            out.append(
                FitRule.model_construct(
                    **data, id=f"bant_{fact}", label=r.label or f"BANT: {fact}", category="bant", points=r.points
                )
            )
        return out

    @property
    def rule_ids(self) -> list[str]:
        """Every scoring rule's id in contribution-column order."""
        return [r.id for r in self.fit_rules] + [f"bant_{k}" for k in self.bant] + [r.id for r in self.behaviour_rules]

    def rule_label(self, rule_id: str) -> str:
        for r in [*self.fit_rules, *self.behaviour_rules, *self.hot_triggers]:
            if r.id == rule_id:
                return r.label or r.id
        if rule_id.startswith("bant_") and rule_id[5:] in self.bant:
            return self.bant[rule_id[5:]].label or f"BANT: {rule_id[5:]}"
        raise DefinitionError(f"unknown rule id {rule_id!r}", where="rules")

    def stage_label(self, stage_id: str) -> str:
        return self.funnel.stage(stage_id).label

    # -- persistence --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data, ready for YAML/JSON (and for a scenario that embeds it)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_yaml(self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> str:
        """The definition as YAML text; with ``path``, also written atomically.

        An existing file is never replaced unless ``overwrite=True``.
        """
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)
        if path is not None:
            write_text_atomic(Path(path), text, overwrite=overwrite)
        return text

    def bump(self, note: str, *, by: str = "leadsim", version: str | None = None) -> LeadDefinition:
        """A copy with the next minor version and a changelog entry."""
        new = self.model_copy(deep=True)
        if version is None:
            parts = self.version.split(".")
            try:
                parts = [*parts[:-1], str(int(parts[-1]) + 1)] if len(parts) > 1 else [parts[0], "1"]
            except ValueError:
                parts = [self.version, "1"]
            version = ".".join(parts)
        new.version = version
        new.changelog = [*self.changelog, ChangeEntry(version=version, date=dt.date.today(), by=by, note=note)]
        return new


def _check_condition_type(cond: Condition, attr: Attribute, where: str) -> None:
    numeric = attr.type in ("number", "integer")
    if cond.op in ("range", "between") and not (numeric or attr.type == "date"):
        raise ValueError(f"{where}: op {cond.op!r} needs a number or date attribute, {attr.name!r} is {attr.type}")
    if cond.op in ("contains", "regex") and attr.type not in ("text", "category"):
        raise ValueError(f"{where}: op {cond.op!r} needs a text attribute, {attr.name!r} is {attr.type}")
    if attr.type == "category" and attr.allowed is not None and cond.op in ("eq", "ne", "in", "not_in"):
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        unknown = [v for v in values if v not in attr.allowed]
        if unknown:
            raise ValueError(f"{where}: value(s) {unknown} not among {attr.name!r}'s allowed values {attr.allowed}")


# --------------------------------------------------------------------------- I/O


def write_text_atomic(path: Path, text: str, *, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path} is a directory; give a file name", where=str(path))
    if path.exists() and not overwrite:
        raise InputFileError(
            f"{path} exists already; leadsim does not write over files (choose another name or pass overwrite)",
            where=str(path),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _loc_text(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic error location as a dotted path, list items named by their id/name when they have one.

    ``("fit_rules", 1, "op")`` becomes ``fit_rules.director.op`` when item 1 has ``id: director``.
    """
    parts: list[str] = []
    node = data
    for p in loc:
        text = str(p)
        if text.startswith("function-"):
            continue
        child = None
        if isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            child = node[p]
            if isinstance(child, dict):
                key = child.get("id", child.get("name"))
                if isinstance(key, str) and key:
                    text = key
        elif isinstance(node, dict):
            child = node.get(p)
        parts.append(text)
        node = child
    return ".".join(parts)


def _format_validation(err: ValidationError, data: Any = None) -> str:
    lines = []
    for e in err.errors():
        loc = _loc_text(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        given = e.get("input")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (a typo? remove or rename it)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif not e["type"].startswith("value_error") and not isinstance(given, dict | list):
            msg = f"{msg}; got {given!r}"
        lines.append(f"{loc or '<top>'}: {msg}")
    return "; ".join(lines[:5]) + (f" (and {len(lines) - 5} more)" if len(lines) > 5 else "")


def parse_definition(data: Any, *, source: str = "<definition>") -> LeadDefinition:
    """Validate already-parsed YAML/JSON data into a :class:`LeadDefinition`."""
    if not isinstance(data, dict):
        raise DefinitionError(
            f"a lead definition is a YAML mapping (version:, attributes:, ...), got {type(data).__name__}",
            where=source,
        )
    try:
        return LeadDefinition.model_validate(data)
    except ValidationError as err:
        raise DefinitionError(_format_validation(err, data), where=source) from None


#: PyYAML's safe loader, the C one when libyaml is installed (about 6x faster, same results).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | os.PathLike[str], what: str = "YAML file") -> Any:
    """Safely read a YAML file, turning every failure into a :class:`LeadsimError`."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found", where=str(p))
    if p.is_dir():
        raise InputFileError(f"is a directory, expected a {what}", where=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        kind = " (it looks like an Excel workbook)" if err.object[:4] == b"PK\x03\x04" else ""
        raise InputFileError(f"is not UTF-8 text{kind}, so not a {what}; byte {err.start} cannot be decoded; "
                             "give the YAML file, saved as UTF-8", where=str(p)) from None
    except OSError as err:
        raise InputFileError(f"cannot read {what}: {err}", where=str(p)) from None
    if not text.strip():
        raise InputFileError(f"the {what} is empty", where=str(p))
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader (libyaml's when present)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(err, "problem", None) or str(err)
        raise DefinitionError(f"malformed YAML at {line}: {problem}", where=str(p)) from None


def load_definition(path: str | os.PathLike[str] | None = None) -> LeadDefinition:
    """Load and validate a lead definition; without ``path``, the embedded default.

    >>> load_definition().version
    '1.0.0'
    >>> load_definition("de").stage_label("sales_lead")
    'Vertriebs-Lead'
    """
    if path is None or str(path) in ("default", "en"):
        path = data_path("definition.yaml")
    elif str(path) == "de":
        path = data_path("definition.de.yaml")
    data = read_yaml(path, "lead definition")
    return parse_definition(data, source=str(path))


# --------------------------------------------------------------------------- diff


def _flatten(d: LeadDefinition) -> Iterator[tuple[str, str, str, Any]]:
    """(section, item, field, value) for everything a sign-off cares about."""
    data = d.to_dict()
    for key in ("version", "name", "language", "allow_protected", "on_recycle"):
        yield "header", key, "", data.get(key)
    for sec in ("calendar", "thresholds"):
        for k, v in data[sec].items():
            yield sec, k, "", v
    for sec in ("fit_rules", "behaviour_rules", "hot_triggers"):
        for r in data.get(sec, []):
            for k, v in r.items():
                if k != "id":
                    yield sec, r["id"], k, v
    for fact, r in data.get("bant", {}).items():
        for k, v in r.items():
            yield "bant", fact, k, v
    for a in data["attributes"]:
        for k, v in a.items():
            if k != "name":
                yield "attributes", a["name"], k, v
    for s in data["funnel"]["stages"]:
        for k, v in s.items():
            if k != "id":
                yield "funnel", s["id"], k, v
    for k in ("entry", "transitions", "recycle", "disqualify", "lost", "milestones"):
        yield "funnel", k, "", data["funnel"].get(k)
    for c in data["sla"]["clocks"]:
        for k, v in c.items():
            if k == "levels":
                for i, lv in enumerate(v):
                    for lk, lval in lv.items():
                        yield "sla", c["id"], f"levels[{i}].{lk}", lval
            elif k != "id":
                yield "sla", c["id"], k, v
    for k in ("leadership", "auto_return_after_last"):
        yield "sla", k, "", data["sla"].get(k)


def diff(old: LeadDefinition, new: LeadDefinition) -> pd.DataFrame:
    """A readable table of what changed between two definitions.

    Columns: ``section``, ``item`` (rule id, stage, clock ...), ``field``,
    ``old``, ``new``, ``change`` (``added``, ``removed``, ``changed``).  The
    version and changelog are left out: they always change.
    """
    a = {(s, i, f): v for s, i, f, v in _flatten(old) if (s, i) != ("header", "version")}
    b = {(s, i, f): v for s, i, f, v in _flatten(new) if (s, i) != ("header", "version")}
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        va, vb = a.get(key), b.get(key)
        if key not in b:
            change = "removed"
        elif key not in a:
            change = "added"
        elif va == vb:
            continue
        else:
            change = "changed"
        rows.append({"section": key[0], "item": key[1], "field": key[2], "old": va, "new": vb, "change": change})
    return pd.DataFrame(rows, columns=["section", "item", "field", "old", "new", "change"])
