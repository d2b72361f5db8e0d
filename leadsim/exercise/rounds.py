"""Rounds of one exercise: each comparison kept in the exercise's folder, agreement shown round by round.

The playbook's exercise is a loop: the heads qualify the companies, meet,
revise the definition, and qualify again until they agree.
:func:`record_round` keeps one round in ``<folder>/rounds/round-<N>.json``: the
definition it was compared with (version and full YAML), the reviewers and
the agreement rows of the report (the heads with each other, each head with
the definition), never overwriting a recorded round unless told to.
:func:`round_table` lays the recorded rounds side by side with their
intervals and :func:`round_changes` says what changed in the definition from
one round to the next (:func:`leadsim.definition.diff`).

>>> import tempfile, pandas as pd
>>> from leadsim import load_definition
>>> from leadsim.exercise import compare
>>> d = load_definition()
>>> rep = compare({"marketing": pd.Series({"A": "good", "B": "not", "C": "good"}),
...                "sales": pd.Series({"A": "good", "B": "not", "C": "not"})}, d, n_boot=50)
>>> folder = tempfile.mkdtemp()
>>> _ = record_round(rep, d, folder=folder, round=1)
>>> round_table(load_rounds(folder))[["round", "version", "a", "b", "n", "kappa"]].round(2).to_dict("records")
[{'round': 1, 'version': '1.0.0', 'a': 'marketing', 'b': 'sales', 'n': 3, 'kappa': 0.4}]
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from leadsim.definition.loading import definition_yaml, parse_definition, require_definition
from leadsim.errors import DataError, InputFileError
from leadsim.files import write_atomic

__all__ = ["ROUNDS_FOLDER", "load_rounds", "record_round", "rescore_key", "round_changes", "round_table",
           "rounds_markdown"]

#: The sub-folder of an exercise's folder that holds its rounds.
ROUNDS_FOLDER = "rounds"
_COLUMNS = ["round", "version", "a", "b", "n", "agreement", "kappa", "kappa_low", "kappa_high", "ac1", "ac1_low",
            "ac1_high"]


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


def record_round(report: Any, definition: Any, *, folder: str | os.PathLike[str], round: int,
                 force: bool = False) -> Path:
    """Keep round ``round`` of the exercise in ``<folder>/rounds/round-<round>.json``; return the file.

    An existing round file is refused unless ``force`` (then replaced): a
    recorded round is the heads' work and is not written over by accident.
    """
    d = require_definition(definition, where="record_round")
    if not isinstance(round, int) or round < 1:
        raise InputFileError(f"the round must be a whole number from 1 up, got {round!r}", where="--round")
    path = Path(folder) / ROUNDS_FOLDER / f"round-{round}.json"
    pairs = [{k: _plain(v) for k, v in row.items()} for row in report.pairs.to_dict("records")]
    record = {"round": round, "version": d.version, "reviewers": list(report.reviewers),
              "companies": len(report.table), "level": report.level, "pairs": pairs,
              "definition_yaml": definition_yaml(d)}
    if path.exists() and not force:
        raise InputFileError(f"round {round} is recorded already; give the next round number, or --force to replace "
                             "it", where=str(path))
    return write_atomic(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n", overwrite=force,
                        parents=True)


def load_rounds(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The recorded rounds of an exercise folder, in round order (an empty list when there are none)."""
    base = Path(folder) / ROUNDS_FOLDER
    if not base.is_dir():
        return []
    found = []
    for p in base.iterdir():
        m = re.fullmatch(r"round-(\d+)\.json", p.name)
        if not m:
            continue
        try:
            found.append((int(m.group(1)), json.loads(p.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as err:
            raise InputFileError(f"cannot be read as a round record ({err.msg} at line {err.lineno}); record the round "
                                 "again with --force", where=str(p)) from None
    return [r for _, r in sorted(found, key=lambda t: t[0])]


def round_table(rounds: list[dict[str, Any]]) -> pd.DataFrame:
    """Agreement by round: one row per round and pair (heads with each other, each head with the definition)."""
    rows = [{"round": r["round"], "version": r["version"], **{k: p.get(k) for k in _COLUMNS[2:]}}
            for r in rounds for p in r["pairs"]]
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("Int64")
    for c in _COLUMNS[5:]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def round_changes(rounds: list[dict[str, Any]]) -> list[str]:
    """One line per round after the first: what changed in the definition since the round before."""
    from leadsim.definition import diff

    lines = []
    for before, after in itertools.pairwise(rounds):
        old = parse_definition(_yaml(before), source=f"round {before['round']}")
        new = parse_definition(_yaml(after), source=f"round {after['round']}")
        changes = diff(old, new)
        changes = changes[changes["section"] != "changelog"]
        if changes.empty:
            text = "the definition did not change"
        else:
            text = "; ".join(f"{r.section} {r.item}{'' if r.field in ('', None) else '.' + str(r.field)}: "
                             f"{_shown(r.old)} → {_shown(r.new)}" for r in changes.head(12).itertuples())
            if len(changes) > 12:
                text += f"; and {len(changes) - 12} more"
        lines.append(f"round {after['round']} (version {after['version']}, before {before['version']}): {text}")
    return lines


def _shown(v: Any) -> str:
    return "none" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:g}" if isinstance(
        v, float) else str(v)


def _yaml(record: dict[str, Any]) -> Any:
    import yaml

    return yaml.safe_load(record["definition_yaml"])


def rounds_markdown(rounds: list[dict[str, Any]]) -> str:
    """Agreement by round and the changes between rounds, for people (Markdown)."""
    if not rounds:
        return ""
    table = round_table(rounds)

    def cell(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else (
            f"{v:.3f}" if isinstance(v, float) else str(v))

    lines = ["## Agreement by round", "",
             "Each head with the other heads and with the definition of that round; kappa and Gwet's AC1 with their "
             f"{round(float(rounds[-1].get('level', 0.95)) * 100)} % intervals.", "",
             "| " + " | ".join(_COLUMNS) + " |", "|" + "|".join("---" for _ in _COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    changes = round_changes(rounds)
    if changes:
        lines += ["", "### What changed between rounds", "", *[f"- {c}" for c in changes]]
    return "\n".join(lines) + "\n"


def rescore_key(key: pd.DataFrame, history: Any, definition: Any, *,
                as_of: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The key of a round with a revised definition: the same companies, the definition's new verdict and score.

    Scores the key's leads from ``history`` (leads, activities, optional
    stage log) with ``definition`` at ``as_of`` (default: as
    :func:`~leadsim.exercise.make_exercise` does) and returns the key with
    ``score``, ``fit_score``, ``behaviour_score``, ``definition_verdict`` and
    ``drivers`` replaced, and the rule contributions of its leads.
    """
    from leadsim.exercise.agreement import check_key
    from leadsim.exercise.findings import drivers_text
    from leadsim.exercise.sampling import exercise_as_of
    from leadsim.scoring import contributions as rule_points
    from leadsim.scoring import score

    d = require_definition(definition, where="rescore_key")
    key = check_key(key).copy()
    when = exercise_as_of(history) if as_of is None else as_of
    leads = history.leads[history.leads["lead_id"].isin(key["lead_id"])]
    missing = sorted(set(key["lead_id"]) - set(leads["lead_id"]))
    if missing:
        raise DataError(f"{len(missing)} lead(s) of the key are not in the history, e.g. {missing[0]!r}; rescore with "
                        "the history the exercise was sampled from", where="key")
    ids = set(leads["lead_id"])
    acts = history.activities[history.activities["lead_id"].isin(ids)]
    stage_log = getattr(history, "stage_log", None)
    stage_log = stage_log[stage_log["lead_id"].isin(ids)] if stage_log is not None else None
    contrib = rule_points(leads, acts, d, as_of=when, stage_log=stage_log)
    scores = score(leads, acts, d, as_of=when, stage_log=stage_log).reindex(key["lead_id"])
    for c in ("score", "fit_score", "behaviour_score"):
        if c in scores.columns:
            key[c] = scores[c].to_numpy()
    key["definition_verdict"] = ["good" if v else "not" for v in scores["is_mql"].astype(bool)]
    key["drivers"] = [drivers_text(contrib.loc[lead].astype(float), d) for lead in key["lead_id"]]
    return key, contrib.reindex(key["lead_id"])
