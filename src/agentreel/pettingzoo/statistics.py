"""Episode statistics for PettingZoo envs, per agent and for the team.

:class:`RecordEpisodeStatistics` wraps an AEC env, :class:`RecordEpisodeStatisticsParallel`
a parallel env. Both count with :mod:`agentreel.pettingzoo.protocol` (what a
move, an agent's end and the episode's end are) and deliver the same things:

* **in ``info``**: on the step that ends an agent's episode, that agent's info
  gets ``info[stats_key] = {"r": return, "l": moves, "t": seconds}`` (Python
  scalars, like Gymnasium's ``info["episode"]``). On the step that ends the whole
  episode it also holds ``"team": {"r": team return, "l": env steps, "t": seconds,
  "returns": {agent: r}, "lengths": {agent: l}, "terminated": [agents],
  "truncated": [agents]}``. In AEC you read it with ``last()`` on the agent's
  next turn (the one where you pass ``None``); in parallel, in
  ``infos[agent]`` returned by ``step()``. A clash with a key the env already
  set is a ``ValueError``;
* **queues** of the last ``buffer_length`` episodes: ``return_queue[agent]`` and
  ``length_queue[agent]`` per agent, ``team_return_queue``,
  ``team_length_queue`` (env steps) and ``time_queue`` for the team;
* **a log**: one :class:`~agentreel.core.records.EpisodeRecord` per episode (team
  return as ``r`` in ``monitor.csv``, per-agent results in ``extras["agents"]``
  in ``episodes.jsonl``), and ``on_episode_end`` callbacks.

A ``reset()`` in the middle of an episode drops that episode (as Gymnasium's
wrapper does) and starts counting afresh.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

from pettingzoo.utils.wrappers import BaseParallelWrapper, BaseWrapper

from agentreel.core.episode_tracker import EpisodeEnd
from agentreel.core.multi_agent_tracker import (
    MultiAgentEpisodeEnd,
    MultiAgentEpisodeTracker,
    MultiAgentStep,
)
from agentreel.core.records import EpisodeRecord
from agentreel.log.emitter import EpisodeCallback, EpisodeEmitter
from agentreel.log.sinks import LogTarget
from agentreel.pettingzoo.checks import check_env
from agentreel.pettingzoo.protocol import (
    AecTurn,
    count_aec_step,
    count_parallel_step,
    episode_record,
)

__all__ = ["RecordEpisodeStatistics", "RecordEpisodeStatisticsParallel"]


def env_name(env: Any) -> str | None:
    """The env's ``metadata["name"]`` (e.g. ``pistonball_v6``), else ``None``."""
    metadata = getattr(env, "metadata", None) or {}
    name = metadata.get("name")
    return str(name) if name else None


class EpisodeStatistics:
    """What both wrappers keep: tracker, queues, info stats, log (one copy, not two)."""

    def __init__(self, env: Any, buffer_length: int, stats_key: str, info_keywords: Sequence[str],
                 log: LogTarget, env_id: str | None, on_episode_end: EpisodeCallback | None) -> None:
        if isinstance(info_keywords, str):
            raise TypeError("info_keywords must be a sequence of keys, not one string")
        if not isinstance(buffer_length, int) or buffer_length < 1:
            raise ValueError(f"buffer_length must be a positive int, got {buffer_length!r}")
        self.stats_key = stats_key
        self.info_keywords = tuple(info_keywords)
        self.tracker = MultiAgentEpisodeTracker()
        self.episode_count = 0
        self.return_queue: defaultdict[Any, deque[float]] = defaultdict(lambda: deque(maxlen=buffer_length))
        self.length_queue: defaultdict[Any, deque[int]] = defaultdict(lambda: deque(maxlen=buffer_length))
        self.team_return_queue: deque[float] = deque(maxlen=buffer_length)
        self.team_length_queue: deque[int] = deque(maxlen=buffer_length)
        self.time_queue: deque[float] = deque(maxlen=buffer_length)
        self.last_episode: MultiAgentEpisodeEnd | None = None
        self._agent_extras: dict[Any, dict[str, Any]] = {}
        self.emitter = EpisodeEmitter(log, on_episode_end,
                                      env_id=env_id if env_id is not None else env_name(env))

    def reset(self, agents: Any, seed: int | None) -> None:
        self.tracker.reset(agents, seed)
        self._agent_extras = {}

    def apply(self, step: MultiAgentStep, infos: Any) -> dict[Any, dict[str, Any]]:
        """Queues, log and the ``info`` stats of ``step``'s ended agents: ``{agent: stats}``."""
        stats: dict[Any, dict[str, Any]] = {}
        for agent, end in step.ended.items():
            info = infos.get(agent) or {}
            if self.stats_key in info:
                raise ValueError(
                    f"Attempted to add episode stats with key {self.stats_key!r} but this key "
                    f"already exists in the info of {agent!r}: {list(info)}. Pass a different stats_key."
                )
            stats[agent] = self.agent_ended(agent, end, info)
        if step.episode is not None:
            team = self.episode_ended(step.episode)
            for agent in step.ended:
                stats[agent]["team"] = team
        return stats

    def agent_ended(self, agent: Any, end: EpisodeEnd, info: dict[str, Any]) -> dict[str, Any]:
        """Count one agent's finished episode; its ``info`` stats."""
        ret = float(end.episode_return)
        self.return_queue[agent].append(ret)
        self.length_queue[agent].append(end.length)
        picked = {k: info[k] for k in self.info_keywords if k in info}
        if picked:
            self._agent_extras[agent] = picked
        return {"r": ret, "l": end.length, "t": end.duration}

    def episode_ended(self, episode: MultiAgentEpisodeEnd,
                      env_index: int | None = None) -> dict[str, Any]:
        """Count and log the finished episode (``env_index``: a SuperSuit copy); the team stats."""
        self.last_episode = episode
        self.team_return_queue.append(episode.team_return)
        self.team_length_queue.append(episode.length)
        self.time_queue.append(episode.duration)
        index, self.episode_count = self.episode_count, self.episode_count + 1
        record = episode_record(episode, index, self._agent_extras)
        record.env_index = env_index
        self.emitter.emit(record)
        self._agent_extras = {}
        return team_stats(episode)


