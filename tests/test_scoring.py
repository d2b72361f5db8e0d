"""Tests of leadsim.scoring: hand-computed cases, bad input, and (below) the
differential test against the slow reference scorer in tests/reference_scorer.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsim.errors import DataError, SchemaError
from leadsim.scoring import contributions, explain, required_columns, score


def _leads(definition, rows):
    return pd.DataFrame(rows).reindex(columns=required_columns(definition)["leads"])


def _acts(rows):
    df = pd.DataFrame(rows, columns=["lead_id", "activity", "at", "detail"])
    df["at"] = pd.to_datetime(df["at"])
    return df


def test_hand_computed_lead(definition):
    leads = _leads(
        definition,
        [
            {"lead_id": "L1", "seniority": "director", "email": "ann@acme.de", "company_size": 1200,
             "bant_budget": "approved", "products_in_use": "SAP ERP; Excel", "job_title": "Head of Sales"},
            {"lead_id": "L2", "seniority": "student", "email": "bob@gmail.com"},
        ],
    )
    acts = _acts(
        [
            ("L1", "web_visit", "2026-03-17", "/pricing"),  # 14 days old: weight 0.5
            ("L1", "web_visit", "2026-03-31", "/blog"),  # weight 1
            ("L1", "unsubscribe", "2025-01-01", None),  # no window, no decay: -30
            ("L1", "webinar", "2026-04-02", None),  # after as_of: ignored
        ]
    )
    c = contributions(leads, acts, definition, "2026-03-31")
    # fit: director 15 + revenue_role 10 + business e-mail 10 + 1000+ 25 + ERP 10 + budget 15
    assert c.loc["L1", ["director", "revenue_role", "business_email", "size_enterprise", "runs_erp", "bant_budget"]].tolist() == [15, 10, 10, 25, 10, 15]
    assert c.loc["L1", "web_visit"] == pytest.approx(1.5)
    assert c.loc["L1", "pricing_page"] == pytest.approx(5.0)
    assert c.loc["L1", "unsubscribed"] == -30
    assert c.loc["L1", "recently_active"] == 5
    assert c.loc["L1", "webinar"] == 0
    assert c.loc["L2"].sum() == -40 - 10  # student, private e-mail; no business_email (negated regex, present)
    s = score(leads, acts, definition, "2026-03-31")
    assert s.loc["L1", "fit_score"] == 85
    assert s.loc["L1", "behaviour_score"] == pytest.approx(1.5 + 5 - 30 + 5)
    assert s.loc["L1", "grade"] == "A" and s.loc["L2", "grade"] == "D"
    assert s.loc["L1", "engagement"] == "4"
    np.testing.assert_allclose(s["score"], c.sum(axis=1), atol=1e-9)


def test_missing_value_never_matches_even_negated(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    c = contributions(leads, None, definition, "2026-01-01")
    assert (c.loc["L1"] == 0).all()  # business_email is a negated regex: no e-mail, no points


def test_cap_and_hot_and_mql(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L1", "form_fill", "2026-03-30", "contact_us")] + [("L1", "web_visit", "2026-03-31", "/x")] * 40)
    s = score(leads, acts, definition, "2026-03-31")
    c = contributions(leads, acts, definition, "2026-03-31")
    assert c.loc["L1", "web_visit"] == 15  # capped
    assert c.loc["L1", "frequent_visitor"] == 10
    assert bool(s.loc["L1", "is_hot"]) and s.loc["L1", "hot_reason"] == "Contact-us form"
    assert bool(s.loc["L1", "is_mql"])
    # the hot window is 14 days: 20 days later the trigger is gone
    later = score(leads, acts, definition, "2026-04-20")
    assert not bool(later.loc["L1", "is_hot"])


def test_restart_on_recycle_ignores_earlier_activities(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L1", "webinar", "2026-03-01", None), ("L1", "webinar", "2026-03-20", None)])
    log = pd.DataFrame(
        {"lead_id": ["L1"] * 3, "stage": ["target", "lead", "target"],
         "at": pd.to_datetime(["2026-02-01", "2026-03-02", "2026-03-10"])}
    )
    with_log = contributions(leads, acts, definition, "2026-03-20", stage_log=log)
    without = contributions(leads, acts, definition, "2026-03-20")
    assert with_log.loc["L1", "webinar"] == 15
    assert without.loc["L1", "webinar"] == pytest.approx(15 + 15 * 0.5 ** (19 / 45))


def test_timezones_and_string_as_of(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L1", "webinar", "2026-03-31 22:30", None)])
    acts["at"] = acts["at"].dt.tz_localize("UTC")  # 00:30 on April 1st in Berlin
    assert contributions(leads, acts, definition, "2026-03-31 23:59").loc["L1", "webinar"] == 0
    assert contributions(leads, acts, definition, "2026-04-01 00:30").loc["L1", "webinar"] == 15


def test_unknown_lead_ids_raise(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L9", "webinar", "2026-03-01", None), ("L8", "webinar", "2026-03-01", None)])
    with pytest.raises(DataError, match="L9"):
        score(leads, acts, definition, "2026-03-31")


def test_missing_columns_raise(definition):
    leads = _leads(definition, [{"lead_id": "L1"}]).drop(columns="seniority")
    with pytest.raises(SchemaError, match="leads.*seniority"):
        score(leads, None, definition, "2026-03-31")
    acts = _acts([]).drop(columns="at")
    with pytest.raises(SchemaError, match="activities.*'at'"):
        score(_leads(definition, [{"lead_id": "L1"}]), acts, definition, "2026-03-31")


def test_bad_as_of_and_duplicate_leads(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    with pytest.raises(DataError, match="as_of"):
        score(leads, None, definition, "not a date")
    with pytest.raises(DataError, match="duplicate.*L1"):
        score(pd.concat([leads, leads]), None, definition, "2026-01-01")


def test_explain_orders_factors(definition):
    c = pd.DataFrame({"a": [5.0], "b": [-3.0], "c": [9.0], "d": [0.0]}, index=pd.Index(["L1"], name="lead_id"))
    d = definition.model_copy(deep=True)
    ex = explain("L1", c.rename(columns={"a": "director", "b": "student", "c": "senior_exec", "d": "manager"}), d, n=3)
    assert ex["rule_id"].tolist() == ["senior_exec", "director", "student"]
    assert ex["direction"].tolist() == ["+", "+", "-"]
    with pytest.raises(DataError, match="L2"):
        explain("L2", c, d)
