"""``leadsim score`` and ``leadsim explain``: score leads with a definition and explain them.

Without files both run on the embedded sample (``leadsim.datasets.load_sample``)
scored as of its last activity.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd

from leadsim.cli._common import add_json_flag, check_output_path, emit, parse_time
from leadsim.cli.data import add_data_options, load_data, no_activities
from leadsim.definition import LeadDefinition
from leadsim.display import for_people
from leadsim.errors import DataError, InputFileError
from leadsim.io import write_table
from leadsim.points import sort_table

SUMMARY_COLUMNS = ["company", "score", "fit_score", "behaviour_score", "grade", "engagement", "is_mql", "is_hot",
                   "hot_reason", "held_by", "priority", "urgency", "stage", "mql_state"]


@dataclass
class Inputs:
    definition: LeadDefinition
    leads: pd.DataFrame
    activities: pd.DataFrame
    stage_log: pd.DataFrame | None
    as_of: pd.Timestamp
    paths: list[str]
    origin: str
    sources: list[str]


def _as_of(value: str | None, default: pd.Timestamp, definition: LeadDefinition) -> pd.Timestamp:
    return default if value is None else parse_time(value, "--as-of", definition)


def load_inputs(args: argparse.Namespace) -> Inputs:
    """Read the tables the data options name (see :mod:`leadsim.cli.data`), or the embedded sample."""
    data = load_data(args, need=("leads",), use=("leads", "activities", "stage_log"), as_of=args.as_of)
    leads, definition = data.tables["leads"], data.definition
    acts = data.get("activities")
    if acts is None:
        acts = no_activities()
    default = acts["at"].max() if len(acts) else leads["created_at"].max()
    if pd.isna(default) and args.as_of is None:
        raise DataError("no activity or creation time to score at; give --as-of", where=data.origin)
    return Inputs(definition, leads, acts, data.get("stage_log"), _as_of(args.as_of, default, definition),
                  [p for p in data.paths if p], data.origin, data.sources)


def add_options(p: argparse.ArgumentParser) -> None:
    """The data options of score, explain and exercise sample, and ``--as-of``."""
    add_data_options(p, tables=("leads", "activities", "stage_log"))
    p.add_argument("--id", dest="id_column", metavar="COLUMN", help="--leads is a flat export (one row per lead, "
                   "e.g. new rows of the export `leadsim calibrate --outcome` learnt from) with its id in COLUMN; "
                   "no times or activities needed")
    p.add_argument("--as-of", metavar="TIME", help="score at this local time, e.g. '2026-03-31 17:00' "
                   "(default: the last activity)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score leads with a lead definition and summarise the result")
    add_options(p)
    p.add_argument("--out", metavar="FILE", help="write every lead's scores to a .csv or .parquet file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists (never an input file)")
    p.add_argument("--write-table", metavar="NAME", help="with --db: write every lead's score, grade, MQL state and "
                   "the definition version to this database table, in one transaction")
    p.add_argument("--replace", action="store_true", help="replace --write-table if it exists (never a source table)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="how many top leads to list (default 10)")
    add_json_flag(p)
    p.set_defaults(func=cmd_score)

    e = sub.add_parser("explain", help="why a lead scores what it scores: its top positive and negative factors")
    e.add_argument("lead_ids", nargs="+", metavar="LEAD_ID")
    e.add_argument("-n", type=int, default=3, help="factors per direction (default 3)")
    add_options(e)
    add_json_flag(e)
    e.set_defaults(func=cmd_explain)


def _score(inp: Inputs) -> pd.DataFrame:
    from leadsim.scoring import score

    return score(inp.leads, inp.activities, inp.definition, as_of=inp.as_of, stage_log=inp.stage_log)


def summary(scores: pd.DataFrame, inp: Inputs, top: int) -> dict:
    """Counts, the grade x engagement table and the top leads of a score table.

    "MQLs now" counts the MQLs among open leads (:func:`leadsim.scoring.states.mqls_now`): with a stage log,
    no lead already handed over or closed; ``states`` counts the leads per MQL state.
    """
    from leadsim.scoring.states import MQL_STATES, mqls_now

    d = inp.definition
    grid = pd.crosstab(pd.Categorical(scores["grade"], categories=list(d.thresholds.fit_grades)),
                       pd.Categorical(scores["engagement"], categories=list(d.thresholds.engagement)),
                       dropna=False)
    grid.index.name, grid.columns.name = "grade", "engagement"
    company = inp.leads.set_index("lead_id")["company"] if "company" in inp.leads.columns else None
    best = sort_table(scores, "score", ascending=False, ties="lead_id").head(max(top, 0))
    best = best.assign(company=company.reindex(best.index) if company is not None else pd.NA)
    return {
        "data": inp.origin,
        "definition": f"{d.name} {d.version}",
        "as_of": inp.as_of,
        "leads_scored": len(scores),
        "mqls": mqls_now(scores),
        "hot": int((scores["is_hot"] & scores["mql_state"].isin(["mql", "unknown"])).sum()),
        "held_back": int(scores["held_by"].notna().sum()),
        "stage_known": inp.stage_log is not None,
        "states": {k: int(v) for k, v in scores["mql_state"].value_counts().reindex(MQL_STATES, fill_value=0).items()},
        "mql_threshold": d.thresholds.mql,
        "grade_x_engagement": grid,
        "top": best[[c for c in SUMMARY_COLUMNS if c in best.columns]],
    }


def cmd_score(args: argparse.Namespace) -> int:
    if args.write_table and not args.db:
        raise InputFileError("--write-table writes into the database --db reads; give --db URL too (or --out FILE)",
                             where="--write-table")
    inp = load_inputs(args)
    out = check_output_path(args.out, inp.paths, force=args.overwrite) if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise InputFileError("--out must end in .csv or .parquet", where=str(out))
    scores = _score(inp)
    if out is not None:
        write_table(scores, out, overwrite=args.overwrite)
    if args.write_table:
        write_scores(scores, inp, args.db, args.write_table, replace=args.replace)
    s = summary(scores, inp, args.top)
    if args.json:
        s["grade_x_engagement"] = {g: row.to_dict() for g, row in s["grade_x_engagement"].iterrows()}
        s["top"] = s["top"].reset_index()
        if out is not None:
            s["out"] = str(out)
        if args.write_table:
            s["table"] = args.write_table.casefold()
        emit(s, True)
        return 0
    when = ("(a flat export: no times, no activities)" if getattr(args, "id_column", None) is not None
            else f"as of {s['as_of']:%Y-%m-%d %H:%M}")
    print(f"Scored {s['leads_scored']} leads from {s['data']} {when} with {s['definition']}")
    known = ("among leads in an open marketing stage" if s["stage_known"] else
             "stage unknown (no stage log): handed-over and closed leads may be among them")
    print(f"MQLs now: {s['mqls']} (score >= {s['mql_threshold']:g} or a hot trigger, past the gates; {known}); "
          f"hot: {s['hot']}; held back by a gate: {s['held_back']}")
    print("MQL states: " + ", ".join(f"{k} {v}" for k, v in s["states"].items()))
    emit(s["grade_x_engagement"], False, title="leads by fit grade (rows) and engagement (columns)")
    emit(s["top"], False, title=f"top {len(s['top'])} leads")
    if out is not None:
        print(f"\nwrote {len(scores)} rows to {out}")
    if args.write_table:
        print(f"\nwrote {len(scores)} rows to table {args.write_table.casefold()!r} of {inp.origin}")
    return 0


def write_scores(scores: pd.DataFrame, inp: Inputs, url: str, name: str, *, replace: bool) -> None:
    """Scores, grades, MQL state, ``as_of`` and the definition version as table ``name``, in one transaction."""
    from leadsim.io.database import Database

    table = scores.reset_index().assign(as_of=inp.as_of, definition_name=inp.definition.name,
                                        definition_version=str(inp.definition.version))
    with Database(url) as db:
        db.write_table(table, name, replace=replace, protected=inp.sources)


def cmd_explain(args: argparse.Namespace) -> int:
    from leadsim.scoring import contributions, explain
    from leadsim.scoring.gates import held_text

    if args.n < 1:
        raise DataError(f"{args.n} factors per direction; give -n 1 or more", where="-n")
    inp = load_inputs(args)
    known = set(inp.leads["lead_id"])
    unknown = [i for i in args.lead_ids if i not in known]
    if unknown:
        some = sorted(known)[:3]
        raise DataError(f"unknown lead id(s) {unknown} in {inp.origin}; ids look like {some}", where="LEAD_ID")
    def only(df: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if df is None else df[df["lead_id"].isin(args.lead_ids)]

    # Scores and contributions are per lead, so scoring just the leads asked about gives the same numbers.
    sub = Inputs(inp.definition, only(inp.leads), only(inp.activities), only(inp.stage_log), inp.as_of,
                 inp.paths, inp.origin, inp.sources)
    parts = contributions(sub.leads, sub.activities, sub.definition, as_of=sub.as_of, stage_log=sub.stage_log)
    scores = _score(sub)
    result = []
    for lead_id in dict.fromkeys(args.lead_ids):
        row = scores.loc[lead_id]
        factors = explain(parts, inp.definition, lead_id=lead_id, n=args.n, scores=scores)
        result.append({
            "lead_id": lead_id,
            "score": float(row["score"]),
            "fit_score": float(row["fit_score"]),
            "behaviour_score": float(row["behaviour_score"]),
            "grade": row["grade"],
            "engagement": row["engagement"],
            "is_mql": bool(row["is_mql"]),
            "hot_reason": None if pd.isna(row["hot_reason"]) else row["hot_reason"],
            "held_by": None if pd.isna(row["held_by"]) else row["held_by"],
            "held_because": None if pd.isna(row["held_by"]) else held_text(inp.definition, row["held_by"]),
            "factors": factors,
        })
    if args.json:
        emit({"as_of": inp.as_of, "definition": inp.definition.version, "leads": result}, True)
        return 0
    print(f"as of {inp.as_of:%Y-%m-%d %H:%M}, {inp.definition.name} {inp.definition.version}")
    for r in result:
        hot = f", hot: {r['hot_reason']}" if r["hot_reason"] else ""
        held = f" (held back: {r['held_because']})" if r["held_by"] else ""
        print(f"\n{r['lead_id']}: score {r['score']:.1f} (fit {r['fit_score']:.1f} + behaviour {r['behaviour_score']:.1f}), "
              f"grade {r['grade']}{r['engagement']}, {'MQL' if r['is_mql'] else 'not an MQL'}{hot}{held}")
        f = r["factors"]
        print(for_people(f).to_string(index=False) if len(f) else "  (no rule scores for this lead)")
    return 0

