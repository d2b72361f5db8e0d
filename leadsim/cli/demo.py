"""``leadsim demo``: the whole workbench on the embedded sample (or your data), as one report."""

from __future__ import annotations

import argparse

from leadsim.cli.data import add_data_options, load_data, no_activities


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run every step on the embedded sample (or your files) and write leadsim-report/",
        description="Score, funnel, SLA audit, simulation and sweep, calibration and the 100-companies check, "
        "written as a self-contained HTML report with figures, JSON and CSV.",
    )
    p.add_argument("--out", default="leadsim-report", help="report folder (default: leadsim-report)")
    p.add_argument("--force", action="store_true", help="replace an existing report folder")
    add_data_options(p, tables=("leads", "activities", "stage_log", "touches", "owners", "outcomes"))
    p.add_argument("--seed", type=int, default=7, help="seed of the simulation and sampling steps")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from leadsim.cli.data import OPTIONS
    from leadsim.demo import DemoContext, run_demo
    from leadsim.report import check_replaceable

    given = [args.export, args.mapping, *(getattr(args, k, None) for k in OPTIONS)]
    if Path(args.definition).exists():  # a file, not the name of an embedded definition
        given.append(args.definition)
    check_replaceable(args.out, force=args.force, protect=given)  # before reading anything
    data = load_data(args, need=("leads", "activities") if not args.export else ("leads",))
    t = data.tables
    acts = t.get("activities")
    if acts is None:
        acts = no_activities()
    own = data.origin != "the embedded sample"
    as_of = None
    if own and not len(acts):  # no behaviour: score as of the last stage change or creation
        times = [x for x in (t["leads"]["created_at"].max(),
                             t["stage_log"]["at"].max() if "stage_log" in t else None) if x is not None]
        as_of = max(times)
    ctx = DemoContext(data.definition, t["leads"], acts, t.get("stage_log"), t.get("touches"), t.get("owners"),
                      t.get("outcomes"), as_of=as_of, seed=args.seed, origin=data.origin, own_data=own)
    page = run_demo(args.out, force=args.force, progress=not args.quiet, ctx=ctx, protect=data.paths)
    print(f"report written: {page}")
    return 0
