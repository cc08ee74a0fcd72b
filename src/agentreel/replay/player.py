"""Replay a logged episode: rebuild the env, repeat the actions, check every step, render.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordReplay
    >>> from agentreel.replay import read_replay
    >>> folder = tempfile.mkdtemp()
    >>> env = RecordReplay(gym.make("CartPole-v1"), folder)
    >>> _ = env.reset(seed=0)
    >>> for _ in range(500):
    ...     if any(env.step(0)[2:4]): break
    >>> env.close()
    >>> episode = read_replay(folder).episodes[0]
    >>> frames = list(replay_frames(episode))
    >>> len(frames) == episode.steps + 1, frames[0].shape
    (True, (400, 600, 3))
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from agentreel.clips.recorder import resolve_fps
from agentreel.replay.codec import NotReplayable, obs_digest, restore_rng
from agentreel.replay.hidden import restore_hidden
from agentreel.replay.log import LoggedEpisode
from agentreel.replay.recipe import build_env
from agentreel.video import SavedVideo, VideoEngine

__all__ = ["EnvCache", "ReplayDivergence", "render_episode", "replay_frames", "replay_video_engine"]

HINT = ("the env is not deterministic given its seed and the actions (global random state, "
        "wall clock, threads?); record it live with RecordVideo(..., replay=False)")


class ReplayDivergence(RuntimeError):
    """A replayed step did not match the log; the message names the episode and the step."""

    def __init__(self, episode: LoggedEpisode, step: int, what: str) -> None:
        where = "its reset" if step == 0 else f"step {step}"
        super().__init__(f"replay of {episode.label} diverged at {where}: {what}. Hint: {HINT}")
        self.episode = episode.episode
        self.env_index = episode.env_index
        self.step = step


class ReplayCancelled(RuntimeError):
    """Rendering stopped because its requester went away."""


class EnvCache:
    """One rebuilt env per recipe, reused across episodes; :meth:`close` closes them."""

    def __init__(self, render_mode: str = "rgb_array") -> None:
        self.render_mode = render_mode
        self._envs: dict[str, gym.Env] = {}

    def get(self, episode: LoggedEpisode) -> gym.Env:
        """An env for ``episode``'s recipe, warmed up like the live env (built on first use)."""
        key = json.dumps([episode.recipe, episode.first_reset], sort_keys=True)
        if key not in self._envs:
            self._envs[key] = warmed_env(episode, self.render_mode)
        return self._envs[key]

    def close(self) -> None:
        """Close every env."""
        envs, self._envs = list(self._envs.values()), {}
        for env in envs:
            env.close()


def warmed_env(episode: LoggedEpisode, render_mode: str = "rgb_array") -> gym.Env:
    """A new env for ``episode``, reset and rendered once as the live env first was.

    Some renderers fix their view at their first frame (MuJoCo's free camera looks at
    where the body was then); repeating the run's first reset and frame makes replayed
    frames match live ones.
    """
    env = build_env(episode.recipe, render_mode=render_mode)
    if episode.first_reset is not None:
        try:
            _start(env, episode, episode.first_reset)
            env.render()
        except Exception:  # only a warm-up: the replay itself reports real problems
            pass
    return env


def _start(env: gym.Env, episode: LoggedEpisode, row: dict[str, Any] | None = None) -> Any:
    row = episode.row if row is None else row
    options = row.get("options")
    if isinstance(options, dict) and "not_json" in options:
        raise NotReplayable(f"{episode.label} was reset with options that are not JSON "
                            f"({options['not_json']}); it cannot be replayed")
    if row.get("seed") is not None:
        return env.reset(seed=row["seed"], options=options)[0]
    if row.get("rng") is None:
        raise NotReplayable(f"{episode.label} began without a seed and its RNG state could not "
                            "be captured (a step after the episode ended without reset()?)")
    env.unwrapped.np_random = restore_rng(row["rng"])
    restore_hidden(env, row.get("hidden"))
    return env.reset(options=options)[0]


