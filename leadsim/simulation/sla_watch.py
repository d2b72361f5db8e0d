"""SLA clocks during a run: the ladder of :mod:`leadsim.sla.ladder` applied to the leads' live state.

Each level wakes up when due, after everything else due then
(:data:`leadsim.simulation.reps.LATE`: a stop at the due time prevents the
alert), checks the stop rule, records the alert and escalates: a manager or
leadership level moves a waiting lead to the front of its queue, or
(``escalation: free_rep``) a Sales Lead to a rep who is free, a second later,
writing a re-assignment row.  A mixin of
:class:`leadsim.simulation.model.Model`.
"""

from __future__ import annotations

from leadsim.simulation.clocks import INF
from leadsim.simulation.lead import LeadState
from leadsim.simulation.people import held_due
from leadsim.simulation.records import SECOND
from leadsim.simulation.reps import LATE, Later
from leadsim.sla import ladder

__all__ = ["SlaWatch"]


class SlaWatch:
    """The run's SLA clocks (methods of the run's Model)."""

    # -- SLA clocks ----------------------------------------------------------------------

    def _start_clocks(self, lead: LeadState) -> None:
        clocks = self.clocks_of.get(lead.stage, ())
        if not clocks:
            return
        start = len(self.starts)  # a hand-off into a watched stage: its clocks start at the stage-log row's time
        self.starts.append((lead.i, lead.entered_ns, lead.owner, lead.score))
        lead.visit = start
        for c, clock in clocks:
            self._arm(lead, c, clock, self.env.now, lead.seq, 0, start)

    def _stopped(self, lead: LeadState, clock, t0: float, seq: int) -> bool:
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

    def _arm(self, lead: LeadState, c: int, clock, t0: float, seq: int, k: int, start: int) -> None:
        """Wake up when level ``k`` of a clock started at ``t0`` is due, after everything else due then (a stop
        at the due time itself prevents the alert); a timeout cannot be cancelled: the state is checked then."""
        if self.staff.single:
            due = self.wt.add(t0, clock.levels[k].offset, clock.unit, clock.wall_clock)
        else:  # on the holder's calendar; a re-assignment arms the level again (_reassigned)
            due = self._held_due(start, clock, k, t0)
            self.armed.setdefault(start, {})[c] = armed = (lead, c, clock, t0, seq, k, due)
        if due < self.horizon:
            Later(self.env, max(due - self.env.now, 0.0), LATE).callbacks.append(
                lambda _e: self._fire(lead, c, clock, t0, seq, k, start, None if self.staff.single else armed))

    def _held_due(self, start: int, clock, k: int, t0: float) -> float:
        """When level ``k`` of a clock started at ``t0`` is due on the calendar of the owner holding the lead."""
        return held_due(self.staff, self.staff.code(self.starts[start][2]), self.handovers.get(start, ()),
                        clock, k, t0)

    def _reassigned(self, lead: LeadState, owner: str) -> None:
        """A re-assignment of the lead's visit to ``owner``: the clocks waiting on it move to their calendar."""
        if self.staff.single or lead.visit < 0:
            return
        self.handovers.setdefault(lead.visit, []).append((self.env.now, self._now_ns(), self.staff.code(owner)))
        for armed in list(self.armed.get(lead.visit, {}).values()):
            lead_, c, clock, t0, seq, k, due = armed
            if due > self.env.now:
                self._arm(lead_, c, clock, t0, seq, k, lead.visit)

    def _fire(self, lead: LeadState, c: int, clock, t0: float, seq: int, k: int, start: int,
              armed: tuple | None = None) -> None:
        if armed is not None:
            if self.armed.get(start, {}).get(c) is not armed:
                return  # armed again since (a re-assignment moved the level)
            del self.armed[start][c]
        if self._stopped(lead, clock, t0, seq):
            return
        lv = clock.levels[k]
        self.rec.rows["alert"].append((start, c, k, lead.owner))
        if self.scenario.escalation != "none" and any(r in ("manager", "leadership") for r in lv.recipients):
            # a second after the alert, as a manager acts on it: a move at the due time itself would void the
            # alert (the tie rule: a touch by the new owner at the due time stops the level)
            self.env.timeout(SECOND).callbacks.append(lambda _e: self._escalate(lead))
        if k + 1 < len(clock.levels):
            self._arm(lead, c, clock, t0, seq, k + 1, start)
        elif self.d.sla.auto_return_after_last and lead.stage in self.roles.handed:
            # a second after the alert: a move at the due time itself would void it (tie rule of leadsim.sla)
            self.env.timeout(SECOND).callbacks.append(lambda _e: self._auto_return(lead, seq))

    def _auto_return(self, lead: LeadState, seq: int) -> None:
        if lead.seq == seq and lead.stage in self.roles.handed:
            self._recycle(lead, "auto_return")

    def _escalate(self, lead: LeadState) -> None:
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
                self._reassigned(lead, new.name)
                q = new.queue
        q.put(item, self._key(lead, item.enqueued_at))
