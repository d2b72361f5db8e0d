"""Side exits of a stage log with their reasons: who was recycled, disqualified or lost, from where, and why.

One rule tells an exit move from any other row (see ``docs/design.md``,
"Recycling, disqualification and their reasons"): a row entering the
disqualify (lost) stage from one of that exit's ``from`` stages is a
disqualification (a loss); a row entering the recycle stage from one of
the recycle exit's ``from`` stages is a recycle (entering the same stage
from elsewhere, e.g. Active -> Target, is progress, not a recycle).  The
row's ``reason`` text becomes a vocabulary id through the definition
(:meth:`~leadsim.definition.LeadDefinition.reason_ids`): a listed reason,
``unspecified`` or ``other``.

:func:`exit_moves` lists the moves, :func:`reason_breakdown` counts them.
The import (:mod:`leadsim.io.reasons`), the funnel report, the SLA audit and
the report all use these two.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> log = pd.DataFrame({"lead_id": ["A", "A", "A", "B", "B"],
...                     "stage": ["name", "lead", "disqualified", "lead", "target"],
...                     "at": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-02", "2026-03-05"]),
...                     "reason": ["created", "score", "Student", "hot", "no answer"]})
>>> exit_moves(log, d)[["lead_id", "exit", "from_stage", "reason"]].values.tolist()
[['A', 'disqualify', 'lead', 'student'], ['B', 'recycle', 'lead', 'no_contact']]
>>> reason_breakdown(log, d)[["exit", "reason", "moves", "share"]].values.tolist()
[['recycle', 'no_contact', 1, 1.0], ['disqualify', 'student', 1, 1.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.definition.reasons import EXITS
from leadsim.funnel import validate_stage_log
from leadsim.scoring.inputs import timestamp

__all__ = ["BREAKDOWN_COLUMNS", "MOVE_COLUMNS", "exit_kind", "exit_moves", "how_visits_ended", "reason_breakdown"]

#: Columns of :func:`exit_moves`.
MOVE_COLUMNS = ["lead_id", "at", "exit", "from_stage", "reason", "reason_text", "row"]
#: Columns of :func:`reason_breakdown`.
BREAKDOWN_COLUMNS = ["exit", "from_stage", "reason", "label", "moves", "leads", "share"]


def exit_kind(stage: np.ndarray, prev: np.ndarray, definition: LeadDefinition) -> np.ndarray:
    """Per row: ``recycle``, ``disqualify``, ``lost`` or None, from its stage id and the lead's previous stage id.

    ``prev`` is None (or any non-stage) for a lead's first row.

    >>> from leadsim import load_definition
    >>> exit_kind(np.array(["target", "target", "lost"]), np.array(["active", "lead", "opportunity"]),
    ...           load_definition()).tolist()
    [None, 'recycle', 'lost']
    """
    stage, prev = np.asarray(stage, dtype=object), np.asarray(prev, dtype=object)
    out = np.full(len(stage), None, dtype=object)
    for name in EXITS:
        ex = getattr(definition.funnel, name)
        hit = (stage == ex.to) & np.isin(prev, list(ex.from_)) & (out == None)  # noqa: E711 (element-wise)
        out[hit] = name
    return out


def exit_moves(log: pd.DataFrame, definition: LeadDefinition, *, validated: bool = False) -> pd.DataFrame:
    """Every side-exit move of a stage log, in (lead, time) order: :data:`MOVE_COLUMNS`.

    ``reason`` is the vocabulary id, ``reason_text`` the text as written
    (``<NA>`` when none), ``row`` the position of the move in the sorted
    log.  ``validated=True``: ``log`` is already sorted by lead and time
    with stage ids (as :func:`~leadsim.funnel.validate_stage_log` returns
    it) and is not checked again.
    """
    definition = require_definition(definition, where="exit_moves")
    if not validated:
        log = validate_stage_log(log, definition)
    lead = log["lead_id"].to_numpy(dtype=object)
    stage = log["stage"].to_numpy(dtype=object)
    first = np.r_[True, lead[1:] != lead[:-1]] if len(lead) else np.zeros(0, bool)
    prev = np.r_[None, stage[:-1]].astype(object) if len(stage) else stage
    prev = np.where(first, None, prev)
    kind = exit_kind(stage, prev, definition)
    pos = np.flatnonzero(kind != None)  # noqa: E711 (element-wise)
    text = (log["reason"] if "reason" in log.columns else pd.Series(pd.NA, index=log.index)).astype("string")
    text = text.iloc[pos].reset_index(drop=True)
    reason = np.full(len(pos), None, dtype=object)
    for name in EXITS:
        sel = kind[pos] == name
        if sel.any():
            uniq, inv = np.unique(text[sel].fillna("").to_numpy(dtype=object), return_inverse=True)
            reason[sel] = np.asarray(definition.reason_ids(uniq.tolist(), exit=name), dtype=object)[inv]
    return pd.DataFrame({
        "lead_id": pd.Series(lead[pos], dtype="string"),
        "at": pd.Series(log["at"].to_numpy()[pos], dtype="datetime64[ns]"),
        "exit": pd.Series(kind[pos], dtype="string"),
        "from_stage": pd.Series(prev[pos], dtype="string"),
        "reason": pd.Series(reason, dtype="string"),
        "reason_text": text,
        "row": pos.astype(np.int64),
    })


def reason_breakdown(log: pd.DataFrame | None, definition: LeadDefinition, *, moves: pd.DataFrame | None = None,
                     start: Any = None, end: Any = None, by: pd.Series | None = None) -> pd.DataFrame:
    """Exits by reason: :data:`BREAKDOWN_COLUMNS`, plus a first column ``group`` when ``by`` is given.

    One row per (exit, stage left, reason) that occurs: ``moves`` (exit
    moves), ``leads`` (distinct leads) and ``share`` (``moves`` over all
    moves of that exit from that stage, in the group).  Moves are counted
    when ``start <= at < end`` (either bound may be left out).  ``by``: a
    Series lead_id -> group label (a lead missing from it is ``(none)``).
    ``moves``: the result of :func:`exit_moves`, when already at hand (then
    ``log`` is not read).  Ordered by exit (recycle, disqualify, lost), the
    stage left in funnel order, then most moves first, then reason id.
    """
    definition = require_definition(definition, where="reason_breakdown")
    m = exit_moves(log, definition) if moves is None else moves
    if start is not None:
        m = m[m["at"] >= timestamp(start, definition, what="start")]
    if end is not None:
        m = m[m["at"] < timestamp(end, definition, what="end")]
    keys = ["exit", "from_stage", "reason"]
    if by is not None:
        g = pd.Series(by)
        g.index = g.index.astype("string")
        m = m.assign(group=m["lead_id"].map(g).astype("string").fillna("(none)"))
        keys = ["group", *keys]
    out = (m.groupby(keys, observed=True, dropna=False)
            .agg(moves=("lead_id", "size"), leads=("lead_id", "nunique")).reset_index())
    total = out.groupby(keys[:-1], dropna=False)["moves"].transform("sum")
    out["share"] = (out["moves"] / total).astype(float)
    out["label"] = [definition.reasons.label(r) for r in out["reason"]]
    stage_pos = {s: i for i, s in enumerate(definition.funnel.stage_ids)}
    out["_e"] = out["exit"].map({e: i for i, e in enumerate(EXITS)}).astype(int)
    out["_s"] = out["from_stage"].map(stage_pos).astype(int)
    out["_m"] = -out["moves"]
    order = (["group"] if by is not None else []) + ["_e", "_s", "_m", "reason"]
    out = out.sort_values(order, kind="stable").reset_index(drop=True)
    cols = (["group"] if by is not None else []) + BREAKDOWN_COLUMNS
    out = out[cols]
    for c in ("moves", "leads"):
        out[c] = out[c].astype(np.int64)
    return out


def how_visits_ended(lead_id: pd.Series, stage: pd.Series, until: pd.Series, moves: pd.DataFrame) -> pd.DataFrame:
    """Per stage visit (lead, stage, time it ended or NaT): ``exit`` and ``reason`` when it ended by a side exit.

    A visit that ended otherwise (a step forward) or has not ended has ``<NA>`` in both.

    >>> m = pd.DataFrame({"lead_id": ["A"], "from_stage": ["lead"], "at": pd.to_datetime(["2026-03-04"]),
    ...                   "exit": ["recycle"], "reason": ["no_contact"]})
    >>> how_visits_ended(pd.Series(["A", "A"]), pd.Series(["lead", "lead"]),
    ...                  pd.to_datetime(pd.Series(["2026-03-04", None])), m)["reason"].tolist()
    ['no_contact', <NA>]
    """
    key = pd.DataFrame({"lead_id": pd.Series(lead_id, dtype="string").to_numpy(),
                        "from_stage": pd.Series(stage, dtype="string").to_numpy(),
                        "at": pd.Series(until).to_numpy(dtype="datetime64[ns]")})
    right = moves[["lead_id", "from_stage", "at", "exit", "reason"]].astype(
        {"lead_id": "string", "from_stage": "string"}).drop_duplicates(["lead_id", "from_stage", "at"])
    out = key.astype({"lead_id": "string", "from_stage": "string"}).merge(right, how="left",
                                                                          on=["lead_id", "from_stage", "at"])
    return out[["exit", "reason"]].astype("string")
