"""Funnel stages on a stage log: validation, snapshots, waterfall and velocity.

A *stage log* has one row per stage change: ``lead_id``, ``stage`` (a stage id
of the definition), ``at``, ``reason``, ``owner``.  The stages, where leads may
enter and every allowed move come from the definition's ``funnel``.  Two rows
of one lead in a row with the same stage are a *re-assignment* (a new owner,
no move); they are accepted and do not start a new visit.

Everything is vectorised over leads (sort, shift, groupby); there is no loop
over leads.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> log = pd.DataFrame({"lead_id": ["L1", "L1", "L2", "L1"],
...                     "stage": ["Name", "Lead", "name", "sales_lead"],
...                     "at": pd.to_datetime(["2026-03-02 10:00", "2026-03-04 10:00",
...                                           "2026-03-03 09:00", "2026-03-05 12:00"])})
>>> log = validate_stage_log(log, d)
>>> log["stage"].tolist()
['name', 'lead', 'sales_lead', 'name']
>>> snapshot(log, d, as_of="2026-03-04 12:00")["stage"].to_dict()
{'L1': 'lead', 'L2': 'name'}
>>> wf = waterfall(log, d, start="2026-03-01", end="2026-04-01")
>>> wf.stages.set_index("stage").loc[["name", "lead", "sales_lead"], "reached"].tolist()
[2, 1, 1]
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, InvalidTransition, SchemaError
from leadsim.keys import stable_order
from leadsim.scoring.inputs import timestamp

__all__ = ["Waterfall", "snapshot", "validate_stage_log", "velocity", "waterfall"]

_REQUIRED = ("lead_id", "stage", "at")
_NS_PER_DAY = 86_400_000_000_000


# --------------------------------------------------------------------------- validation


def _stage_lookup(definition: LeadDefinition) -> dict[str, str]:
    look: dict[str, str] = {}
    for s in definition.funnel.stages:
        look[s.id.casefold()] = s.id
        look[s.label.strip().casefold()] = s.id
    return look


def _row_name(index_value: Any) -> str:
    return f"row {index_value}"


_ID = re.compile(r"^([\x00-\x7f]*?)([0-9]{1,18})$")


def _id_shape(values: pd.Series) -> tuple[str, int] | None:
    """``(prefix, digits)`` of the first id when it is an ASCII prefix and digits ("L000123"); check the rest with :func:`id_ints`."""
    if not len(values):
        return None
    m = _ID.match(str(values.iloc[0]))
    return None if m is None else (m.group(1), len(m.group(2)))


def id_ints(values: pd.Series, shape: tuple[str, int]) -> np.ndarray | None:
    """The numbers of ids of one shape as int64 (equal ids <-> equal numbers, same order), or None if one id differs.

    >>> id_ints(pd.Series(["L007", "L120"]), ("L", 3)).tolist(), id_ints(pd.Series(["L007", "X120"]), ("L", 3))
    ([7, 120], None)
    """
    prefix, digits = shape
    arr = pa.array(pd.array(values, dtype="string"))
    if arr.null_count or not len(arr):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(prefix) + digits
    if pc.min_max(pc.binary_length(arr)).as_py() != {"min": n, "max": n}:
        return None
    if prefix and not pc.all(pc.starts_with(arr, prefix)).as_py():
        return None
    rest = pc.utf8_slice_codeunits(arr, len(prefix))  # ASCII: code units are bytes
    if not pc.all(pc.ascii_is_decimal(rest)).as_py():
        return None
    return pc.cast(rest, pa.int64()).to_numpy(zero_copy_only=False)


def _stage_codes(values: pd.Series, definition: LeadDefinition, where: str) -> np.ndarray:
    """Stage ids or labels (any case) -> positions in ``funnel.stage_ids``; unknown -> DataError naming the row."""
    look = _stage_lookup(definition)
    pos = {s: i for i, s in enumerate(definition.funnel.stage_ids)}
    codes, uniq = pd.factorize(values.astype("string"), use_na_sentinel=True)
    ids = pd.Series(uniq).str.strip().str.casefold().map(look)
    table = np.array([pos.get(s, -1) if isinstance(s, str) else -1 for s in ids] + [-1], dtype=np.int64)  # code -1: missing
    out = table[codes]
    bad = out < 0
    if bad.any():
        first = bad.nonzero()[0][0]
        known = [f"{s.id} ({s.label})" for s in definition.funnel.stages]
        raise DataError(
            f"{_row_name(values.index[first])}: unknown stage {values.iloc[first]!r} "
            f"({int(bad.sum())} row(s) in all); the definition's stages are {known}",
            where=f"{where}.stage",
        )
    return out


def normalise_stages(values: pd.Series, definition: LeadDefinition, *, where: str) -> pd.Series:
    """Stage ids or labels (any case) -> stage ids; unknown -> DataError naming the row.

    >>> from leadsim import load_definition
    >>> normalise_stages(pd.Series(["Sales Lead", "name"]), load_definition(), where="log").tolist()
    ['sales_lead', 'name']
    """
    ids = np.array(definition.funnel.stage_ids, dtype=object)
    return pd.Series(ids[_stage_codes(values, definition, where)], index=values.index, dtype="string").astype(str)


def to_local(values: pd.Series, definition: LeadDefinition, *, where: str) -> pd.Series:
    """Times (datetimes, text, tz-aware) as naive local ``datetime64[ns]`` of the definition's calendar zone.

    >>> from leadsim import load_definition
    >>> to_local(pd.Series(["2026-03-02T09:00:00Z"]), load_definition(), where="log").tolist()
    [Timestamp('2026-03-02 10:00:00')]
    """
    if pd.api.types.is_datetime64_dtype(values.dtype):  # naive
        out = values.astype("datetime64[ns]")
    else:  # text, objects or tz-aware times: the calendar's one reading rule
        out = BusinessCalendar.from_definition(definition).localize(values, where=f"{where}.at")
    if out.isna().any():
        i = out.isna().to_numpy().nonzero()[0][0]
        raise DataError(f"{_row_name(values.index[i])}: the time is missing", where=f"{where}.at")
    return out


def validate_stage_log(log: pd.DataFrame, definition: LeadDefinition, *, where: str = "stage_log") -> pd.DataFrame:
    """Check a stage log against the funnel and return it sorted and typed.

    Stages may be given as ids or display labels, in any case; they come back
    as ids.  The result is sorted by ``lead_id`` then ``at`` (rows of one lead
    at the same moment keep their input order), with ``at`` as naive local
    ``datetime64[ns]`` (tz-aware times are converted to the calendar's zone)
    and ``reason``/``owner`` as strings (missing as ``<NA>``).

    Raises :class:`~leadsim.errors.DataError` for a missing column, an
    unknown stage or an unreadable time, and
    :class:`~leadsim.errors.InvalidTransition` for the earliest move the
    funnel does not allow (a first row outside the entry stages included).
    """
    definition = require_definition(definition, where="validate_stage_log")
    c = coded_log(log, definition, where=where)
    ids = np.array(definition.funnel.stage_ids, dtype=object)
    df = pd.DataFrame(
        {
            "lead_id": c.lead_text,
            "stage": pd.Series(ids[c.stage_in], index=log.index, dtype="string").astype(str),
            "at": pd.Series(c.at_in.view("datetime64[ns]"), index=log.index),
            "reason": log["reason"].astype("string") if "reason" in log.columns else pd.Series(pd.NA, index=log.index, dtype="string"),
            "owner": c.owner_text,
        },
        index=log.index,
    )
    return df.take(c.order).reset_index(drop=True)


@dataclass
class CodedLog:
    """A validated stage log as integer arrays, sorted by lead then time (rows of one lead at one moment keep input order).

    ``lead``: code of the lead (codes follow the sorted lead ids ``lead_ids``);
    ``stage``: position in ``funnel.stage_ids``; ``at``: int64 ns; ``owner``:
    code into ``owner_names`` (-1 missing or blank).  ``order``: input row
    positions in sorted order; ``*_in`` and ``*_text``: unsorted input.
    ``id_shape``/``id_numbers``: when all ids are one prefix plus a fixed
    number of digits, that shape and the sorted id numbers (code -> number).
    """

    order: np.ndarray
    lead: np.ndarray
    lead_ids: pd.Index
    stage: np.ndarray
    at: np.ndarray
    owner: np.ndarray
    owner_names: pd.Index
    stage_in: np.ndarray
    at_in: np.ndarray
    lead_text: pd.Series
    owner_text: pd.Series
    id_shape: tuple[str, int] | None = None
    id_numbers: np.ndarray | None = None


def coded_log(log: pd.DataFrame, definition: LeadDefinition, *, where: str = "stage_log") -> CodedLog:
    """The checks of :func:`validate_stage_log` on integer codes (no sort or copy of text columns).

    >>> from leadsim import load_definition
    >>> c = coded_log(pd.DataFrame({"lead_id": ["L2", "L1"], "stage": ["name", "Name"], "at": ["2026-03-02"] * 2}),
    ...               load_definition())
    >>> c.order.tolist(), list(c.lead_ids), c.stage.tolist()
    ([1, 0], ['L1', 'L2'], [0, 0])
    """
    if not isinstance(log, pd.DataFrame):
        raise SchemaError(f"a stage log is a DataFrame, got {type(log).__name__}", where=where)
    missing = [c for c in _REQUIRED if c not in log.columns]
    if missing:
        raise SchemaError(
            f"missing column(s) {missing}; a stage log needs lead_id, stage, at (and optionally reason, owner)",
            where=where,
        )
    lead_text = log["lead_id"].astype("string")
    stage_in = _stage_codes(log["stage"], definition, where)
    at_in = to_local(log["at"], definition, where=where).to_numpy().view(np.int64)
    shape = _id_shape(lead_text)
    nums = id_ints(lead_text, shape) if shape else None
    if nums is not None:  # ids like L000123: sort and compare numbers, not text
        codes, uniq = pd.factorize(nums, sort=True)
        first = np.empty(len(uniq), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
        lead_ids = pd.Index(lead_text.array.take(first))
    else:
        shape, uniq = None, None
        codes, lead_ids = pd.factorize(lead_text, sort=True)
    if (codes < 0).any():
        i = (codes < 0).nonzero()[0][0]
        raise DataError(f"{_row_name(log.index[i])}: lead_id is missing", where=f"{where}.lead_id")
    if "owner" in log.columns:
        owner_text = log["owner"].astype("string")
        ocodes, onames = pd.factorize(owner_text)
        blank = np.append((pd.Series(onames, dtype="string").str.strip() == "").to_numpy(dtype=bool), False)
        if blank[:-1].any():
            ocodes = np.where(blank[ocodes], -1, ocodes)
            owner_text = owner_text.where(owner_text.str.strip() != "", pd.NA)
    else:
        owner_text = pd.Series(pd.NA, index=log.index, dtype="string")
        ocodes, onames = np.full(len(log), -1, dtype=np.int64), pd.Index([], dtype="string")
    order = stable_order(np.asarray(codes, dtype=np.int64), at_in)  # stable: ties keep input order
    c = CodedLog(
        order=order,
        lead=codes[order],
        lead_ids=pd.Index(lead_ids),
        stage=stage_in[order],
        at=at_in[order],
        owner=np.asarray(ocodes)[order],
        owner_names=pd.Index(onames),
        stage_in=stage_in,
        at_in=at_in,
        lead_text=lead_text,
        owner_text=owner_text,
        id_shape=shape,
        id_numbers=uniq,
    )
    _check_moves(c, definition, where)
    return c


def _check_moves(c: CodedLog, definition: LeadDefinition, where: str) -> None:
    f = definition.funnel
    ids = f.stage_ids
    code = {s: i for i, s in enumerate(ids)}
    allowed = np.zeros((len(ids) + 1, len(ids)), dtype=bool)
    for a, b in f.allowed():
        allowed[code[a], code[b]] = True
    for s in ids:
        allowed[code[s], code[s]] = True  # a re-assignment within the stage
    for e in f.entry:
        allowed[len(ids), code[e]] = True  # row "len(ids)" = not yet in the funnel
    cur = c.stage
    first = np.ones(len(cur), dtype=bool)
    first[1:] = c.lead[1:] != c.lead[:-1]
    prev = np.empty(len(cur), dtype=np.int64)
    prev[0:1] = len(ids)
    prev[1:] = cur[:-1]
    prev[first] = len(ids)
    ok = allowed[prev, cur]
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    i = bad[np.argmin(c.at[bad])]  # the earliest illegal move
    at = pd.Timestamp(c.at[i])
    lead = c.lead_ids[c.lead[i]]
    to = definition.stage_label(ids[cur[i]])
    if prev[i] == len(ids):
        entries = [definition.stage_label(e) for e in f.entry]
        raise InvalidTransition(
            f"lead {lead} enters the funnel at {to} on {at}, but leads may only enter at {entries}; "
            "add its earlier stages to the log or the stage to funnel.entry",
            where=where,
        )
    frm = definition.stage_label(ids[prev[i]])
    nxt = sorted(definition.stage_label(b) for a, b in f.allowed() if a == ids[prev[i]])
    raise InvalidTransition(
        f"lead {lead} moves from {frm} to {to} on {at}, which the funnel does not allow "
        f"(from {frm} a lead may go to {nxt or 'nowhere: it is terminal'}); fix the log or funnel.transitions",
        where=where,
    )


def visits(log: pd.DataFrame) -> pd.DataFrame:
    """Collapse re-assignments of a sorted log: one row per stage visit, with ``until`` (NaT while open) and ``prev``.

    >>> v = visits(pd.DataFrame({"lead_id": ["L1"] * 3, "stage": ["name", "name", "lead"], "at": [1, 2, 3]}))
    >>> v["stage"].tolist(), v["until"].tolist()[:1], v["prev"].tolist()[1:]
    (['name', 'lead'], [3.0], ['name'])
    """
    lead = log["lead_id"].to_numpy()
    stage = log["stage"].to_numpy()
    new_lead = np.ones(len(log), dtype=bool)
    new_lead[1:] = lead[1:] != lead[:-1]
    keep = new_lead.copy()
    keep[1:] |= stage[1:] != stage[:-1]
    v = log.loc[keep].reset_index(drop=True)
    nl = new_lead[keep]
    until = v["at"].shift(-1)
    last = np.ones(len(v), dtype=bool)
    last[:-1] = nl[1:]
    v["until"] = until.where(~last)
    v["prev"] = v["stage"].shift(1).where(~nl)
    return v


# --------------------------------------------------------------------------- snapshot


def snapshot(log: pd.DataFrame, definition: LeadDefinition, *, as_of: Any) -> pd.DataFrame:
    """The stage of every lead that exists at ``as_of``.

    Returns a DataFrame indexed by ``lead_id`` with ``stage``, ``since`` (when
    the lead entered it) and ``owner``.  A lead exists from its first log row
    on (a row exactly at ``as_of`` counts), so the stage counts sum to the
    number of leads that exist then.  The log is validated first
    (:func:`validate_stage_log`); a string ``as_of`` is parsed, a tz-aware one
    converted to the calendar's zone.
    """
    definition = require_definition(definition, where="snapshot")
    df = validate_stage_log(log, definition)
    t = timestamp(as_of, definition, what="snapshot.as_of")
    v = visits(df)
    v = v[v["at"] <= t]
    last = v.groupby("lead_id", sort=True).tail(1)
    owners = df[df["at"] <= t].groupby("lead_id", sort=True)["owner"].last()
    out = last.set_index("lead_id")[["stage", "at"]].rename(columns={"at": "since"})
    out["owner"] = owners.reindex(out.index)
    return out.sort_index(kind="stable")


# --------------------------------------------------------------------------- waterfall


@dataclass(frozen=True)
class Waterfall:
    """A cohort's way down the funnel.

    ``stages``: one row per (group,) stage of the main path and per exit
    stage: ``stage``, ``label``, ``part``, ``cohort``, ``reached`` (leads that
    reached the stage or a later one on the main path, however they came in;
    for exit stages, leads that entered it), ``entered`` (leads with a row at
    that stage), ``entered_here`` (leads whose first row is that stage: they
    entered the funnel there, e.g. outbound leads at Sales Lead),
    ``share`` (``reached / cohort``), ``converted`` and ``conversion``.

    ``conversion`` answers "of the leads that went through the previous main
    stage A, how many made it to this stage B?": ``converted`` counts the
    cohort leads that entered A and *later* (after their first entry into A)
    reached B or a later main stage; ``conversion = converted / entered(A)``.
    Leads that entered the funnel at or after B, or skipped A, are not in the
    denominator (an outbound lead entering at Sales Lead does not raise
    Lead -> Sales Lead).  NaN for the first stage, for exits and when nobody
    entered A.  ``exits``: per group the ``cohort`` and the shares
    ``recycled`` (at least one recycle move), ``disqualified`` and ``lost``.
    """

    stages: pd.DataFrame
    exits: pd.DataFrame
    by: str | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "start": self.start, "end": self.end, "stages": self.stages, "exits": self.exits}


def _group_of(df: pd.DataFrame, v: pd.DataFrame, first: pd.DataFrame, by: str | None, groups: Any, leads: pd.DataFrame | None) -> pd.Series | None:
    """One group label per cohort lead (index lead_id)."""
    if groups is not None:
        g = groups.set_index("lead_id").iloc[:, 0] if isinstance(groups, pd.DataFrame) else pd.Series(groups)
        return g.reindex(first.index).astype("string").fillna("(none)")
    if by is None:
        return None
    if by == "month":
        return first["at"].dt.to_period("M").astype(str)
    if by == "owner":
        owned = df[df["owner"].notna()].groupby("lead_id")["owner"].first()
        return owned.reindex(first.index).astype("string").fillna("(none)")
    if leads is None or "lead_id" not in getattr(leads, "columns", []):
        raise SchemaError(f"grouping by {by!r} needs the leads table (with lead_id and {by!r})", where="waterfall.by")
    if by not in leads.columns:
        raise SchemaError(
            f"the leads table has no column {by!r}; group by month, owner or one of {list(leads.columns)}",
            where="waterfall.by",
        )
    g = leads.drop_duplicates("lead_id").set_index("lead_id")[by]
    g.index = g.index.astype("string")
    return g.reindex(first.index).astype("string").fillna("(none)")


def _presence(keys: Any, values: Any, index: pd.Index, columns: list[str]) -> pd.DataFrame:
    """Which (key, value) pairs occur, as a boolean table over ``index`` x ``columns`` (a cross-tabulation's
    ``> 0``, without its cost)."""
    rows = index.get_indexer(pd.Index(keys))
    cols = pd.Index(columns).get_indexer(pd.Index(values))
    ok = (rows >= 0) & (cols >= 0)
    hit = np.zeros((len(index), len(columns)), dtype=bool)
    hit[rows[ok], cols[ok]] = True
    return pd.DataFrame(hit, index=index, columns=columns)


def waterfall(
    log: pd.DataFrame,
    definition: LeadDefinition,
    *,
    start: Any = None,
    end: Any = None,
    by: str | None = None,
    groups: Any = None,
    leads: pd.DataFrame | None = None,
) -> Waterfall:
    """How a cohort went down the funnel.

    The cohort is every lead whose first log row falls in ``[start, end)``
    (all leads when both are None).  ``by`` groups it: ``"month"`` (month of
    entry), ``"owner"`` (the first owner the lead had) or a column of
    ``leads`` (e.g. ``"source"``); ``groups`` (a Series lead_id -> group)
    groups it any other way.  See :class:`Waterfall` for the columns.
    """
    definition = require_definition(definition, where="waterfall")
    df = validate_stage_log(log, definition)
    f = definition.funnel
    main = [s for s in f.stages if s.part != "exit" and s.id not in (f.disqualify.to, f.lost.to)]
    exits = [s for s in f.stages if s not in main]
    rank = {s.id: i for i, s in enumerate(main)}

    v = visits(df)
    first = v.groupby("lead_id", sort=True).head(1).set_index("lead_id")
    lo = timestamp(start, definition, what="waterfall.start") if start is not None else None
    hi = timestamp(end, definition, what="waterfall.end") if end is not None else None
    if lo is not None and hi is not None and not lo < hi:
        raise DataError(f"start {lo} must come before end {hi}", where="waterfall")
    keep = pd.Series(True, index=first.index)
    if lo is not None:
        keep &= first["at"] >= lo
    if hi is not None:
        keep &= first["at"] < hi
    first = first[keep]
    v = v[v["lead_id"].isin(first.index)]
    grp = _group_of(df[df["lead_id"].isin(first.index)], v, first, by, groups, leads)
    gname = by or ("group" if groups is not None else None)

    v = v.assign(rank=v["stage"].map(rank).astype("float"))
    best = v.groupby("lead_id")["rank"].max().reindex(first.index)
    entered = _presence(v["lead_id"], v["stage"], first.index, f.stage_ids)
    recycled = v[(v["stage"] == f.recycle.to) & v["prev"].isin(f.recycle.from_)].groupby("lead_id").size()
    per_lead = pd.DataFrame(index=first.index)
    for s in main:
        per_lead[s.id] = (best >= rank[s.id]).to_numpy()
    for s in exits:
        per_lead[s.id] = entered[s.id].to_numpy()
    ent = entered.add_prefix("entered_")
    per_lead = per_lead.join(ent)
    # best main-path rank a lead reaches after its first entry into each main stage
    r = v["rank"].fillna(-1.0)
    suffix = r.iloc[::-1].groupby(v["lead_id"].iloc[::-1]).cummax().iloc[::-1]
    after = suffix.groupby(v["lead_id"]).shift(-1).fillna(-1.0)
    firsts = pd.DataFrame({"lead_id": v["lead_id"], "stage": v["stage"], "after": after}).drop_duplicates(["lead_id", "stage"])
    best_after = firsts.pivot(index="lead_id", columns="stage", values="after").reindex(index=first.index, columns=f.stage_ids)
    for a, b in itertools.pairwise(main):
        per_lead[f"converted_{b.id}"] = (best_after[a.id] >= rank[b.id]).to_numpy()
    per_lead = per_lead.join(_presence(first.index, first["stage"], first.index, f.stage_ids).add_prefix("here_"))
    per_lead["recycled"] = recycled.reindex(first.index, fill_value=0).to_numpy() > 0
    per_lead["_g"] = grp if grp is not None else "all"
    sums = per_lead.groupby("_g", sort=True).sum()
    size = per_lead.groupby("_g", sort=True).size()

    rows = []
    prev_of = {b.id: a.id for a, b in itertools.pairwise(main)}
    for g in sums.index:
        for s in [*main, *exits]:
            reached = int(sums.at[g, s.id])
            converted, conv = np.nan, np.nan
            if s.id in prev_of:
                converted = int(sums.at[g, f"converted_{s.id}"])
                base = int(sums.at[g, f"entered_{prev_of[s.id]}"])
                conv = converted / base if base else np.nan
            rows.append(
                {
                    "group": g,
                    "stage": s.id,
                    "label": s.label,
                    "part": s.part,
                    "cohort": int(size[g]),
                    "reached": reached,
                    "entered": int(sums.at[g, f"entered_{s.id}"]),
                    "entered_here": int(sums.at[g, f"here_{s.id}"]),
                    "share": reached / size[g] if size[g] else np.nan,
                    "converted": converted,
                    "conversion": conv,
                }
            )
    stages = pd.DataFrame(
        rows,
        columns=["group", "stage", "label", "part", "cohort", "reached", "entered", "entered_here", "share", "converted", "conversion"],
    )
    ex = pd.DataFrame(
        {
            "group": sums.index,
            "cohort": size.reindex(sums.index).to_numpy(),
            "recycled": (sums["recycled"] / size).to_numpy(),
            "disqualified": (sums[f"entered_{f.disqualify.to}"] / size).to_numpy(),
            "lost": (sums[f"entered_{f.lost.to}"] / size).to_numpy(),
        }
    )
    if gname is None:
        stages = stages.drop(columns="group")
        ex = ex.drop(columns="group")
    else:
        stages = stages.rename(columns={"group": gname})
        ex = ex.rename(columns={"group": gname})
    return Waterfall(stages=stages, exits=ex, by=gname, start=lo, end=hi)


# --------------------------------------------------------------------------- velocity


def velocity(log: pd.DataFrame, definition: LeadDefinition) -> pd.DataFrame:
    """Time spent in each stage and time from Name to each later stage, in days.

    Every visit counts: a lead recycled from Lead to Target and back to Lead
    contributes two Lead visits (``visits``), so loops show instead of hiding.
    Open visits (the lead is still there at the end of the log) are counted in
    ``open`` but left out of the durations.  ``from_name_*`` columns: calendar days
    from a lead's first Name row to its first entry into the stage, over the
    leads that started at Name and got there.

    >>> import pandas as pd
    >>> from leadsim import load_definition
    >>> log = pd.DataFrame({"lead_id": ["A", "A", "A", "A", "A"],
    ...     "stage": ["name", "target", "lead", "target", "lead"],
    ...     "at": pd.to_datetime(["2026-03-01", "2026-03-03", "2026-03-04", "2026-03-08", "2026-03-09"])})
    >>> v = velocity(log, load_definition())
    >>> int(v.at["target", "visits"]), float(v.at["target", "median_days"]), float(v.at["lead", "from_name_median_days"])
    (2, 1.0, 3.0)
    """
    definition = require_definition(definition, where="velocity")
    df = validate_stage_log(log, definition)
    v = visits(df)
    dur = (v["until"] - v["at"]).dt.total_seconds() / 86400.0
    v = v.assign(days=dur)
    ids = definition.funnel.stage_ids
    g = v.groupby("stage")
    out = pd.DataFrame(index=pd.Index(ids, name="stage"))
    out["label"] = [definition.stage_label(s) for s in ids]
    out["visits"] = g.size().reindex(ids, fill_value=0).astype(int)
    out["open"] = v["days"].isna().groupby(v["stage"]).sum().reindex(ids, fill_value=0).astype(int)
    closed = v[v["days"].notna()].groupby("stage")["days"]
    for name, q in (("median_days", 0.5), ("p80_days", 0.8), ("p95_days", 0.95)):
        out[name] = closed.quantile(q).reindex(ids)
    name_id = ids[0]
    start = v[v["stage"] == name_id].groupby("lead_id")["at"].min()
    firsts = v.groupby(["lead_id", "stage"])["at"].min().reset_index()
    pos = start.index.get_indexer(firsts["lead_id"])  # a hash look-up (isin on Arrow strings loops in Python)
    firsts = firsts[pos >= 0].copy()
    began = start.to_numpy(dtype="datetime64[ns]")[pos[pos >= 0]]
    firsts["to_days"] = (firsts["at"].to_numpy(dtype="datetime64[ns]") - began) / np.timedelta64(1, "D")
    firsts = firsts[(firsts["stage"] != name_id) & (firsts["to_days"] >= 0)]
    tg = firsts.groupby("stage")["to_days"]
    out["from_name_leads"] = tg.size().reindex(ids, fill_value=0).astype(int)
    for name, q in (("from_name_median_days", 0.5), ("from_name_p80_days", 0.8), ("from_name_p95_days", 0.95)):
        out[name] = tg.quantile(q).reindex(ids)
    out.loc[name_id, ["from_name_median_days", "from_name_p80_days", "from_name_p95_days"]] = 0.0
    out.loc[name_id, "from_name_leads"] = len(start)
    return out
