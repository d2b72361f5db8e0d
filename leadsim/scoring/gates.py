"""The MQL verdict: the threshold, the hot triggers and the definition's gates, decided in one place.

:func:`mql_verdict` is the one implementation of "is this lead an MQL at
this moment, and if not, which gate held it back".  :func:`leadsim.scoring.score`
calls it per lead, the MQL-moment engine (:mod:`leadsim.scoring.mql`, behind
``mql_events``, the simulation and the history generator) per moment, and
:func:`leadsim.scoring.explain` for the lead it explains.

The rule (gates: :mod:`leadsim.definition.gates`):

* the *score path* is open when ``score >= thresholds.mql`` and the lead
  passes ``gates.mql``; the *hot path* when a hot trigger is active and the
  lead passes ``gates.hot``; the lead is an MQL when either path is open, by
  the hot trigger (reason ``hot``) when the hot path is;
* a gate's checks, in order: each ``exclude`` rule (held back when that rule
  scores non-zero points now), ``min_grade`` (the fit score reaches the
  grade's lower bound), ``min_behaviour`` (the behaviour score reaches it);
  bounds allow :data:`leadsim.points.POINTS_TOLERANCE`;
* a lead that reached a path but was stopped by its gate is *held back*; the
  check named is the first failing check of the hot gate when a trigger is
  active and its gate failed, else of the MQL gate.  The name reads
  ``<gate>.<check>``: ``mql.min_behaviour``, ``hot.exclude.competitor`` ...

>>> from leadsim import load_definition
>>> d = load_definition()
>>> [r for r in gate_rules(d)]
['student', 'competitor', 'unsubscribed']
>>> v = mql_verdict(d, fit=np.array([150.0, -41.0, 60.0]), behaviour=np.array([0.0, 0.0, 50.0]),
...                 hot=np.array([-1, 0, -1]), fired=np.array([[False, True, False], [False, True, False],
...                                                              [False, False, False]]))
>>> v.is_mql.tolist(), [held_names(d)[k] for k in v.held]
([False, False, True], ['mql.min_behaviour', 'hot.exclude.competitor', None])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.gates import GATE_NAMES, Gate
from leadsim.points import at_or_over

__all__ = ["Verdict", "fit_fired", "gate_rules", "held_names", "held_text", "mql_verdict"]


@dataclass(frozen=True)
class Verdict:
    """Per lead (or moment): ``is_mql``; ``by_hot``, the hot path is open (the MQL's reason is ``hot``);
    ``held``, the code of the check that held the lead back (0: none; :func:`held_names` names them)."""

    is_mql: np.ndarray
    by_hot: np.ndarray
    held: np.ndarray


def gate_rules(definition: LeadDefinition) -> list[str]:
    """The rule ids any gate excludes, in ``definition.rule_ids`` order: the rows of ``fired``."""
    named = {r for name in GATE_NAMES for r in getattr(definition.gates, name).exclude}
    return [r for r in definition.rule_ids if r in named]


def _checks(definition: LeadDefinition) -> list[tuple[str, str, str | None]]:
    """Every check of every gate in order: (gate, kind, rule id or None); check ``k`` has code ``k + 1``."""
    out: list[tuple[str, str, str | None]] = []
    for name in GATE_NAMES:
        gate: Gate = getattr(definition.gates, name)
        out += [(name, "exclude", r) for r in gate.exclude]
        if gate.min_grade is not None:
            out.append((name, "min_grade", None))
        if gate.min_behaviour is not None:
            out.append((name, "min_behaviour", None))
    return out


def held_names(definition: LeadDefinition) -> list[str | None]:
    """The name of each ``held`` code: ``None`` for 0, then ``<gate>.<check>`` such as ``hot.exclude.student``."""
    return [None] + [f"{g}.{kind}" + (f".{r}" if r else "") for g, kind, r in _checks(definition)]


def held_text(definition: LeadDefinition, name: str) -> str:
    """A sentence for people about a ``held_by`` name (:func:`held_names`).

    >>> from leadsim import load_definition
    >>> held_text(load_definition(), "hot.exclude.competitor")
    "the hot-trigger gate excludes leads matching 'Competitor domain' (competitor)"
    """
    gate, kind, *rule = name.split(".", 2)
    g: Gate = getattr(definition.gates, gate)
    path = "the MQL gate" if gate == "mql" else "the hot-trigger gate"
    if kind == "exclude":
        return f"{path} excludes leads matching {definition.rule_label(rule[0])!r} ({rule[0]})"
    if kind == "min_grade":
        return f"{path} needs fit grade {g.min_grade} or better"
    return f"{path} needs a behaviour score of at least {g.min_behaviour:g}"


def _first_failure(definition: LeadDefinition, name: str, offset: int, fit: np.ndarray, behaviour: np.ndarray,
                   fired: np.ndarray, rows: dict[str, int]) -> np.ndarray:
    """Per lead, the code of the first check of gate ``name`` it fails (0: passes); codes start after ``offset``."""
    gate: Gate = getattr(definition.gates, name)
    fails = [fired[rows[r]] for r in gate.exclude]
    if gate.min_grade is not None:
        bound = definition.thresholds.fit_grades[gate.min_grade]
        fails.append(np.zeros(len(fit), bool) if bound is None else ~at_or_over(fit, bound))
    if gate.min_behaviour is not None:
        fails.append(~at_or_over(behaviour, gate.min_behaviour))
    code = np.zeros(len(fit), np.int64)
    for k in range(len(fails) - 1, -1, -1):  # the first failing check wins
        code[fails[k]] = offset + k + 1
    return code


def mql_verdict(definition: LeadDefinition, *, fit: np.ndarray, behaviour: np.ndarray, hot: np.ndarray,
                fired: np.ndarray, total: np.ndarray | None = None) -> Verdict:
    """The MQL verdict of leads or moments (see the module docstring).

    ``fit``, ``behaviour``: the fit (with BANT) and behaviour scores;
    ``total``: the score (default ``fit + behaviour``; pass the sum as the
    caller computed it, so the threshold sees the same float); ``hot``: the
    index of the first active hot trigger, -1 none; ``fired``: bool, one row
    per :func:`gate_rules` id, whether that rule scores non-zero points.
    """
    fit = np.asarray(fit, float)
    behaviour = np.asarray(behaviour, float)
    total = fit + behaviour if total is None else np.asarray(total, float)
    hot = np.asarray(hot)
    rows = {r: k for k, r in enumerate(gate_rules(definition))}
    fired = np.asarray(fired, bool).reshape(len(rows), len(fit))
    n_mql = len([c for c in _checks(definition) if c[0] == "mql"])
    code_mql = _first_failure(definition, "mql", 0, fit, behaviour, fired, rows)
    code_hot = _first_failure(definition, "hot", n_mql, fit, behaviour, fired, rows)
    reached_score = at_or_over(total, definition.thresholds.mql)
    reached_hot = hot >= 0
    by_hot = reached_hot & (code_hot == 0)
    is_mql = by_hot | (reached_score & (code_mql == 0))
    held = np.where(reached_hot & (code_hot > 0), code_hot, np.where(reached_score, code_mql, 0))
    return Verdict(is_mql, by_hot, np.where(is_mql, 0, held))


def fit_fired(leads: pd.DataFrame, definition: LeadDefinition) -> np.ndarray:
    """Whether each gate-excluded fit or BANT rule scores, per lead: bool (excluded fit rule, lead).

    The rows are the fit and BANT rules among :func:`gate_rules`, in that
    order; only those rules are evaluated (by scoring's own conditions).
    """
    from leadsim.scoring.inputs import fit_matrix

    named = set(gate_rules(definition))
    fit_rules = [r for r in definition.fit_rules if r.id in named]
    bant = {k: r for k, r in definition.bant.items() if f"bant_{k}" in named}
    out = np.zeros((len(fit_rules) + len(bant), len(leads)))
    if len(out):
        fit_matrix(leads, definition.model_copy(update={"fit_rules": fit_rules, "bant": bant}), out)
    return out != 0
