"""``leadsim calibrate``: SQL outcomes -> a revised lead definition, its diff, metrics and figures.

Two ways in:

* a history (the embedded sample without data files; else ``--leads``,
  ``--activities``, ``--outcomes`` or a stage log, or ``--export``/``--db``):
  the definition's points are refitted on the hand-offs; ``--discover`` adds
  criteria discovery (new rules proposed, rules that add nothing dropped,
  ``--max-rules`` caps them).  The output folder gets ``definition.yaml``;
* a flat lead export (``--leads export.csv --outcome COLUMN [--id COLUMN]
  [--mapping FILE]``): one row per lead with form fields, aggregated
  behaviour and a converted flag; the definition is built from its columns
  by criteria discovery and evaluated by stratified cross-validation.  The
  output folder gets ``definition.revised.yaml``, which ``leadsim score
  --definition DIR/definition.revised.yaml --leads new_rows.csv --id COLUMN``
  scores new rows of the same export with.

Both write ``diff.csv`` and ``diff.md``, ``metrics.json``, PNG figures and,
with discovery, ``proposals.csv`` and ``leakage.csv``; a non-empty folder is
refused unless ``--force``.
"""

from __future__ import annotations

import argparse
import math
import warnings

from leadsim.cli._common import emit
from leadsim.cli.data import add_data_options, load_data, no_activities
from leadsim.definition import LeadsimWarning
from leadsim.errors import InputFileError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="recalibrate the lead definition's points from SQL outcomes")
    add_data_options(p, tables=("leads", "activities", "outcomes", "stage_log", "touches"))
    t = p.add_mutually_exclusive_group()
    t.add_argument("--capacity", type=float, metavar="N", help="hand-offs per week sales can hold a conversation with")
    t.add_argument("--target-rate", type=float, metavar="R", help="target Lead -> Sales Lead rate, e.g. 0.35")
    t.add_argument("--pdo", type=float, metavar="P", help="points to double the odds (instead of a threshold target)")
    p.add_argument("--half-lives", metavar="DAYS", default="7,14,21,30,60,none",
                   help="behaviour half-life grid in days ('none': no decay), chosen by time-ordered CV and "
                        "extended while the best value sits at its edge (default 7,14,21,30,60,none)")
    p.add_argument("--weighting", choices=("ipw", "none"), default="ipw",
                   help="inverse-propensity weights from exploration hand-offs (default) or none")
    p.add_argument("--include", action="append", default=[], metavar="ATTRIBUTE",
                   help="use an attribute recorded after hand-off, protected, or flagged by the leakage guard "
                        "(warned); repeatable")
    f = p.add_argument_group("criteria discovery and the flat lead export")
    f.add_argument("--discover", action="store_true",
                   help="propose rules on attributes and activities the definition does not use yet, and drop "
                        "rules that add nothing (always on with --outcome)")
    f.add_argument("--max-rules", type=int, metavar="N", help="keep at most N rules (with --discover or --outcome)")
    f.add_argument("--outcome", metavar="COLUMN", help="--leads is a flat export (one row per lead) and COLUMN its "
                   "converted flag (1/0, true/false, yes/no; empty: unknown, left out)")
    f.add_argument("--id", dest="id_column", metavar="COLUMN", help="the flat export's id column (default: lead_id, "
                   "else the row numbers)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must be empty or new)")
    p.add_argument("--force", action="store_true", help="write into a non-empty output folder")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=cmd_calibrate)


