"""The synthetic world: owners, companies, people, and what they do on the web.

Private helpers of :mod:`leadsim.datasets`; the generative model is described
in that package's docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadsim.calendar import BusinessCalendar
from leadsim.definition import Calendar

MINUTE = np.timedelta64(60_000_000_000, "ns")
DAY_MIN = 24 * 60

SOURCES = np.array(["web_form", "paid", "organic", "event", "outbound"])
SOURCE_P = np.array([0.30, 0.20, 0.27, 0.15, 0.08])
REGIONS = np.array(["DACH", "Nordics", "Benelux", "UK", "France", "Southern Europe", "Other"])
REGION_P = np.array([0.38, 0.10, 0.10, 0.13, 0.10, 0.11, 0.08])
TLD = {"DACH": ".de", "Nordics": ".se", "Benelux": ".nl", "UK": ".co.uk", "France": ".fr",
       "Southern Europe": ".it", "Other": ".com"}
LEGAL = {"DACH": "GmbH", "Nordics": "AB", "Benelux": "B.V.", "UK": "Ltd", "France": "SAS",
         "Southern Europe": "S.p.A.", "Other": "Inc."}
INDUSTRIES = np.array(["software", "manufacturing", "finance", "retail", "healthcare", "education", "public", "other"])
INDUSTRY_P = np.array([0.20, 0.18, 0.12, 0.12, 0.10, 0.08, 0.08, 0.12])
SENIORITY = np.array(["c_level", "vp", "director", "manager", "individual", "student"])
SENIORITY_P = np.array([0.06, 0.06, 0.12, 0.28, 0.42, 0.06])
YEARS_MEAN = {"c_level": 20, "vp": 17, "director": 14, "manager": 10, "individual": 6, "student": 1}
FUNCTIONS = np.array(["Marketing", "Sales", "Revenue Operations", "Growth", "CRM", "IT", "Finance",
                      "Operations", "HR", "Engineering", "Procurement"])
FUNCTION_P = np.array([0.20, 0.16, 0.05, 0.04, 0.04, 0.16, 0.09, 0.10, 0.05, 0.07, 0.04])
PRIVATE_DOMAINS = np.array(["gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "gmx.de",
                            "web.de", "icloud.com"])
PRODUCTS = np.array(["erp", "crm", "bi", "spreadsheets", "marketing_automation", "helpdesk"])
FIRST_F = ["Anna", "Maria", "Sofia", "Emma", "Lena", "Julia", "Sara", "Laura", "Ines", "Claire", "Eva", "Nora",
           "Ida", "Mia", "Chloe", "Giulia", "Hannah", "Olivia", "Elin", "Marta"]
FIRST_M = ["Lukas", "Jonas", "Paul", "Felix", "Jan", "Erik", "Luca", "Thomas", "Pierre", "Marco", "David", "Oliver",
           "Lars", "Noah", "Daniel", "Hugo", "Matteo", "Simon", "Anton", "James"]
LAST = ["Berg", "Schmidt", "Jansen", "Dubois", "Rossi", "Larsen", "Smith", "Novak", "Weber", "Meyer", "Fischer",
        "Lindqvist", "de Vries", "Moreau", "Bianchi", "Hansen", "Taylor", "Keller", "Wagner", "Nilsson", "Peeters",
        "Martin", "Romano", "Brown", "Koch", "Wolf", "Bauer", "Andersen", "Visser", "Laurent"]
PREFIX = ["Nord", "Alpen", "Blue", "Fjord", "Rhein", "Delta", "Nova", "Lumen", "Kraft", "Orbit", "Polar", "Vinter",
          "Terra", "Helio", "Quant", "Vector", "Brenner", "Atlas", "Cobalt", "Iris", "Maple", "Oaken", "Pioneer",
          "Silver", "Summit", "Tidal", "Urban", "Vista", "Zenit", "Aurora"]
SUFFIX = ["tech", "werk", "data", "soft", "logix", "works", "systems", "labs", "med", "bank", "trade", "line"]
COMPETITORS = (("RivalSoft", "rivalsoft.com"), ("CRMCorp", "crmcorp.com"))

#: relative weight of each hour of the day for human web activity and form fills
HOUR_W = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 3.0, 5.5, 6.5, 6.5, 4.5, 5.5, 6.5, 6.0,
                   5.0, 3.5, 2.0, 1.8, 1.8, 1.5, 1.0, 0.5])
HOUR_P = HOUR_W / HOUR_W.sum()
#: relative volume by month (summer and December dips)
MONTH_W = np.array([1.05, 1.10, 1.10, 1.0, 1.0, 0.95, 0.75, 0.60, 1.05, 1.10, 1.05, 0.65])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_owners(rng: np.random.Generator, n_sdr: int = 8, n_rep: int = 12) -> pd.DataFrame:
    """SDRs in two teams, reps in three regional teams, each with a manager."""
    firsts = np.array(FIRST_F + FIRST_M)
    names: list[str] = []
    while len(names) < n_sdr + n_rep:
        cand = f"{rng.choice(firsts)} {rng.choice(LAST)}"
        if cand not in names:
            names.append(cand)
    rows = []
    sdr_teams = [("SDR North", "Katrin Vogel"), ("SDR South", "Marco Esposito")]
    rep_teams = [("Sales DACH", "Stefan Huber"), ("Sales North", "Ingrid Dahl"), ("Sales International", "Claire Morel")]
    for i, name in enumerate(names[:n_sdr]):
        team, manager = sdr_teams[i % len(sdr_teams)]
        rows.append((name, "sdr", manager, team))
    for i, name in enumerate(names[n_sdr:]):
        team, manager = rep_teams[i % len(rep_teams)]
        rows.append((name, "rep", manager, team))
    return pd.DataFrame(rows, columns=["owner", "role", "manager", "team"]).astype("str")


def _days_off(calendar: Calendar) -> pd.DatetimeIndex:
    """Every day off of the calendar: its country's public holidays and its own list."""
    return pd.DatetimeIndex(BusinessCalendar.from_definition(calendar).holidays.astype("datetime64[ns]"))


