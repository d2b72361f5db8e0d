"""The "100 companies" exercise: worksheets, verdicts and agreement statistics.

The head of marketing and the head of sales each take the same ~100 companies,
qualify them by hand ("good lead", "not a lead", "unsure"), then compare their
verdicts with each other and with what the written definition says.

The steps, each one function:

1. :func:`sample_companies` picks one lead per company, stratified by score
   band (and source) so the borderline cases are in the list; each row keeps
   its sampling weight.
2. :func:`write_exercise` (or :func:`write_worksheet` + :func:`write_key`)
   writes one workbook per reviewer -- the facts the definition uses, an empty
   verdict column with a drop-down and a reason column, *not* the score -- and a
   key file with lead ids, weights and the definition's own verdict.
3. :func:`read_verdicts` reads a filled workbook or CSV and normalises the
   verdict words (:data:`VERDICT_WORDS`).
4. :func:`compare` gives an :class:`AgreementReport`: Cohen's kappa with a 95 %
   interval per pair, population-weighted agreement, confusion matrices, the
   disagreements with the definition and the rules behind them, and the
   attribute values that separate the heads' "good" from "not" most.
5. :func:`as_labels` turns the verdicts into ``X, y`` for a calibrator.

>>> import pandas as pd
>>> m = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "good", "Dax": "unsure"})
>>> s = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "not", "Dax": "good"})
>>> rep = compare({"marketing": m, "sales": s})
>>> rep.pairs[["a", "b", "n", "agreement", "kappa"]].round(3).to_dict("records")
[{'a': 'marketing', 'b': 'sales', 'n': 3, 'agreement': 0.667, 'kappa': 0.4}]
>>> normalise_verdict(" Ja "), normalise_verdict("not a lead"), normalise_verdict("?")
('good', 'not', 'unsure')
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.errors import DataError, InputFileError, SchemaError, VerdictError

__all__ = [
    "VERDICTS",
    "VERDICT_WORDS",
    "AgreementReport",
    "as_labels",
    "make_exercise",
    "cohen_kappa",
    "compare",
    "kappa_from_table",
    "normalise_verdict",
    "read_key",
    "read_verdicts",
    "sample_companies",
    "simulate_verdicts",
    "worksheet_columns",
    "write_exercise",
    "write_key",
    "write_worksheet",
]

#: The three verdicts, in table order.
VERDICTS = ("good", "not", "unsure")

#: Words a reviewer may type, normalised case- and whitespace-insensitively.
#: The drop-down offers the first word of each list's display form
#: ("good lead", "not a lead", "unsure"); a blank cell is a *missing* verdict.
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
#: What the drop-down offers, and the verdict each choice means.
DROPDOWN = {"good lead": "good", "not a lead": "not", "unsure": "unsure"}

#: Columns of a sample that go into the key file only, never onto a worksheet.
KEY_COLUMNS = (
    "lead_id", "score", "fit_score", "behaviour_score", "definition_verdict", "band", "stratum", "weight", "drivers",
)
#: Column names accepted for the company and the verdict (case-insensitive).
COMPANY_HEADERS = ("company", "firma", "unternehmen", "company name")
VERDICT_HEADERS = ("verdict", "urteil", "bewertung", "your verdict")
REASON_HEADERS = ("reason", "grund", "comment", "kommentar")
#: Behaviour summary columns :func:`sample_companies` adds when given activities.
BEHAVIOUR_FACTS = (
    "visits_90d", "pricing_visits_90d", "email_clicks_90d", "downloads_90d", "webinars_90d", "demos_90d",
    "forms_90d", "unsubscribed", "last_activity",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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


def _as_verdict_series(name: str, verdicts: Any) -> pd.Series:
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
    category *j* (weights are allowed: the table may hold weighted counts, in
    which case ``n`` is their sum).  With proportions ``p_ij = counts / n``,
    row margins ``p_i.``, column margins ``p_.j``::

        p_o   = sum_i p_ii                         (observed agreement)
        p_e   = sum_i p_i. * p_.i                  (agreement by chance)
        kappa = (p_o - p_e) / (1 - p_e)

    The standard error is Fleiss, Cohen & Everitt (1969), "Large sample
    standard errors of kappa and weighted kappa", Psychological Bulletin 72(5),
    323-327, for kappa not assumed zero::

        var(kappa) = [ sum_i p_ii * (1 - (p_i. + p_.i) * (1 - kappa))**2
                       + (1 - kappa)**2 * sum_{i != j} p_ij * (p_.i + p_j.)**2
                       - (kappa - p_e * (1 - kappa))**2 ] / (n * (1 - p_e)**2)

    and the interval is ``kappa +- z * se`` (z the normal quantile of
    ``level``), clipped to [-1, 1].  If ``p_e == 1`` (both reviewers used one
    and the same category throughout) kappa is undefined: NaN.

    >>> r = kappa_from_table([[20, 5], [10, 15]])
    >>> round(r["kappa"], 3), round(r["se"], 5), round(r["kappa_low"], 4), round(r["kappa_high"], 4)
    (0.4, 0.127, 0.1511, 0.6489)
    """
    t = np.asarray(counts, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"need a square table, got shape {t.shape}")
    n = float(t.sum())
    out = {"n": n, "agreement": math.nan, "expected": math.nan, "kappa": math.nan, "se": math.nan,
           "kappa_low": math.nan, "kappa_high": math.nan}
    if n <= 0:
        return out
    p = t / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = float(np.trace(p))
    p_e = float(rows @ cols)
    out.update(agreement=p_o, expected=p_e)
    if p_e >= 1 - 1e-12:
        return out
    kappa = (p_o - p_e) / (1 - p_e)
    diag = np.diag(p)
    a = float(np.sum(diag * (1 - (rows + cols) * (1 - kappa)) ** 2))
    off = p.copy()
    np.fill_diagonal(off, 0.0)
    # p_ij * (p_.i + p_j.)**2: column margin of i plus row margin of j
    b = (1 - kappa) ** 2 * float(np.sum(off * (cols[:, None] + rows[None, :]) ** 2))
    c = (kappa - p_e * (1 - kappa)) ** 2
    var = max(a + b - c, 0.0) / (n * (1 - p_e) ** 2)
    se = math.sqrt(var)
    z = _normal_quantile(0.5 + level / 2)
    out.update(kappa=kappa, se=se, kappa_low=max(-1.0, kappa - z * se), kappa_high=min(1.0, kappa + z * se))
    return out


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


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
    w = np.ones(len(a)) if weights is None else np.asarray(list(weights), dtype=float)
    t = np.zeros((len(cats), len(cats)))
    np.add.at(t, ([index[x] for x in a], [index[y] for y in b]), w)
    return t


