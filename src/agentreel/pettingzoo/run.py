"""``agentreel record pettingzoo....``: a policy over N episodes of a PettingZoo env.

The env spec is ``MODULE[:FACTORY][,key=value,...]``:

* ``pettingzoo.butterfly.pistonball_v6``: the module's ``parallel_env()`` when it
  has one, else its ``env()`` (AEC);
* ``pettingzoo.classic.connect_four_v3:env`` (AEC) or ``...:parallel_env``: that factory;
* ``,max_cycles=50,n_pistons=10``: keyword arguments for the factory (Python literals).

The run folder holds what :func:`agentreel.app.run.record_run` writes (videos with
sidecars, ``episodes.jsonl`` with per-agent results, ``monitor.csv`` with the team
return as ``r``, ``report.html``). Episode ``i`` resets with seed ``seed + i``.

Policies: ``random`` (``auto``) samples each agent's action space, respecting an
``action_mask`` in the observation; ``module:callable`` is called as
``policy(observation, agent)`` for each agent that acts (a class, or a callable
whose only parameter is ``env``, is first called with the env to make the policy).

Example:
    >>> import tempfile
    >>> result = record_pettingzoo_run("pettingzoo.classic.rps_v2,max_cycles=3", episodes=2,
    ...                                out=tempfile.mkdtemp(), seed=0, progress=False, report=False)
    >>> [r.length for r in result.records], sorted(result.records[0].extras["agents"])
    ([3, 3], ['player_0', 'player_1'])
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from agentreel.app.run import Progress, RunResult, default_out_dir, episode_seed, safe_name
from agentreel.pettingzoo.recording import RecordVideo, RecordVideoParallel
from agentreel.pettingzoo.statistics import RecordEpisodeStatistics, RecordEpisodeStatisticsParallel

__all__ = ["make_pettingzoo_env", "multi_agent_policy", "record_pettingzoo_run"]

AgentPolicy = Callable[[Any, Any], Any]


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def make_pettingzoo_env(spec: str, render_mode: str | None = "rgb_array") -> tuple[Any, str]:
    """Build the env named by ``spec``; returns ``(env, "aec" | "parallel")``.

    >>> env, api = make_pettingzoo_env("pettingzoo.classic.rps_v2:env,num_actions=3", None)
    >>> api, env.possible_agents
    ('aec', ['player_0', 'player_1'])
    """
    head, *pairs = spec.split(",")
    module_name, _, factory = head.partition(":")
    kwargs = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip().isidentifier():
            raise ValueError(f"cannot read {pair!r} in {spec!r}: give key=value after the module")
        kwargs[key.strip()] = _literal(value.strip())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"cannot import {module_name!r} ({exc}); PettingZoo envs are named like "
                           "pettingzoo.butterfly.pistonball_v6") from exc
    factory = factory or ("parallel_env" if hasattr(module, "parallel_env") else "env")
    if factory not in ("env", "parallel_env") or not hasattr(module, factory):
        raise RuntimeError(f"{module_name} has no {factory}(); use :env (AEC) or :parallel_env")
    try:
        env = getattr(module, factory)(render_mode=render_mode, **kwargs)
    except Exception as exc:
        raise RuntimeError(f"could not make {spec}: {type(exc).__name__}: {exc}") from exc
    return env, "aec" if factory == "env" else "parallel"


def multi_agent_policy(spec: str, env: Any) -> AgentPolicy:
    """``policy(observation, agent) -> action`` from ``random``/``auto`` or ``module:callable``."""
    if spec in ("random", "auto"):
        def random_action(observation: Any, agent: Any) -> Any:
            space = env.action_space(agent)
            if isinstance(observation, dict) and "action_mask" in observation:
                allowed = np.flatnonzero(observation["action_mask"])
                if allowed.size:
                    return int(space.np_random.choice(allowed))
            return space.sample()
        return random_action
    if ":" not in spec:
        raise ValueError(f"unknown policy {spec!r} for a PettingZoo env: use random or "
                         "package.module:callable (called as policy(observation, agent))")
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load --policy {spec}: {exc}") from exc
    try:
        params = list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        params = []
    if inspect.isclass(target) or params == ["env"]:
        target = target(env)
    if not callable(target):
        raise ValueError(f"--policy {spec} is not callable")
    return target


def _seed_spaces(env: Any, seed: int | None) -> None:
    if seed is not None:
        for k, agent in enumerate(env.possible_agents):
            env.action_space(agent).seed(seed + 1000 * k)


def _play_aec(env: Any, policy: AgentPolicy, seed: int | None, on_move: Callable[[], None]) -> None:
    env.reset(seed=seed)
    _seed_spaces(env, seed)
    for agent in env.agent_iter():
        observation, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)
        else:
            env.step(policy(observation, agent))
            on_move()


def _play_parallel(env: Any, policy: AgentPolicy, seed: int | None,
                   on_move: Callable[[], None]) -> None:
    observations, _ = env.reset(seed=seed)
    _seed_spaces(env, seed)
    while env.agents:
        observations, *_ = env.step({a: policy(observations[a], a) for a in env.agents})
        on_move()


def record_pettingzoo_run(spec: str, *, episodes: int = 10, out: str | None = None, every: int = 1,
                          policy: str = "auto", seed: int | None = None,
                          progress: bool | None = None, video_format: str = "mp4",
                          report: bool = True) -> RunResult:
    """Run ``policy`` on the PettingZoo env ``spec`` for ``episodes`` episodes (see the module doc)."""
    for name, value in (("--episodes", episodes), ("--every", every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    env, api = make_pettingzoo_env(spec)
    name = safe_name(spec.split(",")[0].split(":")[0].rsplit(".", 1)[-1])
    out = os.path.abspath(out or default_out_dir(name))
    result = RunResult(out=out, env_id=spec)
    video_cls, stats_cls = ((RecordVideo, RecordEpisodeStatistics) if api == "aec"
                            else (RecordVideoParallel, RecordEpisodeStatisticsParallel))
    try:
        env = video_cls(env, out, episode_trigger=lambda i: i % every == 0, name_prefix=name,
                        format=video_format, sidecar=True, on_video_saved=result.videos.append)
        env = stats_cls(env, buffer_length=episodes, log=out, env_id=name,
                        on_episode_end=result.records.append)
    except BaseException:
        env.close()
        raise
    bar = Progress(episodes, enabled=progress)
    started = time.perf_counter()
    try:
        act = multi_agent_policy(policy, env)
        play = _play_aec if api == "aec" else _play_parallel
        for episode in range(episodes):
            def on_move(done: int = episode) -> None:
                result.steps += 1
                bar.update(steps=result.steps, episodes=done)
            play(env, act, episode_seed(seed, episode), on_move)
            bar.update(steps=result.steps, episodes=episode + 1,
                       last_return=env.team_return_queue[-1] if env.team_return_queue else None)
    finally:
        bar.close()
        env.close()
    result.seconds = time.perf_counter() - started
    if report and result.records:
        from agentreel.report import write_report

        result.report = write_report([out], os.path.join(out, "report.html"),
                                     title=f"agentreel: {spec}")
    return result
