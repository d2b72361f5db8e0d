"""The vectorised data generators against their plain first versions: the same draws, the same outputs.

``make_leads``, ``session_rows``, ``creation_activities`` and ``lead_table`` build names from look-up
tables and draw categories as positions; the plain versions below (the code
as it stood before, loops and string comparisons) are the reference.  Both
must leave the random generator in the same state too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from leadsim import load_definition
from leadsim.datasets import world
from leadsim.datasets.world import (
    CAMPAIGNS,
    COMPETITORS,
    DETAIL_OBJECTS,
    DETAIL_OFFSETS,
    DOC_P,
    DOCS,
    FIRST_F,
    FIRST_M,
    FORM_P,
    FORMS,
    FUNCTION_P,
    FUNCTIONS,
    INDUSTRIES,
    INDUSTRY_P,
    KIND_P,
    KINDS,
    LAST,
    LEGAL,
    PAGE_P,
    PAGES,
    PREFIX,
    PRIVATE_DOMAINS,
    PRODUCTS,
    REGION_P,
    REGIONS,
    SENIORITY,
    SENIORITY_P,
    SOURCE_P,
    SOURCES,
    SUFFIX,
    TLD,
    WEBINARS,
    YEARS_MEAN,
    creation_times,
    sigmoid,
)
from leadsim.definition import Calendar
from leadsim.simulation import arrivals

DEFINITION = load_definition()


def plain_make_leads(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp,
                     calendar: Calendar) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """make_leads as first written: a loop per company and per lead, names compared as strings."""
    source = rng.choice(SOURCES, size=n, p=SOURCE_P)
    created = creation_times(rng, source, start, end, calendar)
    order = np.argsort(created, kind="stable")
    source, created = source[order], created[order]

    # companies: several leads may share one; firmographics live on the company
    n_comp = max(1, int(n * 0.6))
    c_region = rng.choice(REGIONS, size=n_comp, p=REGION_P)
    c_industry = rng.choice(INDUSTRIES, size=n_comp, p=INDUSTRY_P)
    c_size = np.clip(np.round(np.exp(rng.normal(np.log(70), 1.5, n_comp))), 1, 150_000).astype(np.int64)
    c_revenue = np.round(c_size * np.exp(rng.normal(np.log(0.16), 0.6, n_comp)), 2)
    c_subs = rng.negative_binomial(1.2, 1.0 / (1.0 + 0.35 * np.log1p(c_size / 20) ** 1.6), n_comp)
    c_erp = rng.random(n_comp) < sigmoid(-1.0 + 0.45 * np.log(c_size / 50 + 1e-9))
    pre = rng.choice(PREFIX, n_comp)
    suf = rng.choice(SUFFIX, n_comp)
    dup = pd.Series(pre + suf).duplicated(keep="first").to_numpy()
    serial = np.where(dup, rng.integers(2, 99, n_comp).astype(str), "")
    base = np.char.add(np.char.add(pre, suf), serial)
    c_name = np.char.add(np.char.add(base, " "), np.array([LEGAL[r] for r in c_region]))
    c_domain = np.char.add(np.char.lower(base), np.array([TLD[r] for r in c_region]))
    prod_other = rng.random((n_comp, len(PRODUCTS) - 1)) < np.array([0.45, 0.35, 0.6, 0.25, 0.2])
    products = []
    for i in range(n_comp):
        parts = (["erp"] if c_erp[i] else []) + [p for p, on in zip(PRODUCTS[1:], prod_other[i], strict=True) if on]
        products.append(";".join(parts))
    products = np.array(products, dtype=object)
    # bigger companies send more leads
    comp_w = np.log1p(c_size) + 1
    comp = rng.choice(n_comp, size=n, p=comp_w / comp_w.sum())

    region, industry = c_region[comp], c_industry[comp]
    size, revenue, subs = c_size[comp], c_revenue[comp], c_subs[comp]
    company, domain = c_name[comp].astype(object), c_domain[comp].astype(object)
    prods = products[comp]

    seniority = rng.choice(SENIORITY, size=n, p=SENIORITY_P)
    is_student = seniority == "student"
    years = np.array([YEARS_MEAN[s] for s in seniority], dtype=float)
    years = np.round(np.clip(years * rng.gamma(6.0, 1 / 6.0, n), 0, 45))
    func = rng.choice(FUNCTIONS, size=n, p=FUNCTION_P)
    titles = plain_job_titles(rng, seniority, func)

    gender = rng.choice(np.array(["female", "male", "diverse", "unknown"]), size=n, p=[0.42, 0.50, 0.01, 0.07])
    age_band = rng.choice(np.array(["under_30", "30_44", "45_59", "60_plus", "unknown"]), size=n,
                          p=[0.25, 0.40, 0.26, 0.05, 0.04])
    first = np.where(gender == "female", rng.choice(FIRST_F, n), rng.choice(FIRST_M, n))
    last = rng.choice(LAST, n)
    local = np.char.lower(np.char.replace(np.char.add(np.char.add(first, "."), last), " ", ""))
    private = rng.random(n) < np.where(is_student, 0.7, 0.16)
    num = rng.integers(1, 99, n).astype(str)
    email = np.where(private, np.char.add(np.char.add(np.char.add(local, num), "@"), rng.choice(PRIVATE_DOMAINS, n)),
                     np.char.add(np.char.add(local, "@"), domain.astype(str))).astype(object)
    uni = is_student & ~private
    email[uni] = np.char.add(local[uni], "@student.uni-example.de")
    company[is_student & (rng.random(n) < 0.5)] = None

    # competitors fishing for information
    competitor = rng.random(n) < 0.012
    pick = rng.integers(0, len(COMPETITORS), n)
    for k, (cname, cdom) in enumerate(COMPETITORS):
        m = competitor & (pick == k)
        company[m] = f"{cname} GmbH"
        email[m] = np.char.add(np.char.add(local[m], "@"), cdom)
    industry = np.where(competitor, "software", industry)

    # latent buying intent: hidden, better-fitting companies have a little more of it
    fitness = (np.log1p(size) - 4.5) / 2.0 + 0.4 * np.isin(seniority, ["c_level", "vp", "director"])
    intent = rng.normal(0.0, 1.0, n) + 0.25 * fitness - 1.2 * is_student - 1.5 * competitor
    job_seeker = (rng.random(n) < np.where(np.isin(seniority, ["individual", "student"]), 0.10, 0.02))

    # BANT as captured on forms and by earlier conversations: mostly unknown, more often positive with intent
    known = rng.random((n, 4)) < np.array([0.2, 0.3, 0.15, 0.15])
    pos = sigmoid(intent[:, None] * 0.9 + np.array([-0.6, -0.8, -1.2, -1.0])) > rng.random((n, 4))
    budget = np.where(~known[:, 0], "unknown", np.where(pos[:, 0], rng.choice(["planned", "approved"], n, p=[0.7, 0.3]),
                                                        "none"))
    dm = np.isin(seniority, ["c_level", "vp"]) | (pos[:, 1] & (seniority == "director"))
    authority = np.where(~known[:, 1], "unknown", np.where(dm, "decision_maker",
                                                           np.where(pos[:, 1], "influencer", "user")))
    need = np.where(~known[:, 2], "unknown", np.where(pos[:, 2], "urgent", rng.choice(["none", "some"], n, p=[0.3, 0.7])))
    timeline = np.where(~known[:, 3], "unknown",
                        np.where(pos[:, 3], rng.choice(["under_3m", "under_6m"], n, p=[0.4, 0.6]),
                                 rng.choice(["6_12m", "over_12m"], n, p=[0.5, 0.5])))

    def missing(values: np.ndarray, share: float) -> np.ndarray:
        out = values.astype(object)
        out[rng.random(n) < share] = None
        return out

    leads = pd.DataFrame({
        "lead_id": [f"L{i:06d}" for i in range(1, n + 1)],
        "company": pd.array(company, dtype="str"),
        "source": pd.array(source, dtype="str"),
        "job_title": pd.array(missing(titles, 0.04), dtype="str"),
        "seniority": pd.array(missing(seniority, 0.05), dtype="str"),
        "years_experience": pd.array(missing(years, 0.2), dtype="Float64").astype("float64"),
        "email": pd.array(missing(email, 0.02), dtype="str"),
        "company_size": pd.array(missing(size, 0.08), dtype="Int64"),
        "industry": pd.array(missing(industry, 0.06), dtype="str"),
        "region": pd.array(missing(region, 0.03), dtype="str"),
        "revenue_musd": pd.array(missing(revenue, 0.25), dtype="Float64").astype("float64"),
        "subsidiaries": pd.array(missing(subs, 0.3), dtype="Int64"),
        "products_in_use": pd.array(missing(prods, 0.3), dtype="str"),
        "bant_budget": pd.array(budget, dtype="str"),
        "bant_authority": pd.array(authority, dtype="str"),
        "bant_need": pd.array(need, dtype="str"),
        "bant_timeline": pd.array(timeline, dtype="str"),
        "deal_size_eur": np.full(n, np.nan),
        "gender": pd.array(gender, dtype="str"),
        "age_band": pd.array(age_band, dtype="str"),
        "created_at": pd.array(created, dtype="datetime64[ns]"),
    })
    hidden = {"intent": intent, "job_seeker": job_seeker, "student": is_student, "competitor": competitor,
              "size": size.astype(float)}
    return leads, hidden


def plain_job_titles(rng: np.random.Generator, seniority: np.ndarray, func: np.ndarray) -> np.ndarray:
    chief = {"Marketing": "CMO", "Sales": "Chief Sales Officer", "Revenue Operations": "Chief Revenue Officer",
             "Growth": "Chief Growth Officer", "CRM": "CEO", "IT": "CTO", "Finance": "CFO", "Operations": "COO",
             "HR": "Chief People Officer", "Engineering": "CTO", "Procurement": "COO"}
    out = np.empty(len(seniority), dtype=object)
    variant = rng.random(len(seniority))
    for i, (s, f) in enumerate(zip(seniority, func, strict=True)):
        v = variant[i]
        if s == "c_level":
            out[i] = "CEO" if v < 0.3 else chief[f]
        elif s == "vp":
            out[i] = f"VP {f}"
        elif s == "director":
            out[i] = f"Head of {f}" if v < 0.5 else f"Director {f}"
        elif s == "manager":
            out[i] = f"{f} Manager"
        elif s == "individual":
            out[i] = f"{f} Specialist" if v < 0.5 else (f"{f} Analyst" if v < 0.8 else f"{f} Consultant")
        else:
            out[i] = "Student" if v < 0.5 else (f"Working student {f}" if v < 0.8 else "Intern")
    return out

def plain_session_rows(rng: np.random.Generator, lead_idx: np.ndarray, at: np.ndarray,
                       kind_of_session: np.ndarray, job_seeker: np.ndarray, *, codes: bool = False) -> dict[str, np.ndarray]:
    """session_rows as first written: activity names as strings throughout."""
    n_act = 1 + rng.poisson(np.where(kind_of_session == 1, 1.6, 0.7))
    lead = np.repeat(lead_idx, n_act)
    stype = np.repeat(kind_of_session, n_act)
    first = np.repeat(at, n_act)
    # minutes after the session start: cumulative gaps, restarting for each session
    gaps = rng.exponential(6.0, len(lead))
    csum = np.cumsum(gaps)
    offset = csum - np.repeat(csum[np.cumsum(n_act) - n_act], n_act)
    times = first + (offset * 60_000).astype(np.int64) * np.timedelta64(1_000_000, "ns")
    kind_c = np.empty(len(lead), np.int64)
    det = np.full(len(lead), -1, np.int64)
    for s in (0, 1):
        m = stype == s
        kind_c[m] = rng.choice(len(KINDS), size=m.sum(), p=KIND_P[s])
    kind = KINDS[kind_c]
    seeker = job_seeker[lead]
    for s, key in ((0, 0), (1, 1)):
        m = (kind == "web_visit") & (stype == s) & ~seeker
        det[m] = DETAIL_OFFSETS["pages"] + rng.choice(len(PAGES), size=m.sum(), p=PAGE_P[key])
        m = (kind == "content_download") & (stype == s)
        det[m] = DETAIL_OFFSETS["docs"] + rng.choice(len(DOCS), size=m.sum(), p=DOC_P[key])
        m = (kind == "form_fill") & (stype == s)
        det[m] = DETAIL_OFFSETS["forms"] + rng.choice(len(FORMS), size=m.sum(), p=FORM_P[key])
    m = (kind == "web_visit") & seeker
    det[m] = DETAIL_OFFSETS["pages"] + rng.choice(len(PAGES), size=m.sum(), p=PAGE_P[2])
    m = kind == "email_click"
    det[m] = np.where(rng.random(m.sum()) < 0.35, -1, DETAIL_OFFSETS["campaigns"] + rng.choice(len(CAMPAIGNS), size=m.sum()))
    m = kind == "webinar"
    det[m] = DETAIL_OFFSETS["webinars"] + rng.choice(len(WEBINARS), size=m.sum())
    times = plain_snap_events(rng, kind, times).astype("datetime64[s]").astype("datetime64[ns]")
    if codes:
        return {"lead": lead, "activity": kind_c, "at": times, "detail": det, "burst": stype == 1}
    return {"lead": lead, "activity": kind.astype(object), "at": times, "detail": DETAIL_OBJECTS[det],
            "burst": stype == 1}


def plain_snap_events(rng: np.random.Generator, kind: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Webinars run on Thursdays 11:00, the live demo on Wednesdays 15:00, in-depth demos in office hours."""
    day = t.astype("datetime64[D]")
    wd = (day.astype(np.int64) + 3) % 7
    out = t.copy()
    for name, weekday, minute in (("webinar", 3, 11 * 60), ("live_demo", 2, 15 * 60)):
        m = kind == name
        ahead = (weekday - wd[m]) % 7
        cand = day[m] + ahead.astype("timedelta64[D]") + np.timedelta64(minute, "m")
        cand = np.where(cand < t[m], cand + np.timedelta64(7, "D"), cand)
        out[m] = cand.astype("datetime64[ns]")
    m = kind == "in_depth_demo"
    nxt = day[m] + np.where(wd[m] >= 4, 7 - wd[m], 1).astype("timedelta64[D]")
    out[m] = (nxt + (rng.integers(10, 16, m.sum()) * 60).astype("timedelta64[m]")).astype("datetime64[ns]")
    return out


