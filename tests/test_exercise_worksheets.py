"""Worksheets that play the qualification through: coded columns round-trip in both languages, bad sheets get one line."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from leadsim.definition import load_definition
from leadsim.errors import VerdictError
from leadsim.exercise import read_verdicts, write_exercise, write_worksheet
from leadsim.exercise.coding import BANT, CODED_COLUMNS, STAGES, choices, column_header, reason_choices

LANGUAGES = {"en": "data/definition.yaml", "de": "data/definition.de.yaml"}


def _sample(n=14):
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "company": ["=SUM(A1)", "-minus GmbH", *[f"Firma {i}" for i in range(n - 2)]],
        "lead_id": [f"L{i}" for i in range(n)],
        "seniority": rng.choice(["vp", "manager"], n),
        "revenue_musd": rng.uniform(1, 300, n),
        "score": rng.uniform(0, 200, n),
        "weight": 1.0,
    })


def _codes(column, definition):
    return {"stage": list(STAGES), "verdict": ["good", "not", "unsure"], "reason": reason_choices(definition),
            "confidence": ["low", "medium", "high"]}.get(column, ["yes", "no", "unknown"])


def _fill_xlsx(path, definition, n):
    """Fill every coded column by program, cycling through every entry of each drop-down (as shown)."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    expected = {}
    for column in CODED_COLUMNS:
        entries = choices(column, definition)
        codes = _codes(column, definition)
        j = header.index(column_header(column, definition)) + 1
        cycle = list(itertools.islice(itertools.cycle(range(len(entries))), n))
        for i, k in enumerate(cycle, start=2):
            ws.cell(row=i, column=j, value=entries[k])
        expected[column] = [codes[k] for k in cycle]
    typed = ws.cell(row=2, column=header.index(column_header("comment", definition)) + 1, value="=not a formula")
    typed.data_type = "s"  # as Excel stores text a head typed with a leading quote
    wb.save(path)
    return expected


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_coded_column_round_trips_in_both_languages(tmp_path, language):
    d = load_definition(LANGUAGES[language])
    sample = _sample(max(len(reason_choices(d)), len(STAGES)) + 2)
    path = write_worksheet(sample, tmp_path / "sales.xlsx", definition=d)
    wb = load_workbook(path)
    ws = wb["sales"]
    header = [c.value for c in ws[1]]
    assert [column_header(c, d) for c in (*CODED_COLUMNS, "comment")] == header[-9:]
    if language == "de":
        assert "Stufe" in header and "Vertriebs-Lead" in choices("stage", d) and wb.sheetnames[-1] == "Anleitung"
        assert any("Qualifizierungsprozess" in str(c.value) for c in wb["Anleitung"]["A"])
    # protected: facts locked, answers open; text never a formula; numbers rounded for people
    assert ws.protection.sheet
    assert ws.cell(row=2, column=header.index("seniority") + 1).protection.locked
    assert not ws.cell(row=2, column=header.index(column_header("stage", d)) + 1).protection.locked
    assert ws.cell(row=2, column=2).quotePrefix and ws.cell(row=2, column=2).data_type == "s"
    revenue = [c.value for c in ws[chr(ord("A") + header.index("revenue_musd"))][1:]]
    assert all(round(v, 1) == v for v in revenue)
    refs = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert len(refs) == len(CODED_COLUMNS) and all(f.startswith("lists!") for f in refs.values())
    expected = _fill_xlsx(path, d, len(sample))
    got = read_verdicts(path, definition=d, key=sample.set_index("company"))
    assert list(got.index) == sample["company"].tolist()
    for column in CODED_COLUMNS:
        assert got[column].tolist() == expected[column], column
    assert got["comment"].iloc[0] == "=not a formula"
    # the CSV copy round-trips too (CSV has no drop-downs: the reader checks the lists)
    csv = write_worksheet(sample, tmp_path / "sales.csv", definition=d)
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for column in CODED_COLUMNS:
        entries, codes = choices(column, d), _codes(column, d)
        frame[column_header(column, d)] = [entries[codes.index(v)] for v in expected[column]]
    frame.to_csv(csv, index=False)
    back = read_verdicts(csv, definition=d)
    for column in CODED_COLUMNS:
        assert back[column].tolist() == expected[column], column


