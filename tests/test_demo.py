"""The main job: `leadsim demo` writes a self-contained report that a person can open."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from leadsim.cli import main
from leadsim.errors import InputFileError


class _Page(HTMLParser):
    """Collect every <img src> and the number of body rows of every <table>."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.table_rows: list[int] = []
        self._in_tbody = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "table":
            self.table_rows.append(0)
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.table_rows[-1] += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "leadsim-report"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


def test_every_image_is_embedded_and_not_blank(report_dir):
    page = _Page()
    page.feed((report_dir / "index.html").read_text(encoding="utf-8"))
    assert len(page.images) >= 5
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:60]
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L"), dtype=float)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img.std() > 5, "a blank figure"              # its pixels vary
        assert (img < 128).mean() > 0.002, "nothing drawn"   # some ink on the page


def test_every_table_has_rows(report_dir):
    page = _Page()
    page.feed((report_dir / "index.html").read_text(encoding="utf-8"))
    assert len(page.table_rows) >= 8
    assert all(n > 0 for n in page.table_rows), page.table_rows


def test_report_folder_holds_figures_and_data(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert "index.html" in names
    assert any(n.endswith(".png") for n in names)
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".json") for n in names)


def test_demo_refuses_to_overwrite_without_force(report_dir, capsys):
    before = (report_dir / "index.html").stat().st_mtime_ns
    assert main(["demo", "--out", str(report_dir), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (report_dir / "index.html").stat().st_mtime_ns == before


def test_run_demo_refuses_before_doing_any_work(tmp_path):
    from leadsim.demo import run_demo

    (tmp_path / "keep.txt").write_text("user file")
    with pytest.raises(InputFileError, match="--force"):
        run_demo(tmp_path, progress=False)
    assert (tmp_path / "keep.txt").read_text() == "user file"


def test_demo_command_is_installed():
    out = subprocess.run([sys.executable, "-m", "leadsim.cli", "demo", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--force" in out.stdout


def test_run_demo_force_never_deletes_inputs_or_non_reports(tmp_path, monkeypatch):
    """The Python API is guarded like the CLI: --force replaces only an earlier report."""
    from leadsim.demo import run_demo

    data = tmp_path / "mine"
    data.mkdir()
    (data / "leads.csv").write_text("lead_id\nL1\n")
    (data / "activities.csv").write_text("lead_id,activity,at\n")
    with pytest.raises(InputFileError, match="holds the input file"):
        run_demo(data, force=True, progress=False, leads=data / "leads.csv", activities=data / "activities.csv")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(InputFileError, match="not a leadsim report"):
        run_demo(other, force=True, progress=False)
    monkeypatch.chdir(other)
    with pytest.raises(InputFileError, match="current folder"):
        run_demo(tmp_path, force=True, progress=False)
    assert (data / "leads.csv").exists() and (other / "todo.txt").read_text() == "keep me"


def test_the_what_if_on_a_users_history_runs_the_scenario_fitted_to_it(tmp_path):
    """A history the user brings (here the sample's tables, said to be theirs) gets a fitted what-if."""
    import warnings as _w

    from leadsim.datasets import load_sample
    from leadsim.definition import LeadsimWarning
    from leadsim.demo import DemoContext, run_demo

    h = load_sample()
    ctx = DemoContext(h.definition, h.leads, h.activities, h.stage_log, h.touches, h.owners, h.outcomes,
                      quick=True, origin="your export", own_data=True)
    with _w.catch_warnings():
        _w.simplefilter("ignore", LeadsimWarning)
        index = run_demo(tmp_path / "r", ctx=ctx, steps=["simulate"], progress=False)
    html = index.read_text(encoding="utf-8")
    assert "Simulation fitted to your history" in html and "Fitted figures and where they came from" in html
    assert f"of the scenario fitted to your export ({ctx.results['simulation'].scenario.sdr_headcount} SDRs" in html
    assert ctx.results["simulation"].scenario.provenance is not None


def test_the_report_shows_the_calendars_the_sla_audit_ran_on(report_dir):
    import pandas as pd

    from leadsim.public_holidays import version

    cal = pd.read_csv(report_dir / "sla_calendars.csv", dtype=str, keep_default_na=False).set_index("calendar")
    assert list(cal.index) == ["home", "boston", "london"]
    assert cal.loc["home", "timezone"] == "Europe/Berlin" and cal.loc["home", "country"] == "DE"
    assert cal.loc["boston", ["working_hours", "subdivision"]].tolist() == ["09:00-17:00", "MA"]
    assert (cal["holidays_version"] == version()).all()
    # Christmas falls within the sample's audited span: a public holiday in all three countries
    assert all(any(d.endswith("-12-25") for d in days.split(", ")) for days in cal["days_off"])