def _day_weights(days: pd.DatetimeIndex, calendar: Calendar) -> np.ndarray:
    wd = days.day_of_week.to_numpy()
    w = MONTH_W[days.month.to_numpy() - 1] * np.where(wd >= 5, 0.3, 1.0)
    w = w * np.where(days.isin(_days_off(calendar)), 0.35, 1.0)
    late_dec = (days.month == 12) & (days.day >= 22)
    w = w * np.where(late_dec, 0.5, 1.0)
    trend = np.linspace(0.85, 1.15, len(days))
    return w * trend


def _times_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = rng.choice(24, size=n, p=HOUR_P)
    return (hours * 60 + rng.uniform(0, 60, n)) * MINUTE


def creation_times(rng: np.random.Generator, source: np.ndarray, start: pd.Timestamp, end: pd.Timestamp,
                   calendar: Calendar) -> np.ndarray:
    """When each lead enters the database; event leads arrive in batches."""
    n = len(source)
    days = pd.date_range(start.normalize(), end.normalize() - pd.Timedelta(days=1), freq="D")
    w = _day_weights(days, calendar)
    day_idx = rng.choice(len(days), size=n, p=w / w.sum())
    at = days.to_numpy().astype("datetime64[ns]")[day_idx] + _times_of_day(rng, n)
    # outbound: created by a rep in working hours
    ob = source == "outbound"
    at[ob] = days.to_numpy().astype("datetime64[ns]")[day_idx[ob]] + (rng.uniform(9, 17, ob.sum()) * 60) * MINUTE
    # events: a batch upload a few days after each trade fair, in the morning
    ev = np.flatnonzero(source == "event")
    n_fairs = max(1, round(len(days) / 365 * 8))
    fair_days = np.sort(rng.choice(len(days), size=n_fairs, replace=False, p=w / w.sum()))
    upload = days.to_numpy().astype("datetime64[ns]")[fair_days] + ((9 * 60 + rng.uniform(30, 150, n_fairs)) * MINUTE)
    wd = pd.DatetimeIndex(upload).day_of_week.to_numpy()
    upload = upload + np.where(wd >= 5, 7 - wd, 0) * (DAY_MIN * MINUTE)  # uploads happen on weekdays
    fair_size = rng.dirichlet(np.full(n_fairs, 2.0))
    at[ev] = upload[rng.choice(n_fairs, size=len(ev), p=fair_size)]
    at = np.minimum(at, end.to_datetime64().astype("datetime64[ns]") - MINUTE)
    return at.astype("datetime64[s]").astype("datetime64[ns]")


