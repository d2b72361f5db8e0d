"""The snapshot API: every lead's score at one moment, the points of each rule, and why.

:func:`score` gives the snapshot per lead at ``as_of`` (scores, grade,
engagement, segment, MQL and hot flags, stars and flames);
:func:`contributions` the points of every rule (``score ==
contributions.sum(axis=1)``); :func:`explain` the top factors of one lead;
:func:`required_columns` the columns scoring reads; :func:`rule_matches`
which behaviour rules look at which (activity, detail) pairs.  The rules
themselves are written down in :mod:`leadsim.scoring`'s docstring.

The inputs are read once into arrays (:mod:`leadsim.scoring.inputs`); a
behaviour rule is then its window's rows of the activity log, weighed and
summed per lead with ``np.bincount``, no loop over leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import BehaviourRule, HotTrigger, LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError
from leadsim.points import at_or_over, over, sort_table
from leadsim.scoring.gates import gate_rules, held_names, held_text, mql_verdict
from leadsim.scoring.inputs import (
    DAY_NS,
    Activities,
    days_ns,
    fit_matrix,
    last_recycle,
    lead_rows,
    recycles,
    timestamp,
)
from leadsim.scoring.states import OPEN_STATES, mql_states, stage_at

__all__ = ["SCORE_COLUMNS", "capped", "contributions", "explain", "required_columns", "rule_matches", "score"]

SCORE_COLUMNS = [  # the columns of score(), in order
    "fit_score",
    "behaviour_score",
    "score",
    "grade",
    "engagement",
    "segment",
    "is_mql",
    "is_hot",
    "hot_reason",
    "held_by",
    "priority",
    "urgency",
    "stage",
    "mql_state",
]


def _window_rows(acts: Activities, rule: BehaviourRule | HotTrigger, as_of: int, cut: np.ndarray | None) -> np.ndarray:
    """Indices of a rule's activities inside its window at ``as_of`` (and after the recycle cut)."""
    if acts.time_sorted:  # the window is a slice of rows
        stop = int(np.searchsorted(acts.t, as_of, side="right"))
        start = 0 if rule.window_days is None else int(np.searchsorted(acts.t, as_of - days_ns(rule.window_days), side="right"))
        if acts.cached(rule) or stop - start > len(acts.t) // 2:
            idx = acts.matching(rule)
            idx = idx[np.searchsorted(idx, start) : np.searchsorted(idx, stop)]
        else:
            idx = acts.matching(rule, start, stop)
        if cut is not None:
            idx = idx[acts.t[idx] > cut[acts.lead[idx]]]
        return idx
    idx = acts.matching(rule)
    t = acts.t[idx]
    keep = t <= as_of
    if rule.window_days is not None:
        keep &= t > as_of - days_ns(rule.window_days)
    if cut is not None:
        keep &= t > cut[acts.lead[idx]]
    return idx if keep.all() else idx[keep]


def _behaviour_matrix(acts: Activities, definition: LeadDefinition, as_of: int, cut: np.ndarray | None, out: np.ndarray) -> None:
    """Fill ``out`` (one row per behaviour rule, one column per lead) with points at ``as_of``."""
    n = out.shape[1]
    for j, r in enumerate(definition.behaviour_rules):
        idx = _window_rows(acts, r, as_of, cut)
        lead = acts.lead[idx]
        if r.mode == "each":
            if r.half_life_days is None:
                total = np.bincount(lead, minlength=n).astype(float)
            else:
                age = (as_of - acts.t[idx]).astype(float)
                total = np.bincount(lead, weights=np.exp2(age / (-r.half_life_days * DAY_NS)), minlength=n)
            out[j] = capped(r.points * total, r.points, r.cap)
        else:
            need = r.min_count if r.mode == "at_least" else 1
            out[j] = np.where(np.bincount(lead, minlength=n) >= need, float(r.points), 0.0)


def capped(raw: np.ndarray, points: float, cap: float | None) -> np.ndarray:
    """A rule's raw points bounded by its cap: ``sign(points) * min(|raw|, cap)`` (no cap: ``raw``)."""
    if cap is None:
        return raw
    return np.sign(points) * np.minimum(np.abs(raw), cap)


