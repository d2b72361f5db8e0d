"""What one run produced: :class:`SimulationResult`, and the tables collected from a run's records.

Tables follow ``docs/design.md`` section 2 ("Tables"): the six shared tables,
the alerts (rendered by the SLA ladder, the columns of
:func:`leadsim.sla.audit`'s alerts), services, monitor samples, MQL moments
and the KPIs (:mod:`leadsim.simulation.kpis`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadsim.calendars import TeamCalendars
from leadsim.definition import LeadsimWarning
from leadsim.simulation.people import handover_arrays
from leadsim.simulation.records import labels, ranks, strings
from leadsim.simulation.scenario import Scenario
from leadsim.sla import ladder

__all__ = ["SimulationResult", "collect"]


@dataclass
class SimulationResult:
    """Everything one run produced.  Tables follow ``docs/design.md`` section 2 ("Tables")."""

    scenario: Scenario
    seed: Any
    curve: str
    leads: pd.DataFrame
    activities: pd.DataFrame
    stage_log: pd.DataFrame
    touches: pd.DataFrame
    owners: pd.DataFrame
    outcomes: pd.DataFrame
    alerts: pd.DataFrame
    services: pd.DataFrame
    monitor: pd.DataFrame
    mql: pd.DataFrame
    kpis: pd.Series
    warnings: list[str] = field(default_factory=list)
    p_wait: float | None = None
    mean_wait_hours: float | None = None
    p_abandon: float | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"leads": self.leads, "activities": self.activities, "stage_log": self.stage_log,
                "touches": self.touches, "owners": self.owners, "outcomes": self.outcomes, "alerts": self.alerts}

    def history(self) -> Any:
        """This run as a :class:`leadsim.datasets.History` (with the scenario's definition), so every function
        that reads a history reads a simulated run.

        Its touches carry ``duration_minutes``: the shift minutes of the work each SDR call or rep touch
        started (from :attr:`services`; NaN for the meeting logged when an outbound lead enters).

        >>> from leadsim.simulation import load_scenario, simulate
        >>> h = simulate(load_scenario().with_values({"horizon_days": 7}), seed=1).history()
        >>> sorted(h.tables()), bool(h.touches["duration_minutes"].notna().any())
        (['activities', 'leads', 'outcomes', 'owners', 'stage_log', 'touches'], True)
        """
        from leadsim.datasets import History

        touches = self.touches.copy()
        s = self.services
        touches["duration_minutes"] = np.nan
        if len(s) and len(touches):
            base = pd.Timestamp(self.scenario.start).to_datetime64().astype("datetime64[ns]")
            ns = np.floor(np.asarray(s["start"], float) * 60e9 + 0.5).astype(np.int64)  # as the touches' times
            work = pd.DataFrame({
                "lead_id": pd.array(self.leads["lead_id"].to_numpy(dtype=object)[np.asarray(s["lead"], np.int64)],
                                    dtype=touches["lead_id"].dtype),
                "at": pd.array(base + ns.astype("timedelta64[ns]"), dtype="datetime64[ns]"),
                "by": pd.array(np.asarray(s["rep"], dtype=object), dtype=touches["by"].dtype),
                "minutes": np.asarray(s["minutes"], float)}).drop_duplicates(["lead_id", "at", "by"])
            joined = touches[["lead_id", "at", "by"]].merge(work, on=["lead_id", "at", "by"], how="left")
            touches["duration_minutes"] = joined["minutes"].to_numpy(float)
        return History(leads=self.leads, activities=self.activities, stage_log=self.stage_log, touches=touches,
                       owners=self.owners, outcomes=self.outcomes, definition=self.scenario.lead_definition)


def _alerts(m: Any, owners: pd.DataFrame, base: np.datetime64) -> pd.DataFrame:
    """The alerts raised during the run, rendered by the SLA ladder (the same due times, recipients and
    messages as :func:`leadsim.sla.audit` gives for the run's log)."""
    names = pd.Index(owners["owner"], dtype="string")
    code = {name: i for i, name in enumerate(names)}
    st = m.starts
    h = ladder.Handoffs(
        hid=np.arange(len(st)), lead=np.array([s[0] for s in st], np.int64), lead_ids=pd.Index(m.ids),
        owner=np.array([code.get(s[2], -1) for s in st], np.int64), owner_names=names,
        at=base.astype(np.int64) + np.array([s[1] for s in st], np.int64),
        score=np.array([s[3] for s in st], float))
    al = m.rec.columns("alerts")
    start, clock, level = (np.array(al[k], np.int64) for k in ("start", "clock", "level"))
    owner = np.array([code.get(o, -1) for o in al["owner"]], np.int64)
    clocks = list(m.d.sla.clocks)
    team = None if m.staff.single else TeamCalendars(m.d, owners=owners)
    fired = []
    for c, k in sorted(set(zip(clock.tolist(), level.tolist(), strict=True))):
        sel = (clock == c) & (level == k)
        rows = start[sel]
        if m.staff.single:
            due = ladder.due_times(m.cal, h.at[rows], clocks[c])[k]
        else:  # on the holder's calendar, as the audit reads the owners table's calendar column
            due = ladder.due_times(team, h.at[rows], clocks[c], code=team.codes_of(h.owner[rows], names),
                                   handovers=handover_arrays(m.handovers, rows, int(base.astype(np.int64))))[k]
        fired.append(ladder.Fired(c, k, rows, due, owner[sel]))
    out = ladder.build_alerts(h, clocks, fired, ladder.context(m.d, owners, m.leads, None))
    out["fired_at"] = out["due_at"]
    return out


def _ts(m: Any, minutes) -> np.ndarray:
    return m.wt.timestamps(np.asarray(minutes, float))


def collect(m: Any) -> SimulationResult:
    """The run's tables, alerts and KPIs, once the event loop has ended (``m``: the run's Model)."""
    from leadsim.simulation.kpis import kpis

    rec, d = m.rec, m.d
    base = m.start.to_datetime64().astype("datetime64[ns]")
    rank = ranks(m.ids)  # sorting on a lead's rank sorts by its id
    acts = m.stream.table(m.ids, base, rank)

    def lead_ids(lead) -> pd.api.extensions.ExtensionArray:
        return labels(lead, m.ids)

    def at_ns(t_ns) -> pd.api.extensions.ExtensionArray:
        return pd.array(base + np.asarray(t_ns, np.int64).astype("timedelta64[ns]"), dtype="datetime64[ns]")

    def at_min(t) -> pd.api.extensions.ExtensionArray:
        return pd.array(_ts(m, t), dtype="datetime64[ns]")

    def table(cols: dict, order: np.ndarray | None = None) -> pd.DataFrame:
        out = pd.DataFrame(cols)
        return out if order is None else out.take(order).reset_index(drop=True)

    st = rec.columns("stages")
    lead, t_ns = np.array(st["lead"], np.int64), np.array(st["t_ns"], np.int64)
    stage_log = table({"lead_id": lead_ids(lead), "stage": strings(st["stage"]), "at": at_ns(t_ns),
                       "reason": strings(st["reason"]), "owner": strings(st["owner"])},
                      np.lexsort((t_ns, rank[lead])))
    tc = rec.columns("touches")
    lead, t = np.array(tc["lead"], np.int64), np.array(tc["t"], float)
    touches = table({"lead_id": lead_ids(lead), "at": at_min(t), "kind": strings(tc["kind"]),
                     "by": strings(tc["by"])}, np.lexsort((rank[lead], _ts(m, t))))
    owners = pd.DataFrame({
        "owner": [r.name for r in m.sdrs] + [r.name for r in m.reps],
        "role": ["sdr"] * len(m.sdrs) + ["rep"] * len(m.reps),
        "manager": [m.managers["sdr"]] * len(m.sdrs) + [m.managers["rep"]] * len(m.reps),
        "team": ["SDR"] * len(m.sdrs) + ["Sales"] * len(m.reps),
    }).astype("str")
    if m.scenario.calendars:  # each person's calendar (empty: the home calendar), so an audit runs their clocks
        owners["calendar"] = m.staff.owner_calendars(owners["owner"].tolist())
    ho = rec.columns("handoffs")
    outcomes = table({
        "handoff_id": strings([f"H{i + 1:06d}" for i in ho["handoff"]]),
        "lead_id": lead_ids(ho["lead"]),
        "handed_at": at_ns(ho["t_ns"]),
        "handoff_reason": strings(ho["reason"]),
        "propensity": np.array(ho["propensity"], float),
        "definition_version": strings([d.version] * len(ho["lead"])),
        "owner": strings(ho["owner"]),
        "response_minutes": np.array(ho["response"], float),
        "sql": np.array(ho["sql"], bool), "opportunity": np.array(ho["opportunity"], bool),
        "won": np.array(ho["won"], bool),
        "reason": strings(ho["outcome"]),
        "score": np.array(ho["score"], float),
    })
    alerts = _alerts(m, owners, base)
    mq = rec.columns("mqls")
    lead, t_ns = np.array(mq["lead"], np.int64), np.array(mq["t_ns"], np.int64)
    mql = table({"lead_id": lead_ids(lead), "at": at_ns(t_ns), "reason": strings(mq["reason"]),
                 "trigger": strings(mq["trigger"]), "score": np.array(mq["score"], float)},
                np.lexsort((rank[lead], t_ns)))
    services = rec.frame("services")
    monitor = rec.frame("monitor")
    busy = {"sdr": sum(r.busy for r in m.sdrs), "rep": sum(r.busy for r in m.reps)}
    shift_min = {"sdr": sum(r.open_minutes(m.horizon) for r in m.sdrs),  # each on the team for their own stretch
                 "rep": sum(r.open_minutes(m.horizon) for r in m.reps)}
    result = SimulationResult(m.scenario, m.seed, m.curve.name, m.leads, acts, stage_log, touches,
                              owners, outcomes, alerts, services, monitor, mql, pd.Series(dtype=float),
                              m.msgs)
    result.kpis = kpis(result, busy=busy, shift_minutes=shift_min, gone_cold=m.gone_cold)
    u = result.kpis.get("sdr_utilisation", 0.0)
    if u > 0.97 and len(m.sdr_queue) > 2 * max(1, len(m.sdrs)):
        m.msgs.append(f"SDR utilisation {u:.2f}: the SDR queue never drains ({len(m.sdr_queue)} leads "
                         "still waiting at the end); add SDRs or patience")
        warnings.warn(m.msgs[-1], LeadsimWarning, stacklevel=3)
    return result
