"""The public face: every exported name resolves, and the list is sorted."""

import importlib
import subprocess
import sys

import leadsim


def test_all_is_sorted_and_unique():
    assert leadsim.__all__ == sorted(set(leadsim.__all__))


def test_every_exported_name_resolves_to_its_module():
    for name in leadsim.__all__:
        obj = getattr(leadsim, name)
        module = importlib.import_module(leadsim._EXPORTS[name])
        assert getattr(module, name) is obj, name


def test_unknown_name_is_an_attribute_error():
    try:
        leadsim.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    """`import leadsim` must not pull SimPy or scikit-learn (the CLI starts fast)."""
    code = "import sys, leadsim; print('simpy' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_plots_package_exports_every_area_sorted():
    import leadsim.plots as plots

    assert plots.__all__ == sorted(plots.__all__)
    for name in plots.__all__:
        assert callable(getattr(plots, name))


def test_cli_starts_without_the_heavy_parts():
    """Building the `leadsim` parser (every command's --help) must not import SimPy, scikit-learn or SciPy."""
    code = ("import sys, leadsim.cli; leadsim.cli.build_parser(); "
            "print(*(m in sys.modules for m in ('simpy', 'sklearn', 'scipy.stats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_type_checkers_see_every_public_name_where_it_is_defined():
    """leadsim/__init__.py loads names lazily; its TYPE_CHECKING imports must name the same modules."""
    import ast
    import pathlib

    import leadsim

    tree = ast.parse(pathlib.Path(leadsim.__file__).read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {a.name: imp.module for imp in guarded.body for a in imp.names}
    assert seen == leadsim._EXPORTS
    assert (pathlib.Path(leadsim.__file__).parent / "py.typed").is_file()
    for name in leadsim.__all__:
        assert getattr(leadsim, name) is not None