def plain_creation_activities(rng: np.random.Generator, source: np.ndarray, created: np.ndarray,
                        intent: np.ndarray) -> pd.DataFrame:
    """creation_activities as first written: names drawn and stored as strings."""
    rows_lead, kind, detail = [], [], []
    web = np.flatnonzero(source == "web_form")
    hot = rng.random(len(web)) < sigmoid(-3.8 + 1.1 * intent[web])
    form = np.where(hot, rng.choice(["contact_us", "free_trial"], len(web)),
                    rng.choice(["newsletter", "gated"], len(web), p=[0.55, 0.45]))
    gated = form == "gated"
    rows_lead += [web]
    kind += [np.where(gated, "content_download", "form_fill")]
    detail += [np.where(gated, rng.choice(DOCS[:4], len(web)), form)]
    visit = np.flatnonzero(np.isin(source, ["paid", "organic"]))
    rows_lead += [visit]
    kind += [np.full(len(visit), "web_visit")]
    detail += [rng.choice(["/", "/product", "/blog/lead-scoring-101", "/pricing"], len(visit), p=[0.3, 0.3, 0.3, 0.1])]
    lead = np.concatenate(rows_lead)
    return pd.DataFrame({"lead": lead, "activity": np.concatenate(kind).astype(object),
                         "at": created[lead], "detail": np.concatenate(detail).astype(object),
                         "burst": np.zeros(len(lead), bool)})


