"""A simulation scenario fitted to a company's own history: :func:`fit_scenario`.

The fitted scenario replays the window ``[start, end)`` of the history (its
``start`` is the window's first day, its horizon the window's length), so a
run of it can be compared with what happened.  What the history tells is
fitted; everything else comes from ``base`` (default: the sample scenario
with the given definition).  Every fitted figure is one row of
``scenario.provenance``, with its 95 % interval, how many observations it
rests on, the table and column it came from, and the method:

* **arrivals** per source (``per_week``, ``weekday`` and ``hour`` weights) from
  the leads' ``created_at`` and ``source``; exact Poisson (Garwood) intervals.
  Sources outside :data:`~leadsim.simulation.scenario.SOURCES` are mapped by
  keyword (``Paid Search`` -> ``paid``, ``referral`` -> ``organic``,
  ``purchased_list`` -> ``event``); what no keyword matches counts as
  ``organic`` and is named in a :class:`LeadsimWarning`.  The trend over the
  window (a Poisson regression of weekly counts on the week) is reported, not
  simulated (a scenario has no trend).
* **batch uploads**: at least :data:`BURST_SIZE` leads of one source within
  :data:`BURST_MINUTES` minutes become ``bursts`` and leave the Poisson rate.
* **outbound** work: leads from an outbound source, and the share entering at
  Opportunity.
* **people**: SDRs and reps seen working in the window (``owners`` roles;
  without them, the stage the lead was in when touched), exact; their shift
  hours from the times of day of their touches (the edges of the range, see
  :func:`~leadsim.simulation.estimates.edge_interval`).
* **handling times** from a touch duration column (``duration_minutes``,
  ``minutes`` or ``duration``): calls from SDR attempts that were retried,
  the qualifying talk from hand-offs qualified at the first attempt, reps'
  touches from theirs.  Without durations the base's values stay, with a
  warning naming them.
* **response behaviour** (:mod:`leadsim.simulation.estimates`): the
  chance of contact and of qualification as a function of the response
  delay, by logistic regression with owner, source and score as controls;
  the scenario's ``curve`` takes the fitted anchors.
* **stage shares**: how visits of each stage ended (converted, recycled,
  disqualified, lost), Wilson intervals.

Below :data:`MIN_HANDOFFS` hand-offs in the window the fit refuses with one
line.  ``docs/design.md`` section 1.8 ("The simulation") describes the model
these figures feed.

>>> from leadsim.datasets import load_sample
>>> s = load_sample()
>>> sc = fit_scenario(s, s.definition, start="2026-01-05", end="2026-04-06")
>>> sc.sdr_headcount, sc.rep_headcount, sc.horizon_days
(3, 4, 91.0)
>>> sc.provenance.set_index("parameter").loc["sdr_headcount", ["value", "lo", "hi"]].tolist()
[3.0, 3.0, 3.0]
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, SchemaError
from leadsim.funnel import to_local, validate_stage_log, visits
from leadsim.simulation.estimates import (
    Z95,
    edge_interval,
    exponential_mean_interval,
    glm,
    handoff_table,
    poisson_interval,
    response_rows,
    wilson_interval,
)
from leadsim.simulation.resample import MIN_POOL, MIN_WATCHED_DAYS, LeadPool, fit_decisions, warn_empty
from leadsim.simulation.scenario import SOURCES, ArrivalProfile, Curve, Scenario, build, load_scenario

__all__ = ["BURST_MINUTES", "BURST_SIZE", "MIN_HANDOFFS", "PROVENANCE_COLUMNS", "fit_scenario", "headline", "map_source"]

#: Refuse to fit below this many hand-offs in the window.
MIN_HANDOFFS = 30
#: A batch upload: at least this many leads of one source ...
BURST_SIZE = 20
#: ... created within this many minutes.
BURST_MINUTES = 10
#: A source needs this many leads in the window for its own weekday and hour shape (else the pooled one).
MIN_SHAPE_LEADS = 100
#: The columns of ``Scenario.provenance``.
PROVENANCE_COLUMNS = ("parameter", "value", "lo", "hi", "n", "unit", "source", "method")

_DAY = pd.Timedelta(days=1)
#: keyword -> scenario source, tried in order on the lower-cased source text
_SOURCE_WORDS = (
    ("outbound", ("outbound", "prospect", "cold", "sales gen", "sales_gen")),
    ("event", ("event", "fair", "trade", "conference", "webinar", "offline", "import", "list", "booth")),
    ("paid", ("paid", "ppc", "cpc", "ads", "adwords", "sem", "display", "sponsor", "linkedin", "campaign")),
    ("web_form", ("form", "web", "site", "contact", "trial", "demo", "inbound", "call")),
    ("organic", ("organic", "seo", "search", "direct", "referral", "partner", "social", "email", "newsletter",
                 "content", "blog", "other")),
)
_ROLE_WORDS = (("sdr", ("sdr", "bdr", "development", "qualif", "inside sales")),
               ("rep", ("rep", "account exec", "ae", "sales", "closer", "account manager")))


def map_source(value: Any) -> str | None:
    """The scenario source (or ``outbound``) a lead source text stands for; None when no keyword matches.

    >>> [map_source(x) for x in ["web_form", "Paid Search", "purchased_list", "Referrals", "zzz"]]
    ['web_form', 'paid', 'event', 'organic', None]
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().casefold()
    if text in (*SOURCES, "outbound"):
        return text
    for source, words in _SOURCE_WORDS:
        if any(w in text for w in words):
            return source
    return None


