"""Scoring's inputs as arrays, and the fit-rule and BANT conditions evaluated on them.

Everything the scoring engine reads passes through here once:

* **times**: :func:`timestamp` reads one moment (``as_of``, ``until``),
  :func:`times_ns` a column, both as naive calendar-local int64 nanoseconds
  (tz-aware times converted to the definition's calendar zone; :data:`NEVER`
  is "no time");
* **leads**: :func:`lead_rows` checks the lead ids (present, unique) and
  turns every other table's ``lead_id`` into row positions in ``leads``;
* **conditions**: :func:`fit_matrix` evaluates the fit and BANT rules
  column-wise (text tests once per *distinct* value, through Arrow kernels,
  then mapped back through integer codes); the semantics are those of
  :mod:`leadsim.scoring`'s docstring;
* **activities**: :class:`Activities` is the activity log as integer arrays,
  and finds the rows a behaviour rule or hot trigger looks at
  (:class:`Looks`: its activity names and detail filter on the log's
  vocabularies);
* **stage log**: :func:`recycles` finds the recycle moves,
  :func:`last_recycle` each lead's last one before a moment.

Bad input raises :class:`SchemaError` (a missing column) or
:class:`DataError` (a bad value) naming the table and column.
"""

from __future__ import annotations

import functools
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

from leadsim.calendar import BusinessCalendar
from leadsim.definition import BehaviourRule, Condition, DetailFilter, HotTrigger, LeadDefinition
from leadsim.errors import DataError, DefinitionError, SchemaError

__all__ = [
    "DAY_NS",
    "NEVER",
    "Activities",
    "Looks",
    "days_ns",
    "fit_matrix",
    "last_recycle",
    "lead_rows",
    "recycles",
    "rule_key",
    "times_ns",
    "timestamp",
]

DAY_NS = 86_400 * 10**9  # a day in ns
NEVER = np.iinfo(np.int64).min  # "no time" (no recycle, no creation)


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


def days_ns(days: float) -> int:
    """A span of days in integer nanoseconds, rounded exactly like ``pd.Timedelta(days=...)``."""
    return int(pd.Timedelta(days=days).value)


def timestamp(value: Any, definition: LeadDefinition, *, what: str) -> pd.Timestamp:
    """One moment (a string or anything ``pd.Timestamp`` reads) as a naive calendar-local ns timestamp.

    ``what`` names the input in the error of an unreadable or missing value.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise DataError(f"cannot read {value!r} as a date/time ({err}); use e.g. '2026-03-31 17:00'", where=what) from None
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(f"{value!r} is not a date/time", where=what)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(definition.calendar.timezone).tz_localize(None)
    return ts.as_unit("ns")


def times_ns(col: pd.Series, definition: LeadDefinition, *, where: str, allow_missing: bool = False) -> np.ndarray:
    """A time column as int64 nanoseconds of naive calendar-local time (NaT -> NEVER)."""
    s = col
    if not pd.api.types.is_datetime64_dtype(s.dtype):  # text or tz-aware: the calendar's one reading rule
        s = BusinessCalendar.from_definition(definition).localize(s, where=where)
    arr = s.to_numpy(dtype="datetime64[ns]").view("i8")
    if not allow_missing:
        bad = np.flatnonzero(arr == NEVER)
        if len(bad):
            raise DataError(
                f"{len(bad)} missing time(s), first at row(s) {bad[:5].tolist()}; every row needs a time",
                where=where,
            )
    return arr


def _arrow_strings(values: pd.Series | pd.Index, *, chunked: bool = False) -> pa.Array | pa.ChunkedArray:
    """Values as an Arrow string array (missing -> null); zero-copy for pyarrow-backed strings.

    ``chunked``: as the chunks they come in (a database's or file reader's batches), not copied into one array.
    """
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        values = values.astype("string[pyarrow]")
    arr = pa.array(values.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) and not chunked else arr


def _codes(col: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(codes, distinct values as Arrow strings) of a column; missing values get code -1."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes, dtype=np.int64), _arrow_strings(col.cat.categories)
    values = _arrow_strings(col, chunked=True)
    # hashing is the cost (plain strings from a database or CSV): one slice a core, then one dictionary
    parts = _per_core(values, pc.dictionary_encode)
    dicts = [_dictionary(p) for p in parts]
    dictionary = dicts[0] if len(parts) == 1 else pc.unique(pa.concat_arrays(dicts))
    codes, start = np.empty(len(values), np.int64), 0
    for part, d in zip(parts, dicts, strict=True):
        remap = None if len(parts) == 1 else np.append(_ints(pc.index_in(d, value_set=dictionary)), -1)
        start = _into(codes, start, part, remap)
    return codes, dictionary


def _dictionary(encoded: pa.DictionaryArray | pa.ChunkedArray) -> pa.Array:
    """The dictionary of ``dictionary_encode``'s result (chunks share the last chunk's, which holds every value)."""
    if isinstance(encoded, pa.ChunkedArray):
        return encoded.chunks[-1].dictionary if encoded.num_chunks else pa.array([], pa.string())
    return encoded.dictionary


def _ints(arr: pa.Array) -> np.ndarray:
    return arr.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _into(out: np.ndarray, start: int, ints: pa.Array | pa.ChunkedArray, remap: np.ndarray | None = None) -> int:
    """Write Arrow integers (dictionary arrays: their indices; null -> -1) into ``out`` from ``start``, through
    ``remap`` (its last slot -1, for null) when given; returns where they end.  One copy, chunk by chunk."""
    for chunk in ints.chunks if isinstance(ints, pa.ChunkedArray) else [ints]:
        if isinstance(chunk, pa.DictionaryArray):
            chunk = chunk.indices
        stop = start + len(chunk)
        raw = (chunk.fill_null(-1) if chunk.null_count else chunk).to_numpy(zero_copy_only=False)
        if remap is None:
            out[start:stop] = raw
        else:
            np.take(remap, raw, out=out[start:stop], mode="wrap")  # -1 (null) -> the last slot; unbuffered
        start = stop
    return start


def _per_core(values: pa.Array | pa.ChunkedArray, fn: Any) -> list[Any]:
    """``fn`` of each of one slice a core of a long array (of the whole array when short or on one core)."""
    if _WORKERS < 2 or len(values) < 4 * _SLICE:
        return [fn(values)]
    step = -(-len(values) // _WORKERS)
    return list(_pool().map(lambda i: fn(values.slice(i, step)), range(0, len(values), step)))


def _bools(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(result.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _take(mask_of_uniques: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Map a mask over distinct values back to rows (code -1, i.e. missing, -> False)."""
    return np.append(np.asarray(mask_of_uniques, dtype=bool), False)[codes]