def _frame(env: gym.Env) -> Any:
    frame = env.render()
    if isinstance(frame, list):
        frame = frame[-1] if frame else None
    if isinstance(frame, tuple) and frame and isinstance(frame[0], np.ndarray):
        frame = frame[0]
    return frame


def replay_frames(episode: LoggedEpisode, env: gym.Env | None = None, *,
                  render: bool = True) -> Iterator[Any]:
    """Yield the episode's frames (reset frame, then one per step), each step verified first.

    Raises :class:`ReplayDivergence` at the first step whose reward, flags or
    observation digest differs from the log; ``render=False`` only verifies (yields ``None``).
    """
    own = env is None
    if env is None:
        env = warmed_env(episode)
    try:
        actions = episode.actions(env.action_space)
        rewards, flags, digests = episode.rewards(), episode.flags(), episode.digests()
        obs = _start(env, episode)
        if obs_digest(obs) != digests[0]:
            raise ReplayDivergence(episode, 0, "the reset observation differs from the logged one")
        yield _frame(env) if render else None
        for t, action in enumerate(actions, 1):
            obs, reward, terminated, truncated, _ = env.step(action)
            logged = rewards[t - 1]
            if not (np.float64(reward) == logged or (np.isnan(logged) and np.isnan(np.float64(reward)))):
                raise ReplayDivergence(episode, t, f"reward {float(reward)!r} != logged {logged!r}")
            got = int(bool(terminated)) | int(bool(truncated)) << 1
            if got != flags[t - 1]:
                raise ReplayDivergence(
                    episode, t, f"terminated/truncated {bool(terminated)}/{bool(truncated)} != "
                    f"logged {bool(flags[t - 1] & 1)}/{bool(flags[t - 1] & 2)}")
            if obs_digest(obs) != digests[t]:
                raise ReplayDivergence(episode, t, "the observation differs from the logged one")
            yield _frame(env) if render else None
    finally:
        if own:
            env.close()


def episode_tags(episode: LoggedEpisode, name: str) -> dict[str, Any]:
    """The tags of an episode's video, as a live ``RecordVideo`` writes them."""
    tags: dict[str, Any] = {"name": name, "episode_id": episode.episode, "step_id": -1,
                            "episode_return": episode.episode_return,
                            "episode_length": episode.steps, "terminated": episode.terminated,
                            "truncated": episode.truncated, "replayed": True}
    if episode.env_index is not None:
        tags["env_index"] = episode.env_index
    return tags


def replay_video_engine(backend: str = "process") -> VideoEngine:
    """The video engine of a replay renderer: ``preset="auto"`` fixed at its start level.

    A live recording's engine steps to faster x264 settings (larger files) when the
    agent's loop waited on it; a renderer that replays in the background is not the
    agent's loop, so it keeps the level a live recording starts at.

    >>> replay_video_engine("thread").close()
    """
    return VideoEngine(backend=backend, adapt_preset=False)


def render_episode(episode: LoggedEpisode, path: str | os.PathLike[str], *,
                   engine: VideoEngine, envs: EnvCache, fps: float | None = None,
                   format: str | None = None, quality: int | None = None,
                   tags: dict[str, Any] | None = None, sidecar: bool = True,
                   cancelled: Callable[[], bool] | None = None) -> SavedVideo:
    """Replay ``episode`` into the video ``path`` (nothing is written if replay diverges).

    ``fps`` defaults to the env's ``render_fps`` (else 30), as in live recording.
    ``cancelled()`` is asked at every frame; when it returns True the video is dropped
    and :class:`ReplayCancelled` raised.
    """
    env = envs.get(episode)
    rate = fps if fps is not None else resolve_fps(None, env.metadata)
    stream = engine.open(path, fps=rate, format=format, quality=quality, tags=tags or {},
                         sidecar=sidecar)
    try:
        for frame in replay_frames(episode, env):
            if cancelled is not None and cancelled():
                raise ReplayCancelled(f"rendering of {episode.label} was cancelled")
            stream.add_frame(frame)
    except BaseException:
        stream.abort()
        raise
    stream.finish()
    return stream.wait()
