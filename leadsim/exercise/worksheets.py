"""Worksheets of the 100-companies exercise: writing them, the key, and reading the filled ones.

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``)
are neutralised: stored as text with Excel's quote prefix in ``.xlsx``, with a
leading apostrophe in ``.csv``; :func:`read_verdicts` gives back the original
strings exactly.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition.loading import require_definition
from leadsim.display import POINTS_DIGITS, RATE_DIGITS
from leadsim.errors import DataError, InputFileError, SchemaError, VerdictError
from leadsim.exercise.agreement import KEY_COLUMNS, check_key, normalise_verdict
from leadsim.exercise.coding import CODED_COLUMNS, column_header, header_names, parse_choice
from leadsim.exercise.workbook import FORMULA_START
from leadsim.files import check_target, write_atomic

__all__ = [
    "DROPDOWN",
    "read_key",
    "read_verdicts",
    "worksheet_columns",
    "write_exercise",
    "write_key",
    "write_worksheet",
]

#: What the drop-down offers, and the verdict each choice means.
DROPDOWN = {"good lead": "good", "not a lead": "not", "unsure": "unsure"}
#: Column names accepted for the company, the verdict and (in worksheets without coded columns) the reason.
COMPANY_HEADERS = ("company", "firma", "unternehmen", "company name")
VERDICT_HEADERS = ("verdict", "urteil", "bewertung", "your verdict")
REASON_HEADERS = ("reason", "grund", "comment", "kommentar")


# --------------------------------------------------------------------------- worksheets: writing


def _escape(text: str) -> str:
    """Neutralise a CSV cell that a spreadsheet would run as a formula (prefix ``'``).

    A leading apostrophe is doubled too, so :func:`_unescape` restores every
    string exactly.
    """
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith((*FORMULA_START, "'")) else text


def cell_value(v: Any) -> Any:
    """A value as a worksheet cell holds it: missing as None, numpy scalars as Python, timestamps as datetimes.

    >>> cell_value(np.int64(3)), cell_value(float("nan")), cell_value(pd.NA)
    (3, None, None)
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def worksheet_columns(sample: pd.DataFrame) -> list[str]:
    """The sample's columns a reviewer sees: company first, then the facts (no score, no weight)."""
    if "company" not in sample.columns:
        raise SchemaError(f"the sample needs a 'company' column; found {list(sample.columns)}", where="sample")
    facts = [c for c in sample.columns if c not in KEY_COLUMNS and c != "company"]
    return ["company", *facts]


def csv_text(rows: list[list[Any]]) -> str:
    """Rows as CSV text, a text cell that a spreadsheet would run as a formula neutralised with an apostrophe.

    >>> print(csv_text([["company", "n"], ["=cmd|x", 2]]), end="")
    company,n
    '=cmd|x,2
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["" if cell_value(v) is None else _escape(v) if isinstance(v, str) else
                    v.isoformat() if hasattr(v, "isoformat") else v for v in r])
    return buf.getvalue()


def write_worksheet(sample: pd.DataFrame, path: str | os.PathLike[str], *, definition: Any,
                    reviewer: str | None = None, overwrite: bool = False) -> Path:
    """Write one reviewer's worksheet: ``.xlsx`` (drop-downs, protected facts, instructions) or ``.csv``.

    Columns: ``#``, ``company``, the facts (every sample column not in
    :data:`KEY_COLUMNS`, numbers rounded for people: the score, weight and
    definition verdict stay in the key so reviewers are not anchored), then the
    answers: ``stage``, ``verdict``, ``budget``, ``authority``, ``need``,
    ``timeline``, ``reason``, ``confidence`` (coded: see
    :mod:`leadsim.exercise.coding`) and a free ``comment``, headed and offered
    in the ``definition``'s language.  The workbook (:func:`~leadsim.exercise.workbook.write_workbook`)
    offers a drop-down in every coded column, protects every other cell and
    explains the columns on an instructions sheet.  Text cells starting with
    ``= + - @`` are stored as text with Excel's quote prefix, so a company name
    cannot run as a formula; in the CSV they get a leading apostrophe, which
    :func:`read_verdicts` removes.  The sheet is named after ``reviewer``
    (default: the file name).

    >>> import pandas as pd, tempfile, pathlib
    >>> from leadsim import load_definition
    >>> s = pd.DataFrame({"company": ["=cmd|x", "Acme"], "lead_id": ["L1", "L2"], "seniority": ["vp", "manager"]})
    >>> p = write_worksheet(s, pathlib.Path(tempfile.mkdtemp()) / "sales.xlsx", definition=load_definition())
    >>> list(read_verdicts(p, definition=load_definition()).index)
    ['=cmd|x', 'Acme']
    """
    from leadsim.display import for_people
    from leadsim.exercise.workbook import write_workbook

    path = check_target(path, overwrite=overwrite, parents=True)  # before the work; write_atomic checks again
    definition = require_definition(definition, where="write_worksheet")
    cols = worksheet_columns(sample)
    if sample["company"].isna().any():
        raise DataError("the sample has a row without a company name; drop it first", where="sample")
    if sample["company"].duplicated().any():
        dup = sample["company"][sample["company"].duplicated()].iloc[0]
        raise DataError(f"company {dup!r} appears twice in the sample; the worksheet lists each company once",
                         where="sample")
    answers = [*CODED_COLUMNS, "comment"]
    header = ["#", *cols, *(column_header(c, definition) for c in answers)]
    facts = for_people(sample[cols].reset_index(drop=True))
    body = [[i, *(cell_value(v) for v in row), *([None] * len(answers))]
            for i, row in enumerate(facts.itertuples(index=False), 1)]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_atomic(path, csv_text([header, *body]), overwrite=overwrite)
        return path
    if suffix != ".xlsx":
        raise InputFileError(f"unknown worksheet type {path.suffix!r}; use .xlsx or .csv", where=str(path))
    first = 1 + len(cols)
    coded = {c: first + i for i, c in enumerate(CODED_COLUMNS)}
    name = reviewer or path.stem
    write_atomic(path, lambda tmp: write_workbook(tmp, name, header, body, coded, definition,
                                                  inputs=(first + len(CODED_COLUMNS),)), overwrite=overwrite)
    return path


def write_key(sample: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the key (every sample column: lead ids, weights, the definition's verdict and score) as CSV.

    The key is read by people: scores have one decimal, weights three
    (enough for the weighted estimates read back from it).
    """
    path = check_target(path, overwrite=overwrite, parents=True)
    if "company" not in sample.columns:
        raise SchemaError(f"the sample needs a 'company' column; found {list(sample.columns)}", where="sample")
    rounded = {c: pd.to_numeric(sample[c]).round(POINTS_DIGITS) for c in ("score", "fit_score", "behaviour_score")
               if c in sample.columns}
    if "weight" in sample.columns:
        rounded["weight"] = pd.to_numeric(sample["weight"]).round(RATE_DIGITS)
    sample = sample.assign(**rounded)
    cols = ["company", *[c for c in sample.columns if c != "company"]]
    rows = [cols, *[[cell_value(v) for v in r] for r in sample[cols].itertuples(index=False)]]
    write_atomic(path, csv_text(rows), overwrite=overwrite)
    return path


