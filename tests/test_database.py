"""Histories in a database: the three export fixtures loaded into DuckDB and a real PostgreSQL (pgserver, started
once per session in tests/conftest.py) with typed columns read back exactly as from the files, every data command
gives the same output with ``--db`` as with ``--export``, and scores are written back in one transaction."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from test_exports import COMMANDS as EXPORT_COMMANDS

from leadsim import load_definition
from leadsim._resources import data_path
from leadsim.cli import main
from leadsim.definition import LeadsimWarning
from leadsim.errors import InputFileError, SchemaError
from leadsim.io.database import Database, masked
from leadsim.io.export import read_export

VENDORS = ("salesforce", "hubspot", "marketo")
KINDS = ("duckdb", "postgresql")


def export_args(vendor: str) -> list[str]:
    return ["--export", str(data_path(f"exports/{vendor}")), "--mapping", str(data_path(f"mappings/{vendor}.yaml"))]


@pytest.fixture(scope="module")
def urls(tmp_path_factory, postgres_database):
    """(vendor, kind) -> the URL of a database holding that vendor's fixture, loaded by ``leadsim export-to-db``."""
    folder = tmp_path_factory.mktemp("duck")
    out = {}
    for vendor in VENDORS:
        out[vendor, "duckdb"] = f"duckdb:///{folder / vendor}.duckdb"
        out[vendor, "postgresql"] = postgres_database(f"fixture_{vendor}")
        for kind in KINDS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LeadsimWarning)
                assert main(["export-to-db", *export_args(vendor), "--db", out[vendor, kind]]) == 0
    return out


def db_args(vendor: str, url: str) -> list[str]:
    return ["--db", url, "--mapping", str(data_path(f"mappings/{vendor}.yaml"))]


def read(source, vendor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        return read_export(source, load_definition(), mapping=data_path(f"mappings/{vendor}.yaml"))


def test_postgres_columns_are_typed(urls):
    with Database(urls["salesforce", "postgresql"]) as db:
        types = db._arrow("SELECT lower(column_name) AS c, data_type FROM information_schema.columns "
                          "WHERE table_name = 'lead'").to_pandas().set_index("c")["data_type"]
    assert types["createddate"] == "timestamp with time zone"
    assert types["isconverted"] == "boolean"
    assert types["numberofemployees"] == "bigint"
    assert types["converteddate"] == "date"
    assert types["company"] == "text"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_database_reads_as_the_files_do(urls, vendor, kind):
    files = read(data_path(f"exports/{vendor}"), vendor)
    with Database(urls[vendor, kind]) as db:
        got = read(db, vendor)
    assert sorted(got.tables) == sorted(files.tables)
    for name, table in files.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table)
    assert got.summary() == files.summary()
    # a row set aside names its table and row number (+ 1, as a file's line with its header)
    pd.testing.assert_frame_equal(got.set_aside.drop(columns="file"), files.set_aside.drop(columns="file"))
    stems = files.set_aside["file"].dropna().str.rsplit(".", n=1).str[0].str.casefold()
    assert got.set_aside["file"].dropna().tolist() == stems.tolist()


COMMANDS = {**EXPORT_COMMANDS, "calibrate": ["calibrate", "--out", "{tmp}/cal"]}  # the same commands as from a folder


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def same(text: str, tmp: str, origin: str) -> str:
    return text.replace(tmp, "<tmp>").replace(origin, "<data>")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_data_command_gives_the_same_answer_from_a_database(urls, name, kind, tmp_path, capsys):
    vendor = "salesforce"
    files_tmp, db_tmp = tmp_path / "files", tmp_path / "db"
    want = run([a.replace("{tmp}", str(files_tmp)) for a in COMMANDS[name]] + export_args(vendor), capsys)
    got = run([a.replace("{tmp}", str(db_tmp)) for a in COMMANDS[name]] + db_args(vendor, urls[vendor, kind]),
              capsys)
    assert got[0] == want[0]
    folder = str(data_path(f"exports/{vendor}"))
    assert same(got[1], str(db_tmp), f"the database {masked(urls[vendor, kind])}") == same(
        want[1], str(files_tmp), f"the export in {folder}")
    assert same(got[2], str(db_tmp), "") == same(want[2], str(files_tmp), "")
    if name == "calibrate":  # below its floor: the same one line
        assert "too few labelled hand-offs to calibrate" in got[2].strip().splitlines()[-1]


