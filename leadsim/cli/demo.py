"""``leadsim demo``: the whole workbench on the embedded sample (or your data), as one report."""

from __future__ import annotations

import argparse

from leadsim.cli._common import add_definition_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run every step on the embedded sample (or your files) and write leadsim-report/",
        description="Score, funnel, SLA audit, simulation and sweep, calibration and the 100-companies check, "
        "written as a self-contained HTML report with figures, JSON and CSV.",
    )
    p.add_argument("--out", default="leadsim-report", help="report folder (default: leadsim-report)")
    p.add_argument("--force", action="store_true", help="replace an existing report folder")
    add_definition_option(p)
    p.add_argument("--leads", help="leads table (CSV, Parquet or Excel)")
    p.add_argument("--activities", help="activities table")
    p.add_argument("--outcomes", help="outcomes table (hand-offs with sql true/false)")
    p.add_argument("--stage-log", dest="stage_log", help="stage log table")
    p.add_argument("--touches", help="touches table")
    p.add_argument("--owners", help="owners table")
    p.add_argument("--mapping", help="column-mapping YAML for a CRM export")
    p.add_argument("--seed", type=int, default=7, help="seed of the simulation and sampling steps")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from leadsim.demo import run_demo

    page = run_demo(
        args.out, force=args.force, progress=not args.quiet, definition=args.definition, leads=args.leads,
        activities=args.activities, outcomes=args.outcomes, stage_log=args.stage_log, touches=args.touches,
        owners=args.owners, mapping=args.mapping, seed=args.seed,
    )
    print(f"report written: {page}")
    return 0
