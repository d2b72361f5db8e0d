"""The people's work in a run: SDRs calling Leads, reps working Sales Leads, deals closing.

A mixin of :class:`leadsim.simulation.model.Model` (it uses the run's state
set up there); one concern per module keeps the model readable.
"""

from __future__ import annotations

import math

from leadsim.simulation.clocks import INF
from leadsim.simulation.curves import adjust
from leadsim.simulation.lead import LeadState
from leadsim.simulation.queue_mode import start_patience
from leadsim.simulation.reps import Item, Rep
from leadsim.simulation.streams import exponential

__all__ = ["Work"]


class Work:
    """SDR and sales work (methods of the run's Model)."""

    # -- SDR stage ---------------------------------------------------------------------

    def _key(self, lead: LeadState, ready: float) -> tuple:
        r = self.routing
        cls = 0 if lead.escalated else 1
        if r == "fifo":
            return (cls, ready)
        if r == "hot_first":
            return (cls, 0 if lead.hot else 1, ready)
        if r == "score_first":
            return (cls, -lead.score, ready)
        return (cls, lead.deadline, ready)

    def _breach_deadline(self, stage: str, t: float, owner: str | None = None) -> float:
        """When the first level with an offset of the first clock on ``stage`` is due (deadline-first routing),
        on the calendar of the ``owner`` the lead is routed to (nobody, a lead in the SDRs' shared queue: home)."""
        first = self.first_breach.get(stage)
        if first is None:
            return t + self.h.retry_deadline_minutes
        w = self.wt if owner is None or self.staff.single else self.staff.clock_time(self.staff.code(owner))
        return w.add(t, *first)

    def _handoff(self, lead: LeadState, t_ns: int, reason: str, propensity: float) -> None:
        self._set_stage(lead, self.d.funnel.milestones.mql, reason, None, ns=t_ns)
        lead.handoff = self.rec.handoff(lead.i, t_ns, reason, propensity, lead.score)
        lead.handed_at = self.env.now
        lead.attempts = 0
        lead.escalated = False
        self._start_clocks(lead)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        lead.deadline = self._breach_deadline(self.roles.mql, self.env.now)
        if not self.sdr_work:
            return
        self.sdr_queue.put(lead.item, self._key(lead, self.env.now))
        if self.scenario.patience_hours is not None:
            u = self.streams.draw("patience", lead.i, 1)[0]
            start_patience(self.env, self.sdr_queue, lead.item, exponential(u, self.scenario.patience_hours * 60.0),
                           self._cold)

    def _cold(self, item: Item) -> None:
        lead = item.lead
        if lead.stage != self.roles.mql or lead.attempts > 0:
            return
        self.gone_cold += 1
        self._recycle(lead, "cold")

    def _sdr_serve(self, rep: Rep, item: Item):
        lead: LeadState = item.lead
        env, h = self.env, self.h
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
        # the call, and the qualifying talk if the lead is reached: drawn now, worked as one piece of shift time;
        # five draws from the lead's own stream every attempt (common random numbers)
        u = self.streams.draw("contact", lead.i, 5)
        # the first attempt carries the hand-off's research too (one draw: exponential with their summed mean)
        minutes = exponential(u[0], h.call_minutes + (h.research_minutes if lead.attempts == 1 else 0.0))
        reached = u[1] < adjust(self.scenario.curve.contact_base, self.curve.contact_multiplier(delay))
        qualified = False
        if reached:
            minutes += exponential(u[2], h.qualify_minutes)
            # qualification reads the first response's delay, as the fit does: a lead reached at a retry was
            # already kept waiting that long (docs/design.md section 7.1, "Speed-to-lead curves")
            p = adjust(self.q_list[lead.i], self.curve.qualification_multiplier(lead.handoff.response))
            qualified = u[3] < p
        yield rep.work(minutes)
        self.rec.service(rep.name, lead.i, start, env.now, minutes)
        if lead.stage != self.roles.mql or lead.episode != episode:
            return
        if qualified:
            self._to_sales_lead(lead, "qualified")
        elif reached:
            if self.never_list[lead.i] or u[4] < (0.25 if self.decisions is None else self.decisions.disqualify_share):
                lead.handoff.outcome = "disqualified"
                self._close(lead, self.d.funnel.disqualify.to, self.dq_reason[lead.i])
            else:
                self._recycle(lead, "not_qualified")
        elif lead.attempts <= len(h.retry_minutes):
            gap = h.retry_minutes[lead.attempts - 1]
            env.timeout(gap).callbacks.append(lambda _e, lead=lead, ep=episode: self._retry(lead, ep))
        else:
            self._recycle(lead, "no_contact")

    def _retry(self, lead: LeadState, episode: int) -> None:
        if lead.stage != self.roles.mql or lead.episode != episode or lead.item.queued:
            return
        lead.deadline = self.env.now + self.h.retry_deadline_minutes
        self.sdr_queue.put(lead.item, self._key(lead, self.env.now))

    # -- sales stage ---------------------------------------------------------------------

    def _pick_rep(self) -> str | None:
        if not self.open_sl:
            return None
        return min(self.open_sl, key=lambda r: (self.open_sl[r], r))

    def _to_sales_lead(self, lead: LeadState, reason: str, owner: str | None = None) -> None:
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
        lead.deadline = self._breach_deadline(self.roles.sql, self.env.now, owner)
        if lead.item is None:
            lead.item = Item(lead.i, lead)
        self.rep_queues[owner].put(lead.item, self._key(lead, self.env.now))

    def _rep_serve(self, rep: Rep, item: Item):
        lead: LeadState = item.lead
        if lead.stage != self.roles.sql or lead.owner != rep.name:
            return
        start = self.env.now
        self.rec.touch(lead.i, start, "email", rep.name)
        lead.last_touch = start
        minutes = exponential(self.streams.draw("sales", lead.i, 1)[0], self.h.rep_touch_minutes)
        yield rep.work(minutes)
        self.rec.service(rep.name, lead.i, start, self.env.now, minutes)
        if lead.stage == self.roles.sql:
            self._schedule_decision(lead)

    def _schedule_decision(self, lead: LeadState) -> None:
        days = exponential(self.streams.draw("sales", lead.i, 1)[0], self.h.decision_days)
        at = self.wt.add_days(self.env.now, days)
        if at < INF:
            self.env.timeout(at - self.env.now).callbacks.append(
                lambda _e, lead=lead, seq=lead.seq: self._decide(lead, seq))

    def _decide(self, lead: LeadState, seq: int) -> None:
        if lead.stage != self.roles.sql or lead.seq != seq:
            return
        u = self.streams.draw("sales", lead.i, 2)
        dec = self.decisions
        p = (1 / (1 + math.exp(-(self.h.opportunity_bias + 0.8 * self.intent[lead.i]))) if dec is None
             else dec.opportunity_share)
        if u[0] < p and not self.never_list[lead.i]:
            self.open_sl[lead.owner] = self.open_sl.get(lead.owner, 1) - 1
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "converted", lead.owner)
            if lead.handoff is not None:
                lead.handoff.opportunity = True
            self._schedule_close(lead)
        elif self.never_list[lead.i] or u[1] < (0.3 if dec is None else dec.sales_disqualify_share):
            if lead.handoff is not None:
                lead.handoff.outcome = "disqualified"
            self._close(lead, self.d.funnel.disqualify.to, self.dq_reason[lead.i])
        else:
            self._recycle(lead, "recycled_by_sales")

    def _schedule_close(self, lead: LeadState) -> None:
        at = self.wt.add_days(self.env.now, exponential(self.streams.draw("sales", lead.i, 1)[0], self.h.close_days))
        if at < INF:
            self.env.timeout(at - self.env.now).callbacks.append(lambda _e, lead=lead: self._close_opp(lead))

    def _close_opp(self, lead: LeadState) -> None:
        if lead.stage != self.d.funnel.milestones.opportunity:
            return
        p = (1 / (1 + math.exp(-(self.h.win_bias + 0.8 * self.intent[lead.i]))) if self.decisions is None
             else self.decisions.win_share)
        won = self.streams.draw("sales", lead.i, 1)[0] < p
        if lead.handoff is not None:
            lead.handoff.won = won
            lead.handoff.outcome = "won" if won else "lost"
        if won:
            self._close(lead, self.d.funnel.milestones.won, "won")
        else:
            self._close(lead, self.d.funnel.lost.to, "lost")

    def _outbound(self, lead: LeadState) -> None:
        owner = self._pick_rep()
        if self.entry[lead.i] == self.d.funnel.milestones.opportunity or owner is None:
            self._set_stage(lead, self.d.funnel.milestones.opportunity, "outbound", owner)
            self.rec.touch(lead.i, self.env.now, "meeting", owner or "sales")
            lead.last_touch = self.env.now
            self._schedule_close(lead)
        else:
            self._to_sales_lead(lead, "outbound", owner)
