"""Matplotlib figures used by the notebooks and the report.

Every function takes ``ax=None`` (a new figure when None) and returns the axes,
so notebooks and reports compose them.  One module per area; all re-exported
here.
"""

from leadsim.plots.calibration import plot_gain, plot_lift, plot_points, plot_reliability, plot_volume_precision
from leadsim.plots.exercise import plot_agreement_matrix, plot_scores_by_verdict
from leadsim.plots.funnel import plot_sla_breach, plot_time_in_stage, plot_waterfall
from leadsim.plots.scoring import plot_grade_engagement, plot_score_distribution
from leadsim.plots.simulation import breach_heatmap, kpi_vs_parameter, queue_over_time

__all__ = [
    "breach_heatmap",
    "kpi_vs_parameter",
    "plot_agreement_matrix",
    "plot_gain",
    "plot_grade_engagement",
    "plot_lift",
    "plot_points",
    "plot_reliability",
    "plot_score_distribution",
    "plot_scores_by_verdict",
    "plot_sla_breach",
    "plot_time_in_stage",
    "plot_volume_precision",
    "plot_waterfall",
    "queue_over_time",
]
