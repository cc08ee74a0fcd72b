"""Learning curves: per-episode values against episodes, steps or time.

Pure numpy; :mod:`agentreel.report.plots` draws what these functions return.

Example:
    >>> x, y = moving_average([1.0, 2.0, 3.0, 4.0], 2)
    >>> x.tolist(), y.tolist()
    ([1, 2, 3], [1.5, 2.5, 3.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from agentreel.analysis.validate import (
    as_scores,
    check_confidence,
    check_n_resamples,
    make_rng,
)
from agentreel.core.records import EpisodeRecord

__all__ = [
    "X_AXES",
    "METRICS",
    "LearningCurve",
    "AggregateCurve",
    "moving_average",
    "smooth",
    "default_window",
    "learning_curve",
    "aggregate_curves",
]

#: Accepted ``x`` choices and their axis labels.
X_AXES = {"episodes": "episode", "steps": "environment steps", "time": "time (s)"}
#: Accepted ``metric`` choices and their axis labels.
METRICS = {"return": "episode return", "length": "episode length"}


def moving_average(values: Any, window: int, x: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Trailing moving average in "valid" mode.

    Output ``i`` is the mean of ``values[i : i + window]`` and is placed at the
    window's *last* position, so the result has ``len(values) - window + 1``
    points and never uses a value from the future.

    Args:
        values: 1-D values.
        window: window size, ``1 <= window <= len(values)``.
        x: optional positions of ``values`` (default ``0, 1, 2, ...``).

    Returns:
        ``(x_out, averages)``, ``x_out = x[window - 1:]``.

    >>> moving_average([0.0, 10.0, 20.0], 3, x=[5, 6, 7])
    (array([7]), array([10.]))
    """
    y = as_scores(values, name="values")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if window > y.size:
        raise ValueError(f"window ({window}) is larger than the number of values ({y.size})")
    if x is None:
        xs = np.arange(y.size)
    else:
        xs = np.asarray(x)
        if xs.shape != y.shape:
            raise ValueError(f"x has shape {xs.shape} but values has shape {y.shape}")
    csum = np.concatenate([[0.0], np.cumsum(y)])
    averages = (csum[window:] - csum[:-window]) / window
    return xs[window - 1 :], averages


def smooth(values: Any, window: int) -> np.ndarray:
    """:func:`moving_average` aligned with ``values``: NaN for the first ``window - 1``.

    >>> smooth([1.0, 3.0, 5.0], 2).tolist()
    [nan, 2.0, 4.0]
    """
    y = as_scores(values, name="values")
    out = np.full(y.size, np.nan)
    _, averages = moving_average(y, window)
    out[window - 1 :] = averages
    return out


