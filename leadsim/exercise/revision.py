"""From disagreement to a revised definition: the rules behind the gap, concrete edits, and their honest effect.

Where the heads agree with each other but not with the definition, the
definition is the odd one out.  :func:`revise_definition`

1. takes the companies the heads agree on (:func:`~leadsim.exercise.as_labels`,
   ``combine="agree"``) and compares the rule contributions of those where the
   definition says otherwise with the rest (:func:`rule_gaps`);
2. searches a closed set of edits greedily -- change a rule's points (x0, x0.5,
   x1.5, x2), add a category or a range of an attribute as a new fit rule
   (+-20 or +-40 points), move the MQL threshold (x0.8 ... x1.2) or the MQL
   gate's minimum behaviour -- keeping an edit only when it lets the
   definition agree with the heads on at least ``min_gain`` more of the
   companies; the result is a revised :class:`~leadsim.definition.LeadDefinition`
   (next version, a changelog entry) and its :func:`~leadsim.definition.diff`;
3. estimates the definition's agreement with the heads before and after on
   companies *not* used to derive the edits (k-fold cross-validation: the
   edits are searched again on the other folds), as a paired difference with
   an interval; the text says "no measurable change" when the interval holds 0.

The search re-scores from the rule contributions: a rule's contribution
scales with its points, a new rule adds its points where its condition holds,
and the MQL verdict is ``score >= threshold`` with the MQL gate (minimum grade,
minimum behaviour, excluded rules).  A company whose definition verdict that
model does not reproduce (a hot trigger made it an MQL) keeps its verdict.

>>> import numpy as np, pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> rng = np.random.default_rng(0)
>>> n = 200
>>> c = pd.DataFrame({"senior_exec": rng.choice([0.0, 25.0], n), "pricing_page": rng.choice([0.0, 20.0, 40.0], n),
...                   "live_demo": rng.choice([0.0, 35.0], n), "size_mid": rng.choice([0.0, 15.0], n)},
...                  index=[f"L{i}" for i in range(n)])
>>> key = pd.DataFrame({"company": [f"C{i}" for i in range(n)], "lead_id": c.index,
...                     "definition_verdict": np.where(c.sum(axis=1) >= 100, "good", "not")})
>>> heads = np.where(c.sum(axis=1) + c["senior_exec"] >= 100, "good", "not")  # the heads weigh seniority double
>>> v = {"marketing": pd.Series(heads, index=key["company"]), "sales": pd.Series(heads, index=key["company"])}
>>> rev = revise_definition(v, key, d, contributions=c, folds=4)
>>> rev.edits[0].target, rev.edits[0].new
('senior_exec', 50.0)
>>> bool(rev.after > rev.before and rev.low > 0)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition.loading import require_definition
from leadsim.errors import DataError
from leadsim.points import POINTS_TOLERANCE

__all__ = ["Edit", "Revision", "apply_edits", "revise_definition", "revision_round", "rule_gaps"]

_MULTIPLIERS = (0.0, 0.5, 1.5, 2.0)
_NEW_POINTS = (20.0, -20.0, 40.0, -40.0)
_THRESHOLD_FACTORS = (0.8, 0.9, 1.1, 1.2)
_MIN_BEHAVIOUR = (0.0, 5.0, 20.0, 30.0)


@dataclass(frozen=True)
class Edit:
    """One proposed change: ``kind`` is ``points``, ``add_rule``, ``threshold`` or ``gate``."""

    kind: str
    target: str
    old: Any
    new: Any
    text: str
    attribute: str = ""
    op: str = ""
    value: Any = None
    bounds: tuple[float | None, float | None] = (None, None)


@dataclass
class Revision:
    """What :func:`revise_definition` proposes, and what it is worth on companies it did not see."""

    edits: list[Edit]
    gaps: pd.DataFrame
    revised: Any
    diff: pd.DataFrame
    before: float
    after: float
    difference: float
    low: float
    high: float
    n: int
    folds: int
    level: float
    text: str
    fold_edits: list[list[str]] = field(default_factory=list)

    def to_markdown(self) -> str:
        """The proposal for the revision meeting (Markdown)."""
        lines = ["## Proposed revision of the definition", "", self.text, ""]
        if self.edits:
            lines += [f"{i}. {e.text}" for i, e in enumerate(self.edits, 1)]
        else:
            lines.append("No edit of the closed set makes the definition agree measurably better with the heads.")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the model the search scores with


@dataclass
class _Data:
    contrib: np.ndarray          # companies x rules
    rules: list[str]
    behaviour: np.ndarray        # bool per rule
    excluded: np.ndarray         # bool per company: an excluded rule fires
    threshold: float
    min_behaviour: float
    min_fit: float
    flags: dict[tuple[str, str, str], np.ndarray]  # (attribute, op, value text) -> indicator


@dataclass
class _State:
    mult: np.ndarray
    added: list[tuple[tuple[str, str, str], float]]
    threshold: float
    min_behaviour: float

    def copy(self) -> _State:
        return _State(self.mult.copy(), list(self.added), self.threshold, self.min_behaviour)


def _verdict(data: _Data, s: _State, rows: np.ndarray) -> np.ndarray:
    c = data.contrib[rows] * s.mult
    behaviour = c[:, data.behaviour].sum(axis=1)
    fit = c[:, ~data.behaviour].sum(axis=1) + sum(p * data.flags[k][rows] for k, p in s.added)
    score = fit + behaviour
    return ((score >= s.threshold - POINTS_TOLERANCE) & (behaviour >= s.min_behaviour - POINTS_TOLERANCE)
            & (fit >= data.min_fit - POINTS_TOLERANCE) & ~data.excluded[rows])


def _flags(facts: pd.DataFrame, definition: Any, min_support: int) -> dict[tuple[str, str, str], np.ndarray]:
    """Indicators of the attribute values and ranges a new fit rule could read (declared attributes only)."""
    out = {}
    for a in definition.attributes:
        if a.name not in facts.columns or a.protected or a.recorded == "after_handoff":
            continue
        s = facts[a.name]
        if a.type in ("number", "integer"):
            x = pd.to_numeric(s, errors="coerce")
            edges = sorted({float(q) for q in x.dropna().quantile([1 / 3, 2 / 3])})
            for lo, hi in zip([None, *edges], [*edges, None], strict=True):
                m = x.notna() & (x >= (lo if lo is not None else -math.inf)) & (x < (hi if hi is not None else math.inf))
                out[(a.name, "range", f"{lo}|{hi}")] = m.to_numpy(dtype=bool)
        elif a.type in ("category", "text", "bool"):
            for value in sorted(s.dropna().astype(str).unique())[:12]:
                out[(a.name, "eq", value)] = (s.astype("string") == value).fillna(False).to_numpy(dtype=bool)
    return {k: v for k, v in out.items() if min_support <= v.sum() <= len(v) - min_support}


def _candidates(data: _Data, s: _State, used: set[str], definition: Any) -> list[tuple[Edit, _State]]:
    out = []
    for j, rule in enumerate(data.rules):
        if rule in used or not np.any(np.abs(data.contrib[:, j]) > POINTS_TOLERANCE):
            continue
        points = _points(definition, rule)
        for m in _MULTIPLIERS:
            t = s.copy()
            t.mult[j] = m
            new = round(points * m)
            out.append((Edit("points", rule, points, float(new),
                             f"Change the points of {definition.rule_label(rule)} ({rule}) from {points:+g} to "
                             f"{new:+g}."), t))
    for key in data.flags:
        if key[0] in used:
            continue
        for p in _NEW_POINTS:
            t = s.copy()
            t.added.append((key, p))
            out.append((_add_rule_edit(key, p), t))
    if "threshold" not in used:
        for f in _THRESHOLD_FACTORS:
            t = s.copy()
            t.threshold = round(data.threshold * f)
            out.append((Edit("threshold", "mql", data.threshold, float(t.threshold),
                             f"Move the MQL threshold from {data.threshold:g} to {t.threshold:g}."), t))
    if "min_behaviour" not in used and math.isfinite(data.min_behaviour) and data.min_behaviour > 0:
        for v in _MIN_BEHAVIOUR:
            if v != data.min_behaviour:
                t = s.copy()
                t.min_behaviour = v
                out.append((Edit("gate", "min_behaviour", data.min_behaviour, v,
                                 f"Move the MQL gate's minimum behaviour score from {data.min_behaviour:g} to "
                                 f"{v:g}."), t))
    return out


def _add_rule_edit(key: tuple[str, str, str], points: float) -> Edit:
    attribute, op, value = key
    if op == "range":
        lo, hi = (None if x == "None" else float(x) for x in value.split("|"))
        what = (f"{attribute} under {hi:g}" if lo is None else f"{attribute} {lo:g} or more" if hi is None
                else f"{attribute} from {lo:g} to under {hi:g}")
        rid = re.sub(r"[^a-z0-9_]", "_", f"{attribute}_{'lt' if lo is None else 'ge'}_{hi if lo is None else lo:g}")
        return Edit("add_rule", rid, None, points, f"Add a range: {what} scores {points:+g} (new fit rule {rid}).",
                    attribute=attribute, op="range", bounds=(lo, hi))
    rid = re.sub(r"[^a-z0-9_]+", "_", f"{attribute}_{value}".lower()).strip("_")
    return Edit("add_rule", rid, None, points, f"Add a category: {attribute} = {value} scores {points:+g} "
                                               f"(new fit rule {rid}).", attribute=attribute, op="eq", value=value)


def _points(definition: Any, rule: str) -> float:
    for r in [*definition.fit_rules, *definition.behaviour_rules]:
        if r.id == rule:
            return float(r.points)
    if rule.startswith("bant_") and rule[5:] in definition.bant:
        return float(definition.bant[rule[5:]].points)
    raise DataError(f"rule {rule!r} of the contributions is not in the definition; score with this definition",
                    where="contributions")


def _search(data: _Data, y: np.ndarray, base: np.ndarray, rows: np.ndarray, definition: Any, *, max_edits: int,
            min_gain: float) -> tuple[list[Edit], _State]:
    state = _State(np.ones(len(data.rules)), [], data.threshold, data.min_behaviour)
    model_ok = _verdict(data, state, rows) == base[rows]  # where the model reproduces the definition
    target = y[rows]

    def agreement(s: _State) -> float:
        v = np.where(model_ok, _verdict(data, s, rows), base[rows])
        return float(np.mean(v == target))

    edits: list[Edit] = []
    used: set[str] = set()
    current = agreement(state)
    for _ in range(max_edits):
        best = None
        for edit, cand in _candidates(data, state, used, definition):
            score = agreement(cand)
            if best is None or score > best[0] + 1e-12:
                best = (score, edit, cand)
        if best is None or best[0] - current < min_gain - 1e-12:
            break
        current, edit, state = best
        edits.append(edit)
        used.add(edit.attribute or edit.target if edit.kind == "add_rule" else
                 "threshold" if edit.kind == "threshold" else edit.target)
    return edits, state


# --------------------------------------------------------------------------- public


def rule_gaps(contributions: pd.DataFrame, heads: pd.Series, definition_verdict: pd.Series,
              definition: Any) -> pd.DataFrame:
    """The rules behind the gap: mean contribution where the heads (agreeing) and the definition differ, vs the rest.

    ``heads`` and ``definition_verdict`` are 1 for good, 0 for not, indexed
    like ``contributions``.  Columns: ``rule``, ``label``, ``missed`` (mean
    points where the heads say good and the definition not), ``false_alarm``
    (heads not, definition good), ``agreed`` (where they agree), ``gap``
    (the larger departure from ``agreed``); sorted by ``gap``, rule id on ties.
    """
    c = contributions.astype(float)
    missed = (heads == 1) & (definition_verdict == 0)
    false = (heads == 0) & (definition_verdict == 1)
    agree = heads == definition_verdict

    def mean(mask: pd.Series) -> pd.Series:
        return c[mask.to_numpy()].mean() if mask.any() else pd.Series(math.nan, index=c.columns)

    out = pd.DataFrame({"rule": c.columns, "label": [definition.rule_label(r) for r in c.columns],
                        "missed": mean(missed).to_numpy(), "false_alarm": mean(false).to_numpy(),
                        "agreed": mean(agree).to_numpy()})
    out["gap"] = np.fmax((out["missed"] - out["agreed"]).abs(), (out["false_alarm"] - out["agreed"]).abs())
    return (out.sort_values(["gap", "rule"], ascending=[False, True], kind="stable", na_position="last")
            .reset_index(drop=True))


def apply_edits(definition: Any, *, edits: list[Edit], note: str = "revised after the 100-companies exercise") -> Any:
    """A copy of ``definition`` with the edits applied, the next version and a changelog entry."""
    from leadsim.definition.parts import FitRule

    d = require_definition(definition, where="apply_edits").model_copy(deep=True)
    for e in edits:
        if e.kind == "points":
            rule = next((r for r in [*d.fit_rules, *d.behaviour_rules] if r.id == e.target), None)
            if rule is not None:
                rule.points = e.new
            else:
                d.bant[e.target[5:]].points = e.new
        elif e.kind == "threshold":
            d.thresholds.mql = e.new
        elif e.kind == "gate":
            d.gates.mql.min_behaviour = e.new or None
        elif e.kind == "add_rule":
            category = next((r.category for r in d.fit_rules if r.attribute == e.attribute), "firmographic")
            spec: dict[str, Any] = {"id": e.target, "label": e.text.split(":", 1)[1].split(" scores")[0].strip(),
                                    "attribute": e.attribute, "category": category, "points": e.new}
            if e.op == "range":
                spec.update(op="range", min=e.bounds[0], max=e.bounds[1])
            else:
                spec.update(op="eq", value=e.value)
            d.fit_rules.append(FitRule(**spec))
    revised = d.bump(f"{note}: " + "; ".join(e.text for e in edits) if edits else note)
    return type(revised).model_validate(revised.model_dump())


def revise_definition(verdicts: Mapping[str, Any], key: pd.DataFrame, definition: Any, *,
                      contributions: pd.DataFrame, folds: int = 5, seed: int | np.random.Generator | None = 0,
                      max_edits: int = 3, min_gain: float = 0.02, min_support: int = 5,
                      level: float = 0.95) -> Revision:
    """Propose edits that bring the definition to the heads, and estimate their effect on unseen companies.

    ``verdicts`` are the heads' (as for :func:`~leadsim.exercise.compare`);
    ``key`` the exercise key (``lead_id``, ``definition_verdict`` and the
    facts); ``contributions`` the rule contributions of the key's leads under
    ``definition`` (``leadsim.scoring.contributions``), indexed by lead id.
    """
    from scipy.stats import norm

    from leadsim.definition import diff
    from leadsim.exercise.agreement import check_key
    from leadsim.exercise.findings import KEY_COLUMNS
    from leadsim.exercise.sampling import as_labels

    d = require_definition(definition, where="revise_definition")
    key = check_key(key)
    if "definition_verdict" not in key.columns:
        raise DataError("the key needs the definition's verdict ('definition_verdict'); use the key written with "
                        "the worksheets", where="key")
    X, y = as_labels({k: v for k, v in verdicts.items() if k != "definition"}, key, contributions=contributions)
    if len(y) < 2 * folds:
        raise DataError(f"only {len(y)} companies where the heads agree; the revision needs at least {2 * folds}",
                        where="verdicts")
    base = (key.loc[X.index, "definition_verdict"] == "good").to_numpy()
    target = y.to_numpy().astype(bool)
    gaps = rule_gaps(X, y, pd.Series(base.astype(int), index=X.index), d)
    gate = d.gates.mql
    grade = gate.min_grade
    excluded_rules = [r for r in gate.exclude if r in X.columns]
    data = _Data(
        contrib=X.to_numpy(dtype=float), rules=list(X.columns),
        behaviour=np.array([r in {b.id for b in d.behaviour_rules} for r in X.columns]),
        excluded=(np.abs(X[excluded_rules].to_numpy()) > POINTS_TOLERANCE).any(axis=1) if excluded_rules
        else np.zeros(len(X), dtype=bool),
        threshold=float(d.thresholds.mql), min_behaviour=float(gate.min_behaviour or 0.0),
        min_fit=float(d.thresholds.fit_grades.get(grade) or -math.inf) if grade else -math.inf,
        flags=_flags(key.loc[X.index, [c for c in key.columns if c not in KEY_COLUMNS]], d, min_support))
    every = np.arange(len(X))
    edits, _ = _search(data, target, base, every, d, max_edits=max_edits, min_gain=min_gain)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    before_ok, after_ok, fold_edits = np.zeros(len(X), bool), np.zeros(len(X), bool), []
    for k in range(folds):
        test = np.sort(order[k::folds])
        train = np.setdiff1d(every, test)
        found, state = _search(data, target, base, train, d, max_edits=max_edits, min_gain=min_gain)
        fold_edits.append([e.target for e in found])
        model_ok = _verdict(data, _State(np.ones(len(data.rules)), [], data.threshold, data.min_behaviour),
                            test) == base[test]
        after = np.where(model_ok, _verdict(data, state, test), base[test])
        before_ok[test] = base[test] == target[test]
        after_ok[test] = after == target[test]
    diffs = after_ok.astype(float) - before_ok.astype(float)
    n = len(diffs)
    mean = float(diffs.mean())
    half = float(norm.ppf(0.5 + level / 2) * diffs.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    low, high = mean - half, mean + half
    revised = apply_edits(d, edits=edits)
    text = (f"On the {n} companies where the heads agree, the definition agrees with them on "
            f"{before_ok.mean():.0%} before and {after_ok.mean():.0%} after the edits, each company judged by edits "
            f"derived without it ({folds}-fold cross-validation); ")
    text += ("no measurable change" if low <= 0 <= high else f"a change of {mean * 100:+.0f} percentage points") + (
        f" (paired difference {mean:+.3f}, {level:.0%} interval {low:+.3f} to {high:+.3f}).")
    return Revision(edits=edits, gaps=gaps, revised=revised, diff=diff(d, revised), before=float(before_ok.mean()),
                    after=float(after_ok.mean()), difference=mean, low=low, high=high, n=n, folds=folds, level=level,
                    text=text.replace("%", " %"), fold_edits=fold_edits)


def revision_round(verdicts: Mapping[str, Any], key: pd.DataFrame, history: Any, definition: Any, *,
                   folder: Any, round: int, force: bool = False, seed: int | np.random.Generator | None = 0,
                   as_of: Any = None, **compare_options: Any) -> tuple[Revision, Any]:
    """The next round: revise ``definition`` from the heads' verdicts and compare them with the revised one.

    Scores the key's leads from ``history`` at ``as_of`` (:func:`~leadsim.exercise.rounds.rescore_key`),
    proposes the revision (:func:`revise_definition`), re-scores the key with
    the revised definition, compares the same verdicts with it and records
    the comparison as round ``round`` in ``folder``.  The agreement of a round
    that reuses the verdicts its edits were found on is optimistic; the
    revision's cross-validated estimate is the honest one.  Returns the
    revision and the round's report.
    """
    from leadsim.exercise.agreement import compare
    from leadsim.exercise.rounds import record_round, rescore_key

    _, contrib = rescore_key(key, history, definition, as_of=as_of)
    rev = revise_definition(verdicts, key, definition, contributions=contrib, seed=seed)
    new_key, _ = rescore_key(key, history, rev.revised, as_of=as_of)
    report = compare(verdicts, rev.revised, key=new_key, seed=seed, **compare_options)
    record_round(report, rev.revised, folder=folder, round=round, force=force)
    return rev, report
