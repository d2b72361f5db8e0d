"""The SimPy model: leads arrive, score, queue for SDRs, go to sales reps.

:func:`simulate` runs one :class:`~leadsim.simulation.scenario.Scenario`
with one seed and returns a :class:`SimulationResult` holding the six shared
tables (leads, activities, stage log, touches, owners, outcomes), the alerts,
the services and monitor series and the run's KPIs.  Same seed, same result.

How a run works (full mode):

* Leads arrive by source (weekday x hour profiles, bursts, outbound work);
  their records and latent intent come from the ``make_history`` generator.
* Week by week, each live lead's browsing sessions and the nurture offers of
  its stage are drawn; :func:`leadsim.scoring.mql_events` on the activity log
  (with the stage log, so a recycle starts a new episode) gives the moments
  leads become MQLs, which the run then schedules.  A lead recycled or closed
  goes quiet for the rest of that week (its remaining activities are
  dropped), so the log the run leaves behind gives ``mql_events`` exactly the
  moments the run used.
* MQLs (and an ``exploration_share`` of below-threshold leads, with their
  propensity) enter the SDR queue; SDRs (SimPy processes on shifts) call them
  in the scenario's routing order; each attempt may fail (retries with a
  cadence), a reached lead qualifies with a probability falling with the
  delay (the scenario's :class:`~leadsim.simulation.curves.ResponseCurve`).
  Waiting leads go cold after an exponential patience.
* Sales Leads go to a rep's queue; the rep touches them, then converts,
  recycles or disqualifies after a working-time delay; Opportunities close as
  Customer or Lost.  The definition's SLA clocks run as processes that check
  the lead's state when a level is due (tie rule of :mod:`leadsim.sla`: a
  stop at the due time prevents the alert); escalation can move a lead to the
  front of its queue; ``sla.auto_return_after_last`` recycles it.

>>> from leadsim.simulation.scenario import Scenario
>>> r = simulate(Scenario.queueing(6, 2, 4, horizon_days=2, warmup_days=0.5), seed=1)
>>> 0 <= r.p_wait <= 1 and r.mean_wait_hours >= 0 and r.p_abandon == 0
True
"""

from __future__ import annotations

import gc
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadsimWarning
from leadsim.simulation import arrivals as arr
from leadsim.simulation.clocks import INF, WorkTime
from leadsim.simulation.curves import ResponseCurve, adjust
from leadsim.simulation.records import Recorder
from leadsim.simulation.reps import Item, Rep, WorkQueue
from leadsim.simulation.scenario import Scenario

__all__ = ["SimulationResult", "simulate"]

_MIN_NS = 60_000_000_000
_BIG = np.iinfo(np.int64).max
MARKETING = ("name", "active", "target")


@dataclass
class SimulationResult:
    """Everything one run produced.  Tables follow DESIGN.md section 3."""

    scenario: Scenario
    seed: Any
    curve: str
    leads: pd.DataFrame
    activities: pd.DataFrame
    stage_log: pd.DataFrame
    touches: pd.DataFrame
    owners: pd.DataFrame
    outcomes: pd.DataFrame
    alerts: pd.DataFrame
    services: pd.DataFrame
    monitor: pd.DataFrame
    mql: pd.DataFrame
    kpis: pd.Series
    warnings: list[str] = field(default_factory=list)
    p_wait: float | None = None
    mean_wait_hours: float | None = None
    p_abandon: float | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"leads": self.leads, "activities": self.activities, "stage_log": self.stage_log,
                "touches": self.touches, "owners": self.owners, "outcomes": self.outcomes, "alerts": self.alerts}


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def start_patience(env: simpy.Environment, queue: WorkQueue, item: Item, minutes: float, on_cold) -> None:
    """Withdraw ``item`` if it is still waiting (the same wait) after ``minutes``."""
    since = item.enqueued_at

    def fire(_ev: Any) -> None:
        if item.queued and item.enqueued_at == since and queue.withdraw(item):
            on_cold(item)

    env.timeout(minutes).callbacks.append(fire)


def _late_check(env: simpy.Environment) -> simpy.Event:
    """An event at the current time processed after every normal event now (tie rule)."""
    ev = env.event()
    ev._ok = True
    ev._value = None
    env.schedule(ev, priority=2)
    return ev


# --------------------------------------------------------------------------- queueing mode


def _run_queueing(scenario: Scenario, seed: Any) -> SimulationResult:
    spec = scenario.queueing_spec
    rng = _rng(seed)
    env = simpy.Environment()
    queue = WorkQueue(env)
    rec = Recorder()
    waits = rec.rows["wait"]
    mean_service = 60.0 / spec.services_per_hour
    mean_gap = 60.0 / spec.arrivals_per_hour
    patience = None if spec.patience_hours is None else spec.patience_hours * 60.0
    horizon = scenario.horizon_days * 1440.0
    msgs: list[str] = []
    rho = spec.arrivals_per_hour / (spec.services_per_hour * spec.servers)
    if rho >= 1 and patience is None:
        msgs.append(f"utilisation {rho:.2f} >= 1: the queue can never drain (add servers or patience)")
        warnings.warn(msgs[-1], LeadsimWarning, stacklevel=3)

    def serve(rep: Rep, item: Item):
        w = waits[item.name]
        w[2] = env.now
        yield rep.work(rng.exponential(mean_service))

    def cold(item: Item) -> None:
        waits[item.name][3] = env.now

    for i in range(spec.servers):
        Rep(env, f"sdr{i + 1}", queue, serve)

    def source():
        k = 0
        while True:
            yield env.timeout(rng.exponential(mean_gap))
            if env.now >= horizon:
                return
            item = Item(k)
            waits.append([k, env.now, math.nan, math.nan])
            queue.put(item, (env.now,))
            if patience is not None:
                start_patience(env, queue, item, rng.exponential(patience), cold)
            k += 1

    env.process(source())
    env.run()
    w = np.asarray(waits, float).reshape(-1, 4)
    keep = w[:, 1] >= scenario.warmup_days * 1440.0
    w = w[keep]
    left = np.where(np.isnan(w[:, 2]), w[:, 3], w[:, 2])
    wait = left - w[:, 1]
    abandoned = ~np.isnan(w[:, 3])
    p_wait = float(np.mean((wait > 0) | abandoned)) if len(w) else math.nan
    mean_wait = float(np.mean(wait)) / 60.0 if len(w) else math.nan
    p_abandon = float(np.mean(abandoned)) if len(w) else math.nan
    kpis = pd.Series({"p_wait": p_wait, "mean_wait_hours": mean_wait, "p_abandon": p_abandon,
                      "customers": float(len(w))})
    empty = pd.DataFrame()
    waits_df = pd.DataFrame(w, columns=["item", "arrived", "started", "left"])
    return SimulationResult(scenario, seed, "none (queueing)", empty, empty, empty, empty, empty, empty, empty,
                            waits_df, empty, empty, kpis, msgs, p_wait, mean_wait, p_abandon)


