"""Aggregate metrics across tasks: rliable's point estimators on one data shape.

Every function takes scores in the layout ``(n_runs, n_tasks)``: one row per
run (seed), one column per task (environment), each cell the run's score on
the task (for a recorded run: its mean episode return, see
:func:`agentreel.analysis.comparison.run_scores`). Any leading axes are batch
axes, so the same function evaluates one matrix or a whole block of bootstrap
resamples ``(n_resamples, n_runs, n_tasks)`` at once — the interval layer
(:mod:`agentreel.analysis.intervals`) relies on that.

The definitions are those of rliable 1.2.0 (Agarwal et al., 2021), checked
against it in ``tests/test_compare_rliable.py``:

* :func:`aggregate_mean` — mean over tasks of the per-task mean over runs;
* :func:`aggregate_median` — median over tasks of the per-task means;
* :func:`aggregate_iqm` — interquartile mean of all ``n_runs * n_tasks``
  scores (``scipy.stats.trim_mean(scores, 0.25, axis=None)``);
* :func:`optimality_gap` — ``gamma`` minus the mean of the scores clipped at
  ``gamma``: how far the runs fall short of a target, where doing better than
  the target earns nothing;
* :func:`probability_of_improvement` — per task, the Mann-Whitney ``U``
  statistic over ``n_x * n_y``: ``P(X > Y) + P(X = Y) / 2`` for a random run of
  each; averaged over tasks;
* :func:`score_distribution` (run-score distribution: the fraction of all
  runs on all tasks scoring above each threshold ``tau``) and
  :func:`average_score_distribution` (the fraction of tasks whose mean score
  is above ``tau``) — the two performance profiles;
* :func:`normalize_scores` — ``(score - low) / (high - low)`` per task, e.g.
  with a random policy's score as ``low`` and a reference score as ``high``.

Example:
    >>> scores = np.array([[0.1, 0.9], [0.3, 1.3], [0.2, 0.5], [0.6, 1.0]])
    >>> float(aggregate_mean(scores)), float(aggregate_median(scores))
    (0.6125, 0.6125)
    >>> round(float(aggregate_iqm(scores)), 4), round(float(optimality_gap(scores)), 4)
    (0.575, 0.425)
    >>> float(probability_of_improvement(scores[:2], scores[2:]))
    0.5
    >>> score_distribution(scores, [0.0, 0.5, 1.0]).tolist()
    [1.0, 0.5, 0.125]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agentreel.analysis.bootstrap import trimmed_mean_rows

__all__ = [
    "AGGREGATES",
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "as_score_matrix",
    "average_score_distribution",
    "normalize_scores",
    "optimality_gap",
    "probability_of_improvement",
    "score_distribution",
    "task_improvement_probabilities",
]

SCORES_LAYOUT = "(n_runs, n_tasks): one row per run (seed), one column per task"


def as_score_matrix(scores: Any, name: str = "scores") -> np.ndarray:
    """Check a ``(n_runs, n_tasks)`` score matrix; return it as float64.

    >>> as_score_matrix([[1, 2], [3, 4]]).shape
    (2, 2)
    >>> as_score_matrix([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: scores must be 2-D in layout (n_runs, n_tasks): one row per run (seed), one column per task; got shape (2,) (for one task pass scores[:, None])
    """
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array in layout {SCORES_LAYOUT}: {err}") from err
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D in layout {SCORES_LAYOUT}; got shape {arr.shape}"
                         " (for one task pass scores[:, None])")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); layout is {SCORES_LAYOUT}")
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite value at run {bad[0]}, task {bad[1]}; "
                         "every score must be a finite number")
    return arr


def aggregate_mean(scores: Any) -> np.ndarray:
    """Mean over tasks of each task's mean over runs (axes ``-2, -1``).

    >>> float(aggregate_mean([[1.0, 10.0], [3.0, 10.0]]))
    6.0
    """
    return np.asarray(scores, dtype=np.float64).mean(axis=-2).mean(axis=-1)


def aggregate_median(scores: Any) -> np.ndarray:
    """Median over tasks of each task's mean over runs.

    >>> float(aggregate_median([[1.0, 10.0, 4.0], [3.0, 10.0, 4.0]]))
    4.0
    """
    return np.median(np.asarray(scores, dtype=np.float64).mean(axis=-2), axis=-1)


def aggregate_iqm(scores: Any) -> np.ndarray:
    """Interquartile mean of all runs on all tasks pooled (25% trimmed from each end).

    >>> float(aggregate_iqm([[0.0, 1.0], [2.0, 100.0]]))  # drops 0 and 100
    1.5
    """
    arr = np.asarray(scores, dtype=np.float64)
    return trimmed_mean_rows(arr.reshape(*arr.shape[:-2], -1), 0.25)


def optimality_gap(scores: Any, gamma: float = 1.0) -> np.ndarray:
    """``gamma`` minus the mean of the scores clipped at ``gamma`` (lower is better).

    >>> float(optimality_gap([[0.5, 2.0]]))  # 1 - mean(0.5, 1.0)
    0.25
    """
    arr = np.asarray(scores, dtype=np.float64)
    return gamma - np.minimum(arr, gamma).mean(axis=(-2, -1))


def task_improvement_probabilities(scores_x: Any, scores_y: Any) -> np.ndarray:
    """Per task, ``P(X > Y) + P(X = Y) / 2`` for a random run of X and one of Y.

    ``scores_x`` is ``(..., n_x, n_tasks)`` and ``scores_y`` ``(..., n_y, n_tasks)``
    (the run counts may differ); the result is ``(..., n_tasks)``.

    >>> task_improvement_probabilities([[2.0, 0.0], [3.0, 0.0]], [[1.0, 0.0]]).tolist()
    [1.0, 0.5]
    """
    x = np.asarray(scores_x, dtype=np.float64)
    y = np.asarray(scores_y, dtype=np.float64)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"scores_x has {x.shape[-1]} task(s) and scores_y {y.shape[-1]}; "
                         "both need the same tasks in the same column order")
    xa = x[..., :, None, :]
    ya = y[..., None, :, :]
    wins = (xa > ya).mean(axis=(-3, -2))
    ties = (xa == ya).mean(axis=(-3, -2))
    return wins + 0.5 * ties


def probability_of_improvement(scores_x: Any, scores_y: Any) -> np.ndarray:
    """Average over tasks of :func:`task_improvement_probabilities`: P(X > Y).

    0.5 means neither is better; rliable calls X better than Y "with
    statistical meaning" when the upper end of the interval is below 1 and the lower
    end is above 0.5.

    >>> float(probability_of_improvement([[2.0], [3.0]], [[1.0], [2.5]]))
    0.75
    """
    return task_improvement_probabilities(scores_x, scores_y).mean(axis=-1)


def _check_taus(taus: Any) -> np.ndarray:
    arr = np.asarray(taus, dtype=np.float64).ravel()
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError("taus must be one or more finite thresholds")
    return arr


def score_distribution(scores: Any, taus: Any) -> np.ndarray:
    """Run-score distribution: the fraction of scores (all runs, all tasks) above each tau.

    Returns shape ``(..., len(taus))``.

    >>> score_distribution([[0.0, 1.0], [2.0, 3.0]], [0.5, 2.5]).tolist()
    [0.75, 0.25]
    """
    arr = np.asarray(scores, dtype=np.float64)
    flat = arr.reshape(*arr.shape[:-2], -1)
    t = _check_taus(taus)
    # One comparison pass per threshold (no per-resample loop; memory stays at one pass).
    return np.stack([(flat > tau).mean(axis=-1) for tau in t], axis=-1)


def average_score_distribution(scores: Any, taus: Any) -> np.ndarray:
    """The fraction of tasks whose mean score over runs is above each tau.

    >>> average_score_distribution([[0.0, 1.0], [2.0, 3.0]], [0.5, 2.5]).tolist()
    [1.0, 0.0]
    """
    means = np.asarray(scores, dtype=np.float64).mean(axis=-2)
    t = _check_taus(taus)
    return (means[..., :, None] > t).mean(axis=-2)


def normalize_scores(
    scores: Any,
    low: Sequence[float] | np.ndarray | float,
    high: Sequence[float] | np.ndarray | float,
) -> np.ndarray:
    """Scores rescaled per task: ``(score - low) / (high - low)`` (the last axis is tasks).

    ``low`` and ``high`` are one number each or one per task, e.g. a random
    policy's and a reference (human, expert) score; then 0 is random and 1 the
    reference.

    >>> normalize_scores([[10.0, 300.0]], low=[0.0, 100.0], high=[20.0, 500.0]).tolist()
    [[0.5, 0.5]]
    """
    arr = np.asarray(scores, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    for name, bound in (("low", lo), ("high", hi)):
        if bound.ndim > 1 or (bound.ndim == 1 and bound.size != arr.shape[-1]):
            raise ValueError(f"{name} must be one number or one per task ({arr.shape[-1]}), "
                             f"got shape {bound.shape}")
        if not np.isfinite(bound).all():
            raise ValueError(f"{name} must be finite numbers")
    span = hi - lo
    if np.any(span == 0):
        raise ValueError("high equals low for a task: the normalised score is undefined")
    return (arr - lo) / span


#: The aggregate metrics by name (each maps ``(..., n_runs, n_tasks)`` to ``(...)``).
AGGREGATES: Mapping[str, Any] = {
    "mean": aggregate_mean,
    "median": aggregate_median,
    "iqm": aggregate_iqm,
    "optimality_gap": optimality_gap,
}
