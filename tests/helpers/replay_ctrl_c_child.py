"""Child for the Ctrl-C test of RecordVideo(replay=True, keep=best(3)).

Usage: python replay_ctrl_c_child.py FOLDER EPISODES. Prints ``READY <replay pid>``, then
``DONE <episode> <return> <steps>`` after each seeded CartPole episode; after EPISODES
episodes it waits (no episode open) for the Ctrl-C the test sends to its process group.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym

from agentreel import RecordVideo
from agentreel.keep import best

folder, episodes = sys.argv[1], int(sys.argv[2])
env = RecordVideo(gym.make("CartPole-v1", max_episode_steps=30), folder, keep=best(3),
                  replay=True, sidecar=True)
env.action_space.seed(0)
for episode in range(episodes):
    env.reset(seed=episode)
    if episode == 0:
        print("READY", env._replay_engine._process.pid, flush=True)
    done, total, steps = False, 0.0, 0
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total, steps = total + float(reward), steps + 1
        done = terminated or truncated
    print("DONE", episode, total, steps, flush=True)
while True:
    time.sleep(0.01)
