"""Each lead's next MQL moment during a run, from scoring's engine on the run's activity stream.

The run needs to know *when* a lead becomes an MQL before it happens, and the
moments must be exactly those :func:`leadsim.scoring.mql_events` finds on the
log the run leaves behind.  :class:`Moments` computes them for every lead at
the start, on the behaviour drawn up front, and again for the few leads whose
history changes (a recycle starts a new episode; with a rule on the offer a
click was on, a click that turned out different).  An upper bound per epoch
(:meth:`Moments.first_chance`) keeps the engine away from the leads and
moments that cannot reach the threshold.

>>> import numpy as np, pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.simulation.stream import Stream
>>> d = load_definition()
>>> day = 86_400 * 10**9
>>> acts = {"lead": np.array([0, 0]), "t": np.array([day, 2 * day]), "activity": np.array(["live_demo", "webinar"],
...         object), "detail": np.array([None, None], object), "nurture": np.zeros(2, bool), "pick": np.zeros(2)}
>>> m = Moments(d, Stream(acts, 2, {}), np.array([20.0, 90.0]), np.array([0, day]), pd.Timestamp("2026-01-05"),
...             28 * day, 7 * day, fit_fired=np.zeros((2, 2), bool))  # neither is a student or a competitor
>>> ev = m.moments(np.arange(2), 28 * day - 1, 0)
>>> ev["lead"].tolist(), ev["t_ns"].tolist(), ev["reason"].tolist()
([0], [86400000000000], ['hot'])
>>> m.refresh(np.arange(2), 0, np.zeros(2, np.int64))  # what a run keeps: each lead's next moment
>>> m.next["t"].tolist() == [day, np.iinfo(np.int64).max]
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.points import at_or_over
from leadsim.simulation.stream import Stream

__all__ = ["Moments"]

_BIG = np.iinfo(np.int64).max
_FEW_LEADS = 8  # up to this many leads, moments are scored on whole histories (no fold)


class Moments:
    """The next MQL moment of each lead's current episode (``next``), and how to compute it.

    ``fit``: each lead's fit and BANT points; ``created_ns``: creation times;
    times in ns since ``start``; ``fit_fired``: whether each fit rule the
    definition's gates exclude scores, per lead
    (:func:`leadsim.scoring.gates.fit_fired`; needed when the gates exclude fit
    rules).
    """

    def __init__(self, definition: LeadDefinition, stream: Stream, fit: np.ndarray, created_ns: np.ndarray,
                 start: pd.Timestamp, horizon_ns: int, epoch_ns: int, *, fit_fired: np.ndarray | None = None):
        d = self.d = definition
        self.stream, self.fit, self.created_ns = stream, fit, created_ns
        self.fit_fired = None if fit_fired is None else np.asarray(fit_fired, bool)
        self.n = n = len(fit)
        self.horizon_ns, self.epoch_ns = horizon_ns, epoch_ns
        self.base_ns = int(pd.Timestamp(start).value)  # the start as ns since the epoch of datetime64
        self.trigger_ids = np.array([t.id for t in d.hot_triggers] + [None], dtype=object)  # by index, -1 last
        self.forever = np.zeros(len(stream.act_vocab) + 1, bool)  # by activity code (-1 last)
        self.forever[stream.codes({a for r in d.behaviour_rules if r.window_days is None for a in r.activities})] = True
        # activities older than every rule window cannot change an MQL moment after the epoch start
        wins = [r.window_days for r in d.behaviour_rules if r.window_days is not None]
        wins += [t.window_days for t in d.hot_triggers]
        self.lookback_ns = int((max(wins, default=0) + 1) * 86_400e9)
        self.recycled_at: dict[int, list[tuple]] = {}  # per lead: (stage left, its entry, recycle time) each
        self.cut_ns = np.full(n, -1, np.int64)  # last recycle (restart: earlier activities no longer count)
        # t_ns _BIG: none in the horizon; episode: the one it was computed for
        self.next = {"t": np.full(n, _BIG, np.int64), "episode": np.full(n, -1, np.int64),
                     "reason": np.full(n, None, object), "trigger": np.full(n, None, object), "score": np.zeros(n)}
        self._bound_rules()
        from leadsim.scoring.mql import MqlPlan

        self.plan = MqlPlan.build(d, stream.act_names, stream.det_names)  # the engine's rules on the stream's codes

    def recycled(self, lead: int, left: str, entered_ns: int, t_ns: int) -> None:
        """Lead ``lead`` left stage ``left`` (entered at ``entered_ns``) for the recycle stage at ``t_ns``."""
        self.recycled_at.setdefault(lead, []).append((left, entered_ns, t_ns))
        self.cut_ns[lead] = t_ns

    def _bound_rules(self) -> None:
        """Which bound rule looks at which activity: ``rule_table[act code, detail code + 1, rule]``.

        The bound rules are the positive behaviour rules, then one counting
        rule per hot trigger; every (activity, detail) pair of the stream's
        vocabularies is matched once, by scoring's own filters.
        """
        from leadsim.definition import BehaviourRule
        from leadsim.scoring import rule_matches

        d, st = self.d, self.stream
        self.positive = [r for r in d.behaviour_rules if r.points > 0]
        hot = [BehaviourRule.model_construct(id=t.id, label=t.label, activity=t.activity, detail=t.detail, points=1.0,
                                             mode="each", min_count=1, cap=None, half_life_days=None,
                                             window_days=None) for t in d.hot_triggers]
        n_act, n_det = len(st.act_vocab), len(st.det_vocab) + 1
        a = np.repeat(np.arange(n_act), n_det)
        k = np.tile(np.arange(-1, n_det - 1), n_act)
        pairs = pd.DataFrame({"activity": pd.Categorical.from_codes(a, st.act_vocab),
                              "detail": pd.Categorical.from_codes(k, st.det_vocab)})
        combo, match, _ = rule_matches(pairs, d.model_copy(update={"behaviour_rules": self.positive + hot}))
        self.rule_table = match[combo].reshape(n_act, n_det, len(self.positive) + len(hot))

    def first_chance(self, cand: np.ndarray, since) -> np.ndarray:
        """Per lead of ``cand``, the earliest time from ``since`` (one time, or one per lead) on its score could
        reach the threshold.

        ``_BIG`` where it never can.  A bound per epoch: each positive rule adds
        at most ``min(cap, points x weight)`` where the weight counts the
        matching activities of the epoch and of the earlier epochs its window
        reaches, those of epoch ``b - j`` weighed by ``2 ** (-(j - 1) x epoch /
        half-life)`` (``j >= 1``) for a decaying rule (a real decay weight is
        smaller); ``at_least``/``recency`` rules add their points once that
        count is enough; negative rules at most 0; fit and BANT exactly.  A
        hot-trigger activity makes its epoch a chance, and the epochs its
        window reaches.  ``mql_events`` then needs to score moments from the
        first chance on only.  Epochs before the one ``since`` lies in are
        no chance (their moments are known already).
        """
        st, d = self.stream, self.d
        since = np.broadcast_to(np.asarray(since, np.int64), np.shape(cand))
        rows, owner = st.rows_of(cand, owner=True)
        keep = st.live[rows]
        if d.on_recycle == "restart":
            keep &= st.t[rows] > self.cut_ns[cand][owner]
        rows, owner = rows[keep], owner[keep]
        match = self.rule_table[st.act[rows], st.det[rows] + 1]
        n_pos, nl = len(self.positive), len(cand)
        # first the whole horizon as one epoch: most leads never get near the threshold
        bound = self.fit[cand].copy()
        hot = np.zeros(nl, bool)
        for j in range(match.shape[1]):
            count = np.bincount(owner[match[:, j]], minlength=nl)
            if j >= n_pos:
                hot |= count > 0
            else:
                bound += self._rule_bound(self.positive[j], count)
        near = np.flatnonzero(hot | at_or_over(bound, d.thresholds.mql))
        out = np.full(nl, _BIG, np.int64)
        if not len(near):
            return out
        # then epoch by epoch for those that do (arrays epoch x lead)
        pos = np.full(nl, -1, np.int64)
        pos[near] = np.arange(len(near))
        sub = pos[owner] >= 0
        owner, match = pos[owner[sub]], match[sub]
        blk = st.t[rows[sub]] // self.epoch_ns
        # epochs before the first activity add nothing to the fit: start there (fit alone: first chance at once)
        b0 = int(blk.min()) if len(blk) else 0
        nb_all, nl = -(-self.horizon_ns // self.epoch_ns), len(near)
        nb = nb_all - b0
        key = (blk - b0) * nl + owner
        fit = self.fit[cand[near]]
        bound = np.broadcast_to(fit, (nb, nl)).copy()
        first_hot = np.full(nl, nb_all, np.int64)
        epoch_days = self.epoch_ns / 86_400e9
        since_ep = since[near] // self.epoch_ns
        for j in range(match.shape[1]):
            m = match[:, j]
            if j >= n_pos:  # a hot activity: its epoch, or a later one its window reaches, from since on
                reach = math.ceil(d.hot_triggers[j - n_pos].window_days / epoch_days)
                e, s_e = blk[m], since_ep[owner[m]]
                ok = e + reach >= s_e
                np.minimum.at(first_hot, owner[m][ok], np.maximum(e, s_e)[ok])
                continue
            r = self.positive[j]
            c = np.bincount(key[m], minlength=nb * nl).reshape(nb, nl).astype(float)
            if r.mode == "each" and r.half_life_days:  # w[b] = c[b] + sum_j>=1 q**(j-1) c[b-j]
                q = 2.0 ** (-epoch_days / r.half_life_days)
                w = c.copy()
                carry = np.zeros(nl)
                for b in range(1, nb):
                    carry *= q
                    carry += c[b - 1]
                    w[b] += carry
            else:  # the epochs a window reaches back to
                back = nb if r.window_days is None else math.ceil(r.window_days / epoch_days)
                w = np.cumsum(c, axis=0)
                if back + 1 < nb:
                    w[back + 1 :] -= w[: nb - back - 1].copy()
            bound += self._rule_bound(r, w)
        ok = at_or_over(bound, d.thresholds.mql)
        lo = since_ep - b0  # epochs before since's: no chance
        if lo.max(initial=0) > 0:
            ok &= np.arange(nb)[:, None] >= lo[None, :]
        first = np.where(ok.any(axis=0), ok.argmax(axis=0) + b0, nb_all)
        first = np.minimum(np.where(at_or_over(fit, d.thresholds.mql), 0, first), first_hot)
        out[near] = np.where(first < nb_all, np.maximum(first * self.epoch_ns, since[near]), _BIG)
        return out

    @staticmethod
    def _rule_bound(rule, weight: np.ndarray) -> np.ndarray:
        """The most a positive rule can add given (an upper bound of) its matching activities' total weight."""
        if rule.mode == "each":
            return np.minimum(rule.points * weight, np.inf if rule.cap is None else rule.cap)
        return np.where(weight >= (rule.min_count if rule.mode == "at_least" else 1), rule.points, 0.0)

    def refresh(self, cand: np.ndarray, since, episode: np.ndarray) -> None:
        """Work out the next MQL moment (``next``) of the leads ``cand`` from ``since`` on, in their current
        ``episode``: the engine scores only the leads, and moments, the bound leaves a chance."""
        start = self.first_chance(cand, since)
        able = start < _BIG
        self.store(cand, self.moments(cand[able], self.horizon_ns - 1, start[able]), episode)

    def store(self, cand: np.ndarray, ev: dict[str, np.ndarray], episode: np.ndarray) -> None:
        """Keep each candidate's first MQL moment of ``ev`` (:meth:`moments`; none: ``_BIG``) for its current
        episode."""
        nm = self.next
        nm["t"][cand] = _BIG
        nm["episode"][cand] = episode[cand]
        lead = np.asarray(ev["lead"], np.int64)
        _, first = np.unique(lead, return_index=True)  # rows are in time order
        i = lead[first]
        nm["t"][i] = np.asarray(ev["t_ns"], np.int64)[first]
        nm["reason"][i] = np.asarray(ev["reason"], object)[first]
        nm["trigger"][i] = np.asarray(ev["trigger"], object)[first]
        nm["score"][i] = np.asarray(ev["score"], float)[first]

    def at(self, lead: int, t_ns: int) -> list[tuple[str, str | None, float]]:
        """(reason, trigger, score) of lead ``lead`` becoming an MQL exactly at ``t_ns`` (a recycle), if it does."""
        ev = self.moments(np.array([lead]), t_ns + 1, t_ns)
        return [(ev["reason"][k], ev["trigger"][k], float(ev["score"][k]))
                for k in np.flatnonzero(ev["t_ns"] == t_ns).tolist()]

    def moments(self, cand, until_ns: int, since) -> dict[str, np.ndarray]:
        """The MQL moments from ``since`` (per lead, or one time for all) on of the leads at positions ``cand``:
        arrays ``lead``, ``t_ns``, ``reason``, ``trigger``, ``score``, sorted by time, then lead.

        ``mql_events`` checks the score at creation and at every activity; the
        run only needs the moments from ``since`` on, and none of the
        candidates can be an MQL earlier in its episode.  Moving ``created_at``
        up to ``since`` folds all older activity moments into one moment at
        ``since`` (the fit points are passed in, and later moments do not
        depend on ``created_at``), so the old history is not scored moment by
        moment, and rows older than every window can be left out.  That extra
        moment is no real scoring moment: a lead reported there is recomputed
        on its whole history with its true ``created_at``.  A few leads are
        scored on their whole histories at once: the engine's cost is then in
        its steps, not its rows, and folding would only add a second call.
        """
        cand = np.asarray(cand, np.int64)
        since = np.broadcast_to(np.asarray(since, np.int64), cand.shape)
        st = self.stream
        st.flush()
        if len(cand) <= _FEW_LEADS:
            rows = st.rows_of(cand)
            pos, t, reason, trigger, points = self.events(cand, rows[st.live[rows] & (st.t[rows] <= until_ns)],
                                                          self.created_ns[cand], until_ns)
        else:
            pos, t, reason, trigger, points = self._folded(cand, until_ns, since)
        keep = np.flatnonzero(t >= since[pos])
        keep = keep[np.lexsort((cand[pos[keep]], t[keep]))]  # stable: by time, then lead
        return {"lead": cand[pos[keep]], "t_ns": t[keep], "reason": reason[keep], "trigger": trigger[keep],
                "score": points[keep]}

    def _folded(self, cand: np.ndarray, until_ns: int, since: np.ndarray) -> tuple:
        """:meth:`events` of ``cand`` with the moments before ``since`` folded into one (see :meth:`moments`)."""
        st = self.stream
        rows, owner = st.rows_of(cand, owner=True)
        keep = st.live[rows] & (st.t[rows] <= until_ns)
        keep &= (st.t[rows] >= since[owner] - self.lookback_ns) | self.forever[st.act[rows]]
        moved = np.maximum(self.created_ns[cand], since)
        pos, t, reason, trigger, points = self.events(cand, rows[keep], moved, until_ns)
        # unsure: a lead reported at the folded moment, or at a moment of its current episode before since
        # (a recycle moment, scored without the rows left out: a false first MQL would hide the real one)
        unsure = (t == moved[pos]) & (moved[pos] > self.created_ns[cand][pos])
        unsure |= (t < since[pos]) & (t >= self.cut_ns[cand][pos])
        folded = np.unique(pos[unsure])
        if not len(folded):
            return pos, t, reason, trigger, points
        rows = st.rows_of(cand[folded])
        exact = self.events(cand[folded], rows[st.live[rows] & (st.t[rows] <= until_ns)],
                            self.created_ns[cand[folded]], until_ns)
        other = ~np.isin(pos, folded)
        return tuple(np.concatenate([a[other], b]) for a, b in
                     zip((pos, t, reason, trigger, points), (folded[exact[0]], *exact[1:]), strict=True))

    def events(self, cand: np.ndarray, rows: np.ndarray, created_ns: np.ndarray, until_ns: int) -> tuple:
        """The MQL moments of the leads ``cand`` (with ``created_ns``) on activity ``rows``, by scoring's engine
        on the stream's codes (no tables in between).

        Returns (position in ``cand``, time ns, reason, trigger, score).
        """
        from leadsim.scoring.inputs import Activities
        from leadsim.scoring.mql import mql_core

        st = self.stream
        loc = np.full(self.n, -1, np.int64)
        loc[cand] = np.arange(len(cand))
        # absolute times, as in the tables (decay sums are rebased on absolute time chunks: same floats)
        b = self.base_ns
        acts = Activities(loc[st.lead[rows]], st.t[rows] + b, st.act[rows], st.act_names, st.det[rows], st.det_names)
        rec = [(int(loc[i]), at + b) for i in cand.tolist() for _prev, _entered, at in self.recycled_at.get(i, ())]
        rec_lead, rec_t = (np.array(c, np.int64).reshape(-1) for c in (zip(*rec, strict=True) if rec else ([], [])))
        pos, t, hot, points = mql_core(self.plan, self.fit[cand], np.asarray(created_ns, np.int64) + b, acts, rec_lead,
                                       rec_t, until_ns + b,
                                       fit_fired=None if self.fit_fired is None else self.fit_fired[:, cand])
        reason = np.where(hot >= 0, "hot", "score").astype(object)
        return pos, t - self.base_ns, reason, self.trigger_ids[hot], points
