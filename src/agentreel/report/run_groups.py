"""Group recorded runs by algorithm and task, and turn them into score matrices.

``agentreel compare`` and the report read run folders; the statistics
(:mod:`agentreel.analysis.comparison`) want one ``(n_runs, n_tasks)`` matrix per
algorithm. This module is the bridge:

* a run's **task** is the env id in its ``monitor.csv`` header (``?`` when unknown);
* a run's **label** (its algorithm) is given (``--vs``, ``--label``) or made
  from its folder name without a trailing seed or counter
  (``ppo-seed3`` -> ``ppo``, ``CartPole-v1-002`` -> ``CartPole-v1``);
* :func:`score_matrices` makes the matrices. The unit resampled is the *run*
  (its score: the mean return of its episodes) when every algorithm has at
  least two runs on every task, else the *episode* (each episode's return, so a
  single evaluation run per agent still gets honest intervals);
* :func:`episode_pairs` finds episodes both algorithms played with the same
  seed (or the same index, when no seeds were recorded) and have videos of.

Example:
    >>> label_from_name("ppo-seed3"), label_from_name("CartPole-v1-002"), label_from_name("CartPole-v1")
    ('ppo', 'CartPole-v1', 'CartPole-v1')
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.report.folder import RunFolder

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.analysis.intervals import Curve

__all__ = [
    "EpisodePair",
    "Group",
    "ScoreData",
    "episode_pairs",
    "iqm_curves",
    "label_from_name",
    "load_group",
    "run_task",
    "score_matrices",
]

UNKNOWN_TASK = "?"
PAIR_MODES = ("largest-gap", "best", "worst")
_SEED_SUFFIX = re.compile(r"(?:[-_.](?:seed|s|run|r)?[-_.]?|seed)\d+$", re.IGNORECASE)


def label_from_name(name: str) -> str:
    """A folder name without its trailing seed or counter (the whole name if nothing is left)."""
    stripped = _SEED_SUFFIX.sub("", name)
    return stripped or name


def run_task(run: RunFolder) -> str:
    """The env id of a run: from its ``monitor.csv`` header, else ``"?"``."""
    for path in sorted(run.folder.glob("*monitor.csv")):
        try:
            with open(path, encoding="utf-8") as fh:
                first = fh.readline()
        except OSError:
            continue
        if first.startswith("#"):
            try:
                header = json.loads(first[1:])
            except ValueError:
                continue
            env_id = header.get("env_id") if isinstance(header, dict) else None
            if env_id and env_id != "None":
                return str(env_id)
    return UNKNOWN_TASK


@dataclass
class Group:
    """One algorithm: its label and its runs (any tasks)."""

    label: str
    runs: list[RunFolder]


@dataclass(frozen=True)
class ScoreData:
    """Score matrices ready for :func:`~agentreel.analysis.comparison.compare_scores`."""

    scores: dict[str, np.ndarray]
    tasks: list[str]
    unit: str
    notes: list[str]


def _by_task(group: Group) -> dict[str, list[RunFolder]]:
    out: dict[str, list[RunFolder]] = {}
    for run in group.runs:
        out.setdefault(run_task(run), []).append(run)
    return out


def score_matrices(groups: Sequence[Group], unit: str = "auto") -> ScoreData:
    """One ``(n_samples, n_tasks)`` matrix per group (see the module docstring for ``unit``).

    Raises:
        ValueError: a group lacks a task another has, fewer than two groups, a bad
            ``unit``, or (unit ``run``) different numbers of runs on different tasks.
    """
    if unit not in ("auto", "run", "episode"):
        raise ValueError(f"unit must be auto, run or episode, got {unit!r}")
    if len(groups) < 2:
        raise ValueError("need at least two groups of runs to compare (use --vs or --label)")
    per_group = {g.label: _by_task(g) for g in groups}
    tasks = sorted({t for tasks in per_group.values() for t in tasks})
    for label, by_task in per_group.items():
        missing = [t for t in tasks if t not in by_task]
        if missing:
            raise ValueError(f"{label} has no run of task {', '.join(missing)} that the others "
                             "have; compare runs of the same tasks")
    if unit == "auto":
        few = min(len(runs) for by_task in per_group.values() for runs in by_task.values())
        unit = "run" if few >= 2 else "episode"
    notes = []
    scores = {}
    for label, by_task in per_group.items():
        if unit == "run":
            columns = [[float(np.mean(r.returns())) for r in by_task[t]] for t in tasks]
            counts = {len(c) for c in columns}
            if len(counts) > 1:
                detail = ", ".join(f"{len(c)} of {t}" for c, t in zip(columns, tasks, strict=True))
                raise ValueError(f"{label} has different numbers of runs per task ({detail}); "
                                 "record as many runs of every task, or use --unit episode")
        else:
            columns = [[x for r in by_task[t] for x in r.returns()] for t in tasks]
            n = min(len(c) for c in columns)
            if any(len(c) != n for c in columns):
                notes.append(f"{label}: tasks have different episode counts; the first {n} "
                             "episodes of each task are used")
            columns = [c[:n] for c in columns]
        scores[label] = np.array(columns, dtype=np.float64).T
    how = ("score of a run: the mean return of its episodes; the bootstrap redraws runs "
           "within each task" if unit == "run" else
           "one run per task in some group: every episode's return is a sample; the "
           "bootstrap redraws episodes within each task")
    return ScoreData(scores, tasks, unit, [how, *notes])


@dataclass(frozen=True)
class EpisodePair:
    """Two episodes played with the same seed (or index) on the same task, both with videos."""

    task: str
    key: str
    a: VideoSaved
    b: VideoSaved
    a_run: RunFolder
    b_run: RunFolder

    @property
    def gap(self) -> float:
        """``return(B) - return(A)``."""
        return float((self.b.display_return or 0.0) - (self.a.display_return or 0.0))


def _episode_key(record: EpisodeRecord | None, video: VideoSaved) -> str | None:
    if record is not None and record.seed is not None:
        return f"seed {record.seed}"
    episode = video.episode
    return None if episode is None else f"episode {episode}"


def _videos_by_key(group: Group) -> dict[tuple[str, str], tuple[VideoSaved, RunFolder]]:
    out: dict[tuple[str, str], tuple[VideoSaved, RunFolder]] = {}
    for run in group.runs:
        task = run_task(run)
        for video in run.videos:
            if not video.whole_episode:
                continue
            key = _episode_key(video.record, video)
            if key is not None:
                out.setdefault((task, key), (video, run))
    return out


def episode_pairs(a: Group, b: Group, mode: str = "largest-gap", count: int = 1) -> list[EpisodePair]:
    """Up to ``count`` pairs of same-seed episodes of ``a`` and ``b``, best first by ``mode``.

    ``mode``: ``largest-gap`` (largest ``|return(B) - return(A)|``), ``best`` (highest
    mean return of the two), ``worst`` (lowest).

    Raises:
        ValueError: the groups share no seed (or index) among episodes with videos.
    """
    if mode not in PAIR_MODES:
        raise ValueError(f"--pairs must be one of {', '.join(PAIR_MODES)}, got {mode!r}")
    if count < 1:
        raise ValueError(f"the number of pairs must be >= 1, got {count}")
    va, vb = _videos_by_key(a), _videos_by_key(b)
    shared = sorted(set(va) & set(vb))
    if not shared:
        raise ValueError(f"{a.label} and {b.label} share no seeds among their recorded episodes "
                         "(record both with the same --seed and keep videos of the same episodes)")
    pairs = [EpisodePair(task, key, va[(task, key)][0], vb[(task, key)][0], va[(task, key)][1],
                         vb[(task, key)][1]) for task, key in shared]

    def mean_return(p: EpisodePair) -> float:
        return ((p.a.display_return or 0.0) + (p.b.display_return or 0.0)) / 2

    if mode == "largest-gap":
        pairs.sort(key=lambda p: -abs(p.gap))
    elif mode == "best":
        pairs.sort(key=lambda p: -mean_return(p))
    else:
        pairs.sort(key=mean_return)
    return pairs[:count]


def load_group(label: str, paths: Sequence[str | Path]) -> Group:
    """A :class:`Group` of the run folders ``paths``."""
    return Group(label, [RunFolder(p, name=str(p)) for p in paths])


def _run_curve(run: RunFolder, grid: np.ndarray) -> np.ndarray:
    """A run's mean return over the episodes that ended in each window of ``grid`` (steps).

    A window with no finished episode repeats the previous value (the first: the first episode).
    """
    returns = np.array(run.returns(), dtype=np.float64)
    ends = np.cumsum([r.length for r in run.records])
    out = np.empty(grid.size)
    previous = returns[0]
    start = 0.0
    for k, stop in enumerate(grid):
        inside = (ends > start) & (ends <= stop)
        previous = float(returns[inside].mean()) if inside.any() else previous
        out[k] = previous
        start = stop
    return out


def iqm_curves(groups: Sequence[Group], *, norms: dict[str, tuple[float, float]] | None = None,
               points: int = 20, n_resamples: int = 2000, seed: int = 0) -> dict[str, Curve]:
    """IQM over runs and tasks against environment steps, with CI bands, one curve per group.

    Every run is put on the same grid of ``points`` step counts, up to the fewest steps
    any run reached; a run's value at a grid point is the mean return of its episodes
    that ended since the previous point. Scores are normalised with ``norms``
    (``task -> (low, high)``) when given.

    Raises:
        ValueError: groups lack a task others have, or runs per task differ within a group.
    """
    from agentreel.analysis.aggregate import normalize_scores
    from agentreel.analysis.intervals import metric_curve

    per_group = {g.label: _by_task(g) for g in groups}
    tasks = sorted({t for by_task in per_group.values() for t in by_task})
    runs = [r for g in groups for r in g.runs]
    horizon = min(sum(rec.length for rec in r.records) for r in runs)
    grid = np.linspace(horizon / points, horizon, points)
    norms = norms or {}
    low = [norms.get(t, (0.0, 1.0))[0] for t in tasks]
    high = [norms.get(t, (0.0, 1.0))[1] for t in tasks]
    rng = np.random.default_rng(seed)
    out = {}
    for label, by_task in per_group.items():
        missing = [t for t in tasks if t not in by_task]
        if missing:
            raise ValueError(f"{label} has no run of task {', '.join(missing)}")
        counts = {len(by_task[t]) for t in tasks}
        if len(counts) > 1:
            raise ValueError(f"{label} has different numbers of runs per task; an IQM curve "
                             "needs as many runs of every task")
        curves = np.stack([np.stack([_run_curve(r, grid) for r in by_task[t]]) for t in tasks],
                          axis=1)  # (runs, tasks, points)
        curves = np.moveaxis(normalize_scores(np.moveaxis(curves, 2, 1), low, high), 1, 2)
        out[label] = metric_curve(curves, grid, "iqm", n_resamples=n_resamples, seed=rng)
    return out
