"""Who arrives when, and what they do: arrival times, lead records, activities.

Lead attributes and the latent buying intent come from the same generative
model as :func:`leadsim.datasets.make_history` (its lead and session
generators are reused); this module only decides *when* leads arrive
(weekday x hour profiles per source, campaign bursts, outbound work) and
draws their behaviour week by week, so that nurture depends on the stage a
lead is in.

>>> import numpy as np
>>> from leadsim.simulation.scenario import ArrivalProfile
>>> rng = np.random.default_rng(1)
>>> t = profile_arrivals(rng, ArrivalProfile(per_week=700), days=14)
>>> 1200 < len(t) < 1600, bool((t[1:] >= t[:-1]).all())
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadsim.datasets import _world
from leadsim.definition import LeadDefinition
from leadsim.simulation.scenario import ArrivalProfile, Scenario

__all__ = ["arrivals", "lead_table", "profile_arrivals", "week_activities"]

DEEP = ("content_download", "webinar", "live_demo", "in_depth_demo", "form_fill")


def profile_arrivals(rng: np.random.Generator, profile: ArrivalProfile, days: float,
                     start_weekday: int = 0) -> np.ndarray:
    """Poisson arrival minutes over ``days`` with the profile's weekday x hour shape."""
    n_hours = int(np.ceil(days * 24))
    hours = np.arange(n_hours)
    wd = (start_weekday + hours // 24) % 7
    w = np.asarray(profile.weekday, float)[wd] * np.asarray(profile.hour, float)[hours % 24]
    week_total = np.sum(profile.weekday) * np.sum(profile.hour)
    rate = profile.per_week * w / week_total
    counts = rng.poisson(rate)
    t = (np.repeat(hours, counts) + rng.random(counts.sum())) * 60.0
    t = np.sort(t)
    return t[t < days * 1440.0]


def arrivals(rng: np.random.Generator, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, source) of every lead created in the horizon, sorted by time."""
    days = scenario.horizon_days
    wd0 = pd.Timestamp(scenario.start).weekday()
    times, sources = [], []
    for src, prof in scenario.arrivals.items():
        t = profile_arrivals(rng, prof, days, wd0)
        times.append(t)
        sources.append(np.full(len(t), src, dtype=object))
    for b in scenario.bursts:
        at = b.first_day * 1440.0 + 600.0
        while at < days * 1440.0:
            times.append(np.full(b.size, at))
            sources.append(np.full(b.size, b.source, dtype=object))
            if b.every_days is None:
                break
            at += b.every_days * 1440.0
    if scenario.outbound.per_week > 0:
        office = ArrivalProfile(per_week=scenario.outbound.per_week, weekday=[1, 1, 1, 1, 1, 0, 0],
                                hour=[0] * 9 + [1] * 8 + [0] * 7)
        t = profile_arrivals(rng, office, days, wd0)
        times.append(t)
        sources.append(np.full(len(t), "outbound", dtype=object))
    if not times:
        return np.empty(0), np.empty(0, dtype=object)
    t = np.concatenate(times)
    s = np.concatenate(sources)
    order = np.argsort(t, kind="stable")
    return t[order], s[order]


def lead_table(rng: np.random.Generator, minutes: np.ndarray, source: np.ndarray, start: pd.Timestamp,
               definition: LeadDefinition) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Lead records from the ``make_history`` generator, re-timed to the simulated arrivals."""
    n = len(minutes)
    end = start + pd.Timedelta(days=max(1.0, float(minutes.max()) / 1440 + 1 if n else 1.0))
    leads, hidden = _world.make_leads(rng, max(n, 1), start, end, definition.calendar)
    leads = leads.iloc[:n].copy()
    hidden = {k: v[:n] for k, v in hidden.items()}
    created = start.to_datetime64().astype("datetime64[ns]") + np.round(minutes * 60e9).astype("timedelta64[ns]")
    leads["lead_id"] = [f"L{i:06d}" for i in range(1, n + 1)]
    leads["source"] = pd.array(source.astype(str), dtype="str")
    leads["created_at"] = pd.array(created, dtype="datetime64[ns]")
    return leads.reset_index(drop=True), hidden


def week_activities(rng: np.random.Generator, lead: np.ndarray, lo_ns: np.ndarray, hi_ns: int,
                    intent: np.ndarray, age_days: np.ndarray, job_seeker: np.ndarray, offers: np.ndarray,
                    behaviour, start: pd.Timestamp) -> dict[str, np.ndarray]:
    """Browsing sessions and nurture clicks of ``lead`` (positions) in ``[lo_ns, hi_ns)``.

    ``offers`` holds, per lead, the nurture offers of its current stage (a
    list; empty for none).  Times are nanoseconds since ``start``.  Returns
    columns ``lead, t, activity, detail`` as arrays (names as objects).
    """
    span_days = np.maximum(hi_ns - lo_ns, 0) / 86_400e9
    fade = np.exp(-np.maximum(age_days, 0) / behaviour.life_days)
    rate = behaviour.sessions_per_month / 30.0 * span_days * np.exp(0.7 * intent) * fade
    n_s = rng.poisson(rate)
    s_lead = np.repeat(lead, n_s)
    s_lo = np.repeat(lo_ns, n_s)
    s_span = np.repeat(hi_ns - lo_ns, n_s)
    s_t = s_lo + (rng.random(len(s_lead)) * s_span).astype(np.int64)
    burst = rng.random(len(s_lead)) < _world.sigmoid(np.repeat(intent, n_s) - behaviour.burst_offset)
    base = start.to_datetime64().astype("datetime64[ns]")
    seeker = np.zeros(int(lead.max()) + 1 if len(lead) else 1, bool)
    seeker[lead] = job_seeker
    acts = _world.sessions_to_activities(rng, s_lead, base + s_t.astype("timedelta64[ns]"),
                                         burst.astype(np.int8), seeker)
    t = (acts["at"].to_numpy(dtype="datetime64[ns]") - base).astype(np.int64)
    keep = t < hi_ns
    out_lead = [acts["lead"].to_numpy()[keep]]
    out_t = [t[keep]]
    out_act = [acts["activity"].to_numpy(dtype=object)[keep]]
    out_det = [acts["detail"].to_numpy(dtype=object)[keep]]
    # nurture: offers of the lead's current stage at the scenario's cadence
    has = np.array([len(o) > 0 for o in offers], bool)
    n_c = rng.poisson(span_days / behaviour.nurture_every_days * behaviour.nurture_click
                      * np.exp(0.5 * intent) * fade * has)
    c_idx = np.repeat(np.arange(len(lead)), n_c)
    if len(c_idx):
        out_lead.append(lead[c_idx])
        out_t.append(lo_ns[c_idx] + (rng.random(len(c_idx)) * (hi_ns - lo_ns[c_idx])).astype(np.int64))
        out_act.append(np.full(len(c_idx), "email_click", dtype=object))
        pick = rng.random(len(c_idx))
        out_det.append(np.array([offers[i][int(p * len(offers[i]))] for i, p in zip(c_idx, pick, strict=True)],
                                dtype=object))
    return {"lead": np.concatenate(out_lead).astype(np.int64), "t": np.concatenate(out_t).astype(np.int64),
            "activity": np.concatenate(out_act).astype(object), "detail": np.concatenate(out_det).astype(object)}


def creation_activities(rng: np.random.Generator, lead: np.ndarray, source: np.ndarray, created_ns: np.ndarray,
                        intent: np.ndarray) -> dict[str, np.ndarray]:
    """What created each record (a form fill, a landing-page visit), at its creation."""
    acts = _world.creation_activities(rng, source, created_ns, intent)
    idx = acts["lead"].to_numpy()
    return {"lead": lead[idx].astype(np.int64), "t": created_ns[idx].astype(np.int64),
            "activity": acts["activity"].to_numpy(dtype=object), "detail": acts["detail"].to_numpy(dtype=object)}
