"""Outcomes from history (leadsim.outcomes.from_history) against hand-worked histories and the sample's ground truth.

The expected tables below are written out from the rules of docs/design.md section 1.9, "Outcomes from history";
working minutes are counted by hand on the sample calendar (Mon-Fri 09:00-17:00, Good Friday 2026-04-03 and
Easter Monday 2026-04-06 closed).  The sample comparison holds the rule against the generator's own outcomes.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import leadsim
from leadsim.definition.loading import parse_definition
from leadsim.errors import DataError, DefinitionError, InvalidTransition, SchemaError
from leadsim.outcomes import OUTCOME_COLUMNS, from_history

NA = pd.NA
T = pd.Timestamp


@pytest.fixture(scope="module")
def d():
    return leadsim.load_definition()


def _log(rows):
    return pd.DataFrame(rows, columns=["lead_id", "stage", "at", "reason", "owner"]).assign(
        at=lambda x: pd.to_datetime(x["at"], format="ISO8601"))


# One history, one lead per case (as_of 2026-06-01 00:00, window 30 days):
# A  hand-off, re-assignment (not a hand-off), recycle, re-entry (a second hand-off) on a Friday, SQL, won
# B  exploration hand-off 12 days before as_of, no touch: window open -> NA everywhere
# C  reaches Sales Lead 34 days after the hand-off: sql False (and so opportunity/won False)
# D  import (manual) on the Thursday before Easter, disqualified; touch after the two holidays
# E  no owner, no touch, still in Lead when the window ended: False, reason NA
# G  recycled without a touch in the stage; the touch after leaving does not count
# H  qualified and touched after as_of: both ignored, window open -> NA
LOG = _log([
    ("A", "name", "2026-03-02 09:00", "created", None),
    ("A", "lead", "2026-03-03 10:00", "score", "ana"),
    ("A", "lead", "2026-03-03 11:00", "escalation", "ben"),
    ("A", "target", "2026-03-05 12:00", "recycle", None),
    ("A", "lead", "2026-03-20 09:30", "hot", "cara"),
    ("A", "sales_lead", "2026-03-24 14:00", "qualified", "rob"),
    ("A", "opportunity", "2026-04-10 10:00", "converted", "rob"),
    ("A", "customer", "2026-05-15 10:00", "won", "rob"),
    ("B", "name", "2026-05-10 09:00", "created", None),
    ("B", "lead", "2026-05-20 16:00", "exploration", "dan"),
    ("C", "name", "2026-01-05 09:00", "created", None),
    ("C", "lead", "2026-01-07 09:00", "score", "ana"),
    ("C", "sales_lead", "2026-02-10 10:00", "qualified", "rob"),
    ("D", "name", "2026-04-01 09:00", "import", None),
    ("D", "lead", "2026-04-02 16:00", "import", "ben"),
    ("D", "disqualified", "2026-04-08 10:00", "disqualify", None),
    ("E", "name", "2026-03-30 09:00", "created", None),
    ("E", "lead", "2026-04-01 12:00", "Score", None),
    ("G", "name", "2026-03-02 09:00", "created", None),
    ("G", "lead", "2026-03-09 09:00", "score", "ana"),
    ("G", "target", "2026-03-10 09:00", "recycle", None),
    ("H", "name", "2026-05-25 09:00", "created", None),
    ("H", "lead", "2026-05-26 10:00", "score", "ana"),
    ("H", "sales_lead", "2026-06-02 10:00", "qualified", "rob"),
])
TOUCHES = pd.DataFrame({
    "lead_id": ["A", "A", "A", "A", "C", "D", "G", "H"],
    "at": pd.to_datetime(["2026-03-03 11:15", "2026-03-03 11:30", "2026-03-20 10:00", "2026-03-23 09:15",
                          "2026-01-07 09:00", "2026-04-07 10:00", "2026-03-11 10:00", "2026-06-01 10:00"]),
    "kind": "call",
    "by": ["ana", "ben", "rob", "cara", "ana", "ben", "ana", "ana"],
})
AS_OF = "2026-06-01 00:00"

EXPECTED = pd.DataFrame(
    [
        # handoff_id, lead, handed_at, reason, propensity, owner, minutes, sql, opportunity, won, exit reason
        ("C#1", "C", "2026-01-07 09:00", "score", 1.0, "ana", 0.0, False, False, False, "qualified"),
        # ana's 11:15 call comes after the re-assignment to ben: ben's 11:30 call counts (90 working minutes)
        ("A#1", "A", "2026-03-03 10:00", "score", 1.0, "ana", 90.0, False, False, False, "recycle"),
        ("G#1", "G", "2026-03-09 09:00", "score", 1.0, "ana", np.nan, False, False, False, "recycle"),
        # Friday 09:30-17:00 (450) + Monday 09:00-09:15 (15); rob's Friday call is not the holder's
        ("A#2", "A", "2026-03-20 09:30", "hot", 1.0, "cara", 465.0, True, True, True, "qualified"),
        ("E#1", "E", "2026-04-01 12:00", "score", 1.0, NA, np.nan, False, False, False, NA),
        # Thursday 16:00-17:00 (60), Good Friday, weekend, Easter Monday closed, Tuesday 09:00-10:00 (60)
        ("D#1", "D", "2026-04-02 16:00", "manual", 1.0, "ben", 120.0, False, False, False, "disqualify"),
        ("B#1", "B", "2026-05-20 16:00", "exploration", np.nan, "dan", np.nan, NA, NA, NA, NA),
        ("H#1", "H", "2026-05-26 10:00", "score", 1.0, "ana", np.nan, NA, NA, NA, NA),
    ],
    columns=list(OUTCOME_COLUMNS),
)


def _expected(df=EXPECTED):
    out = df.copy()
    for c in ("handoff_id", "lead_id", "handoff_reason", "owner", "reason"):
        out[c] = out[c].astype("string")
    out["handed_at"] = pd.to_datetime(out["handed_at"]).astype("datetime64[ns]")
    for c in ("propensity", "response_minutes"):
        out[c] = out[c].astype(float)
    for c in ("sql", "opportunity", "won"):
        out[c] = out[c].astype("boolean")
    return out


def test_hand_worked_history(d):
    got = from_history(LOG, TOUCHES, d, as_of=AS_OF)
    pd.testing.assert_frame_equal(got, _expected())


def test_as_of_in_another_zone_is_read_as_local_time(d):
    got = from_history(LOG, TOUCHES, d, as_of="2026-05-31T22:00:00Z")  # 2026-06-01 00:00 in Berlin (CEST)
    pd.testing.assert_frame_equal(got, _expected())


def test_the_log_order_does_not_matter(d):
    got = from_history(LOG.iloc[::-1].reset_index(drop=True), TOUCHES.iloc[::-1], d, as_of=AS_OF)
    pd.testing.assert_frame_equal(got, _expected())


def test_without_by_the_first_touch_of_anyone_counts(d):
    got = from_history(LOG, TOUCHES.drop(columns="by"), d, as_of=AS_OF).set_index("handoff_id")["response_minutes"]
    # A#1: ana's 11:15 call (75); A#2: rob's Friday 10:00 call (30); G#1: the touch after the recycle still not
    assert got.to_dict() == pytest.approx({"C#1": 0.0, "A#1": 75.0, "G#1": np.nan, "A#2": 30.0, "E#1": np.nan,
                                           "D#1": 120.0, "B#1": np.nan, "H#1": np.nan}, nan_ok=True)


def test_without_touches_no_response_times(d):
    got = from_history(LOG, None, d, as_of=AS_OF)
    assert got["response_minutes"].isna().all()
    pd.testing.assert_frame_equal(got.drop(columns="response_minutes"),
                                  _expected().drop(columns="response_minutes"))


def test_earlier_as_of_ignores_later_events(d):
    """As of 2026-03-22 12:00: A#2 (Friday 09:30) is open and untouched by its holder yet; B, H, D, E not there."""
    got = from_history(LOG, TOUCHES, d, as_of="2026-03-22 12:00")
    exp = _expected(EXPECTED[EXPECTED["handoff_id"].isin(["C#1", "A#1", "G#1", "A#2"])]).reset_index(drop=True)
    exp.loc[3, ["response_minutes"]] = np.nan
    exp.loc[3, ["sql", "opportunity", "won"]] = pd.NA
    exp.loc[3, "reason"] = pd.NA
    pd.testing.assert_frame_equal(got, exp)


