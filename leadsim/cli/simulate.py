"""``leadsim simulate`` and ``leadsim sweep``: run a scenario, or a grid of them.

Without ``--scenario`` the embedded sample scenario runs.  ``simulate
--from-history`` fits the scenario to a history first (the data options of
every data command: the sample, ``--export``/``--db`` with ``--mapping``, or
table files; ``--start``/``--end`` the window), prints where each fitted
figure came from, and runs it (``--out`` also keeps ``scenario.yaml`` and
``provenance.csv``).  A scenario file
that names no ``definition:`` runs with ``--definition`` (default: the
embedded sample definition); one that names its own keeps it.  Outputs (with
``--out DIR``): the six shared tables, alerts and KPIs as CSV, plus
``kpis.json``; a sweep writes ``sweep.csv`` and ``sweep.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from leadsim.cli._common import add_definition_option, add_json_flag, emit, json_ready
from leadsim.cli.data import OPTIONS, add_data_options, load_data
from leadsim.definition import read_yaml
from leadsim.display import for_people
from leadsim.errors import InputFileError, ScenarioError
from leadsim.files import write_atomic

#: The tables a fit reads.
HISTORY_TABLES = ("leads", "stage_log", "touches", "owners", "activities")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate lead flow, rep capacity and SLA clocks for a scenario")
    p.add_argument("--scenario", metavar="FILE", help="scenario YAML (default: the embedded sample; with "
                   "--from-history: what the history cannot tell)")
    p.add_argument("--from-history", action="store_true", help="fit the scenario to the history the data options "
                   "name (default: the embedded sample)")
    p.add_argument("--start", metavar="DATE", help="with --from-history: the window's first day (default: the "
                   "history's)")
    p.add_argument("--end", metavar="DATE", help="with --from-history: the day after the window (default: the "
                   "history's end)")
    add_data_options(p, tables=HISTORY_TABLES)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replications", type=int, default=1, help="runs with 95%% intervals (default 1: one run)")
    p.add_argument("--out", metavar="DIR", help="write the tables, alerts and KPIs into this new folder")
    add_json_flag(p)
    p.set_defaults(func=run_simulate)

    q = sub.add_parser("sweep", help="run a grid of scenario variants with replications")
    q.add_argument("--scenario", metavar="FILE", help="base scenario YAML (default: the embedded sample)")
    add_definition_option(q, "lead definition for a scenario that names none")
    q.add_argument("--grid", metavar="FILE", required=True,
                   help="YAML mapping dotted scenario keys to lists, e.g. 'sdr_headcount: [2, 3]'")
    q.add_argument("--replications", type=int, default=10,  # replication.MIN_REPLICATIONS, not imported here:
                   help="runs per grid point, the same seeds at each (default 10)")  # it would load SimPy at start
    q.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    q.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786 "
                   "(default: a local process pool)")
    q.add_argument("--out", metavar="DIR", help="write sweep.csv and sweep.json into this new folder")
    add_json_flag(q)
    q.set_defaults(func=run_sweep)


def new_dir(out: str) -> Path:
    d = Path(out)
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise InputFileError("exists and is not an empty folder; choose another --out (leadsim never overwrites)",
                             where=str(d))
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_into(path: Path, text: str) -> None:
    write_atomic(path, text, overwrite=True)  # into a folder that was empty: a repeated name replaces its file


def scenario_of(args: argparse.Namespace) -> Any:
    """The ``--scenario`` file (default: the embedded sample), given ``--definition`` when it names none."""
    from leadsim.simulation import load_scenario
    from leadsim.simulation.scenario import build

    if args.scenario is None or str(args.scenario) == "sample":
        return load_scenario(args.scenario)
    data = read_yaml(args.scenario, "scenario")
    if isinstance(data, dict) and data.get("definition") is None:  # the CLI passes the sample explicitly
        data = {**data, "definition": args.definition if data.get("mode", "full") == "full" else None}
    return build(data, source=str(args.scenario))


def fitted(args: argparse.Namespace, *, end: Any = None) -> Any:
    """The scenario fitted to the history the data options name (``--scenario`` the base), its provenance printed
    unless ``--json``."""
    from leadsim.simulation.fitting import fit_scenario, headline

    data = load_data(args, need=("leads", "stage_log"), use=HISTORY_TABLES, quiet=args.json)
    base = scenario_of(args) if args.scenario else None
    sc = fit_scenario(data.tables, data.definition, start=args.start, end=end if end is not None else args.end,
                      base=base)
    if not args.json:
        prov = sc.provenance
        shown = headline(prov)
        emit(for_people(shown[["parameter", "value", "lo", "hi", "n", "source"]]), False,
             title=f"{sc.name}, {data.origin}: {len(prov)} figures (weekday and hour shapes in "
                   "provenance.csv with --out)")
    return sc


def keep_fit(folder: Path, sc: Any) -> None:
    if sc.provenance is not None:
        write_into(folder / "scenario.yaml", sc.to_yaml())
        write_into(folder / "provenance.csv", sc.provenance.to_csv(index=False))


def run_simulate(args: argparse.Namespace) -> int:
    from leadsim.simulation import replicate, simulate  # SimPy/SciPy only when a run is asked for

    sc = fitted(args) if args.from_history else scenario_of(args)
    if not args.from_history:
        given = [o for o in ("export", "db", "mapping", *HISTORY_TABLES) if getattr(args, o, None)]
        for o in ("start", "end"):
            if getattr(args, o):
                given.append(o)
        if given:
            flag = OPTIONS.get(given[0], f"--{given[0]}")
            raise InputFileError(f"{flag} names a history; add --from-history to fit the scenario to it",
                                 where=flag)
    if args.replications > 1:
        ci = replicate(sc, args.replications, seed=args.seed, progress=not args.json)
        if args.out:
            d = new_dir(args.out)
            keep_fit(d, sc)
            write_into(d / "kpis.csv", for_people(ci).to_csv(index_label="kpi"))
            write_into(d / "kpis.json", json.dumps(json_ready(ci.reset_index(names="kpi")), indent=2))
        emit(ci, args.json, title=f"{sc.name}: {args.replications} replications, 95% intervals")
        return 0
    res = simulate(sc, seed=args.seed)
    summary = {"scenario": sc.name, "seed": args.seed, "curve": res.curve, "leads": len(res.leads),
               "activities": len(res.activities), "alerts": len(res.alerts), "warnings": res.warnings,
               "kpis": res.kpis.to_dict()}
    if args.out:
        d = new_dir(args.out)
        keep_fit(d, sc)
        for name, table in {**res.tables, "mql_events": res.mql}.items():
            write_into(d / f"{name}.csv", table.to_csv(index=False))
        write_into(d / "kpis.csv", for_people(res.kpis.rename("value")).to_csv(index_label="kpi"))
        write_into(d / "kpis.json", json.dumps(json_ready(summary), indent=2, ensure_ascii=False))
        summary["written_to"] = str(d)
    if args.json:
        emit(summary, True)
    else:
        print(f"{sc.name}: {len(res.leads)} leads, {len(res.activities)} activities, {len(res.alerts)} alerts, "
              f"seed {args.seed}, response curve '{res.curve}'")
        for w in res.warnings:
            print(f"warning: {w}")
        emit(res.kpis.rename("value"), False, title="KPIs")
        if args.out:
            print(f"\nwritten to {summary['written_to']}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from leadsim.simulation import sweep

    sc = scenario_of(args)
    grid = read_yaml(args.grid, "sweep grid")
    if not isinstance(grid, dict):
        raise ScenarioError("a grid file maps dotted scenario keys to lists, e.g. 'sdr_headcount: [2, 3]'",
                            where=str(args.grid))
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ScenarioError("--scheduler needs dask.distributed (pip install 'dask[distributed]')",
                                where="--scheduler") from None
        try:
            client = Client(args.scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise ScenarioError(f"cannot reach the Dask scheduler: {err}", where=args.scheduler) from None
        with client:
            out = sweep(sc, grid, replications=args.replications, executor=client.get_executor(), seed=args.seed,
                        progress=not args.json)
    else:
        out = sweep(sc, grid, replications=args.replications, seed=args.seed, progress=not args.json)
    if args.out:
        d = new_dir(args.out)
        write_into(d / "sweep.csv", for_people(out).to_csv(index=False))
        write_into(d / "sweep.json", json.dumps(json_ready(out), indent=2))
    if args.json:
        emit(out, True)
    else:
        wide = out.pivot_table(index=list(grid), columns="kpi", values="mean")
        keep = [c for c in ("mqls_per_week", "sqls_per_week", "lead_to_sales_lead", "response_minutes_p50",
                            "sdr_utilisation", "breach_rate.response.1", "p_wait", "mean_wait_hours", "p_abandon")
                if c in wide.columns]
        emit(wide[keep] if keep else wide, False, title=f"sweep: {len(out) and len(wide)} points x "
             f"{args.replications} replications (means)")
        print(f"\n{out.attrs['method']}.")
    return 0


__all__ = ["fitted", "keep_fit", "new_dir", "register", "run_simulate", "run_sweep", "write_into"]