def default_window(n: int) -> int:
    """The window used when none is given: a tenth of the episodes, from 1 to 50.

    >>> default_window(5), default_window(300), default_window(10_000)
    (1, 30, 50)
    """
    return int(min(50, max(1, n // 10)))


class LearningCurve(NamedTuple):
    """Arrays of one run's curve, all of the same length (unpacks as ``x, y, y_smoothed``).

    ``y_smoothed`` is the trailing moving average, NaN until the window is full.
    """

    x: np.ndarray
    y: np.ndarray
    y_smoothed: np.ndarray


def _check_choice(value: str, choices: dict[str, str], name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _records(records: Sequence[EpisodeRecord], name: str = "records") -> list[EpisodeRecord]:
    records = list(records)
    if not records:
        raise ValueError(f"{name} is empty: at least one EpisodeRecord is needed")
    for r in records:
        if not isinstance(r, EpisodeRecord):
            raise ValueError(f"{name} must hold EpisodeRecord objects, got {type(r).__name__}")
    return records


def learning_curve(
    records: Sequence[EpisodeRecord],
    *,
    x: str = "episodes",
    metric: str = "return",
    window: int | None = None,
) -> LearningCurve:
    """One run's learning curve, in the order the records are given.

    Args:
        records: the run's episodes, in the order they finished.
        x: the x-axis:

            * ``"episodes"`` — the record's position, 0, 1, 2, ...;
            * ``"steps"`` — cumulative environment steps at each episode's end
              (running sum of ``length``); for evaluation records that carry the
              training step (``extras["training_step"]``, :mod:`agentreel.sb3`), that step;
            * ``"time"`` — seconds at each episode's end: ``elapsed`` when every
              record has it, else ``end_time`` relative to the first episode's
              start (``end_time - duration`` of the first record).
        metric: ``"return"`` or ``"length"``.
        window: moving-average window; ``None`` uses :func:`default_window`,
            and a window longer than the run is shortened to the run.

    >>> recs = [EpisodeRecord(index=i, episode_return=float(i), length=10) for i in range(4)]
    >>> c = learning_curve(recs, x="steps", window=2)
    >>> c.x.tolist(), c.y_smoothed.tolist()
    ([10, 20, 30, 40], [nan, 0.5, 1.5, 2.5])
    """
    records = _records(records)
    _check_choice(x, X_AXES, "x")
    _check_choice(metric, METRICS, "metric")
    if metric == "return":
        y = np.array([r.episode_return for r in records], dtype=np.float64)
    else:
        y = np.array([r.length for r in records], dtype=np.float64)
    y = as_scores(y, name=f"episode {metric}s")
    if x == "episodes":
        xs = np.arange(len(records))
    elif x == "steps" and all(isinstance(r.extras.get("training_step"), int) for r in records):
        xs = np.array([r.extras["training_step"] for r in records])  # evaluations during training
    elif x == "steps":
        xs = np.cumsum([int(r.length) for r in records])
    elif all(r.elapsed is not None for r in records):
        xs = np.array([r.elapsed for r in records], dtype=np.float64)
    else:
        start = records[0].end_time - records[0].duration
        xs = np.array([r.end_time - start for r in records], dtype=np.float64)
    w = default_window(y.size) if window is None else window
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
        raise ValueError(f"window must be an integer >= 1 or None, got {window!r}")
    return LearningCurve(xs, y, smooth(y, min(int(w), y.size)))


class AggregateCurve(NamedTuple):
    """Several runs' curves on one grid: mean and a bootstrap band over runs."""

    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_runs: int


def aggregate_curves(
    curves: Sequence[tuple[Any, Any]],
    *,
    n_points: int = 200,
    integer_grid: bool = False,
    confidence: float = 0.95,
    n_resamples: int = 2_000,
    seed: int | np.random.Generator | None = None,
) -> AggregateCurve:
    """Mean of several runs' curves on a common grid, with a bootstrap band over runs.

    Each curve is ``(x, y)`` with increasing ``x``; NaN ``y`` (an unfilled
    moving-average window) are dropped first. The grid spans the x-range that
    *every* run covers (from the largest first x to the smallest last x), so
    the mean never mixes in extrapolated values; each run is linearly
    interpolated onto it (``np.interp``). With ``integer_grid=True`` (episode
    numbers) the grid is every integer in that range, so no interpolation
    happens. At each grid point the band is the percentile-bootstrap interval
    of the mean over runs (runs resampled with replacement; with few runs the
    band is coarse — 3 runs give only 10 distinct resamples).

    >>> a = aggregate_curves([([0, 1, 2], [0.0, 1.0, 2.0]), ([0, 1, 2], [2.0, 3.0, 4.0])],
    ...                      integer_grid=True, seed=0)
    >>> a.x.tolist(), a.mean.tolist()
    ([0, 1, 2], [1.0, 2.0, 3.0])
    """
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    cleaned = []
    for i, (cx, cy) in enumerate(curves):
        cx = np.asarray(cx, dtype=np.float64)
        cy = np.asarray(cy, dtype=np.float64)
        if cx.shape != cy.shape or cx.ndim != 1:
            raise ValueError(f"curve {i}: x and y must be 1-D of equal length")
        keep = np.isfinite(cy)
        cx, cy = cx[keep], cy[keep]
        if cx.size == 0:
            raise ValueError(f"curve {i} has no finite values")
        if np.any(np.diff(cx) < 0):
            raise ValueError(f"curve {i}: x must be non-decreasing")
        cleaned.append((cx, cy))
    if not cleaned:
        raise ValueError("curves is empty: at least one (x, y) curve is needed")
    lo = max(c[0][0] for c in cleaned)
    hi = min(c[0][-1] for c in cleaned)
    if lo > hi:
        raise ValueError(
            f"the runs' x-ranges do not overlap (latest start {lo:g} > earliest end {hi:g})"
        )
    if integer_grid:
        grid = np.arange(int(np.ceil(lo)), int(np.floor(hi)) + 1)
    else:
        grid = np.linspace(lo, hi, max(2, n_points)) if hi > lo else np.array([lo])
    values = np.stack([np.interp(grid, cx, cy) for cx, cy in cleaned])  # (n_runs, n_grid)
    n_runs = values.shape[0]
    mean = values.mean(axis=0)
    if n_runs == 1:
        return AggregateCurve(grid, mean, mean.copy(), mean.copy(), 1)
    # A resample of runs is a vector of counts; its mean curve is counts @ values / n_runs.
    rng = make_rng(seed)
    counts = rng.multinomial(n_runs, np.full(n_runs, 1.0 / n_runs), size=n_resamples)
    alpha = round(50.0 * (1.0 - confidence), 10)
    low = np.empty(grid.size)
    high = np.empty(grid.size)
    step = max(1, (1 << 21) // n_resamples)
    for start in range(0, grid.size, step):
        cols = slice(start, start + step)
        boot = counts @ values[:, cols] / n_runs  # (n_resamples, columns)
        low[cols], high[cols] = np.percentile(boot, [alpha, 100.0 - alpha], axis=0)
    return AggregateCurve(grid, mean, low, high, n_runs)