@pytest.mark.parametrize(
    ("sales_lead_at", "as_of", "sql"),
    [
        ("2026-04-01 10:00", "2026-06-01", True),            # exactly 30 days: the window's end counts
        ("2026-04-01 10:00:01", "2026-06-01", False),        # one second later: too late
        (None, "2026-04-01 10:00", False),                   # as_of at the window's end: it has passed
        (None, "2026-04-01 09:59:59", None),                 # one second before: still open
    ],
)
def test_window_boundaries(d, sales_lead_at, as_of, sql):
    rows = [("L1", "name", "2026-03-02 09:00", "created", None), ("L1", "lead", "2026-03-02 10:00", "score", "ana")]
    if sales_lead_at:
        rows.append(("L1", "sales_lead", sales_lead_at, "qualified", "rob"))
    got = from_history(_log(rows), None, d, as_of=as_of)["sql"].tolist()
    assert got == [pd.NA if sql is None else sql]


def test_window_comes_from_the_definition(d):
    short = d.model_copy(update={"funnel": d.funnel.model_copy(update={"outcome_window_days": 2})})
    got = from_history(LOG, TOUCHES, short, as_of=AS_OF).set_index("handoff_id")["sql"]
    assert not got["A#2"]  # Sales Lead 4 days and 4.5 hours after the hand-off
    assert got["B#1"] is not pd.NA and not got["B#1"]  # the 2-day window ended before as_of
    data = d.to_dict()
    data["funnel"]["outcome_window_days"] = 0
    with pytest.raises(DefinitionError, match=r"funnel\.outcome_window_days.*greater than 0"):
        parse_definition(data)


