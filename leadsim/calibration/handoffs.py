"""Each hand-off scored by :func:`leadsim.scoring.score` at its own ``handed_at``, and the unit rules behind the features.

Calibration learns points for the features *exactly as scoring computes
them*: a rule's feature is its contribution with one point, so that a rule
worth ``p`` points contributes ``p`` times its feature.  For a behaviour rule
that means (:func:`unit_definition`):

* ``each``: the decayed count in the window, capped at ``cap / |points|``
  occurrences (the cap kept as a number of occurrences), decayed with the
  shared half-life under test (``math.inf``: no decay);
* ``at_least`` and ``recency``: 1 when the rule fires, else 0.

:func:`revised_rule` turns a unit rule and its new points back into a rule
(the cap again ``|points| * occurrences``), so that ``score()`` of the revised
definition is the sum of ``points * feature``: no conversion is lost.

:class:`HandoffScorer` makes one pseudo-lead per hand-off (the lead's
attributes; its activities shifted so that every hand-off sits at one
reference time) and scores any definition with scoring's own functions.

>>> from leadsim import load_definition
>>> d = load_definition()
>>> u = unit_definition(d, half_life=21.0)
>>> r = {x.id: x for x in u.behaviour_rules}
>>> r["live_demo"].points, r["live_demo"].cap, r["live_demo"].half_life_days, r["frequent_visitor"].mode
(1.0, 1.0, 21.0, 'at_least')
>>> back = revised_rule(r["live_demo"], 12.0, original=d.behaviour_rules[6])
>>> back.points, back.cap
(12.0, 12.0)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leadsim.definition import BehaviourRule, LeadDefinition
from leadsim.errors import SchemaError

__all__ = ["NO_DECAY", "HandoffScorer", "half_life_label", "revised_rule", "unit_definition"]

#: The half-life candidate meaning "no decay" (every occurrence in the window weighs 1).
NO_DECAY = math.inf


def half_life_label(h: float) -> str:
    """``"no decay"`` for :data:`NO_DECAY`, else the number of days.

    >>> half_life_label(21.0), half_life_label(NO_DECAY)
    ('21', 'no decay')
    """
    return "no decay" if not math.isfinite(h) else f"{h:g}"


def _occurrence_cap(rule: BehaviourRule) -> float | None:
    if rule.mode != "each" or rule.cap is None or rule.points == 0:
        return None
    return float(rule.cap) / abs(float(rule.points))


def unit_definition(definition: LeadDefinition, *, half_life: float | None, fit: bool = False) -> LeadDefinition:
    """A copy whose contributions *are* the features: every point 1, shapes kept.

    ``fit=False`` (default): the behaviour rules only, each ``each`` rule
    decayed with ``half_life`` (``None`` keeps each rule's own half-life,
    :data:`NO_DECAY` none) and capped at its cap in occurrences.
    ``fit=True``: the fit and BANT rules only (1 when a rule fires).
    """
    base = {"hot_triggers": [], "on_recycle": "keep"}
    if fit:
        return definition.model_copy(update={
            **base,
            "fit_rules": [r.model_copy(update={"points": 1.0}) for r in definition.fit_rules],
            "bant": {k: r.model_copy(update={"points": 1.0}) for k, r in definition.bant.items()},
            "behaviour_rules": [],
        })
    rules = []
    for r in definition.behaviour_rules:
        hl = r.half_life_days
        if r.mode == "each" and half_life is not None:
            hl = None if not math.isfinite(half_life) else float(half_life)
        rules.append(BehaviourRule.model_construct(
            id=r.id, label=r.label, activity=r.activity, detail=r.detail, points=1.0, mode=r.mode,
            min_count=r.min_count, cap=_occurrence_cap(r), half_life_days=hl, window_days=r.window_days,
        ))
    return definition.model_copy(update={**base, "fit_rules": [], "bant": {}, "behaviour_rules": rules})


def revised_rule(unit: BehaviourRule, points: float, *, original: BehaviourRule | None = None) -> BehaviourRule:
    """The rule worth ``points`` per unit of its feature: ``unit``'s shape, the cap ``|points|`` times its occurrences.

    ``original`` supplies the label and anything else the unit copy dropped.
    """
    data = (original or unit).model_dump(exclude={"points", "cap", "half_life_days"})
    cap = None
    if unit.mode == "each" and unit.cap is not None and points != 0:
        cap = abs(float(points)) * float(unit.cap)
    return BehaviourRule(**data, points=float(points), cap=cap,
                         half_life_days=unit.half_life_days if unit.mode == "each" else None)


class HandoffScorer:
    """One pseudo-lead per hand-off; scores a definition at each hand-off's ``handed_at``.

    ``leads`` is the leads table, ``activities`` the activity log; ``handoff``,
    ``lead`` and ``handed`` the hand-off ids, lead ids and times (numpy arrays).
    Activities later than a hand-off, or older than ``max_window_days``, never
    reach its pseudo-lead.
    """

    def __init__(self, leads: pd.DataFrame, activities: pd.DataFrame, *, handoff: np.ndarray, lead: np.ndarray,
                 handed: np.ndarray, max_window_days: float | None = None):
        missing = [c for c in ("lead_id", "activity", "at") if c not in activities.columns]
        if missing:
            raise SchemaError(f"missing column(s) {missing}; present: {list(activities.columns)[:12]}",
                              where="activities")
        self.ids = pd.Index(np.asarray(handoff, dtype=object).astype(str), name="handoff_id")
        handed = np.asarray(handed, dtype="datetime64[ns]")
        self.ref = pd.Timestamp(handed.max()) if len(handed) else pd.Timestamp("2000-01-01")
        pos = pd.Index(leads["lead_id"].astype(str).to_numpy(dtype=object)).get_indexer(
            np.asarray(lead, dtype=object).astype(str))
        self.leads = leads.iloc[pos].reset_index(drop=True)
        self.leads["lead_id"] = self.ids.to_numpy()
        cols = ["lead_id", "activity", "at"] + (["detail"] if "detail" in activities.columns else [])
        acts = activities[cols].copy()
        acts["lead_id"] = acts["lead_id"].astype(str)
        hand = pd.DataFrame({"lead_id": np.asarray(lead, dtype=object).astype(str), "_h": self.ids.to_numpy(),
                             "_t": handed})
        pairs = acts.merge(hand, on="lead_id", how="inner", sort=False)
        at = pairs["at"].to_numpy(dtype="datetime64[ns]")
        age = pairs["_t"].to_numpy(dtype="datetime64[ns]") - at
        keep = age >= np.timedelta64(0, "ns")
        if max_window_days is not None:
            keep &= age < np.timedelta64(int(max_window_days * 86_400e9), "ns")
        pairs = pairs.loc[keep]
        shifted = (self.ref.to_datetime64() - age[keep]).astype("datetime64[ns]")
        self.activities = pd.DataFrame({
            "lead_id": pairs["_h"].to_numpy(), "activity": pairs["activity"].to_numpy(), "at": shifted,
            **({"detail": pairs["detail"].to_numpy()} if "detail" in pairs else {}),
        })

    def subset(self, ids) -> HandoffScorer:
        """The scorer of the hand-offs ``ids`` only (same reference time): scoring a sample costs the sample."""
        import copy

        keep = pd.Index(np.asarray(ids, dtype=object).astype(str))

        def among(col: pd.Series) -> np.ndarray:  # object hashing: arrow strings' isin is a Python loop
            return pd.Index(col.to_numpy(dtype=object)).isin(keep)

        out = copy.copy(self)
        out.ids = self.ids[self.ids.isin(keep)]
        out.leads = self.leads[among(self.leads["lead_id"])].reset_index(drop=True)
        out.activities = self.activities[among(self.activities["lead_id"])].reset_index(drop=True)
        return out

    def contributions(self, definition: LeadDefinition) -> pd.DataFrame:
        """:func:`leadsim.scoring.contributions` of ``definition`` at every hand-off (rows: hand-off ids)."""
        from leadsim.scoring import contributions

        return contributions(self.leads, self.activities, _plain(definition), as_of=self.ref).reindex(self.ids)

    def score(self, definition: LeadDefinition) -> pd.DataFrame:
        """:func:`leadsim.scoring.score` of ``definition`` at every hand-off (rows: hand-off ids)."""
        from leadsim.scoring import score

        return score(self.leads, self.activities, _plain(definition), as_of=self.ref).reindex(self.ids)


def _plain(definition: LeadDefinition) -> LeadDefinition:
    """Recycles are not replayed on pseudo-leads (each hand-off already sees only its own past)."""
    return definition.model_copy(update={"on_recycle": "keep"})
