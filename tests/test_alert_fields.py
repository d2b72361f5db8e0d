"""The playbook's alert fields (record link, campaign, days left) and the SLA audit's exits by reason, worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from leadsim import audit, load_definition
from leadsim.definition import parse_definition
from leadsim.errors import DefinitionError

# S1 enters Sales Lead on Monday 2 March 2026, 10:00, is never touched and is recycled "Not ready" on Friday
# 10:00: the touch clock's levels (day 0, 1, 2, 3) fall on Mon..Thu 10:00, all before the recycle.
# S2 enters at 11:00 the same Monday, is called at 12:00 and disqualified as a competitor on Tuesday.
LOG = pd.DataFrame(
    [("S1", "sales_lead", "2026-03-02 10:00", "outbound", "rep1"),
     ("S1", "target", "2026-03-06 10:00", "Not ready", None),
     ("S2", "sales_lead", "2026-03-02 11:00", "outbound", "rep1"),
     ("S2", "disqualified", "2026-03-03 11:00", "Competitor", None)],
    columns=["lead_id", "stage", "at", "reason", "owner"],
).assign(at=lambda x: pd.to_datetime(x["at"]))
TOUCHES = pd.DataFrame({"lead_id": ["S2"], "at": pd.to_datetime(["2026-03-02 12:00"]), "kind": ["call"],
                        "by": ["rep1"]})
LEADS = pd.DataFrame({"lead_id": ["S1", "S2"], "company": ["Acme GmbH", "Rival AG"], "source": ["event", "web"],
                      "campaign": ["Spring Summit 2026", None],
                      "created_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 11:00"])})
OWNERS = pd.DataFrame({"owner": ["rep1"], "role": ["rep"], "manager": ["mia"], "team": ["east"]})


def _audit(d):
    return audit(LOG, TOUCHES, d, owners=OWNERS, leads=LEADS, as_of="2026-03-20 17:00")


def test_alerts_carry_the_link_the_campaign_and_the_days_left():
    a = _audit(load_definition()).alerts
    s1 = a[(a["lead_id"] == "S1") & (a["clock"] == "touch")].set_index("level")["message"]
    assert s1[2] == ("Untouched Sales Lead! S1 (Acme GmbH) is 2 days old; manager in cc. Please contact it now and "
                     "process it within 6 more days: https://crm.example/lead/S1 (campaign: Spring Summit 2026)")
    # the playbook's day-3 alert: "process within 5 more days" (deadline day 8)
    assert s1[3] == ("Untouched Sales Lead! S1 (Acme GmbH) of rep1 is 3 days old; 5 days left to process it: "
                     "https://crm.example/lead/S1 (campaign: Spring Summit 2026)")
    de = _audit(load_definition("de")).alerts
    m = de[(de["lead_id"] == "S1") & (de["clock"] == "touch") & (de["level"] == 3)]["message"].item()
    assert m == ("Unbearbeiteter Vertriebs-Lead! S1 (Acme GmbH) von rep1 ist 3 Tage alt; noch 5 Tage bis zur Frist: "
                 "https://crm.example/lead/S1 (Kampagne: Spring Summit 2026)")


def test_a_lead_without_campaign_shows_the_missing_mark():
    d = load_definition().to_dict()
    d["sla"]["clocks"][1]["levels"][0]["message"] = "{lead}: {campaign} | {link} | {days_left}"
    a = _audit(parse_definition(d)).alerts
    got = a[(a["clock"] == "touch") & (a["level"] == 0)].set_index("lead_id")["message"].to_dict()
    assert got == {"S1": "S1: Spring Summit 2026 | https://crm.example/lead/S1 | 8",
                   "S2": "S2: – | https://crm.example/lead/S2 | 8"}


def test_the_audit_breaks_exits_down_by_reason_per_clock():
    ex = _audit(load_definition()).summary["exits"]
    expected = pd.DataFrame(
        [("touch", "recycle", "not_ready", "Not ready yet", 1, 1, 1),       # S1: every level fired
         ("touch", "disqualify", "competitor", "Competitor", 1, 1, 0),      # S2: only the day-0 notice
         ("process", "recycle", "not_ready", "Not ready yet", 1, 0, 0),     # day 7 never came
         ("process", "disqualify", "competitor", "Competitor", 1, 0, 0)],
        columns=["clock", "exit", "reason", "label", "handoffs", "alerted", "last_level"])
    pd.testing.assert_frame_equal(ex, expected, check_dtype=False)


@pytest.mark.parametrize(("change", "message"), [
    ({"record_url": "https://crm.example/{lead}"}, r"unknown field\(s\) \['lead'\]; allowed: \['lead_id'\]"),
    ({"record_url": "https://crm.example/all"}, r"needs the \{lead_id\} placeholder"),
    ({"record_url": None}, r"uses \{link\} but sla\.record_url is not set"),
    ({"deadline": {"stage": "sales_lead", "days": -2}}, "must be a positive number of working days, got -2"),
    ({"deadline": None}, r"uses \{days_left\}.*set sla\.deadline with stage 'sales_lead'"),
    ({"deadline": {"stage": "somewhere", "days": 8}}, "sla.deadline.stage: unknown stage 'somewhere'"),
])
def test_bad_alert_settings_name_what_where_and_the_fix(change, message):
    d = load_definition().to_dict()
    d["sla"].update(change)
    with pytest.raises(DefinitionError, match=message):
        parse_definition(d)
