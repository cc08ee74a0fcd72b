"""Child for the replay-process test: RecordVideo(replay=True) renders in the background.

Usage: python replay_video_child.py FOLDER. Prints the replay process's pid, then records
CartPole episodes (every one kept) until killed.
"""

from __future__ import annotations

import sys

import gymnasium as gym

from agentreel import RecordVideo

env = RecordVideo(gym.make("CartPole-v1", max_episode_steps=15), sys.argv[1], episode_trigger=lambda i: True,
                  replay=True)
print(env._replay_engine._process.pid, flush=True)
episode = 0
while True:
    env.reset(seed=episode)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    episode += 1
