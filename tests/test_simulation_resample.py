"""Simulated leads drawn from a history (leadsim.simulation.resample), checked against the history itself.

The references are the sample's own tables, read the slow obvious way (a loop over one lead's stage log and
activities, a count of stage visits), not the pool's vectorised code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from leadsim.datasets import load_sample
from leadsim.definition import LeadsimWarning
from leadsim.errors import ScenarioError
from leadsim.simulation import Scenario, load_scenario, simulate
from leadsim.simulation.resample import MIN_WATCHED_DAYS
from leadsim.simulation.scenario import build

START, END = "2025-01-01", "2025-10-01"


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def fitted(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return Scenario.from_history(sample, sample.definition, start=START, end=END)


def test_a_long_history_fits_a_scenario_that_draws_its_leads_from_it(fitted, sample):
    assert fitted.leads == "history"
    pool = fitted.pool
    created = sample.leads.set_index("lead_id")["created_at"]
    born = created.reindex(pool.lead_ids).to_numpy()
    assert (born >= np.datetime64(START)).all()
    assert (born <= np.datetime64(END) - np.timedelta64(MIN_WATCHED_DAYS, "D")).all()
    prov = fitted.provenance.set_index("parameter")
    assert prov.loc["leads.pool", "value"] == len(pool)
    assert {"decisions.qualify_log_odds", "decisions.disqualify_share", "decisions.win_share"} <= set(prov.index)


def _marketing_activity(sample, lead_id: str, until: pd.Timestamp) -> list[tuple[pd.Timedelta, str, object]]:
    """The slow reference: the lead's activities before ``until`` while its last stage row *before* the activity
    was a marketing stage (or there was none yet), as (time since creation, activity, detail)."""
    d = sample.definition
    marketing = set(d.funnel.marketing_stages)
    created = sample.leads.set_index("lead_id").at[lead_id, "created_at"]
    log = sample.stage_log[sample.stage_log["lead_id"] == lead_id].sort_values("at", kind="stable")
    out = []
    for a in sample.activities[sample.activities["lead_id"] == lead_id].itertuples(index=False):
        if a.at >= until or a.at < created - pd.Timedelta(days=1):
            continue
        before = log[log["at"] < a.at]
        if len(before) and before["stage"].iloc[-1] not in marketing:
            continue
        out.append((a.at - created, a.activity, None if pd.isna(a.detail) else a.detail))
    return sorted(out, key=lambda r: (r[0], r[1], str(r[2])))


def test_the_pool_replays_each_leads_behaviour_while_it_sat_in_a_marketing_stage(fitted, sample):
    pool = fitted.pool
    handed = set(sample.outcomes["lead_id"])
    ids = list(pool.lead_ids)
    # some leads handed over (their sales time must be cut out), some never handed over
    chosen = [i for i in ids if i in handed][:6] + [i for i in ids if i not in handed][:3]
    for lead_id in chosen:
        k = ids.index(lead_id)
        rows = np.flatnonzero(pool.act_lead == k)
        got = sorted(((pd.Timedelta(int(pool.act_offset[r]), "ns"), pool.act_vocab[pool.act_code[r]],
                       None if pool.det_code[r] < 0 else pool.det_vocab[pool.det_code[r]]) for r in rows),
                     key=lambda r: (r[0], r[1], str(r[2])))
        assert got == _marketing_activity(sample, lead_id, pd.Timestamp(END)), lead_id


def test_simulated_leads_are_copies_of_pool_leads_of_their_source_with_their_behaviour_shifted(fitted):
    sc = fitted.with_values({"horizon_days": 30})
    run = simulate(sc, seed=3)
    pool = sc.pool
    leads = run.tables["leads"]
    cols = [c for c in pool.attributes.columns if c in leads.columns]
    attrs = pool.attributes[cols].astype("string").fillna("<na>").agg("|".join, axis=1)
    by_source = {s: set(attrs[pool.source == s]) for s in pd.unique(pool.source)}
    mine = leads[cols].astype("string").fillna("<na>").agg("|".join, axis=1)
    for src, a in zip(leads["source"], mine, strict=True):
        assert a in by_source[src]
    # a lead never handed over keeps its pool lead's whole replayed behaviour, shifted to its creation
    handed = set(run.tables["outcomes"]["lead_id"])
    acts = run.tables["activities"]
    checked = 0
    for row in leads.itertuples(index=False):
        if row.lead_id in handed or row.source == "outbound":
            continue
        same = np.flatnonzero((attrs == mine[leads["lead_id"] == row.lead_id].iloc[0]).to_numpy()
                              & (pool.source == row.source))
        mine_t = sorted((acts.loc[acts["lead_id"] == row.lead_id, "at"] - row.created_at).tolist())
        horizon = pd.Timestamp(sc.start) + pd.Timedelta(days=sc.horizon_days) - row.created_at
        options = []
        for k in same:
            off = [pd.Timedelta(int(o), "ns") for o in pool.act_offset[pool.act_lead == k]]
            options.append(sorted(o for o in off if o < horizon and row.created_at + o >= pd.Timestamp(sc.start)))
        assert mine_t in options, row.lead_id
        checked += 1
        if checked == 25:
            break
    assert checked == 25


def test_drawn_leads_hand_over_as_often_as_the_historys_leads_did(fitted, sample):
    """The fit window simulated (from empty, as the history started): the share of new leads handed over at least
    once, against the sample's leads created in the same window (the history is the reference, made by a different
    model).  What happens after the first hand-off is the simulation's own and is not compared here."""
    runs = [simulate(fitted, seed=s).tables for s in (1, 2)]
    sim = np.mean([t["outcomes"]["lead_id"].nunique() / len(t["leads"]) for t in runs])
    t0, t1 = pd.Timestamp(START), pd.Timestamp(END)
    new = sample.leads[(sample.leads["created_at"] >= t0) & (sample.leads["created_at"] < t1)]
    o = sample.outcomes
    handed = o.loc[(o["handed_at"] >= t0) & (o["handed_at"] < t1), "lead_id"].nunique()
    assert sim == pytest.approx(handed / len(new), rel=0.1), (sim, handed / len(new))
    # and as many new leads arrive as the history shows (batch uploads included)
    assert np.mean([len(t["leads"]) for t in runs]) == pytest.approx(len(new), rel=0.1)


