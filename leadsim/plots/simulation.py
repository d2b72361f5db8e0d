"""Figures of simulation runs and sweeps (matplotlib; each takes ``ax=None``, returns the axes).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> sw = pd.DataFrame({"sdr_headcount": [2, 3, 2, 3], "kpi": ["w", "w", "p", "p"],
...                    "mean": [1.0, 0.5, 0.4, 0.2], "lo": [0.8, 0.4, 0.3, 0.1], "hi": [1.2, 0.6, 0.5, 0.3]})
>>> kpi_vs_parameter(sw, "sdr_headcount", "w").get_xlabel()
'sdr_headcount'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from leadsim.errors import ScenarioError

__all__ = ["backtest_chart", "breach_heatmap", "kpi_vs_parameter", "queue_over_time"]


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _pick(sweep: pd.DataFrame, kpi: str) -> pd.DataFrame:
    if "kpi" not in sweep.columns:
        raise ScenarioError("expected a sweep() table with a 'kpi' column", where="sweep")
    sub = sweep[sweep["kpi"] == kpi]
    if sub.empty:
        raise ScenarioError(f"unknown KPI {kpi!r}; the sweep has {sorted(sweep['kpi'].unique())[:10]} ...", where="kpi")
    return sub


def _short(key: str) -> str:
    """A dotted scenario key as a readable label.

    >>> _short("definition.sla.clocks.response.levels.1.offset"), _short("definition.thresholds.mql")
    ('response level 1 offset', 'thresholds mql')
    """
    parts = str(key).split(".")
    if "clocks" in parts:
        parts = parts[parts.index("clocks") + 1:]
    elif parts[0] == "definition":
        parts = parts[1:]
    return " ".join("level" if p == "levels" else p for p in parts)


def _is_rate(kpi: str) -> bool:
    return kpi.startswith(("breach_rate", "p_")) or kpi.endswith(("_rate", "_share", "lead_to_sales_lead"))


def kpi_vs_parameter(sweep: pd.DataFrame, parameter: str, kpi: str, *, by: str | None = None, ax=None):
    """A KPI's mean against a swept parameter, with its confidence band (one line per ``by`` value).

    Bands of rates and shares are clipped to [0, 1]; whole-number parameters
    (headcounts) get whole-number ticks.
    """
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    sub = _pick(sweep, kpi)
    if parameter not in sub.columns:
        raise ScenarioError(f"{parameter!r} is not a swept parameter", where="parameter")
    groups = [(None, sub)] if by is None else list(sub.groupby(by))
    for key, g in groups:
        g = g.sort_values(parameter, kind="stable")
        label = kpi if key is None else f"{_short(by)} = {key:g}" if isinstance(key, int | float) else f"{_short(by)} = {key}"
        ax.plot(g[parameter], g["mean"], marker="o", label=label)
        if g["lo"].notna().any():
            lo, hi = (g["lo"].clip(0, 1), g["hi"].clip(0, 1)) if _is_rate(kpi) else (g["lo"], g["hi"])
            ax.fill_between(g[parameter], lo, hi, alpha=0.2)
    if pd.api.types.is_integer_dtype(sub[parameter]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_short(parameter))
    ax.set_ylabel(kpi)
    ax.set_title(f"{kpi} vs {_short(parameter)} (95% CI)")
    if by is not None:
        ax.legend()
    return ax


def queue_over_time(result, *, ax=None):
    """SDR and rep queue lengths and utilisation (busy / on shift) over a run."""
    ax = _axes(ax)
    mon = result.monitor
    if mon is None or mon.empty:
        raise ScenarioError("this run has no monitor series (queueing runs do not record one)", where="result")
    t = pd.Timestamp(result.scenario.start) + pd.to_timedelta(mon["t"], unit="min")
    ax.step(t, mon["sdr_queue"], where="post", label="SDR queue")
    ax.step(t, mon["rep_queue"], where="post", label="rep queues")
    ax.set_ylabel("leads waiting")
    ax2 = ax.twinx()
    for role, style in (("sdr", ":"), ("rep", "--")):
        on = mon[f"{role}_on_shift"].to_numpy(float)
        util = np.divide(mon[f"{role}_busy"].to_numpy(float), on, out=np.full(len(on), np.nan), where=on > 0)
        daily = pd.Series(util, index=t).resample("D").mean()
        ax2.plot(daily.index, daily.to_numpy(), style, label=f"{role.upper()} utilisation (daily)")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("utilisation")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize="small")
    ax.set_title(f"Queues and utilisation ({result.scenario.name})")
    return ax


def breach_heatmap(sweep: pd.DataFrame, x: str, y: str, kpi: str = "breach_rate.response.1", *, ax=None):
    """A breach rate (or any KPI) over two swept parameters."""
    ax = _axes(ax)
    sub = _pick(sweep, kpi)
    table = sub.pivot_table(index=y, columns=x, values="mean", aggfunc="mean").sort_index(ascending=False, kind="stable")
    im = ax.imshow(table.to_numpy(float), aspect="auto", cmap="Reds")
    ax.set_xticks(range(table.shape[1]), [str(v) for v in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(v) for v in table.index])
    for (i, j), v in np.ndenumerate(table.to_numpy(float)):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize="small")
    ax.set_xlabel(_short(x))
    ax.set_ylabel(_short(y))
    ax.set_title(kpi)
    ax.figure.colorbar(im, ax=ax)
    return ax


def backtest_chart(table: pd.DataFrame, ax=None):
    """A back-test table (:class:`leadsim.simulation.backtest.Backtest`): per metric the simulated prediction
    interval and median, relative to the median, with the actual marked (filled: inside, open: outside).

    >>> t = pd.DataFrame({"metric": ["a", "b"], "actual": [10.0, 3.0], "simulated": [9.0, 1.0], "lo": [7.0, 0.5],
    ...                   "hi": [12.0, 2.0], "inside": [True, False]})
    >>> backtest_chart(t).get_xlabel()
    'relative to the simulated median'
    """
    t = table[np.isfinite(table["simulated"]) & (table["simulated"] != 0)].reset_index(drop=True)
    if ax is None:  # one row a metric
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(t) + 1.5))
        fig.subplots_adjust(left=0.3)
    y = np.arange(len(t))[::-1]
    base = t["simulated"].to_numpy(float)
    ax.hlines(y, t["lo"] / base, t["hi"] / base, color="tab:blue", lw=3, alpha=0.5, label="95% prediction interval")
    ax.plot(np.ones(len(t)), y, "|", color="tab:blue", ms=12)
    inside = t["inside"].to_numpy(bool)
    rel = t["actual"].to_numpy(float) / base
    ax.plot(rel[inside], y[inside], "o", color="black", label="actual, inside")
    ax.plot(rel[~inside], y[~inside], "o", mfc="white", color="tab:red", label="actual, outside")
    ax.set_yticks(y, t["metric"])
    ax.set_xlabel("relative to the simulated median")
    ax.legend(loc="lower right", fontsize=8)
    return ax
