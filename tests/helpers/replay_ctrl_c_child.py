"""Child for the Ctrl-C test of RecordVideo(replay=True, keep=best(3)).

Usage: python replay_ctrl_c_child.py FOLDER EPISODES [slow]. Prints ``READY <replay pid>``,
then ``DONE <episode> <return> <steps>`` after each seeded CartPole episode; after EPISODES
episodes it waits (no episode open) for the Ctrl-C the test sends to its process group.
With ``slow``: every episode of ``agentreel-test/SlowRender-v0`` is kept (each takes ~2 s
to replay), instead of the best 3 of CartPole.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym

from agentreel import RecordVideo
from agentreel.keep import best

folder, episodes, slow = sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["slow"]
if slow:
    import helpers.replay_envs  # noqa: F401  (registers the test envs)

    env = RecordVideo(gym.make("agentreel-test/SlowRender-v0"), folder,
                      episode_trigger=lambda episode: True, replay=True, sidecar=True)
else:
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
