"""Versions of a lead definition: what changed between two (:func:`diff`) and the next version (:func:`bump`).

A sign-off compares the signed definition with a revised one rule by rule;
:func:`diff` gives that table, :func:`bump` the revised definition's next
version with a changelog entry saying why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadsim.definition.parts import ChangeEntry

if TYPE_CHECKING:
    from leadsim.definition.model import LeadDefinition

__all__ = ["bump", "diff", "next_version"]


def next_version(version: str) -> str:
    """The version after ``version``: its last dotted number plus one (``.1`` appended when there is none).

    >>> next_version("1.0.0"), next_version("2"), next_version("2024-spring")
    ('1.0.1', '2.1', '2024-spring.1')
    """
    parts = version.split(".")
    try:
        parts = [*parts[:-1], str(int(parts[-1]) + 1)] if len(parts) > 1 else [parts[0], "1"]
    except ValueError:
        parts = [version, "1"]
    return ".".join(parts)


def bump(definition: LeadDefinition, note: str, *, by: str = "leadsim", version: str | None = None) -> LeadDefinition:
    """A copy of ``definition`` with the next version (or ``version``) and a changelog entry for today.

    >>> from leadsim.definition import load_definition
    >>> new = bump(load_definition(), "MQL threshold lowered to 90", by="rev ops")
    >>> new.version, new.changelog[-1].note, new.changelog[-1].by
    ('1.0.1', 'MQL threshold lowered to 90', 'rev ops')
    """
    new = definition.model_copy(deep=True)
    version = next_version(definition.version) if version is None else version
    new.version = version
    new.changelog = [*definition.changelog, ChangeEntry(version=version, date=dt.date.today(), by=by, note=note)]
    return new


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
    for name, gate in data.get("gates", {}).items():
        for k, v in gate.items():
            yield "gates", name, k, v
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

    >>> from leadsim.definition import load_definition
    >>> d = load_definition()
    >>> d2 = d.model_copy(deep=True)
    >>> d2.thresholds.mql = 90
    >>> diff(d, d2)[["section", "item", "old", "new", "change"]].to_dict("records")
    [{'section': 'thresholds', 'item': 'mql', 'old': 100.0, 'new': 90.0, 'change': 'changed'}]
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
