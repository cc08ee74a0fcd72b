"""Drop-in for ``gymnasium.wrappers.RecordEpisodeStatistics``, with a crash-safe log.

Behaves exactly like Gymnasium 1.4's wrapper (same attributes, same
``info["episode"] = {"r", "l", "t"}``) and can also hand every finished episode,
as an :class:`~agentreel.core.records.EpisodeRecord`, to a log (``monitor.csv``,
JSON Lines, any sink) and to a callback.

Two meanings of ``t``: in ``info["episode"]["t"]`` and the record's
``duration`` it is Gymnasium's — seconds from the episode's ``reset()`` to its
last step; in ``monitor.csv`` and the record's ``elapsed`` it is
Stable-Baselines3's — seconds from the log's start to the episode's end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.core import ActType, ObsType

from agentreel.base.env_kinds import reject_multi_agent_env
from agentreel.core.episode_tracker import EpisodeEnd, EpisodeTracker
from agentreel.core.sub_env import building_rank, log_folder, rank_log_target
from agentreel.log.emitter import EmitsEpisodes, EpisodeCallback
from agentreel.log.sinks import LogTarget
from agentreel.wrappers.episode_videos import EpisodeVideos

__all__ = ["RecordEpisodeStatistics", "StepBeforeResetError"]


class StepBeforeResetError(gym.error.ResetNeeded, RuntimeError):
    """``step()`` was called before the first ``reset()``.

    Both a ``RuntimeError`` and Gymnasium's ``ResetNeeded`` (what
    ``OrderEnforcing`` raises for envs made with ``gym.make``), so code catching
    either keeps working.
    """


class RecordEpisodeStatistics(
    EmitsEpisodes, gym.Wrapper[ObsType, ActType, ObsType, ActType], gym.utils.RecordConstructorArgs
):
    """Track each episode's return, length and time; optionally log every episode.

    On the step that ends an episode, ``info[stats_key]`` is
    ``{"r": return, "l": length, "t": seconds since reset (6 places)}`` as Python
    scalars, and the last ``buffer_length`` episodes are kept in
    :attr:`return_queue`, :attr:`length_queue` and :attr:`time_queue`.

    Args:
        env: the environment to wrap.
        buffer_length: the length of the three queues.
        stats_key: the ``info`` key for the statistics; a clash is a ``ValueError``.
        info_keywords: keys copied from the final step's ``info`` into the
            record's ``extras`` (and ``monitor.csv`` columns), e.g. ``("is_success",)``.
        log: where to write each finished episode: a ``.csv`` path (SB3
            ``monitor.csv``), a ``.jsonl`` path, a directory (both files), a sink
            object, or a list of those. Paths are opened now and closed by
            :meth:`close`; sink objects are the caller's to close. When several
            copies of this wrapper run at once (``make_vec(..., wrappers=...)``),
            give each its own ``monitor.csv`` path or share one ``.jsonl`` path
            (appends from several processes are safe), or wrap the vector env
            with :class:`agentreel.vector.RecordEpisodeStatistics` instead.
        env_id: the id written in ``monitor.csv``'s header (default ``env.spec.id``).
        on_episode_end: called with each finished :class:`EpisodeRecord`; if it
            raises, a ``RuntimeWarning`` is issued and the loop goes on.

    Attributes:
        last_record: the most recent finished episode's record, or ``None``.

    Example:
        >>> import gymnasium as gym
        >>> env = RecordEpisodeStatistics(gym.make("CartPole-v1"), buffer_length=5)
        >>> _ = env.reset(seed=1)
        >>> done = False
        >>> while not done:
        ...     _, _, terminated, truncated, info = env.step(env.action_space.sample())
        ...     done = terminated or truncated
        >>> sorted(info["episode"]), info["episode"]["l"] == env.length_queue[-1]
        (['l', 'r', 't'], True)
        >>> env.last_record.seed, env.last_record.length == info["episode"]["l"]
        (1, True)
        >>> env.close()
    """

    def __init__(
        self,
        env: gym.Env[ObsType, ActType],
        buffer_length: int = 100,
        stats_key: str = "episode",
        *,
        info_keywords: Sequence[str] = (),
        log: LogTarget = None,
        env_id: str | None = None,
        on_episode_end: EpisodeCallback | None = None,
    ) -> None:
        reject_multi_agent_env(env, "RecordEpisodeStatistics")
        # Sinks and callbacks are recorded as given, not deep-copied.
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, buffer_length=buffer_length, stats_key=stats_key,
            info_keywords=info_keywords, log=log, env_id=env_id, on_episode_end=on_episode_end,
        )
        gym.Wrapper.__init__(self, env)
        self._tracker = EpisodeTracker()
        # Built inside make_env for a vector env: log the sub-env's rank, in its own files.
        self._env_index = building_rank("statistics", log_folder(log) or "")
        if self._env_index is not None:
            log = rank_log_target(log, self._env_index)
        self._start_log(env, buffer_length, stats_key, info_keywords, log, env_id, on_episode_end)
        # the log names each episode's video, told by an agentreel RecordVideo inside
        self._videos = EpisodeVideos.attach(env, log) if self._emitter.wants_records else None

    # Gymnasium's attribute names, read from the tracker.
    @property
    def episode_returns(self) -> Any:
        """The running return of the current episode."""
        return self._tracker.episode_return

    @property
    def episode_lengths(self) -> int:
        """The steps taken in the current episode."""
        return self._tracker.length

    @property
    def episode_start_time(self) -> float:
        """``time.perf_counter()`` when the current episode began (-1 before the first reset)."""
        return self._tracker.start_time

    def step(
        self, action: ActType
    ) -> tuple[ObsType, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the environment; on an episode's last step add ``info[stats_key]``."""
        if not self._tracker.has_reset:
            raise StepBeforeResetError(
                "Cannot call step() before reset(): call env.reset() first "
                "(agentreel.RecordEpisodeStatistics)"
            )
        obs, reward, terminated, truncated, info = self.env.step(action)
        key = self._stats_key
        if (terminated or truncated) and not self._tracker.ended and key in info:
            raise ValueError(
                f"Attempted to add episode stats with key {key!r} but this key already "
                f"exists in info: {list(info)}. Pass a different stats_key."
            )
        # A step after an ended episode without reset() is the env's autoreset:
        # the tracker counts it in no episode.
        ended = self._tracker.step(reward, terminated, truncated)
        if ended is not None:
            self._end_episode(info, ended)
        return obs, reward, terminated, truncated, info

    def _end_episode(self, info: dict[str, Any], ended: EpisodeEnd) -> None:
        # Scalars as Python floats; an array return (Gymnasium accepts np.array([0.5]) and
        # vector rewards) exactly as Gymnasium gives it: the accumulated array itself.
        episode_return = (ended.episode_return if np.ndim(ended.episode_return)
                          else float(ended.episode_return))
        info[self._stats_key] = {"r": episode_return, "l": ended.length, "t": ended.duration}

        self.time_queue.append(ended.duration)
        self.return_queue.append(episode_return)
        self.length_queue.append(ended.length)

        index, self.episode_count = self.episode_count, self.episode_count + 1
        if self._env_index is not None:
            ended = dataclasses.replace(ended, env_index=self._env_index)
        self._emitter.emit_end(
            ended, index, extras={k: info[k] for k in self._info_keywords if k in info},
            video=self._videos.pop() if self._videos is not None else None,
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Reset the environment and the running return, length and clock."""
        obs, info = super().reset(seed=seed, options=options)
        self._tracker.reset(seed=seed)
        return obs, info

    def close(self) -> None:
        """Close the environment, then the log files this wrapper opened."""
        try:
            super().close()
        finally:
            self._emitter.close()
