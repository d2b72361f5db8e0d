"""The dependency floors in pyproject.toml are true: leadsim works with exactly those versions.

A fresh virtual environment gets every runtime dependency at its floor (``name==floor``, read from
``[project] dependencies``, wheels only: a floor without a wheel for this Python is no floor), plus
pytest and hypothesis, and leadsim from this checkout without dependencies. Then leadsim's doctests
and a fast slice of the unit tests run inside it, against the installed package.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

#: Fast unit tests that touch every floored dependency (pandas/pyarrow/openpyxl I/O, pydantic/pyyaml
#: definitions, scikit-learn/scipy calibration, the public API, numpy.strings lead ids).
UNIT_TESTS = (
    "tests/test_io.py",
    "tests/test_definition.py",
    "tests/test_calibration_estimator.py",
    "tests/test_api.py",
    "tests/test_generation_speedpaths.py::test_lead_ids_format_like_python",
)


#: Modules that need an optional extra (``leadsim[db]``: the database clients); the runtime floors leave them out.
EXTRA_MODULES = ("io/database.py",)


def floors() -> dict[str, str]:
    """``{"numpy": "2.1", ...}``: the ``>=`` bound of every runtime dependency."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    out = {}
    for spec in deps:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate():
            continue
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{spec!r}: state exactly one '>=' floor"
        out[req.name] = lower[0]
    assert out, "pyproject.toml lists no runtime dependencies"
    return out


def tail(proc: subprocess.CompletedProcess, n: int = 30) -> str:
    lines = (proc.stdout + "\n" + proc.stderr).strip().splitlines()
    return "\n".join(lines[-n:])


def run(cmd: list[str], *, timeout: float, what: str, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        pytest.fail(f"{what} failed (exit {proc.returncode}); its last lines:\n{tail(proc)}", pytrace=False)
    return proc


def passed(proc: subprocess.CompletedProcess) -> int:
    """N of the summary line's "N passed" (0 when there is none)."""
    counts = re.findall(r"\b(\d+) passed\b", proc.stdout)
    return int(counts[-1]) if counts else 0


def test_leadsim_works_with_its_dependency_floors(tmp_path):
    want = floors()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", MPLBACKEND="Agg", COLUMNS="160")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=300, what="creating the venv", env=env)
    python = str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    pip = [python, "-m", "pip", "install", "--no-compile", "--progress-bar", "off"]

    pins = [f"{name}=={floor}" for name, floor in want.items()]
    run([*pip, "--only-binary", ":all:", *pins, "pytest", "hypothesis"], timeout=1800,
        what=f"pip install {' '.join(pins)}", env=env)
    run([*pip, "--no-deps", str(ROOT)], timeout=600, what="pip install --no-deps leadsim", env=env)

    probe = ("import importlib.metadata as m, json, leadsim, sys\n"
             "print(json.dumps({'versions': {n: m.version(n) for n in sys.argv[1:]},"
             " 'leadsim': leadsim.__file__}))\n")
    got = json.loads(run([python, "-c", probe, *want], timeout=300, what="reading the installed versions",
                         cwd=tmp_path, env=env).stdout)
    wrong = {n: got["versions"][n] for n, v in want.items() if Version(got["versions"][n]) != Version(v)}
    assert not wrong, f"pip installed other versions than the floors {want}: {wrong}"
    package = Path(got["leadsim"]).resolve().parent
    assert package.is_relative_to(venv.resolve()), f"leadsim imported from {package}, not from the venv"

    # The project's pytest settings (doctest flags, warning filters) without addopts' nbval options;
    # run from tmp_path so the installed leadsim is imported, not the checkout's.
    pytest_ = [python, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-o", "addopts=",
               "-p", "no:cacheprovider", "-q", "--disable-warnings"]
    extras = [f"--ignore={package / m}" for m in EXTRA_MODULES]  # they need an optional extra's clients
    doctests = run([*pytest_, "--rootdir", str(tmp_path), "--doctest-modules", *extras, str(package)], timeout=600,
                   what="leadsim's doctests", cwd=tmp_path, env=env)
    assert passed(doctests) > 0, f"no doctest passed:\n{tail(doctests)}"
    units = run([*pytest_, "--rootdir", str(ROOT), *[str(ROOT / t) for t in UNIT_TESTS]], timeout=600,
                what="the unit tests", cwd=tmp_path, env=env)
    assert passed(units) > 0, f"no unit test passed:\n{tail(units)}"
