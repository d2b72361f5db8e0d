"""Calibration from sales feedback: SQL outcomes -> a revised lead definition.

* :func:`build_features` — one row per hand-off as of its ``handed_at``, in
  the definition's rule forms;
* :class:`MQLCalibrator` — a scikit-learn regularised logistic model;
* :func:`evaluate` — held-out comparison with the current definition and naive Bayes;
* :func:`scorecard`, :func:`recommend_threshold`, :func:`recalibrate` — model to rules;
* :func:`calibrate` — the whole workflow, with data-sufficiency checks and
  selection-bias weights.
"""

from leadsim.calibration.estimator import MQLCalibrator
from leadsim.calibration.evaluation import (
    CalibrationReport,
    evaluate,
    expected_calibration_error,
    lift_table,
    reliability_table,
)
from leadsim.calibration.features import FeatureSet, build_features, parse_outcome
from leadsim.calibration.scorecard import Scorecard, diff_markdown, recalibrate, recommend_threshold, scorecard
from leadsim.calibration.workflow import Calibration, calibrate, conversion_below_threshold, selection_weights

__all__ = [
    "Calibration",
    "CalibrationReport",
    "FeatureSet",
    "MQLCalibrator",
    "Scorecard",
    "build_features",
    "calibrate",
    "conversion_below_threshold",
    "diff_markdown",
    "evaluate",
    "expected_calibration_error",
    "lift_table",
    "parse_outcome",
    "recalibrate",
    "recommend_threshold",
    "reliability_table",
    "scorecard",
    "selection_weights",
]
