"""The known truth behind a synthetic history: who becomes an SQL, and why.

A hand-off ``h`` of lead ``i`` at time ``t`` becomes an SQL with probability

    P(sql) = E_e[ logistic(intercept + sum_k b_k * x_k(h) + b_rm * log1p(response_minutes) + e) ],
    e ~ Normal(0, latent_sd), independent of everything observed,

where the features ``x_k`` are keyed by the rule ids of :attr:`GroundTruth.definition`
(in :func:`leadsim.datasets.make_history`: the sample definition's rules,
whatever definition drove the hand-offs):

- fit rule and ``bant_<fact>`` ids: 1 if the rule fires on the lead's
  attributes, else 0 (points play no part);
- behaviour rule ids: the *uncapped* decayed count of the rule's matching
  activities (activity name and detail filter) within the rule's
  ``window_days`` before ``t`` (all earlier ones when it has no window), each
  weighted ``0.5 ** (age_days / half_life_days)`` with the truth's own
  ``half_life_days``; ``at_least`` and ``recency`` rules count the same way;
  recycles do not reset these counts;
- ``response_minutes_log``: ``log1p`` of the wall-clock minutes from
  hand-off to the SDR's first touch.

Features are computed with :func:`leadsim.scoring.contributions` on a
"counting" copy of the rules (every point 1, no caps, the truth's half-life),
so the truth reads attributes and activities exactly as scoring does.

>>> from leadsim import load_definition
>>> t = default_truth(load_definition())
>>> t.coefficients["runs_erp"], t.coefficients["core_industry"], t.coefficients["response_minutes_log"]
(0.8, 0.0, -0.3)
>>> import pandas as pd
>>> x = pd.DataFrame(0.0, index=[0], columns=list(t.coefficients))   # nothing fires, answered at once
>>> round(float(t.p_sql(x, latent=False)[0]), 4)                    # logistic(intercept)
0.0547
>>> bool(t.p_sql(x)[0] > t.p_sql(x, latent=False)[0])               # the latent term spreads it out
True
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field

import numpy as np
import pandas as pd

from leadsim.definition import BehaviourRule, LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import SchemaError

__all__ = ["GroundTruth", "default_truth"]

#: True effects on the log-odds of SQL; rule ids of the default definition.
#: Each is either clearly non-zero (|b| >= 0.3) or exactly 0.
TRUE_COEFFICIENTS: dict[str, float] = {
    # demographic: seniority matters, but 'manager' and years of experience do not
    "senior_exec": 0.8, "director": 0.5, "manager": 0.0, "student": -1.5,
    "revenue_role": 0.6, "experienced": 0.0,
    "business_email": 0.4, "private_email": 0.0,  # one of the pair carries it (they are complementary)
    "competitor": -2.5,
    # firmographic: size and home region matter; industry, revenue and subsidiaries do not
    "size_mid": 0.3, "size_large": 0.7, "size_enterprise": 0.9,
    "core_industry": 0.0, "home_region": 0.5, "revenue_50m": 0.0, "group_company": 0.0,
    "runs_erp": 0.8,  # worth far more than its 10 points
    # BANT
    "bant_budget": 0.9, "bant_authority": 0.6, "bant_need": 1.0, "bant_timeline": 0.7,
    # behaviour (decayed counts): plain visits and e-mail clicks carry nothing, job seekers hurt
    "web_visit": 0.0, "pricing_page": 0.4, "careers_page": -0.8, "email_click": 0.0,
    "content_download": 0.3, "webinar": 0.5, "live_demo": 0.6, "in_depth_demo": 1.0,
    "free_trial": 0.3,  # the 50-point trial form is weaker evidence than the contact form
    "contact_form": 1.2, "unsubscribed": -0.6, "frequent_visitor": 0.0, "recently_active": 0.0,
    # speed to lead: every e-fold of waiting lowers the odds
    "response_minutes_log": -0.3,
}
TRUE_INTERCEPT = -2.85
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class GroundTruth:
    """The true SQL model of a synthetic history (see the module docstring)."""

    intercept: float
    coefficients: dict[str, float]
    definition: LeadDefinition = field(repr=False, compare=False)
    _: KW_ONLY
    latent_sd: float = 0.5
    half_life_days: float = 21.0

    @property
    def feature_names(self) -> list[str]:
        return list(self.coefficients)

    def linear_predictor(self, features: pd.DataFrame) -> np.ndarray:
        """``intercept + features @ coefficients`` (the latent term left out)."""
        missing = [k for k in self.coefficients if k not in features.columns]
        if missing:
            raise SchemaError(f"missing feature column(s) {missing[:5]}; build them with GroundTruth.features()",
                              where="features")
        x = features[self.feature_names].to_numpy(dtype=float)
        return self.intercept + x @ np.array(list(self.coefficients.values()))

    def p_sql(self, features: pd.DataFrame, *, latent: bool = True) -> np.ndarray:
        """Chance of SQL per row; averaged over the latent term unless ``latent=False``."""
        eta = self.linear_predictor(features)
        if not latent or self.latent_sd == 0:
            return 1.0 / (1.0 + np.exp(-eta))
        z = eta[:, None] + self.latent_sd * _NODES[None, :]
        return (1.0 / (1.0 + np.exp(-z))) @ _WEIGHTS

    def counting_definition(self) -> LeadDefinition:
        """The truth's rules as a definition whose contributions *are* the features."""
        d = self.definition
        fit = [r.model_copy(update={"points": 1.0}) for r in d.fit_rules]
        bant = {k: r.model_copy(update={"points": 1.0}) for k, r in d.bant.items()}
        beh = [
            BehaviourRule.model_construct(
                id=r.id, label=r.label, activity=r.activity, detail=r.detail, points=1.0, mode="each",
                min_count=1, cap=None, half_life_days=self.half_life_days, window_days=r.window_days,
            )
            for r in d.behaviour_rules
        ]
        return d.model_copy(update={"fit_rules": fit, "bant": bant, "behaviour_rules": beh,
                                    "hot_triggers": [], "on_recycle": "keep"})

    def features(self, leads: pd.DataFrame, activities: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The feature matrix of every hand-off, indexed by ``handoff_id``.

        Each hand-off is evaluated at its own ``handed_at``: its lead's
        activities are shifted so that all hand-offs share one reference time,
        and a single vectorised :func:`leadsim.scoring.contributions` call does
        the counting.
        """
        from leadsim.scoring import contributions

        need = ["handoff_id", "lead_id", "handed_at", "response_minutes"]
        missing = [c for c in need if c not in outcomes.columns]
        if missing:
            raise SchemaError(f"missing column(s) {missing}", where="outcomes")
        ho = outcomes[need].reset_index(drop=True)
        if len(ho) == 0:
            return pd.DataFrame(columns=self.feature_names, index=pd.Index([], name="handoff_id"), dtype=float)
        handed = ho["handed_at"].to_numpy(dtype="datetime64[ns]")
        ref = handed.max()
        pseudo = leads.set_index("lead_id").loc[ho["lead_id"].to_numpy()].reset_index(drop=True)
        pseudo.insert(0, "lead_id", ho["handoff_id"].astype(str).to_numpy())
        acts = activities[["lead_id", "activity", "at", "detail"]].merge(
            pd.DataFrame({"lead_id": ho["lead_id"].to_numpy(), "handoff_id": ho["handoff_id"].to_numpy(),
                          "shift": ref - handed}), on="lead_id")
        acts["at"] = acts["at"].to_numpy(dtype="datetime64[ns]") + acts["shift"].to_numpy()
        acts["lead_id"] = acts["handoff_id"]
        contrib = contributions(pseudo, acts.drop(columns=["handoff_id", "shift"]), self.counting_definition(),
                                as_of=pd.Timestamp(ref))
        out = contrib.reindex(columns=[k for k in self.feature_names if k != "response_minutes_log"], fill_value=0.0)
        out["response_minutes_log"] = np.log1p(ho["response_minutes"].to_numpy(dtype=float, na_value=np.nan))
        out.index = pd.Index(ho["handoff_id"].astype(str).to_numpy(), name="handoff_id")
        return out[self.feature_names].astype(float)


def default_truth(definition: LeadDefinition) -> GroundTruth:
    """The synthetic world's truth, its features counted with ``definition``'s rules.

    :func:`leadsim.datasets.make_history` uses it with the sample definition
    unless given another ``truth``.
    """
    definition = require_definition(definition, where="default_truth")
    return GroundTruth(TRUE_INTERCEPT, dict(TRUE_COEFFICIENTS), definition)
