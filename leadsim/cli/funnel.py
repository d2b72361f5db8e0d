"""``leadsim funnel``: waterfall and velocity of a stage log (default: the embedded sample)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from leadsim.cli._common import add_json_flag, emit
from leadsim.cli.data import Data, add_data_options, load_data
from leadsim.errors import LeadsimError
from leadsim.funnel import velocity, waterfall


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("funnel", help="funnel waterfall and time in stage of a stage log")
    add_data_options(p, tables=("stage_log", "leads"))
    p.add_argument("--by", metavar="COLUMN", help="group the cohort: source, month, owner or a leads column")
    p.add_argument("--start", metavar="DATE", help="cohort: leads created on or after this local time")
    p.add_argument("--end", metavar="DATE", help="cohort: leads created before this local time")
    add_json_flag(p)
    p.set_defaults(func=run)


@contextmanager
def naming_files(data: Data) -> Iterator[None]:
    """Errors the library reports on a table (``where="stage_log"``, ``"touches"``) name the user's file instead."""
    try:
        yield
    except LeadsimError as err:
        if not data.files.get(err.where):
            raise
        raise type(err)(err.message, where=data.files[err.where]) from None


def run(args: argparse.Namespace) -> int:
    from leadsim.cli._common import parse_time

    data = load_data(args, need=("stage_log",), use=("leads", "stage_log"))
    d, log = data.definition, data.tables["stage_log"]
    start, end = (parse_time(v, flag, d) if v is not None else None
                  for v, flag in ((args.start, "--start"), (args.end, "--end")))
    with naming_files(data):
        wf = waterfall(log, d, start=start, end=end, by=args.by, leads=data.get("leads"))
        vel = velocity(log, d)
    out = {"waterfall": wf.stages, "exits": wf.exits, "velocity": vel.reset_index()}
    emit(out, args.json)
    return 0
