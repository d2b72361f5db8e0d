"""Benchmark: reading lead histories from DuckDB and PostgreSQL against the same Parquet files, and scoring them.

    python benchmarks/bench_db.py                          # 1,000,000 leads, 10,000,000 activities
    python benchmarks/bench_db.py --leads 100000 --activities 1000000

The synthetic leads and activities of ``bench_scoring.py`` (Parquet under ``benchmarks/_data/``) are loaded once
into a DuckDB file and into a PostgreSQL 16 (pgserver, in a temporary folder) with ``Database.write_table``
(typed columns; load time printed, not compared).  Each side then reads the columns scoring needs as typed
columns (Parquet: pyarrow; DuckDB: its client; PostgreSQL: ADBC, ``leadsim.io.database``), and scores every lead
with ``leadsim.scoring.contributions`` at the same ``as_of``; the scores must agree.  ``--repeat`` rounds run every
reader in turn (read, then read + score), so a busy spell on a shared machine falls on all of them; times are the
medians over the rounds.  Each round's ratios are printed too (their spread is the noise), and the ratios of this
process's CPU seconds for read + score (less moved by other programs; PostgreSQL's server processes not counted).
The last lines are the ratios ``ratio duckdb/parquet read:``, ``ratio postgres/parquet read:``, and the same with
``score`` (read + score).

    python benchmarks/bench_db.py --clients 1000000      # which PostgreSQL client: ADBC vs psycopg 3

``--clients N`` instead reads one table of N rows (text, timestamptz, bigint, boolean, text with NULLs) whole into
pandas through ADBC (``fetch_arrow_table``), psycopg 3 ``COPY ... TO STDOUT (FORMAT csv)`` into
``pd.read_csv(engine="pyarrow")`` and psycopg 3 ``fetchall``, against ``pd.read_parquet`` of the same table
(best of 3; psycopg is not a leadsim dependency: ``pip install 'psycopg[binary]'``).

The text path of ``read_export`` (typed cells rendered as CSV text, then parsed and checked) is not measured
here: it costs what reading the same export from CSV files costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_datasets import median_time
from bench_scoring import AS_OF, files


def clients(n: int) -> int:
    import io

    import numpy as np
    import psycopg

    from leadsim.io.database import Database

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"lead_id": [f"L{i:07d}" for i in rng.integers(0, 200_000, n)],
                       "at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
                       "n": rng.integers(0, 1000, n), "flag": rng.random(n) < 0.5,
                       "detail": rng.choice(np.array(["/pricing", "price-list", "free_trial", None], dtype=object), n)})
    tmp = Path(tempfile.mkdtemp(prefix="leadsim-bench-clients-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    uri = server.get_uri()
    with Database(uri) as db:
        t0 = time.perf_counter()
        db.write_table(df, "acts")
        print(f"ADBC ingest of {n:,} rows: {time.perf_counter() - t0:.2f} s")
    df.to_parquet(tmp / "acts.parquet")

    def adbc():
        with Database(uri) as db:
            return db.fetch("acts").to_pandas()

    def copy_csv():
        with psycopg.connect(uri) as con, con.cursor() as cur:
            buf = io.BytesIO()
            with cur.copy("COPY (SELECT * FROM acts) TO STDOUT (FORMAT csv, HEADER)") as cp:
                for block in cp:
                    buf.write(block)
            buf.seek(0)
            return pd.read_csv(buf, engine="pyarrow")

    def fetchall():
        with psycopg.connect(uri) as con, con.cursor() as cur:
            cur.execute("SELECT * FROM acts")
            rows = cur.fetchall()
            return pd.DataFrame(rows, columns=[d.name for d in cur.description])

    paths = {"parquet": lambda: pd.read_parquet(tmp / "acts.parquet"), "adbc fetch_arrow_table": adbc,
             "psycopg COPY csv + read_csv(pyarrow)": copy_csv, "psycopg fetchall": fetchall}
    for name, fn in paths.items():
        best = min(median_time(fn, 1)[0] for _ in range(3))
        print(f"{name}: {best:.2f} s")
    server.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", type=int, metavar="N", help="compare PostgreSQL clients on a table of N rows")
    args = ap.parse_args(argv)
    if args.clients:
        return clients(args.clients)

    from leadsim import load_definition
    from leadsim.io.database import Database
    from leadsim.scoring import contributions, required_columns

    definition = load_definition()
    cols = required_columns(definition)
    leads_path, acts_path = files(args.leads, args.activities)
    tmp = Path(tempfile.mkdtemp(prefix="leadsim-bench-db-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    dbs = {"duckdb": Database(f"duckdb:///{tmp / 'history.duckdb'}", create=True), "postgres": Database(server.get_uri())}
    leads = pq.read_table(leads_path, columns=cols["leads"]).to_pandas()
    acts = pq.read_table(acts_path, columns=cols["activities"]).to_pandas()
    for name, db in dbs.items():
        t0 = time.perf_counter()
        db.write_tables({"leads": leads, "activities": acts})
        print(f"{name}: loaded {len(leads):,} leads and {len(acts):,} activities in {time.perf_counter() - t0:.1f} s")
    del leads, acts

    def from_parquet():
        return (pq.read_table(leads_path, columns=cols["leads"]).to_pandas(),
                pq.read_table(acts_path, columns=cols["activities"]).to_pandas())

    def from_db(db):
        return lambda: (db.fetch("leads", cols["leads"]).to_pandas(), db.fetch("activities", cols["activities"]).to_pandas())

    def scored(read):
        def run():
            leads, acts = read()
            return contributions(leads, acts, definition, as_of=AS_OF).sum(axis=1)
        return run

    readers = {"parquet": from_parquet, **{n: from_db(db) for n, db in dbs.items()}}
    # rounds: every reader in turn, so a busy spell on a shared machine falls on all of them alike
    read_t: dict[str, list[float]] = {n: [] for n in readers}
    score_t: dict[str, list[float]] = {n: [] for n in readers}
    cpu_t: dict[str, list[float]] = {n: [] for n in readers}  # this process's CPU seconds of read + score
    scores = {}
    for _ in range(args.repeat):
        for n, r in readers.items():
            read_t[n].append(median_time(r, 1)[0])
            cpu = time.process_time()
            t, scores[n] = median_time(scored(r), 1)
            cpu_t[n].append(time.process_time() - cpu)
            score_t[n].append(t)
    for n in dbs:
        pd.testing.assert_series_equal(scores[n].sort_index(), scores["parquet"].sort_index(), rtol=1e-9)
    read_s = {n: statistics.median(t) for n, t in read_t.items()}
    score_s = {n: statistics.median(t) for n, t in score_t.items()}
    for n in readers:
        print(f"{n}: read {read_s[n]:.2f} s, read + score {score_s[n]:.2f} s")
    for n in dbs:
        db = dbs[n]
        db.close()
    server.cleanup()
    for what, times in (("read", read_t), ("score", score_t), ("score CPU", cpu_t)):
        for n in dbs:
            each = [x / p for x, p in zip(times[n], times["parquet"], strict=True)]
            print(f"{n}/parquet {what} in each round: " + " ".join(f"{x:.2f}" for x in each))
    print(f"ratio duckdb/parquet read: {read_s['duckdb'] / read_s['parquet']:.2f}")
    print(f"ratio postgres/parquet read: {read_s['postgres'] / read_s['parquet']:.2f}")
    print(f"ratio duckdb/parquet score: {score_s['duckdb'] / score_s['parquet']:.2f}")
    print(f"ratio postgres/parquet score: {score_s['postgres'] / score_s['parquet']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
