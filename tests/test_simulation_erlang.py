"""The full model, reduced to a queue, reproduces Erlang C and Erlang A (docs/design.md section 7.3; issue 16).

``tests/test_simulation_queueing.py`` checks the separate reduced core (``Scenario.queueing``).  This file
runs the *full* model (:mod:`leadsim.simulation.model` and :mod:`~leadsim.simulation.work`: scoring, hand-offs,
SDRs on shifts, SLA clocks, patience) on a scenario built from the sample scenario and the sample definition
that is, at the SDR stage, an M/M/c queue (and, with patience, M/M/c+M):

* **Around the clock.**  The definition's calendar is open every day, 00:00-23:59, with no holidays (UTC, so no
  daylight-saving jumps), and the SDR shift is the same.  A calendar cannot close at 24:00
  (``definition.parts.opening_hours`` reads both ends with ``datetime.time.fromisoformat`` and needs opening <
  closing; ``calendar._minutes`` has no 1440), and a full run always puts SDRs on a ``WorkTime`` (``shifts.sdr``
  unset falls back to the calendar), so one minute a day, 23:59-24:00, is closed.  That costs 1/1440 of the
  capacity and delays a lead handed over in that minute by under a minute: by the closed forms with ``mu``
  scaled by 1439/1440, +0.1 % on P(wait) and +0.4 % on the mean wait, far inside the intervals below.
* **Poisson arrivals at a constant rate.**  One source (``paid``) with flat weekday and hour weights; no
  bursts, no outbound work, no exploration hand-offs.
* **Every lead enters the SDR queue exactly once, at creation.**  A ``paid`` lead is created by a web visit,
  and the only hot trigger fires on any web visit, so each lead is an MQL at its creation.  Nothing happens to a
  lead later (no sessions, no nurture clicks).  The MQL threshold is out of reach (10,000 points): with
  ``on_recycle: restart`` a recycled lead whose *fit* alone reaches the threshold is an MQL again at once
  (``Model._recycle``; with the sample's 100 points such leads would re-enter after every call).
* **One exponential service.**  The contact chance must be above 0 (``Curve.contact_base``, ``gt=0``), so it
  is 1e-12 with the ``flat`` curve (no multiplier): no lead is reached (checked), so no qualifying talk is
  added to the call.  No retries (``handling.retry_minutes: []``): after its one call a lead is recycled as
  ``no_contact`` and never re-enters.  The service time is the call, exponential with mean
  ``handling.call_minutes``.
* **No SLA effects.**  ``routing: fifo`` and ``escalation: none`` (a manager level that fires moves nobody), and
  ``sla.auto_return_after_last: false`` (no waiting lead recycled by a clock).  The clocks still run and record alerts.

Measurement, per replication: the hand-offs (``outcomes.handed_at``, at creation) from ``warmup_days`` to half a
day before the end (so every one of them was answered or went cold by the end: checked).  A lead's wait is
``outcomes.response_minutes`` (wall-clock minutes in a run: ``Work._sdr_serve``, equal to its first call's time
in ``touches`` minus the hand-off: checked) or, for a lead that went cold (``outcomes.reason == "cold"``),
the time of its recycle in the stage log minus the hand-off.  P(wait) is the share with a wait above 0 or gone
cold, the mean wait counts abandoned leads until they leave, P(abandon) is the share gone cold: the
definitions :func:`~leadsim.simulation.queueing.erlang_a` uses.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import leadsim
from leadsim.exits import exit_moves
from leadsim.simulation import Scenario, SimulationResult, erlang_a, erlang_c, seeds, simulate
from leadsim.simulation.replication import confidence_intervals
from leadsim.simulation.scenario import load_scenario

# Tolerance.  Each replication runs on its own seed (``seeds``: independent child seeds), so the replications'
# estimates are independent and identically distributed, and each is an average over 2,500-4,000 leads, close to
# normal: a Student-t interval over them is the interval the issue asks for.  Its level is 99 %, not 95 %: the
# file checks six intervals, and with 95 % a correct model would fail one of them on about one reseeding in
# four (the random streams are being reworked in issue 16); at 99 % about one in seventeen.  What the interval
# does not cover is small against it: the minute closed each day (+0.1 % on P(wait), up to +0.4 % on the mean
# wait, see the module docstring), the start empty (a day of warm-up against waits of minutes; at these loads the
# queue forgets its start within hours) and leads still waiting at the end (excluded, see ``measured``).
# Each interval must also be narrow (``PRECISION``), so that "inside" says something; the negative control
# shows that an error of one SDR falls far outside.
LEVEL = 0.99
PRECISION = {"p_wait": 0.05, "p_abandon": 0.03, "mean_wait_hours": 0.15}  # absolute; relative for the mean wait
WARMUP_DAYS = 1.0
COOLDOWN_DAYS = 0.5  # hand-offs this close to the end are not measured: their wait may be cut off

# (arrivals per hour, services per hour per SDR, SDRs, mean patience in hours or None, days, replications)
ERLANG_C_CASE = (15.0, 10.0, 2, None, 10, 16)  # M/M/2, rho = 0.75
ERLANG_A_CASE = (25.5, 10.0, 3, 0.25, 8, 12)  # M/M/3+M, offered rho = 0.85
CONTROL_CASE = (15.0, 10.0, 3, None, 8, 8)  # the Erlang C case with one SDR more than erlang_c(c=2) assumes


def queue_scenario(lam: float, mu: float, c: int, patience_hours: float | None, days: float) -> Scenario:
    """The sample scenario and definition reduced to an M/M/c (+M with patience) queue at the SDR stage."""
    d = leadsim.load_definition().to_dict()
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    d["calendar"] = {"timezone": "UTC", "working_days": every_day, "working_hours": ["00:00", "23:59"],
                     "holidays": []}
    d["hot_triggers"] = [{"id": "hot_visit", "label": "Any web visit", "activity": "web_visit", "window_days": 14}]
    d["thresholds"]["mql"] = 10_000  # out of reach of any fit score: only the hot trigger hands a lead over
    d.pop("gates", None)  # ... every lead whose visit fires it: arrivals into the queue are the Poisson stream
    d["on_recycle"] = "restart"
    d["sla"]["auto_return_after_last"] = False  # as in the sample: no lead recycled by an SLA clock
    return load_scenario().with_values({
        "definition": d,
        "horizon_days": days,
        "warmup_days": WARMUP_DAYS,
        "arrivals": {"paid": {"per_week": lam * 168, "weekday": [1] * 7, "hour": [1] * 24}},
        "bursts": [],
        "outbound.per_week": 0,
        "exploration_share": 0.0,
        "sdr_headcount": c,
        "rep_headcount": 1,
        "shifts": {"sdr": ["00:00", "23:59"], "rep": ["00:00", "23:59"]},
        "routing": "fifo",
        "escalation": "none",
        "patience_hours": patience_hours,
        "curve": {"preset": "flat", "contact_base": 1e-12},
        "handling.call_minutes": 60.0 / mu,
        "handling.research_minutes": 0.0,
        "handling.retry_minutes": [],
        "behaviour.sessions_per_month": 0.0,
        "behaviour.nurture_click": 0.0,
    })


def run(scenario: Scenario, seed: int) -> SimulationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reduced scenario is a clean one: no warning of any kind
        return simulate(scenario, seed=seed)


def measured(result: SimulationResult) -> pd.DataFrame:
    """The measured hand-offs (see the module docstring) with each one's ``wait`` (minutes) and ``cold``."""
    sc = result.scenario
    oc = result.outcomes
    at = ((oc["handed_at"] - pd.Timestamp(sc.start)) / pd.Timedelta(minutes=1)).to_numpy(float)
    oc = oc[(at >= sc.warmup_days * 1440) & (at < (sc.horizon_days - COOLDOWN_DAYS) * 1440)]
    log = result.stage_log
    moves = exit_moves(log, sc.lead_definition)
    recycled_at = moves[moves["exit"] == "recycle"].set_index("lead_id")["at"]  # at most one per lead: checked
    cold = (oc["reason"] == "cold").to_numpy()
    wait = oc["response_minutes"].to_numpy(float).copy()
    left = recycled_at.reindex(oc["lead_id"]).to_numpy()
    wait[cold] = (left[cold] - oc["handed_at"].to_numpy()[cold]) / np.timedelta64(1, "m")
    return pd.DataFrame({"lead_id": oc["lead_id"].to_numpy(), "wait": wait, "cold": cold})


