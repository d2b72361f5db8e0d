"""One simulated lead's state: where it is, who holds it, its clocks' bookkeeping."""

from __future__ import annotations

import math

from leadsim.simulation.clocks import INF
from leadsim.simulation.records import Handoff
from leadsim.simulation.reps import Item

__all__ = ["LeadState"]


class LeadState:
    """A lead as the run sees it (mutable; the tables are written from the records, not from these)."""

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
        "visit",
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
        self.handoff: Handoff | None = None
        self.handed_at = 0.0
        self.attempts = 0
        self.score = math.nan  # the score of the lead's last hand-off (none yet)
        self.hot = False
        self.deadline = INF
        self.escalated = False
        self.entered_ns = 0
        self.visit = -1  # the clock start of the lead's current visit to a watched stage (Model.starts)