def _next_stages(sample, stage: str) -> pd.Series:
    """How the visits of ``stage`` that began and ended inside [START, END) ended: the next stage, visit by visit."""
    log = sample.stage_log.sort_values(["lead_id", "at"], kind="stable")
    ends = []
    for _, g in log.groupby("lead_id", sort=False):
        stages, times = g["stage"].tolist(), g["at"].tolist()
        for i, st in enumerate(stages):
            if st != stage or (i and stages[i - 1] == stage):  # re-assignments inside a visit are the same visit
                continue
            j = i + 1
            while j < len(stages) and stages[j] == stage:
                j += 1
            if j < len(stages) and pd.Timestamp(START) <= times[i] and times[j] < pd.Timestamp(END):
                ends.append(stages[j])
    return pd.Series(ends, dtype=object)


def _declined_next_stages(sample) -> pd.Series:
    """Where the Lead visits that began in [START, END) went when the SDR reached the lead at the first attempt
    and it did not qualify (the slow way): one touch in the window between entering and leaving the stage, and the
    next stage no Sales Lead."""
    d = sample.definition
    t0, t1 = pd.Timestamp(START), pd.Timestamp(END)
    touches = sample.touches[(sample.touches["at"] >= t0) & (sample.touches["at"] < t1)]
    by_lead = dict(tuple(touches.groupby("lead_id")["at"]))
    log = sample.stage_log[sample.stage_log["at"] < t1].sort_values(["lead_id", "at"], kind="stable")
    ends = []
    for lead_id, g in log.groupby("lead_id", sort=False):
        stages, times = g["stage"].tolist(), g["at"].tolist()
        for i, st in enumerate(stages):
            if st != d.funnel.milestones.mql or (i and stages[i - 1] == st) or times[i] < t0:
                continue
            j = i + 1
            while j < len(stages) and stages[j] == st:
                j += 1
            if j == len(stages):
                continue  # still there
            at = by_lead.get(lead_id, pd.Series(dtype="datetime64[ns]"))
            n = int(((at >= times[i]) & (at < times[j])).sum())
            if n == 1 and stages[j] != d.funnel.milestones.sql:
                ends.append(stages[j])
    return pd.Series(ends, dtype=object)


