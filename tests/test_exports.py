"""Whole CRM exports through the shipped templates: counts written out by hand from each fixture's story.

The fixtures in ``data/exports/`` are built to each vendor's export format; their README tells every lead's
story line by line.  The expected numbers below were counted by hand from those stories (see the README's
"Expected counts"), not taken from leadsim's output.
"""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from leadsim import load_definition
from leadsim._resources import data_path
from leadsim.definition import LeadsimWarning
from leadsim.errors import DataError, InputFileError, MappingError, SchemaError
from leadsim.io.export import read_export

# vendor -> (leads ever entering each stage, entries by stage, stage changes, set-aside reasons, touches per lead)
EXPECTED = {
    "salesforce": {
        "entered": {"lead": 20, "sales_lead": 8, "opportunity": 7, "customer": 3, "disqualified": 4, "lost": 3},
        "entries": {"lead": 20},
        "changes": 25,
        "set_aside": {"unknown stage value 'Recycled - Nurture'": 3, "duplicate row": 1,
                      "before the lead was created": 1, "illegal move Disqualified → Lead": 1,
                      "illegal move Lost → Opportunity": 1},
        # converted leads: their tasks point at the contact, found through ConvertedContactId
        "touches": {"00QHp0000006KHHMA2": 5, "00QHp0000006ML0MAM": 4, "00QHp0000006QSSMA2": 4,
                    "00QHp0000006cooMAA": 5, "00QHp0000006esXMAQ": 4, "00QHp0000006gwGMAQ": 3,
                    "00QHp0000006rEtMAI": 3, "00QHp0000006vMLMAY": 3},
        "all_touches": 44,  # 31 on converted leads, 13 on the others; the open task is none
    },
    "hubspot": {
        "entered": {"name": 4, "active": 16, "lead": 10, "sales_lead": 6, "opportunity": 4, "customer": 2},
        "entries": {"name": 4, "active": 14},
        "changes": 24,
        # the duplicated contact (line 14) repeats two stage cells and its owner assignment
        "set_aside": {"duplicate row": 3, "before the lead was created": 1, "unknown stage value 'Other'": 1,
                      "illegal move Active → Opportunity": 1},
        "touches": {"401252": 4, "401253": 2, "401255": 2, "401261": 1, "401263": 2, "401264": 2, "401265": 1,
                    "401267": 2},
        "all_touches": 16,  # 15 engagement rows, the meeting with two contacts counts for each; the note is none
    },
    "marketo": {
        "entered": {"name": 15, "active": 10, "target": 1, "lead": 9, "sales_lead": 5, "opportunity": 4,
                    "customer": 2, "disqualified": 2, "lost": 1},
        "entries": {"name": 15},
        "changes": 35,
        "set_aside": {"unknown stage value 'Partner Nurture'": 1, "duplicate row": 1,
                      "before the lead was created": 1, "illegal move Lost → Target": 1},
        "touches": {},
        "all_touches": 0,
    },
}


def read(vendor: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)  # company values outside the sample's categories
        return read_export(data_path(f"exports/{vendor}"), load_definition(),
                           mapping=data_path(f"mappings/{vendor}.yaml"), **kw)


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_each_template_rebuilds_the_funnel_counted_by_hand(vendor):
    want, ex = EXPECTED[vendor], read(vendor)
    log = ex.tables["stage_log"]
    assert log.groupby("stage")["lead_id"].nunique().to_dict() == want["entered"]
    first = log.groupby("lead_id", sort=False).head(1)
    assert first["stage"].value_counts().to_dict() == want["entries"]
    same_lead = log["lead_id"].eq(log["lead_id"].shift())
    assert int((same_lead & log["stage"].ne(log["stage"].shift())).sum()) == want["changes"]
    assert ex.set_aside["reason"].value_counts().to_dict() == {
        **want["set_aside"], **({"duplicate lead id": 1} if vendor == "hubspot" else {})}
    touches = ex.tables.get("touches", pd.DataFrame(columns=["lead_id"]))
    assert len(touches) == want["all_touches"]
    counts = touches.groupby("lead_id").size()
    assert {k: int(counts.get(k, 0)) for k in want["touches"]} == want["touches"]


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_kept_plus_set_aside_is_read_for_every_table(vendor):
    ex = read(vendor)
    for table, n in ex.read.items():
        aside = int((ex.set_aside["table"] == table).sum())
        assert ex.kept(table) + aside == n
        assert f"{table}: kept {ex.kept(table):,} of {n:,} rows" in "\n".join(ex.summary())
    if vendor != "hubspot":  # every row set aside names its file and line
        assert ex.set_aside["file"].notna().all() and ex.set_aside["line"].notna().all()


