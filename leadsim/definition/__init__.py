"""The written lead definition: one versioned YAML file both teams sign off.

A :class:`LeadDefinition` holds the fit rules, behaviour rules, BANT, the MQL
threshold and grades, the hot triggers, the funnel and the SLA clocks.  Rules
are *data*: a small closed set of operators (see :data:`OPERATORS`) that the
scoring engine evaluates with vectorised pandas/numpy code.  Nothing in a
definition file is ever run as Python.

The package has one module per concern; import from here:

* :mod:`~leadsim.definition.parts`: the pydantic models of the parts (calendar,
  attributes, rules, thresholds, funnel, SLA);
* :mod:`~leadsim.definition.gates`: the MQL gates (what an MQL and a hot trigger need besides score and activity);
* :mod:`~leadsim.definition.reasons`: the vocabulary of recycle, disqualify and lost reasons;
* :mod:`~leadsim.definition.alerting`: the record link, campaign and deadline an alert carries;
* :mod:`~leadsim.definition.model`: :class:`LeadDefinition` and the checks across parts;
* :mod:`~leadsim.definition.loading`: reading and writing YAML, error messages;
* :mod:`~leadsim.definition.versioning`: :func:`diff` and :func:`bump`.

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

from leadsim.definition.alerting import URL_FIELDS, Deadline
from leadsim.definition.calendar_model import Calendar
from leadsim.definition.gates import Gate, MqlGates
from leadsim.definition.loading import (
    definition_yaml,
    format_validation_error,
    load_definition,
    parse_definition,
    read_yaml,
    write_definition,
)
from leadsim.definition.model import LeadDefinition
from leadsim.definition.parts import (
    MESSAGE_FIELDS,
    OPERATORS,
    WEEKDAYS,
    AgreedBy,
    Attribute,
    BantRule,
    BehaviourRule,
    ChangeEntry,
    Condition,
    DetailFilter,
    FitRule,
    Funnel,
    HotTrigger,
    LeadsimWarning,
    Milestones,
    ProgressionStep,
    SideExit,
    Sla,
    SlaClock,
    SlaLevel,
    Stage,
    Thresholds,
    UrgencyBands,
)
from leadsim.definition.reasons import DEFAULT_VOCABULARY, Reason, Reasons
from leadsim.definition.versioning import bump, diff, next_version

__all__ = [
    "DEFAULT_VOCABULARY",
    "MESSAGE_FIELDS",
    "OPERATORS",
    "URL_FIELDS",
    "WEEKDAYS",
    "AgreedBy",
    "Attribute",
    "BantRule",
    "BehaviourRule",
    "Calendar",
    "ChangeEntry",
    "Condition",
    "Deadline",
    "DetailFilter",
    "FitRule",
    "Funnel",
    "Gate",
    "HotTrigger",
    "LeadDefinition",
    "LeadsimWarning",
    "Milestones",
    "MqlGates",
    "ProgressionStep",
    "Reason",
    "Reasons",
    "SideExit",
    "Sla",
    "SlaClock",
    "SlaLevel",
    "Stage",
    "Thresholds",
    "UrgencyBands",
    "bump",
    "definition_yaml",
    "diff",
    "format_validation_error",
    "load_definition",
    "next_version",
    "parse_definition",
    "read_yaml",
    "write_definition",
]
