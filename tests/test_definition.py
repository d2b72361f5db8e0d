"""The lead definition: round trip, atomic save, diff against hand-written rows, protected attributes."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from leadsim.definition import (
    BehaviourRule,
    FitRule,
    LeadsimWarning,
    diff,
    load_definition,
    parse_definition,
)
from leadsim.errors import DefinitionError, InputFileError


@pytest.mark.parametrize("which", ["en", "de"])
def test_round_trip_is_identical(tmp_path, which):
    d = load_definition(which)
    path = tmp_path / "def.yaml"
    text = d.to_yaml(path)
    again = load_definition(path)
    assert again == d
    assert again.to_dict() == d.to_dict()
    assert again.to_yaml() == text == path.read_text(encoding="utf-8")
    assert diff(d, again).empty


def test_german_variant_differs_only_in_labels():
    en, de = load_definition("en"), load_definition("de")
    changed = diff(en, de)
    assert not changed.empty
    # Same rules, points, thresholds and clocks: only labels, names, criteria, offers and texts differ.
    fields = set(changed["field"].str.replace(r"^levels\[\d+\]\.", "", regex=True))
    assert fields <= {"", "label", "criteria", "offers", "message", "description", "note"}
    # the matrix's segment names are labels too: same cells, other words
    assert set(changed.loc[changed["field"] == "", "item"]) <= {"name", "language", "matrix"}
    assert set(en.thresholds.matrix) == set(de.thresholds.matrix)
    assert not ((changed["section"] == "thresholds") & (changed["item"] != "matrix")).any()
    assert not (changed["field"] == "points").any()
    assert de.stage_label("sales_lead") == "Vertriebs-Lead"


def test_to_yaml_refuses_to_overwrite_and_is_atomic(tmp_path, monkeypatch):
    d = load_definition()
    path = tmp_path / "def.yaml"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"def\.yaml: exists already"):
        d.to_yaml(path)
    assert path.read_text(encoding="utf-8") == "keep me"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        d.to_yaml(path, overwrite=True)
    assert path.read_text(encoding="utf-8") == "keep me"          # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["def.yaml"]  # no temp file left
    monkeypatch.undo()

    d.to_yaml(path, overwrite=True)
    assert load_definition(path) == d
    assert sorted(p.name for p in tmp_path.iterdir()) == ["def.yaml"]


def test_to_yaml_into_a_directory_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        load_definition().to_yaml(tmp_path)


def _rows(table: pd.DataFrame) -> list[tuple]:
    return sorted(tuple(r) for r in table[["section", "item", "field", "old", "new", "change"]].itertuples(index=False))


def test_diff_of_hand_made_changes():
    old = load_definition()
    new = old.model_copy(deep=True)
    new.version = "1.1.0"                                          # never reported
    next(r for r in new.fit_rules if r.id == "director").points = 20
    # a rule a gate excludes cannot go while the gate names it: the gate first
    new.gates = new.gates.model_copy(update={
        "mql": new.gates.mql.model_copy(update={"exclude": ["competitor", "unsubscribed"]}),
        "hot": new.gates.hot.model_copy(update={"exclude": ["competitor"], "min_grade": "B"})})
    new.fit_rules = [r for r in new.fit_rules if r.id != "student"]
    new.behaviour_rules = [
        *new.behaviour_rules,
        BehaviourRule(id="case_study", label="Case study read", activity="content_download",
                      detail={"op": "contains", "value": "case-study"}, points=4, cap=12, half_life_days=30),
    ]
    new.thresholds.mql = 90
    next(c for c in new.sla.clocks if c.id == "touch").levels[3].offset = 4

    expected = [
        ("fit_rules", "director", "points", 15.0, 20.0, "changed"),
        ("fit_rules", "student", "label", "Student", None, "removed"),
        ("fit_rules", "student", "category", "demographic", None, "removed"),
        ("fit_rules", "student", "attribute", "seniority", None, "removed"),
        ("fit_rules", "student", "op", "eq", None, "removed"),
        ("fit_rules", "student", "value", "student", None, "removed"),
        ("fit_rules", "student", "negate", False, None, "removed"),
        ("fit_rules", "student", "points", -40.0, None, "removed"),
        ("behaviour_rules", "case_study", "label", None, "Case study read", "added"),
        ("behaviour_rules", "case_study", "activity", None, "content_download", "added"),
        ("behaviour_rules", "case_study", "detail", None, {"op": "contains", "value": "case-study", "negate": False},
         "added"),
        ("behaviour_rules", "case_study", "points", None, 4.0, "added"),
        ("behaviour_rules", "case_study", "mode", None, "each", "added"),
        ("behaviour_rules", "case_study", "min_count", None, 1, "added"),
        ("behaviour_rules", "case_study", "cap", None, 12.0, "added"),
        ("behaviour_rules", "case_study", "half_life_days", None, 30.0, "added"),
        ("thresholds", "mql", "", 100.0, 90.0, "changed"),
        ("gates", "mql", "exclude", ["competitor", "student", "unsubscribed"], ["competitor", "unsubscribed"],
         "changed"),
        ("gates", "hot", "exclude", ["competitor", "student", "unsubscribed"], ["competitor"], "changed"),
        ("gates", "hot", "min_grade", "C", "B", "changed"),
        ("sla", "touch", "levels[3].offset", 3.0, 4.0, "changed"),
    ]
    got = diff(old, new)
    assert list(got.columns) == ["section", "item", "field", "old", "new", "change"]
    key = lambda r: tuple(map(str, r))  # noqa: E731 - values of mixed types
    assert sorted(map(tuple, got.itertuples(index=False)), key=key) == sorted(expected, key=key)


def test_diff_of_identical_definitions_is_empty():
    d = load_definition()
    assert diff(d, d.model_copy(deep=True)).empty


def _with_gender_rule(allow: bool) -> dict:
    data = load_definition().to_dict()
    data["allow_protected"] = allow
    data["fit_rules"].append({"id": "gender_f", "category": "demographic", "attribute": "gender", "op": "eq",
                              "value": "female", "points": 5})
    return data


def test_protected_attribute_refused_then_allowed_with_a_warning():
    with pytest.raises(DefinitionError, match=r"fit_rules\.gender_f: attribute 'gender' is protected"):
        parse_definition(_with_gender_rule(False), source="x.yaml")
    with pytest.warns(LeadsimWarning, match="protected attribute 'gender'"):
        d = parse_definition(_with_gender_rule(True), source="x.yaml")
    assert isinstance(d.fit_rules[-1], FitRule) and d.fit_rules[-1].id == "gender_f"


def test_default_scores_no_protected_attribute():
    d = load_definition()
    protected = {a.name for a in d.attributes if a.protected}
    assert protected == {"gender", "age_band"}
    assert not protected & {r.attribute for r in [*d.fit_rules, *d.bant.values()]}


@pytest.mark.parametrize("part", ["fit_rules", "behaviour_rules", "bant"])
def test_points_must_be_finite_in_every_kind_of_rule(part):
    d = load_definition().to_dict()
    rule = next(iter(d[part].values())) if part == "bant" else d[part][0]
    rule["points"] = float("nan")
    with pytest.raises(DefinitionError, match="points must be a finite number"):
        parse_definition(d)
