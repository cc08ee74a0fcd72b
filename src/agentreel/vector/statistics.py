"""Drop-in for ``gymnasium.wrappers.vector.RecordEpisodeStatistics``, fixed and logged.

Same ``info`` layout and attributes as Gymnasium 1.4, correct under the three
autoreset modes, and — unlike Gymnasium 1.4 — correct under partial resets
(``reset(options={"reset_mask": mask})``): ``SyncVectorEnv`` and
``AsyncVectorEnv`` pop ``reset_mask`` out of the options dict they are given,
so this wrapper reads and validates the mask first, hands the inner env a
shallow copy of the options, and resets only the masked sub-envs' totals.

Two meanings of ``t``: ``info[key]["t"]`` and a record's ``duration`` are
Gymnasium's (seconds since the sub-env's episode began); ``monitor.csv``'s ``t``
and a record's ``elapsed`` are Stable-Baselines3's (seconds since the log began).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from warnings import warn

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium.core import ActType, ObsType
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from agentreel.core.episode_tracker import VectorEpisodeTracker, VectorStep, read_reset_mask
from agentreel.log.emitter import EmitsEpisodes, EpisodeCallback
from agentreel.log.sinks import LogTarget
from agentreel.wrappers.episode_videos import EpisodeVideos
from agentreel.wrappers.statistics import StepBeforeResetError

__all__ = ["RecordEpisodeStatistics"]


class RecordEpisodeStatistics(EmitsEpisodes, VectorWrapper, gym.utils.RecordConstructorArgs):
    """Track every sub-env's episode return, length and time; optionally log each episode.

    When any sub-env's episode ends, ``info[stats_key]`` holds float64 ``"r"``,
    int64 ``"l"`` and float64 ``"t"`` arrays of shape ``(num_envs,)`` (0 where
    that sub-env is not done) and ``info["_" + stats_key]`` is the bool mask of
    done sub-envs. Finished episodes go to the queues in sub-env order.

    Args:
        env: the vector environment to wrap.
        buffer_length: the length of :attr:`return_queue`, :attr:`length_queue`
            and :attr:`time_queue`.
        stats_key: the ``info`` key; a clash with ``stats_key`` or
            ``"_" + stats_key`` is a ``ValueError``.
        info_keywords: keys copied into each record's ``extras``: ``info[k][i]``
            where ``info["_" + k][i]`` (from ``info["final_info"]`` under
            ``SAME_STEP`` autoreset).
        log: a ``.csv`` path, ``.jsonl`` path, directory, sink, or list of them;
            one record per finished sub-env episode, with ``env_index`` set and a
            run-wide increasing ``index``.
        env_id: the id written in ``monitor.csv``'s header (default ``env.spec.id``).
        on_episode_end: called with each finished record; errors only warn.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> envs = RecordEpisodeStatistics(gym.make_vec("CartPole-v1", num_envs=2))
        >>> _ = envs.reset(seed=3)
        >>> ended = False
        >>> while not ended:
        ...     _, _, term, trunc, info = envs.step(envs.action_space.sample())
        ...     ended = bool(np.any(term | trunc))
        >>> info["episode"]["l"].dtype, info["_episode"].dtype
        (dtype('int64'), dtype('bool'))
        >>> envs.last_record.env_index in (0, 1)
        True
        >>> envs.close()
    """

    episode_count: int

    def __init__(
        self,
        env: VectorEnv,
        buffer_length: int = 100,
        stats_key: str = "episode",
        *,
        info_keywords: Sequence[str] = (),
        log: LogTarget = None,
        env_id: str | None = None,
        on_episode_end: EpisodeCallback | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, buffer_length=buffer_length, stats_key=stats_key,
            info_keywords=info_keywords, log=log, env_id=env_id, on_episode_end=on_episode_end,
        )
        VectorWrapper.__init__(self, env)
        mode = self.env.metadata.get("autoreset_mode")
        if mode is None:
            warn(
                f"{self} is missing `autoreset_mode` tag in its metadata, therefore, "
                "`RecordEpisodeStatistics` is assuming that the environment uses "
                "`AutoresetMode.NEXT_STEP`. See `https://farama.org/Vector-Autoreset-Mode` "
                "for more information on autoreset modes.",
                stacklevel=2,
            )
            mode = AutoresetMode.NEXT_STEP
        elif not isinstance(mode, AutoresetMode):
            raise TypeError(
                "Expected env.metadata['autoreset_mode'] to be an AutoresetMode, "
                f"got {type(mode)}"
            )
        self._autoreset_mode: AutoresetMode = mode
        self._same_step = mode == AutoresetMode.SAME_STEP

        self._tracker = VectorEpisodeTracker(self.num_envs, mode)
        self._start_log(env, buffer_length, stats_key, info_keywords, log, env_id, on_episode_end)
        # the log names each episode's video, told by an agentreel RecordVideo inside
        self._videos = EpisodeVideos.attach(env, log) if self._emitter.wants_records else None

    # Gymnasium's attribute names, read from the tracker.
    @property
    def episode_returns(self) -> npt.NDArray[np.float64]:
        """Each sub-env's running return."""
        return self._tracker.returns

    @property
    def episode_lengths(self) -> npt.NDArray[np.int64]:
        """Each sub-env's steps in its current episode."""
        return self._tracker.lengths

    @property
    def episode_start_times(self) -> npt.NDArray[np.float64]:
        """``time.perf_counter()`` when each sub-env's episode began."""
        return self._tracker.start_times

    @property
    def prev_dones(self) -> npt.NDArray[np.bool_]:
        """The sub-envs whose episode ended on the previous step."""
        return self._tracker.prev_dones

    def reset(
        self,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[ObsType, dict[str, Any]]:
        """Reset the sub-envs (all, or those in ``options["reset_mask"]``) and their totals.

        The caller's ``options`` dict is never changed: the inner env gets a copy.
        """
        mask = read_reset_mask(options, self.num_envs)
        obs, info = self.env.reset(seed=seed,  # type: ignore[arg-type]  # (a list works too)
                                   options=None if options is None else dict(options))
        self._tracker.reset(seed, mask)
        return obs, info

    def step(
        self, actions: ActType
    ) -> tuple[ObsType, npt.NDArray[Any], npt.NDArray[np.bool_], npt.NDArray[np.bool_],
               dict[str, Any]]:
        """Step every sub-env; where episodes end, add ``info[stats_key]`` and its mask."""
        if not self._tracker.has_reset:
            raise StepBeforeResetError(
                "Cannot call step() before reset(): call envs.reset() first "
                "(agentreel.vector.RecordEpisodeStatistics)"
            )
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        if not isinstance(infos, dict):
            raise TypeError(
                "`vector.RecordEpisodeStatistics` requires `info` type to be `dict`, its "
                f"actual type is {type(infos)}. This may be due to usage of other wrappers "
                "in the wrong order."
            )
        key = self._stats_key
        if (key in infos or f"_{key}" in infos) and np.any(np.logical_or(terminations, truncations)):
            raise ValueError(
                f"Attempted to add episode stats with key {key!r} but this key already "
                f"exists in info: {list(infos.keys())}. Pass a different stats_key."
            )
        result = self._tracker.step(rewards, terminations, truncations)
        if result.any_done:
            self._end_episodes(result, terminations, truncations, infos)
        return observations, rewards, terminations, truncations, infos

    def _end_episodes(self, result: VectorStep, terminations: npt.NDArray[np.bool_],
                      truncations: npt.NDArray[np.bool_], infos: dict[str, Any]) -> None:
        key = self._stats_key
        dones = result.dones
        infos[key] = {"r": result.returns, "l": result.lengths, "t": result.durations}
        infos[f"_{key}"] = dones.copy()

        done_idx = np.flatnonzero(dones)
        self.time_queue.extend(result.durations[done_idx])
        self.return_queue.extend(result.returns[done_idx])
        self.length_queue.extend(result.lengths[done_idx])

        first_index = self.episode_count
        self.episode_count += len(done_idx)
        end_time = time.time()
        final_info = infos.get("final_info") if self._same_step else None
        done_envs = done_idx.tolist()
        # With no log and no callback, only ``last_record`` reads records: build just
        # the newest (cost: BENCHMARKS.md, "Figures once quoted in code comments").
        built = done_envs if self._emitter.wants_records else done_envs[-1:]
        first_built = first_index + len(done_envs) - len(built)
        for n, i in enumerate(built):
            self._emitter.emit_end(
                result.ended(i, terminations, truncations), first_built + n,
                extras=self._extras(infos, final_info, i), end_time=end_time,
                video=self._videos.pop(i) if self._videos is not None else None,
            )

    def _extras(self, infos: dict[str, Any], final_info: Any, i: int) -> dict[str, Any]:
        if not self._info_keywords:
            return {}
        source = final_info if isinstance(final_info, dict) else infos
        extras = {}
        for k in self._info_keywords:
            mask = source.get(f"_{k}")
            if k in source and (mask is None or bool(mask[i])):
                value = source[k]
                extras[k] = value[i] if isinstance(value, np.ndarray) else value
        return extras

    def close(self, **kwargs: Any) -> None:
        """Close the vector env, then the log files this wrapper opened."""
        try:
            self.env.close(**kwargs)
        finally:
            self._emitter.close()
