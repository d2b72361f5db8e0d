"""The ``leadsim definition``, ``score`` and ``explain`` commands, on hand-made files and the sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from leadsim._resources import data_path
from leadsim.cli import main
from leadsim.definition import load_definition

HERE = Path(__file__).parent / "data"
MAPPING = data_path("mappings/crm_example.yaml")
AS_OF = "2026-03-02 12:00"

# Three leads whose scores are computed by hand from data/definition.yaml at AS_OF:
#  L1: vp 25 + 250 staff 20 + software 15 + DACH 10 + business e-mail 10 = fit 80;
#      a free-trial form at AS_OF: 50 (age 0, no decay) + active in the last 3 days 5 = behaviour 55 -> 135, hot.
#  L2: student -40 + private e-mail -10 = fit -50; no activity -> -50.
#  L3: manager 8; a webinar 45 days ago: 15 * 0.5 ** (45 / 45) = 7.5 -> 15.5.
LEADS = """lead_id,company,source,created_at,seniority,email,company_size,industry,region,EXTRA
L1,Acme,web_form,2026-01-05 09:00,vp,anna@acme.de,250,software,DACH,EMPTY
L2,Uni,organic,2026-01-06 10:00,student,max@gmail.com,,education,UK,EMPTY
L3,Beta,event,2026-01-07 11:00,manager,,,,,EMPTY
"""
# The attributes the three leads leave empty (present, so no "no column" warning).
EMPTY_COLUMNS = ["job_title", "years_experience", "revenue_musd", "subsidiaries", "products_in_use", "bant_budget",
                 "bant_authority", "bant_need", "bant_timeline"]
LEADS = LEADS.replace("EXTRA", ",".join(EMPTY_COLUMNS)).replace("EMPTY", "," * (len(EMPTY_COLUMNS) - 1))
ACTIVITIES = """lead_id,activity,at,detail
L1,form_fill,2026-03-02 12:00,free_trial
L3,webinar,2026-01-16 12:00,
L3,web_visit,2026-03-02 12:01,/pricing
"""
EXPECTED = {"L1": (80.0, 55.0), "L2": (-50.0, 0.0), "L3": (8.0, 7.5)}


@pytest.fixture
def files(tmp_path):
    leads, acts = tmp_path / "leads.csv", tmp_path / "acts.csv"
    leads.write_text(LEADS)
    acts.write_text(ACTIVITIES)
    return ["--leads", str(leads), "--activities", str(acts), "--as-of", AS_OF]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- definition


def test_validate_counts_what_the_yaml_lists(capsys):
    raw = yaml.safe_load(data_path("definition.yaml").read_text(encoding="utf-8"))
    code, out, _ = run(capsys, "definition", "validate")
    assert code == 0
    assert out.startswith("OK: embedded default")
    assert f"{len(raw['fit_rules'])} fit rules, {len(raw['bant'])} BANT rules, {len(raw['behaviour_rules'])} behaviour" in out
    assert run(capsys, "definition", "validate", "de")[0] == 0


def test_show_lists_every_rule_and_stage(capsys):
    d = load_definition()
    code, out, _ = run(capsys, "definition", "show")
    assert code == 0
    for rid in [*d.rule_ids, *(t.id for t in d.hot_triggers), *(c.id for c in d.sla.clocks)]:
        assert rid in out
    assert "company_size in [50, 200)" in out and "seniority in [c_level, vp]" in out
    assert "Sales Lead" in out and "0: owner, 1: owner, 2: owner+manager, 3: leadership" in out


def test_show_json_is_the_definition(capsys):
    assert run_json(capsys, "definition", "show") == json.loads(json.dumps(load_definition().to_dict()))


def test_diff_two_files(tmp_path, capsys):
    d = load_definition()
    old = tmp_path / "old.yaml"
    d.to_yaml(old)
    changed = d.model_copy(deep=True)
    changed.thresholds.mql = 90
    new = tmp_path / "new.yaml"
    changed.to_yaml(new)
    got = run_json(capsys, "definition", "diff", old, new)
    assert got["changes"] == [
        {"section": "thresholds", "item": "mql", "field": "", "old": 100.0, "new": 90.0, "change": "changed"}
    ]
    code, out, _ = run(capsys, "definition", "diff", old, new)
    assert code == 0 and "1 change(s)" in out and "mql" in out
    assert "0 change(s)" in run(capsys, "definition", "diff", old, old)[1]


def test_diff_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "definition", "diff", tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert code == 2 and "a.yaml: lead definition not found" in err


# --------------------------------------------------------------------------- score and explain on files


def test_score_hand_computed(files, capsys):
    got = run_json(capsys, "score", *files)
    assert got["leads_scored"] == 3 and got["mqls"] == 1 and got["hot"] == 1
    assert got["as_of"].startswith("2026-03-02T12:00")
    top = {r["lead_id"]: r for r in got["top"]}
    for lead, (fit, beh) in EXPECTED.items():
        assert top[lead]["fit_score"] == pytest.approx(fit)
        assert top[lead]["behaviour_score"] == pytest.approx(beh)
        assert top[lead]["score"] == pytest.approx(fit + beh)
    assert [r["lead_id"] for r in got["top"]] == ["L1", "L3", "L2"]
    assert top["L1"]["hot_reason"] == "Free-trial form" and top["L1"]["company"] == "Acme"
    # L1 is A (fit 80 >= 70) and engagement 2 (30 <= 55 < 60); L2 and L3 are D4.
    assert got["grade_x_engagement"]["A"]["2"] == 1 and got["grade_x_engagement"]["D"]["4"] == 2
    assert sum(sum(row.values()) for row in got["grade_x_engagement"].values()) == 3


def test_score_prints_a_summary(files, capsys):
    code, out, err = run(capsys, "score", *files, "--top", 2)
    assert code == 0, err
    assert "Scored 3 leads" in out and "as of 2026-03-02 12:00" in out and "MQLs now: 1" in out
    assert "top 2 leads" in out and "L1" in out and "135.0" in out


def test_score_ignores_activities_after_as_of(files, capsys):
    got = run_json(capsys, "score", *files)          # L3's pricing visit is one minute after AS_OF
    assert {r["lead_id"]: r["behaviour_score"] for r in got["top"]}["L3"] == pytest.approx(7.5)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_score_out_writes_every_lead(files, tmp_path, capsys, ext):
    out = tmp_path / f"scores{ext}"
    code, _, err = run(capsys, "score", *files, "--out", out)
    assert code == 0, err
    table = pd.read_csv(out) if ext == ".csv" else pd.read_parquet(out)
    assert table["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert table["score"].tolist() == pytest.approx([135.0, -50.0, 15.5])
    # A second run refuses to replace it, --overwrite allows it.
    code, _, err = run(capsys, "score", *files, "--out", out)
    assert code == 2 and "exists already" in err
    assert run(capsys, "score", *files, "--out", out, "--overwrite")[0] == 0


def test_score_never_overwrites_an_input(files, capsys):
    leads = Path(files[1])
    before = leads.read_text()
    code, _, err = run(capsys, "score", *files, "--out", leads, "--overwrite")
    assert code == 2 and "would overwrite an input file" in err
    assert leads.read_text() == before


def test_score_out_must_be_csv_or_parquet(files, tmp_path, capsys):
    code, _, err = run(capsys, "score", *files, "--out", tmp_path / "s.txt")
    assert code == 2 and "--out must end in .csv or .parquet" in err


def test_activities_without_leads(tmp_path, capsys):
    code, _, err = run(capsys, "score", "--activities", tmp_path / "a.csv")
    assert code == 2 and "--activities needs --leads too" in err


def test_explain_hand_computed(files, capsys):
    got = run_json(capsys, "explain", "L1", "L2", *files)
    l1, l2 = got["leads"]
    assert l1["lead_id"] == "L1" and l1["score"] == pytest.approx(135.0)
    assert [(f["rule_id"], f["points"]) for f in l1["factors"]] == [
        ("free_trial", 50.0), ("senior_exec", 25.0), ("size_large", 20.0)]
    assert [(f["rule_id"], f["points"], f["direction"]) for f in l2["factors"]] == [
        ("student", -40.0, "-"), ("private_email", -10.0, "-")]


def test_explain_prints(files, capsys):
    code, out, _ = run(capsys, "explain", "L3", *files)
    assert code == 0
    assert "L3: score 15.5 (fit 8.0 + behaviour 7.5), grade D4, not an MQL" in out
    assert "Webinar attended" in out


def test_explain_unknown_lead(files, capsys):
    code, _, err = run(capsys, "explain", "L9", "L1", *files)
    assert code == 2 and "unknown lead id(s) ['L9']" in err


def test_score_a_crm_export_through_the_mapping(tmp_path, capsys):
    acts = tmp_path / "acts.csv"
    acts.write_text("Lead ID,Activity Type,Timestamp,Asset\n00Q0001,Form Submit,29/01/2026 11:00,free_trial\n"
                    "00Q0004,Page View,25/01/2026 08:00,/careers/jobs\n")
    got = run_json(capsys, "score", "--leads", HERE / "crm_export_leads.csv", "--activities", acts,
                   "--stage-log", HERE / "crm_export_status_history.csv", "--mapping", MAPPING)
    assert got["leads_scored"] == 6
    assert got["as_of"].startswith("2026-01-29T12:00")      # the last activity, 11:00 UTC = 12:00 Berlin
    top = {r["lead_id"]: r for r in got["top"]}
    assert top["00Q0001"]["is_hot"] is True
    # 00Q0004 writes from a competitor's domain: -100 outweighs everything else it has.
    assert top["00Q0004"]["score"] < 0


def test_bad_input_exits_2_without_traceback(tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,created_at\nL1,not a date\n")
    proc = subprocess.run([sys.executable, "-m", "leadsim.cli", "score", "--leads", str(leads)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("leadsim: error: ")
    assert "row 2: 'not a date'" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- the embedded sample


@pytest.fixture(scope="module")
def sample():
    from leadsim.datasets import load_sample

    return load_sample()


def test_score_on_the_sample(sample, capsys):
    from leadsim.scoring import score

    got = run_json(capsys, "score", "--top", 5)
    as_of = sample.activities["at"].max()
    assert pd.Timestamp(got["as_of"]) == as_of
    assert got["leads_scored"] == len(sample.leads)
    direct = score(sample.leads, sample.activities, sample.definition, as_of=as_of, stage_log=sample.stage_log)
    # "MQLs now": the MQLs in an open marketing stage (the CLI passes the sample's stage log)
    open_now = direct["mql_state"].isin(["mql", "unknown"])
    assert got["mqls"] == int((direct["is_mql"] & open_now).sum()) and got["hot"] == int((direct["is_hot"] & open_now).sum())
    assert got["stage_known"] and got["states"]["closed"] == int((direct["mql_state"] == "closed").sum())
    assert [r["score"] for r in got["top"]] == pytest.approx(direct["score"].nlargest(5).tolist())


def test_explain_on_the_sample(sample, capsys):
    from leadsim.scoring import contributions

    as_of = sample.activities["at"].max()
    lead = sample.activities.loc[sample.activities["at"] == as_of, "lead_id"].iloc[0]   # an active lead
    got = run_json(capsys, "explain", lead)["leads"][0]
    parts = contributions(sample.leads, sample.activities, sample.definition, as_of=as_of, stage_log=sample.stage_log)
    row = parts.loc[lead]
    assert got["lead_id"] == lead and got["score"] == pytest.approx(row.sum())
    best = sorted((rule for rule in row.index if row[rule] > 0), key=lambda r: (-round(row[r], 6), r))[:3]
    assert [f["rule_id"] for f in got["factors"] if f["direction"] == "+"] == best  # equal points: by rule id
