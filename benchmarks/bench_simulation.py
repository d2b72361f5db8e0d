"""Benchmark of leadsim's simulation (issue 4).

1. The sample scenario for one simulated year with 50,000 leads, 10 SDRs,
   5 sales reps and the SLA clocks on: wall time (target <= 10 s) and peak
   memory (target < 2 GiB), measured in a child process.
2. A sweep of 16 runs on 2 worker processes against the same 16 runs
   serially: speed-up (target >= 1.7x).
3. A bare SimPy M/M/c model (``simpy.Resource``) and ``Scenario.queueing``
   with the same numbers, 100,000 customers each: customers served per
   second, ending with the line
   ``ratio leadsim/simpy customers per second: X.XX`` (target >= 0.5).

    python benchmarks/bench_simulation.py                 # everything
    python benchmarks/bench_simulation.py --skip-year     # quick: sweep + M/M/c
    python benchmarks/bench_simulation.py --customers 20000 --skip-year --skip-sweep

The host's speed can move from minute to minute, so a speed-up of the year run
is measured against an older checkout in the same minutes, alternating::

    git worktree add /tmp/leadsim-old <commit>
    python benchmarks/bench_simulation.py --against /tmp/leadsim-old --pairs 5 --skip-sweep
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import simpy

LAM, MU, C = 60.0, 25.0, 3  # per hour; utilisation 0.8


def bare_simpy(n_customers: int, seed: int = 1) -> float:
    """The textbook SimPy M/M/c: a Resource, one process per customer. Returns customers/s."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=C)
    waits = []

    def customer(env):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(60.0 / MU))

    def source(env):
        for _ in range(n_customers):
            yield env.timeout(rng.exponential(60.0 / LAM))
            env.process(customer(env))

    env.process(source(env))
    t = time.perf_counter()
    env.run()
    el = time.perf_counter() - t
    assert len(waits) == n_customers
    return n_customers / el


def leadsim_queueing(n_customers: int, seed: int = 1) -> tuple[float, int]:
    from leadsim.simulation import Scenario, simulate

    days = n_customers / LAM / 24.0
    sc = Scenario.queueing(LAM, MU, C, horizon_days=days, warmup_days=0)
    t = time.perf_counter()
    r = simulate(sc, seed=seed)
    el = time.perf_counter() - t
    served = int(r.kpis["customers"])
    return served / el, served


def year_scenario(epoch_days: float = 7.0):
    """The sample scenario over one year with ~50,000 leads, 10 SDRs and 5 sales reps."""
    from leadsim.simulation import load_scenario

    s = load_scenario()
    per_week = {k: v.per_week for k, v in s.arrivals.items()}
    burst = sum(b.size for b in s.bursts) * 365 / 45
    weekly = sum(per_week.values()) + s.outbound.per_week
    f = (50_000 - burst) / (weekly * 365 / 7)
    vals = {"horizon_days": 365, "sdr_headcount": 10, "rep_headcount": 5, "behaviour.epoch_days": epoch_days,
            "outbound.per_week": s.outbound.per_week * f}
    vals.update({f"arrivals.{k}.per_week": v * f for k, v in per_week.items()})
    return s.with_values(vals)


YEAR_CHILD = """
import json, resource, sys, time, warnings
sys.path.insert(0, HERE)
from bench_simulation import year_scenario
from leadsim.simulation import simulate
s = year_scenario(EPOCH)
t, cpu = time.perf_counter(), time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = simulate(s, seed=2026)
el, cpu = time.perf_counter() - t, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
print(json.dumps({"seconds": el, "cpu_seconds": cpu, "peak_gib": peak, "mql": len(r.mql), "leads": len(r.leads),
                  "activities": len(r.activities), "alerts": len(r.alerts),
                  "sla_clocks": len(s.lead_definition.sla.clocks),
                  "lead_to_sales_lead": float(r.kpis["lead_to_sales_lead"])}))
"""


