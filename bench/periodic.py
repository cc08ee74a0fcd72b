"""Section 6: periodic recording (every 100th episode) against no recording.

Two workloads, each alternating in this process, medians over repeats:

* ``training``: Stable-Baselines3 PPO learning CartPole-v1 (one env) — the case
  periodic recording is for — with and without ``agentreel.RecordVideo``
  (``episode_trigger=lambda e: e % 100 == 0``);
* ``bare loop``: a random-policy ``step()`` loop with nothing else, the worst
  case: here even rendering the recorded 1 % of frames, without encoding
  them, costs far more than 5 % (the ``render only`` line shows that floor).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import gymnasium as gym
import numpy as np
from common import Row, median


def _every_100th(episode: int) -> bool:
    return episode % 100 == 0


class _RenderPeriodically(gym.Wrapper):
    """Renders every step of every 100th episode and throws the frame away (the floor)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.episode = -1

    def reset(self, **kwargs):
        self.episode += 1
        out = self.env.reset(**kwargs)
        if _every_100th(self.episode):
            self.env.render()
        return out

    def step(self, action):
        out = self.env.step(action)
        if _every_100th(self.episode):
            self.env.render()
        return out


def _make(kind: str, folder: str) -> gym.Env:
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    if kind == "agentreel":
        import agentreel

        env = agentreel.RecordVideo(env, folder, episode_trigger=_every_100th)
    elif kind == "gymnasium":
        env = gym.wrappers.RecordVideo(env, folder, episode_trigger=_every_100th)
    elif kind == "render only":
        env = _RenderPeriodically(env)
    return env


def _loop(kind: str, steps: int, folder: str) -> float:
    env = _make(kind, folder)
    actions = np.random.default_rng(0).integers(0, 2, size=steps)
    start = time.perf_counter()
    env.reset(seed=0)
    for i in range(steps):
        _, _, term, trunc, _ = env.step(actions[i])
        if term or trunc:
            env.reset()
    env.close()
    return time.perf_counter() - start


def _train(kind: str, steps: int, folder: str) -> float:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = _make(kind, folder)
    model = PPO("MlpPolicy", env, n_steps=1024, seed=0, device="cpu", verbose=0)
    # Without this SB3 creates an empty /tmp/SB3-<date> folder for its logger per run.
    from stable_baselines3.common.logger import configure

    model.set_logger(configure(os.path.join(folder, "sb3-log"), format_strings=[]))
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    env.close()
    return time.perf_counter() - start


def bench(loop_steps: int, train_steps: int, repeats: int) -> list[Row]:
    """Rows: overhead in % of the no-recording time, for training and for the bare loop."""
    rows: list[Row] = []
    tmp = tempfile.mkdtemp(prefix="agentreel-bench-per-")
    try:
        for label, fn, count, kinds in (
            (f"PPO training, {train_steps} steps", _train, train_steps,
             ("none", "agentreel", "gymnasium")),
            (f"bare random loop, {loop_steps} steps", _loop, loop_steps,
             ("none", "render only", "agentreel", "gymnasium")),
        ):
            times: dict[str, list[float]] = {k: [] for k in kinds}
            for rep in range(repeats):
                for kind in kinds if rep % 2 == 0 else kinds[::-1]:
                    folder = os.path.join(tmp, f"{kind}-{rep}")
                    times[kind].append(fn(kind, count, folder))
                    shutil.rmtree(folder, ignore_errors=True)
            over = {k: median([(t - b) / b * 100 for t, b in zip(times[k], times["none"], strict=True)])
                    for k in kinds if k != "none"}
            base = median(times["none"])
            rows.append(Row("6", "no recording", f"time, {label}", base * 1e3, "ms"))
            for kind in kinds[1:]:
                name = {"agentreel": "agentreel.RecordVideo", "gymnasium": "gymnasium.RecordVideo",
                        "render only": "render recorded frames only (floor)"}[kind]
                ours = kind == "agentreel"
                headline = ours and label.startswith("PPO")
                rows.append(Row("6", name, f"overhead, {label}", over[kind], "%",
                                None, None, "<= 5 %" if headline else "",
                                over[kind] <= 5 if headline else None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows
