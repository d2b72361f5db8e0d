"""Figures of a calibration report; each takes ``ax=None`` and returns the axes.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> rep = SimpleNamespace(reliability=pd.DataFrame({"model": ["calibrated"], "mean_predicted": [0.3],
...                                                 "observed": [0.28], "n": [50]}))
>>> plot_reliability(rep).get_xlabel()
'predicted chance of SQL'
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from leadsim.points import sort_table

__all__ = ["plot_gain", "plot_lift", "plot_points", "plot_reliability", "plot_volume_precision"]


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


def _labels(ax, labels, legend="best"):
    """Axis labels and title (``labels``: x, y, title) and a small legend."""
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(labels[2])
    ax.legend(loc=legend, fontsize=8)
    return ax


def _per_model(ax, table, x, y, *, reference, labels, legend):
    """One line per model over a dashed diagonal (``reference`` names it); ``x`` may be a function of a model's rows."""
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label=reference)
    for name, g in table.groupby("model", sort=False):
        ax.plot(x(g) if callable(x) else g[x], g[y], marker="o", label=name)
    return _labels(ax, labels, legend)


def plot_reliability(report, ax=None):
    """Observed SQL rate against predicted chance, per model (the diagonal is perfect calibration)."""
    return _per_model(_ax(ax), report.reliability, "mean_predicted", "observed", reference="perfect",
                      labels=("predicted chance of SQL", "observed SQL rate", "Reliability (held-out hand-offs)"),
                      legend="upper left")


def plot_gain(report, ax=None):
    """Cumulative share of SQLs found against share of hand-offs, ranked by each model."""
    return _per_model(_ax(ax), report.lift, lambda g: g["decile"] / g["decile"].max(), "cum_gain",
                      reference="random", labels=("share of hand-offs (best first)", "share of all SQLs",
                                                  "Cumulative gain"), legend="lower right")


def plot_lift(report, ax=None):
    """SQL rate per decile relative to the average, per model."""
    ax = _ax(ax)
    models = list(dict.fromkeys(report.lift["model"]))
    width = 0.8 / max(len(models), 1)
    for i, name in enumerate(models):
        g = report.lift[report.lift["model"] == name]
        ax.bar(g["decile"] + (i - (len(models) - 1) / 2) * width, g["lift"], width=width, label=name)
    ax.axhline(1.0, color="grey", lw=1)
    return _labels(ax, ("decile (1 = highest score)", "lift", "Lift by decile"))


def plot_volume_precision(report, ax=None):
    """Hand-offs per week against the expected Lead -> Sales Lead rate, with the proposed cut-off."""
    ax = _ax(ax)
    c = report.curve
    ax.plot(c["per_week"], c["expected_rate"], label="expected rate")
    ax.plot(c["per_week"], c["observed_rate"], alpha=0.6, label="observed rate (hand-offs)")
    cut = report.scorecard.cutoff_probability
    sel = c[c["cutoff"] >= cut]
    if len(sel):
        ax.axvline(sel["per_week"].iloc[-1], color="black", ls=":", label=f"proposed (p >= {cut:.2f})")
    return _labels(ax, ("hand-offs per week", "Lead -> Sales Lead rate", "Volume / precision trade-off"))


def plot_points(report, ax=None):
    """Proposed points per rule (behaviour: per decayed occurrence)."""
    ax = _ax(ax)
    pts = sort_table(report.scorecard.points)  # equal points by rule id
    colors = ["tab:red" if v < 0 else "tab:blue" for v in pts]
    ax.barh(list(pts.index), pts.to_numpy(), color=colors)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(f"points (PDO {report.scorecard.pdo:.1f}, threshold {report.scorecard.threshold:g})")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Calibrated points per rule")
    return ax
