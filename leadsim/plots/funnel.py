"""Funnel and SLA charts: waterfall, time in stage, SLA breach rate per level.

Each takes ``ax=None`` (a new figure when None) and returns the axes.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.funnel import waterfall
>>> log = pd.DataFrame({"lead_id": ["A", "A", "B"], "stage": ["name", "lead", "name"],
...                     "at": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04"])})
>>> ax = plot_waterfall(waterfall(log, load_definition()))
>>> ax.get_ylabel()
'leads'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_sla_breach", "plot_time_in_stage", "plot_waterfall"]


def _ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    return ax


def plot_waterfall(wf: Any, ax: Any = None, *, group: Any = None) -> Any:
    """Bars of leads reaching each stage, with the stage-to-stage conversion on top.

    ``wf``: a :class:`leadsim.funnel.Waterfall` (or its ``stages`` table);
    with a grouped waterfall, ``group`` picks one group (default: all summed).
    """
    ax = _ax(ax)
    st = wf.stages if hasattr(wf, "stages") else wf
    by = getattr(wf, "by", None)
    if by and by in st.columns:
        if group is not None:
            st = st[st[by] == group]
        else:
            st = st.groupby(["stage", "label", "part"], sort=False, as_index=False)[["reached", "entered", "converted"]].sum(min_count=1)
    st = st.reset_index(drop=True)
    colors = ["#4C72B0" if p != "exit" else "#C44E52" for p in st["part"]]
    x = np.arange(len(st))
    ax.bar(x, st["reached"], color=colors)
    main = st["part"] != "exit"
    reached = st["reached"].to_numpy(dtype=float)
    entered = st["entered"].to_numpy(dtype=float)
    converted = st["converted"].to_numpy(dtype=float)
    for i in range(1, len(st)):
        # conversion over the leads that went through the stage before (see leadsim.funnel.Waterfall)
        if main.iloc[i] and main.iloc[i - 1] and entered[i - 1] > 0 and not np.isnan(converted[i]):
            ax.annotate(f"{converted[i] / entered[i - 1]:.0%}", (x[i], reached[i]), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, st["label"], rotation=30, ha="right")
    ax.set_ylabel("leads")
    ax.set_title("Funnel waterfall (red: exits)")
    return ax


def plot_time_in_stage(vel: pd.DataFrame, ax: Any = None) -> Any:
    """Horizontal bars of median time in each stage, with whiskers to p80 and p95 (days)."""
    ax = _ax(ax)
    v = vel[vel["visits"] > 0].dropna(subset=["median_days"])
    y = np.arange(len(v))
    ax.barh(y, v["median_days"], color="#4C72B0", label="median")
    ax.hlines(y, v["median_days"], v["p80_days"], color="#DD8452", lw=3, label="to p80")
    ax.hlines(y, v["p80_days"], v["p95_days"], color="#999999", lw=1, label="to p95")
    ax.set_yticks(y, v["label"])
    ax.invert_yaxis()
    ax.set_xlabel("days in stage (every visit, recycled loops included)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_sla_breach(levels: pd.DataFrame, ax: Any = None) -> Any:
    """Breach rate per clock level (``AuditResult.summary["levels"]``)."""
    ax = _ax(ax)
    lv = levels.reset_index(drop=True)
    labels = [f"{c} {int(level)}" for c, level in zip(lv["clock"], lv["level"], strict=True)]
    clocks = list(dict.fromkeys(lv["clock"]))
    cmap = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3"]
    ax.bar(np.arange(len(lv)), lv["breach_rate"].fillna(0), color=[cmap[clocks.index(c) % len(cmap)] for c in lv["clock"]])
    ax.set_xticks(np.arange(len(lv)), labels, rotation=45, ha="right")
    ax.set_ylabel("breach rate (fired / due)")
    ax.set_ylim(0, 1)
    ax.set_title("SLA breaches per level")
    return ax
