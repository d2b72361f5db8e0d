"""The main job: the whole workbench on one history, as one report.

``leadsim demo`` (or :func:`run_demo`) loads a definition and a history — the
embedded sample by default, or a user's files — and runs every step: scoring,
the funnel, the SLA audit, a short simulation with a small SLA what-if sweep,
the calibration on sales outcomes, and the 100-companies agreement check.  It
writes ``leadsim-report/`` with a self-contained ``index.html`` (figures
embedded), every figure as PNG, and the results as JSON and CSV.

Each step is a function ``step_<name>(ctx, report)`` so notebooks and scripts
can run one at a time; :data:`STEPS` lists them in order.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from leadsim.definition import LeadDefinition, LeadsimWarning, load_definition
from leadsim.definition_tables import definition_tables
from leadsim.errors import DataError, DefinitionError, InputFileError
from leadsim.report import Report, check_replaceable

#: ``run_demo`` keywords that name input files (protected from ``--force``).
_INPUTS = ("definition", "leads", "activities", "outcomes", "stage_log", "touches", "owners", "mapping")

__all__ = ["STEPS", "DemoContext", "load_context", "run_demo"]


@dataclass
class DemoContext:
    """What every step reads: the definition, the six tables and the scoring moment."""

    definition: LeadDefinition
    leads: pd.DataFrame
    activities: pd.DataFrame
    stage_log: pd.DataFrame | None = None
    touches: pd.DataFrame | None = None
    owners: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    as_of: pd.Timestamp | None = None
    seed: int = 7
    quick: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    #: where the history came from; not the embedded sample: the steps speak of the user's own data
    origin: str = "the embedded sample"
    own_data: bool = False

    def __post_init__(self) -> None:
        if self.as_of is None:
            self.as_of = pd.Timestamp(self.activities["at"].max()) if len(self.activities) else pd.Timestamp.now()


#: The demo's definition unless told otherwise: the embedded sample's (``load_definition("default")``).
SAMPLE_DEFINITION = "default"


def load_context(
    definition: str | os.PathLike[str] | LeadDefinition = SAMPLE_DEFINITION,
    leads: str | os.PathLike[str] | None = None,
    activities: str | os.PathLike[str] | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    stage_log: str | os.PathLike[str] | None = None,
    touches: str | os.PathLike[str] | None = None,
    owners: str | os.PathLike[str] | None = None,
    mapping: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> DemoContext:
    """The embedded sample, or the user's files (read with schema checks).

    ``definition`` is a :class:`LeadDefinition`, a YAML path or a name
    :func:`~leadsim.definition.load_definition` knows; the demo is an entry
    point, so it names the sample definition (``"default"``) as its default
    and passes it on explicitly: the library functions it calls take the
    definition as a required argument.
    """
    if definition is None:
        raise DefinitionError("no lead definition: pass a LeadDefinition, a YAML path or 'default' (the sample's)",
                              where="demo")
    d = definition if isinstance(definition, LeadDefinition) else load_definition(definition)
    if leads is None and activities is None:
        from leadsim.datasets import load_sample

        s = load_sample()
        return DemoContext(d, s.leads, s.activities, s.stage_log, s.touches, s.owners,
                           s.outcomes, **kwargs)
    if leads is None or activities is None:
        raise InputFileError("give both --leads and --activities (or neither, for the embedded sample)",
                             where="demo")
    from leadsim.io import load_mapping, read_table

    m = load_mapping(mapping, d) if mapping is not None else None
    tables = {"leads": leads, "activities": activities, "outcomes": outcomes, "stage_log": stage_log,
              "touches": touches, "owners": owners}
    read = {k: (read_table(v, k, d, mapping=m) if v is not None else None) for k, v in tables.items()}
    return DemoContext(d, read["leads"], read["activities"], read["stage_log"], read["touches"], read["owners"],
                       read["outcomes"], **kwargs)


# --------------------------------------------------------------------------- steps


def _two_panels(rep: Report, name: str, title: str, left: Callable[[Any], Any], right: Callable[[Any], Any]) -> None:
    """A figure of two panels side by side, drawn by ``left(ax)`` and ``right(ax)``, into the report."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    left(axes[0])
    right(axes[1])
    rep.figure(name, fig, title=title)


