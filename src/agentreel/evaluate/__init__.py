"""Parallel evaluation: N episodes sharded across local processes or a Ray cluster.

The same episodes give the same returns wherever they run: episode ``i`` is
seeded with ``seed + i``. Workers commit finished episodes to the shared run
folder; the driver draws one progress bar, reruns what a dead worker left
unfinished (once, without duplicate rows) and merges one log, one summary, one
report. On the command line: ``agentreel record ENV --workers K [--backend ray]``.

Modules: :mod:`~agentreel.evaluate.plan` (shards, the task),
:mod:`~agentreel.evaluate.worker` (what a worker runs),
:mod:`~agentreel.evaluate.backends` (local processes, Ray),
:mod:`~agentreel.evaluate.merge` (watching and merging the logs),
:mod:`~agentreel.evaluate.runner` (the driver, :func:`evaluate`).

Example:
    >>> import tempfile
    >>> from agentreel.evaluate import evaluate
    >>> result = evaluate("CartPole-v1", episodes=3, workers=2, policy="demo", seed=0,
    ...                   out=tempfile.mkdtemp(), progress=False, report=False)
    >>> [r.episode_return for r in result.records]   # the demo agent, episodes seeded 0, 1, 2
    [34.0, 22.0, 133.0]
"""

from __future__ import annotations

from agentreel.evaluate.backends import BACKENDS, LocalBackend, RayBackend, make_backend
from agentreel.evaluate.plan import ShardTask, plan_shards
from agentreel.evaluate.runner import EvaluationResult, evaluate
from agentreel.evaluate.worker import ShardReport, run_shard

__all__ = [
    "BACKENDS",
    "EvaluationResult",
    "LocalBackend",
    "RayBackend",
    "ShardReport",
    "ShardTask",
    "evaluate",
    "make_backend",
    "plan_shards",
    "run_shard",
]
