"""Criteria discovery: rules the definition lacks, proposed from the hand-offs, and rules that add nothing pruned.

See ``docs/design.md`` section 1.10, "Criteria discovery".

:func:`discover` takes the features of the definition's rules
(:func:`leadsim.calibration.build_features`) and looks at what those rules
do not use yet:

* lead attributes no rule reads (declared or not, leakage-screened by
  :func:`leadsim.calibration.leakage.leakage_screen`): numbers become
  cumulative "at least" rules at monotone bin edges
  (:func:`~leadsim.calibration.binning.monotone_edges`), categories one rule
  for the levels that convert better and one for those that convert worse
  (:func:`~leadsim.calibration.binning.level_groups`), and a rule for
  "missing" when that is common;
* activity kinds no behaviour rule counts, and page or document details
  (web paths by their first segment): an ``each`` rule with the shared
  half-life, the window (30, 90 or 180 days) that separates best, and a cap
  at the 95th percentile of its occurrences.

Every candidate's feature is its contribution under
:func:`leadsim.scoring.score` (one point), so a proposed rule scores what the
model saw.  Then a sparsity path (L1 logistic regression over standardised
features, the strength chosen by cross-validated log loss, time-ordered
folds when the hand-offs are in time order) keeps the rules that add
something; ``max_rules`` caps their number (the path's sparser end is used
until it fits; rules a gate names do not count).  Then a new rule stays only when it adds at least
``min_gain`` cross-validated ROC AUC, and an existing rule the path dropped
comes back when adding it raises that AUC.  Rules a gate names are always kept.  Each rule gets its
``support`` (share of hand-offs it fires for), ``sql_rate`` there, its
``odds_ratio`` per unit with a 95 % interval (a nearly unpenalised refit
of the kept rules) and ``auc_gain``: the cross-validated ROC AUC of the kept
rules minus that without it (for a dropped rule: with it added back).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadsim.calibration.binning import level_groups, monotone_edges
from leadsim.calibration.inference import logit_wald
from leadsim.calibration.leakage import leakage_screen, left_out
from leadsim.definition import Attribute, BehaviourRule, FitRule, LeadDefinition
from leadsim.errors import DataError

__all__ = ["Discovery", "describe_rule", "discover", "drop_zero_rules"]

#: Lead columns that are never criteria (identity and bookkeeping).
CORE_COLUMNS = frozenset({"lead_id", "company", "created_at", "source"})
WINDOWS = (30.0, 90.0, 180.0)
_FIRMOGRAPHIC = re.compile(r"compan|size|employ|revenue|industr|region|country|city|subsidiar|product|sector", re.I)
PROPOSAL_COLUMNS = ["rule", "change", "kind", "condition", "support", "n", "sql_rate", "odds_ratio", "low", "high",
                    "auc_gain"]


@dataclass(kw_only=True)
class Discovery:
    """What :func:`discover` found: the proposals table, the extended definition, the leakage list and the path."""

    proposals: pd.DataFrame
    definition: LeadDefinition
    leakage: pd.DataFrame
    path: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def new_rules(self) -> list[str]:
        return self.proposals.loc[self.proposals["change"] == "new", "rule"].tolist()

    @property
    def dropped_rules(self) -> list[str]:
        return self.proposals.loc[self.proposals["change"] == "dropped", "rule"].tolist()


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").lower()
    return s if s and s[0].isalpha() else f"x_{s}"


def _number(v: float) -> str:
    return f"{v:g}".replace("-", "minus").replace(".", "_").replace("+", "")


def describe_rule(rule) -> str:
    """A rule in words, for the proposals table.

    >>> describe_rule(FitRule(id="a", category="firmographic", attribute="company_size", op="range", min=250, points=1))
    'company_size >= 250'
    """
    if isinstance(rule, BehaviourRule):
        what = "/".join(rule.activities)
        if rule.detail is not None:
            what += f" ({rule.detail.op} {rule.detail.value})"
        hl = f", half-life {rule.half_life_days:g} days" if rule.half_life_days else ", no decay"
        if rule.mode != "each":
            hl = f", {rule.mode}"
        win = f" in the last {rule.window_days:g} days" if rule.window_days else ""
        return f"each {what}{win}{hl}"
    a = rule.attribute
    if rule.op == "range":
        if rule.max is None:
            return f"{a} >= {rule.min:g}"
        return f"{a} in [{rule.min:g}, {rule.max:g})" if rule.min is not None else f"{a} < {rule.max:g}"
    if rule.op == "exists":
        return f"{a} {'given' if rule.value else 'missing'}"
    if rule.op in ("in", "not_in"):
        return f"{a} {'in' if rule.op == 'in' else 'not in'} {list(rule.value)}"
    return f"{a} {rule.op} {rule.value!r}" + (" (negated)" if rule.negate else "")


def _attribute_type(col: pd.Series, declared: Attribute | None) -> str | None:
    if declared is not None:
        return declared.type
    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "number"
    n = col.nunique(dropna=True)
    return "category" if 1 < n <= 50 else None


def _attribute_candidates(attrs: pd.DataFrame, y, w, definition, skip, min_share) -> tuple[list, list[Attribute]]:
    declared = {a.name: a for a in definition.attributes}
    used = {r.attribute for r in definition.fit_rules} | {r.attribute for r in definition.bant.values()}
    rules, new_attrs = [], []
    for col in attrs.columns:
        if col in CORE_COLUMNS or col in used or col in skip:
            continue
        typ = _attribute_type(attrs[col], declared.get(col))
        if typ is None or typ in ("text", "date"):
            continue
        if col not in declared:
            new_attrs.append(Attribute(name=col, type="number" if typ in ("number", "integer") else "category",
                                       description="proposed by leadsim calibrate (criteria discovery)"))
        cat = "firmographic" if _FIRMOGRAPHIC.search(col) else "demographic"
        base = _slug(col)
        s = attrs[col]
        miss = float(s.isna().mean())
        if min_share <= miss <= 1 - min_share:
            rules.append(FitRule(id=f"{base}_missing", label=f"{col} not given", category=cat, attribute=col,
                                 op="exists", value=False, points=1.0))
        if typ in ("number", "integer"):
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for e in monotone_edges(x, y, min_share=min_share, sample_weight=w):
                rules.append(FitRule(id=f"{base}_{_number(e)}_plus", label=f"{col} {e:g}+", category=cat,
                                     attribute=col, op="range", min=e, points=1.0))
        else:
            text = s.astype("string")
            groups = level_groups(text.to_numpy(dtype=object, na_value=None), y, sample_weight=w,
                                  min_count=max(20, int(min_share * len(s) / 5)))
            for side, levels in groups.items():
                if levels:
                    rules.append(FitRule(id=f"{base}_{side}", label=f"{col}: {', '.join(levels)}", category=cat,
                                         attribute=col, op="in", value=levels, points=1.0))
    return rules, new_attrs


def _detail_keys(details: pd.Series) -> pd.Series:
    """Web paths by their first segment (``/pricing/enterprise`` -> ``/pricing``); other details as they are."""
    codes, uniq = pd.factorize(details.astype("string"))  # few distinct details: work on those
    d = pd.Series(uniq, dtype="string")
    keys = d.str.extract(r"^(/[^/?#]+)", expand=False).fillna(d).to_numpy(dtype=object, na_value=None)
    keys = np.append(keys, None)  # code -1 (missing) picks the last
    return pd.Series(keys[np.where(codes >= 0, codes, len(keys) - 1)], index=details.index, dtype=object)


def _activity_candidates(fs, activities, half_life, min_share, max_window) -> list[BehaviourRule]:
    used = {a for r in fs.definition.behaviour_rules for a in r.activities}
    # the hand-offs' own past (the scorer's pseudo-leads: one per hand-off, activities before it): a candidate's
    # reach is the share of hand-offs it could fire for
    acts = fs.scorer.activities if getattr(fs, "scorer", None) is not None else \
        activities[activities["lead_id"].isin(pd.Index(fs.meta["lead_id"]))]
    windows = [w for w in WINDOWS if max_window is None or w <= max_window]
    hl = None if not math.isfinite(half_life) else float(half_life)
    n_leads = max(len(fs.X) if getattr(fs, "scorer", None) is not None else fs.meta["lead_id"].nunique(), 1)
    out = []
    for kind, part in acts.groupby("activity", sort=True):
        reach = part["lead_id"].nunique() / n_leads
        if kind not in used and reach >= min_share:
            for w in windows:
                out.append(BehaviourRule(id=f"{_slug(kind)}_{w:g}d", label=f"{kind} ({w:g} days)", activity=str(kind),
                                         points=1.0, half_life_days=hl, window_days=w))
        if "detail" not in part:
            continue
        keys = _detail_keys(part["detail"])
        for key, sub in part.groupby(keys.to_numpy(dtype=object, na_value=None), sort=True):
            if key is None or sub["lead_id"].nunique() / n_leads < min_share:
                continue
            op = "contains" if str(key).startswith("/") else "eq"
            for w in windows:
                out.append(BehaviourRule(id=f"{_slug(kind)}_{_slug(key)}_{w:g}d", label=f"{kind} {key} ({w:g} days)",
                                         activity=str(kind), detail={"op": op, "value": str(key)}, points=1.0,
                                         half_life_days=hl, window_days=w))
    return out


def _best_window(feats: pd.DataFrame, rules: list[BehaviourRule], y: np.ndarray, existing: pd.DataFrame) -> list:
    """One rule per activity/detail: the window whose feature separates best; near copies of existing rules skipped."""
    from sklearn.metrics import roc_auc_score

    best: dict[str, tuple[float, BehaviourRule]] = {}
    ex = existing.to_numpy(dtype=float)
    for r in rules:
        x = feats[r.id].to_numpy(dtype=float)
        if np.ptp(x) == 0:
            continue
        if ex.shape[1] and np.nanmax(np.abs([np.corrcoef(x, ex[:, j])[0, 1] if np.ptp(ex[:, j]) else 0
                                              for j in range(ex.shape[1])])) > 0.95:
            continue  # an existing rule counts the same thing
        key = r.id.rsplit("_", 1)[0]
        auc = abs(roc_auc_score(y, x) - 0.5)
        if key not in best or auc > best[key][0]:
            best[key] = (auc, r)
    out = []
    for _, r in best.values():
        x = feats[r.id].to_numpy(dtype=float)
        cap = float(max(1.0, math.ceil(np.quantile(x[x > 0], 0.95)))) if (x > 0).any() else 1.0
        out.append(r.model_copy(update={"cap": cap}))
    return out


def cv_folds(n: int, y: np.ndarray, time_ordered: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three folds: time-ordered (each tests on later rows than it trains on) or stratified and shuffled."""
    from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

    if time_ordered:
        return list(TimeSeriesSplit(n_splits=3).split(np.zeros(n)))
    return list(StratifiedKFold(n_splits=3, shuffle=True, random_state=seed).split(np.zeros(n), y))


