"""Numbers rounded for people: the one formatter behind worksheets, reports, CSV for reading and the console.

What a person reads shows no float noise: ``74.72242477757777`` is a score of
``74.7``, a count of ``5500.0`` is ``5,500``, a breach rate is ``0.077``.
Parquet files and ``--json`` output that programs read back keep full
precision; this module is only for what people read.

Rules, value by value:

* a whole number prints as an integer (a column of whole numbers, with gaps,
  becomes a nullable integer column);
* a score or points (columns named in :data:`POINTS_COLUMNS`, or whose name
  holds ``score`` or ``points``) has :data:`POINTS_DIGITS` decimal;
* any other number below 1 in size (rates, shares, kappas, probabilities)
  has :data:`RATE_DIGITS` decimals, a larger one :data:`OTHER_DIGITS`.

>>> t = pd.DataFrame({"lead_id": ["L1", "L2"], "score": [74.72242477757777, 100.0],
...                   "breach_rate": [0.0771234, 0.5], "leads": [5500.0, float("nan")],
...                   "median_days": [3.456, 12.0]})
>>> for_people(t)
  lead_id  score  breach_rate  leads  median_days
0      L1   74.7        0.077   5500          3.5
1      L2  100.0        0.500   <NA>         12.0
>>> for_people({"kappa": 0.41234, "n": 98.0, "rows": [1.23456, 0.00049]})
{'kappa': 0.412, 'n': 98, 'rows': [1.2, 0.0]}
>>> number_text(5500.0), number_text(0.07712), number_text(74.722, points=True)
('5,500', '0.077', '74.7')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MISSING", "OTHER_DIGITS", "POINTS_COLUMNS", "POINTS_DIGITS", "RATE_DIGITS", "for_people", "localised_number",
           "localised_numbers", "number_text"]

POINTS_DIGITS = 1
RATE_DIGITS = 3
OTHER_DIGITS = 1
POINTS_COLUMNS = frozenset({"score", "fit_score", "behaviour_score", "points", "lower bound", "threshold", "mql"})
#: How a message shows a value that is missing.
MISSING = "–"
#: Languages that write a decimal comma.
_COMMA_LANGS = ("de", "fr", "es", "it", "nl", "pt", "da", "sv", "no", "nb", "fi", "pl", "cs")


def _is_points(name: Any) -> bool:
    text = str(name).lower()
    return text in POINTS_COLUMNS or "score" in text or "points" in text


def _round(x: float, points: bool) -> float | int:
    if not math.isfinite(x):
        return x
    if float(x).is_integer():
        return int(x)
    if points:
        return round(x, POINTS_DIGITS)
    return round(x, RATE_DIGITS if abs(x) < 1 else OTHER_DIGITS)


def _column(values: pd.Series, points: bool) -> pd.Series:
    x = values.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    if finite.any() and np.all(np.equal(np.mod(x[finite], 1), 0)) and np.all(np.abs(x[finite]) < 2**53):
        if np.isnan(x).any() and not np.isinf(x).any():
            return values.astype("Int64")
        if finite.all():
            return values.astype(np.int64)
    if points:
        return values.round(POINTS_DIGITS)
    digits = np.where(np.abs(x) < 1, RATE_DIGITS, OTHER_DIGITS)
    return pd.Series([v if not math.isfinite(v) else round(v, int(d)) for v, d in zip(x, digits, strict=True)],
                     index=values.index, name=values.name, dtype=float)


def for_people(obj: Any, *, points: bool = False) -> Any:
    """``obj`` (a table, a series, a dict, a list or a number) with its numbers rounded for people.

    Text, dates and booleans pass unchanged; a table's float columns are
    rounded by the module's rules.  ``points=True`` treats bare numbers and
    unnamed series as points.
    """
    if isinstance(obj, pd.DataFrame):
        out = obj.copy()
        for col in out.columns:
            if pd.api.types.is_float_dtype(out[col].dtype):
                out[col] = _column(out[col], points or _is_points(col))
        return out
    if isinstance(obj, pd.Series):
        if not pd.api.types.is_float_dtype(obj.dtype):
            return obj
        return _column(obj, points or (obj.name is not None and _is_points(obj.name)))
    if isinstance(obj, dict):
        return {k: for_people(v, points=points or _is_points(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(for_people(v, points=points) for v in obj)
    if isinstance(obj, float | np.floating) and not isinstance(obj, bool):
        return _round(float(obj), points)
    return obj


def number_text(x: Any, *, points: bool = False) -> str:
    """One number as a person reads it: thousands separated, rounded by the module's rules, blank when missing."""
    if x is None or x is pd.NA or (isinstance(x, float | np.floating) and math.isnan(x)):
        return ""
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    v = _round(float(x), points)
    if isinstance(v, int):
        return f"{v:,}"
    digits = POINTS_DIGITS if points else (RATE_DIGITS if abs(v) < 1 else OTHER_DIGITS)
    return f"{v:,.{digits}f}"


def localised_numbers(x: pd.Series, language: str, decimals: int = 1) -> pd.Series:
    """Numbers as short text for messages in ``language``: whole numbers without decimals, else ``decimals``
    places, a decimal comma in German, French, ...; missing values as :data:`MISSING`.

    >>> localised_numbers(pd.Series([1.5, 2.0, None], dtype="float64"), "de").tolist()
    ['1,5', '2', '–']
    """
    r = x.round(decimals)
    whole = r % 1 == 0
    txt = pd.Series(np.where(whole, r.round(0).astype("Int64").astype("string"), r.astype("string")),
                    index=x.index, dtype="string")
    if language.split("-")[0].lower() in _COMMA_LANGS:
        txt = txt.str.replace(".", ",", regex=False)
    return txt.fillna(MISSING)


def localised_number(x: float, language: str, decimals: int = 1) -> str:
    """One number as :func:`localised_numbers` writes it."""
    return str(localised_numbers(pd.Series([x], dtype="float64"), language, decimals).iloc[0])