def test_propensity_from_the_log(d):
    log = LOG.assign(propensity=np.where(LOG["reason"] == "exploration", 0.05, np.nan))
    got = from_history(log, TOUCHES, d, as_of=AS_OF).set_index("handoff_id")["propensity"]
    assert got["B#1"] == 0.05 and (got.drop("B#1") == 1.0).all()
    with pytest.raises(DataError, match=r"stage_log\.propensity: row 0: propensity 'often'"):
        from_history(LOG.assign(propensity=["often"] + [None] * (len(LOG) - 1)), TOUCHES, d, as_of=AS_OF)


def test_empty_log_gives_an_empty_table(d):
    got = from_history(LOG.iloc[:0], None, d, as_of=AS_OF)
    assert list(got.columns) == list(OUTCOME_COLUMNS) and got.empty


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("log", "touches", "error", "message"),
    [
        (LOG.drop(columns="stage"), TOUCHES, SchemaError, r"stage_log: missing column\(s\) \['stage'\]"),
        (LOG.assign(stage=LOG["stage"].replace({"opportunity": "deal"})), TOUCHES, DataError,
         r"stage_log\.stage: row 6: unknown stage 'deal'"),
        (LOG[LOG["stage"] != "sales_lead"], TOUCHES, InvalidTransition, r"stage_log: lead A moves from Lead to "
                                                                          r"Opportunity"),
        (LOG, TOUCHES.drop(columns="at"), SchemaError, r"touches: missing column\(s\) \['at'\]"),
        (LOG, TOUCHES.assign(lead_id=["A", "A", "A", "A", "C", "Z", "G", "H"]), DataError,
         r"touches: row 5: touch on lead 'Z', which the stage log does not know"),
        (LOG, TOUCHES.assign(at=TOUCHES["at"].astype(str).replace({"2026-01-07 09:00:00": "soon"})), DataError,
         r"touches\.at: row 4: cannot read 'soon' as a time"),
        (LOG, TOUCHES.to_dict("list"), SchemaError, r"touches: touches is a DataFrame"),
    ],
)
def test_bad_input_names_table_column_and_row(d, log, touches, error, message):
    with pytest.raises(error, match=message) as err:
        from_history(log, touches, d, as_of=AS_OF)
    assert "\n" not in str(err.value)


def test_the_definition_and_as_of_are_required(d):
    with pytest.raises(DefinitionError, match=r"pass a LeadDefinition"):
        from_history(LOG, TOUCHES, None, as_of=AS_OF)
    with pytest.raises(TypeError, match="as_of"):
        from_history(LOG, TOUCHES, d)  # type: ignore[call-arg]
    with pytest.raises(DataError, match="as_of"):
        from_history(LOG, TOUCHES, d, as_of="whenever")


# --------------------------------------------------------------------------- the shipped sample


@pytest.fixture(scope="module")
def sample():
    return leadsim.load_sample()


