"""Calibration from sales feedback: SQL outcomes -> a revised lead definition.

* :func:`build_features` — one row per hand-off as of its ``handed_at``, in
  the definition's rule forms;
* :class:`MQLCalibrator` — a scikit-learn regularised logistic model;
* :func:`evaluate` — held-out comparison with the current definition and naive Bayes;
* :func:`scorecard`, :func:`recommend_threshold`, :func:`recalibrate` — model to rules;
* :func:`calibrate` — the whole workflow, with data-sufficiency checks and
  selection-bias weights;
* :func:`discover` — criteria discovery: rules the definition lacks (monotone
  bins from :func:`monotone_edges`, level groups from :func:`level_groups`,
  activity kinds and details), rules that add nothing pruned;
* :func:`propose_gates` — gate values (minimum behaviour, minimum grade) proposed like rules;
* :func:`leakage_screen` — the leakage guard: columns that know the outcome;
* :func:`calibrate_flat` — a definition from a flat lead export (one row per lead).
"""

from leadsim.calibration.binning import level_groups, monotone_edges
from leadsim.calibration.discovery import Discovery, describe_rule, discover
from leadsim.calibration.estimator import MQLCalibrator
from leadsim.calibration.evaluation import (
    CalibrationReport,
    evaluate,
    expected_calibration_error,
    lift_table,
    reliability_table,
)
from leadsim.calibration.features import FeatureSet, build_features, parse_outcome
from leadsim.calibration.flat import calibrate_flat, flat_definition, score_flat
from leadsim.calibration.gate_values import propose_gates
from leadsim.calibration.leakage import leakage_screen
from leadsim.calibration.scorecard import Scorecard, diff_markdown, recalibrate, recommend_threshold, scorecard
from leadsim.calibration.workflow import Calibration, calibrate, conversion_below_threshold, selection_weights

__all__ = [
    "Calibration",
    "CalibrationReport",
    "Discovery",
    "FeatureSet",
    "MQLCalibrator",
    "Scorecard",
    "build_features",
    "calibrate",
    "calibrate_flat",
    "conversion_below_threshold",
    "describe_rule",
    "diff_markdown",
    "discover",
    "evaluate",
    "expected_calibration_error",
    "flat_definition",
    "leakage_screen",
    "level_groups",
    "lift_table",
    "monotone_edges",
    "parse_outcome",
    "propose_gates",
    "recalibrate",
    "recommend_threshold",
    "reliability_table",
    "score_flat",
    "scorecard",
    "selection_weights",
]
