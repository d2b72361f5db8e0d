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

import itertools
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
from leadsim.funnel import _coded_log, _CodedLog, _id_ints, _normalise_stages, _to_local, _visits, validate_stage_log
from leadsim.points import sort_table
from leadsim.scoring import _timestamp

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
        if any(b <= a for a, b in itertools.pairwise(offs)):
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
        known = leads.drop_duplicates("lead_id").set_index("lead_id")
        known.index = known.index.astype("string")
        info = pd.DataFrame(index=known.index)
        info["company"] = known["company"].astype("string") if "company" in known.columns else pd.NA
        info["source"] = known["source"].astype("string") if "source" in known.columns else pd.NA
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


def _arrow_text(x: Any) -> pa.Array:
    """Strings (Series, Index, array) as one pyarrow large_string array, without a copy when arrow-backed."""
    arr = pa.array(pd.array(x, dtype="string"))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """``arr[idx]`` with a null where ``idx < 0``."""
    neg = idx < 0
    return arr.take(pa.array(idx, mask=neg) if neg.any() else pa.array(idx))


def _text_series(arr: Any, na_nan: bool = False) -> pd.Series:
    """A pandas string Series (``string`` dtype, or ``str`` with ``na_nan``) over a pyarrow string array."""
    dtype = pd.StringDtype("pyarrow", na_value=np.nan) if na_nan else pd.StringDtype("pyarrow")
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr, dtype=dtype))


def _fill(template: str, field: Any, n: int) -> pa.Array:
    """Fill a template for ``n`` alerts at once (pyarrow element-wise join, no row loop).

    ``field(name)`` gives a pyarrow array of ``n`` strings (nulls print as "–") or a constant.
    """
    pieces: list[Any] = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            pieces.append(pa.scalar(literal, pa.large_string()))
        if name is None:
            continue
        val = field(name)
        if spec:
            vals = val.to_pylist() if isinstance(val, pa.Array) else [val] * n
            val = pa.array([_MISSING if v is None else format(v, spec) for v in vals], pa.large_string())
        pieces.append(val if isinstance(val, pa.Array) else pa.scalar(str(val), pa.large_string()))
    if not any(isinstance(p_, pa.Array) for p_ in pieces):
        text = "".join(p_.as_py() for p_ in pieces)
        return pa.array([text] * n, pa.large_string())
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()), null_handling="replace", null_replacement=_MISSING)


def _days_of(clock: SlaClock, offset: float, cal: BusinessCalendar) -> float:
    if clock.unit == "days":
        return offset
    minutes = offset * (60 if clock.unit == "hours" else 1)
    return minutes / (1440 if clock.wall_clock else cal.day_minutes)


@dataclass
class _Handoffs:
    """Hand-offs as integer codes: ids, lead codes into ``lead_ids``, owner codes into ``owner_names`` (-1: none), start ns."""

    hid: np.ndarray
    lead: np.ndarray
    lead_ids: pd.Index
    owner: np.ndarray
    owner_names: pd.Index
    at: np.ndarray


class _Texts:
    """Per-lead and per-owner text for templates and recipients, looked up once and taken per alert."""

    def __init__(self, h: _Handoffs, ctx: dict[str, Any]) -> None:
        self.h, self.ctx = h, ctx
        self._by_lead: dict[str, pa.Array] = {}
        self._by_owner: dict[str, pa.Array] = {}

    def _lead_table(self, name: str) -> pa.Array:
        if name not in self._by_lead:
            ids = self.h.lead_ids
            if name == "lead":
                self._by_lead[name] = _arrow_text(ids)
            else:
                info: pd.DataFrame = self.ctx["info"]
                if not len(info):
                    self._by_lead[name] = pa.nulls(len(ids), pa.large_string())
                else:
                    pos = info.index.get_indexer(pd.Index(ids).astype("string"))
                    if name == "score":
                        vals = pd.Series(pd.to_numeric(info["score"], errors="coerce").astype("float64").to_numpy())
                        text = _arrow_text(_num_text(vals, self.ctx["language"], 0))
                    else:
                        text = _arrow_text(info[name].astype("string"))
                    self._by_lead[name] = _take(text, pos)
        return self._by_lead[name]

    def _owner_table(self, name: str) -> pa.Array:
        if name not in self._by_owner:
            names = self.h.owner_names
            if name == "owner":
                self._by_owner[name] = _arrow_text(names)
            else:
                managers: pd.Series = self.ctx["managers"]
                mgr = managers.reindex(pd.Index(names).astype("string")) if len(managers) else pd.Series(pd.NA, index=range(len(names)))
                self._by_owner[name] = _arrow_text(pd.Series(mgr.to_numpy(), dtype="string"))
        return self._by_owner[name]

    def field(self, name: str, rows: np.ndarray) -> pa.Array:
        if name in ("lead", "company", "source", "score"):
            return self._lead_table(name).take(pa.array(self.h.lead[rows]))
        if name in ("owner", "manager"):
            return _take(self._owner_table(name), self.h.owner[rows])
        raise KeyError(name)


