"""``leadsim simulate`` and ``leadsim sweep`` end to end."""

from __future__ import annotations

import json

import pandas as pd

from leadsim.cli import main
from leadsim.simulation import Scenario, load_scenario


def _small(tmp_path):
    p = tmp_path / "s.yaml"
    sc = load_scenario().with_values({"horizon_days": 7, "arrivals.web_form.per_week": 20,
                                      "arrivals.paid.per_week": 10, "arrivals.organic.per_week": 10,
                                      "arrivals.event.per_week": 0, "bursts": []})
    p.write_text(sc.to_yaml())
    return p


def test_simulate_writes_tables_and_kpis(tmp_path, capsys):
    s = _small(tmp_path)
    out = tmp_path / "run"
    assert main(["simulate", "--scenario", str(s), "--seed", "3", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["curve"] == "default+custom" and summary["seed"] == 3  # the sample scenario's fitted anchors
    for name in ("leads", "activities", "stage_log", "touches", "owners", "outcomes", "alerts", "kpis"):
        assert (out / f"{name}.csv").exists()
    log = pd.read_csv(out / "stage_log.csv")
    assert list(log.columns) == ["lead_id", "stage", "at", "reason", "owner"]
    assert summary["leads"] == len(pd.read_csv(out / "leads.csv"))
    # never over an existing folder with files
    assert main(["simulate", "--scenario", str(s), "--out", str(out)]) == 2
    assert "never overwrites" in capsys.readouterr().err


def test_sweep_cli_and_its_errors(tmp_path, capsys):
    s = tmp_path / "q.yaml"
    s.write_text(Scenario.queueing(6, 3, 3, horizon_days=0.5, warmup_days=0.1).to_yaml())
    g = tmp_path / "g.yaml"
    g.write_text("sdr_headcount: [3, 4]\n")
    out = tmp_path / "sw"
    assert main(["sweep", "--scenario", str(s), "--grid", str(g), "--replications", "2", "--out", str(out),
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["sdr_headcount"] for r in rows} == {3, 4}
    assert (out / "sweep.csv").exists()
    g.write_text("sdr_headcnt: [3, 4]\n")
    assert main(["sweep", "--scenario", str(s), "--grid", str(g)]) == 2
    assert "unknown key 'sdr_headcnt'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("routing: lottery\n")
    assert main(["simulate", "--scenario", str(bad)]) == 2
    assert "routing" in capsys.readouterr().err
