"""Bad input of every kind: each test asserts the error type AND that the message
says where the problem is (file, field, row) and what was found."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from leadsim._resources import data_path
from leadsim.cli import main
from leadsim.definition import LeadsimWarning, load_definition
from leadsim.errors import DataError, DefinitionError, InputFileError, MappingError, SchemaError
from leadsim.io import check_references, load_mapping, read_table

# Hand-made lead files carry only a few attributes; the "no column" warning is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*no column.*:leadsim.definition.LeadsimWarning")
BASE = yaml.safe_load(data_path("definition.yaml").read_text(encoding="utf-8"))


def write_def(tmp_path: Path, change) -> Path:
    """The default definition with one hand-made change, written to a file."""
    data = copy.deepcopy(BASE)
    change(data)
    path = tmp_path / "definition.yaml"
    path.write_text(yaml.dump(data, sort_keys=False, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)), encoding="utf-8")
    return path


def rule(data: dict, rule_id: str) -> dict:
    return next(r for sec in ("fit_rules", "behaviour_rules") for r in data[sec] if r["id"] == rule_id)


def write_csv(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


LEADS_OK = "lead_id,created_at,seniority\nL1,2026-01-05 09:00,vp\nL2,2026-01-06 10:00,manager\n"


# --------------------------------------------------------------------------- the definition


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write_csv(tmp_path, "version: 1.0\nthresholds:\n  mql: [100\n", "bad.yaml")
    with pytest.raises(DefinitionError, match=r"bad\.yaml: malformed YAML at line \d+, column \d+"):
        load_definition(path)


def test_unknown_operator_names_rule_and_operator(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "director").update(op="equals"))
    with pytest.raises(DefinitionError) as err:
        load_definition(path)
    msg = str(err.value)
    assert "fit_rules.director.op" in msg and "'equals'" in msg and "'eq'" in msg


def test_unknown_attribute_in_rule(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "director").update(attribute="senority"))
    with pytest.raises(DefinitionError, match=r"fit_rules\.director: unknown attribute 'senority'.*seniority"):
        load_definition(path)


def test_negative_half_life(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "webinar").update(half_life_days=-5))
    with pytest.raises(DefinitionError, match=r"behaviour_rules\.webinar\.half_life_days: .*greater than 0; got -5"):
        load_definition(path)


def test_threshold_not_a_number(tmp_path):
    path = write_def(tmp_path, lambda d: d["thresholds"].update(mql="high"))
    with pytest.raises(DefinitionError, match=r"thresholds\.mql: .*number.*'high'"):
        load_definition(path)


def test_duplicate_rule_ids(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "manager").update(id="director"))
    with pytest.raises(DefinitionError, match=r"rule id\(s\) used twice: \['director'\]"):
        load_definition(path)


def test_protected_attribute_scored_without_allow_protected(tmp_path):
    extra = {"id": "women", "category": "demographic", "attribute": "gender", "op": "eq", "value": "female",
             "points": 5}
    path = write_def(tmp_path, lambda d: d["fit_rules"].append(extra))
    with pytest.raises(DefinitionError, match=r"fit_rules\.women: attribute 'gender' is protected.*allow_protected"):
        load_definition(path)


def test_unknown_stage_in_a_clock(tmp_path):
    path = write_def(tmp_path, lambda d: d["sla"]["clocks"][1].update(stage="sales_leed"))
    with pytest.raises(DefinitionError, match=r"sla.*clock 'touch'.*unknown stage 'sales_leed'"):
        load_definition(path)


def test_clock_offsets_out_of_order(tmp_path):
    path = write_def(tmp_path, lambda d: d["sla"]["clocks"][2]["levels"][1].update(offset=6))
    with pytest.raises(DefinitionError, match=r"sla\.clocks\.process: .*\[7\.0, 6\.0, 9\.0\] must be strictly increasing"):
        load_definition(path)


def test_calendar_with_no_working_day(tmp_path):
    path = write_def(tmp_path, lambda d: d["calendar"].update(working_days=[]))
    with pytest.raises(DefinitionError, match=r"calendar\.working_days: .*at least one working day"):
        load_definition(path)


def test_unknown_time_zone(tmp_path):
    path = write_def(tmp_path, lambda d: d["calendar"].update(timezone="Europe/Berln"))
    with pytest.raises(DefinitionError, match=r"calendar\.timezone: unknown time zone 'Europe/Berln'"):
        load_definition(path)


def test_regex_that_does_not_compile(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "revenue_role").update(value="market(ing"))
    with pytest.raises(DefinitionError, match=r"fit_rules\.revenue_role: regex 'market\(ing' on 'job_title' does not compile"):
        load_definition(path)


def test_misspelt_key(tmp_path):
    path = write_def(tmp_path, lambda d: d["thresholds"].update(mgl=90))
    with pytest.raises(DefinitionError, match=r"thresholds\.mgl: unknown key"):
        load_definition(path)


def test_missing_required_key(tmp_path):
    path = write_def(tmp_path, lambda d: d.pop("version"))
    with pytest.raises(DefinitionError, match=r"definition\.yaml: version: required key is missing"):
        load_definition(path)


def test_definition_that_is_a_list(tmp_path):
    path = write_csv(tmp_path, "- version: 1\n", "list.yaml")
    with pytest.raises(DefinitionError, match=r"list\.yaml: a lead definition is a YAML mapping.*got list"):
        load_definition(path)


def test_transition_to_unknown_stage(tmp_path):
    path = write_def(tmp_path, lambda d: d["funnel"]["transitions"]["lead"].append("won"))
    with pytest.raises(DefinitionError, match=r"funnel: transitions\.lead: unknown stage 'won'"):
        load_definition(path)


def test_in_operator_with_a_single_value(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "core_industry").update(value="software"))
    with pytest.raises(DefinitionError, match=r"fit_rules\.core_industry: op 'in' on 'industry' needs 'value' as a non-empty list"):
        load_definition(path)


def test_category_value_not_allowed(tmp_path):
    path = write_def(tmp_path, lambda d: rule(d, "director").update(value="Director"))
    with pytest.raises(DefinitionError, match=r"fit_rules\.director: value\(s\) \['Director'\] not among 'seniority'"):
        load_definition(path)


def test_sla_message_with_unknown_field(tmp_path):
    path = write_def(tmp_path, lambda d: d["sla"]["clocks"][0]["levels"][0].update(message="Call {customer}"))
    with pytest.raises(DefinitionError, match=r"sla\.clocks\.response\.levels\.0\.message: .*unknown field\(s\) \['customer'\]"):
        load_definition(path)


def test_empty_definition_file(tmp_path):
    path = write_csv(tmp_path, "\n  \n", "empty.yaml")
    with pytest.raises(InputFileError, match=r"empty\.yaml: the lead definition is empty"):
        load_definition(path)


def test_definition_path_is_a_directory(tmp_path):
    with pytest.raises(InputFileError, match=rf"{tmp_path}: is a directory"):
        load_definition(tmp_path)



def test_workbook_given_as_definition(tmp_path):
    path = tmp_path / "leads.xlsx"
    pd.DataFrame({"lead_id": ["L1"]}).to_excel(path, index=False)
    with pytest.raises(InputFileError, match=r"leads\.xlsx: is not UTF-8 text \(it looks like an Excel workbook\), "
                                             r"so not a lead definition; .*give the YAML file"):
        load_definition(path)


def test_latin1_definition(tmp_path):
    path = tmp_path / "def.yaml"
    path.write_bytes("name: M\xfcller\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"def\.yaml: is not UTF-8 text, so not a lead definition; byte 7 "):
        load_definition(path)

def test_definition_file_missing(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.yaml: lead definition not found"):
        load_definition(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------- tables


def test_missing_lead_id_column(tmp_path):
    path = write_csv(tmp_path, "id,created_at\nL1,2026-01-05\n")
    with pytest.raises(SchemaError, match=r"t\.csv: required column 'lead_id' is missing.*found columns \['id', 'created_at'\]"):
        read_table(path, "leads", load_definition())


def test_missing_lead_id_value(tmp_path):
    path = write_csv(tmp_path, "lead_id,created_at\nL1,2026-01-05\n,2026-01-06\n")
    with pytest.raises(DataError, match=r"t\.csv: column 'lead_id': 1 value\(s\) missing.*row 3"):
        read_table(path, "leads", load_definition())


def test_activities_for_unknown_leads(tmp_path):
    leads = read_table(write_csv(tmp_path, LEADS_OK, "leads.csv"), "leads", load_definition())
    acts = read_table(write_csv(tmp_path, "lead_id,activity,at\nL1,web_visit,2026-01-07\nL7,webinar,2026-01-08\n"
                                "L8,webinar,2026-01-08\nL7,webinar,2026-01-09\n", "acts.csv"), "activities", load_definition())
    with pytest.raises(DataError, match=r"activities: 3 row\(s\) refer to lead\(s\) not in the leads table: "
                                        r"'L7' \(rows 3, 5\), 'L8' \(row 4\)"):
        check_references(leads, activities=acts)



def test_unknown_leads_named_by_file_with_a_fix(tmp_path, capsys):
    leads = write_csv(tmp_path, LEADS_OK, "leads.csv")
    acts = write_csv(tmp_path, "lead_id,activity,at\nL1,web_visit,2026-01-07\nL7,webinar,2026-01-08\n", "crm_acts.csv")
    assert main(["score", "--leads", str(leads), "--activities", str(acts)]) == 0
    err = capsys.readouterr().err
    assert "activities: kept 1 of 2 rows; 1 set aside: 1 lead not in the leads table" in err
    assert main(["score", "--leads", str(leads), "--activities", str(acts), "--strict"]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("leadsim: warning: ")]
    assert len(errors) == 1
    assert f"{acts}, line 3: lead not in the leads table (lead L7); --strict stops at the first row" in errors[0]

def test_unparseable_dates_name_row_and_value(tmp_path):
    path = write_csv(tmp_path, "lead_id,created_at\nL1,2026-01-05\nL2,31.02.2026\nL3,yesterday\n")
    with pytest.raises(DataError, match=r"t\.csv: column 'created_at': 2 value\(s\) are not dates "
                                        r"\(row 3: '31\.02\.2026', row 4: 'yesterday'\); expected ISO 8601"):
        read_table(path, "leads", load_definition())


def test_date_not_matching_the_mapped_format(tmp_path):
    path = write_csv(tmp_path, "Lead,Created\nL1,05/01/2026\nL2,2026-01-06\n")
    mapping = write_csv(tmp_path, "tables:\n  leads:\n    columns: {lead_id: Lead, created_at: Created}\n"
                        "    dates: {created_at: '%d/%m/%Y'}\n", "m.yaml")
    with pytest.raises(DataError, match=r"column 'created_at'.*row 3: '2026-01-06'.*the format '%d/%m/%Y'"):
        read_table(path, "leads", load_definition(), mapping=mapping)


def test_empty_table_file(tmp_path):
    path = write_csv(tmp_path, "")
    with pytest.raises(InputFileError, match=r"t\.csv: the file is empty"):
        read_table(path, "leads", load_definition())


def test_blank_lines_only(tmp_path):
    path = write_csv(tmp_path, "\n\n")
    with pytest.raises(InputFileError, match=r"t\.csv: the file is empty"):
        read_table(path, "leads", load_definition())


def test_directory_instead_of_table(tmp_path):
    with pytest.raises(InputFileError, match=rf"{tmp_path}: is a directory"):
        read_table(tmp_path, "leads", load_definition())


def test_missing_table_file(tmp_path):
    with pytest.raises(InputFileError, match=r"gone\.csv: file not found"):
        read_table(tmp_path / "gone.csv", "leads", load_definition())


def test_unknown_extension(tmp_path):
    path = write_csv(tmp_path, LEADS_OK, "leads.json")
    with pytest.raises(InputFileError, match=r"leads\.json: unknown file type '\.json'"):
        read_table(path, "leads", load_definition())



@pytest.mark.parametrize("name", ["export.xls", "export.xlsx"])
def test_text_or_old_excel_file_named_xls(tmp_path, name):
    path = write_csv(tmp_path, LEADS_OK, name)  # a CSV saved under an Excel name, or an old binary .xls
    with pytest.raises(InputFileError) as err:
        read_table(path, "leads", load_definition())
    assert str(err.value) == (f"{path}: is not an Excel workbook in .xlsx format (old .xls and text files named "
                              ".xls/.xlsx cannot be read); save it as .xlsx or .csv")
    assert path.read_text(encoding="utf-8") == LEADS_OK

def test_corrupt_parquet(tmp_path):
    path = write_csv(tmp_path, LEADS_OK, "leads.parquet")
    with pytest.raises(InputFileError, match=r"leads\.parquet: cannot read as parquet"):
        read_table(path, "leads", load_definition())


def test_ragged_csv_row(tmp_path):
    path = write_csv(tmp_path, "lead_id,created_at\nL1,2026-01-05\nL2,2026-01-06,extra\n")
    with pytest.raises(InputFileError, match=r"t\.csv: row 3 has 3 fields but the header has 2"):
        read_table(path, "leads", load_definition())


def test_duplicate_lead_ids(tmp_path):
    path = write_csv(tmp_path, LEADS_OK + "L1,2026-01-07 10:00,vp\n")
    with pytest.raises(DataError, match=r"column 'lead_id': 1 lead_id value\(s\) occur more than once \('L1'; rows 2, 4\)"):
        read_table(path, "leads", load_definition())


def test_unknown_category_lists_values_rows_and_allowed(tmp_path):
    path = write_csv(tmp_path, "lead_id,created_at,industry\nL1,2026-01-05,software\nL2,2026-01-05,Telecom\n"
                     "L3,2026-01-05,telecom\nL4,2026-01-05,Telecom\n")
    with pytest.raises(DataError) as err:
        read_table(path, "leads", load_definition())
    msg = str(err.value)
    assert "column 'industry'" in msg
    assert "'Telecom' (rows 3, 5)" in msg and "'telecom' (row 4)" in msg
    assert "allowed: ['education', 'finance'" in msg


def test_unknown_stage_in_stage_log(tmp_path):
    path = write_csv(tmp_path, "lead_id,stage,at\nL1,Lead,2026-01-05\nL1,MQL,2026-01-06\n")
    with pytest.raises(DataError, match=r"column 'stage': unknown stage\(s\) \['MQL'\] \(row 3\).*lead \(Lead\)"):
        read_table(path, "stage_log", load_definition())


def test_not_a_whole_number(tmp_path):
    path = write_csv(tmp_path, "lead_id,created_at,company_size\nL1,2026-01-05,12\nL2,2026-01-05,twelve\n")
    with pytest.raises(DataError, match=r"column 'company_size': 1 value\(s\) are not whole numbers \(row 3: 'twelve'\)"):
        read_table(path, "leads", load_definition())


def test_outcome_not_yes_or_no(tmp_path):
    path = write_csv(tmp_path, "lead_id,handed_at,sql\nL1,2026-01-05,yes\nL2,2026-01-05,maybe\n")
    with pytest.raises(DataError, match=r"column 'sql': 1 value\(s\) are not yes/no \(row 3: 'maybe'\)"):
        read_table(path, "outcomes", load_definition())


# --------------------------------------------------------------------------- mappings


def test_malformed_mapping_yaml(tmp_path):
    path = write_csv(tmp_path, "tables:\n  leads: {columns: [\n", "m.yaml")
    with pytest.raises(MappingError, match=r"m\.yaml: malformed YAML at line"):
        load_mapping(path, load_definition())


def test_mapping_onto_unknown_attribute(tmp_path):
    path = write_csv(tmp_path, "tables:\n  leads:\n    columns: {lead_id: Id, senority: Level}\n", "m.yaml")
    with pytest.raises(MappingError, match=r"m\.yaml: tables\.leads\.columns: unknown leadsim column 'senority'.*"
                                           r"did you mean 'seniority'"):
        load_mapping(path, load_definition())


def test_mapping_onto_disallowed_value(tmp_path):
    path = write_csv(tmp_path, "tables:\n  stage_log:\n    values:\n      stage: {Qualified: sql}\n", "m.yaml")
    with pytest.raises(MappingError, match=r"tables\.stage_log\.values\.stage: maps onto value\(s\) \['sql'\]"):
        load_mapping(path, load_definition())


def test_mapping_bare_yes_key(tmp_path):
    path = write_csv(tmp_path, "tables:\n  outcomes:\n    values:\n      sql: {Yes: true, No: false}\n", "m.yaml")
    with pytest.raises(MappingError, match=r"tables\.outcomes.*values\.sql: key True is not text; quote it"):
        load_mapping(path, load_definition())


def test_mapping_names_a_column_the_export_lacks(tmp_path):
    data = write_csv(tmp_path, "Lead,Created\nL1,2026-01-05\n")
    path = write_csv(tmp_path, "tables:\n  leads:\n    columns: {lead_id: Lead ID, created_at: Created}\n", "m.yaml")
    with pytest.raises(SchemaError, match=r"t\.csv: the mapping names export column 'Lead ID', which the file lacks \(did you mean 'Lead'\?\)"):
        read_table(data, "leads", load_definition(), mapping=path)


def test_mapping_unknown_table_kind(tmp_path):
    path = write_csv(tmp_path, "tables:\n  contacts:\n    columns: {lead_id: Id}\n", "m.yaml")
    with pytest.raises(MappingError, match=r"m\.yaml: tables\.contacts.*'leads'"):
        load_mapping(path, load_definition())


# --------------------------------------------------------------------------- the command line


def test_cli_bad_definition_exits_2_with_one_line(tmp_path, capsys):
    path = write_def(tmp_path, lambda d: d["thresholds"].update(mql="high"))
    assert main(["definition", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "thresholds.mql" in err and "Traceback" not in err


def test_cli_bad_as_of(tmp_path, capsys):
    leads = write_csv(tmp_path, LEADS_OK, "leads.csv")
    assert main(["score", "--leads", str(leads), "--as-of", "next tuesday"]) == 2
    assert "--as-of: cannot read 'next tuesday' as a date/time" in capsys.readouterr().err



LOG_OK = "lead_id,stage,at,reason,owner\nL1,name,2026-01-05 09:00,created,\nL1,lead,2026-01-06 10:00,score,ann\n"


@pytest.mark.parametrize("argv, flag", [(["funnel", "--start", "garbage"], "--start"),
                                        (["funnel", "--end", "garbage"], "--end"),
                                        (["sla", "audit", "--as-of", "garbage"], "--as-of")])
def test_cli_bad_time_flags_exit_2_naming_the_flag(tmp_path, capsys, argv, flag):
    log = write_csv(tmp_path, LOG_OK, "log.csv")
    assert main([*argv, "--log", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{flag}: cannot read 'garbage' as a date/time" in err



@pytest.mark.parametrize("argv", [["funnel"], ["sla", "audit"], ["sla", "schedule"]])
def test_cli_illegal_move_names_the_log_file(tmp_path, capsys, argv):
    log = write_csv(tmp_path, LOG_OK + "L1,customer,2026-01-07 10:00,won,ann\n", "crm_log.csv")
    aside = tmp_path / "aside.csv"
    assert main([*argv, "--log", str(log), "--set-aside", str(aside)]) == 0  # set aside, the rest runs
    err = capsys.readouterr().err
    assert "stage_log: kept 2 of 3 rows; 1 set aside: 1 illegal move Lead → Customer" in err
    assert pd.read_csv(aside)[["line", "lead_id", "reason"]].to_dict("records") == [
        {"line": 4, "lead_id": "L1", "reason": "illegal move Lead → Customer"}]
    assert main([*argv, "--log", str(log), "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{log}, line 4: illegal move Lead → Customer (lead L1); --strict stops" in err


def test_cli_touch_before_lead_names_file_and_file_row(tmp_path, capsys):
    log = write_csv(tmp_path, LOG_OK, "log.csv")
    touches = write_csv(tmp_path, "lead_id,at,kind,by\nL1,2026-01-06 11:00,call,ann\nL1,2025-12-01 09:00,call,ann\n",
                        "crm_touches.csv")
    assert main(["sla", "audit", "--log", str(log), "--touches", str(touches)]) == 2
    err = capsys.readouterr().err
    # the second record is on line 3 of the file (the header is line 1)
    assert err.count("\n") == 1 and "crm_touches.csv: row 3: touch on lead 'L1' at 2025-12-01 09:00:00, before" in err

def test_api_bad_times_in_waterfall_and_audit(tmp_path):
    from leadsim.funnel import waterfall
    from leadsim.sla import audit

    log = read_table(write_csv(tmp_path, LOG_OK, "log.csv"), "stage_log", load_definition())
    with pytest.raises(DataError, match=r"waterfall\.start: cannot read 'soon' as a date/time"):
        waterfall(log, load_definition(), start="soon", end=None)
    with pytest.raises(DataError, match=r"as_of: cannot read 'soon' as a date/time"):
        audit(log, None, load_definition(), as_of="soon")


@pytest.mark.parametrize("layout", ["input_inside", "not_a_report", "current_folder"])
def test_cli_demo_force_never_deletes_a_folder_with_user_files(tmp_path, capsys, monkeypatch, layout):
    out = tmp_path / "crm"
    out.mkdir()
    leads = write_csv(out, LEADS_OK, "leads.csv")
    argv = ["demo", "--out", str(out), "--force", "--quiet"]
    if layout == "input_inside":
        argv += ["--leads", str(leads)]
    if layout == "current_folder":
        (out / "index.html").write_text("<html></html>", encoding="utf-8")
        monkeypatch.chdir(out)
        argv[2] = "."
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose another --out" in err
    expected = {"input_inside": "holds the input file", "not_a_report": "is not a leadsim report",
                "current_folder": "is the current folder"}[layout]
    assert expected in err
    assert leads.read_text(encoding="utf-8") == LEADS_OK


def test_explain_needs_at_least_one_factor(capsys):
    from leadsim.scoring import explain

    parts = pd.DataFrame({"director": [20.0], "careers_page": [-5.0]}, index=pd.Index(["L1"], name="lead_id"))
    for n in (0, -1, 1.5):
        with pytest.raises(DataError, match=rf"n: the number of factors per direction .* at least 1; got {n!r}"):
            explain(parts, load_definition(), lead_id="L1", n=n)
    assert main(["explain", "L000001", "-n", "-1"]) == 2
    assert capsys.readouterr().err == "leadsim: error: -n: -1 factors per direction; give -n 1 or more\n"

def test_protected_attribute_allowed_warns(tmp_path):
    def change(d):
        d["allow_protected"] = True
        d["fit_rules"].append({"id": "women", "category": "demographic", "attribute": "gender", "op": "eq",
                               "value": "female", "points": 5})

    with pytest.warns(LeadsimWarning, match=r"fit_rules\.women scores the protected attribute 'gender'"):
        load_definition(write_def(tmp_path, change))


def test_shifts_and_mapping_zones_are_checked_like_the_calendars(tmp_path):
    from leadsim.errors import ScenarioError
    from leadsim.simulation import load_scenario

    with pytest.raises(ScenarioError, match=r"shifts\.sdr \['17:00', '09:00'\]: the opening must come before"):
        load_scenario().with_values({"shifts": {"sdr": ["17:00", "09:00"]}})
    with pytest.raises(ScenarioError, match=r"shifts\.rep \['9', '17:00'\] must be two times"):
        load_scenario().with_values({"shifts": {"rep": ["9", "17:00"]}})
    bad = tmp_path / "m.yaml"
    bad.write_text("timezone: Europe/Berln\ntables: {leads: {columns: {lead_id: ID}}}\n")
    with pytest.raises(MappingError, match=r"unknown time zone 'Europe/Berln'; use an IANA name"):
        load_mapping(bad, load_definition())