# --------------------------------------------------------------------------- full model


def _relaxed(d, epoch_days: float):
    """The definition loosened so that its snapshot at an epoch's end is >= the score at every moment in it.

    No decay (weights 1), negative points dropped, every window widened by the
    epoch; caps, fit rules and the threshold unchanged.
    """
    r = d.model_copy(deep=True)
    for rule in r.behaviour_rules:
        if rule.points < 0:
            rule.points = 0.0
        if rule.mode == "each":
            rule.half_life_days = None
        if rule.window_days is not None:
            rule.window_days = rule.window_days + epoch_days
    for trig in r.hot_triggers:
        trig.window_days = trig.window_days + epoch_days
    return r


class _History:
    """The committed activity log: growable integer arrays, names and details as codes into vocabularies.

    Rows are appended one epoch at a time, so the rows an epoch can still look
    back on (inside the longest rule window) are a tail of the log, plus the
    few rows of window-less rules (``forever``) before it.
    """

    def __init__(self) -> None:
        self.n = 0
        self.data = {"lead": np.empty(4096, np.int64), "t": np.empty(4096, np.int64),
                     "act": np.empty(4096, np.int32), "det": np.empty(4096, np.int32)}
        self.vocab: dict[str, dict[Any, int]] = {"act": {}, "det": {}}
        self.forever: set[str] = set()
        self.forever_rows = np.empty(0, np.int64)
        self.batch_start: list[int] = []
        self.batch_max_t: list[int] = []

    def encode(self, values: np.ndarray, kind: str) -> np.ndarray:
        """Codes of ``values`` (object array) in the ``kind`` vocabulary, new names added; missing -> -1."""
        codes, uniq = pd.factorize(values)
        vocab = self.vocab[kind]
        for u in uniq:
            if u not in vocab:
                vocab[u] = len(vocab)
        m = np.fromiter((vocab[u] for u in uniq), np.int32, len(uniq))
        return np.where(codes >= 0, m[np.maximum(codes, 0)] if len(m) else -1, -1).astype(np.int32)

    def names(self, kind: str) -> np.ndarray:
        """The vocabulary as an object array with ``None`` appended (so code -1 picks it)."""
        return np.array([*self.vocab[kind], None], dtype=object)

    def append(self, lead: np.ndarray, t: np.ndarray, act: np.ndarray, det: np.ndarray) -> None:
        k = len(lead)
        if not k:
            return
        need = self.n + k
        if need > len(self.data["t"]):
            size = max(need, 2 * len(self.data["t"]))
            for key, a in self.data.items():
                b = np.empty(size, a.dtype)
                b[: self.n] = a[: self.n]
                self.data[key] = b
        for key, v in (("lead", lead), ("t", t), ("act", act), ("det", det)):
            self.data[key][self.n : need] = v
        codes = [c for name, c in self.vocab["act"].items() if name in self.forever]
        if codes:
            self.forever_rows = np.concatenate([self.forever_rows, self.n + np.flatnonzero(np.isin(act, codes))])
        self.batch_start.append(self.n)
        self.batch_max_t.append(max(int(t.max()), self.batch_max_t[-1] if self.batch_max_t else int(t.max())))
        self.n = need

    def columns(self) -> list[np.ndarray]:
        return [self.data[k][: self.n] for k in ("lead", "t", "act", "det")]

    def recent(self, sel: np.ndarray, since_ns: int) -> list[np.ndarray]:
        """Rows of the selected leads at or after ``since_ns``, or of a window-less rule; in log order."""
        b = int(np.searchsorted(np.asarray(self.batch_max_t, np.int64), since_ns, side="left"))
        s0 = self.batch_start[b] if b < len(self.batch_start) else self.n
        lead, t = self.data["lead"][s0 : self.n], self.data["t"][s0 : self.n]
        fr = self.forever_rows
        old = fr[fr < s0]
        keep = t >= since_ns
        keep[fr[fr >= s0] - s0] = True
        rows = np.concatenate([old[sel[self.data["lead"][old]]], s0 + np.flatnonzero(sel[lead] & keep)])
        return [self.data[k][rows] for k in ("lead", "t", "act", "det")]

    def frame(self, cols: list[np.ndarray], cand: np.ndarray, ids: pd.Index, base: np.datetime64) -> pd.DataFrame:
        """An activities table for scoring: categorical columns (no per-epoch strings); lead ids of ``cand``."""
        lead, t, act, det = cols
        loc = np.full(len(ids), -1, np.int64)
        loc[cand] = np.arange(len(cand))

        def cat(codes, names):
            cats = names if isinstance(names, pd.Index) else pd.Index(list(names), dtype="str")
            return pd.Categorical.from_codes(codes, categories=cats)

        return pd.DataFrame({"lead_id": cat(loc[lead], ids[cand]), "activity": cat(act, self.vocab["act"]),
                             "at": base + t.astype("timedelta64[ns]"), "detail": cat(det, self.vocab["det"])})


class _Lead:
    __slots__ = ("i", "stage", "owner", "episode", "ep_mql", "quiet_ns", "terminal", "last_touch", "entered",
                 "seq", "item", "handoff", "handed_at", "attempts", "score", "hot", "deadline", "escalated",
                 "last_recycle", "source", "entered_ns")

    def __init__(self, i: int, source: str):
        self.i = i
        self.source = source
        self.stage = None
        self.owner = None
        self.episode = 0
        self.ep_mql = False
        self.quiet_ns = _BIG
        self.terminal = False
        self.last_touch = -INF
        self.last_recycle = -INF
        self.entered: dict[str, float] = {}
        self.seq = 0
        self.item: Item | None = None
        self.handoff: list | None = None
        self.handed_at = 0.0
        self.attempts = 0
        self.score = 0.0
        self.hot = False
        self.deadline = INF
        self.escalated = False
        self.entered_ns = 0


