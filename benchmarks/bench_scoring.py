"""Benchmark: leadsim scoring vs hand-written DuckDB SQL over the same Parquet files.

    python benchmarks/bench_scoring.py                       # 1,000,000 leads, 10,000,000 activities
    python benchmarks/bench_scoring.py --leads 100000 --activities 1000000

Synthetic leads and activities (default definition's attributes, activity
names and details) are generated with numpy in a child process and written to
Parquet under ``benchmarks/_data/`` (git-ignored; reused when present).  Both
sides read the files, compute every lead's fit score (fit + BANT rules) and
behaviour score (13 behaviour rules with windows, half-life decay, caps,
``at_least`` and ``recency``) at the same ``as_of``, and return them per lead.
Each side is timed as the median of 3 runs in this process; the results must
agree on every lead to 1e-6.  DuckDB runs with its default threads and no
UDFs.  The last line is ``ratio leadsim/duckdb: X.XX``.

    python benchmarks/bench_scoring.py --mql /tmp/yearlog    # mql_events vs an earlier commit's

``--mql DIR`` instead times ``leadsim.scoring.mql_events`` on a saved
simulation log (``DIR/leads.parquet``, ``activities.parquet``,
``stage_log.parquet``, written there first from the one-year run of
``bench_simulation.py`` when missing; the default definition) against the ``mql_events`` of
``leadsim/scoring`` (the module ``scoring.py`` or, from its split on, the package
``scoring/``) at the git revision ``--mql-baseline``, alternating the two
``--repeat`` times in this process; the outputs must be identical.  The last
line is ``ratio current/baseline: X.XX``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "_data"
AS_OF = pd.Timestamp("2026-03-31 17:00")

ACTIVITY_SHARES = {
    "web_visit": 0.55, "email_click": 0.20, "content_download": 0.08, "webinar": 0.03, "live_demo": 0.015,
    "in_depth_demo": 0.005, "form_fill": 0.10, "unsubscribe": 0.02,
}
PAGES = ["/", "/pricing", "/pricing/enterprise", "/blog/lead-scoring", "/careers/jobs", "/product", "/docs/api"]
DOCS = ["price-list", "data-sheet", "buyers-guide", "roi-calculator", "whitepaper"]
FORMS = ["free_trial", "contact_us", "newsletter"]
TITLES = ["Head of Marketing", "Sales Manager", "CEO", "CTO", "Software Engineer", "Revenue Operations Lead",
          "Student", "Growth Hacker", "Office Manager", "CRM Administrator", "Controller", "Buyer"]
DOMAINS = ["acme.de", "northwind.com", "contoso.eu", "fabrikam.nl", "gmail.com", "web.de", "gmx.net",
           "outlook.com", "rivalsoft.com", "initech.co.uk", "globex.se", "umbrella.fr"]
PRODUCTS = ["SAP ERP; Excel", "Salesforce", "HubSpot; Slack", "Odoo ERP", "Excel", "Dynamics ERP; Teams", "Slack"]


# --------------------------------------------------------------------------- data


def _pick(rng, values, n, p=None, missing=0.0):
    import pyarrow as pa

    idx = rng.choice(len(values), size=n, p=p).astype(np.int32)
    mask = rng.random(n) < missing if missing else None
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=mask), pa.array(values)).cast(pa.string())


def _num(rng, draw, n, missing):
    import pyarrow as pa

    return pa.array(draw, mask=rng.random(n) < missing)


def generate(n_leads: int, n_acts: int, leads_path: Path, acts_path: Path, seed: int = 7) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise("L", pc.utf8_lpad(pa.array(np.arange(n_leads)).cast(pa.string()), 7, "0"), "")
    user = pc.binary_join_element_wise("user", pa.array(np.arange(n_leads)).cast(pa.string()), "")
    email = pc.binary_join_element_wise(user, _pick(rng, DOMAINS, n_leads), "@")
    email = pc.if_else(pa.array(rng.random(n_leads) < 0.05), pa.scalar(None, pa.string()), email)
    leads = pa.table(
        {
            "lead_id": ids,
            "company": _pick(rng, [f"Company {i}" for i in range(5000)], n_leads),
            "job_title": _pick(rng, TITLES, n_leads, missing=0.1),
            "seniority": _pick(rng, ["c_level", "vp", "director", "manager", "individual", "student"], n_leads, missing=0.1),
            "years_experience": _num(rng, rng.integers(0, 30, n_leads).astype(float), n_leads, 0.2),
            "email": email,
            "company_size": _num(rng, np.round(rng.lognormal(4.5, 1.5, n_leads)).astype(np.int64), n_leads, 0.1),
            "industry": _pick(rng, ["software", "manufacturing", "finance", "retail", "healthcare", "education", "public", "other"], n_leads, missing=0.1),
            "region": _pick(rng, ["DACH", "Nordics", "Benelux", "UK", "France", "Southern Europe", "Other"], n_leads, missing=0.05),
            "revenue_musd": _num(rng, np.round(rng.lognormal(3, 1.5, n_leads), 1), n_leads, 0.3),
            "subsidiaries": _num(rng, rng.poisson(1.5, n_leads), n_leads, 0.3),
            "products_in_use": _pick(rng, PRODUCTS, n_leads, missing=0.3),
            "bant_budget": _pick(rng, ["unknown", "none", "planned", "approved"], n_leads),
            "bant_authority": _pick(rng, ["unknown", "user", "influencer", "decision_maker"], n_leads),
            "bant_need": _pick(rng, ["unknown", "none", "some", "urgent"], n_leads),
            "bant_timeline": _pick(rng, ["unknown", "over_12m", "6_12m", "under_6m", "under_3m"], n_leads),
        }
    )
    pq.write_table(leads, leads_path)
    del leads, email, user

    names = list(ACTIVITY_SHARES)
    act = rng.choice(len(names), size=n_acts, p=list(ACTIVITY_SHARES.values())).astype(np.int32)
    # details: pages for visits, documents for downloads, forms for form fills, none otherwise
    details = PAGES + DOCS + FORMS
    det = np.full(n_acts, -1, np.int32)
    for name, choices, offset in (("web_visit", PAGES, 0), ("content_download", DOCS, len(PAGES)), ("form_fill", FORMS, len(PAGES) + len(DOCS))):
        sel = act == names.index(name)
        det[sel] = offset + rng.integers(0, len(choices), int(sel.sum()))
    # time: up to a year before as_of (some after it, to be ignored), second resolution
    secs = rng.integers(-3 * 86400, 365 * 86400, n_acts)
    at = np.sort(AS_OF.value // 1000 - secs * 1_000_000)  # an export sorted by time
    lead = rng.integers(0, n_leads, n_acts).astype(np.int32)
    acts = pa.table(
        {
            "lead_id": pa.DictionaryArray.from_arrays(pa.array(lead), ids),
            "activity": pa.DictionaryArray.from_arrays(pa.array(act), pa.array(names)),
            "at": pa.array(at.astype("datetime64[us]")),
            "detail": pa.DictionaryArray.from_arrays(pa.array(det, mask=det < 0), pa.array(details)),
        }
    )
    pq.write_table(acts, acts_path, row_group_size=2_000_000, dictionary_pagesize_limit=64 << 20)


def files(n_leads: int, n_acts: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    leads_path = DATA / f"leads_{n_leads}.parquet"
    acts_path = DATA / f"activities_{n_leads}_{n_acts}.parquet"
    if not (leads_path.exists() and acts_path.exists()):
        t0 = time.perf_counter()
        # a child process, so its memory does not count in this process's peak
        proc = mp.get_context("spawn").Process(target=generate, args=(n_leads, n_acts, leads_path, acts_path))
        proc.start()
        proc.join()
        if proc.exitcode:
            sys.exit(f"data generation failed (exit code {proc.exitcode})")
        print(f"generated {n_leads:,} leads and {n_acts:,} activities in {time.perf_counter() - t0:.1f} s")
    return leads_path, acts_path


# --------------------------------------------------------------------------- leadsim


def run_leadsim(leads_path: Path, acts_path: Path, definition) -> pd.DataFrame:
    import pyarrow.parquet as pq

    from leadsim.scoring import contributions, required_columns

    cols = required_columns(definition)
    categories = [a.name for a in definition.attributes if a.type == "category" and a.name in cols["leads"]]
    leads = pq.read_table(leads_path, columns=cols["leads"], read_dictionary=categories).to_pandas()
    acts = pq.read_table(acts_path, columns=cols["activities"], read_dictionary=["lead_id", "activity", "detail"]).to_pandas()
    c = contributions(leads, acts, definition, as_of=AS_OF)
    n_fit = len(definition.fit_rules) + len(definition.bant)
    values = c.to_numpy()
    return pd.DataFrame(
        {"fit": values[:, :n_fit].sum(axis=1), "behaviour": values[:, n_fit:].sum(axis=1)}, index=c.index
    )


# --------------------------------------------------------------------------- DuckDB

# The default definition's rules, written by hand.  Windows compare timestamps
# exactly (as_of - window < at <= as_of); decay is 0.5 ** (age_days / half-life);
# caps bound the magnitude; a NULL never matches (CASE ... ELSE 0).
SQL = r"""
WITH a AS (
    SELECT lead_id, activity, detail, "at" AS ts,
           (epoch_us(TIMESTAMP '{as_of}') - epoch_us("at")) / 86400e6 AS age
    FROM read_parquet('{acts}')
    WHERE "at" <= TIMESTAMP '{as_of}'
),
b AS (
    SELECT lead_id,
        LEAST(  1 * COALESCE(SUM(pow(0.5, age / 14)) FILTER (activity = 'web_visit' AND age_ok90), 0), 15)
      + LEAST( 10 * COALESCE(SUM(pow(0.5, age / 14)) FILTER (activity = 'web_visit' AND age_ok90 AND contains(lower(detail), '/pricing')), 0), 30)
      - LEAST( 10 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'web_visit' AND age_ok180 AND contains(lower(detail), '/careers')), 0), 30)
      + LEAST(  3 * COALESCE(SUM(pow(0.5, age / 21)) FILTER (activity = 'email_click' AND age_ok120), 0), 15)
      + LEAST(  8 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'content_download' AND age_ok180), 0), 24)
      + LEAST( 15 * COALESCE(SUM(pow(0.5, age / 45)) FILTER (activity = 'webinar' AND age_ok180), 0), 30)
      + LEAST( 30 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'live_demo' AND age_ok120), 0), 30)
      + LEAST( 40 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'in_depth_demo' AND age_ok120), 0), 40)
      + LEAST( 50 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'form_fill' AND age_ok120 AND detail = 'free_trial'), 0), 50)
      + LEAST( 40 * COALESCE(SUM(pow(0.5, age / 30)) FILTER (activity = 'form_fill' AND age_ok120 AND detail = 'contact_us'), 0), 40)
      - LEAST( 30 * COUNT(*) FILTER (activity = 'unsubscribe'), 30)
      + CASE WHEN COUNT(*) FILTER (activity = 'web_visit' AND ts > TIMESTAMP '{as_of}' - INTERVAL 7 DAY) >= 5 THEN 10 ELSE 0 END
      + CASE WHEN COUNT(*) FILTER (activity IN ('web_visit', 'email_click', 'content_download', 'webinar', 'form_fill')
                                   AND ts > TIMESTAMP '{as_of}' - INTERVAL 3 DAY) >= 1 THEN 5 ELSE 0 END
        AS behaviour
    FROM (
        SELECT *, ts > TIMESTAMP '{as_of}' - INTERVAL 90 DAY AS age_ok90,
                  ts > TIMESTAMP '{as_of}' - INTERVAL 120 DAY AS age_ok120,
                  ts > TIMESTAMP '{as_of}' - INTERVAL 180 DAY AS age_ok180
        FROM a
    )
    GROUP BY lead_id
),
f AS (
    SELECT lead_id,
        CASE WHEN seniority IN ('c_level', 'vp') THEN 25 ELSE 0 END
      + CASE WHEN seniority = 'director' THEN 15 ELSE 0 END
      + CASE WHEN seniority = 'manager' THEN 8 ELSE 0 END
      + CASE WHEN seniority = 'student' THEN -40 ELSE 0 END
      + CASE WHEN regexp_matches(job_title, 'market|sales|revenue|growth|crm', 'i') THEN 10 ELSE 0 END
      + CASE WHEN years_experience >= 5 THEN 5 ELSE 0 END
      + CASE WHEN NOT regexp_matches(email, '@(gmail|googlemail|yahoo|hotmail|outlook|gmx|web|icloud)\.', 'i') THEN 10 ELSE 0 END
      + CASE WHEN regexp_matches(email, '@(gmail|googlemail|yahoo|hotmail|outlook|gmx|web|icloud)\.', 'i') THEN -10 ELSE 0 END
      + CASE WHEN regexp_matches(email, '@(rivalsoft|crmcorp)\.', 'i') THEN -100 ELSE 0 END
      + CASE WHEN company_size >= 50 AND company_size < 200 THEN 10 ELSE 0 END
      + CASE WHEN company_size >= 200 AND company_size < 1000 THEN 20 ELSE 0 END
      + CASE WHEN company_size >= 1000 THEN 25 ELSE 0 END
      + CASE WHEN industry IN ('software', 'manufacturing', 'finance') THEN 15 ELSE 0 END
      + CASE WHEN region IN ('DACH', 'Nordics', 'Benelux') THEN 10 ELSE 0 END
      + CASE WHEN revenue_musd >= 50 THEN 10 ELSE 0 END
      + CASE WHEN subsidiaries >= 3 THEN 5 ELSE 0 END
      + CASE WHEN contains(lower(products_in_use), 'erp') THEN 10 ELSE 0 END
      + CASE WHEN bant_budget IN ('planned', 'approved') THEN 15 ELSE 0 END
      + CASE WHEN bant_authority = 'decision_maker' THEN 15 ELSE 0 END
      + CASE WHEN bant_need = 'urgent' THEN 10 ELSE 0 END
      + CASE WHEN bant_timeline IN ('under_3m', 'under_6m') THEN 10 ELSE 0 END
        AS fit
    FROM read_parquet('{leads}')
)
SELECT f.lead_id, f.fit::DOUBLE AS fit, COALESCE(b.behaviour, 0)::DOUBLE AS behaviour
FROM f LEFT JOIN b USING (lead_id)
"""


def run_duckdb(leads_path: Path, acts_path: Path) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    sql = SQL.format(as_of=AS_OF.isoformat(sep=" "), acts=acts_path, leads=leads_path)
    res = con.execute(sql).fetchnumpy()
    con.close()
    return pd.DataFrame({"fit": res["fit"], "behaviour": res["behaviour"]}, index=pd.Index(res["lead_id"], name="lead_id"))


# --------------------------------------------------------------------------- main


# --------------------------------------------------------------------------- mql_events


def run_mql(log_dir: Path, baseline: str, until: str, repeat: int) -> int:
    """Time mql_events (this tree) against the one at git revision ``baseline``, alternating."""
    import importlib.util
    import subprocess
    import tempfile

    from leadsim import load_definition
    from leadsim.scoring import mql_events

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    # the module leadsim/scoring.py, or the package leadsim/scoring/ with its imports of itself renamed
    files = [f for f in git("ls-tree", "-r", "--name-only", baseline, "--", "leadsim/scoring/").split() if f.endswith(".py")]
    with tempfile.TemporaryDirectory() as tmp:
        if files:
            pkg = Path(tmp) / "scoring_baseline"
            pkg.mkdir()
            for f in files:
                (pkg / Path(f).name).write_text(git("show", f"{baseline}:{f}").replace("leadsim.scoring", "scoring_baseline"))
            path = pkg / "__init__.py"
        else:
            path = Path(tmp) / "scoring_baseline.py"
            path.write_text(git("show", f"{baseline}:leadsim/scoring.py"))
        spec = importlib.util.spec_from_file_location("scoring_baseline", path,
                                                      submodule_search_locations=[str(path.parent)] if files else None)
        base = importlib.util.module_from_spec(spec)
        sys.modules["scoring_baseline"] = base  # dataclasses look their module up
        spec.loader.exec_module(base)
    d = load_definition()
    names = ("leads", "activities", "stage_log")
    if not all((log_dir / f"{name}.parquet").exists() for name in names):  # make it: the year run of bench_simulation
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_simulation import year_scenario

        from leadsim.simulation import simulate

        print(f"writing the one-year simulation log to {log_dir} (once)")
        res = simulate(year_scenario(), seed=2026)
        log_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            getattr(res, name).to_parquet(log_dir / f"{name}.parquet")
    leads, acts, log = (pd.read_parquet(log_dir / f"{name}.parquet") for name in names)
    print(f"{len(leads):,} leads, {len(acts):,} activities, {len(log):,} stage-log rows, until {until}; "
          f"baseline {baseline}, {repeat} alternating runs")
    runs: dict[str, list[float]] = {"baseline": [], "current": []}
    out = {}
    for _ in range(repeat):
        for name, fn in (("baseline", base.mql_events), ("current", mql_events)):
            t0 = time.perf_counter()
            out[name] = fn(leads, acts, d, until, stage_log=log)  # positional: older revisions named it `until`
            runs[name].append(time.perf_counter() - t0)
    pd.testing.assert_frame_equal(out["current"], out["baseline"], check_exact=True)
    for name, ts in runs.items():
        print(f"{name}: median {statistics.median(ts):.2f} s (runs {', '.join(f'{t:.2f}' for t in ts)})")
    print(f"{len(out['current']):,} events, identical to the baseline's")
    print(f"ratio current/baseline: {statistics.median(runs['current']) / statistics.median(runs['baseline']):.2f}")
    return 0


def _timed(fn, repeat: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mql", type=Path, metavar="DIR", help="time mql_events on the simulation log in DIR instead")
    ap.add_argument("--mql-baseline", default="7bf50c0", metavar="REV", help="git revision to compare mql_events with")
    ap.add_argument("--until", default="2027-03-01", help="mql_events' until (with --mql)")
    args = ap.parse_args(argv)
    if args.mql is not None:
        return run_mql(args.mql, args.mql_baseline, args.until, args.repeat)

    from leadsim import load_definition

    definition = load_definition()
    leads_path, acts_path = files(args.leads, args.activities)
    print(f"{args.leads:,} leads, {args.activities:,} activities, as_of {AS_OF}, median of {args.repeat}")

    t_ls, all_ls, ours = _timed(lambda: run_leadsim(leads_path, acts_path, definition), args.repeat)
    peak_ls = _peak_gib()
    print(f"leadsim: {t_ls:.2f} s (runs {', '.join(f'{t:.2f}' for t in all_ls)}); peak memory {peak_ls:.2f} GiB")
    t_db, all_db, theirs = _timed(lambda: run_duckdb(leads_path, acts_path), args.repeat)
    print(f"duckdb:  {t_db:.2f} s (runs {', '.join(f'{t:.2f}' for t in all_db)}); peak memory (process) {_peak_gib():.2f} GiB")

    theirs = theirs.reindex(ours.index)
    if theirs.isna().any().any():
        print("MISMATCH: leads missing from the DuckDB result")
        return 1
    worst = {c: float(np.max(np.abs(ours[c].to_numpy() - theirs[c].to_numpy()))) for c in ("fit", "behaviour")}
    print(f"max |leadsim - duckdb|: fit {worst['fit']:.2e}, behaviour {worst['behaviour']:.2e}")
    if max(worst.values()) > 1e-6:
        print("MISMATCH: the two disagree by more than 1e-6")
        return 1
    print(f"ratio leadsim/duckdb: {t_ls / t_db:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
