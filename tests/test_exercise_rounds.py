"""Rounds of one exercise: kept in its folder, shown by round with the definition version and what changed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from leadsim.definition import load_definition
from leadsim.errors import LeadsimError
from leadsim.exercise import compare
from leadsim.exercise.rounds import load_rounds, record_round, round_changes, round_table, rounds_markdown


def _report(d, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["good", "not"], 60)
    b = np.where(rng.random(60) < 0.8, a, rng.choice(["good", "not"], 60))
    names = [f"C{i}" for i in range(60)]
    key = pd.DataFrame({"company": names, "definition_verdict": rng.choice(["good", "not"], 60)})
    return compare({"marketing": pd.Series(a, index=names), "sales": pd.Series(b, index=names)}, d, key=key,
                   n_boot=100)


def test_two_rounds_side_by_side_with_versions_and_changes(tmp_path):
    d1 = load_definition()
    d2 = d1.model_copy(deep=True)
    d2.thresholds.mql = 90
    d2 = d2.bump("threshold lowered after round 1")
    record_round(_report(d1, 1), d1, folder=tmp_path, round=1)
    record_round(_report(d2, 2), d2, folder=tmp_path, round=2)
    rounds = load_rounds(tmp_path)
    table = round_table(rounds)
    assert table["round"].tolist() == [1, 1, 1, 2, 2, 2]
    assert table.groupby("round")["version"].first().tolist() == [d1.version, d2.version]
    assert {("marketing", "sales"), ("marketing", "definition"), ("sales", "definition")} == set(
        zip(table["a"], table["b"], strict=True))
    assert (table["kappa_low"] <= table["kappa"]).all() and (table["kappa"] <= table["kappa_high"]).all()
    changes = round_changes(rounds)
    assert len(changes) == 1 and "thresholds mql: 100 → 90" in changes[0]
    md = rounds_markdown(rounds)
    assert "## Agreement by round" in md and "What changed between rounds" in md
    with pytest.raises(LeadsimError, match="round 2 is recorded already"):
        record_round(_report(d2, 2), d2, folder=tmp_path, round=2)
    record_round(_report(d2, 3), d2, folder=tmp_path, round=2, force=True)
    with pytest.raises(LeadsimError, match="whole number"):
        record_round(_report(d2, 2), d2, folder=tmp_path, round=0)


def _exercise_folder(tmp_path):
    """A copy of the shipped filled worksheets and key in a folder of the test's own."""
    from leadsim._resources import data_path

    ex = tmp_path / "ex"
    ex.mkdir()
    for name in ("marketing.csv", "sales.csv", "key.csv"):
        shutil.copy(data_path(f"exercise/{name}"), ex / name)
    return ex, [str(ex / "marketing.csv"), str(ex / "sales.csv")]


def test_cli_compare_round_keeps_rounds_in_the_exercise_folder(tmp_path, capsys):
    from leadsim.cli import main

    ex, sheets = _exercise_folder(tmp_path)
    assert main(["exercise", "compare", *sheets, "--round", "1", "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "## Agreement by round" in out and (ex / "rounds" / "round-1.json").is_file()
    revised = load_definition().model_copy(deep=True)
    revised.thresholds.mql = 90
    revised = revised.bump("round 2")
    revised.to_yaml(tmp_path / "revised.yaml")
    assert main(["exercise", "compare", *sheets, "--round", "2", "--definition", str(tmp_path / "revised.yaml"),
                 "--n-boot", "100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted({r["round"] for r in data["rounds"]}) == [1, 2]
    assert main(["exercise", "compare", *sheets, "--round", "2", "--n-boot", "100"]) == 2
    err = capsys.readouterr().err
    assert "recorded already" in err and "Traceback" not in err
    assert main(["exercise", "compare", "--round", "1"]) == 2
    assert "--rounds-dir" in capsys.readouterr().err


def test_cli_revise_writes_the_revised_definition_and_a_second_round(tmp_path, capsys):
    from leadsim.cli import main

    ex, sheets = _exercise_folder(tmp_path)
    assert main(["exercise", "compare", *sheets, "--round", "1", "--n-boot", "100"]) == 0
    capsys.readouterr()
    out = tmp_path / "revised.yaml"
    assert main(["exercise", "revise", *sheets, "--out", str(out), "--round", "2"]) == 0
    text = capsys.readouterr().out
    assert "## Proposed revision of the definition" in text and "## Agreement by round" in text
    revised = load_definition(out)
    assert revised.version != load_definition().version
    rounds = load_rounds(ex)
    assert [r["version"] for r in rounds] == [load_definition().version, revised.version]
    assert main(["exercise", "revise", *sheets, "--out", str(out)]) == 2  # never over a file without --force
    assert "exists already" in capsys.readouterr().err
