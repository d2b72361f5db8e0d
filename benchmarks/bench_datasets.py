"""Time make_history and load_sample.

    python benchmarks/bench_datasets.py [--leads 20000] [--repeat 3]

Prints the sizes and the median time of ``make_history(N, 2025-01-01,
2026-11-01, seed=2026)`` and of ``load_sample()``, then a last line
``make_history seconds: X.XX`` (target: well under 60 s for 20,000 leads).
"""

from __future__ import annotations

import argparse
import statistics
import time

from leadsim.datasets import load_sample, make_history
from leadsim.definition import load_definition


def median_time(fn, repeat: int) -> tuple[float, object]:
    """The median wall time of ``repeat`` calls of ``fn``, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t_load, sample = median_time(load_sample, args.repeat)
    print(f"load_sample: {sample} in {t_load:.2f} s (median of {args.repeat})")
    d = load_definition()
    t_make, h = median_time(
        lambda: make_history(d, n_leads=args.leads, start="2025-01-01", end="2026-11-01", seed=2026), args.repeat)
    labelled = h.outcomes["sql"].notna().sum()
    print(f"make_history: {h}; {labelled} labelled hand-offs, {int(h.outcomes['sql'].sum())} SQLs")
    print(f"make_history seconds: {t_make:.2f}")


if __name__ == "__main__":
    main()
