"""Shared fixtures, and the one list of reasons a test may skip.

A skipped test proves nothing, so a skip is allowed only for a reason listed
in :data:`ALLOWED_SKIPS`; a test that skips for any other reason (a missing
package, a missing file, an import error turned into a skip) fails the run.
Area-specific fixtures live in their own test modules.
"""

from __future__ import annotations

import os
import warnings

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# Property tests draw the same examples on every run and machine (derandomize), so a red run can be
# rerun and a green one means the same thing everywhere. To hunt for new cases, run with
# HYPOTHESIS_PROFILE=explore (random examples; a failure prints the blob to reproduce it).
settings.register_profile("leadsim", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "leadsim"))

#: Every reason a test may skip, by the start of its message.  Add one only
#: for what no install step can provide, and say why here.
ALLOWED_SKIPS = (
    # scikit-learn's estimator checks test array-API inputs only when the user
    # opts in with SCIPY_ARRAY_API=1; leadsim's calibrator takes numpy/pandas.
    "SCIPY_ARRAY_API is not set",
    # tests/test_machine_independence.py: on a CPU where numpy dispatches no
    # wider paths than its baseline there is nothing to switch off.
    "numpy dispatches no wider CPU paths on this machine",
)


def skip_reason(report: pytest.TestReport) -> str:
    """The message a skipped test gave, without pytest's ``Skipped: `` prefix."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if not reason.startswith(ALLOWED_SKIPS):
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} skipped for a reason not in tests/conftest.py ALLOWED_SKIPS: "
                               f"{reason!r}. Install what it needs, or fix the test; a skip proves nothing.")
    return report


@pytest.fixture(scope="session")
def definition():
    from leadsim import load_definition

    return load_definition()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A PostgreSQL 16 server for the session (pgserver, from the test extra), in a temporary folder.

    Yields a URL of its ``postgres`` database; :func:`postgres_database` makes a fresh database beside it.
    """
    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset on CI machines
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_database(postgres_url):
    """``postgres_database(name)``: the URL of a new, empty database ``name`` on the session's server."""
    import adbc_driver_postgresql.dbapi as adbc

    def make(name: str) -> str:
        with adbc.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        return postgres_url.replace("/postgres?", f"/{name}?", 1)

    return make
