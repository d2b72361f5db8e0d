"""A house a newcomer can read: small modules, no reaching into another module's private names, no code run
from definition files, the design cited from the repository."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "leadsim"
MAX_LINES = 650  # "about 600": one person holds a module of this size in their head

#: Modules allowed past MAX_LINES for now, with the reason (none at present).
LARGE: set[str] = set()


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def private_imports(source: str, filename: str = "<source>") -> list[str]:
    """``from leadsim.x import _name`` (or relative) in ``source``: names another module keeps private."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("leadsim")):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{filename}:{node.lineno}: from {'.' * node.level}{node.module or ''} "
                                 f"import {alias.name}")
    return found


def test_the_private_import_check_finds_what_it_should():
    src = "from leadsim.funnel import _visits, validate_stage_log\nfrom .x import y\nfrom leadsim import __all__\n"
    assert [f.split(": ", 1)[1] for f in private_imports(src)] == ["from leadsim.funnel import _visits"]


def test_no_module_imports_another_modules_private_names():
    """leadsim's modules, and its tests, benchmarks and notebook builder too: what they test is the public API."""
    outside = [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py")),
               ROOT / "notebooks" / "_build.py"]
    found = [f for p in [*modules(), *outside]
             for f in private_imports(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert not found, "make the name public (no underscore) or move the code where it belongs:\n" + "\n".join(found)


def test_no_module_is_longer_than_a_newcomer_can_hold():
    long = {str(p.relative_to(PACKAGE)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) <= LARGE, f"split these along the seams their code shows: {long}"


def test_code_cites_the_design_in_the_repository():
    """Docstrings cite docs/design.md, which ships with the code; never a design file outside the repository."""
    assert (ROOT / "docs" / "design.md").is_file()
    stale = [f"{p.relative_to(ROOT)}:{i}" for p in [*modules(), *sorted((ROOT / "notebooks").glob("*.py"))]
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "DESIGN.md" in line or "shared/" in line]
    assert not stale, f"cite docs/design.md instead: {stale}"
