"""The funnel of a synthetic history: hand-offs, SDR and rep work, outcomes.

Private to :mod:`leadsim.datasets`; the model is described in that package's
docstring.  Rows are collected as column arrays and turned into the public
tables at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadsim import progression
from leadsim.calendar import BusinessCalendar
from leadsim.datasets.truth import GroundTruth
from leadsim.datasets.world import (
    DAY_MIN,
    MINUTE,
    burst_sessions,
    finish_activities,
    sessions_to_activities,
    sigmoid,
)
from leadsim.definition import LeadDefinition
from leadsim.errors import DefinitionError
from leadsim.scoring import mql_events, score

#: rank of a stage-log row among rows of the same lead at the same moment
_RANK = {"created": 0, "tofu": 1, "mql": 3, "sales": 4, "opp": 5, "close": 6, "exit": 7}
NAT = np.datetime64("NaT", "ns")
#: mean minutes of work a touch of each kind takes
TOUCH_MINUTES = {"call": 10.0, "email": 5.0, "meeting": 45.0}


@dataclass
class Params:
    """Knobs of the funnel (defaults give the conversion rates of docs/design.md section 7.2, "Funnel rates")."""

    sdrs: int = 3                    # the SDR team (owners with role sdr)
    reps: int = 4                    # the sales reps (owners with role rep, in three regional teams)
    exploration: float = 0.05        # chance a below-threshold Target lead is handed over anyway
    sdr_reaction_min: float = 12.0   # median SDR reaction, working minutes
    sdr_forget: float = 0.06         # share of hand-offs an SDR leaves for 1-5 working days
    sdr_decision_days: tuple[float, float] = (0.5, 4.0)
    rep_never_touch: float = 0.04
    rep_late_touch: float = 0.15
    opp_bias: float = 0.25           # log-odds of Sales Lead -> Opportunity at intent 0
    won_bias: float = -1.25          # log-odds of Opportunity -> Customer at intent 0
    reengage_bias: float = -2.0      # log-odds that a recycled lead starts a new buying burst
    quieten: float = 0.9             # share of burst activity in the month after a hand-off that goes away
    max_rounds: int = 8             # rounds of recycle -> re-engage -> hand-off again
    sdr_work_minutes: float = 80.0   # mean SDR work on a hand-off besides its first call (research, notes, e-mails)
    qualify_minutes: float = 35.0    # mean length of the qualifying talk, on the SDR's last touch before a qualification


@dataclass
class Rows:
    """Column-wise accumulator of one table."""

    names: tuple[str, ...]
    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: np.ndarray | object) -> None:
        n = max((len(v) for v in columns.values() if isinstance(v, np.ndarray)), default=0)
        for k, v in columns.items():
            arr = v if isinstance(v, np.ndarray) else np.full(n, v, dtype=object)
            self.cols.setdefault(k, []).append(arr)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: np.concatenate(self.cols[k]) if self.cols.get(k) else np.empty(0, dtype=object)
                             for k in self.names})


class Flow:
    """Runs marketing, SDRs and reps over the leads and activities of a world."""

    def __init__(self, rng: np.random.Generator, leads: pd.DataFrame, hidden: dict[str, np.ndarray],
                 raw_acts: pd.DataFrame, owners: pd.DataFrame, definition: LeadDefinition, truth: GroundTruth,
                 end: pd.Timestamp, params: Params):
        self.rng, self.leads, self.hidden, self.d, self.truth, self.p = rng, leads, hidden, definition, truth, params
        self.raw_acts = raw_acts
        self.end = end.to_datetime64().astype("datetime64[ns]")
        # working time: the calendar's index, from a fortnight before the first lead to 800 days after the end
        first = leads["created_at"].min().normalize() - pd.Timedelta(days=14)
        self.clock = BusinessCalendar.from_definition(definition).index(
            first, (end - first) / pd.Timedelta(days=1), margin_days=800)
        self.day_len = self.clock.length  # minutes of one working day
        self.created = leads["created_at"].to_numpy(dtype="datetime64[ns]")
        self.ids = leads["lead_id"].to_numpy(dtype=object)
        self.pos = pd.Index(self.ids)
        self.sdrs = owners.loc[owners["role"] == "sdr", "owner"].to_numpy(dtype=object)
        reps = owners.loc[owners["role"] == "rep"]
        self.rep_team = {t: g["owner"].to_numpy(dtype=object) for t, g in reps.groupby("team")}
        self.sdr_speed = np.exp(rng.normal(0.0, 0.5, len(self.sdrs)))
        self.stage = Rows(("lead", "stage", "at", "reason", "owner", "rank"))
        self.touch = Rows(("lead", "at", "kind", "by", "minutes"))
        self.qualified: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # SQL visits: (lead, handed, decided)
        self.out = Rows(("handoff_id", "lead_id", "handed_at", "handoff_reason", "propensity", "owner",
                         "response_minutes", "sql", "opportunity", "won", "reason"))
        self.n_handoffs = 0
        self.activities = finish_activities(raw_acts, leads, end)
        entry = definition.funnel.inbound_entry
        if entry is None:
            raise DefinitionError("no marketing stage (before the MQL stage) is listed under funnel.entry: new leads "
                                  "could not enter the history", where="funnel.entry")
        self.entry_stage = entry
        self.fit = score(leads, None, definition, as_of=pd.Timestamp(end))["fit_score"].to_numpy(float)

    # ------------------------------------------------------------------ helpers

    def _work_time(self, t: np.ndarray) -> np.ndarray:
        """Move moments into working hours (a person does this): the next opening when closed."""
        return self.clock.timestamps(self.clock.next_open_array(self.clock.minutes(t)), unit="s")

    def _to_work(self, t: np.ndarray) -> np.ndarray:
        """Times as working minutes (positions on the calendar's working-time line)."""
        return self.clock.position_array(self.clock.minutes(t))

    def _from_work(self, w: np.ndarray) -> np.ndarray:
        """Working minutes back to times, to the second: for positions reached by adding working time, so a
        position at a day's end is that closing time (as ``BusinessCalendar.add_working_minutes``)."""
        return self.clock.timestamps(self.clock.at_position_array(w), unit="s")

    def _add_work(self, t: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """``t`` plus so many working minutes (from the next opening), to the second."""
        return self.clock.timestamps(self.clock.add_minutes_array(self.clock.minutes(t), minutes), unit="s")

    def _log(self, lead: np.ndarray, stage: str | np.ndarray, at: np.ndarray, reason: str | np.ndarray,
             owner: object | np.ndarray, rank: str) -> None:
        if len(lead):
            own = owner if isinstance(owner, np.ndarray) else np.full(len(lead), owner, dtype=object)
            rsn = reason if isinstance(reason, np.ndarray) else np.full(len(lead), reason, dtype=object)
            stg = stage if isinstance(stage, np.ndarray) else np.full(len(lead), stage, dtype=object)
            self.stage.add(lead=lead, stage=stg, at=at, reason=rsn,
                           owner=own, rank=np.full(len(lead), _RANK[rank]))

    def _touches(self, lead: np.ndarray, t0: np.ndarray, t1: np.ndarray, by: np.ndarray, lam: float,
                 kinds: list[str], p: list[float]) -> None:
        """``Poisson(lam)`` further touches per lead, in working time between t0 and t1."""
        k = self.rng.poisson(lam, len(lead))
        idx = np.repeat(np.arange(len(lead)), k)
        w0, w1 = self._to_work(t0[idx]), self._to_work(t1[idx])
        at = self._add_work(t0[idx], self.rng.random(len(idx)) * np.maximum(w1 - w0, 0))
        kind = self.rng.choice(kinds, len(idx), p=p).astype(object)
        self.touch.add(lead=lead[idx], at=at, kind=kind, by=by[idx], minutes=self._minutes(kind))

    def _minutes(self, kind: np.ndarray) -> np.ndarray:
        """How long each touch took (minutes of work, exponential with the kind's mean)."""
        mean = np.array([TOUCH_MINUTES.get(k, 10.0) for k in kind.tolist()], float)
        return np.round(self.rng.exponential(1.0, len(kind)) * mean, 1)

    def _reps_for(self, lead: np.ndarray) -> np.ndarray:
        region = self.leads["region"].to_numpy(dtype=object)[lead]
        team = np.where(region == "DACH", "Sales DACH",
                        np.where(np.isin(region, ["Nordics", "Benelux"]), "Sales North", "Sales International"))
        out = np.empty(len(lead), dtype=object)
        for t, members in self.rep_team.items():
            m = team == t
            out[m] = self.rng.choice(members, m.sum())
        return out

    # ------------------------------------------------------------------ marketing

    def creation(self) -> None:
        src = self.leads["source"].to_numpy(dtype=object)
        ob = np.flatnonzero(src == "outbound")
        mk = np.flatnonzero(src != "outbound")
        reason = np.where(src[mk] == "event", "import", "created").astype(object)
        self._log(mk, self.entry_stage, self.created[mk], reason, None, "created")
        at_opp = self.rng.random(len(ob)) < 0.3
        reps = self._reps_for(ob)
        self._log(ob[~at_opp], "sales_lead", self.created[ob[~at_opp]], "outbound", reps[~at_opp], "created")
        self._log(ob[at_opp], "opportunity", self.created[ob[at_opp]], "outbound", reps[at_opp], "created")
        self.marketing = mk
        self.outbound = (ob[~at_opp], reps[~at_opp], ob[at_opp], reps[at_opp])

    def first_round(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Marketing's clean-up, progression to Target and exploration, up to each lead's first hand-off.

        Returns (lead, handed_at, reason, propensity) of the first hand-offs.
        """
        mk = self.marketing
        n = len(self.ids)
        acts = self.activities[self.activities["lead_id"].isin(self.ids[mk])]
        ev = mql_events(self.leads.iloc[mk], acts, self.d, as_of=pd.Timestamp(self.end), fit_points=self.fit[mk])
        t_mql = np.full(n, NAT)
        r_mql = np.full(n, None, dtype=object)
        pos = self.pos.get_indexer(ev["lead_id"].astype(str).to_numpy())
        t_mql[pos] = ev["at"].to_numpy(dtype="datetime64[ns]")
        r_mql[pos] = ev["reason"].astype(str).to_numpy(dtype=object)

        # marketing disqualifies most competitors and some students within a few weeks
        bad = (self.hidden["competitor"] & (self.rng.random(n) < 0.7)) | (self.hidden["student"] & (self.rng.random(n) < 0.4))
        t_dq = np.full(n, NAT)
        t_dq[bad] = self._work_time(self.created[bad] + (self.rng.uniform(1, 20, bad.sum()) * DAY_MIN) * MINUTE)
        stop = np.where(np.isnat(t_mql), self.end, t_mql)
        dq = bad & (t_dq < stop)
        dq[self.outbound[0]] = dq[self.outbound[2]] = False
        stop = np.where(dq, t_dq, stop)

        # the TOFU progression (the definition's rule), up to each lead's MQL moment or disqualification
        a = self.activities
        a_lead = self.pos.get_indexer(a["lead_id"].to_numpy(dtype=object))
        a_t = a["at"].to_numpy(dtype="datetime64[ns]")
        is_mk = np.zeros(n, bool)
        is_mk[mk] = True
        before = is_mk[a_lead] & (a_t < stop[a_lead])
        stage = np.full(n, self.entry_stage, dtype=object)
        moves = progression.climb(lead=a_lead[before], t=a_t[before],
                                  activity=a["activity"].to_numpy(dtype=object)[before], stage=stage,
                                  entered=self.created, stop=stop, fit=self.fit, definition=self.d)
        scored = self.d.funnel.milestones.scored
        t_target = np.full(n, NAT)
        s = moves.stage == scored
        t_target[moves.lead[s]] = moves.t[s]

        # exploration: one of the lead's activities after it reached Target, before any MQL; 5% of those are handed over
        sel = before & ~np.isnat(t_target[a_lead]) & (a_t > t_target[a_lead])
        cand = np.flatnonzero(sel)
        pick = pd.Series(self.rng.random(len(cand))).groupby(a_lead[cand]).idxmin()
        chosen = cand[pick.to_numpy()]
        explore = chosen[self.rng.random(len(chosen)) < self.p.exploration]
        x_lead = a_lead[explore]
        t_x = np.full(n, NAT)
        t_x[x_lead] = a_t[explore]
        dq[x_lead] = False  # handed over before marketing got round to disqualifying it

        self._log(moves.lead, moves.stage, moves.t, progression.REASON, None, "tofu")  # in the moves' order
        d = np.flatnonzero(dq)
        self._log(d, "disqualified", t_dq[d], self.dq_reasons(d), None, "exit")

        handed = np.where(~np.isnat(t_x), t_x, np.where(dq, NAT, t_mql))
        lead = np.flatnonzero(~np.isnat(handed))
        reason = np.where(~np.isnat(t_x[lead]), "exploration", r_mql[lead]).astype(object)
        prop = np.where(reason == "exploration", self.p.exploration, 1.0)
        return lead, handed[lead], reason, prop

    def later_round(self, recycled: np.ndarray, since: np.ndarray) -> tuple[np.ndarray, ...]:
        """MQL events of recycled leads after their recycle (a new episode)."""
        sub_ids = self.ids[recycled]
        log = self.stage_log_frame()
        log = log[log["lead_id"].isin(sub_ids)]
        acts = self.activities[self.activities["lead_id"].isin(sub_ids)]
        ev = mql_events(self.leads.iloc[recycled], acts, self.d, as_of=pd.Timestamp(self.end), stage_log=log,
                        fit_points=self.fit[recycled])
        pos = self.pos.get_indexer(ev["lead_id"].astype(str).to_numpy())
        since_of = pd.Series(since, index=recycled)
        after = ev["at"].to_numpy(dtype="datetime64[ns]") > since_of.reindex(pos).to_numpy(dtype="datetime64[ns]")
        ev, pos = ev[after], pos[after]
        first = ~pd.Series(pos).duplicated().to_numpy()
        ev, pos = ev[first], pos[first]
        reason = ev["reason"].astype(str).to_numpy(dtype=object)
        return pos, ev["at"].to_numpy(dtype="datetime64[ns]"), reason, np.ones(len(pos))

    # ------------------------------------------------------------------ SDRs

    def sdr_response(self, handed: np.ndarray, hot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sdr index, first-touch time, its minutes): a queue per SDR in working time; the SDR is busy with one
        hand-off's first call plus the rest of its work on the hand-off (research, notes, the e-mail sequence), and
        the first touch's duration records all of it (the time the SDR logged on the hand-off)."""
        n = len(handed)
        sdr = self.rng.integers(0, len(self.sdrs), n)
        arrive = self._to_work(handed)
        react = self.sdr_speed[sdr] * np.exp(self.rng.normal(np.log(self.p.sdr_reaction_min), 1.1, n))
        react = react * np.where(hot, 0.6, 1.0)
        forgot = self.rng.random(n) < self.p.sdr_forget
        react = react + forgot * self.rng.uniform(1, 5, n) * self.day_len
        handle = np.round(self.rng.exponential(TOUCH_MINUTES["call"], n), 1)
        busy = handle + self.rng.exponential(self.p.sdr_work_minutes, n)
        touch_w = np.empty(n)
        order = np.argsort(handed, kind="stable")
        free = np.full(len(self.sdrs), -np.inf)
        for i in order:
            s = sdr[i]
            t = max(arrive[i] + react[i], free[s] + 1.0)
            touch_w[i] = t
            free[s] = t + busy[i]
        return sdr, self._from_work(touch_w), np.round(busy, 1)

    def handoffs(self, lead: np.ndarray, handed: np.ndarray, reason: np.ndarray, prop: np.ndarray) -> np.ndarray:
        """Hand over to SDRs, qualify with the true model; returns the leads recycled (and when)."""
        rng, n = self.rng, len(lead)
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, "datetime64[ns]")
        hid = np.array([f"H{self.n_handoffs + i + 1:06d}" for i in range(n)], dtype=object)
        self.n_handoffs += n
        sdr, touch, first_minutes = self.sdr_response(handed, reason == "hot")
        owner = self.sdrs[sdr]
        self._log(lead, "lead", handed, reason, owner, "mql")
        touched = touch < self.end
        resp = np.where(touched, (touch - handed) / MINUTE, np.nan)
        lo, hi = self.p.sdr_decision_days
        decide = self._add_work(touch, rng.uniform(lo, hi, n) * self.day_len)
        decided = touched & (decide < self.end)

        ho = pd.DataFrame({"handoff_id": hid, "lead_id": self.ids[lead], "handed_at": handed,
                           "response_minutes": resp})
        feats = self.truth.features(self.leads, self.activities, ho)
        eta = self.truth.linear_predictor(feats) + rng.normal(0.0, self.truth.latent_sd, n)
        draw = rng.random(n) < sigmoid(np.nan_to_num(eta, nan=-50.0))
        sql = draw & decided
        bad = self.hidden["student"][lead] | self.hidden["competitor"][lead]
        dq = decided & ~sql & (rng.random(n) < np.where(bad, 0.85, 0.3))
        rec = decided & ~sql & ~dq

        self.touch.add(lead=lead[touched], at=touch[touched],
                       kind=rng.choice(["call", "email"], touched.sum(), p=[0.75, 0.25]).astype(object),
                       by=owner[touched], minutes=first_minutes[touched])
        t_end = np.where(decided, decide, self.end)
        self._touches(lead[touched], touch[touched], t_end[touched], owner[touched], 1.2, ["call", "email"], [0.6, 0.4])
        self._log(lead[dq], "disqualified", decide[dq], self.dq_reasons(lead[dq]), None, "exit")
        # the SDR who answered late more often never reached the lead (speed-to-lead)
        reached = rng.random(n) < np.exp(-np.nan_to_num(resp, nan=0.0) / (3 * self.day_len)) * 0.85
        self._log(lead[rec], self.d.funnel.recycle.to, decide[rec], self.recycle_reasons(~reached[rec]), None, "exit")
        s = np.flatnonzero(sql)
        self.qualified.append((lead[s], handed[s], decide[s]))
        opp, won = self.sales(lead[s], decide[s], self._reps_for(lead[s]))
        opportunity = pd.array(np.where(decided, False, None), dtype="boolean")
        opportunity[s] = opp
        won_all = pd.array(np.where(decided, False, None), dtype="boolean")
        won_all[s] = won
        self.out.add(handoff_id=hid, lead_id=self.ids[lead], handed_at=handed, handoff_reason=reason,
                     propensity=prop, owner=owner, response_minutes=resp,
                     sql=np.where(decided, sql, None).astype(object),
                     opportunity=np.asarray(opportunity, dtype=object), won=np.asarray(won_all, dtype=object),
                     reason=np.where(sql, "qualified", np.where(dq, "disqualify",
                                                                np.where(rec, "recycle", None))).astype(object))
        return lead[rec], decide[rec]

    def dq_reasons(self, lead: np.ndarray) -> np.ndarray:
        """Disqualify reasons: students and competitors as such, the others mostly no fit."""
        other = self.rng.choice(["no_fit", "invalid_contact", "duplicate"], len(lead), p=[0.7, 0.2, 0.1])
        return np.where(self.hidden["student"][lead], "student",
                        np.where(self.hidden["competitor"][lead], "competitor", other)).astype(object)

    def recycle_reasons(self, no_contact: np.ndarray) -> np.ndarray:
        """Recycle reasons: ``no_contact`` where the lead was never reached, else not ready / budget / authority."""
        talked = self.rng.choice(["not_ready", "no_budget", "no_authority"], len(no_contact), p=[0.6, 0.25, 0.15])
        return np.where(no_contact, "no_contact", talked).astype(object)

    # ------------------------------------------------------------------ reps

    def sales(self, lead: np.ndarray, entered: np.ndarray, rep: np.ndarray, at_opp: bool = False,
              logged: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Sales Lead (or Opportunity) work by reps; returns (opportunity, won) as object arrays (None = open).

        ``logged``: the entry is in the stage log already (outbound leads are created there).
        """
        rng, n, p = self.rng, len(lead), self.p
        intent = self.hidden["intent"][lead]
        if not at_opp:
            if not logged:
                self._log(lead, "sales_lead", entered, "qualified", rep, "sales")
            never = rng.random(n) < p.rep_never_touch
            delay = np.exp(rng.normal(np.log(120), 1.2, n)) + (rng.random(n) < p.rep_late_touch) * rng.uniform(
                1, 4, n) * self.day_len
            touch = self._add_work(entered, delay)
            work_days = np.exp(rng.normal(np.log(2.5), 0.7, n))
            decide = np.where(never, self._add_work(entered, rng.uniform(10, 20, n) * self.day_len),
                              self._add_work(touch, work_days * self.day_len))
            t_ok = ~never & (touch < self.end)
            kind = rng.choice(["call", "email"], t_ok.sum(), p=[0.7, 0.3]).astype(object)
            self.touch.add(lead=lead[t_ok], at=touch[t_ok], kind=kind, by=rep[t_ok], minutes=self._minutes(kind))
            t1 = np.minimum(decide, self.end)
            self._touches(lead[t_ok], touch[t_ok], t1[t_ok], rep[t_ok], 1.5, ["call", "email", "meeting"],
                          [0.5, 0.3, 0.2])
            decided = decide < self.end
            conv = decided & ~never & (rng.random(n) < sigmoid(p.opp_bias + 0.4 * intent))
            lost_sl = decided & ~conv
            dq = lost_sl & (rng.random(n) < 0.45)
            rec = lost_sl & ~dq
            self._log(lead[dq], "disqualified", decide[dq], self.dq_reasons(lead[dq]), None, "exit")
            # a rep who never touched it lets the deadline pass; the others recycle a lead that is not ready
            self._log(lead[rec], self.d.funnel.recycle.to, decide[rec],
                      np.where(never[rec], "no_decision", self.recycle_reasons(np.zeros(rec.sum(), bool))), None, "exit")
            self.sales_recycles.append((lead[rec], decide[rec]))
            self._log(lead[conv], "opportunity", decide[conv], "converted", rep[conv], "opp")
            opp_at = decide
        else:
            conv = np.ones(n, bool)
            decided = np.ones(n, bool)
            opp_at = entered
        # opportunity: meetings, then closed won or lost within 2-13 weeks
        close = self._work_time(opp_at + (rng.uniform(14, 90, n) * DAY_MIN) * MINUTE)
        closed = conv & (close < self.end)
        won = closed & (rng.random(n) < sigmoid(p.won_bias + 0.4 * intent))
        lost = closed & ~won
        o = np.flatnonzero(conv & (opp_at < self.end))
        t1 = np.minimum(close, self.end)
        self._touches(lead[o], opp_at[o], t1[o], rep[o], 3.0, ["meeting", "call", "email"], [0.4, 0.35, 0.25])
        self._log(lead[won], "customer", close[won], "won", rep[won], "close")
        lost_why = self.rng.choice(["lost_to_competitor", "lost_price", "lost_no_decision"], lost.sum(), p=[0.4, 0.3, 0.3])
        self._log(lead[lost], "lost", close[lost], lost_why.astype(object), rep[lost], "close")
        opp_out = np.where(decided, conv, None).astype(object)
        won_out = np.where(closed | (decided & ~conv), won, None).astype(object)
        return opp_out, won_out

    # ------------------------------------------------------------------ the whole history

    def quieten(self, lead: np.ndarray, handed: np.ndarray) -> None:
        """The SDR conversation serves the buying burst: most burst activity in the month after a hand-off goes away."""
        raw = self.raw_acts
        t_h = pd.Series(handed, index=lead).reindex(raw["lead"].to_numpy()).to_numpy(dtype="datetime64[ns]")
        at = raw["at"].to_numpy(dtype="datetime64[ns]")
        window = raw["burst"].to_numpy() & (at > t_h) & (at < t_h + np.timedelta64(30, "D"))
        drop = window & (self.rng.random(len(raw)) < self.p.quieten)
        if drop.any():
            self.raw_acts = raw[~drop].reset_index(drop=True)

    def reengage(self, lead: np.ndarray, since: np.ndarray) -> None:
        """Some recycled leads come back with a new buying burst."""
        if len(lead) == 0:
            return
        rng = self.rng
        intent = self.hidden["intent"]
        back = rng.random(len(lead)) < sigmoid(self.p.reengage_bias + 0.8 * intent[lead])
        lb = lead[back]
        begin = since[back] + ((14 + rng.exponential(60.0, len(lb))) * DAY_MIN) * MINUTE
        bl, bt = burst_sessions(rng, lb, begin, intent, self.d.calendar)
        new = sessions_to_activities(rng, bl, bt, np.ones(len(bl), dtype=np.int8), self.hidden["job_seeker"])
        self.raw_acts = pd.concat([self.raw_acts, new], ignore_index=True)

    def run(self) -> None:
        self.sales_recycles: list[tuple[np.ndarray, np.ndarray]] = []
        self.creation()
        ob_sl, rep_sl, ob_opp, rep_opp = self.outbound
        self.sales(ob_sl, self.created[ob_sl], rep_sl, logged=True)
        self.sales(ob_opp, self.created[ob_opp], rep_opp, at_opp=True)
        lead, handed, reason, prop = self.first_round()
        for k in range(self.p.max_rounds):
            rec, since = self.handoffs(lead, handed, reason, prop)
            self.quieten(lead, handed)
            for sl, st in self.sales_recycles:
                rec, since = np.concatenate([rec, sl]), np.concatenate([since, st])
            self.sales_recycles = []
            self.reengage(rec, since)
            self.activities = finish_activities(self.raw_acts, self.leads, pd.Timestamp(self.end))
            if len(rec) == 0 or k == self.p.max_rounds - 1:
                break
            lead, handed, reason, prop = self.later_round(rec, since)

    # ------------------------------------------------------------------ tables

    def stage_log_frame(self) -> pd.DataFrame:
        f = self.stage.frame()
        f = f[f["at"].to_numpy(dtype="datetime64[ns]") < self.end]
        f = f.sort_values(["lead", "at", "rank"], kind="stable")
        return pd.DataFrame({
            "lead_id": pd.array(self.ids[f["lead"].to_numpy(dtype=np.int64)], dtype="str"),
            "stage": pd.array(f["stage"].to_numpy(dtype=object), dtype="str"),
            "at": pd.array(f["at"].to_numpy(dtype="datetime64[ns]"), dtype="datetime64[ns]"),
            "reason": pd.array(f["reason"].to_numpy(dtype=object), dtype="str"),
            "owner": pd.array(f["owner"].to_numpy(dtype=object), dtype="str"),
        })

    def touches_frame(self) -> pd.DataFrame:
        f = self.touch.frame()
        f = f[f["at"].to_numpy(dtype="datetime64[ns]") < self.end]
        f = f.sort_values(["at", "lead"], kind="stable").reset_index(drop=True)
        minutes = f["minutes"].to_numpy(dtype=float)
        # the qualifying talk: on the SDR's last touch before each qualification
        if self.qualified:
            q = pd.DataFrame({k: np.concatenate([v[i] for v in self.qualified])
                              for i, k in enumerate(("lead", "handed", "at"))})
            q["lead"] = q["lead"].astype(np.int64)
            q["at"] = q["at"].astype("datetime64[ns]")
            t = pd.DataFrame({"lead": f["lead"].to_numpy(dtype=np.int64), "at": f["at"].to_numpy("datetime64[ns]"),
                              "row": np.arange(len(f)), "t_at": f["at"].to_numpy("datetime64[ns]")})
            m = pd.merge_asof(q.sort_values("at", kind="stable"), t, on="at", by="lead", direction="backward",
                              allow_exact_matches=False)
            m = m[m["row"].notna() & (m["t_at"] >= m["handed"])]
            talk = np.round(self.rng.exponential(self.p.qualify_minutes, len(m)), 1)
            np.add.at(minutes, m["row"].to_numpy(dtype=np.int64), talk)
        return pd.DataFrame({
            "lead_id": pd.array(self.ids[f["lead"].to_numpy(dtype=np.int64)], dtype="str"),
            "at": pd.array(f["at"].to_numpy(dtype="datetime64[ns]"), dtype="datetime64[ns]"),
            "kind": pd.array(f["kind"].to_numpy(dtype=object), dtype="str"),
            "by": pd.array(f["by"].to_numpy(dtype=object), dtype="str"),
            "duration_minutes": minutes,
        })

    def outcomes_frame(self) -> pd.DataFrame:
        f = self.out.frame()
        f = f.sort_values("handoff_id", kind="stable")
        return pd.DataFrame({
            "handoff_id": pd.array(f["handoff_id"].to_numpy(dtype=object), dtype="str"),
            "lead_id": pd.array(f["lead_id"].to_numpy(dtype=object), dtype="str"),
            "handed_at": pd.array(f["handed_at"].to_numpy(dtype="datetime64[ns]"), dtype="datetime64[ns]"),
            "handoff_reason": pd.array(f["handoff_reason"].to_numpy(dtype=object), dtype="str"),
            "propensity": f["propensity"].to_numpy(dtype=float),
            "definition_version": pd.array(np.full(len(f), self.d.version, dtype=object), dtype="str"),
            "owner": pd.array(f["owner"].to_numpy(dtype=object), dtype="str"),
            "response_minutes": f["response_minutes"].to_numpy(dtype=float),
            "sql": pd.array(f["sql"].to_numpy(dtype=object), dtype="boolean"),
            "opportunity": pd.array(f["opportunity"].to_numpy(dtype=object), dtype="boolean"),
            "won": pd.array(f["won"].to_numpy(dtype=object), dtype="boolean"),
            "reason": pd.array(f["reason"].to_numpy(dtype=object), dtype="str"),
        }).reset_index(drop=True)
