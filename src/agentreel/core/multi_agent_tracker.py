"""Episodes of a multi-agent env: one :class:`EpisodeTracker` per agent, plus the team.

A multi-agent episode (PettingZoo's AEC and parallel APIs) is made of each
agent's own episode: an agent may join late (its first reward or move starts
it) or leave early (its ``terminated``/``truncated`` flag ends it), and the
episode as a whole ends when the caller says so (no live agent left).

* Each agent's **return** is the sum of every reward it received, **length**
  the number of moves it made (AEC: turns it played; parallel: ``step()`` calls
  it took part in).
* The **team return** is the sum of the agents' returns; the episode's
  **length** is counted in env steps (AEC: live moves of any agent; parallel:
  ``step()`` calls); its **duration** is seconds from ``reset()`` to the last step.

Knowing PettingZoo's protocols (``agent_iter``/``last()``, dead steps) is the
wrappers' job (:mod:`agentreel.pettingzoo`); this module only counts.

Example:
    >>> t = MultiAgentEpisodeTracker()
    >>> t.reset(["a", "b"], seed=3)
    >>> step = t.step({"a": 1.0, "b": 0.5}, acted=["a", "b"], terminations={"a": True})
    >>> sorted(step.ended), step.episode is None          # "a" left, "b" plays on
    (['a'], True)
    >>> step = t.step({"b": 2.0}, acted=["b"], truncations={"b": True})
    >>> ep = step.episode
    >>> ep.returns, ep.lengths, ep.team_return, ep.length, ep.seed
    ({'a': 1.0, 'b': 2.5}, {'a': 1, 'b': 2}, 3.5, 2, 3)
    >>> ep.terminated_agents, ep.truncated_agents
    (('a',), ('b',))
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentreel.core.episode_tracker import Clock, EpisodeEnd, EpisodeTracker

__all__ = ["MultiAgentEpisodeEnd", "MultiAgentEpisodeTracker", "MultiAgentStep"]

AgentId = Hashable


@dataclass(frozen=True)
class MultiAgentEpisodeEnd:
    """A finished multi-agent episode.

    Attributes:
        agents: each agent's :class:`~agentreel.core.episode_tracker.EpisodeEnd`, in the
            order the agents joined.
        length: the episode's length in env steps.
        duration: seconds from ``reset()`` to the last step, 6 places.
        seed: the seed given to the ``reset()`` that started it, else ``None``.
    """

    agents: dict[Any, EpisodeEnd]
    length: int
    duration: float
    seed: int | None = None

    @property
    def returns(self) -> dict[Any, float]:
        """Each agent's return as a float."""
        return {a: float(e.episode_return) for a, e in self.agents.items()}

    @property
    def lengths(self) -> dict[Any, int]:
        """Each agent's number of moves."""
        return {a: e.length for a, e in self.agents.items()}

    @property
    def team_return(self) -> float:
        """The sum of the agents' returns."""
        return float(sum(self.returns.values()))

    def team_end(self, env_index: int | None = None) -> EpisodeEnd:
        """The whole episode as one :class:`EpisodeEnd`: team return, env steps, duration, seed;
        ``terminated`` when every agent terminated, ``truncated`` when any was truncated."""
        ends = list(self.agents.values())
        return EpisodeEnd(self.team_return, self.length, self.duration,
                          terminated=bool(ends) and all(e.terminated for e in ends),
                          truncated=any(e.truncated for e in ends), seed=self.seed,
                          env_index=env_index)

    @property
    def terminated_agents(self) -> tuple[Any, ...]:
        """The agents whose episode ended in a terminal state."""
        return tuple(a for a, e in self.agents.items() if e.terminated)

    @property
    def truncated_agents(self) -> tuple[Any, ...]:
        """The agents whose episode was cut off."""
        return tuple(a for a, e in self.agents.items() if e.truncated)


@dataclass(frozen=True)
class MultiAgentStep:
    """What one step meant: the agents whose episode ended, and the episode if it ended."""

    ended: dict[Any, EpisodeEnd] = field(default_factory=dict)
    episode: MultiAgentEpisodeEnd | None = None


_NOTHING = MultiAgentStep()