def step_definition(ctx: DemoContext, rep: Report) -> None:
    d = ctx.definition
    rep.section("The lead definition",
                f"{d.name}, version {d.version}, agreed by {d.agreed_by.marketing} and {d.agreed_by.sales} "
                f"on {d.agreed_by.date}. MQL threshold {d.thresholds.mql:g}; {len(d.fit_rules)} fit rules, "
                f"{len(d.bant)} BANT facts, {len(d.behaviour_rules)} behaviour rules, {len(d.hot_triggers)} hot "
                f"triggers, {len(d.sla.clocks)} SLA clocks.")
    parts = definition_tables(d)
    rep.table("definition_rules", parts["fit and BANT rules"], title="Fit and BANT rules", max_rows=60)
    rep.table("definition_behaviour", parts["behaviour rules"], title="Behaviour rules", max_rows=60)
    rep.table("definition_funnel", parts["funnel"], title="Funnel stages and moves")
    rep.table("definition_sla", parts["SLA clocks"], title="SLA clocks")


def step_score(ctx: DemoContext, rep: Report) -> None:
    import matplotlib.pyplot as plt

    from leadsim.plots.scoring import plot_grade_engagement, plot_score_distribution
    from leadsim.points import sort_table
    from leadsim.scoring import contributions, explain, score
    from leadsim.scoring.states import MQL_STATES, mqls_now

    d = ctx.definition
    scores = score(ctx.leads, ctx.activities, d, as_of=ctx.as_of, stage_log=ctx.stage_log)
    parts = contributions(ctx.leads, ctx.activities, d, as_of=ctx.as_of, stage_log=ctx.stage_log)
    ctx.results["scores"], ctx.results["contributions"] = scores, parts
    n_mql = mqls_now(scores)
    n_hot = int((scores["is_hot"] & scores["mql_state"].isin(["mql", "unknown"])).sum())
    where = ("in an open marketing stage, waiting for hand-off" if ctx.stage_log is not None else
             "stage unknown without a stage log: some may be handed over or closed already")
    rep.section("Scoring", f"{len(scores):,} leads scored as of {ctx.as_of:%Y-%m-%d %H:%M}: {n_mql:,} are MQLs "
                f"now ({where}; score at or over {d.thresholds.mql:g} or a hot trigger, past the definition's "
                f"gates), {n_hot:,} of them hot; {int(scores['held_by'].notna().sum()):,} held back by a gate.")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    plot_score_distribution(scores, mql=d.thresholds.mql, grades=list(d.thresholds.fit_grades), ax=axes[0])
    plot_grade_engagement(scores, grades=list(d.thresholds.fit_grades), engagement=list(d.thresholds.engagement),
                          ax=axes[1])
    rep.figure("scores", fig, title="Scores by grade; fit grade x engagement")
    top = sort_table(scores, ["priority", "score"], ascending=False, ties="lead_id").head(15).reset_index()
    rep.table("scores", scores.reset_index(), title="Top leads by priority and score (all leads in scores.csv)",
              show=top)
    best = top["lead_id"].iloc[0]
    rep.table("explain_top_lead", explain(parts, d, lead_id=best), title=f"Why {best} scores highest", save=False)
    states = (pd.crosstab(scores["mql_state"], scores["held_by"].fillna("-"))
              .reindex([s for s in MQL_STATES if s in set(scores["mql_state"])]))
    rep.table("mql_states", states.reset_index(), title="Leads per MQL state (rows) and the gate check that held "
              "them back (columns; - none)")
    rep.data("scoring_summary", {"as_of": ctx.as_of, "leads": len(scores), "mql": n_mql, "hot": n_hot,
                                 "states": scores["mql_state"].value_counts().sort_index(kind="stable").to_dict(),
                                 "held_back": scores["held_by"].value_counts().sort_index(kind="stable").to_dict(),
                                 "grades": scores["grade"].value_counts().sort_index(kind="stable").to_dict()})


