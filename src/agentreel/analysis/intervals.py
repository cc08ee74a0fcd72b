"""Stratified-bootstrap interval estimates of the aggregate metrics (rliable's interval layer).

A *stratified* bootstrap keeps every task and redraws runs with replacement
within each task: resample ``b`` of a ``(n_runs, n_tasks)`` matrix takes, for
every cell ``(i, t)``, the score of a run drawn uniformly from task ``t``'s
runs. The interval of a metric is the percentile interval of the metric over
the resamples. With ``task_bootstrap=True`` the tasks are redrawn too (the
estimate then also covers "on other tasks like these").

Everything is vectorised: the resamples are drawn as one index block
``(n_resamples, n_runs, n_tasks)`` per chunk (chunks keep memory near 16 MB)
and the metrics of :mod:`agentreel.analysis.aggregate` evaluate the whole
block at once — there is no Python loop over resamples (``bench/compare_bench.py``
times 100 tasks x 10 runs x 2 algorithms). ``seed`` (an int or a
``np.random.Generator``) makes every interval reproducible.

Example:
    >>> rng = np.random.default_rng(0)
    >>> scores = {"A": rng.normal(1.0, 0.2, (5, 3)), "B": rng.normal(1.5, 0.2, (5, 3))}
    >>> est = interval_estimates(scores, "iqm", n_resamples=2000, seed=0)
    >>> est["A"].low < est["A"].point < est["A"].high
    True
    >>> poi = probability_of_improvement_interval(scores["B"], scores["A"], seed=0)
    >>> round(poi.point, 2), poi.high <= 1.0
    (1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentreel.analysis.aggregate import (
    AGGREGATES,
    as_score_matrix,
    average_score_distribution,
    score_distribution,
    task_improvement_probabilities,
)
from agentreel.analysis.bootstrap import _CHUNK_ELEMENTS
from agentreel.analysis.validate import check_confidence, check_n_resamples, make_rng

__all__ = [
    "Curve",
    "Estimate",
    "Profile",
    "bootstrap_metric",
    "interval_estimates",
    "metric_curve",
    "percentile_bounds",
    "performance_profiles",
    "probability_of_improvement_interval",
    "difference_interval",
    "stratified_resamples",
]

Seed = int | np.random.Generator | None
Metric = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap interval.

    ``point``, ``low`` and ``high`` are floats for a scalar metric and lists for a
    vector one (a performance profile).
    """

    point: Any
    low: Any
    high: Any
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"point": self.point, "ci": [self.low, self.high],
                "confidence": self.confidence, "n_resamples": self.n_resamples}


@dataclass(frozen=True)
class Profile:
    """A performance profile: ``values[k]`` is the fraction above ``taus[k]``, with a CI band."""

    taus: list[float]
    values: list[float]
    low: list[float]
    high: list[float]
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"taus": self.taus, "values": self.values, "low": self.low, "high": self.high,
                "confidence": self.confidence, "n_resamples": self.n_resamples}