def plain_lead_table(rng, minutes, source, start, definition):
    """lead_table as first written: a copy, ids formatted again, sources via fixed-width strings."""
    n = len(minutes)
    end = start + pd.Timedelta(days=max(1.0, float(minutes.max()) / 1440 + 1 if n else 1.0))
    leads, hidden = plain_make_leads(rng, max(n, 1), start, end, definition.calendar)
    leads = leads.iloc[:n].copy()
    hidden = {k: v[:n] for k, v in hidden.items()}
    created = start.to_datetime64().astype("datetime64[ns]") + np.round(minutes * 60e9).astype("timedelta64[ns]")
    leads["lead_id"] = [f"L{i:06d}" for i in range(1, n + 1)]
    leads["source"] = pd.array(source.astype(str), dtype="str")
    leads["created_at"] = pd.array(created, dtype="datetime64[ns]")
    return leads.reset_index(drop=True), hidden


def assert_same_leads(fast, plain):
    assert_frame_equal(fast[0], plain[0], check_exact=True)
    for col in ("company_size", "subsidiaries"):  # the values under the mask too
        np.testing.assert_array_equal(fast[0][col].array._data, plain[0][col].array._data)
    assert list(fast[1]) == list(plain[1])
    for key in plain[1]:
        np.testing.assert_array_equal(fast[1][key], plain[1][key])
        assert fast[1][key].dtype == plain[1][key].dtype


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), months=st.integers(1, 24))
def test_make_leads_equals_plain_version(seed, n, months):
    start = pd.Timestamp("2025-01-01")
    end = start + pd.DateOffset(months=months)
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = world.make_leads(fast_rng, n, start, end, DEFINITION.calendar)
    plain = plain_make_leads(plain_rng, n, start, end, DEFINITION.calendar)
    assert_same_leads(fast, plain)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400))