def _hot_index(acts: Activities, definition: LeadDefinition, n: int, as_of: int, cut: np.ndarray | None) -> np.ndarray:
    """Per lead, the index of the first active hot trigger (-1: none)."""
    first = np.full(n, -1, np.int64)
    for k, trig in reversed(list(enumerate(definition.hot_triggers))):
        idx = _window_rows(acts, trig, as_of, cut)
        first[acts.lead[idx]] = k
    return first


# --------------------------------------------------------------------------- the snapshot


@dataclass
class _Scored:
    index: pd.Index
    rules: np.ndarray  # (rule, lead): fit and BANT rules first, then behaviour rules
    n_fit: int
    acts: Activities
    cut: np.ndarray | None
    recycles: tuple[np.ndarray, np.ndarray]
    as_of: int
    log_rows: np.ndarray | None  # each stage-log row's lead position


def _prepare(leads, activities, definition, as_of, stage_log) -> _Scored:
    require_definition(definition)
    t0 = int(timestamp(as_of, definition, what="as_of").value)
    index, rows = lead_rows(leads, {"activities": activities, "stage_log": stage_log})
    n_fit = len(definition.fit_rules) + len(definition.bant)
    rules = np.zeros((len(definition.rule_ids), len(index)))
    fit_matrix(leads, definition, rules[:n_fit])
    acts = Activities.build(activities, rows.get("activities"), definition)
    rec = recycles(stage_log, rows.get("stage_log"), definition)
    cut = None
    if definition.on_recycle == "restart" and len(rec[0]):
        cut = last_recycle(rec, len(index), t0)
    _behaviour_matrix(acts, definition, t0, cut, rules[n_fit:])
    return _Scored(index, rules, n_fit, acts, cut, rec, t0, rows.get("stage_log"))


