"""Summaries of episode scores: one run (:func:`summarize`) or several (:func:`summarize_runs`).

These functions only compute; printing and plotting live elsewhere. Each
returns a frozen dataclass with ``to_dict()`` (plain JSON-ready values) and a
readable ``str()``.

Conventions:

* ``std`` is the *population* standard deviation (``ddof=0``), the same
  number ``np.std(returns)`` gives; pass ``ddof=1`` for the sample one.
* ``iqm`` is the interquartile mean, ``scipy.stats.trim_mean(x, 0.25)``: sort,
  drop ``int(n / 4)`` values from each end, average the rest (rliable's IQM).
* Confidence intervals are percentile-bootstrap intervals (see
  :mod:`agentreel.analysis.bootstrap`); ``seed`` makes them reproducible.

Example:
    >>> s = summarize([10.0, 20.0, 30.0, 245.0], seed=0)
    >>> s.count, s.mean, s.median, s.iqm
    (4, 76.25, 25.0, 25.0)
    >>> print(str(s).splitlines()[0])  # doctest: +ELLIPSIS
    mean 76.25 ± 97.68 (95% CI [...]) over 4 episodes
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentreel.analysis.bootstrap import (
    STATISTICS,
    _bootstrap_many,
    percentile_interval,
    runs_bootstrap_distribution,
    trimmed_mean_rows,
)
from agentreel.analysis.validate import (
    as_flags,
    as_runs,
    as_scores,
    check_confidence,
    check_n_resamples,
    make_rng,
)
from agentreel.core.records import EpisodeRecord

__all__ = ["Summary", "RunsSummary", "summarize", "summarize_records", "summarize_runs"]

Seed = int | np.random.Generator | None


def format_number(x: float | None, digits: int = 2) -> str:
    """A summary number for people: ``n/a``, fixed point, or 3 significant digits when tiny or huge.

    >>> format_number(76.25), format_number(None), format_number(0.004), format_number(3, digits=1)
    ('76.25', 'n/a', '0.004', '3.0')
    """
    if x is None:
        return "n/a"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-2):
        return f"{x:.3g}"
    return f"{x:.{digits}f}"


def _pct(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def _interval(ci: tuple[float, float]) -> str:
    return f"[{format_number(ci[0])}, {format_number(ci[1])}]"


@dataclass(frozen=True)
class Summary:
    """Statistics of one run's episodes.

    Attributes:
        count: number of episodes.
        mean, std, median, iqm, min, max: of the per-episode values (``std``
            with ``ddof`` as requested, population by default).
        mean_ci, iqm_ci: percentile-bootstrap intervals ``(low, high)``.
        confidence: the intervals' nominal coverage.
        n_resamples: bootstrap resamples used.
        success_rate: fraction of successful episodes, ``None`` when unknown.
        mean_length: mean episode length, ``None`` when lengths were not given.
        ddof: the delta degrees of freedom used for ``std``.
    """

    count: int
    mean: float
    std: float
    median: float
    iqm: float
    min: float
    max: float
    mean_ci: tuple[float, float]
    iqm_ci: tuple[float, float]
    confidence: float
    n_resamples: int
    success_rate: float | None = None
    mean_length: float | None = None
    ddof: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (tuples become lists), ready for ``json.dumps``."""
        out = dataclasses.asdict(self)
        out["mean_ci"] = list(self.mean_ci)
        out["iqm_ci"] = list(self.iqm_ci)
        return out

    def __str__(self) -> str:
        pct = _pct(self.confidence)
        noun = "episode" if self.count == 1 else "episodes"
        lines = [
            f"mean {format_number(self.mean)} ± {format_number(self.std)} ({pct} CI {_interval(self.mean_ci)}) "
            f"over {self.count} {noun}",
            f"IQM {format_number(self.iqm)} ({pct} CI {_interval(self.iqm_ci)}), "
            f"median {format_number(self.median)}, min {format_number(self.min)}, max {format_number(self.max)}",
        ]
        extra = []
        if self.success_rate is not None:
            extra.append(f"success rate {100 * self.success_rate:.1f}%")
        if self.mean_length is not None:
            extra.append(f"mean length {format_number(self.mean_length)}")
        if extra:
            lines.append(", ".join(extra))
        return "\n".join(lines)


