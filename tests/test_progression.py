"""The TOFU progression is one rule, read from the definition by the history generator, the simulation and the check.

``climb`` is held against hand-worked cases and a slow per-lead loop written from the rule's wording; the
generator's and the simulation's stage logs are held against the rule through ``progression.check``, also with
a progression that differs from the sample's (so neither can be following a rule of its own).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim import load_definition, progression, score, simulate
from leadsim.datasets import make_history
from leadsim.definition import LeadsimWarning, parse_definition
from leadsim.errors import DefinitionError, LeadsimError
from leadsim.simulation import load_scenario

DEEP = ["content_download", "webinar", "live_demo", "in_depth_demo", "form_fill"]
KINDS = ["web_visit", "email_click", *DEEP]


def with_progression(steps: list[dict], language: str = "en"):
    data = load_definition(language).to_dict()
    data["funnel"]["progression"] = steps
    return parse_definition(data)


def moves_of(m: progression.Moves) -> list[tuple]:
    return list(zip(m.lead.tolist(), m.stage.tolist(), m.t.tolist(), strict=True))


def climb(lead, t, activity, stage, entered, d, **kw):
    return progression.climb(lead=np.array(lead), t=np.array(t), activity=np.array(activity, dtype=object),
                             stage=np.array(stage, dtype=object), entered=np.array(entered), definition=d, **kw)


# --------------------------------------------------------------------------- hand-worked cases


def test_the_sample_rule_by_hand():
    d = load_definition()  # name -> active at a deeper interaction; active -> target at the next one when fit >= 0
    m = climb([0, 0, 0, 1, 1, 2, 2], [1, 4, 6, 2, 3, 5, 9],
              ["web_visit", "webinar", "web_visit", "form_fill", "email_click", "form_fill", "web_visit"],
              ["name"] * 3, [0, 0, 0], d, fit=np.array([30.0, -0.0000001, -5.0]))
    # lead 0: a visit moves nothing, the webinar makes it Active, the next visit Target
    # lead 1: fit a ten-millionth below 0 counts as 0 (points tolerance): Target at the click
    # lead 2: fit -5 does not fit the market: Active, never Target
    assert moves_of(m) == [(0, "active", 4), (0, "target", 6), (1, "active", 2), (1, "target", 3), (2, "active", 5)]


def test_one_activity_moves_one_step_and_entry_counts_from_the_moment_entered():
    d = with_progression([{"from": "name", "to": "active"}, {"from": "active", "to": "target"}])
    # two activities at the same moment move two steps; one activity moves one; an activity before entry moves none
    m = climb([0, 0, 1, 2, 2], [5, 5, 5, 3, 8], ["web_visit"] * 5, ["name", "name", "active"], [0, 0, 4], d)
    assert moves_of(m) == [(0, "active", 5), (0, "target", 5), (1, "active", 5), (2, "target", 8)]


def test_stop_is_exclusive_and_nat_means_no_stop():
    d = with_progression([{"from": "name", "to": "active"}])
    t = np.array(["2026-01-05T10:00", "2026-01-05T11:00"], dtype="datetime64[ns]")
    stop = np.array(["2026-01-05T10:00", "NaT"], dtype="datetime64[ns]")
    m = progression.climb(lead=np.array([0, 1]), t=t, activity=np.array(["web_visit"] * 2, dtype=object),
                          stage=np.array(["name", "name"], dtype=object), entered=np.array([t[0], t[0]]),
                          stop=stop, definition=d)
    assert m.lead.tolist() == [1] and m.t[0] == t[1] and m.t.dtype == t.dtype


def test_the_earliest_activity_wins_and_ties_go_to_the_step_listed_first():
    d = with_progression([{"from": "name", "to": "target", "activities": ["live_demo"]},
                          {"from": "name", "to": "active", "activities": ["webinar", "live_demo"]}])
    m = climb([0, 0, 1], [2, 7, 4], ["webinar", "live_demo", "live_demo"], ["name", "name"], [0, 0], d)
    assert moves_of(m) == [(0, "active", 2), (1, "target", 4)]


def test_codes_with_a_vocabulary_and_unsorted_input_give_the_same_moves():
    d = load_definition()
    acts = ["web_visit", "form_fill", "webinar", "email_click"]
    kinds = np.array(["webinar", "content_download", "form_fill", "email_click", "web_visit"], dtype=object)
    lead, t = np.array([1, 0, 1, 0, 1]), np.array([9, 3, 2, 1, 5])
    fit = np.array([10.0, 10.0])
    a = climb(lead, t, kinds, ["name", "name"], [0, 0], d, fit=fit)
    acts.append("content_download")
    codes = np.array([acts.index(k) for k in kinds])
    b = progression.climb(lead=lead, t=t, activity=codes, vocab=acts, stage=np.array([0, 0]),
                          entered=np.array([0, 0]), fit=fit, definition=d)
    assert moves_of(a) == moves_of(b) == [(0, "active", 3), (1, "active", 2), (1, "target", 5)]
    assert a.row.tolist() == [1, 2, 4]  # the rows (as given) that moved them


def test_a_min_fit_step_without_fit_scores_is_refused():
    with pytest.raises(LeadsimError, match="fit score"):
        climb([0], [1], ["web_visit"], ["active"], [0], load_definition())


# --------------------------------------------------------------------------- against a slow loop


def slow_climb(lead, t, activity, stage, entered, stop, fit, steps):
    """The rule's wording as a loop: each lead's activities in time order, one step per activity."""
    out = []
    for i in range(len(stage)):
        cur, since = stage[i], entered[i]
        mine = sorted((t[k], k) for k in range(len(lead)) if lead[k] == i)
        for when, k in mine:
            if when >= stop[i]:
                break
            if when < since:
                continue
            for s in steps:
                if s["from"] == cur and (s.get("activities") is None or activity[k] in s["activities"]) and \
                        (s.get("min_fit") is None or fit[i] >= s["min_fit"] - 1e-6):
                    out.append((i, s["to"], when))
                    cur, since = s["to"], when
                    break
    return out


STEP_CHOICES = [
    {"from": "name", "to": "active", "activities": DEEP},
    {"from": "name", "to": "active"},
    {"from": "name", "to": "target", "activities": ["live_demo", "in_depth_demo"]},
    {"from": "active", "to": "target", "min_fit": 0},
    {"from": "active", "to": "target", "activities": ["webinar"], "min_fit": 20},
]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_climb_equals_the_slow_loop(data):
    steps = data.draw(st.lists(st.sampled_from(STEP_CHOICES), min_size=1, max_size=4, unique_by=id))
    n = data.draw(st.integers(1, 6))
    m = data.draw(st.integers(0, 40))
    lead = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    t = data.draw(st.lists(st.integers(0, 30), min_size=m, max_size=m))
    activity = data.draw(st.lists(st.sampled_from(KINDS), min_size=m, max_size=m))
    stage = data.draw(st.lists(st.sampled_from(["name", "active", "target"]), min_size=n, max_size=n))
    entered = data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    stop = data.draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    fit = data.draw(st.lists(st.sampled_from([-10.0, 0.0, 19.9999999, 20.0, 50.0]), min_size=n, max_size=n))
    d = with_progression(steps)
    got = progression.climb(lead=np.array(lead, np.int64), t=np.array(t, np.int64),
                            activity=np.array(activity, dtype=object), stage=np.array(stage, dtype=object),
                            entered=np.array(entered), stop=np.array(stop), fit=np.array(fit), definition=d)
    assert moves_of(got) == slow_climb(lead, t, activity, stage, entered, stop, fit, steps)


# --------------------------------------------------------------------------- the definition


def test_progression_steps_are_checked_naming_the_step():
    with pytest.raises(DefinitionError, match=r"progression\[0\] \(name -> lead\).*not a marketing stage"):
        with_progression([{"from": "name", "to": "lead"}])
    with pytest.raises(DefinitionError, match=r"progression\[0\] \(target -> active\).*does not allow"):
        with_progression([{"from": "target", "to": "active"}])
    with pytest.raises(DefinitionError, match=r"activities"):
        with_progression([{"from": "name", "to": "active", "activities": []}])
    with pytest.raises(DefinitionError, match=r"min_fit"):
        with_progression([{"from": "active", "to": "target", "min_fit": float("nan")}])


def test_the_progression_survives_a_round_trip_through_yaml(tmp_path):
    from leadsim.definition import write_definition

    d = load_definition()
    write_definition(d, tmp_path / "d.yaml")
    text = (tmp_path / "d.yaml").read_text()
    assert "from: name" in text and "from_" not in text
    assert load_definition(tmp_path / "d.yaml").funnel.progression == d.funnel.progression


# --------------------------------------------------------------------------- the generator and the simulation


def fit_of(leads, d):
    return score(leads, None, d, as_of=pd.Timestamp("2030-01-01"))["fit_score"]


ALT = [{"from": "name", "to": "active", "activities": ["webinar", "live_demo", "form_fill"]},
       {"from": "active", "to": "target", "activities": ["web_visit", "content_download"], "min_fit": 40}]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("steps", [None, ALT], ids=["sample-rule", "other-rule"])
def test_the_history_generator_moves_leads_by_the_definitions_rule(language, steps):
    d = load_definition(language) if steps is None else with_progression(steps, language)
    h = make_history(d, n_leads=1500, start="2025-01-01", end="2025-10-01", seed=11)
    c = progression.check(h.stage_log, h.activities, d, fit=fit_of(h.leads, d))
    assert (c["logged"] > 5).all()
    assert (c["agree"] == c["logged"]).all() and (c["agree"] == c["by_rule"]).all(), c
    assert set(h.stage_log.loc[h.stage_log["reason"] == progression.REASON, "stage"]) == {s["to"] for s in (
        steps or [{"to": "active"}, {"to": "target"}])}


@pytest.mark.parametrize("steps", [None, ALT], ids=["sample-rule", "other-rule"])
def test_the_simulation_moves_leads_by_the_definitions_rule(steps):
    sc = load_scenario().with_values({"horizon_days": 21, "arrivals.web_form.per_week": 60, "bursts": [],
                                      "sdr_headcount": 1, "rep_headcount": 1})
    if steps is not None:
        data = sc.definition
        data["funnel"]["progression"] = steps
        sc = sc.with_values({"definition": data})
    d = sc.lead_definition
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        r = simulate(sc, seed=3)
    c = progression.check(r.stage_log, r.activities, d, fit=fit_of(r.leads, d))
    assert (c["logged"] > 5).all()
    assert (c["agree"] == c["logged"]).all() and (c["agree"] == c["by_rule"]).all(), c


def test_check_shows_where_a_log_departs_from_the_rule():
    d = load_definition()
    log = pd.DataFrame({"lead_id": ["A", "A", "A", "B", "B"],
                        "stage": ["name", "active", "target", "name", "active"],
                        "at": pd.to_datetime(["2026-01-05 09:00", "2026-01-05 10:00", "2026-01-06 09:00",
                                              "2026-01-05 09:00", "2026-01-07 09:00"])})
    acts = pd.DataFrame({"lead_id": ["A", "A", "B", "B"],
                         "activity": ["webinar", "web_visit", "form_fill", "web_visit"],
                         "at": pd.to_datetime(["2026-01-05 10:00", "2026-01-06 09:00", "2026-01-06 09:00",
                                               "2026-01-06 12:00"])})
    c = progression.check(log, acts, d, fit=pd.Series({"A": 50.0, "B": 50.0}))
    # A follows the rule; B was made Active a day after its form fill, and the rule would have made it Target too
    assert c.to_dict("records") == [
        {"from": "name", "to": "active", "logged": 2, "by_rule": 2, "agree": 1},
        {"from": "active", "to": "target", "logged": 1, "by_rule": 2, "agree": 1},
    ]
