"""``leadsim calibrate --leads export.csv --outcome COLUMN`` and ``leadsim score --id COLUMN``: the flat export end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from leadsim.cli import main
from leadsim.datasets import make_flat_export


def _points_by_hand(rules: list[dict], raw: pd.DataFrame, missing=()) -> np.ndarray:
    """The fit score of each raw row, from the YAML's rules read as plain data (range, in, exists)."""
    total = np.zeros(len(raw))
    for r in rules:
        cells = raw[r["attribute"]].astype(object).where(~raw[r["attribute"]].isin(list(missing)), None)
        if r["op"] == "range":
            x = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
            fires = np.ones(len(raw), bool) & ~np.isnan(x)
            if r.get("min") is not None:
                fires &= x >= r["min"]
            if r.get("max") is not None:
                fires &= x < r["max"]
        elif r["op"] == "in":
            fires = cells.isin([str(v) for v in r["value"]]).to_numpy(dtype=bool)
        elif r["op"] == "exists":
            fires = cells.notna().to_numpy(dtype=bool) == bool(r["value"])
        else:
            raise AssertionError(f"unexpected rule op {r['op']}")
        if r.get("negate"):
            fires = ~fires
        total += fires * r["points"]
    return total


def _truth_eta(t: pd.DataFrame) -> np.ndarray:
    """The generating log-odds of make_flat_export, written out from its documentation."""
    return (0.8 * (t["company_size"] >= 200) + 0.8 * (t["company_size"] >= 1000) + 1.2 * (t["time_on_site"] >= 10)
            + 0.9 * t["industry"].isin(["software", "finance"]) - 1.2 * (t["industry"] == "education")).to_numpy(float)


