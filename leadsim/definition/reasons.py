"""Why a lead left the funnel: the vocabulary of recycle, disqualify and lost reasons.

A definition lists its reasons once under ``reasons.vocabulary`` (an id, a
display label and the *aliases* a CRM export or a tool writes for it); each
side exit of the funnel names the ids it accepts (``funnel.recycle.reasons``
...; an exit without a list accepts every reason).  A definition without a
``reasons`` section gets :data:`DEFAULT_VOCABULARY`: the playbook's reasons
and the usual CRM picklist values, with aliases for the codes leadsim's own
simulation writes.

Texts are matched after :func:`reason_key`: case, surrounding blanks and the
difference between spaces, hyphens and underscores do not count, so ``"Not
ready"``, ``"not-ready"`` and ``not_ready`` are one reason.  Two reserved ids
are never listed: ``unspecified`` (no reason given, or only the exit's own
name such as ``recycle``) and ``other`` (a text the vocabulary does not know;
with ``on_unknown: set_aside`` the import sets such rows aside instead).

>>> r = Reasons()
>>> r.resolve_texts(["Not ready", "student", "", "recycle", "Kunde will nicht"], exit="recycle",
...                 accepted=DEFAULT_EXITS["recycle"])
['not_ready', 'other', 'unspecified', 'unspecified', 'other']
>>> r.label("no_contact"), r.label("unspecified")
('No contact', 'Unspecified')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_EXITS",
    "DEFAULT_VOCABULARY",
    "EXITS",
    "OTHER",
    "RESERVED_REASONS",
    "UNSPECIFIED",
    "Reason",
    "Reasons",
    "reason_key",
]

#: The funnel's side exits that carry a reason.
EXITS = ("recycle", "disqualify", "lost")
#: The reason of an exit row that gives none (or only the exit's own name).
UNSPECIFIED = "unspecified"
#: The reason of an exit row whose text the vocabulary does not know (``on_unknown: other``).
OTHER = "other"
RESERVED_REASONS = (UNSPECIFIED, OTHER)
#: Texts that only repeat what kind of exit it was (or what a mapping fills in): they name no reason.
_GENERIC = {"recycle", "recycled", "recycling", "nurture", "disqualify", "disqualified", "dq", "lost", "closed lost",
            "none", "n/a", "na", "-", "import", "assignment", "created", "status change"}

_ID = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


def reason_key(text: object) -> str:
    """The form texts are compared in: casefolded, trimmed, runs of blanks/hyphens/underscores as one blank.

    >>> reason_key("  No-Budget "), reason_key("no_budget")
    ('no budget', 'no budget')
    """
    if text is None or text != text:  # None or NaN
        return ""
    return re.sub(r"[\s\-_]+", " ", str(text).casefold()).strip()


class Reason(BaseModel):
    """One reason: its id (lower-case, as written by leadsim), a label people read, and the texts that mean it."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: _ID
    label: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)


def _r(id: str, label: str, *aliases: str) -> dict:
    return {"id": id, "label": label, "aliases": list(aliases)}