def _bootstrap_kappa(a: np.ndarray, b: np.ndarray, k: int, n_boot: int, rng: np.random.Generator,
                     level: float) -> tuple[float, float]:
    """Percentile interval of kappa over ``n_boot`` resamples of the companies."""
    n = len(a)
    if n == 0:
        return math.nan, math.nan
    idx = rng.integers(0, n, size=(n_boot, n))
    cells = a[idx] * k + b[idx] + (np.arange(n_boot) * k * k)[:, None]
    tables = np.bincount(cells.ravel(), minlength=n_boot * k * k).reshape(n_boot, k, k) / n
    rows, cols = tables.sum(axis=2), tables.sum(axis=1)
    p_o = np.trace(tables, axis1=1, axis2=2)
    p_e = np.sum(rows * cols, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kap = np.where(p_e < 1 - 1e-12, (p_o - p_e) / (1 - p_e), np.nan)
    kap = kap[np.isfinite(kap)]
    if kap.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(kap, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (numbers, strings, lists, dicts; NaN becomes None)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict("records")]

        return {
            "reviewers": list(self.reviewers),
            "companies": int(len(self.table)),
            "level": self.level,
            "interval": self.interval,
            "pairs": records(self.pairs),
            "weighted": records(self.weighted),
            "counts": records(self.counts),
            "confusion": {
                f"{a} vs {b}": {str(r): {str(c): _plain(v) for c, v in row.items()} for r, row in m.iterrows()}
                for (a, b), m in self.confusion.items()
            },
            "disagreements": records(self.disagreements),
            "suggestions": records(self.suggestions),
            "notes": list(self.notes),
        }

    def to_markdown(self, *, max_rows: int = 15) -> str:
        """A readable summary for the revision meeting (GitHub-flavoured Markdown)."""
        pct = int(round(self.level * 100))
        how = "Fleiss-Cohen-Everitt standard error" if self.interval == "fce" else "bootstrap percentiles"
        lines = [f"# 100-companies exercise: {len(self.table)} companies, reviewers {', '.join(self.reviewers)}", ""]
        lines += ["## Agreement per pair", "",
                  f"Unsure and missing verdicts are left out of a pair; kappa's {pct} % interval uses the {how}.", ""]
        lines += _md_table(self.pairs, floats=3)
        lines += ["", "## Weighted by sampling weight (population estimates)", ""]
        lines += _md_table(self.weighted, floats=3)
        lines += ["", "## Left out per pair", ""] + _md_table(self.counts)
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
            lines.append("No attribute separates the heads' verdicts clearly (too few verdicts, or no facts in the key).")
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
    *,
    key: pd.DataFrame | None = None,
    contributions: pd.DataFrame | None = None,
    definition: Any = None,
    interval: str = "fce",
    n_boot: int = 2000,
    rng: np.random.Generator | int | None = None,
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
    key
        The key written beside the worksheets (:func:`read_key`), indexed by
        company: ``weight`` for the population estimates, ``lead_id``,
        ``score``, ``drivers`` and the facts for the suggestions.  Without a
        key every company weighs 1.
    contributions
        Optional rule contributions (``leadsim.scoring.contributions``) indexed
        by lead id; they replace the key's ``drivers`` text.
    definition
        Optional :class:`~leadsim.definition.LeadDefinition`, for rule labels,
        the threshold and the rules a suggestion touches.
    interval
        ``"fce"`` (large-sample standard error) or ``"bootstrap"`` (percentile
        interval over ``n_boot`` resamples of the companies, seeded by ``rng``).

    Companies where either reviewer of a pair is unsure or gave no verdict are
    left out of that pair and counted in ``.counts``.
    """
    if interval not in ("fce", "bootstrap"):
        raise ValueError(f"interval must be 'fce' or 'bootstrap', not {interval!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    series = {str(name): _as_verdict_series(str(name), v) for name, v in verdicts.items()}
    reasons = {name: v["reason"] for name, v in verdicts.items()
               if isinstance(v, pd.DataFrame) and "reason" in v.columns}
    notes: list[str] = []
    if key is not None:
        key = _check_key(key)
        if "definition" not in series and "definition_verdict" in key.columns:
            series["definition"] = _as_verdict_series("definition", key["definition_verdict"])
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
    generator = np.random.default_rng(rng)

    pair_rows, weighted_rows, count_rows, confusion = [], [], [], {}
    cats = ["good", "not"]
    for i, a in enumerate(reviewers):
        for b in reviewers[i + 1:]:
            va, vb = table[a], table[b]
            ok = va.isin(cats) & vb.isin(cats)
            t = _table(list(va[ok]), list(vb[ok]), cats)
            r = kappa_from_table(t, level=level)
            if interval == "bootstrap":
                codes_a = np.array([cats.index(x) for x in va[ok]], dtype=np.int64)
                codes_b = np.array([cats.index(x) for x in vb[ok]], dtype=np.int64)
                lo, hi = _bootstrap_kappa(codes_a, codes_b, len(cats), n_boot, generator, level)
                r.update(kappa_low=lo, kappa_high=hi)
            pair_rows.append({"a": a, "b": b, "n": int(ok.sum()), "agreement": r["agreement"], "kappa": r["kappa"],
                              "kappa_low": r["kappa_low"], "kappa_high": r["kappa_high"]})
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
    disagreements = (_disagreements(table, heads, key, contributions, definition, reasons)
                     if "definition" in reviewers else pd.DataFrame())
    suggestions = _suggestions(table, heads, key, definition, min_support)
    return AgreementReport(
        pairs=pd.DataFrame(pair_rows, columns=["a", "b", "n", "agreement", "kappa", "kappa_low", "kappa_high"]),
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
    )


def _check_key(key: pd.DataFrame) -> pd.DataFrame:
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


def _drivers_text(row: pd.Series, definition: Any, n: int = 3) -> str:
    """The ``n`` rules with the largest absolute contribution, as "label +25; label -10"."""
    nz = row[row.abs() > 1e-9]
    top = nz.reindex(nz.abs().sort_values(ascending=False).index[:n])

    def label(rule: str) -> str:
        if definition is None:
            return rule
        try:
            return definition.rule_label(rule)
        except Exception:  # an id the definition does not know: show it raw
            return rule

    return "; ".join(f"{label(str(r))} {v:+.0f}" for r, v in top.items())


def _disagreements(table: pd.DataFrame, heads: list[str], key: pd.DataFrame | None,
                   contributions: pd.DataFrame | None, definition: Any,
                   reasons: dict[str, pd.Series]) -> pd.DataFrame:
    d = table["definition"]
    rows = []
    for company in table.index:
        dv = d[company]
        if dv not in ("good", "not"):
            continue
        dissent = [h for h in heads if table.at[company, h] in ("good", "not") and table.at[company, h] != dv]
        if not dissent:
            continue
        row: dict[str, Any] = {"company": company}
        if key is not None and "lead_id" in key.columns:
            row["lead_id"] = key.at[company, "lead_id"]
        if "score" in table.columns:
            row["score"] = table.at[company, "score"]
        row["definition"] = dv
        for h in heads:
            row[h] = table.at[company, h]
        row["disagree"] = ", ".join(dissent)
        drivers = ""
        if contributions is not None and key is not None and "lead_id" in key.columns:
            lead = key.at[company, "lead_id"]
            if lead in contributions.index:
                drivers = _drivers_text(contributions.loc[lead].astype(float), definition)
        elif key is not None and "drivers" in key.columns:
            v = key.at[company, "drivers"]
            drivers = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        row["drivers"] = drivers
        for h in heads:
            if h in reasons:
                v = reasons[h].get(company)
                row[f"reason_{h}"] = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        row["_n"] = len(dissent)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["company", "definition", *heads, "disagree", "drivers"])
    out = pd.DataFrame(rows)
    sort = ["_n", "score"] if "score" in out.columns else ["_n"]
    return out.sort_values(sort, ascending=False, kind="stable").drop(columns="_n").reset_index(drop=True)


# --------------------------------------------------------------------------- suggestions


def _features(facts: pd.DataFrame, definition: Any) -> dict[tuple[str, str], pd.Series]:
    """Boolean indicator per (attribute, value/bin) from the key's fact columns."""
    out: dict[tuple[str, str], pd.Series] = {}
    for col in facts.columns:
        s = facts[col]
        if s.isna().all():
            continue
        if pd.api.types.is_bool_dtype(s):
            out[(col, "yes")] = s.fillna(False).astype(bool)
            continue
        if pd.api.types.is_numeric_dtype(s):
            edges = sorted({float(e) for e in _rule_edges(definition, col)})
            x = s.astype(float)
            if not edges:
                qs = x.dropna().quantile([1 / 3, 2 / 3]).to_numpy()
                edges = sorted(set(float(q) for q in qs))
            if not edges:
                continue
            bounds = [-math.inf, *edges, math.inf]
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                m = (x >= lo) & (x < hi)
                if m.any():
                    label = (f"under {hi:g}" if lo == -math.inf else f"{lo:g} or more" if hi == math.inf
                             else f"{lo:g} to under {hi:g}")
                    out[(col, label)] = m.fillna(False)
            continue
        text = s.astype("string")
        if text.str.contains(";", regex=False).any():
            items = text.fillna("").str.split(";")
            values = sorted({v.strip() for lst in items for v in lst if v.strip()})
            if len(values) <= 30:
                for v in values:
                    out[(col, v)] = items.map(lambda lst, v=v: v in [x.strip() for x in lst]).astype(bool)
            continue
        values = text.dropna().unique()
        if 1 < len(values) <= 12:
            for v in sorted(values):
                out[(col, str(v))] = (text == v).fillna(False).astype(bool)
    return out


def _rule_edges(definition: Any, attribute: str) -> list[float]:
    if definition is None:
        return []
    edges = []
    for r in [*definition.fit_rules, *definition.bant_rules()]:
        if r.attribute == attribute and r.op in ("range", "between"):
            edges += [v for v in (r.min, r.max) if v is not None]
    return edges


#: The activities behind each behaviour summary column (for naming the rules a suggestion touches).
_FACT_ACTIVITIES = {
    "visits_90d": ("web_visit",), "pricing_visits_90d": ("web_visit",), "email_clicks_90d": ("email_click",),
    "downloads_90d": ("content_download",), "webinars_90d": ("webinar",),
    "demos_90d": ("live_demo", "in_depth_demo"), "forms_90d": ("form_fill",), "unsubscribed": ("unsubscribe",),
}


def _rules_on(definition: Any, attribute: str) -> str:
    """The rules (and hot triggers) of the definition that read an attribute or summary column."""
    if definition is None:
        return ""
    rules = [f"{r.id} ({r.points:+g})" for r in [*definition.fit_rules, *definition.bant_rules()]
             if r.attribute == attribute]
    acts = set(_FACT_ACTIVITIES.get(attribute, ()))
    if acts:
        rules += [f"{r.id} ({r.points:+g})" for r in definition.behaviour_rules if acts & set(r.activities)]
        rules += [f"{t.id} (hot)" for t in definition.hot_triggers if acts & set(t.activities)]
    return "; ".join(rules)


def _log_odds(flag: np.ndarray, good: np.ndarray, w: np.ndarray) -> float:
    """Log odds ratio of "good" with vs without the value (0.5 added to each cell)."""
    g1 = np.sum(w * (flag & good))
    g0 = np.sum(w * (~flag & good))
    n1 = np.sum(w * (flag & ~good))
    n0 = np.sum(w * (~flag & ~good))
    return float(np.log((g1 + 0.5) * (n0 + 0.5) / ((g0 + 0.5) * (n1 + 0.5))))


def _suggestions(table: pd.DataFrame, heads: list[str], key: pd.DataFrame | None, definition: Any,
                 min_support: int, top: int = 15) -> pd.DataFrame:
    cols = ["attribute", "value", "companies", "share_good", "share_not", "log_odds", "log_odds_definition",
            "gap", "rules", "text"]
    if key is None or not heads:
        return pd.DataFrame(columns=cols)
    facts = key.drop(columns=[c for c in (*KEY_COLUMNS, "source_rank") if c in key.columns]).reindex(table.index)
    facts = facts.drop(columns=[c for c in facts.columns if c in ("company",)])
    feats = _features(facts, definition)
    # pooled head observations: one per (head, company) with a good/not verdict
    obs_company, obs_good, obs_head = [], [], []
    for h in heads:
        v = table[h]
        ok = v.isin(["good", "not"]).to_numpy()
        obs_company += list(np.flatnonzero(ok))
        obs_good += list((v[ok] == "good").to_numpy())
        obs_head += [h] * int(ok.sum())
    if not obs_company:
        return pd.DataFrame(columns=cols)
    obs_company_a = np.array(obs_company)
    obs_good_a = np.array(obs_good, dtype=bool)
    ones = np.ones(len(obs_company_a))
    dv = table["definition"] if "definition" in table.columns else None
    d_ok = dv.isin(["good", "not"]).to_numpy() if dv is not None else None
    rows = []
    for (attr, value), flag in feats.items():
        f = flag.to_numpy(dtype=bool)
        fo = f[obs_company_a]
        support = int(f.sum())
        if support < min_support or support > len(f) - min_support:
            continue
        n_good, n_not = obs_good_a.sum(), (~obs_good_a).sum()
        share_good = float(fo[obs_good_a].mean()) if n_good else math.nan
        share_not = float(fo[~obs_good_a].mean()) if n_not else math.nan
        lo = _log_odds(fo, obs_good_a, ones)
        lo_def = (_log_odds(f[d_ok], (dv[d_ok] == "good").to_numpy(), np.ones(int(d_ok.sum())))
                  if d_ok is not None and d_ok.any() else math.nan)
        row = {"attribute": attr, "value": value, "companies": support, "share_good": share_good,
               "share_not": share_not, "log_odds": lo, "log_odds_definition": lo_def,
               "gap": lo - lo_def if not math.isnan(lo_def) else math.nan, "rules": _rules_on(definition, attr)}
        for h in heads:
            mask = np.array(obs_head) == h
            row[f"log_odds_{h}"] = _log_odds(fo[mask], obs_good_a[mask], ones[mask]) if mask.any() else math.nan
        row["text"] = _suggestion_text(row, heads)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    out = out.reindex(out["log_odds"].abs().sort_values(ascending=False, kind="stable").index).head(top)
    head_cols = [f"log_odds_{h}" for h in heads]
    return out[[*cols[:-1], *head_cols, "text"]].reset_index(drop=True)


def _suggestion_text(row: dict[str, Any], heads: list[str]) -> str:
    attr, value = row["attribute"], row["value"]
    who = " and ".join(heads) if len(heads) <= 2 else "the heads"
    direction = "good" if row["log_odds"] > 0 else "not a lead"
    text = (f"{attr} = {value}: {row['share_good']:.0%} of the companies {who} called good, "
            f"{row['share_not']:.0%} of those called not (log-odds {row['log_odds']:+.1f}; "
            f"it points to '{direction}').")
    per_head = [(h, row.get(f"log_odds_{h}", math.nan)) for h in heads]
    if len(per_head) >= 2 and all(not math.isnan(v) for _, v in per_head):
        (h1, v1), (h2, v2) = max(per_head, key=lambda t: t[1]), min(per_head, key=lambda t: t[1])
        if v1 - v2 > 1.0:
            text += f" {h1} favours it more than {h2} ({v1:+.1f} vs {v2:+.1f})."
    gap = row["gap"]
    if not math.isnan(gap):
        if abs(gap) < 0.7:
            text += " The definition already agrees."
        elif gap > 0:
            text += (f" The heads favour it more than the definition's verdicts do (log-odds "
                     f"{row['log_odds_definition']:+.1f}): consider raising its points.")
        else:
            text += (f" The heads favour it less than the definition's verdicts do (log-odds "
                     f"{row['log_odds_definition']:+.1f}): consider lowering its points.")
    if row["rules"]:
        text += f" Rules on {attr}: {row['rules']}."
    elif not math.isnan(gap) and abs(gap) >= 0.7:
        text += f" No rule of the definition uses {attr} yet."
    return text


# --------------------------------------------------------------------------- worksheets: writing


def _escape(text: str) -> str:
    """Neutralise a CSV cell that a spreadsheet would run as a formula (prefix ``'``).

    A leading apostrophe is doubled too, so :func:`_unescape` restores every
    string exactly.
    """
    return "'" + text if text.startswith((*_FORMULA_START, "'")) else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith((*_FORMULA_START, "'")) else text


def _cell_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def worksheet_columns(sample: pd.DataFrame) -> list[str]:
    """The sample's columns a reviewer sees: company first, then the facts (no score, no weight)."""
    if "company" not in sample.columns:
        raise SchemaError(f"the sample needs a 'company' column; found {list(sample.columns)}", where="sample")
    facts = [c for c in sample.columns if c not in KEY_COLUMNS and c != "company"]
    return ["company", *facts]


def _atomic_target(path: Path, overwrite: bool) -> Path:
    path = Path(path)
    if path.is_dir():
        raise InputFileError("is a directory; give a file name", where=str(path))
    if path.exists() and not overwrite:
        raise InputFileError("exists already; leadsim does not write over files (choose another name)",
                             where=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _replace_atomically(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_text(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["" if _cell_value(v) is None else _escape(v) if isinstance(v, str) else
                    v.isoformat() if hasattr(v, "isoformat") else v for v in r])
    return buf.getvalue()


def write_worksheet(sample: pd.DataFrame, path: str | os.PathLike[str], *, reviewer: str | None = None,
                    overwrite: bool = False) -> Path:
    """Write one reviewer's worksheet: ``.xlsx`` (with a drop-down) or ``.csv``.

    Columns: ``#``, ``company``, the facts (every sample column not in
    :data:`KEY_COLUMNS`: the score, weight and definition verdict stay in the
    key so reviewers are not anchored), an empty ``verdict`` and ``reason``.
    In the workbook the verdict column offers a drop-down (good lead / not a
    lead / unsure; other words of :data:`VERDICT_WORDS` are accepted with a
    warning) and text cells starting with ``= + - @`` are stored as text with
    Excel's quote prefix, so a company name cannot run as a formula.  In the
    CSV such cells get a leading apostrophe, which :func:`read_verdicts`
    removes.  The sheet is named after ``reviewer`` (default: the file name).

    >>> import pandas as pd, tempfile, pathlib
    >>> s = pd.DataFrame({"company": ["=cmd|x", "Acme"], "lead_id": ["L1", "L2"], "seniority": ["vp", "manager"]})
    >>> p = write_worksheet(s, pathlib.Path(tempfile.mkdtemp()) / "sales.xlsx")
    >>> list(read_verdicts(p).index)
    ['=cmd|x', 'Acme']
    """
    path = _atomic_target(Path(path), overwrite)
    cols = worksheet_columns(sample)
    if sample["company"].isna().any():
        raise DataError("the sample has a row without a company name; drop it first", where="sample")
    if sample["company"].duplicated().any():
        dup = sample["company"][sample["company"].duplicated()].iloc[0]
        raise DataError(f"company {dup!r} appears twice in the sample; the worksheet lists each company once",
                         where="sample")
    header = ["#", *cols, "verdict", "reason"]
    body = [[i, *(_cell_value(v) for v in row), None, None]
            for i, row in enumerate(sample[cols].itertuples(index=False), 1)]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _replace_atomically(path, lambda tmp: Path(tmp).write_text(_csv_text([header, *body]), encoding="utf-8"))
        return path
    if suffix != ".xlsx":
        raise InputFileError(f"unknown worksheet type {path.suffix!r}; use .xlsx or .csv", where=str(path))
    name = reviewer or path.stem
    _replace_atomically(path, lambda tmp: _write_xlsx(tmp, name, header, body))
    return path


def _write_xlsx(target: str, sheet: str, header: list[str], body: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]\*\?/\\:]", "_", sheet)[:31] or "verdicts"
    for j, h in enumerate(header, 1):
        c = ws.cell(row=1, column=j, value=h)
        c.font = Font(bold=True)
    for i, row in enumerate(body, 2):
        for j, v in enumerate(row, 1):
            c = ws.cell(row=i, column=j)
            c.value = v
            if isinstance(v, str):
                c.data_type = "s"  # never a formula, whatever the text starts with
                if v.startswith((*_FORMULA_START, "'")):
                    c.quotePrefix = True
    vcol = get_column_letter(len(header) - 1)
    last = max(len(body) + 1, 2)
    dv = DataValidation(type="list", formula1='"' + ",".join(DROPDOWN) + '"', allow_blank=True,
                        showErrorMessage=True, errorStyle="warning", errorTitle="Verdict",
                        error="Choose good lead, not a lead or unsure (or leave it empty).",
                        promptTitle="Verdict", prompt="good lead / not a lead / unsure")
    dv.add(f"{vcol}2:{vcol}{last}")
    ws.add_data_validation(dv)
    fill = PatternFill("solid", fgColor="FFF2CC")
    for i in range(2, last + 1):
        ws[f"{vcol}{i}"].fill = fill
        ws[f"{get_column_letter(len(header))}{i}"].fill = fill
    ws.freeze_panes = "C2"
    for j, h in enumerate(header, 1):
        width = max([len(str(h))] + [len(str(r[j - 1])) for r in body[:200] if r[j - 1] is not None])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 6), 40)
    ws.column_dimensions[get_column_letter(len(header))].width = 40
    how = wb.create_sheet("how to")
    lines = [
        "The 100-companies exercise",
        "For each company, choose a verdict: good lead, not a lead, or unsure.",
        "Judge from the facts shown, as you would if the company called today. Do not look up scores.",
        "Write in 'reason' what decided it (a few words are enough).",
        "Also accepted: " + ", ".join(VERDICT_WORDS["good"][2:8]) + " / " + ", ".join(VERDICT_WORDS["not"][2:7])
        + " / " + ", ".join(VERDICT_WORDS["unsure"][1:5]) + ". Leave a cell empty if you did not look at it.",
        "Do not rename the 'company' or 'verdict' columns, and do not add or remove rows.",
    ]
    for i, text in enumerate(lines, 1):
        how.cell(row=i, column=1, value=text).data_type = "s"
    how["A1"].font = Font(bold=True)
    how.column_dimensions["A"].width = 110
    wb.save(target)