def test_decisions_are_the_shares_the_stage_log_shows(fitted, sample):
    d = sample.definition
    ms = d.funnel.milestones
    declined = _declined_next_stages(sample)
    assert len(declined) > 100
    share = (declined == d.funnel.disqualify.to).mean()
    assert fitted.decisions.disqualify_share == pytest.approx(share, abs=1e-9)
    sales = _next_stages(sample, ms.sql).value_counts()
    assert fitted.decisions.opportunity_share == pytest.approx(sales.get(ms.opportunity, 0) / sales.sum(), abs=1e-9)
    opp = _next_stages(sample, ms.opportunity).value_counts()
    assert fitted.decisions.win_share == pytest.approx(opp.get(ms.won, 0) / opp.sum(), abs=1e-9)


def test_a_scenario_read_back_from_yaml_has_no_pool_and_says_how_to_get_one(fitted, tmp_path):
    path = tmp_path / "fitted.yaml"
    path.write_text(fitted.to_yaml(), encoding="utf-8")
    again = load_scenario(path)
    assert again.leads == "history" and again.decisions == fitted.decisions
    with pytest.raises(ScenarioError, match="from_history"):
        simulate(again.with_values({"horizon_days": 2}), seed=1)
    # what a worker process gets carries it, and the same seed gives the same run
    moved = build(fitted.portable())
    assert moved.pool is fitted.pool
    a = simulate(moved.with_values({"horizon_days": 10}), seed=5).kpis
    b = simulate(fitted.with_values({"horizon_days": 10}), seed=5).kpis
    pd.testing.assert_series_equal(a, b)


