"""Points compared with a tolerance, orders with tie-breakers, numbers rounded for people.

References: hand-worked cases and plain Python (``sorted`` with a key tuple).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim import load_definition
from leadsim.definition import parse_definition
from leadsim.display import for_people, number_text
from leadsim.points import POINTS_TOLERANCE, at_or_over, over, points_key, sort_table
from leadsim.scoring import explain, score

# 0.7 + 0.2 + 0.1 is 0.9999999999999999 in floats: on paper exactly the threshold of 1
PAPER_ONE = [0.7, 0.2, 0.1]


def test_float_noise_at_a_bound_counts_as_on_it():
    noisy = sum(PAPER_ONE)
    assert noisy < 1.0  # the reason for the tolerance
    assert at_or_over(noisy, 1.0) and not over(noisy + 2e-16, 1.0) and not over(1.0, 1.0)
    assert not at_or_over(1.0 - 2 * POINTS_TOLERANCE, 1.0)
    assert over(1.0 + 2 * POINTS_TOLERANCE, 1.0)


def _three_rule_definition(threshold: float):
    d = load_definition().to_dict()
    d["fit_rules"] = [{"id": f"r{i}", "label": f"Rule {i}", "category": "firmographic", "attribute": "industry",
                     "op": "exists", "points": p}
                      for i, p in enumerate(PAPER_ONE)]
    d["bant"] = {}
    d["hot_triggers"] = []
    d["thresholds"]["mql"] = threshold
    d["thresholds"]["fit_grades"] = {"A": threshold, "B": threshold - 0.5, "D": None}
    d["thresholds"].pop("matrix", None)
    # the sample's MQL gates (some behaviour, grade C or better) are about other things than the threshold on paper
    d.pop("gates", None)
    return parse_definition(d)


def test_a_lead_exactly_at_the_threshold_on_paper_is_an_mql():
    d = _three_rule_definition(1.0)
    leads = pd.DataFrame({"lead_id": ["L1", "L2"], "industry": ["software", None]})
    s = score(leads, None, d, as_of="2026-03-02")
    assert s.loc["L1", "score"] == pytest.approx(1.0)
    assert bool(s.loc["L1", "is_mql"]) and s.loc["L1", "grade"] == "A"
    assert not bool(s.loc["L2", "is_mql"]) and s.loc["L2", "grade"] == "D"


def test_explain_orders_equal_points_by_rule_id():
    d = load_definition()
    row = pd.DataFrame({"senior_exec": [15.0], "bant_authority": [15.0 + 1e-13], "core_industry": [15.0 - 1e-13],
                        "business_email": [10.0]}, index=pd.Index(["L1"], name="lead_id"))
    got = explain(row, d, lead_id="L1", n=3)["rule_id"].tolist()
    assert got == ["bant_authority", "core_industry", "senior_exec"]


rows = st.lists(st.tuples(st.sampled_from([1.0, 2.0, 2.0 + 1e-12, 2.0 - 1e-12, 3.5, np.nan]),
                          st.sampled_from(["a", "b"]), st.text("xyz", min_size=1, max_size=3)),
                min_size=0, max_size=25)


@settings(max_examples=60, deadline=None)
@given(rows=rows, desc=st.booleans())
def test_sort_table_is_plain_pythons_sort_on_rounded_points(rows, desc):
    t = pd.DataFrame(rows, columns=["score", "group", "lead_id"]).astype({"group": object, "lead_id": object})
    got = sort_table(t, ["group", "score"], ascending=[True, not desc], ties="lead_id")

    def key(i):
        g, s, lead = t.at[i, "group"], t.at[i, "score"], t.at[i, "lead_id"]
        missing = np.isnan(s)
        r = 0.0 if missing else round(s, 6)
        return (g, missing, -r if desc else r, lead, i)  # NaN last, then the tie-breaker, then input order

    want = sorted(range(len(t)), key=key)
    assert got.index.tolist() == want


def test_sort_table_on_a_series_breaks_ties_by_index():
    s = pd.Series([1.0, 2.0, 1.0 + 1e-12, 2.0], index=["d", "c", "a", "b"])
    assert sort_table(s, ascending=False).index.tolist() == ["b", "c", "a", "d"]
    assert points_key(-1e-9) == 0.0 and str(points_key(-1e-9)) == "0.0"


def test_numbers_for_people_hand_worked():
    t = pd.DataFrame({"score": [74.72242477757777, -0.04], "breach_rate": [0.07712, 1.0],
                      "cohort": [5500.0, np.nan], "label": ["a", "b"], "median_days": [12.345, 0.5]})
    got = for_people(t)
    assert got["score"].tolist() == [74.7, -0.0]
    assert got["breach_rate"].tolist() == [0.077, 1.0]
    assert got["cohort"].dtype == "Int64" and got["cohort"].iloc[0] == 5500 and got["cohort"].isna().iloc[1]
    assert got["median_days"].tolist() == [12.3, 0.5]
    assert got["label"].tolist() == ["a", "b"]
    assert t["score"].iloc[0] == 74.72242477757777  # the input is left alone
    assert [number_text(v) for v in (5500.0, 1234567, 0.07712, 12.345, np.nan, None, True)] == \
        ["5,500", "1,234,567", "0.077", "12.3", "", "", "True"]
    assert number_text(74.72, points=True) == "74.7" and number_text(0.5, points=True) == "0.5"
    assert for_people({"kappa": 0.41234, "leads": 98.0, "score": 0.44}) == {"kappa": 0.412, "leads": 98, "score": 0.4}
