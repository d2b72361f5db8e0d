"""SLA clocks: the issue's hand-written acceptance cases, properties, bad input.

Calendar of the sample definition: Europe/Berlin, Mon-Fri 09:00-17:00,
Good Friday 2026-04-03 and Easter Monday 2026-04-06 are holidays.
2026-03-06 is a Friday.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim import load_definition
from leadsim.definition import parse_definition
from leadsim.errors import DataError, DefinitionError, InvalidTransition, LeadsimError
from leadsim.funnel import validate_stage_log
from leadsim.sla import audit, handoffs_from_log, schedule
from tests.reference_sla import naive_audit

T = pd.Timestamp
AS_OF = T("2026-04-30")



def _log(rows):
    return pd.DataFrame(rows, columns=["lead_id", "stage", "at", "owner"]).assign(at=lambda d: pd.to_datetime(d["at"]))


def _touches(rows):
    return pd.DataFrame(rows, columns=["lead_id", "at", "by"]).assign(at=lambda d: pd.to_datetime(d["at"]), kind="call")


def _dues(alerts, lead, clock):
    a = alerts[(alerts["lead_id"] == lead) & (alerts["clock"] == clock)].sort_values(["due_at"])
    return [(int(lv), str(t)) for lv, t in zip(a["level"], a["due_at"], strict=True)]


def _sales_lead(lead, at, owner="ana"):
    return [(lead, "name", "2026-03-02 09:05", None), (lead, "lead", "2026-03-02 09:10", "sdr1"), (lead, "sales_lead", at, owner)]


# ------------------------------------------------------------------ acceptance


def test_untouched_sales_lead_gets_four_touch_alerts_friday(definition):
    res = audit(_log(_sales_lead("L1", "2026-03-06 16:00")), None, definition, as_of=AS_OF)
    assert _dues(res.alerts, "L1", "touch") == [
        (0, "2026-03-06 16:00:00"),
        (1, "2026-03-09 16:00:00"),  # Monday: the weekend does not count
        (2, "2026-03-10 16:00:00"),
        (3, "2026-03-11 16:00:00"),
    ]
    assert _dues(res.alerts, "L1", "process") == [
        (0, "2026-03-17 16:00:00"),
        (1, "2026-03-18 16:00:00"),
        (2, "2026-03-19 16:00:00"),
    ]


def test_saturday_handoff_starts_monday_at_opening(definition):
    res = audit(_log(_sales_lead("L2", "2026-03-07 11:00")), None, definition, as_of=AS_OF)
    assert _dues(res.alerts, "L2", "touch") == [
        (0, "2026-03-09 09:00:00"),
        (1, "2026-03-10 09:00:00"),
        (2, "2026-03-11 09:00:00"),
        (3, "2026-03-12 09:00:00"),
    ]


def test_touched_after_day1_reminder_gets_levels_0_and_1(definition):
    log = _log(_sales_lead("L3", "2026-03-06 16:00"))
    t = _touches([("L3", "2026-03-09 16:30", "ana"), ("L3", "2026-03-06 16:10", "bob")])  # bob is not the owner
    res = audit(log, t, definition, as_of=AS_OF)
    assert _dues(res.alerts, "L3", "touch") == [(0, "2026-03-06 16:00:00"), (1, "2026-03-09 16:00:00")]
    # tie rule: a touch exactly at the due time stops that level
    res = audit(log, _touches([("L3", "2026-03-09 16:00", "ana")]), definition, as_of=AS_OF)
    assert _dues(res.alerts, "L3", "touch") == [(0, "2026-03-06 16:00:00")]
    # a touch without a name counts for anyone
    res = audit(log, _touches([("L3", "2026-03-09 16:30", None)]), definition, as_of=AS_OF)
    assert [lv for lv, _ in _dues(res.alerts, "L3", "touch")] == [0, 1]


def test_converted_on_day_6_gets_no_process_alert(definition):
    rows = [*_sales_lead("L4", "2026-03-06 16:00"), ("L4", "opportunity", "2026-03-16 11:00", "ana")]  # day 6
    res = audit(_log(rows), _touches([("L4", "2026-03-06 16:30", "ana")]), definition, as_of=AS_OF)
    assert _dues(res.alerts, "L4", "process") == []
    assert _dues(res.alerts, "L4", "touch") == [(0, "2026-03-06 16:00:00")]


def test_recycled_and_handed_over_again_gets_fresh_ladder(definition):
    rows = [
        *_sales_lead("L5", "2026-03-02 10:00"),
        ("L5", "target", "2026-03-04 12:00", None),  # recycled
        ("L5", "lead", "2026-03-10 09:30", "sdr1"),
        ("L5", "sales_lead", "2026-03-11 14:00", "ben"),
    ]
    res = audit(_log(rows), None, definition, as_of=AS_OF)
    assert _dues(res.alerts, "L5", "touch") == [
        (0, "2026-03-02 10:00:00"),
        (1, "2026-03-03 10:00:00"),
        (2, "2026-03-04 10:00:00"),  # level 3 (Thu 10:00) never fires: recycled Wednesday 12:00
        (0, "2026-03-11 14:00:00"),
        (1, "2026-03-12 14:00:00"),
        (2, "2026-03-13 14:00:00"),
        (3, "2026-03-16 14:00:00"),
    ]
    assert _dues(res.alerts, "L5", "process") == [
        (0, "2026-03-20 14:00:00"),
        (1, "2026-03-23 14:00:00"),
        (2, "2026-03-24 14:00:00"),
    ]
    second = res.alerts[(res.alerts["lead_id"] == "L5") & (res.alerts["due_at"] > T("2026-03-10")) & (res.alerts["clock"] != "response")]
    assert set(second["owner"]) == {"ben"}
    assert res.summary["n_handoffs"] == 4  # two Lead and two Sales Lead entries


def test_holiday_moves_due_time_by_one_working_day(definition):
    h = pd.DataFrame({"lead_id": ["A", "B"], "stage": ["sales_lead"] * 2, "owner": ["ana"] * 2,
                      "at": [T("2026-03-26 10:00"), T("2026-04-02 10:00")]})  # Thursdays; B before Easter
    s = schedule(h, definition)
    assert _dues(s, "A", "touch") == [(0, "2026-03-26 10:00:00"), (1, "2026-03-27 10:00:00"),
                                      (2, "2026-03-30 10:00:00"), (3, "2026-03-31 10:00:00")]
    assert _dues(s, "B", "touch") == [(0, "2026-04-02 10:00:00"), (1, "2026-04-07 10:00:00"),
                                      (2, "2026-04-08 10:00:00"), (3, "2026-04-09 10:00:00")]


def test_response_clock_in_working_minutes(definition):
    h = pd.DataFrame({"lead_id": ["R"], "stage": ["Lead"], "owner": ["sdr1"], "at": [T("2026-03-06 16:00")]})
    s = schedule(h, definition)
    assert _dues(s, "R", "response") == [(0, "2026-03-06 16:00:00"), (1, "2026-03-06 16:30:00"), (2, "2026-03-09 10:00:00")]


def test_recipients_and_messages(definition):
    owners = pd.DataFrame({"owner": ["ana"], "role": ["rep"], "manager": ["max"], "team": ["north"]})
    leads = pd.DataFrame({"lead_id": ["L1"], "company": ["Acme GmbH"], "source": ["web_form"]})
    scores = pd.Series({"L1": 112.4})
    h = pd.DataFrame({"lead_id": ["L1"], "stage": ["sales_lead"], "owner": ["ana"], "at": [T("2026-03-06 16:00")]})
    s = schedule(h, definition, owners=owners, leads=leads, scores=scores).set_index(["clock", "level"])
    assert s.loc[("touch", 0), "recipients"] == "ana"
    assert s.loc[("touch", 2), "recipients"] == "ana, max"
    assert s.loc[("touch", 3), "recipients"] == "sales-leadership"
    assert s.loc[("touch", 0), "message"] == "New Sales Lead for ana: L1 (Acme GmbH), score 112, from web_form."
    assert s.loc[("process", 1), "message"] == "Your Sales Lead is now 8 days old and is stale: L1 (Acme GmbH); manager in cc."
    # without an owners table the manager is left out, not invented
    s2 = schedule(h, definition).set_index(["clock", "level"])
    assert s2.loc[("touch", 2), "recipients"] == "ana"
    # a hand-off without an owner, next to owned ones: the stage's queue stands in for the owner, the unknown
    # manager is left out, rows stay aligned
    h3 = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "stage": ["sales_lead"] * 3, "owner": ["ana", None, "bob"],
                       "at": [T("2026-03-06 16:00")] * 3})
    s3 = schedule(h3, definition, owners=owners).set_index(["lead_id", "clock", "level"])["recipients"]
    assert s3[("L2", "touch", 0)] == "sales_lead-queue" and s3[("L2", "touch", 2)] == "sales_lead-queue"
    assert s3[("L2", "touch", 3)] == "sales-leadership"
    assert s3[("L1", "touch", 2)] == "ana, max" and s3[("L3", "touch", 2)] == "bob"


def test_german_messages():
    de = load_definition("de")
    leads = pd.DataFrame({"lead_id": ["L1"], "company": ["Müller AG"], "source": ["event"]})
    h = pd.DataFrame({"lead_id": ["L1"], "stage": ["Vertriebs-Lead"], "owner": ["jan"], "at": [T("2026-03-06 16:00")]})
    s = schedule(h, de, leads=leads).set_index(["clock", "level"])
    assert s.loc[("touch", 1), "message"] == "Unbearbeiteter Vertriebs-Lead! L1 (Müller AG) ist 1 Tag(e) alt."
    assert s.loc[("touch", 0), "message"] == "Neuer Vertriebs-Lead für jan: L1 (Müller AG), Score –, Quelle event."


def test_audit_summary(definition):
    owners = pd.DataFrame({"owner": ["ana", "ben"], "role": ["rep", "rep"], "manager": ["max", "max"], "team": ["n", "n"]})
    rows = _sales_lead("A", "2026-03-06 16:00") + _sales_lead("B", "2026-03-06 16:00", "ben")
    t = _touches([("A", "2026-03-06 16:20", "ana"), ("A", "2026-03-02 09:20", "sdr1"), ("B", "2026-03-02 09:20", "sdr1")])
    res = audit(_log(rows), t, definition, owners=owners, as_of=AS_OF)
    lv = res.summary["levels"].set_index(["clock", "level"])
    assert lv.loc[("touch", 0), "fired"] == 2 and lv.loc[("touch", 1), "fired"] == 1
    assert lv.loc[("touch", 1), "breach_rate"] == 0.5
    assert lv.loc[("response", 0), "fired"] == 2 and lv.loc[("response", 1), "fired"] == 0
    ttf = res.summary["time_to_first_touch"].set_index("clock")
    assert ttf.loc["touch", "touched"] == 1 and ttf.loc["touch", "median_hours"] == pytest.approx(20 / 60)
    by_owner = res.summary["escalations_by_owner"].set_index("owner")
    assert by_owner.loc["ben", "escalations"] == 3 + 2  # touch levels 1-3, process levels 1-2
    assert res.summary["escalations_by_manager"].set_index("manager").loc["max", "escalations"] == 5 + 2  # ben + ana's process levels 1-2
    assert (res.alerts["fired_at"] == res.alerts["due_at"]).all()
    import json

    from leadsim.cli._common import json_ready

    json.dumps(json_ready(res.summary))


# ------------------------------------------------------------------ properties


def _random_history(seed: int, n_leads: int = 12):
    """Random legal stage logs and touches (a walk over the definition's allowed moves)."""
    d = load_definition()
    rng = np.random.default_rng(seed)
    moves: dict[str, list[str]] = {}
    for a, b in sorted(d.funnel.allowed()):
        moves.setdefault(a, []).append(b)
    rows, touches = [], []
    for i in range(n_leads):
        lead = f"L{i:03d}" if seed % 2 else f"L{i}"  # one id shape (numbers path) or mixed widths (text path)
        t = T("2026-03-02 08:00") + pd.Timedelta(minutes=int(rng.integers(0, 20 * 1440)))
        stage = str(rng.choice(d.funnel.entry))
        for _ in range(int(rng.integers(1, 7))):
            owner = str(rng.choice(["ana", "ben"])) if stage in ("lead", "sales_lead", "opportunity") else None
            rows.append((lead, stage, t, owner))
            if owner is not None and rng.random() < 0.3:  # a re-assignment within the stage
                t = t + pd.Timedelta(minutes=int(rng.integers(0, 3 * 1440)))
                rows.append((lead, stage, t, "ben" if owner == "ana" else "ana"))
            for _ in range(int(rng.integers(0, 3))):
                touches.append((lead, t + pd.Timedelta(minutes=int(rng.integers(0, 6 * 1440))), rng.choice(["ana", "ben", "ana", "ben", None])))
            if stage not in moves:
                break
            stage = str(rng.choice(moves[stage]))
            t = t + pd.Timedelta(minutes=int(rng.choice([0, 30, 600, 1440, 4 * 1440, 9 * 1440])) + int(rng.integers(0, 600)))
    return d, _log(rows), _touches(touches)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_audit_matches_naive_loop_and_never_fires_after_stop(seed):
    d, log, touches = _random_history(seed)
    res = audit(log, touches, d, as_of=AS_OF)
    ref = naive_audit(validate_stage_log(log, d), touches, d, AS_OF)
    cols = ["lead_id", "clock", "level", "due_at", "owner"]
    mine = res.alerts[cols].sort_values(cols[:4], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine.astype(str).replace("<NA>", "None"), ref.astype(str))
    # no alert at or after its clock's stop event
    h = res.handoffs
    for clock in d.sla.clocks:
        a = res.alerts[res.alerts["clock"] == clock.id].merge(h[["handoff_id", f"stop_{clock.id}"]], on="handoff_id")
        stop = a[f"stop_{clock.id}"]
        assert (stop.isna() | (a["fired_at"] < stop)).all()


@settings(max_examples=30, deadline=None)
@given(
    key_t=st.lists(st.integers(0, 5), max_size=30),
    data=st.data(),
    big=st.booleans(),
)
def test_first_at_or_after_matches_brute_force(key_t, data, big):
    """Both paths (one combined int64 key; sorted runs with a vectorised bisect) against a plain loop."""
    from leadsim.sla.audit import first_at_or_after
    from leadsim.sla.ladder import INF as _INF

    times = st.integers(0, 50).map(lambda x: x * 7_000_000_000 + (3 if big else 0))
    t_ns = np.array(data.draw(st.lists(times, min_size=len(key_t), max_size=len(key_t))), dtype=np.int64)
    key_h = np.array(data.draw(st.lists(st.integers(0, 6), max_size=20)), dtype=np.int64)
    h_ns = np.array(data.draw(st.lists(st.integers(-10, 400_000_000_000), min_size=len(key_h), max_size=len(key_h))), dtype=np.int64)
    mult = np.int64(2**60) if big else np.int64(1)  # huge keys force the bisect path
    kt, kh = np.array(key_t, dtype=np.int64) * mult, key_h * mult
    got = first_at_or_after(kt, t_ns, kh, h_ns)
    want = [min([t for k, t in zip(kt, t_ns, strict=True) if k == q and t >= s], default=_INF) for q, s in zip(kh, h_ns, strict=True)]
    assert got.tolist() == want


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clock_i=st.integers(0, 2), data=st.data())
def test_changing_one_offset_moves_only_that_level(seed, clock_i, data):
    d = load_definition()
    rng = np.random.default_rng(seed)
    n = 6
    h = pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(n)],
        "stage": ["lead", "sales_lead"] * (n // 2),
        "owner": "ana",
        "at": T("2026-03-25") + pd.to_timedelta(rng.integers(0, 20 * 1440, n), unit="min"),
    })
    clock = d.sla.clocks[clock_i]
    level = data.draw(st.integers(0, len(clock.levels) - 1))
    offs = [lv.offset for lv in clock.levels]
    # a new offset in hundredths that keeps the ladder ascending: (previous, next), 0 allowed for level 0
    lo = round(offs[level - 1] * 100) + 1 if level > 0 else 0
    hi = round(offs[level + 1] * 100) - 1 if level + 1 < len(offs) else round(offs[level] * 100) + 1000
    new = data.draw(st.integers(lo, hi)) / 100
    d2 = d.model_copy(deep=True)
    d2.sla.clocks[clock_i].levels[level].offset = new
    a, b = schedule(h, d), schedule(h, d2)
    key = ["handoff_id", "clock", "level"]
    m = a.merge(b, on=key, suffixes=("", "_new"))
    assert len(m) == len(a) == len(b)
    moved = m["due_at"] != m["due_at_new"]
    others = ~((m["clock"] == clock.id) & (m["level"] == level))
    assert not moved[others].any()
    assert (~others).any()  # the clock's stage is in the history, so the level has rows
    if new != offs[level]:
        # every hand-off's due time at that level moves: working and wall-clock time are strictly increasing
        assert moved[~others].all()
    else:
        assert not moved.any()


