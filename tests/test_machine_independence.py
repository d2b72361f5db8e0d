"""The same results on any machine: stable orders, and the float-sensitive tests re-run with numpy's wider paths off.

numpy picks its SIMD kernels at run time (AVX2, AVX-512 ... on x86): sums
come out in a different order, so their last bits differ from one CPU to the
next, and its default sorts order equal keys differently.  leadsim answers
with tolerances where floats meet bounds (:mod:`leadsim.points`), stable
sorts with tie-breakers wherever an order is seen, and tests that compare
floats with tolerances.  This module checks the second in the source and all
three in practice, by running the float-sensitive tests again in a
subprocess with every dispatched kernel group switched off
(``NPY_DISABLE_CPU_FEATURES``): every CI run checks both code paths.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The calls that order rows or values.
SORTS = frozenset({"sort_values", "argsort", "sort_index", "nlargest", "nsmallest"})
#: A comment that marks a sort whose keys cannot tie (no tie-breaker needed, default kind is fine).
DISTINCT = "# distinct keys"


def unstable_sorts(source: str, filename: str = "<source>") -> list[str]:
    """Sort calls without ``kind=`` (and without the distinct-keys comment) in ``source``."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SORTS):
            continue
        if any(k.arg == "kind" for k in node.keywords):
            continue
        if any(DISTINCT in lines[i - 1] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            continue
        found.append(f"{filename}:{node.lineno}: {ast.unparse(node)[:100]}")
    return found


def test_the_sort_check_finds_what_it_should():
    src = ("a = df.sort_values('x')\n"
           "b = np.argsort(v, kind='stable')\n"
           "c = s.nlargest(3)\n"
           "d = np.argsort(k)  # distinct keys\n"
           "e = sorted(xs)\n")
    assert [f.split(":")[1] for f in unstable_sorts(src)] == ["1", "3"]


def test_every_sort_in_leadsim_is_stable_or_has_distinct_keys():
    """Orders people read use leadsim.points.sort_table (stable, rounded points, a tie-breaker); every other
    sort says kind= explicitly, so no order depends on which SIMD sort numpy picked on this CPU."""
    found = []
    for path in sorted((ROOT / "leadsim").rglob("*.py")):
        found += unstable_sorts(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "sorts without kind= (use leadsim.points.sort_table where a person sees the order):\n" + \
        "\n".join(found)


# --------------------------------------------------------------------------- numpy's wider paths off

#: The tests whose results hang on float sums or on orders: run again with the wider paths off.
FLOAT_SENSITIVE = [
    "tests/test_scoring.py",
    "tests/test_datasets.py",
    "tests/test_exercise.py",
    "tests/test_calibration_features.py",
    "tests/test_calibration_estimator.py",
    "tests/test_calibration_acceptance.py",
    "tests/test_simulation.py::test_golden_kpis",
    "tests/test_simulation.py::test_sla_audit_runs_unchanged_and_finds_the_runs_alerts",
    "tests/test_points.py",
]


def wider_paths() -> list[str]:
    """The kernel groups numpy dispatches to on this CPU beyond its baseline (``numpy.show_runtime()``'s found)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def test_float_sensitive_tests_pass_with_numpys_wider_paths_off():
    groups = wider_paths()
    if not groups:
        pytest.skip("numpy dispatches no wider CPU paths on this machine: the default run is already the narrow one")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(groups)}
    # an unknown name is only an ImportWarning: check that the switch took
    probe = ("from numpy._core._multiarray_umath import __cpu_features__ as f; import sys; "
             f"on = [g for g in {groups!r} if f.get(g)]; print('still on:', on); sys.exit(1 if on else 0)")
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"NPY_DISABLE_CPU_FEATURES={env['NPY_DISABLE_CPU_FEATURES']!r} did not take: " \
        f"{proc.stdout}{proc.stderr[-1000:]}"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *FLOAT_SENSITIVE]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    tail = "\n".join(proc.stdout.strip().splitlines()[-40:])
    assert proc.returncode == 0, f"with {env['NPY_DISABLE_CPU_FEATURES']} off:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in tail and " failed" not in tail, tail

