"""The ``leadsim`` command.

Each command group lives in its own module of this package and exposes
``register(subparsers)``; the groups are listed in :data:`COMMANDS`.  Bad input
ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from leadsim.errors import LeadsimError

#: Command-group modules, in the order ``leadsim --help`` lists them.
COMMANDS = ("demo", "definition", "mapping", "db", "score", "funnel", "sla", "simulate", "backtest", "calibrate",
            "exercise")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadsim",
        description="Score, audit, simulate and recalibrate a written lead definition. "
        "Every command runs on the embedded sample when no files are given.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"leadsim.cli.{name}")
        except ModuleNotFoundError as err:  # a group not built yet
            if err.name != f"leadsim.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            result = args.func(args)
    except LeadsimError as err:
        print(f"leadsim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leadsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `leadsim ... | head` closed the pipe: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(result or 0)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line a user reads (``leadsim: warning: ...``), not Python's file and source line."""
    print(f"leadsim: warning: {message}", file=sys.stderr if file is None else file)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