def make_leads(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp,
               calendar: Calendar) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Leads with realistic attribute dependence, and hidden per-lead traits.

    Categories are drawn as positions (``rng.choice(k)`` makes the same draws
    as ``rng.choice`` of k names) so that names come from small look-up tables.
    """
    source = rng.choice(SOURCES, size=n, p=SOURCE_P)
    created = creation_times(rng, source, start, end, calendar)
    order = np.argsort(created, kind="stable")
    source, created = source[order], created[order]

    # companies: several leads may share one; firmographics live on the company
    n_comp = max(1, int(n * 0.6))
    c_reg = rng.choice(len(REGIONS), size=n_comp, p=REGION_P)
    c_industry = rng.choice(INDUSTRIES, size=n_comp, p=INDUSTRY_P)
    c_size = np.clip(np.round(np.exp(rng.normal(np.log(70), 1.5, n_comp))), 1, 150_000).astype(np.int64)
    c_revenue = np.round(c_size * np.exp(rng.normal(np.log(0.16), 0.6, n_comp)), 2)
    c_subs = rng.negative_binomial(1.2, 1.0 / (1.0 + 0.35 * np.log1p(c_size / 20) ** 1.6), n_comp)
    c_erp = rng.random(n_comp) < sigmoid(-1.0 + 0.45 * np.log(c_size / 50 + 1e-9))
    pre = rng.choice(PREFIX, n_comp)
    suf = rng.choice(SUFFIX, n_comp)
    dup = pd.Series(pre + suf).duplicated(keep="first").to_numpy()
    serial = np.full(n_comp, "", dtype="<U2")
    serial[dup] = rng.integers(2, 99, n_comp)[dup].astype(str)
    base = np.strings.add(np.strings.add(pre, suf), serial)
    c_name = np.strings.add(np.strings.add(base, " "), _LEGAL[c_reg]).astype(object)
    c_domain = np.strings.add(np.strings.lower(base), _TLD[c_reg])
    prod_other = rng.random((n_comp, len(PRODUCTS) - 1)) < np.array([0.45, 0.35, 0.6, 0.25, 0.2])
    products = _PRODUCT_SETS[c_erp + prod_other @ (2 ** np.arange(1, len(PRODUCTS)))]
    # bigger companies send more leads
    comp_w = np.log1p(c_size) + 1
    comp = rng.choice(n_comp, size=n, p=comp_w / comp_w.sum())

    region, industry = REGIONS[c_reg[comp]], c_industry[comp]
    size, revenue, subs = c_size[comp], c_revenue[comp], c_subs[comp]
    company, domain = c_name[comp], c_domain[comp]
    prods = products[comp]

    sen = rng.choice(len(SENIORITY), size=n, p=SENIORITY_P)
    seniority = SENIORITY[sen]
    is_student = seniority == "student"
    years = np.round(np.clip(_YEARS_MEAN[sen] * rng.gamma(6.0, 1 / 6.0, n), 0, 45))
    func = rng.choice(len(FUNCTIONS), size=n, p=FUNCTION_P)
    titles = _job_titles(rng, sen, func)

    gender = rng.choice(np.array(["female", "male", "diverse", "unknown"]), size=n, p=[0.42, 0.50, 0.01, 0.07])
    age_band = rng.choice(np.array(["under_30", "30_44", "45_59", "60_plus", "unknown"]), size=n,
                          p=[0.25, 0.40, 0.26, 0.05, 0.04])
    first = np.where(gender == "female", rng.choice(len(FIRST_F), n), len(FIRST_F) + rng.choice(len(FIRST_M), n))
    local = _LOCAL_PARTS[first, rng.choice(len(LAST), n)]
    private = rng.random(n) < np.where(is_student, 0.7, 0.16)
    num = rng.integers(1, 99, n)
    private_domain = rng.choice(PRIVATE_DOMAINS, n)
    email = np.strings.add(np.strings.add(local, "@"), domain).astype(object)
    email[private] = np.strings.add(np.strings.add(np.strings.add(local[private], num[private].astype(str)), "@"),
                                    private_domain[private])
    uni = is_student & ~private
    email[uni] = np.strings.add(local[uni], "@student.uni-example.de")
    company[is_student & (rng.random(n) < 0.5)] = None

    # competitors fishing for information
    competitor = rng.random(n) < 0.012
    pick = rng.integers(0, len(COMPETITORS), n)
    for k, (cname, cdom) in enumerate(COMPETITORS):
        m = competitor & (pick == k)
        company[m] = f"{cname} GmbH"
        email[m] = np.strings.add(np.strings.add(local[m], "@"), cdom)
    industry = np.where(competitor, "software", industry)

    # latent buying intent: hidden, better-fitting companies have a little more of it
    fitness = (np.log1p(size) - 4.5) / 2.0 + 0.4 * (sen <= _DIRECTOR)
    intent = rng.normal(0.0, 1.0, n) + 0.25 * fitness - 1.2 * is_student - 1.5 * competitor
    job_seeker = (rng.random(n) < np.where(sen >= _INDIVIDUAL, 0.10, 0.02))

    # BANT as captured on forms and by earlier conversations: mostly unknown, more often positive with intent
    known = rng.random((n, 4)) < np.array([0.2, 0.3, 0.15, 0.15])
    pos = sigmoid(intent[:, None] * 0.9 + np.array([-0.6, -0.8, -1.2, -1.0])) > rng.random((n, 4))
    budget = np.where(~known[:, 0], "unknown", np.where(pos[:, 0], rng.choice(["planned", "approved"], n, p=[0.7, 0.3]),
                                                        "none"))
    dm = (sen < _DIRECTOR) | (pos[:, 1] & (sen == _DIRECTOR))
    authority = np.where(~known[:, 1], "unknown", np.where(dm, "decision_maker",
                                                           np.where(pos[:, 1], "influencer", "user")))
    need = np.where(~known[:, 2], "unknown", np.where(pos[:, 2], "urgent", rng.choice(["none", "some"], n, p=[0.3, 0.7])))
    timeline = np.where(~known[:, 3], "unknown",
                        np.where(pos[:, 3], rng.choice(["under_3m", "under_6m"], n, p=[0.4, 0.6]),
                                 rng.choice(["6_12m", "over_12m"], n, p=[0.5, 0.5])))

    def missing(share: float) -> np.ndarray:
        """Which leads lack a field (one draw per lead and field, in column order)."""
        return rng.random(n) < share

    def text(values: np.ndarray, share: float) -> pd.api.extensions.ExtensionArray:
        out = values.astype(object)
        out[missing(share)] = None
        return pd.array(out, dtype="str")

    def number(values: np.ndarray, share: float) -> np.ndarray:
        return np.where(missing(share), np.nan, values)

    def count(values: np.ndarray, share: float) -> pd.arrays.IntegerArray:
        gone = missing(share)
        # 1 under the mask, as pd.array() of objects left there
        return pd.arrays.IntegerArray(np.where(gone, 1, values).astype(np.int64), gone)

    leads = pd.DataFrame({
        "lead_id": lead_ids(n),
        "company": pd.array(company, dtype="str"),
        "source": pd.array(source, dtype="str"),
        "job_title": text(titles, 0.04),
        "seniority": text(seniority, 0.05),
        "years_experience": number(years, 0.2),
        "email": text(email, 0.02),
        "company_size": count(size, 0.08),
        "industry": text(industry, 0.06),
        "region": text(region, 0.03),
        "revenue_musd": number(revenue, 0.25),
        "subsidiaries": count(subs, 0.3),
        "products_in_use": text(prods, 0.3),
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


def lead_ids(n: int) -> np.ndarray:
    """``L000001``, ``L000002``, ... for ``n >= 1`` leads (as ``f"L{i:06d}"``)."""
    return np.strings.add("L", np.strings.zfill(np.arange(1, n + 1).astype(str), 6))


# look-up tables by position in REGIONS, SENIORITY and the products' bit pattern (erp = bit 0)
_LEGAL = np.array([LEGAL[r] for r in REGIONS])
_TLD = np.array([TLD[r] for r in REGIONS])
_YEARS_MEAN = np.array([YEARS_MEAN[s] for s in SENIORITY], dtype=float)
_DIRECTOR, _INDIVIDUAL = SENIORITY.tolist().index("director"), SENIORITY.tolist().index("individual")
# e-mail local part by first name (FIRST_F, then FIRST_M) and last name: "first.last", lower case, no blanks
_LOCAL_PARTS = np.strings.lower(np.strings.replace(
    np.strings.add(np.strings.add(np.array(FIRST_F + FIRST_M)[:, None], "."), np.array(LAST)[None, :]), " ", ""))
_PRODUCT_SETS = np.array([";".join(p for j, p in enumerate(PRODUCTS) if bits >> j & 1)
                          for bits in range(2 ** len(PRODUCTS))], dtype=object)


def _job_title_table() -> np.ndarray:
    """Title by seniority, function and variant band (variant < 0.3, < 0.5, < 0.8, else), as positions."""
    chief = {"Marketing": "CMO", "Sales": "Chief Sales Officer", "Revenue Operations": "Chief Revenue Officer",
             "Growth": "Chief Growth Officer", "CRM": "CEO", "IT": "CTO", "Finance": "CFO", "Operations": "COO",
             "HR": "Chief People Officer", "Engineering": "CTO", "Procurement": "COO"}
    by_level = {
        "c_level": lambda f: ["CEO", chief[f], chief[f], chief[f]],
        "vp": lambda f: [f"VP {f}"] * 4,
        "director": lambda f: [f"Head of {f}"] * 2 + [f"Director {f}"] * 2,
        "manager": lambda f: [f"{f} Manager"] * 4,
        "individual": lambda f: [f"{f} Specialist"] * 2 + [f"{f} Analyst", f"{f} Consultant"],
        "student": lambda f: ["Student", "Student", f"Working student {f}", "Intern"],
    }
    return np.array([[by_level[s](f) for f in FUNCTIONS.tolist()] for s in SENIORITY.tolist()], dtype=object)


_VARIANT_BANDS = np.array([0.3, 0.5, 0.8])
_JOB_TITLES = _job_title_table()


def _job_titles(rng: np.random.Generator, seniority: np.ndarray, func: np.ndarray) -> np.ndarray:
    """Job titles for positions in :data:`SENIORITY` and :data:`FUNCTIONS`."""
    band = np.searchsorted(_VARIANT_BANDS, rng.random(len(seniority)), side="right")
    return _JOB_TITLES[seniority, func, band]


# --------------------------------------------------------------------------- activities

KINDS = np.array(["web_visit", "email_click", "content_download", "webinar", "live_demo", "in_depth_demo",
                  "form_fill", "unsubscribe"])
KIND_P = {  # by session type: browsing, buying burst
    0: np.array([0.63, 0.22, 0.08, 0.03, 0.002, 0.0005, 0.0175, 0.02]),
    1: np.array([0.50, 0.09, 0.17, 0.06, 0.07, 0.04, 0.07, 0.0]),
}
PAGES = np.array(["/", "/product", "/blog/lead-scoring-101", "/pricing", "/customers", "/integrations/erp",
                  "/careers/jobs", "/about"])
PAGE_P = {0: np.array([0.25, 0.2, 0.25, 0.06, 0.08, 0.06, 0.04, 0.06]),
          1: np.array([0.12, 0.2, 0.05, 0.38, 0.12, 0.1, 0.0, 0.03]),
          2: np.array([0.12, 0.06, 0.1, 0.02, 0.02, 0.02, 0.62, 0.04])}  # job seekers
DOCS = np.array(["e-book", "whitepaper", "buyers-guide", "roi-calculator", "data-sheet", "price-list"])
DOC_P = {0: np.array([0.35, 0.3, 0.2, 0.13, 0.015, 0.005]), 1: np.array([0.0, 0.1, 0.2, 0.25, 0.2, 0.25])}
FORMS = np.array(["newsletter", "contact_us", "free_trial"])
FORM_P = {0: np.array([0.94, 0.03, 0.03]), 1: np.array([0.1, 0.45, 0.45])}
CAMPAIGNS = np.array(["newsletter", "webinar-invite", "product-update", "case-study"])
WEBINARS = np.array(["webinar-lead-scoring", "webinar-crm-integration", "webinar-sales-alignment"])
# every session detail, one vocabulary (pages, documents, forms, campaigns, webinars)
DETAILS = np.concatenate([PAGES, DOCS, FORMS, CAMPAIGNS, WEBINARS])
#: where each kind of detail starts in DETAILS (a detail's code is its kind's offset plus its position there)
DETAIL_OFFSETS = dict(zip(["pages", "docs", "forms", "campaigns", "webinars"],
                          np.cumsum([0, len(PAGES), len(DOCS), len(FORMS), len(CAMPAIGNS)]).tolist(), strict=True))
DETAIL_OBJECTS = np.array([*DETAILS.tolist(), None], dtype=object)  # code -1 -> None
_KIND = {k: i for i, k in enumerate(KINDS.tolist())}  # name -> position in KINDS
_KIND_OBJECTS = KINDS.astype(object)


def session_times(rng: np.random.Generator, t: np.ndarray, calendar: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Move raw session moments onto human rhythms; returns (times, kept mask).

    Most weekend sessions move to Monday, the hour of day follows :data:`HOUR_P`,
    and sessions thin out in summer, late December and on holidays.
    """
    t = np.asarray(t, dtype="datetime64[ns]")
    day, wd = _day_and_weekday(t)
    move = (wd >= 5) & (rng.random(len(t)) < 0.7)
    day = day + np.where(move, 7 - wd, 0).astype("timedelta64[D]")
    idx = pd.DatetimeIndex(day)
    month_w = MONTH_W[idx.month.to_numpy() - 1]
    keep_p = month_w / MONTH_W.max() * np.where((idx.month == 12) & (idx.day >= 22), 0.45, 1.0)
    keep_p = keep_p * np.where(idx.isin(_days_off(calendar)), 0.5, 1.0)
    keep = rng.random(len(t)) < keep_p
    return day.astype("datetime64[ns]") + _times_of_day(rng, len(t)), keep


