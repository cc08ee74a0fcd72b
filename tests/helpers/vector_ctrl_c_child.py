"""Child for the vector Ctrl-C test: each sub-env's first episode is open at the Ctrl-C.

Usage: python vector_ctrl_c_child.py FOLDER live|replay. Records each sub-env of a seeded
2-env CartPole ``SyncVectorEnv`` with ``agentreel.vector.RecordVideo(per_env=True)``,
takes 8 seeded random steps (every first episode is still running), prints ``MID`` and
waits for the Ctrl-C the test sends to its process group.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym

from agentreel.vector import RecordVideo

folder, mode = sys.argv[1], sys.argv[2]
envs = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync", render_mode="rgb_array")
envs = RecordVideo(envs, folder, per_env=True, sidecar=True, replay=mode == "replay")
envs.action_space.seed(3)
envs.reset(seed=20)
for _ in range(8):
    _, _, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert not (terminated.any() or truncated.any()), "an episode ended: the test needs them open"
print("MID", flush=True)
while True:
    time.sleep(0.01)
