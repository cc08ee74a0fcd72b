"""Policies the ``agentreel record`` command can run.

A policy is a callable ``policy(observation) -> action``. :func:`load_policy`
turns a command-line spec into one:

* ``random``: samples the action space;
* ``demo``: the built-in demo agent (CartPole: :class:`DemoLearner`, a balancing
  controller that slips less every episode, so a short run shows a rising
  learning curve with failures and successes);
* ``auto``: ``demo`` where there is one, else ``random``;
* ``package.module:callable``: your function, or a factory called with the env
  when it is a class or takes an ``env`` argument;
* ``path/to/model.zip``: a saved Stable-Baselines3 model (``pip install "agentreel[sb3]"``).

Example:
    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> policy = load_policy("demo", env, "CartPole-v1")
    >>> obs, _ = env.reset(seed=0)
    >>> policy(obs) in (0, 1)
    True
    >>> policy.start_episode(9); round(policy.slip, 3)   # episode 9 slips rarely
    0.054
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import zlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from agentreel.base.extras import require

Policy = Callable[[Any], Any]


def cartpole_controller(observation: Any) -> int:
    """Push the cart towards where the pole is falling (a hand-tuned linear controller)."""
    x, x_dot, theta, theta_dot = np.asarray(observation, dtype=float)[:4]
    return int(theta + 0.5 * theta_dot + 0.05 * x + 0.1 * x_dot > 0)


DEMO_POLICIES: dict[str, Policy] = {
    "CartPole": cartpole_controller,
}


class DemoLearner:
    """The demo agent: ``controller`` that takes the wrong action with a falling probability.

    Episode ``i`` slips with probability ``first_slip * decay ** i`` (0.4, 0.32, 0.26,
    ... 0.05 by episode 9), so ten CartPole episodes go from early falls to the full
    500 steps, like an agent that is learning. Whether a step slips is decided by
    the observation's bytes (CRC32), not by a random generator: the same seed and
    episode index give the same episode in any process. The runner calls
    :meth:`start_episode` with each episode's index; without it the slip rate stays
    at episode 3's.

    >>> agent = DemoLearner(cartpole_controller)
    >>> agent.start_episode(0); agent.slip
    0.4
    """

    def __init__(self, controller: Policy, first_slip: float = 0.4, decay: float = 0.8) -> None:
        self.controller = controller
        self.first_slip = first_slip
        self.decay = decay
        self.start_episode(3)

    def start_episode(self, index: int) -> None:
        """Episode ``index`` (of the run) begins."""
        self.slip = self.first_slip * self.decay ** max(index, 0)

    def __call__(self, observation: Any) -> int:
        action = int(self.controller(observation))
        draw = zlib.crc32(np.asarray(observation, dtype=np.float32).tobytes()) / 2**32
        return 1 - action if draw < self.slip else action


def demo_policy(env_id: str) -> Policy | None:
    """The built-in demo agent for ``env_id`` (matched by its name before ``-v``), if any."""
    base = env_id.split("/")[-1].split("-v")[0]
    controller = DEMO_POLICIES.get(base)
    return None if controller is None else DemoLearner(controller)


def random_policy(action_space: gym.Space) -> Policy:
    """Sample ``action_space`` whatever the observation."""
    return lambda observation: action_space.sample()


def load_policy(spec: str, env: gym.Env | gym.vector.VectorEnv, env_id: str) -> Policy:
    """Turn a policy spec into ``policy(observation) -> action`` for ``env``.

    For a vector env the returned policy maps a batch of observations to a batch of actions.
    """
    vector = isinstance(env, gym.vector.VectorEnv)
    if spec == "random":
        return random_policy(env.action_space)
    if spec in ("demo", "auto"):
        controller = demo_policy(env_id)
        if controller is None:
            if spec == "auto":
                return random_policy(env.action_space)
            known = ", ".join(sorted(DEMO_POLICIES))
            raise ValueError(f"no demo policy for {env_id} (there is one for: {known}); use --policy random")
        return batched(controller) if vector else controller
    if spec.endswith(".zip"):
        return sb3_policy(spec, vector)
    if ":" in spec:
        return imported_policy(spec, env, vector)
    raise ValueError(
        f"unknown policy {spec!r}: use random, demo, package.module:callable or path/to/sb3_model.zip"
    )


def batched(policy: Policy) -> Policy:
    """Apply a single-observation policy to each row of a batch."""
    return lambda observations: np.array([policy(obs) for obs in observations])


def imported_policy(spec: str, env: Any, vector: bool) -> Policy:
    """Import ``module:callable``; a class or a callable taking ``env`` is a factory."""
    module_name, _, attr = spec.partition(":")
    import_from_current_folder()
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for --policy {spec}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{module_name!r} has no attribute {attr!r} (--policy {spec})")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"--policy {spec} is not callable")
    params = _parameters(target)
    if inspect.isclass(target) or params == ["env"]:
        target = target(env)
    return target


def import_from_current_folder() -> None:
    """Put the current folder first on ``sys.path``, as ``python -m`` does.

    The ``agentreel`` console script starts with its own folder on ``sys.path``, so
    without this ``--policy mypkg.agents:act`` would need ``PYTHONPATH=.``.

    >>> import_from_current_folder(); os.getcwd() in sys.path
    True
    """
    here = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == here for entry in sys.path):
        sys.path.insert(0, here)


def _parameters(target: Any) -> list[str]:
    try:
        return list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return []


def sb3_policy(path: str, vector: bool) -> Policy:
    """Load a saved Stable-Baselines3 model with the first algorithm class that reads it."""
    if not os.path.exists(path):
        raise ValueError(f"no model file at {path}")
    sb3 = require("stable_baselines3", "sb3")
    errors = []
    for name in ("PPO", "A2C", "DQN", "SAC", "TD3", "DDPG"):
        try:
            model = getattr(sb3, name).load(path, device="cpu")
            break
        except Exception as exc:  # the wrong algorithm for this file: try the next
            errors.append(f"{name}: {exc}")
    else:
        raise ValueError(f"cannot load {path} as a Stable-Baselines3 model ({'; '.join(errors)})")

    def act(observation: Any) -> Any:
        action, _ = model.predict(observation, deterministic=True)
        return action

    return act