def sessions_to_activities(rng: np.random.Generator, lead_idx: np.ndarray, at: np.ndarray, kind_of_session: np.ndarray,
                           job_seeker: np.ndarray) -> pd.DataFrame:
    """Expand sessions (lead, start, type 0/1) into activity rows with details."""
    return pd.DataFrame(session_rows(rng, lead_idx, at, kind_of_session, job_seeker))


def session_rows(rng: np.random.Generator, lead_idx: np.ndarray, at: np.ndarray, kind_of_session: np.ndarray,
                 job_seeker: np.ndarray, *, codes: bool = False) -> dict[str, np.ndarray]:
    """:func:`sessions_to_activities` as plain arrays, without building a table.

    Names as objects (``None`` for no detail), or with ``codes`` as positions
    in :data:`KINDS` and :data:`DETAILS` (-1: no detail); the same draws either way.
    """
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
    seeker = job_seeker[lead]
    visit, download, form = (kind_c == _KIND[k] for k in ("web_visit", "content_download", "form_fill"))
    for s, key in ((0, 0), (1, 1)):
        in_s = stype == s
        m = visit & in_s & ~seeker
        det[m] = DETAIL_OFFSETS["pages"] + rng.choice(len(PAGES), size=m.sum(), p=PAGE_P[key])
        m = download & in_s
        det[m] = DETAIL_OFFSETS["docs"] + rng.choice(len(DOCS), size=m.sum(), p=DOC_P[key])
        m = form & in_s
        det[m] = DETAIL_OFFSETS["forms"] + rng.choice(len(FORMS), size=m.sum(), p=FORM_P[key])
    m = visit & seeker
    det[m] = DETAIL_OFFSETS["pages"] + rng.choice(len(PAGES), size=m.sum(), p=PAGE_P[2])
    m = kind_c == _KIND["email_click"]
    det[m] = np.where(rng.random(m.sum()) < 0.35, -1, DETAIL_OFFSETS["campaigns"] + rng.choice(len(CAMPAIGNS), size=m.sum()))
    m = kind_c == _KIND["webinar"]
    det[m] = DETAIL_OFFSETS["webinars"] + rng.choice(len(WEBINARS), size=m.sum())
    times = _snap_events(rng, kind_c, times).astype("datetime64[s]").astype("datetime64[ns]")
    if codes:
        return {"lead": lead, "activity": kind_c, "at": times, "detail": det, "burst": stype == 1}
    return {"lead": lead, "activity": _KIND_OBJECTS[kind_c], "at": times, "detail": DETAIL_OBJECTS[det],
            "burst": stype == 1}


