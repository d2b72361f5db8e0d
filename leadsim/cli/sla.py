"""``leadsim sla schedule|audit``: SLA alerts a hand-off would get, and an audit of a history."""

from __future__ import annotations

import argparse

import pandas as pd

from leadsim.cli._common import add_definition_option, add_json_flag, emit
from leadsim.cli.funnel import load_history_tables, naming_files
from leadsim.sla import audit, handoffs_from_log, schedule


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sla", help="SLA clocks: schedule of alerts, audit of a history")
    ss = p.add_subparsers(dest="sla_command", metavar="ACTION", required=True)
    for name, fn, hlp in (("schedule", run_schedule, "alerts each hand-off would get if nobody acted"),
                          ("audit", run_audit, "alerts that fired in a history, breach rates, escalations")):
        q = ss.add_parser(name, help=hlp)
        add_definition_option(q)
        q.add_argument("--log", metavar="FILE", help="stage log; hand-offs are its entries into watched stages "
                       "(default: the embedded sample)")
        q.add_argument("--owners", metavar="FILE", help="owners table (resolves managers)")
        q.add_argument("--leads", metavar="FILE", help="leads table (company and source in messages)")
        if name == "audit":
            q.add_argument("--touches", metavar="FILE", help="touches table")
            q.add_argument("--as-of", metavar="TIME", help="audit up to this local time (default: the data's end)")
        else:
            q.add_argument("--limit", type=int, default=50, help="alerts to print (default 50; --json prints all)")
        add_json_flag(q)
        q.set_defaults(func=fn)


def run_schedule(args: argparse.Namespace) -> int:
    t = load_history_tables(args, ("log", "owners", "leads"))
    with naming_files(args):
        h = handoffs_from_log(t["log"], t["definition"])
        alerts = schedule(h, t["definition"], owners=t.get("owners"), leads=t.get("leads"))
    emit(alerts if args.json else alerts.head(args.limit), args.json, title=None if args.json else f"{len(alerts)} alerts")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from leadsim.cli._common import parse_time

    t = load_history_tables(args, ("log", "touches", "owners", "leads"))
    as_of = parse_time(args.as_of, "--as-of", t["definition"]) if args.as_of else None
    touches = t.get("touches")
    if args.touches:  # rows as the file counts them (header is row 1), like every other message on a file
        touches = touches.set_axis(pd.RangeIndex(2, len(touches) + 2))
    with naming_files(args):
        res = audit(t["log"], touches, t["definition"], owners=t.get("owners"), leads=t.get("leads"), as_of=as_of)
    if args.json:
        emit({"summary": res.summary, "alerts": res.alerts}, True)
    else:
        emit(res.summary, False)
        emit(res.alerts.tail(20), False, title=f"last 20 of {len(res.alerts)} alerts")
    return 0