def _group_message(texts: _Texts, rows: np.ndarray, clock: SlaClock, level: int, ctx: dict[str, Any]) -> pa.Array:
    """Messages of one clock level for the hand-offs ``rows``."""
    lv = clock.levels[level]
    n = len(rows)
    consts = {
        "days": _num_text(pd.Series([_days_of(clock, lv.offset, ctx["calendar"])]), ctx["language"]).iloc[0],
        "stage": ctx["stage_labels"][clock.stage],
        "clock": clock.label or clock.id,
        "level": str(level),
    }

    def field(name: str) -> Any:
        return consts[name] if name in consts else texts.field(name, rows)

    return _fill(lv.message, field, n) if lv.message else pa.array([""] * n, pa.large_string())


def _recipient_table(texts: _Texts, clock: SlaClock, level: int, ctx: dict[str, Any]) -> pa.Array:
    """Recipients of one clock level for every owner code, then for "no owner" (they depend on the owner only).

    A plain loop over the few owners; a missing owner or manager is left out
    (pyarrow's ``binary_join_element_wise(null_handling="skip")`` drops rows
    whose parts are all missing, so it is not used here).
    """
    n = len(texts.h.owner_names)
    cols = {who: [*texts._owner_table(who).to_pylist(), None] for who in ("owner", "manager") if who in clock.levels[level].recipients}
    const = {"leadership": ", ".join(ctx["leadership"])}
    out = []
    for i in range(n + 1):
        vals = [cols[who][i] if who in cols else const.get(who, who) for who in clock.levels[level].recipients]
        out.append(", ".join(v for v in vals if v is not None))
    return pa.array(out, pa.large_string())


def _context(definition: LeadDefinition, owners: Any, leads: Any, scores: Any) -> dict[str, Any]:
    return {
        "calendar": BusinessCalendar.from_definition(definition),
        "managers": _owner_managers(owners),
        "info": _lead_info(leads, scores),
        "language": definition.language or "en",
        "leadership": list(definition.sla.leadership),
        "stage_labels": {s.id: s.label for s in definition.funnel.stages},
    }


def _due(cal: BusinessCalendar, start_ns: np.ndarray, clock: SlaClock) -> list[np.ndarray]:
    """Due times (int64 ns) of every level of ``clock`` for the starts ``start_ns``."""
    dues = cal.add_many(start_ns.astype("datetime64[ns]"), [lv.offset for lv in clock.levels], clock.unit, clock.wall_clock)
    return [np.asarray(d).astype("datetime64[ns]").view(np.int64) for d in dues]


