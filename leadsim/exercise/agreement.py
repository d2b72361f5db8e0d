"""Agreement between reviewers: verdict words, Cohen's kappa, the comparison report.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> m = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "good", "Dax": "unsure"})
>>> s = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "not", "Dax": "good"})
>>> rep = compare({"marketing": m, "sales": s}, load_definition())
>>> rep.pairs[["a", "b", "n", "agreement", "kappa"]].round(3).to_dict("records")
[{'a': 'marketing', 'b': 'sales', 'n': 3, 'agreement': 0.667, 'kappa': 0.4}]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import SchemaError, VerdictError
from leadsim.exercise import statistics as st
from leadsim.exercise.coefficients import coefficient_table
from leadsim.exercise.findings import KEY_COLUMNS, find_disagreements, find_suggestions

__all__ = [
    "KEY_COLUMNS",
    "VERDICTS",
    "VERDICT_WORDS",
    "AgreementReport",
    "cohen_kappa",
    "compare",
    "kappa_from_table",
    "normalise_verdict",
]

#: The three verdicts, in table order.
VERDICTS = ("good", "not", "unsure")

#: Words a reviewer may type, normalised case- and whitespace-insensitively;
#: a blank cell is a *missing* verdict.
VERDICT_WORDS: dict[str, tuple[str, ...]] = {
    "good": (
        "good", "good lead", "yes", "y", "1", "true", "x", "ok", "qualified", "lead", "mql",
        "ja", "j", "gut", "guter lead", "qualifiziert",
    ),
    "not": (
        "not", "not a lead", "no", "n", "0", "false", "bad", "no lead", "not good", "disqualified",
        "nein", "kein lead", "schlecht",
    ),
    "unsure": (
        "unsure", "?", "maybe", "perhaps", "not sure", "unclear", "don't know", "dont know",
        "vielleicht", "unsicher", "weiss nicht", "weiß nicht", "unklar",
    ),
}
_WORD_TO_VERDICT = {w: v for v, words in VERDICT_WORDS.items() for w in words}

_MISSING = "missing"


# --------------------------------------------------------------------------- verdict words


def normalise_verdict(value: Any, *, where: str | None = None) -> str | None:
    """Map a typed verdict onto ``"good"``, ``"not"``, ``"unsure"`` or ``None`` (blank).

    Case, surrounding whitespace, repeated inner spaces and a trailing full
    stop do not matter; the accepted words are listed in :data:`VERDICT_WORDS`.
    Numbers 1/0 and booleans count as good/not.  Anything else raises
    :class:`~leadsim.errors.VerdictError` naming ``where`` and the value.

    >>> [normalise_verdict(v) for v in ["Good Lead", "NEIN", 1, None, "  "]]
    ['good', 'not', 'good', None, None]
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return "good" if value else "not"
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return "good" if float(value) == 1.0 else "not"
    text = " ".join(str(value).split()).casefold().rstrip(".").strip()
    if not text:
        return None
    if text in VERDICTS:
        return text
    verdict = _WORD_TO_VERDICT.get(text)
    if verdict is None:
        raise VerdictError(
            f"unknown verdict {value!r}; write 'good lead', 'not a lead' or 'unsure' "
            f"(also accepted: {', '.join(VERDICT_WORDS['good'][2:7])} / {', '.join(VERDICT_WORDS['not'][2:6])} / "
            f"{', '.join(VERDICT_WORDS['unsure'][1:4])}), or leave the cell empty",
            where=where,
        )
    return verdict


def as_verdict_series(name: str, verdicts: Any) -> pd.Series:
    """A reviewer's verdicts as an object Series of good/not/unsure/None indexed by company."""
    if isinstance(verdicts, pd.DataFrame):
        if "verdict" not in verdicts.columns:
            raise SchemaError(f"a DataFrame of verdicts needs a 'verdict' column; found {list(verdicts.columns)}",
                              where=f"reviewer {name!r}")
        verdicts = verdicts["verdict"]
    if not isinstance(verdicts, pd.Series):
        verdicts = pd.Series(verdicts)
    if verdicts.index.has_duplicates:
        dup = verdicts.index[verdicts.index.duplicated()][0]
        raise VerdictError(f"company {dup!r} appears twice; give one verdict per company", where=f"reviewer {name!r}")
    values = [normalise_verdict(v, where=f"reviewer {name!r}, company {c!r}") for c, v in verdicts.items()]
    return pd.Series(values, index=pd.Index(verdicts.index, dtype=object), dtype=object, name=name)


