"""The Excel workbook of one head: the companies sheet with drop-downs and protection, the lists, the instructions.

:func:`write_workbook` is called by :func:`~leadsim.exercise.worksheets.write_worksheet`:

* every coded column (:data:`~leadsim.exercise.coding.CODED_COLUMNS`) offers a
  drop-down whose entries live on a hidden, protected ``lists`` sheet (so long
  lists such as the reasons fit), in the definition's language;
* the sheet is protected: only the answer columns can be typed into, the
  facts and the company names cannot (no password: a head who must can lift
  it, but nobody overwrites a fact by accident);
* text is never a formula: a cell starting with ``= + - @`` is stored as
  text with Excel's quote prefix;
* an instructions sheet explains each column in the definition's language.

>>> import tempfile, pathlib
>>> from leadsim import load_definition
>>> p = pathlib.Path(tempfile.mkdtemp()) / "sales.xlsx"
>>> write_workbook(p, "sales", ["#", "company", "stage"], [[1, "Acme", None]], {"stage": 2}, load_definition())
>>> from openpyxl import load_workbook
>>> wb = load_workbook(p)
>>> wb.sheetnames, wb["sales"].protection.sheet, wb["lists"].sheet_state
(['sales', 'lists', 'how to'], True, 'hidden')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from leadsim.exercise.coding import BANT, choices

__all__ = ["FORMULA_START", "instructions", "write_workbook"]

#: Text that a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_TEXT = {
    "en": {
        "title": "The 100-companies exercise",
        "sheet": "how to",
        "intro": "Play each company through the qualification process as you would if it called today, from the "
                 "facts shown. Do not look up scores. Choose from the drop-down in every yellow column; the grey "
                 "columns are facts and are protected.",
        "stage": "stage: how far you would take the company: {choices}.",
        "verdict": "verdict: {choices} (also accepted: yes/no/?; leave it empty if you did not look at it).",
        "bant": "budget, authority, need, timeline: what you know of each: {choices}.",
        "reason": "reason: only when it is not a fit (or not yet): {choices}.",
        "confidence": "confidence: how sure you are: {choices}.",
        "comment": "comment: anything else, in a few words (free text).",
        "rules": "Do not rename the columns, and do not add, remove or repeat companies.",
    },
    "de": {
        "title": "Die 100-Firmen-Übung",
        "sheet": "Anleitung",
        "intro": "Spielen Sie jede Firma durch den Qualifizierungsprozess, als riefe sie heute an, anhand der "
                 "gezeigten Fakten. Schlagen Sie keine Scores nach. Wählen Sie in jeder gelben Spalte aus der "
                 "Liste; die grauen Spalten sind Fakten und geschützt.",
        "stage": "Stufe: wie weit Sie die Firma bringen würden: {choices}.",
        "verdict": "Urteil: {choices} (auch: ja/nein/?; leer lassen, wenn Sie die Firma nicht angesehen haben).",
        "bant": "Budget, Entscheider, Bedarf, Zeitrahmen: was Sie jeweils wissen: {choices}.",
        "reason": "Grund: nur wenn die Firma (noch) nicht passt: {choices}.",
        "confidence": "Sicherheit: wie sicher Sie sind: {choices}.",
        "comment": "Kommentar: alles Weitere in wenigen Worten (freier Text).",
        "rules": "Benennen Sie keine Spalten um und fügen Sie keine Firmen hinzu, löschen oder wiederholen Sie keine.",
    },
}


def _lang(definition: Any) -> str:
    lang = str(getattr(definition, "language", "en") or "en").split("-")[0].lower()
    return lang if lang in _TEXT else "en"


def instructions(definition: Any) -> list[str]:
    """The lines of the instructions sheet, in the definition's language."""
    t = _TEXT[_lang(definition)]

    def listed(column: str) -> str:
        return " / ".join(choices(column, definition))

    return [t["title"], t["intro"], t["stage"].format(choices=listed("stage")),
            t["verdict"].format(choices=listed("verdict")), t["bant"].format(choices=listed(BANT[0])),
            t["reason"].format(choices=listed("reason")), t["confidence"].format(choices=listed("confidence")),
            t["comment"], t["rules"]]


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    c = ws.cell(row=row, column=column)
    c.value = value
    if isinstance(value, str):
        c.data_type = "s"  # never a formula, whatever the text starts with
        if value.startswith((*FORMULA_START, "'")):
            c.quotePrefix = True
    return c


def write_workbook(target: Path, sheet: str, header: list[str], body: list[list[Any]], coded: dict[str, int],
                   definition: Any, *, inputs: tuple[int, ...] = ()) -> None:
    """Write the workbook: ``coded`` maps a coded column to its 0-based position in ``header``.

    ``inputs`` are further 0-based positions the head types into (the comment);
    every other cell is locked.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]\*\?/\\:]", "_", sheet)[:31] or "verdicts"
    bold = Font(bold=True)
    for j, h in enumerate(header, 1):
        _put(ws, 1, j, h).font = bold
    for i, row in enumerate(body, 2):
        for j, v in enumerate(row, 1):
            _put(ws, i, j, v)
    last = max(len(body) + 1, 2)
    lists = wb.create_sheet("lists")
    fill = PatternFill("solid", fgColor="FFF2CC")
    grey = PatternFill("solid", fgColor="EDEDED")
    open_cells = Protection(locked=False)
    for k, (column, pos) in enumerate(coded.items(), 1):
        entries = choices(column, definition)
        _put(lists, 1, k, column)
        for i, entry in enumerate(entries, 2):
            _put(lists, i, k, entry)
        ref = f"lists!${get_column_letter(k)}$2:${get_column_letter(k)}${len(entries) + 1}"
        strict = column != "verdict"  # the verdict also takes typed words (ja, x, ?); see VERDICT_WORDS
        dv = DataValidation(type="list", formula1=ref, allow_blank=True, showErrorMessage=True,
                            errorStyle="stop" if strict else "warning", errorTitle=header[pos],
                            error=f"{' / '.join(entries)}"[:255], promptTitle=header[pos],
                            prompt=f"{' / '.join(entries)}"[:255])
        letter = get_column_letter(pos + 1)
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    for pos in (*coded.values(), *inputs):
        for i in range(2, last + 1):
            cell = ws.cell(row=i, column=pos + 1)
            cell.fill = fill
            cell.protection = open_cells
    answer = {*coded.values(), *inputs}
    for j in range(len(header)):
        if j not in answer and j > 0:
            for i in range(2, last + 1):
                ws.cell(row=i, column=j + 1).fill = grey
    ws.freeze_panes = "C2"
    for j, h in enumerate(header, 1):
        width = max([len(str(h))] + [len(str(r[j - 1])) for r in body[:200] if r[j - 1] is not None])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 40)
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # people may widen columns
    lists.protection.sheet = True
    lists.sheet_state = "hidden"
    how = wb.create_sheet(_TEXT[_lang(definition)]["sheet"])
    for i, line in enumerate(instructions(definition), 1):
        _put(how, i, 1, line)
    how["A1"].font = bold
    how.column_dimensions["A"].width = 120
    how.protection.sheet = True
    wb.save(target)

