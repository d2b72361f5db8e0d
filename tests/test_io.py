"""Reading and writing tables: formats, coercion, time zones, mappings (end to end on a hand-made CRM export)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadsim._resources import data_path
from leadsim.definition import LeadsimWarning, load_definition
from leadsim.errors import DataError, InputFileError
from leadsim.io import check_references, load_mapping, read_table, read_tables, validate_table, write_table

HERE = Path(__file__).parent / "data"
MAPPING = data_path("mappings/crm_example.yaml")
TS = pd.Timestamp


def plain(s: pd.Series) -> list:
    """Values as a list with every kind of missing value as None."""
    return [None if pd.isna(v) else v for v in s.tolist()]


@pytest.fixture
def leads():
    return pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "company": ["Acme", "Beta", None],
            "source": ["web_form", "event", "outbound"],
            "seniority": ["vp", None, "student"],
            "company_size": pd.array([250, None, 12], dtype="Int64"),
            "revenue_musd": [10.5, np.nan, 0.0],
            "industry": ["software", "retail", None],
            "created_at": pd.to_datetime(["2026-01-05 09:00", "2026-02-01 17:30", "2026-03-02 08:00"]),
        }
    )


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx"])
def test_write_then_read_gives_the_same_table(tmp_path, leads, ext):
    path = write_table(leads, tmp_path / f"leads{ext}")
    with pytest.warns(LeadsimWarning, match="no column"):
        back = read_table(path, "leads", load_definition())
    cols = list(leads.columns)
    got = back[cols]
    assert got["created_at"].dtype == "datetime64[ns]"
    assert got["company_size"].dtype == "Int64"
    assert got["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert got["company"].isna().tolist() == [False, False, True]
    assert got["seniority"].tolist()[::2] == ["vp", "student"] and pd.isna(got["seniority"][1])
    assert got["company_size"].tolist()[::2] == [250, 12] and pd.isna(got["company_size"][1])
    np.testing.assert_array_equal(got["revenue_musd"].to_numpy(), [10.5, np.nan, 0.0])
    assert got["created_at"].tolist() == leads["created_at"].tolist()
    # Every definition attribute is there, missing ones as empty columns.
    assert {a.name for a in load_definition().attributes} <= set(back.columns)


def test_tz_aware_times_become_local_naive_times():
    # Berlin is UTC+1 in January and UTC+2 in July.
    raw = pd.DataFrame({"lead_id": ["a", "b", "d"], "activity": "web_visit",
                        "at": ["2026-01-05T08:00:00Z", "2026-07-01T12:00:00+00:00", "2026-03-29T01:30:00-05:00"]})
    got = validate_table(raw, "activities", load_definition())
    assert got["at"].tolist() == [TS("2026-01-05 09:00"), TS("2026-07-01 14:00"), TS("2026-03-29 08:30")]
    assert got["at"].dtype == "datetime64[ns]"
    naive = pd.DataFrame({"lead_id": ["c"], "activity": "web_visit", "at": ["2026-07-01 12:00"]})
    assert validate_table(naive, "activities", load_definition())["at"].tolist() == [TS("2026-07-01 12:00")]
    # both in one column, and no mapping saying where the naive ones were written: refused, not guessed
    with pytest.raises(DataError, match=r"mixed time zones: 3 value\(s\) carry a zone .* 1 do not \(row 5"):
        validate_table(pd.concat([raw, naive]), "activities", load_definition())


def test_tz_aware_parquet_column(tmp_path):
    df = pd.DataFrame({"lead_id": ["a"], "activity": ["webinar"],
                       "at": pd.to_datetime(["2026-07-01 12:00"]).tz_localize("America/New_York")})
    path = write_table(df, tmp_path / "a.parquet")
    assert read_table(path, "activities", load_definition())["at"].tolist() == [TS("2026-07-01 18:00")]


def test_excel_native_dates_and_numbers(tmp_path):
    df = pd.DataFrame({"lead_id": [101, 102], "created_at": [pd.Timestamp("2026-01-05 10:00"), "2026-01-06"],
                       "company_size": [12.0, 13]})
    path = tmp_path / "l.xlsx"
    df.to_excel(path, index=False)
    with pytest.warns(LeadsimWarning):
        got = read_table(path, "leads", load_definition())
    assert got["lead_id"].tolist() == ["101", "102"]                   # ids are text
    assert got["created_at"].tolist() == [TS("2026-01-05 10:00"), TS("2026-01-06")]
    assert got["company_size"].tolist() == [12, 13]


def test_numbers_booleans_and_integers_are_coerced(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("lead_id,handed_at,sql,won,propensity,response_minutes\n"
                    "L1,2026-01-05,Yes,,0.25,1e3\nL2,2026-01-05,no,TRUE, 1 ,\nL3,2026-01-06,1,0,NA,7\n")
    got = read_table(path, "outcomes", load_definition())
    assert got["sql"].dtype == bool and got["sql"].tolist() == [True, False, True]
    assert got["won"].dtype == "boolean" and got["won"].tolist()[1:] == [True, False] and pd.isna(got["won"][0])
    np.testing.assert_array_equal(got["propensity"], [0.25, 1.0, np.nan])
    np.testing.assert_array_equal(got["response_minutes"], [1000.0, np.nan, 7.0])
    assert got["handoff_id"].tolist() == ["L1#1", "L2#1", "L3#1"]   # made up when the file has none


def test_fractional_integer_is_an_error(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("lead_id,created_at,subsidiaries\nL1,2026-01-05,2.5\n")
    with pytest.raises(DataError, match=r"column 'subsidiaries': 1 value\(s\) are not whole numbers \(row 2: '2.5'\)"):
        read_table(path, "leads", load_definition())


def test_unknown_categories_can_be_set_missing_with_a_warning(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("lead_id,created_at,region\nL1,2026-01-05,DACH\nL2,2026-01-05,Mars\n")
    with pytest.raises(DataError, match=r"'Mars' \(row 3\)"):
        read_table(path, "leads", load_definition())
    with pytest.warns(LeadsimWarning, match=r"column 'region'.*'Mars' \(row 3\).*set to missing"):
        got = read_table(path, "leads", load_definition(), on_unknown="na")
    assert got["region"].iloc[0] == "DACH" and pd.isna(got["region"].iloc[1])


def test_stage_labels_are_read_as_ids():
    raw = pd.DataFrame({"lead_id": ["a", "a"], "stage": ["Sales Lead", "OPPORTUNITY"], "at": ["2026-01-05", "2026-01-06"]})
    assert validate_table(raw, "stage_log", load_definition())["stage"].tolist() == ["sales_lead", "opportunity"]
    raw["stage"] = ["Vertriebs-Lead", "sales_lead"]
    assert validate_table(raw, "stage_log", load_definition("de"))["stage"].tolist() == ["sales_lead", "sales_lead"]


def test_semicolon_csv_with_decimal_comma_through_a_mapping(tmp_path):
    data = tmp_path / "l.csv"
    data.write_text("Id;Erstellt;Umsatz\nL1;05.01.2026 10:00;1.234,5\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables:\n  leads:\n    columns: {lead_id: Id, created_at: Erstellt, revenue_musd: Umsatz}\n"
                       "    dates: {created_at: '%d.%m.%Y %H:%M'}\n    decimal: ','\n")
    with pytest.warns(LeadsimWarning):
        got = read_table(data, "leads", load_definition(), mapping=mapping)
    assert got["created_at"].tolist() == [TS("2026-01-05 10:00")]
    assert got["revenue_musd"].tolist() == [1234.5]


def test_write_table_refuses_to_overwrite_and_writes_atomically(tmp_path, leads, monkeypatch):
    path = tmp_path / "out.csv"
    path.write_text("precious")
    with pytest.raises(InputFileError, match=r"out\.csv: exists already"):
        write_table(leads, path)
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_table(leads, path, overwrite=True)
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    monkeypatch.undo()
    write_table(leads, path, overwrite=True)
    assert pd.read_csv(path)["lead_id"].tolist() == ["L1", "L2", "L3"]


def test_write_table_keeps_a_named_index(tmp_path):
    scores = pd.DataFrame({"score": [1.5, 2.0]}, index=pd.Index(["L1", "L2"], name="lead_id"))
    path = write_table(scores, tmp_path / "s.parquet")
    assert pd.read_parquet(path).to_dict("list") == {"lead_id": ["L1", "L2"], "score": [1.5, 2.0]}


def test_check_references_owners(tmp_path):
    leads = pd.DataFrame({"lead_id": ["L1"]})
    touches = pd.DataFrame({"lead_id": ["L1", "L1"], "by": ["Sam", "Kim"]})
    owners = pd.DataFrame({"owner": ["Sam"]})
    with pytest.raises(DataError, match=r"touches: column 'by' names owner\(s\) \['Kim'\] not in the owners table \(row 3\)"):
        check_references(leads, touches=touches, owners=owners)
    check_references(leads, touches=touches.iloc[:1], owners=owners)


# --------------------------------------------------------------------------- the CRM export, end to end


def test_crm_leads_export_maps_onto_leads():
    got = read_table(HERE / "crm_export_leads.csv", "leads", load_definition(), mapping=MAPPING).set_index("lead_id")
    assert got.index.tolist() == ["00Q0001", "00Q0002", "00Q0003", "00Q0004", "00Q0005", "00Q0006"]
    expected = {
        "source": ["web_form", "paid", "organic", "web_form", "event", "outbound"],
        "seniority": ["director", "manager", "student", "manager", "c_level", "vp"],
        "industry": ["manufacturing", "software", "education", "software", "finance", "retail"],
        "region": ["DACH", "Nordics", "DACH", "UK", "Southern Europe", "Benelux"],
        "bant_budget": ["approved", "planned", "unknown", "none", None, "planned"],
        "bant_timeline": ["under_3m", "under_6m", "unknown", "over_12m", None, "under_3m"],
        "products_in_use": ["ERP; CRM", "CRM", None, "ERP", "ERP", "CRM"],
    }
    for col, values in expected.items():
        assert plain(got[col]) == values, col
    # "Select" and "-" are missing; 120,5 has a decimal comma; UTC times are now Berlin times (+1 h in January).
    assert pd.isna(got.loc["00Q0002", "subsidiaries"]) and pd.isna(got.loc["00Q0003", "company"])
    assert got.loc["00Q0001", "revenue_musd"] == 120.5
    assert got.loc["00Q0003", "created_at"] == TS("2026-01-11 00:05")     # 23:05 UTC the day before
    assert got.loc["00Q0004", "company_size"] == 1500
    # Columns the mapping does not mention are kept as they were.
    assert got.loc["00Q0004", "Internal Notes"] == "competitor"


def test_crm_status_history_becomes_a_stage_log():
    got = read_table(HERE / "crm_export_status_history.csv", "stage_log", load_definition(), mapping=MAPPING)
    expected = {
        "lead_id": ["00Q0001"] * 3 + ["00Q0002"] * 2 + ["00Q0003"] * 2 + ["00Q0006"] * 2,
        "stage": ["name", "lead", "sales_lead", "name", "lead", "name", "disqualified", "sales_lead", "opportunity"],
        "at": [TS(t) for t in ["2026-01-05 09:15", "2026-01-06 10:00", "2026-01-07 12:00", "2026-01-07 15:40",
                               "2026-01-08 11:00", "2026-01-11 00:05", "2026-01-11 09:00", "2026-01-20 17:45",
                               "2026-01-22 16:00"]],
        "reason": ["import"] * 9,
        "owner": [None, "Sam SDR", "Rita Rep", None, "Sam SDR", None, None, "Rita Rep", "Rita Rep"],
    }
    assert list(got.columns) == list(expected)
    assert got["at"].dtype == "datetime64[ns]"
    assert {col: plain(got[col]) for col in got.columns} == expected


def test_crm_handoffs_become_outcomes():
    got = read_table(HERE / "crm_export_handoffs.csv", "outcomes", load_definition(), mapping=MAPPING)
    assert got["lead_id"].tolist() == ["00Q0001", "00Q0002", "00Q0006"]
    assert got["sql"].tolist() == [True, False, True]
    assert got["opportunity"].tolist()[::2] == [False, True] and pd.isna(got["opportunity"][1])
    assert got["handed_at"].tolist() == [TS("2026-01-06 10:00"), TS("2026-01-08 11:00"), TS("2026-01-20 17:45")]


def test_read_tables_reads_and_cross_checks():
    tables = read_tables(HERE / "crm_export_leads.csv", stage_log=HERE / "crm_export_status_history.csv",
                         outcomes=HERE / "crm_export_handoffs.csv", definition=load_definition(), mapping=MAPPING)
    assert set(tables) == {"leads", "stage_log", "outcomes"}
    assert len(tables["stage_log"]) == 9


def test_example_mapping_is_valid_for_the_default_definition():
    m = load_mapping(MAPPING, load_definition())
    assert set(m.tables) == {"leads", "activities", "stage_log", "outcomes"}


def test_activity_names_no_rule_knows_are_warned_about(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("lead_id,activity,at\nL1,web_visit,2026-01-05\nL1,Page View,2026-01-06\nL2,Page View,2026-01-07\n")
    with pytest.warns(LeadsimWarning, match=r"column 'activity': 'Page View' \(2 rows\) match no rule"):
        got = read_table(path, "activities", load_definition())
    assert got["activity"].tolist() == ["web_visit", "Page View", "Page View"]


def test_mapping_time_zone_for_naive_export_times(tmp_path):
    # New York is UTC-4 in July (08:00 -> 12:00 UTC -> 14:00 Berlin). London's 01:30 on 2026-10-25 happens twice;
    # it is read as standard time (GMT), i.e. 01:30 UTC, when Berlin is already back on UTC+1: 02:30.
    path = tmp_path / "a.csv"
    path.write_text("lead_id,activity,at\nL1,webinar,2026-07-01 08:00\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("timezone: America/New_York\ntables: {activities: {}}\n")
    assert read_table(path, "activities", load_definition(), mapping=mapping)["at"].tolist() == [TS("2026-07-01 14:00")]
    path.write_text("lead_id,activity,at\nL1,webinar,2026-10-25 01:30\nL1,webinar,2026-10-25T01:30:00-04:00\n")
    mapping.write_text("timezone: Europe/London\ntables: {activities: {}}\n")
    got = read_table(path, "activities", load_definition(), mapping=mapping)["at"].tolist()
    # An explicit offset wins over the mapping's zone: 01:30-04:00 is 05:30 UTC, 06:30 in Berlin.
    assert got == [TS("2026-10-25 02:30"), TS("2026-10-25 06:30")]


def test_csv_with_a_quoted_line_break_and_a_bom(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text('lead_id,created_at,company\nL1,2026-01-05,"Acme\nMaschinenbau"\nL2,2026-01-06, Beta \n',
                    encoding="utf-8-sig")
    with pytest.warns(LeadsimWarning):
        got = read_table(path, "leads", load_definition())
    assert got["lead_id"].tolist() == ["L1", "L2"]
    assert got["company"].tolist() == ["Acme\nMaschinenbau", "Beta"]
