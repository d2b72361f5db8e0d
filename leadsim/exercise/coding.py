"""The coded columns of a worksheet: what a head may choose in each, in the definition's language, and the parsing.

A head plays each company through the qualification process and writes:

* ``stage``: where the head would put it, on the ordinal scale
  :data:`STAGES` (not a fit < Target < Lead < Sales Lead < Opportunity; the
  funnel stages show the definition's labels);
* ``verdict``: good lead / not a lead / unsure (:data:`~leadsim.exercise.agreement.VERDICT_WORDS`);
* ``budget``, ``authority``, ``need``, ``timeline``: what the head knows of
  BANT, each yes / no / unknown;
* ``reason``: when it is not a fit, one reason of the definition's vocabulary
  (the recycle and disqualify reasons, shown by their labels);
* ``confidence``: low / medium / high.

:func:`choices` gives the drop-down entries of a column in the definition's
language; :func:`parse_choice` reads a typed value back as its code (ids,
labels in English or German and the vocabulary's aliases are all accepted,
case and spaces do not matter) or raises one clear
:class:`~leadsim.errors.VerdictError`.

>>> from leadsim import load_definition
>>> d = load_definition("de")
>>> choices("stage", d)
['passt nicht', 'Zielkontakt', 'Lead', 'Vertriebs-Lead', 'Verkaufschance']
>>> parse_choice("stage", "Sales Lead", d), parse_choice("budget", "Ja", d), parse_choice("reason", "Student", d)
('sales_lead', 'yes', 'student')
"""

from __future__ import annotations

from typing import Any

from leadsim.definition.reasons import reason_key
from leadsim.errors import VerdictError

__all__ = [
    "BANT",
    "CODED_COLUMNS",
    "CONFIDENCE",
    "KNOWN",
    "NOT_A_FIT",
    "STAGES",
    "choices",
    "column_header",
    "header_names",
    "parse_choice",
    "reason_choices",
    "text",
]

#: The ordinal stage scale, lowest first; every id but the first is a funnel stage.
STAGES = ("not_a_fit", "target", "lead", "sales_lead", "opportunity")
NOT_A_FIT = "not_a_fit"
#: The BANT columns and their answers.
BANT = ("budget", "authority", "need", "timeline")
KNOWN = ("yes", "no", "unknown")
CONFIDENCE = ("low", "medium", "high")
#: Every coded column of a worksheet, in sheet order (the verdict is coded too, by its own words).
CODED_COLUMNS = ("stage", "verdict", *BANT, "reason", "confidence")

_WORDS: dict[str, dict[str, str]] = {
    "en": {"not_a_fit": "not a fit", "yes": "yes", "no": "no", "unknown": "unknown", "low": "low",
           "medium": "medium", "high": "high", "good": "good lead", "not": "not a lead", "unsure": "unsure"},
    "de": {"not_a_fit": "passt nicht", "yes": "ja", "no": "nein", "unknown": "unbekannt", "low": "niedrig",
           "medium": "mittel", "high": "hoch", "good": "guter Lead", "not": "kein Lead", "unsure": "unsicher"},
}
#: Column headers people read; the English header is always accepted as well.
_HEADERS: dict[str, dict[str, str]] = {
    "en": {"stage": "stage", "verdict": "verdict", "budget": "budget", "authority": "authority", "need": "need",
           "timeline": "timeline", "reason": "reason", "confidence": "confidence", "comment": "comment",
           "company": "company"},
    "de": {"stage": "Stufe", "verdict": "Urteil", "budget": "Budget", "authority": "Entscheider", "need": "Bedarf",
           "timeline": "Zeitrahmen", "reason": "Grund", "confidence": "Sicherheit", "comment": "Kommentar",
           "company": "Firma"},
}


def _language(definition: Any) -> str:
    lang = str(getattr(definition, "language", "en") or "en").split("-")[0].lower()
    return lang if lang in _WORDS else "en"


def text(word: str, definition: Any) -> str:
    """A coded word (``yes``, ``not_a_fit``, ``good`` ...) as the definition's language writes it."""
    return _WORDS[_language(definition)].get(word, word)


def column_header(column: str, definition: Any) -> str:
    """The header of a coded (or the company/comment) column in the definition's language."""
    return _HEADERS[_language(definition)].get(column, column)


def header_names(column: str) -> set[str]:
    """Every header a column may carry (each language's), case-folded.

    >>> sorted(header_names("need"))
    ['bedarf', 'need']
    """
    return {h[column].casefold() for h in _HEADERS.values() if column in h}


def reason_choices(definition: Any) -> list[str]:
    """The reason ids a head may give for "not a fit": the disqualify and recycle reasons, each once."""
    if definition is None:
        return []
    ids = [*definition.exit_reasons("disqualify"), *definition.exit_reasons("recycle")]
    return list(dict.fromkeys(ids))


def _stage_label(stage: str, definition: Any) -> str:
    if stage == NOT_A_FIT or definition is None:
        return text(stage, definition) if stage == NOT_A_FIT else stage.replace("_", " ").title()
    return next((s.label for s in definition.funnel.stages if s.id == stage), stage)


def _codes(column: str, definition: Any) -> tuple[str, ...]:
    if column == "stage":
        return STAGES
    if column in BANT:
        return KNOWN
    if column == "confidence":
        return CONFIDENCE
    if column == "verdict":
        return ("good", "not", "unsure")
    if column == "reason":
        return tuple(reason_choices(definition))
    raise ValueError(f"{column!r} is not a coded column; coded: {', '.join(CODED_COLUMNS)}")


def _label(column: str, code: str, definition: Any) -> str:
    if column == "stage":
        return _stage_label(code, definition)
    if column == "reason":
        return definition.reasons.label(code)
    return text(code, definition)


def choices(column: str, definition: Any) -> list[str]:
    """The drop-down entries of a coded column, in the definition's language, in scale order."""
    return [_label(column, c, definition) for c in _codes(column, definition)]


def _lookup(column: str, definition: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for code in _codes(column, definition):
        texts = [code, _label(column, code, definition), *(w[code] for w in _WORDS.values() if code in w)]
        if column == "stage" and code != NOT_A_FIT:
            texts.append(code.replace("_", " "))
        if column == "reason":
            texts += next((r.aliases for r in definition.reasons.vocabulary if r.id == code), [])
        for t in texts:
            out[reason_key(t)] = code
    return out


def parse_choice(column: str, value: Any, definition: Any, *, where: str | None = None) -> str | None:
    """The code of a value typed into a coded column; None for a blank cell.

    Raises :class:`~leadsim.errors.VerdictError` naming ``where``, the value
    and the entries of the drop-down.
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    raw = str(value).strip()
    if not raw:
        return None
    code = _lookup(column, definition).get(reason_key(raw))
    if code is None:
        raise VerdictError(f"{raw!r} is not an entry of the {column!r} list; choose one of "
                           f"{', '.join(choices(column, definition))} (or leave the cell empty)", where=where)
    return code