def lead_rows(leads: pd.DataFrame, tables: dict[str, pd.DataFrame | None]) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """The leads' ids as the result index, and each table's lead_id as row positions in ``leads``.

    One hash table of the ids serves every look-up (and the duplicate check): a
    categorical column's distinct ids are looked up and mapped back by code; a
    plain text column is looked up row by row, one slice a core.
    """
    _require(leads, "leads", ["lead_id"])
    col = leads["lead_id"]
    ids = _arrow_strings(col if pd.api.types.is_string_dtype(col.dtype) else col.astype("str"))
    if ids.null_count:
        rows = np.flatnonzero(_bools(pc.is_null(ids)))[:5].tolist()
        raise DataError(f"missing lead_id at row(s) {rows}; every lead needs an id", where="leads.lead_id")
    n = len(ids)
    first = _positions(ids, ids)
    if not np.array_equal(first, np.arange(n)):
        dup = pc.filter(ids, pa.array(first != np.arange(n))).unique()[:5].to_pylist()
        raise DataError(f"duplicate lead_id(s) {dup}; each lead appears once", where="leads.lead_id")
    out = {}
    for table, df in tables.items():
        if df is None:
            continue
        _require(df, table, ["lead_id"])
        if isinstance(df["lead_id"].dtype, pd.CategoricalDtype):
            codes, uniques = _codes(df["lead_id"])
            rows = np.append(_positions(uniques, ids), -1)[codes]
            bad = rows < 0
            named = uniques.take(pa.array(np.unique(codes[bad & (codes >= 0)])))  # unused categories don't count
        else:
            values = _arrow_strings(df["lead_id"], chunked=True)
            rows = _positions(values, ids)
            bad = rows < 0
            named = pc.drop_null(pc.filter(values, pa.array(bad))).unique() if bad.any() else values[:0]
        if bad.any():
            raise DataError(
                f"{len(named) or 'some'} lead id(s) not in the leads table, e.g. "
                f"{named[:5].to_pylist() or ['<missing>']}; add those leads or drop their rows",
                where=f"{table}.lead_id",
            )
        out[table] = rows
    index = pd.Index(pd.array(ids, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), name="lead_id")
    return index, out


def _positions(values: pa.Array | pa.ChunkedArray, ids: pa.Array) -> np.ndarray:
    """Each value's position in ``ids`` (-1: not there, or missing); long arrays in slices on all cores."""
    values = values.cast(ids.type) if values.type != ids.type else values
    out, start = np.empty(len(values), np.int64), 0
    for part in _per_core(values, lambda part: pc.index_in(part, value_set=ids)):
        start = _into(out, start, part)
    return out