def measure(result: SimulationResult) -> dict[str, float]:
    m = measured(result)
    assert len(m) > 1000 and not m["wait"].isna().any(), "a measured lead was neither answered nor gone cold"
    wait, cold = m["wait"].to_numpy(), m["cold"].to_numpy()
    return {"p_wait": float(np.mean((wait > 0) | cold)), "mean_wait_hours": float(wait.mean() / 60),
            "p_abandon": float(cold.mean())}


def replications(case: tuple, seed: int) -> pd.DataFrame:
    lam, mu, c, patience, days, n = case
    scenario = queue_scenario(lam, mu, c, patience, days)
    return pd.DataFrame([measure(run(scenario, s)) for s in seeds(seed, n)])


def check_inside(runs: pd.DataFrame, want, metrics: list[str]) -> pd.DataFrame:
    ci = confidence_intervals(runs[metrics], LEVEL)
    for m in metrics:
        value = getattr(want, m)
        limit = PRECISION[m] * (value if m == "mean_wait_hours" else 1.0)
        row = ci.loc[m].to_dict()
        assert ci.loc[m, "half_width"] < limit, (m, "interval too wide to test anything", row)
        assert ci.loc[m, "lo"] <= value <= ci.loc[m, "hi"], (m, value, row)
    return ci


@pytest.fixture(scope="module")
def erlang_c_runs() -> pd.DataFrame:
    return replications(ERLANG_C_CASE, seed=2026)


@pytest.fixture(scope="module")
def erlang_a_runs() -> pd.DataFrame:
    return replications(ERLANG_A_CASE, seed=2027)


