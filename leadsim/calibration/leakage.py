"""The leakage guard: columns that know the outcome are left out of calibration, with the reason.

A column leaks when it is filled in after the hand-off, or when it behaves
like the outcome itself.  :func:`leakage_screen` flags, for each column it
is given:

* ``recorded after the hand-off``: an attribute the definition declares with
  ``recorded: after_handoff``;
* ``protected attribute``: declared ``protected: true`` (never scored without
  an explicit opt-in);
* ``status-like name``: a word of the name is one of :data:`STATUS_WORDS`
  (``Lead Status``, ``converted``, ``Tags`` ...): such fields are usually
  set by sales while working the lead;
* ``near-perfect separation``: the column alone ranks the outcomes with an
  out-of-fold ROC AUC of at least ``separation`` (0.90): no honest lead
  property predicts sales feedback that well.

Every flagged column is left out unless the user names it in ``include``
(then it is kept, listed with ``action`` "kept: you opted in").

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> y = rng.random(500) < 0.3
>>> t = pd.DataFrame({"visits": rng.poisson(3, 500), "Lead Status": np.where(y, "Qualified", "Open"),
...                   "score_after_call": y * 10 + rng.normal(0, 1, 500)})
>>> leakage_screen(t, y, None)[["column", "reason", "action"]].to_dict("records")   # doctest: +NORMALIZE_WHITESPACE
[{'column': 'Lead Status', 'reason': 'status-like name; near-perfect separation (AUC 1.00)', 'action': 'left out'},
 {'column': 'score_after_call', 'reason': 'near-perfect separation (AUC 1.00)', 'action': 'left out'}]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition

__all__ = ["STATUS_WORDS", "leakage_screen", "left_out"]

#: Words of a column name that mark a field sales sets while working a lead.
STATUS_WORDS = frozenset({
    "status", "stage", "converted", "conversion", "won", "lost", "closed", "outcome", "disposition", "qualified",
    "disqualified", "sql", "opportunity", "deal", "tag", "tags", "quality", "result", "reason",
})
COLUMNS = ["column", "reason", "auc", "action"]


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def _separation(values: pd.Series, y: np.ndarray, seed: int) -> float:
    """Out-of-fold ROC AUC of the column alone (numbers as they are; categories by their fold-out SQL rate)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if len(np.unique(y)) < 2:
        return np.nan
    num = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else values.astype(float)
    if num.notna().sum() >= 0.9 * values.notna().sum() and values.notna().any():
        x = num.to_numpy(dtype=float, na_value=np.nan)
        x = np.where(np.isnan(x), np.nanmin(x) - 1 if (~np.isnan(x)).any() else 0.0, x)
        auc = roc_auc_score(y, x)
        return float(max(auc, 1 - auc))
    codes, _ = pd.factorize(values.astype("string"), use_na_sentinel=False)  # missing is a level of its own
    enc = np.full(len(y), float(y.mean()))
    n_splits = min(5, int(min(y.sum(), (~y).sum())))
    if n_splits < 2:
        return np.nan
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    k = int(codes.max()) + 1
    for tr, te in folds.split(codes, y):
        hits = np.bincount(codes[tr], weights=y[tr].astype(float), minlength=k)
        seen = np.bincount(codes[tr], minlength=k)
        prior = float(y[tr].mean())
        enc[te] = ((hits + prior * 5) / (seen + 5))[codes[te]]  # a level unseen in training gets the prior
    auc = roc_auc_score(y, enc)
    return float(max(auc, 1 - auc))


def leakage_screen(table: pd.DataFrame, y, definition: LeadDefinition | None, *,
                   columns: Sequence[str] | None = None, include: Sequence[str] = (), separation: float = 0.90,
                   seed: int = 0) -> pd.DataFrame:
    """One row per flagged column: ``column``, ``reason``, ``auc`` (alone, out of fold) and ``action``.

    ``table`` holds one row per labelled example (``y``: true/false);
    ``columns`` (default: all) are screened; ``definition`` supplies the
    ``recorded`` and ``protected`` flags of declared attributes.  Columns in
    ``include`` are kept although flagged.
    """
    yb = np.asarray(y, dtype=bool)
    attrs = {a.name: a for a in definition.attributes} if definition is not None else {}
    rows = []
    for c in (list(table.columns) if columns is None else list(columns)):
        reasons = []
        a = attrs.get(c)
        if a is not None and a.recorded == "after_handoff":
            reasons.append("recorded after the hand-off")
        if a is not None and a.protected:
            reasons.append("protected attribute")
        if _words(c) & STATUS_WORDS:
            reasons.append("status-like name")
        auc = _separation(table[c], yb, seed) if table[c].notna().any() else np.nan
        if auc >= separation:
            reasons.append(f"near-perfect separation (AUC {auc:.2f})")
        if reasons:
            rows.append({"column": c, "reason": "; ".join(reasons), "auc": auc,
                         "action": "kept: you opted in" if c in include else "left out"})
    return pd.DataFrame(rows, columns=COLUMNS)


def left_out(screen: pd.DataFrame) -> set[str]:
    """The columns a :func:`leakage_screen` table leaves out."""
    return set(screen.loc[screen["action"] == "left out", "column"])
