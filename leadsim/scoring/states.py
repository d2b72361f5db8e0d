"""Where each lead stands at ``as_of``: its funnel stage and its MQL state.

Scoring starts at the funnel's ``scored`` milestone (Target in the sample)
and ends with the hand-off (the ``mql`` milestone, Lead).  A score says
little about a customer or a lead an SDR already works, so with a stage log
:func:`leadsim.scoring.score` reports each lead's ``stage`` (its last stage
at or before ``as_of``) and an ``mql_state``:

=============== ==========================================================
``not_scored``  in a marketing stage before the ``scored`` milestone
``below``       in a scored marketing stage, not an MQL
``mql``         in a scored marketing stage and an MQL: waiting for hand-off
``handed_over`` at or past the ``mql`` milestone, in a stage still open
``closed``      in a terminal stage (customer, disqualified, lost)
``unknown``     no stage log, or no row of the lead at or before ``as_of``
=============== ==========================================================

"MQLs now", stars and flames count the *open* leads only: ``below``,
``mql`` and ``unknown`` (a stage nobody knows is not guessed away).

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> log = pd.DataFrame({"lead_id": ["L1", "L2", "L2"], "stage": ["Name", "target", "customer"],
...                     "at": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-20"])})
>>> stage = stage_at(log, np.array([0, 1, 1]), d, as_of=pd.Timestamp("2026-03-10").value, n=3)
>>> stage.tolist()
['name', 'target', None]
>>> mql_states(stage, np.array([True, True, False]), d).tolist()
['not_scored', 'mql', 'unknown']
>>> mql_states(stage_at(log, np.array([0, 1, 1]), d, as_of=pd.Timestamp("2026-03-31").value, n=3),
...            np.array([True, True, False]), d).tolist()
['not_scored', 'closed', 'unknown']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.errors import DataError
from leadsim.scoring.inputs import times_ns

__all__ = ["MQL_STATES", "OPEN_STATES", "mql_states", "mqls_now", "stage_at"]

MQL_STATES = ("not_scored", "below", "mql", "handed_over", "closed", "unknown")
OPEN_STATES = ("below", "mql", "unknown")
"""The states whose leads "MQLs now", stars and flames count."""


def stage_at(stage_log: pd.DataFrame | None, rows: np.ndarray | None, definition: LeadDefinition, *, as_of: int,
             n: int) -> np.ndarray:
    """Per lead, the stage id of its last stage-log row at or before ``as_of`` (ns); ``None`` when unknown.

    ``rows``: each log row's lead position (``lead_rows``); rows of one
    lead at one time keep their log order (the last one counts).
    """
    out = np.full(n, None, dtype=object)
    if stage_log is None or rows is None or len(stage_log) == 0:
        return out
    t = times_ns(stage_log["at"], definition, where="stage_log.at")
    codes, names = pd.factorize(stage_log["stage"])
    if (codes < 0).any():
        raise DataError(f"missing stage at row(s) {np.flatnonzero(codes < 0)[:5].tolist()}", where="stage_log.stage")
    ids = np.asarray([definition.funnel.stage(str(s)).id for s in names], dtype=object)
    keep = np.flatnonzero(t <= as_of)
    order = keep[np.lexsort((t[keep], rows[keep]))]  # stable: equal times keep the log's order
    lead = rows[order]
    last = np.append(lead[1:] != lead[:-1], True) if len(lead) else np.zeros(0, bool)
    out[lead[last]] = ids[codes[order[last]]]
    return out


def mql_states(stage: np.ndarray, is_mql: np.ndarray, definition: LeadDefinition) -> np.ndarray:
    """Each lead's MQL state (:data:`MQL_STATES`) from its stage (``None``: unknown) and its MQL verdict."""
    funnel = definition.funnel
    ids = funnel.stage_ids
    scored, handoff = ids.index(funnel.milestones.scored), ids.index(funnel.milestones.mql)
    kind = {}
    for k, s in enumerate(funnel.stages):
        kind[s.id] = ("closed" if s.terminal else "handed_over" if k >= handoff else
                      "scored" if k >= scored else "not_scored")
    per_lead = pd.Series(stage, dtype=object).map(kind).fillna("unknown").to_numpy(dtype=object)
    scored_now = per_lead == "scored"
    out = per_lead.copy()
    out[scored_now] = np.where(np.asarray(is_mql, bool)[scored_now], "mql", "below")
    return out


def mqls_now(scores: pd.DataFrame) -> int:
    """"MQLs now" of a :func:`leadsim.scoring.score` table: its MQLs among open leads (:data:`OPEN_STATES`).

    >>> mqls_now(pd.DataFrame({"is_mql": [True, True, True, False], "mql_state": ["mql", "closed", "unknown", "below"]}))
    2
    """
    return int((scores["is_mql"].astype(bool) & scores["mql_state"].isin(OPEN_STATES)).sum())
