"""Child for the SIGKILL test: logs CartPole episodes with RecordReplay until killed.

Usage: python replay_child.py FOLDER. Prints ``episode N`` after each finished episode.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym

from agentreel import RecordEpisodeStatistics, RecordReplay

folder = sys.argv[1]
env = RecordEpisodeStatistics(RecordReplay(gym.make("CartPole-v1", max_episode_steps=40), folder),
                              log=folder)
env.action_space.seed(0)
episode = 0
while True:
    env.reset(seed=episode if episode == 0 else None)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
        time.sleep(0.002)  # so that a kill lands in the middle of an episode
    print(f"episode {episode}", flush=True)
    episode += 1