def step_funnel(ctx: DemoContext, rep: Report) -> None:

    from leadsim.exits import reason_breakdown
    from leadsim.funnel import velocity, waterfall
    from leadsim.plots.funnel import plot_time_in_stage, plot_waterfall

    if ctx.stage_log is None:
        rep.section("Funnel", "No stage log given: the funnel needs one (--stage-log).")
        return
    d = ctx.definition
    wf = waterfall(ctx.stage_log, d)
    vel = velocity(ctx.stage_log, d)
    by_source = waterfall(ctx.stage_log, d, by="source", leads=ctx.leads) if "source" in ctx.leads else None
    ctx.results["waterfall"], ctx.results["velocity"] = wf, vel
    rep.section("Funnel", "How the leads went down the funnel (conversion from the previous stage), and how long "
                "they stayed in each stage; recycled loops are counted as their own visits.")
    _two_panels(rep, "funnel", "Waterfall and time in stage", lambda ax: plot_waterfall(wf, ax=ax),
                lambda ax: plot_time_in_stage(vel, ax=ax))
    rep.table("waterfall", wf.stages, title="Waterfall")
    rep.table("funnel_exits", wf.exits, title="Recycled, disqualified, lost")
    reasons = reason_breakdown(ctx.stage_log, d)
    ctx.results["exit_reasons"] = reasons
    rep.table("funnel_exit_reasons", reasons, title="Why leads left: recycles, disqualifications and losses by "
              "reason (share of the exits from that stage)", max_rows=40)
    if by_source is not None:
        rep.table("waterfall_by_source", by_source.stages, title="Waterfall by source", max_rows=60)
    rep.table("velocity", vel, title="Velocity (days)")


def step_sla(ctx: DemoContext, rep: Report) -> None:
    import matplotlib.pyplot as plt

    from leadsim.calendars import provenance_table
    from leadsim.plots.funnel import plot_sla_breach
    from leadsim.sla import audit

    if ctx.stage_log is None:
        rep.section("SLA audit", "No stage log given: the SLA audit needs one (--stage-log, --touches).")
        return
    res = audit(ctx.stage_log, ctx.touches, ctx.definition, owners=ctx.owners, leads=ctx.leads,
                scores=ctx.results.get("scores"))
    ctx.results["audit"] = res
    s = res.summary
    rep.section("SLA audit", f"{s['n_handoffs']:,} hand-offs replayed against the definition's clocks: "
                f"{s['n_alerts']:,} alerts would have fired. Breach rate = share of hand-offs whose level came "
                "due before the owner acted.")
    fig, ax = plt.subplots(figsize=(9, 4))
    plot_sla_breach(s["levels"], ax=ax)
    rep.figure("sla_breach", fig, title="Breach rate per SLA level")
    rep.table("sla_levels", s["levels"], title="Per clock and level")
    rep.table("sla_first_touch", s["time_to_first_touch"], title="Time to first touch (working hours)")
    rep.table("sla_escalations_by_owner", s["escalations_by_owner"], title="Escalations per owner")
    rep.table("sla_exits", s["exits"], title="How clocked hand-offs left the stage, by reason (alerted: any level "
              "fired; last_level: the last one did)", max_rows=40)
    rep.table("sla_alerts", res.alerts, title="Alerts (first rows)", max_rows=10)
    rep.table("sla_calendars", provenance_table(s["calendars"]),
              title="Calendars the clocks ran on: zone, hours, public holidays from the holidays package "
              "(its version) and the days off in the audited span")
    rep.data("sla_summary", dict(s.items()))


#: The demo's what-if sweep: SDR headcount x the SDR's first-touch window (working minutes).
WINDOW_KEY = "definition.sla.clocks.response.levels.1.offset"
BREACH_KPI = "breach_rate.response.1"


def _history_end(ctx: DemoContext) -> pd.Timestamp:
    """The day after the history's scoring moment: where the back-test and the fitted what-if end."""
    return pd.Timestamp(ctx.as_of).normalize() + pd.Timedelta(days=1)


def _history(ctx: DemoContext) -> dict[str, pd.DataFrame]:
    return {k: v for k, v in {"leads": ctx.leads, "activities": ctx.activities, "stage_log": ctx.stage_log,
                              "touches": ctx.touches, "owners": ctx.owners}.items() if v is not None}


