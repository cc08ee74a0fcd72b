"""Input checks for the analysis functions, with messages that say what is wrong.

Every public analysis function validates its input here first, so a mistake
surfaces as one ``ValueError`` (or a :class:`LayoutWarning`) naming the
argument, the problem and the expected shape instead of a silent NaN or a
confidence interval of zero width.

Example:
    >>> as_scores([1, 2, 3]).tolist()
    [1.0, 2.0, 3.0]
    >>> try:
    ...     as_scores([1.0, float("nan")])
    ... except ValueError as err:
    ...     print(err)
    returns contains 1 NaN value(s) (first at index 1); drop or impute them before summarising
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "LayoutWarning",
    "as_scores",
    "as_runs",
    "as_flags",
    "check_confidence",
    "check_n_resamples",
    "make_rng",
]

RUNS_LAYOUT = "(n_runs, n_episodes): one row per run (seed), one column per episode"


class LayoutWarning(UserWarning):
    """The scores' layout looks wrong (for example a transposed runs matrix)."""


def _check_finite(values: np.ndarray, name: str) -> None:
    nan = np.isnan(values)
    if nan.any():
        first = np.unravel_index(int(np.argmax(nan)), values.shape)
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contains {int(nan.sum())} NaN value(s) (first at index {where}); "
            "drop or impute them before summarising"
        )
    inf = np.isinf(values)
    if inf.any():
        first = np.unravel_index(int(np.argmax(inf)), values.shape)
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contains {int(inf.sum())} infinite value(s) (first at index {where}); "
            "all values must be finite"
        )


def _to_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be numbers convertible to a float array "
            f"(a ragged list of runs belongs in summarize_runs): {err}"
        ) from err
    return arr


def as_scores(values: Any, name: str = "returns") -> np.ndarray:
    """Check one run's per-episode values and return them as a 1-D float64 array.

    Raises:
        ValueError: empty input, more than one dimension, NaN or infinite values.

    >>> as_scores(np.zeros((2, 3)))
    Traceback (most recent call last):
    ...
    ValueError: returns must be 1-D (one value per episode), got shape (2, 3); for several runs use summarize_runs(scores) with layout (n_runs, n_episodes): one row per run (seed), one column per episode
    """
    arr = _to_float_array(values, name)
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must be 1-D (one value per episode), got a scalar; wrap it in a list"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per episode), got shape {arr.shape}; "
            f"for several runs use summarize_runs(scores) with layout {RUNS_LAYOUT}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty: at least one episode is needed")
    _check_finite(arr, name)
    return arr


def as_flags(values: Any, n: int, name: str = "successes") -> np.ndarray:
    """Check per-episode success flags (bools or 0/1) of length ``n``; return floats."""
    arr = _to_float_array(values, name)
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(
            f"{name} must be 1-D with one entry per episode ({n}), got shape {arr.shape}"
        )
    _check_finite(arr, name)
    if not np.isin(arr, (0.0, 1.0)).all():
        bad = arr[~np.isin(arr, (0.0, 1.0))][0]
        raise ValueError(f"{name} must be booleans or 0/1, got {bad!r}")
    return arr


def as_runs(scores: Any, name: str = "scores", *, warn_layout: bool = True) -> list[np.ndarray]:
    """Check scores of several runs; return one 1-D float64 array per run.

    ``scores`` is either a 2-D array in layout ``(n_runs, n_episodes)`` or a
    sequence of 1-D arrays (runs may then have different numbers of episodes).

    A 2-D matrix with more runs than episodes per run is suspicious: it is the
    usual sign of a matrix passed transposed, so a :class:`LayoutWarning`
    names the expected layout (silence it with ``warn_layout=False`` if your
    data really has that shape).

    >>> [r.tolist() for r in as_runs([[1, 2, 3], [4, 5]])]
    [[1.0, 2.0, 3.0], [4.0, 5.0]]
    """
    if isinstance(scores, np.ndarray) or not _is_ragged(scores):
        arr = _to_float_array(scores, name)
        if arr.size == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape}); layout is {RUNS_LAYOUT}")
        if arr.ndim == 1:
            raise ValueError(
                f"{name} must be 2-D in layout {RUNS_LAYOUT}, got a 1-D array of "
                f"{arr.size} values; for a single run use summarize(), or pass "
                f"[values] for one run"
            )
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D in layout {RUNS_LAYOUT}, got shape {arr.shape}")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape}); layout is {RUNS_LAYOUT}")
        _check_finite(arr, name)
        n_runs, n_episodes = arr.shape
        if warn_layout and n_runs > 1 and n_runs > n_episodes:
            warnings.warn(
                f"{name} has shape {arr.shape}: {n_runs} runs of {n_episodes} episode(s) each. "
                f"The expected layout is {RUNS_LAYOUT}; if you have {n_episodes} run(s) "
                f"of {n_runs} episodes, pass scores.T",
                LayoutWarning,
                stacklevel=3,
            )
        return [row.copy() for row in arr]
    runs = []
    for i, run in enumerate(scores):
        runs.append(as_scores(run, name=f"{name}[{i}]"))
    if not runs:
        raise ValueError(f"{name} is empty: at least one run is needed")
    return runs


def _is_ragged(scores: Any) -> bool:
    if not isinstance(scores, Sequence) or isinstance(scores, (str, bytes)):
        return False
    lengths = set()
    for item in scores:
        if np.ndim(item) != 1:
            return False
        lengths.add(len(item))
    return len(lengths) > 1


def check_confidence(confidence: float) -> float:
    """Check a confidence level lies strictly between 0 and 1.

    >>> check_confidence(95)
    Traceback (most recent call last):
    ...
    ValueError: confidence must be strictly between 0 and 1 (e.g. 0.95 for 95%), got 95
    """
    try:
        c = float(confidence)
    except (TypeError, ValueError) as err:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}") from err
    if not 0.0 < c < 1.0:
        raise ValueError(
            f"confidence must be strictly between 0 and 1 (e.g. 0.95 for 95%), got {confidence!r}"
        )
    return c


def check_n_resamples(n_resamples: int) -> int:
    """Check the number of bootstrap resamples is a positive integer."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    return int(n_resamples)


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """``np.random.default_rng(seed)``, passing an existing ``Generator`` through."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
