"""The stages a simulated lead moves through, read from the definition's funnel.

The simulation names no stage itself: a definition may call its stages
anything (``sal`` for Sales Lead, German ids, ...).  :class:`StageRoles`
finds, from ``funnel.milestones``, ``funnel.entry`` and the order of
``funnel.stages``:

* ``created``: where an inbound lead enters (the first marketing stage that
  is an entry stage);
* ``scored``, ``mql``, ``sql``, ``opportunity``, ``won``: the milestones;
* ``marketing``: every stage before ``mql`` in the funnel's order.

Through the marketing stages a lead moves by the definition's TOFU
progression (:mod:`leadsim.progression`, the rule the history generator uses
too); it is handed to SDRs at ``mql``, and so on.  A funnel the simulation
cannot run (a move it makes that the definition does not allow, no entry
stage for inbound leads) is refused with a
:class:`~leadsim.errors.ScenarioError` naming the stage.

>>> from leadsim import load_definition
>>> r = StageRoles.of(load_definition())
>>> r.created, r.scored, r.mql, r.sql, r.marketing
('name', 'target', 'lead', 'sales_lead', ('name', 'active', 'target'))
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
    scored: str
    mql: str
    sql: str
    opportunity: str
    won: str
    marketing: tuple[str, ...]

    @property
    def handed(self) -> tuple[str, str]:
        """The stages a lead is in while sales work on it (auto-return recycles from these)."""
        return (self.mql, self.sql)

    @classmethod
    def of(cls, definition: LeadDefinition) -> StageRoles:
        f = definition.funnel
        ms = f.milestones
        where = "definition.funnel"
        marketing = tuple(f.marketing_stages)
        created = f.inbound_entry
        if created is None:
            raise ScenarioError(f"no marketing stage (before {ms.mql!r}) is an entry stage: inbound leads could not "
                                "enter; list one under funnel.entry", where=f"{where}.entry")
        if ms.scored not in marketing or marketing.index(ms.scored) < marketing.index(created):
            raise ScenarioError(f"the scored milestone {ms.scored!r} must be a marketing stage after {created!r}",
                                where=f"{where}.milestones.scored")
        roles = cls(created=created, scored=ms.scored, mql=ms.mql, sql=ms.sql, opportunity=ms.opportunity,
                    won=ms.won, marketing=marketing)
        roles._check_moves(definition)
        return roles

    def _check_moves(self, definition: LeadDefinition) -> None:
        f = definition.funnel
        allowed = f.allowed()
        moves = [(s, self.mql) for s in self.marketing]
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
