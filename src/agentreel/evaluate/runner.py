"""The driver: plan shards, run them on a backend, show progress, rerun the dead, merge.

:func:`evaluate` is ``agentreel record ENV --workers K [--backend ray]``. It
writes the same run folder as :func:`agentreel.app.run.record_run` (one
``episodes.jsonl`` and ``monitor.csv`` sorted by episode index, one video with
sidecar per recorded episode, ``report.html``), so ``agentreel summary``,
``plot``, ``report`` and :class:`agentreel.Run` read it unchanged.

How a run goes:

1. episodes ``0 .. N-1`` are split into contiguous shards, one per worker;
   episode ``i`` always gets seed ``S + i`` (:func:`agentreel.app.run.episode_seed`),
   so returns do not depend on the number of workers or the backend;
2. workers commit each finished episode to their own log in
   ``OUT/.agentreel-parts/`` (see :mod:`agentreel.evaluate.worker`); the
   driver polls those logs to draw one progress bar for all workers;
3. a worker that dies (killed, out of memory, node lost) is reported on
   stderr and in :attr:`EvaluationResult.failures`, and the episodes it had not
   committed are rerun once by a new worker; committed episodes are never rerun,
   so the log has no duplicate rows;
4. the logs are merged (:func:`agentreel.evaluate.merge.merge_run`) and the report written.

Example:
    >>> import tempfile
    >>> result = evaluate("CartPole-v1", episodes=4, workers=2, policy="random", seed=0,
    ...                   out=tempfile.mkdtemp(), progress=False, report=False)
    >>> [r.index for r in result.records], [r.seed for r in result.records]
    ([0, 1, 2, 3], [0, 1, 2, 3])
    >>> len(result.videos), result.failures
    (4, [])
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym

from agentreel.app.env_setup import plain_env_id, resolve_env_id
from agentreel.app.policies import demo_policy
from agentreel.app.run import NewFiles, Progress, RunResult, default_out_dir
from agentreel.core.records import VideoSaved
from agentreel.core.videofiles import check_format, find_videos
from agentreel.evaluate.backends import Backend, Job, WorkerDied, make_backend
from agentreel.evaluate.merge import PartsWatcher, merge_run
from agentreel.evaluate.plan import PARTS_DIR, ShardTask, check_count, plan_shards
from agentreel.evaluate.worker import TOKEN_NAME, ShardReport
from agentreel.log.reader import log_files

__all__ = ["EvaluationResult", "evaluate"]

#: Seconds between two looks at the workers' logs (progress) and jobs.
POLL_INTERVAL = 0.2


@dataclass
class EvaluationResult(RunResult):
    """What :func:`evaluate` produced: a :class:`~agentreel.app.run.RunResult` plus how it ran.

    Attributes:
        workers: the number of shards (worker processes or Ray tasks) planned.
        backend: ``local`` or ``ray``.
        seed: the base seed (episode ``i`` used ``seed + i``); drawn at random when
            none was given, so any run can be repeated exactly.
        failures: one line per worker that died.
        reruns: episodes rerun because their worker died.
        shards: the reports of the workers that finished.
    """

    workers: int = 1
    backend: str = "local"
    seed: int = 0
    failures: list[str] = field(default_factory=list)
    reruns: int = 0
    shards: list[ShardReport] = field(default_factory=list)


def check_policy_spec(spec: str, env_id: str) -> None:
    """Fail in the driver, before any worker starts, on a policy spec that cannot work.

    >>> check_policy_spec("random", "CartPole-v1")
    >>> check_policy_spec("nonsense", "CartPole-v1")
    Traceback (most recent call last):
    ...
    ValueError: unknown policy 'nonsense': use random, demo, package.module:callable or path/to/sb3_model.zip
    """
    if spec in ("random", "auto") or ":" in spec:
        return
    if spec == "demo":
        if demo_policy(env_id) is None:
            raise ValueError(f"no demo policy for {env_id}; use --policy random")
        return
    if spec.endswith(".zip"):
        if not os.path.exists(spec):
            raise ValueError(f"no model file at {spec}")
        return
    raise ValueError(
        f"unknown policy {spec!r}: use random, demo, package.module:callable or path/to/sb3_model.zip"
    )


def _check_env_id(env_id: str) -> None:
    resolve_env_id(env_id)  # ALE/Pong-v5: imports ale_py (each worker does the same)
    try:
        gym.spec(plain_env_id(env_id))
    except gym.error.Error as exc:
        raise RuntimeError(f"unknown or unusable environment {env_id!r}: {exc}") from exc


def _prepare_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the run")
    if out.is_dir() and log_files(out):
        raise ValueError(f"--out {out} already holds a run (an episode log); give a new folder")


def evaluate(
    env_id: str,
    *,
    episodes: int = 10,
    out: str | None = None,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    policy: str = "auto",
    seed: int | None = None,
    every: int = 1,
    video_format: str = "mp4",
    progress: bool | None = None,
    report: bool = True,
) -> EvaluationResult:
    """Run ``episodes`` episodes of ``policy`` on ``env_id`` in parallel workers.

    Args:
        env_id: a Gymnasium id (made with ``render_mode="rgb_array"`` in each worker).
        episodes: exactly this many episodes, indices ``0 .. episodes-1``.
        out: the run folder (default: a new ``agentreel-runs/<env-id>-NNN``); it must
            not hold a run already. With Ray on several machines, a shared filesystem.
        workers: shards to run in parallel (default: local, ``min(4, CPUs)``; Ray, the
            cluster's CPUs). Never more than ``episodes``.
        backend: ``local`` (processes on this machine) or ``ray``.
        address: the Ray cluster (``ray://head:10001``, ``auto``); default: the Ray
            session already initialised in this process, else a new local instance.
        policy: ``auto``, ``random``, ``demo``, ``module:callable`` or an SB3 ``.zip``.
        seed: the base seed: episode ``i`` resets with, and seeds the action space
            with, ``seed + i``. ``None``: a random base seed, kept in the result.
        every: record a video of episode ``i`` when ``i % every == 0``.
        video_format: ``mp4``, ``webm`` or ``gif``.
        progress: one progress bar for all workers on stderr; ``None``: when a terminal.
        report: write ``report.html`` at the end.

    Raises:
        ValueError: bad arguments or policy, or ``out`` already holds a run.
        RuntimeError: unknown env id; episodes lost even after a rerun (the finished
            ones are merged into ``out`` first); Ray cannot start.
        ImportError: ``backend="ray"`` without Ray installed.
    """
    check_count("--episodes", episodes)
    check_count("--every", every)
    if workers is not None:
        check_count("--workers", workers)
    check_format(video_format)
    check_policy_spec(policy, env_id)
    _check_env_id(env_id)
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"--seed must be an integer, got {seed!r}")
    folder = Path(out or default_out_dir(env_id)).resolve()
    _prepare_folder(folder)

    runner = make_backend(backend, workers, address=address)
    result = EvaluationResult(out=str(folder), env_id=env_id, workers=runner.workers,
                              backend=runner.name, seed=seed)
    debris = NewFiles(str(folder))
    try:
        return _evaluate(result, runner, folder, episodes, policy, every, video_format,
                         progress, report)
    except BaseException:
        if not result.records:  # the run never started: leave nothing behind
            debris.remove()
        raise


def _evaluate(result: EvaluationResult, runner: Backend, folder: Path, episodes: int,
              policy: str, every: int, video_format: str, progress: bool | None,
              report: bool) -> EvaluationResult:
    env_id, seed = result.env_id, result.seed
    parts = folder / PARTS_DIR
    shutil.rmtree(parts, ignore_errors=True)  # left by a driver that crashed
    parts.mkdir(parents=True)
    token = secrets.token_hex(8)
    (parts / TOKEN_NAME).write_text(token + "\n", encoding="utf-8")

    base = ShardTask(env_id=env_id, policy=policy, out=str(folder), shard=0, attempt=0,
                     indices=(), seed=seed, every=every, video_format=video_format, token=token)
    watcher = PartsWatcher(parts)
    bar = Progress(episodes, enabled=progress)
    started, t_start = time.perf_counter(), time.time()
    lost: list[int] = []
    finished = False
    try:
        shards = plan_shards(episodes, runner.workers)
        result.workers = len(shards)
        running = [runner.submit(dataclasses.replace(base, shard=k, indices=indices))
                   for k, indices in enumerate(shards)]
        while running:
            done = runner.wait(running, POLL_INTERVAL)
            _draw(bar, watcher)
            for job in done:
                running.remove(job)
                outcome = runner.outcome(job)
                if isinstance(outcome, ShardReport):
                    result.shards.append(outcome)
                else:
                    lost += _worker_died(job, outcome, runner, running, watcher, bar, result)
        finished = True
    finally:
        runner.shutdown(cancel=not finished)
        _draw(bar, watcher)
        bar.close()
        if finished or watcher.done:  # keep what was committed even when the run failed
            watcher.poll()
            result.records = merge_run(folder, watcher.records(), env_id=env_id, t_start=t_start)
    result.seconds = time.perf_counter() - started
    result.steps = sum(r.length for r in result.records)
    result.videos = _videos(folder)
    if report and result.records:
        from agentreel.report import write_report

        result.report = write_report([result.out], folder / "report.html",
                                     title=f"agentreel: {env_id}")
    missing = sorted(set(range(episodes)) - {r.index for r in result.records})
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise RuntimeError(
            f"{len(missing)} of {episodes} episodes did not finish even after a rerun "
            f"(episodes {shown}; {'; '.join(result.failures)}); the "
            f"{len(result.records)} finished ones are in {folder}"
        )
    return result


def _draw(bar: Progress, watcher: PartsWatcher) -> None:
    new = watcher.poll()
    last = watcher.last.episode_return if new and watcher.last is not None else None
    bar.update(steps=watcher.steps, episodes=len(watcher.done), last_return=last, force=bool(new))


def _worker_died(job: Job, died: WorkerDied, runner: Backend, running: list[Job],
                 watcher: PartsWatcher, bar: Progress, result: EvaluationResult) -> list[int]:
    """Report a dead worker; rerun its uncommitted episodes once. Returns the lost ones."""
    watcher.poll()  # the worker is gone: its log is final
    task = job.task
    missing = tuple(i for i in task.indices if i not in watcher.done)
    reason = died.reason
    if not (watcher.folder / f"{task.name}.jsonl").exists():  # opened first thing in run_shard
        reason = "it died before starting its episodes (see its error output above)"
    text = f"worker {task.shard}{' (rerun)' if task.attempt else ''} died: {reason}"
    lost: list[int] = []
    if not missing:
        text += "; all its episodes had finished"
    elif task.attempt == 0:
        text += f"; rerunning its {len(missing)} unfinished episode(s) {_span(missing)}"
        running.append(runner.submit(dataclasses.replace(task, attempt=1, indices=missing)))
        result.reruns += len(missing)
    else:
        text += f"; episodes {_span(missing)} are lost"
        lost = list(missing)
    result.failures.append(text)
    bar.message(f"agentreel: {text}")
    return lost


def _span(indices: tuple[int, ...]) -> str:
    if len(indices) > 1 and indices[-1] - indices[0] == len(indices) - 1:
        return f"{indices[0]}-{indices[-1]}"
    return ", ".join(map(str, indices))


def _videos(folder: Path) -> list[VideoSaved]:
    """The run's videos (from their sidecars), in episode order."""
    return sorted(find_videos(folder),
                  key=lambda v: (v.episode_id if v.episode_id is not None else -1, v.name))
