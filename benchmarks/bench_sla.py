"""Benchmark: SLA audit of 1,000,000 hand-offs with 3,000,000 touches (target <= 10 s).

    python benchmarks/bench_sla.py                   # full size
    python benchmarks/bench_sla.py --leads 20000 --touches 60000 --naive 2000   # quick

Each synthetic lead enters Name, then Lead (a hand-off watched by the
``response`` clock), then Sales Lead (a hand-off watched by ``touch`` and
``process``), then most leave for Opportunity, Target (recycle) or
Disqualified; so ``--leads N`` gives 2N hand-offs.  ``naive_audit`` (from
``tests/reference_sla.py``, the reference the tests check :func:`leadsim.sla.audit`
against) is the named baseline: a plain per-hand-off Python loop.  Last line: ``audit seconds: X.XX``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from leadsim.definition import load_definition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for its tests' reference audit
from tests.reference_sla import naive_audit

_MIN = 60_000_000_000


def make_data(n_leads: int, n_touches: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A synthetic stage log, touches and owners with ``2 * n_leads`` hand-offs."""
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(n_leads)).astype(str).str.zfill(8)
    ids = ("L" + ids).to_numpy()
    base = np.datetime64("2025-01-06T08:00", "ns").astype(np.int64)
    t_name = base + rng.integers(0, 365 * 1440, n_leads) * _MIN
    t_lead = t_name + rng.integers(60, 30 * 1440, n_leads) * _MIN
    t_sales = t_lead + rng.integers(10, 10 * 1440, n_leads) * _MIN
    t_exit = t_sales + rng.integers(60, 20 * 1440, n_leads) * _MIN
    exit_kind = rng.choice(np.array(["opportunity", "target", "disqualified", ""], dtype=object), n_leads, p=[0.5, 0.2, 0.2, 0.1])
    owners = np.array([f"rep{i:03d}" for i in range(200)], dtype=object)
    sdrs = np.array([f"sdr{i:02d}" for i in range(40)], dtype=object)
    sdr = sdrs[rng.integers(0, len(sdrs), n_leads)]
    rep = owners[rng.integers(0, len(owners), n_leads)]
    has_exit = exit_kind != ""
    log = pd.DataFrame(
        {
            "lead_id": np.concatenate([ids, ids, ids, ids[has_exit]]),
            "stage": np.concatenate([np.full(n_leads, "name", dtype=object), np.full(n_leads, "lead", dtype=object),
                                     np.full(n_leads, "sales_lead", dtype=object), exit_kind[has_exit]]),
            "at": np.concatenate([t_name, t_lead, t_sales, t_exit[has_exit]]).astype("datetime64[ns]"),
            "owner": np.concatenate([np.full(n_leads, None, dtype=object), sdr, rep, rep[has_exit]]),
        }
    )
    k = rng.integers(0, n_leads, n_touches)
    first = rng.random(n_touches) < 0.5
    start = np.where(first, t_lead[k], t_sales[k])
    who = np.where(first, sdr[k], rep[k])
    touches = pd.DataFrame(
        {
            "lead_id": ids[k],
            "at": (start + rng.exponential(2 * 1440, n_touches).astype(np.int64) * _MIN).astype("datetime64[ns]"),
            "kind": "call",
            "by": who,
        }
    )
    own = pd.DataFrame(
        {
            "owner": np.concatenate([owners, sdrs]),
            "role": ["rep"] * len(owners) + ["sdr"] * len(sdrs),
            "manager": [f"mgr{i % 10}" for i in range(len(owners))] + ["sdr-lead"] * len(sdrs),
            "team": "t",
        }
    )
    return log, touches, own


def main(argv: list[str] | None = None) -> None:
    from leadsim.funnel import validate_stage_log
    from leadsim.sla import audit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=500_000, help="leads (hand-offs = 2 x leads)")
    ap.add_argument("--touches", type=int, default=3_000_000)
    ap.add_argument("--naive", type=int, default=10_000, help="hand-offs in the naive baseline subset")
    args = ap.parse_args(argv)
    d = load_definition()
    log, touches, owners = make_data(args.leads, args.touches)
    as_of = pd.Timestamp("2026-06-30")
    print(f"{len(log):,} stage-log rows, {2 * args.leads:,} hand-offs, {len(touches):,} touches")

    t0, c0 = time.perf_counter(), time.process_time()
    res = audit(log, touches, d, owners=owners, as_of=as_of)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_h = res.summary["n_handoffs"]
    print(f"leadsim audit: {secs:.2f} s wall, {cpu:.2f} s CPU (process), {n_h:,} hand-offs, {len(res.alerts):,} alerts")
    print(res.summary["levels"].to_string(index=False))

    # naive baseline on a subset of leads (2 hand-offs each)
    sub_ids = log["lead_id"].drop_duplicates().iloc[: args.naive // 2]
    sub_log = validate_stage_log(log[log["lead_id"].isin(sub_ids)], d)
    sub_t = touches[touches["lead_id"].isin(sub_ids)]
    t0 = time.perf_counter()
    ref = naive_audit(sub_log, sub_t, d, as_of)
    naive_secs = time.perf_counter() - t0
    n_sub = 2 * len(sub_ids)
    cols = ["lead_id", "clock", "level", "due_at"]
    mine = res.alerts[res.alerts["lead_id"].isin(sub_ids)][cols]
    mine = mine.sort_values(cols, kind="stable").reset_index(drop=True)
    same = len(mine) == len(ref) and bool((mine.astype(str).to_numpy() == ref[cols].astype(str).to_numpy()).all())
    print(f"naive loop: {naive_secs:.2f} s for {n_sub:,} hand-offs ({naive_secs / n_sub * 1e6:.0f} us per hand-off); "
          f"same alerts as leadsim: {same}")
    print(f"naive extrapolated to {n_h:,} hand-offs: {naive_secs / n_sub * n_h:.0f} s")
    print(f"ratio leadsim/naive per hand-off: {(secs / n_h) / (naive_secs / n_sub):.3f}")
    print(f"audit seconds: {secs:.2f}")


if __name__ == "__main__":
    main()