@pytest.fixture(scope="module")
def demo_from_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "files"
    assert main(["demo", *export_args("marketo"), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_demo_from_a_database_matches_the_export(urls, kind, demo_from_files, tmp_path, capsys):
    vendor = "marketo"
    assert main(["demo", *db_args(vendor, urls[vendor, kind]), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    capsys.readouterr()
    assert list(demo_from_files.glob("*.csv"))
    for csv in sorted(demo_from_files.glob("*.csv")):
        assert (tmp_path / "b" / csv.name).read_bytes() == csv.read_bytes(), csv.name


# --------------------------------------------------------------------------- scores back to the database


@pytest.fixture(params=KINDS)
def writable(request, tmp_path, postgres_database):
    """A fresh database holding the Salesforce fixture, for write-back tests."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path}/w.duckdb"
    else:
        name = re.sub(r"\W", "_", request.node.name)[-40:]
        url = postgres_database(f"write_{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeadsimWarning)
        assert main(["export-to-db", *export_args("salesforce"), "--db", url]) == 0
    return url


def scores_table(url: str) -> pd.DataFrame:
    with Database(url) as db:
        return db.read("lead_scores")


def test_score_writes_its_table_once_and_replaces_only_when_asked(writable, capsys):
    argv = ["score", *db_args("salesforce", writable), "--write-table", "lead_scores"]
    assert main(argv) == 0
    table = scores_table(writable)
    assert len(table) == 20 and set(table["definition_version"]) == {str(load_definition().version)}
    assert {"lead_id", "score", "grade", "is_mql", "is_hot", "as_of"} <= set(table.columns)
    capsys.readouterr()
    assert main(argv) == 2
    assert "table 'lead_scores' exists already; pass --replace" in capsys.readouterr().err
    assert main([*argv, "--replace", "--as-of", "2026-04-01 12:00"]) == 0
    assert set(scores_table(writable)["as_of"]) == {"2026-04-01 12:00:00"}
    capsys.readouterr()
    assert main(["score", *db_args("salesforce", writable), "--write-table", "LeadHistory", "--replace"]) == 2
    assert "source table the mapping reads" in capsys.readouterr().err


def test_a_failure_half_way_leaves_no_table(writable, monkeypatch, capsys):
    insert = Database._insert

    def fail_after_insert(self, df, name):
        insert(self, df, name)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Database, "_insert", fail_after_insert)
    assert main(["score", *db_args("salesforce", writable), "--write-table", "lead_scores"]) == 2
    assert "cannot write table 'lead_scores': disk full; nothing was written" in capsys.readouterr().err
    with Database(writable) as db:
        assert "lead_scores" not in db.tables()


# --------------------------------------------------------------------------- bad input


def test_a_url_that_does_not_connect_names_the_fix_and_hides_the_password(capsys):
    url = "postgresql://ana:s3cret@127.0.0.1:1/crm"
    assert main(["funnel", *db_args("salesforce", url)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s3cret" not in err
    assert err.startswith("leadsim: error: postgresql://ana:***@127.0.0.1:1/crm: cannot connect")
    assert "check host, port, database name, user and password in --db" in err


def test_a_missing_table_or_column_is_named(urls, tmp_path):
    with pytest.raises(InputFileError, match=r"the mapping reads table 'lead' for the leads table, which the "
                                             r"database lacks.*leadsim export-to-db"):
        read(Database("duckdb://"), "salesforce")
    with pytest.raises(InputFileError, match=r"DuckDB file '.*typo\.duckdb' not found; check the path"):
        read(Database(f"duckdb:///{tmp_path}/typo.duckdb"), "salesforce")
    assert not (tmp_path / "typo.duckdb").exists()
    with Database(urls["salesforce", "duckdb"]) as db, pytest.raises(
            SchemaError, match=r"table 'lead' lacks column\(s\) \['Nope'\]"):
        db.read("lead", ["Id", "Nope"])


def test_a_read_only_user_asked_to_write_is_told_the_fix(urls, postgres_url, capsys):
    import adbc_driver_postgresql.dbapi as adbc

    url = urls["salesforce", "postgresql"]
    with adbc.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS reader")
        cur.execute("CREATE ROLE reader LOGIN PASSWORD 'hunter2'")
        cur.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    reader = url.replace("postgresql://postgres:@", "postgresql://reader:hunter2@", 1)
    assert main(["score", *db_args("salesforce", reader), "--write-table", "lead_scores"]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "reader:***@" in err
    assert "permission denied" in err and "grant it CREATE on the schema" in err


def test_reads_fetch_only_the_columns_the_mapping_reads(urls, monkeypatch):
    fetched: dict[str, list[str]] = {}
    original = Database.read

    def spy(self, table, columns=None, **kw):
        fetched[table] = list(self.columns(table) if columns is None else columns)
        return original(self, table, columns, **kw)

    monkeypatch.setattr(Database, "read", spy)
    with Database(urls["salesforce", "duckdb"]) as db:
        read(db, "salesforce")
    assert fetched["task"] == ["WHOID", "OWNERID", "TYPE", "STATUS", "COMPLETEDDATETIME"]
    assert "SUBJECT" not in fetched["task"] and "COMPANY" in fetched["lead"]  # leads: every column may be an attribute


def _spy_reads(monkeypatch) -> dict[str, int]:
    """Table -> rows the database sent, for every ``Database.read`` a command makes."""
    rows: dict[str, int] = {}
    original = Database.read

    def spy(self, table, columns=None, **kw):
        out = original(self, table, columns, **kw)
        rows[table] = len(out)
        return out

    monkeypatch.setattr(Database, "read", spy)
    return rows


@pytest.mark.parametrize(("command", "tables"), [
    (["funnel"], {"lead", "leadhistory", "opportunityhistory"}),
    (["score"], {"lead", "leadhistory", "opportunityhistory"}),
    (["sla", "audit"], {"lead", "leadhistory", "opportunityhistory", "task", "user"}),
])
def test_a_command_reads_only_the_tables_it_uses(urls, monkeypatch, command, tables, capsys):
    rows = _spy_reads(monkeypatch)
    assert main([*command, *db_args("salesforce", urls["salesforce", "duckdb"])]) == 0
    assert set(rows) == tables


@pytest.mark.parametrize("kind", KINDS)
def test_score_as_of_reads_only_the_window_and_scores_as_the_files(urls, monkeypatch, kind, capsys):
    as_of = ["--as-of", "2026-03-10 12:00"]
    want = run(["score", *as_of, *export_args("marketo")], capsys)
    rows = _spy_reads(monkeypatch)
    got = run(["score", *as_of, *db_args("marketo", urls["marketo", kind])], capsys)
    url, folder = masked(urls["marketo", kind]), str(data_path("exports/marketo"))
    assert got[0] == want[0] == 0
    assert got[1].replace(f"the database {url}", "<data>") == want[1].replace(f"the export in {folder}", "<data>")
    whole = pd.read_csv(data_path("exports/marketo/activities.csv"))
    up_to = (pd.to_datetime(whole["activityDate"]) <= pd.Timestamp("2026-03-11 12:00", tz="Europe/Berlin")).sum()
    assert rows["activities"] == up_to < len(whole)  # a day's margin past --as-of, cut by the database
    assert "timed rows read up to a day after 2026-03-10 12:00" in got[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["funnel", "--db", "duckdb://"], "--mapping: --db needs --mapping"),
    (["funnel", "--db", "duckdb://", *export_args("salesforce")], "--db: --export and --db both give tables"),
    (["score", "--write-table", "s", *export_args("salesforce")], "--write-table: --write-table writes into the "
                                                                  "database --db reads"),
    (["funnel", "--db", "mysql://a:b@h/db", "--mapping", "m.yaml"], "mysql://a:***@h/db: unknown database URL "
                                                                    "scheme 'mysql'"),
])
def test_database_options_are_checked_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"leadsim: error: {message}" in err


@pytest.mark.parametrize("kind", KINDS)
def test_mapping_check_explains_a_database_as_it_does_the_folder(urls, kind, capsys):
    vendor = "hubspot"
    code, want, _ = run(["mapping", "check", *export_args(vendor), "--json", "--all-values"], capsys)
    assert code == 0
    code, got, _ = run(["mapping", "check", *db_args(vendor, urls[vendor, kind]), "--json", "--all-values"], capsys)
    assert code == 0
    import json

    want, got = json.loads(want), json.loads(got)
    assert got["rows"] == want["rows"] and got["summary"] == want["summary"]
    strip = [{k: v for k, v in r.items() if k != "file"} for r in want["values"]]
    assert [{k: v for k, v in r.items() if k != "file"} for r in got["values"]] == strip
    # the same export columns are left unread; a table is named after its file (contacts.csv -> contacts)
    assert {(r["file"], r["column"]) for r in got["unread"]} == {
        (r["file"].rsplit(".", 1)[0].casefold(), r["column"]) for r in want["unread"]}
