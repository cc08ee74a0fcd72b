"""Child for the SB3 Ctrl-C test: a clip is open when the Ctrl-C comes.

Usage: python sb3_ctrl_c_child.py FOLDER live|replay. Records a clip from step 0
(``video_length=100``) of a seeded 2-env CartPole ``DummyVecEnv``, takes 30 seeded
random steps, prints ``MID`` and waits for the Ctrl-C the test sends to its process group.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from stable_baselines3.common.env_util import make_vec_env

from agentreel.sb3 import VecVideoRecorder

folder, mode = sys.argv[1], sys.argv[2]
venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, env_kwargs={"render_mode": "rgb_array"})
venv = VecVideoRecorder(venv, folder, lambda step: step == 0, video_length=100, sidecar=True,
                        replay=mode == "replay")
venv.reset()
rng = np.random.default_rng(0)
for _ in range(30):
    venv.step(rng.integers(0, 2, size=2))
print("MID", flush=True)
while True:
    time.sleep(0.01)
