"""``leadsim calibrate``: SQL outcomes -> a revised lead definition, its diff, metrics and figures.

Without data files it runs on the embedded sample.  The output folder gets
``definition.yaml`` (the new version), ``diff.csv`` and ``diff.md``,
``metrics.json`` and PNG figures; a non-empty folder is refused unless
``--force``.
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd

from leadsim.cli._common import add_data_options, emit
from leadsim.definition import LeadsimWarning, load_definition
from leadsim.errors import InputFileError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="recalibrate the lead definition's points from SQL outcomes")
    add_data_options(p, stage_log=False, as_of=False, outcomes=True)
    t = p.add_mutually_exclusive_group()
    t.add_argument("--capacity", type=float, metavar="N", help="hand-offs per week sales can hold a conversation with")
    t.add_argument("--target-rate", type=float, metavar="R", help="target Lead -> Sales Lead rate, e.g. 0.35")
    t.add_argument("--pdo", type=float, metavar="P", help="points to double the odds (instead of a threshold target)")
    p.add_argument("--half-lives", metavar="DAYS", default="7,14,21,30,60",
                   help="behaviour half-life grid in days, chosen by time-ordered CV (default 7,14,21,30,60)")
    p.add_argument("--weighting", choices=("ipw", "none"), default="ipw",
                   help="inverse-propensity weights from exploration hand-offs (default) or none")
    p.add_argument("--include", action="append", default=[], metavar="ATTRIBUTE",
                   help="use an attribute recorded after hand-off or protected (warned); repeatable")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must be empty or new)")
    p.add_argument("--force", action="store_true", help="write into a non-empty output folder")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=cmd_calibrate)


def _half_lives(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputFileError(f"cannot read {text!r} as numbers of days, e.g. 7,14,30", where="--half-lives") from None
    if not values:
        raise InputFileError("give at least one half-life in days", where="--half-lives")
    return values


def _tables(args: argparse.Namespace):
    files = {"leads": args.leads, "activities": args.activities, "outcomes": args.outcomes}
    if not any(files.values()):
        if args.mapping:
            raise InputFileError("--mapping applies to files; give --leads, --activities and --outcomes", where="--mapping")
        from leadsim.datasets import load_sample

        sample = load_sample()
        definition = load_definition(args.definition)
        return {"leads": sample.leads, "activities": sample.activities, "outcomes": sample.outcomes}, definition
    missing = [f"--{k}" for k in ("leads", "outcomes") if not files[k]]
    if missing:
        raise InputFileError(f"{', '.join(missing)} needed with data files (or give none to use the sample)",
                             where=missing[0])
    from leadsim.io import check_references, load_mapping, read_table

    definition = load_definition(args.definition)
    mapping = load_mapping(args.mapping, definition) if args.mapping else None
    leads = read_table(args.leads, "leads", definition, mapping=mapping)
    outcomes = read_table(args.outcomes, "outcomes", definition, mapping=mapping)
    if args.activities:
        acts = read_table(args.activities, "activities", definition, mapping=mapping)
    else:
        acts = pd.DataFrame({"lead_id": pd.Series([], dtype=str), "activity": pd.Series([], dtype=str),
                             "at": pd.Series([], dtype="datetime64[ns]"), "detail": pd.Series([], dtype=str)})
    check_references(leads, activities=acts, outcomes=outcomes,
                     files={"activities": args.activities, "outcomes": args.outcomes})
    return {"leads": leads, "activities": acts, "outcomes": outcomes}, definition


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from leadsim.calibration import calibrate

    out = Path(args.out)
    inputs = [p for p in (args.definition, args.leads, args.activities, args.outcomes, args.mapping) if p]
    for p in inputs:
        if Path(p).exists() and out.exists() and out.resolve() == Path(p).resolve():
            raise InputFileError("--out names an input file; choose a new folder", where=str(out))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.force)):
        raise InputFileError("the output folder exists and is not empty; choose another or pass --force", where=str(out))
    if args.capacity is not None and not args.capacity > 0:
        raise InputFileError(f"{args.capacity:g} must be a positive number of hand-offs per week", where="--capacity")
    if args.target_rate is not None and not 0 < args.target_rate < 1:
        raise InputFileError(f"{args.target_rate:g} must lie strictly between 0 and 1", where="--target-rate")
    tables, definition = _tables(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LeadsimWarning)
        cal = calibrate(tables, definition, half_lives=_half_lives(args.half_lives), include=args.include,
                        capacity=args.capacity, target_rate=args.target_rate, pdo=args.pdo, weighting=args.weighting)
    files = cal.write(out, force=args.force, figures=not args.no_figures)
    for w in caught:
        print(f"leadsim: warning: {w.message}")
    rep = cal.report
    card = rep.scorecard
    emit(rep.metrics.round(4), False, title=f"Held-out comparison ({rep.split} split)")
    emit(rep.rates.round(4), False, title="Lead -> Sales Lead rate")
    print(f"\n{cal.previous.version} -> {cal.definition.version}: {len(cal.diff)} change(s); "
          f"{card.pdo:.1f} points double the odds; threshold {card.threshold:g} = {card.cutoff_probability:.1%} "
          f"chance of SQL; behaviour half-life {card.half_life_days:g} days")
    sel = rep.selection
    if sel.get("below_threshold_rate") is not None:
        print(f"exploration: {sel['exploration_handoffs']} hand-off(s); SQL rate below the old threshold "
              f"{sel['below_threshold_rate']:.1%} vs {sel.get('handed_rate', float('nan')):.1%} of those handed over")
    for note in cal.notes:
        print(f"note: {note}")
    print(f"wrote {len(files)} file(s) to {out}")
    return 0
