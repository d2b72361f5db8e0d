"""Tests of leadsim.scoring: hand-computed cases, bad input, and (below) the
differential test against the slow reference scorer in tests/reference_scorer.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsim.errors import DataError, SchemaError
from leadsim.scoring import contributions, explain, required_columns, score


def _leads(definition, rows):
    return pd.DataFrame(rows).reindex(columns=required_columns(definition)["leads"])


def _acts(rows):
    df = pd.DataFrame(rows, columns=["lead_id", "activity", "at", "detail"])
    df["at"] = pd.to_datetime(df["at"])
    return df


def test_hand_computed_lead(definition):
    leads = _leads(
        definition,
        [
            {"lead_id": "L1", "seniority": "director", "email": "ann@acme.de", "company_size": 1200,
             "bant_budget": "approved", "products_in_use": "SAP ERP; Excel", "job_title": "Head of Sales"},
            {"lead_id": "L2", "seniority": "student", "email": "bob@gmail.com"},
        ],
    )
    acts = _acts(
        [
            ("L1", "web_visit", "2026-03-17", "/pricing"),  # 14 days old: weight 0.5
            ("L1", "web_visit", "2026-03-31", "/blog"),  # weight 1
            ("L1", "unsubscribe", "2025-01-01", None),  # no window, no decay: -30
            ("L1", "webinar", "2026-04-02", None),  # after as_of: ignored
        ]
    )
    c = contributions(leads, acts, definition, as_of="2026-03-31")
    # fit: director 15 + revenue_role 10 + business e-mail 10 + 1000+ 25 + ERP 10 + budget 15
    assert c.loc["L1", ["director", "revenue_role", "business_email", "size_enterprise", "runs_erp", "bant_budget"]].tolist() == [15, 10, 10, 25, 10, 15]
    assert c.loc["L1", "web_visit"] == pytest.approx(1.5)
    assert c.loc["L1", "pricing_page"] == pytest.approx(5.0)
    assert c.loc["L1", "unsubscribed"] == -30
    assert c.loc["L1", "recently_active"] == 5
    assert c.loc["L1", "webinar"] == 0
    assert c.loc["L2"].sum() == -40 - 10  # student, private e-mail; no business_email (negated regex, present)
    s = score(leads, acts, definition, as_of="2026-03-31")
    assert s.loc["L1", "fit_score"] == 85
    assert s.loc["L1", "behaviour_score"] == pytest.approx(1.5 + 5 - 30 + 5)
    assert s.loc["L1", "grade"] == "A" and s.loc["L2", "grade"] == "D"
    assert s.loc["L1", "engagement"] == "4"
    np.testing.assert_allclose(s["score"], c.sum(axis=1), atol=1e-9)


def test_missing_value_never_matches_even_negated(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    c = contributions(leads, None, definition, as_of="2026-01-01")
    assert (c.loc["L1"] == 0).all()  # business_email is a negated regex: no e-mail, no points


def test_cap_and_hot_and_mql(definition):
    # director 15 + 300 employees 20 = fit 35, grade C: the sample's hot gate lets grade C through
    leads = _leads(definition, [{"lead_id": "L1", "seniority": "director", "company_size": 300}])
    acts = _acts([("L1", "form_fill", "2026-03-30", "contact_us")] + [("L1", "web_visit", "2026-03-31", "/x")] * 40)
    s = score(leads, acts, definition, as_of="2026-03-31")
    c = contributions(leads, acts, definition, as_of="2026-03-31")
    assert c.loc["L1", "web_visit"] == 15  # capped
    assert c.loc["L1", "frequent_visitor"] == 10
    assert bool(s.loc["L1", "is_hot"]) and s.loc["L1", "hot_reason"] == "Contact-us form"
    assert bool(s.loc["L1", "is_mql"])
    # the hot window is 14 days: 20 days later the trigger is gone
    later = score(leads, acts, definition, as_of="2026-04-20")
    assert not bool(later.loc["L1", "is_hot"])


def test_restart_on_recycle_ignores_earlier_activities(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L1", "webinar", "2026-03-01", None), ("L1", "webinar", "2026-03-20", None)])
    log = pd.DataFrame(
        {"lead_id": ["L1"] * 3, "stage": ["target", "lead", "target"],
         "at": pd.to_datetime(["2026-02-01", "2026-03-02", "2026-03-10"])}
    )
    with_log = contributions(leads, acts, definition, as_of="2026-03-20", stage_log=log)
    without = contributions(leads, acts, definition, as_of="2026-03-20")
    assert with_log.loc["L1", "webinar"] == 15
    assert without.loc["L1", "webinar"] == pytest.approx(15 + 15 * 0.5 ** (19 / 45))


def test_timezones_and_string_as_of(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L1", "webinar", "2026-03-31 22:30", None)])
    acts["at"] = acts["at"].dt.tz_localize("UTC")  # 00:30 on April 1st in Berlin
    assert contributions(leads, acts, definition, as_of="2026-03-31 23:59").loc["L1", "webinar"] == 0
    assert contributions(leads, acts, definition, as_of="2026-04-01 00:30").loc["L1", "webinar"] == 15


def test_unknown_lead_ids_raise(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    acts = _acts([("L9", "webinar", "2026-03-01", None), ("L8", "webinar", "2026-03-01", None)])
    with pytest.raises(DataError, match="L9"):
        score(leads, acts, definition, as_of="2026-03-31")


def test_missing_columns_raise(definition):
    leads = _leads(definition, [{"lead_id": "L1"}]).drop(columns="seniority")
    with pytest.raises(SchemaError, match=r"leads.*seniority"):
        score(leads, None, definition, as_of="2026-03-31")
    acts = _acts([]).drop(columns="at")
    with pytest.raises(SchemaError, match=r"activities.*'at'"):
        score(_leads(definition, [{"lead_id": "L1"}]), acts, definition, as_of="2026-03-31")


def test_bad_as_of_and_duplicate_leads(definition):
    leads = _leads(definition, [{"lead_id": "L1"}])
    with pytest.raises(DataError, match="as_of"):
        score(leads, None, definition, as_of="not a date")
    with pytest.raises(DataError, match=r"duplicate.*L1"):
        score(pd.concat([leads, leads]), None, definition, as_of="2026-01-01")


def test_explain_orders_factors(definition):
    c = pd.DataFrame({"a": [5.0], "b": [-3.0], "c": [9.0], "d": [0.0]}, index=pd.Index(["L1"], name="lead_id"))
    d = definition.model_copy(deep=True)
    ex = explain(c.rename(columns={"a": "director", "b": "student", "c": "senior_exec", "d": "manager"}), d, lead_id="L1", n=3)
    assert ex["rule_id"].tolist() == ["senior_exec", "director", "student"]
    assert ex["direction"].tolist() == ["+", "+", "-"]
    with pytest.raises(DataError, match="L2"):
        explain(c, d, lead_id="L2")


def test_priority_and_urgency(definition):
    ids = [f"L{i}" for i in range(10)]
    leads = _leads(definition, [{"lead_id": i} for i in ids])
    # L0..L9 attend 0..9 webinars two days before as_of (each 15 * 0.5**(2/45), capped at 30)
    rows = [(lid, "webinar", "2026-03-29", None) for k, lid in enumerate(ids) for _ in range(k)]
    s = score(leads, _acts(rows), definition, as_of="2026-03-31")
    one = 15 * 0.5 ** (2 / 45)
    assert s.loc["L1", "behaviour_score"] == pytest.approx(one + 5)  # + recently active
    # scores 0, one + 5 and eight times 35: both percentiles are 35, nobody is above: one star each
    assert s.loc["L0", "priority"] == 1 and s.loc["L1", "priority"] == 1 and s.loc["L9", "priority"] == 1
    # gains over 7 days equal the behaviour scores (nothing before): 0 -> 0, 19.4 -> 1 flame, 35 -> 2 flames
    assert s["urgency"].tolist() == [0, 1] + [2] * 8


def test_priority_stars_follow_percentiles(definition):
    ids = [f"L{i}" for i in range(5)]
    sizes = [None, 60, 300, 2000, 2000]  # fit 0, 10, 20, 25, 25
    leads = _leads(definition, [{"lead_id": i, "company_size": z} for i, z in zip(ids, sizes, strict=True)])
    s = score(leads, None, definition, as_of="2026-03-31")
    # 50th percentile 20, 80th 25: stars 1 + (score > 20) + (score > 25)
    assert s["priority"].tolist() == [1, 1, 1, 2, 2]


def test_plots_from_a_snapshot(definition):
    from leadsim.plots.scoring import plot_grade_engagement, plot_score_distribution

    leads = _leads(definition, [{"lead_id": "L1", "seniority": "vp"}, {"lead_id": "L2", "company_size": 5000}])
    s = score(leads, None, definition, as_of="2026-03-31")
    ax = plot_score_distribution(s, mql=definition.thresholds.mql, grades=definition.thresholds.fit_grades)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B", "C", "D"]
    ax = plot_grade_engagement(s, grades=definition.thresholds.fit_grades, engagement=definition.thresholds.engagement)
    counts = ax.images[0].get_array()
    assert counts.shape == (4, 4) and counts[2, 3] == 2  # both fit 25: grade C, engagement 4


# --------------------------------------------------------------------------- differential test

import math  # noqa: E402
from unittest import mock  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import leadsim.scoring.mql  # noqa: E402
from leadsim.definition import parse_definition  # noqa: E402
from leadsim.scoring import mql_events  # noqa: E402
from tests.reference_scorer import reference_mql_events, reference_score  # noqa: E402

BASE = pd.Timestamp("2026-01-01")
ACTIVITIES = ["a1", "a2", "a3"]
DETAILS = ["/pricing", "/careers/jobs", "Price-List", "doc", None]
TEXTS = ["Alpha", "beta", "ALPHA x", "crm-lead", "", "12", None]
CATS = ["a", "b", "c", None]
NUMS = [0, 1, 2.5, 5, 10, None]
WINDOWS = [None, 0.5, 1, 3, 7, 30, 2.75]
points = st.sampled_from([-50, -10, -2.5, -1, 1, 2, 5, 10, 25, 40])


@st.composite
def fit_rule(draw, i):
    kind = draw(st.sampled_from(["num", "cat", "txt"]))
    negate = draw(st.booleans())
    if kind == "num":
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "range", "between", "exists"]))
        cond = {"op": op}
        if op in ("eq", "ne"):
            cond["value"] = draw(st.sampled_from([0, 1, 2.5, 5]))
        elif op in ("in", "not_in"):
            cond["value"] = draw(st.lists(st.sampled_from([0, 1, 2.5, 5, 10]), min_size=1, max_size=3))
        elif op in ("range", "between"):
            lo = draw(st.sampled_from([None, 0, 1, 2.5, 5]))
            hi = draw(st.sampled_from([None, 5, 10]) if lo is not None else st.sampled_from([5, 10]))
            cond.update({k: v for k, v in (("min", lo), ("max", hi)) if v is not None})
        else:
            cond["value"] = draw(st.booleans())
    elif kind == "cat":
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "contains", "regex", "exists"]))
        cond = {"op": op}
        if op in ("eq", "ne"):
            cond["value"] = draw(st.sampled_from(["a", "b", "c"]))
        elif op in ("in", "not_in"):
            cond["value"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2))
        elif op in ("contains", "regex"):
            cond["value"] = draw(st.sampled_from(["A", "b", "^c$", "a|b"]))
        else:
            cond["value"] = draw(st.booleans())
    else:
        op = draw(st.sampled_from(["eq", "in", "contains", "regex", "exists", "ne"]))
        cond = {"op": op}
        if op in ("eq", "ne"):
            cond["value"] = draw(st.sampled_from(["Alpha", "beta", "12"]))
        elif op == "in":
            cond["value"] = draw(st.lists(st.sampled_from(["Alpha", "beta", ""]), min_size=1, max_size=2))
        elif op in ("contains", "regex"):
            cond["value"] = draw(st.sampled_from(["alpha", "^a", "x$", r"\d", "crm|beta", "a.?p"]))
        else:
            cond["value"] = draw(st.booleans())
    return {"id": f"f{i}", "category": "demographic", "attribute": kind, "negate": negate,
            "points": draw(points), **cond}


@st.composite
def detail_filter(draw):
    op = draw(st.sampled_from(["eq", "in", "contains", "regex"]))
    value = {
        "eq": st.sampled_from(["/pricing", "doc"]),
        "in": st.lists(st.sampled_from(["/pricing", "doc", "Price-List"]), min_size=1, max_size=2),
        "contains": st.sampled_from(["/careers", "price", "p"]),
        "regex": st.sampled_from(["^/p", "list$", "o"]),
    }[op]
    return {"op": op, "value": draw(value), "negate": draw(st.booleans())}


@st.composite
def behaviour_rule(draw, i):
    activity = draw(st.sampled_from(ACTIVITIES) | st.lists(st.sampled_from(ACTIVITIES), min_size=1, max_size=2, unique=True))
    rule = {"id": f"b{i}", "activity": activity, "points": draw(points)}
    if draw(st.integers(0, 2)) == 0:
        rule["detail"] = draw(detail_filter())
    mode = draw(st.sampled_from(["each", "each", "at_least", "recency"]))
    rule["mode"] = mode
    window = draw(st.sampled_from(WINDOWS))
    if mode == "each":
        for key, choices in (("cap", [None, 5, 12.5, 30]), ("half_life_days", [None, 0.25, 1, 7, 30])):
            v = draw(st.sampled_from(choices))
            if v is not None:
                rule[key] = v
        if window is not None:
            rule["window_days"] = window
    else:
        rule["window_days"] = window or 7
        if mode == "at_least":
            rule["min_count"] = draw(st.integers(1, 3))
    return rule


@st.composite
def gate(draw, rule_ids, grades):
    """An MQL or hot gate on the drawn rules: often none, sometimes every kind of check."""
    out = {}
    if draw(st.booleans()):
        out["min_behaviour"] = draw(st.sampled_from([0, 1, 5, 12.5]))
    if draw(st.booleans()):
        out["min_grade"] = draw(st.sampled_from(grades))
    out["exclude"] = draw(st.lists(st.sampled_from(rule_ids), unique=True, max_size=2))
    return out


@st.composite
def definitions(draw, base):
    data = base.to_dict()
    data["attributes"] = [
        {"name": "num", "type": "number"},
        {"name": "cat", "type": "category", "allowed": ["a", "b", "c"]},
        {"name": "txt", "type": "text"},
    ]
    data["fit_rules"] = [draw(fit_rule(i)) for i in range(draw(st.integers(0, 4)))]
    data["bant"] = {}
    if draw(st.booleans()):
        data["bant"]["budget"] = {"attribute": "cat", "op": "in", "value": ["a", "b"], "points": 7}
    data["behaviour_rules"] = [draw(behaviour_rule(i)) for i in range(draw(st.integers(1, 5)))]
    data["hot_triggers"] = []
    for i in range(draw(st.integers(0, 2))):
        trig = {"id": f"h{i}", "label": f"Hot {i}", "activity": draw(st.sampled_from(ACTIVITIES)),
                "window_days": draw(st.sampled_from([0.5, 2, 14]))}
        if draw(st.booleans()):
            trig["detail"] = draw(detail_filter())
        data["hot_triggers"].append(trig)
    data["thresholds"]["mql"] = draw(st.sampled_from([0, 10, 20, 40]))
    data["thresholds"].pop("matrix", None)
    rule_ids = [r["id"] for r in data["fit_rules"]] + [f"bant_{k}" for k in data["bant"]]
    rule_ids += [r["id"] for r in data["behaviour_rules"]]
    data["gates"] = {name: draw(gate(rule_ids, list(data["thresholds"]["fit_grades"]))) for name in ("mql", "hot")}
    data["on_recycle"] = draw(st.sampled_from(["keep", "restart"]))
    return parse_definition(data)


@st.composite
def tables(draw):
    """1-3 leads, dense activity on a 6-hour grid around ``as_of`` (so window edges get hit), recycles."""
    n = draw(st.integers(1, 3))
    ids = [f"L{i}" for i in range(n)]
    end = 24 * 40  # as_of lies on day 40 .. 42
    as_of = BASE + pd.Timedelta(hours=end + 6 * draw(st.integers(0, 8)))
    hours = st.integers(0, (end + 48) // 6).map(lambda k: 6 * k)
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "num": [draw(st.sampled_from(NUMS)) for _ in ids],
            "cat": [draw(st.sampled_from(CATS)) for _ in ids],
            "txt": [draw(st.sampled_from(TEXTS)) for _ in ids],
            "created_at": [None if draw(st.integers(0, 4)) == 0 else BASE + pd.Timedelta(hours=draw(hours)) for _ in ids],
        }
    )
    leads["created_at"] = pd.to_datetime(leads["created_at"])
    rows = draw(
        st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ACTIVITIES), hours, st.sampled_from(DETAILS)), min_size=6, max_size=40)
    )
    acts = pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "at": pd.to_datetime([BASE + pd.Timedelta(hours=r[2]) for r in rows]),
            "detail": [r[3] for r in rows],
        }
    )
    log_rows = []
    for lid in ids:
        for stage, at in zip(["target", "lead", "target", "lead", "sales_lead", "target"], sorted(draw(st.lists(hours, max_size=6))), strict=False):
            log_rows.append((lid, stage, at))
    log = pd.DataFrame(
        {
            "lead_id": [r[0] for r in log_rows],
            "stage": [r[1] for r in log_rows],
            "at": pd.to_datetime([BASE + pd.Timedelta(hours=r[2]) for r in log_rows]),
        }
    )
    if draw(st.booleans()):  # exports sorted by time take the engine's slice path
        acts = acts.sort_values("at", kind="stable").reset_index(drop=True)
    return leads, acts, (log if draw(st.integers(0, 3)) else None), as_of


SLOW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(data=st.data())
def test_engine_agrees_with_reference(definition, data):
    d = data.draw(definitions(definition))
    leads, acts, log, as_of = data.draw(tables())
    ref = reference_score(leads, acts, d, as_of, stage_log=log)
    c = contributions(leads, acts, d, as_of=as_of, stage_log=log)
    s = score(leads, acts, d, as_of=as_of, stage_log=log)
    assert list(c.columns) == d.rule_ids
    labels = {t.id: t.label for t in d.hot_triggers}
    for lid, r in ref.items():
        for rid in d.rule_ids:
            assert math.isclose(c.loc[lid, rid], r["contrib"][rid], abs_tol=1e-9), (lid, rid)
        assert math.isclose(s.loc[lid, "score"], r["score"], abs_tol=1e-9)
        assert bool(s.loc[lid, "is_hot"]) == (r["hot"] is not None)
        assert bool(s.loc[lid, "is_mql"]) == r["mql"]
        held = s.loc[lid, "held_by"]
        assert (None if pd.isna(held) else held) == r["held_by"]
        reason = s.loc[lid, "hot_reason"]
        assert (None if pd.isna(reason) else reason) == labels.get(r["hot"])
    np.testing.assert_allclose(s["score"], c.sum(axis=1), atol=1e-9)


def _in_chunks(df: pd.DataFrame, columns: list[str], cuts: list[int]) -> tuple[pd.DataFrame, int]:
    """``df`` with text ``columns`` as Arrow string chunks cut at ``cuts``, turned into pandas as a database's Arrow
    batches are (``Database.fetch(...).to_pandas()``); and how many chunks (empty ones are dropped)."""
    import itertools

    import pyarrow as pa

    bounds = [0, *sorted(min(c, len(df)) for c in cuts), len(df)]
    pieces = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    chunked = {c: pa.chunked_array([pa.array(df[c].iloc[a:b].astype(object).where(df[c].iloc[a:b].notna(), None)
                                             .tolist(), pa.string()) for a, b in pieces], pa.string())
               for c in columns}
    text = pa.table(chunked).to_pandas()
    return df.assign(**{c: text[c].set_axis(df.index) for c in columns}), len(pieces)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), form=st.sampled_from(["category", "str", "chunks"]))
def test_long_tables_split_over_cores_score_as_the_reference(definition, data, form):
    """Long text columns are encoded and looked up one slice a core; slices of 2 rows force that path here.

    ``chunks``: text in Arrow chunks whose edges fall anywhere against the slices (as DuckDB and PostgreSQL
    hand it over), read chunk by chunk."""
    from unittest import mock

    import pyarrow as pa

    d = data.draw(definitions(definition))
    leads, acts, log, as_of = data.draw(tables())
    text = ["lead_id", "activity", "detail"]
    if form == "category":
        acts = acts.astype(dict.fromkeys(text, "category"))
    elif form == "str":
        acts = acts.astype(dict.fromkeys(text, "str"))
    else:
        cuts = data.draw(st.lists(st.integers(0, len(acts)), min_size=1, max_size=6))
        acts, pieces = _in_chunks(acts, text, cuts)
        held = pa.array(acts["activity"].array)
        assert (held.num_chunks if isinstance(held, pa.ChunkedArray) else 1) == pieces
    ref = reference_score(leads, acts, d, as_of, stage_log=log)
    with mock.patch("leadsim.scoring.inputs._SLICE", 2):
        c = contributions(leads, acts, d, as_of=as_of, stage_log=log)
    for lid, r in ref.items():
        for rid in d.rule_ids:
            assert math.isclose(c.loc[lid, rid], r["contrib"][rid], abs_tol=1e-9), (lid, rid)


def test_missing_details_in_chunks_stay_missing_on_the_long_path(definition):
    """A missing detail matches no detail filter, also when the text comes in chunks and is encoded one slice a core:
    here each slice's first detail is '/pricing' (10 points a visit), and L2's visits have none."""
    from unittest import mock

    leads = _leads(definition, [{"lead_id": "L1"}, {"lead_id": "L2"}])
    rows = [("L1", "web_visit", f"2026-03-{d:02d}", "/pricing") for d in (2, 3)]
    rows += [("L2", "web_visit", f"2026-03-{d:02d}", None) for d in (4, 5, 6, 7)]
    rows += [("L1", "web_visit", "2026-03-08", "/pricing")] + [("L2", "web_visit", "2026-03-09", None)] * 5
    acts, pieces = _in_chunks(_acts(rows), ["lead_id", "activity", "detail"], [3, 5, 9])
    assert pieces == 4
    ref = reference_score(leads, _acts(rows), definition, "2026-03-10")
    with mock.patch("leadsim.scoring.inputs._SLICE", 2):  # 12 rows: two slices of 6
        c = contributions(leads, acts, definition, as_of="2026-03-10")
    assert c.loc["L2", "pricing_page"] == 0 and c.loc["L1", "pricing_page"] > 0
    for lid, r in ref.items():
        for rid in definition.rule_ids:
            assert math.isclose(c.loc[lid, rid], r["contrib"][rid], abs_tol=1e-9), (lid, rid)


@pytest.mark.parametrize("dtype", ["str", "category"])
def test_unknown_and_missing_lead_ids_are_named_on_the_long_path(definition, dtype):
    from unittest import mock

    leads = _leads(definition, [{"lead_id": "L1"}, {"lead_id": "L2"}])
    rows = [("L1", "webinar", "2026-03-01", None)] * 9 + [("L9", "webinar", "2026-03-01", None)] * 3
    acts = _acts(rows).astype({"lead_id": dtype})
    with mock.patch("leadsim.scoring.inputs._SLICE", 2), pytest.raises(DataError, match=r": 1 lead id.*\['L9'\]"):
        score(leads, acts, definition, as_of="2026-03-31")
    acts.loc[len(acts) - 1, "lead_id"] = None
    acts = acts[acts["lead_id"].ne("L9") | acts["lead_id"].isna()].astype({"lead_id": dtype})
    with mock.patch("leadsim.scoring.inputs._SLICE", 2), pytest.raises(DataError, match="<missing>"):
        score(leads, acts, definition, as_of="2026-03-31")


@SLOW
@given(data=st.data(), key_bits=st.sampled_from([62, 62, 40]), known_fit=st.booleans())
def test_mql_events_agree_with_reference(definition, data, key_bits, known_fit):
    d = data.draw(definitions(definition))
    leads, acts, log, until = data.draw(tables())
    ref = reference_mql_events(leads, acts, d, until, stage_log=log)
    fit = score(leads, None, d, as_of=until)["fit_score"].to_numpy() if known_fit else None
    # 40-bit keys push times into coarse buckets, so ties inside a bucket go through the exact-time path
    with mock.patch.object(leadsim.scoring.mql, "KEY_BITS", key_bits):
        got = mql_events(leads, acts, d, as_of=until, stage_log=log, fit_points=fit)
    ref = sorted(ref, key=lambda e: (e["at"], e["lead_id"]))
    assert len(got) == len(ref), (got, ref)
    for g, r in zip(got.to_dict("records"), ref, strict=False):
        assert (g["lead_id"], g["at"], g["reason"]) == (r["lead_id"], r["at"], r["reason"])
        assert (None if pd.isna(g["trigger"]) else g["trigger"]) == r["trigger"]
        assert math.isclose(g["score"], r["score"], abs_tol=1e-9)


def test_fit_points_must_have_one_number_per_lead(definition):
    leads = pd.DataFrame({"lead_id": ["L1", "L2"], "created_at": [BASE, BASE]})
    with pytest.raises(DataError, match=r"one number per lead \(2\)"):
        mql_events(leads, None, definition, as_of=BASE + pd.Timedelta(days=1), fit_points=np.zeros(3))


def _positive(d):
    data = d.to_dict()
    for r in data["behaviour_rules"]:
        r["points"] = abs(r["points"])
    return parse_definition(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_adding_a_positive_activity_never_lowers_a_score(definition, data):
    d = _positive(data.draw(definitions(definition)))
    leads, acts, log, as_of = data.draw(tables())
    extra = pd.DataFrame(
        {
            "lead_id": [data.draw(st.sampled_from(list(leads["lead_id"])))],
            "activity": [data.draw(st.sampled_from(ACTIVITIES))],
            "at": [as_of - pd.Timedelta(hours=data.draw(st.integers(0, 24 * 40)))],
            "detail": [data.draw(st.sampled_from(DETAILS))],
        }
    )
    before = score(leads, acts, d, as_of=as_of, stage_log=log)["score"]
    after = score(leads, pd.concat([acts, extra], ignore_index=True), d, as_of=as_of, stage_log=log)["score"]
    assert (after >= before - 1e-9).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_activities_after_as_of_are_ignored(definition, data):
    d = data.draw(definitions(definition))
    leads, acts, log, as_of = data.draw(tables())
    early = acts[acts["at"] <= as_of]
    a = score(leads, early, d, as_of=as_of, stage_log=log)
    b = score(leads, acts, d, as_of=as_of, stage_log=log)
    pd.testing.assert_frame_equal(a, b)
