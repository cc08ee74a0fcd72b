"""Compare algorithms: every number ``agentreel compare`` prints, as one pure function.

:func:`compare_scores` takes one ``(n_runs, n_tasks)`` score matrix per
algorithm (same tasks, same column order) and returns a :class:`Comparison`:

* per task and per algorithm: IQM, mean and optimality gap with stratified
  bootstrap intervals (resampling the runs of that task);
* aggregated over tasks, per algorithm: the same three metrics;
* for each algorithm after the first (the baseline ``A``): ``P(B > A)`` with its
  interval, the difference in IQM ``IQM(B) - IQM(A)`` with its interval, the
  number of tasks where B's mean is higher, and one plain-language sentence.

Nothing here reads files or prints; :mod:`agentreel.app.cli_compare` and the report
present it.

Example:
    >>> a = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]])
    >>> c = compare_scores({"A": a, "B": a + 1.5}, ["task1", "task2"], n_resamples=500, seed=0)
    >>> c.versus[0].wins, c.versus[0].n_tasks, c.versus[0].improvement.point
    (2, 2, 0.8888888888888888)
    >>> print(c.versus[0].sentence)  # doctest: +ELLIPSIS
    B beats A on 2 of 2 tasks; P(B>A) = 0.89 [...]; IQM difference +1.50 [...]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentreel.analysis.aggregate import as_score_matrix
from agentreel.analysis.intervals import (
    Estimate,
    difference_interval,
    interval_estimates,
    probability_of_improvement_interval,
)
from agentreel.analysis.validate import make_rng

__all__ = ["Comparison", "MetricRow", "Versus", "compare_scores", "TABLE_METRICS"]

#: The metrics of the comparison tables, in column order.
TABLE_METRICS = ("iqm", "mean", "optimality_gap")


@dataclass(frozen=True)
class MetricRow:
    """One algorithm on one task (or on all tasks, ``task=None``): its metrics with intervals."""

    algorithm: str
    task: str | None
    n_runs: int
    metrics: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"algorithm": self.algorithm, "task": self.task, "n_runs": self.n_runs,
                **{name: est.to_dict() for name, est in self.metrics.items()}}


@dataclass(frozen=True)
class Versus:
    """Algorithm ``b`` against the baseline ``a``."""

    a: str
    b: str
    improvement: Estimate
    iqm_difference: Estimate
    wins: int
    n_tasks: int
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"a": self.a, "b": self.b,
                "probability_of_improvement": self.improvement.to_dict(),
                "iqm_difference": self.iqm_difference.to_dict(),
                "wins": self.wins, "n_tasks": self.n_tasks, "sentence": self.sentence}


@dataclass(frozen=True)
class Comparison:
    """Everything ``agentreel compare`` reports (see the module docstring)."""

    algorithms: list[str]
    tasks: list[str]
    per_task: list[MetricRow]
    aggregate: list[MetricRow]
    versus: list[Versus]
    confidence: float
    n_resamples: int
    seed: int | None
    gamma: float | list[float]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (``agentreel compare --json``)."""
        return {
            "algorithms": self.algorithms, "tasks": self.tasks,
            "per_task": [r.to_dict() for r in self.per_task],
            "aggregate": [r.to_dict() for r in self.aggregate],
            "versus": [v.to_dict() for v in self.versus],
            "confidence": self.confidence, "n_resamples": self.n_resamples, "seed": self.seed,
            "gamma": self.gamma, "notes": self.notes,
        }


def _fmt(x: float) -> str:
    from agentreel.analysis.summary import format_number

    return format_number(x)


def _sentence(a: str, b: str, wins: int, n_tasks: int, poi: Estimate, diff: Estimate) -> str:
    task_word = "task" if n_tasks == 1 else "tasks"
    verb = "beats" if wins * 2 > n_tasks else "does not beat"
    sign = "+" if diff.point >= 0 else ""
    return (f"{b} {verb} {a} on {wins} of {n_tasks} {task_word}; "
            f"P({b}>{a}) = {poi.point:.2f} [{poi.low:.2f}, {poi.high:.2f}]; "
            f"IQM difference {sign}{_fmt(diff.point)} [{_fmt(diff.low)}, {_fmt(diff.high)}]")


def _metric_rows(scores: Mapping[str, np.ndarray], task: str | None, gamma: np.ndarray,
                 confidence: float, n_resamples: int, rng: np.random.Generator) -> list[MetricRow]:
    fns: dict[str, Any] = {"iqm": "iqm", "mean": "mean",
           "optimality_gap": lambda s: (gamma - np.minimum(s, gamma)).mean(axis=(-2, -1))}
    per_metric = {name: interval_estimates(scores, fn, confidence=confidence,
                                           n_resamples=n_resamples, seed=rng)
                  for name, fn in fns.items()}
    return [MetricRow(alg, task, int(arr.shape[0]), {m: per_metric[m][alg] for m in TABLE_METRICS})
            for alg, arr in scores.items()]


def compare_scores(
    scores: Mapping[str, Any],
    tasks: Sequence[str],
    *,
    gamma: float | Sequence[float] = 1.0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    notes: Sequence[str] = (),
) -> Comparison:
    """Compare algorithms on the same tasks (see the module docstring).

    Args:
        scores: algorithm name -> ``(n_runs, n_tasks)`` scores; the first is the baseline.
        tasks: the task names, one per column.
        gamma: the optimality gap's target: 1 for normalised scores (rliable's), or one
            target per task for raw returns (the gap is then in return units).
        confidence, n_resamples, seed: of every bootstrap interval.
        notes: lines carried into the result (e.g. how scores were made).

    Raises:
        ValueError: fewer than two algorithms, or matrices with other tasks than ``tasks``.
    """
    matrices = {name: as_score_matrix(s, name=f"scores of {name!r}") for name, s in scores.items()}
    if len(matrices) < 2:
        raise ValueError(f"need at least two algorithms to compare, got {len(matrices)}")
    tasks = [str(t) for t in tasks]
    for name, arr in matrices.items():
        if arr.shape[1] != len(tasks):
            raise ValueError(f"scores of {name!r} have {arr.shape[1]} task column(s) but "
                             f"{len(tasks)} task name(s) were given")
    targets = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (len(tasks),))
    rng = make_rng(seed)
    per_task: list[MetricRow] = []
    for t, task in enumerate(tasks):
        column = {name: arr[:, t : t + 1] for name, arr in matrices.items()}
        per_task += _metric_rows(column, task, targets[t : t + 1], confidence, n_resamples, rng)
    aggregate = _metric_rows(matrices, None, targets, confidence, n_resamples, rng)
    names = list(matrices)
    base = matrices[names[0]]
    versus = []
    for other in names[1:]:
        poi = probability_of_improvement_interval(matrices[other], base, confidence=confidence,
                                                  n_resamples=n_resamples, seed=rng)
        diff = difference_interval(base, matrices[other], "iqm", confidence=confidence,
                                   n_resamples=n_resamples, seed=rng)
        wins = int(np.sum(matrices[other].mean(axis=0) > base.mean(axis=0)))
        versus.append(Versus(names[0], other, poi, diff, wins, len(tasks),
                             _sentence(names[0], other, wins, len(tasks), poi, diff)))
    gammas = [float(g) for g in targets]
    return Comparison(names, tasks, per_task, aggregate, versus, confidence, n_resamples, seed,
                      gammas[0] if len(set(gammas)) == 1 else gammas, list(notes))
