"""Analysis of recorded episodes: pure numpy functions that return numbers.

Nothing here draws or imports matplotlib; :mod:`agentreel.report.plots` and the
report present what these functions compute (the rliable split).

* :func:`summarize`, :func:`summarize_records` — one run: mean, std, median,
  IQM, min/max, success rate, mean length, bootstrap intervals.
* :func:`summarize_runs` — several runs (seeds): per-run means, mean of means
  with a stratified or hierarchical bootstrap interval, pooled IQM.
* :func:`iqm`, :func:`bootstrap_ci`, :func:`runs_bootstrap_ci` — the pieces.
* :func:`moving_average`, :func:`learning_curve`, :func:`aggregate_curves` —
  curves against episodes, steps or time.
* Across tasks, on ``(n_runs, n_tasks)`` scores (rliable's estimators):
  :func:`aggregate_mean`, :func:`aggregate_median`, :func:`aggregate_iqm`,
  :func:`optimality_gap`, :func:`probability_of_improvement`,
  :func:`score_distribution`, :func:`average_score_distribution`,
  :func:`normalize_scores`; their stratified-bootstrap intervals
  :func:`interval_estimates`, :func:`probability_of_improvement_interval`,
  :func:`difference_interval`, :func:`performance_profiles`, :func:`metric_curve`;
  and :func:`compare_scores`, everything ``agentreel compare`` prints.

Example:
    >>> from agentreel.analysis import summarize
    >>> summarize([1.0, 2.0, 3.0], seed=0).mean
    2.0
"""

from __future__ import annotations

from agentreel.analysis.aggregate import (
    aggregate_iqm,
    aggregate_mean,
    aggregate_median,
    average_score_distribution,
    normalize_scores,
    optimality_gap,
    probability_of_improvement,
    score_distribution,
)
from agentreel.analysis.bootstrap import (
    STATISTICS,
    bootstrap_ci,
    bootstrap_distribution,
    iqm,
    percentile_interval,
    runs_bootstrap_ci,
    runs_bootstrap_distribution,
    trimmed_mean_rows,
)
from agentreel.analysis.comparison import Comparison, compare_scores
from agentreel.analysis.curves import (
    METRICS,
    X_AXES,
    AggregateCurve,
    LearningCurve,
    aggregate_curves,
    default_window,
    learning_curve,
    moving_average,
    smooth,
)
from agentreel.analysis.intervals import (
    Curve,
    Estimate,
    Profile,
    difference_interval,
    interval_estimates,
    metric_curve,
    performance_profiles,
    probability_of_improvement_interval,
)
from agentreel.analysis.summary import (
    RunsSummary,
    Summary,
    summarize,
    summarize_records,
    summarize_runs,
)
from agentreel.analysis.validate import LayoutWarning

__all__ = [
    "Comparison",
    "Curve",
    "Estimate",
    "Profile",
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "average_score_distribution",
    "compare_scores",
    "difference_interval",
    "interval_estimates",
    "metric_curve",
    "normalize_scores",
    "optimality_gap",
    "performance_profiles",
    "probability_of_improvement",
    "probability_of_improvement_interval",
    "score_distribution",
    "STATISTICS",
    "METRICS",
    "X_AXES",
    "AggregateCurve",
    "LayoutWarning",
    "LearningCurve",
    "RunsSummary",
    "Summary",
    "aggregate_curves",
    "bootstrap_ci",
    "bootstrap_distribution",
    "default_window",
    "iqm",
    "learning_curve",
    "moving_average",
    "percentile_interval",
    "runs_bootstrap_ci",
    "runs_bootstrap_distribution",
    "smooth",
    "summarize",
    "summarize_records",
    "summarize_runs",
    "trimmed_mean_rows",
]