def test_a_reassignment_hands_the_clock_to_the_new_owner(definition):
    """Hand-worked: Sales Lead for ana on Friday 16:00, re-assigned to bob on Monday 10:00 (a same-stage row)."""
    rows = [*_sales_lead("L7", "2026-03-06 16:00", "ana"), ("L7", "sales_lead", "2026-03-09 10:00", "bob")]
    owners = pd.DataFrame({"owner": ["ana", "bob"], "role": ["rep", "rep"], "manager": ["max", "mia"],
                           "team": ["north", "north"]})
    # ana's touch after the re-assignment does not count: bob holds the lead, every level fires
    res = audit(_log(rows), _touches([("L7", "2026-03-09 12:00", "ana")]), definition, owners=owners, as_of=AS_OF)
    touch = res.alerts[res.alerts["clock"] == "touch"].set_index("level")
    assert touch["due_at"].astype(str).tolist() == ["2026-03-06 16:00:00", "2026-03-09 16:00:00",
                                                    "2026-03-10 16:00:00", "2026-03-11 16:00:00"]
    assert touch["owner"].tolist() == ["ana", "bob", "bob", "bob"]
    assert touch["recipients"].tolist() == ["ana", "bob", "bob, mia", "sales-leadership"]
    # escalations (alerts above level 0): touch levels 1-3 and process levels 8 and 9 days, all bob's
    assert res.summary["escalations_by_owner"].set_index("owner").loc["bob", "escalations"] == 3 + 2
    # bob's touch stops it: only the Friday alert
    res = audit(_log(rows), _touches([("L7", "2026-03-09 12:00", "bob")]), definition, owners=owners, as_of=AS_OF)
    assert res.alerts.loc[res.alerts["clock"] == "touch", "level"].tolist() == [0]
    assert res.summary["n_handoffs"] == 2  # the Lead and the Sales Lead: a re-assignment is no new hand-off


