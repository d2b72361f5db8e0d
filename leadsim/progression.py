"""The TOFU progression: what moves a lead through the marketing stages before it is an MQL.

The rule is data in the definition (``funnel.progression``, one
:class:`~leadsim.definition.ProgressionStep` per move).  A lead in a step's
``from`` stage moves to its ``to`` stage at its first activity

* at or after the moment it entered ``from``,
* of one of the step's ``activities`` (any type when the step lists none),
* while its fit score is at least the step's ``min_fit`` (when given),
* before the lead's stop moment (its MQL moment or an exit), if it has one.

One activity moves a lead one step at most; when several steps leave the same
stage, the earliest activity wins (ties: the step listed first).  The sample
definition reads "Name -> Active at a deeper interaction (download, webinar,
demo, form); Active -> Target at the next interaction when the lead fits the
market (fit score 0 or more)".

:func:`climb` is the one implementation of the rule.  The history generator
(:mod:`leadsim.datasets`) and the simulation call it on their activity
streams, and :func:`check` holds a stage log against it, so a rule changed in
the definition changes all three alike.  See ``docs/design.md``, "Stages and
the TOFU progression".

>>> import numpy as np
>>> from leadsim import load_definition
>>> d = load_definition()
>>> moves = climb(lead=np.array([0, 0, 0, 1]), t=np.array([5, 8, 9, 3]),
...               activity=np.array(["content_download", "web_visit", "webinar", "web_visit"], dtype=object),
...               stage=np.array(["name", "name"], dtype=object), entered=np.array([0, 0]),
...               fit=np.array([40.0, 70.0]), definition=d)
>>> list(zip(moves.lead.tolist(), moves.stage.tolist(), moves.t.tolist()))
[(0, 'active', 5), (0, 'target', 8)]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.errors import LeadsimError
from leadsim.points import at_or_over

__all__ = ["REASON", "Moves", "check", "climb"]

#: The stage-log reason of a move the progression made.
REASON = "progression"


class Moves(NamedTuple):
    """Progression moves in (lead, time) order: the lead, the stage it moved to, when, and the activity row that moved it."""

    lead: np.ndarray
    stage: np.ndarray
    t: np.ndarray
    row: np.ndarray


def climb(
    *,
    lead: np.ndarray,
    t: np.ndarray,
    activity: np.ndarray,
    stage: np.ndarray,
    entered: np.ndarray,
    definition: LeadDefinition,
    stop: np.ndarray | None = None,
    fit: np.ndarray | None = None,
    vocab: Any = None,
) -> Moves:
    """Every progression move the definition makes on an activity stream.

    Parameters
    ----------
    lead, t, activity
        One entry per activity: the lead's position (0 .. n-1), the moment
        (any ordered type: nanoseconds, ``datetime64``), and the activity type:
        a string, or an integer code into ``vocab`` when that is given.
    stage, entered
        Per lead: the stage it is in (stage ids, or integer codes into
        ``definition.funnel.stage_ids``) and the moment it entered it.
    stop
        Per lead: no move at or after this moment (``None``, or ``NaT`` for
        a lead: no stop).
    fit
        Per lead: the fit score; needed when a step has ``min_fit``.

    Leads move as often as their activities allow: Name -> Active -> Target
    may happen in one call.  The result is sorted by lead, then time.
    """
    steps = definition.funnel.progression
    ids = definition.funnel.stage_ids
    lead = np.asarray(lead, np.int64)
    t = np.asarray(t)
    n = len(stage)
    code = _codes(np.asarray(stage), ids)
    entered = np.array(entered)  # a copy: moves update it
    if not steps or not len(lead):
        return _empty(t)
    if fit is None and any(s.min_fit is not None for s in steps):
        raise LeadsimError("the definition's progression has a min_fit step; pass each lead's fit score", where="climb")
    order = np.lexsort((t, lead))  # stable: equal times keep the stream's order
    lead, t, activity = lead[order], t[order], np.asarray(activity)[order]
    pos = np.arange(len(lead))
    live = np.ones(len(lead), bool) if stop is None else _before(t, np.asarray(stop)[lead])
    # per step: which rows may move which leads (activity type and fit), independent of the lead's state
    ok = [_kind_ok(step.activities, activity, vocab) & (True if step.min_fit is None else
                                                          at_or_over(np.asarray(fit, float), step.min_fit)[lead])
          for step in steps]
    src = np.array([ids.index(s.from_) for s in steps])
    dst = np.array([ids.index(s.to) for s in steps])
    last = np.full(n, -1, np.int64)  # the row that moved each lead last (one row moves one step)
    out: list[tuple[np.ndarray, ...]] = []
    for _ in range(len(steps)):  # every move goes forward: a lead moves at most once per step
        best = np.full(n, len(lead), np.int64)
        which = np.full(n, -1, np.int64)
        for k in range(len(steps)):
            q = ok[k] & live & (code[lead] == src[k]) & (pos > last[lead]) & (t >= entered[lead])
            who, first = np.unique(lead[q], return_index=True)
            at = pos[q][first]
            better = at < best[who]
            best[who[better]] = at[better]
            which[who[better]] = k
        moved = np.flatnonzero(which >= 0)
        if not len(moved):
            break
        rows = best[moved]
        code[moved] = dst[which[moved]]
        last[moved] = rows
        entered[moved] = t[rows]
        out.append((moved, dst[which[moved]], rows))
    if not out:
        return _empty(t)
    who, to, at = (np.concatenate(c) for c in zip(*out, strict=True))
    o = np.argsort(at, kind="stable")  # sorted positions run by lead, then time
    return Moves(who[o], np.asarray(ids, dtype=object)[to[o]], t[at[o]], order[at[o]])


def check(stage_log: pd.DataFrame, activities: pd.DataFrame, definition: LeadDefinition, *,
          fit: pd.Series | None = None) -> pd.DataFrame:
    """Hold a stage log's TOFU moves against the definition's progression.

    For each progression step, counts the moves the log records, the moves the
    rule makes on the leads' activities (from each lead's first marketing
    stage, until the log takes it out of marketing), and how many agree (same
    lead, same moment).  ``fit`` is each lead's fit score, indexed by lead id
    (needed when a step has ``min_fit``).  A history the rule wrote agrees
    entirely; a CRM whose workflows move leads differently shows where.

    >>> from leadsim import load_definition, load_sample, score
    >>> h, d = load_sample(), load_definition()
    >>> fit = score(h.leads, h.activities, d, as_of=h.activities["at"].max())["fit_score"]
    >>> c = check(h.stage_log, h.activities, d, fit=fit)
    >>> bool((c["agree"] == c["logged"]).all() and (c["agree"] == c["by_rule"]).all())
    True
    """
    f = definition.funnel
    ids = f.stage_ids
    marketing = f.marketing_stages
    log = stage_log.sort_values(["lead_id", "at"], kind="stable")
    lead_ids = pd.Index(log["lead_id"].astype(str).unique())
    pos = lead_ids.get_indexer(log["lead_id"].astype(str))
    at = log["at"].to_numpy(dtype="datetime64[ns]")
    st = log["stage"].astype(str).to_numpy(dtype=object)
    first = np.r_[True, pos[1:] != pos[:-1]]
    n = len(lead_ids)
    start_stage = np.full(n, ids[0], dtype=object)
    start_at = np.full(n, np.datetime64("NaT", "ns"))
    start_stage[pos[first]] = st[first]
    start_at[pos[first]] = at[first]
    # the rule runs until the lead leaves marketing in the log (an MQL hand-off or an exit)
    out_of = ~np.isin(st, marketing)
    stop = np.full(n, np.datetime64("NaT", "ns"))
    idx = pd.Series(at[out_of]).groupby(pos[out_of]).min()
    stop[idx.index.to_numpy()] = idx.to_numpy(dtype="datetime64[ns]")
    acts = activities[activities["lead_id"].astype(str).isin(lead_ids)]
    a_lead = lead_ids.get_indexer(acts["lead_id"].astype(str))
    fits = None if fit is None else fit.reindex(lead_ids).to_numpy(dtype=float)
    rule = climb(lead=a_lead, t=acts["at"].to_numpy(dtype="datetime64[ns]"),
                 activity=acts["activity"].astype(str).to_numpy(dtype=object),
                 stage=start_stage, entered=start_at, stop=stop, fit=fits, definition=definition)
    rows = []
    for step in f.progression:
        lm = (st == step.to) & ~first & np.r_[False, st[:-1] == step.from_] & np.r_[False, pos[1:] == pos[:-1]]
        logged = set(zip(pos[lm].tolist(), at[lm].tolist(), strict=True))
        rm = rule.stage == step.to
        ruled = set(zip(rule.lead[rm].tolist(), rule.t[rm].tolist(), strict=True))
        rows.append({"from": step.from_, "to": step.to, "logged": len(logged), "by_rule": len(ruled),
                     "agree": len(logged & ruled)})
    return pd.DataFrame(rows, columns=["from", "to", "logged", "by_rule", "agree"])


def _codes(stage: np.ndarray, ids: list[str]) -> np.ndarray:
    if stage.dtype.kind in "iu":
        return stage.astype(np.int64)
    lookup = {s: k for k, s in enumerate(ids)}
    try:
        return np.array([lookup[s] for s in stage.tolist()], np.int64)
    except KeyError as err:
        raise LeadsimError(f"unknown stage {err.args[0]!r}; the definition's stages are {ids}", where="climb") from None


def _kind_ok(kinds: list[str] | None, activity: np.ndarray, vocab: Any) -> np.ndarray:
    if kinds is None:
        return np.ones(len(activity), bool)
    if vocab is None:
        return np.isin(activity, kinds)
    return np.isin(np.asarray(vocab, dtype=object), kinds)[activity]


def _before(t: np.ndarray, stop: np.ndarray) -> np.ndarray:
    if stop.dtype.kind == "M":
        return np.isnat(stop) | (t < stop)
    return t < stop


def _empty(t: np.ndarray) -> Moves:
    e = np.empty(0, np.int64)
    return Moves(e, np.empty(0, dtype=object), np.empty(0, dtype=t.dtype), e)
