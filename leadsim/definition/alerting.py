"""What an SLA alert carries besides its text: the record link, the campaign and the process deadline.

The playbook's alert names the lead with a link to its CRM record, the
campaign that brought it and how many days are left to process it.  The
definition gives the record's address as a template (``sla.record_url``,
placeholders from :data:`URL_FIELDS`, filled URL-quoted), the leads column
holding the campaign (``sla.campaign_column``), and the process deadline
(``sla.deadline``: working days after a lead enters a stage) that the
``{days_left}`` message field counts down to.

>>> check_record_url("https://crm.example/lead/{lead_id}")
'https://crm.example/lead/{lead_id}'
>>> Deadline(stage="sales_lead", days=8).days
8.0
>>> fill_url("https://crm.example/lead/{lead_id}", lead_id="L 7/1")
'https://crm.example/lead/L%207%2F1'
"""

from __future__ import annotations

import math
import string
import urllib.parse

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["URL_FIELDS", "Deadline", "check_record_url", "fill_url", "template_fields"]

#: Placeholders a record URL template may use.
URL_FIELDS = ("lead_id",)


def template_fields(v: str, allowed: tuple[str, ...], *, what: str) -> list[str]:
    """The placeholders of a ``str.format`` template, refused when malformed or not among ``allowed``.

    >>> template_fields("{lead} is {days} days old", ("lead", "days"), what="message template")
    ['lead', 'days']
    """
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
    except ValueError as err:
        raise ValueError(f"{what} {v!r} is malformed: {err}") from None
    bad = [f for f in fields if f not in allowed]
    if bad:
        raise ValueError(f"{what} {v!r} uses unknown field(s) {bad}; allowed: {list(allowed)}")
    return fields


def check_record_url(v: str | None) -> str | None:
    """Check a record URL template: well formed, and only :data:`URL_FIELDS` as placeholders."""
    if v is None:
        return v
    fields = template_fields(v, URL_FIELDS, what="sla.record_url (e.g. https://crm.example/lead/{lead_id})")
    if "lead_id" not in fields:
        raise ValueError(f"sla.record_url {v!r} needs the {{lead_id}} placeholder: without it every alert "
                         "links to the same page")
    return v


def fill_url(template: str, **values: object) -> str:
    """The template with each placeholder replaced by its URL-quoted value."""
    return template.format(**{k: urllib.parse.quote(str(values.get(k, "")), safe="") for k in URL_FIELDS})


class Deadline(BaseModel):
    """The process deadline: ``days`` working days after a lead enters ``stage`` (the playbook: 8 for a Sales Lead).

    ``stage`` left out: the funnel's ``sql`` milestone (Sales Lead).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    stage: str | None = None
    days: float

    @field_validator("days")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"sla.deadline.days must be a positive number of working days, got {v}")
        return float(v)