# --------------------------------------------------------------------------- conditions


_SLICE = 250_000


_WORKERS = max(os.cpu_count() or 1, 1)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads for Arrow string kernels (they release the GIL)."""
    return ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="leadsim-scoring")


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


def fit_matrix(leads: pd.DataFrame, definition: LeadDefinition, out: np.ndarray) -> None:
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
class Activities:
    """The activity log as integer arrays: lead row, time (ns), activity and detail codes."""

    lead: np.ndarray
    t: np.ndarray
    act: np.ndarray
    act_uniques: pa.Array
    det: np.ndarray
    det_uniques: pa.Array
    _rows: dict = field(default_factory=dict)

    @classmethod
    def build(cls, activities: pd.DataFrame | None, lead: np.ndarray | None, definition: LeadDefinition) -> Activities:
        if activities is None:
            return cls(*(np.empty(0, np.int64),) * 3, pa.array([], pa.string()), np.empty(0, np.int64), pa.array([], pa.string()))
        _require(activities, "activities", ["lead_id", "activity", "at"])
        t = times_ns(activities["at"], definition, where="activities.at")
        act, act_u = _codes(activities["activity"])
        if "detail" in activities.columns:
            det, det_u = _codes(activities["detail"])
        else:
            det, det_u = np.full(len(activities), -1, np.int64), pa.array([], pa.string())
        return cls(lead, t, act, act_u, det, det_u)

    def subset(self, keep: np.ndarray) -> Activities:
        return Activities(self.lead[keep], self.t[keep], self.act[keep], self.act_uniques, self.det[keep], self.det_uniques)

    @functools.cached_property
    def time_sorted(self) -> bool:
        """Whether rows are in time order (typical of exports): windows are then slices."""
        return bool(np.all(self.t[1:] >= self.t[:-1]))

    def cached(self, rule: BehaviourRule | HotTrigger) -> bool:
        """Whether the rows of ``rule`` (all of them) are cached already."""
        return rule_key(rule) in self._rows

    def matching(self, rule: BehaviourRule | HotTrigger, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Row indices (ascending) of activities a rule or trigger looks at (name and detail filter).

        With ``start``/``stop``, only rows in that range (not cached).
        """
        whole = start == 0 and (stop is None or stop >= len(self.t))
        key = rule_key(rule)
        if whole and key in self._rows:
            return self._rows[key]
        return self.select(Looks.of(rule, self.act_uniques, self.det_uniques), start, stop)

    def select(self, looks: Looks, start: int = 0, stop: int | None = None) -> np.ndarray:
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


def rule_key(rule: BehaviourRule | HotTrigger) -> tuple:
    """Rules with equal keys look at the same activities."""
    return tuple(rule.activities), None if rule.detail is None else rule.detail.model_dump_json()


@dataclass(frozen=True)
class Looks:
    """What a rule or trigger looks at, on one vocabulary: its activity codes and the detail codes it passes."""

    key: tuple
    names: np.ndarray
    det_ok: np.ndarray | None  # by detail code, missing (-1, the last slot) never passes; None: no detail filter

    @classmethod
    def of(cls, rule: BehaviourRule | HotTrigger, act_uniques: pa.Array, det_uniques: pa.Array) -> Looks:
        names = np.flatnonzero(_text_test(act_uniques, "in", rule.activities))
        det_ok = None if rule.detail is None else np.append(_detail_mask(det_uniques, rule.detail), False)
        return cls(rule_key(rule), names, det_ok)


def recycles(stage_log: pd.DataFrame | None, lead: np.ndarray | None, definition: LeadDefinition) -> tuple[np.ndarray, np.ndarray]:
    """(lead position, time) of every recycle move, sorted by lead then time."""
    if stage_log is None or len(stage_log) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    _require(stage_log, "stage_log", ["lead_id", "stage", "at"])
    t = times_ns(stage_log["at"], definition, where="stage_log.at")
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


def last_recycle(rec: tuple[np.ndarray, np.ndarray], n: int, as_of: int) -> np.ndarray:
    """Per lead, the time of the last recycle at or before ``as_of`` (``NEVER`` if none)."""
    lead, t = rec
    cut = np.full(n, NEVER, np.int64)
    sel = t <= as_of
    lead, t = lead[sel], t[sel]
    if len(lead):
        last = np.append(lead[1:] != lead[:-1], True)  # sorted by (lead, t): last row per lead
        cut[lead[last]] = t[last]
    return cut

