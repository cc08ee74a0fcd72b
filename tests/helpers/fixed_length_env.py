"""A tiny deterministic env whose episode length is a constructor argument."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class FixedLengthEnv(gym.Env):
    """Every episode lasts exactly ``length`` steps; each step gives ``reward``.

    The final step's info carries ``is_success`` (True) and ``env_length``; with
    ``truncate=True`` episodes end truncated instead of terminated. With
    ``clash_key`` the final info already holds that key (to test clashes).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, length: int = 2, reward: float = 1.0, truncate: bool = False,
                 clash_key: str | None = None) -> None:
        self.length = length
        self.reward = reward
        self.truncate = truncate
        self.clash_key = clash_key
        self.observation_space = gym.spaces.Box(0, 1000, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, dtype=np.float32), {"reset_seed": -1 if seed is None else seed}

    def step(self, action: Any):
        self.t += 1
        done = self.t >= self.length
        info: dict[str, Any] = {}
        if done:
            info["is_success"] = True
            info["env_length"] = self.length
            if self.clash_key is not None:
                info[self.clash_key] = "taken"
        obs = np.array([self.t], dtype=np.float32)
        terminated = done and not self.truncate
        truncated = done and self.truncate
        return obs, self.reward, terminated, truncated, info
