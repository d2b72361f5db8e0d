"""leadsim: make a written lead definition executable.

The public API reads like the domain: load a definition, ``score`` leads,
``audit`` hand-off SLAs, ``simulate`` lead flow, ``calibrate`` the points on
sales feedback, ``compare`` the heads' verdicts in the 100-companies exercise.

>>> import leadsim
>>> d = leadsim.load_definition()
>>> d.thresholds.mql
100.0

Names are imported on first use, so ``import leadsim`` (and the command line)
stays quick even though the simulation and calibration pull in SimPy and
scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # definition and errors
    "LeadDefinition": "leadsim.definition",
    "LeadsimError": "leadsim.errors",
    "LeadsimWarning": "leadsim.definition",
    "diff": "leadsim.definition",
    "load_definition": "leadsim.definition",
    # data
    "History": "leadsim.datasets",
    "load_sample": "leadsim.datasets",
    "make_history": "leadsim.datasets",
    "GroundTruth": "leadsim.datasets",
    "load_mapping": "leadsim.io",
    "read_table": "leadsim.io",
    "read_tables": "leadsim.io",
    "write_table": "leadsim.io",
    "from_history": "leadsim.outcomes",
    # scoring
    "contributions": "leadsim.scoring",
    "explain": "leadsim.scoring",
    "mql_events": "leadsim.scoring",
    "rule_matches": "leadsim.scoring",
    "score": "leadsim.scoring",
    # funnel and SLA
    "BusinessCalendar": "leadsim.calendar",
    "AuditResult": "leadsim.sla",
    "Waterfall": "leadsim.funnel",
    "audit": "leadsim.sla",
    "schedule": "leadsim.sla",
    "snapshot": "leadsim.funnel",
    "validate_stage_log": "leadsim.funnel",
    "velocity": "leadsim.funnel",
    "waterfall": "leadsim.funnel",
    "reason_breakdown": "leadsim.exits",
    # simulation
    "Scenario": "leadsim.simulation",
    "SimulationResult": "leadsim.simulation",
    "load_scenario": "leadsim.simulation",
    "replicate": "leadsim.simulation",
    "simulate": "leadsim.simulation",
    "sweep": "leadsim.simulation",
    "erlang_a": "leadsim.simulation",
    "erlang_c": "leadsim.simulation",
    "QueueMetrics": "leadsim.simulation",
    "Recommendation": "leadsim.simulation.advice",
    "recommend": "leadsim.simulation.advice",
    "backtest": "leadsim.simulation",
    "Backtest": "leadsim.simulation",
    # calibration
    "Calibration": "leadsim.calibration",
    "CalibrationReport": "leadsim.calibration",
    "FeatureSet": "leadsim.calibration",
    "Scorecard": "leadsim.calibration",
    "MQLCalibrator": "leadsim.calibration",
    "build_features": "leadsim.calibration",
    "calibrate": "leadsim.calibration",
    "calibrate_flat": "leadsim.calibration",
    "discover": "leadsim.calibration",
    "evaluate": "leadsim.calibration",
    "recalibrate": "leadsim.calibration",
    # the 100-companies exercise
    "AgreementReport": "leadsim.exercise",
    "as_labels": "leadsim.exercise",
    "compare": "leadsim.exercise",
    "read_verdicts": "leadsim.exercise",
    "sample_companies": "leadsim.exercise",
    "write_exercise": "leadsim.exercise",
    "write_worksheet": "leadsim.exercise",
    # reports
    "Report": "leadsim.report",
    "run_demo": "leadsim.demo",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time each name loads on first use
    from leadsim.calendar import BusinessCalendar
    from leadsim.calibration import (
        Calibration,
        CalibrationReport,
        FeatureSet,
        MQLCalibrator,
        Scorecard,
        build_features,
        calibrate,
        calibrate_flat,
        discover,
        evaluate,
        recalibrate,
    )
    from leadsim.datasets import GroundTruth, History, load_sample, make_history
    from leadsim.definition import LeadDefinition, LeadsimWarning, diff, load_definition
    from leadsim.demo import run_demo
    from leadsim.errors import LeadsimError
    from leadsim.exercise import (
        AgreementReport,
        as_labels,
        compare,
        read_verdicts,
        sample_companies,
        write_exercise,
        write_worksheet,
    )
    from leadsim.exits import reason_breakdown
    from leadsim.funnel import Waterfall, snapshot, validate_stage_log, velocity, waterfall
    from leadsim.io import load_mapping, read_table, read_tables, write_table
    from leadsim.outcomes import from_history
    from leadsim.report import Report
    from leadsim.scoring import contributions, explain, mql_events, rule_matches, score
    from leadsim.simulation import (
        Backtest,
        QueueMetrics,
        Scenario,
        SimulationResult,
        backtest,
        erlang_a,
        erlang_c,
        load_scenario,
        replicate,
        simulate,
        sweep,
    )
    from leadsim.simulation.advice import Recommendation, recommend
    from leadsim.sla import AuditResult, audit, schedule


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'leadsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
