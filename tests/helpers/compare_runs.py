"""Recorded runs for the comparison tests, made once per test session (real envs, real videos).

Two algorithms on two tasks, three runs each, recorded with ``agentreel.app.run.record_run``:

* ``random``: the random policy; ``demo``: CartPole's built-in controller without the
  demo agent's slips (``agentreel.app.policies:cartpole_controller``, return 500 every
  episode).
* CartPole-v1 (``record_run``): both algorithms use seeds 0, 10, 20 (episode i of a
  run plays seed ``seed + i``), so their episodes pair up seed by seed; episode 0 of
  each run has a video.
* Pendulum-v1 (``RecordEpisodeStatistics(log=folder)``, no rendering): random
  actions; ``demo`` uses other seeds (5, 15, 25).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import gymnasium as gym

from agentreel import RecordEpisodeStatistics
from agentreel.app.run import record_run

SEEDS = (0, 10, 20)


@functools.cache
def recorded_runs() -> dict[str, dict[str, list[Path]]]:
    """``{algorithm: {task: [run folders]}}``, recorded on first use."""
    root = Path(tempfile.mkdtemp(prefix="agentreel-compare-"))
    atexit.register(shutil.rmtree, root, True)
    out: dict[str, dict[str, list[Path]]] = {"random": {}, "demo": {}}
    for algorithm, policy in (("random", "random"),
                              ("demo", "agentreel.app.policies:cartpole_controller")):
        for seed in SEEDS:
            folder = root / f"{algorithm}-CartPole-seed{seed}"
            record_run("CartPole-v1", episodes=3, out=str(folder), every=1000, policy=policy,
                       seed=seed, progress=False, report=False)
            out[algorithm].setdefault("CartPole-v1", []).append(folder)
            offset = 5 if algorithm == "demo" else 0
            folder = root / f"{algorithm}-Pendulum-seed{seed + offset}"
            _random_episodes("Pendulum-v1", folder, seed + offset, episodes=3)
            out[algorithm].setdefault("Pendulum-v1", []).append(folder)
    return out


def _random_episodes(env_id: str, folder: Path, seed: int, episodes: int) -> None:
    env = RecordEpisodeStatistics(gym.make(env_id), log=str(folder), env_id=env_id)
    env.action_space.seed(seed)
    for i in range(episodes):
        env.reset(seed=seed + i)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
    env.close()
