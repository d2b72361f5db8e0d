"""Calibration from sales feedback: SQL outcomes -> a revised lead definition."""

from leadsim.calibration.estimator import MQLCalibrator

__all__ = ["MQLCalibrator"]
