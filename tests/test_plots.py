"""Figures that read a sweep: bands of rates stay within [0, 1], headcounts get whole ticks."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from leadsim.plots.simulation import breach_heatmap, kpi_vs_parameter

KEY = "definition.sla.clocks.response.levels.1.offset"


def _sweep():
    rows = []
    for sdr in (1, 2, 3):
        for window in (15, 30):
            mean = 0.5 / sdr
            rows.append({"sdr_headcount": sdr, KEY: window, "kpi": "breach_rate.response.1", "mean": mean,
                         "lo": mean - 0.6, "hi": mean + 0.7, "n": 2})
    return pd.DataFrame(rows)


def test_rate_bands_are_clipped_and_ticks_are_whole_numbers():
    fig, ax = plt.subplots()
    kpi_vs_parameter(_sweep(), "sdr_headcount", "breach_rate.response.1", by=KEY, ax=ax)
    ys = np.concatenate([p.get_paths()[0].vertices[:, 1] for p in ax.collections])
    assert ys.min() >= 0 and ys.max() <= 1
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["response level 1 offset = 15",
                                                                    "response level 1 offset = 30"]
    plt.close(fig)


def test_heatmap_shows_every_cell_mean():
    fig, ax = plt.subplots()
    breach_heatmap(_sweep(), "sdr_headcount", KEY, ax=ax)
    shown = sorted(float(t.get_text()) for t in ax.texts)
    assert shown == sorted(round(0.5 / s, 2) for s in (1, 2, 3) for _ in (15, 30))
    assert ax.get_ylabel() == "response level 1 offset"
    plt.close(fig)


def test_calibration_curves_draw_one_line_per_model_over_the_diagonal():
    from types import SimpleNamespace

    from leadsim.plots.calibration import plot_gain, plot_reliability

    lift = pd.DataFrame({"model": ["a", "a", "b", "b"], "decile": [1, 2, 1, 2], "cum_gain": [0.6, 1.0, 0.5, 1.0]})
    rel = pd.DataFrame({"model": ["a", "a"], "mean_predicted": [0.2, 0.7], "observed": [0.25, 0.6]})
    rep = SimpleNamespace(lift=lift, reliability=rel)
    ax = plot_gain(rep)
    assert [ln.get_label() for ln in ax.lines] == ["random", "a", "b"]
    assert ax.lines[1].get_xdata().tolist() == [0.5, 1.0] and ax.lines[2].get_ydata().tolist() == [0.5, 1.0]
    assert ax.get_title() == "Cumulative gain"
    ax = plot_reliability(rep)
    assert [ln.get_label() for ln in ax.lines] == ["perfect", "a"]
    assert ax.lines[1].get_xdata().tolist() == [0.2, 0.7] and ax.get_ylabel() == "observed SQL rate"
    plt.close("all")
