"""Sampling the companies, simulated heads for the shipped sample, and labels for calibration."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.definition import LeadDefinition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, SchemaError, VerdictError
from leadsim.exercise.agreement import KEY_COLUMNS, as_verdict_series, check_key
from leadsim.exercise.coding import (
    BANT,
    CODED_COLUMNS,
    CONFIDENCE,
    KNOWN,
    STAGES,
    choices,
    column_header,
    reason_choices,
)
from leadsim.exercise.findings import drivers_text
from leadsim.exercise.worksheets import (
    DROPDOWN,
    cell_value,
    csv_text,
    read_rows,
    write_exercise,
)
from leadsim.files import write_atomic
from leadsim.points import POINTS_TOLERANCE, at_or_over, sort_table

__all__ = [
    "BEHAVIOUR_FACTS",
    "HEAD_BIASES",
    "SCORE_BANDS",
    "as_labels",
    "exercise_as_of",
    "make_exercise",
    "sample_companies",
    "simulate_verdicts",
]

#: Behaviour summary columns :func:`sample_companies` adds when given activities.
BEHAVIOUR_FACTS = (
    "visits_90d", "pricing_visits_90d", "email_clicks_90d", "downloads_90d", "webinars_90d", "demos_90d",
    "forms_90d", "unsubscribed", "last_activity",
)


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
    definition: LeadDefinition,
    *,
    n: int = 100,
    seed: np.random.Generator | int | None = None,
    stratify: str | None = "score",
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
    >>> from leadsim import load_definition
    >>> s = sample_companies(leads, scores, load_definition(), n=5, seed=1)
    >>> len(s), s["company"].is_unique, round(s["weight"].sum())
    (5, True, 7)
    """
    definition = require_definition(definition, where="sample_companies")
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
    order = ["score", "_created"] if pick == "best" else ["_created", "score"]
    df = sort_table(df, order, ascending=[False, False], ties="lead_id")
    df = df.drop_duplicates("company", keep="first")

    thr = float(definition.thresholds.mql)
    edges = [thr * f if math.isfinite(f) else f for f in SCORE_BANDS.values()]
    # a score within POINTS_TOLERANCE below an edge counts as on it, as at_or_over does
    df["band"] = pd.cut(df["score"].astype(float) + POINTS_TOLERANCE, bins=[*edges, math.inf], right=False,
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
            members = sort_table(members.assign(_s=members["source"].astype("string").fillna("")),
                                 ["_s", "score"], ties="lead_id").drop(columns="_s")
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
        out["definition_verdict"] = np.where(at_or_over(out["score"], thr), "good", "not")
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
            drivers_text(contributions.loc[lead].astype(float), definition) if lead in contributions.index else ""
            for lead in out["lead_id"]]
    result["company"] = result["company"].astype(object)
    return result


# --------------------------------------------------------------------------- labels for calibration