def _build_alerts(h: _Handoffs, clocks: list[SlaClock], fired: list[tuple[int, int, np.ndarray, np.ndarray]], ctx: dict[str, Any]) -> pd.DataFrame:
    """The alert table, ordered by due time, hand-off, clock, level.

    ``fired``: (clock index, level, hand-off rows, due ns) per clock level.
    Numbers are sorted first; messages are built per clock level from the
    distinct lead/owner strings and put in order with one take; recipients
    depend on the owner only, so they are built per (clock level, owner) and
    taken from that small table.
    """
    if not fired:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in ALERT_COLUMNS})
        out["due_at"] = pd.Series(dtype="datetime64[ns]")
        return out
    texts = _Texts(h, ctx)
    rows = np.concatenate([f[2] for f in fired])
    due = np.concatenate([f[3] for f in fired])
    clk = np.concatenate([np.full(len(f[2]), f[0], dtype=np.int64) for f in fired])
    lvl = np.concatenate([np.full(len(f[2]), f[1], dtype=np.int64) for f in fired])
    off = np.concatenate([np.full(len(f[2]), float(clocks[f[0]].levels[f[1]].offset)) for f in fired])
    order = _order_by_time_then(due, h.hid[rows], clk * (max(len(k.levels) for k in clocks)) + lvl)
    msg = [_group_message(texts, f[2], clocks[f[0]], f[1], ctx) for f in fired]
    take = pa.array(order)
    r = rows[order]
    c = clk[order]
    slots = len(h.owner_names) + 1
    rec_table = pa.concat_arrays([_recipient_table(texts, clocks[f[0]], f[1], ctx) for f in fired])
    grp = np.concatenate([np.full(len(f[2]), i, dtype=np.int64) for i, f in enumerate(fired)])[order]
    rec_at = grp * slots + np.where(h.owner[r] < 0, slots - 1, h.owner[r])
    clock_ids = pa.array([k.id for k in clocks], pa.large_string())
    clock_stages = pa.array([k.stage for k in clocks], pa.large_string())
    return pd.DataFrame(
        {
            "handoff_id": h.hid[r],
            "lead_id": _text_series(_take(_arrow_text(h.lead_ids), h.lead[r])).array,
            "stage": _text_series(clock_stages.take(pa.array(c)), na_nan=True).array,
            "owner": _text_series(texts.field("owner", r)).array,
            "handoff_at": h.at[r].view("datetime64[ns]"),
            "clock": _text_series(clock_ids.take(pa.array(c)), na_nan=True).array,
            "level": lvl[order],
            "offset": off[order],
            "due_at": due[order].view("datetime64[ns]"),
            "recipients": _text_series(rec_table.take(pa.array(rec_at))).array,
            "message": _text_series(pa.concat_arrays(msg).take(take)).array,
        }
    )


