"""Child for the Ctrl-C test of RecordVideo(replay=True, keep=best(3)).

Usage: python replay_ctrl_c_child.py FOLDER EPISODES [slow]. Prints ``READY <replay pid>``,
then ``DONE <episode> <return> <steps>`` after each seeded CartPole episode; after EPISODES
episodes it waits (no episode open) for the Ctrl-C the test sends to its process group.
With ``slow``: every episode of ``agentreel-test/SlowRender-v0`` is kept (each takes ~2 s
to replay), instead of the best 3 of CartPole; with ``live``, those best 3 are recorded
live. With ``mid``: every CartPole episode is
recorded, and after EPISODES episodes one more begins and takes 5 steps (``MID``) before
the wait: the Ctrl-C lands in the middle of a recorded episode.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym

from agentreel import RecordVideo
from agentreel.keep import best

folder, episodes, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if mode == ["slow"]:
    import helpers.replay_envs  # noqa: F401  (registers the test envs)

    env = RecordVideo(gym.make("agentreel-test/SlowRender-v0"), folder,
                      episode_trigger=lambda episode: True, replay=True, sidecar=True)
elif mode == ["mid"]:
    env = RecordVideo(gym.make("CartPole-v1", max_episode_steps=30), folder,
                      episode_trigger=lambda episode: True, replay=True, sidecar=True)
elif mode == ["live"]:  # the same best 3, recorded live (no replay process: pid 0)
    env = RecordVideo(gym.make("CartPole-v1", max_episode_steps=30, render_mode="rgb_array"),
                      folder, keep=best(3), sidecar=True)
else:
    env = RecordVideo(gym.make("CartPole-v1", max_episode_steps=30), folder, keep=best(3),
                      replay=True, sidecar=True)
env.action_space.seed(0)
for episode in range(episodes):
    env.reset(seed=episode)
    if episode == 0:
        print("READY", env._replay_engine._process.pid if mode != ["live"] else 0, flush=True)
    done, total, steps = False, 0.0, 0
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total, steps = total + float(reward), steps + 1
        done = terminated or truncated
    print("DONE", episode, total, steps, flush=True)
if mode == ["mid"]:
    env.reset(seed=episodes)
    for _ in range(5):
        env.step(0)  # (pushing left for 5 steps never ends a CartPole episode)
    print("MID", flush=True)
while True:
    time.sleep(0.01)
