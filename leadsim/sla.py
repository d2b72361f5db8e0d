"""Hand-off SLA clocks: what each hand-off would get, and what actually fired.

A clock of the definition (``definition.sla.clocks``) starts when a lead
*enters* its ``stage`` (a hand-off) and climbs its ``levels``; level ``i`` is
due ``offset`` days/hours/minutes after the start, on the business calendar
(DESIGN.md section 1, "Time"):

- ``unit: days``: "day N" is the same local time N working days later; a
  clock started outside working hours starts at the next opening (so day 0
  of a Saturday hand-off is Monday at opening);
- ``unit: hours``/``minutes``: working time, unless ``wall_clock: true``
  (then plain elapsed time from the hand-off itself).

What stops a clock (``stop_on``):

- ``touch``: the first row of the touches table on the lead at or after the
  start.  When the touches table has a ``by`` column and the hand-off an
  owner, only touches by that owner count (touches with ``by`` missing count
  for anyone);
- ``leave_stage``: the lead's next move out of the stage;
- ``recycle``: the lead's next recycle move (Lead/Sales Lead -> Target);
- a stage id: the lead's next entry into that stage.

A clock also ends when its lead enters the clock's stage again: the new
hand-off starts a fresh clock.  **Tie rule:** a level fires only when its due
time is strictly before the stop; a stop event exactly at the due time stops
it (a touch at Monday 16:00 prevents the Monday 16:00 reminder).  In an audit,
a level also fires only when its due time is at or before ``as_of`` (default:
the latest time in the stage log and touches).

Recipients: ``owner`` (the hand-off's owner), ``manager`` (the owner's
manager in the ``owners`` table), ``leadership`` (``definition.sla.leadership``);
any other name passes through.  Messages fill the level's template with
``owner, lead, company, score, source, days, stage, clock, level`` (``days``:
the level's offset in days), in the definition's language.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> h = pd.DataFrame({"lead_id": ["L1"], "stage": ["Sales Lead"],
...                   "at": [pd.Timestamp("2026-03-06 16:00")], "owner": ["ana"]})   # a Friday
>>> s = schedule(h, d)
>>> s.loc[s["clock"] == "touch", ["level", "due_at"]].astype(str).values.tolist()
[['0', '2026-03-06 16:00:00'], ['1', '2026-03-09 16:00:00'], ['2', '2026-03-10 16:00:00'], ['3', '2026-03-11 16:00:00']]
>>> s["message"].iloc[1]
'Untouched Sales Lead! L1 (–) is 1 day(s) old.'
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadDefinition, SlaClock, load_definition
from leadsim.errors import DataError, DefinitionError, SchemaError
from leadsim.funnel import _normalise_stages, _to_local, _visits, validate_stage_log

__all__ = ["AuditResult", "audit", "handoffs_from_log", "schedule"]

_INF = np.iinfo(np.int64).max
_NAT = np.iinfo(np.int64).min
_MISSING = "–"
_COMMA_LANGS = ("de", "fr", "es", "it", "nl", "pt", "da", "sv", "no", "nb", "fi", "pl", "cs")
ALERT_COLUMNS = [
    "handoff_id", "lead_id", "stage", "owner", "handoff_at", "clock", "level", "offset", "due_at", "recipients", "message",
]


# --------------------------------------------------------------------------- checks


def _check_clocks(definition: LeadDefinition) -> list[SlaClock]:
    """Guard the ladders again (a definition edited in code skips the YAML checks)."""
    ids = set(definition.funnel.stage_ids)
    for c in definition.sla.clocks:
        offs = [lv.offset for lv in c.levels]
        where = f"sla.clocks.{c.id}.levels"
        if not offs:
            raise DefinitionError("a clock needs at least one level", where=where)
        for i, o in enumerate(offs):
            if not (isinstance(o, int | float) and math.isfinite(o) and o >= 0):
                raise DefinitionError(f"level {i} has offset {o!r}; offsets must be zero or more", where=where)
        if any(b <= a for a, b in zip(offs, offs[1:], strict=False)):
            raise DefinitionError(f"level offsets {offs} are out of order; they must strictly increase", where=where)
        if c.stage not in ids:
            raise DefinitionError(f"unknown stage {c.stage!r}; known: {sorted(ids)}", where=f"sla.clocks.{c.id}.stage")
    return list(definition.sla.clocks)


def _owner_managers(owners: pd.DataFrame | None) -> pd.Series:
    if owners is None:
        return pd.Series(dtype="string")
    missing = [c for c in ("owner", "manager") if c not in owners.columns]
    if missing:
        raise SchemaError(f"the owners table lacks column(s) {missing}; it needs owner, role, manager, team", where="owners")
    o = owners.dropna(subset=["owner"]).drop_duplicates("owner")
    return pd.Series(o["manager"].astype("string").to_numpy(), index=o["owner"].astype("string").to_numpy())


def _lead_info(leads: pd.DataFrame | None, scores: Any) -> pd.DataFrame:
    info = pd.DataFrame(columns=["company", "source", "score"])
    if leads is not None:
        if "lead_id" not in leads.columns:
            raise SchemaError("the leads table needs a lead_id column", where="leads")
        l = leads.drop_duplicates("lead_id").set_index("lead_id")
        l.index = l.index.astype("string")
        info = pd.DataFrame(index=l.index)
        info["company"] = l["company"].astype("string") if "company" in l.columns else pd.NA
        info["source"] = l["source"].astype("string") if "source" in l.columns else pd.NA
        info["score"] = np.nan
    if scores is not None:
        if isinstance(scores, pd.DataFrame):
            sc = scores.set_index("lead_id") if "lead_id" in scores.columns else scores
            if "score" not in sc.columns:
                raise SchemaError("the scores table needs a score column (as leadsim.scoring.score returns)", where="scores")
            sc = sc["score"]
        else:
            sc = pd.Series(scores)
        sc.index = sc.index.astype("string")
        info = info.reindex(info.index.union(sc.index))
        info["score"] = pd.to_numeric(sc, errors="coerce").reindex(info.index).to_numpy()
    return info


# --------------------------------------------------------------------------- messages


def _num_text(x: pd.Series, lang: str, decimals: int = 1) -> pd.Series:
    """Numbers as short text: whole numbers without decimals, else ``decimals`` places."""
    r = x.round(decimals)
    whole = (r % 1 == 0)
    txt = pd.Series(np.where(whole, r.round(0).astype("Int64").astype("string"), r.astype("string")), index=x.index, dtype="string")
    if lang.split("-")[0].lower() in _COMMA_LANGS:
        txt = txt.str.replace(".", ",", regex=False)
    return txt.fillna(_MISSING)


def _pa(x: Any) -> Any:
    """A pyarrow string array (or scalar) for pyarrow.compute."""
    if isinstance(x, pd.Series):
        arr = pa.array(x.astype("string").array)
        return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())
    return pa.scalar(str(x), pa.large_string())


def _fill(template: str, fields: dict[str, Any], n: int, index: pd.Index) -> pd.Series:
    """Fill a template for ``n`` alerts at once (pyarrow element-wise join, no row loop)."""
    pieces: list[Any] = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            pieces.append(pa.scalar(literal, pa.large_string()))
        if name is None:
            continue
        val = fields[name]
        if spec:
            vals = val if isinstance(val, pd.Series) else pd.Series([val] * n, index=index)
            val = pd.Series([_MISSING if pd.isna(v) else format(v, spec) for v in vals], index=index, dtype="string")
        pieces.append(_pa(val))
    if not any(isinstance(p_, pa.Array | pa.ChunkedArray) for p_ in pieces):
        text = "".join(p_.as_py() for p_ in pieces)
        return pd.Series([text] * n, index=index, dtype="string")
    out = pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()), null_handling="replace", null_replacement=_MISSING)
    return pd.Series(pd.arrays.ArrowStringArray(out), index=index)


def _days_of(clock: SlaClock, offset: float, cal: BusinessCalendar) -> float:
    if clock.unit == "days":
        return offset
    minutes = offset * (60 if clock.unit == "hours" else 1)
    return minutes / (1440 if clock.wall_clock else cal.day_minutes)


def _handoff_fields(h: pd.DataFrame, ctx: dict[str, Any]) -> pd.DataFrame:
    """Per hand-off text for templates and recipients, looked up once: owner, lead, company, source, score, manager."""
    n = len(h)
    idx = pd.RangeIndex(n)
    info: pd.DataFrame = ctx["info"]
    lead = pd.Series(h["lead_id"].to_numpy(), index=idx, dtype="string")
    owner = pd.Series(h["owner"].to_numpy(), index=idx, dtype="string")
    pos = info.index.get_indexer(lead) if len(info) else np.full(n, -1)

    def lookup(col: str) -> pd.Series:
        if not len(info) or not n:
            return pd.Series(pd.NA, index=idx, dtype="object")
        return pd.Series(info[col].to_numpy()[np.maximum(pos, 0)], index=idx).where(pos >= 0)

    managers: pd.Series = ctx["managers"]
    mgr = managers.reindex(owner).to_numpy() if len(managers) else pd.NA
    return pd.DataFrame(
        {
            "owner": owner,
            "lead": lead,
            "company": lookup("company").astype("string"),
            "source": lookup("source").astype("string"),
            "score": _num_text(pd.to_numeric(lookup("score"), errors="coerce").astype("float64"), ctx["language"], 0),
            "manager": pd.Series(mgr, index=idx, dtype="string"),
        }
    )


def _alerts(
    h: pd.DataFrame,
    fields_all: pd.DataFrame,
    rows: np.ndarray,
    clock: SlaClock,
    level: int,
    due_ns: np.ndarray,
    ctx: dict[str, Any],
) -> pd.DataFrame:
    """Alert rows of one clock level for the hand-offs ``h.iloc[rows]``."""
    lv = clock.levels[level]
    n = len(rows)
    idx = pd.RangeIndex(n)
    sub = fields_all.iloc[rows].reset_index(drop=True)
    days = _days_of(clock, lv.offset, ctx["calendar"])
    fields = {
        "owner": sub["owner"],
        "lead": sub["lead"],
        "company": sub["company"],
        "source": sub["source"],
        "score": sub["score"],
        "days": _num_text(pd.Series([days]), ctx["language"]).iloc[0],
        "stage": ctx["stage_labels"][clock.stage],
        "clock": clock.label or clock.id,
        "level": str(level),
    }
    message = _fill(lv.message, fields, n, idx) if lv.message else pd.Series("", index=idx, dtype="string")
    parts = []
    for who in lv.recipients:
        if who in ("owner", "manager"):
            parts.append(_pa(sub[who]))
        else:
            parts.append(pa.scalar(", ".join(ctx["leadership"]) if who == "leadership" else who, pa.large_string()))
    if n == 0 or not parts:
        rec = pd.Series("", index=idx, dtype="string")
    else:
        if not any(isinstance(p_, pa.Array) for p_ in parts):
            parts.append(pa.nulls(n, pa.large_string()))
        rec = pd.Series(pd.arrays.ArrowStringArray(pc.binary_join_element_wise(*parts, pa.scalar(", ", pa.large_string()), null_handling="skip")), index=idx)
    return pd.DataFrame(
        {
            "handoff_id": h["handoff_id"].to_numpy()[rows],
            "lead_id": sub["lead"].array,
            "stage": clock.stage,
            "owner": sub["owner"].array,
            "handoff_at": h["at"].to_numpy()[rows],
            "clock": clock.id,
            "level": level,
            "offset": float(lv.offset),
            "due_at": due_ns.astype("datetime64[ns]"),
            "recipients": rec.array,
            "message": message.array,
        }
    )


def _context(definition: LeadDefinition, owners: Any, leads: Any, scores: Any) -> dict[str, Any]:
    return {
        "calendar": BusinessCalendar.from_definition(definition),
        "managers": _owner_managers(owners),
        "info": _lead_info(leads, scores),
        "language": definition.language or "en",
        "leadership": list(definition.sla.leadership),
        "stage_labels": {s.id: s.label for s in definition.funnel.stages},
    }


def _due(cal: BusinessCalendar, start_ns: np.ndarray, clock: SlaClock, offset: float) -> np.ndarray:
    due = cal.add(start_ns.astype("datetime64[ns]"), offset, clock.unit, clock.wall_clock)
    return np.asarray(due).astype("datetime64[ns]").view(np.int64)


def _sorted_alerts(parts: list[pd.DataFrame], extra: list[str] | None = None) -> pd.DataFrame:
    cols = ALERT_COLUMNS + (extra or [])
    if not parts:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
        out["due_at"] = pd.Series(dtype="datetime64[ns]")
        return out
    out = pd.concat(parts, ignore_index=True)
    clock_code, _ = pd.factorize(out["clock"])  # clocks in definition order
    order = np.lexsort((out["level"].to_numpy(), clock_code, out["handoff_id"].to_numpy(), out["due_at"].to_numpy().view(np.int64)))
    return out.take(order).reset_index(drop=True)[cols]


# --------------------------------------------------------------------------- schedule


def schedule(
    handoffs: pd.DataFrame,
    definition: LeadDefinition | None = None,
    owners: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    scores: Any = None,
) -> pd.DataFrame:
    """Every alert each hand-off would get if nobody acted.

    ``handoffs``: ``lead_id``, ``stage`` (id or label), ``at``, ``owner``.
    Returns one row per (hand-off, clock watching its stage, level):
    ``handoff_id`` (the hand-off's row number), ``lead_id``, ``stage``,
    ``owner``, ``handoff_at``, ``clock``, ``level`` (0, 1, ... along the
    ladder), ``offset``, ``due_at``, ``recipients`` (comma-separated),
    ``message``; ordered by ``due_at``.  ``scores``: a Series by lead id or a
    table with a ``score`` column (as :func:`leadsim.scoring.score` returns).
    """
    definition = definition or load_definition()
    clocks = _check_clocks(definition)
    missing = [c for c in ("lead_id", "stage", "at") if c not in handoffs.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; hand-offs need lead_id, stage, at, owner", where="handoffs")
    h = pd.DataFrame(
        {
            "handoff_id": np.arange(len(handoffs)),
            "lead_id": handoffs["lead_id"].astype("string").to_numpy(),
            "stage": _normalise_stages(handoffs["stage"], definition, "handoffs").to_numpy(),
            "at": _to_local(handoffs["at"], definition, "handoffs").to_numpy(),
            "owner": (handoffs["owner"].astype("string") if "owner" in handoffs.columns else pd.Series(pd.NA, index=handoffs.index, dtype="string")).to_numpy(),
        }
    )
    ctx = _context(definition, owners, leads, scores)
    fields = _handoff_fields(h, ctx)
    parts = []
    for clock in clocks:
        rows = np.flatnonzero((h["stage"] == clock.stage).to_numpy())
        if not len(rows):
            continue
        start = h["at"].to_numpy().astype("datetime64[ns]").view(np.int64)[rows]
        for i, lv in enumerate(clock.levels):
            parts.append(_alerts(h, fields, rows, clock, i, _due(ctx["calendar"], start, clock, lv.offset), ctx))
    return _sorted_alerts(parts)


# --------------------------------------------------------------------------- audit


@dataclass
class AuditResult:
    """What an SLA audit found.

    ``alerts``: every alert that fired (the :func:`schedule` columns plus
    ``fired_at``).  ``summary``: a dict of tables and numbers (JSON-able
    through ``leadsim.cli._common.emit``): ``as_of``, ``n_handoffs``,
    ``n_alerts``, ``handoffs`` (per clock), ``levels`` (per clock level:
    hand-offs whose due time had come, touched/stopped before it, fired,
    breach rate), ``time_to_first_touch`` (working hours, per clock that
    stops on a touch), ``escalations_by_owner`` and
    ``escalations_by_manager`` (alerts above level 0).
    """

    alerts: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    handoffs: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"AuditResult({self.summary.get('n_handoffs', 0)} hand-offs, {len(self.alerts)} alerts)"


def handoffs_from_log(stage_log: pd.DataFrame, definition: LeadDefinition | None = None) -> pd.DataFrame:
    """The hand-offs in a stage log: every entry into a stage an SLA clock watches.

    Columns ``handoff_id, lead_id, stage, at, owner``; a re-assignment within
    the stage is not a new hand-off, a re-entry after a recycle is.
    """
    definition = definition or load_definition()
    v = _visits(validate_stage_log(stage_log, definition))
    watched = {c.stage for c in definition.sla.clocks}
    h = v[v["stage"].isin(watched)][["lead_id", "stage", "at", "owner"]].reset_index(drop=True)
    h.insert(0, "handoff_id", np.arange(len(h)))
    return h


def _validate_touches(touches: pd.DataFrame | None, definition: LeadDefinition) -> pd.DataFrame:
    if touches is None:
        return pd.DataFrame({"lead_id": pd.Series(dtype="string"), "at": pd.Series(dtype="datetime64[ns]"), "by": pd.Series(dtype="string")})
    missing = [c for c in ("lead_id", "at") if c not in touches.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; touches need lead_id, at, kind, by", where="touches")
    return pd.DataFrame(
        {
            "lead_id": touches["lead_id"].astype("string"),
            "at": _to_local(touches["at"], definition, "touches"),
            "by": touches["by"].astype("string") if "by" in touches.columns else pd.Series(pd.NA, index=touches.index, dtype="string"),
        },
        index=touches.index,
    )


def _next_event(ev_mask: np.ndarray, pos: np.ndarray, lead_code: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Time of the first event row after each row ``pos`` of the same lead (sorted log), else +inf."""
    ev_pos = np.flatnonzero(ev_mask)
    if not len(ev_pos):
        return np.full(len(pos), _INF, dtype=np.int64)
    k = np.searchsorted(ev_pos, pos, side="right")
    cand = ev_pos[np.minimum(k, len(ev_pos) - 1)]
    ok = (k < len(ev_pos)) & (lead_code[cand] == lead_code[pos])
    return np.where(ok, at_ns[cand], _INF)


def _first_at_or_after(key_t: np.ndarray, t_ns: np.ndarray, key_h: np.ndarray, h_ns: np.ndarray) -> np.ndarray:
    """For each (key_h, h_ns): the smallest t_ns with the same key and t_ns >= h_ns, else +inf.

    Keys and times are combined into one sortable int64 (key * R + time rank),
    so one ``searchsorted`` answers all hand-offs at once.
    """
    out = np.full(len(key_h), _INF, dtype=np.int64)
    if not len(key_t) or not len(key_h):
        return out
    times, inv = np.unique(np.concatenate([t_ns, h_ns]), return_inverse=True)
    r = np.int64(len(times) + 1)
    rt, rh = inv[: len(t_ns)].astype(np.int64), inv[len(t_ns):].astype(np.int64)
    ct = key_t.astype(np.int64) * r + rt
    order = np.argsort(ct, kind="stable")
    ct = ct[order]
    ch = key_h.astype(np.int64) * r + rh
    j = np.searchsorted(ct, ch, side="left")
    jj = np.minimum(j, len(ct) - 1)
    ok = (j < len(ct)) & (ct[jj] // r == key_h)
    return np.where(ok, times[rt[order][jj]], _INF)


def _first_touch(h: pd.DataFrame, t: pd.DataFrame) -> np.ndarray:
    """First touch on each hand-off's lead at or after its start (by its owner when known)."""
    if t.empty or h.empty:
        return np.full(len(h), _INF, dtype=np.int64)
    lead_codes, _ = pd.factorize(pd.concat([h["lead_id"], t["lead_id"]], ignore_index=True).astype("string"))
    hl, tl = lead_codes[: len(h)], lead_codes[len(h):]
    h_ns = h["at"].to_numpy().astype("datetime64[ns]").view(np.int64)
    t_ns = t["at"].to_numpy().astype("datetime64[ns]").view(np.int64)
    t_by_na = t["by"].isna().to_numpy()
    h_own_na = h["owner"].isna().to_numpy()
    if t_by_na.all():
        return _first_at_or_after(tl, t_ns, hl, h_ns)
    res = np.full(len(h), _INF, dtype=np.int64)
    # hand-offs without an owner: any touch
    if h_own_na.any():
        res[h_own_na] = _first_at_or_after(tl, t_ns, hl[h_own_na], h_ns[h_own_na])
    # touches without a name count for anyone
    if t_by_na.any():
        res = np.minimum(res, _first_at_or_after(tl[t_by_na], t_ns[t_by_na], hl, h_ns))
    # touches by the owner
    sel = ~h_own_na
    if sel.any():
        names = pd.concat([h["owner"][sel], t["by"][~t_by_na]], ignore_index=True).astype("string")
        who, uniq = pd.factorize(names)
        hw, tw = who[: sel.sum()], who[sel.sum():]
        pair_h = hl[sel].astype(np.int64) * (len(uniq) + 1) + hw
        pair_t = tl[~t_by_na].astype(np.int64) * (len(uniq) + 1) + tw
        pair, _ = pd.factorize(np.concatenate([pair_h, pair_t]))
        res[sel] = np.minimum(res[sel], _first_at_or_after(pair[len(pair_h):], t_ns[~t_by_na], pair[: len(pair_h)], h_ns[sel]))
    return res


def audit(
    stage_log: pd.DataFrame,
    touches: pd.DataFrame | None,
    definition: LeadDefinition | None = None,
    owners: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    *,
    scores: Any = None,
    as_of: Any = None,
) -> AuditResult:
    """Replay the SLA clocks over a history: which alerts fired, and how often each level was breached.

    ``stage_log`` and ``touches`` are the shared tables (DESIGN.md section 3).
    A touch on a lead the log does not know, or before the lead's first log
    row, is a :class:`~leadsim.errors.DataError`.  See the module docstring
    for the stop events and the tie rule.
    """
    definition = definition or load_definition()
    clocks = _check_clocks(definition)
    log = validate_stage_log(stage_log, definition)
    t = _validate_touches(touches, definition)
    v = _visits(log)
    lead = v["lead_id"].to_numpy(dtype=object)
    new_lead = np.ones(len(v), dtype=bool)
    new_lead[1:] = lead[1:] != lead[:-1]
    lead_code = np.cumsum(new_lead)
    at_ns = v["at"].to_numpy().astype("datetime64[ns]").view(np.int64)
    first_seen = pd.Series(v["at"].to_numpy()[new_lead], index=pd.Index(lead[new_lead]).astype("string"))
    _check_touch_times(t, first_seen)
    if as_of is None:
        cands = [log["at"].max()] + ([t["at"].max()] if len(t) else [])
        as_of = max(cands) if len(log) else pd.Timestamp.max
    as_of_ns = pd.Timestamp(as_of).as_unit("ns").value

    f = definition.funnel
    stage = v["stage"].to_numpy(dtype=object)
    prev = v["prev"].to_numpy(dtype=object)
    until = v["until"].to_numpy().astype("datetime64[ns]").view(np.int64)
    until = np.where(until == _NAT, _INF, until)
    is_recycle = (stage == f.recycle.to) & np.isin(prev, f.recycle.from_)

    ctx = _context(definition, owners, leads, scores)
    cal: BusinessCalendar = ctx["calendar"]
    watched = sorted({c.stage for c in clocks}, key=f.stage_ids.index)
    hmask = np.isin(stage, watched)
    hpos = np.flatnonzero(hmask)
    hand = pd.DataFrame(
        {
            "handoff_id": np.arange(len(hpos)),
            "lead_id": v["lead_id"].to_numpy()[hpos],
            "stage": stage[hpos],
            "at": v["at"].to_numpy()[hpos],
            "owner": v["owner"].to_numpy()[hpos],
        }
    )
    hand["owner"] = hand["owner"].astype("string")
    touch_ns = _first_touch(hand, t)
    fields = _handoff_fields(hand, ctx)
    hand["first_touch_at"] = np.where(touch_ns == _INF, _NAT, touch_ns).astype("datetime64[ns]")

    parts, level_rows, ttf_rows, per_clock = [], [], [], []
    for clock in clocks:
        sel = stage[hpos] == clock.stage
        pos = hpos[sel]
        rows = np.flatnonzero(sel)
        start = at_ns[pos]
        stop = _next_event(stage == clock.stage, pos, lead_code, at_ns)  # a fresh hand-off ends this clock
        for ev in clock.stop_on:
            if ev == "touch":
                ev_t = touch_ns[sel]
            elif ev == "leave_stage":
                ev_t = until[pos]
            elif ev == "recycle":
                ev_t = _next_event(is_recycle, pos, lead_code, at_ns)
            else:
                ev_t = _next_event(stage == ev, pos, lead_code, at_ns)
            stop = np.minimum(stop, ev_t)
        hand.loc[sel, f"stop_{clock.id}"] = np.where(stop == _INF, _NAT, stop).astype("datetime64[ns]")
        per_clock.append(
            {
                "clock": clock.id,
                "label": clock.label or clock.id,
                "stage": clock.stage,
                "handoffs": int(len(pos)),
                "stopped": int((stop <= as_of_ns).sum()),
                "running": int((stop > as_of_ns).sum()),
            }
        )
        for i, lv in enumerate(clock.levels):
            due = _due(cal, start, clock, lv.offset)
            reached = due <= as_of_ns
            fired = reached & (due < stop)
            level_rows.append(
                {
                    "clock": clock.id,
                    "level": i,
                    "offset": float(lv.offset),
                    "unit": clock.unit,
                    "due_by_as_of": int(reached.sum()),
                    "stopped_before": int((reached & ~fired).sum()),
                    "fired": int(fired.sum()),
                    "breach_rate": float(fired.sum() / reached.sum()) if reached.any() else float("nan"),
                }
            )
            if fired.any():
                parts.append(_alerts(hand, fields, rows[fired], clock, i, due[fired], ctx))
        if "touch" in clock.stop_on:
            ttf_rows.append(_ttf_row(clock, start, touch_ns[sel], cal))

    alerts = _sorted_alerts(parts)
    alerts["fired_at"] = alerts["due_at"]
    last = {c.id: len(c.levels) - 1 for c in clocks}
    mgr = ctx["managers"]
    managers = mgr.reindex(alerts["owner"].astype("string")).to_numpy() if len(mgr) else pd.NA
    summary = {
        "as_of": pd.Timestamp(as_of),
        "n_handoffs": int(len(hand)),
        "n_alerts": int(len(alerts)),
        "handoffs": pd.DataFrame(per_clock, columns=["clock", "label", "stage", "handoffs", "stopped", "running"]),
        "levels": pd.DataFrame(level_rows, columns=["clock", "level", "offset", "unit", "due_by_as_of", "stopped_before", "fired", "breach_rate"]),
        "time_to_first_touch": pd.DataFrame(ttf_rows, columns=["clock", "handoffs", "touched", "touched_share", "median_hours", "p80_hours", "p95_hours"]),
        "escalations_by_owner": _escalations(alerts, "owner", last),
        "escalations_by_manager": _escalations(alerts.assign(manager=managers), "manager", last),
    }
    return AuditResult(alerts=alerts, summary=summary, handoffs=hand)


def _check_touch_times(t: pd.DataFrame, first_seen: pd.Series) -> None:
    if t.empty:
        return
    codes, uniq = pd.factorize(t["lead_id"])
    pos = first_seen.index.get_indexer(pd.Index(uniq).astype("string"))
    seen = first_seen.to_numpy().astype("datetime64[ns]")
    first = np.where(pos[codes] >= 0, seen[np.maximum(pos, 0)][codes], np.datetime64("NaT"))
    unknown = pd.isna(first)
    if unknown.any():
        i = np.flatnonzero(unknown)[0]
        raise DataError(
            f"row {t.index[i]}: touch on lead {t['lead_id'].iloc[i]!r}, which the stage log does not know "
            f"({int(unknown.sum())} such row(s)); give the stage log of every touched lead",
            where="touches",
        )
    early = t["at"].to_numpy() < first
    if early.any():
        i = np.flatnonzero(early)[0]
        raise DataError(
            f"row {t.index[i]}: touch on lead {t['lead_id'].iloc[i]!r} at {t['at'].iloc[i]}, before the lead existed "
            f"(first stage-log row {pd.Timestamp(first[i])}; {int(early.sum())} such row(s)); check the times' zone and the lead id",
            where="touches",
        )


def _ttf_row(clock: SlaClock, start: np.ndarray, touch: np.ndarray, cal: BusinessCalendar) -> dict[str, Any]:
    touched = touch != _INF
    hours = np.array([])
    if touched.any():
        hours = cal.working_minutes_between(start[touched].astype("datetime64[ns]"), touch[touched].astype("datetime64[ns]")) / 60.0
    q = np.quantile(hours, [0.5, 0.8, 0.95]) if len(hours) else [np.nan] * 3
    return {
        "clock": clock.id,
        "handoffs": int(len(start)),
        "touched": int(touched.sum()),
        "touched_share": float(touched.mean()) if len(start) else float("nan"),
        "median_hours": float(q[0]),
        "p80_hours": float(q[1]),
        "p95_hours": float(q[2]),
    }


def _clock_values(clock: pd.Series, values: dict[str, int]) -> np.ndarray:
    codes, uniq = pd.factorize(clock)
    return np.array([values.get(c, -1) for c in uniq], dtype=np.int64)[codes]


def _escalations(alerts: pd.DataFrame, who: str, last_level: dict[str, int]) -> pd.DataFrame:
    """Alerts per owner (or manager): all, above level 0, at the top of their ladder."""
    cols = [who, "alerts", "escalations", "top_level_alerts"]
    if alerts.empty:
        return pd.DataFrame(columns=cols)
    key = alerts[who].astype("string").fillna("(none)").rename(who)
    flags = pd.DataFrame(
        {
            "alerts": 1,
            "escalations": (alerts["level"] > 0).astype(int),
            "top_level_alerts": (alerts["level"].to_numpy() == _clock_values(alerts["clock"], last_level)).astype(int),
        }
    )
    out = flags.groupby(key.to_numpy()).sum().rename_axis(who).reset_index()
    return out.sort_values(["escalations", "alerts"], ascending=False, kind="stable").reset_index(drop=True)[cols]
