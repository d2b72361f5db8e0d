"""Plots of a scoring snapshot (the output of :func:`leadsim.scoring.score`).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> s = pd.DataFrame({"score": [10.0, 55, 120, 80], "grade": ["D", "C", "A", "B"],
...                   "engagement": ["4", "3", "1", "2"]})
>>> ax = plot_score_distribution(s, mql=100)
>>> [t.get_text() for t in ax.get_legend().get_texts()]
['A', 'B', 'C', 'D']
>>> ax = plot_grade_engagement(s)
>>> int(ax.images[0].get_array().sum())
4
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_grade_engagement", "plot_score_distribution"]


def _order(values: pd.Series, given) -> list[str]:
    return list(given) if given is not None else sorted(values.dropna().astype(str).unique())


def plot_score_distribution(scores: pd.DataFrame, *, mql: float | None = None, bins: int = 30, grades=None, ax=None):
    """Stacked histogram of ``score`` by fit ``grade``; a dashed line at the MQL threshold.

    ``grades`` orders the stack (default: sorted, e.g. A..D; pass
    ``definition.thresholds.fit_grades`` for the definition's order).
    """
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    order = _order(scores["grade"], grades)
    values = scores["score"].to_numpy(dtype=float)
    edges = np.histogram_bin_edges(values, bins=bins) if len(values) else np.linspace(0, 1, bins + 1)
    data = [values[(scores["grade"].astype(str) == g).to_numpy()] for g in order]
    ax.hist(data, bins=edges, stacked=True, label=order)
    if mql is not None:
        ax.axvline(mql, color="black", linestyle="--", linewidth=1)
        ax.annotate("MQL", (mql, 1), xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points")
    ax.set_xlabel("score")
    ax.set_ylabel("leads")
    ax.set_title("Score distribution by fit grade")
    ax.legend(title="grade")
    return ax


def plot_grade_engagement(scores: pd.DataFrame, *, grades=None, engagement=None, ax=None):
    """Heat map of lead counts: fit grade (rows) x engagement band (columns), counts written in."""
    ax = ax or plt.subplots(figsize=(5, 4))[1]
    rows = _order(scores["grade"], grades)
    cols = _order(scores["engagement"], engagement)
    table = (
        pd.crosstab(scores["grade"].astype(str), scores["engagement"].astype(str))
        .reindex(index=rows, columns=cols, fill_value=0)
        .to_numpy()
    )
    im = ax.imshow(table, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("engagement")
    ax.set_ylabel("fit grade")
    ax.set_title("Leads by grade and engagement")
    top = table.max() if table.size else 0
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{table[i, j]:,}", ha="center", va="center", color="white" if table[i, j] > top / 2 else "black")
    ax.figure.colorbar(im, ax=ax, label="leads")
    return ax