def summarize(
    returns: Any,
    *,
    lengths: Any = None,
    successes: Any = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: Seed = None,
    ddof: int = 0,
) -> Summary:
    """Summarise one run's per-episode returns (or any per-episode score).

    Args:
        returns: 1-D per-episode values.
        lengths: optional per-episode lengths (for ``mean_length``).
        successes: optional per-episode success flags (bools or 0/1).
        confidence: coverage of the bootstrap intervals, in (0, 1).
        n_resamples: bootstrap resamples; the mean and IQM intervals use the
            same resamples.
        seed: int or ``np.random.Generator`` for reproducible intervals.
        ddof: delta degrees of freedom for ``std`` (0 = ``np.std``'s default).

    Raises:
        ValueError: empty or non-1-D input, NaN/inf, mismatched lengths,
            ``confidence`` outside (0, 1), ``n_resamples < 1``.

    >>> s = summarize([1.0, 2.0, 3.0, 4.0], successes=[True, False, True, True], seed=0)
    >>> s.std == float(np.std([1, 2, 3, 4])), s.success_rate
    (True, 0.75)
    """
    x = as_scores(returns, name="returns")
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    if x.size <= ddof:
        raise ValueError(f"std with ddof={ddof} needs more than {ddof} episode(s), got {x.size}")
    mean_length = None
    if lengths is not None:
        lens = as_scores(lengths, name="lengths")
        if lens.size != x.size:
            raise ValueError(
                f"lengths has {lens.size} entries but returns has {x.size}; "
                "give one length per episode"
            )
        mean_length = float(lens.mean())
    success_rate = None
    if successes is not None:
        success_rate = float(as_flags(successes, x.size, name="successes").mean())
    dist = _bootstrap_many(
        x,
        {"mean": STATISTICS["mean"], "iqm": STATISTICS["iqm"]},
        n_resamples,
        make_rng(seed),
    )
    return Summary(
        count=int(x.size),
        mean=float(x.mean()),
        std=float(x.std(ddof=ddof)),
        median=float(np.median(x)),
        iqm=float(trimmed_mean_rows(x)),
        min=float(x.min()),
        max=float(x.max()),
        mean_ci=percentile_interval(dist["mean"], confidence),
        iqm_ci=percentile_interval(dist["iqm"], confidence),
        confidence=confidence,
        n_resamples=n_resamples,
        success_rate=success_rate,
        mean_length=mean_length,
        ddof=ddof,
    )


def _success_flag(value: Any) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"extras['is_success'] must be a single boolean, got {value!r}")
    return float(bool(arr.item()))


def summarize_records(
    records: Sequence[EpisodeRecord],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: Seed = None,
    ddof: int = 0,
    success_key: str = "is_success",
) -> Summary:
    """:func:`summarize` the returns of a list of :class:`EpisodeRecord`.

    Lengths come from ``record.length``. The success rate comes from
    ``record.extras[success_key]`` (Gymnasium/SB3's ``"is_success"``) and is
    computed over the records that carry the key; if only some do, a warning
    says how many were left out. Without the key anywhere it is ``None``.

    >>> recs = [EpisodeRecord(index=i, episode_return=float(i), length=10,
    ...                       extras={"is_success": i > 1}) for i in range(4)]
    >>> s = summarize_records(recs, seed=0)
    >>> s.mean, s.mean_length, s.success_rate
    (1.5, 10.0, 0.5)
    """
    records = list(records)
    if not records:
        raise ValueError("records is empty: at least one EpisodeRecord is needed")
    bad = [type(r).__name__ for r in records if not isinstance(r, EpisodeRecord)]
    if bad:
        raise ValueError(f"records must be EpisodeRecord objects, got {bad[0]}")
    summary = summarize(
        [r.episode_return for r in records],
        lengths=[r.length for r in records],
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        ddof=ddof,
    )
    flags = [_success_flag(r.extras[success_key]) for r in records if success_key in r.extras]
    if not flags:
        return summary
    if len(flags) < len(records):
        warnings.warn(
            f"{len(records) - len(flags)} of {len(records)} records have no "
            f"extras[{success_key!r}]; the success rate uses the other {len(flags)}",
            UserWarning,
            stacklevel=2,
        )
    return dataclasses.replace(summary, success_rate=float(np.mean(flags)))


