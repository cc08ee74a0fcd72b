"""The main job: run a policy for N episodes, with videos, an episode log and a report.

What :func:`record_run` writes into its run folder (the contract that
``agentreel summary``/``plot``/``report``/``timelapse`` read back):

* ``episodes.jsonl`` and ``monitor.csv``: one row per finished episode;
* ``NAME.mp4`` (or ``.webm``/``.gif``) for every recorded episode, each with
  a JSON sidecar ``NAME.json`` (frames, fps, size, ids, the episode's return
  and length). Names are ``ENV-episode-{i}`` for one env and
  ``ENV-env-{e}-episode-{k}`` (sub-env ``e``'s ``k``-th episode) with ``num_envs > 1``;
* ``report.html`` (unless ``report=False``).

With ``num_envs > 1`` the environments run in a synchronous vector env and the
job stops at the step where the N-th episode finishes. Exactly N episodes are
logged: episodes that other sub-envs finish on that same step, and those cut
short by the stop, are not logged and their videos are deleted, so every video in
the folder belongs to a logged episode.

Without a seed one is drawn (``RunResult.seed``), so any run can be repeated.
A run that fails before its first episode ends leaves no run folder behind
(nor any file it made in an existing ``out`` folder).

Example:
    >>> import tempfile
    >>> result = record_run("CartPole-v1", episodes=2, out=tempfile.mkdtemp(), policy="random",
    ...                     seed=0, progress=False)
    >>> len(result.records), len(result.videos), result.report.name, result.seed
    (2, 2, 'report.html', 0)
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym

from agentreel.app.env_setup import plain_env_id, render_error_message, resolve_env_id
from agentreel.app.policies import load_policy
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.core.videofiles import sidecar_path
from agentreel.log.sinks import open_sinks
from agentreel.wrappers.recording import RecordVideo
from agentreel.wrappers.statistics import RecordEpisodeStatistics

__all__ = ["RunResult", "NewFiles", "Progress", "default_out_dir", "episode_seed", "make_env",
           "make_vector_env", "play_episode", "record_run", "recording_env", "safe_name"]


@dataclass
class RunResult:
    """What :func:`record_run` produced."""

    out: str
    env_id: str
    records: list[EpisodeRecord] = field(default_factory=list)
    videos: list[VideoSaved] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    num_envs: int = 1
    report: Path | None = None
    seed: int | None = None


def default_out_dir(env_id: str, root: str = "agentreel-runs") -> str:
    """A new folder ``agentreel-runs/<env-id>-NNN`` that does not exist yet."""
    stem = safe_name(env_id)
    number = 1
    while os.path.exists(os.path.join(root, f"{stem}-{number:03d}")):
        number += 1
    return os.path.join(root, f"{stem}-{number:03d}")


def safe_name(text: str) -> str:
    """``ALE/Pong-v5`` -> ``ALE-Pong-v5``: an env id usable in file names.

    The module of Gymnasium's ``module:ENV_ID`` form is dropped: files are named by the plain id.

    >>> safe_name("ALE/Pong-v5"), safe_name("ale_py:ALE/Pong-v5")
    ('ALE-Pong-v5', 'ALE-Pong-v5')
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", plain_env_id(text)).strip("-") or "env"


def _env_error(env_id: str, exc: Exception) -> RuntimeError:
    if isinstance(exc, gym.error.DependencyNotInstalled):
        return RuntimeError(f"{env_id} needs a package that is not installed: {exc}")
    return RuntimeError(f"unknown or unusable environment {env_id!r}: {exc}")


def _limit(max_episode_steps: int | None) -> dict[str, Any]:
    return {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}


def make_env(env_id: str, max_episode_steps: int | None = None) -> gym.Env:
    """``gym.make(env_id, render_mode="rgb_array")`` with errors a person can act on.

    The plugin package of the id is imported first (``ALE/Pong-v5``: ``ale_py``), see
    :func:`agentreel.app.env_setup.resolve_env_id`. ``max_episode_steps`` caps each episode.
    """
    resolve_env_id(env_id)
    try:
        return gym.make(env_id, render_mode="rgb_array", **_limit(max_episode_steps))
    except gym.error.Error as exc:
        raise _env_error(env_id, exc) from exc


