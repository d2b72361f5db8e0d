"""Holidays by country and region: hand-worked dates, the explicit-list form, and errors on bad calendars.

The expected dates are written out by hand (and Easter-based ones checked
against an Easter computed here with the Meeus/Jones/Butcher rule), never
taken from the ``holidays`` package that leadsim uses to resolve them.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

from leadsim import load_definition
from leadsim.calendar import BusinessCalendar
from leadsim.definition import LeadsimWarning, parse_definition
from leadsim.errors import DefinitionError

# --------------------------------------------------------------------------- an independent reference


def easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def test_the_reference_easter_matches_known_dates():
    assert easter(2025) == dt.date(2025, 4, 20)
    assert easter(2026) == dt.date(2026, 4, 5)
    assert easter(2027) == dt.date(2027, 3, 28)


# --------------------------------------------------------------------------- hand-worked dates

GERMANY_OFF = ["2025-10-03", "2025-05-29", "2027-05-06", "2025-06-09", "2027-05-17"]
BAVARIA_ONLY = ["2025-01-06", "2027-01-06", "2025-06-19", "2027-05-27", "2027-11-01"]


def working(cal: BusinessCalendar, days: list[str]) -> list[bool]:
    return [bool(cal.is_working_day(pd.Timestamp(d))) for d in days]


def test_the_hand_worked_dates_are_weekdays_and_easter_based_ones_agree_with_easter():
    for d in GERMANY_OFF + BAVARIA_ONLY:
        assert pd.Timestamp(d).day_of_week < 5, d
    assert dt.date(2025, 5, 29) - easter(2025) == dt.timedelta(days=39)  # Ascension
    assert dt.date(2027, 5, 6) - easter(2027) == dt.timedelta(days=39)
    assert dt.date(2025, 6, 9) - easter(2025) == dt.timedelta(days=50)  # Whit Monday
    assert dt.date(2027, 5, 17) - easter(2027) == dt.timedelta(days=50)
    assert dt.date(2025, 6, 19) - easter(2025) == dt.timedelta(days=60)  # Corpus Christi
    assert dt.date(2027, 5, 27) - easter(2027) == dt.timedelta(days=60)


def test_germany_keeps_unity_day_ascension_and_whit_monday():
    cal = BusinessCalendar("Europe/Berlin", country="DE")
    assert working(cal, GERMANY_OFF) == [False] * 5
    # Bavaria's own holidays are working days elsewhere in Germany
    assert working(cal, BAVARIA_ONLY) == [True] * 5
    # the days around them work
    assert working(cal, ["2025-10-02", "2025-05-28", "2027-05-18"]) == [True] * 3


def test_bavaria_also_skips_epiphany_corpus_christi_and_all_saints():
    cal = BusinessCalendar("Europe/Berlin", country="DE", subdivision="BY")
    assert working(cal, GERMANY_OFF + BAVARIA_ONLY) == [False] * 10


def test_england_works_on_3_october():
    cal = BusinessCalendar("Europe/London", country="GB", subdivision="ENG")
    assert working(cal, ["2025-10-03"]) == [True]
    assert working(cal, ["2025-12-26", "2025-08-25"]) == [False, False]  # Boxing Day, late summer bank holiday


def test_company_days_off_add_to_the_public_holidays():
    cal = BusinessCalendar("Europe/Berlin", holidays=["2025-12-24", "2025-12-31"], country="DE")
    assert working(cal, ["2025-12-24", "2025-12-31", "2025-10-03", "2025-12-23"]) == [False, False, False, True]


def test_working_time_skips_the_resolved_holidays():
    cal = BusinessCalendar("Europe/Berlin", country="DE")
    thu = pd.Timestamp("2025-10-02 16:00")  # Thursday before German Unity Day
    assert cal.add_working_days(thu, 1) == pd.Timestamp("2025-10-06 16:00")
    assert cal.working_minutes_between(thu, pd.Timestamp("2025-10-06 10:00")) == pytest.approx(120.0)


def test_the_sample_definition_uses_the_country_form():
    d = load_definition()
    assert (d.calendar.country, d.calendar.subdivision, d.calendar.timezone) == ("DE", None, "Europe/Berlin")
    cal = BusinessCalendar.from_definition(d)
    assert working(cal, ["2025-10-03", "2027-05-06", "2028-10-03"]) == [False, False, False]
    assert BusinessCalendar.from_definition(load_definition("de")).country == "DE"


def test_outputs_can_record_what_the_calendar_rests_on():
    p = BusinessCalendar("Europe/Berlin", country="DE", subdivision="BY").provenance("2027-01-01", "2027-01-31")
    assert p["days_off"] == ["2027-01-01", "2027-01-06"]
    assert (p["country"], p["subdivision"], p["timezone"]) == ("DE", "BY", "Europe/Berlin")
    assert isinstance(p["holidays_version"], str) and p["holidays_version"]
    assert BusinessCalendar("UTC", holidays=["2026-12-25"]).provenance()["holidays_version"] is None


# --------------------------------------------------------------------------- the explicit list keeps working


def definition_data(**calendar):
    data = load_definition().to_dict()
    data["calendar"] = calendar
    data.pop("calendars", None)
    return data


def test_a_definition_without_country_keeps_its_explicit_list():
    d = parse_definition(definition_data(timezone="Europe/Berlin", holidays=["2026-04-03", "2026-04-06"]))
    cal = BusinessCalendar.from_definition(d)
    assert cal.country is None
    # German Unity Day is not listed, so it is a working day
    assert working(cal, ["2026-04-03", "2026-04-06", "2026-10-02", "2026-10-05"]) == [False, False, True, True]
    assert cal.add_working_days(pd.Timestamp("2026-04-02 10:00"), 1) == pd.Timestamp("2026-04-07 10:00")


def test_an_explicit_list_warns_past_its_last_year_and_not_within_it():
    cal = BusinessCalendar("Europe/Berlin", holidays=["2025-12-25", "2026-12-25"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cal.warn_beyond(pd.Timestamp("2025-03-01"), pd.Timestamp("2026-12-31"), "the audit")
    with pytest.warns(LeadsimWarning, match=r"the audit runs .* past 2026.*calendar\.country"):
        assert cal.warn_beyond(pd.Timestamp("2026-11-01"), pd.Timestamp("2027-01-10"), "the audit")
    # a calendar with no days off at all is holiday-free on purpose: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not BusinessCalendar("UTC").warn_beyond(pd.Timestamp("2020-01-01"), pd.Timestamp("2090-01-01"), "x")


def test_an_audit_past_the_listed_years_warns():
    from leadsim import audit

    d = parse_definition(definition_data(timezone="Europe/Berlin", holidays=["2026-12-25"]))
    log = pd.DataFrame({"lead_id": ["a", "a"], "stage": ["name", "lead"],
                        "at": pd.to_datetime(["2026-12-20 10:00", "2027-01-04 10:00"]), "reason": ["", ""],
                        "owner": [None, "sdr1"]})
    with pytest.warns(LeadsimWarning, match="the audit runs from 2026-12-20 to 2027-01-04, past 2026"):
        audit(log, None, d)


# --------------------------------------------------------------------------- bad calendars


@pytest.mark.parametrize(
    ("calendar", "match"),
    [
        (dict(country="XX"), r"calendar.*unknown country code 'XX'.*ISO 3166-1"),
        (dict(country="DE", subdivision="ZZ"), r"calendar.*unknown subdivision 'ZZ' of DE; use one of \['BB', 'BE'"),
        (dict(subdivision="BY"), r"calendar.*subdivision 'BY' needs a country"),
        (dict(timezone="Europe/Bonn"), r"calendar\.timezone.*unknown time zone 'Europe/Bonn'"),
        (dict(working_hours=["17:00", "09:00"]), r"calendar\.working_hours.*opening must come before the closing"),
    ],
)
def test_bad_calendars_are_definition_errors_that_say_what_to_fix(calendar, match):
    with pytest.raises(DefinitionError, match=match):
        parse_definition(definition_data(**calendar), source="mine.yaml")


def test_a_bad_named_calendar_names_its_place():
    data = load_definition().to_dict()
    data["calendars"]["boston"]["subdivision"] = "XY"
    with pytest.raises(DefinitionError, match=r"calendars\.boston.*unknown subdivision 'XY' of US"):
        parse_definition(data, source="mine.yaml")


def test_an_unknown_calendar_name_is_an_error_naming_the_known_ones():
    with pytest.raises(DefinitionError, match=r"unknown calendar 'tokyo'.*\['boston', 'london'\]"):
        BusinessCalendar.from_definition(load_definition(), name="tokyo")
