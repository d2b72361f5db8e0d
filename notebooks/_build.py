"""Build (and run) the step notebooks from this one reviewable source.

    python notebooks/_build.py              # write every notebook, unexecuted
    python notebooks/_build.py --execute    # write and run them in place (outputs stored for the notebook test)
    python notebooks/_build.py --execute 03 # only the notebooks whose name starts with 03

Each notebook is a list of cells: ``md(...)`` for text, ``code(...)`` for code.
The cells only call ``leadsim``; logic belongs in the package.  Cells whose
first line is ``# KEY FIGURES`` print rounded key figures that the notebook test
(``tests/test_notebooks.py``) compares with the stored output: a change detector.

The leading underscore keeps pytest from collecting this file as a test; the
``__main__`` guard keeps ``--doctest-modules`` from building anything on import.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from textwrap import dedent

HERE = Path(__file__).resolve().parent
CHECK = ("# KEY FIGURES: a change detector; tests/test_notebooks.py compares this output with the stored one.\n"
         "# After a deliberate change: python notebooks/_build.py --execute\n")


def md(text: str) -> tuple[str, str, list[str]]:
    return ("markdown", dedent(text).strip(), [])


def code(text: str, *tags: str) -> tuple[str, str, list[str]]:
    return ("code", dedent(text).strip(), list(tags))


def check(text: str) -> tuple[str, str, list[str]]:
    """A code cell whose output the notebook test compares with the stored one."""
    return ("code", CHECK + dedent(text).strip(), [])


# --------------------------------------------------------------------------- 00

NB00 = [
    md("""
    # 0 · The first hour with your own data

    **What this step answers:** does leadsim read *your* CRM export, what did it
    keep, what did it set aside and why, and what do your funnel and scores look
    like under your definition?

    **How to use it:** export your CRM's standard objects into one folder and
    pick the template of your system: `data/mappings/salesforce.yaml`,
    `hubspot.yaml` or `marketo.yaml` (each says which files to export). Set
    `EXPORT` and `MAPPING` below and run every cell. The parameters point at the
    Salesforce fixture shipped with leadsim, so the notebook runs as it is.

    **How to read the result:** the mapping check shows which export column and
    value feeds each leadsim column, and what is left unmapped (add those values
    to your copy of the template). Rows that break the funnel (an unknown status,
    a move the funnel does not allow, a duplicate, a change before the lead was
    created) are *set aside* with their reason, never silently dropped: kept +
    set aside = read, for every table.

    Same from the command line: `leadsim mapping check --mapping M --export DIR`,
    then `leadsim funnel --mapping M --export DIR --set-aside set_aside.csv`.
    """),
    code("""
    # Parameters
    EXPORT = None         # your export folder; None: the Salesforce fixture shipped with leadsim
    MAPPING = None        # your mapping (a copy of a template); None: data/mappings/salesforce.yaml
    DEFINITION = None     # None: the embedded sample definition; or the path of your YAML file
    """),
    code("""
    %matplotlib inline
    import warnings

    import matplotlib.pyplot as plt

    import leadsim
    from leadsim._resources import data_path
    from leadsim.io.check import check_mapping
    from leadsim.io.export import read_export
    from leadsim.plots.funnel import plot_waterfall
    from leadsim.plots.scoring import plot_score_distribution

    export = EXPORT or data_path("exports/salesforce")
    mapping = MAPPING or data_path("mappings/salesforce.yaml")
    d = leadsim.load_definition(DEFINITION)
    warnings.simplefilter("ignore", leadsim.LeadsimWarning)  # values outside the definition's categories: listed below
    """),
    md("## 1. The mapping check: what each column and value becomes"),
    code("""
    c = check_mapping(export, d, mapping=mapping)
    c.columns
    """),
    code("""
    c.values[c.values["maps_to"].isin(["(unmapped)", "(as is)"])]
    """),
    check("""
    for line in c.summary:
        print(line)
    """),
    md("## 2. The rows set aside, with their reasons"),
    code("""
    ex = read_export(export, d, mapping=mapping)
    ex.set_aside
    """),
    check("""
    for table, n in ex.read.items():
        print(f"{table}: read {n}, kept {ex.kept(table)}, set aside {n - ex.kept(table)}")
    """),
    md("## 3. Your funnel"),
    code("""
    log, leads = ex.tables["stage_log"], ex.tables["leads"]
    wf = leadsim.waterfall(log, d)
    plot_waterfall(wf)
    plt.show()
    wf.stages
    """),
    md("## 4. Your score distribution under the definition"),
    code("""
    acts = ex.tables.get("activities")
    as_of = max(log["at"].max(), leads["created_at"].max())
    scores = leadsim.score(leads, acts, d, as_of=as_of, stage_log=log)
    plot_score_distribution(scores, mql=d.thresholds.mql, grades=list(d.thresholds.fit_grades))
    plt.show()
    """),
    check("""
    print(f"{len(scores)} leads scored as of {as_of:%Y-%m-%d %H:%M}; {int(scores['is_mql'].sum())} at or over "
          f"the MQL threshold {d.thresholds.mql:g}; median score {scores['score'].median():.1f}")
    """),
]


# --------------------------------------------------------------------------- 01

NB01 = [
    md("""
    # 1 · The lead definition

    **What this step answers:** what exactly have marketing and sales agreed on?
    The lead definition is one YAML file, signed by both heads, that says which
    facts and behaviours earn points, when a lead is good enough to hand over
    (the MQL threshold), which behaviours mean *act now* (hot triggers), the
    funnel stages and the hand-off SLA clocks. Every other step reads it.

    **How to read the result:** each table below is one part of the agreement.
    Points add up to a lead's score; a lead at or over the MQL threshold (or with
    a hot trigger) becomes a *Lead* and is handed to an SDR. At the end you see
    the `diff` of two versions: the table the heads sign off when the rules change.
    Loading the file validates it: a typo stops with a message naming the rule
    and the bad value (the last cell shows one).

    Same from the command line: `leadsim definition show`, `leadsim definition diff old.yaml new.yaml`.
    """),
    code("""
    # Parameters
    DEFINITION = None     # None: the embedded sample definition; or the path of your YAML file
    TRANSLATION = "de"    # the same rules with German labels ("de"), or the path of another definition
    NEW_THRESHOLD = 90    # MQL threshold of the proposed version
    RULE = "size_mid"     # a fit rule whose points change in the proposed version
    NEW_POINTS = 15       # its new points
    """),
    code("""
    %matplotlib inline
    import tempfile
    from pathlib import Path

    import pandas as pd

    import leadsim
    from leadsim.definition_tables import definition_tables

    d = leadsim.load_definition(DEFINITION)
    parts = definition_tables(d)
    pd.Series(parts["header"], name="value").to_frame()
    """),
    check("""
    print(f"version {d.version}: MQL threshold {d.thresholds.mql:g}; {len(d.rule_ids)} scoring rules, "
          f"{len(d.hot_triggers)} hot triggers, {len(d.funnel.stages)} stages, {len(d.sla.clocks)} SLA clocks")
    """),
    md("""
    ## Fit and BANT rules
    *Who they are.* Each row is a condition on a lead's record and the points it
    earns (negative points push a lead away). BANT rules (`bant_*`) read the
    Budget, Authority, Need and Timeline facts. Together they make the **fit score**.
    """),
    code('parts["fit and BANT rules"]'),
    md("""
    ## Behaviour rules
    *What they do.* Points per activity; `cap` limits what one rule can add,
    `half_life_days` makes old activity count less (after one half-life an
    activity is worth half), `window_days` forgets it entirely. Together they make
    the **behaviour score**.
    """),
    code('parts["behaviour rules"]'),
    md("""
    ## Hot triggers
    Behaviours that make a lead an MQL *now*, whatever its score, if they happened
    within the window.
    """),
    code('parts["hot triggers"]'),
    md("""
    ## Grades and engagement bands
    The fit score gives a grade (A best), the behaviour score an engagement band
    (1 most engaged): a lead in **A1** fits well and is active.
    """),
    code('parts["grades and engagement bands"]'),
    md("""
    ## Funnel stages
    Each lead is in exactly one stage. `entry` says where a lead may start;
    `moves to` lists the allowed next stages (forward skips and side exits included).
    """),
    code('parts["funnel"]'),
    md("""
    ## SLA clocks
    When a lead enters the watched stage a clock starts; each level is an alert
    (offset in the clock's unit, working time unless wall clock) sent to the listed
    people unless one of the `stop on` events happens first.
    """),
    code('parts["SLA clocks"]'),
    md("""
    ## German labels
    A German team keeps the same rules and calls the stages and alerts in its own
    words. The diff between the two files shows that only words differ.
    """),
    code("""
    de = leadsim.load_definition(TRANSLATION)
    definition_tables(de)["funnel"][["id", "label", "part", "moves to"]]
    """),
    code("""
    words = leadsim.diff(d, de)
    words
    """),
    check("""
    print(f"{len(words)} differences, per section: {words.groupby('section').size().to_dict()}")
    """),
    md("""
    ## Diff of two versions
    A proposed version: a lower MQL threshold and more points for one rule. `bump`
    raises the version and adds a changelog line; the proposal is written to a
    temporary folder and read back (so it is validated like any file), then
    compared. The diff table is what both heads sign off.
    """),
    code("""
    proposed = d.bump(f"MQL threshold {NEW_THRESHOLD:g}; {RULE} worth {NEW_POINTS:g} points", by="Revenue operations")
    proposed.thresholds.mql = NEW_THRESHOLD
    next(r for r in proposed.fit_rules if r.id == RULE).points = NEW_POINTS
    folder = Path(tempfile.mkdtemp(prefix="leadsim-definition-"))
    proposed.to_yaml(folder / "definition-proposed.yaml")
    proposed = leadsim.load_definition(folder / "definition-proposed.yaml")
    proposed.changelog[-1]
    """),
    code("""
    changes = leadsim.diff(d, proposed)
    changes
    """),
    check("""
    print(f"{d.version} -> {proposed.version}: {len(changes)} changes")
    """),
    md("""
    ## A typo is caught on loading
    The same proposal with a misspelt operator (`rnage` instead of `range`): loading
    stops with one message that names the rule and the field.
    """),
    code("""
    (folder / "definition-typo.yaml").write_text(proposed.to_yaml().replace("op: range", "op: rnage", 1))
    """),
    code("""
    %xmode Minimal
    leadsim.load_definition(folder / "definition-typo.yaml")
    """, "raises-exception"),
]


# --------------------------------------------------------------------------- 02

NB02 = [
    md("""
    # 2 · Scoring

    **What this step answers:** what does the definition make of our leads today?
    Every lead gets a **fit score** (who they are: fit and BANT rules) and a
    **behaviour score** (what they did, fading with time); their sum is the
    **score**. A lead at or over the MQL threshold, or with a hot trigger in the
    last days, is an **MQL** when it also passes the definition's **gates**: an
    MQL by score must show buying behaviour and a minimum fit grade, and a hot
    trigger never hands over a competitor, a student or an unsubscribed contact.
    `held_by` names the gate that held a lead back.

    Scoring starts at *Target*: with the stage log, each lead's **stage** and
    **MQL state** say where it stands (`not_scored`, `below`, `mql` = waiting
    for hand-off, `handed_over`, `closed`). "MQLs now", stars and flames count
    the open marketing-stage leads only.

    **How to read the result:**
    * **Grade** (A–D) comes from the fit score, **engagement** (1–4) from the
      behaviour score: A1 leads fit and are active; D4 neither.
    * **Explain** lists the rules that added (+) or took away (−) the most points
      for one lead — the answer to "why is this lead (not) an MQL?".
    * **Stars** (priority, 1–3) rank leads by score against the others: 3 stars
      is the top tier. **Flames** (urgency, 0–3) say how much the behaviour score
      rose recently: 3 flames means *call today*. Together they order an SDR's list.

    Same from the command line: `leadsim score`, `leadsim explain LEAD_ID`.
    """),
    code("""
    # Parameters
    AS_OF = None   # the scoring moment; None: the last activity in the history
    TOP = 10       # how many leads to list
    """),
    code("""
    %matplotlib inline
    import matplotlib.pyplot as plt
    import pandas as pd

    import leadsim
    from leadsim.plots.scoring import plot_grade_engagement, plot_score_distribution

    history = leadsim.load_sample()
    d = history.definition
    as_of = pd.Timestamp(AS_OF) if AS_OF else history.activities["at"].max()
    scores = leadsim.score(history.leads, history.activities, d, as_of=as_of, stage_log=history.stage_log)
    scores.head()
    """),
    check("""
    from leadsim.scoring.states import mqls_now

    print(f"{len(scores):,} leads scored as of {as_of:%Y-%m-%d}: {mqls_now(scores):,} MQLs now, waiting for "
          f"hand-off ({scores['is_hot'].sum():,} hot); mean score {scores['score'].mean():.1f}")
    print("grades:", scores["grade"].value_counts().sort_index().to_dict())
    """),
    md("""
    ## Where the leads stand
    Leads per MQL state (from the stage log at the scoring moment), and the gate
    checks that held leads back: `mql.min_behaviour` is a lead whose fit and BANT
    reach the threshold without any buying behaviour.
    """),
    code("""
    pd.crosstab(scores["mql_state"], scores["is_mql"], margins=True)
    """),
    check("""
    print(scores["mql_state"].value_counts().sort_index().to_string())
    print(scores["held_by"].value_counts().sort_index().to_string())
    """),
    md("## Distributions by grade and engagement"),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    plot_score_distribution(scores, mql=d.thresholds.mql, grades=d.thresholds.fit_grades, ax=axes[0])
    plot_grade_engagement(scores, ax=axes[1]);
    """),
    md("Share of MQLs in each grade × engagement cell:"),
    code('pd.crosstab(scores["grade"], scores["engagement"], values=scores["is_mql"], aggfunc="mean").round(2)'),
    md("Why the hot leads are hot:"),
    code('scores["hot_reason"].value_counts()'),
    md("""
    ## Explain a few leads
    The points of every rule for every lead (`contributions`) add up to the score
    exactly; `explain` picks each lead's top three pluses and minuses.
    """),
    code("""
    parts = leadsim.contributions(history.leads, history.activities, d, as_of=as_of, stage_log=history.stage_log)
    gap = (parts.sum(axis=1) - scores["score"]).abs().max()
    """),
    check("""
    print(f"largest gap between summed contributions and score: {gap:.6f}")
    """),
    md("The best lead by stars and score:"),
    code("""
    best = scores.sort_values(["priority", "score"], ascending=False).index[0]
    leadsim.explain(parts, d, lead_id=best)
    """),
    md("The highest-scoring lead that is *not* an MQL (a near miss; with `scores`, `explain` adds the gate that "
       "held it back):"),
    code("""
    near_miss = scores.loc[~scores["is_mql"], "score"].idxmax()
    leadsim.explain(parts, d, lead_id=near_miss, scores=scores)
    """),
    md("The lowest-scoring lead:"),
    code("""
    leadsim.explain(parts, d, lead_id=scores["score"].idxmin())
    """),
    md("""
    ## Stars and flames
    Leads per priority (stars, rows) and urgency (flames, columns); then the top of
    an SDR's list: most stars first, then most flames. Only open marketing-stage
    leads are ranked: the others have 0 stars and 0 flames.
    """),
    code('pd.crosstab(scores["priority"], scores["urgency"], margins=True)'),
    check("""
    print(pd.crosstab(scores["priority"], scores["urgency"]).to_string())
    """),
    code("""
    scores.join(history.leads.set_index("lead_id")[["company", "source"]]).sort_values(
        ["priority", "urgency", "score"], ascending=False).head(TOP)
    """),
    md("""
    ## When leads became MQLs
    The moments each lead crossed the threshold or fired a hot trigger (a recycled
    lead can become an MQL again), per month and reason:
    """),
    code("""
    events = leadsim.mql_events(history.leads, history.activities, d, as_of=as_of, stage_log=history.stage_log)
    events.groupby([events["at"].dt.to_period("M"), "reason"]).size().unstack(fill_value=0).T
    """),
    check("""
    print(events["reason"].value_counts().sort_index().to_dict())
    """),
]


