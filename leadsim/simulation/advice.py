"""From a sweep to a recommendation in words.

A sweep (:func:`leadsim.simulation.sweep`) gives, for every grid point, each
KPI's mean and confidence interval, and its paired difference from the
baseline setting.  :func:`recommend` picks the cheapest setting (fewest SDRs,
say) whose SLA breach rate stays under a target *with its whole confidence
interval*, breaks ties by the Lead -> Sales Lead rate, and says so in a
sentence an SLA meeting can act on.  A setting other than the baseline is
recommended only when its breach-rate difference from the baseline (paired
on common random numbers, Bonferroni-corrected) excludes zero; otherwise the
sentence says the data cannot tell the two apart.

>>> import pandas as pd
>>> rows = []
>>> for sdr, breach, rate in [(1, .40, .30), (2, .12, .34), (3, .04, .36)]:
...     rows += [{"sdr_headcount": sdr, "kpi": "breach_rate.response.1", "mean": breach,
...               "lo": breach - .02, "hi": breach + .02, "n": 5},
...              {"sdr_headcount": sdr, "kpi": "lead_to_sales_lead", "mean": rate,
...               "lo": rate - .03, "hi": rate + .03, "n": 5}]
>>> rec = recommend(pd.DataFrame(rows), cost="sdr_headcount", max_breach=0.10)
>>> rec.choice
{'sdr_headcount': 3}
>>> print(rec.text)
Recommended: sdr_headcount = 3. Breach rate 4.0% (95% CI 2.0%-6.0%), under the 10% target; Lead -> Sales Lead rate 36.0% (33.0%-39.0%). Cheaper settings breach too often: sdr_headcount = 2 (12.0%, CI up to 14.0%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from leadsim.errors import ScenarioError
from leadsim.points import sort_table

__all__ = ["Recommendation", "curve_sensitivity", "recommend"]

_STAT = ("kpi", "mean", "std", "half_width", "lo", "hi", "n", "diff", "diff_lo", "diff_hi", "is_baseline")


@dataclass
class Recommendation:
    """The chosen grid point, the sentence that explains it and the table it came from."""

    choice: dict[str, Any] | None
    text: str
    table: pd.DataFrame


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, int | float) else f"{k} = {v}" for k, v in params.items())


def _cannot_tell(sweep: pd.DataFrame, choice: dict[str, Any], kpi: str, params: list[str]) -> str | None:
    """The sentence when the data cannot tell ``choice`` from the baseline on ``kpi`` (its paired difference
    interval holds zero); None when they can, or the sweep has no baseline."""
    if "diff_lo" not in sweep.columns or "is_baseline" not in sweep.columns:
        return None
    rows = sweep[sweep["kpi"] == kpi]
    base = rows[rows["is_baseline"].astype(bool)]
    at = rows
    for p, v in choice.items():
        at = at[at[p] == v]
    if base.empty or at.empty or bool(at["is_baseline"].iloc[0]):
        return None
    r = at.iloc[0]
    if r["diff_lo"] > 0 or r["diff_hi"] < 0:
        return None
    b = base.iloc[0]
    return (f"The data cannot tell {_fmt(choice)} from the current setting ({_fmt({p: b[p] for p in params})}): "
            f"the breach rate differs by {r['diff']:+.1%} (CI {r['diff_lo']:+.1%} to {r['diff_hi']:+.1%}, paired on "
            "the same seeds, corrected for the settings compared). Keep the current setting, or run more "
            "replications.")


def recommend(sweep: pd.DataFrame, *, cost: str, breach_kpi: str = "breach_rate.response.1",
              max_breach: float = 0.10, rate_kpi: str = "lead_to_sales_lead", level: float = 0.95) -> Recommendation:
    """The cheapest setting whose breach rate stays under ``max_breach`` (upper CI bound).

    ``cost`` is the grid key to minimise (e.g. ``"sdr_headcount"``); the other
    grid keys are free.  Among the settings of the smallest feasible cost the
    one with the highest ``rate_kpi`` wins.  When no setting meets the target,
    the choice is ``None`` and the text names the setting that came closest.
    """
    needed = {"kpi", "mean", "lo", "hi", cost}
    missing = sorted(needed - set(sweep.columns))
    if missing:
        raise ScenarioError(f"the sweep table lacks column(s) {missing}; pass the output of sweep()", where="recommend")
    params = [c for c in sweep.columns if c not in _STAT]
    kpis = set(sweep["kpi"])
    for k in (breach_kpi, rate_kpi):
        if k not in kpis:
            raise ScenarioError(f"KPI {k!r} is not in the sweep; it has {sorted(kpis)[:8]} ...", where="recommend")
    wide = sweep[sweep["kpi"].isin([breach_kpi, rate_kpi])].pivot_table(
        index=params, columns="kpi", values=["mean", "lo", "hi"], aggfunc="first")
    wide.columns = [f"{kpi}.{stat}" for stat, kpi in wide.columns]
    # ties between settings are broken by the grid's parameters, so the advice is the same on every machine
    table = sort_table(wide.reset_index(), [cost, f"{rate_kpi}.mean"], ascending=[True, False],
                       ties=params).reset_index(drop=True)
    table["meets_target"] = table[f"{breach_kpi}.hi"] <= max_breach
    pct = f"{level:.0%}"
    ok = table[table["meets_target"]]
    if ok.empty:
        best = sort_table(table, f"{breach_kpi}.mean", ties=params).iloc[0]
        text = (f"No setting in the sweep keeps the breach rate under {max_breach:.0%} with {pct} confidence. "
                f"Closest: {_fmt({p: best[p] for p in params})} with {best[f'{breach_kpi}.mean']:.1%} "
                f"(CI up to {best[f'{breach_kpi}.hi']:.1%}). Try more {cost} or a longer SLA window.")
        return Recommendation(None, text, table)
    pick = ok.iloc[0]
    choice = {p: (pick[p].item() if hasattr(pick[p], "item") else pick[p]) for p in params}
    undecided = _cannot_tell(sweep, choice, breach_kpi, params)
    if undecided:
        return Recommendation(None, undecided, table)
    text = (f"Recommended: {_fmt(choice)}. Breach rate {pick[f'{breach_kpi}.mean']:.1%} ({pct} CI "
            f"{max(pick[f'{breach_kpi}.lo'], 0):.1%}-{pick[f'{breach_kpi}.hi']:.1%}), under the {max_breach:.0%} "
            f"target; Lead -> Sales Lead rate {pick[f'{rate_kpi}.mean']:.1%} ({pick[f'{rate_kpi}.lo']:.1%}-"
            f"{pick[f'{rate_kpi}.hi']:.1%}).")
    cheaper = table[table[cost] < pick[cost]]
    if not cheaper.empty:
        near = sort_table(cheaper, [cost, f"{breach_kpi}.mean"], ascending=[False, True], ties=params).iloc[0]
        text += (f" Cheaper settings breach too often: {_fmt({cost: near[cost]})} "
                 f"({near[f'{breach_kpi}.mean']:.1%}, CI up to {near[f'{breach_kpi}.hi']:.1%}).")
    return Recommendation(choice, text, table)


def curve_sensitivity(base: Any, grid: dict[str, list[Any]], *, cost: str,
                      curves: tuple[str, ...] = ("lrm_2007", "hbr_2011", "flat"), replications: int = 10,
                      seed: int | None = 0, executor: Any = None, baseline: dict[str, Any] | None = None,
                      **options: Any) -> pd.DataFrame:
    """How much the recommendation depends on the speed-to-lead curve: the same sweep and :func:`recommend`
    under the scenario's own curve (fitted or stated) and under each preset of ``curves``.  One row per curve:
    ``curve``, ``choice`` (None: no recommendation), ``recommendation``; ``attrs["robust"]`` is True when every
    curve leads to the same choice.  ``options`` go to :func:`recommend`.

    >>> from leadsim.simulation import load_scenario
    >>> from leadsim.simulation.replication import SerialExecutor
    >>> s = load_scenario().with_values({"horizon_days": 7})
    >>> t = curve_sensitivity(s, {"sdr_headcount": [1, 3]}, cost="sdr_headcount", curves=("flat",), replications=2,
    ...                       executor=SerialExecutor(), max_breach=0.5)
    >>> t["curve"].tolist(), t.attrs["robust"] == (t["choice"].iloc[0] == t["choice"].iloc[1])
    (['scenario: fitted', 'flat'], True)
    """
    from leadsim.simulation.replication import sweep

    rows = []
    own = base.curve.preset if base.curve.contact is None and base.curve.qualification is None else "fitted"
    for name in (None, *curves):
        sc = base if name is None else base.with_values(
            {"curve": {"preset": name, "contact": None, "qualification": None, "contact_base": base.curve.contact_base}})
        sw = sweep(sc, grid, replications=replications, seed=seed, executor=executor, progress=False,
                   baseline=baseline)
        rec = recommend(sw, cost=cost, **options)
        rows.append({"curve": f"scenario: {own}" if name is None else name, "choice": rec.choice,
                     "recommendation": rec.text})
    out = pd.DataFrame(rows)
    out.attrs["robust"] = all(c == rows[0]["choice"] for c in out["choice"])
    return out
