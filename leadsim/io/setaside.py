"""Rows a real history holds that break the funnel, set aside with a reason instead of stopping the run.

A CRM export is messy: a lost deal reopened as a nurture lead (a move the
funnel does not allow), a status the company added itself, a row exported
twice, a change timestamped before the lead existed (a migration in the wrong
time zone), a task on a contact no lead owns.  :class:`SetAside` collects such
rows, one line each with its table, file, line, lead and reason, so that for
every table *kept + set aside = read*.  In strict mode the first one is an
error naming it instead.

:func:`clean_stage_log` applies the funnel's rules to a stage log in time order
per lead (the entry stage, the allowed moves of ``funnel.transitions`` and the
side exits); a row whose move is not allowed is set aside and the lead stays
where it was, so one bad row costs one row, not the lead.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> log = pd.DataFrame({"lead_id": ["A", "A", "A"], "stage": ["opportunity", "lost", "target"],
...                     "at": pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-20"]), "owner": None})
>>> sa = SetAside(strict=False)
>>> kept = clean_stage_log(log, load_definition(), sa)
>>> kept["stage"].tolist(), sa.table()["reason"].tolist()
(['opportunity', 'lost'], ['illegal move Lost → Target'])
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.errors import DataError
from leadsim.io.transforms import PROVENANCE

__all__ = ["COLUMNS", "SetAside", "clean_stage_log", "set_aside_rows"]

#: The set-aside table's columns.
COLUMNS = ("table", "file", "line", "column", "lead_id", "reason")


@dataclass
class SetAside:
    """The rows set aside so far, and whether the first one is an error (``strict``)."""

    strict: bool = False
    rows: list[dict] = field(default_factory=list)

    def add(self, table: str, rows: pd.DataFrame, reason: str | pd.Series) -> None:
        """Set ``rows`` (of ``table``) aside for ``reason`` (one text, or one per row)."""
        if not len(rows):
            return
        reasons = reason.tolist() if isinstance(reason, pd.Series) else [reason] * len(rows)
        prov = {c: rows[c].tolist() if c in rows.columns else [None] * len(rows) for c in PROVENANCE}
        ids = rows["lead_id"].tolist() if "lead_id" in rows.columns else [None] * len(rows)
        new = [{"table": table, "file": f, "line": ln, "column": c, "lead_id": i, "reason": r}
               for f, ln, c, i, r in zip(prov["_file"], prov["_line"], prov["_column"], ids, reasons, strict=True)]
        if self.strict:
            first = new[0]
            where = f"{first['file']}, line {first['line']}" if first["file"] else table
            col = f", column {first['column']!r}" if first["column"] else ""
            lead = f" (lead {first['lead_id']})" if first["lead_id"] is not None else ""
            raise DataError(f"{first['reason']}{lead}{col}; --strict stops at the first row that breaks the funnel "
                            "(leave it out to set such rows aside and go on)", where=where)
        self.rows.extend(new)

    def table(self) -> pd.DataFrame:
        """Every row set aside, in the order found."""
        out = pd.DataFrame(self.rows, columns=list(COLUMNS))
        out["line"] = out["line"].astype("Int64")
        return out

    def count(self, table: str) -> int:
        return sum(1 for r in self.rows if r["table"] == table)

    def reasons(self, table: str) -> Counter:
        """How many rows of ``table`` were set aside for each reason."""
        return Counter(r["reason"] for r in self.rows if r["table"] == table)


def set_aside_rows(df: pd.DataFrame, bad: np.ndarray | pd.Series, table: str, reason: str | pd.Series,
                   sa: SetAside) -> pd.DataFrame:
    """``df`` without the rows ``bad`` marks, which go to ``sa`` for ``reason``."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        why = reason[bad] if isinstance(reason, pd.Series) else reason
        sa.add(table, df[bad], why)
    return df[~bad].reset_index(drop=True)