# --------------------------------------------------------------------------- 03

NB03 = [
    md("""
    # 3 · Funnel and SLA

    **What this step answers:** how do leads move down the funnel, how long do they
    stay in each stage, and does sales keep the hand-off SLA?

    **How to read the result:**
    * The **waterfall** counts the leads that reached each stage (or a later one)
      and the conversion from the stage before: compare *Name → Lead* and
      *Lead → Sales Lead* with the targets you agreed on. Red bars are exits.
    * **Velocity** is the time leads spent in each stage (median, 80th and 95th
      percentile, in days); recycled leads count each visit.
    * The **SLA audit** replays the definition's clocks over the history: for each
      clock level, of the hand-offs whose alert came due, the share where the
      owner had not acted in time (the *breach rate*). Level 0 is the notice to
      the owner and always fires; the higher levels are the escalations.

    Same from the command line: `leadsim funnel`, `leadsim sla audit`.
    """),
    code("""
    # Parameters
    BY = "source"      # a leads column to split the waterfall by ("source", "region", ...)
    SHOW_ALERTS = 10   # how many alerts to list
    """),
    code("""
    %matplotlib inline
    import leadsim
    from leadsim.plots.funnel import plot_sla_breach, plot_time_in_stage, plot_waterfall

    history = leadsim.load_sample()
    d = history.definition
    wf = leadsim.waterfall(history.stage_log, d)
    wf.stages
    """),
    check("""
    conv = wf.stages.set_index("stage")["conversion"]
    print(f"cohort {wf.stages['cohort'].iloc[0]:,} leads; Name -> Lead {wf.stages.set_index('stage').at['lead', 'share']:.1%}, "
          f"Lead -> Sales Lead {conv['sales_lead']:.1%}, Sales Lead -> Opportunity {conv['opportunity']:.1%}, "
          f"Opportunity -> Customer {conv['customer']:.1%}")
    """),
    code("plot_waterfall(wf);"),
    md("""
    Recycled (sent back to nurturing), disqualified and lost, as shares of the cohort:
    """),
    code("wf.exits"),
    md("""
    Why they left: every recycle, disqualification and loss by its reason from the
    definition's vocabulary (`reasons`), per stage left. *Unspecified* means the
    log gave no reason, *Other* a text the vocabulary does not know (add it as an
    alias).
    """),
    code("""
    reasons = leadsim.reason_breakdown(history.stage_log, d)
    reasons
    """),
    check("""
    print(reasons.groupby("exit", sort=False)["moves"].sum().to_string())
    """),
    md("""
    ## By source
    Conversion from the previous stage, per lead source: which channels bring leads
    that sales accepts?
    """),
    code("""
    by_source = leadsim.waterfall(history.stage_log, d, by=BY, leads=history.leads)
    by_source.stages.pivot(index="stage", columns=BY, values="conversion").reindex(d.funnel.stage_ids).dropna(how="all")
    """),
    md("## Velocity"),
    code("""
    vel = leadsim.velocity(history.stage_log, d)
    vel
    """),
    code("plot_time_in_stage(vel);"),
    check("""
    print(f"median days in Lead {vel.at['lead', 'median_days']:.1f}, in Sales Lead {vel.at['sales_lead', 'median_days']:.1f}")
    """),
    md("""
    ## SLA audit
    Which alerts would have fired under the definition's clocks, and how often each
    level was breached.
    """),
    code("""
    res = leadsim.audit(history.stage_log, history.touches, d, owners=history.owners, leads=history.leads)
    res.summary["handoffs"]
    """),
    code('res.summary["levels"]'),
    check("""
    print(f"{res.summary['n_handoffs']:,} hand-offs, {res.summary['n_alerts']:,} alerts")
    print(res.summary["levels"][["clock", "level", "breach_rate"]].round(2).to_string(index=False))
    """),
    code('plot_sla_breach(res.summary["levels"]);'),
    md("""
    The first alerts, as the owners would have received them:
    """),
    code('res.alerts[["lead_id", "owner", "clock", "level", "due_at", "recipients", "message"]].head(SHOW_ALERTS)'),
    md("""
    Time from hand-off to the owner's first touch (working hours), and who collects
    the escalations (alerts above level 0):
    """),
    code('res.summary["time_to_first_touch"]'),
    code('res.summary["escalations_by_owner"]'),
    md("""
    How the clocked hand-offs left their stage, by reason: *alerted* counts those
    for which any level of the clock fired, *last_level* those that reached its last
    level (leadership informed). Stale Sales Leads recycled as *Not processed in
    time* are the ones the process clock is there for.
    """),
    code('res.summary["exits"]'),
]


