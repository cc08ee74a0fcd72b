"""Export recorded runs as marl-eval's raw-data JSON (InstaDeep's cooperative-MARL evaluation tools).

marl-eval reads one JSON object ``environment -> task -> algorithm -> run -> step``:
each step is ``{"step_count": int, metric: [one value per evaluation episode]}`` and
each run ends with ``"absolute_metrics": {metric: [...]}``. Every run of an algorithm
must hold the same steps and metrics (its ``DiagnoseData`` checks this).

agentreel's mapping (:func:`to_marl_eval`):

* each run folder is one independent run (``run_0``, ``run_1``, ... in the order given);
* its episodes, in order, are cut into evaluation steps of ``episodes_per_step``
  episodes (default: all of them, one step); ``step_count`` is the number of env
  steps taken up to the end of that step (the sum of the episodes' lengths); runs are
  cut to the number of whole steps every run has;
* metrics: ``return`` (the team return for multi-agent runs) and ``episode_length``;
  ``absolute_metrics`` holds the last step's values (agentreel keeps no separate
  "best policy" evaluation, so the absolute metric is the final evaluation).

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> run = [EpisodeRecord(i, float(i), 10) for i in range(4)]
    >>> data = to_marl_eval([run], environment="pettingzoo", task="pistonball_v6",
    ...                     algorithm="random", episodes_per_step=2)
    >>> data["pettingzoo"]["pistonball_v6"]["random"]["run_0"]["step_1"]
    {'step_count': 40, 'return': [2.0, 3.0], 'episode_length': [10.0, 10.0]}
    >>> check_marl_eval(data)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from agentreel.core.records import EpisodeRecord

__all__ = ["check_marl_eval", "to_marl_eval", "write_marl_eval"]

METRICS = ("return", "episode_length")


def _metric_values(records: Sequence[EpisodeRecord]) -> dict[str, list[float]]:
    return {"return": [float(r.episode_return) for r in records],
            "episode_length": [float(r.length) for r in records]}


def to_marl_eval(runs: Sequence[Sequence[EpisodeRecord]], *, environment: str, task: str,
                 algorithm: str, episodes_per_step: int | None = None,
                 run_names: Sequence[str] | None = None) -> dict[str, Any]:
    """marl-eval's raw-data dictionary for ``runs`` of one algorithm on one task (see above)."""
    runs = [list(run) for run in runs]
    if not runs or not all(runs):
        raise ValueError("give at least one run, each with at least one episode")
    for name, value in (("environment", environment), ("task", task), ("algorithm", algorithm)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty name, got {value!r}")
    fewest = min(len(run) for run in runs)
    per_step = fewest if episodes_per_step is None else episodes_per_step
    if isinstance(per_step, bool) or not isinstance(per_step, int) or per_step < 1:
        raise ValueError(f"episodes_per_step must be an integer >= 1, got {episodes_per_step!r}")
    steps = fewest // per_step
    if steps == 0:
        raise ValueError(f"a run has only {fewest} episodes, fewer than episodes_per_step="
                         f"{per_step}; lower --episodes-per-step")
    names = list(run_names) if run_names is not None else [f"run_{i}" for i in range(len(runs))]
    if len(names) != len(runs) or len(set(names)) != len(names):
        raise ValueError("run_names must give each run its own name")
    out: dict[str, Any] = {}
    for name, run in zip(names, runs, strict=True):
        entry: dict[str, Any] = {}
        step_count = 0
        for k in range(steps):
            chunk = run[k * per_step:(k + 1) * per_step]
            step_count += sum(int(r.length) for r in chunk)
            entry[f"step_{k}"] = {"step_count": step_count, **_metric_values(chunk)}
        entry["absolute_metrics"] = _metric_values(run[(steps - 1) * per_step:steps * per_step])
        out[name] = entry
    return {environment: {task: {algorithm: out}}}


def check_marl_eval(data: Any) -> None:
    """Raise ``ValueError`` unless ``data`` follows marl-eval's raw-data schema (see module doc)."""
    def fail(where: str, why: str) -> NoReturn:
        raise ValueError(f"not marl-eval data at {where}: {why}")

    if not isinstance(data, dict) or not data:
        fail("top level", "expected {environment: {task: {algorithm: {run: {step: ...}}}}}")
    for env, tasks in data.items():
        if not isinstance(tasks, dict) or not tasks:
            fail(env, "expected tasks")
        for task, algorithms in tasks.items():
            shapes = set()
            for algorithm, runs in (algorithms or {}).items():
                if not isinstance(runs, dict) or not runs:
                    fail(f"{env}/{task}/{algorithm}", "expected runs")
                for run, steps in runs.items():
                    where = f"{env}/{task}/{algorithm}/{run}"
                    keys = list(steps) if isinstance(steps, dict) else []
                    if not keys or keys[-1] != "absolute_metrics":
                        fail(where, "each run must end with 'absolute_metrics'")
                    metric_sets, last = set(), -1
                    for step in keys[:-1]:
                        values = steps[step]
                        count = values.get("step_count") if isinstance(values, dict) else None
                        if isinstance(count, bool) or not isinstance(count, int) or count <= last:
                            fail(f"{where}/{step}", "step_count must be an int that grows")
                        last = count
                        metrics = {m: v for m, v in values.items() if m != "step_count"}
                        metric_sets.add(tuple(sorted(metrics)))
                        for metric, vals in metrics.items():
                            if not isinstance(vals, list) or not vals or not all(
                                    isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
                                fail(f"{where}/{step}/{metric}", "expected a list of finite numbers")
                    absolute = steps["absolute_metrics"]
                    if len(metric_sets) != 1 or tuple(sorted(absolute)) not in metric_sets:
                        fail(where, "every step and absolute_metrics must hold the same metrics")
                    shapes.add((len(keys), metric_sets.pop()))
            if len(shapes) > 1:
                fail(f"{env}/{task}", "every run of every algorithm needs the same steps and metrics")


def write_marl_eval(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Check ``data`` and write it to ``path`` (atomically: a temporary name, then renamed)."""
    check_marl_eval(data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
