"""Tell Gymnasium envs from PettingZoo envs without importing PettingZoo.

The wrappers of both ecosystems refuse the other's envs at construction with a
message naming the wrapper to use instead.

Example:
    >>> import gymnasium as gym
    >>> env_kind(gym.make("CartPole-v1"))
    'gymnasium'
    >>> env_kind(object())
    'unknown'
"""

from __future__ import annotations

from typing import Any

__all__ = ["env_kind", "reject_multi_agent_env"]


def _from_package(obj: Any, package: str) -> bool:
    return any(cls.__module__.split(".")[0] == package for cls in type(obj).__mro__)


def env_kind(env: Any) -> str:
    """``"aec"``, ``"parallel"`` (PettingZoo), ``"gymnasium"``, ``"gymnasium-vector"`` or ``"unknown"``."""
    names = {cls.__name__ for cls in type(env).__mro__ if cls.__module__.split(".")[0] == "pettingzoo"}
    if "AECEnv" in names:
        return "aec"
    if "ParallelEnv" in names:
        return "parallel"
    if _from_package(env, "gymnasium"):
        import gymnasium as gym

        if isinstance(env, gym.vector.VectorEnv):
            return "gymnasium-vector"
        if isinstance(env, gym.Env):
            return "gymnasium"
    return "unknown"


def reject_multi_agent_env(env: Any, wrapper: str) -> None:
    """Raise a ``TypeError`` naming ``agentreel.pettingzoo`` when ``env`` is a PettingZoo env.

    >>> reject_multi_agent_env(object(), "RecordVideo")   # not a PettingZoo env: no error
    """
    kind = env_kind(env)
    if kind in ("aec", "parallel"):
        fix = "RecordVideo" if "Video" in wrapper else "RecordEpisodeStatistics"
        if kind == "parallel":
            fix += "Parallel"
        raise TypeError(
            f"agentreel.{wrapper} wraps Gymnasium envs, but got a PettingZoo "
            f"{'AEC' if kind == 'aec' else 'parallel'} env ({env}); use agentreel.pettingzoo.{fix}(env, ...) for multi-agent envs."
        )
