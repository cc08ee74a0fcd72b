"""Replay reproduces live recording on real envs: CartPole, LunarLander (Box2D),
HalfCheetah (MuJoCo, EGL) and Pong (ALE): the replayed frames are the live frames,
array for array, for a seeded episode and for unseeded episodes after it."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before MuJoCo is imported (also set by .ci/run)

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from agentreel import RecordReplay  # noqa: E402
from agentreel.replay import read_replay, replay_frames  # noqa: E402
from agentreel.replay.player import EnvCache  # noqa: E402

CASES = {
    # env id: (make kwargs, steps per episode at most)
    "CartPole-v1": ({}, 200),
    "LunarLander-v3": ({}, 30),
    "HalfCheetah-v5": ({"width": 48, "height": 32}, 6),
    "ALE/Pong-v5": ({}, 25),
}


def _make(env_id: str) -> gym.Env:
    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    kwargs, steps = CASES[env_id]
    return gym.make(env_id, render_mode="rgb_array", max_episode_steps=steps, **kwargs)


@pytest.mark.parametrize("env_id", list(CASES))
def test_replayed_frames_equal_live_frames_seeded_then_unseeded(tmp_path, env_id):
    env = RecordReplay(_make(env_id), tmp_path)
    env.action_space.seed(4)
    live = []
    for episode in range(3):
        env.reset(seed=123 if episode == 0 else None)
        frames = [env.render()]
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            frames.append(env.render())
            done = terminated or truncated
        live.append(frames)
    env.close()
    episodes = read_replay(tmp_path).episodes
    assert [(e.episode, e.seed) for e in episodes] == [(0, 123), (1, None), (2, None)]
    envs = EnvCache()  # one rebuilt env for the three episodes, as the renderers use it
    for episode in reversed(episodes):  # any order: each episode stands on its own
        replayed = list(replay_frames(episode, envs.get(episode)))
        expected = live[episode.episode]
        assert len(replayed) == len(expected) == episode.steps + 1
        for step, (a, b) in enumerate(zip(replayed, expected, strict=True)):
            assert a.shape == b.shape and np.array_equal(a, b), f"{episode.label} frame {step}"
    envs.close()
