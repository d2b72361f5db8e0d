"""Funnel: stage-log validation, snapshot conservation, waterfall and velocity by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim.errors import DataError, InvalidTransition, SchemaError
from leadsim.funnel import snapshot, validate_stage_log, velocity, waterfall

T = pd.Timestamp


def _log(rows):
    return pd.DataFrame(rows, columns=["lead_id", "stage", "at", "owner"]).assign(at=lambda d: pd.to_datetime(d["at"]))


# A: Name -> Lead -> Sales Lead -> Opportunity -> Customer
# B: Name -> Target -> Lead -> Target (recycled) -> Lead -> Disqualified
# C: enters at Sales Lead (outbound) -> Opportunity -> Lost
# D: Active (created in April, outside the March cohort)
ROWS = [
    ("A", "name", "2026-03-02 10:00", None),
    ("A", "lead", "2026-03-04 10:00", "sdr1"),
    ("A", "sales_lead", "2026-03-05 10:00", "ana"),
    ("A", "opportunity", "2026-03-09 10:00", "ana"),
    ("A", "customer", "2026-03-19 10:00", "ana"),
    ("B", "Name", "2026-03-03 12:00", None),
    ("B", "TARGET", "2026-03-04 12:00", None),
    ("B", "Lead", "2026-03-05 12:00", "sdr1"),
    ("B", "target", "2026-03-07 12:00", None),
    ("B", "lead", "2026-03-10 12:00", "sdr2"),
    ("B", "disqualified", "2026-03-11 12:00", "sdr2"),
    ("C", "Sales Lead", "2026-03-06 09:00", "ben"),
    ("C", "opportunity", "2026-03-08 09:00", "ben"),
    ("C", "lost", "2026-03-20 09:00", "ben"),
    ("D", "active", "2026-04-01 09:00", None),
]


@pytest.fixture
def log(definition):
    return validate_stage_log(_log(ROWS), definition)


def test_validate_sorts_types_and_normalises(log):
    assert log["stage"].tolist()[5:8] == ["name", "target", "lead"]
    assert log["lead_id"].is_monotonic_increasing
    assert log["at"].dtype == "datetime64[ns]"
    assert log["owner"].isna().sum() == 5


def test_validate_errors(definition):
    with pytest.raises(DataError, match=r"row 1: unknown stage 'Prospect'.*known|row 1: unknown stage 'Prospect'.*stages are"):
        validate_stage_log(_log([("A", "name", "2026-03-02", None), ("A", "Prospect", "2026-03-03", None)]), definition)
    with pytest.raises(InvalidTransition, match="lead A moves from Customer to Lead on 2026-03-04 00:00:00"):
        validate_stage_log(_log([("A", "opportunity", "2026-03-02", None), ("A", "customer", "2026-03-03", None),
                                 ("A", "lead", "2026-03-04", None)]), definition)
    with pytest.raises(InvalidTransition, match="lead X enters the funnel at Target"):
        validate_stage_log(_log([("X", "target", "2026-03-02", None)]), definition)
    # the earliest illegal move is named, not the first lead's
    with pytest.raises(InvalidTransition, match="lead Z moves from Name to Opportunity"):
        validate_stage_log(_log([("A", "name", "2026-03-02", None), ("A", "customer", "2026-03-09", None),
                                 ("Z", "name", "2026-03-02", None), ("Z", "opportunity", "2026-03-03", None)]), definition)
    with pytest.raises(SchemaError, match="missing column"):
        validate_stage_log(pd.DataFrame({"lead_id": ["A"]}), definition)
    with pytest.raises(DataError, match="cannot read 'yesterday'"):
        validate_stage_log(pd.DataFrame({"lead_id": ["A"], "stage": ["name"], "at": ["yesterday"]}), definition)


def test_tz_aware_times_are_converted(definition):
    raw = pd.DataFrame({"lead_id": ["A"], "stage": ["name"], "at": pd.to_datetime(["2026-03-02 09:00"]).tz_localize("UTC")})
    assert validate_stage_log(raw, definition)["at"].iloc[0] == T("2026-03-02 10:00")


def test_snapshot_by_hand(log, definition):
    s = snapshot(log, definition, as_of=T("2026-03-07 12:00"))
    assert s["stage"].to_dict() == {"A": "sales_lead", "B": "target", "C": "sales_lead"}
    assert s.loc["B", "since"] == T("2026-03-07 12:00")
    assert s.loc["A", "owner"] == "ana"


def test_waterfall_by_hand(log, definition):
    wf = waterfall(log, definition, start="2026-03-01", end="2026-04-01")
    st_ = wf.stages.set_index("stage")
    # cohort A, B, C; "reached" = that stage or a later main-path stage
    assert st_["reached"].to_dict() == {
        "name": 3, "active": 3, "target": 3, "lead": 3, "sales_lead": 2, "opportunity": 2, "customer": 1,
        "disqualified": 1, "lost": 1,
    }
    assert st_.loc["name", "entered"] == 2 and st_.loc["active", "entered"] == 0
    # conversion over the leads that went through the stage before: A and B entered Lead, only A went on
    # (C entered at Sales Lead and is not in the Lead denominator)
    assert st_.loc["sales_lead", "conversion"] == pytest.approx(1 / 2)
    assert st_.loc["customer", "conversion"] == pytest.approx(1 / 2)  # A and C entered Opportunity, A won
    assert st_.loc["lead", "conversion"] == 1.0  # B entered Target, then Lead
    assert np.isnan(st_.loc["target", "conversion"])  # nobody in the cohort entered Active
    assert st_["entered_here"].to_dict() == {
        "name": 2, "active": 0, "target": 0, "lead": 0, "sales_lead": 1, "opportunity": 0, "customer": 0,
        "disqualified": 0, "lost": 0,
    }
    assert np.isnan(st_.loc["name", "conversion"]) and np.isnan(st_.loc["lost", "conversion"])
    ex = wf.exits.iloc[0]
    assert (ex["cohort"], ex["recycled"], ex["disqualified"], ex["lost"]) == (3, pytest.approx(1 / 3), pytest.approx(1 / 3), pytest.approx(1 / 3))


def test_conversion_counts_only_leads_that_went_through_the_stage(definition):
    """Two outbound leads enter at Sales Lead; of four Name leads two reach Lead and one of those Sales Lead."""
    rows = [
        ("O1", "sales_lead", "2026-03-02 10:00", "ana"),
        ("O2", "sales_lead", "2026-03-02 11:00", "ben"),
        ("O2", "opportunity", "2026-03-04 11:00", "ben"),
        ("N1", "name", "2026-03-02 09:00", None),
        ("N1", "lead", "2026-03-03 09:00", "sdr1"),
        ("N1", "sales_lead", "2026-03-04 09:00", "ana"),
        ("N2", "name", "2026-03-02 09:30", None),
        ("N2", "lead", "2026-03-03 09:30", "sdr1"),
        ("N2", "disqualified", "2026-03-05 09:30", "sdr1"),
        ("N3", "name", "2026-03-02 10:30", None),
        ("N4", "name", "2026-03-02 11:30", None),
        ("N4", "target", "2026-03-06 11:30", None),
    ]
    st_ = waterfall(_log(rows), definition).stages.set_index("stage")
    assert st_.loc["sales_lead", "conversion"] == 0.5  # 1 of the 2 that entered Lead; the outbound leads do not count
    assert st_.loc["sales_lead", "converted"] == 1 and st_.loc["lead", "entered"] == 2
    assert st_.loc["sales_lead", "reached"] == 3 and st_.loc["sales_lead", "entered_here"] == 2
    assert st_.loc["lead", "reached"] == 4  # "reached" still counts the leads that came in further down
    assert st_.loc["opportunity", "conversion"] == pytest.approx(1 / 3)  # O1, O2, N1 entered Sales Lead; O2 went on
    assert st_.loc["active", "conversion"] == pytest.approx(3 / 4)  # N1, N2, N4 went past Name


def test_waterfall_grouped(log, definition):
    leads = pd.DataFrame({"lead_id": ["A", "B", "C", "D"], "source": ["web_form", "web_form", "outbound", "paid"]})
    wf = waterfall(log, definition, by="source", leads=leads)
    reached = wf.stages.set_index(["source", "stage"])["reached"]
    assert reached[("web_form", "name")] == 2 and reached[("outbound", "sales_lead")] == 1 and reached[("paid", "active")] == 1
    by_month = waterfall(log, definition, by="month").exits.set_index("month")["cohort"].to_dict()
    assert by_month == {"2026-03": 3, "2026-04": 1}
    by_owner = waterfall(log, definition, by="owner").exits.set_index("owner")["cohort"].to_dict()
    assert by_owner == {"(none)": 1, "ben": 1, "sdr1": 2}
    with pytest.raises(SchemaError, match="no column 'region'"):
        waterfall(log, definition, by="region", leads=leads)


def test_velocity_by_hand(log, definition):
    v = velocity(log, definition)
    # Lead visits: A 1 day, B 2 days and 1 day (the recycled loop is its own visit)
    assert v.loc["lead", "visits"] == 3 and v.loc["lead", "median_days"] == pytest.approx(1.0)
    assert v.loc["target", "visits"] == 2 and v.loc["target", "median_days"] == pytest.approx(2.0)  # 1 and 3 days
    assert v.loc["active", "open"] == 1 and v.loc["customer", "open"] == 1
    # Name -> Lead: A 2 days, B 2 days; Name -> Customer: A 17 days
    assert v.loc["lead", "from_name_median_days"] == pytest.approx(2.0)
    assert v.loc["customer", "from_name_median_days"] == pytest.approx(17.0)
    assert v.loc["opportunity", "from_name_leads"] == 1  # C did not start at Name


# ------------------------------------------------------------------ properties


def _random_log(seed: int, definition, n_leads: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    moves: dict[str, list[str]] = {}
    for a, b in sorted(definition.funnel.allowed()):
        moves.setdefault(a, []).append(b)
    rows = []
    for i in range(n_leads):
        t = T("2026-03-01") + pd.Timedelta(hours=int(rng.integers(0, 24 * 30)))
        stage = str(rng.choice(definition.funnel.entry))
        for _ in range(int(rng.integers(1, 8))):
            rows.append((f"L{i}", stage, t, None))
            if stage not in moves:
                break
            stage = str(rng.choice(moves[stage]))
            t += pd.Timedelta(hours=int(rng.integers(1, 24 * 10)))  # distinct times: ties have no order
    return _log(rows)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=st.integers(0, 60))
def test_snapshot_conservation(definition, seed, day):
    raw = _random_log(seed, definition)
    log = validate_stage_log(raw.sample(frac=1, random_state=seed % 1000), definition)  # input order does not matter
    at = T("2026-03-01") + pd.Timedelta(days=day)
    snap = snapshot(log, definition, as_of=at)
    exist = raw.groupby("lead_id")["at"].min()
    assert snap["stage"].value_counts().sum() == int((exist <= at).sum())
    # reference: the last row at or before `at`, lead by lead
    for lead, rows in raw.groupby("lead_id"):
        before = rows[rows["at"] <= at]
        if len(before):
            assert snap.loc[lead, "stage"] == before.iloc[-1]["stage"]
    # waterfall monotone along the main path
    wf = waterfall(log, definition).stages
    main = wf[wf["part"] != "exit"]["reached"].to_numpy()
    assert (np.diff(main) <= 0).all() and main[0] == log["lead_id"].nunique()
    # conversion: reference loop lead by lead (entered A, later reached B or a later main stage)
    path = wf[wf["part"] != "exit"]["stage"].tolist()
    rank = {s: i for i, s in enumerate(path)}
    conv = wf.set_index("stage")["conversion"]
    for a, b in itertools.pairwise(path):
        den = num = 0
        for _, rows in raw.sort_values("at").groupby("lead_id"):
            stages = rows["stage"].tolist()
            if a in stages:
                den += 1
                num += any(rank.get(s, -1) >= rank[b] for s in stages[stages.index(a) + 1 :])
        assert (np.isnan(conv[b]) and den == 0) or conv[b] == pytest.approx(num / den)


def test_cli_and_plots(tmp_path, capsys, log, definition):
    import json

    import matplotlib.pyplot as plt

    from leadsim.cli import main
    from leadsim.plots.funnel import plot_time_in_stage, plot_waterfall

    path = tmp_path / "log.csv"
    _log(ROWS).to_csv(path, index=False)
    assert main(["funnel", "--log", str(path), "--start", "2026-03-01", "--end", "2026-04-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["stage"]: r["reached"] for r in out["waterfall"]}["sales_lead"] == 2
    assert main(["funnel", "--log", str(path), "--by", "month"]) == 0
    assert "2026-04" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    _log([("A", "name", "2026-03-02", None), ("A", "customer", "2026-03-03", None)]).to_csv(bad, index=False)
    assert main(["funnel", "--log", str(bad), "--strict"]) == 2
    assert "line 3: illegal move Name → Customer (lead A)" in capsys.readouterr().err
    ax = plot_waterfall(waterfall(log, definition))
    assert len(ax.patches) == len(definition.funnel.stages)
    ax = plot_time_in_stage(velocity(log, definition))
    assert ax.get_xlabel().startswith("days")
    plt.close("all")
