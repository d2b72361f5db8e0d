"""Explainable, vectorised lead scoring.

``score`` gives a snapshot per lead at ``as_of``; ``contributions`` the points
of every rule (``score == contributions.sum(axis=1)``); ``explain`` the top
factors of one lead; ``mql_events`` the moments leads became MQLs.  No
function loops over leads in Python: rules are evaluated column-wise with
numpy (lead positions as integer codes, ``np.bincount``) and text tests run
once per *distinct* value, then are mapped back through the codes.

Semantics
---------
Conditions (fit rules, BANT) follow :class:`leadsim.definition.Condition`:
a missing value never matches, negated or not, except ``exists``; ``contains``
and ``regex`` are case-insensitive searches; ``range`` is ``min <= x < max``
and ``between`` ``min <= x <= max``; ``eq``/``ne``/``in``/``not_in`` compare
category and text values as strings (exactly), numbers as numbers.
``negate`` inverts a test on a present value.  ``range``/``between`` on a
``date`` attribute are not supported (a :class:`DefinitionError`).

* fit score = fit-rule points + BANT points (``bant_<fact>`` rules);
  behaviour score = behaviour-rule points; score = fit + behaviour.
* A behaviour rule counts activities with a matching name and detail (a
  missing detail never matches a detail filter) at ``as_of - window_days < at
  <= as_of`` (no window: everything up to ``as_of``).  ``each``: every
  occurrence weighs ``0.5 ** (age_days / half_life_days)`` (no half-life: 1),
  ``raw = points * sum(weights)``, contribution ``sign(points) * min(|raw|,
  cap)`` (no cap: ``raw``).  ``at_least``: ``points`` once when the count is
  at least ``min_count``.  ``recency``: ``points`` once when an occurrence
  lies in the window.
* ``on_recycle: restart`` with a stage log: activities at or before the
  lead's last recycle (a move from a ``funnel.recycle.from`` stage to
  ``funnel.recycle.to``) at or before ``as_of`` are ignored, by behaviour
  rules and hot triggers alike.  ``keep`` or no stage log: no effect.
* grade: the first fit band (best first) whose lower bound is at or below the
  fit score, the last band catches the rest; engagement likewise on the
  behaviour score; ``segment = thresholds.matrix[grade + engagement]`` (NA
  when absent).
* is_hot: a hot-trigger activity in ``(as_of - window_days, as_of]``;
  ``hot_reason`` the label of the first such trigger in definition order.
  is_mql: ``score >= thresholds.mql`` or is_hot.
* Every comparison of points with a bound (threshold, grade and engagement
  bands, star percentiles, flame bands) allows
  :data:`leadsim.points.POINTS_TOLERANCE` (a millionth of a point), so float
  noise never flips a lead from one machine to the next; ``explain`` orders
  equal points by rule id.
* priority (Marketo-style stars, dynamic): with ``p, q`` the
  ``priority_percentiles`` of the scores of the leads scored (linear
  interpolation), ``1 + (score > p) + (score > q)``.
* urgency (flames): gain ``behaviour(as_of) - behaviour(as_of -
  urgency.window_days)``, the number of ``urgency.bands`` at or below it (0-3).
* Leads without activities score their fit only.  Activities (or stage-log
  rows) for unknown lead ids raise :class:`DataError`; a missing column
  :class:`SchemaError`.  ``as_of`` may be a string; tz-aware times are
  converted to the definition's calendar zone and made naive.
* ``mql_events``: per lead, the moments checked are the creation time, every
  recycle and every activity time (an activity before creation counts at
  creation) up to ``until``.  The lead is an MQL at a moment when the snapshot
  above says ``is_mql`` at that moment; an *event* is the first such moment of
  each episode (the episode count is the number of recycles at or before the
  moment, so each recycle starts a new episode).  ``reason`` is ``"hot"`` when
  a hot trigger is active then (``trigger`` = its id), else ``"score"``.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "seniority": ["vp", "student"],
...                       "company_size": [500, None]})
>>> leads = leads.reindex(columns=required_columns(d)["leads"])  # other attributes missing
>>> acts = pd.DataFrame({"lead_id": ["L1", "L1"], "activity": ["web_visit", "form_fill"],
...                      "at": pd.to_datetime(["2026-03-01", "2026-03-02"]),
...                      "detail": ["/pricing", "free_trial"]})
>>> s = score(leads, acts, d, as_of="2026-03-02")
>>> s[["fit_score", "behaviour_score", "score", "grade", "is_mql", "hot_reason"]]
         fit_score  behaviour_score      score grade  is_mql       hot_reason
lead_id
L1            45.0        65.468647  110.468647     B    True  Free-trial form
L2           -40.0         0.000000  -40.000000     D   False             <NA>
>>> c = contributions(leads, acts, d, as_of="2026-03-02")
>>> bool((c.sum(axis=1) == s["score"]).all())
True
>>> explain("L1", c, d, n=2)[["rule_id", "points"]]
       rule_id  points
0   free_trial    50.0
1  senior_exec    25.0
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadsim.definition import BehaviourRule, Condition, DetailFilter, HotTrigger, LeadDefinition
from leadsim.errors import DataError, DefinitionError, SchemaError
from leadsim.points import at_or_over, over, sort_table

__all__ = ["contributions", "explain", "mql_events", "required_columns", "rule_matches", "score"]

_DAY_NS = 86_400 * 10**9
_NEVER = np.iinfo(np.int64).min  # "no time" (no recycle, no creation)
SCORE_COLUMNS = [
    "fit_score",
    "behaviour_score",
    "score",
    "grade",
    "engagement",
    "segment",
    "is_mql",
    "is_hot",
    "hot_reason",
    "priority",
    "urgency",
]


# --------------------------------------------------------------------------- input checks


def _require(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"expected a DataFrame, got {type(df).__name__}", where=table)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"missing required column {missing[0]!r} (columns present: {list(df.columns)[:12]}); "
            "rename your column or map it with a column-mapping file",
            where=table,
        )


def _days_ns(days: float) -> int:
    """A span of days in integer nanoseconds, rounded exactly like ``pd.Timedelta(days=...)``."""
    return int(pd.Timedelta(days=days).value)


def _timestamp(value: Any, definition: LeadDefinition, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise DataError(f"cannot read {value!r} as a date/time ({err}); use e.g. '2026-03-31 17:00'", where=what) from None
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(f"{value!r} is not a date/time", where=what)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(definition.calendar.timezone).tz_localize(None)
    return ts.as_unit("ns")


def _times_ns(col: pd.Series, definition: LeadDefinition, where: str, *, allow_missing: bool = False) -> np.ndarray:
    """A time column as int64 nanoseconds of naive calendar-local time (NaT -> _NEVER)."""
    s = col
    if not isinstance(s.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, format="mixed")
        except (ValueError, TypeError) as err:
            raise DataError(f"cannot read the times ({err}); use ISO dates such as 2026-03-31 17:00", where=where) from None
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(definition.calendar.timezone).dt.tz_localize(None)
    arr = s.to_numpy(dtype="datetime64[ns]").view("i8")
    if not allow_missing:
        bad = np.flatnonzero(arr == _NEVER)
        if len(bad):
            raise DataError(
                f"{len(bad)} missing time(s), first at row(s) {bad[:5].tolist()}; every row needs a time",
                where=where,
            )
    return arr


def _arrow_strings(values: pd.Series | pd.Index) -> pa.Array:
    """Values as an Arrow string array (missing -> null); zero-copy for pyarrow-backed strings."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        values = values.astype("string[pyarrow]")
    arr = pa.array(values.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _codes(col: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(codes, distinct values as Arrow strings) of a column; missing values get code -1."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes, dtype=np.int64), _arrow_strings(col.cat.categories)
    enc = pc.dictionary_encode(_arrow_strings(col))
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, enc.dictionary


def _bools(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(result.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _take(mask_of_uniques: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Map a mask over distinct values back to rows (code -1, i.e. missing, -> False)."""
    return np.append(np.asarray(mask_of_uniques, dtype=bool), False)[codes]


def _lead_rows(leads: pd.DataFrame, tables: dict[str, pd.DataFrame | None]) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """The leads' ids as the result index, and each table's lead_id as row positions in ``leads``.

    One hash table of the ids serves every look-up (and the duplicate check):
    the distinct ids of each table are looked up, then mapped back by code.
    """
    _require(leads, "leads", ["lead_id"])
    col = leads["lead_id"]
    ids = _arrow_strings(col if pd.api.types.is_string_dtype(col.dtype) else col.astype("str"))
    if ids.null_count:
        rows = np.flatnonzero(_bools(pc.is_null(ids)))[:5].tolist()
        raise DataError(f"missing lead_id at row(s) {rows}; every lead needs an id", where="leads.lead_id")
    coded = {}
    for table, df in tables.items():
        if df is not None:
            _require(df, table, ["lead_id"])
            coded[table] = _codes(df["lead_id"])
    probe = pa.concat_arrays([a.cast(pa.large_string()) for a in [ids, *(u for _, u in coded.values())]])
    pos = pc.index_in(probe, value_set=ids).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    n = len(ids)
    if not np.array_equal(pos[:n], np.arange(n)):
        dup = pc.filter(ids, pa.array(pos[:n] != np.arange(n))).unique()[:5].to_pylist()
        raise DataError(f"duplicate lead_id(s) {dup}; each lead appears once", where="leads.lead_id")
    out, start = {}, n
    for table, (codes, uniques) in coded.items():
        pos_u = pos[start : start + len(uniques)]
        start += len(uniques)
        bad = pos_u < 0
        if bad.any() or (codes < 0).any():
            names = pc.filter(uniques, pa.array(bad))[:5].to_pylist() if bad.any() else ["<missing>"]
            raise DataError(
                f"{int(bad.sum()) or 'some'} lead id(s) not in the leads table, e.g. {names}; "
                "add those leads or drop their rows",
                where=f"{table}.lead_id",
            )
        out[table] = pos_u[codes]
    index = pd.Index(pd.array(ids, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), name="lead_id")
    return index, out


# --------------------------------------------------------------------------- conditions


_SLICE = 250_000


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads for Arrow string kernels (they release the GIL)."""
    return ThreadPoolExecutor(max_workers=max(os.cpu_count() or 1, 1), thread_name_prefix="leadsim-scoring")


def _regex(values: pa.Array, pattern: str) -> np.ndarray:
    """Case-insensitive regular-expression search: RE2 through pyarrow, Python ``re`` where RE2 lacks a construct."""
    try:
        return _bools(pc.match_substring_regex(values, pattern, ignore_case=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # look-around, back-references ...
        rx = re.compile(pattern, re.IGNORECASE)
        return np.fromiter((v is not None and rx.search(v) is not None for v in values.to_pylist()), bool, len(values))


def _text_test(values: pa.Array, op: str, value: Any) -> np.ndarray:
    """A string test over Arrow strings (nulls -> False); long arrays in slices on all cores."""
    if len(values) == 0:
        return np.zeros(0, bool)
    if len(values) >= 2 * _SLICE:
        slices = [values.slice(i, _SLICE) for i in range(0, len(values), _SLICE)]
        return np.concatenate(list(_pool().map(lambda v: _text_test(v, op, value), slices)))
    if op == "eq":
        return _bools(pc.equal(values, pa.scalar(str(value), pa.string())))
    if op == "in":
        return _bools(pc.is_in(values, value_set=pa.array([str(v) for v in value], pa.string())))
    if op == "contains":
        return _bools(pc.match_substring(values, str(value), ignore_case=True))
    if op == "regex":
        return _regex(values, value)
    raise DefinitionError(f"unknown text operator {op!r}", where="rules")


def _present_and(test: np.ndarray, present: np.ndarray, negate: bool) -> np.ndarray:
    return present & (~test if negate else test)


def _numeric(col: pd.Series, where: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col.dtype):
        col = col.astype("float64")
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna() & col.notna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:3].tolist()
        raise DataError(
            f"non-numeric value(s) {col[bad].head(3).tolist()} at row(s) {rows}; use numbers or leave them empty",
            where=where,
        )
    return num.to_numpy(dtype="float64", na_value=np.nan)


def _condition_mask(col: pd.Series, cond: Condition, atype: str, where: str, cache: dict) -> np.ndarray:
    """Boolean per row: does the condition hold?  (Missing never matches, except ``exists``.)"""
    key = (cond.attribute, cond.op, repr(cond.value), cond.min, cond.max)
    if key not in cache:
        cache[key] = _raw_test(col, cond, atype, where)
    test, present = cache[key]
    if cond.op == "exists":
        hit = present if cond.value else ~present
        return ~hit if cond.negate else hit
    return _present_and(test, present, cond.negate)


def _raw_test(col: pd.Series, cond: Condition, atype: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    op = cond.op
    if atype in ("number", "integer"):
        x = _numeric(col, where)
        present = ~np.isnan(x)
        if op == "exists":
            return present, present
        with np.errstate(invalid="ignore"):
            if op in ("range", "between"):
                lo = -np.inf if cond.min is None else cond.min
                hi = np.inf if cond.max is None else cond.max
                test = (x >= lo) & ((x <= hi) if op == "between" or cond.max is None else (x < hi))
            elif op in ("eq", "ne"):
                test = x == float(cond.value)
                test = ~test if op == "ne" else test
            elif op in ("in", "not_in"):
                test = np.isin(x, np.asarray(cond.value, dtype=float))
                test = ~test if op == "not_in" else test
            else:
                raise DefinitionError(f"op {op!r} needs a text attribute, {cond.attribute!r} is a number", where=where)
        return test & present, present
    if op in ("range", "between"):
        raise DefinitionError(
            f"op {op!r} on the {atype} attribute {cond.attribute!r} is not supported by the scoring engine; "
            "use a number attribute (e.g. age in days)",
            where=where,
        )
    if isinstance(col.dtype, pd.CategoricalDtype) or atype == "bool" or _few_distinct(col):
        codes, uniques = _codes(col)  # test each distinct value once
        present = codes >= 0
    else:
        codes, uniques = None, _arrow_strings(col)  # mostly distinct (e-mails): test every row, no hashing
        present = _bools(pc.is_valid(uniques))
    if op == "exists":
        return present, present
    if atype == "bool":
        uniques = pa.array([None if u is None else _bool_text(u) for u in uniques.to_pylist()], pa.string())
        value = [_bool_text(v) for v in cond.value] if isinstance(cond.value, list) else _bool_text(cond.value)
    else:
        value = cond.value
    base = {"ne": "eq", "not_in": "in"}.get(op, op)
    test_u = _text_test(uniques, base, value)
    if op in ("ne", "not_in"):
        test_u = ~test_u
    return (test_u if codes is None else _take(test_u, codes)) & present, present


def _few_distinct(col: pd.Series, sample: int = 20_000) -> bool:
    """Whether a column repeats its values a lot (judged on its first rows), so that coding it pays."""
    head = col.iloc[:sample]
    return len(col) > 2 * sample and head.nunique() < len(head) // 4


def _bool_text(v: Any) -> str:
    s = str(v).strip().lower()
    return {"1": "true", "yes": "true", "0": "false", "no": "false", "1.0": "true", "0.0": "false"}.get(s, s)


def _fit_matrix(leads: pd.DataFrame, definition: LeadDefinition, out: np.ndarray) -> None:
    """Fill ``out`` (one row per fit and BANT rule, one column per lead) with points."""
    rules = list(definition.fit_rules) + definition.bant_rules()
    attrs = {a.name: a for a in definition.attributes}
    _require(leads, "leads", sorted({r.attribute for r in rules}))
    cache: dict = {}
    for j, r in enumerate(rules):
        where = f"leads.{r.attribute}"
        mask = _condition_mask(leads[r.attribute], r, attrs[r.attribute].type, where, cache)
        out[j] = np.where(mask, float(r.points), 0.0)


# --------------------------------------------------------------------------- activities


def _detail_mask(uniques: pa.Array, flt: DetailFilter) -> np.ndarray:
    test = _text_test(uniques, flt.op, flt.value)
    return ~test if flt.negate else test


@dataclass
class _Activities:
    """The activity log as integer arrays: lead row, time (ns), activity and detail codes."""

    lead: np.ndarray
    t: np.ndarray
    act: np.ndarray
    act_uniques: pa.Array
    det: np.ndarray
    det_uniques: pa.Array
    _rows: dict = field(default_factory=dict)

    @classmethod
    def build(cls, activities: pd.DataFrame | None, lead: np.ndarray | None, definition: LeadDefinition) -> _Activities:
        if activities is None:
            return cls(*(np.empty(0, np.int64),) * 3, pa.array([], pa.string()), np.empty(0, np.int64), pa.array([], pa.string()))
        _require(activities, "activities", ["lead_id", "activity", "at"])
        t = _times_ns(activities["at"], definition, "activities.at")
        act, act_u = _codes(activities["activity"])
        if "detail" in activities.columns:
            det, det_u = _codes(activities["detail"])
        else:
            det, det_u = np.full(len(activities), -1, np.int64), pa.array([], pa.string())
        return cls(lead, t, act, act_u, det, det_u)

    def subset(self, keep: np.ndarray) -> _Activities:
        return _Activities(self.lead[keep], self.t[keep], self.act[keep], self.act_uniques, self.det[keep], self.det_uniques)

    @functools.cached_property
    def time_sorted(self) -> bool:
        """Whether rows are in time order (typical of exports): windows are then slices."""
        return bool(np.all(self.t[1:] >= self.t[:-1]))

    def matching(self, rule: BehaviourRule | HotTrigger, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Row indices (ascending) of activities a rule or trigger looks at (name and detail filter).

        With ``start``/``stop``, only rows in that range (not cached).
        """
        whole = start == 0 and (stop is None or stop >= len(self.t))
        key = _rule_key(rule)
        if whole and key in self._rows:
            return self._rows[key]
        return self.select(_Looks.of(rule, self.act_uniques, self.det_uniques), start, stop)

    def select(self, looks: _Looks, start: int = 0, stop: int | None = None) -> np.ndarray:
        """:meth:`matching` with the rule's filters already applied to the vocabularies."""
        whole = start == 0 and (stop is None or stop >= len(self.t))
        if whole and looks.key in self._rows:
            return self._rows[looks.key]
        sl = slice(start, stop)
        names = looks.names
        if len(names) == 1 and whole:  # one activity: its rows, cached for every rule on it
            idx = self._rows.setdefault(("code", int(names[0])), np.flatnonzero(self.act == names[0]))
        elif len(names) == 1:
            idx = start + np.flatnonzero(self.act[sl] == names[0])
        else:
            idx = start + np.flatnonzero(_take(np.isin(np.arange(len(self.act_uniques)), names), self.act[sl]))
        if looks.det_ok is not None:
            idx = idx[looks.det_ok[self.det[idx]]]
        if whole:
            self._rows[looks.key] = idx
        return idx


def _rule_key(rule: BehaviourRule | HotTrigger) -> tuple:
    """Rules with equal keys look at the same activities."""
    return tuple(rule.activities), None if rule.detail is None else rule.detail.model_dump_json()


@dataclass(frozen=True)
class _Looks:
    """What a rule or trigger looks at, on one vocabulary: its activity codes and the detail codes it passes."""

    key: tuple
    names: np.ndarray
    det_ok: np.ndarray | None  # by detail code, missing (-1, the last slot) never passes; None: no detail filter

    @classmethod
    def of(cls, rule: BehaviourRule | HotTrigger, act_uniques: pa.Array, det_uniques: pa.Array) -> _Looks:
        names = np.flatnonzero(_text_test(act_uniques, "in", rule.activities))
        det_ok = None if rule.detail is None else np.append(_detail_mask(det_uniques, rule.detail), False)
        return cls(_rule_key(rule), names, det_ok)


def _recycles(stage_log: pd.DataFrame | None, lead: np.ndarray | None, definition: LeadDefinition) -> tuple[np.ndarray, np.ndarray]:
    """(lead position, time) of every recycle move, sorted by lead then time."""
    if stage_log is None or len(stage_log) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    _require(stage_log, "stage_log", ["lead_id", "stage", "at"])
    t = _times_ns(stage_log["at"], definition, "stage_log.at")
    codes, uniques = _codes(stage_log["stage"])
    if (codes < 0).any():
        rows = np.flatnonzero(codes < 0)[:5].tolist()
        raise DataError(f"missing stage at row(s) {rows}", where="stage_log.stage")
    stage_ids = np.asarray([definition.funnel.stage(str(u)).id for u in uniques.to_pylist()], dtype=object)
    rec = definition.funnel.recycle
    is_from = np.isin(stage_ids, rec.from_)[codes]
    is_to = (stage_ids == rec.to)[codes]
    order = np.lexsort((t, lead))
    lead, t, is_from, is_to = lead[order], t[order], is_from[order], is_to[order]
    move = np.zeros(len(lead), bool)
    move[1:] = is_to[1:] & is_from[:-1] & (lead[1:] == lead[:-1])
    return lead[move], t[move]


def _last_recycle(rec: tuple[np.ndarray, np.ndarray], n: int, as_of: int) -> np.ndarray:
    """Per lead, the time of the last recycle at or before ``as_of`` (``_NEVER`` if none)."""
    lead, t = rec
    cut = np.full(n, _NEVER, np.int64)
    sel = t <= as_of
    lead, t = lead[sel], t[sel]
    if len(lead):
        last = np.append(lead[1:] != lead[:-1], True)  # sorted by (lead, t): last row per lead
        cut[lead[last]] = t[last]
    return cut


def _window_rows(acts: _Activities, rule: BehaviourRule | HotTrigger, as_of: int, cut: np.ndarray | None) -> np.ndarray:
    """Indices of a rule's activities inside its window at ``as_of`` (and after the recycle cut)."""
    if acts.time_sorted:  # the window is a slice of rows
        stop = int(np.searchsorted(acts.t, as_of, side="right"))
        start = 0 if rule.window_days is None else int(np.searchsorted(acts.t, as_of - _days_ns(rule.window_days), side="right"))
        if _rule_key(rule) in acts._rows or stop - start > len(acts.t) // 2:
            idx = acts.matching(rule)
            idx = idx[np.searchsorted(idx, start) : np.searchsorted(idx, stop)]
        else:
            idx = acts.matching(rule, start, stop)
        if cut is not None:
            idx = idx[acts.t[idx] > cut[acts.lead[idx]]]
        return idx
    idx = acts.matching(rule)
    t = acts.t[idx]
    keep = t <= as_of
    if rule.window_days is not None:
        keep &= t > as_of - _days_ns(rule.window_days)
    if cut is not None:
        keep &= t > cut[acts.lead[idx]]
    return idx if keep.all() else idx[keep]


def _behaviour_matrix(acts: _Activities, definition: LeadDefinition, as_of: int, cut: np.ndarray | None, out: np.ndarray) -> None:
    """Fill ``out`` (one row per behaviour rule, one column per lead) with points at ``as_of``."""
    n = out.shape[1]
    for j, r in enumerate(definition.behaviour_rules):
        idx = _window_rows(acts, r, as_of, cut)
        lead = acts.lead[idx]
        if r.mode == "each":
            if r.half_life_days is None:
                total = np.bincount(lead, minlength=n).astype(float)
            else:
                age = (as_of - acts.t[idx]).astype(float)
                total = np.bincount(lead, weights=np.exp2(age / (-r.half_life_days * _DAY_NS)), minlength=n)
            out[j] = _capped(r.points * total, r.points, r.cap)
        else:
            need = r.min_count if r.mode == "at_least" else 1
            out[j] = np.where(np.bincount(lead, minlength=n) >= need, float(r.points), 0.0)


def _capped(raw: np.ndarray, points: float, cap: float | None) -> np.ndarray:
    if cap is None:
        return raw
    return np.sign(points) * np.minimum(np.abs(raw), cap)


def _hot_index(acts: _Activities, definition: LeadDefinition, n: int, as_of: int, cut: np.ndarray | None) -> np.ndarray:
    """Per lead, the index of the first active hot trigger (-1: none)."""
    first = np.full(n, -1, np.int64)
    for k, trig in reversed(list(enumerate(definition.hot_triggers))):
        idx = _window_rows(acts, trig, as_of, cut)
        first[acts.lead[idx]] = k
    return first


# --------------------------------------------------------------------------- public API


@dataclass
class _Scored:
    index: pd.Index
    rules: np.ndarray  # (rule, lead): fit and BANT rules first, then behaviour rules
    n_fit: int
    acts: _Activities
    cut: np.ndarray | None
    recycles: tuple[np.ndarray, np.ndarray]
    as_of: int


def _prepare(leads, activities, definition, as_of, stage_log) -> _Scored:
    if not isinstance(definition, LeadDefinition):
        raise DefinitionError(f"expected a LeadDefinition, got {type(definition).__name__}; use load_definition()")
    t0 = int(_timestamp(as_of, definition, "as_of").value)
    index, rows = _lead_rows(leads, {"activities": activities, "stage_log": stage_log})
    n_fit = len(definition.fit_rules) + len(definition.bant)
    rules = np.zeros((len(definition.rule_ids), len(index)))
    _fit_matrix(leads, definition, rules[:n_fit])
    acts = _Activities.build(activities, rows.get("activities"), definition)
    recycles = _recycles(stage_log, rows.get("stage_log"), definition)
    cut = None
    if definition.on_recycle == "restart" and len(recycles[0]):
        cut = _last_recycle(recycles, len(index), t0)
    _behaviour_matrix(acts, definition, t0, cut, rules[n_fit:])
    return _Scored(index, rules, n_fit, acts, cut, recycles, t0)


def contributions(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    as_of: Any,
    stage_log: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Points of every rule for every lead at ``as_of``: one column per ``definition.rule_ids``.

    Caps are included, so ``score == contributions.sum(axis=1)``.
    """
    p = _prepare(leads, activities, definition, as_of, stage_log)
    # p.rules.T is column-major: pandas keeps it as one block without copying
    return pd.DataFrame(p.rules.T, index=p.index, columns=pd.Index(definition.rule_ids), copy=False)


def _bands(x: np.ndarray, bands: dict[str, float | None]) -> np.ndarray:
    names = list(bands)
    out = np.full(len(x), names[-1], dtype=object)
    for name in reversed(names[:-1]):
        out[at_or_over(x, bands[name])] = name
    return out


def score(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    as_of: Any,
    stage_log: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every lead at ``as_of``; see the module docstring for the exact rules.

    Returns a DataFrame indexed by ``lead_id`` with ``fit_score``,
    ``behaviour_score``, ``score``, ``grade``, ``engagement``, ``segment``,
    ``is_mql``, ``is_hot``, ``hot_reason``, ``priority`` (1-3) and ``urgency``
    (0-3).
    """
    p = _prepare(leads, activities, definition, as_of, stage_log)
    n = len(p.index)
    th = definition.thresholds
    fit = p.rules[: p.n_fit].sum(axis=0)
    beh = p.rules[p.n_fit :].sum(axis=0)
    total = p.rules.sum(axis=0)
    grade = _bands(fit, th.fit_grades)
    engagement = _bands(beh, th.engagement)
    matrix = th.matrix or {}
    segment = pd.Series(grade + engagement, dtype=object).map(matrix).astype("string")

    hot = _hot_index(p.acts, definition, n, p.as_of, p.cut)
    labels = np.asarray([t.label or t.id for t in definition.hot_triggers] + [None], dtype=object)
    hot_reason = pd.array(labels[hot], dtype="string")

    if n:
        lo, hi = np.percentile(total, list(th.priority_percentiles))
        priority = 1 + over(total, lo).astype(np.int64) + over(total, hi).astype(np.int64)
    else:
        priority = np.zeros(0, np.int64)

    earlier = p.as_of - _days_ns(th.urgency.window_days)
    cut_then = _last_recycle(p.recycles, n, earlier) if p.cut is not None else None
    then = np.zeros((len(definition.behaviour_rules), n))
    _behaviour_matrix(p.acts, definition, earlier, cut_then, then)
    beh_then = then.sum(axis=0)
    gain = beh - beh_then
    urgency = at_or_over(gain[:, None], np.asarray(th.urgency.bands, float)[None, :]).sum(axis=1).astype(np.int64)

    return pd.DataFrame(
        {
            "fit_score": fit,
            "behaviour_score": beh,
            "score": total,
            "grade": pd.array(grade, dtype="string"),
            "engagement": pd.array(engagement, dtype="string"),
            "segment": segment.array,
            "is_mql": at_or_over(total, th.mql) | (hot >= 0),
            "is_hot": hot >= 0,
            "hot_reason": hot_reason,
            "priority": priority,
            "urgency": urgency,
        },
        index=p.index,
    )


def rule_matches(acts: pd.DataFrame, definition: LeadDefinition) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Which behaviour rules look at which activities: (combo code per row, bool matrix combo x rule, the combos).

    Every distinct (activity, detail) pair becomes one pseudo-lead with one
    activity, scored by :func:`contributions` with a counting copy of the
    rules, so the name and detail filters are exactly scoring's.  Code -1:
    the row's activity is missing.

    >>> from leadsim import load_definition
    >>> d = load_definition()
    >>> acts = pd.DataFrame({"activity": ["web_visit", "web_visit", "webinar"], "detail": ["/pricing", "/", None]})
    >>> combo, match, _ = rule_matches(acts, d)
    >>> [[r.id for r, hit in zip(d.behaviour_rules, match[c]) if hit] for c in combo]  # doctest: +NORMALIZE_WHITESPACE
    [['web_visit', 'pricing_page', 'frequent_visitor', 'recently_active'],
     ['web_visit', 'frequent_visitor', 'recently_active'], ['webinar', 'recently_active']]
    """
    act_codes, act_u = pd.factorize(acts["activity"])
    if "detail" in acts.columns:
        det_codes, det_u = pd.factorize(acts["detail"])
    else:
        det_codes, det_u = np.full(len(acts), -1, np.int64), np.empty(0, object)
    # one code per distinct (activity, detail) pair; -1 = missing
    nd = len(det_u) + 1
    key = (act_codes.astype(np.int64) + 1) * nd + (det_codes.astype(np.int64) + 1)
    ukey, codes = np.unique(key, return_inverse=True)
    n = len(ukey)
    rules = definition.behaviour_rules
    u = pd.DataFrame({"a": ukey // nd - 1, "d": ukey % nd - 1})
    u.attrs.update(activities=pd.Index(np.asarray(act_u, dtype=object)), details=pd.Index(np.asarray(det_u, dtype=object)))
    if n == 0 or not rules:
        return codes.astype(np.int64), np.zeros((n, len(rules)), bool), u
    names = [str(i) for i in range(n)]
    t0 = pd.Timestamp("2000-01-01")
    pseudo_acts = pd.DataFrame({
        "lead_id": names, "at": t0,
        "activity": pd.Categorical.from_codes(u["a"].to_numpy(), categories=u.attrs["activities"]),
        "detail": pd.Categorical.from_codes(u["d"].to_numpy(), categories=u.attrs["details"]),
    })
    counting = BehaviourRule.model_construct  # points 1, no window, no decay: 1 when the rule looks at it
    beh = [counting(id=r.id, label=r.label, activity=r.activity, detail=r.detail, points=1.0, mode="each",
                    min_count=1, cap=None, half_life_days=None, window_days=None) for r in rules]
    d = definition.model_copy(update={"fit_rules": [], "bant": {}, "behaviour_rules": beh, "hot_triggers": [],
                                      "on_recycle": "keep"})
    m = contributions(pd.DataFrame({"lead_id": names}), pseudo_acts, d, t0).to_numpy() > 0
    return codes.astype(np.int64), m, u


def explain(lead_id: str, contributions: pd.DataFrame, definition: LeadDefinition, n: int = 3) -> pd.DataFrame:
    """The top ``n`` positive and top ``n`` negative factors of one lead's score.

    Columns: ``rule_id``, ``label``, ``points``, ``direction`` (``+``/``-``);
    positives first (largest first), then negatives (most negative first).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"the number of factors per direction must be a whole number of at least 1; got {n!r}", where="n")
    if lead_id not in contributions.index:
        raise DataError(f"lead {lead_id!r} is not among the {len(contributions)} scored leads", where="lead_id")
    row = contributions.loc[lead_id]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    row = row.astype(float)
    pos = sort_table(row[row > 0], ascending=False).head(n)
    neg = sort_table(row[row < 0], ascending=True).head(n)
    parts = pd.concat([pos, neg])
    return pd.DataFrame(
        {
            "rule_id": parts.index.astype(str),
            "label": [definition.rule_label(r) for r in parts.index],
            "points": parts.to_numpy(dtype=float),
            "direction": ["+"] * len(pos) + ["-"] * len(neg),
        }
    )


def required_columns(definition: LeadDefinition) -> dict[str, list[str]]:
    """The columns scoring reads, per table (to read only those from a big file).

    >>> from leadsim import load_definition
    >>> required_columns(load_definition())["activities"]
    ['lead_id', 'activity', 'at', 'detail']
    """
    attrs = [r.attribute for r in list(definition.fit_rules) + definition.bant_rules()]
    return {
        "leads": ["lead_id", *dict.fromkeys(attrs)],
        "activities": ["lead_id", "activity", "at", "detail"],
        "stage_log": ["lead_id", "stage", "at"],
    }


# --------------------------------------------------------------------------- MQL events


_KEY_BITS = 62  # bits of a packed (lead, time) key (lower it to exercise the time buckets on small data)


@dataclass(frozen=True)
class _PairKey:
    """(lead, time) packed into one int64 that orders like the pair, up to time buckets.

    The lead takes the high bits, the time the low ones: clipped to ``[lo,
    hi]`` and counted from ``lo`` in buckets of ``2 ** shift`` ns, where
    ``shift`` is 0 unless the span needs more bits than the leads leave
    (a year with 50,000 leads: 512 ns buckets).  Equal keys then mean the
    same lead and bucket; callers resolve those ties on the times themselves.
    """

    lead_shift: int
    shift: int
    lo: int
    hi: int

    @classmethod
    def spanning(cls, n_leads: int, lo: int, hi: int) -> _PairKey:
        lead_shift = _KEY_BITS - max(int(n_leads).bit_length(), 1)
        return cls(lead_shift, max((hi - lo).bit_length() - lead_shift, 0), lo, hi)

    def pack(self, lead: np.ndarray, t: np.ndarray) -> np.ndarray:
        # unsigned: the span may exceed the int64 range
        rel = np.clip(t, self.lo, self.hi).view(np.uint64) - np.uint64(self.lo % 2**64)
        return (lead << self.lead_shift) | (rel >> np.uint64(self.shift)).view(np.int64)


def _pair_order(lead: np.ndarray, t: np.ndarray, n_leads: int) -> np.ndarray:
    """A stable order of (lead, time) pairs, not empty (like ``np.lexsort((t, lead))`` up to ties of equal pairs).

    Concatenated sorted runs cost little: the stable sort merges them.
    """
    pk = _PairKey.spanning(n_leads, int(t.min()), int(t.max()))
    order = np.argsort(pk.pack(lead, t), kind="stable")
    if pk.shift:  # pairs sharing a time bucket may be out of order
        sl, st = lead[order], t[order]
        if ((sl[1:] == sl[:-1]) & (st[1:] < st[:-1])).any():
            order = np.lexsort((t, lead))
    return order


@dataclass
class _ActIndex:
    """Activities sorted by (lead, time), counted up to any (lead, time) with one ``searchsorted``."""

    t: np.ndarray
    key: _PairKey | None
    packed: np.ndarray
    start: np.ndarray  # per lead: its first row
    first_t: np.ndarray  # per lead: its first time (int64 max: no activities)

    @classmethod
    def build(cls, lead: np.ndarray, t: np.ndarray, n_leads: int) -> _ActIndex:
        counts = np.bincount(lead, minlength=n_leads)
        start = np.cumsum(counts) - counts
        first_t = np.full(n_leads, np.iinfo(np.int64).max, np.int64)
        first_t[counts > 0] = t[start[counts > 0]]
        if len(t) == 0:
            return cls(t, None, t, start, first_t)
        key = _PairKey.spanning(n_leads, int(t.min()) - 1, int(t.max()))
        return cls(t, key, key.pack(lead, t), start, first_t)

    def count_le(self, q_lead: np.ndarray, q_t: np.ndarray) -> np.ndarray:
        """Per query, the number of activities with (lead, time) <= (q_lead, q_t)."""
        if self.key is None:
            return np.zeros(len(q_lead), np.int64)
        q = self.key.pack(q_lead, q_t)
        pos = np.searchsorted(self.packed, q, side="right")
        if self.key.shift:  # the last ones counted may share the query's bucket but come after it
            todo = np.flatnonzero(pos > 0)
            while len(todo):
                p = pos[todo] - 1
                todo = todo[(self.packed[p] == q[todo]) & (self.t[p] > q_t[todo])]
                pos[todo] -= 1
                todo = todo[pos[todo] > 0]
        return pos


def _lead_time_rows(acts: _Activities, t_end: int, n_leads: int) -> np.ndarray:
    """Rows of the activities at or before ``t_end``, sorted by (lead, time), ties in row order."""
    if acts.time_sorted:  # a stable sort by lead keeps the time order (uint16: a radix sort)
        lead = acts.lead[: np.searchsorted(acts.t, t_end, side="right")]
        return np.argsort(lead.astype(np.uint16) if n_leads <= 2**16 else lead, kind="stable")
    keep = np.flatnonzero(acts.t <= t_end)
    return keep[np.lexsort((acts.t[keep], acts.lead[keep]))]


def _chunk_ns(half_life_ns: float) -> int:
    return max(int(64 * half_life_ns), 1)


_FEW = 1_000  # below this many values a Python loop beats pandas' groupby (its set-up costs ~0.2 ms)


def _segment_cumsum(v: np.ndarray, new: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``v`` restarting where ``new`` (segment ``seg``), as pandas' groupby cumsum, bit for bit.

    pandas compensates the rounding (Kahan summation); a short input takes the
    same steps in Python floats (IEEE doubles, like the C loop).
    """
    if len(v) > _FEW:
        return pd.Series(v).groupby(seg).cumsum().to_numpy()
    out = []
    total = comp = 0.0
    for x, first in zip(v.tolist(), new.tolist(), strict=True):
        if first:
            total = comp = 0.0
        y = x - comp
        t = total + y
        comp = t - total - y
        total = t
        out.append(t)
    return np.array(out, float)


@dataclass
class _Decayed:
    """The events of the decaying rules, rule after rule, ready to sum ``2 ** ((t_e - q_t) / h)`` over windows.

    Prefix sums are rebased per (lead, time chunk of 64 half-lives) so that
    ``2 ** (t / h)`` never overflows; events more than 64 half-lives old
    (weight below 2**-64) are left out.  A window then spans at most two
    chunks.  Every value is computed as it would be for the rule alone.
    """

    first: np.ndarray  # each rule's first event
    half_life: np.ndarray  # per event, its rule's half-life (ns)
    anchor: np.ndarray  # per event, the start of its chunk
    cum: np.ndarray  # rebased prefix sums, restarting per (rule, lead, chunk)
    seg_start: np.ndarray  # per event, the first event of its (rule, lead, chunk)

    @classmethod
    def prepare(cls, lead: np.ndarray, t: np.ndarray, idx: list[np.ndarray], half_life_ns: list[float]) -> _Decayed:
        """``idx[k]``: rule ``k``'s rows of ``lead``/``t`` (sorted by lead, then time)."""
        sizes = [len(i) for i in idx]
        rows = np.concatenate([np.zeros(0, np.int64), *idx])
        first = np.cumsum([0, *sizes], dtype=np.int64)[:-1]
        half_life = np.repeat(np.array(half_life_ns, float), sizes)
        ev_t = t[rows]
        chunk_ns = np.maximum((64 * half_life).astype(np.int64), 1)  # _chunk_ns of each event's rule
        chunk = ev_t // chunk_ns
        anchor = chunk * chunk_ns
        v = np.exp2((ev_t - anchor) / half_life)
        ev_lead = lead[rows]
        new = np.ones(len(ev_t), bool)
        new[1:] = (ev_lead[1:] != ev_lead[:-1]) | (chunk[1:] != chunk[:-1])
        new[first[first < len(new)]] = True  # each rule starts afresh
        seg = np.cumsum(new) - 1
        return cls(first, half_life, anchor, _segment_cumsum(v, new, seg), np.flatnonzero(new)[seg])

    def sums(self, lo: np.ndarray, hi: np.ndarray, old: np.ndarray, q_t: np.ndarray) -> list[tuple[np.ndarray,
                                                                                                  np.ndarray]]:
        """Per rule ``k``, the sum over its events ``lo[k] <= e < hi[k]`` (rule x query, each query one lead's
        events; ``old``: each query's first event newer than one chunk) at ``q_t``: (the queries with events to
        sum, their sums); the others sum to 0."""
        n_q = len(q_t)
        lo, hi, old = (x + self.first[:, None] for x in (lo, hi, old))
        a = np.where(hi > lo, np.maximum(lo, old), hi).ravel()
        has = np.flatnonzero(hi.ravel() > a)
        a, b, qt = a[has], hi.ravel()[has], q_t[has % n_q]
        cum, seg_start, anchor, h = self.cum, self.seg_start, self.anchor, self.half_life
        last = b - 1
        s = seg_start[last]
        lower = np.maximum(a, s)
        part = cum[last] - np.where(lower > s, cum[np.maximum(lower - 1, 0)], 0.0)
        total = part * np.exp2((anchor[last] - qt) / h[last])
        two = np.flatnonzero(a < s)
        if len(two):
            a2, s2, t2 = a[two], s[two], qt[two]
            prev = s2 - 1
            part2 = cum[prev] - np.where(a2 > seg_start[prev], cum[np.maximum(a2 - 1, 0)], 0.0)
            total[two] += part2 * np.exp2((anchor[prev] - t2) / h[prev])
        cuts = np.searchsorted(has, np.arange(len(self.first) + 1) * n_q)
        return [(has[i:k] - r * n_q, total[i:k]) for r, (i, k) in enumerate(itertools.pairwise(cuts.tolist()))]


_MOMENTS_AT_ONCE = 1 << 16  # moments scored together (rule x moment arrays stay small)


def _score_moments(plan: _MqlPlan, total: np.ndarray, prefix: np.ndarray, bounds: np.ndarray, decayed: _Decayed,
                   m_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, first active hot trigger or -1) at moments ``m_t``, from the fit points ``total`` (added to).

    ``prefix``: per look, its rows counted up to each row; ``bounds``: per
    bound kind (see :class:`_MqlPlan`), each moment's row bound.
    """
    count = np.zeros((len(plan.queries), len(m_t)), prefix.dtype)  # per (look, bound) query and moment
    for k, (look, bound) in enumerate(plan.queries.tolist()):
        prefix[look].take(bounds[bound], out=count[k])
    rules = plan.definition.behaviour_rules
    decaying = [j for j in range(len(rules)) if plan.half_life_ns[j]]
    sums = dict(zip(decaying, decayed.sums(*(count[[q[j] for j in decaying]] for q in (plan.lo, plan.hi, plan.old)),
                                           m_t), strict=True))
    # each behaviour rule in definition order: the additions of score()'s rules.sum(axis=0), bit for bit
    for j, r in enumerate(rules):
        if j in sums:
            has, part = sums[j]
            # elsewhere the rule adds +-0, which leaves a total unchanged (it is never -0: it starts at fit sums)
            total[has] += _capped(r.points * part, r.points, r.cap)
            continue
        n_in = count[plan.hi[j]] - count[plan.lo[j]]
        if r.mode != "each":
            need = r.min_count if r.mode == "at_least" else 1
            total += np.where(n_in >= need, float(r.points), 0.0)
        else:
            total += _capped(r.points * n_in, r.points, r.cap)
    # the first active hot trigger in definition order
    trig = range(len(rules), len(plan.hi))
    if not len(trig):
        return total, np.full(len(m_t), -1, np.int64)
    active = count[[plan.hi[j] for j in trig]] > count[[plan.lo[j] for j in trig]]
    return total, np.where(active.any(axis=0), active.argmax(axis=0), -1)


def _moments(
    born: np.ndarray, created: np.ndarray, acts: _Activities, rec_lead: np.ndarray, rec_t: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (lead, time) scoring moments, sorted: creations, activities and recycles.

    Returns (lead, time, activities at or before it, recycles at or before it);
    an activity before its lead's creation counts at the creation.  The
    activity count is exact for moments at or after the lead's creation.
    """
    nb, na = len(born), len(acts.t)
    if nb + na + len(rec_t) == 0:
        return (np.zeros(0, np.int64),) * 4
    lead = np.concatenate([born, acts.lead, rec_lead])
    t = np.concatenate([created[born], np.maximum(acts.t, created[acts.lead]), rec_t])
    order = _pair_order(lead, t, n)  # three sorted runs
    lead, t = lead[order], t[order]
    is_act = (order >= nb) & (order < nb + na)
    n_act, n_rec = np.cumsum(is_act), np.cumsum(order >= nb + na)
    first = np.ones(len(t), bool)
    first[1:] = (lead[1:] != lead[:-1]) | (t[1:] != t[:-1])
    start = np.flatnonzero(first)
    end = np.append(start[1:] - 1, len(t) - 1)
    return lead[start], t[start], n_act[end], n_rec[end]


def mql_events(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    definition: LeadDefinition,
    until: Any,
    stage_log: pd.DataFrame | None = None,
    *,
    fit_points: np.ndarray | None = None,
) -> pd.DataFrame:
    """The moments leads became MQLs up to ``until`` (see the module docstring).

    Returns ``lead_id, at, reason ("score"|"hot"), trigger (hot-trigger id or
    NA), score``, sorted by time then lead.  ``fit_points``: the leads' fit and
    BANT points in ``leads`` order (``score()``'s ``fit_score``) when already
    known, so the fit rules are not evaluated again (a caller scoring the same
    leads many times).

    >>> import pandas as pd
    >>> from leadsim import load_definition
    >>> d = load_definition()
    >>> leads = pd.DataFrame({"lead_id": ["L1"], "created_at": [pd.Timestamp("2026-03-01")]})
    >>> leads = leads.reindex(columns=required_columns(d)["leads"] + ["created_at"])
    >>> acts = pd.DataFrame({"lead_id": ["L1"] * 2, "activity": ["webinar", "live_demo"],
    ...                      "at": pd.to_datetime(["2026-03-02", "2026-03-05"]), "detail": [None, None]})
    >>> mql_events(leads, acts, d, until="2026-03-31")[["lead_id", "at", "reason", "trigger"]]
      lead_id         at reason        trigger
    0      L1 2026-03-05    hot  hot_live_demo
    """
    if not isinstance(definition, LeadDefinition):
        raise DefinitionError(f"expected a LeadDefinition, got {type(definition).__name__}; use load_definition()")
    t_end = int(_timestamp(until, definition, "until").value)
    index, rows = _lead_rows(leads, {"activities": activities, "stage_log": stage_log})
    n = len(index)
    if fit_points is None:
        fit = np.zeros((len(definition.fit_rules) + len(definition.bant), n))
        _fit_matrix(leads, definition, fit)
        fit_points = fit.sum(axis=0)
    elif np.shape(fit_points) != (n,):
        raise DataError(f"fit_points has shape {np.shape(fit_points)}; give one number per lead ({n})",
                        where="fit_points")
    acts = _Activities.build(activities, rows.get("activities"), definition)
    rec_lead, rec_t = _recycles(stage_log, rows.get("stage_log"), definition)
    created = np.full(n, _NEVER, np.int64)
    if "created_at" in leads.columns:
        created = _times_ns(leads["created_at"], definition, "leads.created_at", allow_missing=True)
    plan = _MqlPlan.build(definition, acts.act_uniques, acts.det_uniques)
    lead, at, trigger, points = _mql_core(plan, np.asarray(fit_points, float), created, acts, rec_lead, rec_t, t_end)
    triggers = np.asarray([t.id for t in definition.hot_triggers] + [None], dtype=object)
    out = pd.DataFrame(
        {
            "lead_id": pd.array(index.take(lead).to_numpy(dtype=object), dtype="string"),
            "at": at.view("datetime64[ns]"),
            "reason": pd.array(np.where(trigger >= 0, "hot", "score"), dtype="string"),
            "trigger": pd.array(triggers[trigger], dtype="string"),
            "score": points,
        }
    )
    return out.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class _MqlPlan:
    """A definition's behaviour rules and hot triggers as :func:`_mql_core` uses them, on one vocabulary.

    Built once per definition and vocabulary (the text tests of the filters,
    the windows and decay chunks in ns), so a caller scoring a few leads many
    times (the simulation) pays for them once.  Rules run over the behaviour
    rules, then the hot triggers; rules looking at the same activities share
    one *look* (row of ``act_ok``/``det_ok``: which activity and detail codes
    pass, code -1 in the last column).  A rule's window is counted in its
    look's rows up to a *bound* per moment: 0 the cut, 1 the moment, ``2 +
    k`` the moment less ``offsets[k]``; ``queries`` lists the distinct (look,
    bound) pairs and ``lo``/``hi``/``old`` each rule's (``old``: the decay
    chunk's, -1 without decay).
    """

    definition: LeadDefinition
    act_ok: np.ndarray
    det_ok: np.ndarray
    offsets: list[int]  # every window and decay chunk, ascending
    queries: np.ndarray  # (look, bound) pairs
    lo: list[int]
    hi: list[int]
    old: list[int]
    half_life_ns: list[float | None]

    @classmethod
    def build(cls, definition: LeadDefinition, act_uniques: pa.Array, det_uniques: pa.Array) -> _MqlPlan:
        everything = [*definition.behaviour_rules, *definition.hot_triggers]
        window_ns = [None if r.window_days is None else _days_ns(r.window_days) for r in everything]
        half_life = [(r.half_life_days * _DAY_NS if getattr(r, "mode", None) == "each" and r.half_life_days else None)
                     for r in everything]
        offsets = sorted({w for w in window_ns if w is not None} | {_chunk_ns(h) for h in half_life if h})
        looks: dict[tuple, int] = {}
        act_ok, det_ok = [], []
        for r in everything:
            lk = _Looks.of(r, act_uniques, det_uniques)
            if lk.key not in looks:
                looks[lk.key] = len(looks)
                act_ok.append(np.append(np.isin(np.arange(len(act_uniques)), lk.names), False))
                det_ok.append(np.ones(len(det_uniques) + 1, bool) if lk.det_ok is None else lk.det_ok)
        queries: dict[tuple[int, int], int] = {}

        def query(r, bound: int) -> int:
            return queries.setdefault((looks[_rule_key(r)], bound), len(queries))

        lo = [query(r, 0 if w is None else 2 + offsets.index(w)) for r, w in zip(everything, window_ns, strict=True)]
        hi = [query(r, 1) for r in everything]
        old = [-1 if h is None else query(r, 2 + offsets.index(_chunk_ns(h)))
               for r, h in zip(everything, half_life, strict=True)]
        return cls(definition, np.array(act_ok, bool).reshape(len(looks), len(act_uniques) + 1),
                   np.array(det_ok, bool).reshape(len(looks), len(det_uniques) + 1), offsets,
                   np.array(list(queries), np.int64).reshape(-1, 2), lo, hi, old, half_life)


def _mql_core(plan: _MqlPlan, fit_points: np.ndarray, created: np.ndarray, acts: _Activities,
              rec_lead: np.ndarray, rec_t: np.ndarray, t_end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                           np.ndarray]:
    """:func:`mql_events` on coded input: (lead position, time ns, hot-trigger index or -1, score) per event.

    ``acts`` rows of leads ``0..len(fit_points)-1`` in any order, coded in
    the vocabulary ``plan`` was built on; recycles sorted by lead then time;
    ``created`` ns (``_NEVER``: unknown).  Events in (lead, time) order.  For
    callers that keep their data coded (the simulation), so nothing is parsed
    from tables.
    """
    definition = plan.definition
    n = len(fit_points)
    acts = acts.subset(_lead_time_rows(acts, t_end, n))  # rule rows come out sorted by (lead, time)
    keep = rec_t <= t_end
    rec_lead, rec_t = rec_lead[keep], rec_t[keep]
    born = np.flatnonzero((created != _NEVER) & (created <= t_end))
    m_lead, m_t, n_act, n_rec = _moments(born, created, acts, rec_lead, rec_t, n)
    keep = m_t <= t_end  # an activity before a creation after `until` is no moment yet
    m_lead, m_t, n_act, n_rec = m_lead[keep], m_t[keep], n_act[keep], n_rec[keep]
    at = _ActIndex.build(acts.lead, acts.t, n)
    early = np.flatnonzero(m_t < created[m_lead])  # recycles before creation: activities not moved
    n_act[early] = at.count_le(m_lead[early], m_t[early])

    # episode = number of recycles at or before the moment; restart cuts activities before the last one
    episode = n_rec - np.searchsorted(rec_lead, m_lead, side="left")
    m_cut = np.full(len(m_t), _NEVER, np.int64)
    n_cut = at.start[m_lead]  # activities at or before the cut (none: those of the leads before)
    if definition.on_recycle == "restart":
        has = np.flatnonzero(episode > 0)
        last = n_rec[has] - 1
        m_cut[has] = rec_t[last]
        n_cut[has] = at.count_le(rec_lead, rec_t)[last]

    # activities at or before max(cut, moment - offset), per window and decay-chunk offset; a
    # search only where that bound lies after the cut and the lead's first activity
    floor = np.maximum(m_cut, at.first_t[m_lead] - 1)
    bounds = np.empty((2 + len(plan.offsets), len(m_t)), np.int64)  # by bound: see _MqlPlan
    bounds[0], bounds[1] = n_cut, n_act
    for k, off in enumerate(plan.offsets, 2):
        q = m_t - off
        sel = np.flatnonzero(q > floor)
        bounds[k] = n_cut
        bounds[k, sel] = at.count_le(m_lead[sel], q[sel])

    # which rows each look passes, counted up to every row
    hit = plan.act_ok[:, acts.act] & plan.det_ok[:, acts.det]
    prefix = np.zeros((len(hit), len(acts.t) + 1), np.int32 if len(acts.t) < 2**31 else np.int64)
    np.cumsum(hit, axis=1, out=prefix[:, 1:])
    decaying = [j for j, h in enumerate(plan.half_life_ns) if h]
    decayed = _Decayed.prepare(acts.lead, acts.t, [np.flatnonzero(hit[plan.queries[plan.hi[j], 0]]) for j in decaying],
                               [plan.half_life_ns[j] for j in decaying])
    total = np.asarray(fit_points, float)[m_lead]
    hot = np.full(len(m_t), -1, np.int64)
    for a in range(0, len(m_t), _MOMENTS_AT_ONCE):
        sl = slice(a, a + _MOMENTS_AT_ONCE)
        total[sl], hot[sl] = _score_moments(plan, total[sl], prefix, bounds[:, sl], decayed, m_t[sl])

    mql = np.flatnonzero(at_or_over(total, definition.thresholds.mql) | (hot >= 0))
    new = np.ones(len(mql), bool)
    new[1:] = (m_lead[mql][1:] != m_lead[mql][:-1]) | (episode[mql][1:] != episode[mql][:-1])
    ev = mql[new]
    return m_lead[ev], m_t[ev], hot[ev], total[ev]