def contributions(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    *,
    as_of: Any,
    stage_log: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Points of every rule for every lead at ``as_of``: one column per ``definition.rule_ids``.

    Caps are included, so ``score == contributions.sum(axis=1)``.
    """
    p = _prepare(leads, activities, definition, as_of, stage_log)
    # p.rules.T is column-major: pandas keeps it as one block without copying
    return pd.DataFrame(p.rules.T, index=p.index, columns=pd.Index(definition.rule_ids), copy=False)


def _bands(x: np.ndarray, bands: dict[str, float | None]) -> np.ndarray:
    names = list(bands)
    out = np.full(len(x), names[-1], dtype=object)
    for name in reversed(names[:-1]):
        out[at_or_over(x, bands[name])] = name
    return out


def score(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    *,
    as_of: Any,
    stage_log: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every lead at ``as_of``; see :mod:`leadsim.scoring` for the exact rules.

    Returns a DataFrame indexed by ``lead_id`` with ``fit_score``,
    ``behaviour_score``, ``score``, ``grade``, ``engagement``, ``segment``,
    ``is_mql``, ``is_hot``, ``hot_reason``, ``held_by`` (the gate check that
    held an MQL back, :mod:`leadsim.scoring.gates`), ``priority`` (1-3) and
    ``urgency`` (0-3), ``stage`` and ``mql_state``
    (:mod:`leadsim.scoring.states`).

    With ``stage_log``, each lead's stage at ``as_of`` is read from it, and
    stars and flames rank the open leads only (marketing stages from the
    ``scored`` milestone on, and leads of unknown stage); the others get 0
    stars and 0 flames.  Without one, every stage is unknown (NA, state
    ``unknown``) and every lead is ranked.
    """
    p = _prepare(leads, activities, definition, as_of, stage_log)
    n = len(p.index)
    th = definition.thresholds
    fit = p.rules[: p.n_fit].sum(axis=0)
    beh = p.rules[p.n_fit :].sum(axis=0)
    total = p.rules.sum(axis=0)
    grade = _bands(fit, th.fit_grades)
    engagement = _bands(beh, th.engagement)
    matrix = th.matrix or {}
    segment = pd.Series(grade + engagement, dtype=object).map(matrix).astype("string")

    hot = _hot_index(p.acts, definition, n, p.as_of, p.cut)
    fired = p.rules[[definition.rule_ids.index(r) for r in gate_rules(definition)]] != 0
    verdict = mql_verdict(definition, fit=fit, behaviour=beh, total=total, hot=hot, fired=fired)
    hot = np.where(verdict.by_hot, hot, -1)  # a trigger the hot gate stops hands nothing over
    labels = np.asarray([t.label or t.id for t in definition.hot_triggers] + [None], dtype=object)
    hot_reason = pd.array(labels[hot], dtype="string")
    held_by = pd.array(np.asarray(held_names(definition), dtype=object)[verdict.held], dtype="string")

    stage = stage_at(stage_log, p.log_rows, definition, as_of=p.as_of, n=n)
    state = mql_states(stage, verdict.is_mql, definition)
    ranked = np.isin(state, OPEN_STATES)  # stars and flames: open leads only
    priority = np.zeros(n, np.int64)
    if ranked.any():
        lo, hi = np.percentile(total[ranked], list(th.priority_percentiles))
        priority[ranked] = 1 + over(total[ranked], lo).astype(np.int64) + over(total[ranked], hi).astype(np.int64)

    earlier = p.as_of - days_ns(th.urgency.window_days)
    cut_then = last_recycle(p.recycles, n, earlier) if p.cut is not None else None
    then = np.zeros((len(definition.behaviour_rules), n))
    _behaviour_matrix(p.acts, definition, earlier, cut_then, then)
    beh_then = then.sum(axis=0)
    gain = beh - beh_then
    urgency = at_or_over(gain[:, None], np.asarray(th.urgency.bands, float)[None, :]).sum(axis=1).astype(np.int64)
    urgency[~ranked] = 0

    return pd.DataFrame(
        {
            "fit_score": fit,
            "behaviour_score": beh,
            "score": total,
            "grade": pd.array(grade, dtype="string"),
            "engagement": pd.array(engagement, dtype="string"),
            "segment": segment.array,
            "is_mql": verdict.is_mql,
            "is_hot": hot >= 0,
            "hot_reason": hot_reason,
            "held_by": held_by,
            "priority": priority,
            "urgency": urgency,
            "stage": pd.array(stage, dtype="string"),
            "mql_state": pd.array(state, dtype="string"),
        },
        index=p.index,
    )


def rule_matches(acts: pd.DataFrame, definition: LeadDefinition) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Which behaviour rules look at which activities: (combo code per row, bool matrix combo x rule, the combos).

    Every distinct (activity, detail) pair becomes one pseudo-lead with one
    activity, scored by :func:`contributions` with a counting copy of the
    rules, so the name and detail filters are exactly scoring's.  Code -1:
    the row's activity is missing.

    >>> from leadsim import load_definition
    >>> d = load_definition()
    >>> acts = pd.DataFrame({"activity": ["web_visit", "web_visit", "webinar"], "detail": ["/pricing", "/", None]})
    >>> combo, match, _ = rule_matches(acts, d)
    >>> [[r.id for r, hit in zip(d.behaviour_rules, match[c]) if hit] for c in combo]  # doctest: +NORMALIZE_WHITESPACE
    [['web_visit', 'pricing_page', 'frequent_visitor', 'recently_active'],
     ['web_visit', 'frequent_visitor', 'recently_active'], ['webinar', 'recently_active']]
    """
    act_codes, act_u = pd.factorize(acts["activity"])
    if "detail" in acts.columns:
        det_codes, det_u = pd.factorize(acts["detail"])
    else:
        det_codes, det_u = np.full(len(acts), -1, np.int64), np.empty(0, object)
    # one code per distinct (activity, detail) pair; -1 = missing
    nd = len(det_u) + 1
    key = (act_codes.astype(np.int64) + 1) * nd + (det_codes.astype(np.int64) + 1)
    ukey, codes = np.unique(key, return_inverse=True)
    n = len(ukey)
    rules = definition.behaviour_rules
    u = pd.DataFrame({"a": ukey // nd - 1, "d": ukey % nd - 1})
    u.attrs.update(activities=pd.Index(np.asarray(act_u, dtype=object)), details=pd.Index(np.asarray(det_u, dtype=object)))
    if n == 0 or not rules:
        return codes.astype(np.int64), np.zeros((n, len(rules)), bool), u
    names = [str(i) for i in range(n)]
    t0 = pd.Timestamp("2000-01-01")
    pseudo_acts = pd.DataFrame({
        "lead_id": names, "at": t0,
        "activity": pd.Categorical.from_codes(u["a"].to_numpy(), categories=u.attrs["activities"]),
        "detail": pd.Categorical.from_codes(u["d"].to_numpy(), categories=u.attrs["details"]),
    })
    counting = BehaviourRule.model_construct  # points 1, no window, no decay: 1 when the rule looks at it
    beh = [counting(id=r.id, label=r.label, activity=r.activity, detail=r.detail, points=1.0, mode="each",
                    min_count=1, cap=None, half_life_days=None, window_days=None) for r in rules]
    d = definition.model_copy(update={"fit_rules": [], "bant": {}, "behaviour_rules": beh, "hot_triggers": [],
                                      "on_recycle": "keep"})
    m = contributions(pd.DataFrame({"lead_id": names}), pseudo_acts, d, as_of=t0).to_numpy() > 0
    return codes.astype(np.int64), m, u


def explain(contributions: pd.DataFrame, definition: LeadDefinition, *, lead_id: str, n: int = 3,
            scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The top ``n`` positive and top ``n`` negative factors of lead ``lead_id``'s score, and the gate holding it back.

    Columns: ``rule_id``, ``label``, ``points``, ``direction`` (``+``/``-``);
    positives first (largest first), then negatives (most negative first).
    With ``scores`` (:func:`score`'s table, same moment), a lead that reached
    the threshold or a hot trigger but is no MQL gets one last row, direction
    ``gate``: ``rule_id`` the check that held it back (``held_by``, e.g.
    ``hot.exclude.competitor``), ``label`` the reason in words, ``points`` NaN.
    """
    require_definition(definition, where="explain")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"the number of factors per direction must be a whole number of at least 1; got {n!r}", where="n")
    if lead_id not in contributions.index:
        raise DataError(f"lead {lead_id!r} is not among the {len(contributions)} scored leads", where="lead_id")
    row = contributions.loc[lead_id]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    row = row.astype(float)
    pos = sort_table(row[row > 0], ascending=False).head(n)
    neg = sort_table(row[row < 0], ascending=True).head(n)
    parts = pd.concat([pos, neg])
    out = pd.DataFrame(
        {
            "rule_id": parts.index.astype(str),
            "label": [definition.rule_label(r) for r in parts.index],
            "points": parts.to_numpy(dtype=float),
            "direction": ["+"] * len(pos) + ["-"] * len(neg),
        }
    )
    held = _held_by(scores, lead_id)
    if held is None:
        return out
    gate = pd.DataFrame({"rule_id": [held], "label": [held_text(definition, held)], "points": [np.nan],
                         "direction": ["gate"]})
    return pd.concat([out, gate], ignore_index=True)


def _held_by(scores: pd.DataFrame | None, lead_id: str) -> str | None:
    if scores is None:
        return None
    if "held_by" not in scores.columns or lead_id not in scores.index:
        raise DataError(f"scores must be score()'s table with lead {lead_id!r} in it (a 'held_by' column, indexed by "
                        "lead_id)", where="scores")
    held = scores["held_by"].loc[lead_id]
    held = held.iloc[0] if isinstance(held, pd.Series) else held
    return None if pd.isna(held) else str(held)


def required_columns(definition: LeadDefinition) -> dict[str, list[str]]:
    """The columns scoring reads, per table (to read only those from a big file).

    >>> from leadsim import load_definition
    >>> required_columns(load_definition())["activities"]
    ['lead_id', 'activity', 'at', 'detail']
    """
    attrs = [r.attribute for r in list(definition.fit_rules) + definition.bant_rules()]
    return {
        "leads": ["lead_id", *dict.fromkeys(attrs)],
        "activities": ["lead_id", "activity", "at", "detail"],
        "stage_log": ["lead_id", "stage", "at"],
    }

