"""Where the embedded sample files live, installed or in a checkout.

The repository keeps them in the top-level ``data/`` folder; the wheel carries
the same files as ``leadsim/_data`` (see ``pyproject.toml``), so
``load_definition()`` and ``load_sample()`` work after a plain ``pip install``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from leadsim.errors import InputFileError


def data_dir() -> Path:
    """The folder holding the embedded definition, sample and worksheets."""
    packaged = resources.files("leadsim") / "_data"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "data"
    if checkout.is_dir():
        return checkout
    raise InputFileError("leadsim's embedded data folder is missing; reinstall leadsim", where=str(packaged))


def data_path(name: str) -> Path:
    """The path of one embedded file, e.g. ``data_path("definition.yaml")``."""
    path = data_dir() / name
    if not path.exists():
        raise InputFileError(f"embedded file {name!r} is missing; reinstall leadsim", where=str(path))
    return path
