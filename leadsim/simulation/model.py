"""The SimPy model: leads arrive, score, queue for SDRs, go to sales reps.

:func:`simulate` runs one :class:`~leadsim.simulation.scenario.Scenario`
with one seed and returns a :class:`SimulationResult` holding the six shared
tables (leads, activities, stage log, touches, owners, outcomes), the alerts,
the services and monitor series and the run's KPIs.  Same seed, same result.

How a run works (full mode):

* Leads arrive by source (weekday x hour profiles, bursts, outbound work);
  their records and latent intent come from the ``make_history`` generator.
* Each lead's browsing sessions and nurture clicks over the whole horizon are
  drawn up front (:mod:`leadsim.simulation.stream`), and one
  :func:`leadsim.scoring.mql_events` call finds every lead's first MQL
  moment (a per-epoch bound on each rule skips the moments, and leads, that
  cannot reach the threshold).  At the start of each epoch
  (``behaviour.epoch_days``) the run sets which offer each of the epoch's
  nurture clicks was on (the offers of the stage the lead is in), schedules
  the epoch's MQL moments, moves leads through the TOFU stages at deep
  activities and draws the exploration hand-offs.  A lead recycled goes quiet
  for the rest of its epoch (those activities are dropped) and its new
  episode's MQL moment is computed when the next epoch starts, on the stage
  log with the recycle; a closed lead goes quiet for good.  So the log the
  run leaves behind gives ``mql_events`` exactly the moments the run used.
* MQLs (and an ``exploration_share`` of below-threshold leads, with their
  propensity) enter the SDR queue; SDRs (SimPy processes on shifts) call them
  in the scenario's routing order; each attempt may fail (retries with a
  cadence), a reached lead qualifies with a probability falling with the
  delay (the scenario's :class:`~leadsim.simulation.curves.ResponseCurve`).
  Waiting leads go cold after an exponential patience.
* Sales Leads go to a rep's queue; the rep touches them, then converts,
  recycles or disqualifies after a working-time delay; Opportunities close as
  Customer or Lost.  The definition's SLA clocks arm one level at a time and
  check the lead's state when a level is due, after everything else due then
  (tie rule of :mod:`leadsim.sla`: a stop at the due time prevents the
  alert); a manager or leadership level moves a waiting lead to the front of
  its queue, or (``escalation: free_rep``) a Sales Lead to a rep who is free;
  ``sla.auto_return_after_last`` recycles it a second after the last alert.
* An SDR attempt draws the call, whether the lead is reached and, if so, the
  qualifying talk and its outcome at once, and works them as one piece of
  shift time.

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
from leadsim.points import at_or_over
from leadsim.simulation import arrivals as arr
from leadsim.simulation.clocks import INF, WorkTime
from leadsim.simulation.curves import ResponseCurve, adjust
from leadsim.simulation.moments import Moments
from leadsim.simulation.records import Recorder, labels, ranks, strings
from leadsim.simulation.reps import LATE, Item, Later, Rep, WorkQueue
from leadsim.simulation.scenario import Scenario
from leadsim.simulation.stages import StageRoles
from leadsim.simulation.stream import Stream
from leadsim.sla import ladder

__all__ = ["SimulationResult", "simulate"]

_MIN_NS = 60_000_000_000
_SECOND = 1 / 60  # in simulation minutes
_BIG = np.iinfo(np.int64).max


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


class _Lead:
    __slots__ = (
        "attempts",
        "deadline",
        "entered",
        "entered_ns",
        "ep_mql",
        "episode",
        "escalated",
        "handed_at",
        "handoff",
        "hot",
        "i",
        "item",
        "last_recycle",
        "last_touch",
        "owner",
        "score",
        "seq",
        "source",
        "stage",
        "terminal",
    )

    def __init__(self, i: int, source: str):
        self.i = i
        self.source = source
        self.stage = None
        self.owner = None
        self.episode = 0
        self.ep_mql = False
        self.terminal = False
        self.last_touch = -INF
        self.last_recycle = -INF
        self.entered: dict[str, float] = {}
        self.seq = 0
        self.item: Item | None = None
        self.handoff: list | None = None
        self.handed_at = 0.0
        self.attempts = 0
        self.score = math.nan  # the score of the lead's last hand-off (none yet)
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
        self.horizon_ns = round(self.horizon * _MIN_NS)
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
        self.job_seeker = hidden["job_seeker"]
        self.source = source
        self.fit = (score(self.leads, None, d, as_of=self.start + pd.Timedelta(days=sc.horizon_days))
                    ["fit_score"].to_numpy(float) if n else np.empty(0))
        # per-lead chance to qualify at the baseline delay, and who can never buy (Python lists: per-call look-ups)
        self.q_list = (1 / (1 + np.exp(-(-0.6 + 0.9 * self.intent + 0.015 * (self.fit - 40))))).tolist()
        self.never_list = (hidden["student"] | hidden["competitor"]).tolist()
        self.L = [_Lead(i, source[i]) for i in range(n)]
        self.offers = {s.id: list(s.offers) for s in d.funnel.stages}
        self.ids = self.leads["lead_id"].to_numpy(dtype=object)
        self.companies = self.leads["company"].to_numpy(dtype=object)

        # every lead's behaviour over the horizon, drawn up front (see leadsim.simulation.stream)
        self.epoch_ns = max(round(sc.behaviour.epoch_days * 1440 * _MIN_NS), 1)
        self.epoch_end_ns = 0
        parts = [arr.behaviour_stream(rng, self.created_ns, self.intent, self.job_seeker, self.horizon_ns,
                                      self.epoch_ns, sc.behaviour, self.start)]
        inbound = np.flatnonzero(source != "outbound")
        if len(inbound):
            first = arr.creation_activities(rng, inbound, source[inbound], self.created_ns[inbound],
                                            self.intent[inbound])
            parts.append({**first, "nurture": np.zeros(len(first["t"]), bool), "pick": np.zeros(len(first["t"]))})
        self.stream = Stream({k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, n, self.offers,
                             vocab=(arr.ACTIVITIES, arr.DETAILS))
        self.is_deep = np.zeros(len(self.stream.act_vocab), bool)  # by activity code
        self.is_deep[self.stream.codes(arr.DEEP)] = True
        # does the offer a click was on (or a click dropped in a stage without offers) change a score?
        on_clicks = [r for r in [*d.behaviour_rules, *d.hot_triggers] if "email_click" in r.activities]
        live_stages = [s for s in d.funnel.stages if not s.terminal]
        self.offers_matter = bool(on_clicks) and (any(r.detail is not None for r in on_clicks)
                                                  or any(not s.offers for s in live_stages))
        nurture = np.flatnonzero(self.stream.nurture)
        # the stage each lead enters in (outbound work: an Opportunity for a share, else a Sales Lead)
        ms = d.funnel.milestones
        self.roles = roles = StageRoles.of(d)
        entry = np.full(n, roles.created, dtype=object)
        out = np.flatnonzero(source == "outbound")
        entry[out] = np.where(rng.random(len(out)) < sc.outbound.opportunity_share, ms.opportunity, ms.sql)
        self.entry = entry
        self.stream.resolve(nurture, entry[self.stream.lead[nurture]])  # provisional; each epoch sets its own

        self.ep_mql = np.zeros(n, bool)  # mirrors _Lead.ep_mql, for the epochs' vectorised selections
        self.episode = np.zeros(n, np.int64)  # mirrors _Lead.episode
        ids = [st.id for st in d.funnel.stages]
        self.stage_ids = np.array(ids, dtype=object)
        self.code_of = {sid: k for k, sid in enumerate(ids)}
        # mirrors _Lead.stage as a code into stage_ids (before creation: the stage the lead will enter)
        self.stage_code = np.array([self.code_of[e] for e in entry.tolist()], np.int16)
        self.is_marketing = np.isin(ids, roles.marketing)  # by stage code
        self.is_early = np.isin(ids, roles.climbing)  # stages a deep activity moves on
        self.closed = np.zeros(n, bool)  # in a terminal stage
        self.recycled: list[int] = []  # recycled this epoch: their next MQL moment is recomputed at the next
        # each lead's next MQL moment, from scoring's engine on the stream (see leadsim.simulation.moments)
        self.mq = mq = Moments(d, self.stream, self.fit, self.created_ns, self.start, self.horizon_ns, self.epoch_ns)
        mq.refresh(np.arange(n), 0, self.episode)

        # people
        self.sdr_queue = WorkQueue(env)
        self.sdrs = [Rep(env, f"sdr{i + 1}", self.sdr_queue, self._sdr_serve, self.sdr_shift)
                     for i in range(sc.sdr_headcount)]
        self.rep_queues = {f"rep{i + 1}": WorkQueue(env) for i in range(sc.rep_headcount)}
        self.reps = [Rep(env, name, q, self._rep_serve, self.rep_shift) for name, q in self.rep_queues.items()]
        self.open_sl = dict.fromkeys(self.rep_queues, 0)
        self.clocks_of: dict[str, list] = {}
        for c, clock in enumerate(d.sla.clocks):
            self.clocks_of.setdefault(clock.stage, []).append((c, clock))
        self.starts: list[tuple] = []  # hand-offs into a watched stage: (lead, start ns, owner, score)
        self.first_breach = {}  # per stage: (offset, unit, wall clock) of its first clock's first level with an offset
        for clock in d.sla.clocks:
            lv = next((lv for lv in clock.levels if lv.offset > 0), None)
            if lv is not None and clock.stage not in self.first_breach:
                self.first_breach[clock.stage] = (lv.offset, clock.unit, clock.wall_clock)
        self.moves: list[tuple] = []  # escalations to a free rep: (lead, time, from, to)
        self.managers = {"sdr": "sdr-manager", "rep": "sales-manager"}
        self.gone_cold = 0

        # every inbound lead enters as a Name when created (what _set_stage records, in bulk)
        inbound_t = self.created_ns[inbound].tolist()
        self.rec.rows["stage"].extend((i, roles.created, t, "created", None) for i, t in zip(inbound.tolist(), inbound_t,
                                                                                       strict=True))
        for i, t in zip(inbound.tolist(), inbound_t, strict=True):
            lead = self.L[i]
            lead.stage, lead.entered_ns, lead.seq = roles.created, t, 1
        for i in np.flatnonzero(source == "outbound"):
            env.timeout(self.created_min[i]).callbacks.append(lambda _e, i=int(i): self._outbound(self.L[i]))
        env.process(self._epochs())
        env.process(self._monitor())
        for role, heads, who in (("sdr_headcount", sc.sdr_headcount, "MQLs"), ("rep_headcount", sc.rep_headcount,
                                                                                "Sales Leads")):
            if heads == 0 and n:
                self.msgs.append(f"{role} is 0: {who} are never worked (utilisation unbounded); the queue never drains")
                warnings.warn(self.msgs[-1], LeadsimWarning, stacklevel=4)

    # -- stage bookkeeping ---------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self.env.now * _MIN_NS + 0.5)  # (times are >= 0; faster than round())

    def _set_stage(self, lead: _Lead, stage: str, reason: str, owner: str | None, *, ns: int | None = None,
                   now: bool = True) -> None:
        t_ns = self._now_ns() if ns is None else ns
        self.rec.stage(lead.i, stage, t_ns, reason, owner)
        lead.entered_ns = t_ns
        lead.stage = stage
        self.stage_code[lead.i] = self.code_of[stage]
        lead.owner = owner
        lead.seq += 1
        if now:
            lead.entered[stage] = self.env.now

    def _close(self, lead: _Lead, stage: str, reason: str) -> None:
        """Into a terminal stage; the lead goes quiet for good."""
        if lead.owner in self.open_sl and lead.stage == self.roles.sql:
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        self._set_stage(lead, stage, reason, lead.owner)
        lead.terminal = True
        self.closed[lead.i] = True
        self.stream.silence(lead.i, self._now_ns(), _BIG)

    def _withdraw(self, lead: _Lead) -> None:
        if lead.item is not None and lead.item.queued:
            q = self.sdr_queue if lead.stage == self.roles.mql else self.rep_queues.get(lead.owner)
            if q is not None:
                q.withdraw(lead.item)

    def _recycle(self, lead: _Lead, outcome: str) -> None:
        if lead.stage == self.roles.sql and lead.owner in self.open_sl:
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        t_ns = self._now_ns()
        prev = lead.stage
        from_ns = lead.entered_ns
        self._set_stage(lead, self.d.funnel.recycle.to, "recycle", None)
        self.mq.recycled(lead.i, prev, from_ns, t_ns)
        lead.last_recycle = self.env.now
        lead.episode += 1
        self.episode[lead.i] = lead.episode
        lead.ep_mql = False
        self.ep_mql[lead.i] = False
        # quiet for the rest of the epoch; the new episode's MQL moment is computed when the next one starts
        self.stream.silence(lead.i, t_ns, self.epoch_end_ns)
        self.recycled.append(lead.i)
        if lead.handoff is not None and lead.handoff.outcome is None:
            lead.handoff.outcome = outcome
        # a recycle moment is itself a scoring moment: re-MQL at once if the score says so
        if self.d.on_recycle == "restart":
            if at_or_over(self.fit[lead.i], self.d.thresholds.mql):
                self._on_mql(lead, t_ns, "score", None, float(self.fit[lead.i]), lead.episode)
        else:
            for reason, trigger, score in self.mq.at(lead.i, t_ns):
                self._on_mql(lead, t_ns, reason, trigger, score, lead.episode)

    # -- epochs: nurture offers, recomputed MQL moments, TOFU moves, exploration ------------

    def _epochs(self):
        k = 0
        while k * self.epoch_ns < self.horizon_ns:
            t0 = k * self.epoch_ns
            t1 = min(t0 + self.epoch_ns, self.horizon_ns)
            self.epoch_end_ns = t1
            self._plan_epoch(t0, t1)
            k += 1
            yield self.env.timeout(t1 / _MIN_NS - self.env.now)

    def _plan_epoch(self, t0: int, t1: int) -> None:
        st, rng = self.stream, self.rng
        rows = st.epoch_rows(t0, t1)
        # the offer each nurture click of the epoch was on: from the stage its lead is in now
        nur = rows[st.nurture[rows]]
        redo = self.recycled
        self.recycled = []
        if len(nur):
            changed = st.resolve(nur, self.stage_ids[self.stage_code[st.lead[nur]]])
            rows = rows[st.live[rows]]
            if self.offers_matter:
                redo = [*redo, *np.unique(st.lead[nur[changed]]).tolist()]
        # leads recycled last epoch (or whose clicks changed): their next MQL moment from now on
        redo = np.unique(np.asarray(redo, np.int64))
        redo = redo[~self.ep_mql[redo] & ~self.closed[redo]]
        if len(redo):
            self.mq.refresh(redo, t0, self.episode)
        nm = self.mq.next
        current = (nm["episode"] == self.episode) & ~self.ep_mql & ~self.closed
        due = np.flatnonzero(current & (nm["t"] >= t0) & (nm["t"] < t1))
        due = due[np.argsort(nm["t"][due], kind="stable")]
        now = self.env.now
        for i, t, at, r, g, s in zip(due.tolist(), nm["t"][due].tolist(), (nm["t"][due] / _MIN_NS).tolist(),
                                     nm["reason"][due].tolist(), nm["trigger"][due].tolist(), nm["score"][due].tolist(),
                                     strict=True):
            lead = self.L[i]
            self.env.timeout(at - now).callbacks.append(
                lambda _e, lead=lead, t=t, r=r, g=g, s=s, ep=lead.episode: self._on_mql(lead, t, r, g, s, ep))
        # candidates: no MQL yet in the current episode, and something to score this epoch
        r_lead = st.lead[rows]
        mark = np.zeros(self.n, bool)
        mark[r_lead] = True
        mark[(self.created_ns >= t0) & (self.created_ns < t1)] = True
        cand = mark & ~self.ep_mql & ~self.closed
        stop = np.where(current, nm["t"], _BIG)
        # TOFU moves at deep activities before the MQL moment
        deep = rows[self.is_deep[st.act[rows]]]
        dl = st.lead[deep]
        early = cand[dl] & (st.t[deep] < stop[dl]) & self.is_early[self.stage_code[dl]]
        deep, dl = deep[early], dl[early]
        if len(deep):
            first = np.ones(len(deep), bool)
            first[1:] = dl[1:] != dl[:-1]
            start = np.flatnonzero(first)
            rank = np.arange(len(deep)) - np.repeat(start, np.diff(np.append(start, len(deep))))
            for pos in np.flatnonzero(rank < 2).tolist():
                lead = self.L[int(dl[pos])]
                if rank[pos] == 0 or lead.stage == self.roles.engaged:
                    self._set_stage(lead, self.roles.climb(lead.stage), "score", None,
                                    ns=int(st.t[deep[pos]]), now=False)
        # exploration: below-threshold leads handed over anyway, with their propensity
        share = self.scenario.exploration_share
        if share > 0:
            pool = np.flatnonzero(cand & (stop >= t1) & self.is_marketing[self.stage_code])
            pool = pool[rng.random(len(pool)) < share]
            last_t = np.full(self.n, -1, np.int64)
            np.maximum.at(last_t, r_lead, st.t[rows])
            a = np.maximum(np.maximum(last_t[pool], self.created_ns[pool]), t0) + 1
            at = (a + rng.random(len(pool)) * np.maximum(t1 - 1 - a, 0)).astype(np.int64)
            for i, t_ns in zip(pool.tolist(), at.tolist(), strict=True):
                lead = self.L[i]
                self.env.timeout(t_ns / _MIN_NS - self.env.now).callbacks.append(
                    lambda _e, lead=lead, t_ns=t_ns, ep=lead.episode: self._explore(lead, t_ns, ep))

    def _on_mql(self, lead: _Lead, t_ns: int, reason: str, trigger: Any, score: float, episode: int) -> None:
        # a moment computed for an earlier episode (the lead was recycled since) is void
        if lead.episode != episode or lead.ep_mql or lead.terminal:
            return
        lead.ep_mql = True
        self.ep_mql[lead.i] = True
        trig = None if trigger is None or (isinstance(trigger, float) and math.isnan(trigger)) or trigger is pd.NA \
            else trigger
        self.rec.rows["mql"].append((lead.i, t_ns, reason, trig, score))
        if lead.stage in self.roles.marketing:
            lead.score = score
            lead.hot = reason == "hot"
            self._handoff(lead, t_ns, reason, 1.0)

    def _explore(self, lead: _Lead, t_ns: int, episode: int) -> None:
        if lead.episode != episode or lead.ep_mql or lead.terminal or lead.stage not in self.roles.marketing:
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
        """When the first level with an offset of the first clock on ``stage`` is due (deadline-first routing)."""
        first = self.first_breach.get(stage)
        if first is None:
            return t + self.h.retry_deadline_minutes
        return self.wt.add(t, *first)

    def _handoff(self, lead: _Lead, t_ns: int, reason: str, propensity: float) -> None:
        self._set_stage(lead, self.d.funnel.milestones.mql, reason, None, ns=t_ns)
        lead.handoff = self.rec.handoff(lead.i, t_ns, reason, propensity, lead.score)
        lead.handed_at = self.env.now
        lead.attempts = 0
        lead.escalated = False
        self._start_clocks(lead)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        lead.deadline = self._breach_deadline(self.roles.mql, self.env.now)
        if not self.sdrs:
            return
        self.sdr_queue.put(lead.item, self._key(lead, self.env.now))
        if self.scenario.patience_hours is not None:
            start_patience(self.env, self.sdr_queue, lead.item,
                           self.rng.exponential(self.scenario.patience_hours * 60.0), self._cold)

    def _cold(self, item: Item) -> None:
        lead = item.lead
        if lead.stage != self.roles.mql or lead.attempts > 0:
            return
        self.gone_cold += 1
        self._recycle(lead, "cold")

    def _sdr_serve(self, rep: Rep, item: Item):
        lead: _Lead = item.lead
        env, rng, h = self.env, self.rng, self.h
        if lead.stage != self.roles.mql:
            return
        episode = lead.episode
        lead.attempts += 1
        start = env.now
        self.rec.touch(lead.i, start, "call", rep.name)
        lead.last_touch = start
        if lead.attempts == 1:
            lead.handoff.owner = rep.name
            lead.handoff.response = start - lead.handed_at
        delay = start - lead.handed_at
        # the call, and the qualifying talk if the lead is reached: drawn now, worked as one piece of shift time
        minutes = rng.exponential(h.call_minutes)
        reached = rng.random() < adjust(self.scenario.curve.contact_base, self.curve.contact_multiplier(delay))
        qualified = False
        if reached:
            minutes += rng.exponential(h.qualify_minutes)
            p = adjust(self.q_list[lead.i], self.curve.qualification_multiplier(delay))
            qualified = rng.random() < p
        yield rep.work(minutes)
        self.rec.service(rep.name, lead.i, start, env.now, minutes)
        if lead.stage != self.roles.mql or lead.episode != episode:
            return
        if qualified:
            self._to_sales_lead(lead, "qualified")
        elif reached:
            if self.never_list[lead.i] or rng.random() < 0.25:
                lead.handoff.outcome = "disqualified"
                self._close(lead, self.d.funnel.disqualify.to, "disqualify")
            else:
                self._recycle(lead, "not_qualified")
        elif lead.attempts <= len(h.retry_minutes):
            gap = h.retry_minutes[lead.attempts - 1]
            env.timeout(gap).callbacks.append(lambda _e, lead=lead, ep=episode: self._retry(lead, ep))
        else:
            self._recycle(lead, "no_contact")

    def _retry(self, lead: _Lead, episode: int) -> None:
        if lead.stage != self.roles.mql or lead.episode != episode or lead.item.queued:
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
            lead.handoff.sql = True
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
        lead.deadline = self._breach_deadline(self.roles.sql, self.env.now)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        self.rep_queues[owner].put(lead.item, self._key(lead, self.env.now))

    def _rep_serve(self, rep: Rep, item: Item):
        lead: _Lead = item.lead
        if lead.stage != self.roles.sql or lead.owner != rep.name:
            return
        start = self.env.now
        self.rec.touch(lead.i, start, "email", rep.name)
        lead.last_touch = start
        minutes = self.rng.exponential(self.h.rep_touch_minutes)
        yield rep.work(minutes)
        self.rec.service(rep.name, lead.i, start, self.env.now, minutes)
        if lead.stage == self.roles.sql:
            self._schedule_decision(lead)

    def _schedule_decision(self, lead: _Lead) -> None:
        days = self.rng.exponential(self.h.decision_days)
        at = self.wt.add_days(self.env.now, days)
        if at < INF:
            self.env.timeout(at - self.env.now).callbacks.append(
                lambda _e, lead=lead, seq=lead.seq: self._decide(lead, seq))

    def _decide(self, lead: _Lead, seq: int) -> None:
        if lead.stage != self.roles.sql or lead.seq != seq:
            return
        rng = self.rng
        p = 1 / (1 + math.exp(-(self.h.opportunity_bias + 0.8 * self.intent[lead.i])))
        if rng.random() < p and not self.never_list[lead.i]:
            self.open_sl[lead.owner] = self.open_sl.get(lead.owner, 1) - 1
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "converted", lead.owner)
            if lead.handoff is not None:
                lead.handoff.opportunity = True
            self._schedule_close(lead)
        elif self.never_list[lead.i] or rng.random() < 0.3:
            if lead.handoff is not None:
                lead.handoff.outcome = "disqualified"
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
            lead.handoff.won = won
            lead.handoff.outcome = "won" if won else "lost"
        if won:
            self._close(lead, self.d.funnel.milestones.won, "won")
        else:
            self._close(lead, self.d.funnel.lost.to, "lost")

    def _outbound(self, lead: _Lead) -> None:
        owner = self._pick_rep()
        if self.entry[lead.i] == self.d.funnel.milestones.opportunity or owner is None:
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "outbound", owner)
            self.rec.touch(lead.i, self.env.now, "meeting", owner or "sales")
            lead.last_touch = self.env.now
            self._schedule_close(lead)
        else:
            self._to_sales_lead(lead, "outbound", owner)

    # -- SLA clocks ----------------------------------------------------------------------

    def _start_clocks(self, lead: _Lead) -> None:
        clocks = self.clocks_of.get(lead.stage, ())
        if not clocks:
            return
        start = len(self.starts)  # a hand-off into a watched stage: its clocks start at the stage-log row's time
        self.starts.append((lead.i, lead.entered_ns, lead.owner, lead.score))
        for c, clock in clocks:
            self._arm(lead, c, clock, self.env.now, lead.seq, 0, start)

    def _stopped(self, lead: _Lead, clock, t0: float, seq: int) -> bool:
        """The ladder's stop and tie rule on the lead's state now, when a level of a clock started at ``t0`` is due
        (every event due at the same moment has run: an event at the due time itself stops the level)."""
        now = self.env.now
        left = lead.seq != seq and (lead.stage != clock.stage or lead.entered.get(clock.stage, -INF) > t0)
        events = {}
        for ev in clock.stop_on:
            if ev == "touch":
                happened = lead.last_touch >= t0
            elif ev == "leave_stage":
                happened = left
            elif ev == "recycle":
                happened = lead.last_recycle >= t0
            else:
                happened = lead.entered.get(ev, -INF) >= t0
            events[ev] = now if happened else INF
        restart = now if lead.entered.get(clock.stage, -INF) > t0 else INF
        return not ladder.fires(now, ladder.stop_time(clock, events, restart))

    def _arm(self, lead: _Lead, c: int, clock, t0: float, seq: int, k: int, start: int) -> None:
        """Wake up when level ``k`` of a clock started at ``t0`` is due, after everything else due then (a stop
        at the due time itself prevents the alert); a timeout cannot be cancelled: the state is checked then."""
        due = self.wt.add(t0, clock.levels[k].offset, clock.unit, clock.wall_clock)
        if due < self.horizon:
            Later(self.env, max(due - self.env.now, 0.0), LATE).callbacks.append(
                lambda _e: self._fire(lead, c, clock, t0, seq, k, start))

    def _fire(self, lead: _Lead, c: int, clock, t0: float, seq: int, k: int, start: int) -> None:
        if self._stopped(lead, clock, t0, seq):
            return
        lv = clock.levels[k]
        self.rec.rows["alert"].append((start, c, k, lead.owner))
        if self.scenario.escalation != "none" and any(r in ("manager", "leadership") for r in lv.recipients):
            # a second after the alert, as a manager acts on it: a move at the due time itself would void the
            # alert (the tie rule: a touch by the new owner at the due time stops the level)
            self.env.timeout(_SECOND).callbacks.append(lambda _e: self._escalate(lead))
        if k + 1 < len(clock.levels):
            self._arm(lead, c, clock, t0, seq, k + 1, start)
        elif self.d.sla.auto_return_after_last and lead.stage in self.roles.handed:
            # a second after the alert: a move at the due time itself would void it (tie rule of leadsim.sla)
            self.env.timeout(_SECOND).callbacks.append(lambda _e: self._auto_return(lead, seq))

    def _auto_return(self, lead: _Lead, seq: int) -> None:
        if lead.seq == seq and lead.stage in self.roles.handed:
            self._recycle(lead, "auto_return")

    def _escalate(self, lead: _Lead) -> None:
        """A manager or leadership level fired: the waiting lead moves to the front, or to a free rep."""
        lead.escalated = True
        item = lead.item
        if item is None or not item.queued:
            return
        sales = lead.stage == self.d.funnel.milestones.sql
        q = self.rep_queues.get(lead.owner) if sales else self.sdr_queue
        if q is None:
            return
        if sales and self.scenario.escalation == "free_rep":
            # a rep on shift with nothing to do takes it over (SDRs share one queue: front is all there is)
            free = [r for r in self.reps if r.free and r.name != lead.owner]
            if free:
                new = free[0]
                q.withdraw(item)
                self.open_sl[lead.owner] -= 1
                self.open_sl[new.name] += 1
                self.moves.append((lead.i, self.env.now, lead.owner, new.name))
                lead.owner = new.name
                # the stage log says who holds the lead now (a re-assignment row: same stage, new owner)
                self.rec.stage(lead.i, lead.stage, self._now_ns(), "escalation", new.name)
                q = new.queue
        q.put(item, self._key(lead, item.enqueued_at))

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
        return self._result()

    def _alerts(self, owners: pd.DataFrame, base: np.datetime64) -> pd.DataFrame:
        """The alerts raised during the run, rendered by the SLA ladder (the same due times, recipients and
        messages as :func:`leadsim.sla.audit` gives for the run's log)."""
        names = pd.Index(owners["owner"], dtype="string")
        code = {name: i for i, name in enumerate(names)}
        st = self.starts
        h = ladder.Handoffs(
            hid=np.arange(len(st)), lead=np.array([s[0] for s in st], np.int64), lead_ids=pd.Index(self.ids),
            owner=np.array([code.get(s[2], -1) for s in st], np.int64), owner_names=names,
            at=base.astype(np.int64) + np.array([s[1] for s in st], np.int64),
            score=np.array([s[3] for s in st], float))
        al = self.rec.columns("alerts")
        start, clock, level = (np.array(al[k], np.int64) for k in ("start", "clock", "level"))
        owner = np.array([code.get(o, -1) for o in al["owner"]], np.int64)
        clocks = list(self.d.sla.clocks)
        fired = []
        for c, k in sorted(set(zip(clock.tolist(), level.tolist(), strict=True))):
            sel = (clock == c) & (level == k)
            rows = start[sel]
            due = ladder.due_times(self.cal, h.at[rows], clocks[c])[k]
            fired.append(ladder.Fired(c, k, rows, due, owner[sel]))
        out = ladder.build_alerts(h, clocks, fired, ladder.context(self.d, owners, self.leads, None))
        out["fired_at"] = out["due_at"]
        return out

    def _ts(self, minutes) -> np.ndarray:
        return self.wt.timestamps(np.asarray(minutes, float))

    def _result(self) -> SimulationResult:
        from leadsim.simulation.kpis import kpis

        rec, d = self.rec, self.d
        base = self.start.to_datetime64().astype("datetime64[ns]")
        rank = ranks(self.ids)  # sorting on a lead's rank sorts by its id
        acts = self.stream.table(self.ids, base, rank)

        def lead_ids(lead) -> pd.api.extensions.ExtensionArray:
            return labels(lead, self.ids)

        def at_ns(t_ns) -> pd.api.extensions.ExtensionArray:
            return pd.array(base + np.asarray(t_ns, np.int64).astype("timedelta64[ns]"), dtype="datetime64[ns]")

        def at_min(t) -> pd.api.extensions.ExtensionArray:
            return pd.array(self._ts(t), dtype="datetime64[ns]")

        def table(cols: dict, order: np.ndarray | None = None) -> pd.DataFrame:
            out = pd.DataFrame(cols)
            return out if order is None else out.take(order).reset_index(drop=True)

        st = rec.columns("stages")
        lead, t_ns = np.array(st["lead"], np.int64), np.array(st["t_ns"], np.int64)
        stage_log = table({"lead_id": lead_ids(lead), "stage": strings(st["stage"]), "at": at_ns(t_ns),
                           "reason": strings(st["reason"]), "owner": strings(st["owner"])},
                          np.lexsort((t_ns, rank[lead])))
        tc = rec.columns("touches")
        lead, t = np.array(tc["lead"], np.int64), np.array(tc["t"], float)
        touches = table({"lead_id": lead_ids(lead), "at": at_min(t), "kind": strings(tc["kind"]),
                         "by": strings(tc["by"])}, np.lexsort((rank[lead], self._ts(t))))
        owners = pd.DataFrame({
            "owner": [r.name for r in self.sdrs] + [r.name for r in self.reps],
            "role": ["sdr"] * len(self.sdrs) + ["rep"] * len(self.reps),
            "manager": [self.managers["sdr"]] * len(self.sdrs) + [self.managers["rep"]] * len(self.reps),
            "team": ["SDR"] * len(self.sdrs) + ["Sales"] * len(self.reps),
        }).astype("str")
        ho = rec.columns("handoffs")
        outcomes = table({
            "handoff_id": strings([f"H{i + 1:06d}" for i in ho["handoff"]]),
            "lead_id": lead_ids(ho["lead"]),
            "handed_at": at_ns(ho["t_ns"]),
            "handoff_reason": strings(ho["reason"]),
            "propensity": np.array(ho["propensity"], float),
            "definition_version": strings([d.version] * len(ho["lead"])),
            "owner": strings(ho["owner"]),
            "response_minutes": np.array(ho["response"], float),
            "sql": np.array(ho["sql"], bool), "opportunity": np.array(ho["opportunity"], bool),
            "won": np.array(ho["won"], bool),
            "reason": strings(ho["outcome"]),
            "score": np.array(ho["score"], float),
        })
        alerts = self._alerts(owners, base)
        mq = rec.columns("mqls")
        lead, t_ns = np.array(mq["lead"], np.int64), np.array(mq["t_ns"], np.int64)
        mql = table({"lead_id": lead_ids(lead), "at": at_ns(t_ns), "reason": strings(mq["reason"]),
                     "trigger": strings(mq["trigger"]), "score": np.array(mq["score"], float)},
                    np.lexsort((rank[lead], t_ns)))
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
