"""Helpers every command group shares: JSON output, safe output paths."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.display import for_people
from leadsim.errors import DataError, InputFileError

#: What ``--definition`` names when it is not given: the embedded sample definition (``load_definition("default")``).
#: The library never falls back to it; the command line passes it explicitly.
SAMPLE_DEFINITION = "default"


def add_definition_option(p: Any, what: str = "lead definition YAML") -> None:
    """``--definition FILE``, defaulting to the embedded sample definition (``default``; ``de`` for the German one)."""
    p.add_argument("--definition", metavar="FILE", default=SAMPLE_DEFINITION,
                   help=f"{what} (default: the embedded sample definition; 'de' for the German one)")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")


def json_ready(obj: Any) -> Any:
    """Make pandas/numpy objects JSON-friendly: plain dicts, lists, numbers (NaN as None) and ISO times.

    >>> json_ready({"n": np.int64(3), "rate": float("nan"), "at": pd.Timestamp("2026-03-02 10:00")})
    {'n': 3, 'rate': None, 'at': '2026-03-02T10:00:00'}
    """
    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records", date_format="iso", default_handler=str))
    if isinstance(obj, pd.Series):
        return json.loads(obj.to_json(date_format="iso", default_handler=str))
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_ready(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj




def emit(obj: Any, as_json: bool, *, title: str | None = None) -> None:
    """Print ``obj`` as JSON or as a readable table/text."""
    if as_json:
        print(json.dumps(json_ready(obj), indent=2, default=str, ensure_ascii=False))
        return
    if title:
        print(f"\n{title}\n{'-' * len(title)}")
    if isinstance(obj, pd.DataFrame | pd.Series):
        with pd.option_context("display.width", 160, "display.max_columns", 30, "display.max_rows", 60):
            print(for_people(obj).to_string())
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, pd.DataFrame | pd.Series):
                emit(v, False, title=str(k))
            else:
                print(f"{k}: {for_people(v, points=k == 'score')}")
    else:
        print(for_people(obj))


def check_output_path(out: str | Path, inputs: list[str | Path | None], *, force: bool = False) -> Path:
    """Refuse to write over an input file, or over an existing file unless ``force``."""
    out_p = Path(out)
    for p in inputs:
        if p is not None and Path(p).exists() and out_p.exists() and out_p.resolve() == Path(p).resolve():
            raise InputFileError("the output would overwrite an input file; choose another --out", where=str(out_p))
    if out_p.exists() and not force:
        raise InputFileError("exists already; choose another --out (leadsim never overwrites files)", where=str(out_p))
    return out_p


def parse_time(value: str, flag: str, definition: LeadDefinition) -> pd.Timestamp:
    """A time given on the command line as naive calendar-local time; DataError naming ``flag`` if unreadable."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"cannot read {value!r} as a date/time; use e.g. '2026-03-31 17:00'", where=flag) from None
    if pd.isna(ts):
        raise DataError(f"{value!r} is not a date/time; use e.g. '2026-03-31 17:00'", where=flag)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(definition.calendar.timezone).tz_localize(None)
    return ts
