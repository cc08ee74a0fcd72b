"""Small envs for the replay tests: one with composite action spaces, one that is not
deterministic (it draws from numpy's *global* random state, which no seed reaches)."""

from __future__ import annotations

import time
import zlib
from typing import Any

import gymnasium as gym
import numpy as np


def _picture(value: float) -> np.ndarray:
    frame = np.zeros((16, 24, 3), np.uint8)
    frame[:, :, 0] = int(abs(value) * 37) % 256
    return frame


class CompositeActionEnv(gym.Env):
    """A Dict/Tuple action space; the observation is a checksum of the exact action bytes.

    So a replay that passed any action with other bits (another dtype, a rounded value)
    gives another observation, and the digest check fails.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, length: int = 6) -> None:
        self.render_mode = render_mode
        self.length = length
        self.action_space = gym.spaces.Dict({
            "move": gym.spaces.Discrete(4),
            "force": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "more": gym.spaces.Tuple((gym.spaces.MultiBinary(3), gym.spaces.MultiDiscrete([2, 5]),
                                      gym.spaces.Box(-1.0, 1.0, (), np.float64))),
        })
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.t = 0
        self.state = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.state = float(self.np_random.random())
        return np.array([self.state, 0.0]), {}

    def step(self, action: Any):
        self.t += 1
        data = b"".join(np.asarray(leaf).tobytes() + np.asarray(leaf).dtype.str.encode()
                        for leaf in (action["move"], action["force"], *action["more"]))
        checksum = float(zlib.crc32(data))
        self.state += float(np.asarray(action["force"], np.float64).sum())
        done = self.t >= self.length
        return np.array([self.state, checksum]), 1.0, done, False, {}

    def render(self) -> np.ndarray:
        return _picture(self.state)


class GlobalNoiseEnv(gym.Env):
    """Dynamics use ``np.random.random()`` (global state): seeded replays still diverge."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, length: int = 8) -> None:
        self.render_mode = render_mode
        self.length = length
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(-10, 10, (1,), np.float64)
        self.t = 0
        self.x = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t, self.x = 0, 0.0
        return np.array([self.x]), {}

    def step(self, action: Any):
        self.t += 1
        self.x += float(action) + (np.random.random() if self.t >= 3 else 0.0)
        return np.array([self.x]), 1.0, self.t >= self.length, False, {}

    def render(self) -> np.ndarray:
        return _picture(self.x)


class CountRenders(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Counts the ``render()`` calls that reach the env (in this process)."""

    calls = 0

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def render(self) -> Any:
        CountRenders.calls += 1
        return self.env.render()


class StepCounterEnv(gym.Env):
    """Deterministic episodes of ``length`` steps; the observation counts the steps."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None, length: int = 40) -> None:
        self.render_mode = render_mode
        self.length = length
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(0, 1000, (1,), np.float64)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0]), {}

    def step(self, action: Any):
        self.t += 1
        return np.array([float(self.t)]), 1.0, self.t >= self.length, False, {}

    def render(self) -> np.ndarray:
        return _picture(float(self.t))


class NoisyPicturesEnv(StepCounterEnv):
    """Frames of 400x600 random pixels (slow to encode, free to render).

    So whoever renders it waits on its video encoder: the replay renderer's x264 settings
    must not drift from a live recording's because of those waits.
    """

    _frames: list[np.ndarray] = []

    def __init__(self, render_mode: str | None = None, length: int = 40) -> None:
        super().__init__(render_mode, length)
        if not NoisyPicturesEnv._frames:
            rng = np.random.default_rng(0)
            NoisyPicturesEnv._frames = [rng.integers(0, 256, (400, 600, 3), np.uint8)
                                        for _ in range(4)]

    def render(self) -> np.ndarray:
        return NoisyPicturesEnv._frames[self.t % 4]


class SlowRenderEnv(StepCounterEnv):
    """10-step episodes whose ``render()`` takes 0.2 s: replaying one takes ~2 s, so a
    test can interrupt a program while it is still replaying at exit."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, length: int = 10) -> None:
        super().__init__(render_mode, length)

    def render(self) -> np.ndarray:
        time.sleep(0.2)
        return super().render()


def make_global_noise(render_mode: str | None = None) -> gym.Env:
    """An ``env_fn`` target: the noisy env with a time limit."""
    return gym.wrappers.TimeLimit(GlobalNoiseEnv(render_mode=render_mode), 50)


gym.register("agentreel-test/Composite-v0", entry_point="helpers.replay_envs:CompositeActionEnv")
gym.register("agentreel-test/GlobalNoise-v0", entry_point="helpers.replay_envs:GlobalNoiseEnv")
gym.register("agentreel-test/NoisyPictures-v0",
             entry_point="helpers.replay_envs:NoisyPicturesEnv")
gym.register("agentreel-test/SlowRender-v0", entry_point="helpers.replay_envs:SlowRenderEnv")
