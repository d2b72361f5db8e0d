"""The step notebooks run top to bottom, and their key figures are what the stored outputs say.

Each notebook in ``notebooks/`` is executed with nbclient in this Python (its
logic lives in ``leadsim``; the parameters cell keeps it small).  Every cell
must run, except one tagged ``raises-exception`` (which must raise).  The
cells that start with ``# KEY FIGURES`` print rounded key figures:
they are **change detectors**, not proofs (each figure is checked against an
independent reference in the module's own tests).  Their new output must
match the stored one: the same words, whole numbers exactly, and numbers
with decimals (or a ``%``) within one unit of their last printed digit, so
float noise that moves a rounding by one step does not fail the run on
another machine.  After a deliberate change, re-execute with
``python notebooks/_build.py --execute`` and commit the notebooks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CHECK = "# KEY FIGURES"
NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?%?")


def text_of(outputs: list) -> str:
    """What a cell showed as text: streams and the plain-text form of results."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts).rstrip()


def _value(token: str) -> tuple[float, float]:
    """A printed number and the tolerance it carries: one unit of its last decimal, 0 for a whole number."""
    body = token.rstrip("%").replace(",", "")
    if "e" in body.lower():
        mantissa, _, _ = body.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        return float(body), 10.0 ** -decimals * abs(float(body)) / max(abs(float(mantissa)), 1e-300)
    decimals = len(body.partition(".")[2])
    tol = 10.0 ** -decimals if (decimals or token.endswith("%")) else 0.0
    return float(body), tol


def figures_differ(stored: str, new: str) -> str | None:
    """Why ``new`` does not show the figures of ``stored``; None when it does."""
    a_text, b_text = NUMBER.split(stored), NUMBER.split(new)
    if a_text != b_text:
        return "the words differ"
    for a, b in zip(NUMBER.findall(stored), NUMBER.findall(new), strict=True):
        (x, tol_x), (y, tol_y) = _value(a), _value(b)
        if abs(x - y) > max(tol_x, tol_y) * (1 + 1e-9):
            return f"{a} became {b}"
    return None


def test_figures_compare_with_one_unit_of_the_last_digit():
    assert figures_differ("kappa 0.41, 498 MQLs (12.5%)", "kappa 0.42, 498 MQLs (12.4%)") is None
    assert figures_differ("kappa 0.41", "kappa 0.43") == "0.41 became 0.43"
    assert figures_differ("498 MQLs", "499 MQLs") == "498 became 499"
    assert figures_differ("1,234 leads", "1,234 leads") is None
    assert figures_differ("A: 12", "B: 12") == "the words differ"
    assert figures_differ("mean 5.5e+03", "mean 5.6e+03") is None and figures_differ("5.5e+03", "5.7e+03")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_key_figures(path):
    import nbformat
    from nbclient import NotebookClient

    stored = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    checks = 0
    for i, (old, new) in enumerate(zip(stored.cells, nb.cells, strict=True)):
        if new.cell_type != "code":
            continue
        errors = [o for o in new.outputs if o.get("output_type") == "error"]
        if "raises-exception" in new.metadata.get("tags", []):
            assert errors, f"{path.name} cell {i} should raise (it is tagged raises-exception) but ran"
            continue
        assert not errors, f"{path.name} cell {i} failed: {errors[0].get('ename')}: {errors[0].get('evalue')}"
        if new.source.startswith(CHECK):
            checks += 1
            was, now = text_of(old.outputs), text_of(new.outputs)
            assert was, f"{path.name} cell {i} is a check cell with no stored output: re-execute the notebook"
            why = figures_differ(was, now)
            assert why is None, f"{path.name} cell {i}: {why}\n--- stored\n{was}\n--- now\n{now}"
    assert checks, f"{path.name} has no {CHECK} cell"


def generator():
    """notebooks/_build.py, imported by path (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_build", ROOT / "notebooks" / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_what_its_generator_writes():
    """The notebooks are generated: editing one by hand (or the generator without re-running it) fails here."""
    import nbformat

    gen = generator()
    assert sorted(gen.NOTEBOOKS) == [p.stem for p in NOTEBOOKS]
    for name, cells in gen.NOTEBOOKS.items():
        want = gen.build(name, cells)
        have = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        pairs = list(zip(want.cells, have.cells, strict=False))
        assert len(want.cells) == len(have.cells), f"{name}: {len(have.cells)} cells, the generator writes " \
            f"{len(want.cells)}; run python notebooks/_build.py --execute {name[:2]}"
        for i, (w, h) in enumerate(pairs):
            assert (w.cell_type, w.source, w.metadata.get("tags", [])) == \
                (h.cell_type, h.source, h.metadata.get("tags", [])), \
                f"{name} cell {i} differs from notebooks/_build.py; edit it there and re-run the generator"
        params = [c for c in have.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and params[0].source.startswith("# Parameters"), name
