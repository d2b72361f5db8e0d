"""The shipped data tell one story: the sample scenario is the sample history's own, fitted and rounded, and its SDRs
are busy enough in busy weeks that headcount and the first-touch window trade off (docs/design.md section 7.2,
"Funnel rates").

References: the fitted scenario's reported intervals (Scenario.from_history on the sample), and the simulated run's
own service records divided by working time counted here from the ``holidays`` package, not leadsim's calendar.
"""

from __future__ import annotations

import datetime as dt
import warnings

import holidays
import numpy as np
import pandas as pd
import pytest

from leadsim.datasets import load_sample
from leadsim.definition import LeadsimWarning
from leadsim.simulation import Scenario, load_scenario, simulate

# the window data/scenario.yaml names as its source
WINDOW = {"start": "2025-11-01", "end": "2026-11-01"}


@pytest.fixture(scope="module")
def shipped():
    return load_scenario()


@pytest.fixture(scope="module")
def fitted(shipped):
    s = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return Scenario.from_history(s, s.definition, base=shipped, **WINDOW)


@pytest.fixture(scope="module")
def runs(shipped):
    """The shipped quarter with its three SDRs and with four, on the same random numbers."""
    return {n: simulate(shipped.with_values({"sdr_headcount": n}), seed=11) for n in (3, 4)}


def _near(shipped_value: float, row: pd.Series) -> bool:
    """Rounded from the fit: inside its 95 % interval, or within 5 % of the fitted value."""
    lo, hi, v = float(row["lo"]), float(row["hi"]), float(row["value"])
    return lo <= shipped_value <= hi or abs(shipped_value - v) <= 0.05 * abs(v)


@pytest.mark.parametrize("parameter, read", [
    ("arrivals.web_form.per_week", lambda s: s.arrivals["web_form"].per_week),
    ("arrivals.paid.per_week", lambda s: s.arrivals["paid"].per_week),
    ("arrivals.organic.per_week", lambda s: s.arrivals["organic"].per_week),
    ("outbound.per_week", lambda s: s.outbound.per_week),
    ("handling.call_minutes", lambda s: s.handling.call_minutes),
    ("handling.qualify_minutes", lambda s: s.handling.qualify_minutes),
    ("handling.rep_touch_minutes", lambda s: s.handling.rep_touch_minutes),
    ("curve.contact_base", lambda s: s.curve.contact_base),
    ("bursts.event.size", lambda s: s.bursts[0].size),
])
def test_the_shipped_scenario_is_the_sample_fitted_and_rounded(shipped, fitted, parameter, read):
    row = fitted.provenance.set_index("parameter").loc[parameter]
    assert _near(read(shipped), row), f"{parameter}: shipped {read(shipped)}, fitted {row['value']:.3g} " \
                                      f"[{row['lo']:.3g}, {row['hi']:.3g}]"


def test_the_shipped_team_and_qualification_curve_are_the_fitted_ones(shipped, fitted):
    assert (shipped.sdr_headcount, shipped.rep_headcount) == (fitted.sdr_headcount, fitted.rep_headcount)
    prov = fitted.provenance.set_index("parameter")
    rows = prov[prov.index.str.startswith("curve.qualification.")]
    assert len(rows) >= 5
    for name, row in rows.iterrows():
        minutes = float(name.removeprefix("curve.qualification.").removesuffix("min"))
        got = ResponseMultiplier(shipped)(minutes)
        assert row["lo"] - 0.01 <= got <= row["hi"] + 0.01, f"{name}: shipped {got:.3f}, fitted {row['value']:.3f}"


class ResponseMultiplier:
    """The shipped curve's qualification odds multiplier, read off its anchors by hand: log-odds linear in the delay
    between anchors, flat outside (docs/design.md section 7.1)."""

    def __init__(self, scenario: Scenario):
        anchors = sorted((float(k), float(v)) for k, v in scenario.curve.qualification.items())
        self.x = np.array([a for a, _ in anchors])
        self.y = np.log([m for _, m in anchors])

    def __call__(self, minutes: float) -> float:
        return float(np.exp(np.interp(minutes, self.x, self.y)))


def _weekly_sdr_utilisation(run, scenario: Scenario) -> pd.DataFrame:
    """SDR service minutes started in each full week over the SDRs' working minutes that week (09:00-17:00 on
    weekdays that are no German public holiday), with the week's hand-offs."""
    start = pd.Timestamp(scenario.start)
    s = run.services[run.services["rep"].str.startswith("sdr")]
    week = (s["start"] // (7 * 1440)).astype(int)
    busy = s.groupby(week)["minutes"].sum()
    log = run.stage_log
    ho = log[log["stage"] == scenario.lead_definition.funnel.milestones.mql]
    ho_week = ((ho["at"] - start) // pd.Timedelta(days=7)).astype(int).value_counts()
    de = holidays.country_holidays("DE", years=range(start.year, start.year + 2))
    rows = []
    for w in range(int(scenario.horizon_days // 7)):
        days = [start.date() + dt.timedelta(days=7 * w + k) for k in range(7)]
        open_minutes = sum(8 * 60 for d in days if d.weekday() < 5 and d not in de) * scenario.sdr_headcount
        rows.append({"week": w, "utilisation": busy.get(w, 0.0) / open_minutes, "handoffs": ho_week.get(w, 0)})
    return pd.DataFrame(rows)


def test_the_sample_sdrs_are_busy_in_busy_weeks(runs, shipped):
    weeks = _weekly_sdr_utilisation(runs[3], shipped)
    weeks = weeks[weeks["week"] >= 4]  # past the quiet January start
    busy = weeks[weeks["utilisation"] >= weeks["utilisation"].quantile(0.75)]  # the busiest quarter of the weeks
    assert 0.75 <= busy["utilisation"].mean() <= 0.92, weeks.round(2).to_string()
    # ... and the busy weeks are the ones with many hand-offs (after a trade-fair upload), the rest leave room
    assert busy["handoffs"].mean() > weeks["handoffs"].mean()
    assert weeks["utilisation"].median() <= 0.7, weeks.round(2).to_string()


def test_one_more_sdr_trades_headcount_against_the_first_touch_window(runs):
    three, four = runs[3].kpis, runs[4].kpis
    # the same leads arrive (common random numbers): only who waits changes
    assert len(runs[3].leads) == len(runs[4].leads)
    assert four["breach_rate.response.1"] <= three["breach_rate.response.1"] - 0.08
    assert four["sdr_utilisation"] < three["sdr_utilisation"] * 0.85
    assert four["lead_to_sales_lead"] >= three["lead_to_sales_lead"]