def write_exercise(sample: pd.DataFrame, out_dir: str | os.PathLike[str], *,
                   definition: Any, reviewers: Iterable[str] = ("marketing", "sales"),
                   csv_copies: bool = True, force: bool = False) -> dict[str, Path]:
    """Write ``<reviewer>.xlsx`` (and ``.csv``) per reviewer and ``key.csv`` into ``out_dir``.

    Any number of reviewers (a head of SDRs may join the two heads).  A
    non-empty ``out_dir`` is refused unless ``force`` (then files are replaced).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError("is a file; give a folder for the worksheets", where=str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputFileError("folder exists and is not empty; choose another one or pass force=True (--force)",
                             where=str(out))
    paths: dict[str, Path] = {}
    for r in reviewers:
        paths[r] = write_worksheet(sample, out / f"{r}.xlsx", reviewer=r, definition=definition, overwrite=force)
        if csv_copies:
            paths[f"{r}_csv"] = write_worksheet(sample, out / f"{r}.csv", reviewer=r, definition=definition,
                                                overwrite=force)
    paths["key"] = write_key(sample, out / "key.csv", overwrite=force)
    return paths


# --------------------------------------------------------------------------- worksheets: reading


def _find_header(rows: list[list[Any]], names: tuple[str, ...]) -> int | None:
    for i, r in enumerate(rows[:10]):
        if any(_header(v) in names for v in r):
            return i
    return None


def _header(v: Any) -> str:
    return " ".join(str(v).split()).casefold() if v is not None else ""


def read_rows(path: Path) -> tuple[str, list[list[Any]], list[int], list[str]]:
    """(sheet name, rows, spreadsheet row numbers, all sheet names) of a worksheet (.xlsx or .csv).

    >>> import tempfile, pathlib
    >>> from leadsim import load_definition
    >>> p = write_worksheet(pd.DataFrame({"company": ["Acme"]}), pathlib.Path(tempfile.mkdtemp()) / "s.csv",
    ...                     definition=load_definition())
    >>> read_rows(p)[1][1][:3]
    ['1', 'Acme', '']
    """
    if not path.exists():
        raise InputFileError("no such file; check the path", where=str(path))
    if path.is_dir():
        raise InputFileError("is a folder; give the filled worksheet (.xlsx or .csv)", where=str(path))
    if path.stat().st_size == 0:
        raise VerdictError("the file is empty; give the filled worksheet", where=str(path))
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            text = path.read_text(encoding="cp1252")
        if not text.strip():
            raise VerdictError("the file is empty; give the filled worksheet", where=str(path))
        first = text.splitlines()[0]
        delim = max([",", ";", "\t"], key=first.count)
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        rows, numbers = [], []
        for r in reader:
            rows.append([_unescape(v) for v in r])
            numbers.append(reader.line_num)
        return path.stem, rows, numbers, [path.stem]
    if suffix not in (".xlsx", ".xlsm"):
        raise InputFileError(f"unknown worksheet type {path.suffix!r}; give .xlsx or .csv", where=str(path))
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True)
    except Exception as err:  # zip/xml errors: not a workbook
        raise InputFileError(f"cannot be read as an Excel workbook ({type(err).__name__}: {err})",
                             where=str(path)) from None
    chosen = None
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if _find_header(rows, COMPANY_HEADERS) is not None:
            chosen = ws, rows
            break
    if chosen is None:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if not any(v not in (None, "") for r in rows for v in r):
            raise VerdictError("the workbook is empty; give the filled worksheet", where=f"{path}, sheet {ws.title!r}")
        found = [str(v) for v in (rows[0] if rows else []) if v not in (None, "")]
        raise VerdictError(f"no sheet has a 'company' column (sheets {wb.sheetnames}; first row of "
                           f"{ws.title!r}: {found}); restore the column header 'company'", where=str(path))
    ws, rows = chosen
    return ws.title, rows, list(range(1, len(rows) + 1)), list(wb.sheetnames)


def _coded_positions(header: list[str]) -> dict[str, int]:
    """Where each coded column (other than the verdict) and the comment sit, by English or German header."""
    out: dict[str, int] = {}
    for column in (*CODED_COLUMNS, "comment"):
        if column == "verdict":
            continue
        names = header_names(column)
        pos = next((i for i, v in enumerate(header) if v in names), None)
        if pos is not None:
            out[column] = pos
    return out


def read_verdicts(path: str | os.PathLike[str], *, definition: Any,
                  key: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read a filled worksheet (``.xlsx`` or ``.csv``) as verdicts indexed by company.

    Returns a DataFrame in worksheet order with the normalised ``verdict``
    (good / not / unsure / None for blank), the coded answers as codes
    (``stage`` one of :data:`~leadsim.exercise.coding.STAGES`; ``budget``,
    ``authority``, ``need``, ``timeline`` yes / no / unknown; ``reason`` a
    reason id of the ``definition``; ``confidence`` low / medium / high; None
    for blank), the free ``comment``, the spreadsheet ``row`` and every other
    column as written (the facts).  ``attrs`` holds ``reviewer`` (the sheet or
    file name), ``missing`` (companies without a verdict), ``duplicates``,
    and with a ``key`` also ``unknown`` (companies not in the sample) and
    ``not_reviewed``.  Entries are read in English or in the definition's
    language.

    A worksheet written before the coded columns existed (only ``verdict``
    and a free ``reason``) is still read: its reason stays text.

    Raises :class:`~leadsim.errors.VerdictError` with one line naming sheet,
    row, column and value for: an empty file, a renamed or missing column, a
    value outside a drop-down's list, a company listed twice, a company of the
    ``key`` missing from the sheet, a verdict without a company.
    """
    definition = require_definition(definition, where="read_verdicts")
    path = Path(path)
    sheet, rows, numbers, _ = read_rows(path)
    where = f"{path.name}, sheet {sheet!r}"
    h = _find_header(rows, COMPANY_HEADERS)
    if h is None:
        found = [str(v) for v in (rows[0] if rows else []) if v not in (None, "")]
        if not found:
            raise VerdictError("the sheet is empty; give the filled worksheet", where=where)
        raise VerdictError(f"no 'company' column; columns found: {found}; restore the header 'company'", where=where)
    header = [_header(v) for v in rows[h]]
    names = [str(v).strip() if v is not None else "" for v in rows[h]]
    ci = next(i for i, v in enumerate(header) if v in COMPANY_HEADERS)
    vi = next((i for i, v in enumerate(header) if v in VERDICT_HEADERS), None)
    if vi is None:
        raise VerdictError(f"no 'verdict' column; columns found: {[n for n in names if n]}; "
                           "rename the verdict column back to 'verdict'", where=where)
    coded = _coded_positions(header)
    strict = any(c in coded for c in CODED_COLUMNS if c not in ("verdict", "reason"))
    if strict:
        lost = [c for c in CODED_COLUMNS if c != "verdict" and c not in coded]
        if lost:
            raise VerdictError(f"no {column_header(lost[0], definition)!r} column; columns found: "
                               f"{[n for n in names if n]}; rename it back to "
                               f"{column_header(lost[0], definition)!r}", where=where)
        ri = coded["reason"]
    else:
        ri = next((i for i, v in enumerate(header) if v in REASON_HEADERS), None)
    skip = {ci, vi, ri, *coded.values()}
    others = [(i, n) for i, n in enumerate(names) if i not in skip and n and n != "#"]
    records, seen = [], {}
    duplicates = []
    for r, number in zip(rows[h + 1:], numbers[h + 1:], strict=True):
        r = list(r) + [None] * (len(names) - len(r))
        company, raw = r[ci], r[vi]
        if company is not None and not isinstance(company, str):
            company = str(company)
        if company is None or company == "":
            if raw not in (None, "") and str(raw).strip():
                raise VerdictError(f"row {number} has the verdict {raw!r} but no company; fill in the company "
                                   "or clear the verdict", where=where)
            continue
        verdict = normalise_verdict(raw, where=f"{where}, row {number}, column 'verdict'")
        rec = {"company": company, "verdict": verdict, "verdict_raw": raw, "row": number}
        if strict:
            for column, pos in coded.items():
                rec[column] = (r[pos] if column == "comment" else parse_choice(
                    column, r[pos], definition, where=f"{where}, row {number}, column {names[pos]!r}"))
        else:
            rec["reason"] = r[ri] if ri is not None else None
        if company in seen:
            prev = records[seen[company]]
            if strict:
                raise VerdictError(f"company {company!r} is listed twice (rows {prev['row']} and {number}); "
                                   "keep one row per company", where=where)
            if verdict is not None and prev["verdict"] is not None and verdict != prev["verdict"]:
                raise VerdictError(
                    f"company {company!r} is listed twice with different verdicts: row {prev['row']} says "
                    f"{prev['verdict_raw']!r}, row {number} says {raw!r}; keep one row", where=where)
            if prev["verdict"] is None and verdict is not None:
                prev.update(verdict=verdict, verdict_raw=raw, reason=rec["reason"])
            duplicates.append(company)
            continue
        seen[company] = len(records)
        for i, n in others:
            rec[n] = r[i]
        records.append(rec)
    if not records:
        raise VerdictError("the sheet lists no companies below the header; give the filled worksheet", where=where)
    df = pd.DataFrame(records, dtype=object).set_index("company")
    df.index = pd.Index(df.index, dtype=object, name="company")
    for _, n in others:
        df[n] = _typed(df[n])
    missing = [c for c, v in df["verdict"].items() if v is None]
    df.attrs.update(reviewer=sheet if path.suffix.lower() == ".xlsx" else path.stem, path=str(path),
                    missing=missing, duplicates=sorted(set(duplicates)))
    if key is not None:
        k = check_key(key)
        df.attrs["unknown"] = [c for c in df.index if c not in k.index]
        df.attrs["not_reviewed"] = [c for c in k.index if c not in df.index]
        if strict and df.attrs["not_reviewed"]:
            gone = df.attrs["not_reviewed"]
            raise VerdictError(f"company {gone[0]!r} of the key is not on the sheet"
                               f"{f' (nor {len(gone) - 1} more)' if len(gone) > 1 else ''}; restore its row "
                               "(the key lists every company of the sample)", where=where)
        if df.attrs["unknown"]:
            warnings.warn(f"{where}: {len(df.attrs['unknown'])} compan(ies) not in the sample: "
                          f"{df.attrs['unknown'][:5]}", stacklevel=2)
    return df