def _backtest_section(ctx: DemoContext, rep: Report) -> None:
    """The what-if starts from the back-test: does a scenario fitted to the past reproduce what came next?"""
    from leadsim.errors import LeadsimError
    from leadsim.simulation.backtest import backtest

    tables = _history(ctx)
    if "stage_log" not in tables:
        return
    end = _history_end(ctx)
    fit_weeks, ahead_weeks = (4, 2) if ctx.quick else (8, 4)
    fit_until = end - pd.Timedelta(weeks=ahead_weeks)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeadsimWarning)
            bt = backtest(tables, ctx.definition, start=fit_until - pd.Timedelta(weeks=fit_weeks), fit_until=fit_until,
                          until=end, replications=4 if ctx.quick else 10, seed=ctx.seed)
    except LeadsimError as err:
        rep.section("Back-test", f"The simulation cannot be checked against {ctx.origin}: {err.message}.")
        return
    ctx.results["backtest"] = bt
    t = bt.table
    outside = ", ".join(t.loc[~t["inside"], "metric"])
    rep.section("Back-test: does the simulation reproduce the past?",
                f"A scenario fitted to {fit_weeks} weeks of {ctx.origin} simulated the {ahead_weeks} weeks that came "
                f"next; {int(t['inside'].sum())} of {len(t)} measures of what happened fall inside the simulated "
                f"95% prediction intervals ({bt.method}). Outside: {outside or 'none'}. What the model leaves out "
                "explains some of these: new leads come from leadsim's lead generator, not from your history; the "
                "SDR's and rep's decision chances are the scenario's, not your stage shares; a trend in arrivals is "
                "not simulated. Read the what-if below in that light.")
    rep.figure("backtest", bt.plot().figure, title="What happened against the simulated prediction intervals")
    rep.table("backtest", t, title="Back-test", max_rows=40)


def _fitted_scenario(ctx: DemoContext, days: int) -> tuple[Any, str | None]:
    """The scenario fitted to the last ``days`` of the user's history, or (None, why not)."""
    from leadsim.errors import LeadsimError
    from leadsim.simulation.fitting import fit_scenario

    tables = _history(ctx)
    if "stage_log" not in tables:
        return None, "no stage log"
    end = _history_end(ctx)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeadsimWarning)
            return fit_scenario(tables, ctx.definition, start=end - pd.Timedelta(days=days), end=end), None
    except LeadsimError as err:
        return None, err.message


def step_simulate(ctx: DemoContext, rep: Report) -> None:
    import matplotlib.pyplot as plt

    from leadsim.plots.simulation import breach_heatmap, kpi_vs_parameter, queue_over_time
    from leadsim.simulation import load_scenario, simulate, sweep
    from leadsim.simulation.advice import recommend
    from leadsim.simulation.fitting import headline
    from leadsim.simulation.replication import MIN_REPLICATIONS

    _backtest_section(ctx, rep)
    horizon = 14 if ctx.quick else 28
    scenario = load_scenario().with_values({"horizon_days": horizon, "definition": ctx.definition.to_dict()})
    what = "the sample scenario"
    if ctx.own_data:
        fitted, why = _fitted_scenario(ctx, horizon)
        if fitted is not None:
            scenario = fitted
            what = f"the scenario fitted to {ctx.origin}"
            prov = scenario.provenance
            rep.section("Simulation fitted to your history",
                        f"This what-if runs a scenario fitted to the last weeks of {ctx.origin}: arrivals, team sizes, "
                        "shift hours, handling times and the response curve, each with where it came from and its "
                        f"95% interval ({len(prov)} figures in the table below).")
            rep.table("fitted_scenario", headline(prov),
                      title="Fitted figures and where they came from", max_rows=40)
        else:
            rep.section("Simulation on the sample scenario",
                        f"This what-if runs leadsim's sample scenario (its arrivals, team sizes and response curve) "
                        f"with your definition: {ctx.origin} cannot be fitted ({why}). Read it as what your "
                        "definition's SLA windows do to a typical flow, not as a forecast of yours.")
    run = simulate(scenario, seed=ctx.seed)
    ctx.results["simulation"] = run
    k = run.kpis
    clock = next((c for c in scenario.lead_definition.sla.clocks if c.id == "response" and len(c.levels) > 1), None)
    if clock is None:
        rep.section("Simulation", "The definition has no 'response' clock with a first-touch level to simulate; "
                    "add one (see data/definition.yaml) to try SLA windows.")
        return
    window = clock.levels[1].offset
    rep.section("Simulation: the current process",
                f"{scenario.horizon_days:g} simulated days of {what} ({scenario.sdr_headcount} SDRs, "
                f"{scenario.rep_headcount} sales reps, routing {scenario.routing}, response curve "
                f"{run.curve!r}): {k['handoffs_per_week']:.0f} hand-offs a week, Lead -> Sales Lead "
                f"{k['lead_to_sales_lead']:.0%}, median first response {k['response_minutes_p50']:.0f} working "
                f"minutes, {k[BREACH_KPI]:.0%} of leads not called within the {window:g}-minute window.")
    fig, ax = plt.subplots(figsize=(11, 4))
    queue_over_time(run, ax=ax)
    rep.figure("simulation_queue", fig, title="Queue and utilisation over time")
    rep.table("simulation_kpis", k.rename("value").to_frame().reset_index(names="kpi"), title="KPIs of the run",
              max_rows=40)

    c = scenario.sdr_headcount
    headcounts = sorted({max(c - 2, 1), max(c - 1, 1), c})  # can the team do with fewer SDRs?
    grid = {"sdr_headcount": headcounts, WINDOW_KEY: sorted({15.0, float(window)})}
    replications = 4 if ctx.quick else MIN_REPLICATIONS
    sw = sweep(scenario.with_values({"horizon_days": 14 if ctx.quick else 21}), grid, replications=replications,
               seed=ctx.seed, progress=False, baseline={"sdr_headcount": c, WINDOW_KEY: float(window)})
    advice = recommend(sw, cost="sdr_headcount", breach_kpi=BREACH_KPI, max_breach=0.10)
    ctx.results["sweep"], ctx.results["recommendation"] = sw, advice
    rep.section("SLA what-if: SDR headcount x first-touch window",
                f"Every combination of {headcounts} SDRs and a first-touch window of {grid[WINDOW_KEY]} minutes "
                f"against the current setting ({c} SDRs, {window:g} minutes). {sw.attrs['method'][0].upper()}"
                f"{sw.attrs['method'][1:]}.")
    rep.text(advice.text, note=True)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
    kpi_vs_parameter(sw, "sdr_headcount", BREACH_KPI, by=WINDOW_KEY, ax=axes[0])
    kpi_vs_parameter(sw, "sdr_headcount", "lead_to_sales_lead", by=WINDOW_KEY, ax=axes[1])
    breach_heatmap(sw, "sdr_headcount", WINDOW_KEY, BREACH_KPI, ax=axes[2])
    fig.tight_layout()
    rep.figure("sla_what_if", fig, title="Breach rate and Lead -> Sales Lead rate by setting")
    rep.table("sla_what_if", advice.table, title="Settings compared")
    rep.table("sweep", sw, title="All KPIs of the sweep", max_rows=12)
    rep.data("simulation", {"curve": run.curve, "kpis": k, "recommendation": advice.text, "choice": advice.choice})