def _snap_events(rng: np.random.Generator, kind: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Webinars run on Thursdays 11:00, the live demo on Wednesdays 15:00, in-depth demos in office hours.

    ``kind``: positions in :data:`KINDS`.
    """
    out = t.copy()
    for name, weekday, minute in (("webinar", 3, 11 * 60), ("live_demo", 2, 15 * 60)):
        m = kind == _KIND[name]
        day, wd = _day_and_weekday(t[m])
        ahead = (weekday - wd) % 7
        cand = day + ahead.astype("timedelta64[D]") + np.timedelta64(minute, "m")
        cand = np.where(cand < t[m], cand + np.timedelta64(7, "D"), cand)
        out[m] = cand.astype("datetime64[ns]")
    m = kind == _KIND["in_depth_demo"]
    day, wd = _day_and_weekday(t[m])
    nxt = day + np.where(wd >= 4, 7 - wd, 1).astype("timedelta64[D]")
    out[m] = (nxt + (rng.integers(10, 16, m.sum()) * 60).astype("timedelta64[m]")).astype("datetime64[ns]")
    return out


def _day_and_weekday(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar day and weekday (Monday = 0) of each moment; only the few snapped events need them."""
    day = t.astype("datetime64[D]")
    return day, (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday


def creation_activities(rng: np.random.Generator, source: np.ndarray, created: np.ndarray,
                        intent: np.ndarray) -> pd.DataFrame:
    """What created the record: a form fill for web forms, a landing-page visit for paid and organic."""
    rows = creation_rows(rng, source, intent)
    return pd.DataFrame({"lead": rows["lead"], "activity": _KIND_OBJECTS[rows["activity"]],
                         "at": created[rows["lead"]], "detail": DETAIL_OBJECTS[rows["detail"]],
                         "burst": np.zeros(len(rows["lead"]), bool)})


def creation_rows(rng: np.random.Generator, source: np.ndarray, intent: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`creation_activities` as positions: ``lead`` (into ``source``), ``activity`` (into :data:`KINDS`)
    and ``detail`` (into :data:`DETAILS`).  Options are drawn as positions among their names: the same draws."""
    web = np.flatnonzero(source == "web_form")
    hot = rng.random(len(web)) < sigmoid(-3.8 + 1.1 * intent[web])
    contact_or_trial = DETAIL_OFFSETS["forms"] + 1 + rng.choice(2, len(web))  # FORMS: newsletter, contact_us, free_trial
    newsletter_or_gated = np.array([DETAIL_OFFSETS["forms"], _GATED])[rng.choice(2, len(web), p=[0.55, 0.45])]
    form = np.where(hot, contact_or_trial, newsletter_or_gated)
    gated = form == _GATED
    visit = np.flatnonzero(np.isin(source, ["paid", "organic"]))
    return {"lead": np.concatenate([web, visit]),
            "activity": np.concatenate([np.where(gated, _KIND["content_download"], _KIND["form_fill"]),
                                        np.full(len(visit), _KIND["web_visit"])]),
            # the first four documents and pages: e-book ... roi-calculator; / ... /pricing
            "detail": np.concatenate([np.where(gated, DETAIL_OFFSETS["docs"] + rng.choice(4, len(web)), form),
                                      DETAIL_OFFSETS["pages"] + rng.choice(4, len(visit), p=[0.3, 0.3, 0.3, 0.1])])}


_GATED = -2  # a gated download, before the document is drawn


def burst_sessions(rng: np.random.Generator, lead_idx: np.ndarray, begin: np.ndarray, intent: np.ndarray,
                   calendar: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """A buying burst: a few intense sessions within ten days of ``begin``."""
    n_s = 2 + rng.poisson(2.0 + 1.5 * np.clip(intent[lead_idx], 0, None))
    lead = np.repeat(lead_idx, n_s)
    t0 = np.repeat(begin, n_s) + (rng.exponential(3.0, len(lead)).clip(0, 10) * DAY_MIN) * MINUTE
    t, keep = session_times(rng, t0, calendar)
    return lead[keep], t[keep]


def make_activities(rng: np.random.Generator, leads: pd.DataFrame, hidden: dict[str, np.ndarray],
                    calendar: Calendar, rate: float = 2.0, burst_bias: float = -3.6) -> pd.DataFrame:
    """Browsing sessions over each lead's life plus, for some, a buying burst."""
    n = len(leads)
    created = leads["created_at"].to_numpy(dtype="datetime64[ns]")
    source = leads["source"].to_numpy(dtype=object)
    intent = hidden["intent"]
    src_mult = pd.Series(source).map({"web_form": 1.2, "paid": 0.9, "organic": 1.1, "event": 0.6,
                                      "outbound": 0.4}).to_numpy()
    n_sess = rng.poisson(rate * np.exp(0.7 * intent) * src_mult)
    life = rng.exponential(180.0, n) + 5.0
    lead = np.repeat(np.arange(n), n_sess)
    off = life[lead] * rng.beta(0.7, 1.6, len(lead))
    t, keep = session_times(rng, created[lead] + (off * DAY_MIN) * MINUTE, calendar)
    b = np.flatnonzero(rng.random(n) < sigmoid(burst_bias + 1.5 * intent) * (source != "outbound"))
    b_begin = created[b] + (rng.exponential(35.0, len(b)) * DAY_MIN) * MINUTE
    bl, bt = burst_sessions(rng, b, b_begin, intent, calendar)
    s_lead = np.concatenate([lead[keep], bl])
    s_at = np.concatenate([t[keep], bt])
    s_type = np.concatenate([np.zeros(keep.sum(), dtype=np.int8), np.ones(len(bl), dtype=np.int8)])
    acts = sessions_to_activities(rng, s_lead, s_at, s_type, hidden["job_seeker"])
    first = creation_activities(rng, source, created, intent)
    return pd.concat([first, acts], ignore_index=True)


def finish_activities(acts: pd.DataFrame, leads: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Clip to the lead's creation and the history's end; sort; public column names."""
    created = leads["created_at"].to_numpy(dtype="datetime64[ns]")[acts["lead"].to_numpy()]
    at = acts["at"].to_numpy(dtype="datetime64[ns]").astype("datetime64[s]").astype("datetime64[ns]")
    at = np.maximum(at, created)
    keep = at < end.to_datetime64().astype("datetime64[ns]")
    out = pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy()[acts["lead"].to_numpy()[keep]],
        "activity": pd.array(acts["activity"].to_numpy()[keep], dtype="str"),
        "at": pd.array(at[keep], dtype="datetime64[ns]"),
        "detail": pd.array(acts["detail"].to_numpy()[keep], dtype="str"),
    })
    out["lead_id"] = out["lead_id"].astype("str")
    return out.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)
