"""Random state an env keeps outside its ``np_random``, captured at unseeded resets.

Most Gymnasium envs draw every random number from ``env.unwrapped.np_random``,
so its state at an unseeded ``reset()`` is all replay needs. Some keep more:
the Arcade Learning Environment (``ALE/...``) has its own generator (sticky
actions, reset noise) inside the emulator. For those, the state is captured
here too; replay restores it before the same unseeded ``reset()``.

Example:
    >>> import gymnasium as gym
    >>> capture_hidden(gym.make("CartPole-v1")) is None   # np_random is enough
    True
"""

from __future__ import annotations

from typing import Any

from agentreel.replay.codec import pack, unpack

__all__ = ["capture_hidden", "has_hidden", "restore_hidden"]


def _ale(env: Any) -> Any:
    ale = getattr(env.unwrapped, "ale", None)
    return ale if ale is not None and hasattr(ale, "cloneState") else None


def has_hidden(env: Any) -> bool:
    """The env keeps random state beyond ``np_random`` (:func:`capture_hidden` captures it)."""
    return _ale(env) is not None


def capture_hidden(env: Any) -> dict[str, str] | None:
    """The env's own random state beyond ``np_random`` (``None`` when it has none)."""
    ale = _ale(env)
    if ale is None:
        return None
    return {"ale": pack(ale.cloneState(include_rng=True).serialize())}


def restore_hidden(env: Any, hidden: dict[str, str] | None) -> None:
    """Put back what :func:`capture_hidden` captured (before the unseeded ``reset()``)."""
    if not hidden:
        return
    if "ale" in hidden:
        import ale_py

        ale = _ale(env)
        if ale is None:
            raise ValueError("the log holds ALE state but the rebuilt env is not an ALE env")
        ale.restoreState(ale_py.ALEState(unpack(hidden["ale"])))