def step_calibrate(ctx: DemoContext, rep: Report) -> None:
    import matplotlib.pyplot as plt

    from leadsim.calibration import calibrate, diff_markdown
    from leadsim.plots.calibration import plot_gain, plot_points, plot_reliability, plot_volume_precision

    if ctx.outcomes is None and ctx.stage_log is None:
        rep.section("Calibration", "No outcomes and no stage log given: calibration learns from the sales "
                    "feedback (--outcomes, or a stage log and touches to derive it from).")
        return
    tables = {"leads": ctx.leads, "activities": ctx.activities, "outcomes": ctx.outcomes,
              "stage_log": ctx.stage_log, "touches": ctx.touches}
    try:
        cal = calibrate({k: v for k, v in tables.items() if v is not None}, ctx.definition, seed=ctx.seed,
                        discover=True)
    except DataError as err:  # below the data floor: say so and go on with the other steps
        rep.section("Calibration", f"Not run on {ctx.origin}: {err.message}")
        return
    ctx.results["calibration"] = cal
    r = cal.report
    m = r.metrics
    rates = r.rates
    text = (f"A regularised logistic model on {len(cal.features):,} labelled hand-offs "
            f"({int(cal.features.y.sum()):,} SQLs), validated on the newest hand-offs. ROC AUC on the held-out "
            f"hand-offs: current definition {m.loc['current definition', 'roc_auc']:.3f}, revised definition "
            f"{m.loc['revised definition', 'roc_auc']:.3f} (as scored), the model on the same rules "
            f"{m.loc['rule-feature model', 'roc_auc']:.3f}, gradient boosting on them "
            f"{m.loc['gradient boosting', 'roc_auc']:.3f}, with response delay and owner as controls "
            f"{m.loc['model with controls', 'roc_auc']:.3f} (controls never become points). "
            f"The revised definition keeps the MQL threshold at {r.scorecard.threshold:g} points; criteria discovery "
            f"proposes {int((r.proposals['change'] == 'new').sum())} new rule(s) or gate value(s) and drops "
            f"{int((r.proposals['change'] == 'dropped').sum())} rule(s) that add nothing (below, with their evidence). "
            f"Lead -> Sales Lead rate: {rates.loc['current', 'lead_to_sales_lead']:.1%} now, "
            f"{rates.loc['proposed', 'lead_to_sales_lead']:.1%} proposed.")
    rep.section("Calibration on sales outcomes", text)
    for note in cal.notes:
        rep.text(note, note=True)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    plot_reliability(r, ax=axes[0, 0])
    plot_gain(r, ax=axes[0, 1])
    plot_volume_precision(r, ax=axes[1, 0])
    plot_points(r, ax=axes[1, 1])
    fig.tight_layout()
    rep.figure("calibration", fig, title="Reliability, gain, volume vs precision, proposed points")
    rep.table("calibration_metrics", m, title="Held-out metrics, side by side", index=True)
    if r.by_grade is not None:
        rep.table("calibration_by_grade", r.by_grade, title="Reliability of the predicted chance by grade")
    shown = r.proposals[r.proposals["change"] != "not proposed"]
    rep.table("calibration_proposals", shown, max_rows=60,
              title="Criteria discovery: each rule and gate value with its support, SQL rate, odds ratio (95 % "
                    "interval) and the cross-validated ROC AUC it adds")
    if len(r.leakage):
        rep.table("calibration_leakage", r.leakage, title="Leakage guard: columns left out because they know the outcome")
    rep.table("calibration_diff", cal.diff, title=f"What changes: version {cal.previous.version} -> "
              f"{cal.definition.version}", max_rows=60)
    rep.attach("definition.revised.yaml", cal.definition.to_yaml())
    rep.attach("definition.diff.md", diff_markdown(cal.previous, cal.definition))
    rep.text("The revised definition is saved beside this page as definition.revised.yaml "
             "(and the diff as definition.diff.md), ready for both teams to review and sign.", note=True)
    rep.data("calibration", r.to_dict() | {"notes": cal.notes})


