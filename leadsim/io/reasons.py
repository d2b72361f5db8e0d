"""The reasons of an imported stage log's exits, checked against the definition's vocabulary.

A CRM export writes recycle and disqualify reasons as it likes: a picklist
value (``"Not ready"``), free text, nothing at all.  :func:`check_reasons`
turns the reason of every exit move (see :mod:`leadsim.exits`) into a
vocabulary id and keeps the text as written in ``reason_text``; rows that are
not exits keep their reason untouched.  A text the vocabulary does not know
is never dropped silently:

* ``reasons.on_unknown: other`` (the default): the move is kept with the
  reason ``other`` and a :class:`~leadsim.definition.LeadsimWarning` lists
  the texts and how often each occurs, so they can be added as aliases (or
  recoded under ``values: reason:`` in a column mapping);
* ``reasons.on_unknown: set_aside``: the row is set aside with the reason
  ``unknown recycle reason '...'`` (and with ``--strict`` that is an error);
  the rest of the lead's log is checked again, as for any row set aside.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.io.setaside import SetAside
>>> log = pd.DataFrame({"lead_id": ["A", "A", "A"], "stage": ["name", "lead", "target"],
...                     "at": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-05"]),
...                     "reason": ["import", "score", "Not ready"], "owner": None})
>>> check_reasons(log, load_definition(), SetAside())[["stage", "reason", "reason_text"]].values.tolist()
[['name', 'import', <NA>], ['lead', 'score', <NA>], ['target', 'not_ready', 'Not ready']]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition, LeadsimWarning
from leadsim.definition.reasons import OTHER
from leadsim.exits import exit_moves
from leadsim.io.setaside import SetAside, clean_stage_log, set_aside_rows

__all__ = ["check_reasons"]


def check_reasons(log: pd.DataFrame, definition: LeadDefinition, sa: SetAside, *, where: str = "stage_log",
                  created: pd.Series | None = None) -> pd.DataFrame:
    """``log`` (a cleaned stage log, sorted by lead and time) with exit reasons as vocabulary ids.

    Adds ``reason_text`` (the text as written, on exit rows).  Unknown texts
    follow ``definition.reasons.on_unknown`` (see the module).  ``created``
    is passed on to :func:`~leadsim.io.setaside.clean_stage_log` when rows
    are set aside and the log is checked again.
    """
    log = log.sort_values(["lead_id", "at"], kind="stable").reset_index(drop=True)
    if "reason" not in log.columns:
        log["reason"] = pd.Series(pd.NA, index=log.index, dtype="string")
    m = exit_moves(log[["lead_id", "stage", "at", "reason"]], definition, validated=True)
    rows = m["row"].to_numpy()
    unknown = (m["reason"] == OTHER).to_numpy(dtype=bool)
    if unknown.any() and definition.reasons.on_unknown == "set_aside":
        bad = np.zeros(len(log), bool)
        bad[rows[unknown]] = True
        why = pd.Series("", index=log.index, dtype=object)
        why.iloc[rows[unknown]] = [f"unknown {e} reason '{t}'" for e, t in
                                   zip(m["exit"][unknown], m["reason_text"][unknown], strict=True)]
        kept = set_aside_rows(log, bad, where, why, sa)
        kept = clean_stage_log(kept, definition, sa, created=created, collapse_repeats=False)
        return check_reasons(kept, definition, sa, where=where, created=created)
    if unknown.any():
        counts = m.loc[unknown, "reason_text"].value_counts(sort=False)
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        shown = ", ".join(f"{t!r} ({n})" for t, n in list(counts.items())[:8])
        more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
        warnings.warn(f"{where}: {int(unknown.sum())} exit(s) with a reason the vocabulary does not know: {shown}{more}; "
                      "they count as 'other'; add them as aliases under reasons.vocabulary in the definition, "
                      "recode them under 'values: reason:' in a column mapping, or set reasons.on_unknown: set_aside",
                      LeadsimWarning, stacklevel=2)
    out = log.copy()
    out["reason"] = out["reason"].astype(object)
    out.loc[rows, "reason"] = m["reason"].to_numpy(dtype=object)
    text = pd.Series(pd.NA, index=out.index, dtype="string")
    text.iloc[rows] = m["reason_text"].to_numpy(dtype=object)
    out["reason_text"] = text
    out["reason"] = out["reason"].astype("string")
    return out