def test_the_reduced_scenario_is_an_mmc_queue_at_the_sdr_stage():
    lam, mu, c, patience, _, _ = ERLANG_A_CASE
    r = run(queue_scenario(lam, mu, c, patience, 4), seed=7)
    d = r.scenario.lead_definition
    ms = d.funnel.milestones
    leads, oc, log, touches = r.leads, r.outcomes, r.stage_log, r.touches
    # Poisson arrivals at rate lam: exponential gaps between creations, lam per hour
    created = np.sort(leads["created_at"].to_numpy())
    gaps = np.diff(created) / np.timedelta64(1, "m")
    assert stats.kstest(gaps, "expon", args=(0, 60 / lam)).pvalue > 0.01
    assert len(leads) == pytest.approx(lam * 24 * 4, rel=0.05)
    # each lead handed over once, by the hot trigger, at its creation
    assert len(oc) == len(leads) and oc["lead_id"].is_unique
    assert set(oc["handoff_reason"]) == {"hot"}
    when = leads.set_index("lead_id")["created_at"].reindex(oc["lead_id"]).to_numpy()
    assert (oc["handed_at"].to_numpy() == when).all()
    # nobody reached (so no qualifying talk, no Sales Lead, no rep work): one call, then recycled, or gone cold
    assert set(oc["reason"].dropna()) == {"no_contact", "cold"}
    assert not oc["sql"].any()
    assert set(log["stage"]) == {d.funnel.stages[0].id, ms.mql, d.funnel.recycle.to}
    assert log.groupby("lead_id")["stage"].apply(lambda s: (s == ms.mql).sum()).max() == 1
    moves = exit_moves(log, d)
    assert (moves["exit"] == "recycle").groupby(moves["lead_id"]).sum().max() == 1
    assert set(touches["kind"]) == {"call"} and touches["lead_id"].is_unique
    assert set(touches["by"]) <= {f"sdr{i + 1}" for i in range(c)}
    # the service is the call alone: exponential with mean call_minutes (a call still going at the end has no row)
    assert len(touches) - c <= len(r.services) <= len(touches)
    assert stats.kstest(r.services["minutes"], "expon", args=(0, 60 / mu)).pvalue > 0.01
    # the wait is the first call's time minus the hand-off (wall minutes: the calendar is open around the clock)
    first = touches.set_index("lead_id")["at"].reindex(oc["lead_id"]).to_numpy()
    answered = ~np.isnan(oc["response_minutes"].to_numpy(float))
    delay = (first[answered] - oc["handed_at"].to_numpy()[answered]) / np.timedelta64(1, "m")
    np.testing.assert_allclose(delay, oc["response_minutes"].to_numpy(float)[answered], atol=1e-6)
    # the cold leads are the gone_cold KPI; a lead answered never goes cold
    assert r.kpis["gone_cold"] == (oc["reason"] == "cold").sum() > 0
    assert not (answered & (oc["reason"] == "cold").to_numpy()).any()
    # no SLA effect: alerts fire, nobody is moved
    assert len(r.alerts) > 0 and "escalation" not in set(log["reason"])


def test_full_model_without_patience_reproduces_erlang_c(erlang_c_runs):
    lam, mu, c, _, _, _ = ERLANG_C_CASE
    check_inside(erlang_c_runs, erlang_c(lam, mu, c), ["p_wait", "mean_wait_hours"])
    assert (erlang_c_runs["p_abandon"] == 0).all()


def test_full_model_with_patience_reproduces_erlang_a(erlang_a_runs):
    lam, mu, c, patience, _, _ = ERLANG_A_CASE
    want = erlang_a(lam, mu, c, 1 / patience)
    assert want.p_abandon > 0.1  # patience matters at this load
    check_inside(erlang_a_runs, want, ["p_wait", "mean_wait_hours", "p_abandon"])
    # and the queue is not Erlang C's: without patience these leads would wait far longer
    assert erlang_a_runs["mean_wait_hours"].mean() < 0.5 * erlang_c(lam, mu, c).mean_wait_hours


def test_negative_control_one_sdr_more_than_the_closed_form_assumes_falls_outside(erlang_c_runs):
    lam, mu, c, _, _, _ = CONTROL_CASE
    assert c == ERLANG_C_CASE[2] + 1
    runs = replications(CONTROL_CASE, seed=2028)
    # the model with 3 SDRs is M/M/3 (its mean wait, a few minutes at rho = 0.5, is too noisy here to test) ...
    check_inside(runs, erlang_c(lam, mu, c), ["p_wait"])
    ci = confidence_intervals(runs[["p_wait", "mean_wait_hours"]], LEVEL)
    wrong = erlang_c(lam, mu, c - 1)  # ... and the same measurement is far from M/M/2's closed form
    for m in ("p_wait", "mean_wait_hours"):
        assert not ci.loc[m, "lo"] <= getattr(wrong, m) <= ci.loc[m, "hi"], (m, getattr(wrong, m), ci.loc[m].to_dict())
    # the intervals of the 2-SDR runs do not overlap the 3-SDR ones: the measurement sees the headcount
    two = confidence_intervals(erlang_c_runs[["p_wait", "mean_wait_hours"]], LEVEL)
    assert (two["lo"] > ci["hi"]).all()
