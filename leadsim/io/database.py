"""Histories in a database: DuckDB embedded, PostgreSQL as the real server; scores written back.

A :class:`Database` is opened from a URL: ``duckdb:///history.duckdb`` (a file, relative; four slashes for an
absolute path), ``duckdb://`` (in memory) or ``postgresql://user:password@host:port/db``.  A column mapping's ``file:`` values name tables in it: the file's
name without its extension, lower-cased (``Lead.csv`` is table ``lead``; ``crm.lead`` a table in schema ``crm``),
so one mapping reads an export folder and the database :func:`load_export` filled from it.

Typed columns come back as the text a CSV export would hold (times with a zone in UTC ISO 8601, or in the
mapping's ``timezone`` and ``date_format`` when it gives them; booleans ``true``/``false``; numbers as plain
text; NULL missing), so everything after reading is the same as for files.  Both databases are read and written
through Arrow: ADBC for PostgreSQL (measured fastest, see ``benchmarks/RESULTS-db.md``), DuckDB's own client.
Passwords never appear in messages: :func:`masked`.

>>> masked("postgresql://ana:s3cret@db.example:5432/crm")
'postgresql://ana:***@db.example:5432/crm'
>>> db = Database("duckdb://")
>>> db.write_table(pd.DataFrame({"lead_id": ["L1"], "score": [61.5]}), "lead_scores")
>>> db.read("lead_scores").to_dict("records")
[{'lead_id': 'L1', 'score': '61.5'}]
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.errors import InputFileError, SchemaError

__all__ = ["Database", "infer_types", "masked", "table_name"]

EXTRA = "pip install 'leadsim[db]'"
FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm", ".xls")
_TZ = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$")
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^-?(0|[1-9]\d{0,17})$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)\.\d+$")


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for every message, log and output)."""
    parts = urllib.parse.urlsplit(url)
    if parts.query:  # libpq also takes password=... among the parameters
        query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
        parts = parts._replace(query=query)
        url = urllib.parse.urlunsplit(parts)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def table_name(file: str) -> str:
    """The table a mapping's ``file:`` names: the name without a file extension, lower-cased.

    >>> table_name("Lead.csv"), table_name("crm.LeadHistory"), table_name("contacts")
    ('lead', 'crm.leadhistory', 'contacts')
    """
    name = file.strip()
    for suffix in FILE_SUFFIXES:
        if name.casefold().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.casefold()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(name: str) -> str:
    """A table name, schema-qualified when it holds a dot."""
    return ".".join(_ident(p) for p in name.split("."))