def test_set_aside_rows_point_at_their_lines():
    ex = read("salesforce")
    by_reason = ex.set_aside.set_index("reason")
    # the README's story: LH 27 re-opens a disqualified lead, OH 22 a lost deal, LH 73 repeats LH 29, LH 30 is early
    assert by_reason.loc["illegal move Disqualified → Lead", ["file", "line"]].tolist() == ["LeadHistory.csv", 27]
    assert by_reason.loc["illegal move Lost → Opportunity", ["file", "line"]].tolist() == [
        "OpportunityHistory.csv", 22]
    assert by_reason.loc["duplicate row", ["file", "line"]].tolist() == ["LeadHistory.csv", 73]
    assert by_reason.loc["before the lead was created", ["file", "line"]].tolist() == ["LeadHistory.csv", 30]
    hub = read("hubspot").set_aside
    assert hub.loc[hub["reason"] == "unknown stage value 'Other'", "column"].tolist() == [
        "Became an Other Lifecycle Date"]


def test_strict_refuses_the_first_row_that_breaks_the_funnel():
    with pytest.raises(DataError, match=r"LeadHistory\.csv, line 20: unknown stage value 'Recycled - Nurture' "
                                        r"\(lead 00QHp0000006QSSMA2\).*--strict"):
        read("salesforce", strict=True)


def test_a_company_value_mapped_in_takes_its_rows_back(tmp_path):
    text = data_path("mappings/salesforce.yaml").read_text(encoding="utf-8")
    text = text.replace("Closed - Not Converted: disqualified}", "Closed - Not Converted: disqualified,\n"
                        "                  Recycled - Nurture: target}")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        ex = read_export(data_path("exports/salesforce"), load_definition(), mapping=tmp_path / "m.yaml")
    log = ex.tables["stage_log"]
    assert log.groupby("stage")["lead_id"].nunique()["target"] == 3  # L05, L09, L17 (README, company mapping)
    assert len(ex.set_aside) == 4


def test_timestamps_in_utc_become_calendar_time():
    ex = read("salesforce")
    leads = ex.tables["leads"].set_index("lead_id")
    # Lead.csv: 2026-03-02T08:14:22.000Z; Europe/Berlin is UTC+1 in March
    assert leads.loc["00QHp0000006IDYMA2", "created_at"] == pd.Timestamp("2026-03-02 09:14:22")


# --------------------------------------------------------------------------- bad exports


def copy_export(tmp_path, vendor):
    dst = tmp_path / vendor
    shutil.copytree(data_path(f"exports/{vendor}"), dst)
    return dst


def test_a_missing_file_names_the_table_and_what_the_folder_holds(tmp_path):
    folder = copy_export(tmp_path, "salesforce")
    (folder / "Task.csv").unlink()
    with pytest.raises(InputFileError, match=r"the mapping reads 'Task\.csv' for the touches table, which the "
                                             r"export folder lacks; it holds \['Lead\.csv'"):
        read_export(folder, load_definition(), mapping=data_path("mappings/salesforce.yaml"))


def test_file_names_match_without_regard_to_case(tmp_path):
    folder = copy_export(tmp_path, "salesforce")
    (folder / "Task.csv").rename(folder / "TASK.CSV")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        ex = read_export(folder, load_definition(), mapping=data_path("mappings/salesforce.yaml"))
    assert len(ex.tables["touches"]) == 44


