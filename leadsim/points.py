"""Points: how leadsim compares them with bounds and orders what people read.

Scores are sums of floats (decayed behaviour points, BANT, fit).  The same
sum can differ in its last bits from one machine to the next: numpy adds in
a different order when the CPU has wider vector instructions.  A lead that
has exactly 100 points on paper may hold 99.99999999999999 on one machine and
100.00000000000001 on another.  So that a lead never flips between MQL and
not (or between grades, stars, flames or sampling bands) from one machine to
the next, every comparison of points against a bound uses
:data:`POINTS_TOLERANCE`:

* ``at_or_over(x, bound)`` is ``x >= bound - POINTS_TOLERANCE``: a score
  within a millionth of a point of the threshold reaches it;
* ``over(x, bound)`` is ``x > bound + POINTS_TOLERANCE``: a score must pass
  the bound by more than a millionth of a point.

Orders that a person reads (the drivers of a score, the top leads, tables in
reports) come from :func:`sort_table`: a stable sort on the points rounded to
:data:`POINTS_DECIMALS` decimals, then an explicit tie-breaker (a rule id, a
lead id), so equal points always come out in the same order.

>>> at_or_over([99.99999999999999, 99.9], 100)
array([ True, False])
>>> over([40.0000000001, 41.0], 40)
array([False,  True])
>>> t = pd.DataFrame({"lead_id": ["L2", "L1", "L3"], "score": [100.00000000000001, 99.99999999999999, 5.0]})
>>> sort_table(t, "score", ascending=False, ties="lead_id")["lead_id"].tolist()
['L1', 'L2', 'L3']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["POINTS_DECIMALS", "POINTS_TOLERANCE", "at_or_over", "over", "points_key", "sort_table"]

POINTS_TOLERANCE = 1e-6
"""Points closer than this to a bound count as on the bound (see the module docstring)."""

POINTS_DECIMALS = 6
"""Decimals kept of a score when it decides an order: far coarser than float noise, far finer than any rule."""


def at_or_over(x: Any, bound: Any) -> np.ndarray:
    """``x >= bound``, with points within :data:`POINTS_TOLERANCE` below ``bound`` counted as on it."""
    return np.asarray(x, dtype=float) >= np.asarray(bound, dtype=float) - POINTS_TOLERANCE


def over(x: Any, bound: Any) -> np.ndarray:
    """``x > bound``, by more than :data:`POINTS_TOLERANCE`."""
    return np.asarray(x, dtype=float) > np.asarray(bound, dtype=float) + POINTS_TOLERANCE


def points_key(x: Any) -> Any:
    """Points rounded to :data:`POINTS_DECIMALS`, for sorting: float noise no longer decides an order.

    ``-0.0`` becomes ``0.0``, so a rounded tiny negative sorts with the zeros.
    """
    if isinstance(x, pd.Series):
        return x.astype(float).round(POINTS_DECIMALS) + 0.0
    return np.round(np.asarray(x, dtype=float), POINTS_DECIMALS) + 0.0


def sort_table(
    table: pd.DataFrame | pd.Series,
    by: str | Sequence[str] | None = None,
    *,
    ascending: bool | Sequence[bool] = True,
    ties: str | Sequence[str] = "index",
) -> Any:
    """``table`` sorted stably by ``by``, then by ``ties`` (ascending); float keys compared as rounded points.

    ``by`` names columns of a DataFrame (a Series is sorted by its values).
    ``ties`` names the columns, or index levels, that order equal keys;
    ``"index"`` (the default) is the whole index.  Float keys are rounded with
    :func:`points_key` first, so float noise never decides an order.
    """
    if isinstance(table, pd.Series):
        keys = [table.to_numpy()]
    else:
        keys = [_column(table, c) for c in ([by] if isinstance(by, str) else list(by or []))]
    asc = [ascending] * len(keys) if isinstance(ascending, bool) else list(ascending)
    if len(asc) != len(keys):
        raise ValueError(f"ascending has {len(asc)} entries for {len(keys)} sort keys")
    tie_keys = [_column(table, t) for t in ([ties] if isinstance(ties, str) else list(ties))]
    frame = pd.DataFrame(
        {f"k{i}": points_key(k) if k.dtype.kind == "f" else k for i, k in enumerate([*keys, *tie_keys])},
        index=pd.RangeIndex(len(table)),
    )
    flags = [*asc, *([True] * len(tie_keys))]
    order = frame.sort_values(list(frame.columns), ascending=flags, kind="stable", na_position="last").index
    return table.iloc[order.to_numpy()]


def _column(table: pd.DataFrame | pd.Series, name: str) -> np.ndarray:
    if name == "index":
        return table.index.to_numpy() if table.index.nlevels == 1 else np.arange(len(table))
    if isinstance(table, pd.DataFrame) and name in table.columns:
        return table[name].to_numpy()
    return table.index.get_level_values(name).to_numpy()
