"""What leadsim's tables look like: kinds, columns and their types, vocabularies, and helpers for messages.

Every reader and checker in :mod:`leadsim.io` works from :data:`COLUMNS`: the
core columns of each table kind with their type and whether they are required
(leads also carry the definition's attributes, see :func:`columns_for`).

>>> from leadsim.definition import load_definition
>>> list(columns_for("touches", load_definition()))
['lead_id', 'at', 'kind', 'by']
>>> rows_text(np.array([False, True, False, True]))
'rows 3, 5'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.errors import SchemaError

__all__ = [
    "ACTIVITIES",
    "COLUMNS",
    "DEFAULT_MISSING",
    "FILE_FORMATS",
    "KINDS",
    "VOCABULARIES",
    "Kind",
    "allowed_values",
    "columns_for",
    "did_you_mean",
    "rows_text",
    "strip_cells",
]

Kind = Literal["leads", "activities", "stage_log", "touches", "owners", "outcomes"]
#: The table kinds leadsim reads.
KINDS: tuple[str, ...] = ("leads", "activities", "stage_log", "touches", "owners", "outcomes")

#: Core columns of each table kind: name -> (type, required).  A required
#: column must be present; for ``id`` and ``datetime`` types every value must
#: be present too.  Leads also carry the definition's attributes.
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "leads": {
        "lead_id": ("id", True),
        "company": ("text", False),
        "source": ("source", False),
        "created_at": ("datetime", True),
    },
    "activities": {
        "lead_id": ("id", True),
        "activity": ("id", True),
        "at": ("datetime", True),
        "detail": ("text", False),
    },
    "stage_log": {
        "lead_id": ("id", True),
        "stage": ("stage", True),
        "at": ("datetime", True),
        "reason": ("text", False),
        "owner": ("text", False),
    },
    "touches": {
        "lead_id": ("id", True),
        "at": ("datetime", True),
        "kind": ("text", False),
        "by": ("text", False),
    },
    "owners": {
        "owner": ("id", True),
        "role": ("role", True),
        "manager": ("text", False),
        "team": ("text", False),
    },
    "outcomes": {
        "handoff_id": ("id", False),
        "lead_id": ("id", True),
        "handed_at": ("datetime", True),
        "handoff_reason": ("handoff_reason", False),
        "propensity": ("number", False),
        "definition_version": ("text", False),
        "owner": ("text", False),
        "response_minutes": ("number", False),
        "sql": ("bool", True),
        "opportunity": ("bool", False),
        "won": ("bool", False),
        "reason": ("text", False),
    },
}

#: Closed vocabularies of core columns.  Sources, campaigns and owner roles (BDR, AE, manager ...) are a
#: company's own: open text, which a mapping may group under 'values:'.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "handoff_reason": ("score", "hot", "manual", "exploration"),
}

#: The activity vocabulary of leadsim's sample and simulation.
ACTIVITIES: tuple[str, ...] = ("web_visit", "email_click", "content_download", "webinar", "live_demo", "in_depth_demo",
                               "form_fill", "unsubscribe")

#: Cell texts read as missing in every file (a mapping can add more).
DEFAULT_MISSING: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "#N/A", "NaT")
#: File extensions leadsim reads and writes, and their format.
FILE_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}



def columns_for(kind: str, definition: LeadDefinition) -> dict[str, str]:
    """Every leadsim column of ``kind`` with its type (for leads, the definition's attributes too).

    >>> from leadsim.definition import load_definition
    >>> columns_for("owners", load_definition())
    {'owner': 'id', 'role': 'role', 'manager': 'text', 'team': 'text'}
    """
    if kind not in COLUMNS:
        raise SchemaError(f"unknown table kind {kind!r}; use one of {list(KINDS)}", where="kind")
    cols = {c: t for c, (t, _) in COLUMNS[kind].items()}
    if kind == "leads":
        for a in definition.attributes:
            cols.setdefault(a.name, a.type)
    return cols


def allowed_values(kind: str, col: str, typ: str, definition: LeadDefinition) -> set[Any] | None:
    """The values column ``col`` (of type ``typ``) of a ``kind`` table may hold, or None when any will do.

    >>> from leadsim.definition import load_definition
    >>> sorted(allowed_values("outcomes", "handoff_reason", "handoff_reason", load_definition()))
    ['exploration', 'hot', 'manual', 'score']
    >>> allowed_values("owners", "role", "role", load_definition()) is None  # a company's own roles: BDR, AE ...
    True
    """
    if typ == "stage":
        return set(definition.funnel.stage_ids)
    if typ == "bool":
        return {True, False}
    if typ in VOCABULARIES:
        return set(VOCABULARIES[typ])
    if kind == "leads" and typ == "category":
        allowed = definition.attribute(col).allowed
        return set(allowed) if allowed is not None else None
    return None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or "" when none is close.

    >>> did_you_mean("lead_di", ["lead_id", "at"])
    " (did you mean 'lead_id'?)"
    """
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rows_text(mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    """'rows 2, 5 and 3 more' for a boolean mask over a RangeIndex frame (spreadsheet rows: the header is row 1).

    >>> rows_text(np.arange(9) > 1, limit=3)
    'rows 4, 5, 6 and 4 more'
    """
    idx = np.flatnonzero(np.asarray(mask)) + 2
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"



def strip_cells(s: pd.Series) -> pd.Series:
    """Strip the white space around text cells (vectorised for string columns).

    >>> strip_cells(pd.Series([" a ", None, 3])).tolist()
    ['a', None, 3]
    """
    if s.dtype != object and pd.api.types.is_string_dtype(s):
        return s.str.strip()
    return s.map(lambda v: v.strip() if isinstance(v, str) else v)