def _role(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().casefold()
    if "manager" in text and "account manager" not in text:
        return None
    for role, words in _ROLE_WORDS:
        if text == role or any(re.search(rf"\b{re.escape(w)}", text) for w in words):
            return role
    return None


class _Fit:
    """The fit's state: the tables, the window and the provenance rows gathered so far."""

    def __init__(self, tables: dict[str, pd.DataFrame], d: LeadDefinition, start: Any, end: Any):
        self.d = d
        self.t = tables
        self.rows: list[dict[str, Any]] = []
        self.shares: dict[tuple[str, str], tuple[int, int]] = {}  # (stage, outcome) -> (count, visits left)
        self.w0, self.w1 = self._window(start, end)
        self.span = f"{self.w0:%Y-%m-%d %H:%M}..{self.w1:%Y-%m-%d %H:%M}"
        self.weeks = (self.w1 - self.w0) / pd.Timedelta(weeks=1)
        self.log = validate_stage_log(tables["stage_log"], d)
        touches = tables.get("touches")
        self.touches = None
        if isinstance(touches, pd.DataFrame) and len(touches):
            tt = touches.copy()
            tt["at"] = to_local(tt["at"], d, where="touches.at")
            tt["lead_id"] = tt["lead_id"].astype("string")
            tt["by"] = tt["by"].astype("string") if "by" in tt else pd.Series(pd.NA, index=tt.index, dtype="string")
            self.touches = tt[(tt["at"] >= self.w0) & (tt["at"] < self.w1)].reset_index(drop=True)

    def _window(self, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        times = [to_local(self.t["stage_log"]["at"], self.d, where="stage_log.at")]
        if "created_at" in self.t["leads"]:
            times.append(to_local(self.t["leads"]["created_at"], self.d, where="leads.created_at"))
        if isinstance(self.t.get("touches"), pd.DataFrame) and "at" in self.t["touches"]:
            times.append(to_local(self.t["touches"]["at"], self.d, where="touches.at"))
        lo = min(t.min() for t in times if len(t))
        hi = max(t.max() for t in times if len(t))
        w0 = lo.normalize() if start is None else _stamp(start, self.d, "start")
        w1 = hi.normalize() + _DAY if end is None else _stamp(end, self.d, "end")
        if not w1 > w0:
            raise DataError(f"the window's end {w1} must come after its start {w0}; pass start < end",
                            where="fit_scenario")
        return w0, w1

    def add(self, parameter: str, value: float, lo: float = np.nan, hi: float = np.nan, *, n: int, unit: str,
            source: str, method: str) -> None:
        self.rows.append(dict(parameter=parameter, value=float(value), lo=float(lo), hi=float(hi), n=int(n),
                              unit=unit, source=f"{source}, {self.span}", method=method))

    # -- arrivals ------------------------------------------------------------------------------

    def arrivals(self, data: dict[str, Any]) -> None:
        leads = self.t["leads"]
        if "created_at" not in leads:
            raise SchemaError("the leads table needs created_at to fit arrivals", where="leads.created_at")
        created = to_local(leads["created_at"], self.d, where="leads.created_at")
        inside = ((created >= self.w0) & (created < self.w1)).to_numpy()
        raw = leads["source"].astype("string") if "source" in leads else pd.Series(pd.NA, index=leads.index,
                                                                                     dtype="string")
        texts = raw.fillna("(missing)").to_numpy(dtype=object)
        lookup = {x: map_source(None if x == "(missing)" else x) for x in pd.unique(texts)}
        unknown = sorted(k for k, v in lookup.items() if v is None and k in set(texts[inside]))
        if unknown:
            counts = pd.Series(texts[inside]).value_counts()
            warnings.warn(f"lead sources no keyword maps: {', '.join(f'{k!r} ({counts[k]})' for k in unknown)}; "
                          f"counted as 'organic' (map them in the export's column mapping to choose)",
                          LeadsimWarning, stacklevel=3)
        all_src = np.array([lookup[x] or "organic" for x in texts], dtype=object)
        ids = pd.Index(leads["lead_id"].astype("string"))
        self.lead_source = pd.Series(all_src, index=ids).groupby(level=0).first()  # a control of the response fit
        t = created[inside].reset_index(drop=True)
        src = all_src[inside]
        self.window_leads = ids[inside]
        burst = self._bursts(t, src, data)
        inbound_shape = None
        pooled = t[(src != "outbound") & ~burst]
        if len(pooled) >= MIN_SHAPE_LEADS:
            inbound_shape = self._shape(pooled)
        arrivals = {}
        for s in SOURCES:
            sel = (src == s) & ~burst
            n = int(sel.sum())
            lo, hi = poisson_interval(n)
            mapped = sorted({x for x, v in lookup.items() if (v or "organic") == s})
            where = f"leads.created_at, leads.source in {mapped}" if mapped else "leads.created_at (no such leads)"
            self.add(f"arrivals.{s}.per_week", n / self.weeks, lo / self.weeks, hi / self.weeks, n=n,
                     unit="leads per week", source=where, method="count / weeks; exact Poisson (Garwood) interval; "
                     "batch uploads left out")
            shape = self._shape(t[sel]) if n >= MIN_SHAPE_LEADS else inbound_shape
            how = "own" if n >= MIN_SHAPE_LEADS else ("pooled inbound" if inbound_shape else "base scenario's")
            if shape is None:
                prof = data["arrivals"].get(s) or ArrivalProfile(per_week=0).model_dump()  # the scenario's defaults
                shape = (prof["weekday"], prof["hour"])
            for k, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
                self.add(f"arrivals.{s}.weekday.{name}", shape[0][k], n=n, unit="relative rate (mean 1)",
                         source=where, method=f"{how} shape: leads per such day in the window over the mean")
            for h in range(24):
                self.add(f"arrivals.{s}.hour.{h:02d}", shape[1][h], n=n, unit="relative rate (mean 1)",
                         source=where, method=f"{how} shape: share of the day's leads x 24")
            self._trend(s, t[sel], where)
            arrivals[s] = {"per_week": n / self.weeks, "weekday": list(shape[0]), "hour": list(shape[1])}
        data["arrivals"] = arrivals
        self._outbound(t, src, data)

    def _shape(self, t: pd.Series) -> tuple[list[float], list[float]]:
        days = pd.date_range(self.w0.normalize(), self.w1 - pd.Timedelta(1), freq="D")
        per_wd = np.bincount(days.day_of_week, minlength=7).astype(float)
        wd = np.bincount(t.dt.day_of_week.to_numpy(), minlength=7) / np.where(per_wd > 0, per_wd, 1.0)
        wd = wd / wd.mean() if wd.sum() > 0 else np.ones(7)
        hr = np.bincount(t.dt.hour.to_numpy(), minlength=24).astype(float)
        hr = hr / hr.mean() if hr.sum() > 0 else np.ones(24)
        return [float(x) for x in wd], [float(x) for x in hr]

    def _trend(self, s: str, t: pd.Series, where: str) -> None:
        n_weeks = int(np.ceil(self.weeks - 1e-9))
        if n_weeks < 2 or len(t) == 0:
            self.add(f"arrivals.{s}.trend_per_week", np.nan, n=len(t), unit="growth per week", source=where,
                     method="not estimated: fewer than two weeks or no leads")
            return
        week = ((t - self.w0) / pd.Timedelta(weeks=1)).astype(float).to_numpy().astype(int)
        counts = np.bincount(np.minimum(week, n_weeks - 1), minlength=n_weeks)
        exposure = np.minimum(self.weeks - np.arange(n_weeks), 1.0)
        fit = glm(np.c_[np.ones(n_weeks), np.arange(n_weeks)], counts, family="poisson", offset=np.log(exposure))
        b, lo, hi = fit.wald(1)
        self.add(f"arrivals.{s}.trend_per_week", np.expm1(b), np.expm1(lo), np.expm1(hi), n=len(t),
                 unit="growth per week", source=where, method="Poisson regression of weekly counts on the week "
                 "(log link, exposure of a partial week); Wald interval; reported only, a scenario has no trend")

    def _bursts(self, t: pd.Series, src: np.ndarray, data: dict[str, Any]) -> np.ndarray:
        """Mark batch uploads and turn them into the scenario's ``bursts``; returns the mask of burst leads."""
        mask = np.zeros(len(t), bool)
        ns = t.to_numpy().astype("datetime64[ns]").view(np.int64)
        win = BURST_MINUTES * 60 * 10**9
        bursts = []
        for s in SOURCES:
            idx = np.flatnonzero(src == s)
            idx = idx[np.argsort(ns[idx], kind="stable")]
            x = ns[idx]
            if len(x) < BURST_SIZE:
                continue
            reach = np.searchsorted(x, x + win, side="right")
            dense = np.flatnonzero(reach - np.arange(len(x)) >= BURST_SIZE)
            marked = np.zeros(len(x), bool)
            for i in dense:
                marked[i:reach[i]] = True
            if not marked.any():
                continue
            m_idx = np.flatnonzero(marked)
            cut = np.flatnonzero(np.diff(x[m_idx]) > win) + 1
            sizes, firsts = [], []
            for group in np.split(m_idx, cut):
                centre = np.median(x[group])
                core = group[np.abs(x[group] - centre) <= 60 * 10**9]  # a list import: within a minute
                group = core if len(core) >= BURST_SIZE else group
                mask[idx[group]] = True
                sizes.append(len(group))
                firsts.append(x[group].min())
            sizes_a = np.array(sizes, float)
            day0 = (pd.Timestamp(int(firsts[0])) - self.w0 - pd.Timedelta(hours=10)) / _DAY
            gaps = np.diff(np.array(firsts, float)) / _DAY.value
            # the mean gap, kept within the gaps that give as many uploads in the window as the history shows
            # (uploads that came in clusters and then stopped would otherwise be repeated all through the window)
            rest = (self.w1 - self.w0) / _DAY - max(day0, 0.0)
            lo_gap, hi_gap = rest / len(sizes), rest / max(len(sizes) - 1, 1)
            every = float(np.clip(gaps.mean(), lo_gap, hi_gap)) if len(gaps) else None
            where = f"leads.created_at, leads.source {s!r} ({BURST_SIZE}+ within {BURST_MINUTES} min)"
            half = Z95 * sizes_a.std(ddof=1) / np.sqrt(len(sizes_a)) if len(sizes_a) > 1 else np.nan
            self.add(f"bursts.{s}.count", len(sizes), *poisson_interval(len(sizes)), n=len(sizes), unit="uploads",
                     source=where, method="batch uploads found; exact Poisson interval")
            self.add(f"bursts.{s}.size", sizes_a.mean(), sizes_a.mean() - half, sizes_a.mean() + half,
                     n=len(sizes), unit="leads", source=where, method="mean upload size; normal interval")
            self.add(f"bursts.{s}.first_day", max(day0, 0.0), n=len(sizes), unit="days after start",
                     source=where, method="first upload (the simulation uploads at 10:00)")
            if every is not None:
                self.add(f"bursts.{s}.every_days", every, lo_gap, hi_gap, n=len(gaps), unit="days", source=where,
                         method="mean gap between uploads, kept within the range of gaps (given) that repeat as "
                         "many uploads in the window as seen")
            bursts.append({"source": s, "size": round(float(sizes_a.mean())), "first_day": max(round(day0, 4), 0.0),
                           "every_days": every if every and every > 0 else None})
        data["bursts"] = bursts
        return mask

    def _outbound(self, t: pd.Series, src: np.ndarray, data: dict[str, Any]) -> None:
        sel = src == "outbound"
        n = int(sel.sum())
        lo, hi = poisson_interval(n)
        where = "leads.created_at, leads.source outbound"
        self.add("outbound.per_week", n / self.weeks, lo / self.weeks, hi / self.weeks, n=n, unit="leads per week",
                 source=where, method="count / weeks; exact Poisson (Garwood) interval")
        data["outbound"]["per_week"] = n / self.weeks
        ids = self.window_leads[sel]
        first = self.log.drop_duplicates("lead_id").set_index("lead_id")["stage"]
        entry = first.reindex(pd.Index(ids, dtype="string")).dropna()
        if len(entry):
            k = int((entry == self.d.funnel.milestones.opportunity).sum())
            lo, hi = wilson_interval(k, len(entry))
            self.add("outbound.opportunity_share", k / len(entry), lo, hi, n=len(entry), unit="share",
                     source="stage_log first row of outbound leads", method="share entering at the opportunity "
                     "milestone; Wilson interval")
            data["outbound"]["opportunity_share"] = k / len(entry)

    # -- people, shifts and handling -----------------------------------------------------------

    def people(self, data: dict[str, Any]) -> dict[str, str]:
        """Headcounts and shifts; returns each active person's role."""
        d = self.d
        log = self.log
        in_log = log[(log["at"] >= self.w0) & (log["at"] < self.w1) & log["owner"].notna()]
        listed: dict[str, str | None] = {}
        owners = self.t.get("owners")
        if isinstance(owners, pd.DataFrame) and {"owner", "role"} <= set(owners.columns):
            listed = {str(o): _role(r) for o, r in zip(owners["owner"], owners["role"], strict=True) if pd.notna(o)}
        # the stage the lead was in at each touch and each owner row: Lead -> SDR, beyond -> rep
        seen: list[pd.DataFrame] = [pd.DataFrame({"who": in_log["owner"].astype(str), "stage": in_log["stage"]})]
        if self.touches is not None and len(self.touches):
            tt = self.touches.dropna(subset=["by"]).sort_values("at", kind="stable")
            lg = log[["lead_id", "at", "stage"]].sort_values("at", kind="stable")
            lg = lg.assign(lead_id=lg["lead_id"].astype("string"))
            st = pd.merge_asof(tt[["lead_id", "at", "by"]], lg, on="at", by="lead_id", direction="backward")
            seen.append(pd.DataFrame({"who": st["by"].astype(str), "stage": st["stage"]}))
        seen_df = pd.concat(seen, ignore_index=True).dropna()
        later = {s.id for s in d.funnel.stages[[s.id for s in d.funnel.stages].index(d.funnel.milestones.sql):]}
        guess = seen_df.assign(role=np.where(seen_df["stage"] == d.funnel.milestones.mql, "sdr",
                                             np.where(seen_df["stage"].isin(later), "rep", None)))
        guess = guess.dropna(subset=["role"]).groupby("who")["role"].agg(lambda r: r.value_counts().index[0])
        active = set(seen_df["who"])
        role = {w: (listed.get(w) if listed.get(w) else (None if w in listed else guess.get(w))) for w in active}
        shifts = dict(data.get("shifts") or {})
        for r, key in (("sdr", "sdr_headcount"), ("rep", "rep_headcount")):
            people = sorted(w for w, x in role.items() if x == r)
            how = ("owners.role, active in touches.by or stage_log.owner" if listed
                   else "touches.by and stage_log.owner, role from the stage the lead was in")
            if people:
                self.add(key, len(people), len(people), len(people), n=len(people), unit="people", source=how,
                         method="distinct people of the role seen working in the window (exact)")
                data[key] = len(people)
            else:
                self.add(key, data[key], n=0, unit="people", source=how, method="none seen: the base scenario's")
                warnings.warn(f"no {r.upper()} seen working in {self.span}: {key} keeps the base "
                              f"scenario's {data[key]}", LeadsimWarning, stacklevel=3)
            shifts[r] = self._shift(r, people, shifts.get(r))
        data["shifts"] = shifts
        return role

    def _work_touches(self, people: list[str]) -> pd.DataFrame:
        """Touches by ``people``, without those logged as a lead enters at a sales stage (the meeting that brings
        an outbound lead in: a record, not work picked from a queue)."""
        if self.touches is None or not people:
            return pd.DataFrame(columns=["lead_id", "at", "by"])
        tt = self.touches[self.touches["by"].isin(people)]
        f = self.d.funnel
        sales = f.stage_ids[f.stage_ids.index(f.milestones.sql):]
        entry = self.log.drop_duplicates("lead_id")
        entry = entry.loc[entry["stage"].isin(sales), ["lead_id", "at"]]
        entry = entry.assign(lead_id=entry["lead_id"].astype("string"), entry=True)
        tt = tt.merge(entry, on=["lead_id", "at"], how="left")
        return tt[tt["entry"].isna()].drop(columns="entry")

    def _shift(self, role: str, people: list[str], base: Any) -> Any:
        tt = self._work_touches(people)
        minute = (tt["at"] - tt["at"].dt.normalize()) / pd.Timedelta(minutes=1)
        where = f"touches.at by role {role}"
        ends = []
        for side in ("open", "close"):
            est, lo, hi = edge_interval(minute.to_numpy(float), side)
            ok = np.isfinite(est)
            ends.append(est)
            self.add(f"shifts.{role}.{side}", est / 60 if ok else np.nan, np.floor(lo) / 60 if ok else np.nan,
                     np.ceil(hi) / 60 if ok else np.nan, n=len(minute), unit="hour of day", source=where,
                     method=("edge of the touches' times of day (Poisson process near the edge, F interval; "
                             "outbound entry meetings left out)" if ok else "too few touches: the base's"))
        if not all(np.isfinite(ends)):
            return base
        o = int(np.clip(round(ends[0]), 0, 1438))
        c = int(np.clip(round(ends[1]), o + 1, 1439))
        return (f"{o // 60:02d}:{o % 60:02d}", f"{c // 60:02d}:{c % 60:02d}")

    def handling(self, data: dict[str, Any], role: dict[str, str], ho: pd.DataFrame) -> None:
        h = data["handling"]
        col = next((c for c in ("duration_minutes", "minutes", "duration") if self.touches is not None
                    and c in self.touches), None)
        if col is None:
            for key in ("call_minutes", "research_minutes", "qualify_minutes", "rep_touch_minutes"):
                self.add(f"handling.{key}", h[key], n=0, unit="minutes", source="touches (no duration column)",
                         method="the base scenario's")
            warnings.warn(f"the touches carry no duration column (duration_minutes, minutes or duration): handling "
                          f"times keep the base scenario's call_minutes {h['call_minutes']}, research_minutes "
                          f"{h['research_minutes']}, qualify_minutes "
                          f"{h['qualify_minutes']}, rep_touch_minutes {h['rep_touch_minutes']}",
                          LeadsimWarning, stacklevel=3)
            return
        tt = self.touches.copy()
        raw = tt[col]
        tt["dur"] = (raw / pd.Timedelta(minutes=1) if pd.api.types.is_timedelta64_dtype(raw)
                     else pd.to_numeric(raw, errors="coerce")).astype(float)
        tt["role"] = tt["by"].astype(object).map(role)
        src = f"touches.{col}"
        sdr = tt[(tt["role"] == "sdr")].sort_values(["lead_id", "at"], kind="stable")
        # each SDR touch's hand-off visit: retried attempts (another touch follows in the visit) never reached
        vis = ho[["lead_id", "handed_at", "until", "sql"]].sort_values("handed_at", kind="stable")
        sdr = pd.merge_asof(sdr.sort_values("at", kind="stable"), vis.rename(columns={"handed_at": "at_h"}), left_on="at",
                            right_on="at_h", by="lead_id", direction="backward")
        sdr = sdr[sdr["at_h"].notna() & ((sdr["until"].isna()) | (sdr["at"] < sdr["until"]))]
        sdr = sdr.sort_values(["lead_id", "at_h", "at"], kind="stable")
        first = ~sdr.duplicated(["lead_id", "at_h"], keep="first").to_numpy()
        last = ~sdr.duplicated(["lead_id", "at_h"], keep="last").to_numpy()
        dur, sql = sdr["dur"].to_numpy(float), sdr["sql"].eq(True).fillna(False).to_numpy(bool)
        ok = np.isfinite(dur)
        # a call: an attempt that was neither the hand-off's first (which carries its research) nor its last (which
        # reached the lead); with too few of those, every attempt followed by another
        middle = dur[ok & ~first & ~last]
        apart = len(middle) >= 5  # enough calls without a hand-off's research to tell the two apart
        calls, what = ((middle, "of SDR attempts between a hand-off's first and last") if apart else
                       (dur[ok & ~last], "of SDR attempts followed by another (first attempts included)"))
        call, lo, hi = exponential_mean_interval(calls)
        self._set(h, "call_minutes", call, lo, hi, len(calls), f"{src} {what}", "mean; exact exponential interval")
        call = h["call_minutes"]
        if apart:
            self._difference(h, "research_minutes", dur[ok & first & ~last], calls, call, f"{src} of hand-offs' "
                             "first SDR attempts followed by another", "mean minus the call's; Wald interval",
                             floor=0.0)
        else:  # the first attempts' research is inside call_minutes: none on top (not the base scenario's)
            h["research_minutes"] = 0.0
            self.add("handling.research_minutes", 0.0, n=len(middle), unit="minutes", source=f"{src} {what}",
                     method=f"only {len(middle)} attempts between a hand-off's first and last: research counted "
                            "in call_minutes")
        # the qualifying talk, two ways: a hand-off qualified at its first attempt took that attempt's work (a call
        # and the research) plus the talk, one whose first attempt missed took the work alone; an attempt that
        # qualified at a retry took a call plus the talk.  Each a difference of means; the one with the smaller
        # standard error among those with 30 values or more (a mean of fewer such skewed durations has a Wald
        # interval too narrow: the retries' way, from 7-30 hand-offs, held the truth in 84-86 % of 50 simulated
        # histories, benchmarks/RESULTS-backtest.md), else the first way, else the retries'.
        ways = [(dur[ok & last & sql & first], dur[ok & first & ~last], "hand-offs qualified at their first SDR "
                 "attempt, less the first attempts that missed")]
        if apart:  # (else the calls hold first attempts, research and all)
            ways.append((dur[ok & last & sql & ~first], calls, "SDR attempts that qualified at a retry, less the calls"))
        ways = [w for w in ways if len(w[0]) >= 5 and len(w[1]) >= 2] or ways[:1]
        big = [w for w in ways if len(w[0]) >= 30]
        values, less, what = min(big, key=lambda w: w[0].var(ddof=1) / len(w[0]) + w[1].var(ddof=1) / len(w[1])) \
            if big else ways[0]
        self._difference(h, "qualify_minutes", values, less, float(less.mean()) if len(less) else np.nan,
                         f"{src} of {what}", "difference of means; Wald interval")
        rep = self._work_touches(sorted(w for w, x in role.items() if x == "rep"))
        rep_d = pd.to_numeric(rep.merge(tt[["lead_id", "at", "by", "dur"]], on=["lead_id", "at", "by"],
                                        how="left")["dur"], errors="coerce").dropna().to_numpy()
        m, lo, hi = exponential_mean_interval(rep_d)
        self._set(h, "rep_touch_minutes", m, lo, hi, len(rep_d), src + " of reps' touches",
                  "mean; exact exponential interval")

    def _difference(self, h: dict[str, Any], key: str, values: np.ndarray, calls: np.ndarray, call: float,
                    source: str, method: str, *, floor: float | None = None) -> None:
        """``key`` as the mean of ``values`` minus the call's mean ``call`` (Wald interval on the difference);
        ``floor``: the least value kept (an estimate below it is reported and the floor used)."""
        if len(values) < 5 or len(calls) < 2:
            self.add(f"handling.{key}", h[key], n=len(values), unit="minutes", source=source,
                     method=f"too few durations ({len(values)}): the base scenario's")
            return
        v = float(values.mean()) - call
        se = float(np.sqrt(values.var(ddof=1) / len(values) + calls.var(ddof=1) / len(calls)))
        lo, hi = v - Z95 * se, v + Z95 * se
        if floor is not None and v <= floor:
            h[key] = floor
            self.add(f"handling.{key}", floor, lo, hi, n=len(values), unit="minutes", source=source,
                     method=f"{method}; the estimate {v:.3g} is at or below {floor:g}: {floor:g} used")
            return
        self._set(h, key, v, lo, hi, len(values), source, method)

    def _set(self, h: dict[str, Any], key: str, value: float, lo: float, hi: float, n: int, source: str,
             method: str) -> None:
        if n >= 5 and np.isfinite(value) and value > 0:
            h[key] = float(value)
            self.add(f"handling.{key}", value, lo, hi, n=n, unit="minutes", source=source, method=method)
        else:
            self.add(f"handling.{key}", h[key], n=n, unit="minutes", source=source,
                     method=f"too few durations ({n}): the base scenario's")

    # -- the leads themselves, and what they do after a hand-off --------------------------------

    def leads_and_decisions(self, data: dict[str, Any], ho: pd.DataFrame) -> LeadPool | None:
        """What happens after a hand-off (``decisions``, always fitted), and the pool new leads are drawn from
        (``None`` when the window is too short: then leadsim's generator makes the leads)."""
        curve = Curve.model_validate(data["curve"]).response_curve()
        decisions, rows = fit_decisions(ho, ho["fit_score"].to_numpy(float), self.shares, self.d, curve=curve)
        for r in rows:
            self.add(r["parameter"], r["value"], r["lo"], r["hi"], n=r["n"], unit=r["unit"],
                     source="hand-offs and stage_log", method=r["method"])
        data["decisions"] = decisions
        t = self.t
        pool = LeadPool.from_history(t["leads"], t.get("activities"), self.log, self.d, source=self.lead_source,
                                     w0=self.w0, w1=self.w1)
        if len(pool) < MIN_POOL:
            self.add("leads.pool", 0, n=len(pool), unit="history leads", source="leads created in the window",
                     method=f"{len(pool)} leads watched {MIN_WATCHED_DAYS}+ days before the window's end, fewer than "
                            f"{MIN_POOL}: new leads come from leadsim's generator (behaviour: the base scenario's)")
            return None
        warn_empty(pool)
        by = pd.Series(pool.source).value_counts()
        self.add("leads.pool", len(pool), n=len(pool), unit="history leads",
                 source="leads created in the window, " + ", ".join(f"{s} {c}" for s, c in by.items()),
                 method=f"arrivals drawn from them by source, behaviour while in a marketing stage replayed "
                        f"({len(pool.act_lead)} activities); leads watched {MIN_WATCHED_DAYS}+ days before the "
                        f"window's end")
        data["leads"] = "history"
        return pool

    # -- stage shares --------------------------------------------------------------------------

    def stage_shares(self) -> None:
        f = self.d.funnel
        v = visits(self.log)
        v = v.assign(next=v["stage"].shift(-1))
        v = v[(v["at"] >= self.w0) & (v["at"] < self.w1)]
        closed = v[v["until"].notna() & (v["until"] < self.w1)]
        ids = f.stage_ids
        main = [s.id for s in f.stages if s.part != "exit" and s.id not in (f.disqualify.to, f.lost.to)]
        rank = {s: i for i, s in enumerate(main)}
        for stage in ids:
            sv = closed[closed["stage"] == stage]
            if not len(sv):
                continue
            here = rank.get(stage, -1)
            kind = np.select([sv["next"] == f.disqualify.to, sv["next"] == f.lost.to,
                              sv["next"].map(lambda s: rank.get(s, -1)).to_numpy() > here],
                             ["disqualify", "lost", "convert"], "recycle")
            for k in ("convert", "recycle", "disqualify", "lost"):
                c = int((kind == k).sum())
                self.shares[(stage, k)] = (c, len(sv))
                exit_ = {"recycle": f.recycle, "disqualify": f.disqualify, "lost": f.lost}.get(k)
                if exit_ is not None and stage not in exit_.from_ and c == 0:
                    continue
                lo, hi = wilson_interval(c, len(sv))
                self.add(f"stage.{stage}.{k}_share", c / len(sv), lo, hi, n=len(sv), unit="share",
                         source=f"stage_log visits of {stage!r} entered and left in the window",
                         method="share of the left visits; Wilson interval (visits still open are not counted)")


def _stamp(value: Any, d: LeadDefinition, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataError(f"cannot read {value!r} as a time; use e.g. '2026-01-05'", where=f"fit_scenario.{what}") \
            from None
    if ts is pd.NaT:
        raise DataError(f"{value!r} is not a time; use e.g. '2026-01-05'", where=f"fit_scenario.{what}")
    return to_local(pd.Series([ts]), d, where=f"fit_scenario.{what}").iloc[0]


def _tables(history: Any) -> dict[str, pd.DataFrame]:
    if isinstance(history, dict):
        tables = dict(history)
    elif callable(getattr(history, "tables", None)):
        tables = history.tables()
    elif isinstance(getattr(history, "tables", None), dict):  # an io.Export
        tables = dict(history.tables)
    else:
        raise SchemaError(f"pass a leadsim.datasets.History or a dict of its tables, got {type(history).__name__}",
                          where="fit_scenario")
    for name in ("leads", "stage_log"):
        if not isinstance(tables.get(name), pd.DataFrame):
            raise SchemaError(f"the history has no {name} table; fitting a scenario needs leads and stage_log",
                              where=name)
    return tables


def headline(provenance: pd.DataFrame) -> pd.DataFrame:
    """The provenance rows a person reads first: all but the weekday and hour shape weights of each source.

    >>> p = pd.DataFrame({"parameter": ["arrivals.paid.per_week", "arrivals.paid.hour.09", "sdr_headcount"]})
    >>> headline(p)["parameter"].tolist()
    ['arrivals.paid.per_week', 'sdr_headcount']
    """
    return provenance[~provenance["parameter"].str.contains(r"\.(?:weekday|hour)\.", regex=True)]


def fit_scenario(history: Any, definition: LeadDefinition, *, start: Any = None, end: Any = None,
                 base: Scenario | None = None) -> Scenario:
    """A :class:`Scenario` fitted to ``history`` in the window ``[start, end)``, with ``provenance``.

    ``history``: a :class:`leadsim.datasets.History`, a dict of its tables or
    an :class:`leadsim.io.export.Export` (``owners``, ``touches`` and
    ``activities`` may be missing).  ``start``/``end`` default to the
    history's span (from the first day with a record to the day after the
    last).  ``base`` gives every parameter the history cannot tell (default:
    :func:`load_scenario`'s sample with ``definition``).  What is fitted and
    how is in the module docstring; the figures and their 95 % intervals are
    ``scenario.provenance`` (columns :data:`PROVENANCE_COLUMNS`).  Raises
    :class:`DataError` below :data:`MIN_HANDOFFS` hand-offs in the window.

    >>> from leadsim.datasets import load_sample
    >>> s = load_sample()
    >>> with warnings.catch_warnings(action="ignore"):  # a four-week window: new leads from the generator
    ...     sc = fit_scenario(s, s.definition, start="2026-01-05", end="2026-02-02")
    >>> sorted(sc.arrivals) == sorted(SOURCES), sc.horizon_days
    (True, 28.0)
    >>> p = sc.provenance.set_index("parameter")
    >>> bool(p.loc["arrivals.web_form.per_week", "lo"] < sc.arrivals["web_form"].per_week
    ...      < p.loc["arrivals.web_form.per_week", "hi"])
    True
    """
    d = require_definition(definition, where="fit_scenario")
    tables = _tables(history)
    fit = _Fit(tables, d, start, end)
    ho = handoff_table(fit.log, fit.touches, tables, d, fit.w0, fit.w1)
    if len(ho) < MIN_HANDOFFS:
        raise DataError(f"{len(ho)} hand-offs (entries into {d.funnel.milestones.mql!r}) in {fit.span}; "
                        f"fitting a scenario needs at least {MIN_HANDOFFS}: give a longer history or a wider "
                        f"start/end, or write the scenario by hand (leadsim.load_scenario())", where="stage_log")
    base = base if base is not None else load_scenario()
    data = base.model_dump(mode="json")
    data["definition"] = d.to_dict()
    fit.arrivals(data)
    role = fit.people(data)
    fit.handling(data, role, ho)
    data["curve"] = response_rows(fit, ho, data["curve"])
    fit.stage_shares()
    pool = fit.leads_and_decisions(data, ho)
    days = (fit.w1 - fit.w0) / _DAY
    data.update(name=f"fitted from history {fit.span}", start=fit.w0.date().isoformat(), horizon_days=days,
                warmup_days=data["warmup_days"] if data["warmup_days"] < days else 0)
    return build(data, source="fit_scenario", pool=pool,
                 provenance=tuple({k: row[k] for k in PROVENANCE_COLUMNS} for row in fit.rows))
