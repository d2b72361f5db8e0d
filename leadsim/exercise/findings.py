"""What a comparison of the heads' verdicts finds: the disagreements with the definition, and the facts that separate
the heads' good from not.

:func:`~leadsim.exercise.agreement.compare` calls both; :func:`drivers_text` also writes the exercise key's
``drivers`` column.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> drivers_text(pd.Series({"size_mid": 15.0, "bant_authority": 25.0, "student": -40.0}), load_definition())
'Student -40; Decision maker +25; 50-199 employees +15'
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from leadsim.points import POINTS_TOLERANCE, sort_table

__all__ = ["KEY_COLUMNS", "drivers_text", "find_disagreements", "find_suggestions"]

#: Columns of a sample that go into the key file only, never onto a worksheet (nor among the facts compared).
KEY_COLUMNS = (
    "lead_id", "score", "fit_score", "behaviour_score", "definition_verdict", "band", "stratum", "weight", "drivers",
)


def drivers_text(row: pd.Series, definition: Any, n: int = 3) -> str:
    """The ``n`` rules with the largest absolute contribution, as "label +25; label -10"; equal ones by rule id."""
    nz = row[row.abs() > POINTS_TOLERANCE]
    top = nz.reindex(sort_table(nz.abs(), ascending=False).index[:n])

    def label(rule: str) -> str:
        if definition is None:
            return rule
        try:
            return definition.rule_label(rule)
        except Exception:  # an id the definition does not know: show it raw
            return rule

    return "; ".join(f"{label(str(r))} {v:+.0f}" for r, v in top.items())


def find_disagreements(table: pd.DataFrame, heads: list[str], key: pd.DataFrame | None,
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
                drivers = drivers_text(contributions.loc[lead].astype(float), definition)
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
    return sort_table(out, sort, ascending=False, ties="company").drop(columns="_n").reset_index(drop=True)


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
                edges = sorted({float(q) for q in qs})
            if not edges:
                continue
            bounds = [-math.inf, *edges, math.inf]
            for lo, hi in itertools.pairwise(bounds):
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


def find_suggestions(table: pd.DataFrame, heads: list[str], key: pd.DataFrame | None, definition: Any,
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
    out = sort_table(out.assign(_strength=out["log_odds"].abs()), "_strength", ascending=False,
                     ties=["attribute", "index"]).drop(columns="_strength").head(top)
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


