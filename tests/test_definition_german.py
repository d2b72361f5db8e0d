"""The German sample definition speaks German: every text a person reads (labels, criteria, offers, segments,
reason labels, messages, descriptions) is checked against a list of English words that German does not use."""

from __future__ import annotations

import re

from leadsim import load_definition

#: English words that do not occur in German (loanwords German uses -- Lead, Score, Budget, Demo, Webinar,
#: Newsletter, E-Mail, Download, Domain, ERP, ROI, SDR -- are not listed).
ENGLISH = {
    "the", "and", "or", "of", "with", "within", "from", "our", "your", "is", "are", "has", "have", "still", "now",
    "new", "old", "days", "day", "hours", "visit", "visits", "page", "form", "attended", "downloaded", "employees",
    "experience", "years", "business", "competitor", "home", "core", "industry", "revenue", "runs",
    "we", "decision", "maker", "urgent", "need", "buying", "months", "click", "content", "weekly", "live",
    "depth", "free", "trial", "contact", "us", "unsubscribed", "week", "active", "last", "price", "list", "data",
    "sheet", "sales", "nurture", "hard", "check", "fit", "database", "relationship", "yet", "card", "jar",
    "interacted", "expects", "hear", "market", "scoring", "applies", "threshold", "reaches", "out", "confirmed",
    "qualified", "buyer", "handed", "rep", "guide", "calculator", "customer", "references", "proposal",
    "extension", "contract", "signed", "closed", "won", "lost", "never", "buy", "student", "not", "ready", "no",
    "invalid", "duplicate", "unspecified", "other", "untouched", "stale", "please", "manager", "cc", "call",
    "waits", "first", "minutes", "processed", "process", "convert", "recycle", "disqualify", "left", "campaign",
    "typed", "address", "annual", "million", "products", "company", "separated", "estimated", "after", "title",
    "director", "subsidiaries", "integrate", "planned", "approved", "case", "studies", "educational", "invitation",
    "blog", "digest",
}


def _texts(d) -> list[tuple[str, str]]:
    out = [("name", d.name)]
    out += [(f"attributes.{a.name}.description", a.description or "") for a in d.attributes]
    out += [(f"rules.{r.id}", r.label) for r in [*d.fit_rules, *d.behaviour_rules, *d.hot_triggers]]
    out += [(f"bant.{k}", r.label) for k, r in d.bant.items()]
    out += [(f"thresholds.matrix.{k}", v) for k, v in d.thresholds.matrix.items()]
    for s in d.funnel.stages:
        out.append((f"funnel.{s.id}.label", s.label))
        if isinstance(s.criteria, str):
            out.append((f"funnel.{s.id}.criteria", s.criteria))
        out += [(f"funnel.{s.id}.offers", o) for o in s.offers]
    out += [(f"reasons.{r.id}", r.label) for r in d.reasons.vocabulary]
    out += [("reasons.unspecified_label", d.reasons.unspecified_label), ("reasons.other_label", d.reasons.other_label)]
    for c in d.sla.clocks:
        out.append((f"sla.{c.id}.label", c.label))
        out += [(f"sla.{c.id}.levels[{i}]", re.sub(r"\{[a-z_]+\}", "", lv.message)) for i, lv in enumerate(c.levels)]
    out += [(f"changelog[{i}]", e.note) for i, e in enumerate(d.changelog)]
    return out


def test_the_word_list_catches_the_english_definition():
    found = {w for _, t in _texts(load_definition("en")) for w in re.findall(r"[a-z][a-z-]*", t.casefold())} & ENGLISH
    assert {"visit", "employees", "nurture", "untouched", "competitor"} <= found


def test_the_german_definition_has_no_english_label():
    english = [(where, t) for where, t in _texts(load_definition("de"))
               if set(re.findall(r"[a-z][a-z-]*", t.casefold())) & ENGLISH]
    assert not english, f"English left in data/definition.de.yaml: {english}"
