"""Reading and writing lead definitions: YAML in, validated :class:`LeadDefinition` out, and back.

:func:`load_definition` reads a YAML file (or the embedded default, ``"de"``
for the German one) and validates it; every problem becomes a
:class:`~leadsim.errors.DefinitionError` naming the field by its rule id.
:func:`write_definition` writes the YAML through :func:`leadsim.files.write_atomic`.

>>> import pathlib, tempfile
>>> d = load_definition()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "definition.yaml"
>>> text = write_definition(d, path)
>>> load_definition(path) == d
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leadsim._resources import data_path
from leadsim.definition.model import LeadDefinition
from leadsim.errors import DefinitionError, InputFileError
from leadsim.files import write_atomic

__all__ = [
    "definition_yaml",
    "format_validation_error",
    "load_definition",
    "parse_definition",
    "read_yaml",
    "require_definition",
    "write_definition",
]

#: How every function that needs a definition says so when it gets none.
PASS_DEFINITION = "pass a LeadDefinition (e.g. leadsim.load_definition())"


def require_definition(definition: Any, *, where: str = "definition") -> LeadDefinition:
    """``definition`` when it is a :class:`LeadDefinition`; else a :class:`DefinitionError` naming the fix.

    Library functions take the definition as a required argument and never
    fall back to the embedded sample (``docs/design.md`` section 5.6, "The
    public API's shape"): only the command line, the demo and the notebooks
    pass the sample, explicitly.

    >>> require_definition(None, where="funnel.velocity")
    Traceback (most recent call last):
    ...
    leadsim.errors.DefinitionError: funnel.velocity: expected a LeadDefinition, got None; pass a LeadDefinition (e.g. leadsim.load_definition())
    """
    if isinstance(definition, LeadDefinition):
        return definition
    got = "None" if definition is None else type(definition).__name__
    raise DefinitionError(f"expected a LeadDefinition, got {got}; {PASS_DEFINITION}", where=where)


def definition_yaml(definition: LeadDefinition) -> str:
    """The definition as YAML text (keys in the model's order, Unicode kept).

    >>> definition_yaml(load_definition()).splitlines()[0]
    'version: 1.0.0'
    """
    return yaml.safe_dump(definition.to_dict(), sort_keys=False, allow_unicode=True, width=100)


def write_definition(definition: LeadDefinition, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write the definition as YAML to ``path`` atomically (folders created); return the text.

    An existing file is never replaced unless ``overwrite=True``.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "signed" / "v1.yaml"
    >>> write_definition(load_definition(), path) == path.read_text(encoding="utf-8")
    True
    """
    text = definition_yaml(definition)
    write_atomic(Path(path), text, overwrite=overwrite, parents=True)
    return text


def _loc_text(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic error location as a dotted path, list items named by their id/name when they have one.

    ``("fit_rules", 1, "op")`` becomes ``fit_rules.director.op`` when item 1 has ``id: director``.
    """
    parts: list[str] = []
    node = data
    for p in loc:
        text = str(p)
        if text.startswith("function-"):
            continue
        child = None
        if isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            child = node[p]
            if isinstance(child, dict):
                key = child.get("id", child.get("name"))
                if isinstance(key, str) and key:
                    text = key
        elif isinstance(node, dict):
            child = node.get(p)
        parts.append(text)
        node = child
    return ".".join(parts)


def format_validation_error(err: ValidationError, data: Any = None) -> str:
    """A pydantic error as one line per problem, each at its dotted place (at most five, then a count).

    ``data`` (the parsed input) lets list items be named by their ``id``/``name``.

    >>> from leadsim.definition import Condition
    >>> try:
    ...     Condition(attribute="size", op="rnage")
    ... except ValidationError as err:
    ...     print(format_validation_error(err))
    op: Input should be 'eq', 'ne', 'in', 'not_in', 'range', 'between', 'contains', 'exists' or 'regex'; got 'rnage'
    """
    lines = []
    for e in err.errors():
        loc = _loc_text(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        given = e.get("input")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (a typo? remove or rename it)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif not e["type"].startswith("value_error") and not isinstance(given, dict | list):
            msg = f"{msg}; got {given!r}"
        lines.append(f"{loc or '<top>'}: {msg}")
    return "; ".join(lines[:5]) + (f" (and {len(lines) - 5} more)" if len(lines) > 5 else "")


def parse_definition(data: Any, *, source: str = "<definition>") -> LeadDefinition:
    """Validate already-parsed YAML/JSON data into a :class:`LeadDefinition`.

    >>> parse_definition({"version": "1"}, source="mine.yaml")
    Traceback (most recent call last):
    ...
    leadsim.errors.DefinitionError: mine.yaml: agreed_by: required key is missing; attributes: required key ...
    """
    if not isinstance(data, dict):
        raise DefinitionError(
            f"a lead definition is a YAML mapping (version:, attributes:, ...), got {type(data).__name__}",
            where=source,
        )
    try:
        return LeadDefinition.model_validate(data)
    except ValidationError as err:
        raise DefinitionError(format_validation_error(err, data), where=source) from None


#: PyYAML's safe loader, the C one when libyaml is installed (about 6x faster, same results).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | os.PathLike[str], what: str = "YAML file") -> Any:
    """Safely read a YAML file, turning every failure into a :class:`~leadsim.errors.LeadsimError`.

    ``what`` names the file in messages ("lead definition", "column mapping" ...).

    >>> read_yaml("no-such-file.yaml", "sweep grid")
    Traceback (most recent call last):
    ...
    leadsim.errors.InputFileError: no-such-file.yaml: sweep grid not found
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found", where=str(p))
    if p.is_dir():
        raise InputFileError(f"is a directory, expected a {what}", where=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        kind = " (it looks like an Excel workbook)" if err.object[:4] == b"PK\x03\x04" else ""
        raise InputFileError(f"is not UTF-8 text{kind}, so not a {what}; byte {err.start} cannot be decoded; "
                             "give the YAML file, saved as UTF-8", where=str(p)) from None
    except OSError as err:
        raise InputFileError(f"cannot read {what}: {err}", where=str(p)) from None
    if not text.strip():
        raise InputFileError(f"the {what} is empty", where=str(p))
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader (libyaml's when present)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(err, "problem", None) or str(err)
        raise DefinitionError(f"malformed YAML at {line}: {problem}", where=str(p)) from None


def load_definition(path: str | os.PathLike[str] | None = None) -> LeadDefinition:
    """Load and validate a lead definition; without ``path``, the embedded default.

    >>> load_definition().version
    '1.0.0'
    >>> load_definition("de").stage_label("sales_lead")
    'Vertriebs-Lead'
    """
    if path is None or str(path) in ("default", "en"):
        path = data_path("definition.yaml")
    elif str(path) == "de":
        path = data_path("definition.de.yaml")
    data = read_yaml(path, "lead definition")
    return parse_definition(data, source=str(path))