def team_stats(episode: MultiAgentEpisodeEnd) -> dict[str, Any]:
    """The ``"team"`` entry of the ending agents' ``info`` stats."""
    return {"r": episode.team_return, "l": episode.length, "t": episode.duration,
            "returns": episode.returns, "lengths": episode.lengths,
            "terminated": list(episode.terminated_agents),
            "truncated": list(episode.truncated_agents)}


class StatisticsAttributes:
    """The attribute surface both wrappers share, read from ``self._stats``."""

    _stats: EpisodeStatistics

    @property
    def episode_count(self) -> int:
        """Episodes finished so far."""
        return self._stats.episode_count

    @property
    def episode_start_time(self) -> float:
        """``time.perf_counter()`` at the current episode's ``reset()``."""
        return self._stats.tracker.start_time

    @property
    def episode_returns(self) -> dict[Any, float]:
        """The running return of each agent seen in the current episode."""
        return self._stats.tracker.returns()

    @property
    def episode_lengths(self) -> dict[Any, int]:
        """The moves of each agent seen in the current episode."""
        return self._stats.tracker.lengths()

    @property
    def return_queue(self) -> defaultdict[Any, deque[float]]:
        """Per agent: the returns of its last ``buffer_length`` episodes."""
        return self._stats.return_queue

    @property
    def length_queue(self) -> defaultdict[Any, deque[int]]:
        """Per agent: the lengths (moves) of its last ``buffer_length`` episodes."""
        return self._stats.length_queue

    @property
    def team_return_queue(self) -> deque[float]:
        """The team returns of the last ``buffer_length`` episodes."""
        return self._stats.team_return_queue

    @property
    def team_length_queue(self) -> deque[int]:
        """The lengths in env steps of the last ``buffer_length`` episodes."""
        return self._stats.team_length_queue

    @property
    def time_queue(self) -> deque[float]:
        """The wall times (seconds) of the last ``buffer_length`` episodes."""
        return self._stats.time_queue

    @property
    def stats_key(self) -> str:
        """The ``info`` key of the statistics."""
        return self._stats.stats_key

    @property
    def last_episode(self) -> MultiAgentEpisodeEnd | None:
        """The newest finished episode (per-agent results, team return, length, duration)."""
        return self._stats.last_episode

    @property
    def last_record(self) -> EpisodeRecord | None:
        """The newest finished episode's record (as written to the log)."""
        return self._stats.emitter.last_record


