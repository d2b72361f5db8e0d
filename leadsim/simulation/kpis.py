"""KPIs of one run, as a flat ``pandas.Series`` of numbers (so runs aggregate).

Names: ``mqls_per_week``, ``sqls_per_week``, ``opportunities_per_week``,
``customers_per_week`` (stage visits per week, from :func:`leadsim.funnel.velocity`
on the run's log), ``mql_days_p50`` and ``sql_days_p50`` (median days in the
MQL and SQL stages, the same function), ``lead_to_sales_lead`` (share of hand-offs reaching
Sales Lead), ``response_minutes_p50/p90/mean`` and ``unanswered_share``,
``breach_rate.<clock>.<level>`` (:func:`leadsim.sla.audit` of the run's own
log at the end of the horizon: alerts of that level over the hand-offs whose
level came due), ``sdr_queue_mean/max``, ``rep_queue_mean``, ``sdr_utilisation``,
``rep_utilisation``, ``gone_cold``, ``marketing_pipeline_share`` (share of
Opportunities not sales-sourced), ``opps_per_sdr_month``, ``quota`` and
``quota_attainment``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from leadsim.funnel import velocity

__all__ = ["kpi_range", "kpis", "sla_audit"]


#: KPIs that are shares (an interval on them stays within 0 and 1); every other KPI is a count, time or rate >= 0.
SHARES = ("lead_to_sales_lead", "unanswered_share", "marketing_pipeline_share", "sdr_utilisation", "rep_utilisation",
          "p_wait", "p_abandon")


def kpi_range(name: str) -> tuple[float, float]:
    """The values KPI ``name`` can take: ``(0, 1)`` for a share, ``(0, inf)`` otherwise.

    >>> kpi_range("breach_rate.response.1"), kpi_range("sqls_per_week")
    ((0.0, 1.0), (0.0, inf))
    """
    return (0.0, 1.0) if name in SHARES or name.startswith("breach_rate.") else (0.0, math.inf)


def _entries(log: pd.DataFrame, stage: str) -> pd.DataFrame:
    return log[log["stage"] == stage]


def sla_audit(result: Any) -> Any:
    """:func:`leadsim.sla.audit` of a run's own log, as of the end of its horizon (hand-off scores from the
    outcomes, so messages quote the score each hand-off was made with)."""
    from leadsim.sla import audit

    sc = result.scenario
    end = pd.Timestamp(sc.start) + pd.Timedelta(days=sc.horizon_days)
    oc = result.outcomes
    scores = pd.DataFrame({"lead_id": oc["lead_id"], "at": oc["handed_at"], "score": oc["score"]}) \
        if "score" in oc.columns else None
    return audit(result.stage_log, result.touches, sc.lead_definition, owners=result.owners, leads=result.leads,
                 scores=scores, as_of=end - pd.Timedelta(1, "ns"))


def kpis(result: Any, *, busy: dict[str, float], shift_minutes: dict[str, float], gone_cold: int) -> pd.Series:
    sc = result.scenario
    d = sc.lead_definition
    ms = d.funnel.milestones
    log = result.stage_log
    weeks = sc.horizon_days / 7.0
    months = sc.horizon_days / (365.25 / 12)
    out: dict[str, float] = {}
    mql = result.mql
    out["mqls_per_week"] = len(mql) / weeks
    out["handoffs_per_week"] = len(result.outcomes) / weeks
    # stage visits and times in stage as the funnel report counts them (a re-assignment is no new visit)
    vel = velocity(log, d)
    opp = _entries(log, ms.opportunity)
    out["sqls_per_week"] = vel.at[ms.sql, "visits"] / weeks
    out["opportunities_per_week"] = vel.at[ms.opportunity, "visits"] / weeks
    out["customers_per_week"] = vel.at[ms.won, "visits"] / weeks
    out["mql_days_p50"] = float(vel.at[ms.mql, "median_days"])
    out["sql_days_p50"] = float(vel.at[ms.sql, "median_days"])
    oc = result.outcomes
    out["lead_to_sales_lead"] = float(oc["sql"].mean()) if len(oc) else math.nan
    r = oc["response_minutes"].to_numpy(float) if len(oc) else np.empty(0)
    answered = r[~np.isnan(r)]
    out["response_minutes_p50"] = float(np.median(answered)) if len(answered) else math.nan
    out["response_minutes_p90"] = float(np.quantile(answered, 0.9)) if len(answered) else math.nan
    out["response_minutes_mean"] = float(answered.mean()) if len(answered) else math.nan
    out["unanswered_share"] = float(np.isnan(r).mean()) if len(r) else math.nan
    levels = sla_audit(result).summary["levels"]
    for row in levels.itertuples(index=False):
        out[f"breach_rate.{row.clock}.{row.level}"] = row.breach_rate
    mon = result.monitor
    out["sdr_queue_mean"] = float(mon["sdr_queue"].mean()) if len(mon) else math.nan
    out["sdr_queue_max"] = float(mon["sdr_queue"].max()) if len(mon) else math.nan
    out["rep_queue_mean"] = float(mon["rep_queue"].mean()) if len(mon) else math.nan
    for role in ("sdr", "rep"):
        out[f"{role}_utilisation"] = busy[role] / shift_minutes[role] if shift_minutes[role] else math.nan
    out["gone_cold"] = float(gone_cold)
    if len(opp):
        src = result.leads.set_index("lead_id")["source"]
        s = src.reindex(opp["lead_id"].to_numpy()).to_numpy(dtype=object)
        out["marketing_pipeline_share"] = float(np.mean(s != "outbound"))
        mkt_opps = int(np.sum(s != "outbound"))
    else:
        out["marketing_pipeline_share"] = math.nan
        mkt_opps = 0
    out["opps_per_sdr_month"] = mkt_opps / max(sc.sdr_headcount, 1) / months
    out["quota"] = float(sc.quota_opps_per_sdr_month)
    out["quota_attainment"] = out["opps_per_sdr_month"] / sc.quota_opps_per_sdr_month if sc.quota_opps_per_sdr_month \
        else math.nan
    return pd.Series(out, dtype=float)