# --------------------------------------------------------------------------- 06

NB06 = [
    md("""
    # 6 · The hundred companies

    **What this step answers:** do the heads of marketing and sales agree on what a
    good lead is — with each other, and with the written definition?

    The exercise: both heads take the same list of about 100 companies (one lead
    each) and play each through the qualification process by hand: the stage they
    would put it in (not a fit < Target < Lead < Sales Lead < Opportunity), the
    verdict (*good lead*, *not a lead* or *unsure*), what they know of BANT, the
    reason when it is not a fit, and how sure they are. Then they compare.
    The list is sampled so the borderline cases near the MQL threshold are in it;
    each company keeps a sampling weight so agreement can also be estimated for
    the whole population.

    **How to read the result:**
    * **Kappa** is agreement corrected for chance: 0 is no better than chance,
      above 0.6 is substantial, above 0.8 almost perfect. Its 95 % interval shows
      how sure 100 companies can make you (`leadsim exercise plan` says how many
      you need for a narrower one). **Gwet's AC1** and **Krippendorff's alpha**
      stand beside it, each with an interval; when one answer dominates, kappa can
      be low although the heads rarely differ, and the report says so.
    * The **disagreements** list the companies where a head differs from the
      definition, with the rules behind the definition's score.
    * The **suggestions** name the facts that separate the heads' good from not,
      and whether the definition already weighs them: the agenda of the revision meeting.

    Same from the command line: `leadsim exercise sample`, `leadsim exercise compare`.
    """),
    code("""
    # Parameters
    N_COMPANIES = 100   # size of the list
    SEED = 2026         # the same seed gives the same list
    REVIEWERS = ["marketing", "sales"]   # filled worksheets in data/exercise/<name>.xlsx
    """),
    code("""
    %matplotlib inline
    import matplotlib.pyplot as plt

    import leadsim
    from leadsim._resources import data_path
    from leadsim.exercise import read_key
    from leadsim.plots.exercise import plot_agreement_matrix, plot_scores_by_verdict

    history = leadsim.load_sample()
    d = history.definition
    as_of = history.activities["at"].max()
    scores = leadsim.score(history.leads, history.activities, d, as_of=as_of, stage_log=history.stage_log)
    """),
    md("""
    ## Sample the list
    One lead per company, stratified by score band around the MQL threshold. The
    worksheets the heads get show the facts only — not the score.
    """),
    code("""
    companies = leadsim.sample_companies(history.leads, scores, d, n=N_COMPANIES, seed=SEED,
                                         activities=history.activities, as_of=as_of)
    companies.head()
    """),
    check("""
    print(companies.groupby("band")["weight"].agg(["size", "sum"]).round(1).to_string())
    """),
    md("""
    ## Read the filled worksheets
    The sample ships with two filled worksheets (and the key with each company's
    lead, weight and the definition's verdict). Your own: write them with
    `leadsim.write_worksheet` or `leadsim exercise sample`, hand them out, and read
    them back the same way.
    """),
    code("""
    key = read_key(data_path("exercise/key.csv"))
    verdicts = {name: leadsim.read_verdicts(data_path(f"exercise/{name}.xlsx"), key=key, definition=d)
                for name in REVIEWERS}
    verdicts[REVIEWERS[0]].filter(["stage", "verdict", "budget", "authority", "need", "timeline", "reason",
                                   "confidence"]).head()
    """),
    md("## Agreement"),
    code("""
    report = leadsim.compare(verdicts, d, key=key)
    report.pairs
    """),
    check("""
    print(report.pairs[["a", "b", "n", "agreement", "kappa", "kappa_low", "kappa_high"]].round(2).to_string(index=False))
    """),
    md("Every coefficient with its interval, for the verdict and (where the worksheets carry it) the stage:"),
    code("""
    print(report.precision)
    for note in report.notes:
        print("-", note)
    report.coefficients
    """),
    md("Weighted by the sampling weights: estimates for all companies, not only the 100."),
    code("report.weighted"),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    plot_agreement_matrix(report, ax=axes[0])
    plot_scores_by_verdict(report, ax=axes[1]);
    """),
    md("## Where the heads disagree with the definition"),
    code("report.disagreements.head(10)"),
    md("## What separates good from not — the revision agenda"),
    code("""
    for line in report.suggestions["text"].head(5):
        print("-", line)
    """),
    check("""
    print(report.suggestions[["attribute", "value"]].head(3).to_string(index=False))
    """),
    md("""
    ## From disagreement to a revised definition, in rounds
    Where both heads agree with each other but not with the definition, the
    definition is the odd one out. leadsim finds the rules behind that gap,
    proposes concrete edits (points, a new category or range, the threshold, a
    gate) as a revised definition with its diff, and measures what the edits are
    worth on companies they were not derived from (cross-validation).

    Round 1 compares the heads with the definition; round 2 with the revised one.
    Round 2 reuses the verdicts the edits were found on, so its agreement with the
    definition is optimistic: the cross-validated change is the honest estimate.
    The rounds are kept in a folder of the exercise (`ROUNDS_DIR`; from the command
    line: `leadsim exercise compare ... --round N`).
    """),
    code("""
    import tempfile

    from leadsim.exercise import load_rounds, record_round, revision_round, round_table, rounds_markdown

    ROUNDS_DIR = tempfile.mkdtemp()   # your own exercise: its folder, e.g. "exercise/"
    record_round(report, d, folder=ROUNDS_DIR, round=1)
    revision, report2 = revision_round(verdicts, key, history, d, folder=ROUNDS_DIR, round=2, seed=SEED)
    print(revision.to_markdown())
    revision.gaps.head(5)
    """),
    code("revision.diff"),
    code("""
    rounds = load_rounds(ROUNDS_DIR)
    print(rounds_markdown(rounds))
    """),
    check("""
    print(round_table(rounds)[["round", "version", "a", "b", "kappa", "kappa_low", "kappa_high"]].round(2)
          .to_string(index=False))
    """),
]


# --------------------------------------------------------------------------- 04

NB04 = [
    md("""
    # 4 · SLA what-if

    **What this step answers:** what would more SDRs, or a tighter first-touch SLA,
    do to our hand-offs — before we adopt it? A simulation plays the lead flow of
    the sample scenario minute by minute on the business calendar: leads arrive
    and act, the definition scores them, MQLs queue for SDRs who work shifts and
    call (a call may fail and is retried), reached leads qualify with a chance
    that falls the longer they waited, Sales Leads go to reps, and the SLA clocks
    fire their alerts. Changing the headcount or the SLA window changes what the
    SDRs do first (routing is *earliest SLA deadline first*), not only how many
    alerts fire.

    **How to read the result:**
    * The **current process** is one run of the scenario as it is: KPIs, queues
      and utilisation; its simulated history runs through the same funnel and SLA
      reports as real data.
    * The **sweep** runs every combination of SDR headcount and first-touch window
      several times (*replications*, each with its own random seed, the same seeds
      for every setting: the same leads arrive and meet the same luck, so a
      difference between settings is the setting's, not chance's). Lines are the
      mean, the shaded bands the 95 % confidence interval; each setting's
      difference from the current one is measured replication by replication, with
      its own interval (`diff_lo`, `diff_hi`).
    * **Breach rate**: the share of leads not touched within the window.
      **Lead → Sales Lead**: the share of hand-offs the SDRs qualified.
    * The response curve (how the chance to reach and qualify a lead falls with the
      delay) is the one fitted to the sample's history: an association seen in the
      past, not a law of nature; results are only as good as that assumption
      (`leadsim.simulation.advice.curve_sensitivity` reruns a sweep under the
      published presets).

    Same from the command line: `leadsim simulate`, `leadsim sweep --grid grid.yaml`
    (a Dask cluster with `--scheduler tcp://host:port`).
    """),
    code("""
    # Parameters
    N_REPLICATIONS = 10         # runs per setting (fewer than 10: indicative only; more: narrower bands, slower)
    HORIZON_DAYS = 42           # simulated days per run: six weeks, the first trade-fair upload included (the scenario: a quarter)
    SEED = 7                    # the same seed gives the same results, on any executor
    SDR_HEADCOUNTS = [2, 3, 4]
    WINDOW_KEY = "definition.sla.clocks.response.levels.1.offset"  # the SDR's first-touch SLA (working minutes)
    WINDOWS = [15, 30]          # the current window (30) is one point of the sweep
    BREACH_KPI = "breach_rate.response.1"   # breach of that window
    RATE_KPI = "lead_to_sales_lead"
    MAX_BREACH = 0.15           # the breach rate the team is willing to accept
    BACKTEST_REPLICATIONS = 4   # back-test runs (the report uses 10; more: steadier intervals, slower)
    """),
    code("""
    %matplotlib inline
    import matplotlib.pyplot as plt

    import leadsim
    from leadsim.plots.funnel import plot_sla_breach, plot_waterfall
    from leadsim.plots.simulation import breach_heatmap, kpi_vs_parameter, queue_over_time
    from leadsim.simulation.advice import recommend

    scenario = leadsim.load_scenario().with_values({"horizon_days": HORIZON_DAYS})
    d = scenario.lead_definition
    print(f"{scenario.name}: {scenario.sdr_headcount} SDRs, {scenario.rep_headcount} reps, routing {scenario.routing}, "
          f"response curve {scenario.curve.preset!r}, {HORIZON_DAYS} days")
    """),
    md("""
    ## First: does the simulation reproduce the past?
    Before trusting a what-if, fit a scenario to a stretch of history and let it
    simulate the weeks that came next (`leadsim.backtest`; `leadsim backtest` from the
    shell). Each run redraws the fitted figures from their uncertainty, so the bands
    are *prediction* intervals; a measure of what happened outside its band is
    something the model leaves out. On the sample most measures fall outside, for
    reasons that are known. The sample was made by leadsim's history generator, a
    different model: there an SDR decides on every hand-off it touched, whether a call
    reached the lead or not, so the history's Lead → Sales Lead share is about twice
    the simulation's, which qualifies only the leads its calls reach. Eight weeks are
    too short to draw new leads from the history (each pool lead must have been
    watched for a quarter), so the simulation's own generator makes them, and they
    hand over more often than the history's. The reps' touch ladder after a hand-off
    and the history's slow tail of first responses (SDRs who forget a lead for days)
    are not simulated. With a year of your own history the leads are drawn from it.
    """),
    code("""
    history = leadsim.load_sample()
    bt = leadsim.backtest(history, history.definition, start="2026-08-03", fit_until="2026-09-28",
                          until="2026-10-26", replications=BACKTEST_REPLICATIONS, seed=SEED)
    print(bt.method)
    bt.table.round(2)
    """),
    code("bt.plot();"),
    check("""
    print(f"{int(bt.table['inside'].sum())} of {len(bt.table)} measures inside their prediction interval")
    """),
    md("## The current process"),
    code("""
    run = leadsim.simulate(scenario, seed=SEED)
    run.kpis.round(3).to_frame("value")
    """),
    check("""
    k = run.kpis
    print(f"hand-offs/week {k['handoffs_per_week']:.0f}, Lead -> Sales Lead {k['lead_to_sales_lead']:.0%}, "
          f"median first response {k['response_minutes_p50']:.0f} min, breach of the {scenario.lead_definition.sla.clocks[0].levels[1].offset:g}-minute window {k[BREACH_KPI]:.0%}")
    """),
    code("queue_over_time(run);"),
    md("""
    The simulated history has the same tables as real data, so the funnel report and
    the SLA audit of step 3 run on it unchanged:
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    plot_waterfall(leadsim.waterfall(run.stage_log, d), ax=axes[0])
    plot_sla_breach(leadsim.audit(run.stage_log, run.touches, d, owners=run.owners).summary["levels"], ax=axes[1]);
    """),
    md("""
    ## Sweep: SDR headcount × first-touch window
    One run is one possible stretch of weeks; the sweep replicates every combination
    `N_REPLICATIONS` times (`leadsim.replicate` does the same for one scenario) on a
    local process pool (pass `executor=` to use a Dask cluster:
    `dask.distributed.Client(...).get_executor()`). The current setting is one of
    the points.
    """),
    code("""
    grid = {"sdr_headcount": SDR_HEADCOUNTS, WINDOW_KEY: WINDOWS}
    current = {"sdr_headcount": scenario.sdr_headcount, WINDOW_KEY: 30}
    sweep = leadsim.sweep(scenario, grid, replications=N_REPLICATIONS, seed=SEED, progress=False, baseline=current)
    print(sweep.attrs["method"])
    sweep[sweep["kpi"].isin([BREACH_KPI, RATE_KPI])].round(3)
    """),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
    kpi_vs_parameter(sweep, "sdr_headcount", BREACH_KPI, by=WINDOW_KEY, ax=axes[0])
    kpi_vs_parameter(sweep, "sdr_headcount", RATE_KPI, by=WINDOW_KEY, ax=axes[1])
    breach_heatmap(sweep, "sdr_headcount", WINDOW_KEY, BREACH_KPI, ax=axes[2])
    fig.tight_layout()
    """),
    check("""
    print(sweep[sweep["kpi"].isin([BREACH_KPI, RATE_KPI])].pivot_table(
        index=["sdr_headcount", WINDOW_KEY], columns="kpi", values="mean").round(2).to_string())
    """),
    md("""
    ## The recommendation
    The fewest SDRs whose breach rate stays under `MAX_BREACH` with its whole 95 %
    interval; among those, the window with the best Lead → Sales Lead rate. A
    change from the current setting is recommended only when its breach-rate
    difference from it excludes zero (corrected for the number of settings
    compared); otherwise the advice says the data cannot tell them apart.
    """),
    code("""
    advice = recommend(sweep, cost="sdr_headcount", breach_kpi=BREACH_KPI, rate_kpi=RATE_KPI, max_breach=MAX_BREACH)
    advice.table
    """),
    check("""
    print(advice.text)
    """),
]


