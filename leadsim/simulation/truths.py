"""Scenarios whose truth is known: what leadsim's checks of its fit and its back-test simulate histories from.

A fit (:func:`~leadsim.simulation.fitting.fit_scenario`) and a back-test
(:func:`~leadsim.simulation.backtest.backtest`) are judged on histories
*simulated* from a scenario, so that what they should find is known:

* :data:`FIT_WORLDS`: two worlds unlike the sample's (other arrival rates per
  source, headcounts, shift hours, handling times, a batch upload);
  :func:`known_values` gives the figures a fit must recover and
  :func:`fit_coverage` how often its 95 % intervals hold them.
* :func:`backtest_truth`: five weeks of about 1,300 leads with SDRs busy
  enough for a back-test to show something (three weeks to fit, two to
  predict); :func:`~leadsim.simulation.backtest.coverage` runs on it.

The test suite runs small versions; ``benchmarks/bench_backtest.py``
(``--coverage``, ``--fit-coverage``) the large ones.

>>> sorted(known_values(FIT_WORLDS["B"]))[:3]
['arrivals.event.per_week', 'arrivals.organic.per_week', 'arrivals.paid.per_week']
>>> backtest_truth().horizon_days
35.0
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadsimWarning
from leadsim.simulation.scenario import Scenario, load_scenario

__all__ = ["BACKTEST_TRUTH", "FIT_WORLDS", "backtest_truth", "fit_coverage", "known_values"]

#: Two worlds unlike the sample's, as settings on the sample scenario. Shift ends are seen only while the role has
#: work waiting, so each rep shift lies inside its SDR shift (reps get their work from the SDRs; after the SDRs go
#: home a rep's queue runs dry).
FIT_WORLDS: dict[str, dict[str, Any]] = {
    "A": {"horizon_days": 28, "sdr_headcount": 4, "rep_headcount": 3, "behaviour.sessions_per_month": 3.5,
          "curve": {"preset": "default", "contact_base": 0.75},
          "arrivals": {"web_form": {"per_week": 150}, "paid": {"per_week": 60}, "organic": {"per_week": 90},
                       "event": {"per_week": 20}},
          "bursts": [{"source": "event", "size": 60, "first_day": 3, "every_days": 10}],
          "outbound": {"per_week": 12, "opportunity_share": 0.3},
          "shifts": {"sdr": ["07:30", "16:00"], "rep": ["10:00", "15:30"]},
          "handling": {"call_minutes": 4, "research_minutes": 20, "qualify_minutes": 25, "rep_touch_minutes": 40}},
    "B": {"horizon_days": 21, "sdr_headcount": 6, "rep_headcount": 2, "behaviour.sessions_per_month": 3.5,
          "curve": {"preset": "default", "contact_base": 0.75},
          "arrivals": {"web_form": {"per_week": 80}, "paid": {"per_week": 120}, "organic": {"per_week": 40},
                       "event": {"per_week": 10}},
          "bursts": [],
          "outbound": {"per_week": 5, "opportunity_share": 0.5},
          "shifts": {"sdr": ["08:15", "17:45"], "rep": ["09:00", "16:30"]},
          "handling": {"call_minutes": 8, "research_minutes": 10, "qualify_minutes": 15, "rep_touch_minutes": 20}},
}

#: The back-test's truth, as settings on the sample scenario: five weeks of about 1,300 leads, two SDRs busy in busy
#: hours, no research on a hand-off, no batch uploads (a two-week fit window hands over fewer than the 30 leads a fit
#: needs in some seeds, so the fit takes three weeks).  Its lead behaviour is the sample scenario's, which a fit this
#: short keeps (it cannot draw leads from so short a history).
BACKTEST_TRUTH: dict[str, Any] = {
    "horizon_days": 35, "arrivals.web_form.per_week": 110, "arrivals.paid.per_week": 65,
    "arrivals.organic.per_week": 80, "arrivals.event.per_week": 8, "bursts": [], "sdr_headcount": 2,
    "rep_headcount": 3, "handling.research_minutes": 0}


def backtest_truth() -> Scenario:
    """The sample scenario with :data:`BACKTEST_TRUTH`'s settings."""
    return load_scenario().with_values(BACKTEST_TRUTH)


def _hours(hhmm: str) -> float:
    return int(hhmm[:2]) + int(hhmm[3:]) / 60


def known_values(world: dict[str, Any]) -> dict[str, float]:
    """The provenance parameters a fit of a history simulated from ``world`` (one of :data:`FIT_WORLDS`) must
    recover, with their true values: arrivals and outbound per week, headcounts, shift edges in hours, handling
    minutes."""
    t = {f"arrivals.{s}.per_week": float(a["per_week"]) for s, a in world["arrivals"].items()}
    t["outbound.per_week"] = float(world["outbound"]["per_week"])
    t["sdr_headcount"], t["rep_headcount"] = float(world["sdr_headcount"]), float(world["rep_headcount"])
    for role, (o, c) in world["shifts"].items():
        t[f"shifts.{role}.open"], t[f"shifts.{role}.close"] = _hours(o), _hours(c)
    t.update({f"handling.{k}": float(v) for k, v in world["handling"].items()})
    return t


def fit_coverage(world: dict[str, Any], *, runs: int = 50, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """How often a fit's 95 % intervals hold the truth: ``runs`` histories simulated from the sample scenario with
    ``world``'s settings (seeds from ``SeedSequence(seed)``), each fitted whole.  One row per parameter of
    :func:`known_values`: ``truth``, ``covered`` of ``runs``, ``share`` and the mean fitted ``value``."""
    from leadsim.simulation.fitting import fit_scenario
    from leadsim.simulation.model import simulate

    truth = known_values(world)
    scenario = load_scenario().with_values(world)
    inside: list[dict[str, bool]] = []
    values: list[dict[str, float]] = []
    for k, s in enumerate(np.random.SeedSequence(seed).spawn(int(runs))):
        h = simulate(scenario, seed=int(s.generate_state(1, np.uint64)[0])).history()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeadsimWarning)
            p = fit_scenario(h, h.definition).provenance.set_index("parameter")
        inside.append({m: bool(p.at[m, "lo"] - 1e-9 <= v <= p.at[m, "hi"] + 1e-9) for m, v in truth.items()})
        values.append({m: float(p.at[m, "value"]) for m in truth})
        if progress:
            print(f"history {k + 1}/{runs}: {sum(inside[-1].values())} of {len(truth)} inside")
    table, fitted = pd.DataFrame(inside), pd.DataFrame(values)
    return pd.DataFrame({"parameter": list(truth), "truth": list(truth.values()),
                         "covered": table.sum().to_numpy(int), "runs": len(table),
                         "share": table.mean().to_numpy(float), "value": fitted.mean().to_numpy(float)})