def make_vector_env(env_id: str, num_envs: int,
                    max_episode_steps: int | None = None) -> gym.vector.VectorEnv:
    """``gym.make_vec(env_id, num_envs, vectorization_mode="sync", render_mode="rgb_array")``."""
    resolve_env_id(env_id)
    try:
        return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                            render_mode="rgb_array", **_limit(max_episode_steps))
    except gym.error.Error as exc:
        raise _env_error(env_id, exc) from exc


class Progress:
    """A self-overwriting progress line on a terminal: episodes, steps, speed, last return.

    Draws only when ``enabled``; redraws at most every ``interval`` seconds between
    episodes. Call :meth:`close` at the end (prints the line ending).

    >>> import io
    >>> p = Progress(3, stream=io.StringIO(), enabled=True)
    >>> p.update(steps=10, episodes=1, last_return=10.0, force=True)
    >>> "1/3 episodes" in p.stream.getvalue()
    True
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None,
                 interval: float = 0.1, width: int = 24) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.interval = interval
        self.width = width
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = False
        self._last_return: float | None = None

    def update(self, *, steps: int, episodes: int, last_return: float | None = None,
               force: bool = False) -> None:
        """Redraw the line (throttled unless ``force``)."""
        if not self.enabled:
            return
        if last_return is not None:
            self._last_return = last_return
        now = time.perf_counter()
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        done = min(episodes, self.total)
        filled = int(self.width * done / self.total) if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        rate = steps / max(now - self.started, 1e-9)
        last = "" if self._last_return is None else f"  last return {self._last_return:.1f}"
        self.stream.write(f"\r[{bar}] {episodes}/{self.total} episodes  {steps:,} steps "
                          f"({rate:,.0f}/s){last}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def message(self, text: str) -> None:
        """Print ``text`` on its own line on the stream (above the bar, which is redrawn next)."""
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_draw = 0.0

    def close(self) -> None:
        """End the progress line."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def record_run(
    env_id: str,
    *,
    episodes: int = 10,
    out: str | None = None,
    every: int = 1,
    policy: str = "auto",
    seed: int | None = None,
    progress: bool | None = None,
    video_format: str = "mp4",
    num_envs: int = 1,
    report: bool = True,
    max_episode_steps: int | None = None,
) -> RunResult:
    """Run ``policy`` on ``env_id`` for ``episodes`` episodes, recording every ``every``-th.

    Args:
        env_id: a Gymnasium id (made with ``render_mode="rgb_array"``).
        episodes: episodes to run (at least this many with ``num_envs > 1``).
        out: the run folder (default: a new ``agentreel-runs/<env-id>-NNN``).
        every: record a video of every ``every``-th episode (of each sub-env).
        policy: ``auto``, ``random``, ``demo``, ``module:callable`` or an SB3 ``.zip``.
        seed: single env: episode ``i`` resets with seed ``seed + i`` and seeds the
            action space with it (:func:`episode_seed`), so a run is reproducible
            episode by episode; vector: sub-env ``i`` gets ``seed + i``, and the
            action space ``seed``.
        progress: draw a progress line on stderr; ``None``: only when stderr is a terminal.
        video_format: ``mp4``, ``webm`` or ``gif``.
        num_envs: sub-environments; more than 1 uses a synchronous vector env
            and one video file per sub-env episode.
        report: write ``report.html`` into the folder at the end.
        max_episode_steps: end (truncate) every episode after this many steps.

    Returns:
        A :class:`RunResult`; ``seed`` is the one given or the one drawn.

    Raises:
        ValueError: bad arguments or policy. RuntimeError: unknown or unusable env id.
    """
    for name, value, minimum in (("--episodes", episodes, 1), ("--every", every, 1),
                                 ("--num-envs", num_envs, 1),
                                 ("--max-episode-steps", max_episode_steps or 1, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"--seed must be an integer, got {seed!r}")
    out = out or default_out_dir(env_id)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out} is a file; give a folder for the run")
    result = RunResult(out=os.path.abspath(out), env_id=env_id, num_envs=num_envs, seed=seed)
    bar = Progress(episodes, enabled=progress)
    started = time.perf_counter()
    debris = NewFiles(result.out)
    try:
        if num_envs == 1:
            _run_single(result, episodes, every, policy, seed, video_format, bar,
                        max_episode_steps)
        else:
            _run_vector(result, episodes, every, policy, seed, video_format, bar,
                        max_episode_steps)
    except BaseException as exc:
        if not result.records:  # the run never started: leave nothing behind
            debris.remove()
        message = render_error_message(exc)
        if message is not None:
            raise RuntimeError(message) from exc
        raise
    finally:
        bar.close()
    result.seconds = time.perf_counter() - started
    if report and result.records:
        from agentreel.report import write_report

        result.report = write_report([result.out], Path(result.out) / "report.html",
                                     title=f"agentreel: {env_id}")
    return result