# --------------------------------------------------------------------------- kappa


def kappa_from_table(counts: Any, *, level: float = 0.95) -> dict[str, float]:
    """Agreement, Cohen's kappa and its large-sample interval from a k x k table.

    ``counts[i][j]`` is how often reviewer A said category *i* and reviewer B
    category *j* (weighted counts allowed; ``n`` is their sum).  Kappa and its
    standard error (Fleiss, Cohen & Everitt 1969) come from statsmodels
    (:func:`leadsim.exercise.statistics.kappa`); the interval is
    ``kappa +- z * se`` clipped to [-1, 1].  NaN when both reviewers used one
    and the same category throughout.

    >>> r = kappa_from_table([[20, 5], [10, 15]])
    >>> round(r["kappa"], 3), round(r["se"], 5), round(r["kappa_low"], 4), round(r["kappa_high"], 4)
    (0.4, 0.127, 0.1511, 0.6489)
    """
    r = st.kappa(counts, level=level)
    return {"n": r["n"], "agreement": r["agreement"], "expected": r["expected"], "kappa": r["value"], "se": r["se"],
            "kappa_low": r["low"], "kappa_high": r["high"]}


def cohen_kappa(a: Iterable[Any], b: Iterable[Any], *, weights: Iterable[float] | None = None) -> tuple[float, float]:
    """Plain (or weighted) agreement and Cohen's kappa of two equal-length label lists.

    >>> cohen_kappa(["good", "not", "good", "not"], ["good", "not", "not", "not"])
    (0.75, 0.5)
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"label lists differ in length: {len(a)} and {len(b)}")
    table = _table(a, b, sorted(set(a) | set(b), key=str), weights)
    r = kappa_from_table(table)
    return r["agreement"], r["kappa"]


def _table(a: list, b: list, cats: list, weights: Iterable[float] | None = None) -> np.ndarray:
    index = {c: i for i, c in enumerate(cats)}
    w = None if weights is None else list(weights)
    return st.table_of([index[x] for x in a], [index[y] for y in b], len(cats), w)


# --------------------------------------------------------------------------- the report


@dataclass
class AgreementReport:
    """What :func:`compare` finds; print it, or call :meth:`to_markdown` / :meth:`to_dict`.

    Attributes
    ----------
    pairs : DataFrame
        One row per pair of reviewers: ``a, b, n`` (companies where both gave
        good/not), ``agreement``, ``kappa``, ``kappa_low``, ``kappa_high``
        (the interval at ``level``; method in ``interval``).
    weighted : DataFrame
        ``a, b, n, agreement, kappa`` with every company weighted by its
        sampling weight: estimates for the whole population, not the sample.
    confusion : dict
        ``(a, b) -> DataFrame`` of counts, rows a's verdict, columns b's,
        including "unsure" and "missing".
    counts : DataFrame
        Per pair, how many companies were left out and why.
    disagreements : DataFrame
        Companies where a head's good/not differs from the definition's, with
        the rules that drove the definition's score.
    suggestions : DataFrame
        Attribute values that separate the heads' good from not most, with a
        sentence each for the revision meeting.
    table : DataFrame
        The verdicts side by side (one column per reviewer) with weight and score.
    """

    pairs: pd.DataFrame
    weighted: pd.DataFrame
    confusion: dict[tuple[str, str], pd.DataFrame]
    counts: pd.DataFrame
    disagreements: pd.DataFrame
    suggestions: pd.DataFrame
    table: pd.DataFrame
    reviewers: list[str]
    level: float = 0.95
    interval: str = "fce"
    threshold: float | None = None
    notes: list[str] = field(default_factory=list)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    precision: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (numbers, strings, lists, dicts; NaN becomes None)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict("records")]

        return {
            "reviewers": list(self.reviewers),
            "companies": len(self.table),
            "level": self.level,
            "interval": self.interval,
            "pairs": records(self.pairs),
            "coefficients": records(self.coefficients),
            "weighted": records(self.weighted),
            "counts": records(self.counts),
            "confusion": {
                f"{a} vs {b}": {str(r): {str(c): _plain(v) for c, v in row.items()} for r, row in m.iterrows()}
                for (a, b), m in self.confusion.items()
            },
            "disagreements": records(self.disagreements),
            "suggestions": records(self.suggestions),
            "notes": list(self.notes),
            "precision": self.precision,
        }

    def to_markdown(self, *, max_rows: int = 15) -> str:
        """A readable summary for the revision meeting (GitHub-flavoured Markdown)."""
        pct = round(self.level * 100)
        how = "Fleiss-Cohen-Everitt standard error" if self.interval == "fce" else "bootstrap percentiles"
        lines = [f"# 100-companies exercise: {len(self.table)} companies, reviewers {', '.join(self.reviewers)}", ""]
        lines += ["## Agreement per pair", "",
                  f"Unsure and missing verdicts are left out of a pair; kappa's {pct} % interval uses the {how}, "
                  "Gwet's AC1 its analytic variance.", ""]
        lines += _md_table(self.pairs, floats=3)
        if self.precision:
            lines += ["", self.precision]
        if len(self.coefficients):
            lines += ["", "## All coefficients", "",
                      f"Raw agreement beside kappa, Gwet's AC1/AC2 and Krippendorff's alpha, each with its {pct} % "
                      "interval; the stage is compared on its ordinal scale (not a fit < Target < Lead < Sales Lead "
                      "< Opportunity) with linear weights; 'all' rows cover every head at once.", ""]
            lines += _md_table(self.coefficients, floats=3)
        lines += ["", "## Weighted by sampling weight (population estimates)", ""]
        lines += _md_table(self.weighted, floats=3)
        lines += ["", "## Left out per pair", "", *_md_table(self.counts)]
        for (a, b), m in self.confusion.items():
            lines += ["", f"### Confusion: {a} (rows) vs {b} (columns)", ""]
            lines += _md_table(m.reset_index(names=a))
        lines += ["", f"## Disagreements with the definition ({len(self.disagreements)} companies)", ""]
        if len(self.disagreements):
            lines += _md_table(self.disagreements.head(max_rows), floats=1)
            if len(self.disagreements) > max_rows:
                lines.append(f"... and {len(self.disagreements) - max_rows} more (see the JSON report).")
        else:
            lines.append("None.")
        lines += ["", "## Suggestions for the revision", ""]
        if len(self.suggestions):
            lines += [f"{i}. {t}" for i, t in enumerate(self.suggestions["text"].head(max_rows), 1)]
        else:
            lines.append("No attribute separates the heads' verdicts clearly "
                         "(too few verdicts, or no facts in the key).")
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _md_table(df: pd.DataFrame, *, floats: int = 3) -> list[str]:
    def cell(v: Any) -> str:
        v = _plain(v)
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.{floats}f}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return out


# --------------------------------------------------------------------------- compare


def compare(
    verdicts: Mapping[str, Any],
    definition: LeadDefinition,
    *,
    key: pd.DataFrame | None = None,
    contributions: pd.DataFrame | None = None,
    interval: str = "fce",
    n_boot: int = 1000,
    seed: np.random.Generator | int | None = 0,
    level: float = 0.95,
    min_support: int = 3,
) -> AgreementReport:
    """Compare reviewers' verdicts pair by pair, and each head with the definition.

    Parameters
    ----------
    verdicts
        ``{reviewer: Series}`` of verdicts indexed by company (good/not/unsure,
        any word of :data:`VERDICT_WORDS`, blank = missing).  A DataFrame from
        :func:`read_verdicts` is accepted too (its ``reason`` column is kept).
        The definition's verdict is one more reviewer named ``"definition"``;
        with a ``key`` it is added from ``key["definition_verdict"]``.
    definition
        The :class:`~leadsim.definition.LeadDefinition` the key was made with,
        for rule labels, the threshold and the rules a suggestion touches.
    key
        The key written beside the worksheets (:func:`read_key`), indexed by
        company: ``weight`` for the population estimates, ``lead_id``,
        ``score``, ``drivers`` and the facts for the suggestions.  Without a
        key every company weighs 1.
    contributions
        Optional rule contributions (``leadsim.scoring.contributions``) indexed
        by lead id; they replace the key's ``drivers`` text.
    interval
        Kappa's interval: ``"fce"`` (statsmodels' large-sample standard error)
        or ``"bootstrap"`` (percentile interval over ``n_boot`` resamples of
        the companies).  Alpha always has a bootstrap interval, AC1/AC2 Gwet's
        analytic one; every bootstrap is seeded by ``seed`` (same seed, same
        report).

    The report's ``coefficients`` hold every statistic per pair and scale
    (:func:`~leadsim.exercise.coefficients.coefficient_table`), its notes
    explain the kappa paradox where one answer dominates.

    Companies where either reviewer of a pair is unsure or gave no verdict are
    left out of that pair and counted in ``.counts``.
    """
    definition = require_definition(definition, where="compare")
    if interval not in ("fce", "bootstrap"):
        raise ValueError(f"interval must be 'fce' or 'bootstrap', not {interval!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    series = {str(name): as_verdict_series(str(name), v) for name, v in verdicts.items()}
    reasons = {name: v["reason"] for name, v in verdicts.items()
               if isinstance(v, pd.DataFrame) and "reason" in v.columns}
    notes: list[str] = []
    if key is not None:
        key = check_key(key)
        if "definition" not in series and "definition_verdict" in key.columns:
            series["definition"] = as_verdict_series("definition", key["definition_verdict"])
        order = list(key.index)
        for name, s in series.items():
            extra = [c for c in s.index if c not in key.index]
            if extra:
                notes.append(f"{name}: {len(extra)} compan{'y' if len(extra) == 1 else 'ies'} not in the sample "
                             f"left out: {', '.join(map(str, extra[:5]))}{' ...' if len(extra) > 5 else ''}")
    else:
        order = []
        for s in series.values():
            order += [c for c in s.index if c not in set(order)]
    if len(series) < 2:
        raise VerdictError(f"need at least two reviewers to compare, got {list(series)}; "
                           "give a key (with the definition's verdicts) or a second worksheet")
    reviewers = list(series)
    table = pd.DataFrame({name: s.reindex(order) for name, s in series.items()}, index=pd.Index(order, dtype=object))
    table.index.name = "company"
    weight = (key["weight"].reindex(order).astype(float) if key is not None and "weight" in key.columns
              else pd.Series(1.0, index=table.index))
    table["weight"] = weight.to_numpy()
    if key is not None and "score" in key.columns:
        table["score"] = pd.to_numeric(key["score"], errors="coerce").reindex(order).to_numpy()
    stages = _stage_table(verdicts, series, order)
    coefficients, paradox = coefficient_table(
        table[reviewers], stages, reviewers, level=level, n_boot=n_boot, seed=seed,
        kappa_interval="bootstrap" if interval == "bootstrap" else "analytic")
    notes += paradox
    by_pair = coefficients[coefficients["scale"] == "verdict"].set_index(["a", "b", "statistic"])

    pair_rows, weighted_rows, count_rows, confusion = [], [], [], {}
    cats = ["good", "not"]
    for i, a in enumerate(reviewers):
        for b in reviewers[i + 1:]:
            va, vb = table[a], table[b]
            ok = va.isin(cats) & vb.isin(cats)
            k, ac1 = by_pair.loc[(a, b, "kappa")], by_pair.loc[(a, b, "AC1")]
            pair_rows.append({"a": a, "b": b, "n": int(ok.sum()), "agreement": k["agreement"], "kappa": k["value"],
                              "kappa_low": k["low"], "kappa_high": k["high"], "ac1": ac1["value"],
                              "ac1_low": ac1["low"], "ac1_high": ac1["high"]})
            wt = _table(list(va[ok]), list(vb[ok]), cats, weight[ok.to_numpy()].to_numpy())
            rw = kappa_from_table(wt)
            weighted_rows.append({"a": a, "b": b, "n": int(ok.sum()), "agreement": rw["agreement"],
                                  "kappa": rw["kappa"]})
            count_rows.append({
                "a": a, "b": b, "compared": int(ok.sum()),
                "a_unsure": int((va == "unsure").sum()), "b_unsure": int((vb == "unsure").sum()),
                "a_missing": int(va.isna().sum()), "b_missing": int(vb.isna().sum()),
                "left_out": int((~ok).sum()),
            })
            full = [*VERDICTS, _MISSING]
            m = pd.crosstab(va.fillna(_MISSING), vb.fillna(_MISSING)).reindex(index=full, columns=full, fill_value=0)
            m.index.name, m.columns.name = a, b
            confusion[(a, b)] = m.astype(int)
    threshold = float(definition.thresholds.mql) if definition is not None else None
    heads = [r for r in reviewers if r != "definition"]
    precision = _precision(table, heads, pair_rows, level)
    disagreements = (find_disagreements(table, heads, key, contributions, definition, reasons)
                     if "definition" in reviewers else pd.DataFrame())
    suggestions = find_suggestions(table, heads, key, definition, min_support)
    return AgreementReport(
        pairs=pd.DataFrame(pair_rows, columns=["a", "b", "n", "agreement", "kappa", "kappa_low", "kappa_high", "ac1",
                                               "ac1_low", "ac1_high"]),
        coefficients=coefficients,
        weighted=pd.DataFrame(weighted_rows, columns=["a", "b", "n", "agreement", "kappa"]),
        confusion=confusion,
        counts=pd.DataFrame(count_rows),
        disagreements=disagreements,
        suggestions=suggestions,
        table=table,
        reviewers=reviewers,
        level=level,
        interval=interval,
        threshold=threshold,
        notes=notes,
        precision=precision,
    )


def _precision(table: pd.DataFrame, heads: list[str], pairs: list[dict], level: float) -> str:
    """What the sample size gives: the expected half-width of the first two heads' kappa interval."""
    from leadsim.errors import DataError
    from leadsim.exercise.planning import kappa_half_width

    if len(heads) < 2:
        return ""
    a, b = heads[0], heads[1]
    row = next(p for p in pairs if p["a"] == a and p["b"] == b)
    answers = pd.concat([table[a], table[b]])
    answers = answers[answers.isin(["good", "not"])]
    if row["n"] < 1 or not math.isfinite(row["kappa"]) or answers.empty:
        return ""
    prevalence = float((answers == "good").mean())
    try:
        hw = kappa_half_width(row["n"], kappa=row["kappa"], prevalence=prevalence, level=level)
    except DataError:
        return ""
    return (f"Sample size: the {row['n']} companies {a} and {b} both judged give kappa's {level:.0%} interval a "
            f"half-width of about ±{hw:.2f} (kappa {row['kappa']:.2f}, {prevalence:.0%} good); "
            "`leadsim exercise plan` says how many companies a narrower interval needs.").replace("%", " %")