# --------------------------------------------------------------------------- 05

NB05 = [
    md("""
    # 5 · Recalibrate on sales feedback

    **What this step answers:** are the points in our definition the right ones?
    Every hand-off to sales ends with an outcome: the SDR confirmed a qualified
    buyer (SQL, the lead became a *Sales Lead*) or not. A regularised logistic
    model learns from those outcomes how much each rule really says about the
    chance of an SQL, and turns that back into points and a threshold: a revised
    definition, with a diff for the heads to sign.

    Leads are only handed over when they score high enough, so the outcomes tell
    little about the ones below the threshold. The sample history hands over a
    few leads below it on purpose (*exploration* hand-offs, with their known
    chance of being picked); the calibration weights them up (inverse-propensity
    weights) so the model is not fooled by who got handed over.

    **How to read the result:**
    * **Metrics** are measured on the newest 30 % of hand-offs, which the model did
      not see. ROC-AUC: how well a score ranks SQLs above non-SQLs (0.5 is
      chance). PR-AUC: the same, weighted towards the top. Side by side:
      *current definition* (today's points), *revised definition* (the new
      integer points, scored exactly as leadsim scores), *rule-feature model*
      (the model the points come from), *gradient boosting* on the same rules
      (a flexible reference: what readable points cost), and the *model with
      controls* (response delay and owner too; they never become points).
    * **Response delay**: one sentence with the odds ratio of answering within
      5 minutes instead of 2 hours, adjusted for owner, source and score; an
      association, not a measured effect.
    * **Reliability by grade**: predicted chance against the observed SQL rate
      in each grade A-D of the revised definition.
    * **Rates**: at the threshold, which share of hand-offs would still be handed
      over and what their Lead → Sales Lead rate would be.
    * **Proposed points**: the revised points per rule; the diff lists every change.
    * **Criteria discovery**: rules the definition lacks (attribute bins and
      levels, activity kinds, pages and documents) proposed, rules that add
      nothing dropped, and the gate values (minimum behaviour, minimum grade)
      re-proposed in the revised points, each with its support, its effect
      (odds ratio with a 95 % interval) and the ROC AUC it adds.
    * **Leakage guard**: columns left out because they know the outcome
      (recorded after the hand-off, status-like names, near-perfect separation).
    * **The flat lead export** (last section): a definition built from a
      one-row-per-lead table with a converted flag, as many CRMs export it.

    Same from the command line: `leadsim calibrate --discover` and
    `leadsim calibrate --leads export.csv --outcome converted --id lead_number`.
    """),
    code("""
    # Parameters
    CAPACITY = None      # hand-offs per week sales can take; None keeps today's volume
    TARGET_RATE = None   # or: the Lead -> Sales Lead rate to aim for (e.g. 0.4); None: not used
    MAX_RULES = None     # criteria discovery keeps at most this many rules; None: as many as add something
    FLAT_ROWS = 3000     # rows of the generated flat export in the last section
    SEED = 0             # the same seed gives the same result
    """),
    code("""
    %matplotlib inline
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt
    from IPython.display import Markdown

    import leadsim
    from leadsim.plots.calibration import plot_gain, plot_lift, plot_points, plot_reliability, plot_volume_precision

    history = leadsim.load_sample()
    cal = leadsim.calibrate(history, history.definition, capacity=CAPACITY, target_rate=TARGET_RATE, seed=SEED,
                            discover=True, max_rules=MAX_RULES)
    cal.notes
    """),
    md("## Compared with the current definition, side by side"),
    code("cal.report.metrics"),
    code("cal.report.rates"),
    code("cal.report.by_grade"),
    code("print(cal.report.delay['text'] if cal.report.delay else 'no response times')"),
    code("cal.report.half_life_scores"),
    check("""
    m = cal.report.metrics["roc_auc"].round(2)
    print(f"held-out ROC-AUC: current definition {m['current definition']:.2f}, revised definition "
          f"{m['revised definition']:.2f}, rule-feature model {m['rule-feature model']:.2f}, "
          f"model with controls {m['model with controls']:.2f}")
    print(cal.report.rates.round(2).to_string())
    """),
    code("""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    plot_reliability(cal.report, ax=axes[0, 0])
    plot_gain(cal.report, ax=axes[0, 1])
    plot_lift(cal.report, ax=axes[1, 0])
    plot_volume_precision(cal.report, ax=axes[1, 1])
    fig.tight_layout()
    """),
    md("""
    ## Proposed points and threshold
    The threshold keeps its number; the points are scaled so that reaching it means
    the chance of an SQL printed below. *PDO* is the number of points that double
    the odds of an SQL.
    """),
    check("""
    card = cal.report.scorecard
    print(f"threshold {card.threshold:g} = a {card.cutoff_probability:.0%} chance of SQL; "
          f"PDO {card.pdo:.0f} points; behaviour half-life {card.half_life_days:g} days")
    """),
    code("plot_points(cal.report);"),
    code("""
    changes = cal.diff
    changes[changes["field"] == "points"]
    """),
    md("""
    ## Criteria discovery: what the definition lacks, what it does not need
    Each row is a rule or a gate value. *new*: proposed; *dropped*: an existing rule
    that adds nothing the others do not; *changed*: a gate value moved; *kept*.
    `support` is the share of hand-offs the rule fires for, `sql_rate` their SQL
    rate, `odds_ratio` (with its 95 % interval `low`-`high`) the rule's effect
    with the other rules held fixed, and `auc_gain` the cross-validated ROC AUC
    it adds (for a dropped rule: what adding it back would add).
    """),
    code("""
    proposals = cal.report.proposals
    proposals[proposals["change"] != "not proposed"]
    """),
    check("""
    counts = proposals["change"].value_counts()
    print(f"new {counts.get('new', 0)}, dropped {counts.get('dropped', 0)}, "
          f"rules in the revised definition {len(cal.definition.fit_rules) + len(cal.definition.behaviour_rules)}")
    """),
    md("""
    ### The leakage guard
    Columns that know the outcome are left out and listed with the reason; pass
    `include=[...]` (`--include COLUMN`) to keep one you know is recorded before
    the hand-off.
    """),
    code("cal.report.leakage"),
    check("print(sorted(cal.report.leakage['column']))"),
    md("""
    ## The revised definition and its diff
    Written to a temporary folder (never over the data you read): `definition.yaml`
    to review and sign, `diff.csv` / `diff.md` for the sign-off, and `metrics.json`
    (the figures are above).
    """),
    code("""
    folder = Path(tempfile.mkdtemp(prefix="leadsim-calibration-")) / "revised"
    files = cal.write(folder, figures=False)
    sorted(p.name for p in files.values())
    """),
    check("""
    revised = leadsim.load_definition(files["definition"])
    print(f"{cal.previous.version} -> {revised.version}: {len(leadsim.diff(cal.previous, revised))} changes")
    """),
    code('Markdown(files["diff_md"].read_text())'),
    md("""
    ## The flat lead export
    Many teams have no activity log, only the CRM's lead list: one row per lead
    with form fields, aggregated web behaviour and a converted flag. Here a small
    generated export (`make_flat_export`: known bins at 200 and 1,000 employees
    and 10 minutes on site, industries that convert better or worse, a form's
    "Select" that means *not chosen*, and a `lead_status` column sales fill in
    after the call). leadsim builds a definition from its columns, evaluated by
    stratified cross-validation (there are no times), and scores new rows with it.

    Same from the command line: `leadsim calibrate --leads export.csv --outcome
    converted --id lead_number --out DIR`, then `leadsim score --definition
    DIR/definition.revised.yaml --leads new_rows.csv --id lead_number --out scores.csv`.
    """),
    code("""
    from leadsim.calibration import score_flat
    from leadsim.datasets import make_flat_export

    flat = make_flat_export(n=FLAT_ROWS, seed=SEED)
    learn, new_rows = flat.table.iloc[: FLAT_ROWS * 4 // 5], flat.table.iloc[FLAT_ROWS * 4 // 5 :]
    flat_cal = leadsim.calibrate_flat(learn, "converted", id_column="lead_number", missing=["Select"], seed=SEED)
    flat_cal.report.metrics
    """),
    code("""
    flat_proposals = flat_cal.report.proposals
    flat_proposals[flat_proposals["change"] == "new"]
    """),
    code("flat_cal.report.leakage"),
    code("flat_cal.report.by_grade"),
    check("""
    new_rules = flat_proposals[flat_proposals["change"] == "new"]
    print("proposed:", "; ".join(new_rules["condition"]))
    print("left out:", ", ".join(flat_cal.report.leakage["column"]))
    """),
    md("The new rows, scored with the revised definition (no activities needed):"),
    code("""
    scores = score_flat(new_rows, flat_cal.definition, id_column="lead_number")
    scores[["fit_score", "score", "grade", "is_mql"]].head()
    """),
    check("""
    sql = new_rows.set_index("lead_number")["converted"].reindex(scores.index)
    print(scores.assign(converted=sql).groupby("grade", observed=True)["converted"].mean().round(2).to_string())
    """),
]