def episode_seed(seed: int | None, index: int) -> int | None:
    """The seed of episode ``index`` of a run seeded with ``seed``: ``seed + index``.

    Every episode gets its own seed (for ``reset()`` and the action space), so an
    episode's outcome depends only on its index, not on which worker ran it or what
    ran before it.

    >>> episode_seed(100, 3), episode_seed(None, 3)
    (103, None)
    """
    return None if seed is None else seed + index


def play_episode(env: gym.Env, act: Callable[[Any], Any], seed: int | None,
                 on_step: Callable[[int], None] | None = None, index: int | None = None) -> int:
    """Run one episode of ``act`` on ``env``; returns its number of steps.

    ``reset(seed=seed)`` and, when ``seed`` is given, ``env.action_space.seed(seed)``
    (so a random policy is reproducible episode by episode). ``on_step(steps)`` is
    called after every step. A policy with a ``start_episode`` method (the demo
    agent) is told the episode's ``index`` in the run first.

    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> play_episode(env, lambda obs: env.action_space.sample(), seed=0) == play_episode(
    ...     env, lambda obs: env.action_space.sample(), seed=0)
    True
    """
    start_episode = getattr(act, "start_episode", None)
    if index is not None and callable(start_episode):
        start_episode(index)
    obs, _ = env.reset(seed=seed)
    if seed is not None:
        env.action_space.seed(seed)
    steps = 0
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(act(obs))
        done = bool(terminated or truncated)
        steps += 1
        if on_step is not None:
            on_step(steps)
    return steps


def recording_env(env_id: str, video_folder: str, *, trigger: Callable[[int], bool],
                  video_format: str = "mp4",
                  on_video_saved: Callable[[VideoSaved], None] | None = None,
                  on_episode_end: Callable[[EpisodeRecord], None] | None = None,
                  log: Any = None, sidecar: bool = True, buffer_length: int = 100,
                  max_episode_steps: int | None = None) -> Any:
    """``make_env(env_id)`` wrapped for a recorded run: videos, then episode statistics.

    Videos are named ``safe_name(env_id)-episode-{i}`` (``i`` counted by the
    wrapper from 0) and are taken when ``trigger(i)`` is true.
    """
    env: Any = make_env(env_id, max_episode_steps)
    try:
        env = RecordVideo(
            env, video_folder, episode_trigger=trigger, name_prefix=safe_name(env_id),
            format=video_format, sidecar=sidecar, on_video_saved=on_video_saved,
        )
        return RecordEpisodeStatistics(env, buffer_length=buffer_length, log=log,
                                       env_id=env_id, on_episode_end=on_episode_end)
    except BaseException:
        env.close()
        raise


class NewFiles:
    """What a run adds to its folder, so that a run that never started can remove it.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> added = NewFiles(str(root / "runs" / "one"))
    >>> (root / "runs" / "one").mkdir(parents=True)
    >>> added.remove(); sorted(p.name for p in root.iterdir())
    []
    """

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.created = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        self.before = set(os.listdir(folder)) if self.folder.is_dir() else set()

    def remove(self) -> None:
        """Delete the folders this run created, or the files it added to an existing one."""
        if self.created:
            shutil.rmtree(self.created[-1], ignore_errors=True)
            return
        if not self.folder.is_dir():
            return
        for name in set(os.listdir(self.folder)) - self.before:
            path = self.folder / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


