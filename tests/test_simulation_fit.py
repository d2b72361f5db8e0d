"""A scenario fitted from a history (leadsim.simulation.fitting), checked against known truth.

The histories are *simulated* from scenarios whose parameters differ from the sample's, so the truth is known: the
reported 95 % intervals must hold it in most seeds (headcounts exactly).  Short horizons keep the file quick.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from leadsim import funnel, sla
from leadsim.datasets import History, load_sample
from leadsim.definition import LeadsimWarning
from leadsim.errors import DataError
from leadsim.simulation import Scenario, fit_scenario, load_scenario, simulate
from leadsim.simulation.fitting import MIN_HANDOFFS, PROVENANCE_COLUMNS, map_source
from leadsim.simulation.truths import FIT_WORLDS, known_values

WORLDS = FIT_WORLDS  # two worlds unlike the sample's (leadsim.simulation.truths)
SEEDS = range(10)  # per world: 20 fitted histories
COVERAGE_FLOOR = 16  # of 20 (80 %): a 95 % interval misses this often only by bad luck; a biased one always


def _hours(hhmm: str) -> float:
    return int(hhmm[:2]) + int(hhmm[3:]) / 60


def _run(world: str, seed: int) -> History:
    return simulate(load_scenario().with_values(WORLDS[world]), seed=seed).history()


@pytest.fixture(scope="module")
def fits() -> list[tuple[str, pd.DataFrame, Scenario]]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        for world in WORLDS:
            for seed in SEEDS:
                h = _run(world, seed)
                sc = fit_scenario(h, h.definition)
                out.append((world, sc.provenance.set_index("parameter"), sc))
    return out


# --------------------------------------------------------------------------- a run as a history


def test_a_run_reads_as_a_history_everywhere():
    r = simulate(load_scenario().with_values(WORLDS["B"]), seed=3)
    h = r.history()
    assert isinstance(h, History) and h.definition.version == r.scenario.lead_definition.version
    for name in ("leads", "activities", "stage_log", "owners", "outcomes"):
        pd.testing.assert_frame_equal(getattr(h, name), getattr(r, name))
    # every piece of SDR and rep work carries its drawn minutes; the outbound entry meetings are no work
    work = h.touches[h.touches["kind"] != "meeting"]
    assert work["duration_minutes"].notna().sum() == len(r.services)
    assert np.isclose(work["duration_minutes"].sum(), r.services["minutes"].sum())
    assert h.touches.loc[h.touches["kind"] == "meeting", "duration_minutes"].isna().all()
    # the functions that read histories read it
    w = funnel.waterfall(h.stage_log, h.definition)
    assert w.stages.loc[w.stages["stage"] == "name", "cohort"].iloc[0] == len(h.leads)  # every lead, once
    assert funnel.velocity(h.stage_log, h.definition).loc["lead", "visits"] == len(h.outcomes)
    a = sla.audit(h.stage_log, h.touches, h.definition, owners=h.owners, leads=h.leads)
    assert a.summary["n_handoffs"] >= len(h.outcomes)


# --------------------------------------------------------------------------- known truth inside the intervals


@pytest.mark.parametrize("parameter", sorted(known_values(WORLDS["A"])))
def test_the_truth_lies_inside_the_reported_interval(fits, parameter):
    inside = []
    for world, p, _ in fits:
        truth = known_values(WORLDS[world])[parameter]
        lo, hi = p.loc[parameter, "lo"], p.loc[parameter, "hi"]
        inside.append(bool(lo - 1e-9 <= truth <= hi + 1e-9))
    if parameter.endswith("headcount"):
        assert all(inside), f"{parameter}: headcounts are exact"
    else:
        assert sum(inside) >= COVERAGE_FLOOR, f"{parameter}: truth inside in {sum(inside)} of {len(inside)} fits"


def test_the_fitted_scenario_takes_the_fitted_values(fits):
    for world, p, sc in fits:
        w = WORLDS[world]
        assert (sc.sdr_headcount, sc.rep_headcount) == (w["sdr_headcount"], w["rep_headcount"])
        assert sc.start == load_scenario().start and sc.horizon_days == w["horizon_days"]
        for s in w["arrivals"]:
            assert sc.arrivals[s].per_week == pytest.approx(p.loc[f"arrivals.{s}.per_week", "value"])
        assert sc.handling.call_minutes == pytest.approx(p.loc["handling.call_minutes", "value"])
        for role in ("sdr", "rep"):  # to the minute
            assert abs(_hours(sc.shifts[role][0]) - p.loc[f"shifts.{role}.open", "value"]) <= 1 / 60
        # batch uploads are found whole and leave the Poisson rate
        if w["bursts"]:
            b = sc.bursts[0]
            assert (b.source, b.size, b.first_day, b.every_days) == ("event", 60, 3.0, 10.0)
        else:
            assert sc.bursts == []


def test_provenance_is_one_row_per_parameter_with_sound_intervals(fits):
    _, _, sc = fits[0]
    table = sc.provenance
    assert tuple(table.columns) == PROVENANCE_COLUMNS and table["parameter"].is_unique
    both = table.dropna(subset=["lo", "hi"])
    assert (both["lo"] <= both["value"] + 1e-9).all() and (both["value"] <= both["hi"] + 1e-9).all()
    shares = table[table["unit"] == "share"]
    assert len(shares) and shares[["value", "lo", "hi"]].stack().between(0, 1).all()
    heads = table[table["unit"] == "people"]
    assert (heads["lo"] == heads["value"]).all() and (heads["hi"] == heads["value"]).all()
    assert table["source"].str.contains("2026-01-05 00:00..2026-02-02 00:00").all()
    assert {"arrivals.web_form.trend_per_week", "stage.lead.recycle_share", "response.contact.delay_log_odds",
            "curve.contact_base"} <= set(table["parameter"])


@pytest.mark.parametrize(("preset", "steep"), [("flat", False), ("lrm_2007", True)])
def test_the_delay_effect_on_contact_matches_the_curve_simulated(preset, steep):
    """Flat truth: the contact interval holds 0 and the baseline chance; a steep curve: the effect is clearly < 0."""
    world = {**WORLDS["A"], "routing": "fifo", "curve": {"preset": preset, "contact_base": 0.75}}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        for seed in range(8):
            h = simulate(load_scenario().with_values(world), seed=seed).history()
            p = fit_scenario(h, h.definition).provenance.set_index("parameter")
            rows.append((p.loc["response.contact.delay_log_odds", ["lo", "hi"]].tolist(),
                         p.loc["curve.contact_base", ["lo", "hi"]].tolist()))
    if steep:
        assert all(hi < 0 for (_, hi), _ in rows)
    else:
        assert sum(lo <= 0 <= hi for (lo, hi), _ in rows) >= 6
        assert sum(lo <= 0.75 <= hi for _, (lo, hi) in rows) >= 6


# --------------------------------------------------------------------------- refusals and real data


def test_too_few_handoffs_is_refused_in_one_line():
    h = _run("B", 1)
    first = h.outcomes["handed_at"].min().normalize()
    with pytest.raises(DataError) as err:
        fit_scenario(h, h.definition, start=first, end=first + pd.Timedelta(hours=6))
    msg = str(err.value)
    assert "\n" not in msg and f"needs at least {MIN_HANDOFFS}" in msg and "hand-offs" in msg
    assert msg.startswith("stage_log: ") and "give a longer history" in msg


@pytest.mark.parametrize("vendor", ["salesforce", "hubspot", "marketo"])
def test_the_crm_fixtures_are_too_small_and_say_so(vendor):
    from leadsim import load_definition
    from leadsim._resources import data_path
    from leadsim.io.export import read_export

    d = load_definition()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        export = read_export(data_path(f"exports/{vendor}"), d, mapping=data_path(f"mappings/{vendor}.yaml"))
        with pytest.raises(DataError, match=rf"fitting a scenario needs at least {MIN_HANDOFFS}") as err:
            fit_scenario(export.tables, d)
    assert "\n" not in str(err.value)


def test_the_sample_fits_and_reports_its_figures():
    s = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeadsimWarning)  # the sample's touches carry their durations: no warning
        sc = Scenario.from_history(s, s.definition)
    p = sc.provenance.set_index("parameter")
    roles = s.owners["role"].value_counts()  # every SDR and rep of the sample works in the whole span
    assert (sc.sdr_headcount, sc.rep_headcount) == (roles["sdr"], roles["rep"])
    weekly = sum(a.per_week for a in sc.arrivals.values()) + sc.outbound.per_week
    assert 20 < weekly < 2000 and sc.bursts  # the sample's trade fairs arrive as batch uploads
    assert 600 < sc.horizon_days < 700
    for role in ("sdr", "rep"):
        o, c = sc.shifts[role]
        assert "05:00" <= o < c <= "22:00"
    # handling from the touches' durations; the generator's truth (datasets._flow): attempts are calls (mean 10
    # minutes) and e-mails (5), the first one also carries 80 minutes of research, notes and e-mails on the hand-off,
    # the qualifying talk adds 35 to the last attempt, reps call, write and meet (45)
    assert p.loc["handling.call_minutes", "source"].startswith("touches.duration_minutes")
    assert 5 <= sc.handling.call_minutes <= 10
    assert 65 <= sc.handling.research_minutes <= 95
    assert 25 <= sc.handling.qualify_minutes <= 45
    assert 5 <= sc.handling.rep_touch_minutes <= 45
    assert np.isfinite(p.loc["response.qualification.delay_log_odds", ["value", "lo", "hi"]].astype(float)).all()
    # the fitted scenario runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        r = simulate(sc.with_values({"horizon_days": 7}), seed=1)
    assert len(r.leads) > 0


def test_sources_are_mapped_by_keyword_and_the_rest_reported():
    assert [map_source(x) for x in ["Paid Social", "Trade fair", "Direct Traffic", "outbound", "???"]] == \
        ["paid", "event", "organic", "outbound", None]
    h = _run("B", 2)
    leads = h.leads.copy()
    n_paid = int((leads["source"] == "paid").sum())
    n_organic = int((leads["source"] == "organic").sum())
    leads["source"] = leads["source"].replace({"paid": "Google Ads", "organic": "Mystery"})
    tables = {**h.tables(), "leads": leads}
    with pytest.warns(LeadsimWarning, match=r"'Mystery' \(\d+\); counted as 'organic'"):
        sc = fit_scenario(tables, h.definition)
    weeks = WORLDS["B"]["horizon_days"] / 7
    assert sc.arrivals["paid"].per_week == pytest.approx(n_paid / weeks)
    assert sc.arrivals["organic"].per_week == pytest.approx(n_organic / weeks)


def test_a_history_without_owners_or_durations_still_fits():
    h = _run("B", 4)
    tables = {**h.tables(), "touches": h.touches.drop(columns="duration_minutes")}
    del tables["owners"]
    with pytest.warns(LeadsimWarning, match="no duration column"):
        sc = fit_scenario(tables, h.definition)
    # roles from the stage the lead was in when touched: SDRs work Leads, reps Sales Leads
    assert (sc.sdr_headcount, sc.rep_headcount) == (6, 2)
    assert sc.handling == load_scenario().handling


def test_without_calls_between_first_and_last_the_research_stays_in_the_call():
    """At most two attempts per hand-off (one retry): no call is free of a hand-off's research, so the fit cannot
    tell them apart; call_minutes then holds both (the truth's 8 + 10 minutes), with no research on top, rather than
    the base scenario's research added to it."""
    world = {**WORLDS["B"], "handling": {**WORLDS["B"]["handling"], "retry_minutes": [120]}}
    inside = 0
    for seed in range(5):
        h = simulate(load_scenario().with_values(world), seed=seed).history()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeadsimWarning)
            sc = fit_scenario(h, h.definition)
        p = sc.provenance.set_index("parameter")
        assert sc.handling.research_minutes == 0 and p.loc["handling.research_minutes", "value"] == 0
        assert "counted in call_minutes" in p.loc["handling.research_minutes", "method"]
        lo, hi = p.loc["handling.call_minutes", ["lo", "hi"]].astype(float)
        inside += lo <= 8 + 10 <= hi
    assert inside >= 4


def test_fit_coverage_counts_the_truth_inside_each_interval():
    """The benchmark's measure (benchmarks/bench_backtest.py --fit-coverage) on two histories: one row per known
    parameter, headcounts held exactly."""
    from leadsim.simulation.truths import fit_coverage

    cov = fit_coverage(WORLDS["B"], runs=2).set_index("parameter")
    assert list(cov.index) == list(known_values(WORLDS["B"]))
    assert (cov["runs"] == 2).all() and cov["covered"].between(0, 2).all()
    assert cov.loc["sdr_headcount", "covered"] == 2 and cov.loc["sdr_headcount", "value"] == 6
    assert cov.loc["arrivals.paid.per_week", "value"] == pytest.approx(120, rel=0.15)
