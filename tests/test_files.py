"""The one atomic writer (leadsim.files) and the one packed-key sorter (leadsim.keys).

Every path that writes a file goes through :func:`leadsim.files.write_atomic`, so each gets the mode a
plain ``open()`` gives, a failure mid-write leaves the old file and no temporary file, and nothing is
overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from leadsim.errors import InputFileError
from leadsim.files import current_umask, write_atomic, write_folder_atomic
from leadsim.keys import stable_order


@pytest.fixture
def umask_027():
    """A umask other than the usual 022, so a mode that merely happens to be 0644 does not pass."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_open_mode(folder: Path) -> int:
    probe = folder / "probe-by-open"
    with open(probe, "w") as fh:
        fh.write("x")
    m = mode(probe)
    probe.unlink()
    return m


# --------------------------------------------------------------------------- the writer


@pytest.mark.parametrize("content", ["text\n", b"\x00bytes", lambda tmp: tmp.write_text("by callback")],
                         ids=["text", "bytes", "callback"])
def test_write_atomic_gives_the_mode_open_gives(tmp_path, umask_027, content):
    path = write_atomic(tmp_path / "f.txt", content)
    assert mode(path) == plain_open_mode(tmp_path) == 0o666 & ~umask_027
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_current_umask_reads_without_changing(umask_027):
    assert current_umask() == 0o027
    assert current_umask() == 0o027


def _every_writer(folder: Path) -> dict[str, Path]:
    """One file from each path in leadsim that writes files."""
    from leadsim import load_definition, make_history
    from leadsim.cli import main as cli
    from leadsim.datasets import write_history
    from leadsim.exercise.worksheets import write_key, write_worksheet
    from leadsim.io import write_table
    from leadsim.report import Report

    out: dict[str, Path] = {}
    sample = pd.DataFrame({"company": ["Acme", "=cmd|x"], "lead_id": ["L1", "L2"], "score": [120.0, 30.0]})
    out["table csv"] = write_table(sample, folder / "t.csv")
    out["table parquet"] = write_table(sample, folder / "t.parquet")
    out["table xlsx"] = write_table(sample, folder / "t.xlsx")
    load_definition().to_yaml(folder / "definition.yaml")
    out["definition yaml"] = folder / "definition.yaml"
    out["worksheet xlsx"] = write_worksheet(sample, folder / "sales.xlsx", definition=load_definition())
    out["worksheet csv"] = write_worksheet(sample, folder / "sales.csv", definition=load_definition())
    out["key csv"] = write_key(sample, folder / "key.csv")
    history = make_history(load_definition(), n_leads=60, start="2025-01-01", end="2025-02-01", seed=1)
    write_history(history, folder / "history")
    out["history parquet"] = folder / "history" / "leads.parquet"
    out["history manifest"] = folder / "history" / "MANIFEST.json"
    rep = Report("t")
    rep.table("scores", sample)
    index = rep.write(folder / "report")
    out["report html"] = index
    out["report csv"] = index.parent / "scores.csv"
    out["report folder"] = index.parent
    from leadsim.simulation import load_scenario

    scenario = load_scenario().with_values({"horizon_days": 7, "arrivals.web_form.per_week": 20,
                                            "arrivals.paid.per_week": 10, "arrivals.organic.per_week": 10,
                                            "arrivals.event.per_week": 0, "bursts": []})
    (folder / "s.yaml").write_text(scenario.to_yaml())
    assert cli(["simulate", "--scenario", str(folder / "s.yaml"), "--out", str(folder / "sim"), "--json"]) == 0
    out["simulate csv"] = folder / "sim" / "kpis.csv"
    out["simulate json"] = folder / "sim" / "kpis.json"
    return out


def test_every_writer_gives_the_same_mode(tmp_path, umask_027, capsys):
    files = _every_writer(tmp_path)
    capsys.readouterr()
    expected = {name: (0o777 if p.is_dir() else 0o666) & ~umask_027 for name, p in files.items()}
    assert {name: mode(p) for name, p in files.items()} == expected
    leftovers = list(tmp_path.rglob(".*"))
    assert not leftovers, leftovers


