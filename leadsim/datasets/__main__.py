"""Regenerate the shipped sample: ``python -m leadsim.datasets --write data/sample [--overwrite]``."""

from __future__ import annotations

import argparse
import sys

from leadsim.datasets import SAMPLE_ARGS, make_history, write_history
from leadsim.definition import load_definition
from leadsim.errors import LeadsimError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leadsim.datasets", description=__doc__)
    parser.add_argument("--write", metavar="FOLDER", required=True, help="folder for the Parquet files and MANIFEST.json")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in FOLDER")
    for key, value in SAMPLE_ARGS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value, help=f"default {value}")
    args = parser.parse_args(argv)
    hist_args = {k: getattr(args, k) for k in SAMPLE_ARGS}
    try:
        history = make_history(load_definition(), **hist_args)  # the sample is made with the sample definition
        folder = write_history(history, args.write, args=hist_args, overwrite=args.overwrite)
    except LeadsimError as err:
        print(f"leadsim: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {history} to {folder}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
