"""The stages a simulated lead moves through, read from the definition's funnel.

The simulation names no stage itself: a definition may call its stages
anything (``sal`` for Sales Lead, German ids, ...).  :class:`StageRoles`
finds, from ``funnel.milestones`` and the order of ``funnel.stages``:

* ``created``: where an inbound lead enters (the first marketing stage that
  is an entry stage);
* ``engaged``: the marketing stage between ``created`` and ``scored``, if the
  funnel has one (Active: "has interacted more deeply");
* ``scored``, ``mql``, ``sql``, ``opportunity``, ``won``: the milestones;
* ``marketing``: every stage before ``mql`` in the funnel's order.

A lead climbs ``created -> engaged -> scored`` at deep activities (one step
each), is handed to SDRs at ``mql``, and so on.  A funnel the simulation
cannot run (a move it makes that the definition does not allow, an entry
stage missing, two stages between ``created`` and ``scored``) is refused with
a :class:`~leadsim.errors.ScenarioError` naming the stage.

>>> from leadsim import load_definition
>>> r = StageRoles.of(load_definition())
>>> r.created, r.engaged, r.scored, r.mql, r.sql, r.marketing
('name', 'active', 'target', 'lead', 'sales_lead', ('name', 'active', 'target'))
>>> r.climb("name"), r.climb("active")
('active', 'target')
"""

from __future__ import annotations

from dataclasses import dataclass

from leadsim.definition import LeadDefinition
from leadsim.errors import ScenarioError

__all__ = ["StageRoles"]


@dataclass(frozen=True)
class StageRoles:
    """Which stage id plays which part in a simulated run."""

    created: str
    engaged: str | None
    scored: str
    mql: str
    sql: str
    opportunity: str
    won: str
    marketing: tuple[str, ...]

    @property
    def climbing(self) -> tuple[str, ...]:
        """The stages a deep activity moves a lead on from."""
        return (self.created,) if self.engaged is None else (self.created, self.engaged)

    @property
    def handed(self) -> tuple[str, str]:
        """The stages a lead is in while sales work on it (auto-return recycles from these)."""
        return (self.mql, self.sql)

    def climb(self, stage: str) -> str:
        """The stage a deep activity moves a lead in ``stage`` to."""
        if stage == self.created and self.engaged is not None:
            return self.engaged
        return self.scored

    @classmethod
    def of(cls, definition: LeadDefinition) -> StageRoles:
        f = definition.funnel
        ms = f.milestones
        ids = f.stage_ids
        where = "definition.funnel"
        if ms.mql not in ids:
            raise ScenarioError(f"the MQL milestone {ms.mql!r} is not a stage", where=f"{where}.milestones")
        marketing = tuple(ids[: ids.index(ms.mql)])
        entries = [s for s in marketing if s in f.entry]
        if not entries:
            raise ScenarioError(f"no marketing stage (before {ms.mql!r}) is an entry stage: inbound leads could not "
                                "enter; list one under funnel.entry", where=f"{where}.entry")
        created = entries[0]
        if ms.scored not in marketing or marketing.index(ms.scored) < marketing.index(created):
            raise ScenarioError(f"the scored milestone {ms.scored!r} must be a marketing stage after {created!r}",
                                where=f"{where}.milestones.scored")
        between = marketing[marketing.index(created) + 1: marketing.index(ms.scored)]
        if len(between) > 1:
            raise ScenarioError(f"the simulation moves a lead one step from {created!r} to {ms.scored!r}; the "
                                f"funnel has {list(between)} between them", where=f"{where}.stages")
        roles = cls(created=created, engaged=between[0] if between else None, scored=ms.scored, mql=ms.mql,
                    sql=ms.sql, opportunity=ms.opportunity, won=ms.won, marketing=marketing)
        roles._check_moves(definition)
        return roles

    def _check_moves(self, definition: LeadDefinition) -> None:
        f = definition.funnel
        allowed = f.allowed()
        moves = [(a, self.climb(a)) for a in self.climbing]
        moves += [(s, self.mql) for s in self.marketing]
        moves += [(self.mql, self.sql), (self.sql, self.opportunity), (self.opportunity, self.won),
                  (self.mql, f.recycle.to), (self.sql, f.recycle.to), (self.mql, f.disqualify.to),
                  (self.sql, f.disqualify.to), (self.opportunity, f.lost.to)]
        for a, b in moves:
            if (a, b) not in allowed:
                raise ScenarioError(f"the simulation moves leads from {a!r} to {b!r}, which the funnel does not "
                                    "allow; add it to funnel.transitions (or the side exit)", where=f"stage {a!r}")
        for s in (self.created, self.sql, self.opportunity):
            if s not in f.entry:
                raise ScenarioError(f"leads enter the simulation at {s!r}, which is not in funnel.entry",
                                    where=f"stage {s!r}")
