"""Construction-time checks of the PettingZoo wrappers' ``env`` argument.

A wrong env is refused now, with a message naming the wrapper (or conversion)
to use. The error is a ``TypeError`` that is also an ``AssertionError``:
PettingZoo's own wrappers ``assert isinstance(env, AECEnv)``, so code catching
either keeps working.
"""

from __future__ import annotations

from typing import Any

from agentreel.base.env_kinds import env_kind
from agentreel.clips.video_wrapper import check_render_mode

__all__ = ["WrongEnvError", "check_env"]

_CONVERT = {
    ("aec", "parallel"): "pettingzoo.utils.conversions.aec_to_parallel(env)",
    ("parallel", "aec"): "pettingzoo.utils.conversions.parallel_to_aec(env)",
}


class WrongEnvError(TypeError, AssertionError):
    """The env given to a wrapper is of the wrong kind (Gymnasium vs PettingZoo, AEC vs parallel)."""


def check_env(env: Any, wrapper: str, wants: str, *, video: bool = False) -> None:
    """Refuse ``env`` unless it is a PettingZoo env of kind ``wants`` (``"aec"`` or ``"parallel"``).

    ``video=True`` also refuses a ``render_mode`` that gives no frames.
    """
    kind = env_kind(env)
    other = "RecordVideo" if video else "RecordEpisodeStatistics"
    if kind in ("gymnasium", "gymnasium-vector"):
        target = f"agentreel.{'vector.' if kind == 'gymnasium-vector' else ''}{other}"
        raise WrongEnvError(
            f"agentreel.pettingzoo.{wrapper} wraps PettingZoo envs, but got a Gymnasium env ({env}); "
            f"use {target}(env, ...) for Gymnasium envs."
        )
    if kind != wants:
        if kind in ("aec", "parallel"):
            mine = other + ("Parallel" if kind == "parallel" else "")
            raise WrongEnvError(
                f"agentreel.pettingzoo.{wrapper} takes a PettingZoo {_label(wants)} env, but got a "
                f"PettingZoo {_label(kind)} env ({env}); use agentreel.pettingzoo.{mine}(env, ...) instead, "
                f"or convert the env with {_CONVERT[(kind, wants)]}."
            )
        raise WrongEnvError(
            f"agentreel.pettingzoo.{wrapper} takes a PettingZoo {_label(wants)} env "
            f"(pettingzoo.{'AECEnv' if wants == 'aec' else 'ParallelEnv'}), got {type(env).__name__}."
        )
    if video:
        check_render_mode(getattr(env, "render_mode", None))


def _label(kind: str) -> str:
    return "AEC" if kind == "aec" else "parallel"