def test_lead_table_equals_plain_version(seed, n):
    shape = np.random.default_rng(seed)
    minutes = np.sort(shape.uniform(0, 90 * 1440, n))
    source = shape.choice(SOURCES, n).astype(object)
    start = pd.Timestamp("2026-01-05")
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = arrivals.lead_table(fast_rng, minutes, source, start, DEFINITION)
    plain = plain_lead_table(plain_rng, minutes, source, start, DEFINITION)
    assert_same_leads(fast, plain)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000), codes=st.booleans())
def test_session_rows_equals_plain_version(seed, n, codes):
    shape = np.random.default_rng(seed)
    lead = shape.integers(0, 50, n)
    at = np.datetime64("2025-01-01", "ns") + shape.integers(0, 400 * 86_400 * 10**9, n).astype("timedelta64[ns]")
    burst = (shape.random(n) < 0.3).astype(np.int8)
    seeker = shape.random(50) < 0.2
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = world.session_rows(fast_rng, lead, at, burst, seeker, codes=codes)
    plain = plain_session_rows(plain_rng, lead, at, burst, seeker, codes=codes)
    assert list(fast) == list(plain)
    for key in plain:
        assert fast[key].dtype == plain[key].dtype
        assert fast[key].tolist() == plain[key].tolist()
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state


