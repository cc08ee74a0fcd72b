"""PettingZoo's two protocols, translated into :class:`MultiAgentEpisodeTracker` steps.

**AEC** (``agent_iter``/``last()``/``step(action)``): after each ``step()`` the
rewards of that step are in ``env.rewards`` for every agent (PettingZoo's own
``aec_to_parallel`` sums them the same way). A step of an agent that is still
playing is a *move*: it counts one env step and one step of that agent. A step
of an agent already terminated or truncated (a *dead step*, ``step(None)``,
which removes the agent) is no move: it counts nothing. The episode ends after
the step that leaves no live agent in ``env.agents``; dead steps after that
are ignored until ``reset()``.

**Parallel** (``step(actions)``): each ``step()`` is one env step and one step of
every agent in the returned ``rewards``; the episode ends when no agent in
``env.agents`` is still live.

An agent's episode ends on the step that sets its ``terminated`` or
``truncated`` flag.
"""

from __future__ import annotations

from typing import Any

from agentreel.analysis.agents import AGENTS_KEY
from agentreel.core.multi_agent_tracker import (
    MultiAgentEpisodeEnd,
    MultiAgentEpisodeTracker,
    MultiAgentStep,
)
from agentreel.core.records import EpisodeRecord

__all__ = ["AecTurn", "agent_results", "count_aec_step", "count_parallel_step", "episode_record"]


def _done(env: Any, agent: Any) -> bool:
    return bool(env.terminations.get(agent, False) or env.truncations.get(agent, False))


def _none_live(agents: Any, terminations: Any, truncations: Any) -> bool:
    return all(terminations.get(a, False) or truncations.get(a, False) for a in agents)


class AecTurn:
    """Whose turn a ``step()`` is, noted before it: the agent and whether it is still live."""

    __slots__ = ("agent", "live")

    def __init__(self, env: Any) -> None:
        self.agent = env.agent_selection
        self.live = self.agent in env.agents and not _done(env, self.agent)


def count_aec_step(tracker: MultiAgentEpisodeTracker, env: Any,
                   turn: AecTurn) -> tuple[MultiAgentStep, float] | None:
    """Count the AEC ``step()`` just taken; ``None`` when it belongs to no episode.

    Returns the tracker's step and the step's team reward (the sum of ``env.rewards``).
    """
    if not tracker.has_reset or tracker.ended:
        return None
    rewards = dict(env.rewards)
    over = _none_live(env.agents, env.terminations, env.truncations)
    step = tracker.step(rewards, acted=(turn.agent,) if turn.live else (),
                        terminations=env.terminations, truncations=env.truncations,
                        env_steps=1 if turn.live else 0, over=over)
    return step, float(sum(rewards.values()))


def count_parallel_step(tracker: MultiAgentEpisodeTracker, env: Any, rewards: Any,
                        terminations: Any, truncations: Any) -> tuple[MultiAgentStep, float] | None:
    """Count the parallel ``step()`` just taken; ``None`` when it belongs to no episode."""
    if not tracker.has_reset or tracker.ended:
        return None
    over = _none_live(env.agents, terminations, truncations)
    step = tracker.step(rewards, acted=list(rewards), terminations=terminations,
                        truncations=truncations, over=over)
    return step, float(sum(rewards.values()))


def episode_record(episode: MultiAgentEpisodeEnd, index: int,
                   agent_extras: dict[Any, dict[str, Any]] | None = None) -> EpisodeRecord:
    """The :class:`EpisodeRecord` of a multi-agent episode.

    ``episode_return`` is the team return, ``length`` the env steps; ``terminated``
    when every agent terminated, ``truncated`` when any agent was truncated;
    ``extras["agents"]`` maps each agent id (as a string) to its ``return``,
    ``length``, ``terminated``, ``truncated`` and ``agent_extras`` values.

    >>> from agentreel.core.multi_agent_tracker import MultiAgentEpisodeTracker
    >>> t = MultiAgentEpisodeTracker(); t.reset(["a"])
    >>> ep = t.step({"a": 2.0}, acted=["a"], terminations={"a": True}).episode
    >>> episode_record(ep, 0).extras
    {'agents': {'a': {'return': 2.0, 'length': 1, 'terminated': True, 'truncated': False}}}
    """
    return episode.team_end().to_record(index, extras=agent_results(episode, agent_extras))


def agent_results(episode: MultiAgentEpisodeEnd,
                  agent_extras: dict[Any, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{"agents": {agent: {"return", "length", "terminated", "truncated", ...}}}``."""
    agent_extras = agent_extras or {}
    return {AGENTS_KEY: {
        str(agent): {"return": float(end.episode_return), "length": end.length,
                     "terminated": end.terminated, "truncated": end.truncated,
                     **agent_extras.get(agent, {})}
        for agent, end in episode.agents.items()
    }}
