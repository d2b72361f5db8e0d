"""``leadsim backtest``: fit a scenario on the earlier part of a history, simulate the later part, compare.

Takes the data options of every data command (default: the embedded sample),
``--fit-until`` and ``--until`` (and ``--start``, the fit window's first day).
Prints how it was made and one row per metric: what happened, the simulated
median, the prediction interval and whether the actual lies inside; ``--out
DIR`` writes ``backtest.csv``, ``backtest.json``, ``backtest.png``,
``scenario.yaml`` and ``provenance.csv``.
"""

from __future__ import annotations

import argparse
import json

from leadsim.cli._common import add_json_flag, emit, json_ready, parse_time
from leadsim.cli.data import add_data_options, load_data
from leadsim.cli.simulate import HISTORY_TABLES, keep_fit, new_dir, write_into
from leadsim.display import for_people

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="fit a scenario on the past, simulate what came next, compare with history")
    p.add_argument("--fit-until", metavar="DATE", required=True, help="the fit uses the history before this day")
    p.add_argument("--until", metavar="DATE", required=True, help="the simulated stretch ends the day before this")
    p.add_argument("--start", metavar="DATE", help="the fit window's first day (default: the history's)")
    p.add_argument("--replications", type=int, default=20, help="simulated runs (default 20)")
    p.add_argument("--level", type=float, default=0.95, help="prediction interval coverage (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="write the table, figure and fitted scenario into this new folder")
    add_data_options(p, tables=HISTORY_TABLES)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from leadsim.simulation.backtest import backtest

    data = load_data(args, need=("leads", "stage_log"), use=HISTORY_TABLES, quiet=args.json)
    d = data.definition
    fit_until, until = parse_time(args.fit_until, "--fit-until", d), parse_time(args.until, "--until", d)
    start = parse_time(args.start, "--start", d) if args.start else None
    bt = backtest(data.tables, d, fit_until=fit_until, until=until, start=start, replications=args.replications,
                  seed=args.seed, level=args.level, progress=not args.json)
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        folder = new_dir(args.out)
        keep_fit(folder, bt.scenario)
        write_into(folder / "backtest.csv", for_people(bt.table).to_csv(index=False))
        write_into(folder / "backtest.json", json.dumps(json_ready({"method": bt.method, "table": bt.table}), indent=2))
        fig = bt.plot().figure
        fig.savefig(folder / "backtest.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    if args.json:
        emit({"method": bt.method, "table": bt.table}, True)
        return 0
    print(f"Back-test on {data.origin}: {bt.method}.")
    inside = int(bt.table["inside"].sum())
    emit(for_people(bt.table), False, title=f"{inside} of {len(bt.table)} metrics inside their prediction interval")
    if args.out:
        print(f"\nwritten to {args.out}")
    return 0