# ------------------------------------------------------------------ bad input


def test_bad_input(definition):
    with pytest.raises(DataError, match="unknown stage 'Qualified'"):
        audit(_log([("A", "Qualified", "2026-03-02 10:00", None)]), None, definition)
    with pytest.raises(InvalidTransition, match="lead A moves from Name to Customer on 2026-03-03 10:00"):
        audit(_log([("A", "name", "2026-03-02 10:00", None), ("A", "customer", "2026-03-03 10:00", None)]), None, definition)
    with pytest.raises(DataError, match="before the lead existed"):
        audit(_log(_sales_lead("A", "2026-03-06 16:00")), _touches([("A", "2026-03-01 10:00", "ana")]), definition)
    with pytest.raises(DataError, match="does not know"):
        audit(_log(_sales_lead("A", "2026-03-06 16:00")), _touches([("Z", "2026-03-07 10:00", "ana")]), definition)
    data = definition.to_dict()
    data["sla"]["clocks"][1]["levels"][1]["offset"] = -1
    with pytest.raises(DefinitionError, match="zero or more"):
        parse_definition(data)
    data = definition.to_dict()
    data["sla"]["clocks"][1]["levels"][1]["offset"] = 5
    with pytest.raises(DefinitionError, match="strictly increasing"):
        parse_definition(data)
    d2 = definition.model_copy(deep=True)
    d2.sla.clocks[1].levels.reverse()  # edited in code, past the YAML checks
    with pytest.raises(DefinitionError, match="out of order"):
        schedule(pd.DataFrame({"lead_id": ["A"], "stage": ["sales_lead"], "at": [T("2026-03-06")]}), d2)
    data = definition.to_dict()
    data["calendar"]["working_days"] = []
    with pytest.raises(DefinitionError, match="at least one working day"):
        parse_definition(data)
    with pytest.raises(LeadsimError, match="missing column"):
        schedule(pd.DataFrame({"lead_id": ["A"]}), definition)