def test_a_short_window_keeps_the_generator_and_says_why(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        sc = Scenario.from_history(sample, sample.definition, start="2026-01-05", end="2026-02-02")
    assert sc.leads == "generator"
    prov = sc.provenance.set_index("parameter")
    row = prov.loc["leads.pool"]
    assert row["value"] == 0 and "generator" in row["method"]
    # what happens after a hand-off is fitted all the same, and applies to the generator's leads
    assert sc.decisions is not None
    assert sc.decisions.disqualify_share == pytest.approx(prov.loc["decisions.disqualify_share", "value"])


def test_leads_history_without_decisions_is_refused():
    data = load_scenario().model_dump(mode="json")
    data["leads"] = "history"
    with pytest.raises(ScenarioError, match="decisions"):
        build(data)


def _qualify_world(seed: int, n: int = 3_000):
    """Hand-offs reached at the first attempt, qualified by a known logistic: 0.4 log-odds at the fit score 45 and
    the default curve's baseline, 0.03 a point, plus the log of the curve's multiplier at the delay."""
    from leadsim.simulation.curves import ResponseCurve

    rng = np.random.default_rng(seed)
    curve = ResponseCurve.preset("default")
    delay = rng.exponential(120.0, n)
    fit = rng.normal(45.0, 12.0, n)
    offset = np.log([curve.qualification_multiplier(x) for x in delay])
    y = rng.random(n) < 1 / (1 + np.exp(-(0.4 + 0.03 * (fit - 45.0) + offset)))
    ho = pd.DataFrame({"contact": pd.array([True] * n, dtype="boolean"), "qualified": pd.array(y, dtype="boolean"),
                       "delay_minutes": delay, "left_to": pd.array([None] * n, dtype=object)})
    return ho, fit, offset, y, curve


def test_the_chance_to_qualify_is_fitted_with_the_curve_as_offset_as_statsmodels_fits_it():
    """The qualify fit against statsmodels' GLM (binomial, the log of the curve's multiplier at each delay as the
    offset): the same coefficients and standard errors; over 40 known worlds the truth inside the intervals."""
    import statsmodels.api as sm

    from leadsim import load_definition
    from leadsim.simulation.resample import fit_decisions

    d = load_definition()
    ho, fit, offset, y, curve = _qualify_world(7)
    dec, rows = fit_decisions(ho, fit, {}, d, curve=curve)
    ref = sm.GLM(y.astype(float), np.c_[np.ones(len(y)), fit - fit.mean()], family=sm.families.Binomial(),
                 offset=offset).fit()
    assert dec["qualify_center"] == pytest.approx(fit.mean())
    assert dec["qualify_log_odds"] == pytest.approx(ref.params[0], abs=1e-5)
    assert dec["qualify_per_point"] == pytest.approx(ref.params[1], abs=1e-6)
    prov = pd.DataFrame(rows).set_index("parameter")
    for j, name in enumerate(("qualify_log_odds", "qualify_per_point")):
        lo, hi = prov.loc[f"decisions.{name}", ["lo", "hi"]]
        assert (hi - lo) / 3.92 == pytest.approx(ref.bse[j], rel=1e-3)
    inside = []
    for seed in range(40):
        ho, fit, *_ = _qualify_world(seed)
        _, rows = fit_decisions(ho, fit, {}, d, curve=curve)
        prov = pd.DataFrame(rows).set_index("parameter")
        truth = {"qualify_log_odds": 0.4 + 0.03 * (fit.mean() - 45.0), "qualify_per_point": 0.03}
        inside.append([prov.loc[f"decisions.{k}", "lo"] < v < prov.loc[f"decisions.{k}", "hi"]
                       for k, v in truth.items()])
    assert (np.mean(inside, axis=0) >= 0.85).all(), np.mean(inside, axis=0)  # 95 % intervals


def test_fitted_decisions_hold_for_every_lead_the_generator_makes():
    """With fitted decisions that never disqualify and always convert, no simulated lead is disqualified after a
    hand-off and every decided Sales Lead becomes an Opportunity -- the generator's students and competitors (whom its
    own rules always disqualify) included: the fitted shares already hold them."""
    sc = load_scenario().with_values({"horizon_days": 28, "decisions": {
        "qualify_log_odds": 1.0, "disqualify_share": 0.0, "opportunity_share": 1.0, "sales_disqualify_share": 0.0,
        "win_share": 0.5}})
    run = simulate(sc, seed=3)
    d = sc.lead_definition
    ms = d.funnel.milestones
    log = run.stage_log.sort_values(["lead_id", "at"], kind="stable")
    prev = log.groupby("lead_id")["stage"].shift(1)
    moved = log[prev.notna()].assign(prev=prev)
    out_of_sales = moved[moved["prev"].isin([ms.mql, ms.sql]) & (moved["stage"] != moved["prev"])]
    assert len(out_of_sales) > 50
    assert not (out_of_sales["stage"] == d.funnel.disqualify.to).any()
    decided = out_of_sales[out_of_sales["prev"] == ms.sql]
    assert len(decided) > 5 and (decided["stage"] == ms.opportunity).all()
    # the generator did make leads its own rules would disqualify: the reasons say so where they ask
    with_own = simulate(sc.with_values({"decisions": None}), seed=3).stage_log
    assert with_own["reason"].isin(d.reason_ids(["student", "competitor"], exit="disqualify")).any()
