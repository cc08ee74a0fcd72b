"""Per-agent episode statistics for SuperSuit vector envs (the CleanRL / SB3 multi-agent path).

``supersuit.pettingzoo_env_to_vec_env_v1(parallel_env)`` turns a parallel env's
agents into vector slots (slot ``k`` is ``possible_agents[k]``) and
``concat_vec_envs_v1(venv, C, base_class="gymnasium")`` puts ``C`` copies side by
side, so slot ``i`` is agent ``possible_agents[i % n]`` of copy ``i // n``. Gymnasium's
``RecordEpisodeStatistics`` then sees ``C * n`` unrelated "episodes" and SuperSuit's
list-of-dicts ``info`` breaks it (CleanRL #408). :class:`SuperSuitEpisodeStatistics`
maps the slots back to agents:

* each slot's ``info`` (a dict in SuperSuit's list) gets ``info[stats_key] = {"r", "l",
  "t", "agent", "copy"}`` on the step its agent's episode ends;
* when a copy's episode ends (SuperSuit then resets that copy within the same step),
  one multi-agent :class:`~agentreel.core.records.EpisodeRecord` is written (team return,
  per-agent results in ``extras["agents"]``, ``env_index`` = the copy), and the
  queues ``return_queue[agent]``, ``team_return_queue``, ... grow as in
  :class:`agentreel.pettingzoo.RecordEpisodeStatisticsParallel`.

Agents that leave early: SuperSuit needs ``black_death_v3`` for them, and
SuperSuit 3.11's ``black_death_v3`` hides each exit (a dead agent's slot gets zero
rewards and no flag; every slot is flagged terminated *and* truncated one step after
the last agent left, because it tests ``terminations & truncations``). So for exact
per-agent lengths and flags, also wrap the parallel env *inside*, before SuperSuit,
with :class:`agentreel.pettingzoo.RecordEpisodeStatisticsParallel` (no ``log``
needed there): its stats reach each slot's ``info`` and this wrapper adopts them for
its records and queues. Returns are right either way (dead slots get 0).

Use ``base_class="gymnasium"`` (and ``num_cpus=0``, or pass ``agents=``, since the
agents cannot be read from worker processes); wrap the result before any SB3
conversion. Recipe::

    env = RecordEpisodeStatisticsParallel(parallel_env)          # optional: exact exits
    venv = ss.pettingzoo_env_to_vec_env_v1(ss.black_death_v3(env))
    venv = SuperSuitEpisodeStatistics(ss.concat_vec_envs_v1(venv, 4, base_class="gymnasium"),
                                      log="runs/ppo")              # episodes.jsonl + monitor.csv

Example:
    >>> import numpy as np, supersuit as ss
    >>> from pettingzoo.butterfly import pistonball_v6
    >>> venv = ss.pettingzoo_env_to_vec_env_v1(pistonball_v6.parallel_env(max_cycles=4))
    >>> venv = SuperSuitEpisodeStatistics(ss.concat_vec_envs_v1(venv, 2, base_class="gymnasium"))
    >>> _ = venv.reset(seed=0)
    >>> for _ in range(4):
    ...     _, _, _, _, infos = venv.step(np.zeros((venv.num_envs, 1), np.float32))
    >>> infos[21]["episode"]["agent"], infos[21]["episode"]["copy"], infos[21]["episode"]["l"]
    ('piston_1', 1, 4)
    >>> len(venv.team_return_queue), venv.last_record.env_index
    (2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from agentreel.core.episode_tracker import EpisodeEnd
from agentreel.core.multi_agent_tracker import MultiAgentEpisodeEnd, MultiAgentStep
from agentreel.log.emitter import EpisodeCallback
from agentreel.log.sinks import LogTarget
from agentreel.pettingzoo.statistics import EpisodeStatistics, StatisticsAttributes

__all__ = ["SuperSuitEpisodeStatistics", "supersuit_agents"]


def supersuit_agents(venv: Any) -> list[Any] | None:
    """The agents behind each copy's slots (``possible_agents``), when they can be found."""
    seen: set[int] = set()
    env = venv
    while env is not None and id(env) not in seen:
        seen.add(id(env))
        par_env = getattr(env, "par_env", None)
        if par_env is not None:
            return list(par_env.possible_agents)
        subs = getattr(env, "vec_envs", None)
        env = subs[0] if subs else getattr(env, "env", None) or getattr(env, "venv", None)
    return None