def step_exercise(ctx: DemoContext, rep: Report) -> None:

    from leadsim._resources import data_path
    from leadsim.exercise import compare, read_key, read_verdicts
    from leadsim.plots.exercise import plot_agreement_matrix, plot_scores_by_verdict

    if ctx.own_data:
        _blank_worksheets(ctx, rep)
        return
    key = read_key(data_path("exercise/key.csv"))
    verdicts = {name: read_verdicts(data_path(f"exercise/{name}.xlsx"), key=key, definition=ctx.definition)
                for name in ("marketing", "sales")}
    r = compare(verdicts, ctx.definition, key=key)
    ctx.results["exercise"] = r
    rep.section("The 100-companies exercise",
                "The heads of marketing and sales each qualified the same companies by hand (the filled sample "
                "worksheets in data/exercise); the definition's verdict is a third reviewer. Kappa corrects "
                "agreement for chance; its 95% interval is the Fleiss-Cohen-Everitt large-sample one (statsmodels). "
                "Gwet's AC1 and Krippendorff's alpha stand beside it, each with an interval.")
    _two_panels(rep, "exercise", "Agreement matrix; the definition's score by the heads' verdicts",
                lambda ax: plot_agreement_matrix(r, ax=ax), lambda ax: plot_scores_by_verdict(r, ax=ax))
    rep.table("exercise_pairs", r.pairs, title="Agreement per pair")
    rep.table("exercise_coefficients", r.coefficients, title="Every coefficient with its interval", max_rows=40)
    for line in [r.precision, *r.notes]:
        if line:
            rep.text(line, note=True)
    rep.table("exercise_weighted", r.weighted, title="Population-weighted agreement")
    rep.table("exercise_suggestions", r.suggestions, title="What separates the heads' good from not", max_rows=10)
    rep.table("exercise_disagreements", r.disagreements, title="Where the heads disagree with the definition",
              max_rows=10)
    rep.data("exercise", r.to_dict())
    _exercise_rounds(ctx, rep, verdicts, key, r)


