"""The main job: run a policy for N episodes, with videos and an episode log.

Example:
    >>> import tempfile
    >>> result = record_run("CartPole-v1", episodes=2, out=tempfile.mkdtemp(), policy="demo",
    ...                     seed=0, progress=False)
    >>> [r.length for r in result.records]
    [500, 500]
    >>> len(result.videos)
    2
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field

import gymnasium as gym

from agentreel.policies import load_policy
from agentreel.recorder import VideoSaved
from agentreel.recording import RecordVideo
from agentreel.records import EpisodeRecord
from agentreel.statistics import RecordEpisodeStatistics


@dataclass
class RunResult:
    """What :func:`record_run` produced."""

    out: str
    env_id: str
    records: list[EpisodeRecord] = field(default_factory=list)
    videos: list[VideoSaved] = field(default_factory=list)
    seconds: float = 0.0


def default_out_dir(env_id: str, root: str = "agentreel-runs") -> str:
    """A new folder ``agentreel-runs/<env-id>-NNN`` that does not exist yet."""
    stem = safe_name(env_id)
    number = 1
    while os.path.exists(os.path.join(root, f"{stem}-{number:03d}")):
        number += 1
    return os.path.join(root, f"{stem}-{number:03d}")


def safe_name(text: str) -> str:
    """``ALE/Pong-v5`` -> ``ALE-Pong-v5``: a string usable in file names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "env"


def make_env(env_id: str) -> gym.Env:
    """``gym.make(env_id, render_mode="rgb_array")`` with errors a person can act on."""
    try:
        return gym.make(env_id, render_mode="rgb_array")
    except gym.error.DependencyNotInstalled as exc:
        raise RuntimeError(f"{env_id} needs a package that is not installed: {exc}") from exc
    except gym.error.Error as exc:
        raise RuntimeError(f"unknown or unusable environment {env_id!r}: {exc}") from exc


def record_run(
    env_id: str,
    *,
    episodes: int = 10,
    out: str | None = None,
    every: int = 1,
    policy: str = "auto",
    seed: int | None = None,
    progress: bool = True,
    video_format: str = "mp4",
) -> RunResult:
    """Run ``policy`` on ``env_id`` for ``episodes`` episodes, recording every ``every``-th.

    Writes into ``out``: the videos, ``monitor.csv`` and ``episodes.jsonl`` (one row
    per episode) and a JSON sidecar per video.
    """
    if episodes < 1:
        raise ValueError(f"--episodes must be at least 1, got {episodes}")
    if every < 1:
        raise ValueError(f"--every must be at least 1 (1 records every episode), got {every}")
    out = out or default_out_dir(env_id)
    env = make_env(env_id)
    result = RunResult(out=os.path.abspath(out), env_id=env_id)
    env = RecordVideo(
        env, out, episode_trigger=lambda i: i % every == 0, name_prefix=safe_name(env_id),
        format=video_format, sidecar=True, on_video_saved=result.videos.append,
    )
    env = RecordEpisodeStatistics(env, buffer_length=episodes, log=out, env_id=env_id,
                                  on_episode_end=result.records.append)
    act = load_policy(policy, env, env_id)
    started = time.perf_counter()
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=None if seed is None else seed + episode)
            if seed is not None and episode == 0:
                env.action_space.seed(seed)
            done = False
            while not done:
                obs, _, terminated, truncated, _ = env.step(act(obs))
                done = terminated or truncated
            if progress:
                show_progress(episode + 1, episodes, result.records[-1])
    finally:
        env.close()
        if progress:
            sys.stderr.write("\n")
    result.seconds = time.perf_counter() - started
    return result


def show_progress(done: int, total: int, last: EpisodeRecord) -> None:
    """One self-overwriting line: a bar, the count and the last episode."""
    width = 30
    filled = int(width * done / total)
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(
        f"\r[{bar}] {done}/{total} episodes  last: return {last.episode_return:.1f}, "
        f"length {last.length}"
    )
    sys.stderr.flush()