def _half_lives(text: str) -> list[float]:
    try:
        values = [math.inf if x.strip().lower() in ("none", "no decay", "inf") else float(x)
                  for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputFileError(f"cannot read {text!r} as numbers of days, e.g. 7,14,30,none", where="--half-lives") from None
    if any(not v > 0 for v in values):
        raise InputFileError(f"half-lives must be positive numbers of days or 'none', got {text!r}",
                             where="--half-lives")
    if not values:
        raise InputFileError("give at least one half-life in days", where="--half-lives")
    return values


def _tables(args: argparse.Namespace):
    files = args.leads or args.activities or args.touches
    if files and not (args.outcomes or args.stage_log):
        tables: dict = {}
    else:
        data = load_data(args, need=("leads",), use=("leads", "activities", "stage_log", "touches", "outcomes"))
        tables = dict(data.tables)
    if "outcomes" not in tables and "stage_log" not in tables:
        raise InputFileError("calibration learns from hand-off outcomes: give --outcomes FILE, or the stage log "
                             "(--stage-log, or an export whose mapping has one) to derive them", where="--outcomes")
    if "activities" not in tables:
        tables["activities"] = no_activities()
    return tables, data.definition


#: The revised definition's file name in the output folder of the flat path.
FLAT_DEFINITION_FILE = "definition.revised.yaml"


def _flat_table(args: argparse.Namespace):
    """The flat lead export (``--leads`` through ``--mapping``), after checking no other table is given."""
    from leadsim.cli._common import SAMPLE_DEFINITION
    from leadsim.io.flat import read_flat

    if not args.leads:
        raise InputFileError("--outcome names the converted flag of a flat export: give the export as --leads FILE",
                             where="--leads")
    other = [opt for opt, v in (("--activities", args.activities), ("--outcomes", args.outcomes),
                                ("--stage-log", args.stage_log), ("--touches", args.touches),
                                ("--export", args.export), ("--db", args.db), ("--capacity", args.capacity))
             if v is not None]
    if args.definition != SAMPLE_DEFINITION:
        other.append("--definition")
    if other:
        raise InputFileError(f"{other[0]} does not go with --outcome: a flat export is one table, one row per lead, "
                             "and leadsim builds the definition from its columns (drop --outcome to recalibrate "
                             "a definition on a history)", where=other[0])
    return read_flat(args.leads, mapping=args.mapping)


def _flat(args: argparse.Namespace, table):
    """The flat lead export path: build and calibrate a definition from the export's columns."""
    from leadsim.calibration import calibrate_flat

    return calibrate_flat(table, args.outcome, id_column=args.id_column, include=args.include,
                          max_rules=args.max_rules, target_rate=args.target_rate, pdo=args.pdo, where=args.leads)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from leadsim.calibration import calibrate

    out = Path(args.out)
    inputs = [p for p in (args.definition, args.leads, args.activities, args.outcomes, args.stage_log, args.touches,
                          args.mapping, args.export) if p]
    for p in inputs:
        if Path(p).exists() and out.exists() and out.resolve() == Path(p).resolve():
            raise InputFileError("--out names an input file; choose a new folder", where=str(out))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.force)):
        raise InputFileError("the output folder exists and is not empty; choose another or pass --force", where=str(out))
    if args.capacity is not None and not args.capacity > 0:
        raise InputFileError(f"{args.capacity:g} must be a positive number of hand-offs per week", where="--capacity")
    if args.target_rate is not None and not 0 < args.target_rate < 1:
        raise InputFileError(f"{args.target_rate:g} must lie strictly between 0 and 1", where="--target-rate")
    if args.max_rules is not None and args.max_rules < 1:
        raise InputFileError(f"{args.max_rules} rules: give --max-rules 1 or more", where="--max-rules")
    if args.max_rules is not None and not (args.discover or args.outcome is not None):
        raise InputFileError("--max-rules caps criteria discovery; add --discover (or --outcome for a flat export)",
                             where="--max-rules")
    if args.id_column is not None and args.outcome is None:
        raise InputFileError("--id names the id column of a flat export; give --outcome COLUMN too", where="--id")
    flat = _flat_table(args) if args.outcome is not None else None
    if flat is None:
        tables, definition = _tables(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LeadsimWarning)
        if flat is not None:
            cal = _flat(args, flat)
        else:
            cal = calibrate(tables, definition, half_lives=_half_lives(args.half_lives), include=args.include,
                            capacity=args.capacity, target_rate=args.target_rate, pdo=args.pdo,
                            weighting=args.weighting, discover=args.discover, max_rules=args.max_rules)
    name = FLAT_DEFINITION_FILE if args.outcome is not None else "definition.yaml"
    files = cal.write(out, force=args.force, figures=not args.no_figures, definition_file=name)
    for w in caught:
        if issubclass(w.category, LeadsimWarning):
            print(f"leadsim: warning: {w.message}")
    rep = cal.report
    card = rep.scorecard
    from leadsim.calibration.handoffs import half_life_label

    emit(rep.metrics.round(4), False, title=f"Held-out comparison, side by side ({rep.split} split)")
    emit(rep.rates.round(4), False, title="Hand-off volume and Lead -> Sales Lead rate at the threshold")
    if rep.by_grade is not None:
        emit(rep.by_grade.round(4), False, title="Reliability of the predicted chance by grade (held out)")
    if rep.half_life_scores is not None and args.outcome is None:
        curve = rep.half_life_scores.rename(index=half_life_label).round(5).to_frame()
        emit(curve, False, title="Half-life: time-ordered CV log loss (lower is better)")
    if rep.proposals is not None:
        shown = rep.proposals[rep.proposals["change"].isin(["new", "dropped", "changed"])]
        emit(shown.drop(columns=["kind"]).round(4), False,
             title=f"Criteria discovery: {len(shown)} rule(s) and gate value(s) new, changed or dropped "
                   "(all in proposals.csv)")
    if rep.leakage is not None and len(rep.leakage):
        emit(rep.leakage.round(3), False, title="Leakage guard: columns that know the outcome")
    hl = half_life_label(card.half_life_days)
    decay = f"; behaviour half-life {hl}{' days' if hl != 'no decay' else ''}" if args.outcome is None else ""
    print(f"\n{cal.previous.version} -> {cal.definition.version}: {len(cal.diff)} change(s); "
          f"{card.pdo:.1f} points double the odds; threshold {card.threshold:g} = {card.cutoff_probability:.1%} "
          f"chance of SQL{decay}")
    sel = rep.selection
    if sel.get("below_threshold_rate") is not None:
        print(f"exploration: {sel['exploration_handoffs']} hand-off(s); SQL rate below the old threshold "
              f"{sel['below_threshold_rate']:.1%} vs {sel.get('handed_rate', float('nan')):.1%} of those handed over")
    for note in cal.notes:
        print(f"note: {note}")
    print(f"wrote {len(files)} file(s) to {out}")
    if args.outcome is not None:
        print(f"score new rows: leadsim score --definition {files['definition']} --leads FILE"
              f"{f' --id {args.id_column}' if args.id_column else ''} --out scores.csv")
    return 0