def write_key(sample: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the key (every sample column: lead ids, weights, the definition's verdict and score) as CSV."""
    path = _atomic_target(Path(path), overwrite)
    if "company" not in sample.columns:
        raise SchemaError(f"the sample needs a 'company' column; found {list(sample.columns)}", where="sample")
    cols = ["company", *[c for c in sample.columns if c != "company"]]
    rows = [cols, *[[_cell_value(v) for v in r] for r in sample[cols].itertuples(index=False)]]
    _replace_atomically(path, lambda tmp: Path(tmp).write_text(_csv_text(rows), encoding="utf-8"))
    return path


def write_exercise(sample: pd.DataFrame, out_dir: str | os.PathLike[str], *,
                   reviewers: Iterable[str] = ("marketing", "sales"), csv_copies: bool = True,
                   force: bool = False) -> dict[str, Path]:
    """Write ``<reviewer>.xlsx`` (and ``.csv``) per reviewer and ``key.csv`` into ``out_dir``.

    A non-empty ``out_dir`` is refused unless ``force`` (then files are replaced).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError("is a file; give a folder for the worksheets", where=str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputFileError("folder exists and is not empty; choose another one or pass force=True (--force)",
                             where=str(out))
    paths: dict[str, Path] = {}
    for r in reviewers:
        paths[r] = write_worksheet(sample, out / f"{r}.xlsx", reviewer=r, overwrite=force)
        if csv_copies:
            paths[f"{r}_csv"] = write_worksheet(sample, out / f"{r}.csv", reviewer=r, overwrite=force)
    paths["key"] = write_key(sample, out / "key.csv", overwrite=force)
    return paths


# --------------------------------------------------------------------------- worksheets: reading


def _find_header(rows: list[list[Any]], names: tuple[str, ...]) -> int | None:
    for i, r in enumerate(rows[:10]):
        if any(_header(v) in names for v in r):
            return i
    return None


def _header(v: Any) -> str:
    return " ".join(str(v).split()).casefold() if v is not None else ""


def _read_rows(path: Path) -> tuple[str, list[list[Any]], list[int], list[str]]:
    """(sheet name, rows, spreadsheet row numbers, all sheet names)."""
    if not path.exists():
        raise InputFileError("no such file; check the path", where=str(path))
    if path.is_dir():
        raise InputFileError("is a folder; give the filled worksheet (.xlsx or .csv)", where=str(path))
    if path.stat().st_size == 0:
        raise VerdictError("the file is empty; give the filled worksheet", where=str(path))
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            text = path.read_text(encoding="cp1252")
        if not text.strip():
            raise VerdictError("the file is empty; give the filled worksheet", where=str(path))
        first = text.splitlines()[0]
        delim = max([",", ";", "\t"], key=first.count)
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        rows, numbers = [], []
        for r in reader:
            rows.append([_unescape(v) for v in r])
            numbers.append(reader.line_num)
        return path.stem, rows, numbers, [path.stem]
    if suffix not in (".xlsx", ".xlsm"):
        raise InputFileError(f"unknown worksheet type {path.suffix!r}; give .xlsx or .csv", where=str(path))
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True)
    except Exception as err:  # zip/xml errors: not a workbook
        raise InputFileError(f"cannot be read as an Excel workbook ({type(err).__name__}: {err})",
                             where=str(path)) from None
    chosen = None
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if _find_header(rows, COMPANY_HEADERS) is not None:
            chosen = ws, rows
            break
    if chosen is None:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if not any(v not in (None, "") for r in rows for v in r):
            raise VerdictError("the workbook is empty; give the filled worksheet", where=f"{path}, sheet {ws.title!r}")
        found = [str(v) for v in (rows[0] if rows else []) if v not in (None, "")]
        raise VerdictError(f"no sheet has a 'company' column (sheets {wb.sheetnames}; first row of "
                           f"{ws.title!r}: {found}); restore the column header 'company'", where=str(path))
    ws, rows = chosen
    return ws.title, rows, list(range(1, len(rows) + 1)), list(wb.sheetnames)


def read_verdicts(path: str | os.PathLike[str], *, key: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read a filled worksheet (``.xlsx`` or ``.csv``) as verdicts indexed by company.

    Returns a DataFrame in worksheet order with the normalised ``verdict``
    (good / not / unsure / None for blank), the ``reason``, the spreadsheet
    ``row`` and every other column as written (the facts).  ``attrs`` holds
    ``reviewer`` (the sheet or file name), ``missing`` (companies without a
    verdict), ``duplicates`` (companies listed twice with the same verdict),
    and with a ``key`` also ``unknown`` (companies not in the sample) and
    ``not_reviewed`` (sample companies absent from the sheet).

    Raises :class:`~leadsim.errors.VerdictError` naming sheet, row and value
    for: an empty file, a renamed/missing ``company`` or ``verdict`` column, a
    verdict word not in :data:`VERDICT_WORDS`, a company listed twice with
    different verdicts, a verdict without a company.
    """
    path = Path(path)
    sheet, rows, numbers, _ = _read_rows(path)
    where = f"{path.name}, sheet {sheet!r}"
    h = _find_header(rows, COMPANY_HEADERS)
    if h is None:
        found = [str(v) for v in (rows[0] if rows else []) if v not in (None, "")]
        if not found:
            raise VerdictError("the sheet is empty; give the filled worksheet", where=where)
        raise VerdictError(f"no 'company' column; columns found: {found}; restore the header 'company'", where=where)
    header = [_header(v) for v in rows[h]]
    names = [str(v).strip() if v is not None else "" for v in rows[h]]
    ci = next(i for i, v in enumerate(header) if v in COMPANY_HEADERS)
    vi = next((i for i, v in enumerate(header) if v in VERDICT_HEADERS), None)
    if vi is None:
        raise VerdictError(f"no 'verdict' column; columns found: {[n for n in names if n]}; "
                           "rename the verdict column back to 'verdict'", where=where)
    ri = next((i for i, v in enumerate(header) if v in REASON_HEADERS), None)
    others = [(i, n) for i, n in enumerate(names) if i not in (ci, vi, ri) and n and n != "#"]
    records, seen = [], {}
    duplicates, missing = [], []
    for r, number in zip(rows[h + 1:], numbers[h + 1:], strict=True):
        r = list(r) + [None] * (len(names) - len(r))
        company, raw = r[ci], r[vi]
        if company is not None and not isinstance(company, str):
            company = str(company)
        if company is None or company == "":
            if raw not in (None, "") and str(raw).strip():
                raise VerdictError(f"row {number} has the verdict {raw!r} but no company; fill in the company "
                                   "or clear the verdict", where=where)
            continue
        verdict = normalise_verdict(raw, where=f"{where}, row {number}, column 'verdict'")
        reason = r[ri] if ri is not None else None
        if company in seen:
            prev = records[seen[company]]
            if verdict is not None and prev["verdict"] is not None and verdict != prev["verdict"]:
                raise VerdictError(
                    f"company {company!r} is listed twice with different verdicts: row {prev['row']} says "
                    f"{prev['verdict_raw']!r}, row {number} says {raw!r}; keep one row", where=where)
            if prev["verdict"] is None and verdict is not None:
                prev.update(verdict=verdict, verdict_raw=raw, reason=reason)
            duplicates.append(company)
            continue
        seen[company] = len(records)
        rec = {"company": company, "verdict": verdict, "verdict_raw": raw, "reason": reason, "row": number}
        for i, n in others:
            rec[n] = r[i]
        records.append(rec)
    if not records:
        raise VerdictError("the sheet lists no companies below the header; give the filled worksheet", where=where)
    df = pd.DataFrame(records, dtype=object).set_index("company")
    df.index = pd.Index(df.index, dtype=object, name="company")
    for _, n in others:
        df[n] = _typed(df[n])
    missing = [c for c, v in df["verdict"].items() if v is None]
    df.attrs.update(reviewer=sheet if path.suffix.lower() == ".xlsx" else path.stem, path=str(path),
                    missing=missing, duplicates=sorted(set(duplicates)))
    if key is not None:
        k = _check_key(key)
        df.attrs["unknown"] = [c for c in df.index if c not in k.index]
        df.attrs["not_reviewed"] = [c for c in k.index if c not in df.index]
        if df.attrs["unknown"]:
            warnings.warn(f"{where}: {len(df.attrs['unknown'])} compan(ies) not in the sample: "
                          f"{df.attrs['unknown'][:5]}", stacklevel=2)
    return df


def _typed(s: pd.Series) -> pd.Series:
    """Numbers become a numeric column (NaN for blanks), also when read as text from a CSV;
    "true"/"false" become booleans; anything else stays as read, with None for blanks."""
    blank = s.map(lambda v: v is None or v == "" or (isinstance(v, float) and math.isnan(v))).astype(bool)
    vals = [v for v, b in zip(s, blank, strict=True) if not b]
    obj = pd.Series([None if b else v for v, b in zip(s, blank, strict=True)], index=s.index, dtype=object)
    if not vals:
        return obj
    if all(isinstance(v, bool | np.bool_) for v in vals) or (
            all(isinstance(v, str) for v in vals) and {v.casefold() for v in vals} <= {"true", "false"}):
        return obj.map(lambda v: v if v is None or isinstance(v, bool | np.bool_) else v.casefold() == "true")
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in vals) or all(
            isinstance(v, str) for v in vals):
        num = pd.to_numeric(obj, errors="coerce")
        if int(num.notna().sum()) == len(vals):
            return num
    return obj


def read_key(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a key written by :func:`write_key`, indexed by company, numbers as numbers."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("no such key file; it is written beside the worksheets as key.csv", where=str(path))
    _, rows, _, _ = _read_rows(path)
    if not rows or "company" not in rows[0]:
        raise VerdictError(f"a key needs a 'company' column; found {rows[0] if rows else []}", where=str(path))
    header = rows[0]
    df = pd.DataFrame([r + [""] * (len(header) - len(r)) for r in rows[1:]], columns=header, dtype=object)
    for c in header:
        if c not in ("company", "lead_id", "drivers", "definition_verdict"):
            df[c] = _typed(df[c])
        else:
            df[c] = df[c].map(lambda v: None if v == "" else v).astype(object)
    if "last_activity" in df.columns:
        df["last_activity"] = pd.to_datetime(df["last_activity"], errors="coerce")
    df = df.set_index("company")
    df.index = pd.Index(df.index, dtype=object, name="company")
    return _check_key(df)


# --------------------------------------------------------------------------- sampling


#: Score bands, as multiples of the MQL threshold (lower edges); the two
#: "near" bands hold the borderline cases on either side of the threshold.
SCORE_BANDS = {"low": -math.inf, "below": 0.5, "near_below": 0.8, "near_above": 1.0, "high": 1.25}


def _fact_attributes(definition: Any) -> list[str]:
    """Attributes the definition's fit and BANT rules read, in attribute order; never protected ones."""
    used = {r.attribute for r in [*definition.fit_rules, *definition.bant_rules()]}
    return [a.name for a in definition.attributes
            if a.name in used and not a.protected and a.recorded != "after_handoff"]


def _behaviour_facts(activities: pd.DataFrame, lead_ids: pd.Index, as_of: pd.Timestamp,
                     days: int = 90) -> pd.DataFrame:
    """A short behaviour summary per lead over the last ``days`` days up to ``as_of``."""
    acts = activities[activities["lead_id"].isin(lead_ids)]
    at = pd.to_datetime(acts["at"])
    acts = acts[at <= as_of]
    at = pd.to_datetime(acts["at"])
    recent = acts[at > as_of - pd.Timedelta(days=days)]
    detail = recent["detail"].astype("string") if "detail" in recent.columns else pd.Series(
        pd.NA, index=recent.index, dtype="string")
    kind = recent["activity"].astype("string")

    def count(mask: pd.Series) -> pd.Series:
        return recent.loc[mask.fillna(False).to_numpy(), "lead_id"].value_counts().reindex(lead_ids, fill_value=0)

    def names(mask: pd.Series) -> pd.Series:
        sel = recent.loc[mask.fillna(False).to_numpy()].assign(_d=detail[mask.fillna(False).to_numpy()])
        sel = sel.dropna(subset=["_d"])
        joined = sel.groupby("lead_id")["_d"].agg(lambda s: "; ".join(sorted(set(s))))
        return joined.reindex(lead_ids).astype(object).where(lambda s: s.notna(), None)

    out = pd.DataFrame(index=lead_ids)
    out["visits_90d"] = count(kind == "web_visit")
    out["pricing_visits_90d"] = count((kind == "web_visit") & detail.str.contains("/pricing", regex=False))
    out["email_clicks_90d"] = count(kind == "email_click")
    out["downloads_90d"] = names(kind == "content_download")
    out["webinars_90d"] = count(kind == "webinar")
    out["demos_90d"] = count(kind.isin(["live_demo", "in_depth_demo"]))
    out["forms_90d"] = names(kind == "form_fill")
    out["unsubscribed"] = acts.loc[acts["activity"].astype("string").eq("unsubscribe").to_numpy(), "lead_id"] \
        .drop_duplicates().pipe(lambda s: lead_ids.isin(s))
    last = acts.assign(_at=at).groupby("lead_id")["_at"].max().reindex(lead_ids)
    out["last_activity"] = last.dt.normalize()
    return out


def _allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Equal allocation over strata, capped by stratum size, leftovers to the strata with room."""
    alloc = pd.Series(0, index=sizes.index, dtype=int)
    left = min(n, int(sizes.sum()))
    while left > 0:
        room = sizes - alloc
        open_ = room[room > 0]
        share = max(left // len(open_), 1)
        for h in open_.sort_values(ascending=False, kind="stable").index:
            take = min(share, int(room[h]), left)
            alloc[h] += take
            left -= take
            if left == 0:
                break
    return alloc


def sample_companies(
    leads: pd.DataFrame,
    scores: pd.DataFrame,
    n: int = 100,
    seed: np.random.Generator | int | None = None,
    stratify: str | None = "score",
    *,
    definition: Any = None,
    activities: pd.DataFrame | None = None,
    contributions: pd.DataFrame | None = None,
    as_of: Any = None,
    pick: str = "best",
) -> pd.DataFrame:
    """One row per company, stratified so the borderline cases are in the list.

    Each company is represented by one lead: its best-scored (``pick="best"``,
    ties to the most recent) or its most recent (``pick="recent"``).  The
    companies fall into score bands around the MQL threshold
    (:data:`SCORE_BANDS`: low, below, near_below, near_above, high).

    ``stratify``:

    * ``"score"`` (default): strata are the bands, allocated equally (a band
      with fewer companies gives its share to the others); inside a band the
      companies are ordered by source, then score, and drawn systematically
      from a random start, so every source and the whole band's range are
      represented;
    * ``"score_source"``: strata are band x source, allocated equally;
    * ``"source"``: strata are the sources;
    * ``None``: a simple random sample.

    Every row keeps ``weight = N_h / n_h`` (companies in its stratum over
    companies drawn from it), so weighted sums estimate the population.  The
    rows come in random order (bands mixed) and carry the facts the definition
    reads (never protected attributes), a behaviour summary when
    ``activities`` are given (:data:`BEHAVIOUR_FACTS`, last 90 days to
    ``as_of``), and for the key ``lead_id``, ``score``, ``fit_score``,
    ``behaviour_score``, ``definition_verdict`` ("good" when the definition
    makes it an MQL, by score or hot trigger), ``band``, ``stratum``,
    ``weight`` and, with ``contributions``, ``drivers`` (its top three rules).

    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(8)], "company": list("AABCDEFG"),
    ...                       "source": ["paid", "event"] * 4, "created_at": pd.Timestamp("2026-01-01")})
    >>> scores = pd.DataFrame({"score": [10, 90, 50, 120, 99, 140, 5, 85],
    ...                        "is_mql": [False, False, False, True, False, True, False, False]},
    ...                       index=pd.Index(leads["lead_id"], name="lead_id"))
    >>> s = sample_companies(leads, scores, n=5, seed=1)
    >>> len(s), s["company"].is_unique, round(s["weight"].sum())
    (5, True, 7)
    """
    from leadsim.definition import load_definition

    definition = definition or load_definition()
    if stratify not in ("score", "score_source", "source", None):
        raise ValueError(f"stratify must be 'score', 'score_source', 'source' or None, not {stratify!r}")
    if pick not in ("best", "recent"):
        raise ValueError(f"pick must be 'best' or 'recent', not {pick!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    for col in ("lead_id", "company"):
        if col not in leads.columns:
            raise SchemaError(f"leads need a {col!r} column; found {list(leads.columns)}", where="leads")
    if "score" not in scores.columns:
        raise SchemaError(f"scores need a 'score' column (from leadsim.scoring.score); found {list(scores.columns)}",
                          where="scores")
    rng = np.random.default_rng(seed)
    sc = scores.copy()
    if sc.index.name != "lead_id" and "lead_id" in sc.columns:
        sc = sc.set_index("lead_id")
    keep = [c for c in ("score", "fit_score", "behaviour_score", "is_mql") if c in sc.columns]
    df = leads.merge(sc[keep], left_on="lead_id", right_index=True, how="inner", validate="one_to_one")
    company = df["company"].astype("string").str.strip()
    df = df[company.notna() & (company != "")].copy()
    if df.empty:
        raise DataError("no scored lead has a company name", where="leads")
    if "source" not in df.columns:
        df["source"] = "unknown"
    created = pd.to_datetime(df["created_at"]) if "created_at" in df.columns else pd.Series(pd.NaT, index=df.index)
    df["_created"] = created
    order = ["score", "_created", "lead_id"] if pick == "best" else ["_created", "score", "lead_id"]
    df = df.sort_values(order, ascending=[False, False, True], kind="stable", na_position="last")
    df = df.drop_duplicates("company", keep="first")

    thr = float(definition.thresholds.mql)
    edges = [thr * f if math.isfinite(f) else f for f in SCORE_BANDS.values()]
    df["band"] = pd.cut(df["score"].astype(float), bins=[*edges, math.inf], right=False,
                        labels=list(SCORE_BANDS)).astype(str)
    src = df["source"].astype("string").fillna("unknown")
    df["stratum"] = {"score": df["band"], "score_source": df["band"] + "/" + src, "source": src,
                     None: pd.Series("all", index=df.index)}[stratify].astype(str)
    sizes = df["stratum"].value_counts()
    if stratify is None:
        alloc = pd.Series({"all": min(n, len(df))})
    elif stratify == "score" or stratify == "source":
        alloc = _allocate(sizes.reindex(sorted(sizes.index)), n)
    else:
        alloc = _allocate(sizes.reindex(sorted(sizes.index)), n)
    picked = []
    for h, k in alloc.items():
        if k == 0:
            continue
        members = df[df["stratum"] == h]
        if stratify is None:
            idx = rng.choice(len(members), size=k, replace=False)
        else:
            members = members.assign(_s=members["source"].astype("string").fillna("")).sort_values(
                ["_s", "score"], kind="stable").drop(columns="_s")
            step = len(members) / k
            idx = np.floor(rng.uniform(0, step) + step * np.arange(k)).astype(int)
        chosen = members.iloc[np.sort(idx)].copy()
        chosen["weight"] = len(members) / k
        picked.append(chosen)
    out = pd.concat(picked)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    if "is_mql" in out.columns:
        out["definition_verdict"] = np.where(out["is_mql"].astype(bool), "good", "not")
    else:
        out["definition_verdict"] = np.where(out["score"] >= thr, "good", "not")
    facts = [a for a in _fact_attributes(definition) if a in out.columns]
    cols = ["company", "lead_id", "source", *facts]
    result = out[cols].copy()
    if activities is not None:
        when = pd.Timestamp(as_of) if as_of is not None else pd.to_datetime(activities["at"]).max()
        beh = _behaviour_facts(activities, pd.Index(out["lead_id"]), when)
        result = result.join(beh, on="lead_id")
    for c in ("score", "fit_score", "behaviour_score", "definition_verdict", "band", "stratum", "weight"):
        if c in out.columns:
            result[c] = out[c].to_numpy()
    if contributions is not None:
        result["drivers"] = [
            _drivers_text(contributions.loc[lead].astype(float), definition) if lead in contributions.index else ""
            for lead in out["lead_id"]]
    result["company"] = result["company"].astype(object)
    return result


# --------------------------------------------------------------------------- labels for calibration


def _combined_labels(verdicts: Mapping[str, Any], combine: str) -> pd.Series:
    series = {str(k): _as_verdict_series(str(k), v) for k, v in verdicts.items() if str(k) != "definition"}
    if not series:
        raise VerdictError("no reviewer verdicts given (the definition's own verdict is not a label)")
    table = pd.DataFrame(series)
    good = table.eq("good").sum(axis=1)
    bad = table.eq("not").sum(axis=1)
    if combine == "agree":
        y = pd.Series(np.where((good > 0) & (bad == 0), 1, np.where((bad > 0) & (good == 0), 0, -1)), table.index)
    elif combine == "majority":
        y = pd.Series(np.where(good > bad, 1, np.where(bad > good, 0, -1)), table.index)
    elif combine == "all_good":
        definite = good + bad
        y = pd.Series(np.where(definite == 0, -1, np.where((good == len(series)), 1, 0)), table.index)
    else:
        raise ValueError(f"combine must be 'agree', 'majority' or 'all_good', not {combine!r}")
    return y[y >= 0].astype(int)


def as_labels(
    verdicts: Mapping[str, Any],
    key: pd.DataFrame,
    *,
    contributions: pd.DataFrame | None = None,
    combine: str = "agree",
    numeric: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """The heads' verdicts as ``X, y`` for :class:`~leadsim.calibration.MQLCalibrator`.

    ``y`` is 1 for "good", 0 for "not", indexed by company.  ``combine``:
    ``"agree"`` keeps companies where every head with a good/not verdict says
    the same (unsure and blank ignored; conflicts dropped); ``"majority"``
    keeps clear majorities; ``"all_good"`` calls a company good only when all
    heads do.  A reviewer named ``"definition"`` is ignored.

    ``X`` is the rule contributions of each company's lead when
    ``contributions`` are given (numbers), else the facts from the key (mixed
    types, as MQLCalibrator takes them); ``numeric=True`` one-hot encodes
    the facts and fills missing numbers with 0 plus a ``<col>_missing``
    indicator, ready for any scikit-learn model.  ``key["weight"]`` gives
    population weights (``sample_weight=key["weight"].loc[X.index]``).

    >>> import pandas as pd
    >>> key = pd.DataFrame({"company": ["A", "B", "C"], "lead_id": ["L1", "L2", "L3"],
    ...                     "seniority": ["vp", "student", "vp"], "weight": [1.0, 2.0, 1.0]})
    >>> X, y = as_labels({"marketing": pd.Series({"A": "good", "B": "not", "C": "good"}),
    ...                   "sales": pd.Series({"A": "yes", "B": "no", "C": "no"})}, key)
    >>> list(X.index), y.tolist()
    (['A', 'B'], [1, 0])
    """
    key = _check_key(key)
    y = _combined_labels(verdicts, combine)
    unknown = [c for c in y.index if c not in key.index]
    if unknown:
        raise VerdictError(f"{len(unknown)} compan(ies) with verdicts are not in the key: {unknown[:5]}; "
                           "use the key written with these worksheets", where="key")
    order = [c for c in key.index if c in y.index]
    y = y.reindex(order).rename("good")
    y.index.name = "company"
    if contributions is not None:
        if "lead_id" not in key.columns:
            raise SchemaError("the key needs 'lead_id' to look up contributions", where="key")
        leads = key.loc[order, "lead_id"]
        missing = [lead for lead in leads if lead not in contributions.index]
        if missing:
            raise DataError(f"no contributions for lead(s) {missing[:5]}; score the leads of the key",
                            where="contributions")
        X = contributions.loc[list(leads)].astype(float)
        X.index = pd.Index(order, name="company", dtype=object)
        return X, y
    facts = key.loc[order, [c for c in key.columns if c not in KEY_COLUMNS]]
    if numeric:
        X = pd.DataFrame(index=facts.index)
        for c in facts.columns:
            s = facts[c]
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                x = s.astype(float)
                X[c] = x.fillna(0.0)
                if x.isna().any():
                    X[f"{c}_missing"] = x.isna().astype(float)
            elif pd.api.types.is_datetime64_any_dtype(s):
                continue
            else:
                d = pd.get_dummies(s.astype("string"), prefix=c, dtype=float)
                X = X.join(d)
        X.index.name = "company"
        return X, y
    return facts, y


# --------------------------------------------------------------------------- the sample worksheets


#: How the simulated heads deviate from the definition: extra weight on the
#: points of each rule group (BANT rules, seniority rules, behaviour rules).
#: Sales values BANT and seniority more and behaviour less; marketing the
#: opposite.  See :func:`simulate_verdicts`.
HEAD_BIASES: dict[str, dict[str, float]] = {
    "sales": {"bant": 1.0, "seniority": 0.6, "behaviour": -0.5},
    "marketing": {"bant": -0.5, "seniority": 0.0, "behaviour": 0.7},
}
_ALT_WORDS = {"good": ("yes", "ja", "x", "good"), "not": ("no", "nein", "n"), "unsure": ("?", "maybe", "vielleicht")}
_DROPDOWN_WORD = {v: k for k, v in DROPDOWN.items()}


def _rule_groups(definition: Any, columns: Iterable[str]) -> dict[str, list[str]]:
    cols = set(columns)
    seniority = [r.id for r in definition.fit_rules if r.attribute == "seniority"]
    return {
        "bant": [c for c in cols if c.startswith("bant_")],
        "seniority": [c for c in seniority if c in cols],
        "behaviour": [r.id for r in definition.behaviour_rules if r.id in cols],
    }


def simulate_verdicts(
    sample: pd.DataFrame,
    contributions: pd.DataFrame,
    reviewer: str,
    rng: np.random.Generator | int | None = None,
    *,
    definition: Any = None,
    bias: Mapping[str, float] | None = None,
    noise: float = 12.0,
    blank_rate: float = 0.03,
) -> pd.DataFrame:
    """Plausible hand verdicts of one head, for demos and the shipped sample.

    The head sees a utility ``u = score + sum_g bias[g] * points_g + N(0,
    noise)`` where ``points_g`` sums the contributions of rule group *g*
    (``bant``: the BANT rules, ``seniority``: fit rules on seniority,
    ``behaviour``: behaviour rules) and ``bias`` defaults to
    :data:`HEAD_BIASES` for ``"sales"`` / ``"marketing"`` (no bias otherwise).
    The verdict is "good" with probability ``logistic((u - threshold) / 10)``;
    within 15 points of the threshold 40 % answer "unsure"; ``blank_rate`` of
    the rows stay empty.  Mostly the drop-down words are used, 15 % other
    accepted words ("ja", "x", "nein", "?" ...).  About half the rows get a
    short reason naming the group that drove the head's view.

    Returns a DataFrame indexed like ``sample`` with ``company``, ``verdict``
    (the word as typed, or None) and ``reason``.
    """
    from leadsim.definition import load_definition

    definition = definition or load_definition()
    gen = np.random.default_rng(rng)
    bias = dict(HEAD_BIASES.get(reviewer, {}) if bias is None else bias)
    leads = sample["lead_id"]
    missing = [lead for lead in leads if lead not in contributions.index]
    if missing:
        raise DataError(f"no contributions for lead(s) {missing[:5]}", where="contributions")
    c = contributions.loc[list(leads)].astype(float)
    groups = _rule_groups(definition, c.columns)
    points = {g: c[cols].sum(axis=1).to_numpy() if cols else np.zeros(len(c)) for g, cols in groups.items()}
    n = len(sample)
    u = c.sum(axis=1).to_numpy() + sum(bias.get(g, 0.0) * p for g, p in points.items()) + gen.normal(0, noise, n)
    thr = float(definition.thresholds.mql)
    p_good = 1 / (1 + np.exp(-(u - thr) / 10))
    draws = gen.random((5, n))
    verdict = np.where(draws[0] < p_good, "good", "not").astype(object)
    verdict[(np.abs(u - thr) < 15) & (draws[1] < 0.4)] = "unsure"
    words = [(_ALT_WORDS[v][int(d * 10) % len(_ALT_WORDS[v])] if d < 0.15 else _DROPDOWN_WORD[v])
             for v, d in zip(verdict, draws[2], strict=True)]
    words = [None if b < blank_rate else w for w, b in zip(words, draws[3], strict=True)]
    reasons = []
    for i in range(n):
        if words[i] is None or draws[4][i] > 0.5:
            reasons.append(None)
            continue
        reasons.append(_reason(verdict[i], {g: p[i] for g, p in points.items()}, bias))
    return pd.DataFrame({"company": sample["company"].to_numpy(), "verdict": words, "reason": reasons},
                        index=sample.index, dtype=object)


def _reason(verdict: str, points: dict[str, float], bias: Mapping[str, float]) -> str:
    if verdict == "unsure":
        return "borderline; need to talk to them first"
    if points["seniority"] < 0:
        return "student" if verdict == "not" else "student, but very active"
    # the group this head cares about most, then its sign
    cares = max(points, key=lambda g: bias.get(g, 0.0) * abs(points[g]) + abs(points[g]) / 10)
    phrases = {
        ("bant", "good"): "budget and decision maker confirmed", ("bant", "not"): "no budget or authority known",
        ("seniority", "good"): "senior buyer", ("seniority", "not"): "too junior",
        ("behaviour", "good"): "very engaged (pricing, demos, forms)", ("behaviour", "not"): "hardly any engagement",
    }
    return phrases[(cares, verdict)]


def _fill_worksheet(path: Path, filled: pd.DataFrame) -> None:
    """Write verdict words and reasons into a worksheet written by :func:`write_worksheet`."""
    if path.suffix.lower() == ".csv":
        _, rows, _, _ = _read_rows(path)
        header = rows[0]
        vi, ri = header.index("verdict"), header.index("reason")
        for r, (w, why) in zip(rows[1:], zip(filled["verdict"], filled["reason"], strict=True), strict=True):
            r[vi], r[ri] = _cell_value(w), _cell_value(why)
        _replace_atomically(path, lambda tmp: Path(tmp).write_text(_csv_text(rows), encoding="utf-8"))
        return
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    vi, ri = header.index("verdict") + 1, header.index("reason") + 1
    for i, (w, why) in enumerate(zip(filled["verdict"], filled["reason"], strict=True), start=2):
        ws.cell(row=i, column=vi, value=_cell_value(w))
        ws.cell(row=i, column=ri, value=_cell_value(why))
    _replace_atomically(path, lambda tmp: wb.save(tmp))


def make_exercise(
    out_dir: str | os.PathLike[str],
    *,
    n: int = 100,
    seed: int | None = 2026,
    history: Any = None,
    as_of: Any = None,
    simulate: bool = False,
    stratify: str | None = "score",
    force: bool = False,
) -> dict[str, Path]:
    """Sample ``n`` companies from a history and write the exercise into ``out_dir``.

    ``history`` defaults to :func:`leadsim.datasets.load_sample`; leads are
    scored at ``as_of`` (default: the history's last activity or creation)
    with the history's definition, and :func:`sample_companies` draws the
    companies (seeded by ``seed``).  Writes ``marketing.xlsx``,
    ``sales.xlsx``, CSV copies and ``key.csv`` (:func:`write_exercise`).

    ``simulate=True`` also fills the worksheets with :func:`simulate_verdicts`
    (seeded by ``seed``): this is how ``data/exercise/`` was made::

        make_exercise("data/exercise", n=100, seed=2026, simulate=True)
    """
    from leadsim.datasets import load_sample
    from leadsim.scoring import contributions as rule_points
    from leadsim.scoring import score

    history = history if history is not None else load_sample()
    d = history.definition
    if as_of is None:
        times = [pd.to_datetime(history.leads["created_at"]).max()]
        if len(history.activities):
            times.append(pd.to_datetime(history.activities["at"]).max())
        as_of = max(times)
    stage_log = getattr(history, "stage_log", None)
    contrib = rule_points(history.leads, history.activities, d, as_of, stage_log)
    scores = score(history.leads, history.activities, d, as_of, stage_log)
    rng = np.random.default_rng(seed)
    sample = sample_companies(history.leads, scores, n=n, seed=rng, stratify=stratify, definition=d,
                              activities=history.activities, contributions=contrib, as_of=as_of)
    paths = write_exercise(sample, out_dir, force=force)
    if simulate:
        for reviewer in ("marketing", "sales"):
            filled = simulate_verdicts(sample, contrib, reviewer, rng, definition=d)
            for suffix in ("", "_csv"):
                _fill_worksheet(paths[reviewer + suffix], filled)
    return paths
