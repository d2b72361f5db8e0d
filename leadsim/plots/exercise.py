"""Figures of the 100-companies exercise: the agreement matrix and scores by verdict.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.exercise import compare
>>> rep = compare({"marketing": pd.Series({"A": "good", "B": "not", "C": "good"}),
...                "sales": pd.Series({"A": "good", "B": "not", "C": "not"})}, load_definition())
>>> ax = plot_agreement_matrix(rep)
>>> ax.get_title()
"Cohen's kappa between reviewers"
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_agreement_matrix", "plot_scores_by_verdict"]

#: Colours of the verdicts (colour-blind safe: Okabe-Ito).
VERDICT_COLOURS = {"good": "#009E73", "not": "#D55E00", "unsure": "#E69F00", "missing": "#999999"}


def plot_agreement_matrix(report: Any, ax: Any = None, *, weighted: bool = False) -> Any:
    """Heat map of Cohen's kappa for every pair of reviewers (diagonal 1).

    Each cell shows kappa, its interval and the number of companies compared;
    ``weighted=True`` shows the population-weighted kappa instead.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * len(report.reviewers) + 2, 1.3 * len(report.reviewers) + 1.2))
    names = list(report.reviewers)
    k = len(names)
    m = np.eye(k)
    table = report.weighted if weighted else report.pairs
    labels = [["1" if i == j else "" for j in range(k)] for i in range(k)]
    for row in table.itertuples(index=False):
        i, j = names.index(row.a), names.index(row.b)
        m[i, j] = m[j, i] = row.kappa
        text = f"{row.kappa:.2f}" if np.isfinite(row.kappa) else "n/a"
        if not weighted and np.isfinite(row.kappa_low):
            text += f"\n[{row.kappa_low:.2f}, {row.kappa_high:.2f}]"
        text += f"\nn={row.n}"
        labels[i][j] = labels[j][i] = text
    im = ax.imshow(np.ma.masked_invalid(m), cmap="RdYlGn", vmin=-1, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_title("Cohen's kappa between reviewers" + (" (population-weighted)" if weighted else ""))
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="kappa")
    return ax


def plot_scores_by_verdict(report: Any, ax: Any = None, *, reviewers: list[str] | None = None,
                           threshold: float | None = None, seed: int = 0) -> Any:
    """The definition's score of every company, one row per head, coloured by that head's verdict.

    Needs a report built with a key (the scores come from it).  The MQL
    threshold (``threshold``, or the report's) is drawn as a dashed line, so
    the good verdicts left of it and the "not"s right of it stand out.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from leadsim.errors import VerdictError

    if "score" not in report.table.columns:
        raise VerdictError("the report has no scores; build it with compare(..., key=read_key(...))")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.2 + 0.9 * 3))
    heads = reviewers or [r for r in report.reviewers if r != "definition"]
    rng = np.random.default_rng(seed)
    score = report.table["score"].to_numpy(dtype=float)
    for row, head in enumerate(heads):
        verdict = report.table[head].fillna("missing").astype(str).to_numpy()
        y = row + rng.uniform(-0.25, 0.25, len(score))
        for v, colour in VERDICT_COLOURS.items():
            sel = verdict == v
            ax.scatter(score[sel], y[sel], s=22, color=colour, alpha=0.85, edgecolors="none")
    thr = threshold if threshold is not None else report.threshold
    if thr is not None:
        ax.axvline(thr, color="black", linestyle="--", linewidth=1)
        ax.text(thr, len(heads) - 0.45, f" MQL threshold {thr:g}", fontsize=8, va="bottom")
    ax.set_yticks(range(len(heads)), heads)
    ax.set_ylim(-0.6, len(heads) - 0.2)
    ax.set_xlabel("definition's score at sampling time")
    ax.set_title("Scores coloured by the heads' verdicts")
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=v) for v, c in VERDICT_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return ax