def clean_stage_log(log: pd.DataFrame, definition: LeadDefinition, sa: SetAside, *,
                    created: pd.Series | None = None, collapse_repeats: bool = True) -> pd.DataFrame:
    """The stage log with every row that breaks the funnel set aside; the kept rows in (lead, time) order.

    In this order: exact repeats of a row (same lead, stage, time and owner,
    from the same file when the rows say which: two sources may well agree);
    rows before the lead's ``created`` time (a Series lead_id -> time); then,
    walking each lead's rows in time order, a first row outside the entry
    stages and every move the funnel does not allow (the lead stays where it
    was; a row marked ``_carried``, which took its stage from the row before it, takes the stage of the lead's
    last kept row instead).  A row in the stage the lead is in already is kept when it names a
    new owner (a re-assignment) and otherwise, with ``collapse_repeats``,
    dropped as no change (it is not set aside: it breaks nothing).
    """
    table = "stage_log"
    log = log.sort_values(["lead_id", "at"], kind="stable").reset_index(drop=True)
    key = log[["lead_id", "stage", "at", *(["_file"] if "_file" in log.columns else [])]].astype(str)
    if "owner" in log.columns:
        key = key.assign(owner=log["owner"].astype("string").fillna(""))
    log = set_aside_rows(log, key.duplicated().to_numpy(), table, "duplicate row", sa)
    if created is not None:
        c = log["lead_id"].map(created)
        early = (log["at"] < c).fillna(False).to_numpy(dtype=bool)
        log = set_aside_rows(log, early, table, "before the lead was created", sa)
    ids = definition.funnel.stage_ids
    code = pd.Categorical(log["stage"], categories=ids).codes.astype(np.int64)
    allowed = np.zeros((len(ids), len(ids)), bool)
    for a, b in definition.funnel.allowed():
        allowed[ids.index(a), ids.index(b)] = True
    entry = np.isin(np.arange(len(ids)), [ids.index(s) for s in definition.funnel.entry])
    lead = log["lead_id"].to_numpy(dtype=object)
    first = np.r_[True, lead[1:] != lead[:-1]] if len(lead) else np.zeros(0, bool)
    prev = np.r_[-1, code[:-1]] if len(code) else code
    ok = np.where(first, entry[code], (prev == code) | allowed[np.maximum(prev, 0), code])
    if not ok.all():  # walk the leads with a bad row: a set-aside row leaves the lead where it was
        bad_leads = set(lead[~ok].tolist())
        carried = log["_carried"].to_numpy(dtype=bool) if "_carried" in log.columns else np.zeros(len(log), bool)
        for i in np.flatnonzero(np.isin(lead, list(bad_leads))):
            if first[i]:
                cur = -1
            if carried[i] and cur >= 0:  # a row that took its stage from the row before: the stage the lead is in
                code[i] = cur
            if cur < 0:
                ok[i] = entry[code[i]]
            else:
                ok[i] = cur == code[i] or allowed[cur, code[i]]
            if ok[i]:
                cur = code[i]
        prev_ok = _previous_kept(code, lead, ok)
        label = [st.label for st in definition.funnel.stages]
        why = pd.Series([f"first row in {label[c]}, not an entry stage" if p < 0 else
                         f"illegal move {label[p]} → {label[c]}" for p, c in zip(prev_ok, code, strict=True)])
        log = set_aside_rows(log.assign(stage=np.asarray(ids, dtype=object)[code]), ~ok, table, why, sa)
    if collapse_repeats and len(log):
        same_lead = log["lead_id"].eq(log["lead_id"].shift())
        repeat = same_lead & log["stage"].eq(log["stage"].shift())
        if "owner" in log.columns:
            new_owner = log["owner"].notna() & log["owner"].ne(log["owner"].shift())
            repeat &= ~new_owner
        log = log[~repeat.to_numpy(dtype=bool)].reset_index(drop=True)
    return log


def _previous_kept(code: np.ndarray, lead: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per row: the stage code of the lead's last kept row before it (-1: none)."""
    out = np.full(len(code), -1, np.int64)
    cur, who = -1, None
    for i in range(len(code)):
        if lead[i] != who:
            cur, who = -1, lead[i]
        out[i] = cur
        if ok[i]:
            cur = code[i]
    return out