def _typed(s: pd.Series) -> pd.Series:
    """Numbers become a numeric column (NaN for blanks), also when read as text from a CSV;
    "true"/"false" become booleans; anything else stays as read, with None for blanks."""
    blank = s.map(lambda v: v is None or v == "" or (isinstance(v, float) and math.isnan(v))).astype(bool)
    vals = [v for v, b in zip(s, blank, strict=True) if not b]
    obj = pd.Series([None if b else v for v, b in zip(s, blank, strict=True)], index=s.index, dtype=object)
    if not vals:
        return obj
    if all(isinstance(v, bool | np.bool_) for v in vals) or (
            all(isinstance(v, str) for v in vals) and {v.casefold() for v in vals} <= {"true", "false"}):
        return obj.map(lambda v: v if v is None or isinstance(v, bool | np.bool_) else v.casefold() == "true")
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in vals) or all(
            isinstance(v, str) for v in vals):
        num = pd.to_numeric(obj, errors="coerce")
        if int(num.notna().sum()) == len(vals):
            return num
    return obj


def read_key(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a key written by :func:`write_key`, indexed by company, numbers as numbers."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("no such key file; it is written beside the worksheets as key.csv", where=str(path))
    _, rows, _, _ = read_rows(path)
    if not rows or "company" not in rows[0]:
        raise VerdictError(f"a key needs a 'company' column; found {rows[0] if rows else []}", where=str(path))
    header = rows[0]
    df = pd.DataFrame([r + [""] * (len(header) - len(r)) for r in rows[1:]], columns=header, dtype=object)
    for c in header:
        if c not in ("company", "lead_id", "drivers", "definition_verdict"):
            df[c] = _typed(df[c])
        else:
            df[c] = df[c].map(lambda v: None if v == "" else v).astype(object)
    if "last_activity" in df.columns:
        df["last_activity"] = pd.to_datetime(df["last_activity"], errors="coerce")
    df = df.set_index("company")
    df.index = pd.Index(df.index, dtype=object, name="company")
    return check_key(df)


