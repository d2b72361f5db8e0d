"""``leadsim calibrate`` on the embedded sample and on files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.cli import main


def test_sample_run_writes_definition_diff_metrics_and_figures(tmp_path, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", "--out", str(out), "--half-lives", "21", "--capacity", "25"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"definition.yaml", "diff.csv", "diff.md", "metrics.json", "reliability.png", "volume_precision.png"} <= names
    new, old = load_definition(out / "definition.yaml"), load_definition()
    assert new.version == "1.0.1" and new.thresholds.mql == old.thresholds.mql
    diff = pd.read_csv(out / "diff.csv")
    assert set(diff["section"]) <= {"fit_rules", "bant", "behaviour_rules"} and len(diff) > 10
    metrics = json.loads((out / "metrics.json").read_text())
    assert {m["model"] for m in metrics["metrics"]} == {"current definition", "revised definition", "rule-feature model",
                                                         "gradient boosting", "model with controls", "naive Bayes"}
    auc = {m["model"]: m["roc_auc"] for m in metrics["metrics"]}
    # the revised definition, scored by score() at each held-out hand-off, ranks as the rule-feature model does
    assert abs(auc["revised definition"] - auc["rule-feature model"]) <= 0.01
    assert metrics["points_vs_score_max_gap"] < 1e-6
    assert metrics["scorecard"]["half_life_days"] == "21"
    assert {r["grade"] for r in metrics["reliability_by_grade"]} <= {"A", "B", "C", "D"}
    assert metrics["response_delay"]["low"] < metrics["response_delay"]["odds_ratio"] < metrics["response_delay"]["high"]
    text = capsys.readouterr().out
    assert "Answering within 5 minutes instead of 2 hours is associated with" in text
    assert "1.0.0 -> 1.0.1" in text and "points double the odds" in text
    # a revision that ranks the held-out hand-offs worse than today's points says so, and only then
    worse = auc["revised definition"] < auc["current definition"] - 0.005
    assert ("ranks the held-out hand-offs worse than the current one" in text) == worse
    assert (f"ROC AUC {auc['revised definition']:.3f} against {auc['current definition']:.3f}" in text) == worse
    # a non-empty folder is refused, exit code 2 and one line
    assert main(["calibrate", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def _write_tiny(tmp_path):
    leads = pd.DataFrame({"lead_id": ["L1", "L2"], "company": ["A", "B"], "source": ["paid", "organic"],
                          "created_at": ["2026-01-05 10:00", "2026-01-06 10:00"], "seniority": ["vp", "student"]})
    outcomes = pd.DataFrame({"handoff_id": ["H1", "H2"], "lead_id": ["L1", "L2"],
                             "handed_at": ["2026-01-07 10:00", "2026-01-08 10:00"], "handoff_reason": ["score", "hot"],
                             "propensity": [1, 1], "definition_version": ["1.0.0"] * 2, "owner": ["ann", "bob"],
                             "response_minutes": [3, 40], "sql": [True, False]})
    leads.to_csv(tmp_path / "leads.csv", index=False)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path / "leads.csv", tmp_path / "outcomes.csv"


def test_files_with_too_few_outcomes_are_a_clear_error(tmp_path, capsys):
    leads, outcomes = _write_tiny(tmp_path)
    code = main(["calibrate", "--leads", str(leads), "--outcomes", str(outcomes), "--half-lives", "21",
                 "--out", str(tmp_path / "o")])
    warning, error = capsys.readouterr().err.strip().splitlines()  # one line each, no traceback
    assert warning.startswith("leadsim: warning: ") and "the rules on them score nothing" in warning
    assert code == 2 and error.startswith("leadsim: error: ")
    assert "missing for every handed-over lead" in error or "too few labelled hand-offs" in error
    assert not (tmp_path / "o").exists()


def test_mapping_to_an_unknown_attribute_is_a_mapping_error(tmp_path, capsys):
    leads, outcomes = _write_tiny(tmp_path)
    m = tmp_path / "m.yaml"
    m.write_text("tables:\n  leads:\n    columns:\n      shoe_size: Shoe Size\n", encoding="utf-8")
    code = main(["calibrate", "--leads", str(leads), "--outcomes", str(outcomes), "--mapping", str(m),
                 "--out", str(tmp_path / "o")])
    assert code == 2
    assert "unknown leadsim column 'shoe_size'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["--leads", "x.csv"], "calibration learns from hand-off outcomes: give --outcomes FILE, or the stage log"),
    (["--capacity", "0"], "capacity"),
])
def test_bad_arguments(tmp_path, capsys, argv, needle):
    code = main(["calibrate", *argv, "--half-lives", "21", "--out", str(tmp_path / "o")])
    assert code == 2 and needle in capsys.readouterr().err