def test_a_mapped_column_the_file_lacks_is_named_with_a_suggestion(tmp_path):
    text = data_path("mappings/hubspot.yaml").read_text(encoding="utf-8").replace("created_at: Create Date",
                                                                                 "created_at: Created Date")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"contacts\.csv: the mapping names export column 'Created Date', which "
                                          r"the file lacks \(did you mean 'Create Date'\?\)"):
        read_export(data_path("exports/hubspot"), load_definition(), mapping=tmp_path / "m.yaml")


def test_an_unknown_leadsim_column_in_a_mapping_is_refused(tmp_path):
    text = data_path("mappings/marketo.yaml").read_text(encoding="utf-8").replace("job_title: title",
                                                                                 "jobtitle: title")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=r"unknown leadsim column 'jobtitle' for table leads.*job_title"):
        read_export(data_path("exports/marketo"), load_definition(), mapping=tmp_path / "m.yaml")


def test_an_export_in_another_encoding_is_named_with_the_fix(tmp_path):
    folder = copy_export(tmp_path, "marketo")
    (folder / "activities.csv").write_bytes((folder / "activities-semicolon.csv").read_bytes())
    with pytest.raises(InputFileError, match=r"activities\.csv: not utf-8 text.*set 'encoding:' \(e\.g\. cp1252\)"):
        read_export(folder, load_definition(), mapping=data_path("mappings/marketo.yaml"))


# --------------------------------------------------------------------------- the command line


def export_args(vendor: str) -> list[str]:
    return ["--export", str(data_path(f"exports/{vendor}")), "--mapping", str(data_path(f"mappings/{vendor}.yaml"))]


