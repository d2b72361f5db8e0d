"""The one error family of leadsim.

Every error a user can cause with bad input is a :class:`LeadsimError`.  The
subclasses also inherit the built-in exception a Python user would naturally
catch (``ValueError``, ``KeyError``, ``FileNotFoundError`` ...), so both

>>> from leadsim.errors import DefinitionError, LeadsimError
>>> try:
...     raise DefinitionError("threshold must be a number", where="thresholds.mql")
... except ValueError as err:
...     print(err)
thresholds.mql: threshold must be a number

and ``except LeadsimError`` work.  Messages say *where* (file, row, field),
*what* was found and *how to fix it*.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DefinitionError",
    "InputFileError",
    "InvalidTransition",
    "LeadsimError",
    "MappingError",
    "ScenarioError",
    "SchemaError",
    "VerdictError",
]


class LeadsimError(Exception):
    """Base class of every error leadsim raises on bad input.

    ``where`` (a file, a row, a field path) is put in front of the message so
    the user sees at once what to open and fix.
    """

    def __init__(self, message: str, *, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return f"{self.where}: {self.message}" if self.where else self.message


class DefinitionError(LeadsimError, ValueError):
    """The lead definition (YAML) is malformed or inconsistent."""


class InputFileError(LeadsimError, OSError):
    """A file cannot be read or written: missing, a directory, empty, unreadable."""


class SchemaError(LeadsimError, KeyError):
    """A table lacks a required column or a column has the wrong type."""


class DataError(LeadsimError, ValueError):
    """Table contents are invalid: bad dates, duplicates, unknown ids or categories."""


class MappingError(LeadsimError, ValueError):
    """A CRM column-mapping file is malformed or maps onto unknown fields."""


class InvalidTransition(DataError):
    """A stage log takes a move the definition's funnel does not allow."""


class ScenarioError(LeadsimError, ValueError):
    """A simulation scenario or sweep grid is invalid."""


class VerdictError(LeadsimError, ValueError):
    """A filled 100-companies worksheet cannot be read as verdicts."""
