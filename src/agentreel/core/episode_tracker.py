"""The one place that counts episodes: running return, length, clock and seed.

Every wrapper that needs "an episode ended" asks a tracker; nothing else counts.

* :class:`EpisodeTracker` follows one environment (a ``gymnasium.Env``, one
  sub-env, or one agent of a multi-agent env). It knows Gymnasium's autoreset
  rule: a ``step()`` taken after an episode ended, without a ``reset()``, is the
  env resetting itself (Gymnasium's ``Autoreset`` wrapper) and belongs to no
  episode.
* :class:`VectorEpisodeTracker` follows ``num_envs`` sub-envs under one of the
  three :class:`gymnasium.vector.AutoresetMode` modes, including partial resets
  (``reset(mask=...)``).

Rewards are added with ``+`` exactly as they come (Gymnasium's wrappers do the
same), so a reward that is a numpy array keeps its shape in the return.

Example:
    >>> tracker = EpisodeTracker()
    >>> tracker.reset(seed=7)
    >>> tracker.step(1.0, terminated=False, truncated=False) is None
    True
    >>> ended = tracker.step(0.5, terminated=True, truncated=False)
    >>> ended.episode_return, ended.length, ended.seed, ended.terminated
    (1.5, 2, 7, True)
    >>> tracker.step(0.0, False, False) is None and tracker.restarted   # autoreset step
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from gymnasium.vector import AutoresetMode

from agentreel.core.records import EpisodeRecord, float_return

__all__ = ["EpisodeEnd", "EpisodeProgress", "EpisodeTracker", "SubEnvProgress", "episode_record",
           "VectorEpisodeTracker", "VectorStep", "read_reset_mask", "sub_env_seeds"]

Clock = Callable[[], float]


@dataclass(frozen=True)
class EpisodeEnd:
    """What a tracker knows about an episode that just ended.

    Attributes:
        episode_return: the sum of the episode's rewards (as added: a float for
            scalar rewards).
        length: the number of steps in the episode.
        duration: seconds from the episode's start to its last step, rounded to
            6 places (Gymnasium's ``t``).
        terminated: the episode reached a terminal state.
        truncated: the episode was cut off.
        seed: the seed given to the ``reset()`` that started it, else ``None``.
        env_index: the sub-env's index for a vector env, else ``None``.
    """

    episode_return: Any
    length: int
    duration: float
    terminated: bool
    truncated: bool
    seed: int | None = None
    env_index: int | None = None

    def to_record(self, index: int, *, extras: Mapping[str, Any] | None = None,
                  end_time: float | None = None) -> EpisodeRecord:
        """This episode as the :class:`~agentreel.core.records.EpisodeRecord` every sink reads.

        The one place a finished episode becomes a record (statistics wrappers,
        ``RecordVideo``'s ``on_episode_end`` and keep rules all come here).

        >>> EpisodeEnd(2.5, 3, 0.1, True, False, seed=4).to_record(7, end_time=0.0).seed
        4
        """
        return episode_record(index, self.episode_return, self.length, self.duration,
                              self.terminated, self.truncated, self.seed, self.env_index,
                              extras, end_time)


def episode_record(index: int, episode_return: Any, length: int, duration: float,
                   terminated: bool, truncated: bool, seed: int | None = None,
                   env_index: int | None = None, extras: Mapping[str, Any] | None = None,
                   end_time: float | None = None) -> EpisodeRecord:
    """A finished episode's :class:`~agentreel.core.records.EpisodeRecord`.

    What :meth:`EpisodeEnd.to_record` returns, for callers that have the numbers
    without an :class:`EpisodeEnd` (``RecordVideo(replay=True)`` reads them from its log).

    >>> episode_record(3, 1.5, 2, 0.01, True, False, end_time=0.0).episode_return
    1.5
    """
    extras = dict(extras) if extras else {}
    if not isinstance(episode_return, (float, int)) and np.size(episode_return) > 1:
        # a vector reward: no single return (issue 12)
        extras["vector_return"] = np.asarray(episode_return).tolist()
    return EpisodeRecord(
        index=index, episode_return=float_return(episode_return), length=length,
        duration=duration, terminated=terminated, truncated=truncated, seed=seed,
        end_time=time.time() if end_time is None else end_time, env_index=env_index,
        extras=extras,
    )


class EpisodeProgress(Protocol):
    """The running numbers of one episode, read by overlays and clip tags."""

    @property
    def episode_return(self) -> Any:
        """The return so far."""

    @property
    def length(self) -> int:
        """The steps taken so far."""


class EpisodeTracker:
    """Running return, length, start time and seed of one environment's episode.

    Use :meth:`reset` and :meth:`step` from a wrapper's ``reset()``/``step()``.
    For envs whose steps do not map one-to-one to episode steps (a multi-agent
    AEC env, where a reward may arrive for an agent that did not act), the
    primitives :meth:`add` and :meth:`end` do the same counting piece by piece.

    Attributes:
        episode_return: the running return (``0.0`` at reset).
        length: the steps taken in the current episode.
        start_time: the clock's reading when the episode began.
        seed: the current episode's reset seed, or ``None``.
        has_reset: ``reset()`` was called at least once.
        ended: the last step ended an episode and no new one has begun.
        restarted: the last :meth:`step` was an autoreset step (it belongs to no
            episode; a new one began with it).

    Example:
        >>> agent = EpisodeTracker()
        >>> agent.reset()
        >>> agent.add(2.0)          # a reward, and a step taken
        >>> agent.add(1.0, steps=0) # a reward received without acting
        >>> agent.end(terminated=False, truncated=True).episode_return
        3.0
    """

    __slots__ = ("_clock", "episode_return", "length", "start_time", "seed",
                 "has_reset", "ended", "restarted")

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self._clock = clock
        self.episode_return: Any = 0.0
        self.length = 0
        self.start_time: float = -1.0
        self.seed: int | None = None
        self.has_reset = False
        self.ended = False
        self.restarted = False

    def reset(self, seed: int | None = None) -> None:
        """A new episode begins with ``reset(seed=seed)``."""
        self._begin(seed)
        self.has_reset = True
        self.restarted = False

    def step(self, reward: Any, terminated: Any, truncated: Any) -> EpisodeEnd | None:
        """Count one ``step()``; return the :class:`EpisodeEnd` if it ended the episode.

        A step after an ended episode (no ``reset()`` between) is the env's
        autoreset: it is counted in no episode, :attr:`restarted` becomes True
        and the next episode (unseeded) starts with it.
        """
        if self.ended:
            self._begin(None)
            self.restarted = True
            return None
        self.restarted = False
        self.episode_return += reward
        self.length += 1
        if terminated or truncated:
            return self.end(terminated, truncated)
        return None

    def add(self, reward: Any, steps: int = 1) -> None:
        """Add ``reward`` to the running return and ``steps`` to the length."""
        self.episode_return += reward
        self.length += steps

    def end(self, terminated: Any, truncated: Any, env_index: int | None = None) -> EpisodeEnd:
        """End the current episode now and describe it; the next begins unseeded."""
        now = self._clock()
        ended = EpisodeEnd(
            episode_return=self.episode_return, length=int(self.length),
            duration=round(now - self.start_time, 6), terminated=bool(terminated),
            truncated=bool(truncated), seed=self.seed, env_index=env_index,
        )
        self.seed = None
        self.start_time = now
        self.ended = True
        return ended

    def _begin(self, seed: int | None) -> None:
        self.episode_return = 0.0
        self.length = 0
        self.start_time = self._clock()
        self.seed = seed
        self.ended = False


def read_reset_mask(options: Mapping[str, Any] | None, num_envs: int) -> np.ndarray | None:
    """The validated ``options["reset_mask"]`` of a partial reset (a copy), or ``None``.

    The rules (and errors) are Gymnasium's ``SyncVectorEnv.reset``: a numpy bool
    array of shape ``(num_envs,)`` with at least one True. Read it before calling
    the inner env: Gymnasium's vector envs pop it out of the options they get.

    >>> read_reset_mask({"reset_mask": np.array([True, False])}, 2).tolist()
    [True, False]
    >>> read_reset_mask(None, 2) is None
    True
    """
    if not options or "reset_mask" not in options:
        return None
    reset_mask = options["reset_mask"]
    if not isinstance(reset_mask, np.ndarray):
        raise TypeError(f"`options['reset_mask']` must be a numpy array, got {type(reset_mask)}")
    if reset_mask.shape != (num_envs,):
        raise ValueError(
            f"`options['reset_mask']` must have shape `({num_envs},)`, got {reset_mask.shape}"
        )
    if reset_mask.dtype != np.bool_:
        raise TypeError(
            f"`options['reset_mask']` must have `dtype=np.bool_`, got {reset_mask.dtype}"
        )
    if not np.any(reset_mask):
        raise ValueError(
            "`options['reset_mask']` must contain a boolean array with at least one True "
            f"value, got reset_mask={reset_mask}"
        )
    return reset_mask.copy()


def sub_env_seeds(seed: int | Sequence[int | None] | None, num_envs: int) -> list[int | None]:
    """The seed each sub-env gets from ``VectorEnv.reset(seed=...)``.

    >>> sub_env_seeds(10, 3), sub_env_seeds([1, None], 2), sub_env_seeds(None, 2)
    ([10, 11, 12], [1, None], [None, None])
    """
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        return [None] * num_envs  # the inner env raises its own error
    return [None if s is None else int(s) for s in seeds]


@dataclass(frozen=True)
class VectorStep:
    """What one vector ``step()`` meant for each sub-env.

    Attributes:
        restarted: bool mask of sub-envs for which this step was their autoreset
            step (``NEXT_STEP``, or a done sub-env stepped without reset under
            ``DISABLED``): it belongs to no episode and a new one began.
        dones: bool mask of sub-envs whose episode ended on this step.
        returns: float64 returns of the ended episodes (0 elsewhere).
        lengths: int64 lengths of the ended episodes (0 elsewhere).
        durations: float64 seconds of the ended episodes, 6 places (0 elsewhere).
        seeds: the reset seed of each sub-env's ended episode (``None`` elsewhere).
    """

    restarted: npt.NDArray[np.bool_]
    dones: npt.NDArray[np.bool_]
    returns: npt.NDArray[np.float64]
    lengths: npt.NDArray[np.int64]
    durations: npt.NDArray[np.float64]
    seeds: list[int | None]

    @property
    def any_done(self) -> bool:
        """Some sub-env's episode ended on this step."""
        return bool(self.dones.any())

    def ended(self, i: int, terminations: Any, truncations: Any) -> EpisodeEnd:
        """The :class:`EpisodeEnd` of sub-env ``i`` (which must be in :attr:`dones`)."""
        return EpisodeEnd(
            episode_return=float(self.returns[i]), length=int(self.lengths[i]),
            duration=float(self.durations[i]), terminated=bool(terminations[i]),
            truncated=bool(truncations[i]), seed=self.seeds[i], env_index=i,
        )


def _frozen_zeros(num_envs: int) -> VectorStep:
    """A read-only all-zero step, shared by every step on which nothing ended."""
    arrays = (np.zeros(num_envs, dtype=bool), np.zeros(num_envs, dtype=bool), np.zeros(num_envs),
              np.zeros(num_envs, dtype=np.int64), np.zeros(num_envs))
    for a in arrays:
        a.flags.writeable = False
    return VectorStep(*arrays, seeds=[None] * num_envs)


class VectorEpisodeTracker:
    """Running returns, lengths, clocks and seeds of ``num_envs`` sub-envs.

    Args:
        num_envs: the number of sub-envs.
        autoreset_mode: how the vector env resets finished sub-envs.
        clock: seconds as a float (``time.perf_counter`` by default).

    Example:
        >>> from gymnasium.vector import AutoresetMode
        >>> t = VectorEpisodeTracker(2, AutoresetMode.NEXT_STEP)
        >>> t.reset(seed=5)
        >>> r = t.step(np.array([1.0, 1.0]), np.array([True, False]), np.array([False, False]))
        >>> r.dones.tolist(), r.lengths.tolist(), r.seeds
        ([True, False], [1, 0], [5, None])
        >>> r = t.step(np.array([1.0, 1.0]), np.zeros(2, bool), np.zeros(2, bool))
        >>> r.restarted.tolist(), t.lengths.tolist()     # sub-env 0 autoreset
        ([True, False], [0, 2])
    """

    def __init__(self, num_envs: int, autoreset_mode: AutoresetMode,
                 clock: Clock = time.perf_counter) -> None:
        self.num_envs = num_envs
        self.autoreset_mode = autoreset_mode
        self._same_step = autoreset_mode == AutoresetMode.SAME_STEP
        self._clock = clock
        self.returns: npt.NDArray[np.float64] = np.zeros(num_envs)
        self.lengths: npt.NDArray[np.int64] = np.zeros(num_envs, dtype=np.int64)
        self.start_times: npt.NDArray[np.float64] = np.zeros(num_envs)
        self.prev_dones: npt.NDArray[np.bool_] = np.zeros(num_envs, dtype=bool)
        self.seeds: list[int | None] = [None] * num_envs
        self.has_reset = False
        self._any_prev_done = False
        self._nothing_ended = _frozen_zeros(num_envs)

    def reset(self, seed: int | Sequence[int | None] | None = None,
              mask: npt.NDArray[np.bool_] | None = None) -> None:
        """All sub-envs (or those in ``mask``) begin a new episode."""
        now = self._clock()
        seeds = sub_env_seeds(seed, self.num_envs)
        if mask is None:
            self.start_times = np.full(self.num_envs, now)
            self.returns = np.zeros(self.num_envs)
            self.lengths = np.zeros(self.num_envs, dtype=np.int64)
            self.prev_dones = np.zeros(self.num_envs, dtype=bool)
            self.seeds = seeds
        else:
            self.start_times[mask] = now
            self.returns[mask] = 0.0
            self.lengths[mask] = 0
            self.prev_dones = self.prev_dones & ~mask  # a new array: results stay as returned
            for i in np.flatnonzero(mask):
                self.seeds[i] = seeds[i]
        self._any_prev_done = not self._same_step and bool(self.prev_dones.any())
        self.has_reset = True

    def step(self, rewards: Any, terminations: Any, truncations: Any) -> VectorStep:
        """Count one vector ``step()`` and say which sub-envs restarted or ended."""
        self.returns += rewards
        self.lengths += 1
        if self._any_prev_done:
            restarted = self.prev_dones
            self.returns[restarted] = 0.0
            self.lengths[restarted] = 0
            self.start_times[restarted] = self._clock()
        else:
            restarted = self._nothing_ended.restarted
        dones = np.logical_or(terminations, truncations)
        any_done = bool(dones.any())
        if any_done:
            now = self._clock()
            returns = np.where(dones, self.returns, 0.0)
            lengths = np.where(dones, self.lengths, 0)
            durations = np.where(dones, np.round(now - self.start_times, 6), 0.0)
            seeds: list[int | None] = [None] * self.num_envs
            for i in np.flatnonzero(dones):
                seeds[i], self.seeds[i] = self.seeds[i], None
            if self._same_step:  # the done sub-envs were reset within this step
                self.returns[dones] = 0.0
                self.lengths[dones] = 0
                self.start_times[dones] = now
            result = VectorStep(restarted, dones, returns, lengths, durations, seeds)
        else:
            idle = self._nothing_ended
            result = VectorStep(restarted, dones, idle.returns, idle.lengths, idle.durations,
                                idle.seeds)
        self.prev_dones = dones
        self._any_prev_done = any_done and not self._same_step
        return result

    def progress(self, i: int) -> SubEnvProgress:
        """A live view of sub-env ``i``'s running return and length."""
        return SubEnvProgress(self, i)


class SubEnvProgress:
    """The running return and length of one sub-env of a :class:`VectorEpisodeTracker`.

    >>> t = VectorEpisodeTracker(2, AutoresetMode.NEXT_STEP)
    >>> t.reset()
    >>> _ = t.step(np.array([1.0, 2.0]), np.zeros(2, bool), np.zeros(2, bool))
    >>> t.progress(1).episode_return, t.progress(1).length
    (2.0, 1)
    """

    __slots__ = ("_tracker", "index")

    def __init__(self, tracker: VectorEpisodeTracker, index: int) -> None:
        self._tracker = tracker
        self.index = index

    @property
    def episode_return(self) -> float:
        """The sub-env's return so far."""
        return float(self._tracker.returns[self.index])

    @property
    def length(self) -> int:
        """The sub-env's steps so far."""
        return int(self._tracker.lengths[self.index])