class Database:
    """A connection to DuckDB or PostgreSQL named by a URL; see the module docstring.

    A DuckDB file must exist unless ``create`` (``export-to-db`` makes it); nothing connects until first used."""

    def __init__(self, url: str, *, create: bool = False):
        self.url = url
        self.create = create
        self.where = masked(url)
        scheme = urllib.parse.urlsplit(url).scheme.split("+")[0]
        if scheme == "duckdb":
            self.kind = "duckdb"
            path = url.split("://", 1)[1] if "://" in url else ""
            path = path[1:] if path.startswith("/") else path
            self.path = path or ":memory:"
        elif scheme in ("postgresql", "postgres"):
            self.kind = "postgresql"
        else:
            raise InputFileError(f"unknown database URL scheme {scheme!r}; use duckdb:///file.duckdb or "
                                 "postgresql://user:password@host:port/database", where=self.where)
        self._con: Any = None

    # ----------------------------------------------------------------------------------------- connection
    def _clean(self, err: BaseException) -> str:
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        secrets = [urllib.parse.urlsplit(self.url).password,
                   *re.findall(r"(?i)(?:^|&)password=([^&]*)", urllib.parse.urlsplit(self.url).query)]
        for secret in filter(None, secrets):
            text = text.replace(secret, "***")
        return text

    @property
    def con(self) -> Any:
        if self._con is None:
            self._con = self._connect()
        return self._con

    def _connect(self) -> Any:
        if self.kind == "duckdb":
            try:
                import duckdb
            except ImportError:
                raise InputFileError(f"DuckDB needs the database extra: {EXTRA}", where=self.where) from None
            if self.path != ":memory:" and not Path(self.path).parent.exists():
                raise InputFileError(f"cannot open the DuckDB file: folder {str(Path(self.path).parent)!r} not "
                                     "found; check the path in the URL", where=self.where)
            if self.path != ":memory:" and not self.create and not Path(self.path).is_file():
                raise InputFileError(f"DuckDB file {self.path!r} not found; check the path in the URL (three slashes "
                                     "for a relative path, four for an absolute one), or fill it first with "
                                     "leadsim export-to-db", where=self.where)
            try:
                return duckdb.connect(self.path)
            except Exception as err:
                raise InputFileError(f"cannot open the DuckDB file: {self._clean(err)}; check the path and that "
                                     "no other program holds it open for writing", where=self.where) from None
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError:
            raise InputFileError(f"PostgreSQL needs the database extra: {EXTRA}", where=self.where) from None
        url = self.url.replace("postgres://", "postgresql://", 1) if self.url.startswith("postgres://") else self.url
        try:
            con = adbc.connect(url)
            with con.cursor() as cur:  # times with a zone come back in UTC; rendered per the mapping later
                cur.execute("SET TIME ZONE 'UTC'")
            con.commit()
            return con
        except Exception as err:
            raise InputFileError(f"cannot connect: {self._clean(err)}; check host, port, database name, user and "
                                 "password in --db, and that the server is running", where=self.where) from None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _arrow(self, sql: str) -> Any:
        if self.kind == "duckdb":
            rel = self.con.sql(sql)
            return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # duckdb < 1.4
        with self.con.cursor() as cur:
            cur.execute(sql)
            table = cur.fetch_arrow_table()
        self.con.rollback()  # end the read's transaction
        return table

    # ----------------------------------------------------------------------------------------- reading
    def tables(self) -> list[str]:
        """The tables (and views) readable, as ``name`` in the default schema and ``schema.name`` elsewhere."""
        default = "main" if self.kind == "duckdb" else "public"
        sql = ("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN "
               "('pg_catalog', 'information_schema') ORDER BY 1, 2")
        t = self._arrow(sql).to_pydict()
        return [n if s == default else f"{s}.{n}" for s, n in zip(t["table_schema"], t["table_name"], strict=True)]

    def find(self, name: str, *, what: str) -> str:
        """The table ``name`` as the database spells it (case does not matter); a clear error when missing."""
        have = self.tables()
        folded = {t.casefold(): t for t in have}
        hit = folded.get(name.casefold())
        if hit is None:
            raise InputFileError(f"the mapping reads table {name!r} for {what}, which the database lacks; it holds "
                                 f"{have}; load it (leadsim export-to-db) or change 'file:' in the mapping",
                                 where=self.where)
        return hit

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` in their order."""
        return [f.name for f in self._arrow(f"SELECT * FROM {_quote(table)} LIMIT 0").schema]

    def fetch(self, table: str, columns: Iterable[str] | None = None, *,
              window: tuple[str, pd.Timestamp] | None = None) -> Any:
        """``table`` (only ``columns``, spelled as the database does, when given) as a typed ``pyarrow.Table``.

        ``window=(column, as_of)``: only rows whose ``column`` is empty or at most a day after ``as_of``; applied in
        the database when ``column`` holds times, else ignored (all rows)."""
        cols = "*" if columns is None else ", ".join(_ident(c) for c in columns)
        where = self._window(table, *window) if window else ""
        try:
            return self._arrow(f"SELECT {cols} FROM {_quote(table)}{where}")
        except Exception as err:
            raise InputFileError(f"cannot read table {table!r}: {self._clean(err)}", where=self.where) from None

    def _window(self, table: str, column: str, as_of: pd.Timestamp) -> str:
        """The WHERE clause keeping rows up to a day after ``as_of`` by a time column ("" when it holds no times).

        The day's margin covers times stored without a zone (read in any zone later): a window never drops a row
        the command would keep; the command makes the exact cut."""
        import pyarrow as pa

        kind = self._arrow(f"SELECT {_ident(column)} FROM {_quote(table)} LIMIT 0").schema.field(0).type
        if not pa.types.is_timestamp(kind):
            return ""
        t = pd.Timestamp(as_of)
        edge = (t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t) + pd.Timedelta(days=1)
        literal = (f"TIMESTAMPTZ '{edge.isoformat(sep=' ')}+00:00'" if kind.tz is not None
                   else f"TIMESTAMP '{edge.isoformat(sep=' ')}'")
        return f" WHERE {_ident(column)} IS NULL OR {_ident(column)} <= {literal}"

    def read(self, table: str, columns: Iterable[str] | None = None, *, timezone: str | None = None,
             date_format: str | None = None, formats: Mapping[str, str] | None = None,
             window: tuple[str, pd.Timestamp] | None = None) -> pd.DataFrame:
        """``table`` (only ``columns`` when given) as text cells, typed columns rendered as a CSV holds them.

        Rows come in the table's stored order (``window``: only those in it, see :meth:`fetch`).  Times
        with a zone are written in ``timezone`` without it when given (with ``date_format``, or
        ``formats[column]``), else in UTC ISO 8601 with ``Z``."""
        have = self.columns(table)
        if columns is None:
            cols = have
        else:
            folded = {c.casefold(): c for c in have}
            wanted = [folded.get(c.casefold()) for c in columns]
            missing = [c for c, w in zip(columns, wanted, strict=True) if w is None]
            if missing:
                raise SchemaError(f"table {table!r} lacks column(s) {missing}; its columns are {have}; add them "
                                  "or change the mapping", where=self.where)
            cols = list(dict.fromkeys(w for w in wanted if w is not None))
        if window is not None:
            hit = {c.casefold(): c for c in have}.get(window[0].casefold())
            window = (hit, window[1]) if hit else None
        df = self.fetch(table, cols, window=window).to_pandas()
        fmts = {k.casefold(): v for k, v in (formats or {}).items()}
        return pd.DataFrame({c: _as_text(df[c], timezone=timezone, fmt=fmts.get(c.casefold(), date_format))
                             for c in df.columns}, index=pd.RangeIndex(len(df)))

    # ----------------------------------------------------------------------------------------- writing
    def write_table(self, df: pd.DataFrame, name: str, *, replace: bool = False,
                    protected: Iterable[str] = ()) -> None:
        """Write ``df`` as table ``name`` in one transaction: all of it, or (on any failure) nothing.

        An existing table is refused unless ``replace``; a table in ``protected`` (the tables a mapping reads)
        always."""
        self.write_tables({name: df}, replace=replace, protected=protected)

    def write_tables(self, tables: Mapping[str, pd.DataFrame], *, replace: bool = False,
                     protected: Iterable[str] = ()) -> None:
        """Write several tables in one transaction (see :meth:`write_table`)."""
        have = {t.casefold() for t in self.tables()}
        guarded = {p.casefold() for p in protected}
        for name in tables:
            if name.casefold() in guarded:
                raise InputFileError(f"table {name!r} is a source table the mapping reads; leadsim never writes "
                                     "into one: choose another --write-table", where=self.where)
            if name.casefold() in have and not replace:
                raise InputFileError(f"table {name!r} exists already; pass --replace to replace it, or choose "
                                     "another name", where=self.where)
        names = ", ".join(repr(n) for n in tables)
        with self._transaction(names):
            for name, df in tables.items():
                if name.casefold() in have:
                    self._execute(f"DROP TABLE {_quote(name.casefold())}")
                self._insert(df, name.casefold())

    @contextlib.contextmanager
    def _transaction(self, name: str) -> Iterator[None]:
        if self.kind == "duckdb":
            self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException as err:
            self.con.rollback()
            if isinstance(err, Exception) and not isinstance(err, InputFileError):
                raise _write_error(self, name, err) from None
            raise
        self.con.commit()

    def _execute(self, sql: str) -> None:
        if self.kind == "duckdb":
            self.con.execute(sql)
        else:
            with self.con.cursor() as cur:
                cur.execute(sql)

    def _insert(self, df: pd.DataFrame, name: str) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self.kind == "duckdb":
            self.con.register("_leadsim_frame", table)
            try:
                self.con.execute(f"CREATE TABLE {_quote(name)} AS SELECT * FROM _leadsim_frame")
            finally:
                self.con.unregister("_leadsim_frame")
        else:
            schema, _, bare = name.rpartition(".")
            with self.con.cursor() as cur:
                cur.adbc_ingest(bare, table, mode="create", db_schema_name=schema or None)


def _write_error(db: Database, name: str, err: Exception) -> InputFileError:
    text = db._clean(err)
    if "permission denied" in text.casefold() or "read-only" in text.casefold() or "read only" in text.casefold():
        return InputFileError(f"cannot write table {name!r}: {text}; the database user may only read: grant it "
                              "CREATE on the schema, or give a --db URL with a user that may write", where=db.where)
    return InputFileError(f"cannot write table {name}: {text}; nothing was written", where=db.where)


def _as_text(s: pd.Series, *, timezone: str | None, fmt: str | None) -> pd.Series:
    """A typed column as the text a CSV export holds; NULL stays missing."""
    missing = s.isna().to_numpy(dtype=bool)
    if isinstance(s.dtype, pd.DatetimeTZDtype) or (pd.api.types.is_datetime64_any_dtype(s.dtype)):
        tz = getattr(s.dtype, "tz", None)
        t = s
        if tz is not None and timezone:
            t, tz = s.dt.tz_convert(timezone).dt.tz_localize(None), None
        elif tz is not None:
            t = s.dt.tz_convert("UTC")
        frac = bool((t.dropna().dt.microsecond != 0).any())
        if fmt and tz is None:
            text = t.dt.strftime(fmt)
        elif tz is not None:
            text = t.dt.strftime("%Y-%m-%dT%H:%M:%S" + (".%f" if frac else "") + "Z")
        else:
            text = t.dt.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if frac else ""))
    elif pd.api.types.is_bool_dtype(s.dtype):
        text = s.map({True: "true", False: "false"})
    elif pd.api.types.is_integer_dtype(s.dtype):
        text = s.astype("Int64").astype("string")
    elif pd.api.types.is_float_dtype(s.dtype):
        whole = bool(np.all(np.isnan(s.to_numpy()) | (s.to_numpy() == np.round(s.to_numpy()))))
        text = s.map(lambda v: str(int(v)) if whole else repr(float(v)), na_action="ignore")
    else:
        text = s.map(_cell_text, na_action="ignore")
    out = text.astype(object)
    out[missing] = None
    return out


def _cell_text(v: Any) -> str:
    import datetime as dt

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def infer_types(df: pd.DataFrame, *, timezone: str | None = None) -> pd.DataFrame:
    """Text columns as typed columns where every value reads back as the same text: ``true``/``false`` as
    booleans, whole numbers as integers, ISO dates, times with a zone (and naive times, in ``timezone`` when
    given) as times; anything else stays text.

    >>> t = infer_types(pd.DataFrame({"n": ["1", None], "b": ["true", "false"], "id": ["007", "8"],
    ...                               "at": ["2026-03-02T08:14:22.000Z", "2026-03-02T09:00:00+01:00"]}))
    >>> [str(d) for d in t.dtypes]
    ['Int64', 'boolean', 'string', 'datetime64[us, UTC]']
    """
    out = {}
    for c in df.columns:
        s = df[c]
        values = s.dropna().astype(str)
        v = values.tolist()
        if not v:
            out[c] = s.astype("string")
        elif all(x in ("true", "false") for x in v):
            out[c] = s.map({"true": True, "false": False}).astype("boolean")
        elif all(_INT.match(x) for x in v):
            out[c] = pd.array([int(x) if isinstance(x, str) else None for x in s.astype(object)], dtype="Int64")
        elif all(_FLOAT.match(x) and repr(float(x)) == x for x in v):
            out[c] = pd.to_numeric(s).astype("float64")
        elif all(_DATE.match(x) for x in v):
            out[c] = pd.to_datetime(s, format="%Y-%m-%d").dt.date
        elif all(_TZ.match(x) for x in v):
            out[c] = pd.to_datetime(s, utc=True, format="ISO8601")
        elif all(_NAIVE.match(x) for x in v):
            t = pd.to_datetime(s, format="ISO8601")
            out[c] = (t.dt.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward").dt.tz_convert("UTC")
                      if timezone else t)
        else:
            out[c] = s.astype("string")
    return pd.DataFrame(out, index=df.index)
