"""Criteria discovery, the leakage guard and the flat export path, against known truth."""

import warnings

import numpy as np
import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.calibration import build_features
from leadsim.calibration.binning import level_groups, monotone_edges
from leadsim.calibration.discovery import discover
from leadsim.calibration.flat import calibrate_flat
from leadsim.calibration.leakage import leakage_screen
from leadsim.datasets import make_flat_export, make_history
from leadsim.definition import LeadDefinition
from leadsim.errors import DataError, SchemaError


@pytest.fixture(scope="module")
def history():
    return make_history(load_definition(), n_leads=12000, start="2025-01-01", end="2026-01-01", seed=7)


def _without(d, *rule_ids):
    data = d.model_dump()
    data["fit_rules"] = [r for r in data["fit_rules"] if r["id"] not in rule_ids]
    data["behaviour_rules"] = [r for r in data["behaviour_rules"] if r["id"] not in rule_ids]
    return LeadDefinition.model_validate(data)


def test_a_generating_rule_left_out_is_proposed_and_a_planted_leak_is_flagged(history):
    # the truth gives the /pricing page +0.4 per decayed visit; the definition handed to discovery lacks that rule
    d = _without(load_definition(), "pricing_page")
    leads = history.leads.copy()
    last = history.outcomes.dropna(subset=["sql"]).sort_values("handed_at").groupby("lead_id")["sql"].last()
    leads["sales_verdict_score"] = leads["lead_id"].map(last.astype(float)).fillna(0.0) * 10
    tables = {**history.tables(), "leads": leads}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = build_features(tables, d, half_lives=(21,))
        found = discover(fs, tables)
    new = found.proposals[found.proposals["change"] == "new"]
    pricing = new[new["condition"].str.contains("/pricing")]
    assert len(pricing) == 1
    row = pricing.iloc[0]
    assert row["odds_ratio"] > 1 and row["low"] < row["odds_ratio"] < row["high"] and row["support"] > 0.05
    assert any(r.detail is not None and r.detail.value == "/pricing" for r in found.definition.behaviour_rules)
    leak = found.leakage.set_index("column")
    assert "near-perfect separation" in leak.loc["sales_verdict_score", "reason"]
    assert leak.loc["sales_verdict_score", "action"] == "left out"
    assert leak.loc["deal_size_eur", "reason"].startswith("recorded after the hand-off")
    used = {r.attribute for r in found.definition.fit_rules}
    assert "sales_verdict_score" not in used and "sales_verdict_score" not in set(found.proposals["condition"])


def test_a_leak_the_user_opts_into_is_kept_but_listed():
    y = np.arange(400) % 3 == 0
    t = pd.DataFrame({"Lead Stage": np.where(y, "won", "open")})
    s = leakage_screen(t, y, None, include=["Lead Stage"])
    assert s["action"].tolist() == ["kept: you opted in"] and "status-like name" in s["reason"].iloc[0]


def test_monotone_edges_find_hand_made_steps_and_ignore_noise():
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 50, 8000)
    y = rng.random(8000) < np.where(x >= 12, 0.45, 0.15)            # one step at 12
    assert monotone_edges(x, y) == [12.0]
    assert monotone_edges(x, rng.random(8000) < 0.3) == []           # flat: no edge
    down = rng.random(8000) < np.where(x >= 30, 0.1, 0.4)            # a falling step is found too
    assert monotone_edges(x, down) == [30.0]
    lv = rng.choice(list("abcdef"), 8000)
    assert level_groups(lv, rng.random(8000) < 0.3) == {"higher": [], "lower": []}


def test_flat_export_finds_the_true_bins_and_categories():
    flat = make_flat_export(n=10_000, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate_flat(flat.table, "converted", id_column="lead_number", missing=["Select"])
    rules = cal.definition.fit_rules
    for col, edges in flat.edges.items():
        lo, hi = flat.ranges[col]
        found = [r.min for r in rules if r.attribute == col and r.op == "range"]
        for e in edges:
            assert any(abs(f - e) <= 0.05 * (hi - lo) for f in found), (col, e, found)
    cats = {tuple(sorted(r.value)): r.points for r in rules if r.attribute == "industry"}
    assert cats[tuple(flat.levels["industry"]["higher"])] > 0
    assert cats[tuple(flat.levels["industry"]["lower"])] < 0
    assert not any(r.attribute in ("lead_origin", "page_views", "lead_status") for r in rules)
    assert "lead_status" in set(cal.report.leakage["column"])
    m = cal.report.metrics["roc_auc"]
    assert abs(m["revised definition"] - m["rule-feature model"]) <= 0.01
    assert "stratified 5-fold" in " ".join(cal.report.notes)


def test_flat_export_errors_name_the_column():
    t = make_flat_export(n=300, seed=0).table
    with pytest.raises(SchemaError, match="no outcome column 'won'"):
        calibrate_flat(t, "won", id_column="lead_number")
    with pytest.raises(DataError, match="filled and unique"):
        calibrate_flat(t.assign(lead_number="x"), "converted", id_column="lead_number")


def test_a_subset_scores_its_hand_offs_as_the_whole_does(history):
    """FeatureSet.subset restricts its scorer: scoring the sample gives the rows the whole history gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = build_features(history, load_definition(), half_lives=(21,))
    rows = np.sort(np.random.default_rng(0).choice(len(fs), 500, replace=False))
    sub = fs.subset(rows)
    assert len(sub.scorer.ids) == 500 and len(sub.scorer.leads) == 500
    whole = fs.scorer.score(fs.definition).reindex(sub.X.index)
    part = sub.scorer.score(fs.definition).reindex(sub.X.index)
    pd.testing.assert_frame_equal(part[["fit_score", "behaviour_score", "score", "grade"]],
                                  whole[["fit_score", "behaviour_score", "score", "grade"]])


def test_rank_auc_is_scikit_learns_roc_auc_with_ties():
    from sklearn.metrics import roc_auc_score

    from leadsim.calibration.discovery import rank_auc

    rng = np.random.default_rng(1)
    y = rng.random(3000) < 0.3
    s = np.round(rng.normal(size=3000) + y, 1)  # many ties
    assert rank_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
