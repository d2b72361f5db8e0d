"""recommend(): the cheapest setting whose breach rate CI stays under the target."""

import pandas as pd
import pytest

from leadsim.errors import ScenarioError
from leadsim.simulation.advice import recommend

WINDOW = "definition.sla.clocks.response.levels.1.offset"


def _sweep(points):
    rows = []
    for sdr, window, breach, half, rate in points:
        rows.append({"sdr_headcount": sdr, WINDOW: window, "kpi": "breach_rate.response.1", "mean": breach,
                     "lo": breach - half, "hi": breach + half, "n": 4})
        rows.append({"sdr_headcount": sdr, WINDOW: window, "kpi": "lead_to_sales_lead", "mean": rate,
                     "lo": rate - 0.02, "hi": rate + 0.02, "n": 4})
    return pd.DataFrame(rows)


def test_upper_bound_not_mean_decides():
    # 2 SDRs have a mean under 10% but an interval reaching 13%: not safe enough
    sweep = _sweep([(2, 30, 0.08, 0.05, 0.30), (3, 30, 0.05, 0.02, 0.31)])
    rec = recommend(sweep, cost="sdr_headcount", max_breach=0.10)
    assert rec.choice == {"sdr_headcount": 3, WINDOW: 30}
    assert "sdr_headcount = 2 (8.0%, CI up to 13.0%)" in rec.text


def test_ties_in_cost_go_to_the_higher_conversion():
    sweep = _sweep([(2, 15, 0.02, 0.01, 0.35), (2, 30, 0.06, 0.01, 0.31), (3, 15, 0.01, 0.01, 0.36)])
    rec = recommend(sweep, cost="sdr_headcount", max_breach=0.10)
    assert rec.choice == {"sdr_headcount": 2, WINDOW: 15}
    assert rec.table["meets_target"].tolist() == [True, True, True]


def test_no_feasible_setting_names_the_closest():
    sweep = _sweep([(1, 30, 0.50, 0.05, 0.2), (2, 30, 0.30, 0.05, 0.25)])
    rec = recommend(sweep, cost="sdr_headcount", max_breach=0.10)
    assert rec.choice is None
    assert "No setting" in rec.text and "sdr_headcount = 2" in rec.text


def test_unknown_kpi_or_missing_column_is_a_scenario_error():
    sweep = _sweep([(1, 30, 0.5, 0.05, 0.2)])
    with pytest.raises(ScenarioError, match=r"breach_rate\.touch\.9"):
        recommend(sweep, cost="sdr_headcount", breach_kpi="breach_rate.touch.9")
    with pytest.raises(ScenarioError, match="rep_headcount"):
        recommend(sweep, cost="rep_headcount")


def test_a_setting_the_data_cannot_tell_from_the_baseline_is_not_recommended():
    sweep = _sweep([(2, 30, 0.06, 0.02, 0.30), (3, 30, 0.05, 0.02, 0.31)])
    sweep["is_baseline"] = sweep["sdr_headcount"] == 3
    sweep["diff"] = (sweep["mean"] - 0.05).where(sweep["kpi"] == "breach_rate.response.1", 0.0)
    sweep["diff_lo"], sweep["diff_hi"] = sweep["diff"] - 0.015, sweep["diff"] + 0.015
    rec = recommend(sweep, cost="sdr_headcount", max_breach=0.10)  # 2 SDRs: +1.0%, CI -0.5% to +2.5%
    assert rec.choice is None
    assert rec.text.startswith("The data cannot tell sdr_headcount = 2")
    assert "CI -0.5% to +2.5%" in rec.text
    sweep["diff_lo"] = sweep["diff"] - 0.005  # now the difference excludes zero: 2 SDRs is a real, affordable change
    assert recommend(sweep, cost="sdr_headcount", max_breach=0.10).choice == {"sdr_headcount": 2, WINDOW: 30}


def test_curve_sensitivity_runs_the_same_sweep_under_each_curve(monkeypatch):
    import leadsim.simulation.replication as replication
    from leadsim.simulation import load_scenario
    from leadsim.simulation.advice import curve_sensitivity

    seen = []
    real = replication.sweep

    def spy(sc, grid, **kw):
        seen.append((sc.curve.preset, sc.curve.contact_base, sc.sdr_headcount, kw["seed"], kw["replications"]))
        return real(sc, grid, **kw)

    monkeypatch.setattr(replication, "sweep", spy)
    base = load_scenario().with_values({"horizon_days": 3, "curve.contact_base": 0.6, "curve.contact": None,
                                        "curve.qualification": None})
    t = curve_sensitivity(base, {"sdr_headcount": [1, 2]}, cost="sdr_headcount", replications=2, seed=4,
                          executor=replication.SerialExecutor(), max_breach=0.5)
    assert [s[0] for s in seen] == ["default", "lrm_2007", "hbr_2011", "flat"]
    assert {s[1:] for s in seen} == {(0.6, 3, 4, 2)}  # only the curve differs
    assert t["curve"].tolist() == ["scenario: default", "lrm_2007", "hbr_2011", "flat"]
    same = real(base.with_values({"curve": {"preset": "flat", "contact_base": 0.6}}), {"sdr_headcount": [1, 2]},
                replications=2, seed=4, executor=replication.SerialExecutor(), progress=False)
    assert t.loc[3, "recommendation"] == recommend(same, cost="sdr_headcount", max_breach=0.5).text
    assert t.attrs["robust"] == all(c == t.loc[0, "choice"] for c in t["choice"])