@dataclass(frozen=True)
class RunsSummary:
    """Statistics across several runs (seeds) of the same agent.

    Attributes:
        n_runs: number of runs.
        episodes_per_run: number of episodes in each run.
        run_means: each run's mean episode value.
        mean: mean of ``run_means`` (every run weighs the same).
        std_of_means: population std of ``run_means`` (seed-to-seed spread).
        mean_ci: bootstrap interval of ``mean``.
        iqm: IQM of all episodes pooled.
        iqm_ci: bootstrap interval of ``iqm``.
        method: ``"stratified"`` or ``"hierarchical"`` (see
            :func:`~agentreel.analysis.bootstrap.runs_bootstrap_distribution`).
        confidence, n_resamples: as for :class:`Summary`.
    """

    n_runs: int
    episodes_per_run: tuple[int, ...]
    run_means: tuple[float, ...]
    mean: float
    std_of_means: float
    mean_ci: tuple[float, float]
    iqm: float
    iqm_ci: tuple[float, float]
    method: str
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (tuples become lists), ready for ``json.dumps``."""
        out = dataclasses.asdict(self)
        for key in ("episodes_per_run", "run_means", "mean_ci", "iqm_ci"):
            out[key] = list(getattr(self, key))
        return out

    def __str__(self) -> str:
        pct = _pct(self.confidence)
        total = sum(self.episodes_per_run)
        means = ", ".join(format_number(m) for m in self.run_means)
        return "\n".join(
            [
                f"mean of run means {format_number(self.mean)} ({pct} CI {_interval(self.mean_ci)}, "
                f"{self.method} bootstrap) over {self.n_runs} runs, {total} episodes",
                f"IQM {format_number(self.iqm)} ({pct} CI {_interval(self.iqm_ci)}), "
                f"std of run means {format_number(self.std_of_means)}",
                f"run means: {means}",
            ]
        )


def summarize_runs(
    scores: Any,
    *,
    method: str = "stratified",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: Seed = None,
    warn_layout: bool = True,
) -> RunsSummary:
    """Summarise several runs (seeds): per-run means, mean of means, pooled IQM.

    Args:
        scores: a 2-D array in layout ``(n_runs, n_episodes)`` — one row per
            run — or a list of 1-D arrays (one per run; lengths may differ).
        method: ``"stratified"`` (default; runs are strata, episodes are
            resampled within each run, so the interval reflects episode noise
            given these seeds) or ``"hierarchical"`` (runs resampled, then
            episodes within them; also reflects seed-to-seed variation and is
            wider). Both use the percentile method.
        confidence, n_resamples, seed: as for :func:`summarize`.
        warn_layout: warn when a 2-D matrix has more runs than episodes,
            the usual sign of a transposed matrix.

    Raises:
        ValueError: invalid input; or ``method="stratified"`` with a single
            episode per run — every resample would equal the data, so the
            interval would have no width. That is usually a transposed
            ``(n_episodes, n_runs)`` matrix; otherwise use ``"hierarchical"``.

    >>> r = summarize_runs([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0]], seed=0)
    >>> r.run_means, r.mean, r.iqm
    ((2.0, 4.5), 3.25, 3.4)
    """
    runs = as_runs(scores, warn_layout=warn_layout)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    sizes = tuple(int(r.size) for r in runs)
    if method == "stratified" and max(sizes) == 1:
        raise ValueError(
            f"every run has a single episode ({len(runs)} runs of 1), so a stratified "
            "bootstrap cannot vary anything and its interval would have no width. "
            "The expected layout is (n_runs, n_episodes): one row per run (seed), one "
            "column per episode — if you passed (n_episodes, n_runs), pass scores.T; "
            "if each run really has one score, use method='hierarchical'"
        )
    if method == "hierarchical" and len(runs) == 1:
        warnings.warn(
            "a hierarchical bootstrap over a single run cannot reflect seed-to-seed "
            "variation; the interval only reflects episode noise",
            UserWarning,
            stacklevel=2,
        )
    run_means = np.array([r.mean() for r in runs])
    dist = runs_bootstrap_distribution(
        runs, method=method, n_resamples=n_resamples, seed=seed, warn_layout=False
    )
    pooled = np.concatenate(runs)
    return RunsSummary(
        n_runs=len(runs),
        episodes_per_run=sizes,
        run_means=tuple(float(m) for m in run_means),
        mean=float(run_means.mean()),
        std_of_means=float(run_means.std()),
        mean_ci=percentile_interval(dist["mean"], confidence),
        iqm=float(trimmed_mean_rows(pooled)),
        iqm_ci=percentile_interval(dist["iqm"], confidence),
        method=method,
        confidence=confidence,
        n_resamples=n_resamples,
    )