class RecordEpisodeStatistics(StatisticsAttributes, BaseWrapper):
    """Per-agent and team episode statistics of an AEC env (see the module's docstring).

    Args:
        env: a PettingZoo AEC env (``pettingzoo.AECEnv``).
        buffer_length: the length of the queues.
        stats_key: the ``info`` key of the statistics.
        info_keywords: keys copied from each agent's ``info`` at its end into the
            record (``extras["agents"][agent]``).
        log: a ``.csv`` path (``monitor.csv``, team return as ``r``), a ``.jsonl``
            path, a folder (both), a sink or a list of those.
        env_id: the name in ``monitor.csv``'s header (default ``metadata["name"]``).
        on_episode_end: called with each finished episode's :class:`EpisodeRecord`.

    Example:
        >>> from pettingzoo.classic import rps_v2
        >>> env = RecordEpisodeStatistics(rps_v2.env(num_actions=3, max_cycles=4))
        >>> env.reset(seed=0)
        >>> for agent in env.agent_iter():
        ...     _, reward, terminated, truncated, info = env.last()
        ...     env.step(None if terminated or truncated else 0)
        ...     if terminated or truncated:
        ...         print(agent, info["episode"]["l"], info["episode"]["team"]["l"])
        player_0 4 8
        player_1 4 8
        >>> env.team_length_queue[-1], dict(env.last_episode.returns)
        (8, {'player_0': 0.0, 'player_1': 0.0})
    """

    def __init__(self, env: Any, buffer_length: int = 100, stats_key: str = "episode", *,
                 info_keywords: Sequence[str] = (), log: LogTarget = None,
                 env_id: str | None = None, on_episode_end: EpisodeCallback | None = None) -> None:
        check_env(env, "RecordEpisodeStatistics", "aec")
        super().__init__(env)
        self._stats = EpisodeStatistics(env, buffer_length, stats_key, info_keywords, log, env_id,
                                        on_episode_end)
        self._pending: dict[Any, dict[str, Any]] = {}  # ended agents' stats, until their dead step

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Reset the env and start counting a new episode."""
        self.env.reset(seed=seed, options=options)
        self._stats.reset(self.env.agents, seed)
        self._pending = {}

    def step(self, action: Any) -> None:
        """Step the env; on an agent's end put its stats into its ``info``."""
        turn = AecTurn(self.env)
        self.env.step(action)
        counted = count_aec_step(self._stats.tracker, self.env, turn)
        if counted is not None and counted[0].ended:
            self._pending.update(self._stats.apply(counted[0], self.env.infos))
        if self._pending:
            self._show_pending()

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``last()`` of the env; an ended agent's ``info`` holds its ``stats_key`` stats."""
        if self._pending:
            self._show_pending()
        return super().last(observe)

    def _show_pending(self) -> None:
        infos = self.env.infos
        for agent in list(self._pending):
            if agent not in infos:
                del self._pending[agent]  # its dead step removed it
            elif infos[agent].get(self._stats.stats_key) is not self._pending[agent]:
                infos[agent][self._stats.stats_key] = self._pending[agent]

    def close(self) -> None:
        """Close the env, then the log files this wrapper opened."""
        try:
            self.env.close()
        finally:
            self._stats.emitter.close()


class RecordEpisodeStatisticsParallel(StatisticsAttributes, BaseParallelWrapper):
    """Per-agent and team episode statistics of a parallel env (see the module's docstring).

    Takes the same arguments as :class:`RecordEpisodeStatistics`, for a
    ``pettingzoo.ParallelEnv``.

    Example:
        >>> from pettingzoo.butterfly import pistonball_v6
        >>> env = RecordEpisodeStatisticsParallel(pistonball_v6.parallel_env(max_cycles=5))
        >>> _ = env.reset(seed=0)
        >>> while env.agents:
        ...     _, _, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
        >>> stats = infos["piston_0"]["episode"]
        >>> stats["l"], stats["team"]["l"], len(stats["team"]["truncated"]), len(env.team_return_queue)
        (5, 5, 20, 1)
    """

    def __init__(self, env: Any, buffer_length: int = 100, stats_key: str = "episode", *,
                 info_keywords: Sequence[str] = (), log: LogTarget = None,
                 env_id: str | None = None, on_episode_end: EpisodeCallback | None = None) -> None:
        check_env(env, "RecordEpisodeStatisticsParallel", "parallel")
        super().__init__(env)
        self._stats = EpisodeStatistics(env, buffer_length, stats_key, info_keywords, log, env_id,
                                        on_episode_end)

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """Reset the env and start counting a new episode."""
        obs, infos = self.env.reset(seed=seed, options=options)
        self._stats.reset(self.env.agents, seed)
        return obs, infos

    def step(self, actions: dict[Any, Any]) -> tuple[Any, Any, Any, Any, Any]:
        """Step the env; ended agents' ``infos`` get their ``stats_key`` stats."""
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        counted = count_parallel_step(self._stats.tracker, self.env, rewards, terminations,
                                      truncations)
        if counted is not None and counted[0].ended:
            stats = self._stats.apply(counted[0], infos)
            infos = dict(infos)
            for agent, agent_stats in stats.items():
                infos[agent] = {**(infos.get(agent) or {}), self._stats.stats_key: agent_stats}
        return obs, rewards, terminations, truncations, infos

    def close(self) -> None:
        """Close the env, then the log files this wrapper opened."""
        try:
            self.env.close()
        finally:
            self._stats.emitter.close()