def _order_by_time_then(t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Order by ``t``, then ``a``, then ``b`` (non-negative ints): one argsort of a combined int64 when it fits, else lexsort."""
    if not len(t):
        return np.arange(0)
    tmin = int(t.min())
    unit = int(np.gcd.reduce(t - tmin)) or 1
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    if ((int(t.max()) - tmin) // unit + 1) * na * nb < 2**62:
        return np.argsort((t - tmin) // unit * np.int64(na * nb) + a * np.int64(nb) + b, kind="stable")
    return np.lexsort((b, a, t))


def _code_texts(x: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniq = pd.factorize(x.astype("string"))
    return np.asarray(codes, dtype=np.int64), pd.Index(uniq)


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
    stage = _normalise_stages(handoffs["stage"], definition, "handoffs").to_numpy()
    at = _to_local(handoffs["at"], definition, "handoffs").to_numpy().astype("datetime64[ns]").view(np.int64)
    lead, lead_ids = _code_texts(handoffs["lead_id"])
    if "owner" in handoffs.columns:
        owner, owner_names = _code_texts(handoffs["owner"])
    else:
        owner, owner_names = np.full(len(handoffs), -1, dtype=np.int64), pd.Index([], dtype="string")
    h = _Handoffs(hid=np.arange(len(handoffs)), lead=lead, lead_ids=lead_ids, owner=owner, owner_names=owner_names, at=at)
    ctx = _context(definition, owners, leads, scores)
    fired = []
    for ci, clock in enumerate(clocks):
        rows = np.flatnonzero(stage == clock.stage)
        if not len(rows):
            continue
        for i, due in enumerate(_due(ctx["calendar"], at[rows], clock)):
            fired.append((ci, i, rows, due))
    return _build_alerts(h, clocks, fired, ctx)


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


def _coded_touches(touches: pd.DataFrame | None, definition: LeadDefinition, c: _CodedLog, first_seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Touches as (lead code, at ns, ``by`` code): ``by`` -1 when missing (anyone's touch), -2 for a name no hand-off has.

    A touch on a lead the log does not know, or before the lead's first log row, is a DataError.
    """
    if touches is None:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    missing = [k for k in ("lead_id", "at") if k not in touches.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}; touches need lead_id, at, kind, by", where="touches")
    lead_text = touches["lead_id"].astype("string")
    at = _to_local(touches["at"], definition, "touches").to_numpy().astype("datetime64[ns]").view(np.int64)
    nums = _id_ints(lead_text, c.id_shape) if c.id_shape is not None and c.id_numbers is not None else None
    if nums is not None:  # ids of the log's shape: look numbers up, not text
        lead = pd.Index(c.id_numbers).get_indexer(nums)  # a hash lookup; -1: unknown
    else:
        codes, uniq = _code_texts(lead_text)
        pos = np.append(c.lead_ids.get_indexer(uniq), -1)  # code -1 (missing id): unknown
        lead = pos[codes]
    unknown = lead < 0
    if unknown.any():
        i = np.flatnonzero(unknown)[0]
        raise DataError(
            f"row {touches.index[i]}: touch on lead {lead_text.iloc[i]!r}, which the stage log does not know "
            f"({int(unknown.sum())} such row(s)); give the stage log of every touched lead",
            where="touches",
        )
    first = first_seen[lead]
    early = at < first
    if early.any():
        i = np.flatnonzero(early)[0]
        raise DataError(
            f"row {touches.index[i]}: touch on lead {lead_text.iloc[i]!r} at {pd.Timestamp(at[i])}, before the lead existed "
            f"(first stage-log row {pd.Timestamp(first[i])}; {int(early.sum())} such row(s)); check the times' zone and the lead id",
            where="touches",
        )
    if "by" in touches.columns:
        bcodes, buniq = _code_texts(touches["by"])
        bpos = c.owner_names.get_indexer(buniq) if len(c.owner_names) else np.full(len(buniq), -1)
        by = np.append(np.where(bpos < 0, -2, bpos), -1)[bcodes]
    else:
        by = np.full(len(touches), -1, dtype=np.int64)
    return lead, at, by


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

    Keys are non-negative ints.  When (key, time in units of the touches'
    common step) fits one int64, the touches are one sorted int64 array and
    one ``searchsorted`` answers all queries (a query time rounds up to the
    step: a touch is at or after it exactly when its step count is).  Else the
    touches are sorted by (key, time) and each query bisects its key's run,
    all queries in step.
    """
    out = np.full(len(key_h), _INF, dtype=np.int64)
    if not len(key_t) or not len(key_h):
        return out
    tmin = int(t_ns.min())
    unit = int(np.gcd.reduce(t_ns - tmin)) or 1
    span = (int(t_ns.max()) - tmin) // unit + 2  # + 1: a slot after the last touch
    if (max(int(key_t.max()), int(key_h.max())) + 1) * span < 2**62:
        comp = np.sort(key_t * np.int64(span) + (t_ns - tmin) // unit)
        steps = np.clip(-((tmin - h_ns) // unit), 0, span - 1)  # ceil((h - tmin) / unit)
        q = key_h * np.int64(span) + steps
        j = np.searchsorted(comp, q, side="left")
        jj = np.minimum(j, len(comp) - 1)
        ok = (j < len(comp)) & (comp[jj] // span == key_h)
        out[ok] = comp[jj[ok]] % span * unit + tmin
        return out
    order = np.lexsort((t_ns, key_t))
    ks, ts = key_t[order], t_ns[order]
    lo = np.searchsorted(ks, key_h, side="left")
    hi = np.searchsorted(ks, key_h, side="right")
    end = hi.copy()
    while True:
        act = np.flatnonzero(lo < hi)
        if not len(act):
            break
        mid = (lo[act] + hi[act]) // 2
        below = ts[mid] < h_ns[act]
        lo[act[below]] = mid[below] + 1
        hi[act[~below]] = mid[~below]
    ok = lo < end
    out[ok] = ts[lo[ok]]
    return out


def _first_touch(h: _Handoffs, t_lead: np.ndarray, t_ns: np.ndarray, t_by: np.ndarray) -> np.ndarray:
    """First touch on each hand-off's lead at or after its start (by its owner when known)."""
    if not len(t_lead) or not len(h.at):
        return np.full(len(h.at), _INF, dtype=np.int64)
    t_by_na = t_by == -1
    h_own_na = h.owner < 0
    if t_by_na.all():
        return _first_at_or_after(t_lead, t_ns, h.lead, h.at)
    res = np.full(len(h.at), _INF, dtype=np.int64)
    # hand-offs without an owner: any touch
    if h_own_na.any():
        res[h_own_na] = _first_at_or_after(t_lead, t_ns, h.lead[h_own_na], h.at[h_own_na])
    # touches without a name count for anyone
    if t_by_na.any():
        res = np.minimum(res, _first_at_or_after(t_lead[t_by_na], t_ns[t_by_na], h.lead, h.at))
    # touches by the owner (a name no hand-off has never matches)
    sel = ~h_own_na
    named = t_by >= 0
    if sel.any() and named.any():
        width = np.int64(len(h.owner_names) + 1)
        pair_h = h.lead[sel] * width + h.owner[sel]
        pair_t = t_lead[named] * width + t_by[named]
        res[sel] = np.minimum(res[sel], _first_at_or_after(pair_t, t_ns[named], pair_h, h.at[sel]))
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

    Lead ids and owners are turned into integer codes once; the clocks run
    on int64 arrays and text is only made for the alerts that fired.
    """
    definition = definition or load_definition()
    clocks = _check_clocks(definition)
    c = _coded_log(stage_log, definition, "stage_log")
    # visits: collapse re-assignments (same lead, same stage in a row)
    new_lead = np.ones(len(c.lead), dtype=bool)
    new_lead[1:] = c.lead[1:] != c.lead[:-1]
    keep = new_lead.copy()
    keep[1:] |= c.stage[1:] != c.stage[:-1]
    lead_code, stage, at_ns, owner = c.lead[keep], c.stage[keep], c.at[keep], c.owner[keep]
    nl = new_lead[keep]
    until = np.full(len(at_ns), _INF, dtype=np.int64)
    until[:-1] = np.where(nl[1:], _INF, at_ns[1:])
    prev = np.full(len(stage), -1, dtype=np.int64)
    prev[1:] = np.where(nl[1:], -1, stage[:-1])

    first_seen = np.zeros(len(c.lead_ids), dtype=np.int64)
    first_seen[c.lead[new_lead]] = c.at[new_lead]
    t_lead, t_ns, t_by = _coded_touches(touches, definition, c, first_seen)
    if as_of is None:
        cands = [int(x.max()) for x in (c.at, t_ns) if len(x)]
        as_of = pd.Timestamp(max(cands)) if len(c.at) else pd.Timestamp.max
    as_of_ns = _timestamp(as_of, definition, "as_of").value

    f = definition.funnel
    sid = {s: i for i, s in enumerate(f.stage_ids)}
    is_recycle = (stage == sid[f.recycle.to]) & np.isin(prev, [sid[s] for s in f.recycle.from_])

    ctx = _context(definition, owners, leads, scores)
    cal: BusinessCalendar = ctx["calendar"]
    watched = [sid[s] for s in sorted({k.stage for k in clocks}, key=f.stage_ids.index)]
    hpos = np.flatnonzero(np.isin(stage, watched))
    h = _Handoffs(
        hid=np.arange(len(hpos)), lead=lead_code[hpos], lead_ids=c.lead_ids,
        owner=owner[hpos], owner_names=c.owner_names, at=at_ns[hpos],
    )
    touch_ns = _first_touch(h, t_lead, t_ns, t_by)
    stage_ids = pa.array(f.stage_ids, pa.large_string())
    hand = pd.DataFrame(
        {
            "handoff_id": h.hid,
            "lead_id": _text_series(_arrow_text(c.lead_ids).take(pa.array(h.lead)), na_nan=True).array,
            "stage": _text_series(stage_ids.take(pa.array(stage[hpos])), na_nan=True).array,
            "at": h.at.view("datetime64[ns]"),
            "owner": _text_series(_take(_arrow_text(c.owner_names), h.owner)).array,
            "first_touch_at": np.where(touch_ns == _INF, _NAT, touch_ns).view("datetime64[ns]"),
        }
    )

    fired_parts, level_rows, ttf_rows, per_clock = [], [], [], []
    for ci, clock in enumerate(clocks):
        sel = stage[hpos] == sid[clock.stage]
        pos = hpos[sel]
        rows = np.flatnonzero(sel)
        start = at_ns[pos]
        stop = _next_event(stage == sid[clock.stage], pos, lead_code, at_ns)  # a fresh hand-off ends this clock
        for ev in clock.stop_on:
            if ev == "touch":
                ev_t = touch_ns[sel]
            elif ev == "leave_stage":
                ev_t = until[pos]
            elif ev == "recycle":
                ev_t = _next_event(is_recycle, pos, lead_code, at_ns)
            else:
                ev_t = _next_event(stage == sid[ev], pos, lead_code, at_ns)
            stop = np.minimum(stop, ev_t)
        col = np.full(len(hpos), _NAT, dtype=np.int64)
        col[rows] = np.where(stop == _INF, _NAT, stop)
        hand[f"stop_{clock.id}"] = col.view("datetime64[ns]")
        per_clock.append(
            {
                "clock": clock.id,
                "label": clock.label or clock.id,
                "stage": clock.stage,
                "handoffs": len(pos),
                "stopped": int((stop <= as_of_ns).sum()),
                "running": int((stop > as_of_ns).sum()),
            }
        )
        for i, (lv, due) in enumerate(zip(clock.levels, _due(cal, start, clock), strict=True)):
            reached = due <= as_of_ns
            fired = reached & (due < stop)
            n_fired, n_reached = int(fired.sum()), int(reached.sum())
            level_rows.append(
                {
                    "clock": clock.id,
                    "level": i,
                    "offset": float(lv.offset),
                    "unit": clock.unit,
                    "due_by_as_of": n_reached,
                    "stopped_before": n_reached - n_fired,
                    "fired": n_fired,
                    "breach_rate": float(n_fired / n_reached) if n_reached else float("nan"),
                }
            )
            if n_fired:
                fired_parts.append((ci, i, rows[fired], due[fired]))
        if "touch" in clock.stop_on:
            ttf_rows.append(_ttf_row(clock, start, touch_ns[sel], cal))

    alerts = _build_alerts(h, clocks, fired_parts, ctx)
    alerts["fired_at"] = alerts["due_at"]
    esc_owner, esc_manager = _escalations(h, clocks, fired_parts, ctx)
    summary = {
        "as_of": pd.Timestamp(as_of),
        "n_handoffs": len(hpos),
        "n_alerts": len(alerts),
        "handoffs": pd.DataFrame(per_clock, columns=["clock", "label", "stage", "handoffs", "stopped", "running"]),
        "levels": pd.DataFrame(level_rows, columns=["clock", "level", "offset", "unit", "due_by_as_of", "stopped_before", "fired", "breach_rate"]),
        "time_to_first_touch": pd.DataFrame(ttf_rows, columns=["clock", "handoffs", "touched", "touched_share", "median_hours", "p80_hours", "p95_hours"]),
        "escalations_by_owner": esc_owner,
        "escalations_by_manager": esc_manager,
    }
    return AuditResult(alerts=alerts, summary=summary, handoffs=hand)


def _ttf_row(clock: SlaClock, start: np.ndarray, touch: np.ndarray, cal: BusinessCalendar) -> dict[str, Any]:
    touched = touch != _INF
    hours = np.array([])
    if touched.any():
        hours = cal.working_minutes_between(start[touched].astype("datetime64[ns]"), touch[touched].astype("datetime64[ns]")) / 60.0
    q = np.quantile(hours, [0.5, 0.8, 0.95]) if len(hours) else [np.nan] * 3
    return {
        "clock": clock.id,
        "handoffs": len(start),
        "touched": int(touched.sum()),
        "touched_share": float(touched.mean()) if len(start) else float("nan"),
        "median_hours": float(q[0]),
        "p80_hours": float(q[1]),
        "p95_hours": float(q[2]),
    }


def _escalations(h: _Handoffs, clocks: list[SlaClock], fired: list[tuple[int, int, np.ndarray, np.ndarray]], ctx: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alerts per owner and per manager: all, above level 0, at the top of their ladder.

    Counted per owner code (``bincount``), then grouped by name on the few owners.
    """
    n = len(h.owner_names) + 1  # last slot: no owner
    counts = np.zeros((3, n), dtype=np.int64)
    for ci, level, rows, _due_ns in fired:
        code = np.where(h.owner[rows] < 0, n - 1, h.owner[rows])
        b = np.bincount(code, minlength=n)
        counts[0] += b
        if level > 0:
            counts[1] += b
        if level == len(clocks[ci].levels) - 1:
            counts[2] += b
    names = pd.Series([*list(pd.Index(h.owner_names).astype("string")), pd.NA], dtype="string")
    managers: pd.Series = ctx["managers"]
    mgr = pd.Series(managers.reindex(names).to_numpy() if len(managers) else pd.NA, index=names.index, dtype="string")
    per_owner = pd.DataFrame({"alerts": counts[0], "escalations": counts[1], "top_level_alerts": counts[2]})
    have = counts[0] > 0
    out = []
    for who, key in (("owner", names), ("manager", mgr)):
        cols = [who, "alerts", "escalations", "top_level_alerts"]
        if not have.any():
            out.append(pd.DataFrame(columns=cols))
            continue
        k = key.fillna("(none)").to_numpy()[have]
        agg = per_owner[have].groupby(k).sum().rename_axis(who).reset_index()
        out.append(sort_table(agg, ["escalations", "alerts"], ascending=False, ties=who).reset_index(drop=True)[cols])
    return out[0], out[1]
