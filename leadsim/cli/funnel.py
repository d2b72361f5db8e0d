"""``leadsim funnel``: waterfall and velocity of a stage log (default: the embedded sample)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from leadsim.cli._common import add_definition_option, add_json_flag, emit
from leadsim.definition import load_definition
from leadsim.errors import LeadsimError
from leadsim.funnel import velocity, waterfall


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("funnel", help="funnel waterfall and time in stage of a stage log")
    add_definition_option(p)
    p.add_argument("--log", metavar="FILE", help="stage log (.csv, .parquet, .xlsx); default: the embedded sample")
    p.add_argument("--leads", metavar="FILE", help="leads table (needed for --by on one of its columns)")
    p.add_argument("--by", metavar="COLUMN", help="group the cohort: source, month, owner or a leads column")
    p.add_argument("--start", metavar="DATE", help="cohort: leads created on or after this local time")
    p.add_argument("--end", metavar="DATE", help="cohort: leads created before this local time")
    add_json_flag(p)
    p.set_defaults(func=run)


def load_history_tables(args: argparse.Namespace, need: tuple[str, ...]) -> dict:
    """Tables from files, or from the embedded sample when no file is given."""
    from leadsim.io import read_table

    d = load_definition(args.definition)
    files = {k: getattr(args, k, None) for k in need}
    out: dict = {}
    if any(v is None for k, v in files.items() if k in ("log",)):
        from leadsim.datasets import load_sample

        h = load_sample()
        out = {"log": h.stage_log, "leads": h.leads, "touches": h.touches, "owners": h.owners}
    kinds = {"log": "stage_log", "leads": "leads", "touches": "touches", "owners": "owners"}
    for k, path in files.items():
        if path is not None:
            out[k] = read_table(path, kinds[k], d)
    out["definition"] = d
    return out


@contextmanager
def naming_files(args: argparse.Namespace) -> Iterator[None]:
    """Errors the library reports on a table (``where="stage_log"``, ``"touches"``) name the user's file instead."""
    files = {"stage_log": getattr(args, "log", None), "touches": getattr(args, "touches", None)}
    try:
        yield
    except LeadsimError as err:
        if not files.get(err.where):
            raise
        raise type(err)(err.message, where=files[err.where]) from None


def run(args: argparse.Namespace) -> int:
    from leadsim.cli._common import parse_time

    t = load_history_tables(args, ("log", "leads"))
    start, end = (parse_time(v, flag, t["definition"]) if v is not None else None
                  for v, flag in ((args.start, "--start"), (args.end, "--end")))
    with naming_files(args):
        wf = waterfall(t["log"], t["definition"], start=start, end=end, by=args.by, leads=t.get("leads"))
        vel = velocity(t["log"], t["definition"])
    out = {"waterfall": wf.stages, "exits": wf.exits, "velocity": vel.reset_index()}
    emit(out, args.json)
    return 0
