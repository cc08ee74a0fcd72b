"""Point statistics and percentile-bootstrap confidence intervals (pure numpy).

Everything here is vectorised: a bootstrap draws a ``(n_resamples, n)`` block
of indices at once (in chunks that keep memory near 16 MB) and evaluates the
statistic along the last axis, so 10,000 resamples of 1,000 episodes take a
fraction of a second (see ``bench/analysis_bench.py``).

The interval is the *percentile* bootstrap: the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of the statistic over the resamples
(``np.percentile`` with linear interpolation). Pass ``seed`` (an int or a
``np.random.Generator``) for reproducible intervals.

Example:
    >>> x = np.arange(8.0)
    >>> float(iqm(x))  # mean of the middle 50%: 2, 3, 4, 5
    3.5
    >>> low, high = bootstrap_ci(x, "mean", seed=0)
    >>> bool(low < x.mean() < high)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from agentreel.analysis.validate import (
    as_runs,
    as_scores,
    check_confidence,
    check_n_resamples,
    make_rng,
)

__all__ = [
    "iqm",
    "trimmed_mean_rows",
    "percentile_interval",
    "bootstrap_distribution",
    "bootstrap_ci",
    "runs_bootstrap_distribution",
    "runs_bootstrap_ci",
    "STATISTICS",
]

# Upper bound on the number of resampled values held at once (float64: 16 MB).
_CHUNK_ELEMENTS = 1 << 21

Statistic = Callable[[np.ndarray], np.ndarray]


def trimmed_mean_rows(x: np.ndarray, proportion: float = 0.25) -> np.ndarray:
    """Trimmed mean of each row of ``x`` (along the last axis).

    Cuts ``k = int(proportion * n)`` values from each end of the sorted row and
    averages the rest — the same rule as ``scipy.stats.trim_mean``. Uses
    ``np.partition`` (linear time) rather than a full sort.

    >>> trimmed_mean_rows(np.array([[1.0, 100.0, 2.0, 3.0], [0.0, 0.0, 4.0, 4.0]])).tolist()
    [2.5, 2.0]
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    k = int(proportion * n)
    if k == 0:
        return x.mean(axis=-1)
    part = np.partition(x, (k, n - k - 1), axis=-1)
    return part[..., k : n - k].mean(axis=-1)


def iqm(values: Any) -> float:
    """Interquartile mean: the mean of the middle 50% of the sorted values.

    Precisely ``scipy.stats.trim_mean(values, 0.25)`` (as in rliable): with
    ``n`` values, ``int(n / 4)`` are dropped from each end. For ``n < 4``
    nothing is dropped and the IQM equals the mean.

    >>> iqm([1, 2, 3, 4, 100])  # drops 1 and 100
    3.0
    """
    arr = as_scores(values, name="values")
    return float(trimmed_mean_rows(arr))


def _mean_rows(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=-1)


def _median_rows(x: np.ndarray) -> np.ndarray:
    return np.median(x, axis=-1)


#: Named statistics accepted wherever a ``statistic`` argument is taken. Each
#: maps a ``(..., n)`` array to its statistic along the last axis.
STATISTICS: Mapping[str, Statistic] = {
    "mean": _mean_rows,
    "iqm": trimmed_mean_rows,
    "median": _median_rows,
}


def _resolve(statistic: str | Statistic) -> Statistic:
    if callable(statistic):
        return statistic
    try:
        return STATISTICS[statistic]
    except KeyError:
        raise ValueError(
            f"unknown statistic {statistic!r}; use one of {sorted(STATISTICS)} "
            "or a function mapping a (n_resamples, n) array to n_resamples values"
        ) from None


def percentile_interval(samples: Any, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap samples (percentile method).

    >>> percentile_interval(np.arange(101.0), 0.9)
    (5.0, 95.0)
    """
    c = check_confidence(confidence)
    arr = np.asarray(samples, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("samples is empty")
    alpha = round(50.0 * (1.0 - c), 10)  # round away float noise: 0.9 -> 5.0, not 4.999…
    low, high = np.percentile(arr, [alpha, 100.0 - alpha])
    return float(low), float(high)


def _chunks(total: int, per_row: int) -> list[int]:
    rows = max(1, _CHUNK_ELEMENTS // max(1, per_row))
    sizes = [rows] * (total // rows)
    if total % rows:
        sizes.append(total % rows)
    return sizes


def _bootstrap_many(
    values: np.ndarray,
    statistics: Mapping[str, Statistic],
    n_resamples: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Evaluate several statistics on the same resamples of ``values``."""
    n = values.size
    out = {name: np.empty(n_resamples) for name in statistics}
    start = 0
    for size in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(size, n), dtype=np.intp)
        sample = values[idx]
        for name, fn in statistics.items():
            out[name][start : start + size] = fn(sample)
        start += size
    return out