def test_sample_matches_the_generators_outcomes(sample):
    """The generator's outcomes are its ground truth (leadsim.datasets, "SDRs" and "Reps").

    Hand-offs: every entry into Lead, the same set.  sql: the generator labels a hand-off once its SDR decides
    (qualify, recycle, disqualify) before the history's end (2026-11-01, the export moment) and leaves it NA
    otherwise; an SDR decides within days, so the 30-day window never cuts in and the labels agree everywhere,
    NA included.  opportunity/won: NA while open in both.  response_minutes: the generator records wall-clock
    minutes to the SDR's first touch; ours are working minutes on the calendar between the same two moments.
    """
    ours = from_history(sample.stage_log, sample.touches, sample.definition, as_of="2026-11-01")
    truth = sample.outcomes
    assert set(zip(ours["lead_id"], ours["handed_at"], strict=True)) == set(
        zip(truth["lead_id"], truth["handed_at"], strict=True))
    m = ours.merge(truth, on=["lead_id", "handed_at"], suffixes=("", "_truth"), validate="one_to_one")
    assert len(m) == len(truth) > 3000  # every hand-off of the sample's 22 months, matched one to one
    both = m["sql"].notna() & m["sql_truth"].notna()
    agree = int((m.loc[both, "sql"] == m.loc[both, "sql_truth"]).sum())
    assert agree == int(both.sum()) > 0.95 * len(m)  # every hand-off labelled by both agrees; nearly all are labelled
    for col in ("sql", "opportunity", "won"):
        assert (m[col].isna() == m[f"{col}_truth"].isna()).all(), col
        known = m[col].notna()
        assert (m.loc[known, col] == m.loc[known, f"{col}_truth"]).all(), col
    for col in ("handoff_reason", "owner"):
        assert (m[col] == m[f"{col}_truth"]).all(), col
    # ours is the exit row's reason as logged (a vocabulary id for recycles and disqualifications), the
    # generator's the SDR's decision: the id must be one of that decision's reasons in the definition
    d = sample.definition
    allowed = {"qualified": {"qualified"}, "recycle": set(d.exit_reasons("recycle")),
               "disqualify": set(d.exit_reasons("disqualify")), "-": {"-"}}
    pairs = zip(m["reason"].fillna("-"), m["reason_truth"].fillna("-"), strict=True)
    wrong = [(ours, truth) for ours, truth in pairs if ours not in allowed[truth]]
    assert not wrong, wrong[:5]
    assert set(m["reason_truth"].dropna()) == {"qualified", "recycle", "disqualify"}
    explore = m["handoff_reason"] == "exploration"
    assert m.loc[explore, "propensity"].isna().all() and (m.loc[~explore, "propensity"] == 1.0).all()
    cal = leadsim.BusinessCalendar.from_definition(sample.definition)
    has = m["response_minutes_truth"].notna()
    assert (m["response_minutes"].notna() == has).all()
    touched = m["handed_at"][has] + pd.to_timedelta(m["response_minutes_truth"][has], unit="min")
    want = cal.working_minutes_between(m["handed_at"][has], touched.dt.round("s"))
    np.testing.assert_allclose(m.loc[has, "response_minutes"], want, atol=1e-6)


# --------------------------------------------------------------------------- calibrate from a stage log


@pytest.fixture(scope="module")
def history(d):
    return leadsim.make_history(d, n_leads=4000, start="2025-01-01", end="2026-01-01", seed=7)


def test_calibrate_runs_from_a_stage_log_and_touches(d, history):
    tables = {k: getattr(history, k) for k in ("leads", "activities", "stage_log", "touches")}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", leadsim.LeadsimWarning)  # below Einstein's 1,000: warned, not refused
        cal = leadsim.calibrate(tables, d)
    assert time.perf_counter() - start < 20
    export = max(history.stage_log["at"].max(), history.touches["at"].max())  # calibrate's default as_of
    derived = from_history(history.stage_log, history.touches, d, as_of=export)
    labelled = derived[derived["sql"].notna()]
    assert len(cal.features) == len(labelled)
    assert set(cal.features.meta["lead_id"]) == set(labelled["lead_id"])
    assert cal.features.y.sum() == labelled["sql"].sum()
    assert cal.definition.version != d.version
    assert any("derived from the stage log" in n for n in cal.notes)
    assert cal.report.selection["unknown_propensity"] == int((labelled["handoff_reason"] == "exploration").sum())


def test_calibrate_refuses_a_tiny_history_in_one_line(d):
    tiny = leadsim.make_history(d, n_leads=300, start="2025-01-01", end="2025-05-01", seed=2)
    tables = {k: getattr(tiny, k) for k in ("leads", "activities", "stage_log", "touches")}
    with pytest.raises(DataError) as err:
        leadsim.calibrate(tables, d, as_of="2025-05-01")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("stage_log: too few labelled hand-offs to calibrate")
    assert "derived from the stage log as of 2025-05-01 00:00:00" in text
    assert "still inside their 30-day SQL window and unlabelled" in text
