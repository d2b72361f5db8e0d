"""Stage-aware scores (leadsim.scoring.states): each lead's stage and MQL state at as_of, and "MQLs now", stars and
flames among open marketing-stage leads only; hand-worked stage logs and a plain pandas reading of the sample's."""

from __future__ import annotations

import pandas as pd
import pytest

from leadsim.scoring import required_columns, score
from leadsim.scoring.states import mqls_now

AS_OF = "2026-03-31 12:00"
# fit 150 (see tests/test_gates.py) and one webinar the day before: 150 + 14.77 + 5, an MQL by score
FIT_150 = {"seniority": "vp", "job_title": "VP Sales", "years_experience": 12, "email": "eva@acme.de",
           "company_size": 2000, "industry": "software", "region": "DACH", "revenue_musd": 80,
           "products_in_use": "SAP ERP", "bant_budget": "approved", "bant_authority": "decision_maker"}


def _five(definition):
    """Five equal MQL-worthy leads in different places of the funnel at AS_OF."""
    ids = ["T", "N", "L", "C", "X"]
    leads = pd.DataFrame([{"lead_id": i, **FIT_150} for i in ids]).reindex(columns=required_columns(definition)["leads"])
    acts = pd.DataFrame({"lead_id": ids, "activity": "webinar", "at": pd.Timestamp("2026-03-30 12:00"), "detail": None})
    log = pd.DataFrame({
        "lead_id": ["T", "T", "N", "L", "L", "C", "C", "C", "X"],
        "stage": ["name", "target", "name", "target", "lead", "target", "lead", "customer", "target"],
        "at": pd.to_datetime(["2026-03-01", "2026-03-10", "2026-03-01", "2026-03-01", "2026-03-20", "2026-03-01",
                              "2026-03-05", "2026-03-25", "2026-04-05"]),  # X enters Target after AS_OF
    })
    return leads, acts, log


def test_states_of_hand_made_stage_logs(definition):
    leads, acts, log = _five(definition)
    s = score(leads, acts, definition, as_of=AS_OF, stage_log=log)
    assert s["is_mql"].all()  # the rules say MQL for all five ...
    # ... but T waits in Target, N is at Name (not scored yet), L was handed over, C is a customer, X not there yet
    assert s["stage"].iloc[:4].tolist() == ["target", "name", "lead", "customer"] and pd.isna(s["stage"].iloc[4])
    assert s["mql_state"].tolist() == ["mql", "not_scored", "handed_over", "closed", "unknown"]
    assert mqls_now(s) == 2  # T and the unknown X
    # stars and flames rank the open ones only (T and X, equal scores: 1 star each; 19.77 gained: 1 flame)
    assert s["priority"].tolist() == [1, 0, 0, 0, 1]
    assert s["urgency"].tolist() == [1, 0, 0, 0, 1]


def test_without_a_stage_log_the_stage_is_unknown(definition):
    leads, acts, _ = _five(definition)
    s = score(leads, acts, definition, as_of=AS_OF)
    assert s["stage"].isna().all() and (s["mql_state"] == "unknown").all()
    assert mqls_now(s) == 5 and (s["priority"] >= 1).all()


@pytest.fixture(scope="module")
def sample():
    from leadsim.datasets import load_sample

    return load_sample()


def test_mqls_now_on_the_sample_are_open_marketing_leads(sample):
    as_of = sample.activities["at"].max()
    s = score(sample.leads, sample.activities, sample.definition, as_of=as_of, stage_log=sample.stage_log)
    # each lead's stage at as_of, read with plain pandas: its last row at or before as_of
    log = sample.stage_log[sample.stage_log["at"] <= as_of].sort_values("at", kind="stable")
    last = log.groupby("lead_id")["stage"].last()
    now = s[s["is_mql"] & s["mql_state"].isin(["mql", "below", "unknown"])].index
    stages = last.reindex(now)
    closed = {"customer", "disqualified", "lost"}
    handed = {"lead", "sales_lead", "opportunity"}
    assert not stages.isin(closed | handed).any()
    assert mqls_now(s) == len(now) == int(stages.eq("target").sum() + stages.isna().sum())
    # the rules alone call more leads MQLs: the closed and handed-over ones are left out of "MQLs now"
    everyone = s[s["is_mql"]].index
    assert last.reindex(everyone).isin(closed | handed).sum() == len(everyone) - len(now)
    # stars and flames: none outside the open marketing stages
    out = ~last.reindex(s.index).isin(["target"]) & last.reindex(s.index).notna()
    assert (s.loc[out, "priority"] == 0).all() and (s.loc[out, "urgency"] == 0).all()