def bootstrap_distribution(
    values: Any,
    statistic: str | Statistic = "mean",
    *,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """The statistic evaluated on ``n_resamples`` resamples (with replacement) of ``values``.

    >>> bootstrap_distribution([1.0, 2.0, 3.0], "mean", n_resamples=5, seed=1).shape
    (5,)
    """
    arr = as_scores(values, name="values")
    n_resamples = check_n_resamples(n_resamples)
    fn = _resolve(statistic)
    return _bootstrap_many(arr, {"s": fn}, n_resamples, make_rng(seed))["s"]


def bootstrap_ci(
    values: Any,
    statistic: str | Statistic = "mean",
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of a statistic of one sample.

    Args:
        values: 1-D per-episode values.
        statistic: ``"mean"``, ``"iqm"``, ``"median"`` or a vectorised function
            ``f(array of shape (n_resamples, n)) -> (n_resamples,)``.
        confidence: the interval's nominal coverage, in (0, 1).
        n_resamples: number of bootstrap resamples.
        seed: int or ``np.random.Generator`` for reproducible intervals.

    >>> bootstrap_ci([5.0, 5.0, 5.0], seed=0)
    (5.0, 5.0)
    """
    check_confidence(confidence)
    dist = bootstrap_distribution(values, statistic, n_resamples=n_resamples, seed=seed)
    return percentile_interval(dist, confidence)


# ----------------------------------------------------------------------------
# Several runs (seeds)


def _mean_of_means(run_means: np.ndarray) -> np.ndarray:
    return run_means.mean(axis=-1)


def runs_bootstrap_distribution(
    scores: Any,
    *,
    method: str = "stratified",
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = None,
    warn_layout: bool = True,
) -> dict[str, np.ndarray]:
    """Bootstrap distributions of the mean of run means and of the pooled IQM.

    Args:
        scores: ``(n_runs, n_episodes)`` array or a list of 1-D arrays (one per
            run, lengths may differ).
        method: how to resample.

            * ``"stratified"`` — runs are strata: every resample keeps every run
              and redraws each run's episodes with replacement within that run.
              The interval reflects episode-to-episode noise *given these
              seeds* (rliable's stratified bootstrap, with runs in the role of
              tasks). It needs more than one episode per run.
            * ``"hierarchical"`` — first draw runs with replacement, then
              episodes with replacement within each drawn run. The interval
              also reflects seed-to-seed variation, so it is wider, and is the
              one to quote when generalising to new seeds (needs several runs).
        n_resamples: number of bootstrap resamples.
        seed: int or ``np.random.Generator``.
        warn_layout: warn when a 2-D matrix looks transposed.

    Returns:
        ``{"mean": ..., "iqm": ...}``, each of shape ``(n_resamples,)``. ``mean``
        is the mean over runs of each run's mean episode value (every run
        weighs the same); ``iqm`` is the IQM of all episodes pooled.
    """
    runs = as_runs(scores, warn_layout=warn_layout)
    n_resamples = check_n_resamples(n_resamples)
    rng = make_rng(seed)
    if method == "stratified":
        return _stratified(runs, n_resamples, rng)
    if method == "hierarchical":
        return _hierarchical(runs, n_resamples, rng)
    raise ValueError(f"method must be 'stratified' or 'hierarchical', got {method!r}")


def _stratified(runs: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator):
    total = sum(r.size for r in runs)
    means = np.empty(n_resamples)
    iqms = np.empty(n_resamples)
    start = 0
    for size in _chunks(n_resamples, total):
        pooled = np.empty((size, total))
        run_means = np.empty((size, len(runs)))
        col = 0
        for j, run in enumerate(runs):
            sample = run[rng.integers(0, run.size, size=(size, run.size), dtype=np.intp)]
            run_means[:, j] = sample.mean(axis=1)
            pooled[:, col : col + run.size] = sample
            col += run.size
        means[start : start + size] = _mean_of_means(run_means)
        iqms[start : start + size] = trimmed_mean_rows(pooled)
        start += size
    return {"mean": means, "iqm": iqms}


def _hierarchical(runs: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator):
    n_runs = len(runs)
    sizes = np.array([r.size for r in runs])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(runs)
    max_n = int(sizes.max())
    slots = np.arange(max_n)
    means = np.empty(n_resamples)
    iqms = np.empty(n_resamples)
    start = 0
    for size in _chunks(n_resamples, n_runs * max_n):
        chosen = rng.integers(0, n_runs, size=(size, n_runs))
        n_sel = sizes[chosen]  # (size, n_runs)
        u = rng.random((size, n_runs, max_n))
        idx = offsets[chosen][..., None] + (u * n_sel[..., None]).astype(np.intp)
        mask = slots < n_sel[..., None]
        sample = np.where(mask, flat[np.minimum(idx, flat.size - 1)], 0.0)
        run_means = sample.sum(axis=-1) / n_sel
        means[start : start + size] = _mean_of_means(run_means)
        # Pooled IQM with a different total per resample: push the padding to
        # the end with +inf, sort, and sum the middle slice via a cumulative sum.
        pooled = np.where(mask, sample, np.inf).reshape(size, -1)
        pooled.sort(axis=1)
        totals = n_sel.sum(axis=1)
        k = (0.25 * totals).astype(np.intp)
        finite = np.where(np.isfinite(pooled), pooled, 0.0)
        csum = np.concatenate([np.zeros((size, 1)), np.cumsum(finite, axis=1)], axis=1)
        rows = np.arange(size)
        middle = csum[rows, totals - k] - csum[rows, k]
        iqms[start : start + size] = middle / (totals - 2 * k)
        start += size
    return {"mean": means, "iqm": iqms}


def runs_bootstrap_ci(
    scores: Any,
    statistic: str = "mean",
    *,
    method: str = "stratified",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> tuple[float, float]:
    """Percentile interval of the mean of run means (``"mean"``) or pooled IQM (``"iqm"``).

    See :func:`runs_bootstrap_distribution` for the two resampling methods.

    >>> low, high = runs_bootstrap_ci([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], seed=0)
    >>> bool(low <= 2.5 <= high)
    True
    """
    check_confidence(confidence)
    if statistic not in ("mean", "iqm"):
        raise ValueError(f"statistic must be 'mean' or 'iqm', got {statistic!r}")
    dist = runs_bootstrap_distribution(scores, method=method, n_resamples=n_resamples, seed=seed)
    return percentile_interval(dist[statistic], confidence)