def year_run(epoch_days: float, checkout: str | None = None) -> dict:
    """The year run in a child process; ``checkout``: a leadsim source tree to import instead of this one."""
    import os

    here = repr(str(Path(__file__).resolve().parent))
    code = YEAR_CHILD.replace("EPOCH", repr(float(epoch_days))).replace("HERE", here)
    env, cwd = dict(os.environ), None
    if checkout is not None:  # first on the path: `python -c` puts the working directory first, so run there
        cwd = str(Path(checkout).resolve())
        env["PYTHONPATH"] = os.pathsep.join([cwd, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = code.replace("from leadsim.simulation import simulate", "from leadsim.simulation import simulate\n"
                        "import leadsim; print(leadsim.__file__, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=cwd)
    if checkout is not None and not out.stderr.strip().splitlines()[-1].startswith(cwd):
        raise SystemExit(f"--against {checkout}: the child imported leadsim from {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep_speedup(runs: int = 16, customers: int = 60_000) -> tuple[float, float, float | None, float | None]:
    """Serial and 2-worker seconds of the same sweep, and the cores other processes kept busy meanwhile.

    Both sides start warm: the serial side runs in this process, which has
    imported leadsim; the pool's workers run ``init_worker`` (the same
    imports) and are started before the clock.  The machine is shared, so
    the CPU that *other* processes used during each side is read from
    ``/proc/stat`` (None where there is none): a 2-worker figure taken while
    they kept a core busy says nothing about leadsim.
    """
    import os

    from leadsim.simulation import Scenario, SerialExecutor, sweep
    from leadsim.simulation.replication import init_worker

    def busy() -> tuple[float, float] | None:  # (CPU-seconds of the whole machine, of this process and its children)
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        t = os.times()
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), t.user + t.system + t.children_user + t.children_system

    def others(b0, b1, seconds: float) -> float | None:  # cores other processes kept busy
        return None if b0 is None or b1 is None else max(0.0, (b1[0] - b0[0]) - (b1[1] - b0[1])) / seconds

    sc = Scenario.queueing(LAM, MU, C, patience_hours=1.0, horizon_days=customers / LAM / 24.0, warmup_days=0)
    grid = {"sdr_headcount": [3, 4, 5, 6]}
    b0, t = busy(), time.perf_counter()
    a = sweep(sc, grid, replications=runs // 4, executor=SerialExecutor(), progress=False)
    serial = time.perf_counter() - t
    load_serial = others(b0, busy(), serial)
    b0, t0 = busy(), time.perf_counter()  # workers' CPU counts once they are reaped, so the window spans the pool
    with cf.ProcessPoolExecutor(2, initializer=init_worker) as ex:
        for f in [ex.submit(init_worker) for _ in range(2)]:  # start both workers (spawn starts them on demand)
            f.result()
        t = time.perf_counter()
        b = sweep(sc, grid, replications=runs // 4, executor=ex, progress=False)
        pooled = time.perf_counter() - t
    load_pooled = others(b0, busy(), time.perf_counter() - t0)
    assert a.equals(b), "sweep results differ between executors"
    return serial, pooled, load_serial, load_pooled


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000, help="customers per M/M/c model (default 100000)")
    ap.add_argument("--skip-year", action="store_true", help="skip the one-year, 50,000-lead run")
    ap.add_argument("--skip-sweep", action="store_true", help="skip the 2-worker sweep")
    ap.add_argument("--epoch-days", type=float, default=7.0, help="behaviour epoch of the year run (default 7)")
    ap.add_argument("--against", metavar="DIR", help="also time the year run of another leadsim checkout (e.g. a git "
                    "worktree of an older commit), alternating with this one; prints new/old per pair")
    ap.add_argument("--pairs", type=int, default=3, help="alternating pairs with --against (default 3)")
    args = ap.parse_args(argv)

    if args.against and not args.skip_year:
        ratios = []
        for k in range(args.pairs):
            old, new = year_run(args.epoch_days, args.against), year_run(args.epoch_days)
            ratios.append(new["seconds"] / old["seconds"])
            print(f"pair {k + 1}: {args.against} {old['seconds']:.1f} s, this checkout {new['seconds']:.1f} s: "
                  f"new/old {ratios[-1]:.2f}")
        print(f"year run new/old over {args.pairs} pairs: {min(ratios):.2f}-{max(ratios):.2f}")

    if not args.skip_year:
        y = year_run(args.epoch_days)
        print(f"year run: {y['leads']} leads, {y['activities']} activities, {y['alerts']} alerts, "
              f"{y['mql']} MQL moments, {y['sla_clocks']} SLA clocks, epoch {args.epoch_days:g} d: {y['seconds']:.1f} s "
              f"wall, {y['cpu_seconds']:.1f} s CPU (target <= 10 s), "
              f"peak {y['peak_gib']:.2f} GiB (target < 2 GiB)")
    if not args.skip_sweep:
        serial, pooled, load_serial, load_pooled = sweep_speedup()
        print(f"sweep of 16 runs: serial {serial:.1f} s, 2 workers {pooled:.1f} s, "
              f"speed-up {serial / pooled:.2f}x (target >= 1.7x)")
        if load_serial is not None and load_pooled is not None:
            print(f"  both sides warm (workers ran init_worker); other processes kept {load_serial:.2f} cores busy "
                  f"during serial, {load_pooled:.2f} during 2 workers (above ~0.1: not a quiet machine)")
    bare = bare_simpy(args.customers)
    mine, served = leadsim_queueing(args.customers)
    print(f"bare SimPy M/M/{C}: {args.customers} customers, {bare:,.0f} customers/s")
    print(f"leadsim Scenario.queueing M/M/{C}: {served} customers, {mine:,.0f} customers/s")
    print(f"ratio leadsim/simpy customers per second: {mine / bare:.2f}")


if __name__ == "__main__":
    main()