class _FirstEpisodes:
    """The run's log: the first ``limit`` episodes go to the folder's files and the result.

    Videos are named by their file name (they lie in the run folder).
    """

    def __init__(self, result: RunResult, limit: int) -> None:
        self.result = result
        self.limit = limit
        self.sink, self.owned = open_sinks(result.out, env_id=result.env_id)

    def write(self, record: EpisodeRecord) -> None:
        if len(self.result.records) >= self.limit:
            return  # finished on the same step as the last one wanted: not part of the run
        if record.video is not None:
            record = record.replace(video=os.path.basename(record.video))
        self.result.records.append(record)
        if self.sink is not None:
            self.sink.write(record)

    def close(self) -> None:
        for sink in self.owned:
            sink.close()


def _run_single(result: RunResult, episodes: int, every: int, policy: str, seed: int | None,
                video_format: str, bar: Progress, max_episode_steps: int | None = None) -> None:
    env = recording_env(result.env_id, result.out, trigger=lambda i: i % every == 0,
                        video_format=video_format, on_video_saved=result.videos.append,
                        on_episode_end=result.records.append, log=result.out,
                        buffer_length=episodes, max_episode_steps=max_episode_steps)
    try:
        act = load_policy(policy, env, result.env_id)
        for episode in range(episodes):
            def on_step(_: int, done: int = episode) -> None:
                result.steps += 1
                bar.update(steps=result.steps, episodes=done)

            play_episode(env, act, episode_seed(seed, episode), on_step, index=episode)
            bar.update(steps=result.steps, episodes=episode + 1,
                       last_return=result.records[-1].episode_return, force=True)
    finally:
        env.close()


def _run_vector(result: RunResult, episodes: int, every: int, policy: str, seed: int | None,
                video_format: str, bar: Progress, max_episode_steps: int | None = None) -> None:
    from agentreel.vector import RecordEpisodeStatistics as VectorStatistics
    from agentreel.vector.recording import RecordVideo as VectorRecordVideo

    envs: Any = make_vector_env(result.env_id, result.num_envs, max_episode_steps)
    log = None
    try:
        envs = VectorRecordVideo(
            envs, result.out, episode_trigger=lambda k: k % every == 0,
            name_prefix=safe_name(result.env_id), per_env=True, sidecar=True,
            format=video_format, on_video_saved=result.videos.append,
        )
        log = _FirstEpisodes(result, episodes)
        envs = VectorStatistics(envs, buffer_length=max(episodes, 100), log=log,
                                env_id=result.env_id)
        act = load_policy(policy, envs, result.env_id)
        obs, _ = envs.reset(seed=seed)
        if seed is not None:
            envs.action_space.seed(seed)
        while len(result.records) < episodes:
            before = len(result.records)
            obs, _, _, _, _ = envs.step(act(obs))
            result.steps += result.num_envs
            finished = len(result.records) > before
            bar.update(steps=result.steps, episodes=len(result.records), force=finished,
                       last_return=result.records[-1].episode_return if result.records else None)
    finally:
        envs.close()
        if log is not None:
            log.close()
    _drop_unfinished_videos(result)


def _drop_unfinished_videos(result: RunResult) -> None:
    """Delete per-env videos of episodes that did not finish before the job stopped."""
    finished: dict[int, int] = {}
    for record in result.records:
        if record.env_index is not None:
            finished[record.env_index] = finished.get(record.env_index, 0) + 1
    kept = []
    for video in result.videos:
        if (video.env_index is not None and video.episode_id is not None
                and video.episode_id >= finished.get(video.env_index, 0)):
            for path in (video.path, sidecar_path(video.path)):
                Path(path).unlink(missing_ok=True)
        else:
            kept.append(video)
    result.videos = kept
