"""What a simulation run is asked to do: a validated, YAML-loadable scenario.

A :class:`Scenario` *embeds* the lead definition's content (not a path), so a
remote worker needs no local files.  In YAML, ``definition:`` may also be
``default``/``de`` or a file path; it is read once and embedded.  A full
scenario must name its definition (the sample's YAML says ``definition:
default``); there is no silent fall-back to the sample.  Only the reduced
queueing model (:meth:`Scenario.queueing`) runs without one (``definition:
null``).

>>> s = load_scenario()                         # the embedded sample
>>> s.routing, s.sdr_headcount, s.lead_definition.thresholds.mql
('deadline_first', 3, 100.0)
>>> s2 = s.with_values({"definition.thresholds.mql": 90, "sdr_headcount": 4})
>>> s2.lead_definition.thresholds.mql, s2.sdr_headcount
(90.0, 4)
>>> s.with_values({"sdr_headcnt": 4})
Traceback (most recent call last):
...
leadsim.errors.ScenarioError: grid: unknown key 'sdr_headcnt' (at 'sdr_headcnt'); known here: ...
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from leadsim._resources import data_path
from leadsim.definition import LeadDefinition, format_validation_error, load_definition, parse_definition, read_yaml
from leadsim.definition.parts import opening_hours
from leadsim.errors import LeadsimError, ScenarioError
from leadsim.simulation.curves import ResponseCurve

__all__ = ["CHANGEABLE", "ROUTINGS", "SOURCES", "Change", "Decisions", "Scenario", "load_scenario"]

#: Routing rules a scenario may name.
ROUTINGS = ("fifo", "hot_first", "score_first", "deadline_first")
#: Lead sources with their own arrival profile (outbound is configured separately).
SOURCES = ("web_form", "paid", "organic", "event")

#: How to give a scenario its definition (in messages).
_NAME_DEFINITION = ("put 'definition: default' (the sample), 'de' or a file path in the scenario YAML, "
                    "or pass Scenario(definition=leadsim.load_definition(...), ...)")

#: the key of :meth:`Scenario.portable`'s fitted parts
_PRIVATE = "__fitted__"

_OFFICE_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 3.0, 5.5, 6.5, 6.5, 4.5, 5.5, 6.5, 6.0,
                 5.0, 3.5, 2.0, 1.8, 1.8, 1.5, 1.0, 0.5]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ArrivalProfile(_Model):
    """Poisson arrivals of one source: a weekly volume shaped by weekday x hour weights."""

    per_week: float = Field(..., ge=0, description="expected new leads per week")
    weekday: list[float] = Field(default_factory=lambda: [1, 1, 1, 1, 1, 0.35, 0.3])
    hour: list[float] = Field(default_factory=lambda: list(_OFFICE_HOURS))

    @field_validator("weekday")
    @classmethod
    def _seven(cls, v: list[float]) -> list[float]:
        if len(v) != 7 or min(v) < 0 or sum(v) <= 0:
            raise ValueError(f"weekday needs 7 weights >= 0 (Monday first), not all zero; got {v}")
        return v

    @field_validator("hour")
    @classmethod
    def _day(cls, v: list[float]) -> list[float]:
        if len(v) != 24 or min(v) < 0 or sum(v) <= 0:
            raise ValueError(f"hour needs 24 weights >= 0 (midnight first), not all zero; got {len(v)} values")
        return v


class Burst(_Model):
    """A campaign batch: an event uploads ``size`` names at once, every ``every_days``."""

    source: Literal["web_form", "paid", "organic", "event"] = "event"
    size: int = Field(..., ge=0)
    first_day: float = Field(10, ge=0)
    every_days: float | None = Field(None, gt=0)


class Outbound(_Model):
    """Sales-sourced leads entering at Sales Lead (or Opportunity) with a rep as owner."""

    per_week: float = Field(0, ge=0)
    opportunity_share: float = Field(0.3, ge=0, le=1)


class Handling(_Model):
    """How long work takes and what it leads to (minutes of shift time unless noted)."""

    call_minutes: float = Field(6, gt=0, description="one call attempt by an SDR")
    research_minutes: float = Field(0, ge=0, description="an SDR's work on a hand-off besides its calls (research, "
                                    "notes, the e-mail sequence), done with the first attempt")
    qualify_minutes: float = Field(20, gt=0, description="the qualifying talk with a reached lead")
    rep_touch_minutes: float = Field(30, gt=0)
    retry_minutes: list[float] = Field(default_factory=lambda: [120, 480, 1440])
    retry_deadline_minutes: float = Field(240, ge=0)
    decision_days: float = Field(4, gt=0, description="mean working days from first touch to the rep's decision")
    close_days: float = Field(25, gt=0, description="mean working days from Opportunity to won/lost")
    opportunity_bias: float = 0.3
    win_bias: float = -1.0

    @field_validator("retry_minutes")
    @classmethod
    def _retries(cls, v: list[float]) -> list[float]:
        if any(x <= 0 for x in v):
            raise ValueError(f"retry gaps must be > 0 minutes, got {v}")
        return v


class Decisions(_Model):
    """What simulated leads drawn from a history do after a hand-off (``leads: history``; fitted, see
    :mod:`leadsim.simulation.resample`)."""

    qualify_log_odds: float = Field(..., description="log-odds that a lead reached at the first attempt "
                                    "qualifies, at the fit score qualify_center and the response curve's baseline "
                                    "delay")
    qualify_per_point: float = Field(0.0, description="... plus this per fit-score point above qualify_center")
    qualify_center: float = 0.0
    disqualify_share: float = Field(0.25, ge=0, le=1, description="reached, not qualified: disqualified (else "
                                    "recycled)")
    opportunity_share: float = Field(0.5, ge=0, le=1, description="a decided Sales Lead becomes an Opportunity")
    sales_disqualify_share: float = Field(0.3, ge=0, le=1, description="a Sales Lead not converted: disqualified "
                                          "(else recycled)")
    win_share: float = Field(0.27, ge=0, le=1, description="a closed Opportunity is won")


class Behaviour(_Model):
    """How leads behave: browsing sessions and nurture clicks."""

    sessions_per_month: float = Field(3.5, ge=0)
    life_days: float = Field(120, gt=0, description="mean days a lead's interest lasts")
    nurture_every_days: float = Field(7, gt=0, description="cadence of nurture offers per stage")
    nurture_click: float = Field(0.2, ge=0, le=1, description="click chance of an average lead per offer")
    burst_offset: float = Field(5.0, description="log-odds offset of an intense (buying) session: higher = rarer")
    epoch_days: float = Field(7, gt=0, le=91, description="how often nurture offers follow the stage and recycled "
                              "leads' MQL moments are computed")


#: What a dated change may set (a rep's own queue cannot be closed mid-run: rep headcount only grows).
CHANGEABLE = ("sdr_headcount", "rep_headcount", "routing")


class Change(_Model):
    """From day ``from_day`` of the run on (days after ``start``, fractions allowed), ``settings`` hold: a hiring
    plan, a team shrinking, another routing rule.  Keys: :data:`CHANGEABLE`."""

    from_day: float = Field(..., ge=0, description="days after the scenario's start")
    settings: dict[str, Any] = Field(..., min_length=1)

    @field_validator("settings")
    @classmethod
    def _known(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if key not in CHANGEABLE:
                raise ValueError(f"a dated change cannot set {key!r}; it sets {list(CHANGEABLE)}")
            if key.endswith("_headcount") and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
            if key == "routing" and value not in ROUTINGS:
                raise ValueError(f"routing must be one of {list(ROUTINGS)}, got {value!r}")
        return v


class Curve(_Model):
    """Speed-to-lead decay: a named preset or anchors of odds multipliers.

    ``contact`` and ``qualification`` map a response delay (minutes) to an
    odds multiplier relative to the curve's baseline (multiplier 1); between
    anchors the log-odds interpolate linearly in the delay, outside they stay
    flat.
    """

    preset: str = "default"
    contact: dict[float, float] | None = None
    qualification: dict[float, float] | None = None
    contact_base: float = Field(0.75, gt=0, lt=1, description="chance to reach a lead at the baseline delay")

    def response_curve(self) -> ResponseCurve:
        """The curves the simulation applies: the preset's, with the anchors given here in their place.

        >>> Curve(preset="flat", qualification={5: 1.0, 60: 0.5}).response_curve().qualification_multiplier(60)
        0.5
        """
        return ResponseCurve.preset(self.preset, self.contact, self.qualification)


class QueueingSpec(_Model):
    """The reduced M/M/c(+M) model of :meth:`Scenario.queueing`."""

    arrivals_per_hour: float = Field(..., gt=0)
    services_per_hour: float = Field(..., gt=0)
    servers: int = Field(..., ge=1)
    patience_hours: float | None = Field(None, gt=0)


class Scenario(_Model):
    """A simulation scenario; see ``data/scenario.yaml`` for the sample."""

    name: str = "scenario"
    mode: Literal["full", "queueing"] = "full"
    definition: dict[str, Any] | None = Field(
        ..., description="the lead definition's content; in YAML also default, de or a file path; null only for "
        "the queueing model")
    start: dt.date = dt.date(2026, 1, 5)
    horizon_days: float = 91
    warmup_days: float = Field(0, ge=0)
    arrivals: dict[Literal["web_form", "paid", "organic", "event"], ArrivalProfile] = Field(default_factory=dict)
    bursts: list[Burst] = Field(default_factory=list)
    outbound: Outbound = Field(default_factory=Outbound)
    sdr_headcount: int = 3
    rep_headcount: int = 2
    shifts: dict[Literal["sdr", "rep"], tuple[str, str] | None] = Field(default_factory=dict)
    calendars: dict[Literal["sdr", "rep"], str | dict[str, int]] = Field(
        default_factory=dict, description="a role's people on named calendars of the definition: a name for the "
        "whole role, or names and counts (the first people by number; the rest on the home calendar)")
    routing: str = "deadline_first"
    escalation: Literal["none", "front", "free_rep"] = Field(
        "front", description="when a manager or leadership level fires on a waiting lead: nothing, move it to the "
        "front of its queue, or (Sales Leads) hand it to a rep who is free now, else to the front")
    patience_hours: float | None = 72
    curve: Curve = Field(default_factory=Curve)
    exploration_share: float = Field(0.0, ge=0, lt=1)
    quota_opps_per_sdr_month: float = Field(8, ge=0)
    handling: Handling = Field(default_factory=Handling)
    changes: list[Change] = Field(default_factory=list, description="dated changes: from day N, other headcounts "
                                  "or routing")
    behaviour: Behaviour = Field(default_factory=Behaviour)
    leads: Literal["generator", "history"] = Field(
        "generator", description="new leads from leadsim's generator (behaviour from 'behaviour'), or drawn from "
        "a history's leads (Scenario.from_history; 'decisions' then says what they do after a hand-off)")
    decisions: Decisions | None = None
    monitor_minutes: float = Field(60, gt=0)
    queueing_spec: QueueingSpec | None = None

    _definition: LeadDefinition | None = PrivateAttr(default=None)
    # fitted scenarios: the provenance rows (plain records, so scenarios still compare with ==)
    _provenance: tuple[dict[str, Any], ...] | None = PrivateAttr(default=None)
    # leads: history -- the past leads arrivals are drawn from (a leadsim.simulation.resample.LeadPool)
    _pool: Any = PrivateAttr(default=None)

    @field_validator("definition", mode="before")
    @classmethod
    def _embed(cls, v: Any) -> Any:
        if isinstance(v, LeadDefinition):
            return v.to_dict()
        if isinstance(v, str | os.PathLike):
            return load_definition(v).to_dict()
        return v

    @field_validator("definition")
    @classmethod
    def _valid_definition(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        try:
            parse_definition(v, source="definition")
        except LeadsimError as err:
            raise ValueError(f"the embedded lead definition is invalid: {err}") from None
        return v

    @field_validator("horizon_days")
    @classmethod
    def _horizon(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"the horizon must be more than 0 days, got {v}")
        return v

    @field_validator("sdr_headcount", "rep_headcount")
    @classmethod
    def _headcount(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"a headcount cannot be negative, got {v}")
        return v

    @field_validator("routing")
    @classmethod
    def _routing(cls, v: str) -> str:
        if v not in ROUTINGS:
            raise ValueError(f"unknown routing {v!r}; use one of {list(ROUTINGS)}")
        return v

    @field_validator("patience_hours")
    @classmethod
    def _patience(cls, v: float | None) -> float | None:
        if v is not None and not v > 0:
            raise ValueError(f"patience must be more than 0 hours (or null for endless), got {v}")
        return v

    @model_validator(mode="after")
    def _cross(self) -> Scenario:
        from leadsim.simulation.curves import PRESETS

        if self.curve.preset not in PRESETS:
            raise ValueError(f"curve.preset: unknown curve {self.curve.preset!r}; use one of {sorted(PRESETS)}")
        if self.warmup_days >= self.horizon_days:
            raise ValueError(f"warmup_days {self.warmup_days} must be shorter than horizon_days {self.horizon_days}")
        for role, sh in self.shifts.items():
            if sh is not None:
                opening_hours(sh, f"shifts.{role}")
        reps = self.rep_headcount
        for k, ch in enumerate(sorted(self.changes, key=lambda c: c.from_day)):
            if ch.from_day >= self.horizon_days:
                raise ValueError(f"changes.{k}.from_day {ch.from_day:g} is not inside the run's {self.horizon_days:g} "
                                 "days")
            if ch.settings.get("rep_headcount", reps) < reps:
                raise ValueError(f"changes.{k}: rep_headcount may only grow during a run (each rep has their own "
                                 f"queue): {reps} -> {ch.settings['rep_headcount']}")
            reps = ch.settings.get("rep_headcount", reps)
        if self.leads == "history" and self.decisions is None:
            raise ValueError("leads: history needs 'decisions' (what the drawn leads do after a hand-off); fit the "
                             "scenario with Scenario.from_history")
        if self.mode == "queueing" and self.queueing_spec is None:
            raise ValueError("mode 'queueing' needs queueing_spec (use Scenario.queueing(...))")
        if self.mode == "full" and self.definition is None:
            raise ValueError(f"definition: a full scenario needs a lead definition, not null; {_NAME_DEFINITION}")
        if self.mode == "full":  # a funnel the simulation cannot run is refused here, naming the stage
            from leadsim.simulation.people import check_calendars
            from leadsim.simulation.stages import StageRoles

            StageRoles.of(self.lead_definition)
            check_calendars(self.calendars, list(self.lead_definition.calendars),
                            {"sdr": self.peak("sdr_headcount"), "rep": self.peak("rep_headcount")})
        return self

    # -- convenience ---------------------------------------------------------

    @property
    def lead_definition(self) -> LeadDefinition:
        """The embedded definition as a validated :class:`LeadDefinition` (cached)."""
        if self.definition is None:
            raise ScenarioError(f"this scenario carries no lead definition; {_NAME_DEFINITION}",
                                where="scenario.definition")
        if self._definition is None:
            self._definition = parse_definition(self.definition, source="scenario.definition")
        return self._definition

    def peak(self, role: str) -> int:
        """The most people of ``role`` (``"sdr_headcount"`` or ``"rep_headcount"``) on the team at any time of the
        run, its dated changes included.

        >>> load_scenario().with_values({"changes": [{"from_day": 5, "settings": {"sdr_headcount": 4}}]}).peak(
        ...     "sdr_headcount")
        4
        """
        return max([getattr(self, role), *(c.settings.get(role, 0) for c in self.changes)])

    @property
    def pool(self) -> Any:
        """The past leads a ``leads: history`` scenario draws its arrivals from
        (:class:`~leadsim.simulation.resample.LeadPool`); raises :class:`ScenarioError` when it has none."""
        if self._pool is None:
            raise ScenarioError("this scenario draws its leads from a history (leads: history) but carries none (a "
                                "scenario read from YAML does not): fit it again with Scenario.from_history, or set "
                                "leads: generator", where="scenario.leads")
        return self._pool

    def portable(self) -> dict[str, Any]:
        """Plain data that :func:`build` turns back into this scenario, fitted parts (provenance, lead pool)
        included: what a worker process gets.  :meth:`to_yaml` leaves the fitted parts out."""
        data = self.model_dump(mode="json")
        if self._provenance is not None or self._pool is not None:
            data[_PRIVATE] = {"provenance": self._provenance, "pool": self._pool}
        return data

    @property
    def provenance(self) -> Any:
        """Where each fitted parameter came from (a pandas DataFrame: ``parameter``, ``value``, ``lo``, ``hi``,
        ``n``, ``unit``, ``source``, ``method``); None for a scenario that was not fitted from a history."""
        if self._provenance is None:
            return None
        import pandas as pd

        return pd.DataFrame(list(self._provenance))

    @classmethod
    def from_history(cls, history: Any, definition: LeadDefinition, *, start: Any = None, end: Any = None,
                     base: Scenario | None = None) -> Scenario:
        """A scenario fitted to ``history`` in ``[start, end)``: :func:`leadsim.simulation.fitting.fit_scenario`.

        >>> import warnings
        >>> from leadsim.datasets import load_sample
        >>> s = load_sample()
        >>> with warnings.catch_warnings(action="ignore"):  # a four-week window: too short to draw leads from
        ...     sc = Scenario.from_history(s, s.definition, start="2026-03-02", end="2026-03-30")
        >>> sc.sdr_headcount, len(sc.provenance) > 0, sc.leads
        (3, True, 'generator')
        """
        from leadsim.simulation.fitting import fit_scenario

        return fit_scenario(history, definition, start=start, end=end, base=base)

    @classmethod
    def queueing(
        cls,
        arrivals_per_hour: float,
        services_per_hour: float,
        servers: int,
        patience_hours: float | None = None,
        horizon_days: float = 30,
        warmup_days: float = 2,
    ) -> Scenario:
        """The model reduced to M/M/c (or M/M/c+M with ``patience_hours``).

        Poisson arrivals straight into the SDR queue, exponential handling, no
        calendar, shifts, scoring, retries, routing priority, SLA clocks,
        recycling, bursts or sales stage -- run through the same rep, queue,
        patience and recording code as the full model.

        >>> Scenario.queueing(8, 3, 4, horizon_days=1, warmup_days=0).sdr_headcount
        4
        """
        spec = dict(arrivals_per_hour=arrivals_per_hour, services_per_hour=services_per_hour,
                    servers=servers, patience_hours=patience_hours)
        return build(
            {"name": "queueing", "mode": "queueing", "definition": None, "horizon_days": horizon_days, "warmup_days": warmup_days,
             "sdr_headcount": servers, "rep_headcount": 0, "routing": "fifo", "escalation": "none",
             "patience_hours": patience_hours, "queueing_spec": spec},
            source="Scenario.queueing",
        )

    def with_values(self, values: dict[str, Any], *, skip_unknown: bool = False) -> Scenario:
        """A copy with dotted-path values set (``definition.thresholds.mql``,
        ``definition.sla.clocks.response.levels.1.offset``, ``sdr_headcount``).

        Lists are indexed by position or, for items with an ``id``, by id.
        Unknown keys raise :class:`ScenarioError` (``skip_unknown``: are left out).
        """
        data = self.portable()
        for key, value in values.items():
            try:
                _set_path(data, str(key), value)
            except ScenarioError:
                if not skip_unknown:
                    raise
        return build(data, source="grid")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)


def _set_path(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[: i + 1])
        if isinstance(node, dict):
            if part not in node:
                raise ScenarioError(
                    f"unknown key {key!r} (at {here!r}); known here: {sorted(map(str, node))[:12]}", where="grid"
                )
            if last:
                node[part] = copy.deepcopy(value)
                return
            node = node[part]
        elif isinstance(node, list):
            idx = None
            if part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                idx = int(part)
            else:
                ids = [x.get("id") for x in node if isinstance(x, dict)]
                if part in ids:
                    idx = ids.index(part)
            if idx is None:
                raise ScenarioError(f"unknown key {key!r}: no item {part!r} at {here!r}", where="grid")
            if last:
                node[idx] = copy.deepcopy(value)
                return
            node = node[idx]
        else:
            raise ScenarioError(f"unknown key {key!r}: {here!r} holds a single value, not a section", where="grid")


def build(data: Any, *, source: str = "<scenario>", provenance: tuple[dict[str, Any], ...] | None = None,
          pool: Any = None) -> Scenario:
    """Validate plain data into a :class:`Scenario`; errors name the field.  A fitted scenario also carries its
    ``provenance`` rows and lead ``pool`` (:func:`leadsim.simulation.fitting.fit_scenario` passes them; the data
    of :meth:`Scenario.portable` holds them already)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"a scenario is a YAML mapping, got {type(data).__name__}", where=source)
    private = data.get(_PRIVATE)
    if private is not None:
        data = {k: v for k, v in data.items() if k != _PRIVATE}
    elif provenance is not None or pool is not None:
        private = {"provenance": provenance, "pool": pool}
    try:
        out = Scenario.model_validate(data)
        if private is not None:
            out._provenance, out._pool = private["provenance"], private["pool"]
        return out
    except ValidationError as err:
        missing = "definition: required key is missing"  # as format_validation_error words it: add the fix
        msg = format_validation_error(err).replace(missing, f"{missing} ({_NAME_DEFINITION})", 1)
        raise ScenarioError(msg, where=source) from None


def load_scenario(path: str | os.PathLike[str] | None = None) -> Scenario:
    """A scenario from YAML; without ``path`` the embedded sample ``data/scenario.yaml``."""
    p = data_path("scenario.yaml") if path is None or str(path) == "sample" else path
    return build(read_yaml(p, "scenario"), source=str(p))