def percentile_bounds(samples: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds over axis 0 (linear interpolation).

    >>> [float(v) for v in percentile_bounds(np.arange(101.0), 0.9)]
    [5.0, 95.0]
    """
    c = check_confidence(confidence)
    alpha = round(50.0 * (1.0 - c), 10)
    low, high = np.percentile(np.asarray(samples, dtype=np.float64), [alpha, 100.0 - alpha], axis=0)
    return low, high


def _resolve(metric: str | Metric) -> Metric:
    if callable(metric):
        return metric
    try:
        return AGGREGATES[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; use one of {sorted(AGGREGATES)} or a "
                         "function mapping (..., n_runs, n_tasks) scores to (...) values") from None


def stratified_resamples(
    scores: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    task_bootstrap: bool = False,
) -> Iterator[np.ndarray]:
    """Yield blocks ``(size, n_runs, n_tasks)`` of stratified resamples, ``n_resamples`` in all.

    >>> blocks = list(stratified_resamples(np.eye(3), 5, np.random.default_rng(0)))
    >>> [b.shape for b in blocks]
    [(5, 3, 3)]
    """
    n_runs, n_tasks = scores.shape
    rows = max(1, _CHUNK_ELEMENTS // (n_runs * n_tasks))
    columns = np.arange(n_tasks)
    done = 0
    while done < n_resamples:
        size = min(rows, n_resamples - done)
        runs = rng.integers(0, n_runs, size=(size, n_runs, n_tasks), dtype=np.intp)
        if task_bootstrap:
            tasks = rng.integers(0, n_tasks, size=(size, 1, n_tasks), dtype=np.intp)
            yield scores[runs, tasks]
        else:
            yield scores[runs, columns]
        done += size


def bootstrap_metric(
    scores: Any,
    metric: str | Metric,
    *,
    n_resamples: int = 2000,
    seed: Seed = None,
    task_bootstrap: bool = False,
) -> np.ndarray:
    """The metric on ``n_resamples`` stratified resamples: shape ``(n_resamples, ...)``.

    >>> bootstrap_metric(np.ones((3, 2)), "mean", n_resamples=4, seed=0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    arr = as_score_matrix(scores)
    fn = _resolve(metric)
    rng = make_rng(seed)
    n = check_n_resamples(n_resamples)
    return np.concatenate([np.asarray(fn(block)) for block in
                           stratified_resamples(arr, n, rng, task_bootstrap=task_bootstrap)])


def _plain(value: Any) -> Any:
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def interval_estimates(
    score_dict: Mapping[str, Any],
    metric: str | Metric,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = None,
    task_bootstrap: bool = False,
) -> dict[str, Estimate]:
    """Point estimate and stratified-bootstrap interval of ``metric`` for each algorithm.

    Args:
        score_dict: algorithm name -> ``(n_runs, n_tasks)`` scores.
        metric: ``"mean"``, ``"median"``, ``"iqm"``, ``"optimality_gap"`` or a
            function of ``(..., n_runs, n_tasks)`` scores.
        confidence: the interval's coverage.
        n_resamples: bootstrap resamples (rliable's ``reps``).
        seed: int or ``np.random.Generator``; one generator serves the algorithms in order.
        task_bootstrap: redraw tasks as well as runs.
    """
    check_confidence(confidence)
    rng = make_rng(seed)
    fn = _resolve(metric)
    out = {}
    for name, scores in score_dict.items():
        arr = as_score_matrix(scores, name=f"scores of {name!r}")
        dist = bootstrap_metric(arr, fn, n_resamples=n_resamples, seed=rng,
                                task_bootstrap=task_bootstrap)
        low, high = percentile_bounds(dist, confidence)
        out[name] = Estimate(_plain(fn(arr)), _plain(low), _plain(high), confidence, n_resamples)
    return out


def _poi_distribution(x: np.ndarray, y: np.ndarray, n_resamples: int,
                      rng: np.random.Generator) -> np.ndarray:
    """P(X > Y) on independent stratified resamples of ``x`` and ``y``."""
    per_resample = x.shape[0] * y.shape[0] * x.shape[1]
    rows = max(1, _CHUNK_ELEMENTS // per_resample)
    out = []
    done = 0
    while done < n_resamples:
        size = min(rows, n_resamples - done)
        (bx,) = stratified_resamples(x, size, rng)
        (by,) = stratified_resamples(y, size, rng)
        out.append(task_improvement_probabilities(bx, by).mean(axis=-1))
        done += size
    return np.concatenate(out)


def probability_of_improvement_interval(
    scores_x: Any,
    scores_y: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = None,
) -> Estimate:
    """P(X > Y) averaged over tasks, with its interval (X and Y resampled independently).

    ``scores_x`` is ``(n_x, n_tasks)``, ``scores_y`` ``(n_y, n_tasks)``; run counts may differ.
    """
    check_confidence(confidence)
    x = as_score_matrix(scores_x, "scores_x")
    y = as_score_matrix(scores_y, "scores_y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_x has {x.shape[1]} task(s) and scores_y {y.shape[1]}; "
                         "both need the same tasks in the same column order")
    dist = _poi_distribution(x, y, check_n_resamples(n_resamples), make_rng(seed))
    low, high = percentile_bounds(dist, confidence)
    point = task_improvement_probabilities(x, y).mean()
    return Estimate(float(point), float(low), float(high), confidence, n_resamples)


def difference_interval(
    scores_x: Any,
    scores_y: Any,
    metric: str | Metric = "iqm",
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = None,
) -> Estimate:
    """``metric(Y) - metric(X)`` with an interval from independent stratified resamples.

    >>> d = difference_interval([[1.0], [2.0]], [[3.0], [4.0]], "mean", seed=0)
    >>> d.point, d.low >= 1.0
    (2.0, True)
    """
    check_confidence(confidence)
    fn = _resolve(metric)
    x = as_score_matrix(scores_x, "scores_x")
    y = as_score_matrix(scores_y, "scores_y")
    rng = make_rng(seed)
    n = check_n_resamples(n_resamples)
    dist = bootstrap_metric(y, fn, n_resamples=n, seed=rng) - bootstrap_metric(
        x, fn, n_resamples=n, seed=rng)
    low, high = percentile_bounds(dist, confidence)
    return Estimate(float(fn(y) - fn(x)), float(low), float(high), confidence, n)


def performance_profiles(
    score_dict: Mapping[str, Any],
    taus: Any,
    *,
    use_score_distribution: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = None,
    task_bootstrap: bool = False,
) -> dict[str, Profile]:
    """Performance profiles with stratified-bootstrap bands, one per algorithm.

    ``use_score_distribution=True`` gives the run-score distribution (fraction of
    runs on all tasks above each tau; rliable's default, the smaller-variance
    one); ``False`` the average-score distribution (fraction of tasks whose mean
    is above tau).

    >>> p = performance_profiles({"A": [[0.0, 1.0], [2.0, 3.0]]}, [0.5, 2.5], seed=0)
    >>> p["A"].values
    [0.75, 0.25]
    """
    t = np.asarray(taus, dtype=np.float64).ravel()
    fn = score_distribution if use_score_distribution else average_score_distribution
    estimates = interval_estimates(score_dict, lambda s: fn(s, t), confidence=confidence,
                                   n_resamples=n_resamples, seed=seed,
                                   task_bootstrap=task_bootstrap)
    return {name: Profile(t.tolist(), list(e.point), list(e.low), list(e.high), confidence,
                          n_resamples) for name, e in estimates.items()}


@dataclass(frozen=True)
class Curve:
    """A metric against training progress with its CI band (a sample-efficiency curve)."""

    x: list[float]
    values: list[float]
    low: list[float]
    high: list[float]
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"x": self.x, "values": self.values, "low": self.low, "high": self.high,
                "confidence": self.confidence, "n_resamples": self.n_resamples}


def metric_curve(
    scores: Any,
    x: Any,
    metric: str | Metric = "iqm",
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = None,
) -> Curve:
    """``metric`` at each point of training: ``scores`` is ``(n_runs, n_tasks, n_points)``.

    Point ``k`` is the metric of ``scores[:, :, k]`` with its stratified-bootstrap
    interval (rliable's sample-efficiency curve; one bootstrap per point).

    >>> c = metric_curve(np.arange(12.0).reshape(2, 2, 3), [10, 20, 30], "mean", seed=0)
    >>> c.values
    [4.5, 5.5, 6.5]
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"scores must be (n_runs, n_tasks, n_points), got shape {arr.shape}")
    xs = np.asarray(x, dtype=np.float64).ravel()
    if xs.size != arr.shape[2]:
        raise ValueError(f"x has {xs.size} points but scores have {arr.shape[2]}")
    fn = _resolve(metric)
    rng = make_rng(seed)
    values, lows, highs = [], [], []
    for k in range(arr.shape[2]):
        matrix = as_score_matrix(arr[:, :, k])
        dist = bootstrap_metric(matrix, fn, n_resamples=n_resamples, seed=rng)
        low, high = percentile_bounds(dist, confidence)
        values.append(float(fn(matrix)))
        lows.append(float(low))
        highs.append(float(high))
    return Curve(xs.tolist(), values, lows, highs, confidence, n_resamples)
