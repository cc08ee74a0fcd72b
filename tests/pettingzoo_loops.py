"""Seeded random-policy loops over PettingZoo envs that keep their own sums (the tests' truth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Played:
    """What a test's own loop saw in one episode."""

    returns: dict[Any, float] = field(default_factory=dict)
    moves: dict[Any, int] = field(default_factory=dict)
    terminated: set = field(default_factory=set)
    truncated: set = field(default_factory=set)
    env_steps: int = 0     # AEC: live moves; parallel: step() calls
    step_calls: int = 0    # every step() call (AEC: dead steps too)
    dead_steps: int = 0
    frames: list = field(default_factory=list)   # render() after reset and after each move
    infos_at_end: dict[Any, dict] = field(default_factory=dict)


def random_action(env: Any, agent: Any, obs: Any, rng: np.random.Generator) -> Any:
    space = env.action_space(agent)
    if isinstance(obs, dict) and "action_mask" in obs:
        return int(rng.choice(np.flatnonzero(obs["action_mask"])))
    if hasattr(space, "n"):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(space.dtype)


def play_aec(env: Any, seed: int, *, render: bool = False, max_moves: int | None = None) -> Played:
    """One AEC episode; returns are the sums of ``last()`` rewards (PettingZoo's own rule)."""
    rng = np.random.default_rng(seed)
    played = Played()
    env.reset(seed=seed)
    if render:
        played.frames.append(env.render().copy())
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        played.returns[agent] = played.returns.get(agent, 0.0) + float(reward)
        played.moves.setdefault(agent, 0)
        played.step_calls += 1
        if terminated or truncated:
            (played.terminated if terminated else played.truncated).add(agent)
            played.infos_at_end[agent] = dict(info)
            played.dead_steps += 1
            env.step(None)
            continue
        if max_moves is not None and played.env_steps >= max_moves:
            break
        env.step(random_action(env, agent, obs, rng))
        played.moves[agent] += 1
        played.env_steps += 1
        if render:
            played.frames.append(env.render().copy())
    return played


def play_parallel(env: Any, seed: int, *, render: bool = False, max_steps: int | None = None) -> Played:
    """One parallel episode; returns are the sums of the rewards ``step()`` returned."""
    rng = np.random.default_rng(seed)
    played = Played()
    obs, _ = env.reset(seed=seed)
    if render:
        played.frames.append(env.render().copy())
    while env.agents:
        if max_steps is not None and played.env_steps >= max_steps:
            break
        actions = {a: random_action(env, a, obs[a], rng) for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)
        played.env_steps += 1
        played.step_calls += 1
        for agent, reward in rewards.items():
            played.returns[agent] = played.returns.get(agent, 0.0) + float(reward)
            played.moves[agent] = played.moves.get(agent, 0) + 1
            if terminations[agent] or truncations[agent]:
                (played.terminated if terminations[agent] else played.truncated).add(agent)
                played.infos_at_end[agent] = dict(infos[agent])
        if render:
            played.frames.append(env.render().copy())
    return played
