"""Benchmark: fitting a scenario to the sample, and a back-test of one quarter against plain simulation runs.

    python benchmarks/bench_backtest.py                  # from_history, then back-test vs 20 plain runs
    python benchmarks/bench_backtest.py --coverage 100   # prediction-interval coverage over 100 known truths
    python benchmarks/bench_backtest.py --fit-coverage 50  # from_history's intervals over 50 histories a world

The default run times ``Scenario.from_history`` on the embedded sample (a quarter's window), then a back-test of
one quarter with 20 replications (``leadsim.simulation.backtest``: fit on the quarter before, simulate the quarter
after a warm-up as long as the fit window, measure both sides) against 20 plain ``simulate`` runs of the same fitted
quarter on the same default pool (2 processes), in the same run.  Last lines: ``ratio backtest/simulate: X`` (goal <= 1.5) and
``backtest seconds: X`` (goal <= 60 on 2 cores).

``--coverage N`` simulates N five-week histories of about 1,300 leads from one truth
(``leadsim.simulation.truths.backtest_truth``, the suite's coverage test's), back-tests each (fit on the first three
weeks, predict the last two) and prints, per metric, how often the 90 % prediction interval covered what happened
(goal: 80-97 %), and in how many histories the actual sat exactly on an end of its interval (a breach rate of 0 when
breaches are rare): the range it prints is over the metrics not tied in most histories.

``--fit-coverage N`` simulates N histories from each of ``leadsim.simulation.truths.FIT_WORLDS`` (other arrival rates
per source, headcounts, shift hours and handling times than the sample's), fits each whole and prints how often
``from_history``'s 95 % interval held each true value (goal: at least 90 %, headcounts exactly).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import sys
import time
import warnings

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coverage", type=int, metavar="N", help="coverage over N simulated histories instead")
    ap.add_argument("--fit-coverage", type=int, metavar="N",
                    help="how often from_history's 95 %% intervals hold the truth, over N histories a world")
    ap.add_argument("--replications", type=int, default=20)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from leadsim.datasets import load_sample
    from leadsim.simulation.backtest import backtest, coverage
    from leadsim.simulation.replication import init_worker, run_tasks, seeds
    from leadsim.simulation.scenario import Scenario
    from leadsim.simulation.truths import FIT_WORLDS, backtest_truth, fit_coverage

    if args.fit_coverage:
        t0 = time.perf_counter()
        tables = []
        for name, world in FIT_WORLDS.items():
            cov = fit_coverage(world, runs=args.fit_coverage, progress=True)
            tables.append(cov.assign(world=name))
        cov = pd.concat(tables, ignore_index=True)
        print(cov.round(3).to_string(index=False))
        rest = cov[~cov["parameter"].str.endswith("headcount")]
        heads = cov[cov["parameter"].str.endswith("headcount")]
        print(f"fit intervals holding the truth over {args.fit_coverage} histories a world: "
              f"{rest['share'].min():.2f}-{rest['share'].max():.2f} (median {rest['share'].median():.2f}); "
              f"headcounts exact in {int(heads['covered'].sum())} of {int(heads['runs'].sum())}; "
              f"{time.perf_counter() - t0:.0f} s")
        return 0
    if args.coverage:
        t0 = time.perf_counter()
        sc = backtest_truth()
        cov = coverage(sc, runs=args.coverage, fit_days=21, replications=args.replications,
                       level=0.90, progress=True)
        print(cov.to_string(index=False))
        spread = cov[cov["tied"] <= cov["runs"] / 2]  # most runs decided by the interval's spread, not by a tie
        tied = cov.loc[cov["tied"] > cov["runs"] / 2, "metric"].tolist()
        print(f"coverage of 90% prediction intervals over {args.coverage} histories: "
              f"{spread['share'].min():.2f}-{spread['share'].max():.2f} (median {spread['share'].median():.2f}) "
              f"over the {len(spread)} metrics not tied in most histories"
              + (f" (tied: {', '.join(tied)})" if tied else "") + f"; {time.perf_counter() - t0:.0f} s")
        return 0

    h = load_sample()
    t0 = time.perf_counter()
    fitted = Scenario.from_history(h, h.definition, start="2025-10-06", end="2026-01-05")
    print(f"from_history on the sample (2025-10-06..2026-01-05, {len(fitted.provenance)} figures): "
          f"{time.perf_counter() - t0:.1f} s")
    with cf.ProcessPoolExecutor(2, initializer=init_worker) as pool:
        list(pool.map(abs, range(4)))  # workers up before either side is timed
        t0 = time.perf_counter()
        bt = backtest(h, h.definition, start="2025-10-06", fit_until="2026-01-05", until="2026-04-06",
                      replications=args.replications, executor=pool)
        bt_s = time.perf_counter() - t0
        ahead = bt.scenario.with_values({"start": "2025-10-06", "horizon_days": 91 + 91, "warmup_days": 91})
        t0 = time.perf_counter()
        run_tasks(_kpis, [(ahead.model_dump(mode="json"), s) for s in seeds(0, args.replications)], executor=pool)
        sim_s = time.perf_counter() - t0
    inside = int(bt.table["inside"].sum())
    print(f"back-test: {inside} of {len(bt.table)} metrics inside; {bt.method}")
    print(f"{args.replications} plain simulate runs of the same quarter: {sim_s:.1f} s")
    print(f"ratio backtest/simulate: {bt_s / sim_s:.2f}")
    print(f"backtest seconds: {bt_s:.1f}")
    return 0


def _kpis(data, seed):
    from leadsim.simulation import simulate
    from leadsim.simulation.scenario import build

    return simulate(build(data, source="bench"), seed=seed).kpis.to_dict()


if __name__ == "__main__":
    sys.exit(main())