COMMANDS = {
    "score": ["score"],
    "explain": ["explain", "00QHp0000006KHHMA2"],
    "funnel": ["funnel"],
    "sla audit": ["sla", "audit"],
    "sla schedule": ["sla", "schedule"],
    "exercise sample": ["exercise", "sample", "--n", "5", "--out", "{tmp}/ws"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_reads_an_export_and_honours_strict(name, tmp_path, capsys):
    from leadsim.cli import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[name]]
    assert main([*argv, *export_args("salesforce")]) == 0
    err = capsys.readouterr().err
    assert "stage_log: kept 82 of 89 rows; 7 set aside" in err
    argv = [a.replace("/ws", "/ws2") for a in argv]
    assert main([*argv, *export_args("salesforce"), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "LeadHistory.csv, line 20: unknown stage value 'Recycled - Nurture'" in err and "Traceback" not in err


def test_calibrate_from_an_export_derives_outcomes_and_refuses_below_its_floor(tmp_path, capsys):
    from leadsim.cli import main

    assert main(["calibrate", *export_args("salesforce"), "--out", str(tmp_path / "cal")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "too few labelled hand-offs to calibrate: 19 hand-offs with 7 SQLs" in err
    assert "derived from the stage log" in err


def test_mapping_check_explains_each_fixture(capsys):
    from leadsim.cli import main

    assert main(["mapping", "check", *export_args("marketo")]) == 0
    out = capsys.readouterr().out
    assert "stage_log: kept 53 of 57 rows; 4 set aside" in out
    assert "stage_log.stage: unmapped value(s) 'Partner Nurture' (1)" in out
    assert "activities: kept 11 of 11 rows (6 more left out by the mapping's 'ignore')" in out
    assert main(["mapping", "check", *export_args("hubspot"), "--json"]) == 0
    import json

    got = json.loads(capsys.readouterr().out)
    # stage rows: 48 dated lifecycle cells (README) and 17 owner assignments (contacts with an assigned owner)
    assert {r["table"]: r["read"] for r in got["rows"]} == {"leads": 19, "stage_log": 65, "touches": 16}
    assert {"file": "contacts.csv", "column": "Lead Status"} in got["unread"]
    cols = {(r["table"], r["leadsim"]): r["status"] for r in got["columns"]}
    assert cols[("leads", "created_at")] == "found"


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_the_demo_on_an_export_is_about_that_export(vendor, tmp_path, capsys):
    from leadsim.cli import main

    out = tmp_path / "report"
    assert main(["demo", *export_args(vendor), "--out", str(out), "--quiet"]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "cannot be fitted" in page and "fitting a scenario needs at least 30" in page  # too small: it says so
    assert "exercise-marketing.xlsx and exercise-sales.xlsx (blank)" in page  # worksheets, not the sample's kappa
    assert (out / "exercise-marketing.xlsx").is_file() and (out / "exercise-key.csv").is_file()
    key = pd.read_csv(out / "exercise-key.csv", dtype=str)
    assert set(key["lead_id"]) <= set(read(vendor).tables["leads"]["lead_id"])
    wf = pd.read_csv(out / "waterfall.csv")
    assert wf.set_index("stage")["reached"].to_dict()[
        "customer"] == EXPECTED[vendor]["entered"]["customer"]


def test_mixed_time_zones_in_one_column_are_refused(tmp_path):
    from leadsim.io import read_table

    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_at\nL1,2026-03-02T08:00:00Z\nL2,2026-03-02 09:00\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"leads\.csv: column 'created_at': mixed time zones: 1 value\(s\) carry a "
                                        r"zone \(row 2: '2026-03-02T08:00:00Z'\) and 1 do not \(row 3"):
        read_table(path, "leads", load_definition())


def test_a_semicolon_file_with_decimal_commas_says_how_to_read_it(tmp_path):
    from leadsim.io import read_table

    path = tmp_path / "leads.csv"  # as German Excel saves it: ';' between cells, a decimal comma, Windows-1252
    path.write_bytes("lead_id;created_at;revenue_musd;company\nL1;2026-03-02 09:00;12,5;Müller GmbH\n"
                     .encode("cp1252"))
    with pytest.raises(InputFileError, match=r"not utf-8 text.*set 'encoding:' \(e\.g\. cp1252\)"):
        read_table(path, "leads", load_definition())
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables:\n  leads: {encoding: cp1252}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"revenue_musd.*\(row 2: '12,5'\); they are written with a decimal comma: "
                                        r"set decimal: ','"):
        read_table(path, "leads", load_definition(), mapping=mapping)
    mapping.write_text("tables:\n  leads: {encoding: cp1252, decimal: ','}\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        leads = read_table(path, "leads", load_definition(), mapping=mapping)
    assert leads.loc[0, "revenue_musd"] == 12.5 and leads.loc[0, "company"] == "Müller GmbH"


def test_the_marketo_excel_resave_reads_once_its_encoding_is_named(tmp_path):
    folder = copy_export(tmp_path, "marketo")
    (folder / "activities.csv").write_bytes((folder / "activities-semicolon.csv").read_bytes())
    text = data_path("mappings/marketo.yaml").read_text(encoding="utf-8")
    text = text.replace("      - file: activities.csv\n", "      - file: activities.csv\n        encoding: cp1252\n")
    text = text.replace("    file: activities.csv\n", "    file: activities.csv\n    encoding: cp1252\n")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    ex = read_export(folder, load_definition(), mapping=tmp_path / "m.yaml")
    # the five lines (README): two revenue-stage changes (101, 102), a send (6) and two interesting moments (46)
    assert ex.read["stage_log"] == 2 and ex.read["activities"] == 0 and ex.ignored["activities"] == 3


def test_calibrate_runs_from_a_stage_log_and_touches_alone(tmp_path, capsys):
    from leadsim.cli import main
    from leadsim.datasets import make_history

    h = make_history(load_definition(), n_leads=4000, start="2025-01-01", end="2026-01-01", seed=5)
    files = []
    for name in ("leads", "activities", "stage_log", "touches"):
        getattr(h, name).to_parquet(tmp_path / f"{name}.parquet")
        files += [f"--{name.replace('_', '-')}", str(tmp_path / f"{name}.parquet")]
    assert main(["calibrate", *files, "--out", str(tmp_path / "cal"), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and (tmp_path / "cal" / "definition.yaml").is_file()


@pytest.mark.parametrize("argv", [["calibrate", "--out", "{tmp}/cal"], ["demo", "--out", "{tmp}/rep", "--quiet"]])
def test_calibrate_and_demo_honour_strict_before_any_work(argv, tmp_path, capsys):
    from leadsim.cli import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, *export_args("salesforce"), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "LeadHistory.csv, line 20: unknown stage value 'Recycled - Nurture'" in err
    assert not (tmp_path / "cal").exists() and not (tmp_path / "rep").exists()
