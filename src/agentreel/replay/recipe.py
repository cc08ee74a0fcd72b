"""How to rebuild an environment in another process: its recipe, checked up front.

A recipe is JSON: ``{"kind": "spec", "spec": {...}}`` holds Gymnasium's own
``EnvSpec.to_json()`` form (id, entry point, kwargs and the wrappers Gymnasium
recorded in ``additional_wrappers``), or ``{"kind": "env_fn", "env_fn":
"module:callable"}`` names a function that returns the env (it is called with
``render_mode=...``). Recording wrappers (agentreel's, Gymnasium's
``RecordVideo``/``RecordEpisodeStatistics``/``HumanRendering``/``RenderCollection``,
Stable-Baselines3's ``Monitor``) are left out of a recipe: they do not change what the env does.

Example:
    >>> import gymnasium as gym
    >>> recipe = recipe_of(gym.make("CartPole-v1"))
    >>> recipe["kind"], recipe["spec"]["id"]
    ('spec', 'CartPole-v1')
    >>> env = build_env(recipe, render_mode="rgb_array")
    >>> _ = env.reset(seed=0)
    >>> env.render().shape
    (400, 600, 3)
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

__all__ = ["RebuildError", "build_env", "recipe_of", "load_callable"]

#: Wrappers that only observe or display; left out when an env is rebuilt.
_RECORDING_WRAPPERS = ("RecordVideo", "RecordEpisodeStatistics", "HumanRendering",
                       "RenderCollection", "RecordReplay")

#: Modules whose wrappers only observe (Stable-Baselines3's ``Monitor`` records no arguments).
_OBSERVING_MODULES = ("agentreel.", "stable_baselines3.common.monitor:")

_HINT = ("pass env_fn='module:callable' (an importable function returning the env) to "
         "RecordReplay/RecordVideo(replay=True)")


class RebuildError(ValueError):
    """The env cannot be rebuilt in another process; the message says why and how to fix it."""


def load_callable(target: str) -> Any:
    """Import ``"module:callable"`` (``"module:obj.attr"`` works too)."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise RebuildError(f"env_fn must be a string 'module:callable', got {target!r}")
    module_name, attr = target.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise RebuildError(f"env_fn {target!r} cannot be imported: {exc}") from exc
    if not callable(obj):
        raise RebuildError(f"env_fn {target!r} is not callable")
    return obj


def _importable(entry_point: Any, what: str) -> None:
    if not isinstance(entry_point, str) or ":" not in entry_point:
        raise RebuildError(f"{what} has entry point {entry_point!r}, which another process "
                           f"cannot import (register it as a 'module:Class' string, or {_HINT})")
    module = entry_point.split(":")[0]
    if module == "__main__" or importlib.util.find_spec(module) is None:
        raise RebuildError(f"{what} comes from module {module!r}, which another process cannot "
                           f"import; move it into an importable module, or {_HINT}")


def recipe_of(env: gym.Env | None, env_fn: str | None = None) -> dict[str, Any]:
    """The recipe of ``env`` (or of ``env_fn``); :class:`RebuildError` if there is none."""
    if env_fn is not None:
        load_callable(env_fn)
        return {"kind": "env_fn", "env_fn": env_fn}
    spec = getattr(env, "spec", None)
    if spec is None:
        raise RebuildError(
            "this env cannot be rebuilt: it has no env.spec (it was not made with gym.make, or "
            f"a wrapper broke the spec); {_HINT}")
    wrappers = tuple(w for w in spec.additional_wrappers
                     if w.name not in _RECORDING_WRAPPERS
                     and not str(w.entry_point).startswith(_OBSERVING_MODULES))
    for wrapper in wrappers:
        if wrapper.kwargs is None:
            raise RebuildError(
                f"the wrapper {wrapper.name} does not record its arguments "
                "(gymnasium.utils.RecordConstructorArgs), so Gymnasium cannot rebuild it; "
                f"{_HINT}")
        _importable(wrapper.entry_point, f"the wrapper {wrapper.name}")
    _importable(spec.entry_point, f"the env {spec.id}")
    spec = copy.copy(spec)
    spec.additional_wrappers = wrappers
    try:
        text = spec.to_json()
    except (ValueError, TypeError) as exc:
        raise RebuildError(f"the spec of {spec.id} cannot be stored as JSON ({exc}); {_HINT}") \
            from exc
    return {"kind": "spec", "spec": json.loads(text)}


def build_env(recipe: dict[str, Any], *, render_mode: str | None = "rgb_array") -> gym.Env:
    """A fresh env from ``recipe``, rendering in ``render_mode``."""
    if recipe["kind"] == "env_fn":
        return load_callable(recipe["env_fn"])(render_mode=render_mode)
    spec = EnvSpec.from_json(json.dumps(recipe["spec"]))
    return gym.make(spec, render_mode=render_mode)