def _stage_table(verdicts: Mapping[str, Any], series: Mapping[str, pd.Series], order: list) -> pd.DataFrame | None:
    """The heads' stage answers (ids) side by side, when their worksheets carry a stage column."""
    stages = {str(name): v["stage"] for name, v in verdicts.items()
              if isinstance(v, pd.DataFrame) and "stage" in v.columns and v["stage"].notna().any()}
    if not stages:
        return None
    frame = pd.DataFrame({name: s.reindex(order) for name, s in stages.items()}, index=pd.Index(order, dtype=object))
    return frame[[r for r in series if r in frame.columns]]


def check_key(key: pd.DataFrame) -> pd.DataFrame:
    if "company" in key.columns:
        key = key.set_index("company")
    if key.index.has_duplicates:
        dup = key.index[key.index.duplicated()][0]
        raise VerdictError(f"company {dup!r} appears twice in the key; the key holds one row per company",
                           where="key")
    if "weight" in key.columns:
        w = pd.to_numeric(key["weight"], errors="coerce")
        if w.isna().any() or (w <= 0).any():
            bad = key.index[(w.isna() | (w <= 0)).to_numpy()][0]
            raise VerdictError(f"weight of {bad!r} is {key['weight'].get(bad)!r}; weights must be positive numbers",
                               where="key")
    return key