class MultiAgentEpisodeTracker:
    """Per-agent returns and lengths, agents joining and leaving, team return, env-step length.

    Args:
        clock: seconds as a float (``time.perf_counter`` by default).

    Attributes:
        agents: the running (or just ended) per-agent trackers, in joining order.
        length: env steps in the current episode.
        seed: the current episode's reset seed, or ``None``.
        has_reset: ``reset()`` was called at least once.
        ended: the current episode has ended (a later step begins a new, unseeded one).
    """

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self._clock = clock
        self.agents: dict[Any, EpisodeTracker] = {}
        self._ended_agents: dict[Any, EpisodeEnd] = {}
        self.length = 0
        self.start_time = clock()
        self.seed: int | None = None
        self.has_reset = False
        self.ended = False

    def reset(self, agents: Iterable[AgentId] = (), seed: int | None = None) -> None:
        """A new episode begins with ``agents`` (more may join later); a running one is dropped."""
        self.agents = {}
        self._ended_agents = {}
        self.length = 0
        self.start_time = self._clock()
        self.seed = seed
        self.has_reset = True
        self.ended = False
        for agent in agents:
            self._join(agent)

    def returns(self) -> dict[Any, float]:
        """The running return of every agent seen in this episode."""
        return {a: float(t.episode_return) for a, t in self.agents.items()}

    def lengths(self) -> dict[Any, int]:
        """The moves of every agent seen in this episode."""
        return {a: t.length for a, t in self.agents.items()}

    @property
    def team_return(self) -> float:
        """The sum of the agents' running returns."""
        return float(sum(self.returns().values()))

    @property
    def episode_return(self) -> float:
        """The team's running return (so the tracker is a recorder's ``progress``)."""
        return self.team_return

    def live(self, agent: AgentId) -> bool:
        """``agent`` is in the episode and has not ended."""
        return agent in self.agents and agent not in self._ended_agents

    def step(
        self,
        rewards: Mapping[Any, Any],
        *,
        acted: Iterable[AgentId] = (),
        terminations: Mapping[Any, Any] | None = None,
        truncations: Mapping[Any, Any] | None = None,
        env_steps: int = 1,
        over: bool | None = None,
    ) -> MultiAgentStep:
        """Count one step of the env.

        Args:
            rewards: the rewards this step gave, per agent (all are added; an agent
                seen for the first time joins).
            acted: the agents that made a move in this step (their length grows by one).
            terminations, truncations: per-agent flags; a flag that is set ends that
                agent's episode (once).
            env_steps: how many env steps this was (0 for a step that is no move,
                such as an AEC dead step).
            over: the whole episode ended; ``None`` means "when every agent seen has
                ended". Agents still running then end with both flags False.
        """
        if self.ended:
            self.reset(())
        for agent in acted:
            self._join(agent).length += 1
        for agent, reward in rewards.items():
            if agent in self._ended_agents:
                continue  # a reward after an agent left belongs to no episode of it
            self._join(agent).episode_return += reward
        self.length += env_steps
        terminations = terminations or {}
        truncations = truncations or {}
        ended: dict[Any, EpisodeEnd] = {}
        for agent in {**terminations, **truncations}:
            term, trunc = bool(terminations.get(agent, False)), bool(truncations.get(agent, False))
            if (term or trunc) and agent not in self._ended_agents:
                ended[agent] = self._end_agent(agent, term, trunc)
        if over is None:
            over = bool(self.agents) and len(self._ended_agents) == len(self.agents)
        if not over:
            return MultiAgentStep(ended) if ended else _NOTHING
        for agent in self.agents:
            if agent not in self._ended_agents:
                ended[agent] = self._end_agent(agent, False, False)
        return MultiAgentStep(ended, self.finish())

    def finish(self) -> MultiAgentEpisodeEnd:
        """End the episode now (agents still running end with both flags False) and describe it."""
        for agent in self.agents:
            if agent not in self._ended_agents:
                self._end_agent(agent, False, False)
        now = self._clock()
        episode = MultiAgentEpisodeEnd(
            agents={a: self._ended_agents[a] for a in self.agents},
            length=int(self.length), duration=round(now - self.start_time, 6), seed=self.seed,
        )
        self.ended = True
        return episode

    def _join(self, agent: AgentId) -> EpisodeTracker:
        tracker = self.agents.get(agent)
        if tracker is None:
            tracker = self.agents[agent] = EpisodeTracker(self._clock)
            tracker.reset(self.seed)
        return tracker

    def _end_agent(self, agent: AgentId, terminated: bool, truncated: bool) -> EpisodeEnd:
        end = self._join(agent).end(terminated, truncated)
        self._ended_agents[agent] = end
        return end
