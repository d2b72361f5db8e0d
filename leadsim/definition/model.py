"""The whole lead definition: :class:`LeadDefinition`, its parts and the checks across them.

The checks that need more than one part live here: attributes declared once,
rule ids unique, every condition on a declared attribute of a fitting type,
protected attributes scored only when allowed, SLA clocks on known stages,
matrix cells that exist.

>>> from leadsim.definition import load_definition
>>> d = load_definition()
>>> d.rule_ids[:3]
['senior_exec', 'director', 'manager']
>>> d.bump("MQL threshold lowered to 90").changelog[-1].version
'1.0.1'
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal

from pydantic import Field, model_validator

from leadsim.definition.calendar_model import Calendar
from leadsim.definition.gates import MqlGates, check_gates
from leadsim.definition.parts import (
    AgreedBy,
    Attribute,
    BantRule,
    BehaviourRule,
    ChangeEntry,
    Condition,
    FitRule,
    Funnel,
    HotTrigger,
    LeadsimWarning,
    Sla,
    StrictModel,
    Thresholds,
)
from leadsim.definition.reasons import DEFAULT_EXITS, EXITS, Reasons
from leadsim.definition.versioning import bump
from leadsim.errors import DefinitionError

__all__ = ["LeadDefinition"]


class LeadDefinition(StrictModel):
    """The whole written agreement; see ``data/definition.yaml`` for an example."""

    version: str
    name: str = "Lead definition"
    language: str = "en"
    agreed_by: AgreedBy
    changelog: list[ChangeEntry] = Field(default_factory=list)
    allow_protected: bool = False
    calendar: Calendar = Field(default_factory=Calendar)
    #: named calendars for teams elsewhere; the owners table's ``calendar`` column points to one
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    attributes: list[Attribute]
    fit_rules: list[FitRule] = Field(default_factory=list)
    behaviour_rules: list[BehaviourRule] = Field(default_factory=list)
    bant: dict[Literal["budget", "authority", "need", "timeline"], BantRule] = Field(default_factory=dict)
    thresholds: Thresholds
    hot_triggers: list[HotTrigger] = Field(default_factory=list)
    #: what an MQL needs besides the threshold, and a hot trigger besides its activity (leadsim.definition.gates)
    gates: MqlGates = Field(default_factory=MqlGates)
    on_recycle: Literal["keep", "restart"] = "keep"
    funnel: Funnel
    sla: Sla = Field(default_factory=Sla)
    reasons: Reasons = Field(default_factory=Reasons)

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
        blank = [n for n in self.calendars if not str(n).strip()]
        if blank:
            raise ValueError("calendars: a named calendar needs a non-empty name (e.g. boston)")
        stage_ids = set(self.funnel.stage_ids)
        for clock in self.sla.clocks:
            if clock.stage not in stage_ids:
                raise ValueError(f"sla clock {clock.id!r}: unknown stage {clock.stage!r}; known: {sorted(stage_ids)}")
            for ev in clock.stop_on:
                if ev not in ("touch", "leave_stage", "recycle") and ev not in stage_ids:
                    raise ValueError(
                        f"sla clock {clock.id!r}: unknown stop_on event {ev!r}; use touch, leave_stage, recycle or a stage id"
                    )
        points = {r.id: r.points for r in [*self.fit_rules, *self.behaviour_rules]}
        points.update({f"bant_{k}": r.points for k, r in self.bant.items()})
        check_gates(self.gates, rule_points={i: points[i] for i in self.rule_ids}, grades=list(self.thresholds.fit_grades))
        self._check_reasons_and_alerts(stage_ids)
        if self.thresholds.matrix:
            cells = {g + e for g in self.thresholds.fit_grades for e in self.thresholds.engagement}
            bad = sorted(set(self.thresholds.matrix) - cells)
            if bad:
                raise ValueError(f"thresholds.matrix: unknown cell(s) {bad}; cells are grade+band such as {sorted(cells)[:3]}")
        return self

    def _check_reasons_and_alerts(self, stage_ids: set[str]) -> None:
        known = self.reasons.ids
        for name in EXITS:
            listed = getattr(self.funnel, name).reasons or []
            bad = [r for r in listed if r not in known]
            if bad:
                raise ValueError(f"funnel.{name}.reasons: {bad} not in the vocabulary (reasons.vocabulary: {known}); "
                                 "add them there with a label, or correct the id")
        dl = self.sla.deadline
        dl_stage = None if dl is None else dl.stage or self.funnel.milestones.sql
        if dl_stage is not None and dl_stage not in stage_ids:
            raise ValueError(f"sla.deadline.stage: unknown stage {dl_stage!r}; known: {sorted(stage_ids)}")
        for clock in self.sla.clocks:
            for k, lv in enumerate(clock.levels):
                where = f"sla clock {clock.id!r}, level {k}"
                if "{link}" in lv.message and self.sla.record_url is None:
                    raise ValueError(f"{where}: the message uses {{link}} but sla.record_url is not set; "
                                     "add e.g. record_url: https://crm.example/lead/{lead_id}")
                if "{days_left}" in lv.message and dl_stage != clock.stage:
                    raise ValueError(f"{where}: the message uses {{days_left}}, which counts the days to "
                                     f"sla.deadline; set sla.deadline with stage {clock.stage!r}, or drop the field")

    # -- convenience -------------------------------------------------------

    def exit_reasons(self, exit: str) -> list[str]:
        """The reason ids a side exit (recycle, disqualify, lost) accepts.

        Its own ``reasons`` list when it has one; otherwise the exit's default
        ids (:data:`~leadsim.definition.reasons.DEFAULT_EXITS`) that the
        vocabulary lists, or every reason when it lists none of them.

        >>> from leadsim.definition import load_definition
        >>> load_definition().exit_reasons("disqualify")[:2]
        ['student', 'competitor']
        """
        listed = getattr(self.funnel, exit).reasons
        if listed is not None:
            return list(listed)
        ids = self.reasons.ids
        return [i for i in DEFAULT_EXITS[exit] if i in ids] or ids

    def reason_ids(self, texts: Any, *, exit: str) -> list[str]:
        """The reason id each text on an ``exit`` row stands for (see :class:`~leadsim.definition.reasons.Reasons`)."""
        return self.reasons.resolve_texts(texts, exit=exit, accepted=self.exit_reasons(exit))


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

        An existing file is never replaced unless ``overwrite=True``.  See
        :func:`leadsim.definition.loading.write_definition`.
        """
        from leadsim.definition.loading import definition_yaml, write_definition  # loading imports this module

        if path is None:
            return definition_yaml(self)
        return write_definition(self, path, overwrite=overwrite)

    def bump(self, note: str, *, by: str = "leadsim", version: str | None = None) -> LeadDefinition:
        """A copy with the next minor version and a changelog entry (see :func:`~leadsim.definition.versioning.bump`)."""
        return bump(self, note, by=by, version=version)


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
