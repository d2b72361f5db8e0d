"""The MQL gates (leadsim.definition.gates, leadsim.scoring.gates): hand-worked leads under the sample definition,
the same verdict from score, mql_events, explain and the CLI, and bad gates refused with a useful message."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import yaml

from leadsim._resources import data_path
from leadsim.cli import main
from leadsim.definition import load_definition, parse_definition
from leadsim.errors import DefinitionError
from leadsim.scoring import contributions, explain, mql_events, required_columns, score

AS_OF = "2026-03-31 12:00"


def _leads(definition, rows):
    cols = required_columns(definition)["leads"] + ["created_at"]
    return pd.DataFrame(rows).reindex(columns=cols).assign(created_at=pd.Timestamp("2026-03-01"))


def _acts(rows):
    df = pd.DataFrame(rows, columns=["lead_id", "activity", "at", "detail"])
    df["at"] = pd.to_datetime(df["at"])
    return df


# S1: a student at a competitor's domain who filled in the free-trial form a day ago.
#   fit: student -40, business e-mail +10 (rivalsoft is no free mail), competitor -100 = -130 (grade D)
#   behaviour: free trial 50 * 0.5 ** (1 / 30) = 48.86, active in the last 3 days +5; the free-trial trigger is on
# F1: fit 150 and no behaviour at all:
#   senior_exec 25, revenue_role 10, experienced 5, business e-mail 10, 1000+ employees 25, core industry 15,
#   home region 10, revenue 50M+ 10, runs an ERP 10, budget 15, decision maker 15 = 150
FIT_150 = {"seniority": "vp", "job_title": "VP Sales", "years_experience": 12, "email": "eva@acme.de",
           "company_size": 2000, "industry": "software", "region": "DACH", "revenue_musd": 80,
           "products_in_use": "SAP ERP", "bant_budget": "approved", "bant_authority": "decision_maker"}
STUDENT = {"seniority": "student", "email": "kim@rivalsoft.com"}


@pytest.fixture
def two_leads(definition):
    leads = _leads(definition, [{"lead_id": "S1", **STUDENT}, {"lead_id": "F1", **FIT_150}])
    acts = _acts([("S1", "form_fill", "2026-03-30 12:00", "free_trial")])
    return leads, acts


def test_the_hand_worked_leads_score_as_worked_out(definition, two_leads):
    leads, acts = two_leads
    s = score(leads, acts, definition, as_of=AS_OF)
    assert s.loc["S1", "fit_score"] == -130 and s.loc["S1", "grade"] == "D"
    assert s.loc["S1", "behaviour_score"] == pytest.approx(50 * 0.5 ** (1 / 30) + 5)
    assert s.loc["F1", "fit_score"] == 150 and s.loc["F1", "behaviour_score"] == 0 and s.loc["F1", "score"] == 150


def test_a_competitor_student_with_a_free_trial_is_no_mql(definition, two_leads):
    leads, acts = two_leads
    s = score(leads, acts, definition, as_of=AS_OF)
    assert not s.loc["S1", "is_mql"] and not s.loc["S1", "is_hot"] and pd.isna(s.loc["S1", "hot_reason"])
    # hot.exclude lists competitor first: that check holds the lead back
    assert s.loc["S1", "held_by"] == "hot.exclude.competitor"
    # without gates the trigger alone made it an MQL, hot
    open_def = definition.model_copy(update={"gates": type(definition.gates)()})
    old = score(leads, acts, open_def, as_of=AS_OF)
    assert old.loc["S1", "is_mql"] and old.loc["S1", "hot_reason"] == "Free-trial form" and pd.isna(old.loc["S1", "held_by"])


def test_fit_without_behaviour_is_no_mql(definition, two_leads):
    leads, acts = two_leads
    s = score(leads, acts, definition, as_of=AS_OF)
    assert s.loc["F1", "score"] >= definition.thresholds.mql
    assert not s.loc["F1", "is_mql"] and s.loc["F1", "held_by"] == "mql.min_behaviour"
    # one webinar yesterday (15 * 0.5 ** (1 / 45) = 14.77, active in the last 3 days +5: 19.77 >= 10) shows
    # buying behaviour: now it is an MQL
    webinar = _acts([("F1", "webinar", "2026-03-30 12:00", None)])
    s2 = score(leads, webinar, definition, as_of=AS_OF)
    assert s2.loc["F1", "behaviour_score"] == pytest.approx(15 * 0.5 ** (1 / 45) + 5)
    assert s2.loc["F1", "is_mql"] and pd.isna(s2.loc["F1", "held_by"])


def test_a_low_grade_is_held_by_the_grade_check(definition):
    # manager 8, 300 employees 20 = fit 28 (grade C); individual at a 60-person firm: 10 (grade D)
    leads = _leads(definition, [{"lead_id": "C1", "seniority": "manager", "company_size": 300},
                                {"lead_id": "D1", "seniority": "individual", "company_size": 60}])
    acts = _acts([(lid, "live_demo", "2026-03-30 12:00", None) for lid in ("C1", "D1")])
    s = score(leads, acts, definition, as_of=AS_OF)
    assert s.loc["C1", "grade"] == "C" and s.loc["C1", "is_mql"] and s.loc["C1", "is_hot"]
    assert s.loc["D1", "grade"] == "D" and not s.loc["D1", "is_mql"] and s.loc["D1", "held_by"] == "hot.min_grade"


def test_mql_events_honour_the_gates(definition, two_leads):
    leads, acts = two_leads
    assert mql_events(leads, acts, definition, as_of=AS_OF).empty
    # the fit-150 lead attends a webinar on March 20th: from then on it shows behaviour and is an MQL
    more = pd.concat([acts, _acts([("F1", "webinar", "2026-03-20 10:00", None)])], ignore_index=True)
    ev = mql_events(leads, more, definition, as_of=AS_OF)
    assert ev[["lead_id", "at", "reason"]].values.tolist() == [["F1", pd.Timestamp("2026-03-20 10:00"), "score"]]
    # the same with the fit points given (the generator's and the simulation's way)
    fit = score(leads, None, definition, as_of=AS_OF)["fit_score"].to_numpy()
    pd.testing.assert_frame_equal(mql_events(leads, more, definition, as_of=AS_OF, fit_points=fit), ev)


def test_explain_names_the_gate(definition, two_leads):
    leads, acts = two_leads
    s = score(leads, acts, definition, as_of=AS_OF)
    c = contributions(leads, acts, definition, as_of=AS_OF)
    ex = explain(c, definition, lead_id="S1", scores=s)
    gate = ex[ex["direction"] == "gate"]
    assert gate["rule_id"].tolist() == ["hot.exclude.competitor"]
    assert "Competitor domain" in gate["label"].iloc[0] and "hot-trigger gate" in gate["label"].iloc[0]
    f1 = explain(c, definition, lead_id="F1", scores=s)
    assert f1["direction"].iloc[-1] == "gate" and "behaviour score of at least 10" in f1["label"].iloc[-1]
    assert "gate" not in explain(c, definition, lead_id="F1")["direction"].tolist()  # no scores: factors only


def test_cli_explain_says_which_gate_held_the_lead(definition, two_leads, tmp_path, capsys):
    leads, acts = two_leads
    leads.to_csv(tmp_path / "leads.csv", index=False)
    acts.to_csv(tmp_path / "acts.csv", index=False)
    args = ["explain", "S1", "F1", "--leads", str(tmp_path / "leads.csv"), "--activities", str(tmp_path / "acts.csv"),
            "--as-of", AS_OF]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "not an MQL (held back: the hot-trigger gate excludes leads matching 'Competitor domain'" in out
    assert "held back: the MQL gate needs a behaviour score of at least 10" in out
    assert main([*args, "--json"]) == 0
    got = {r["lead_id"]: r["held_by"] for r in json.loads(capsys.readouterr().out)["leads"]}
    assert got == {"S1": "hot.exclude.competitor", "F1": "mql.min_behaviour"}


# --------------------------------------------------------------------------- bad gates

BASE = yaml.safe_load(data_path("definition.yaml").read_text(encoding="utf-8"))


def _with_gates(change) -> dict:
    data = copy.deepcopy(BASE)
    change(data["gates"])
    return data


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda g: g["hot"].update(exclude=["competitr"]),
         r"gates\.hot\.exclude: unknown rule id 'competitr'; name a fit, BANT"),
        (lambda g: g["mql"].update(min_grade="E"), r"gates\.mql\.min_grade: unknown grade 'E'.*\['A', 'B', 'C', 'D'\]"),
        (lambda g: g["mql"].update(min_behaviour=-5), r"gates\.mql\.min_behaviour: .*greater than or equal to 0"),
        (lambda g: g["hot"].update(exclude=["student", "student"]), r"gates\.hot\.exclude: .*'student'.*twice"),
        (lambda g: g.update(sales={}), r"gates\.sales"),
    ],
)
def test_bad_gates_are_refused_naming_the_field(change, match):
    with pytest.raises(DefinitionError, match=match):
        parse_definition(_with_gates(change))


def test_excluding_a_rule_of_no_points_is_refused():
    data = _with_gates(lambda g: g["mql"].update(exclude=["manager"]))
    next(r for r in data["fit_rules"] if r["id"] == "manager")["points"] = 0
    with pytest.raises(DefinitionError, match=r"gates\.mql\.exclude: rule 'manager' scores 0 points"):
        parse_definition(data)


def test_no_gates_check_nothing_and_both_samples_carry_the_same_gates():
    data = copy.deepcopy(BASE)
    del data["gates"]
    assert parse_definition(data).gates.mql.empty
    assert load_definition("de").gates == load_definition().gates
    assert not load_definition().gates.mql.empty