def _combined_labels(verdicts: Mapping[str, Any], combine: str) -> pd.Series:
    series = {str(k): as_verdict_series(str(k), v) for k, v in verdicts.items() if str(k) != "definition"}
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
    key = check_key(key)
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
    definition: LeadDefinition,
    *,
    reviewer: str,
    seed: np.random.Generator | int | None = None,
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
    short comment naming the group that drove the head's view.

    The head also plays the company through: a ``stage`` from the same
    utility (Lead and beyond for "good", Target or not a fit otherwise), BANT
    answers (yes where the definition's BANT rule scored, else no or unknown),
    a vocabulary ``reason`` for "not a lead" and a ``confidence`` from the
    distance to the threshold; every coded answer as the drop-down shows it in
    the definition's language.

    Returns a DataFrame indexed like ``sample`` with ``company``, ``stage``,
    ``verdict`` (the word as typed, or None), ``budget``, ``authority``,
    ``need``, ``timeline``, ``reason``, ``confidence`` and ``comment``.
    """
    definition = require_definition(definition, where="simulate_verdicts")
    gen = np.random.default_rng(seed)
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
    draws = gen.random((8, n))
    verdict = np.where(draws[0] < p_good, "good", "not").astype(object)
    verdict[(np.abs(u - thr) < 15) & (draws[1] < 0.4)] = "unsure"
    words = [(_ALT_WORDS[v][int(d * 10) % len(_ALT_WORDS[v])] if d < 0.15 else _DROPDOWN_WORD[v])
             for v, d in zip(verdict, draws[2], strict=True)]
    words = [None if b < blank_rate else w for w, b in zip(words, draws[3], strict=True)]
    answered = np.array([w is not None for w in words])
    stage = np.where(verdict == "good", np.where(u >= 1.6 * thr, "opportunity", np.where(u >= 1.3 * thr, "sales_lead",
                                                                                          "lead")),
                     np.where(verdict == "unsure", "target", np.where(u < 0.5 * thr, "not_a_fit", "target")))
    bant = {}
    for fact in BANT:
        pts = c[f"bant_{fact}"].to_numpy() if f"bant_{fact}" in c.columns else np.zeros(n)
        bant[fact] = np.where(pts > POINTS_TOLERANCE, "yes", np.where(draws[4] < 0.3, "no", "unknown"))
    confidence = np.where(np.abs(u - thr) > 40, "high", np.where(np.abs(u - thr) > 15, "medium", "low"))
    reasons = [(_reason_id(verdict[i], {g: p[i] for g, p in points.items()}, bant["budget"][i],
                           bant["authority"][i], definition) if answered[i] and verdict[i] == "not" else None)
               for i in range(n)]
    comments = [(_reason(verdict[i], {g: p[i] for g, p in points.items()}, bias)
                 if answered[i] and draws[5][i] <= 0.5 else None) for i in range(n)]

    def shown(column: str, codes: Any) -> list[Any]:
        return [_shown(column, code, definition) if ok and code is not None else None
                for code, ok in zip(codes, answered, strict=True)]

    return pd.DataFrame({"company": sample["company"].to_numpy(), "stage": shown("stage", stage), "verdict": words,
                         **{f: shown(f, bant[f]) for f in BANT}, "reason": shown("reason", reasons),
                         "confidence": shown("confidence", confidence), "comment": comments},
                        index=sample.index, dtype=object)


def _shown(column: str, code: str, definition: Any) -> str:
    """A code as the drop-down shows it."""
    return choices(column, definition)[list(_column_codes(column, definition)).index(code)]


def _column_codes(column: str, definition: Any) -> tuple[str, ...]:
    return {"stage": STAGES, "confidence": CONFIDENCE, "reason": tuple(reason_choices(definition))}.get(column, KNOWN)


def _reason_id(verdict: str, points: dict[str, float], budget: str, authority: str, definition: Any) -> str | None:
    """The vocabulary reason a simulated head gives for "not a lead"."""
    allowed = reason_choices(definition)
    for rid, hit in (("student", points["seniority"] < 0), ("no_budget", budget == "no"),
                     ("no_authority", authority == "no"), ("not_ready", points["behaviour"] < 10),
                     ("no_fit", True)):
        if hit and rid in allowed:
            return rid
    return allowed[0] if allowed else None


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


def _fill_worksheet(path: Path, filled: pd.DataFrame, definition: Any) -> None:
    """Write the answers of :func:`simulate_verdicts` into a worksheet written by :func:`write_worksheet`."""
    answers = [c for c in (*CODED_COLUMNS, "comment") if c in filled.columns]
    if path.suffix.lower() == ".csv":
        _, rows, _, _ = read_rows(path)
        pos = {c: rows[0].index(column_header(c, definition)) for c in answers}
        for r, (_, row) in zip(rows[1:], filled.iterrows(), strict=True):
            for c in answers:
                r[pos[c]] = cell_value(row[c])
        write_atomic(path, csv_text(rows), overwrite=True)
        return
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    pos = {c: header.index(column_header(c, definition)) + 1 for c in answers}
    for i, (_, row) in enumerate(filled.iterrows(), start=2):
        for c in answers:
            ws.cell(row=i, column=pos[c], value=cell_value(row[c]))
    write_atomic(path, wb.save, overwrite=True)


def exercise_as_of(history: Any) -> pd.Timestamp:
    """The moment an exercise scores a history at by default: its last activity or lead creation."""
    times = [pd.to_datetime(history.leads["created_at"]).max()]
    if len(history.activities):
        times.append(pd.to_datetime(history.activities["at"]).max())
    return max(times)


def make_exercise(
    history: Any,
    out_dir: str | os.PathLike[str],
    *,
    n: int = 100,
    seed: int | None = 2026,
    as_of: Any = None,
    simulate: bool = False,
    stratify: str | None = "score",
    reviewers: Iterable[str] = ("marketing", "sales"),
    force: bool = False,
) -> dict[str, Path]:
    """Sample ``n`` companies from a history and write the exercise into ``out_dir``.

    ``history`` is a :class:`leadsim.datasets.History` (or anything with its
    ``leads``, ``activities``, optional ``stage_log`` and ``definition``); leads
    are scored at ``as_of`` (default: the history's last activity or creation)
    with the history's definition, and :func:`sample_companies` draws the
    companies (seeded by ``seed``).  Writes one workbook per reviewer (default
    ``marketing.xlsx`` and ``sales.xlsx``; a head of SDRs may join), CSV copies
    and ``key.csv`` (:func:`write_exercise`).

    ``simulate=True`` also fills the worksheets with :func:`simulate_verdicts`
    (seeded by ``seed``): this is how ``data/exercise/`` was made::

        make_exercise(load_sample(), "data/exercise", n=100, seed=2026, simulate=True)
    """
    from leadsim.scoring import contributions as rule_points
    from leadsim.scoring import score

    d = require_definition(getattr(history, "definition", None), where="make_exercise: history.definition")
    reviewers = list(reviewers)
    if as_of is None:
        as_of = exercise_as_of(history)
    stage_log = getattr(history, "stage_log", None)
    contrib = rule_points(history.leads, history.activities, d, as_of=as_of, stage_log=stage_log)
    scores = score(history.leads, history.activities, d, as_of=as_of, stage_log=stage_log)
    rng = np.random.default_rng(seed)
    sample = sample_companies(history.leads, scores, d, n=n, seed=rng, stratify=stratify,
                              activities=history.activities, contributions=contrib, as_of=as_of)
    paths = write_exercise(sample, out_dir, reviewers=reviewers, definition=d, force=force)
    if simulate:
        for reviewer in reviewers:
            filled = simulate_verdicts(sample, contrib, d, reviewer=reviewer, seed=rng)
            for suffix in ("", "_csv"):
                _fill_worksheet(paths[reviewer + suffix], filled, d)
    return paths