NOTEBOOKS: dict[str, list[tuple[str, str, list[str]]]] = {
    "00-your-data": NB00,
    "01-lead-definition": NB01,
    "02-scoring": NB02,
    "03-funnel-and-sla": NB03,
    "04-sla-what-if": NB04,
    "05-recalibrate": NB05,
    "06-hundred-companies": NB06,
}


# --------------------------------------------------------------------------- build and run


GENERATED = ("markdown", "*Generated from `notebooks/_build.py`: edit the cells there, then run "
             "`python notebooks/_build.py --execute`; a test fails when this notebook and its source differ.*", [])


def build(name: str, cells: list[tuple[str, str, list[str]]]) -> object:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, text, tags) in enumerate([GENERATED, *cells]):
        cell = new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
        cell["id"] = f"{name[:2]}-{i:02d}"
        if kind == "code" and text.startswith("# Parameters"):
            tags = [*tags, "parameters"]  # papermill's tag: `papermill -p NAME value` overrides this cell
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def execute(nb: object, timeout: int = 600) -> float:
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    import nbformat

    args = list(sys.argv[1:] if argv is None else argv)
    run = "--execute" in args
    only = [a for a in args if not a.startswith("--")]
    for name, cells in NOTEBOOKS.items():
        if only and not any(name.startswith(o) for o in only):
            continue
        nb = build(name, cells)
        note = ""
        if run:
            note = f" (executed in {execute(nb):.1f} s)"
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
