"""The simulation measures with the same ruler as history: the alerts it raises during a run are the alerts
:func:`leadsim.sla.audit` finds on the run's own log, row for row, in every escalation mode, in English and
German, on working-time and wall-clock clocks; its breach-rate KPIs are the audit's.

Regressions this guards (each failed before the SLA ladder was shared):
- ``escalation: free_rep`` changed a Sales Lead's owner without a stage-log row, so the audit counted the new
  owner's touch as nobody's and reported many more alerts than the run raised;
- with a German definition a 36-hour wall-clock level rendered ``{days}`` as ``4.5`` in the run (working days,
  decimal point) and as ``1,5`` in the audit;
- the run's breach-rate denominators (clock starts) differed from the audit's (hand-offs whose level came due).
"""

from __future__ import annotations

import copy
import warnings

import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.definition import LeadsimWarning
from leadsim.simulation import load_scenario, simulate
from leadsim.simulation.kpis import sla_audit

COLUMNS = ["lead_id", "clock", "level", "due_at", "owner", "recipients", "message"]


def scenario(escalation: str, language: str, wall_clock: bool, **over):
    d = load_definition(language).to_dict()
    if wall_clock:  # the touch ladder in wall-clock hours: 36 hours is 1.5 calendar days
        touch = next(c for c in d["sla"]["clocks"] if c["id"] == "touch")
        touch.update(unit="hours", wall_clock=True)
        for lv, hours in zip(touch["levels"], [0, 12, 36, 60], strict=True):
            lv["offset"] = hours
    values = {"horizon_days": 21, "arrivals.web_form.per_week": 90, "arrivals.paid.per_week": 30,
              "arrivals.organic.per_week": 25, "arrivals.event.per_week": 3, "bursts": [], "outbound.per_week": 4,
              "sdr_headcount": 2, "rep_headcount": 3, "exploration_share": 0.05, "escalation": escalation,
              "handling.rep_touch_minutes": 200, "definition": d,
              # busy leads, reached at the first call as a rule: plenty of Sales Leads for the reps' ladder
              "behaviour.sessions_per_month": 3.5, "curve": {"preset": "default", "contact_base": 0.75}}
    if not wall_clock:  # short ladders, so managers are called and free reps take leads over
        values.update({"definition.sla.clocks.touch.levels.1.offset": 0.05,
                       "definition.sla.clocks.touch.levels.2.offset": 0.1,
                       "definition.sla.clocks.touch.levels.3.offset": 0.15})
    values.update(over)
    return load_scenario().with_values(values)


def run(sc, seed=9):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return simulate(sc, seed=seed)


def rows(alerts: pd.DataFrame) -> pd.DataFrame:
    out = alerts[COLUMNS].astype({"level": int}).astype(str)
    return out.sort_values(COLUMNS, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("ids", ["sample-ids", "renamed-ids"])
@pytest.mark.parametrize("wall_clock", [False, True], ids=["working-time", "wall-clock"])
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("escalation", ["none", "front", "free_rep"])
def test_run_time_alerts_are_the_audits_alerts_of_the_runs_log(escalation, language, wall_clock, ids):
    sc = scenario(escalation, language, wall_clock)
    if ids == "renamed-ids":
        d = sc.definition
        for old, new in RENAMES.items():
            d = renamed(d, old, new)
        sc = sc.with_values({"definition": d})
    res = run(sc)
    audit = sla_audit(res)
    assert len(res.alerts) > 20
    pd.testing.assert_frame_equal(rows(res.alerts), rows(audit.alerts))
    levels = audit.summary["levels"]
    for row in levels.itertuples(index=False):
        got = res.kpis[f"breach_rate.{row.clock}.{row.level}"]
        assert got == pytest.approx(row.breach_rate, nan_ok=True), (row.clock, row.level)
    if escalation == "free_rep" and not wall_clock:  # escalations really moved leads, and the log says so
        moved = res.stage_log[res.stage_log["reason"] == "escalation"]
        assert len(moved) > 0
    if wall_clock and language == "de":
        msg = res.alerts.loc[(res.alerts["clock"] == "touch") & (res.alerts["level"] == 2), "message"]
        assert len(msg) and msg.str.contains("1,5 Tage").all(), msg.head(2).tolist()


def test_messages_quote_the_score_of_each_hand_off():
    res = run(scenario("none", "en", False))
    first = res.alerts[(res.alerts["clock"] == "response") & (res.alerts["level"] == 0)]
    oc = res.outcomes.set_index(["lead_id", "handed_at"])["score"]
    for a in first.head(30).itertuples(index=False):
        score = oc.loc[(a.lead_id, a.handoff_at)]  # the hand-off the alert is about
        assert f"score {score:.0f}," in a.message


def renamed(definition: dict, old: str, new: str) -> dict:
    """A definition (as data) with stage id ``old`` called ``new`` wherever it names a stage."""
    d = copy.deepcopy(definition)
    f = d["funnel"]

    def swap(x):
        return new if x == old else x

    for st in f["stages"]:
        st["id"] = swap(st["id"])
    f["entry"] = [swap(x) for x in f["entry"]]
    f["transitions"] = {swap(k): [swap(x) for x in v] for k, v in f["transitions"].items()}
    for exit_ in ("recycle", "disqualify", "lost"):
        f[exit_] = {"from": [swap(x) for x in f[exit_]["from"]], "to": swap(f[exit_]["to"])}
    f["milestones"] = {k: swap(v) for k, v in f.get("milestones", {}).items()}
    f["progression"] = [{**step, "from": swap(step["from"]), "to": swap(step["to"])} for step in f["progression"]]
    for c in d["sla"]["clocks"]:
        c["stage"] = swap(c["stage"])
        c["stop_on"] = [swap(x) for x in c["stop_on"]]
    return d


RENAMES = {"name": "neu", "active": "aktiv", "sales_lead": "sal", "lead": "mql_stage"}


def test_renamed_stage_ids_give_the_same_run_with_the_ids_mapped_back():
    base = scenario("free_rep", "en", False)
    d = base.definition
    for old, new in RENAMES.items():
        d = renamed(d, old, new)
    other = base.with_values({"definition": d})
    assert other.lead_definition.funnel.milestones.sql == "sal"
    a, b = run(base), run(other)
    back = {new: old for old, new in RENAMES.items()}

    def mapped(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        out = df.copy()
        for c in cols:
            out[c] = out[c].replace(back)
        return out

    pd.testing.assert_frame_equal(mapped(b.stage_log, ["stage"]), a.stage_log)
    for name in ("leads", "activities", "touches", "owners", "outcomes", "mql"):
        pd.testing.assert_frame_equal(getattr(b, name), getattr(a, name), obj=name)
    al = mapped(b.alerts, ["stage"])
    al["recipients"] = al["recipients"].str.replace("mql_stage-queue", "lead-queue", regex=False)
    pd.testing.assert_frame_equal(al, a.alerts)
    pd.testing.assert_series_equal(b.kpis, a.kpis)
    assert (a.stage_log["reason"] == "escalation").any()


def test_a_funnel_the_simulation_cannot_run_is_refused_naming_the_stage():
    from leadsim.errors import LeadsimError

    d = renamed(load_definition().to_dict(), "active", "aktiv")
    d["funnel"]["transitions"]["aktiv"] = ["lead"]  # no way on to Target
    with pytest.raises(LeadsimError, match=r"aktiv -> target.*does not allow this move.*transitions\.aktiv"):
        load_scenario().with_values({"definition": d})