def test_handoffs_from_log(definition):
    rows = [*_sales_lead("A", "2026-03-06 16:00"), ("A", "sales_lead", "2026-03-07 10:00", "ben")]  # re-assignment
    h = handoffs_from_log(_log(rows), definition)
    assert h[["lead_id", "stage", "owner"]].values.tolist() == [["A", "lead", "sdr1"], ["A", "sales_lead", "ana"]]


def test_cli_and_plot(tmp_path, capsys, definition):
    import json

    import matplotlib.pyplot as plt

    from leadsim.cli import main
    from leadsim.plots.funnel import plot_sla_breach

    log_p, t_p, o_p = tmp_path / "log.csv", tmp_path / "touches.csv", tmp_path / "owners.csv"
    _log(_sales_lead("L1", "2026-03-06 16:00")).to_csv(log_p, index=False)
    _touches([("L1", "2026-03-09 16:30", "ana")]).to_csv(t_p, index=False)
    pd.DataFrame({"owner": ["ana", "sdr1"], "role": ["rep", "sdr"], "manager": ["max", "max"], "team": ["n", "n"]}).to_csv(o_p, index=False)
    assert main(["sla", "audit", "--log", str(log_p), "--touches", str(t_p), "--owners", str(o_p), "--as-of", "2026-04-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    touch = [(a["level"], a["due_at"][:16]) for a in out["alerts"] if a["clock"] == "touch"]
    assert touch == [(0, "2026-03-06T16:00"), (1, "2026-03-09T16:00")]
    assert main(["sla", "schedule", "--log", str(log_p), "--owners", str(o_p), "--json"]) == 0
    sched = json.loads(capsys.readouterr().out)
    assert {a["recipients"] for a in sched if a["clock"] == "touch" and a["level"] == 2} == {"ana, max"}
    assert main(["sla", "audit", "--log", str(log_p)]) == 0
    assert "breach_rate" in capsys.readouterr().out
    res = audit(_log(_sales_lead("L1", "2026-03-06 16:00")), None, definition, as_of=AS_OF)
    ax = plot_sla_breach(res.summary["levels"])
    assert len(ax.patches) == sum(len(c.levels) for c in definition.sla.clocks)
    plt.close("all")