def test_lead_ids_format_like_python():
    assert world.lead_ids(1500).tolist() == [f"L{i:06d}" for i in range(1, 1501)]
    assert world.lead_ids(1_000_001)[-3:].tolist() == ["L999999", "L1000000", "L1000001"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 2000))
def test_creation_activities_equal_plain_version(seed, n):
    shape = np.random.default_rng(seed)
    source = shape.choice(SOURCES, n)
    created = np.sort(shape.integers(0, 90 * 86_400 * 10**9, n))
    intent = shape.normal(0, 1.5, n)
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    plain = plain_creation_activities(plain_rng, source, created, intent)
    assert_frame_equal(world.creation_activities(fast_rng, source, created, intent), plain, check_exact=True)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state
    # the simulation's codes name the same activities and details
    lead = shape.permutation(n)
    codes = arrivals.creation_activities(np.random.default_rng(seed), lead, source, created, intent)
    np.testing.assert_array_equal(codes["lead"], lead[plain["lead"].to_numpy()])
    np.testing.assert_array_equal(codes["t"], plain["at"].to_numpy())
    assert [arrivals.ACTIVITIES[c] for c in codes["activity"]] == plain["activity"].tolist()
    assert [arrivals.DETAILS[c] for c in codes["detail"]] == plain["detail"].tolist()
