"""Gate values proposed like rules (calibration/gate_values.py), against hand-made hand-offs with a known gate."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.calibration.gate_values import propose_gates


class _Scorer:
    """Stands in for the hand-off scorer: the same score table whatever the definition."""

    def __init__(self, table):
        self.table = table

    def score(self, definition):
        return self.table


def _handoffs(seed=3, n=8000):
    rng = np.random.default_rng(seed)
    behaviour = rng.integers(1, 101, n).astype(float)
    behaviour[rng.random(n) < 0.2] = 0.0
    fit = rng.normal(40, 15, n)
    edge = float(round(np.quantile(behaviour[behaviour > 0], 0.25)))
    # the truth: leads below the behaviour edge convert far worse than their points say; grade adds nothing
    eta = -2.0 + 0.04 * fit + 0.004 * behaviour - 2.0 * (behaviour < edge)
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    grade = np.select([fit >= 70, fit >= 45, fit >= 20], ["A", "B", "C"], "D")
    ids = pd.Index([f"H{i}" for i in range(n)], name="handoff_id")
    table = pd.DataFrame({"score": fit + 0.1 * behaviour,  # the points weigh as the truth does
                          "behaviour_score": behaviour, "fit_score": fit, "grade": grade}, index=ids)
    return table, pd.Series(y, index=ids), edge


def _definition(min_behaviour=None, min_grade=None):
    d = load_definition().model_dump()
    d["gates"] = {"mql": {"min_behaviour": min_behaviour, "min_grade": min_grade, "exclude": []}, "hot": {}}
    return type(load_definition()).model_validate(d)


@pytest.mark.parametrize("current", [None, 40.0])
def test_the_known_behaviour_gate_is_proposed_and_grade_gates_are_not(current):
    table, y, edge = _handoffs()
    d = _definition(min_behaviour=current)
    fs = SimpleNamespace(scorer=_Scorer(table), X=pd.DataFrame(index=table.index), y=y, definition=d)
    rows, revised = propose_gates(fs, d, time_ordered=False)
    beh = rows[rows["rule"] == "gate mql.min_behaviour"].set_index("condition")
    chosen = beh[beh["change"] != "not proposed"]
    assert len(chosen) == 1 and chosen.index[0] == f"behaviour score >= {edge:g}"
    assert chosen["change"].iloc[0] == ("new" if current is None else "changed")
    assert revised.gates.mql.min_behaviour == edge
    row = chosen.iloc[0]
    # support and SQL rate by hand
    passes = table["behaviour_score"] >= edge
    assert row["support"] == pytest.approx(passes.mean()) and row["sql_rate"] == pytest.approx(y[passes].mean())
    assert row["low"] > 1.5 and row["low"] < row["odds_ratio"] < row["high"] and row["auc_gain"] > 0.002
    grade_rows = rows[rows["rule"].str.endswith("min_grade")]
    assert set(grade_rows["change"]) == {"not proposed"}
    assert revised.gates.mql.min_grade is None and revised.gates.hot.min_grade is None


def test_a_current_gate_without_evidence_is_kept_at_the_same_share_of_hand_offs():
    table, y, _ = _handoffs()
    rng = np.random.default_rng(0)
    y = pd.Series(rng.random(len(y)) < 1 / (1 + np.exp(-(table["score"] - 90) / 30)), index=y.index)  # score only
    before = table.assign(behaviour_score=table["behaviour_score"] * 2)  # the old points: twice the revised ones
    d = _definition(min_behaviour=50.0)

    class Two(_Scorer):
        def score(self, definition):
            return before if definition is d else table

    revised_in = _definition(min_behaviour=50.0)
    fs = SimpleNamespace(scorer=Two(table), X=pd.DataFrame(index=table.index), y=y, definition=d)
    rows, revised = propose_gates(fs, revised_in, previous=d, time_ordered=False)
    kept = rows[(rows["rule"] == "gate mql.min_behaviour") & (rows["change"] == "kept")]
    assert len(kept) == 1
    # 50 old points are 25 revised ones: the same hand-offs pass
    assert revised.gates.mql.min_behaviour == pytest.approx(25.0, abs=1.0)
    assert kept["support"].iloc[0] == pytest.approx((before["behaviour_score"] >= 50).mean(), abs=0.01)


def test_a_positive_behaviour_minimum_never_translates_to_no_minimum():
    table, y, _ = _handoffs()
    rng = np.random.default_rng(1)
    y = pd.Series(rng.random(len(y)) < 1 / (1 + np.exp(-(table["score"] - 90) / 30)), index=y.index)  # score only
    before = table.assign(behaviour_score=np.where(table["behaviour_score"] > 0, 100.0, 0.0))  # 80 % pass 10 points
    after = table.assign(behaviour_score=table["behaviour_score"] / 10)  # revised points; the 20 % with none are 0
    d = _definition(min_behaviour=10.0)

    class Two(_Scorer):
        def score(self, definition):
            return before if definition is d else after

    fs = SimpleNamespace(scorer=Two(after), X=pd.DataFrame(index=table.index), y=y, definition=d)
    rows, revised = propose_gates(fs, _definition(min_behaviour=10.0), previous=d, time_ordered=False)
    assert revised.gates.mql.min_behaviour == 1.0  # the 20th percentile is 0: rounded, it would hold back no one
    kept = rows[(rows["rule"] == "gate mql.min_behaviour") & (rows["change"] == "kept")]
    assert kept["support"].iloc[0] == pytest.approx((after["behaviour_score"] >= 1).mean())