def test_the_acceptance_commands_calibrate_a_flat_export_and_score_new_rows(tmp_path, capsys):
    t = make_flat_export(n=4000, seed=11).table
    t.iloc[:2500].to_csv(tmp_path / "flat.csv", index=False)
    new = t.iloc[2500:].assign(converted=None)  # new rows of the same export: no outcome yet
    new.to_csv(tmp_path / "new_rows.csv", index=False)
    before = (tmp_path / "flat.csv").read_bytes()
    out = tmp_path / "cal"
    assert main(["calibrate", "--leads", str(tmp_path / "flat.csv"), "--outcome", "converted", "--id", "lead_number",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err and "lead_status" in printed.out  # the leak is listed
    names = {p.name for p in out.iterdir()}
    assert {"definition.revised.yaml", "diff.csv", "diff.md", "metrics.json", "proposals.csv", "leakage.csv",
            "reliability.png"} <= names
    assert (tmp_path / "flat.csv").read_bytes() == before
    leak = pd.read_csv(out / "leakage.csv").set_index("column")
    assert leak.loc["lead_status", "action"] == "left out"
    doc = yaml.safe_load((out / "definition.revised.yaml").read_text())
    assert "lead_status" not in {r["attribute"] for r in doc["fit_rules"]}
    metrics = json.loads((out / "metrics.json").read_text())
    auc = {m["model"]: m["roc_auc"] for m in metrics["metrics"]}
    assert metrics["split"].startswith("stratified") or "kfold" in metrics["split"]
    assert abs(auc["revised definition"] - auc["rule-feature model"]) <= 0.01

    assert main(["score", "--definition", str(out / "definition.revised.yaml"), "--leads",
                 str(tmp_path / "new_rows.csv"), "--id", "lead_number", "--out", str(tmp_path / "scores.csv")]) == 0
    scores = pd.read_csv(tmp_path / "scores.csv").set_index("lead_id")
    raw = pd.read_csv(tmp_path / "new_rows.csv", dtype=str, keep_default_na=False).replace("", None)
    expected = _points_by_hand(doc["fit_rules"], raw)
    assert len(scores) == len(raw)
    np.testing.assert_allclose(scores.loc[raw["lead_number"], "fit_score"].to_numpy(float), expected, atol=1e-9)
    # the points rank the new rows nearly as well as the generating model does
    y = t.iloc[2500:]["converted"].to_numpy()
    truth = roc_auc_score(y, _truth_eta(t.iloc[2500:]))
    assert roc_auc_score(y, scores.loc[raw["lead_number"], "score"]) >= truth - 0.03


def test_select_and_unknown_are_missing_when_the_mapping_says_so(tmp_path, capsys):
    t = make_flat_export(n=3000, seed=4).table.rename(columns={"lead_number": "Lead Number"})
    rng = np.random.default_rng(0)
    t["company_size"] = t["company_size"].astype(object)
    t.loc[rng.random(len(t)) < 0.1, "company_size"] = "Unknown"  # 10 %: not a number, and not 5 % either
    t.iloc[:2500].to_csv(tmp_path / "flat.csv", index=False)
    t.iloc[2500:].to_csv(tmp_path / "new.csv", index=False)
    mapping = tmp_path / "flat.yaml"
    mapping.write_text('missing: ["", "-", "Select", "Unknown"]\ntables:\n  leads:\n'
                       '    columns: {lead_id: Lead Number}\n')
    runs = {}
    for name, extra in (("plain", ["--id", "Lead Number"]), ("mapped", ["--mapping", str(mapping)])):
        assert main(["calibrate", "--leads", str(tmp_path / "flat.csv"), "--outcome", "converted", *extra,
                     "--no-figures", "--out", str(tmp_path / name)]) == 0
        runs[name] = yaml.safe_load((tmp_path / name / "definition.revised.yaml").read_text())
    capsys.readouterr()
    types = {n: {a["name"]: a["type"] for a in d["attributes"]} for n, d in runs.items()}
    # without the mapping "Unknown" is a value: 90 % numbers make no number column, and hundreds of levels no
    # category, so the strongest field is lost
    assert "company_size" not in {r["attribute"] for r in runs["plain"]["fit_rules"]}
    assert types["mapped"]["company_size"] == "number"
    size_rules = [r for r in runs["mapped"]["fit_rules"] if r["attribute"] == "company_size" and r["op"] == "range"]
    assert size_rules and any(abs(r["min"] - 200) <= 0.05 * 5000 for r in size_rules)
    values = [str(v) for r in runs["mapped"]["fit_rules"] for v in (r.get("value") or []) if r["op"] == "in"]
    assert "Select" not in values and "Unknown" not in values
    # new rows read through the same mapping: an "Unknown" size scores no size points
    out = tmp_path / "scores.csv"
    assert main(["score", "--definition", str(tmp_path / "mapped" / "definition.revised.yaml"), "--leads",
                 str(tmp_path / "new.csv"), "--mapping", str(mapping), "--id", "lead_id", "--out", str(out)]) == 0
    scores = pd.read_csv(out).set_index("lead_id")
    raw = pd.read_csv(tmp_path / "new.csv", dtype=str, keep_default_na=False).replace("", None)
    expected = _points_by_hand(runs["mapped"]["fit_rules"], raw, missing=("Select", "Unknown"))
    np.testing.assert_allclose(scores.loc[raw["Lead Number"], "fit_score"].to_numpy(float), expected, atol=1e-9)


def _bad_files(tmp_path):
    t = make_flat_export(n=300, seed=0).table
    t.to_csv(tmp_path / "flat.csv", index=False)
    t.assign(converted=np.where(t["converted"] == 1, "won", "maybe")).to_csv(tmp_path / "words.csv", index=False)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("lead_number,company_size,converted\n")
    t.head(3).to_csv(tmp_path / "acts.csv", index=False)


@pytest.mark.parametrize("argv, where, needle", [
    (["calibrate", "--leads", "flat.csv", "--outcome", "won", "--id", "lead_number"], "flat.csv", "no outcome column 'won'"),
    (["calibrate", "--leads", "words.csv", "--outcome", "converted"], "words.csv", "undeclared outcome value(s)"),
    (["calibrate", "--leads", "empty.csv", "--outcome", "converted"], "empty.csv", "the file is empty"),
    (["calibrate", "--leads", "header.csv", "--outcome", "converted"], "header.csv", "no rows"),
    (["calibrate", "--leads", "flat.csv", "--outcome", "converted", "--id", "lead_numbr"], "flat.csv",
     "no id column 'lead_numbr' (did you mean 'lead_number'?)"),
    (["calibrate", "--leads", "flat.csv", "--id", "lead_number"], "--id", "give --outcome COLUMN too"),
    (["calibrate", "--leads", "flat.csv", "--outcome", "converted", "--outcomes", "flat.csv"], "--outcomes",
     "does not go with --outcome"),
    (["calibrate", "--outcome", "converted"], "--leads", "give the export as --leads FILE"),
    (["calibrate", "--max-rules", "5"], "--max-rules", "add --discover"),
    (["score", "--leads", "flat.csv", "--id", "lead_no"], "flat.csv", "no id column 'lead_no'"),
    (["score", "--leads", "flat.csv", "--id", "lead_number", "--activities", "acts.csv"], "--activities",
     "does not go with it"),
    (["score", "--id", "lead_number"], "--id", "give the export as --leads FILE"),
])
def test_bad_flat_input_is_one_clear_line_with_exit_code_2(tmp_path, capsys, monkeypatch, argv, where, needle):
    _bad_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    extra = ["--out", "o"] if argv[0] == "calibrate" else []
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = [x for x in err.splitlines() if x.startswith("leadsim: error: ")]
    assert len(line) == 1 and where in line[0] and needle in line[0], err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before
    assert not (tmp_path / "o").exists()


def test_history_path_discovers_with_a_rule_cap(tmp_path, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", "--discover", "--max-rules", "8", "--half-lives", "21", "--no-figures",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Criteria discovery" in text and "Leakage guard" in text
    proposals = pd.read_csv(out / "proposals.csv")
    assert set(proposals["change"]) <= {"new", "kept", "dropped", "not proposed"}
    new = proposals[proposals["change"] == "new"]
    assert (new["low"] <= new["odds_ratio"]).all() and (new["odds_ratio"] <= new["high"]).all()
    leakage = pd.read_csv(out / "leakage.csv").set_index("column")
    assert leakage.loc["deal_size_eur", "action"] == "left out"
    doc = yaml.safe_load((out / "definition.yaml").read_text())
    assert "deal_size_eur" not in {r["attribute"] for r in doc["fit_rules"]}
    gated = {r for g in doc["gates"].values() for r in g.get("exclude", [])}
    rules = proposals[proposals["kind"] != "gate value"]
    ruled = set(rules.loc[rules["change"].isin(["new", "kept"]), "rule"])
    assert len(ruled - gated) <= 8  # the cap the user set; rules a gate names do not count
    # gate values proposed the same way: one value per gate check, and the revised definition holds it
    gates = proposals[proposals["kind"] == "gate value"]
    chosen = gates[gates["change"] != "not proposed"].set_index("rule")
    assert chosen.index.is_unique and "gate mql.min_behaviour" in chosen.index
    value = float(chosen.loc["gate mql.min_behaviour", "condition"].split(">=")[1])
    assert doc["gates"]["mql"]["min_behaviour"] == pytest.approx(value)
