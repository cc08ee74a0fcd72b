"""Render chosen episodes of a replay log into a run folder, in parallel.

Each worker reads the log itself, rebuilds the env once, replays and verifies
its episodes and encodes them with agentreel's video engine as
``{prefix}-episode-{K}.mp4`` (``{prefix}-env-{I}-episode-{K}.mp4`` for sub-env
``I`` of a vector env) with a sidecar, so ``agentreel report`` and
``timelapse`` list them. A run folder with no episode log gets an
``episodes.jsonl`` built from the replay log.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordReplay
    >>> folder = tempfile.mkdtemp()
    >>> env = RecordReplay(gym.make("CartPole-v1"), folder)
    >>> for seed in range(3):
    ...     _ = env.reset(seed=seed)
    ...     while not any(env.step(seed % 2)[2:4]): pass
    >>> env.close()
    >>> log = read_replay(folder)
    >>> [e.episode for e in select_episodes(log.episodes, best=1)]
    [0]
    >>> [r.name for r in render_episodes(folder, episodes=[0, 2])]
    ['rl-video-episode-0', 'rl-video-episode-2']
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentreel.replay.log import LoggedEpisode, read_replay

__all__ = ["Rendered", "render_episodes", "select_episodes", "video_name"]


@dataclass(frozen=True)
class Rendered:
    """One episode's outcome: its video (``path``, ``frames``) or ``error``."""

    name: str
    path: str
    episode: int
    env_index: int | None
    frames: int = 0
    error: str | None = None
    skipped: bool = False


def video_name(prefix: str, episode: LoggedEpisode) -> str:
    """The name a live ``RecordVideo`` (``per_env=True`` for vector envs) gives the episode."""
    if episode.env_index is None:
        return f"{prefix}-episode-{episode.episode}"
    return f"{prefix}-env-{episode.env_index}-episode-{episode.episode}"


def select_episodes(episodes: Sequence[LoggedEpisode], *, ids: Sequence[int] | None = None,
                    best: int | None = None, worst: int | None = None, failures: bool = False,
                    every: int | None = None) -> list[LoggedEpisode]:
    """The union of the selections, in log order (all episodes when none is given).

    ``ids``: episode numbers; ``best``/``worst``: the K highest/lowest returns (ties to
    the earlier episode); ``failures``: episodes that ended ``terminated``; ``every``:
    episode numbers divisible by N.
    """
    chosen: set[int] = set()
    order = list(range(len(episodes)))
    if ids:
        wanted = set(ids)
        chosen |= {i for i in order if episodes[i].episode in wanted}
    if best:
        chosen |= set(sorted(order, key=lambda i: (-episodes[i].episode_return, i))[:best])
    if worst:
        chosen |= set(sorted(order, key=lambda i: (episodes[i].episode_return, i))[:worst])
    if failures:
        chosen |= {i for i in order if episodes[i].terminated}
    if every:
        chosen |= {i for i in order if episodes[i].episode % every == 0}
    if not (ids or best or worst or failures or every):
        chosen = set(order)
    return [episodes[i] for i in order if i in chosen]


def _render_batch(log_path: str, keys: list[tuple[str, int | None, int]], out: str, prefix: str,
                  format: str, fps: float | None) -> list[Rendered]:
    """Worker: render the episodes ``keys`` (run, env_index, episode) of the log at ``log_path``."""
    from agentreel.replay.player import (
        EnvCache,
        episode_tags,
        render_episode,
        replay_video_engine,
    )

    log = read_replay(log_path)
    by_key = {(e.row["run"], e.env_index, e.episode): e for e in log.episodes}
    engine, envs = replay_video_engine(), EnvCache()
    results = []
    try:
        for key in keys:
            episode = by_key[key]
            name = video_name(prefix, episode)
            path = os.path.join(out, f"{name}.{format}")
            try:
                saved = render_episode(episode, path, engine=engine, envs=envs, fps=fps,
                                       format=format, tags=episode_tags(episode, name))
            except Exception as exc:  # reported per episode; the others go on
                results.append(Rendered(name, path, episode.episode, episode.env_index,
                                        error=str(exc)))
                continue
            results.append(Rendered(name, os.fspath(saved.path), episode.episode, episode.env_index,
                                    saved.frames, saved.error))
    finally:
        envs.close()
        engine.close()
    return results


