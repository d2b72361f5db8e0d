"""Packaging: pyproject.toml and environment.yml agree, the wheel carries the data, the README example runs."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[([^\]]*)\])?\s*(?:(>=|==)\s*([^,;\s]+))?")


def parse(spec: str) -> list[tuple[str, str | None]]:
    """``"dask[distributed]>=2024.1"`` -> ``[("dask", "2024.1"), ("distributed", "2024.1")]``.

    A pip extra that names a separate conda package (``dask[distributed]``) counts as that package too.
    A pin (``ruff==0.17.6``) keeps its ``==``.
    """
    m = REQ.match(spec)
    assert m, f"cannot read requirement {spec!r}"
    name, extras, op, version = m.groups()
    bound = None if version is None else version if op == ">=" else f"=={version}"
    names = [name] + [e.strip() for e in (extras or "").split(",") if e.strip()]
    return [(n.lower().replace("_", "-"), bound) for n in names]


def pyproject_requirements() -> set[tuple[str, str | None]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += [s for s in extra if not s.startswith(project["name"])]   # leadsim[test] refers to itself
    return {pair for s in specs for pair in parse(s)}


def environment() -> tuple[set[tuple[str, str | None]], object]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    from_pip = [d for d in deps[-1].get("pip", []) if d != "-e ."] if isinstance(deps[-1], dict) else []
    conda = {pair for d in [*deps, *from_pip] if isinstance(d, str) for pair in parse(d)}
    conda = {(n, b) for n, b in conda if n not in ("python", "pip")}
    return conda, deps[-1]


def test_environment_mirrors_pyproject():
    pip, (conda, _) = pyproject_requirements(), environment()
    assert {n for n, _ in pip} == {n for n, _ in conda}, "package names differ"
    assert dict(pip) == dict(conda), "lower bounds differ"
    assert all(b is not None for _, b in pip), "every dependency states a lower bound"


def test_environment_installs_the_package_last():
    _, tail = environment()
    assert list(tail) == ["pip"] and tail["pip"][-1] == "-e ."


def test_environment_python_matches_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == ["python" + project["requires-python"]]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # the build backend comes with the test extra: build with it, no download
    assert importlib.util.find_spec("hatchling") is not None, "hatchling (in the test extra) is not installed"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out),
           str(ROOT)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PIP_NO_INPUT": "1"})
    assert proc.returncode == 0, f"building the wheel failed:\n{proc.stderr[-2000:]}"
    (whl,) = out.glob("leadsim-*.whl")
    return whl


def test_wheel_carries_the_definition_sample_and_mappings(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("leadsim/_data/definition.yaml", "leadsim/_data/definition.de.yaml",
                     "leadsim/_data/mappings/crm_example.yaml", "leadsim/__init__.py", "leadsim/io/__init__.py",
                     "leadsim/py.typed"):
        assert required in names, required
    sample = sorted(p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data" / "sample").rglob("*") if p.is_file())
    assert sample, "data/sample/ is empty in the checkout"
    missing = [s for s in sample if f"leadsim/_data/{s}" not in names]
    assert not missing, f"sample files missing from the wheel: {missing}"
    assert not any(n.startswith(("tests/", "data/", "notebooks/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "leadsim = leadsim.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_data_is_byte_identical_to_the_checkout(wheel):
    with zipfile.ZipFile(wheel) as z:
        for name in ("definition.yaml", "definition.de.yaml"):
            assert z.read(f"leadsim/_data/{name}") == (ROOT / "data" / name).read_bytes()


def test_unpacked_wheel_loads_its_own_data(wheel, tmp_path):
    """The installed layout (no checkout around it) finds the definition and the sample inside the package."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import leadsim, leadsim._resources as r\n"
        "from leadsim.definition import load_definition\n"
        "assert r.data_dir() == r.Path(leadsim.__file__).parent / '_data', r.data_dir()\n"
        "assert load_definition('de').stage_label('sales_lead') == 'Vertriebs-Lead'\n"
        "print(leadsim.__file__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith(str(site))


def readme_python() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^```python\s*\n(.*?)^```", text, flags=re.S | re.M)
    assert m, "README.md has lost its ```python example (the scoring tour a new user copies)"
    return m.group(1)


def test_readme_python_example_runs(tmp_path):
    code = readme_python()
    # Run it from an unrelated folder, as a user would after installing.
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, f"the README example failed:\n{proc.stderr[-3000:]}"
