"""Stable sorting by several integer keys at once, packed into one int64 when it fits.

``np.lexsort`` sorts by several keys with one pass per key.  When the keys'
ranges multiply to less than 2**63, the keys can instead be packed into one
int64 (each key shifted to start at 0 and divided by the greatest common
divisor of its steps, so nanosecond times on whole seconds take little room)
and sorted with one stable argsort, which is several times faster.  Both give
the same order: the unique stable one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stable_order"]

_FITS = 2**63  # packed values run from 0 to the product of the ranges minus 1


def stable_order(*keys: np.ndarray) -> np.ndarray:
    """Indices that sort rows by ``keys[0]``, then ``keys[1]``, ...; rows equal on every key keep their input order.

    Keys are integer (or bool) arrays of one length, the first key the most
    significant (the reverse of ``np.lexsort``'s argument order): the result
    equals ``np.lexsort(keys[::-1])``.  Times go in as ``datetime64`` viewed
    as ``int64``.  When the keys fit in one int64 they are packed and sorted
    with one stable argsort; otherwise ``np.lexsort`` does it.

    >>> lead = np.array([2, 0, 2, 0, 1])
    >>> t = np.array([30, 20, 10, 20, 5]) * 1_000_000_000      # seconds as nanoseconds
    >>> stable_order(lead, t).tolist()                          # rows 1 and 3 tie: input order kept
    [1, 3, 4, 2, 0]
    >>> stable_order(lead, t).tolist() == np.lexsort((t, lead)).tolist()
    True
    >>> stable_order(np.array([2**62, -(2**62), 0]), np.array([1, 2, 3])).tolist()   # too wide to pack: lexsort
    [1, 2, 0]
    """
    if not keys:
        raise TypeError("stable_order needs at least one key")
    arrays = [np.asarray(k) for k in keys]
    n = len(arrays[0])
    for k in arrays:
        if k.ndim != 1 or len(k) != n:
            raise ValueError(f"keys must be one-dimensional and of one length, got shapes {[a.shape for a in arrays]}")
        if k.dtype.kind not in "iub":
            raise TypeError(f"keys must be integer arrays, got {k.dtype}; view times as int64 first")
    if n == 0:
        return np.arange(0)
    if len(arrays) == 1:
        return np.argsort(arrays[0], kind="stable")
    lows = [int(k.min()) for k in arrays]
    widths = [int(k.max()) - lo for k, lo in zip(arrays, lows, strict=True)]
    units = [1] * len(arrays)
    if _product(w + 1 for w in widths) >= _FITS:  # every factor, and the product, must stay below 2**63
        if any(w >= _FITS for w in widths):  # k - low would not fit in int64
            return np.lexsort(arrays[::-1])
        units = [int(np.gcd.reduce(_shifted(k, lo))) or 1 for k, lo in zip(arrays, lows, strict=True)]
        if _product(w // u + 1 for w, u in zip(widths, units, strict=True)) >= _FITS:
            return np.lexsort(arrays[::-1])
    packed = None
    for k, lo, w, u in zip(arrays, lows, widths, units, strict=True):
        step = _shifted(k, lo)
        if u > 1:
            step //= u
        if packed is None:
            packed = step
        else:
            packed *= w // u + 1
            packed += step
    return np.argsort(packed, kind="stable")


def _shifted(k: np.ndarray, low: int) -> np.ndarray:
    """``k - low`` as int64 (exact: callers know the difference fits)."""
    if k.dtype == np.uint64:
        return (k - np.uint64(low)).astype(np.int64)
    out = k.astype(np.int64)  # a copy: the caller's array is never changed
    out -= low
    return out


def _product(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out
