"""The MQL-moment engine: the moments leads became MQLs, for all leads at once.

:func:`mql_events` (re-exported as ``leadsim.scoring.mql_events``) reads the
tables as the snapshot API does and hands coded arrays to :func:`mql_core`.
The simulation (:mod:`leadsim.simulation.moments`) keeps its activity stream
coded and calls :class:`MqlPlan` and :func:`mql_core` itself, so a run's
moments are exactly those ``mql_events`` finds on the log it leaves behind.
Those three names (and :func:`segment_cumsum`, :data:`KEY_BITS` for the
tests) are this module's interface; the rest is internal.

The semantics are :mod:`leadsim.scoring`'s: a lead is an MQL at a moment
when :func:`leadsim.scoring.score` at that moment says ``is_mql``.  Instead
of scoring every moment from scratch, the engine:

1. lists the *moments* where a snapshot can change (:func:`_moments`): per
   lead its creation, every activity and every recycle, distinct and sorted by
   (lead, time), with the number of activities and recycles at or before each;
2. *plans* the rules once per definition and vocabulary (:class:`MqlPlan`):
   rules looking at the same activities share a *look*, and a rule's window is
   the look's rows between two *bounds* per moment (the recycle cut or the
   moment less the window; the moment);
3. *counts* a window as the difference of two prefix counts of the look's rows,
   the activities sorted by (lead, time) (:class:`_ActIndex`, with (lead,
   time) packed into one integer by :class:`_PairKey`);
4. sums *decay* weights ``2 ** ((t_e - t) / half_life)`` over a window from
   prefix sums rebased per chunk of 64 half-lives (:class:`_Decayed`);
5. adds each rule's points to the fit points in definition order, as
   ``score()`` sums them (:func:`_score_moments`), and finds the first
   active hot trigger;
6. keeps the first MQL moment of each *episode* (the number of recycles so
   far) as the event.

``tests/test_scoring.py`` checks the events against a plain re-implementation
of the docstring's rules (``tests/reference_scorer.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError
from leadsim.scoring.gates import fit_fired as gated_fit_rules
from leadsim.scoring.gates import gate_rules, mql_verdict
from leadsim.scoring.inputs import (
    DAY_NS,
    NEVER,
    Activities,
    Looks,
    days_ns,
    fit_matrix,
    lead_rows,
    recycles,
    rule_key,
    times_ns,
    timestamp,
)
from leadsim.scoring.snapshot import capped

__all__ = ["KEY_BITS", "MqlPlan", "mql_core", "mql_events", "segment_cumsum"]

KEY_BITS = 62  # bits of a packed (lead, time) key (lower it to exercise the time buckets on small data)

_FEW = 1_000  # below this many values a Python loop beats pandas' groupby (its set-up costs ~0.2 ms)

_MOMENTS_AT_ONCE = 1 << 16  # moments scored together (rule x moment arrays stay small)


# --------------------------------------------------------------------------- the entry point


def mql_events(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    *,
    as_of: Any,
    stage_log: pd.DataFrame | None = None,
    fit_points: np.ndarray | None = None,
) -> pd.DataFrame:
    """The moments leads became MQLs up to ``as_of`` (see :mod:`leadsim.scoring`).

    Returns ``lead_id, at, reason ("score"|"hot"), trigger (hot-trigger id or
    NA), score``, sorted by time then lead.  ``fit_points``: the leads' fit and
    BANT points in ``leads`` order (``score()``'s ``fit_score``) when already
    known, so the fit rules are not evaluated again (a caller scoring the same
    leads many times); only the fit rules the gates exclude are (their
    columns must be there).

    >>> import pandas as pd
    >>> from leadsim import load_definition
    >>> from leadsim.scoring import required_columns
    >>> d = load_definition()
    >>> leads = pd.DataFrame({"lead_id": ["L1"], "created_at": [pd.Timestamp("2026-03-01")],
    ...                       "seniority": ["director"], "company_size": [300]})  # fit 35: grade C passes the hot gate
    >>> leads = leads.reindex(columns=required_columns(d)["leads"] + ["created_at"])
    >>> acts = pd.DataFrame({"lead_id": ["L1"] * 2, "activity": ["webinar", "live_demo"],
    ...                      "at": pd.to_datetime(["2026-03-02", "2026-03-05"]), "detail": [None, None]})
    >>> mql_events(leads, acts, d, as_of="2026-03-31")[["lead_id", "at", "reason", "trigger"]]
      lead_id         at reason        trigger
    0      L1 2026-03-05    hot  hot_live_demo
    """
    require_definition(definition, where="mql_events")
    t_end = int(timestamp(as_of, definition, what="as_of").value)
    index, rows = lead_rows(leads, {"activities": activities, "stage_log": stage_log})
    n = len(index)
    if fit_points is None:
        fit = np.zeros((len(definition.fit_rules) + len(definition.bant), n))
        fit_matrix(leads, definition, fit)
        fit_points = fit.sum(axis=0)
        fired = fit[[definition.rule_ids.index(r) for r in gate_rules(definition)[: plan_fit_rows(definition)]]] != 0
    elif np.shape(fit_points) != (n,):
        raise DataError(f"fit_points has shape {np.shape(fit_points)}; give one number per lead ({n})",
                        where="fit_points")
    else:
        fired = gated_fit_rules(leads, definition)
    acts = Activities.build(activities, rows.get("activities"), definition)
    rec_lead, rec_t = recycles(stage_log, rows.get("stage_log"), definition)
    created = np.full(n, NEVER, np.int64)
    if "created_at" in leads.columns:
        created = times_ns(leads["created_at"], definition, where="leads.created_at", allow_missing=True)
    plan = MqlPlan.build(definition, acts.act_uniques, acts.det_uniques)
    lead, at, trigger, points = mql_core(plan, np.asarray(fit_points, float), created, acts, rec_lead, rec_t, t_end,
                                         fit_fired=fired)
    triggers = np.asarray([t.id for t in definition.hot_triggers] + [None], dtype=object)
    out = pd.DataFrame(
        {
            "lead_id": pd.array(index.take(lead).to_numpy(dtype=object), dtype="string"),
            "at": at.view("datetime64[ns]"),
            "reason": pd.array(np.where(trigger >= 0, "hot", "score"), dtype="string"),
            "trigger": pd.array(triggers[trigger], dtype="string"),
            "score": points,
        }
    )
    return out.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class MqlPlan:
    """A definition's behaviour rules and hot triggers as :func:`mql_core` uses them, on one vocabulary.

    Built once per definition and vocabulary (the text tests of the filters,
    the windows and decay chunks in ns), so a caller scoring a few leads many
    times (the simulation) pays for them once.  Rules run over the behaviour
    rules, then the hot triggers; rules looking at the same activities share
    one *look* (row of ``act_ok``/``det_ok``: which activity and detail codes
    pass, code -1 in the last column).  A rule's window is counted in its
    look's rows up to a *bound* per moment: 0 the cut, 1 the moment, ``2 +
    k`` the moment less ``offsets[k]``; ``queries`` lists the distinct (look,
    bound) pairs and ``lo``/``hi``/``old`` each rule's (``old``: the decay
    chunk's, -1 without decay).
    """

    definition: LeadDefinition
    act_ok: np.ndarray
    det_ok: np.ndarray
    offsets: list[int]  # every window and decay chunk, ascending
    queries: np.ndarray  # (look, bound) pairs
    lo: list[int]
    hi: list[int]
    old: list[int]
    half_life_ns: list[float | None]
    gate_behaviour: list[int]  # the behaviour rules a gate excludes (indices), after plan_fit_rows fit rules

    @classmethod
    def build(cls, definition: LeadDefinition, act_uniques: pa.Array, det_uniques: pa.Array) -> MqlPlan:
        everything = [*definition.behaviour_rules, *definition.hot_triggers]
        window_ns = [None if r.window_days is None else days_ns(r.window_days) for r in everything]
        half_life = [(r.half_life_days * DAY_NS if getattr(r, "mode", None) == "each" and r.half_life_days else None)
                     for r in everything]
        offsets = sorted({w for w in window_ns if w is not None} | {_chunk_ns(h) for h in half_life if h})
        looks: dict[tuple, int] = {}
        act_ok, det_ok = [], []
        for r in everything:
            lk = Looks.of(r, act_uniques, det_uniques)
            if lk.key not in looks:
                looks[lk.key] = len(looks)
                act_ok.append(np.append(np.isin(np.arange(len(act_uniques)), lk.names), False))
                det_ok.append(np.ones(len(det_uniques) + 1, bool) if lk.det_ok is None else lk.det_ok)
        queries: dict[tuple[int, int], int] = {}

        def query(r, bound: int) -> int:
            return queries.setdefault((looks[rule_key(r)], bound), len(queries))

        lo = [query(r, 0 if w is None else 2 + offsets.index(w)) for r, w in zip(everything, window_ns, strict=True)]
        hi = [query(r, 1) for r in everything]
        old = [-1 if h is None else query(r, 2 + offsets.index(_chunk_ns(h)))
               for r, h in zip(everything, half_life, strict=True)]
        return cls(definition, np.array(act_ok, bool).reshape(len(looks), len(act_uniques) + 1),
                   np.array(det_ok, bool).reshape(len(looks), len(det_uniques) + 1), offsets,
                   np.array(list(queries), np.int64).reshape(-1, 2), lo, hi, old, half_life,
                   [j for j, r in enumerate(definition.behaviour_rules) if r.id in gate_rules(definition)])


def plan_fit_rows(definition: LeadDefinition) -> int:
    """How many of the rules the gates exclude are fit or BANT rules (the rows of ``mql_core``'s ``fit_fired``)."""
    n_fit = len(definition.fit_rules) + len(definition.bant)
    return sum(definition.rule_ids.index(r) < n_fit for r in gate_rules(definition))


def mql_core(plan: MqlPlan, fit_points: np.ndarray, created: np.ndarray, acts: Activities,
             rec_lead: np.ndarray, rec_t: np.ndarray, t_end: int, *,
             fit_fired: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mql_events` on coded input: (lead position, time ns, hot-trigger index or -1, score) per event.

    ``acts`` rows of leads ``0..len(fit_points)-1`` in any order, coded in
    the vocabulary ``plan`` was built on; recycles sorted by lead then time;
    ``created`` ns (``NEVER``: unknown).  Events in (lead, time) order.  For
    callers that keep their data coded (the simulation), so nothing is parsed
    from tables.  ``fit_fired``: whether each fit or BANT rule a gate excludes
    scores, per lead (:func:`leadsim.scoring.gates.fit_fired`); needed when
    the gates exclude such rules.  The hot-trigger index is -1 where the hot
    gate stopped the trigger (the MQL, if any, is then the score's).
    """
    definition = plan.definition
    n = len(fit_points)
    n_gate_fit = plan_fit_rows(definition)
    if fit_fired is None and n_gate_fit:
        raise DataError(f"the definition's gates exclude {n_gate_fit} fit or BANT rule(s): pass fit_fired "
                        "(leadsim.scoring.gates.fit_fired of the leads)", where="fit_fired")
    fit_fired = np.zeros((0, n), bool) if fit_fired is None else np.asarray(fit_fired, bool)
    if fit_fired.shape != (n_gate_fit, n):
        raise DataError(f"fit_fired has shape {fit_fired.shape}; give ({n_gate_fit}, {n}): one row per fit rule a "
                        "gate excludes, one column per lead", where="fit_fired")
    acts = acts.subset(_lead_time_rows(acts, t_end, n))  # rule rows come out sorted by (lead, time)
    keep = rec_t <= t_end
    rec_lead, rec_t = rec_lead[keep], rec_t[keep]
    born = np.flatnonzero((created != NEVER) & (created <= t_end))
    m_lead, m_t, n_act, n_rec = _moments(born, created, acts, rec_lead, rec_t, n)
    keep = m_t <= t_end  # an activity before a creation after `as_of` is no moment yet
    m_lead, m_t, n_act, n_rec = m_lead[keep], m_t[keep], n_act[keep], n_rec[keep]
    at = _ActIndex.build(acts.lead, acts.t, n)
    early = np.flatnonzero(m_t < created[m_lead])  # recycles before creation: activities not moved
    n_act[early] = at.count_le(m_lead[early], m_t[early])

    # episode = number of recycles at or before the moment; restart cuts activities before the last one
    episode = n_rec - np.searchsorted(rec_lead, m_lead, side="left")
    m_cut = np.full(len(m_t), NEVER, np.int64)
    n_cut = at.start[m_lead]  # activities at or before the cut (none: those of the leads before)
    if definition.on_recycle == "restart":
        has = np.flatnonzero(episode > 0)
        last = n_rec[has] - 1
        m_cut[has] = rec_t[last]
        n_cut[has] = at.count_le(rec_lead, rec_t)[last]

    # activities at or before max(cut, moment - offset), per window and decay-chunk offset; a
    # search only where that bound lies after the cut and the lead's first activity
    floor = np.maximum(m_cut, at.first_t[m_lead] - 1)
    bounds = np.empty((2 + len(plan.offsets), len(m_t)), np.int64)  # by bound: see MqlPlan
    bounds[0], bounds[1] = n_cut, n_act
    for k, off in enumerate(plan.offsets, 2):
        q = m_t - off
        sel = np.flatnonzero(q > floor)
        bounds[k] = n_cut
        bounds[k, sel] = at.count_le(m_lead[sel], q[sel])

    # which rows each look passes, counted up to every row
    hit = plan.act_ok[:, acts.act] & plan.det_ok[:, acts.det]
    prefix = np.zeros((len(hit), len(acts.t) + 1), np.int32 if len(acts.t) < 2**31 else np.int64)
    np.cumsum(hit, axis=1, out=prefix[:, 1:])
    decaying = [j for j, h in enumerate(plan.half_life_ns) if h]
    decayed = _Decayed.prepare(acts.lead, acts.t, [np.flatnonzero(hit[plan.queries[plan.hi[j], 0]]) for j in decaying],
                               [plan.half_life_ns[j] for j in decaying])
    fit = np.asarray(fit_points, float)[m_lead]
    total, beh = fit.copy(), np.zeros(len(m_t))
    hot = np.full(len(m_t), -1, np.int64)
    fired = np.zeros((n_gate_fit + len(plan.gate_behaviour), len(m_t)), bool)
    fired[:n_gate_fit] = fit_fired[:, m_lead]
    for a in range(0, len(m_t), _MOMENTS_AT_ONCE):
        sl = slice(a, a + _MOMENTS_AT_ONCE)
        total[sl], hot[sl] = _score_moments(plan, total[sl], prefix, bounds[:, sl], decayed, m_t[sl], beh[sl],
                                            fired[n_gate_fit:, sl])

    verdict = mql_verdict(definition, fit=fit, behaviour=beh, total=total, hot=hot, fired=fired)
    hot = np.where(verdict.by_hot, hot, -1)
    mql = np.flatnonzero(verdict.is_mql)
    new = np.ones(len(mql), bool)
    new[1:] = (m_lead[mql][1:] != m_lead[mql][:-1]) | (episode[mql][1:] != episode[mql][:-1])
    ev = mql[new]
    return m_lead[ev], m_t[ev], hot[ev], total[ev]


# --------------------------------------------------------------------------- moments and counts


def _moments(
    born: np.ndarray, created: np.ndarray, acts: Activities, rec_lead: np.ndarray, rec_t: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (lead, time) scoring moments, sorted: creations, activities and recycles.

    Returns (lead, time, activities at or before it, recycles at or before it);
    an activity before its lead's creation counts at the creation.  The
    activity count is exact for moments at or after the lead's creation.
    """
    nb, na = len(born), len(acts.t)
    if nb + na + len(rec_t) == 0:
        return (np.zeros(0, np.int64),) * 4
    lead = np.concatenate([born, acts.lead, rec_lead])
    t = np.concatenate([created[born], np.maximum(acts.t, created[acts.lead]), rec_t])
    order = _pair_order(lead, t, n)  # three sorted runs
    lead, t = lead[order], t[order]
    is_act = (order >= nb) & (order < nb + na)
    n_act, n_rec = np.cumsum(is_act), np.cumsum(order >= nb + na)
    first = np.ones(len(t), bool)
    first[1:] = (lead[1:] != lead[:-1]) | (t[1:] != t[:-1])
    start = np.flatnonzero(first)
    end = np.append(start[1:] - 1, len(t) - 1)
    return lead[start], t[start], n_act[end], n_rec[end]


def _lead_time_rows(acts: Activities, t_end: int, n_leads: int) -> np.ndarray:
    """Rows of the activities at or before ``t_end``, sorted by (lead, time), ties in row order."""
    if acts.time_sorted:  # a stable sort by lead keeps the time order (uint16: a radix sort)
        lead = acts.lead[: np.searchsorted(acts.t, t_end, side="right")]
        return np.argsort(lead.astype(np.uint16) if n_leads <= 2**16 else lead, kind="stable")
    keep = np.flatnonzero(acts.t <= t_end)
    return keep[np.lexsort((acts.t[keep], acts.lead[keep]))]


@dataclass(frozen=True)
class _PairKey:
    """(lead, time) packed into one int64 that orders like the pair, up to time buckets.

    The lead takes the high bits, the time the low ones: clipped to ``[lo,
    hi]`` and counted from ``lo`` in buckets of ``2 ** shift`` ns, where
    ``shift`` is 0 unless the span needs more bits than the leads leave
    (a year with 50,000 leads: 512 ns buckets).  Equal keys then mean the
    same lead and bucket; callers resolve those ties on the times themselves.
    """

    lead_shift: int
    shift: int
    lo: int
    hi: int

    @classmethod
    def spanning(cls, n_leads: int, lo: int, hi: int) -> _PairKey:
        lead_shift = KEY_BITS - max(int(n_leads).bit_length(), 1)
        return cls(lead_shift, max((hi - lo).bit_length() - lead_shift, 0), lo, hi)

    def pack(self, lead: np.ndarray, t: np.ndarray) -> np.ndarray:
        # unsigned: the span may exceed the int64 range
        rel = np.clip(t, self.lo, self.hi).view(np.uint64) - np.uint64(self.lo % 2**64)
        return (lead << self.lead_shift) | (rel >> np.uint64(self.shift)).view(np.int64)


def _pair_order(lead: np.ndarray, t: np.ndarray, n_leads: int) -> np.ndarray:
    """A stable order of (lead, time) pairs, not empty (like ``np.lexsort((t, lead))`` up to ties of equal pairs).

    Concatenated sorted runs cost little: the stable sort merges them.
    """
    pk = _PairKey.spanning(n_leads, int(t.min()), int(t.max()))
    order = np.argsort(pk.pack(lead, t), kind="stable")
    if pk.shift:  # pairs sharing a time bucket may be out of order
        sl, st = lead[order], t[order]
        if ((sl[1:] == sl[:-1]) & (st[1:] < st[:-1])).any():
            order = np.lexsort((t, lead))
    return order


@dataclass
class _ActIndex:
    """Activities sorted by (lead, time), counted up to any (lead, time) with one ``searchsorted``."""

    t: np.ndarray
    key: _PairKey | None
    packed: np.ndarray
    start: np.ndarray  # per lead: its first row
    first_t: np.ndarray  # per lead: its first time (int64 max: no activities)

    @classmethod
    def build(cls, lead: np.ndarray, t: np.ndarray, n_leads: int) -> _ActIndex:
        counts = np.bincount(lead, minlength=n_leads)
        start = np.cumsum(counts) - counts
        first_t = np.full(n_leads, np.iinfo(np.int64).max, np.int64)
        first_t[counts > 0] = t[start[counts > 0]]
        if len(t) == 0:
            return cls(t, None, t, start, first_t)
        key = _PairKey.spanning(n_leads, int(t.min()) - 1, int(t.max()))
        return cls(t, key, key.pack(lead, t), start, first_t)

    def count_le(self, q_lead: np.ndarray, q_t: np.ndarray) -> np.ndarray:
        """Per query, the number of activities with (lead, time) <= (q_lead, q_t)."""
        if self.key is None:
            return np.zeros(len(q_lead), np.int64)
        q = self.key.pack(q_lead, q_t)
        pos = np.searchsorted(self.packed, q, side="right")
        if self.key.shift:  # the last ones counted may share the query's bucket but come after it
            todo = np.flatnonzero(pos > 0)
            while len(todo):
                p = pos[todo] - 1
                todo = todo[(self.packed[p] == q[todo]) & (self.t[p] > q_t[todo])]
                pos[todo] -= 1
                todo = todo[pos[todo] > 0]
        return pos


# --------------------------------------------------------------------------- decay


def _chunk_ns(half_life_ns: float) -> int:
    return max(int(64 * half_life_ns), 1)


def segment_cumsum(v: np.ndarray, new: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``v`` restarting where ``new`` (segment ``seg``), as pandas' groupby cumsum, bit for bit.

    pandas compensates the rounding (Kahan summation); a short input takes the
    same steps in Python floats (IEEE doubles, like the C loop).
    """
    if len(v) > _FEW:
        return pd.Series(v).groupby(seg).cumsum().to_numpy()
    out = []
    total = comp = 0.0
    for x, first in zip(v.tolist(), new.tolist(), strict=True):
        if first:
            total = comp = 0.0
        y = x - comp
        t = total + y
        comp = t - total - y
        total = t
        out.append(t)
    return np.array(out, float)


@dataclass
class _Decayed:
    """The events of the decaying rules, rule after rule, ready to sum ``2 ** ((t_e - q_t) / h)`` over windows.

    Prefix sums are rebased per (lead, time chunk of 64 half-lives) so that
    ``2 ** (t / h)`` never overflows; events more than 64 half-lives old
    (weight below 2**-64) are left out.  A window then spans at most two
    chunks.  Every value is computed as it would be for the rule alone.
    """

    first: np.ndarray  # each rule's first event
    half_life: np.ndarray  # per event, its rule's half-life (ns)
    anchor: np.ndarray  # per event, the start of its chunk
    cum: np.ndarray  # rebased prefix sums, restarting per (rule, lead, chunk)
    seg_start: np.ndarray  # per event, the first event of its (rule, lead, chunk)

    @classmethod
    def prepare(cls, lead: np.ndarray, t: np.ndarray, idx: list[np.ndarray], half_life_ns: list[float]) -> _Decayed:
        """``idx[k]``: rule ``k``'s rows of ``lead``/``t`` (sorted by lead, then time)."""
        sizes = [len(i) for i in idx]
        rows = np.concatenate([np.zeros(0, np.int64), *idx])
        first = np.cumsum([0, *sizes], dtype=np.int64)[:-1]
        half_life = np.repeat(np.array(half_life_ns, float), sizes)
        ev_t = t[rows]
        chunk_ns = np.maximum((64 * half_life).astype(np.int64), 1)  # _chunk_ns of each event's rule
        chunk = ev_t // chunk_ns
        anchor = chunk * chunk_ns
        v = np.exp2((ev_t - anchor) / half_life)
        ev_lead = lead[rows]
        new = np.ones(len(ev_t), bool)
        new[1:] = (ev_lead[1:] != ev_lead[:-1]) | (chunk[1:] != chunk[:-1])
        new[first[first < len(new)]] = True  # each rule starts afresh
        seg = np.cumsum(new) - 1
        return cls(first, half_life, anchor, segment_cumsum(v, new, seg), np.flatnonzero(new)[seg])

    def sums(self, lo: np.ndarray, hi: np.ndarray, old: np.ndarray, q_t: np.ndarray) -> list[tuple[np.ndarray,
                                                                                                  np.ndarray]]:
        """Per rule ``k``, the sum over its events ``lo[k] <= e < hi[k]`` (rule x query, each query one lead's
        events; ``old``: each query's first event newer than one chunk) at ``q_t``: (the queries with events to
        sum, their sums); the others sum to 0."""
        n_q = len(q_t)
        lo, hi, old = (x + self.first[:, None] for x in (lo, hi, old))
        a = np.where(hi > lo, np.maximum(lo, old), hi).ravel()
        has = np.flatnonzero(hi.ravel() > a)
        a, b, qt = a[has], hi.ravel()[has], q_t[has % n_q]
        cum, seg_start, anchor, h = self.cum, self.seg_start, self.anchor, self.half_life
        last = b - 1
        s = seg_start[last]
        lower = np.maximum(a, s)
        part = cum[last] - np.where(lower > s, cum[np.maximum(lower - 1, 0)], 0.0)
        total = part * np.exp2((anchor[last] - qt) / h[last])
        two = np.flatnonzero(a < s)
        if len(two):
            a2, s2, t2 = a[two], s[two], qt[two]
            prev = s2 - 1
            part2 = cum[prev] - np.where(a2 > seg_start[prev], cum[np.maximum(a2 - 1, 0)], 0.0)
            total[two] += part2 * np.exp2((anchor[prev] - t2) / h[prev])
        cuts = np.searchsorted(has, np.arange(len(self.first) + 1) * n_q)
        return [(has[i:k] - r * n_q, total[i:k]) for r, (i, k) in enumerate(itertools.pairwise(cuts.tolist()))]


# --------------------------------------------------------------------------- scores at moments


def _score_moments(plan: MqlPlan, total: np.ndarray, prefix: np.ndarray, bounds: np.ndarray, decayed: _Decayed,
                   m_t: np.ndarray, beh: np.ndarray, fired: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, first active hot trigger or -1) at moments ``m_t``, from the fit points ``total`` (added to).

    ``prefix``: per look, its rows counted up to each row; ``bounds``: per
    bound kind (see :class:`MqlPlan`), each moment's row bound.  ``beh``
    (zeros) receives the behaviour score, as ``score()`` sums it; ``fired``
    whether each behaviour rule of ``plan.gate_behaviour`` scores.
    """
    gated = {j: k for k, j in enumerate(plan.gate_behaviour)}
    count = np.zeros((len(plan.queries), len(m_t)), prefix.dtype)  # per (look, bound) query and moment
    for k, (look, bound) in enumerate(plan.queries.tolist()):
        prefix[look].take(bounds[bound], out=count[k])
    rules = plan.definition.behaviour_rules
    decaying = [j for j in range(len(rules)) if plan.half_life_ns[j]]
    sums = dict(zip(decaying, decayed.sums(*(count[[q[j] for j in decaying]] for q in (plan.lo, plan.hi, plan.old)),
                                           m_t), strict=True))
    # each behaviour rule in definition order: the additions of score()'s rules.sum(axis=0), bit for bit
    for j, r in enumerate(rules):
        if j in sums:
            has, part = sums[j]
            # elsewhere the rule adds +-0, which leaves a total unchanged (it is never -0: it starts at fit sums)
            points = capped(r.points * part, r.points, r.cap)
            total[has] += points
            beh[has] += points
            if j in gated:
                fired[gated[j], has] = points != 0
            continue
        n_in = count[plan.hi[j]] - count[plan.lo[j]]
        if r.mode != "each":
            need = r.min_count if r.mode == "at_least" else 1
            points = np.where(n_in >= need, float(r.points), 0.0)
        else:
            points = capped(r.points * n_in, r.points, r.cap)
        total += points
        beh += points
        if j in gated:
            fired[gated[j]] = points != 0
    # the first active hot trigger in definition order
    trig = range(len(rules), len(plan.hi))
    if not len(trig):
        return total, np.full(len(m_t), -1, np.int64)
    active = count[[plan.hi[j] for j in trig]] > count[[plan.lo[j] for j in trig]]
    return total, np.where(active.any(axis=0), active.argmax(axis=0), -1)
