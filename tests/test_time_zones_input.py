"""Times with a zone (``Z``, ``+01:00``) read the same as the home zone's naive local times.

The reference is pandas' own zone conversion: the sample history's naive
Berlin times are written out once as UTC instants with ``Z`` and once with
Berlin's own offsets (``+01:00`` before 29 March 2026, ``+02:00`` after), and
the audits of all three must be identical, through the API and through files.
"""

from __future__ import annotations

import pandas as pd
import pytest

from leadsim import audit, load_definition
from leadsim.calendar import BusinessCalendar
from leadsim.datasets import load_sample
from leadsim.errors import DataError
from leadsim.funnel import to_local
from leadsim.io import read_tables


@pytest.fixture(scope="module")
def spring():
    """Leads of the sample whose stage log starts in March 2026 (Europe moves its clocks on 29 March)."""
    h = load_sample()
    log, touches = h.stage_log, h.touches
    first = log.groupby("lead_id")["at"].min()
    keep = first[(first >= "2026-03-01") & (first < "2026-04-01")].index
    log = log[log["lead_id"].isin(keep)].reset_index(drop=True)
    touches = touches[touches["lead_id"].isin(keep)].reset_index(drop=True)
    reps = h.owners.index[h.owners["role"] == "rep"]
    owners = h.owners.assign(calendar=None)
    owners.loc[reps[:2], "calendar"] = ["boston", "london"]           # clocks on three zones' calendars
    assert len(log) > 200 and log["at"].dt.month.isin([3, 4]).any()
    return h.definition, log, touches, owners


def as_text(times: pd.Series, how: str) -> pd.Series:
    aware = times.dt.tz_localize("Europe/Berlin", ambiguous=False, nonexistent="raise")
    if how == "Z":
        return aware.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return aware.map(lambda t: t.isoformat())            # 2026-03-02T10:00:00+01:00


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.alerts, b.alerts)
    assert a.summary.keys() == b.summary.keys()
    for k, v in a.summary.items():
        if isinstance(v, pd.DataFrame):
            pd.testing.assert_frame_equal(v, b.summary[k])
        else:
            assert v == b.summary[k], k


@pytest.mark.parametrize("how", ["Z", "offset"])
def test_the_same_history_in_utc_or_with_offsets_gives_the_same_audit(spring, how):
    definition, log, touches, owners = spring
    naive = audit(log, touches, definition, owners=owners, as_of="2026-05-15")
    zoned = audit(log.assign(at=as_text(log["at"], how)), touches.assign(at=as_text(touches["at"], how)),
                  definition, owners=owners, as_of="2026-05-14T22:00:00Z" if how == "Z" else "2026-05-15T00:00:00+02:00")
    assert len(naive.alerts) > 50
    _same(naive, zoned)


def test_the_same_history_read_from_files_in_utc_gives_the_same_audit(spring, tmp_path):
    definition, log, touches, owners = spring
    leads = load_sample().leads
    leads = leads[leads["lead_id"].isin(log["lead_id"])]
    for name, zone in (("naive", None), ("utc", "Z")):
        d = tmp_path / name
        d.mkdir()

        def conv(s: pd.Series, zone: str | None = zone) -> pd.Series:
            return s if zone is None else as_text(s, zone)

        leads.assign(created_at=conv(leads["created_at"])).to_csv(d / "leads.csv", index=False)
        log.assign(at=conv(log["at"])).to_csv(d / "stage_log.csv", index=False)
        touches.assign(at=conv(touches["at"])).to_csv(d / "touches.csv", index=False)
        owners.to_csv(d / "owners.csv", index=False)
    got = {}
    for name in ("naive", "utc"):
        t = read_tables(tmp_path / name / "leads.csv", stage_log=tmp_path / name / "stage_log.csv",
                        touches=tmp_path / name / "touches.csv", owners=tmp_path / name / "owners.csv",
                        definition=definition)
        got[name] = audit(t["stage_log"], t["touches"], definition, owners=t["owners"], as_of="2026-05-15")
    _same(got["naive"], got["utc"])


def test_offsets_that_change_with_daylight_saving_convert_each_by_its_own():
    d = load_definition()
    s = pd.Series(["2026-03-27T09:00:00+01:00", "2026-03-30T09:00:00+02:00", "2026-03-30T07:00:00Z",
                   "2026-03-30T03:00:00-04:00"])
    assert to_local(s, d, where="log").tolist() == [pd.Timestamp("2026-03-27 09:00")] + [pd.Timestamp("2026-03-30 09:00")] * 3


def test_a_column_mixing_zoned_and_naive_times_is_refused_naming_rows():
    d = load_definition()
    log = pd.DataFrame({"lead_id": ["A", "B"], "stage": ["lead", "lead"], "owner": ["x", "x"],
                        "at": ["2026-03-02T09:00:00Z", "2026-03-02 10:00"]})
    with pytest.raises(DataError, match=r"stage_log\.at: mixed time zones: 1 value\(s\) carry a zone \(row 0: "
                                        r"'2026-03-02T09:00:00Z'\) and 1 do not \(row 1: '2026-03-02 10:00'\)"):
        audit(log, None, d, as_of="2026-03-10")


def test_tz_aware_datetime_columns_are_converted_not_shifted():
    cal = BusinessCalendar("Europe/Berlin")
    s = pd.Series(pd.to_datetime(["2026-03-09 13:00", "2026-11-02 14:00"])).dt.tz_localize("America/New_York")
    # 13:00 EDT = 17:00 UTC = 18:00 CET (Europe still on winter time); 14:00 EST = 19:00 UTC = 20:00 CET
    assert cal.localize(s).tolist() == [pd.Timestamp("2026-03-09 18:00"), pd.Timestamp("2026-11-02 20:00")]
