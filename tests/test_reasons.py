"""Recycle, disqualify and lost reasons: the vocabulary, the import check and the breakdown, on hand-made logs."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.definition import LeadsimWarning, parse_definition
from leadsim.errors import DataError, DefinitionError
from leadsim.exits import exit_moves, reason_breakdown
from leadsim.io.reasons import check_reasons
from leadsim.io.setaside import SetAside


def _data(**changes):
    d = load_definition().to_dict()
    for path, value in changes.items():
        node = d
        *head, last = path.split("__")
        for k in head:
            node = node[k]
        node[last] = value
    return d


def test_an_old_definition_without_a_vocabulary_gets_the_default_one():
    d = load_definition().to_dict()
    d.pop("reasons")
    for ex in ("recycle", "disqualify", "lost"):
        d["funnel"][ex].pop("reasons")
    old = parse_definition(d)
    assert old.exit_reasons("recycle") == ["not_ready", "no_budget", "no_authority", "no_contact", "no_decision"]
    assert old.exit_reasons("disqualify") == ["student", "competitor", "no_fit", "invalid_contact", "duplicate"]
    # the texts the old sample and the simulation wrote map as documented
    assert old.reason_ids(["recycle", "cold", "not_qualified", "auto_return", "Budget", None],
                          exit="recycle") == ["unspecified", "no_contact", "not_ready", "no_decision", "no_budget",
                                              "unspecified"]
    # a disqualify reason on a recycle row is not a recycle reason
    assert old.reason_ids(["student"], exit="recycle") == ["other"]


def test_a_reason_an_exit_uses_must_be_in_the_vocabulary():
    with pytest.raises(DefinitionError, match=r"funnel\.recycle\.reasons: \['holiday'\] not in the vocabulary.*add "
                                              r"them there with a label"):
        parse_definition(_data(funnel__recycle__reasons=["not_ready", "holiday"]))


def test_reserved_ambiguous_and_generic_reason_texts_are_refused():
    voc = load_definition().to_dict()["reasons"]["vocabulary"]
    with pytest.raises(DefinitionError, match=r"'other'.*reserved"):
        parse_definition(_data(reasons__vocabulary=[*voc, {"id": "other", "label": "Sonstiges"}]))
    with pytest.raises(DefinitionError, match="the text 'budget' would mean both 'no_budget' and 'cheap'"):
        parse_definition(_data(reasons__vocabulary=[*voc, {"id": "cheap", "label": "Cheap", "aliases": ["Budget"]}]))
    with pytest.raises(DefinitionError, match="'recycled' names no reason"):
        parse_definition(_data(reasons__vocabulary=[*voc, {"id": "x", "label": "Recycled"}]))
    with pytest.raises(DefinitionError, match="on_unknown"):
        parse_definition(_data(reasons__on_unknown="drop"))


# A hand-made history: five leads, seven exits.
#   L1: Name -> Lead -> Target ("Not ready")        -> Lead -> Sales Lead -> Target ("no-budget")
#   L2: Lead -> Disqualified ("Student")
#   L3: Lead -> Target ("nobody answered")  unknown text -> other
#   L4: Sales Lead -> Disqualified (no reason)        -> unspecified
#   L5: Name -> Active -> Target (progress, not a recycle) -> Lead -> Target ("no answer")
#   L6: Opportunity -> Lost ("Pricing")
LOG = pd.DataFrame(
    [
        ("L1", "name", "2026-03-02 09:00", "import"),
        ("L1", "lead", "2026-03-03 09:00", "score"),
        ("L1", "target", "2026-03-04 09:00", "Not ready"),
        ("L1", "lead", "2026-03-10 09:00", "score"),
        ("L1", "sales_lead", "2026-03-11 09:00", "qualified"),
        ("L1", "target", "2026-03-20 09:00", "no-budget"),
        ("L2", "lead", "2026-03-02 10:00", "hot"),
        ("L2", "disqualified", "2026-03-03 10:00", "Student"),
        ("L3", "lead", "2026-03-02 11:00", "score"),
        ("L3", "target", "2026-03-05 11:00", "nobody answered"),
        ("L4", "sales_lead", "2026-03-02 12:00", "outbound"),
        ("L4", "disqualified", "2026-03-06 12:00", None),
        ("L5", "name", "2026-03-02 13:00", "import"),
        ("L5", "active", "2026-03-03 13:00", "converted"),
        ("L5", "target", "2026-03-04 13:00", "converted"),
        ("L5", "lead", "2026-03-05 13:00", "score"),
        ("L5", "target", "2026-03-09 13:00", "no answer"),
        ("L6", "opportunity", "2026-03-02 14:00", "outbound"),
        ("L6", "lost", "2026-04-02 14:00", "Pricing"),
    ],
    columns=["lead_id", "stage", "at", "reason"],
).assign(at=lambda x: pd.to_datetime(x["at"]), owner=None)


def test_exit_moves_tell_recycles_from_progress_and_map_each_text():
    m = exit_moves(LOG, load_definition())
    got = m[["lead_id", "exit", "from_stage", "reason", "reason_text"]].astype(object).where(m.notna(), None)
    assert got.values.tolist() == [
        ["L1", "recycle", "lead", "not_ready", "Not ready"],
        ["L1", "recycle", "sales_lead", "no_budget", "no-budget"],
        ["L2", "disqualify", "lead", "student", "Student"],
        ["L3", "recycle", "lead", "other", "nobody answered"],
        ["L4", "disqualify", "sales_lead", "unspecified", None],
        ["L5", "recycle", "lead", "no_contact", "no answer"],  # Active -> Target was progress: not listed
        ["L6", "lost", "opportunity", "lost_price", "Pricing"],
    ]


def test_reason_breakdown_counts_by_exit_stage_left_and_reason():
    got = reason_breakdown(LOG, load_definition())
    expected = pd.DataFrame(
        [
            # three recycles from Lead: one each; ties ordered by reason id
            ("recycle", "lead", "no_contact", "No contact", 1, 1, 1 / 3),
            ("recycle", "lead", "not_ready", "Not ready yet", 1, 1, 1 / 3),
            ("recycle", "lead", "other", "Other", 1, 1, 1 / 3),
            ("recycle", "sales_lead", "no_budget", "No budget", 1, 1, 1.0),
            ("disqualify", "lead", "student", "Student", 1, 1, 1.0),
            ("disqualify", "sales_lead", "unspecified", "Unspecified", 1, 1, 1.0),
            ("lost", "opportunity", "lost_price", "Lost on price", 1, 1, 1.0),
        ],
        columns=["exit", "from_stage", "reason", "label", "moves", "leads", "share"],
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_reason_breakdown_by_group_and_window():
    by = pd.Series({"L1": "web", "L3": "web", "L5": "event"})
    got = reason_breakdown(LOG, load_definition(), by=by, start="2026-03-04", end="2026-03-10")
    # in [Mar 4, Mar 10): L1's first recycle (web), L3's recycle (web), L4's DQ ((none)), L5's recycle (event)
    assert got[["group", "exit", "from_stage", "reason", "moves", "share"]].astype(object).values.tolist() == [
        ["(none)", "disqualify", "sales_lead", "unspecified", 1, 1.0],
        ["event", "recycle", "lead", "no_contact", 1, 1.0],
        ["web", "recycle", "lead", "not_ready", 1, 0.5],
        ["web", "recycle", "lead", "other", 1, 0.5],
    ]


def test_import_maps_known_texts_and_reports_unknown_ones_as_other():
    sa = SetAside()
    with pytest.warns(LeadsimWarning, match=r"1 exit\(s\) with a reason the vocabulary does not know: "
                                            r"'nobody answered' \(1\); they count as 'other'"):
        out = check_reasons(LOG, load_definition(), sa)
    assert len(out) == len(LOG) and sa.table().empty  # nothing dropped
    l3 = out[out["lead_id"] == "L3"]
    assert l3[["stage", "reason", "reason_text"]].astype(object).values.tolist() == [
        ["lead", "score", pd.NA], ["target", "other", "nobody answered"]]
    # rows that are not exits keep their reason as written
    assert out.loc[out["lead_id"] == "L5", "reason"].tolist() == ["import", "converted", "converted", "score",
                                                                  "no_contact"]


def test_import_sets_an_unknown_reason_aside_when_the_definition_says_so():
    d = parse_definition(_data(reasons__on_unknown="set_aside"))
    log = pd.concat([LOG, pd.DataFrame({"lead_id": ["L3"], "stage": ["lead"], "at": pd.to_datetime(["2026-03-20"]),
                                        "reason": ["score"], "owner": None})], ignore_index=True)
    sa = SetAside()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = check_reasons(log, d, sa)
    # L3's recycle is set aside; its later Lead row repeats the stage it is still in (no change, not set aside)
    assert sa.table()[["lead_id", "reason"]].values.tolist() == [["L3", "unknown recycle reason 'nobody answered'"]]
    assert out.loc[out["lead_id"] == "L3", "stage"].tolist() == ["lead", "lead"]
    assert len(out) + len(sa.table()) == len(log)
    with pytest.raises(DataError, match="unknown recycle reason 'nobody answered' \\(lead L3\\)"):
        check_reasons(log, d, SetAside(strict=True))
