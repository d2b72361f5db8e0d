"""Lint is part of the test command: ruff (pinned in the test extra) with the rules in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_checkout_passes_ruff():
    proc = ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert proc.returncode == 0, f"ruff found problems (fix them, or justify an ignore in pyproject.toml):\n" \
        f"{proc.stdout[-4000:]}{proc.stderr[-2000:]}"


def test_ruff_with_the_projects_rules_fails_on_a_lint_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport sys\n\n\ndef f(xs):\n    return [x for x in zip(xs, xs[1:])]\n")
    proc = ruff("check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), "--output-format", "concise",
                str(bad), cwd=tmp_path)
    assert proc.returncode == 1
    for rule in ("F401", "RUF007", "B905"):
        assert rule in proc.stdout, proc.stdout
