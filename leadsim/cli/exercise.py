"""``leadsim exercise``: the 100-companies worksheets and the comparison of the verdicts.

``leadsim exercise plan --kappa 0.6 --half-width 0.1 --prevalence 0.3`` says how
many companies to sample; ``leadsim exercise sample --out DIR`` writes ``marketing.xlsx``, ``sales.xlsx``,
CSV copies and ``key.csv``; ``leadsim exercise compare DIR/marketing.xlsx
DIR/sales.xlsx`` prints the agreement report; with ``--round N`` it keeps the
comparison as round N in ``DIR/rounds/`` and shows agreement by round.
``leadsim exercise revise`` proposes a revised definition from the heads'
disagreement with it (``--out`` writes it; ``--round N`` compares the heads
with it as round N).  Without worksheets, ``compare``
runs on the filled sample in ``data/exercise/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from leadsim.cli._common import add_definition_option, add_json_flag, check_output_path, json_ready
from leadsim.errors import InputFileError


def register(subparsers: argparse._SubParsersAction) -> None:
    from leadsim.cli.score import add_options

    p = subparsers.add_parser("exercise", help="the 100-companies exercise: worksheets and agreement",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="exercise_command", metavar="STEP")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    s = sub.add_parser("sample", help="sample companies and write one worksheet per head plus the key")
    s.add_argument("--out", required=True, metavar="DIR", help="new (or empty) folder for the worksheets")
    s.add_argument("--n", type=int, default=100, help="companies to sample (default 100)")
    s.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    s.add_argument("--stratify", choices=["score", "score_source", "source", "none"], default="score",
                   help="how to stratify the sample (default: score bands, spread over sources)")
    s.add_argument("--reviewers", default="marketing,sales", metavar="NAMES",
                   help="comma-separated reviewers, one worksheet each (default marketing,sales; e.g. add sdr)")
    s.add_argument("--force", action="store_true", help="write into a non-empty folder, replacing its worksheets")
    add_options(s)
    s.set_defaults(func=run_sample)

    c = sub.add_parser("compare", help="compare the filled worksheets with each other and the definition")
    c.add_argument("worksheets", nargs="*", metavar="WORKSHEET",
                   help="filled worksheets (.xlsx or .csv); the reviewer is the file name "
                        "(default: the filled sample in data/exercise/)")
    c.add_argument("--key", metavar="FILE", help="key file (default: key.csv beside the first worksheet)")
    add_definition_option(c, "lead definition for rule labels and the threshold")
    c.add_argument("--interval", choices=["fce", "bootstrap"], default="fce",
                   help="kappa interval: Fleiss-Cohen-Everitt standard error (default) or bootstrap")
    c.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    c.add_argument("--out", metavar="FILE", help="also save the report (.json as JSON, otherwise Markdown)")
    c.add_argument("--round", type=int, metavar="N",
                   help="keep this comparison as round N of the exercise (in DIR/rounds/) and show agreement by round")
    c.add_argument("--rounds-dir", metavar="DIR",
                   help="the exercise's folder for --round (default: the folder of the first worksheet)")
    c.add_argument("--force", action="store_true", help="replace an existing --out file or recorded round")
    add_json_flag(c)
    c.set_defaults(func=run_compare)

    pl = sub.add_parser("plan", help="how many companies to sample for a given precision of kappa")
    pl.add_argument("--kappa", type=float, default=0.6, help="the agreement you expect (default 0.6)")
    pl.add_argument("--half-width", type=float, default=0.1,
                    help="how close the interval should come: kappa +- this (default 0.1)")
    pl.add_argument("--prevalence", type=float, default=0.3, help="share of good leads you expect (default 0.3)")
    pl.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    pl.add_argument("--n", type=int, default=100, help="a sample size to show the half-width for (default 100)")
    add_json_flag(pl)
    pl.set_defaults(func=run_plan)
    _add_revise(sub)


def _add_revise(sub: argparse._SubParsersAction) -> None:
    from leadsim.cli.score import add_options

    r = sub.add_parser("revise", help="propose a revised definition from the heads' disagreement with it")
    r.add_argument("worksheets", nargs="*", metavar="WORKSHEET",
                   help="filled worksheets (default: the filled sample in data/exercise/)")
    r.add_argument("--key", metavar="FILE", help="key file (default: key.csv beside the first worksheet)")
    r.add_argument("--out", metavar="FILE", help="write the revised definition (YAML) here")
    r.add_argument("--round", type=int, metavar="N",
                   help="also compare the heads with the revised definition as round N (kept in the exercise folder)")
    r.add_argument("--rounds-dir", metavar="DIR", help="the exercise's folder for --round (default: the worksheets')")
    r.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds (default 0)")
    r.add_argument("--force", action="store_true", help="replace an existing --out file or recorded round")
    add_options(r)
    r.set_defaults(func=run_revise)


def run_plan(args: argparse.Namespace) -> int:
    from leadsim.exercise.planning import plan_sample, plan_text

    plan = plan_sample(kappa=args.kappa, half_width=args.half_width, prevalence=args.prevalence, level=args.level,
                       n=args.n)
    print(json.dumps(json_ready(plan), indent=2) if args.json else plan_text(plan))
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from leadsim.cli.score import load_inputs
    from leadsim.exercise import make_exercise, read_key

    if args.n < 1:
        raise InputFileError(f"--n must be at least 1, got {args.n}", where="--n")
    out = Path(args.out)
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise InputFileError("folder exists and is not empty; choose another --out or pass --force", where=str(out))
    reviewers = [r.strip() for r in args.reviewers.split(",") if r.strip()]
    bad = [r for r in reviewers if not r.replace("_", "").replace("-", "").isalnum()]
    if not reviewers or bad or len(set(reviewers)) < len(reviewers):
        raise InputFileError(f"give distinct reviewer names of letters, digits, - and _ (got {args.reviewers!r}), "
                             "e.g. marketing,sales,sdr", where="--reviewers")
    inputs = load_inputs(args)
    history = SimpleNamespace(leads=inputs.leads, activities=inputs.activities, stage_log=inputs.stage_log,
                              definition=inputs.definition)
    paths = make_exercise(history, out, n=args.n, seed=args.seed, as_of=inputs.as_of, force=args.force,
                          stratify=None if args.stratify == "none" else args.stratify, reviewers=reviewers)
    n = len(read_key(paths["key"])) if "key" in paths else args.n
    fewer = f" (asked for {args.n}; that is every company there is)" if n < args.n else ""
    print(f"Sampled {n} companies{fewer} from {inputs.origin} (scored as of {inputs.as_of:%Y-%m-%d %H:%M}).")
    for name, path in paths.items():
        print(f"  {name:14s} {path}")
    sheets = " and ".join(", ".join(f"{r}.xlsx" for r in reviewers).rsplit(", ", 1))
    print(f"Give {sheets} to the heads, one each; keep key.csv for `leadsim exercise compare`.")
    return 0


def _sheets_and_key(args: argparse.Namespace) -> tuple[list[Path], Path | None]:
    """The worksheets (default: the filled sample) and the key (default: key.csv beside the first worksheet)."""
    from leadsim._resources import data_path

    sheets = [Path(p) for p in args.worksheets]
    key_path = Path(args.key) if args.key else None
    if not sheets:
        sheets = [data_path("exercise/marketing.xlsx"), data_path("exercise/sales.xlsx")]
        key_path = key_path or data_path("exercise/key.csv")
    if key_path is None and (sheets[0].parent / "key.csv").exists():
        key_path = sheets[0].parent / "key.csv"
    names = [p.stem for p in sheets]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputFileError(f"two worksheets for reviewer {sorted(dup)[0]!r}; the file name names the reviewer, "
                             "so give each reviewer's worksheet once", where="WORKSHEET")
    return sheets, key_path


def run_revise(args: argparse.Namespace) -> int:
    from leadsim.cli.score import load_inputs
    from leadsim.exercise import read_key, read_verdicts, revise_definition, revision_round
    from leadsim.exercise.rounds import load_rounds, rescore_key, rounds_markdown

    sheets, key_path = _sheets_and_key(args)
    if key_path is None:
        raise InputFileError("the revision needs the key written with the worksheets; give --key", where="--key")
    if args.round is not None and args.rounds_dir is None and not args.worksheets:
        raise InputFileError("give the exercise's folder with --rounds-dir; leadsim does not write rounds into "
                             "its own sample data", where="--round")
    out = check_output_path(args.out, [*sheets, key_path], force=args.force) if args.out else None
    inputs = load_inputs(args)
    history = SimpleNamespace(leads=inputs.leads, activities=inputs.activities, stage_log=inputs.stage_log)
    key = read_key(key_path)
    verdicts = {p.stem: read_verdicts(p, key=key, definition=inputs.definition) for p in sheets}
    text = ""
    if args.round is not None:
        folder = Path(args.rounds_dir) if args.rounds_dir else sheets[0].parent
        rev, _ = revision_round(verdicts, key, history, inputs.definition, folder=folder, round=args.round,
                                force=args.force, seed=args.seed, as_of=inputs.as_of)
        text = "\n" + rounds_markdown(load_rounds(folder))
    else:
        _, contrib = rescore_key(key, history, inputs.definition, as_of=inputs.as_of)
        rev = revise_definition(verdicts, key, inputs.definition, contributions=contrib, seed=args.seed)
    print(rev.to_markdown() + text)
    if not rev.diff.empty:
        print(rev.diff.to_string(index=False))
    if out is not None:
        from leadsim.files import write_atomic

        write_atomic(out, rev.revised.to_yaml(), overwrite=args.force, parents=True)
        print(f"\nRevised definition (version {rev.revised.version}) written to {out}.")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from leadsim.definition import load_definition
    from leadsim.exercise import compare, read_key, read_verdicts

    sheets, key_path = _sheets_and_key(args)
    if len(sheets) < 2 and key_path is None:
        raise InputFileError("give two worksheets, or one worksheet and --key (to compare with the definition)",
                             where="WORKSHEET")
    if args.round is not None and args.rounds_dir is None and not args.worksheets:
        raise InputFileError("give the exercise's folder with --rounds-dir; leadsim does not write rounds into "
                             "its own sample data", where="--round")
    out = check_output_path(args.out, [*sheets, key_path], force=args.force) if args.out else None
    key = read_key(key_path) if key_path is not None else None
    definition = load_definition(args.definition)
    verdicts = {p.stem: read_verdicts(p, key=key, definition=definition) for p in sheets}
    report = compare(verdicts, definition, key=key, interval=args.interval, n_boot=args.n_boot,
                     seed=args.seed)
    if key is None:
        report.notes.append("no key file: every company weighs 1 and the definition's verdict is not compared")
    data = report.to_dict()
    text = report.to_markdown()
    if args.round is not None:
        from leadsim.exercise.rounds import load_rounds, record_round, round_table, rounds_markdown

        folder = Path(args.rounds_dir) if args.rounds_dir else sheets[0].parent
        record_round(report, definition, folder=folder, round=args.round, force=args.force)
        rounds = load_rounds(folder)
        data["rounds"] = round_table(rounds).to_dict("records")
        text += "\n" + rounds_markdown(rounds)
    print(json.dumps(json_ready(data), indent=2, ensure_ascii=False) if args.json else text)
    if out is not None:
        from leadsim.files import write_atomic

        body = (json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n" if out.suffix.lower() == ".json"
                else report.to_markdown(max_rows=1000) + text[len(report.to_markdown()):])
        write_atomic(out, body, overwrite=args.force, parents=True)
    return 0
