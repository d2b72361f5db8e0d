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
  the epoch's MQL moments, moves leads through the TOFU stages by the definition's progression at
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

The run is split by concern: this module holds the run's state, the stage
bookkeeping and the epochs (behaviour, MQL moments, TOFU moves, exploration);
:mod:`~leadsim.simulation.work` the SDR and sales work;
:mod:`~leadsim.simulation.sla_watch` the SLA clocks;
:mod:`~leadsim.simulation.lead` a lead's state; :mod:`~leadsim.simulation.stages`
which stage plays which part; :mod:`~leadsim.simulation.result` the tables
collected at the end; :mod:`~leadsim.simulation.queue_mode` the reduced
M/M/c model.

>>> from leadsim.simulation.scenario import Scenario
>>> r = simulate(Scenario.queueing(6, 2, 4, horizon_days=2, warmup_days=0.5), seed=1)
>>> 0 <= r.p_wait <= 1 and r.mean_wait_hours >= 0 and r.p_abandon == 0
True
"""

from __future__ import annotations

import gc
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import simpy

from leadsim import progression
from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadsimWarning
from leadsim.simulation import arrivals as arr
from leadsim.simulation.clocks import WorkTime
from leadsim.simulation.lead import LeadState
from leadsim.simulation.moments import Moments
from leadsim.simulation.people import Staff
from leadsim.simulation.queue_mode import run_queueing
from leadsim.simulation.records import MIN_NS, NEVER_NS, Recorder
from leadsim.simulation.reps import Rep, WorkQueue
from leadsim.simulation.resample import no_hidden
from leadsim.simulation.result import SimulationResult, collect
from leadsim.simulation.scenario import Scenario
from leadsim.simulation.sla_watch import SlaWatch
from leadsim.simulation.stages import StageRoles
from leadsim.simulation.stream import Stream
from leadsim.simulation.streams import Streams
from leadsim.simulation.work import Work

__all__ = ["SimulationResult", "simulate"]


class Model(Work, SlaWatch):
    """One full run; see the module docstring."""

    def __init__(self, scenario: Scenario, seed: Any):
        from leadsim.scoring import score
        from leadsim.scoring.gates import fit_fired

        self.scenario = sc = scenario
        self.seed = seed
        self.streams = streams = Streams(seed)  # common random numbers: see leadsim.simulation.streams
        self.d = d = scenario.lead_definition
        self.cal = BusinessCalendar.from_definition(d)
        self.start = pd.Timestamp(sc.start)
        self.horizon = sc.horizon_days * 1440.0
        self.horizon_ns = round(self.horizon * MIN_NS)
        self.cal.warn_beyond(self.start, self.start + pd.Timedelta(days=sc.horizon_days), "the simulation")
        self.wt = WorkTime(self.cal, self.start, sc.horizon_days)
        sh = sc.shifts
        self.sdr_shift = WorkTime(self.cal, self.start, sc.horizon_days, sh.get("sdr")) if sh.get("sdr") else self.wt
        self.rep_shift = WorkTime(self.cal, self.start, sc.horizon_days, sh.get("rep")) if sh.get("rep") else self.wt
        self.staff = Staff(sc, d)  # people on other calendars (leadsim.simulation.people); none: the shifts above
        self.curve = sc.curve.response_curve()
        self.h = sc.handling
        self.env = env = simpy.Environment()
        self.rec = Recorder()
        self.msgs: list[str] = []

        minutes, source = arr.arrivals(streams.of("arrivals"), sc)
        pool = sc.pool if sc.leads == "history" else None  # drawn from a history (leadsim.simulation.resample)
        if pool is not None:
            self.leads, picked = pool.draw(streams.of("leads"), minutes, source, self.start)
            hidden = no_hidden(len(self.leads))
        else:
            self.leads, hidden = arr.lead_table(streams.of("leads"), minutes, source, self.start, d)
        n = self.n = len(self.leads)
        streams.prepare(n, {"contact": 40, "patience": 8, "sales": 24})  # each lead's own draws (streams.draw)
        self.created_ns = np.round(minutes * MIN_NS).astype(np.int64)
        self.created_min = self.created_ns / MIN_NS
        self.intent = hidden["intent"]
        self.job_seeker = hidden["job_seeker"]
        self.source = source
        self.fit = (score(self.leads, None, d, as_of=self.start + pd.Timedelta(days=sc.horizon_days))
                    ["fit_score"].to_numpy(float) if n else np.empty(0))
        # per-lead chance to qualify at the baseline delay (Python lists: per-call look-ups)
        dec = self.decisions = sc.decisions  # fitted (Scenario.from_history), whoever makes the leads
        q = (-0.6 + 0.9 * self.intent + 0.015 * (self.fit - 40) if dec is None
             else dec.qualify_log_odds + dec.qualify_per_point * (self.fit - dec.qualify_center))
        self.q_list = (1 / (1 + np.exp(-q))).tolist()
        # who can never buy (disqualified when reached): the generator's own decisions only; fitted shares already
        # hold such leads, so with them every lead goes by the shares
        never = hidden["student"] | hidden["competitor"]
        self.never_list = (never if dec is None else np.zeros(n, bool)).tolist()
        # the stage log's exit reasons: the simulation's codes as the definition's vocabulary ids
        dq_code = np.where(hidden["student"], "student", np.where(hidden["competitor"], "competitor", "no_fit"))
        self.dq_reason = np.asarray(d.reason_ids(["student", "competitor", "no_fit"], exit="disqualify"),
                                    dtype=object)[pd.Categorical(dq_code, ["student", "competitor", "no_fit"]).codes].tolist()
        codes = ["cold", "not_qualified", "no_contact", "recycled_by_sales", "auto_return"]
        self.recycle_reason = dict(zip(codes, d.reason_ids(codes, exit="recycle"), strict=True))
        self.L = [LeadState(i, source[i]) for i in range(n)]
        self.offers = {s.id: list(s.offers) for s in d.funnel.stages}
        self.ids = self.leads["lead_id"].to_numpy(dtype=object)

        # every lead's behaviour over the horizon, drawn up front (see leadsim.simulation.stream)
        self.epoch_ns = max(round(sc.behaviour.epoch_days * 1440 * MIN_NS), 1)
        self.epoch_end_ns = 0
        inbound = np.flatnonzero(source != "outbound")
        if pool is not None:
            parts = [pool.behaviour(picked, self.created_ns, self.horizon_ns)]
            vocab = (list(pool.act_vocab), list(pool.det_vocab))
        else:
            parts = [arr.behaviour_stream(streams.of("behaviour"), self.created_ns, self.intent, self.job_seeker,
                                          self.horizon_ns, self.epoch_ns, sc.behaviour, self.start)]
            vocab = (arr.ACTIVITIES, arr.DETAILS)
        if len(inbound) and pool is None:
            first = arr.creation_activities(streams.of("behaviour"), inbound, source[inbound], self.created_ns[inbound],
                                            self.intent[inbound])
            parts.append({**first, "nurture": np.zeros(len(first["t"]), bool), "pick": np.zeros(len(first["t"]))})
        self.stream = Stream({k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, n, self.offers, vocab=vocab)
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
        entry[out] = np.where(streams.of("entry").random(len(out)) < sc.outbound.opportunity_share, ms.opportunity, ms.sql)
        self.entry = entry
        self.stream.resolve(nurture, entry[self.stream.lead[nurture]])  # provisional; each epoch sets its own

        self.ep_mql = np.zeros(n, bool)  # mirrors LeadState.ep_mql, for the epochs' vectorised selections
        self.episode = np.zeros(n, np.int64)  # mirrors LeadState.episode
        ids = [st.id for st in d.funnel.stages]
        self.stage_ids = np.array(ids, dtype=object)
        self.code_of = {sid: k for k, sid in enumerate(ids)}
        # mirrors LeadState.stage as a code into stage_ids (before creation: the stage the lead will enter)
        self.stage_code = np.array([self.code_of[e] for e in entry.tolist()], np.int16)
        self.is_marketing = np.isin(ids, roles.marketing)  # by stage code
        self.climbs = np.isin(ids, [s.from_ for s in d.funnel.progression])  # stages the progression moves on from
        self.entered_at = self.created_ns.copy()  # mirrors LeadState.entered_ns
        self.closed = np.zeros(n, bool)  # in a terminal stage
        self.recycled: list[int] = []  # recycled this epoch: their next MQL moment is recomputed at the next
        # each lead's next MQL moment, from scoring's engine on the stream (see leadsim.simulation.moments)
        self.mq = mq = Moments(d, self.stream, self.fit, self.created_ns, self.start, self.horizon_ns, self.epoch_ns,
                               fit_fired=fit_fired(self.leads, d))
        mq.refresh(np.arange(n), 0, self.episode)

        # people
        self.sdr_queue = WorkQueue(env)
        self.routing = sc.routing  # a dated change may set another
        self.sdrs = [Rep(env, f"sdr{i + 1}", self.sdr_queue, self._sdr_serve, self._shift("sdr", i + 1))
                     for i in range(sc.sdr_headcount)]
        # leads wait for SDRs when there are any, or will be (a dated change may hire the first)
        self.sdr_work = sc.peak("sdr_headcount") > 0
        for change in sc.changes:
            env.timeout(change.from_day * 1440.0).callbacks.append(lambda _e, c=change: self._change(c.settings))
        self.rep_queues = {f"rep{i + 1}": WorkQueue(env) for i in range(sc.rep_headcount)}
        self.reps = [Rep(env, name, q, self._rep_serve, self._shift("rep", i + 1))
                     for i, (name, q) in enumerate(self.rep_queues.items())]
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
        self.handovers: dict[int, list[tuple]] = {}  # per clock start, its re-assignments (minutes, ns, calendar)
        self.armed: dict[int, dict[int, tuple]] = {}  # per clock start and clock, the level waiting (people.Staff)
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
        for role, who in (("sdr_headcount", "MQLs"), ("rep_headcount", "Sales Leads")):
            if sc.peak(role) == 0 and n:
                self.msgs.append(f"{role} is 0: {who} are never worked (utilisation unbounded); the queue never drains")
                warnings.warn(self.msgs[-1], LeadsimWarning, stacklevel=4)

    # -- stage bookkeeping ---------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self.env.now * MIN_NS + 0.5)  # (times are >= 0; faster than round())

    def _set_stage(self, lead: LeadState, stage: str, reason: str, owner: str | None, *, ns: int | None = None,
                   now: bool = True) -> None:
        t_ns = self._now_ns() if ns is None else ns
        self.rec.stage(lead.i, stage, t_ns, reason, owner)
        lead.entered_ns = t_ns
        lead.stage = stage
        self.stage_code[lead.i] = self.code_of[stage]
        self.entered_at[lead.i] = t_ns
        lead.owner = owner
        lead.seq += 1
        if now:
            lead.entered[stage] = self.env.now

    def _close(self, lead: LeadState, stage: str, reason: str) -> None:
        """Into a terminal stage; the lead goes quiet for good."""
        if lead.owner in self.open_sl and lead.stage == self.roles.sql:
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        self._set_stage(lead, stage, reason, lead.owner)
        lead.terminal = True
        self.closed[lead.i] = True
        self.stream.silence(lead.i, self._now_ns(), NEVER_NS)

    def _withdraw(self, lead: LeadState) -> None:
        if lead.item is not None and lead.item.queued:
            q = self.sdr_queue if lead.stage == self.roles.mql else self.rep_queues.get(lead.owner)
            if q is not None:
                q.withdraw(lead.item)

    def _recycle(self, lead: LeadState, outcome: str) -> None:
        if lead.stage == self.roles.sql and lead.owner in self.open_sl:
            self.open_sl[lead.owner] -= 1
        self._withdraw(lead)
        t_ns = self._now_ns()
        prev = lead.stage
        from_ns = lead.entered_ns
        self._set_stage(lead, self.d.funnel.recycle.to, self.recycle_reason.get(outcome, outcome), None)
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
        # a recycle moment is itself a scoring moment: re-MQL at once if the score and the gates say so
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
            yield self.env.timeout(t1 / MIN_NS - self.env.now)

    def _plan_epoch(self, t0: int, t1: int) -> None:
        st = self.stream
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
        for i, t, at, r, g, s in zip(due.tolist(), nm["t"][due].tolist(), (nm["t"][due] / MIN_NS).tolist(),
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
        stop = np.where(current, nm["t"], NEVER_NS)
        # the TOFU progression (the definition's rule) before each lead's MQL moment
        climbing = rows[self.climbs[self.stage_code[st.lead[rows]]] & cand[st.lead[rows]]]
        if len(climbing):
            moves = progression.climb(lead=st.lead[climbing], t=st.t[climbing], activity=st.act[climbing],
                                      vocab=st.act_vocab, stage=self.stage_code, entered=self.entered_at,
                                      stop=stop, fit=self.fit, definition=self.d)
            for i, to, t_ns in zip(moves.lead.tolist(), moves.stage.tolist(), moves.t.tolist(), strict=True):
                self._set_stage(self.L[i], to, progression.REASON, None, ns=t_ns, now=False)
        # exploration: below-threshold leads handed over anyway, with their propensity
        share = self.scenario.exploration_share
        if share > 0:
            g = self.streams.of("exploration")  # two draws per lead and epoch, whoever is in the pool
            draw, place = g.random(self.n), g.random(self.n)
            pool = np.flatnonzero(cand & (stop >= t1) & self.is_marketing[self.stage_code])
            pool = pool[draw[pool] < share]
            last_t = np.full(self.n, -1, np.int64)
            np.maximum.at(last_t, r_lead, st.t[rows])
            a = np.maximum(np.maximum(last_t[pool], self.created_ns[pool]), t0) + 1
            at = (a + place[pool] * np.maximum(t1 - 1 - a, 0)).astype(np.int64)
            for i, t_ns in zip(pool.tolist(), at.tolist(), strict=True):
                lead = self.L[i]
                self.env.timeout(t_ns / MIN_NS - self.env.now).callbacks.append(
                    lambda _e, lead=lead, t_ns=t_ns, ep=lead.episode: self._explore(lead, t_ns, ep))

    def _on_mql(self, lead: LeadState, t_ns: int, reason: str, trigger: Any, score: float, episode: int) -> None:
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

    def _explore(self, lead: LeadState, t_ns: int, episode: int) -> None:
        if lead.episode != episode or lead.ep_mql or lead.terminal or lead.stage not in self.roles.marketing:
            return
        lead.score = float(self.fit[lead.i])
        lead.hot = False
        self._handoff(lead, t_ns, "exploration", self.scenario.exploration_share)

    # -- dated changes -------------------------------------------------------------------

    def _change(self, settings: dict[str, Any]) -> None:
        """A scenario's dated change, from now on: headcounts (SDRs up or down, reps up) and routing."""
        env = self.env
        if "routing" in settings:
            self.routing = settings["routing"]
        if "sdr_headcount" in settings:
            active = [r for r in self.sdrs if r.left == math.inf]
            for r in active[settings["sdr_headcount"]:]:
                r.retire()
            for _ in range(settings["sdr_headcount"] - len(active)):
                k = len(self.sdrs) + 1
                self.sdrs.append(Rep(env, f"sdr{k}", self.sdr_queue, self._sdr_serve, self._shift("sdr", k)))
        for _ in range(settings.get("rep_headcount", len(self.reps)) - len(self.reps)):
            name = f"rep{len(self.reps) + 1}"
            self.rep_queues[name] = q = WorkQueue(env)
            self.open_sl[name] = 0
            self.reps.append(Rep(env, name, q, self._rep_serve, self._shift("rep", len(self.reps) + 1)))

    def _shift(self, role: str, number: int) -> WorkTime:
        """Person ``number`` of ``role``'s shift: the role's shift, or one on their own calendar."""
        if self.staff.single:
            return self.sdr_shift if role == "sdr" else self.rep_shift
        return self.staff.shift(role, number)

    # -- monitoring ---------------------------------------------------------------------

    def _monitor(self):
        env, step = self.env, self.scenario.monitor_minutes
        rows = self.rec.rows["monitor"]
        while env.now < self.horizon:
            rows.append((env.now, len(self.sdr_queue), sum(len(q) for q in self.rep_queues.values()),
                         sum(r.current is not None for r in self.sdrs), sum(r.current is not None for r in self.reps),
                         sum(r.left > env.now and r.shift.is_open(env.now) for r in self.sdrs),
                         sum(r.shift.is_open(env.now) for r in self.reps)))
            yield env.timeout(step)

    # -- run and collect -----------------------------------------------------------------

    def run(self) -> SimulationResult:
        self.env.run(until=self.horizon)
        return collect(self)

def simulate(scenario: Scenario, *, seed: Any = 0) -> SimulationResult:
    """Run ``scenario`` once; ``seed`` an int, a ``SeedSequence`` entropy or a Generator."""
    if scenario.mode == "queueing":
        return run_queueing(scenario, seed)
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
