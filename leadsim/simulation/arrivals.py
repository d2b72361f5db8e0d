"""Who arrives when, and what they do: arrival times, lead records, activities.

Lead attributes and the latent buying intent come from the same generative
model as :func:`leadsim.datasets.make_history` (its lead and session
generators are reused); this module only decides *when* leads arrive
(weekday x hour profiles per source, campaign bursts, outbound work) and
draws their behaviour over the horizon up front (nurture clicks take the
offer of the stage the lead is in when the run reaches them).

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

from leadsim.datasets import world
from leadsim.definition import LeadDefinition
from leadsim.simulation.scenario import ArrivalProfile, Scenario

__all__ = ["arrivals", "behaviour_stream", "creation_activities", "lead_table", "profile_arrivals"]

ACTIVITIES: list[str] = world.KINDS.tolist()  # the codes of behaviour_stream's activity column
DETAILS: list[str] = list(dict.fromkeys(world.DETAILS.tolist()))  # ... and of its detail column (distinct names)
_DETAIL_CODE = np.array([DETAILS.index(x) for x in world.DETAILS.tolist()] + [-1])  # session code -> ours (-1 kept)
_CLICK = ACTIVITIES.index("email_click")


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
    leads, hidden = world.make_leads(rng, max(n, 1), start, end, definition.calendar)
    leads = leads.iloc[:n]  # its lead ids are already L000001 ... (copy on write: the frame is our own)
    hidden = {k: v[:n] for k, v in hidden.items()}
    created = start.to_datetime64().astype("datetime64[ns]") + np.round(minutes * 60e9).astype("timedelta64[ns]")
    if not n:  # the ids of no leads have always been an empty float column
        leads["lead_id"] = []
    leads["source"] = pd.array(source, dtype="str")
    leads["created_at"] = pd.array(created, dtype="datetime64[ns]")
    return leads.reset_index(drop=True), hidden


def behaviour_stream(rng: np.random.Generator, created_ns: np.ndarray, intent: np.ndarray, job_seeker: np.ndarray,
                     horizon_ns: int, epoch_ns: int, behaviour, start: pd.Timestamp) -> dict[str, np.ndarray]:
    """Browsing sessions and nurture clicks of every lead from its creation to the horizon, drawn up front.

    Drawn per epoch of ``epoch_ns`` (a lead's interest fades with its age at
    the start of each epoch; times are uniform within it).  Nurture clicks
    come at the scenario's cadence; *which* offer was clicked depends on the
    stage the lead is in, so it is left open here: ``pick`` (uniform in
    [0, 1)) chooses among the stage's offers when the run gets there.
    Times are nanoseconds since ``start``.  Returns columns ``lead, t,
    activity, detail`` (codes: positions in :data:`ACTIVITIES` and
    :data:`DETAILS`, -1 for no detail, as for the clicks), ``nurture`` (bool)
    and ``pick``.

    >>> import numpy as np, pandas as pd
    >>> from leadsim.simulation.scenario import Behaviour
    >>> day = 86_400 * 10**9
    >>> s = behaviour_stream(np.random.default_rng(1), np.array([0, 3 * day]), np.array([2.0, 0.0]),
    ...                      np.array([False, False]), 28 * day, 7 * day, Behaviour(), pd.Timestamp("2026-01-05"))
    >>> bool((s["t"] >= np.array([0, 3 * day])[s["lead"]]).all() and (s["t"] < 28 * day).all())
    True
    """
    n = len(created_ns)
    n_epochs = -(-int(horizon_ns) // int(epoch_ns))
    k0 = np.asarray(created_ns, np.int64) // epoch_ns
    counts = np.maximum(n_epochs - k0, 0)
    lead = np.repeat(np.arange(n), counts)
    k = k0[lead] + np.arange(len(lead)) - np.repeat(np.cumsum(counts) - counts, counts)
    lo = np.maximum(created_ns[lead], k * epoch_ns)
    hi = np.minimum((k + 1) * epoch_ns, horizon_ns)
    span_days = np.maximum(hi - lo, 0) / 86_400e9
    fade = np.exp(-np.maximum(lo - created_ns[lead], 0) / 86_400e9 / behaviour.life_days)
    li = intent[lead]
    n_s = rng.poisson(behaviour.sessions_per_month / 30.0 * span_days * np.exp(0.7 * li) * fade)
    s_pair = np.repeat(np.arange(len(lead)), n_s)
    s_t = lo[s_pair] + (rng.random(len(s_pair)) * (hi - lo)[s_pair]).astype(np.int64)
    burst = rng.random(len(s_pair)) < world.sigmoid(li[s_pair] - behaviour.burst_offset)
    base = start.to_datetime64().astype("datetime64[ns]")
    # sessions are numbered so that each activity maps back to its session (lead and epoch end)
    acts = world.session_rows(rng, np.arange(len(s_pair)), base + s_t.astype("timedelta64[ns]"),
                               burst.astype(np.int8), job_seeker[lead[s_pair]], codes=True)
    sess = acts["lead"]
    t = (acts["at"] - base).astype(np.int64)
    keep = t < hi[s_pair[sess]]
    n_c = rng.poisson(span_days / behaviour.nurture_every_days * behaviour.nurture_click * np.exp(0.5 * li) * fade)
    c_pair = np.repeat(np.arange(len(lead)), n_c)
    c_t = lo[c_pair] + (rng.random(len(c_pair)) * (hi - lo)[c_pair]).astype(np.int64)
    pick = rng.random(len(c_pair))
    n_a = int(keep.sum())
    return {"lead": np.concatenate([lead[s_pair[sess[keep]]], lead[c_pair]]).astype(np.int64),
            "t": np.concatenate([t[keep], c_t]).astype(np.int64),
            "activity": np.concatenate([acts["activity"][keep], np.full(len(c_pair), _CLICK)]),
            "detail": np.concatenate([_DETAIL_CODE[acts["detail"][keep]], np.full(len(c_pair), -1)]),
            "nurture": np.concatenate([np.zeros(n_a, bool), np.ones(len(c_pair), bool)]),
            "pick": np.concatenate([np.zeros(n_a), pick])}


def creation_activities(rng: np.random.Generator, lead: np.ndarray, source: np.ndarray, created_ns: np.ndarray,
                        intent: np.ndarray) -> dict[str, np.ndarray]:
    """What created each record (a form fill, a landing-page visit), at its creation; codes as in
    :func:`behaviour_stream`."""
    rows = world.creation_rows(rng, source, intent)
    idx = rows["lead"]
    return {"lead": lead[idx].astype(np.int64), "t": created_ns[idx].astype(np.int64),
            "activity": rows["activity"].astype(np.int64), "detail": _DETAIL_CODE[rows["detail"]]}