def _csv(tmp_path, d=None, **edit):
    d = d or load_definition()
    folder = tmp_path / f"ws{len(list(tmp_path.iterdir()))}"
    path = write_worksheet(_sample(6), folder / "marketing.csv", definition=d)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["verdict"] = "good lead"
    frame["stage"] = "Lead"
    for fact in BANT:
        frame[fact] = "yes"
    frame["confidence"] = "high"
    for change in edit.values():  # edits the frame in place, or returns the edited frame
        out = change(frame)
        frame = out if isinstance(out, pd.DataFrame) else frame
    frame.to_csv(path, index=False)
    return path


def test_a_filled_csv_reads(tmp_path):
    got = read_verdicts(_csv(tmp_path), definition=load_definition())
    assert set(got["stage"]) == {"lead"} and set(got["budget"]) == {"yes"} and got["reason"].isna().all()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: setattr(f, "columns", ["money" if c == "budget" else c for c in f.columns]), r"no 'budget' column.*'money'.*rename it back"),
    (lambda f: f.loc.__setitem__((2, "stage"), "Hot"), r"row 4, column 'stage'.*'Hot' is not an entry.*Sales Lead"),
    (lambda f: f.loc.__setitem__((1, "need"), "maybe"), r"row 3, column 'need'.*'maybe'.*yes, no, unknown"),
    (lambda f: f.loc.__setitem__((0, "reason"), "too far away"), r"row 2, column 'reason'.*'too far away'.*Student"),
    (lambda f: f.loc.__setitem__((3, "confidence"), "very"), r"column 'confidence'.*'very'"),
    (lambda f: f.loc.__setitem__((0, "verdict"), "probably"), r"row 2, column 'verdict'.*'probably'"),
])
def test_a_malformed_worksheet_gets_one_clear_line(tmp_path, edit, message):
    path = _csv(tmp_path, x=edit)
    with pytest.raises(VerdictError, match=message) as err:
        read_verdicts(path, definition=load_definition())
    assert "\n" not in str(err.value) and "marketing.csv" in str(err.value)


def test_duplicate_and_missing_companies(tmp_path):
    def dup(f):
        f.loc[len(f)] = f.iloc[1]

    with pytest.raises(VerdictError, match=r"company '-minus GmbH' is listed twice \(rows 3 and 8\)"):
        read_verdicts(_csv(tmp_path, x=dup), definition=load_definition())
    key = _sample(6).set_index("company")

    with pytest.raises(VerdictError, match=r"company 'Firma 2' of the key is not on the sheet; restore its row"):
        read_verdicts(_csv(tmp_path, x=lambda f: f.drop(index=4)), key=key, definition=load_definition())  # row deleted


def test_any_number_of_raters(tmp_path):
    paths = write_exercise(_sample(6), tmp_path / "ex", reviewers=("marketing", "sales", "sdr"), definition=load_definition())
    assert {"marketing", "sales", "sdr", "sdr_csv", "key"} <= set(paths)
    assert read_verdicts(paths["sdr"], definition=load_definition()).attrs["reviewer"] == "sdr"


def test_a_worksheet_from_before_the_coded_columns_still_reads(tmp_path):
    old = tmp_path / "sales.csv"
    old.write_text("#,company,verdict,reason\n1,Acme,good lead,senior buyer\n2,Bolt,no,too junior\n")
    got = read_verdicts(old, definition=load_definition())
    assert got["verdict"].tolist() == ["good", "not"] and got["reason"].tolist() == ["senior buyer", "too junior"]