class SuperSuitEpisodeStatistics(StatisticsAttributes, gym.vector.VectorWrapper):
    """Per-agent and team episode statistics of a SuperSuit vector env (see the module docstring).

    Args:
        env: ``concat_vec_envs_v1(pettingzoo_env_to_vec_env_v1(...), C, base_class="gymnasium")``
            or a bare ``pettingzoo_env_to_vec_env_v1(...)``.
        buffer_length, stats_key, log, env_id, on_episode_end: as in
            :class:`agentreel.pettingzoo.RecordEpisodeStatisticsParallel`.
        agents: the parallel env's ``possible_agents`` (found by itself when ``num_cpus=0``).
    """

    def __init__(self, env: Any, buffer_length: int = 100, stats_key: str = "episode", *,
                 agents: Sequence[Any] | None = None, log: LogTarget = None,
                 env_id: str | None = None, on_episode_end: EpisodeCallback | None = None) -> None:
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(
                f"SuperSuitEpisodeStatistics wraps a SuperSuit vector env made with "
                f"base_class='gymnasium', got {type(env).__name__}; wrap before converting to SB3, "
                "or use agentreel.pettingzoo.RecordEpisodeStatisticsParallel on the parallel env.")
        super().__init__(env)
        found = list(agents) if agents is not None else supersuit_agents(env)
        if not found:
            raise ValueError("cannot find the agents behind the slots (worker processes?); "
                             "pass agents=parallel_env.possible_agents")
        if env.num_envs % len(found):
            raise ValueError(f"{env.num_envs} slots are not a whole number of copies of "
                             f"{len(found)} agents; pass the right agents=")
        self.agents_per_copy = found
        self.copies = env.num_envs // len(found)
        self._stats = EpisodeStatistics(env, buffer_length, stats_key, (), log, env_id,
                                        on_episode_end)
        self._trackers = [type(self._stats.tracker)() for _ in range(self.copies)]
        self._stats.tracker = self._trackers[0]
        self._inner: list[dict[Any, dict[str, Any]]] = [{} for _ in range(self.copies)]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Reset every copy (copy ``c`` gets ``seed + c``, as SuperSuit does)."""
        obs, infos = self.env.reset(seed=seed, options=options)
        for c, tracker in enumerate(self._trackers):
            tracker.reset(self.agents_per_copy, None if seed is None else seed + c)
            self._inner[c] = {}
        return obs, infos

    def step(self, actions: Any) -> Any:
        """Step; put ended agents' stats into their slot's ``info``; log ended copies' episodes."""
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        if not isinstance(infos, list):
            raise TypeError("expected SuperSuit's list of per-slot info dicts, got "
                            f"{type(infos).__name__}")
        infos = list(infos)
        n = len(self.agents_per_copy)
        key = self._stats.stats_key
        for c, tracker in enumerate(self._trackers):
            if not tracker.has_reset:
                continue
            slots = range(c * n, (c + 1) * n)
            agents = self.agents_per_copy
            for agent, i in zip(agents, slots, strict=True):  # a RecordEpisodeStatisticsParallel inside
                inner = infos[i].get(key) if isinstance(infos[i], dict) else None
                if isinstance(inner, dict) and "r" in inner and "agent" not in inner:
                    self._inner[c][agent] = inner
            step = tracker.step(
                {a: rewards[i] for a, i in zip(agents, slots, strict=True)},
                acted=[a for a in agents if tracker.live(a)],
                terminations={a: terminations[i] for a, i in zip(agents, slots, strict=True)},
                truncations={a: truncations[i] for a, i in zip(agents, slots, strict=True)})
            if step.ended:
                self._deliver(c, step, infos)
        return obs, rewards, terminations, truncations, infos

    def _deliver(self, copy: int, step: MultiAgentStep, infos: list[dict[str, Any]]) -> None:
        n = len(self.agents_per_copy)
        key = self._stats.stats_key
        for agent, end in step.ended.items():
            i = copy * n + self.agents_per_copy.index(agent)
            here = infos[i].get(key)
            mine = here if isinstance(here, dict) and "r" in here else {
                "r": float(end.episode_return), "l": end.length, "t": end.duration}
            infos[i] = {**infos[i], key: {**mine, "agent": agent, "copy": copy}}
        if step.episode is None:
            return
        episode = self._inner_episode(copy, step.episode.seed) or step.episode
        for agent, end in episode.agents.items():
            self._stats.agent_ended(agent, end, {})
        self._stats.episode_ended(episode, env_index=copy)
        self._inner[copy] = {}
        self._trackers[copy].reset(self.agents_per_copy)  # SuperSuit reset the copy already

    def _inner_episode(self, copy: int, seed: int | None) -> MultiAgentEpisodeEnd | None:
        """The episode as an inner RecordEpisodeStatisticsParallel saw it, if one reported it."""
        seen = self._inner[copy]
        team = next((s["team"] for s in seen.values() if isinstance(s.get("team"), dict)), None)
        if team is None:
            return None
        terminated, truncated = set(team["terminated"]), set(team["truncated"])
        agents = {a: EpisodeEnd(float(r), int(team["lengths"][a]),
                                float(seen.get(a, team)["t"]), a in terminated, a in truncated)
                  for a, r in team["returns"].items()}
        return MultiAgentEpisodeEnd(agents, int(team["l"]), float(team["t"]), seed)

    def close(self, **kwargs: Any) -> None:
        """Close the env, then the log files this wrapper opened."""
        try:
            self.env.close(**kwargs)
        finally:
            self._stats.emitter.close()