def standardised(X: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit spread (a constant column only centred)."""
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def cv_auc(X, y, w, folds) -> float:
    """Mean ROC AUC over ``folds`` of a lightly penalised logistic model on ``X`` (0.5 without columns)."""
    return FoldFits(X, y, w, folds).auc(np.ones(X.shape[1], dtype=bool))


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties at their mean rank: scikit-learn's value without its checks.

    >>> rank_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


class FoldFits:
    """Cross-validated ROC AUC of column subsets of ``Z``, each fold's fit warm-started from a remembered one.

    Dropping or adding one rule moves the coefficients little, so a Newton
    step or two from the last remembered fit (``remember=True``) replaces a
    fit from zero: the same AUC at a fraction of the cost.
    """

    def __init__(self, Z, y, w, folds):
        self.Z, self.y, self.w = Z, y, w
        self.folds = [(tr, te) for tr, te in folds if len(np.unique(y[tr])) == 2 and len(np.unique(y[te])) == 2]
        self.start = [(np.zeros(Z.shape[1]), 0.0) for _ in self.folds]

    def auc(self, sel: np.ndarray, *, remember: bool = False) -> float:
        from sklearn.linear_model import LogisticRegression

        cols = np.flatnonzero(sel)
        if not len(cols):
            return 0.5
        if not self.folds:
            return np.nan
        aucs, fits = [], []
        for (tr, te), (coef, b) in zip(self.folds, self.start, strict=True):
            m = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=300, warm_start=True)
            m.coef_, m.intercept_ = coef[cols][None, :].copy(), np.array([b])
            m.fit(self.Z[np.ix_(tr, cols)], self.y[tr], sample_weight=self.w[tr])
            full = np.zeros(self.Z.shape[1])
            full[cols] = m.coef_[0]
            fits.append((full, float(m.intercept_[0])))
            aucs.append(rank_auc(self.y[te], m.decision_function(self.Z[np.ix_(te, cols)])))
        if remember:
            self.start = fits
        return float(np.mean(aucs))


def _path(X, y, w, folds, max_rules, keep) -> tuple[np.ndarray, pd.DataFrame]:
    """The L1 path: CV log loss per strength, the kept columns at the chosen one (``keep`` always kept).

    ``rules`` in the path is the mean number of rules the folds keep; only the
    chosen strength (and, under ``max_rules``, the sparser ones tried on the way)
    is refitted on all rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.svm import l1_min_c

    def l1(C):
        return LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear", max_iter=300, tol=1e-3)

    c0 = l1_min_c(X, y, loss="log")
    Cs = c0 * np.logspace(0.1, 3, 10)
    rows = []
    for C in Cs:
        losses, counts = [], []
        for tr, te in folds:
            if len(np.unique(y[tr])) < 2 or len(np.unique(y[te])) < 2:
                continue
            m = l1(C).fit(X[tr], y[tr], sample_weight=w[tr])
            losses.append(log_loss(y[te], m.predict_proba(X[te])[:, 1], labels=[False, True]))
            counts.append(int((np.abs(m.coef_[0]) > 1e-8).sum()))
        rows.append({"C": C, "rules": float(np.mean(counts)) if counts else np.nan,
                     "cv_log_loss": float(np.mean(losses)) if losses else np.nan})
    path = pd.DataFrame(rows)
    chosen = int(np.nanargmin(path["cv_log_loss"].to_numpy()))
    nz = np.abs(l1(Cs[chosen]).fit(X, y, sample_weight=w).coef_[0]) > 1e-8
    while max_rules is not None and nz.sum() > max_rules and chosen > 0:
        chosen -= 1
        nz = np.abs(l1(Cs[chosen]).fit(X, y, sample_weight=w).coef_[0]) > 1e-8
    path["chosen"] = False
    path.loc[chosen, "chosen"] = True
    return nz | keep, path


def _settle(selected, is_new, cv: FoldFits, min_gain, room) -> np.ndarray:
    """After the path: new rules that add less than ``min_gain`` AUC go, existing rules that add any come back.

    ``room(sel)`` says whether the rule cap lets one more rule in.
    """
    sel = selected.copy()
    base = cv.auc(sel, remember=True)
    for j in np.flatnonzero(sel & is_new):
        without = sel.copy()
        without[j] = False
        auc = cv.auc(without)
        if base - auc < min_gain:
            sel = without
            base = cv.auc(sel, remember=True)
    for j in np.flatnonzero(~sel & ~is_new):
        if not room(sel):
            break
        more = sel.copy()
        more[j] = True
        auc = cv.auc(more)
        if auc > base:
            sel = more
            base = cv.auc(sel, remember=True)
    return sel


def discover(features, tables, *, weights: np.ndarray | None = None, include=(), max_rules: int | None = None,
             min_share: float = 0.02, min_gain: float = 0.001, time_ordered: bool = True,
             cv_rows: int = 50_000, seed: int = 0) -> Discovery:
    """Propose new rules and prune those that add nothing (see the module docstring).

    ``features``: a :class:`~leadsim.calibration.FeatureSet` of the hand-offs
    to learn from (e.g. the training part); ``tables``: the dict or History
    with ``leads`` and ``activities`` it was built from.  ``include`` keeps
    columns the leakage guard would leave out; ``max_rules`` caps the
    number of rules kept; ``min_share`` is the least share of hand-offs a
    candidate must fire for; ``min_gain`` the least cross-validated AUC a new
    rule must add to be proposed.  Returns a :class:`Discovery` whose
    ``definition`` holds the kept rules (points 1 or -1, to be calibrated).
    """
    if max_rules is not None and max_rules < 1:
        raise DataError(f"max_rules {max_rules} must be 1 or more", where="max_rules")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # hundreds of small fits: BLAS threads only fight each other
        return _discover(features, tables, weights, include, max_rules, min_share, min_gain, time_ordered, cv_rows,
                         seed)


def _discover(features, tables, weights, include, max_rules, min_share, min_gain, time_ordered, cv_rows, seed):
    definition = features.definition
    n_all = len(features)
    w = np.ones(n_all) if weights is None else np.asarray(weights, dtype=float)
    notes = []
    if n_all > cv_rows:  # sample first: every candidate is computed for the sampled hand-offs only
        rows = np.sort(np.random.default_rng(seed).choice(n_all, cv_rows, replace=False))
        features, w = features.subset(rows), w[rows]
        notes.append(f"criteria discovery ran on {cv_rows:,} of {n_all:,} hand-offs (random, in time order)")
    scorer = features.scorer
    y = features.y.to_numpy(dtype=bool)
    ids = features.X.index
    attrs = scorer.leads.set_index("lead_id").reindex(ids)
    attrs = attrs.drop(columns=[c for c in attrs.columns if c in CORE_COLUMNS])
    screen = leakage_screen(attrs, y, definition, include=include, seed=seed)
    skip = left_out(screen)
    fit_rules, new_attrs = _attribute_candidates(attrs, y, w, definition, skip, min_share)
    base = definition.model_copy(update={"attributes": [*definition.attributes, *new_attrs]})
    acts = tables["activities"] if isinstance(tables, dict) else tables.activities
    beh_all = _activity_candidates(features, acts, features.half_life_days, min_share,
                                   None if not definition.behaviour_rules else _max_window(definition))
    cand = pd.DataFrame(index=ids)
    if fit_rules:
        unit = base.model_copy(update={"fit_rules": fit_rules, "bant": {}, "behaviour_rules": [], "hot_triggers": [],
                                       "gates": type(definition.gates)()})
        cand = cand.join(scorer.contributions(unit).reindex(ids))
    beh: list[BehaviourRule] = []
    if beh_all:
        unit = base.model_copy(update={"fit_rules": [], "bant": {}, "behaviour_rules": beh_all, "hot_triggers": [],
                                       "gates": type(definition.gates)()})
        feats = scorer.contributions(unit).reindex(ids)
        beh = _best_window(feats, beh_all, y, features.X[features.behaviour_columns])
        if beh:
            unit = unit.model_copy(update={"behaviour_rules": beh})
            cand = cand.join(scorer.contributions(unit).reindex(ids))
    existing = features.X_rules
    X_df = pd.concat([existing, cand], axis=1).fillna(0.0)
    names = list(X_df.columns)
    is_new = np.array([n not in existing.columns for n in names])
    from leadsim.scoring.gates import gate_rules

    gated = set(gate_rules(definition))
    Xr, yr, wr = X_df.to_numpy(dtype=float), y, w
    Z = standardised(Xr)
    folds = cv_folds(len(yr), yr, time_ordered, seed)
    keep = np.array([n in gated for n in names])
    varying = Xr.std(axis=0) > 0
    Zv = Z[:, varying]
    sel_v, path = _path(Zv, yr, wr, folds, max_rules, keep[varying])
    selected = np.zeros(len(names), bool)
    selected[np.flatnonzero(varying)[sel_v]] = True
    def room(sel):  # rules a gate names do not count against the cap
        return max_rules is None or int((sel & ~keep).sum()) < max_rules

    cv = FoldFits(Z, yr, wr, folds)
    selected = _settle(selected, is_new, cv, min_gain, room)
    fit = logit_wald(Xr[:, selected], yr, sample_weight=wr) if selected.any() else None
    effect = dict(zip(np.array(names)[selected], zip(fit.coef, fit.low, fit.high, strict=True), strict=True)) if fit else {}
    auc_all = cv.auc(selected, remember=True)
    rules = {r.id: r for r in [*fit_rules, *beh]}
    out = []
    Xfull = X_df.to_numpy(dtype=float)
    for j, n in enumerate(names):
        fires = Xfull[:, j] != 0
        if selected[j]:
            others = selected.copy()
            others[j] = False
            gain = auc_all - cv.auc(others)
            change = "new" if is_new[j] else "kept"
        elif not is_new[j]:
            more = selected.copy()
            more[j] = True
            gain = cv.auc(more) - auc_all
            change = "dropped" if n not in gated else "kept"
        else:
            gain, change = np.nan, "not proposed"
        b, lo, hi = effect.get(n, (np.nan, np.nan, np.nan))
        rule = rules.get(n) or _existing_rule(definition, n)
        out.append({"rule": n, "change": change, "kind": _kind(rule), "condition": describe_rule(rule) if rule else n,
                    "support": float(fires.mean()), "n": int(fires.sum()),
                    "sql_rate": float(y[fires].mean()) if fires.any() else np.nan,
                    "odds_ratio": math.exp(b) if np.isfinite(b) else np.nan,
                    "low": math.exp(lo) if np.isfinite(lo) else np.nan,
                    "high": math.exp(hi) if np.isfinite(hi) else np.nan, "auc_gain": gain})
    proposals = pd.DataFrame(out, columns=PROPOSAL_COLUMNS)
    order = {"new": 0, "dropped": 1, "kept": 2, "not proposed": 3}
    proposals = proposals.sort_values(["change", "auc_gain"], key=lambda s: s.map(order) if s.name == "change" else -s,
                                      kind="stable").reset_index(drop=True)
    sign = {n: (1.0 if effect[n][0] >= 0 else -1.0) for n in effect}
    chosen_new = [rules[n].model_copy(update={"points": sign.get(n, 1.0),
                                              **({"cap": rules[n].cap} if isinstance(rules[n], BehaviourRule) else {})})
                  for n in np.array(names)[selected & is_new]]
    dropped = set(proposals.loc[proposals["change"] == "dropped", "rule"])
    kept_attrs = {r.attribute for r in chosen_new if isinstance(r, FitRule)}
    ext = definition.model_copy(deep=True)
    ext.attributes = [*definition.attributes, *[a for a in new_attrs if a.name in kept_attrs]]
    ext.fit_rules = [r for r in definition.fit_rules if r.id not in dropped] + [r for r in chosen_new
                                                                                if isinstance(r, FitRule)]
    ext.bant = {k: r for k, r in definition.bant.items() if f"bant_{k}" not in dropped}
    ext.behaviour_rules = [r for r in definition.behaviour_rules if r.id not in dropped] + [
        r for r in chosen_new if isinstance(r, BehaviourRule)]
    ext = LeadDefinition.model_validate(ext.model_dump())
    if len(screen):
        notes.append("leakage guard: " + "; ".join(f"{r.column} ({r.reason}): {r.action}" for r in screen.itertuples()))
    return Discovery(proposals=proposals, definition=ext, leakage=screen, path=path, notes=notes)


def _max_window(definition: LeadDefinition) -> float | None:
    windows = [r.window_days for r in definition.behaviour_rules]
    return None if any(w is None for w in windows) else max(windows)


def _existing_rule(definition: LeadDefinition, rid: str):
    for r in [*definition.fit_rules, *definition.behaviour_rules]:
        if r.id == rid:
            return r
    if rid.startswith("bant_") and rid[5:] in definition.bant:
        return definition.bant[rid[5:]]
    return None


def _kind(rule) -> str:
    if isinstance(rule, BehaviourRule):
        return "activity detail" if rule.detail is not None else "activity"
    if rule is None:
        return ""
    return {"range": "number bins", "in": "category levels", "exists": "missing value"}.get(rule.op, "attribute")


def drop_zero_rules(definition: LeadDefinition) -> LeadDefinition:
    """The definition without fit, BANT and behaviour rules worth 0 points (rules a gate names stay)."""
    from leadsim.scoring.gates import gate_rules

    gated = set(gate_rules(definition))
    d = definition.model_copy(deep=True)
    d.fit_rules = [r for r in d.fit_rules if r.points != 0 or r.id in gated]
    d.bant = {k: r for k, r in d.bant.items() if r.points != 0 or f"bant_{k}" in gated}
    d.behaviour_rules = [r for r in d.behaviour_rules if r.points != 0 or r.id in gated]
    return LeadDefinition.model_validate(d.model_dump())
