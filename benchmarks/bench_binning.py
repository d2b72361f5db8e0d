"""Monotone binning for criteria discovery: scikit-learn's tree (leadsim) against optbinning, on the same flat table.

The flat export of :func:`leadsim.datasets.make_flat_export` has known bin
edges: ``company_size`` steps up at 200 and 1,000 employees, ``time_on_site``
at 10 minutes.  For each seed both methods bin both columns against the
converted flag; the script reports, per method, the median seconds per
column and how well the edges match the truth:

* ``edge error``: for each true edge, the distance to the nearest edge found,
  as a share of the column's range (the issue's bar: within 5 %);
* ``missed``: true edges with no found edge within 5 % of the range;
* ``spurious``: found edges farther than 5 % of the range from every true edge.

optbinning is not a leadsim dependency: run the script in a throwaway
environment that has it (``pip install optbinning`` next to leadsim), or it
reports the tree alone.  ``--rows`` and ``--seeds`` set the size.

    python benchmarks/bench_binning.py --rows 20000 --seeds 5
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from leadsim.calibration.binning import monotone_edges
from leadsim.datasets import make_flat_export


def _tree(x, y):
    return monotone_edges(x, y)


def _optbinning(x, y):
    from optbinning import OptimalBinning

    ob = OptimalBinning(name="x", dtype="numerical", monotonic_trend="auto_asc_desc", solver="cp")
    ob.fit(x, y)
    return [float(s) for s in ob.splits]


def _score(found, truth, span):
    found = np.asarray(found, dtype=float)
    err = [float(np.min(np.abs(found - t)) / span) if len(found) else 1.0 for t in truth]
    missed = sum(e > 0.05 for e in err)
    spurious = sum(min(abs(f - t) for t in truth) / span > 0.05 for f in found)
    return err, missed, spurious


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    methods = {"scikit-learn tree (leadsim)": _tree}
    try:
        import optbinning

        methods[f"optbinning {optbinning.__version__} (cp solver)"] = _optbinning
    except ImportError:
        print("optbinning: not installed here; reporting the tree only")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()}; rows {args.rows:,}, seeds {args.seeds}")
    for name, fn in methods.items():
        secs, errs, missed, spurious = [], [], 0, 0
        for seed in range(args.seeds):
            flat = make_flat_export(n=args.rows, seed=seed)
            y = flat.table["converted"].to_numpy()
            for col, truth in flat.edges.items():
                x = flat.table[col].to_numpy(dtype=float)
                lo, hi = flat.ranges[col]
                t0 = time.perf_counter()
                found = fn(x, y)
                secs.append(time.perf_counter() - t0)
                e, m, s = _score(found, truth, hi - lo)
                errs += e
                missed += m
                spurious += s
        print(f"{name}: median seconds per column {np.median(secs):.3f}; edge error mean {np.mean(errs):.2%}, "
              f"max {np.max(errs):.2%} of the range; missed {missed} of {len(errs)} true edges; "
              f"spurious edges {spurious}")


if __name__ == "__main__":
    main()