def _ensure_episode_log(folder: Path, episodes: Sequence[LoggedEpisode]) -> None:
    """Write ``episodes.jsonl`` from the replay log when the folder has no episode log."""
    if (folder / "episodes.jsonl").exists() or (folder / "monitor.csv").exists():
        return
    from agentreel.core.records import EpisodeRecord
    from agentreel.log import JsonlSink

    sink = JsonlSink(folder / "episodes.jsonl")
    try:
        for e in episodes:
            sink.write(EpisodeRecord(index=e.episode, episode_return=e.episode_return,
                                     length=e.steps, terminated=e.terminated,
                                     truncated=e.truncated, seed=e.seed, env_index=e.env_index,
                                     end_time=float(e.row.get("end_time", 0.0))))
    finally:
        sink.close()


def render_episodes(run: str | os.PathLike[str], *, episodes: Sequence[int] | None = None,
                    best: int | None = None, worst: int | None = None, failures: bool = False,
                    every: int | None = None, workers: int = 1, backend: str = "local",
                    address: str | None = None, name_prefix: str = "rl-video",
                    format: str = "mp4", fps: float | None = None,
                    overwrite: bool = False) -> list[Rendered]:
    """Render the selected episodes of ``run``'s replay log into ``run`` (see the module docs).

    Videos that already exist are skipped unless ``overwrite``. Work is split among
    ``workers`` local processes (``backend="local"``) or Ray tasks (``backend="ray"``,
    ``pip install "agentreel[ray]"``). Returns one :class:`Rendered` per episode, in log
    order; a divergent episode has ``error`` set and no video.
    """
    folder = Path(run)
    log = read_replay(folder)
    folder = log.path.parent
    chosen = select_episodes(log.episodes, ids=episodes, best=best, worst=worst,
                             failures=failures, every=every)
    _ensure_episode_log(folder, log.episodes)
    todo, results = [], []
    for e in chosen:
        name = video_name(name_prefix, e)
        path = folder / f"{name}.{format}"
        if path.exists() and not overwrite:
            results.append(Rendered(name, str(path), e.episode, e.env_index, skipped=True))
        else:
            todo.append((e.row["run"], e.env_index, e.episode))
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    batches = [todo[i::workers] for i in range(workers) if todo[i::workers]]
    args = [(str(log.path), batch, str(folder), name_prefix, format, fps) for batch in batches]
    if backend == "ray":
        results += _run_ray(args, address)
    elif backend != "local":
        raise ValueError(f"unknown backend {backend!r}: use local or ray")
    elif len(args) <= 1:
        results += [r for a in args for r in _render_batch(*a)]
    else:
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=len(args), mp_context=context) as pool:
            for batch in pool.map(_render_batch_star, args):
                results += batch
    position = {(e.env_index, e.episode): i for i, e in enumerate(chosen)}
    return sorted(results, key=lambda r: position.get((r.env_index, r.episode), 0))


def _render_batch_star(args: tuple[Any, ...]) -> list[Rendered]:
    return _render_batch(*args)


def _run_ray(args: list[tuple[Any, ...]], address: str | None) -> list[Rendered]:
    from agentreel.base.extras import require

    ray = require("ray", "ray")
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        if address is None:
            options["include_dashboard"] = False
        ray.init(address=address, **options)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_render_batch_star)
        return [r for batch in ray.get([remote.remote(a) for a in args]) for r in batch]
    finally:
        if started:
            ray.shutdown()
