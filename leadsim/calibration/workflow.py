"""``calibrate()``: SQL outcomes in, a revised and evaluated lead definition out.

Data sufficiency lives here, not in the estimator: below 1,000 labelled
hand-offs or 120 SQLs (Salesforce Einstein's floor) a :class:`LeadsimWarning`;
below 200 hand-offs or 30 SQLs (or 30 non-SQLs) a :class:`DataError`.

Without an ``outcomes`` table, but with a ``stage_log`` (and ``touches``),
:func:`calibrate` derives the outcomes with :func:`leadsim.outcomes.from_history`
as of ``as_of`` (default: the latest time in those two tables); hand-offs whose
SQL window is still open are unlabelled and left out, and the floor's message
says how many.

Selection bias: labels exist only for leads that were handed over, mostly
because they crossed the old threshold.  Each hand-off's ``propensity`` (its
chance of hand-off under the policy in force; exploration hand-offs of leads
below the threshold have a small one) gives inverse-propensity weights
``1 / propensity``, clipped at ``clip`` (the clipping is reported).  Without
exploration hand-offs nothing is known about leads below the old threshold:
the report says so and :func:`conversion_below_threshold` refuses.

>>> from leadsim import load_definition
>>> from leadsim.datasets import make_history
>>> h = make_history(load_definition(), n_leads=300, start="2025-01-01", end="2025-05-01", seed=2)
>>> try:
...     calibrate(h, h.definition)
... except DataError as err:
...     print("too few labelled hand-offs" in str(err))
True
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.calibration.estimator import MQLCalibrator
from leadsim.calibration.evaluation import CalibrationReport, evaluate
from leadsim.calibration.features import DEFAULT_HALF_LIVES, FeatureSet, build_features
from leadsim.calibration.scorecard import diff_markdown
from leadsim.definition import LeadDefinition, LeadsimWarning, diff
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, InputFileError
from leadsim.files import write_atomic
from leadsim.outcomes import from_history, latest_time
from leadsim.points import at_or_over
from leadsim.scoring.inputs import timestamp

__all__ = [
    "HARD_MIN_HANDOFFS",
    "HARD_MIN_SQLS",
    "MIN_HANDOFFS",
    "MIN_SQLS",
    "Calibration",
    "calibrate",
    "conversion_below_threshold",
    "selection_weights",
]

#: Salesforce Einstein's floor: warn below it.
MIN_HANDOFFS, MIN_SQLS = 1000, 120
#: Refuse below this.
HARD_MIN_HANDOFFS, HARD_MIN_SQLS = 200, 30


def selection_weights(features: FeatureSet, clip: float = 50.0) -> tuple[np.ndarray, dict[str, Any]]:
    """Inverse-propensity weights ``min(1 / propensity, clip)`` and what was done.

    Without a ``propensity`` column every hand-off weighs 1; a hand-off whose
    propensity is missing (an exploration hand-off derived from a stage log
    that carries none) weighs 1 too, counted in ``unknown_propensity``.
    """
    meta = features.meta
    reasons = meta["handoff_reason"].astype(str) if "handoff_reason" in meta else pd.Series("score", index=meta.index)
    n_expl = int((reasons == "exploration").sum())
    info: dict[str, Any] = {"exploration_handoffs": n_expl, "clip": float(clip)}
    if "propensity" not in meta or meta["propensity"].isna().all():
        info.update(weighted=False, clipped=0, note="no propensity column: every hand-off weighs 1")
        return np.ones(len(meta)), info
    p = pd.to_numeric(meta["propensity"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(p)
    bad = known & ~((p > 0) & (p <= 1))
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"propensity must lie in (0, 1]; got {pd.Series(p[bad]).head(3).tolist()} at hand-off(s) "
            f"{meta.index[np.flatnonzero(bad)[:5]].tolist()} (rows {rows})",
            where="outcomes.propensity",
        )
    if not clip >= 1:
        raise DataError(f"clip {clip} must be at least 1", where="calibrate")
    raw = np.where(known, 1.0 / np.where(known, p, 1.0), 1.0)
    w = np.minimum(raw, clip)
    info.update(weighted=True, clipped=int((raw > clip).sum()), max_weight=float(w.max()),
                clipped_share=float((raw > clip).mean()), unknown_propensity=int((~known).sum()))
    return w, info


def conversion_below_threshold(features: FeatureSet, weights: np.ndarray | None = None) -> float:
    """The SQL rate of leads *below* the old threshold, from the exploration hand-offs only.

    Refuses (:class:`DataError`) when there are none: hand-offs over the
    threshold say nothing about the leads under it.
    """
    meta = features.meta
    expl = (meta["handoff_reason"].astype(str) == "exploration").to_numpy() if "handoff_reason" in meta else None
    below = ~at_or_over(features.current_score.to_numpy(dtype=float), features.definition.thresholds.mql)
    if expl is None or not (expl & below).any():
        raise DataError(
            "no exploration hand-offs below the old threshold: the conversion of leads under it cannot be "
            "estimated from these outcomes (hand over a small random share of them, with their propensity)",
            where="outcomes.handoff_reason",
        )
    sel = expl & below
    w = np.ones(len(meta)) if weights is None else np.asarray(weights, float)
    return float(np.average(features.y.to_numpy(dtype=float)[sel], weights=w[sel]))


@dataclass
class Calibration:
    """The outcome of :func:`calibrate`: revised definition, models, evidence.

    ``model`` is the rule-feature model the points are scaled from;
    ``controls_model`` the one with response delay and owner as well.
    """

    definition: LeadDefinition
    _: KW_ONLY
    previous: LeadDefinition
    model: MQLCalibrator
    features: FeatureSet
    report: CalibrationReport
    weights: np.ndarray
    notes: list[str] = field(default_factory=list)
    controls_model: MQLCalibrator | None = None

    @property
    def diff(self) -> pd.DataFrame:
        return diff(self.previous, self.definition)

    def write(self, folder: str | os.PathLike[str], *, force: bool = False, figures: bool = True,
              definition_file: str = "definition.yaml") -> dict[str, Path]:
        """Write ``definition.yaml`` (or ``definition_file``), ``diff.csv``, ``diff.md``, ``metrics.json``, PNG figures,
        and with criteria discovery ``proposals.csv`` and ``leakage.csv``.

        A non-empty folder is refused unless ``force``; every file is written
        atomically.
        """
        out = Path(folder)
        if out.exists() and not out.is_dir():
            raise InputFileError("exists and is not a folder; choose another output folder", where=str(out))
        if out.exists() and any(out.iterdir()) and not force:
            raise InputFileError("the output folder is not empty; choose another or pass --force", where=str(out))
        out.mkdir(parents=True, exist_ok=True)
        files = {"definition": out / definition_file, "diff_csv": out / "diff.csv", "diff_md": out / "diff.md",
                 "metrics": out / "metrics.json"}
        self.definition.to_yaml(files["definition"], overwrite=force)
        write_atomic(files["diff_csv"], self.diff.to_csv(index=False), overwrite=force)
        write_atomic(files["diff_md"], diff_markdown(self.previous, self.definition), overwrite=force)
        for name in ("proposals", "leakage"):
            table = getattr(self.report, name)
            if table is not None:
                files[name] = write_atomic(out / f"{name}.csv", table.to_csv(index=False), overwrite=force)
        data = self.report.to_dict() | {"notes": self.notes, "version": self.definition.version}
        write_atomic(files["metrics"], json.dumps(data, indent=2, default=_json_default), overwrite=force)
        if figures:
            import matplotlib.pyplot as plt

            for name, fig in self.report.figures().items():
                try:
                    files[name] = write_atomic(out / f"{name}.png", lambda tmp, fig=fig: fig.savefig(tmp, dpi=110),
                                               overwrite=force)
                finally:
                    plt.close(fig)
        return files


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return str(obj)


def _refuse_below_floor(n: int, n_sql: int, derived: dict[str, Any] | None) -> None:
    """One-line DataError below the hard floor; says so when the outcomes were derived from the stage log."""
    n_not = n - n_sql
    if n >= HARD_MIN_HANDOFFS and n_sql >= HARD_MIN_SQLS and n_not >= HARD_MIN_SQLS:
        return
    origin, fix, where = "", "collect more outcomes first", "outcomes"
    if derived is not None:
        origin = (f" (outcomes derived from the stage log as of {derived['as_of']}: {derived['handoffs']} hand-offs, "
                  f"{derived['unlabelled']} still inside their {derived['window_days']}-day SQL window and unlabelled)")
        fix = "give a longer history, or a later as_of once more windows have closed"
        where = "stage_log"
    raise DataError(
        f"too few labelled hand-offs to calibrate: {n} hand-offs with {n_sql} SQLs and {n_not} non-SQLs{origin}; "
        f"leadsim needs at least {HARD_MIN_HANDOFFS} hand-offs and {HARD_MIN_SQLS} of each outcome "
        f"(and recommends {MIN_HANDOFFS:,} with {MIN_SQLS} SQLs); {fix}",
        where=where,
    )


def _check_sufficiency(fs: FeatureSet, derived: dict[str, Any] | None = None) -> None:
    n, n_sql = len(fs), int(fs.y.sum())
    _refuse_below_floor(n, n_sql, derived)
    if n < MIN_HANDOFFS or n_sql < MIN_SQLS:
        warnings.warn(
            f"only {n} labelled hand-offs with {n_sql} SQLs (Salesforce Einstein asks for at least "
            f"{MIN_HANDOFFS:,} with {MIN_SQLS} conversions): treat the revised points with care",
            LeadsimWarning, stacklevel=3,
        )


def _with_outcomes(sample_or_tables: Any, definition: LeadDefinition, as_of: Any) -> tuple[Any, dict[str, Any] | None]:
    """The tables, with outcomes derived from the stage log and touches when none are given (and what was derived)."""
    if isinstance(sample_or_tables, dict):
        tables = dict(sample_or_tables)
    else:
        tables = {k: getattr(sample_or_tables, k, None)
                  for k in ("leads", "activities", "outcomes", "stage_log", "touches")}
    log = tables.get("stage_log")
    if isinstance(tables.get("outcomes"), pd.DataFrame) or not isinstance(log, pd.DataFrame):
        return sample_or_tables, None  # given outcomes (or nothing to derive them from: build_features says so)
    touches = tables.get("touches")
    moment = latest_time(log, touches, definition) if as_of is None else timestamp(as_of, definition, what="as_of")
    out = from_history(log, touches, definition, as_of=moment)
    tables["outcomes"] = out
    sql = out["sql"]
    derived = {"as_of": moment, "handoffs": len(out), "unlabelled": int(sql.isna().sum()),
               "window_days": definition.funnel.outcome_window_days}
    _refuse_below_floor(int(sql.notna().sum()), int(sql.sum()), derived)
    return tables, derived


def calibrate(
    sample_or_tables: Any,
    definition: LeadDefinition,
    *,
    half_lives=DEFAULT_HALF_LIVES,
    include=(),
    capacity: float | None = None,
    target_rate: float | None = None,
    pdo: float | None = None,
    split: str = "time",
    test_size: float = 0.3,
    clip: float = 50.0,
    weighting: str = "ipw",
    model: MQLCalibrator | None = None,
    note: str | None = None,
    features: FeatureSet | None = None,
    seed: np.random.Generator | int | None = 0,
    as_of: Any = None,
    discover: bool = False,
    max_rules: int | None = None,
) -> Calibration:
    """Features -> checks -> weights -> held-out evaluation -> final fit -> revised definition.

    ``sample_or_tables``: a :class:`leadsim.datasets.History` or a dict of
    ``leads``, ``activities`` and ``outcomes``; without ``outcomes`` but with
    a ``stage_log`` (and ``touches``) the outcomes are derived by
    :func:`leadsim.outcomes.from_history` as of ``as_of`` (the moment the
    history was exported; default: the latest time in the stage log and
    touches).  ``as_of`` is not used when outcomes are given.

    ``capacity`` (hand-offs per week sales can hold a conversation with) or
    ``target_rate`` (Lead -> Sales Lead) set the threshold; ``pdo`` fixes the
    points scale instead; none: the current volume is kept.  ``weighting``:
    ``"ipw"`` (inverse-propensity weights in every fit) or ``"none"``.  Pass ready
    ``features`` (built with ``definition``) to skip :func:`build_features`.

    ``discover=True`` runs criteria discovery
    (:func:`leadsim.calibration.discovery.discover`) on the training part of
    the split (all hand-offs with ``split="kfold"``): new rules are proposed,
    rules that add nothing dropped (at most ``max_rules`` kept), and the
    revised definition holds the survivors with calibrated points (rules
    whose points round to 0 are left out); the report gains ``proposals``
    and ``leakage``.
    """
    require_definition(definition, where="calibrate")
    derived = None
    if features is None:
        sample_or_tables, derived = _with_outcomes(sample_or_tables, definition, as_of)
    fs = features if features is not None else build_features(
        sample_or_tables, definition, half_lives=half_lives, include=include, seed=seed)
    definition = fs.definition
    _check_sufficiency(fs, derived)
    weights, sel = selection_weights(fs, clip)
    if weighting == "none":
        weights = np.ones(len(fs))
        sel["weighted"] = False
    elif weighting != "ipw":
        raise DataError(f"weighting {weighting!r}: use 'ipw' or 'none'", where="calibrate")
    notes = []
    if derived is not None:
        sel["derived_outcomes"] = derived
        notes.append(f"outcomes derived from the stage log as of {derived['as_of']}: {derived['handoffs']} hand-offs, "
                     f"{derived['unlabelled']} still inside their {derived['window_days']}-day SQL window "
                     "(unlabelled, left out)")
    if sel.get("unknown_propensity"):
        notes.append(f"{sel['unknown_propensity']} hand-off(s) without a propensity (exploration hand-offs the "
                     "stage log gives none for) weigh 1, so leads below the old threshold count less than they "
                     "should; add a propensity column to the stage log")
    if sel["exploration_handoffs"] == 0:
        notes.append("no exploration hand-offs: nothing is known about leads below the old threshold, so their "
                     "conversion is not estimated and the curve covers the handed-over leads only")
        sel["below_threshold_rate"] = None
    else:
        try:
            sel["below_threshold_rate"] = conversion_below_threshold(fs, weights)
        except DataError as err:
            sel["below_threshold_rate"] = None
            notes.append(err.message)
        handed = (fs.meta["handoff_reason"].astype(str) != "exploration").to_numpy()
        sel["handed_rate"] = float(fs.y.to_numpy(dtype=float)[handed].mean()) if handed.any() else None
    if sel.get("clipped"):
        notes.append(f"{sel['clipped']} inverse-propensity weight(s) clipped at {clip:g}")
    notes.extend(fs.notes)
    found = None
    if discover:
        fs, found = _discover(sample_or_tables, fs, weights, include=include, max_rules=max_rules, split=split,
                              test_size=test_size, seed=seed)
        notes.extend(found.notes)
    model = model if model is not None else MQLCalibrator(random_state=0)
    report = evaluate(fs, model=model, split=split, test_size=test_size, weights=weights, capacity=capacity,
                      target_rate=target_rate, pdo=pdo, seed=seed)
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from leadsim.calibration.delay import response_delay_effect
    from leadsim.calibration.evaluation import fit_points

    final, card, new, curve, more = fit_points(fs, model, weights=weights, capacity=capacity,
                                               target_rate=target_rate, pdo=pdo, note=note)
    notes.extend(more)
    if found is not None:
        from leadsim.calibration.discovery import drop_zero_rules
        from leadsim.calibration.gate_values import propose_gates

        zero = [r for r in card.points.index if card.points[r] == 0]
        new = drop_zero_rules(new)
        gate_rows, new = propose_gates(fs, new, previous=definition, weights=weights, time_ordered=split == "time",
                                       seed=_int_seed(seed))
        found.proposals = pd.concat([found.proposals, gate_rows], ignore_index=True)
        if zero:
            notes.append(f"rule(s) whose points round to 0 left out of the revised definition: {zero}")
    controls_model = None
    if fs.control_columns:
        with threadpool_limits(limits=1):
            controls_model = clone(model).fit(fs.X, fs.y.to_numpy(), sample_weight=weights)
    revised_score = fs.scorer.score(new)["score"].reindex(fs.X.index).to_numpy(dtype=float)
    report.delay = response_delay_effect(fs.meta.assign(score=revised_score), fs.y.to_numpy())
    report.scorecard, report.curve = card, curve
    report.selection = sel
    if found is not None:
        report.proposals, report.leakage = found.proposals, found.leakage
    report.notes.extend(notes)
    if report.delay is not None:
        report.notes.append(report.delay["text"])
    if fs.excluded:
        report.notes.append(f"rules left out (attributes recorded after hand-off or protected): {fs.excluded}")
    auc = report.metrics.get("roc_auc")
    if auc is not None and {"current definition", "revised definition"} <= set(auc.index):
        now, new_auc = float(auc["current definition"]), float(auc["revised definition"])
        if new_auc < now - 0.005:
            report.notes.append(
                f"the revised definition ranks the held-out hand-offs worse than the current one (ROC AUC "
                f"{new_auc:.3f} against {now:.3f}): keep the current points, or look for what the current definition "
                f"knows that the outcomes do not show (a response delay the controls explain, a change over time)")
    return Calibration(definition=new, previous=definition, model=final, features=fs, report=report,
                       weights=weights, notes=report.notes, controls_model=controls_model)


def _int_seed(seed) -> int:
    return seed if isinstance(seed, int) else int(np.random.default_rng(seed).integers(2**31))


def _discover(tables: Any, fs: FeatureSet, weights: np.ndarray, *, include, max_rules, split, test_size, seed):
    """Discovery on the training part; the features rebuilt for the extended definition (current scores kept)."""
    import dataclasses

    from leadsim.calibration.discovery import discover
    from leadsim.calibration.evaluation import splits

    if tables is None:
        raise DataError("criteria discovery needs the leads and activities tables, not only ready features",
                        where="calibrate")
    gen_seed = _int_seed(seed)
    train = np.sort(splits(fs, "time", test_size, 5, gen_seed)[0][0]) if split == "time" else np.arange(len(fs))
    found = discover(fs.subset(train), tables, weights=weights[train], include=include, max_rules=max_rules,
                     time_ordered=split == "time", seed=gen_seed)
    if split != "time":
        found.notes.append("criteria discovery used every hand-off, so the cross-validated comparison flatters the "
                           "revised definition a little (its rules were chosen on the same rows)")
    else:
        found.notes.append(f"criteria discovery used the older {1 - test_size:.0%} of the hand-offs only")
    again = build_features(tables, found.definition, half_lives=fs.half_life_days, include=include, seed=seed)
    fs = dataclasses.replace(again, current_score=fs.current_score.reindex(again.X.index),
                             half_life_scores=fs.half_life_scores, notes=fs.notes,
                             excluded=sorted(set(fs.excluded) | set(again.excluded)))
    return fs, found