#: The reasons of a definition without a ``reasons`` section (aliases include the simulation's codes).
DEFAULT_VOCABULARY: tuple[dict, ...] = (
    _r("not_ready", "Not ready yet", "not ready", "timing", "later", "not now", "future interest", "not_qualified",
       "recycled_by_sales", "nurture later"),
    _r("no_budget", "No budget", "budget", "too expensive"),
    _r("no_authority", "No decision maker", "no authority", "not the decision maker", "wrong person"),
    _r("no_contact", "No contact", "unreachable", "no answer", "no response", "not reached", "cold", "no_contact"),
    _r("no_decision", "Not processed in time", "stale", "sla expired", "auto_return", "auto return", "timeout"),
    _r("student", "Student", "academic"),
    _r("competitor", "Competitor", "competition"),
    _r("no_fit", "No fit", "not a fit", "bad fit", "wrong market", "unqualified", "no need"),
    _r("invalid_contact", "Invalid contact data", "invalid", "spam", "fake", "bad data", "bounced"),
    _r("duplicate", "Duplicate", "dupe", "merged"),
    _r("lost_to_competitor", "Lost to a competitor", "competitor won"),
    _r("lost_price", "Lost on price", "pricing"),
    _r("lost_no_decision", "Lost: no decision", "no decision made", "project stopped"),
)
#: The reasons each exit accepts when a definition without a ``reasons`` section lists none.
DEFAULT_EXITS: dict[str, tuple[str, ...]] = {
    "recycle": ("not_ready", "no_budget", "no_authority", "no_contact", "no_decision"),
    "disqualify": ("student", "competitor", "no_fit", "invalid_contact", "duplicate"),
    "lost": ("lost_to_competitor", "lost_price", "lost_no_decision"),
}


class Reasons(BaseModel):
    """The vocabulary, what an unknown text becomes, and the labels of the two reserved reasons."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    #: ``other``: an unknown text becomes the reason ``other`` (and is reported); ``set_aside``: the import
    #: sets the row aside (see :mod:`leadsim.io.reasons`)
    on_unknown: Literal["other", "set_aside"] = "other"
    vocabulary: list[Reason] = Field(default_factory=lambda: [Reason(**r) for r in DEFAULT_VOCABULARY])
    unspecified_label: str = "Unspecified"
    other_label: str = "Other"

    @model_validator(mode="after")
    def _unique(self) -> Reasons:
        ids = [r.id for r in self.vocabulary]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"reasons.vocabulary: id(s) {dup} listed twice; give each reason one entry")
        bad = sorted(set(ids) & set(RESERVED_REASONS))
        if bad:
            raise ValueError(f"reasons.vocabulary: {bad} is reserved (no reason given / a text not in the "
                             "vocabulary); rename the reason, or set its label with unspecified_label/other_label")
        seen: dict[str, str] = {}
        for r in self.vocabulary:
            for text in {reason_key(t) for t in (r.id, r.label, *r.aliases)}:
                if text in _GENERIC or not text:
                    raise ValueError(f"reasons.vocabulary.{r.id}: {text!r} names no reason (it is what an exit "
                                     "without a reason writes); remove it from the label/aliases")
                if seen.get(text, r.id) != r.id:
                    raise ValueError(f"reasons.vocabulary: the text {text!r} would mean both {seen[text]!r} and "
                                     f"{r.id!r}; keep it under one reason")
                seen[text] = r.id
        return self

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.vocabulary]

    def label(self, reason_id: str) -> str:
        """The display label of a reason id (the reserved ones included; an unknown id is shown as it is)."""
        if reason_id == UNSPECIFIED:
            return self.unspecified_label
        if reason_id == OTHER:
            return self.other_label
        return next((r.label for r in self.vocabulary if r.id == reason_id), reason_id)

    def lookup(self) -> dict[str, str]:
        """Every known text (id, label, aliases, as :func:`reason_key` writes them) -> reason id."""
        out = {}
        for r in self.vocabulary:
            for text in (r.id, r.label, *r.aliases):
                out[reason_key(text)] = r.id
        return out

    def resolve_texts(self, texts: Iterable[object], *, exit: str, accepted: Sequence[str] | None = None) -> list[str]:
        """The reason id of each text written on a ``exit`` row: a listed id, ``unspecified`` or ``other``.

        ``accepted``: the ids this exit accepts (None: all); a known reason of another exit is ``other`` here.
        """
        look, ok = self.lookup(), set(self.ids if accepted is None else accepted)
        out = []
        for t in texts:
            k = reason_key(t)
            rid = look.get(k)
            if rid is not None and rid in ok:
                out.append(rid)
            elif not k or k in _GENERIC or k == reason_key(exit):
                out.append(UNSPECIFIED)
            else:
                out.append(OTHER)
        return out
