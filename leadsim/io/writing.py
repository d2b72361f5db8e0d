"""Writing tables: CSV, Parquet or Excel by the file's extension, atomically, never over a file unless told.

>>> import pandas as pd, pathlib, tempfile
>>> scores = pd.DataFrame({"score": [120.0, 40.0]}, index=pd.Index(["L1", "L2"], name="lead_id"))
>>> path = write_table(scores, pathlib.Path(tempfile.mkdtemp()) / "scores.csv")
>>> print(path.read_text(), end="")
lead_id,score
L1,120.0
L2,40.0
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from leadsim.errors import InputFileError
from leadsim.files import write_atomic
from leadsim.io.schema import FILE_FORMATS

__all__ = ["write_table"]


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``df`` as CSV, Parquet or Excel (by extension), atomically (see :func:`leadsim.files.write_atomic`).

    A named index (such as the ``lead_id`` index of a score table) becomes a
    column.  An existing file is never replaced unless ``overwrite=True``; the
    folder must exist.

    >>> import pathlib, tempfile
    >>> path = write_table(pd.DataFrame({"lead_id": ["L1"]}), pathlib.Path(tempfile.mkdtemp()) / "ids.parquet")
    >>> pd.read_parquet(path)["lead_id"].tolist()
    ['L1']
    """
    p = Path(path)
    fmt = FILE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputFileError(f"unknown output type {p.suffix!r}; use .csv, .parquet or .xlsx", where=str(p))
    if isinstance(df.index, pd.MultiIndex) or df.index.name is not None:
        df = df.reset_index()

    def write(tmp: Path) -> None:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_excel(tmp, index=False)

    return write_atomic(p, write, overwrite=overwrite)
