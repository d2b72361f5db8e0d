"""Simulated leads drawn from a history: the pool of past leads, and what they do after a hand-off.

A scenario fitted from a history (:func:`leadsim.simulation.fitting.fit_scenario`)
sets ``leads: history``: each simulated arrival of a source is a copy of a
past lead of that source, drawn at random (with replacement) from the
:class:`LeadPool`, with its attributes and its behaviour shifted in time so
that it is created at the arrival's moment.  The behaviour replayed is the
lead's activity while it sat in a *marketing* stage (before its first hand-off,
and again after sales handed it back); what happened while sales held it is
left out, and what happens after a simulated hand-off is simulated, never
replayed (the SDR's contact, qualification, the sales decisions).

Those decisions come from the history too (:func:`fit_decisions`): the chance
that a lead reached at the first attempt qualifies, as a logistic function of
its fit score at the response curve's baseline delay (the curve's multiplier
at each hand-off's delay an offset); what share of the leads reached and not
qualified are disqualified rather than recycled; and the Sales Lead and
Opportunity outcomes as fitted shares.

Limits, stated in the provenance: a lead created shortly before the window's
end was watched only briefly, so the pool keeps the leads watched for at least
:data:`MIN_WATCHED_DAYS` days; with fewer than :data:`MIN_POOL` of them (a
short window) the fit keeps leadsim's generator for new leads and says so.  A
simulated lead older than its pool lead was watched goes quiet.

>>> import numpy as np, pandas as pd
>>> pool = LeadPool(attributes=pd.DataFrame({"industry": ["software", "retail"]}),
...                 source=np.array(["paid", "event"], object), lead_ids=np.array(["A", "B"], object),
...                 act_lead=np.array([0, 0, 1]), act_offset=np.array([0, 3_600 * 10**9, 0]),
...                 act_code=np.array([0, 1, 0], np.int32), det_code=np.array([-1, 0, -1], np.int32),
...                 act_vocab=("web_visit", "form_submit"), det_vocab=("pricing",))
>>> leads, picked = pool.draw(np.random.default_rng(1), np.array([0.0, 60.0]), np.array(["paid", "paid"], object),
...                           pd.Timestamp("2026-01-05"))
>>> leads["industry"].tolist(), picked.tolist()
(['software', 'software'], [0, 0])
>>> b = pool.behaviour(picked, np.array([0, 60 * 60 * 10**9]), 10 * 3_600 * 10**9)
>>> (b["lead"].tolist(), (b["t"] // (60 * 10**9)).tolist())
([0, 0, 1, 1], [0, 60, 60, 120])
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.funnel import to_local
from leadsim.simulation.curves import ResponseCurve
from leadsim.simulation.stream import rows_in

__all__ = ["MIN_POOL", "MIN_WATCHED_DAYS", "LeadPool", "fit_decisions"]

#: Pool leads are those watched at least this many days before the window's end (a quarter: a lead's buying
#: interest mostly shows within it, and a back-test's warm-up plus prediction rarely runs longer) ...
MIN_WATCHED_DAYS = 91
#: ... when there are at least this many of them (else every lead created in the window).
MIN_POOL = 200
_DAY_NS = 86_400 * 10**9
_DROP = ("lead_id", "source", "created_at")


@dataclass(frozen=True, eq=False)
class LeadPool:
    """Past leads to draw simulated arrivals from: their attributes (one row each, without ``lead_id``,
    ``source`` and ``created_at``), scenario source, history id, and behaviour rows (pool lead, nanoseconds
    since its creation, activity and detail codes into the vocabularies; detail -1: none)."""

    attributes: pd.DataFrame
    source: np.ndarray
    lead_ids: np.ndarray
    act_lead: np.ndarray
    act_offset: np.ndarray
    act_code: np.ndarray
    det_code: np.ndarray
    act_vocab: tuple[str, ...]
    det_vocab: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.source)

    @classmethod
    def from_history(cls, leads: pd.DataFrame, activities: pd.DataFrame | None, log: pd.DataFrame,
                     d: LeadDefinition, *, source: pd.Series, w0: pd.Timestamp, w1: pd.Timestamp) -> LeadPool:
        """The leads created in ``[w0, w1)`` and watched at least :data:`MIN_WATCHED_DAYS` days before ``w1``,
        with their activity while in a marketing stage before ``w1``.

        ``log``: the validated stage log (naive local times); ``source``: each history lead's scenario source
        (indexed by lead id as text).
        """
        created = to_local(leads["created_at"], d, where="leads.created_at").to_numpy("datetime64[ns]")
        inside = (created >= w0.to_datetime64()) & (created < w1.to_datetime64())
        keep = np.flatnonzero(inside & (created <= (w1 - pd.Timedelta(days=MIN_WATCHED_DAYS)).to_datetime64()))
        ids = leads["lead_id"].astype("string").to_numpy(dtype=object)[keep]
        attrs = leads.iloc[keep].drop(columns=[c for c in _DROP if c in leads.columns]).reset_index(drop=True)
        src = source.reindex(pd.Index(ids, dtype="string")).fillna("organic").to_numpy(dtype=object)
        empty = dict(act_lead=np.empty(0, np.int64), act_offset=np.empty(0, np.int64),
                     act_code=np.empty(0, np.int32), det_code=np.empty(0, np.int32), act_vocab=(), det_vocab=())
        if activities is None or not len(activities) or not len(keep):
            return cls(attributes=attrs, source=src, lead_ids=ids, **empty)
        acts = activities[["lead_id", "activity", "at"] + (["detail"] if "detail" in activities else [])]
        pos = pd.Index(ids, dtype="string").get_indexer(acts["lead_id"].astype("string"))
        at = to_local(acts["at"], d, where="activities.at").to_numpy("datetime64[ns]")
        born = np.where(pos >= 0, created[keep][np.maximum(pos, 0)], np.datetime64("NaT"))
        ok = (pos >= 0) & (at < w1.to_datetime64()) & (at >= born - np.timedelta64(1, "D"))
        acts = acts[ok]
        pos, at = pos[ok], at[ok]
        stage = _stage_at(log, acts["lead_id"].astype("string").to_numpy(dtype=object), at)
        marketing = pd.isna(stage) | np.isin(stage.astype(object), list(d.funnel.marketing_stages))
        acts, pos, at = acts[marketing], pos[marketing], at[marketing]
        act_code, act_vocab = pd.factorize(acts["activity"].astype("string"), use_na_sentinel=True)
        detail = acts["detail"].astype("string") if "detail" in acts else pd.Series(pd.NA, index=acts.index,
                                                                                       dtype="string")
        det_code, det_vocab = pd.factorize(detail, use_na_sentinel=True)
        order = np.lexsort((at, pos))
        valid = act_code[order] >= 0
        order = order[valid]
        return cls(attributes=attrs, source=src, lead_ids=ids, act_lead=pos[order].astype(np.int64),
                   act_offset=(at[order] - created[keep][pos[order]]).astype("timedelta64[ns]").astype(np.int64),
                   act_code=act_code[order].astype(np.int32), det_code=det_code[order].astype(np.int32),
                   act_vocab=tuple(map(str, act_vocab)), det_vocab=tuple(map(str, det_vocab)))

    def draw(self, rng: np.random.Generator, minutes: np.ndarray, source: np.ndarray,
             start: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
        """Lead records for arrivals at ``minutes`` after ``start`` of ``source``: a pool lead of the same source
        each (any pool lead where the pool has none of it); returns (leads, the pool leads drawn)."""
        from leadsim.datasets.world import lead_ids

        n = len(minutes)
        picked = np.zeros(n, np.int64)
        everyone = np.arange(len(self))
        for s in pd.unique(source):
            rows = np.flatnonzero(source == s)
            cand = np.flatnonzero(self.source == s)
            cand = cand if len(cand) else everyone
            picked[rows] = cand[rng.integers(0, len(cand), len(rows))]
        leads = self.attributes.iloc[picked].reset_index(drop=True)
        created = start.to_datetime64().astype("datetime64[ns]") + np.round(minutes * 60e9).astype("timedelta64[ns]")
        leads.insert(0, "lead_id", pd.array(lead_ids(n) if n else [], dtype="str"))
        leads["source"] = pd.array(source, dtype="str")
        leads["created_at"] = pd.array(created, dtype="datetime64[ns]")
        return leads, picked

    def behaviour(self, picked: np.ndarray, created_ns: np.ndarray, horizon_ns: int) -> dict[str, np.ndarray]:
        """The replayed activity of simulated leads drawn as ``picked``, created at ``created_ns`` (ns since the
        run's start): the columns :class:`~leadsim.simulation.stream.Stream` takes, codes into the pool's
        vocabularies, rows at ``0 <= t < horizon_ns``."""
        ptr = np.searchsorted(self.act_lead, np.arange(len(self) + 1))
        rows, lead = rows_in(ptr, picked)
        t = np.asarray(created_ns, np.int64)[lead] + self.act_offset[rows]
        ok = (t >= 0) & (t < horizon_ns)
        k = int(ok.sum())
        return {"lead": lead[ok], "t": t[ok], "activity": self.act_code[rows][ok], "detail": self.det_code[rows][ok],
                "nurture": np.zeros(k, bool), "pick": np.zeros(k)}


def _stage_at(log: pd.DataFrame, lead: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The stage each (lead, time) was in just before that time according to ``log`` (missing before the lead's
    first row)."""
    if not len(lead):
        return np.empty(0, object)
    q = pd.DataFrame({"lead_id": pd.array(lead, dtype="string"), "at": at, "k": np.arange(len(lead))})
    lg = log[["lead_id", "at", "stage"]].assign(lead_id=log["lead_id"].astype("string"))
    # the stage *before* the moment: an activity that made the lead an MQL is logged at the hand-off's instant
    m = pd.merge_asof(q.sort_values("at", kind="stable"), lg.sort_values("at", kind="stable"), on="at", by="lead_id",
                      direction="backward", allow_exact_matches=False)
    out = np.full(len(lead), None, object)
    out[m["k"].to_numpy()] = m["stage"].astype(object).to_numpy()
    return out


def fit_decisions(ho: pd.DataFrame, fit_score: np.ndarray, shares: dict[tuple[str, str], tuple[int, int]],
                  d: LeadDefinition, *, curve: ResponseCurve) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The scenario's ``decisions`` and their provenance rows (``parameter, value, lo, hi, n, unit, method``).

    ``ho``: the hand-off table of :func:`leadsim.simulation.estimates.handoff_table`; ``fit_score``: each
    hand-off lead's fit score; ``shares``: ``(stage, outcome) -> (count, visits left)`` of the stage log;
    ``curve``: the response curve the scenario simulates with.  The chance to qualify is fitted in the form the
    simulation uses it: log-odds ``qualify_log_odds + qualify_per_point * (fit - qualify_center)`` at the
    curve's baseline, plus the log of the curve's multiplier at the hand-off's first response delay (an offset,
    so the delay is counted once, by the curve).

    >>> from leadsim import load_definition
    >>> ho = pd.DataFrame({"contact": [True] * 4, "qualified": [True, False, True, True],
    ...                    "delay_minutes": [5.0, 5.0, 60.0, 60.0], "left_to": ["sales_lead", "target"] + [None] * 2})
    >>> flat = ResponseCurve.preset("flat")
    >>> dec, rows = fit_decisions(ho, np.full(4, 50.0), {}, load_definition(), curve=flat)
    >>> round(dec["qualify_log_odds"], 3) == round(math.log(3), 3)  # 3 of 4 qualified, no delay effect
    True
    >>> halved = ResponseCurve.preset("flat", qualification={5: 1.0, 60: 0.5})
    >>> dec, _ = fit_decisions(ho, np.full(4, 50.0), {}, load_definition(), curve=halved)
    >>> bool(dec["qualify_log_odds"] > math.log(3))  # the late two qualified despite halved odds: higher at baseline
    True
    """
    from leadsim.simulation.estimates import MIN_LABELLED, glm, wilson_interval
    from leadsim.simulation.scenario import Decisions

    rows: list[dict[str, Any]] = []
    ms = d.funnel.milestones
    reached = ho["contact"].fillna(False).to_numpy(bool) & ho["qualified"].notna().to_numpy(bool)
    y = ho["qualified"].to_numpy(dtype=object)[reached].astype(bool)
    x = np.nan_to_num(np.asarray(fit_score, float)[reached], nan=0.0)
    center = float(x.mean()) if len(x) else 0.0
    x = x - center  # centred: the level and the slope are (nearly) uncorrelated, so they can be redrawn apart
    delays = np.clip(np.nan_to_num(ho["delay_minutes"].to_numpy(float)[reached], nan=0.0), 0, None)
    offset = np.log([curve.qualification_multiplier(float(m)) for m in delays]) if len(delays) else np.empty(0)
    n, k = len(y), int(y.sum())
    slope = n >= MIN_LABELLED and 5 <= k <= n - 5  # enough of each for the fit score's slope
    X = np.c_[np.ones(n), x] if slope else np.ones((n, 1))
    fitted = None
    if 0 < k < n:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fitted = glm(X, y.astype(float), family="logistic", offset=offset, ridge=1e-6)
    out: dict[str, float] = {"qualify_center": center}
    how = (f"logistic regression of qualified (leads reached at the first attempt) on "
           f"{'the fit score (centred at its mean ' + format(center, '.1f') + ')' if slope else 'a constant'}, "
           f"offset by the log of the curve's odds multiplier at the first response delay; Wald interval")
    if not slope:
        how += f" ({n} reached, {k} qualified: too few for the fit score's slope, which is 0)"
    if fitted is not None and fitted.converged:
        a, a_lo, a_hi = fitted.wald(0)
        out["qualify_log_odds"] = a
        rows.append(_row("decisions.qualify_log_odds", a, a_lo, a_hi, n, "log-odds", how))
        b, b_lo, b_hi = fitted.wald(1) if slope else (0.0, math.nan, math.nan)
        out["qualify_per_point"] = b
        if slope:
            rows.append(_row("decisions.qualify_per_point", b, b_lo, b_hi, n, "log-odds per point", how))
    else:  # none or all qualified (or no fit): the Jeffreys share, moved to the baseline by the mean offset
        p = (k + 0.5) / (n + 1.0)
        lo, hi = wilson_interval(k, n) if n else (math.nan, math.nan)
        shift = float(offset.mean()) if n else 0.0
        logit = lambda v: math.log(v / (1 - v)) - shift if 0 < v < 1 else math.nan  # noqa: E731
        out["qualify_log_odds"], out["qualify_per_point"] = logit(p), 0.0
        rows.append(_row("decisions.qualify_log_odds", out["qualify_log_odds"], logit(lo), logit(hi), n, "log-odds",
                         f"{n} reached at the first attempt, {k} qualified: the Jeffreys share, at the curve's "
                         "baseline by the mean log multiplier of their delays; Wilson interval"))
    # reached and not qualified: disqualified or recycled (the Lead visits' own shares would count the leads
    # never reached, which the simulation recycles by its retries, among the recycled)
    declined = reached & ~ho["qualified"].fillna(True).to_numpy(bool)
    total = int(declined.sum())
    c = int((ho["left_to"].to_numpy(dtype=object)[declined] == d.funnel.disqualify.to).sum()) if total else 0
    if total >= 5:
        lo, hi = wilson_interval(c, total)
        out["disqualify_share"] = c / total
        rows.append(_row("decisions.disqualify_share", c / total, lo, hi, total, "share",
                         "hand-offs reached at the first attempt and not qualified: the share that left to "
                         f"{d.funnel.disqualify.to!r} (else recycled); Wilson interval"))
    else:
        default = Decisions.model_fields["disqualify_share"].default
        rows.append(_row("decisions.disqualify_share", default, math.nan, math.nan, total, "share",
                         f"{total} hand-offs reached at the first attempt and not qualified, fewer than 5: "
                         "leadsim's default"))
    pairs = (("sales_disqualify_share", ms.sql, "disqualify", "recycle", "of Sales Leads not converted"),
             ("opportunity_share", ms.sql, "convert", None, "of Sales Leads decided"),
             ("win_share", ms.opportunity, "convert", None, "of Opportunities closed"))
    for key, stage, kind, other, what in pairs:
        c, total = shares.get((stage, kind), (0, 0))
        if other is not None:
            total = c + shares.get((stage, other), (0, 0))[0]
        if total < 5:
            continue
        lo, hi = wilson_interval(c, total)
        out[key] = c / total
        rows.append(_row(f"decisions.{key}", c / total, lo, hi, total, "share",
                         f"stage_log visits of {stage!r} left in the window, {what}; Wilson interval"))
    return out, rows


def _row(parameter: str, value: float, lo: float, hi: float, n: int, unit: str, method: str) -> dict[str, Any]:
    return dict(parameter=parameter, value=value, lo=lo, hi=hi, n=n, unit=unit, method=method)


def no_hidden(n: int) -> dict[str, np.ndarray]:
    """The generator's latent traits for leads that have none (drawn from a history): all zero / False."""
    return {"intent": np.zeros(n), "job_seeker": np.zeros(n, bool), "student": np.zeros(n, bool),
            "competitor": np.zeros(n, bool)}


def warn_empty(pool: LeadPool) -> None:
    """Say so when the pool replays no behaviour (no activities in the history)."""
    if len(pool) and not len(pool.act_lead):
        warnings.warn("the history has no activities in the fit window: simulated leads drawn from it show no "
                      "behaviour (only their fit can make them MQLs)", LeadsimWarning, stacklevel=3)
