"""Monotone bins of a number and groups of category levels: the shapes discovery turns into rules.

* :func:`monotone_edges`: where a number's SQL rate steps up (or down).  A
  scikit-learn decision tree with ``monotonic_cst`` (the direction from the
  Spearman correlation) proposes at most ``max_bins`` bins of at least
  ``min_share`` of the rows; adjacent bins whose rates do not differ (a
  two-proportion z-test at ``alpha``, Bonferroni-corrected over the tree's
  cuts since the tree picked them) are merged; the edges are rounded to
  a readable step (1 % of the range, on a 1-2-5 scale).  The monotone tree
  is what scorecard libraries' "monotone optimal binning" computes with a
  solver (see ``docs/design.md`` section 1.10, "Criteria discovery", for why leadsim
  uses the tree);
* :func:`level_groups`: which category levels convert better or worse than
  the bulk of the levels.

>>> import numpy as np
>>> rng = np.random.default_rng(4)
>>> x = rng.uniform(0, 100, 6000)
>>> y = rng.random(6000) < np.where(x < 30, 0.1, np.where(x < 70, 0.3, 0.6))
>>> monotone_edges(x, y)
[30.0, 70.0]
>>> lv = rng.choice(["a", "b", "c", "d", "e"], 6000, p=[.3, .3, .2, .1, .1])
>>> y2 = rng.random(6000) < np.select([lv == "d", lv == "e"], [0.5, 0.05], 0.2)
>>> level_groups(lv, y2)
{'higher': ['d'], 'lower': ['e']}
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["level_groups", "monotone_edges", "readable_step"]


def readable_step(span: float) -> float:
    """About 1 % of ``span`` (at most 1.05 %): the largest 1, 2 or 5 times a power of ten below it (edges are rounded to it).

    >>> readable_step(100.0), readable_step(3.7), readable_step(25000.0)
    (1.0, 0.02, 200.0)
    """
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / 100.0 * 1.05  # a sample's range falls a little short of the true one
    power = 10.0 ** math.floor(math.log10(raw))
    return max(k * power for k in (1.0, 2.0, 5.0) if k * power <= raw)




def monotone_edges(x, y, *, max_bins: int = 6, min_share: float = 0.05, min_rows: int = 30,
                   alpha: float = 0.01, sample_weight=None) -> list[float]:
    """Ascending bin edges where the rate of ``y`` steps monotonically with ``x`` (missing values ignored).

    ``[]`` when the number does not move the rate (no split survives the
    merging) or holds fewer than ``2 * min_rows`` known values.
    """
    from scipy.stats import norm, spearmanr
    from sklearn.tree import DecisionTreeClassifier

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    ok = ~np.isnan(x)
    x, y, w = x[ok], y[ok], w[ok]
    if len(x) < 2 * min_rows or len(np.unique(x)) < 2 or len(np.unique(y)) < 2:
        return []
    rho = spearmanr(x, y).statistic
    sign = 1 if not np.isfinite(rho) or rho >= 0 else -1
    leaf = max(int(min_share * len(x)), min_rows)
    tree = DecisionTreeClassifier(max_leaf_nodes=max_bins, min_samples_leaf=leaf, monotonic_cst=[sign],
                                  random_state=0).fit(x[:, None], y, sample_weight=w)
    t = tree.tree_
    cuts = sorted(float(v) for v, f in zip(t.threshold, t.feature, strict=True) if f >= 0)
    if not cuts:
        return []
    z = float(norm.ppf(1 - alpha / (2 * len(cuts))))  # the tree chose its cuts: Bonferroni over them
    edges = list(cuts)
    while edges:  # merge the adjacent pair that differs least, while some pair does not differ
        bins = np.searchsorted(edges, x, side="right")
        n = np.bincount(bins, weights=w, minlength=len(edges) + 1)
        s = np.bincount(bins, weights=w * y, minlength=len(edges) + 1)
        stats = []
        for k in range(len(edges)):
            if n[k] == 0 or n[k + 1] == 0:
                stats.append(0.0)
                continue
            p = (s[k] + s[k + 1]) / (n[k] + n[k + 1])
            se = math.sqrt(max(p * (1 - p) * (1 / n[k] + 1 / n[k + 1]), 1e-300))
            stats.append(abs(s[k] / n[k] - s[k + 1] / n[k + 1]) / se)
        k = int(np.argmin(stats))
        if stats[k] > z:
            break
        del edges[k]
    step = readable_step(float(x.max() - x.min()))
    out = sorted({round(round(e / step) * step, 10) for e in edges})
    return [float(e) for e in out]


def level_groups(values, y, *, min_count: int = 20, alpha: float = 0.01,
                 sample_weight=None) -> dict[str, list[str]]:
    """Levels whose SQL rate is clearly ``higher`` or ``lower`` than the bulk of the levels.

    Each level seen at least ``min_count`` times is compared with the pooled
    rest of the *bulk* (a two-proportion z-test at ``alpha``, Bonferroni over
    the levels); levels that differ leave the bulk and the comparison is
    repeated until the bulk is stable, so a few strong levels do not pull the
    reference.  Missing values are not a level.  Levels come out sorted.
    """
    v = pd.Series(np.asarray(values, dtype=object)).astype("string")
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    known = v.notna().to_numpy(dtype=bool)
    frame = pd.DataFrame({"v": v[known].to_numpy(dtype=object), "y": y[known] * w[known], "w": w[known]})
    g = frame.groupby("v", sort=True).agg(n=("w", "sum"), s=("y", "sum"))
    g = g[g["n"] >= min_count]
    if len(g) < 2:
        return {"higher": [], "lower": []}
    from scipy.stats import norm

    n, k = g["n"].to_numpy(dtype=float), g["s"].to_numpy(dtype=float)
    z = float(norm.ppf(1 - alpha / (2 * len(g))))
    bulk = np.ones(len(g), dtype=bool)
    stat = np.zeros(len(g))
    for _ in range(10):  # the bulk: levels that do not differ from the rest of the bulk
        for i in range(len(g)):
            rest = bulk.copy()
            rest[i] = False
            n2, k2 = n[rest].sum(), k[rest].sum()
            if n2 == 0:
                stat[i] = 0.0
                continue
            p = (k[i] + k2) / (n[i] + n2)
            se = math.sqrt(max(p * (1 - p) * (1 / n[i] + 1 / n2), 1e-300))
            stat[i] = (k[i] / n[i] - k2 / n2) / se
        new = np.abs(stat) <= z
        if not new.any() or (new == bulk).all():
            break
        bulk = new
    higher = sorted(str(v) for v in g.index[stat > z])
    lower = sorted(str(v) for v in g.index[stat < -z])
    return {"higher": higher, "lower": lower}
