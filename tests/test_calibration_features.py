"""build_features, scorecard scaling, recalibrate and bad input on hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from leadsim.calibration import FeatureSet, build_features, parse_outcome, recalibrate, scorecard
from leadsim.calibration.handoffs import unit_definition
from leadsim.calibration.scorecard import Scorecard
from leadsim.definition import LeadsimWarning, diff, load_definition
from leadsim.errors import DataError, DefinitionError, LeadsimError, SchemaError
from leadsim.scoring import contributions, required_columns


def _tables(definition):
    leads = pd.DataFrame([
        {"lead_id": "L1", "seniority": "director", "email": "ann@acme.de", "company_size": 1200,
         "bant_budget": "approved", "products_in_use": "SAP ERP", "job_title": "Head of Sales", "deal_size_eur": 5e4,
         "years_experience": 12, "industry": "retail", "region": "UK", "revenue_musd": 80.0, "subsidiaries": 1,
         "bant_authority": "user", "bant_need": "some", "bant_timeline": "over_12m"},
        {"lead_id": "L2", "seniority": "student", "email": "bob@gmail.com", "deal_size_eur": np.nan},
    ]).reindex(columns=list(dict.fromkeys([*required_columns(definition)["leads"], "deal_size_eur"])))
    acts = pd.DataFrame([
        ("L1", "web_visit", "2026-03-17 12:00", "/pricing"),   # 14 days before the first hand-off
        ("L1", "web_visit", "2026-03-24 12:00", "/blog"),      # 7 days before
        ("L1", "webinar", "2026-04-02 12:00", None),           # after the first hand-off, before the second
        ("L1", "form_fill", "2026-04-10 12:00", "contact_us"),  # after every hand-off: never counts
        ("L2", "web_visit", "2025-06-01 12:00", "/pricing"),   # outside the 90-day window
    ], columns=["lead_id", "activity", "at", "detail"])
    acts["at"] = pd.to_datetime(acts["at"])
    out = pd.DataFrame({
        "handoff_id": ["H1", "H2", "H3", "H4"], "lead_id": ["L1", "L1", "L2", "L2"],
        "handed_at": pd.to_datetime(["2026-03-31 12:00", "2026-04-09 12:00", "2026-03-01 00:00", "2026-05-01 00:00"]),
        "handoff_reason": ["score", "hot", "exploration", "score"], "propensity": [1, 1, 0.05, 1],
        "owner": ["ann", "bob", "ann", None], "response_minutes": [5.0, 60.0, np.nan, 0.0],
        "sql": [True, "false", 0, None],
    })
    return {"leads": leads, "activities": acts, "outcomes": out}


def test_hand_computed_features_as_of_each_handoff(definition):
    fs = build_features(_tables(definition), definition, half_lives=7)
    assert list(fs.X.index) == ["H3", "H1", "H2"]  # time order; H4 is still open (sql empty)
    x = fs.X
    # H1 at 2026-03-31: visits 14 and 7 days old -> 0.25 + 0.5; pricing 0.25; the webinar is later
    assert x.loc["H1", "web_visit"] == pytest.approx(0.75)
    assert x.loc["H1", "pricing_page"] == pytest.approx(0.25)
    assert x.loc["H1", "webinar"] == 0
    # H2 at 2026-04-09: the webinar is 7 days old; its cap (30 points at 15 each) is 2 occurrences: not reached
    assert x.loc["H2", "webinar"] == pytest.approx(0.5)
    assert x.loc["H2", "contact_form"] == 0
    assert x.loc["H2", "web_visit"] == pytest.approx(2 ** (-23 / 7) + 2 ** (-16 / 7))
    # a recency rule is 1 when it fires (here: nothing in the last 3 days), not a count
    assert x.loc["H1", "recently_active"] == 0
    # L2's old visit is outside the window
    assert x.loc["H3", "web_visit"] == 0
    # fit rules are 0/1 indicators whatever their points
    assert x.loc["H1", ["director", "size_enterprise", "runs_erp", "bant_budget", "student"]].tolist() == [1, 1, 1, 1, 0]
    assert x.loc["H3", ["student", "private_email", "business_email"]].tolist() == [1, 1, 0]
    # controls
    assert x.loc["H1", "response_minutes_log"] == pytest.approx(math.log1p(5))
    assert np.isnan(x.loc["H3", "response_minutes_log"])
    assert x.loc["H2", "owner"] == "bob"
    assert fs.y.tolist() == [False, True, False]
    # the current definition's score at each hand-off (capped, its own half-lives)
    ref = contributions(_tables(definition)["leads"], _tables(definition)["activities"], definition, as_of="2026-03-31 12:00")
    assert fs.current_score["H1"] == pytest.approx(ref.loc["L1"].sum())
    assert "deal_size_eur" not in x


def test_matches_a_per_handoff_loop_on_generated_data(definition):
    from leadsim.datasets import make_history

    h = make_history(load_definition(), n_leads=500, start="2025-01-01", end="2025-08-01", seed=4)
    fs = build_features(h, h.definition, half_lives=21)
    # points 1, caps kept as occurrences, at_least / recency kept as 0/1, half-life 21
    fit_unit = unit_definition(h.definition, half_life=21, fit=True)
    beh_unit = unit_definition(h.definition, half_life=21)
    counting = fit_unit.model_copy(update={"behaviour_rules": beh_unit.behaviour_rules})
    assert fs.X["frequent_visitor"].isin([0, 1]).all() and fs.X["live_demo"].max() <= 1 + 1e-12
    for hid in fs.X.index[:: max(len(fs) // 12, 1)]:
        row = h.outcomes.set_index("handoff_id").loc[hid]
        lead = h.leads[h.leads.lead_id == row.lead_id]
        acts = h.activities[h.activities.lead_id == row.lead_id]
        acts = acts[acts["at"] <= row.handed_at]  # the obvious way: nothing after the hand-off
        ref = contributions(lead, acts, counting, as_of=row.handed_at).iloc[0]
        got = fs.X.loc[hid, ref.index].astype(float)
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), atol=1e-9, err_msg=hid)


def test_protected_and_after_handoff_attributes_need_opt_in(definition):
    d = definition.model_copy(deep=True)
    from leadsim.definition import FitRule

    d.fit_rules = [*d.fit_rules, FitRule(id="big_deal", category="firmographic", attribute="deal_size_eur",
                                          op="range", min=10000, points=5)]
    fs = build_features(_tables(d), d, half_lives=7)
    assert "big_deal" not in fs.X and fs.excluded == ["big_deal"]
    with pytest.warns(LeadsimWarning, match="after the hand-off"):
        fs2 = build_features(_tables(d), d, half_lives=7, include=["deal_size_eur"])
    assert fs2.X.loc["H1", "big_deal"] == 1
    with pytest.raises(DefinitionError, match="unknown attribute"):
        build_features(_tables(d), d, include=["shoe_size"])


def test_bad_outcomes_are_clear_errors(definition):
    t = _tables(definition)
    t["outcomes"]["sql"] = [True, "maybe", False, None]
    with pytest.raises(DataError, match=r"undeclared outcome value\(s\) \['maybe'\]"):
        build_features(t, definition)
    t = _tables(definition)
    t["outcomes"] = t["outcomes"].drop(columns="sql")
    with pytest.raises(SchemaError, match="sql"):
        build_features(t, definition)
    t = _tables(definition)
    t["outcomes"].loc[0, "lead_id"] = "L999"
    with pytest.raises(DataError, match="L999"):
        build_features(t, definition)
    t = _tables(definition)
    t["leads"]["company_size"] = np.nan
    with pytest.raises(DataError, match=r"company_size.*missing for every"):
        build_features(t, definition)


def test_parse_outcome_accepts_common_spellings():
    s = parse_outcome(pd.Series(["TRUE", " no ", "1", "0", None, True]))
    assert s.tolist() == [True, False, True, False, pd.NA, True]


class _Linear:
    """A fitted-model stand-in with known coefficients (log-odds = b0 + x @ beta)."""

    def __init__(self, beta, b0):
        self.beta, self.b0 = pd.Series(beta), b0

    def coefficients(self):
        rows = [{"feature": k, "level": "", "coef": v} for k, v in self.beta.items()]
        return pd.DataFrame([*rows, {"feature": "(intercept)", "level": "", "coef": self.b0}])

    def decision_function(self, X):
        return self.b0 + X[list(self.beta.index)].to_numpy(float) @ self.beta.to_numpy()


def _fs(definition, X):
    n = len(X)
    return FeatureSet(X=X, y=pd.Series(np.arange(n) % 2 == 0), meta=pd.DataFrame(index=X.index), definition=definition,
                      fit_columns=["director", "student"], behaviour_columns=["webinar"], control_columns=[],
                      half_life_days=21.0, current_score=pd.Series(0.0, index=X.index))


def test_scorecard_absorbs_the_intercept_into_the_threshold(definition):
    X = pd.DataFrame({"director": [1, 0, 1, 0], "student": [0, 1, 0, 0], "webinar": [0.0, 0, 2.5, 1]})
    model = _Linear({"director": 0.7, "student": -1.4, "webinar": 0.35}, b0=-2.0)
    card = scorecard(model, _fs(definition, X), pdo=20)
    factor = 20 / math.log(2)
    assert card.points.to_dict() == {"director": round(0.7 * factor), "student": round(-1.4 * factor),
                                     "webinar": round(0.35 * factor)}
    # at the threshold (100 points) the log-odds are b0 + 100 / factor
    assert card.cutoff_probability == pytest.approx(1 / (1 + math.exp(-(-2.0 + 100 / factor))))
    # and the other way round: a 50% cut-off means 100 points = 2.0 logits
    card2 = scorecard(model, _fs(definition, X), cutoff_probability=0.5)
    assert card2.factor == pytest.approx(100 / 2.0) and card2.points["director"] == 35
    with pytest.raises(DataError, match="at or below the chance"):
        scorecard(model, _fs(definition, X), cutoff_probability=0.05)


def test_recalibrate_moves_only_points_and_writes_atomically(definition, tmp_path):
    pts = pd.Series({"director": 30.0, "bant_budget": 22.0, "webinar": 12.0, "frequent_visitor": -3.0})
    card = Scorecard(points=pts, raw_points=pts, coefficients=pts / 50, threshold=100, factor=50, intercept=-2,
                     cutoff_probability=0.5, half_life_days=14.0)
    path = tmp_path / "new.yaml"
    new = recalibrate(card, definition, path=path)
    assert new.version == "1.0.1" and new.changelog[-1].version == "1.0.1"
    assert new.thresholds.mql == definition.thresholds.mql
    d = diff(definition, new)
    changed = set(zip(d["item"], d["field"], strict=True))
    assert ("director", "points") in changed and ("budget", "points") in changed
    assert ("webinar", "half_life_days") in changed and ("webinar", "cap") in changed
    assert ("frequent_visitor", "mode") not in changed  # at_least stays at_least: only its points move
    rules = {r.id: r for r in new.behaviour_rules}
    assert rules["frequent_visitor"].mode == "at_least" and rules["frequent_visitor"].min_count == 5
    assert rules["webinar"].cap == 12 * 30 / 15  # the cap stays 2 occurrences' worth
    assert not any(i == "senior_exec" for i in d["item"])  # rules the card does not name keep their points
    from leadsim import load_definition

    assert load_definition(path).fit_rules[1].points == 30
    with pytest.raises(LeadsimError, match="exists already"):
        recalibrate(card, definition, path=path)


def test_the_revised_definition_scores_exactly_points_times_features():
    from leadsim.datasets import make_history
    from leadsim.scoring import score

    h = make_history(load_definition(), n_leads=500, start="2025-01-01", end="2025-08-01", seed=4)
    fs = build_features(h, h.definition, half_lives=(14, 30))
    rng = np.random.default_rng(0)
    pts = pd.Series(rng.integers(-20, 40, len(fs.rule_columns)).astype(float), index=fs.rule_columns)
    pts[pts == 0] = 1.0
    card = Scorecard(points=pts, raw_points=pts, coefficients=pts / 30, threshold=100, factor=30, intercept=-2,
                     cutoff_probability=0.3, half_life_days=fs.half_life_days)
    new = recalibrate(card, h.definition, unit=fs.unit())
    got = fs.scorer.score(new)["score"].reindex(fs.X.index).to_numpy()
    np.testing.assert_allclose(got, card.score(fs.X), atol=1e-9)
    # and one hand-off the obvious way: score() on its lead with the activities up to the hand-off
    hid = fs.X.index[len(fs) // 2]
    row = h.outcomes.set_index("handoff_id").loc[hid]
    acts = h.activities[(h.activities.lead_id == row.lead_id) & (h.activities["at"] <= row.handed_at)]
    one = score(h.leads[h.leads.lead_id == row.lead_id], acts, new.model_copy(update={"on_recycle": "keep"}),
                as_of=row.handed_at)
    assert one["score"].iloc[0] == pytest.approx(card.score(fs.X.loc[[hid]])[0], abs=1e-9)