def _exercise_rounds(ctx: DemoContext, rep: Report, verdicts: dict, key: Any, first: Any) -> None:
    """Two rounds: the heads' verdicts against the definition, then against the definition revised from them."""
    import tempfile
    from types import SimpleNamespace

    from leadsim.exercise import load_rounds, record_round, revision_round, round_table
    from leadsim.exercise.rounds import round_changes

    history = SimpleNamespace(leads=ctx.leads, activities=ctx.activities, stage_log=ctx.stage_log)
    with tempfile.TemporaryDirectory() as tmp:
        record_round(first, ctx.definition, folder=tmp, round=1)
        rev, _ = revision_round(verdicts, key, history, ctx.definition, folder=tmp, round=2, seed=ctx.seed)
        rounds = load_rounds(tmp)
    rep.section("The exercise in rounds",
                "Round 1 compares the heads with the definition; round 2 with the definition revised from their "
                f"disagreement (version {rev.revised.version}). {rev.text} Round 2 reuses the verdicts the edits "
                "were found on, so its agreement with the definition is optimistic; the cross-validated change above "
                "is the honest estimate.")
    rep.table("exercise_revision", pd.DataFrame({"edit": [e.text for e in rev.edits]}), title="Proposed edits")
    rep.table("exercise_rounds", round_table(rounds), title="Agreement by round (95% intervals)")
    for line in round_changes(rounds):
        rep.text(line, note=True)
    rep.attach("definition.exercise-revised.yaml", rev.revised.to_yaml())


def _blank_worksheets(ctx: DemoContext, rep: Report) -> None:
    """For the user's own history: worksheets for their companies, blank for the two heads to fill in."""
    import tempfile
    from types import SimpleNamespace

    from leadsim.exercise import make_exercise

    history = SimpleNamespace(leads=ctx.leads, activities=ctx.activities, stage_log=ctx.stage_log,
                              definition=ctx.definition)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_exercise(history, Path(tmp) / "exercise", n=100, seed=ctx.seed, as_of=ctx.as_of)
        for path in paths.values():
            rep.attach(f"exercise-{Path(path).name}", Path(path).read_bytes())
    rep.section("The 100-companies exercise: your worksheets",
                f"Companies sampled from {ctx.origin} across score bands, written beside this page as "
                "exercise-marketing.xlsx and exercise-sales.xlsx (blank) and exercise-key.csv. Next step: the heads "
                "of marketing and sales each fill in their worksheet without talking to each other; then run "
                "`leadsim exercise compare exercise-marketing.xlsx exercise-sales.xlsx --key exercise-key.csv` "
                "to measure how far they agree with each other and with the definition.")


#: The demo's steps in order: (name, function, what the progress bar says).
STEPS: list[tuple[str, Callable[[DemoContext, Report], None], str]] = [
    ("definition", step_definition, "reading the definition"),
    ("score", step_score, "scoring leads"),
    ("funnel", step_funnel, "funnel waterfall and velocity"),
    ("sla", step_sla, "SLA audit"),
    ("simulate", step_simulate, "simulation and SLA what-if sweep"),
    ("calibrate", step_calibrate, "calibrating on sales outcomes"),
    ("exercise", step_exercise, "100-companies agreement"),
]


def run_demo(
    out: str | os.PathLike[str] = "leadsim-report",
    *,
    force: bool = False,
    progress: bool = True,
    steps: list[str] | None = None,
    **context: Any,
) -> Path:
    """Run every step and write the report folder; returns the path of ``index.html``.

    ``context`` goes to :func:`load_context` (``definition``, ``leads``,
    ``activities``, ``outcomes``, ``stage_log``, ``touches``, ``owners``,
    ``mapping``, ``seed``, ``quick``), or ``ctx`` is a ready :class:`DemoContext`
    (with ``protect``: the input paths the report must never replace).  An
    existing, non-empty ``out`` is only replaced with ``force=True`` — checked
    before any work starts.
    """
    from leadsim._progress import tqdm

    given = context.pop("ctx", None)
    inputs = [v for k, v in context.items()
              if k in _INPUTS and not isinstance(v, LeadDefinition) and v != SAMPLE_DEFINITION]
    inputs += list(context.pop("protect", []))
    check_replaceable(out, force=force, protect=inputs)  # before any work: nothing of the user's is lost
    chosen = [s for s in STEPS if steps is None or s[0] in steps]
    bar = tqdm(total=len(chosen) + 1, desc="leadsim demo", disable=not progress, unit="step")
    bar.set_postfix_str("loading data")
    ctx = given if given is not None else load_context(**context)
    bar.update()
    rep = Report(f"leadsim report — {ctx.definition.name} v{ctx.definition.version}")
    for _name, fn, what in chosen:
        bar.set_postfix_str(what)
        fn(ctx, rep)
        bar.update()
    bar.close()
    return rep.write(out, force=force, protect=inputs)