class Model:
    """One full run; see the module docstring."""

    def __init__(self, scenario: Scenario, seed: Any):
        from leadsim.scoring import score

        self.scenario = sc = scenario
        self.seed = seed
        self.rng = rng = _rng(seed)
        self.d = d = scenario.lead_definition
        self.cal = BusinessCalendar.from_definition(d)
        self.start = pd.Timestamp(sc.start)
        self.horizon = sc.horizon_days * 1440.0
        self.horizon_ns = int(round(self.horizon * _MIN_NS))
        self.wt = WorkTime(self.cal, self.start, sc.horizon_days)
        sh = sc.shifts
        self.sdr_shift = WorkTime(self.cal, self.start, sc.horizon_days, sh.get("sdr")) if sh.get("sdr") else self.wt
        self.rep_shift = WorkTime(self.cal, self.start, sc.horizon_days, sh.get("rep")) if sh.get("rep") else self.wt
        self.curve = ResponseCurve.preset(sc.curve.preset, sc.curve.contact, sc.curve.qualification)
        self.h = sc.handling
        self.env = env = simpy.Environment()
        self.rec = Recorder()
        self.msgs: list[str] = []

        minutes, source = arr.arrivals(rng, sc)
        self.leads, hidden = arr.lead_table(rng, minutes, source, self.start, d)
        n = self.n = len(self.leads)
        self.created_ns = np.round(minutes * _MIN_NS).astype(np.int64)
        self.created_min = self.created_ns / _MIN_NS
        self.intent = hidden["intent"]
        self.never_buy = hidden["student"] | hidden["competitor"]
        self.job_seeker = hidden["job_seeker"]
        self.source = source
        self.fit = (score(self.leads, None, d, as_of=self.start + pd.Timedelta(days=sc.horizon_days))
                    ["fit_score"].to_numpy(float) if n else np.empty(0))
        self.q_base = 1 / (1 + np.exp(-(-0.6 + 0.9 * self.intent + 0.015 * (self.fit - 40))))
        self.L = [_Lead(i, source[i]) for i in range(n)]
        self.offers = {s.id: list(s.offers) for s in d.funnel.stages}
        self.ids = self.leads["lead_id"].to_numpy(dtype=object)
        self.id_index = pd.Index(self.leads["lead_id"], dtype="str")
        # the columns scoring reads; created_at last (replaced by the epoch start, see _mql_batch)
        from leadsim.scoring import required_columns

        need = [c for c in required_columns(d)["leads"] if c != "created_at"]
        self.score_leads = self.leads[need + ["created_at"]]
        self.created_is_rule_input = "created_at" in required_columns(d)["leads"]
        self.companies = self.leads["company"].to_numpy(dtype=object)

        # history of activities (committed weeks, integer-coded) and the pending week
        self.hist = _History()
        self.pending: dict[str, np.ndarray] | None = None
        self.ep_mql = np.zeros(n, bool)  # mirrors _Lead.ep_mql for the epoch's candidate selection
        self.quiet_set: list[_Lead] = []  # leads whose quiet_ns was set this epoch (recycled or closed)
        self.recycles: dict[str, list] = {"lead": [], "prev": [], "from_ns": [], "t_ns": []}  # one entry per recycle
        self.relaxed = _relaxed(d, sc.behaviour.epoch_days)
        self.quieted: list[_Lead] = []  # recycled this epoch: their remaining activities are dropped
        self.closed = np.zeros(n, bool)  # in a terminal stage
        # activities older than every rule window cannot change an MQL moment after the epoch start
        wins = [r.window_days for r in d.behaviour_rules if r.window_days is not None]
        wins += [t.window_days for t in d.hot_triggers]
        self.lookback_ns = int((max(wins, default=0) + 1) * 86_400e9)
        self.hist.forever = {a for r in d.behaviour_rules if r.window_days is None for a in r.activities}

        # people
        self.sdr_queue = WorkQueue(env)
        self.sdrs = [Rep(env, f"sdr{i + 1}", self.sdr_queue, self._sdr_serve, self.sdr_shift)
                     for i in range(sc.sdr_headcount)]
        self.rep_queues = {f"rep{i + 1}": WorkQueue(env) for i in range(sc.rep_headcount)}
        self.reps = [Rep(env, name, q, self._rep_serve, self.rep_shift) for name, q in self.rep_queues.items()]
        self.open_sl = dict.fromkeys(self.rep_queues, 0)
        self.managers = {"sdr": "sdr-manager", "rep": "sales-manager"}
        self.gone_cold = 0

        for lead in self.L:
            if lead.source != "outbound":
                self._set_stage(lead, "name", "created", None, ns=int(self.created_ns[lead.i]), now=False)
        for i in np.flatnonzero(source == "outbound"):
            env.timeout(self.created_min[i]).callbacks.append(lambda _e, i=int(i): self._outbound(self.L[i]))
        env.process(self._weeks())
        env.process(self._monitor())
        for role, heads, who in (("sdr_headcount", sc.sdr_headcount, "MQLs"), ("rep_headcount", sc.rep_headcount,
                                                                                "Sales Leads")):
            if heads == 0 and n:
                self.msgs.append(f"{role} is 0: {who} are never worked (utilisation unbounded); the queue never drains")
                warnings.warn(self.msgs[-1], LeadsimWarning, stacklevel=4)

    # -- stage bookkeeping ---------------------------------------------------------

    def _now_ns(self) -> int:
        return int(round(self.env.now * _MIN_NS))

    def _set_stage(self, lead: _Lead, stage: str, reason: str, owner: str | None, *, ns: int | None = None,
                   now: bool = True) -> None:
        t_ns = self._now_ns() if ns is None else ns
        self.rec.stage(lead.i, stage, t_ns, reason, owner)
        lead.entered_ns = t_ns
        lead.stage = stage
        lead.owner = owner
        lead.seq += 1
        if now:
            lead.entered[stage] = self.env.now

    def _close(self, lead: _Lead, stage: str, reason: str) -> None:
        """Into a terminal stage; the lead goes quiet."""
        if lead.owner in self.open_sl and lead.stage == "sales_lead":
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        self._set_stage(lead, stage, reason, lead.owner if stage in ("customer", "lost") else lead.owner)
        lead.terminal = True
        self.closed[lead.i] = True
        lead.quiet_ns = min(lead.quiet_ns, self._now_ns())
        self.quiet_set.append(lead)

    def _withdraw(self, lead: _Lead) -> None:
        if lead.item is not None and lead.item.queued:
            q = self.sdr_queue if lead.stage == "lead" else self.rep_queues.get(lead.owner)
            if q is not None:
                q.withdraw(lead.item)

    def _recycle(self, lead: _Lead, outcome: str) -> None:
        if lead.stage == "sales_lead" and lead.owner in self.open_sl:
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        t_ns = self._now_ns()
        prev = lead.stage
        from_ns = self._stage_entry_ns(lead)
        self._set_stage(lead, self.d.funnel.recycle.to, "recycle", None)
        for key, v in (("lead", lead.i), ("prev", prev), ("from_ns", from_ns), ("t_ns", t_ns)):
            self.recycles[key].append(v)
        lead.last_recycle = self.env.now
        lead.episode += 1
        lead.ep_mql = False
        self.ep_mql[lead.i] = False
        lead.quiet_ns = min(lead.quiet_ns, t_ns)
        self.quieted.append(lead)
        self.quiet_set.append(lead)
        if lead.handoff is not None and lead.handoff[10] is None:
            lead.handoff[10] = outcome
        # a recycle moment is itself a scoring moment: re-MQL at once if the score says so
        if self.d.on_recycle == "restart":
            if self.fit[lead.i] >= self.d.thresholds.mql:
                self._on_mql(lead, t_ns, "score", None, float(self.fit[lead.i]), lead.episode, at_recycle=True)
        else:
            ev = self._mql_batch([lead.i], t_ns + 1, since=t_ns)
            for row in ev.itertuples(index=False):
                if row.t_ns == t_ns:
                    self._on_mql(lead, t_ns, row.reason, row.trigger, row.score, lead.episode, at_recycle=True)

    def _stage_entry_ns(self, lead: _Lead) -> int:
        return lead.entered_ns

    # -- weekly behaviour and MQL moments ---------------------------------------------

    def _commit_pending(self) -> None:
        p = self.pending
        self.pending = None
        if p is None or not len(p["lead"]):
            return
        quiet = np.full(self.n, _BIG, np.int64)
        for lead in self.quiet_set:
            quiet[lead.i] = min(quiet[lead.i], lead.quiet_ns)
        keep = p["t"] <= quiet[p["lead"]]
        self.hist.append(*(p[k][keep] for k in ("lead", "t", "act", "det")))

    def _weeks(self):
        env = self.env
        k = 0
        epoch = self.scenario.behaviour.epoch_days * 1440.0
        while True:
            self._commit_pending()
            for lead in self.quieted:
                if not lead.terminal:
                    lead.quiet_ns = _BIG
            self.quieted = []
            self.quiet_set = [lead for lead in self.quiet_set if lead.quiet_ns != _BIG]
            t0 = k * epoch
            if t0 >= self.horizon:
                return
            self._plan_week(t0, min(t0 + epoch, self.horizon))
            k += 1
            yield env.timeout(min(t0 + epoch, self.horizon) - env.now)
            if env.now >= self.horizon:
                self._commit_pending()
                return

    def _plan_week(self, t0: float, t1: float) -> None:
        rng, d = self.rng, self.d
        t0_ns, t1_ns = int(round(t0 * _MIN_NS)), int(round(t1 * _MIN_NS))
        alive = np.flatnonzero((self.created_ns < t1_ns) & ~self.closed)
        if not len(alive):
            return
        lo = np.maximum(self.created_ns[alive], t0_ns)
        age = (lo - self.created_ns[alive]) / 86_400e9
        stage_now = [self.L[i].stage or "sales_lead" for i in alive]
        offers = [self.offers.get(s, []) for s in stage_now]
        parts = [arr.week_activities(rng, alive, lo, t1_ns, self.intent[alive], age, self.job_seeker[alive], offers,
                                     self.scenario.behaviour, self.start)]
        new = np.flatnonzero((self.created_ns >= t0_ns) & (self.created_ns < t1_ns) & (self.source != "outbound"))
        if len(new):
            parts.append(arr.creation_activities(rng, new, self.source[new], self.created_ns[new], self.intent[new]))
        w = {k: np.concatenate([p[k] for p in parts]) for k in ("lead", "t", "activity", "detail")}
        hist = self.hist
        w_act = w["activity"]
        self.pending = {"lead": w["lead"], "t": w["t"], "act": hist.encode(w_act, "act"),
                        "det": hist.encode(w["detail"], "det")}
        # candidates: no MQL yet in the current episode, and something to check this week
        w_lead = self.pending["lead"]
        mark = np.zeros(self.n, bool)
        mark[w_lead] = True
        mark[new] = True
        mark[(self.created_ns >= t0_ns) & (self.created_ns < t1_ns)] = True  # creation is a scoring moment (outbound too)
        cand = np.flatnonzero(mark & ~self.ep_mql & ~self.closed).astype(np.int64)
        if not len(cand):
            return
        ev = self._mql_batch(cand, t1_ns - 1, since=t0_ns, extra=self.pending, relaxed=self.relaxed)
        first_event = {}
        for row in ev.itertuples(index=False):
            if row.lead not in first_event:
                first_event[row.lead] = row.t_ns
                lead = self.L[row.lead]
                self.env.timeout(row.t_ns / _MIN_NS - self.env.now).callbacks.append(
                    lambda _e, lead=lead, r=row, ep=lead.episode: self._on_mql(lead, r.t_ns, r.reason, r.trigger,
                                                                              r.score, ep))
        # TOFU moves at deep activities before the MQL moment
        deep = np.flatnonzero(np.isin(w_act, arr.DEEP))
        deep = deep[np.lexsort((w["t"][deep], w_lead[deep]))]
        by_lead: dict[int, list[int]] = {}
        for li, t in zip(w_lead[deep].tolist(), w["t"][deep].tolist(), strict=True):
            by_lead.setdefault(li, []).append(t)
        is_cand = np.zeros(self.n, bool)
        is_cand[cand] = True
        for i in by_lead:  # in lead order, like cand
            if not is_cand[i]:
                continue
            lead = self.L[i]
            if lead.stage not in ("name", "active"):
                continue
            stop = first_event.get(int(i), _BIG)
            times = [t for t in by_lead.get(int(i), []) if t < stop]
            if lead.stage == "name" and times:
                self._set_stage(lead, "active", "score", None, ns=times[0], now=False)
                times = times[1:]
            if lead.stage == "active" and times:
                self._set_stage(lead, "target", "score", None, ns=times[0], now=False)
        # exploration: below-threshold leads handed over anyway, with their propensity
        share = self.scenario.exploration_share
        if share > 0:
            last_t = np.full(self.n, -1, np.int64)
            np.maximum.at(last_t, w_lead, w["t"])
            for i in cand:
                lead = self.L[i]
                if int(i) in first_event or lead.stage not in MARKETING or rng.random() >= share:
                    continue
                a = max(int(last_t[i]), int(self.created_ns[i]), t0_ns) + 1
                t_ns = int(a + rng.random() * max(t1_ns - 1 - a, 0))
                self.env.timeout(t_ns / _MIN_NS - self.env.now).callbacks.append(
                    lambda _e, lead=lead, t_ns=t_ns, ep=lead.episode: self._explore(lead, t_ns, ep))

    def _mql_batch(self, cand, until_ns: int, since: int, extra: dict[str, np.ndarray] | None = None,
                   relaxed: Any = None) -> pd.DataFrame:
        """``mql_events`` for the leads at positions ``cand`` with their history (and ``extra`` rows)."""
        from leadsim.scoring import mql_events

        cand = np.asarray(cand, np.int64)
        sel = np.zeros(self.n, bool)
        sel[cand] = True
        cols = self.hist.recent(sel, since - self.lookback_ns)
        if extra is not None and len(extra["lead"]):
            em = sel[extra["lead"]]
            cols = [np.concatenate([c, extra[k][em]]) for c, k in zip(cols, ("lead", "t", "act", "det"), strict=True)]
        base = self.start.to_datetime64().astype("datetime64[ns]")
        log = self._recycle_log(sel, base)
        until = pd.Timestamp(base + np.timedelta64(int(until_ns), "ns"))
        if relaxed is not None and len(cand):
            # a snapshot under the relaxed definition bounds every moment of the epoch from above:
            # only leads it calls MQL can become one, so only they need the (costly) moment-by-moment check
            from leadsim.scoring import score

            acts = self.hist.frame(cols, cand, self.id_index, base)
            leads = self.score_leads.iloc[cand]
            ok = score(leads, acts, relaxed, as_of=until, stage_log=log)["is_mql"].to_numpy(bool)
            leads = leads.iloc[np.flatnonzero(ok)]
            keep = np.zeros(self.n, bool)
            keep[cand[ok]] = True
            cand = cand[ok]
            cols = [c[keep[cols[0]]] for c in cols]
            if log is not None:
                log = log[log["lead_id"].isin(set(self.ids[cand]))]
            if not len(cand):
                return pd.DataFrame(columns=["lead", "t_ns", "reason", "trigger", "score"])
        acts = self.hist.frame(cols, cand, self.id_index, base)
        if relaxed is None or not len(cand):
            leads = self.score_leads.iloc[cand]
        if self.created_is_rule_input or since <= 0:
            ev = mql_events(leads, acts, self.d, until=until, stage_log=log)
        else:
            ev = self._mql_from(since, cand, cols, leads, acts, until, log, base)
        pos = pd.Series(cand, index=self.ids[cand])
        out = pd.DataFrame({
            "lead": pos.loc[ev["lead_id"].to_numpy(dtype=object)].to_numpy(),
            "t_ns": (ev["at"].to_numpy(dtype="datetime64[ns]") - base).astype(np.int64),
            "reason": ev["reason"].to_numpy(dtype=object),
            "trigger": ev["trigger"].to_numpy(dtype=object),
            "score": ev["score"].to_numpy(float),
        })
        return out[out["t_ns"] >= since]

    def _recycle_log(self, sel: np.ndarray, base: np.datetime64) -> pd.DataFrame | None:
        """The stage-log rows scoring needs for the selected leads' recycles (entry of the left stage, recycle)."""
        rc = self.recycles
        if not rc["lead"]:
            return None
        rl = np.asarray(rc["lead"], np.int64)
        idx = np.flatnonzero(sel[rl])
        if not len(idx):
            return None
        idx = idx[np.argsort(rl[idx], kind="stable")]  # by lead, each lead's recycles in time order
        lid = self.ids[rl[idx]]
        stage = np.concatenate([np.asarray(rc["prev"], object)[idx], np.full(len(idx), self.d.funnel.recycle.to, object)])
        t = np.concatenate([np.asarray(rc["from_ns"], np.int64)[idx], np.asarray(rc["t_ns"], np.int64)[idx]])
        return pd.DataFrame({"lead_id": np.concatenate([lid, lid]), "stage": stage,
                             "at": base + t.astype("timedelta64[ns]")})

    def _mql_from(self, since: int, cand, cols, leads, acts, until, log, base) -> pd.DataFrame:
        """``mql_events`` evaluated only at moments from ``since`` on (plus one extra moment at ``since``).

        ``mql_events`` checks the score at creation and at every activity; the
        run only needs the moments from ``since`` on, and none of the
        candidates is an MQL earlier in its episode.  Moving ``created_at`` up
        to ``since`` folds all older activity moments into one moment at
        ``since`` (scores at later moments do not depend on ``created_at``), so
        the old history is not re-scored moment by moment.  That extra moment
        is no real scoring moment: a lead reported at exactly ``since`` is
        recomputed with its true ``created_at``.
        """
        from leadsim.scoring import mql_events

        early = leads.copy()
        early["created_at"] = base + np.maximum(self.created_ns[cand], since).astype("timedelta64[ns]")
        ev = mql_events(early, acts, self.d, until=until, stage_log=log)
        at_ns = (ev["at"].to_numpy(dtype="datetime64[ns]") - base).astype(np.int64)
        redo_ids = set(ev["lead_id"].to_numpy(dtype=object)[at_ns == since])
        if not redo_ids:
            return ev
        redo = np.isin(self.ids[cand], list(redo_ids))
        sel = np.zeros(self.n, bool)
        sel[cand[redo]] = True
        part = [c[sel[cols[0]]] for c in cols]
        sub_log = None if log is None else log[log["lead_id"].isin(redo_ids)]
        exact = mql_events(leads[redo], self.hist.frame(part, cand[redo], self.id_index, base), self.d, until=until,
                           stage_log=sub_log if sub_log is not None and len(sub_log) else None)
        keep = ~ev["lead_id"].isin(redo_ids).to_numpy(bool)
        both = pd.concat([ev[keep], exact], ignore_index=True)
        return both.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)

    def _on_mql(self, lead: _Lead, t_ns: int, reason: str, trigger: Any, score: float, episode: int,
                *, at_recycle: bool = False) -> None:
        # an epoch's event after the lead went quiet came from an activity that was dropped: void
        if lead.episode != episode or lead.ep_mql or lead.terminal or (t_ns > lead.quiet_ns and not at_recycle):
            return
        lead.ep_mql = True
        self.ep_mql[lead.i] = True
        trig = None if trigger is None or (isinstance(trigger, float) and math.isnan(trigger)) or trigger is pd.NA \
            else trigger
        self.rec.rows["mql"].append((lead.i, t_ns, reason, trig, score))
        lead.score = score
        lead.hot = reason == "hot"
        if lead.stage in MARKETING:
            self._handoff(lead, t_ns, reason, 1.0)

    def _explore(self, lead: _Lead, t_ns: int, episode: int) -> None:
        if lead.episode != episode or lead.ep_mql or lead.terminal or lead.stage not in MARKETING:
            return
        lead.score = float(self.fit[lead.i])
        lead.hot = False
        self._handoff(lead, t_ns, "exploration", self.scenario.exploration_share)

    # -- SDR stage ---------------------------------------------------------------------

    def _key(self, lead: _Lead, ready: float) -> tuple:
        r = self.scenario.routing
        cls = 0 if lead.escalated else 1
        if r == "fifo":
            return (cls, ready)
        if r == "hot_first":
            return (cls, 0 if lead.hot else 1, ready)
        if r == "score_first":
            return (cls, -lead.score, ready)
        return (cls, lead.deadline, ready)

    def _breach_deadline(self, stage: str, t: float) -> float:
        for clock in self.d.sla.clocks:
            if clock.stage == stage:
                for lv in clock.levels:
                    if lv.offset > 0:
                        return self.wt.add(t, lv.offset, clock.unit, clock.wall_clock)
        return t + self.h.retry_deadline_minutes

    def _handoff(self, lead: _Lead, t_ns: int, reason: str, propensity: float) -> None:
        self._set_stage(lead, self.d.funnel.milestones.mql, reason, None, ns=t_ns)
        lead.handoff = self.rec.handoff(lead.i, t_ns, reason, propensity)
        lead.handed_at = self.env.now
        lead.attempts = 0
        lead.escalated = False
        self._start_clocks(lead)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        lead.deadline = self._breach_deadline("lead", self.env.now)
        if not self.sdrs:
            return
        self.sdr_queue.put(lead.item, self._key(lead, self.env.now))
        if self.scenario.patience_hours is not None:
            start_patience(self.env, self.sdr_queue, lead.item,
                           self.rng.exponential(self.scenario.patience_hours * 60.0), self._cold)

    def _cold(self, item: Item) -> None:
        lead = item.lead
        if lead.stage != "lead" or lead.attempts > 0:
            return
        self.gone_cold += 1
        self._recycle(lead, "cold")

    def _sdr_serve(self, rep: Rep, item: Item):
        lead: _Lead = item.lead
        env, rng, h = self.env, self.rng, self.h
        if lead.stage != "lead":
            return
        episode = lead.episode
        lead.attempts += 1
        start = env.now
        self.rec.touch(lead.i, start, "call", rep.name)
        lead.last_touch = start
        if lead.attempts == 1:
            lead.handoff[5] = rep.name
            lead.handoff[6] = start - lead.handed_at
        delay = start - lead.handed_at
        minutes = rng.exponential(h.call_minutes)
        yield rep.work(minutes)
        reached = rng.random() < adjust(self.scenario.curve.contact_base, self.curve.contact_multiplier(delay))
        qualified = False
        if reached:
            more = rng.exponential(h.qualify_minutes)
            minutes += more
            yield rep.work(more)
            p = adjust(float(self.q_base[lead.i]), self.curve.qualification_multiplier(delay))
            qualified = rng.random() < p
        self.rec.service(rep.name, lead.i, start, env.now, minutes)
        if lead.stage != "lead" or lead.episode != episode:
            return
        if qualified:
            self._to_sales_lead(lead, "qualified")
        elif reached:
            if self.never_buy[lead.i] or rng.random() < 0.25:
                lead.handoff[10] = "disqualified"
                self._close(lead, self.d.funnel.disqualify.to, "disqualify")
            else:
                self._recycle(lead, "not_qualified")
        elif lead.attempts <= len(h.retry_minutes):
            gap = h.retry_minutes[lead.attempts - 1]
            env.timeout(gap).callbacks.append(lambda _e, lead=lead, ep=episode: self._retry(lead, ep))
        else:
            self._recycle(lead, "no_contact")

    def _retry(self, lead: _Lead, episode: int) -> None:
        if lead.stage != "lead" or lead.episode != episode or lead.item.queued:
            return
        lead.deadline = self.env.now + self.h.retry_deadline_minutes
        self.sdr_queue.put(lead.item, self._key(lead, self.env.now))

    # -- sales stage ---------------------------------------------------------------------

    def _pick_rep(self) -> str | None:
        if not self.open_sl:
            return None
        return min(self.open_sl, key=lambda r: (self.open_sl[r], r))

    def _to_sales_lead(self, lead: _Lead, reason: str, owner: str | None = None) -> None:
        owner = owner or self._pick_rep()
        self._set_stage(lead, self.d.funnel.milestones.sql, reason, owner)
        if owner in self.open_sl:
            self.open_sl[owner] += 1
        if lead.handoff is not None and reason == "qualified":
            lead.handoff[7] = True
        lead.escalated = False
        if reason == "outbound":
            self.rec.touch(lead.i, self.env.now, "meeting", owner)
            lead.last_touch = self.env.now
        self._start_clocks(lead)
        if owner is None:
            return
        if reason == "outbound":
            self._schedule_decision(lead)
            return
        lead.deadline = self._breach_deadline("sales_lead", self.env.now)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        self.rep_queues[owner].put(lead.item, self._key(lead, self.env.now))

    def _rep_serve(self, rep: Rep, item: Item):
        lead: _Lead = item.lead
        if lead.stage != "sales_lead" or lead.owner != rep.name:
            return
        start = self.env.now
        self.rec.touch(lead.i, start, "email", rep.name)
        lead.last_touch = start
        minutes = self.rng.exponential(self.h.rep_touch_minutes)
        yield rep.work(minutes)
        self.rec.service(rep.name, lead.i, start, self.env.now, minutes)
        if lead.stage == "sales_lead":
            self._schedule_decision(lead)

    def _schedule_decision(self, lead: _Lead) -> None:
        days = self.rng.exponential(self.h.decision_days)
        at = self.wt.add_days(self.env.now, days)
        if at < INF:
            self.env.timeout(at - self.env.now).callbacks.append(
                lambda _e, lead=lead, seq=lead.seq: self._decide(lead, seq))

    def _decide(self, lead: _Lead, seq: int) -> None:
        if lead.stage != "sales_lead" or lead.seq != seq:
            return
        rng = self.rng
        p = 1 / (1 + math.exp(-(self.h.opportunity_bias + 0.8 * self.intent[lead.i])))
        if rng.random() < p and not self.never_buy[lead.i]:
            self.open_sl[lead.owner] = self.open_sl.get(lead.owner, 1) - 1
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "converted", lead.owner)
            if lead.handoff is not None:
                lead.handoff[8] = True
            self._schedule_close(lead)
        elif self.never_buy[lead.i] or rng.random() < 0.3:
            if lead.handoff is not None:
                lead.handoff[10] = "disqualified"
            self._close(lead, self.d.funnel.disqualify.to, "disqualify")
        else:
            self._recycle(lead, "recycled_by_sales")

    def _schedule_close(self, lead: _Lead) -> None:
        at = self.wt.add_days(self.env.now, self.rng.exponential(self.h.close_days))
        if at < INF:
            self.env.timeout(at - self.env.now).callbacks.append(lambda _e, lead=lead: self._close_opp(lead))

    def _close_opp(self, lead: _Lead) -> None:
        if lead.stage != self.d.funnel.milestones.opportunity:
            return
        p = 1 / (1 + math.exp(-(self.h.win_bias + 0.8 * self.intent[lead.i])))
        won = self.rng.random() < p
        if lead.handoff is not None:
            lead.handoff[9] = won
            lead.handoff[10] = "won" if won else "lost"
        if won:
            self._close(lead, self.d.funnel.milestones.won, "won")
        else:
            self._close(lead, self.d.funnel.lost.to, "lost")

    def _outbound(self, lead: _Lead) -> None:
        owner = self._pick_rep()
        if self.rng.random() < self.scenario.outbound.opportunity_share or owner is None:
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "outbound", owner)
            self.rec.touch(lead.i, self.env.now, "meeting", owner or "sales")
            lead.last_touch = self.env.now
            self._schedule_close(lead)
        else:
            self._to_sales_lead(lead, "outbound", owner)

    # -- SLA clocks ----------------------------------------------------------------------

    def _start_clocks(self, lead: _Lead) -> None:
        for clock in self.d.sla.clocks:
            if clock.stage == lead.stage:
                self.env.process(self._clock(lead, clock, self.env.now, lead.seq))

    def _stopped(self, lead: _Lead, clock, t0: float, seq: int) -> bool:
        if lead.seq != seq and (lead.stage != clock.stage or lead.entered.get(clock.stage, -INF) > t0):
            if "leave_stage" in clock.stop_on or lead.entered.get(clock.stage, -INF) > t0:
                return True
        for ev in clock.stop_on:
            if ev == "touch" and lead.last_touch >= t0:
                return True
            if ev == "recycle" and lead.last_recycle >= t0:
                return True
            if ev not in ("touch", "leave_stage", "recycle") and lead.entered.get(ev, -INF) >= t0:
                return True
        return False

    def _clock(self, lead: _Lead, clock, t0: float, seq: int):
        env = self.env
        n_levels = len(clock.levels)
        for k, lv in enumerate(clock.levels):
            due = self.wt.add(t0, lv.offset, clock.unit, clock.wall_clock)
            if due >= self.horizon:
                return
            if due > env.now:
                yield env.timeout(due - env.now)
            if self._stopped(lead, clock, t0, seq):  # stopping is for good: no need to wait for the tie rule
                return
            yield _late_check(env)
            if self._stopped(lead, clock, t0, seq):
                return
            self._alert(lead, clock, k, lv, t0)
            if self.scenario.escalation == "front" and any(r in ("manager", "leadership") for r in lv.recipients):
                lead.escalated = True
                if lead.item is not None and lead.item.queued:
                    q = self.sdr_queue if lead.stage == "lead" else self.rep_queues.get(lead.owner)
                    if q is not None:
                        q.put(lead.item, self._key(lead, lead.item.ready_at))
            if k == n_levels - 1 and self.d.sla.auto_return_after_last and lead.stage in ("lead", "sales_lead"):
                self._recycle(lead, "auto_return")

    def _alert(self, lead: _Lead, clock, k: int, lv, t0: float) -> None:
        owner = lead.owner
        role = "sdr" if clock.stage == self.d.funnel.milestones.mql else "rep"
        who = []
        for r in lv.recipients:
            if r == "owner":
                who.append(owner or f"{role}-queue")
            elif r == "manager":
                who.append(self.managers[role])
            elif r == "leadership":
                who.extend(self.d.sla.leadership)
            else:
                who.append(r)
        days = lv.offset if clock.unit == "days" else lv.offset / (self.cal.day_minutes / (60 if clock.unit == "hours"
                                                                                           else 1))
        fields = {"owner": owner or "–", "lead": self.ids[lead.i], "company": self.companies[lead.i] or "–",
                  "score": f"{lead.score:.0f}", "source": lead.source, "days": f"{days:g}",
                  "stage": self.d.stage_label(clock.stage), "clock": clock.label or clock.id, "level": k}
        try:
            msg = lv.message.format(**fields)
        except (KeyError, IndexError, ValueError):
            msg = lv.message
        self.rec.rows["alert"].append((lead.i, clock.id, k, self.env.now, owner, ", ".join(who), msg, t0))

    # -- monitoring ---------------------------------------------------------------------

    def _monitor(self):
        env, step = self.env, self.scenario.monitor_minutes
        rows = self.rec.rows["monitor"]
        while env.now < self.horizon:
            rows.append((env.now, len(self.sdr_queue), sum(len(q) for q in self.rep_queues.values()),
                         sum(r.current is not None for r in self.sdrs), sum(r.current is not None for r in self.reps),
                         len(self.sdrs) * self.sdr_shift.is_open(env.now),
                         len(self.reps) * self.rep_shift.is_open(env.now)))
            yield env.timeout(step)

    # -- run and collect -----------------------------------------------------------------

    def run(self) -> SimulationResult:
        self.env.run(until=self.horizon)
        self._commit_pending()
        return self._result()

    def _ts(self, minutes) -> np.ndarray:
        return self.wt.timestamps(np.asarray(minutes, float))

    def _result(self) -> SimulationResult:
        from leadsim.simulation.kpis import kpis

        rec, ids, d = self.rec, self.ids, self.d
        base = self.start.to_datetime64().astype("datetime64[ns]")
        h_lead, h_t, h_act, h_det = self.hist.columns()
        # sorted by (at, lead_id) through integer keys: position order is id order (zero-padded ids, lead_table)
        order = np.lexsort((h_lead, h_t)) if self.n < 1_000_000 else None
        if order is not None:
            h_lead, h_t, h_act, h_det = h_lead[order], h_t[order], h_act[order], h_det[order]

        def strings(codes, names):  # code -1 -> missing; the str dtype from categories (no per-row objects)
            cats = pd.Index(names, dtype="str")
            return pd.Series(pd.Categorical.from_codes(codes, categories=cats), copy=False).astype("str").array

        acts = pd.DataFrame({"lead_id": strings(h_lead, self.id_index),
                             "activity": strings(h_act, list(self.hist.vocab["act"])),
                             "at": pd.array(base + h_t.astype("timedelta64[ns]"), dtype="datetime64[ns]"),
                             "detail": strings(h_det, list(self.hist.vocab["det"]))})
        if order is None:
            acts = acts.sort_values(["at", "lead_id"], kind="stable")
        acts = acts.reset_index(drop=True)
        st = rec.frame("stages")
        stage_log = pd.DataFrame({
            "lead_id": pd.array(ids[st["lead"].to_numpy(int)], dtype="str"),
            "stage": pd.array(st["stage"], dtype="str"),
            "at": pd.array(base + st["t_ns"].to_numpy(np.int64).astype("timedelta64[ns]"), dtype="datetime64[ns]"),
            "reason": pd.array(st["reason"], dtype="str"),
            "owner": pd.array(st["owner"].to_numpy(dtype=object), dtype="str"),
        }).sort_values(["lead_id", "at"], kind="stable").reset_index(drop=True)
        tc = rec.frame("touches")
        touches = pd.DataFrame({"lead_id": pd.array(ids[tc["lead"].to_numpy(int)], dtype="str"),
                                "at": pd.array(self._ts(tc["t"]), dtype="datetime64[ns]"),
                                "kind": pd.array(tc["kind"], dtype="str"), "by": pd.array(tc["by"], dtype="str")})
        touches = touches.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)
        owners = pd.DataFrame({
            "owner": [r.name for r in self.sdrs] + [r.name for r in self.reps],
            "role": ["sdr"] * len(self.sdrs) + ["rep"] * len(self.reps),
            "manager": [self.managers["sdr"]] * len(self.sdrs) + [self.managers["rep"]] * len(self.reps),
            "team": ["SDR"] * len(self.sdrs) + ["Sales"] * len(self.reps),
        }).astype("str")
        ho = rec.frame("handoffs")
        outcomes = pd.DataFrame({
            "handoff_id": pd.array([f"H{i + 1:06d}" for i in ho["handoff"]], dtype="str"),
            "lead_id": pd.array(ids[ho["lead"].to_numpy(int)], dtype="str"),
            "handed_at": pd.array(base + ho["t_ns"].to_numpy(np.int64).astype("timedelta64[ns]"),
                                  dtype="datetime64[ns]"),
            "handoff_reason": pd.array(ho["reason"], dtype="str"),
            "propensity": ho["propensity"].astype(float),
            "definition_version": pd.array([d.version] * len(ho), dtype="str"),
            "owner": pd.array(ho["owner"].to_numpy(dtype=object), dtype="str"),
            "response_minutes": pd.to_numeric(ho["response"], errors="coerce").astype(float),
            "sql": ho["sql"].astype(bool), "opportunity": ho["opportunity"].astype(bool),
            "won": ho["won"].astype(bool),
            "reason": pd.array(ho["outcome"].to_numpy(dtype=object), dtype="str"),
        })
        al = rec.frame("alerts")
        alerts = pd.DataFrame({
            "lead_id": pd.array(ids[al["lead"].to_numpy(int)], dtype="str"),
            "clock": pd.array(al["clock"], dtype="str"), "level": al["level"].astype(int),
            "at": pd.array(self._ts(al["t"]), dtype="datetime64[ns]"),
            "owner": pd.array(al["owner"].to_numpy(dtype=object), dtype="str"),
            "recipients": pd.array(al["recipients"], dtype="str"), "message": pd.array(al["message"], dtype="str"),
            "clock_start": pd.array(self._ts(al["clock_start"]), dtype="datetime64[ns]"),
        })
        mq = rec.frame("mqls")
        mql = pd.DataFrame({
            "lead_id": pd.array(ids[mq["lead"].to_numpy(int)], dtype="str"),
            "at": pd.array(base + mq["t_ns"].to_numpy(np.int64).astype("timedelta64[ns]"), dtype="datetime64[ns]"),
            "reason": pd.array(mq["reason"], dtype="str"),
            "trigger": pd.array(mq["trigger"].to_numpy(dtype=object), dtype="str"),
            "score": mq["score"].astype(float),
        }).sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)
        services = rec.frame("services")
        monitor = rec.frame("monitor")
        busy = {"sdr": sum(r.busy for r in self.sdrs), "rep": sum(r.busy for r in self.reps)}
        shift_min = {"sdr": len(self.sdrs) * self.sdr_shift.open_minutes(0, self.horizon),
                     "rep": len(self.reps) * self.rep_shift.open_minutes(0, self.horizon)}
        result = SimulationResult(self.scenario, self.seed, self.curve.name, self.leads, acts, stage_log, touches,
                                  owners, outcomes, alerts, services, monitor, mql, pd.Series(dtype=float),
                                  self.msgs)
        result.kpis = kpis(result, busy=busy, shift_minutes=shift_min, gone_cold=self.gone_cold)
        u = result.kpis.get("sdr_utilisation", 0.0)
        if u > 0.97 and len(self.sdr_queue) > 2 * max(1, len(self.sdrs)):
            self.msgs.append(f"SDR utilisation {u:.2f}: the SDR queue never drains ({len(self.sdr_queue)} leads "
                             "still waiting at the end); add SDRs or patience")
            warnings.warn(self.msgs[-1], LeadsimWarning, stacklevel=3)
        return result


def simulate(scenario: Scenario, seed: Any = 0) -> SimulationResult:
    """Run ``scenario`` once; ``seed`` an int, a ``SeedSequence`` entropy or a Generator."""
    if scenario.mode == "queueing":
        return _run_queueing(scenario, seed)
    # The full model allocates millions of small, long-lived records and SimPy events; the cyclic
    # collector's repeated full passes over them cost ~20% of a year run and free nothing until the
    # run ends.  Paused for the run only (reference counting still frees everything acyclic).
    paused = gc.isenabled()
    gc.disable()
    try:
        return Model(scenario, seed).run()
    finally:
        if paused:
            gc.enable()
