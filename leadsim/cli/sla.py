"""``leadsim sla schedule|audit``: SLA alerts a hand-off would get, and an audit of a history."""

from __future__ import annotations

import argparse

import pandas as pd

from leadsim.cli._common import add_json_flag, emit
from leadsim.cli.data import add_data_options, load_data
from leadsim.cli.funnel import naming_files
from leadsim.sla import audit, handoffs_from_log, schedule


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sla", help="SLA clocks: schedule of alerts, audit of a history")
    ss = p.add_subparsers(dest="sla_command", metavar="ACTION", required=True)
    for name, fn, hlp in (("schedule", run_schedule, "alerts each hand-off would get if nobody acted"),
                          ("audit", run_audit, "alerts that fired in a history, breach rates, escalations")):
        q = ss.add_parser(name, help=hlp)
        add_data_options(q, tables=("stage_log", "owners", "leads", *(("touches",) if name == "audit" else ())))
        if name == "audit":
            q.add_argument("--as-of", metavar="TIME", help="audit up to this local time (default: the data's end)")
        else:
            q.add_argument("--limit", type=int, default=50, help="alerts to print (default 50; --json prints all)")
        add_json_flag(q)
        q.set_defaults(func=fn)


def run_schedule(args: argparse.Namespace) -> int:
    data = load_data(args, need=("stage_log",), use=("leads", "stage_log", "touches", "owners"))
    with naming_files(data):
        h = handoffs_from_log(data.tables["stage_log"], data.definition)
        alerts = schedule(h, data.definition, owners=data.get("owners"), leads=data.get("leads"))
    emit(alerts if args.json else alerts.head(args.limit), args.json, title=None if args.json else f"{len(alerts)} alerts")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from leadsim.cli._common import parse_time

    data = load_data(args, need=("stage_log",), use=("leads", "stage_log", "touches", "owners"))
    d = data.definition
    as_of = parse_time(args.as_of, "--as-of", d) if args.as_of else None
    touches = data.get("touches")
    if getattr(args, "touches", None):  # rows as the file counts them (header is row 1), like every other message
        touches = touches.set_axis(pd.RangeIndex(2, len(touches) + 2))
    with naming_files(data):
        res = audit(data.tables["stage_log"], touches, d, owners=data.get("owners"), leads=data.get("leads"),
                    as_of=as_of)
    if args.json:
        emit({"summary": res.summary, "alerts": res.alerts}, True)
    else:
        emit(res.summary, False)
        emit(res.alerts.tail(20), False, title=f"last 20 of {len(res.alerts)} alerts")
    return 0
