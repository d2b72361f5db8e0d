"""From disagreement to a revised definition: simulated heads who follow a hidden rule set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsim.definition import load_definition
from leadsim.errors import LeadsimError
from leadsim.exercise.revision import apply_edits, revise_definition, rule_gaps

RULES = {"senior_exec": 25.0, "manager": 10.0, "size_mid": 15.0, "core_industry": 15.0, "pricing_page": 20.0,
         "live_demo": 35.0, "contact_form": 40.0, "recently_active": 10.0}
INDUSTRIES = ["software", "manufacturing", "retail", "finance"]


def _world(seed, n=400):
    """Companies with rule contributions and facts; the definition says score >= 100, the heads follow hidden rules.

    Hidden rules: the heads weigh a senior executive double (+50 instead of +25) and never want retail (-40),
    which the definition does not score at all; each head errs on 4 % of the companies.
    """
    rng = np.random.default_rng(seed)
    senior = rng.random(n) < 0.4
    c = pd.DataFrame({
        "senior_exec": np.where(senior, 25.0, 0.0),
        "manager": np.where(~senior & (rng.random(n) < 0.5), 10.0, 0.0),
        "size_mid": rng.choice([0.0, 15.0], n),
        "core_industry": rng.choice([0.0, 15.0], n),
        "pricing_page": rng.choice([0.0, 20.0, 40.0], n),
        "live_demo": rng.choice([0.0, 35.0], n, p=[0.6, 0.4]),
        "contact_form": rng.choice([0.0, 40.0], n, p=[0.7, 0.3]),
        "recently_active": np.full(n, 10.0),  # behaviour enough for the MQL gate
    }, index=pd.Index([f"L{i:04d}" for i in range(n)], name="lead_id"))
    industry = rng.choice(INDUSTRIES, n)
    score = c.sum(axis=1).to_numpy()
    hidden = score + c["senior_exec"].to_numpy() - 40.0 * (industry == "retail")
    companies = [f"Company {i:04d}" for i in range(n)]
    key = pd.DataFrame({"company": companies, "lead_id": c.index, "industry": industry,
                        "definition_verdict": np.where(score >= 100, "good", "not"), "weight": 1.0})
    heads = {}
    for h in ("marketing", "sales"):
        good = (hidden >= 100) ^ (rng.random(n) < 0.04)
        heads[h] = pd.Series(np.where(good, "good", "not"), index=pd.Index(companies, dtype=object), dtype=object)
    return c, key, heads


@pytest.mark.parametrize("seed", range(20))
def test_revision_finds_the_hidden_rules_and_raises_held_out_agreement(seed):
    d = load_definition()
    c, key, heads = _world(seed)
    rev = revise_definition(heads, key, d, contributions=c, folds=5, seed=seed)
    assert rev.after > rev.before + 0.05 and rev.low > 0  # measured on companies the edits never saw
    targets = {e.target for e in rev.edits}
    assert "senior_exec" in targets or "threshold" in {e.kind for e in rev.edits}
    retail = [e for e in rev.edits if e.kind == "add_rule" and e.attribute == "industry" and e.value == "retail"]
    assert retail and retail[0].new < 0
    senior = [e for e in rev.edits if e.target == "senior_exec"]
    assert not senior or senior[0].new > 25
    # the revised definition is a real definition with a diff and a new version
    assert rev.revised.version != d.version and len(rev.diff)
    assert any(r.id == retail[0].target and r.value == "retail" for r in rev.revised.fit_rules)
    assert "no measurable change" not in rev.text


def test_no_measurable_change_when_heads_agree_with_the_definition():
    d = load_definition()
    c, key, _ = _world(3)
    same = {h: key.set_index("company")["definition_verdict"] for h in ("marketing", "sales")}
    rev = revise_definition(same, key, d, contributions=c)
    assert rev.edits == [] and rev.difference == 0 and "no measurable change" in rev.text
    assert rev.revised.version != d.version


def test_rule_gaps_point_at_the_rule_the_heads_weigh_differently():
    d = load_definition()
    c, key, heads = _world(1)
    y = (heads["marketing"] == "good").astype(int).to_numpy()
    gaps = rule_gaps(c, pd.Series(y, index=c.index), pd.Series((key["definition_verdict"] == "good").astype(int)
                                                                  .to_numpy(), index=c.index), d)
    assert gaps.iloc[0]["rule"] in ("senior_exec", "contact_form", "live_demo")
    assert set(gaps.columns) == {"rule", "label", "missed", "false_alarm", "agreed", "gap"}


def test_seeded_and_errors():
    d = load_definition()
    c, key, heads = _world(5)
    a = revise_definition(heads, key, d, contributions=c, seed=2)
    b = revise_definition(heads, key, d, contributions=c, seed=2)
    assert (a.before, a.after, a.low, a.high) == (b.before, b.after, b.low, b.high)
    with pytest.raises(LeadsimError, match="definition_verdict"):
        revise_definition(heads, key.drop(columns="definition_verdict"), d, contributions=c)
    assert apply_edits(d, edits=[]).thresholds.mql == d.thresholds.mql