def test_calibration_write_gives_the_same_mode(tmp_path, umask_027):
    """Calibration.write: the YAML, the diff, the metrics and a figure (a stand-in report: only writing is tested)."""
    import matplotlib.pyplot as plt

    from leadsim import load_definition
    from leadsim.calibration.workflow import Calibration

    class Report:
        proposals = leakage = None  # no criteria discovery in this stand-in

        def to_dict(self):
            return {"auc": 0.5}

        def figures(self):
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            return {"roc": fig}

    d = load_definition()
    cal = Calibration(definition=d.bump("test"), previous=d, model=None, features=None, report=Report(),
                      weights=np.array([]))
    files = cal.write(tmp_path / "cal")
    assert sorted(p.name for p in files.values()) == ["definition.yaml", "diff.csv", "diff.md", "metrics.json",
                                                       "roc.png"]
    assert {p.name: mode(p) for p in files.values()} == {p.name: 0o666 & ~umask_027 for p in files.values()}
    assert not list((tmp_path / "cal").glob(".*"))
    with pytest.raises(InputFileError, match="not empty"):
        cal.write(tmp_path / "cal")


@pytest.mark.parametrize("content", ["new", lambda tmp: (tmp.write_text("half"), 1 / 0)], ids=["text", "callback"])
def test_a_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, content):
    path = tmp_path / "keep.txt"
    path.write_text("old")
    if not callable(content):
        monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises((OSError, ZeroDivisionError)):
        write_atomic(path, content, overwrite=True)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_failing_writer_of_a_new_file_leaves_nothing(tmp_path):
    def explode(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "new.parquet", explode)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_is_refused_unless_asked(tmp_path):
    path = tmp_path / "a.json"
    write_atomic(path, json.dumps({"v": 1}))
    with pytest.raises(InputFileError, match=r"a\.json: exists already"):
        write_atomic(path, "{}")
    assert json.loads(path.read_text()) == {"v": 1}
    write_atomic(path, "{}", overwrite=True)
    assert path.read_text() == "{}"


def test_folders_and_missing_parents(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        write_atomic(tmp_path, "x", overwrite=True)
    with pytest.raises(InputFileError, match="does not exist"):
        write_atomic(tmp_path / "no" / "f.txt", "x")
    assert write_atomic(tmp_path / "no" / "f.txt", "x", parents=True).read_text() == "x"


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path, umask_027):
    out = tmp_path / "report"
    write_folder_atomic(out, lambda d: write_atomic(d / "a.txt", "1"))
    assert mode(out) == 0o777 & ~umask_027
    with pytest.raises(InputFileError, match="exists already"):
        write_folder_atomic(out, lambda d: None)

    def half(d: Path) -> None:
        write_atomic(d / "b.txt", "2")
        raise RuntimeError("crash while filling")

    with pytest.raises(RuntimeError):
        write_folder_atomic(out, half, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    assert [p.name for p in out.iterdir()] == ["a.txt"]
    write_folder_atomic(out, lambda d: write_atomic(d / "b.txt", "2"), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    assert [p.name for p in out.iterdir()] == ["b.txt"]


# --------------------------------------------------------------------------- the sorter

_int64 = st.integers(-(2**63), 2**63 - 1)
_small = st.integers(-5, 5)


@st.composite
def key_sets(draw):
    n = draw(st.integers(0, 40))
    nkeys = draw(st.integers(1, 4))
    keys = []
    for _ in range(nkeys):
        kind = draw(st.sampled_from(["small", "wide", "scaled", "bool", "uint8"]))
        if kind == "small":
            keys.append(draw(hnp.arrays(np.int64, n, elements=_small)))
        elif kind == "wide":
            keys.append(draw(hnp.arrays(np.int64, n, elements=_int64)))
        elif kind == "scaled":  # times on whole seconds in nanoseconds: the gcd packing path
            base = draw(st.integers(0, 2**40))
            keys.append(base + draw(hnp.arrays(np.int64, n, elements=st.integers(0, 10**6))) * 1_000_000_000)
        elif kind == "bool":
            keys.append(draw(hnp.arrays(np.bool_, n)))
        else:
            keys.append(draw(hnp.arrays(np.uint8, n)))
    return keys


@settings(max_examples=300, deadline=None)
@given(key_sets())
@example([np.array([0, 0]), np.array([0, 2**63 - 1])])  # a range of exactly 2**63: the factor itself overflows
def test_stable_order_equals_lexsort(keys):
    got = stable_order(*keys)
    assert got.tolist() == np.lexsort(keys[::-1]).tolist()


def test_stable_order_on_uint64_near_the_top():
    top = np.array([2**64 - 1, 2**64 - 3, 2**64 - 1, 2**64 - 2], dtype=np.uint64)
    lead = np.array([1, 1, 0, 0])
    assert stable_order(lead, top).tolist() == np.lexsort((top, lead)).tolist() == [3, 2, 1, 0]


def test_stable_order_refuses_floats_and_ragged_keys():
    with pytest.raises(TypeError):
        stable_order(np.array([0.5, 1.0]))
    with pytest.raises(ValueError):
        stable_order(np.array([1, 2]), np.array([1]))
    with pytest.raises(TypeError):
        stable_order()
