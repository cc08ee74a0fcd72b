"""Section 5: per-step overhead of the episode-statistics wrappers.

Overhead per step = (time of the wrapped loop - time of the bare loop) / steps,
with the same precomputed actions; loops alternate, medians over repeats.

* single: ``gym.make("CartPole-v1")`` with ``agentreel.RecordEpisodeStatistics`` vs
  ``gymnasium.wrappers.RecordEpisodeStatistics``;
* vector: CartPole's native vector env (``vectorization_mode="vector_entry_point"``,
  so the env itself is cheap and the wrapper's cost shows) with 8 and 64 envs,
  ``agentreel.vector.RecordEpisodeStatistics`` vs ``gymnasium.wrappers.vector...``.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from common import Row, median


def _single(kind: str, steps: int, actions: np.ndarray) -> float:
    env = gym.make("CartPole-v1")
    if kind == "agentreel":
        from agentreel import RecordEpisodeStatistics

        env = RecordEpisodeStatistics(env)
    elif kind == "gymnasium":
        env = gym.wrappers.RecordEpisodeStatistics(env)
    env.reset(seed=0)
    start = time.perf_counter()
    for i in range(steps):
        _, _, term, trunc, _ = env.step(actions[i])
        if term or trunc:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


def _vector(kind: str, num_envs: int, steps: int, actions: np.ndarray) -> float:
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    if kind == "agentreel":
        from agentreel.vector import RecordEpisodeStatistics

        envs = RecordEpisodeStatistics(envs)
    elif kind == "gymnasium":
        envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    envs.reset(seed=0)
    start = time.perf_counter()
    for i in range(steps):
        envs.step(actions[i])
    elapsed = time.perf_counter() - start
    envs.close()
    return elapsed


def bench(steps: int, vector_steps: int, repeats: int) -> list[Row]:
    """Rows: overhead per step (µs) for single, 8-env and 64-env vector loops."""
    kinds = ("bare", "agentreel", "gymnasium")
    rows: list[Row] = []
    cases = [("single env", None, steps)] + [
        (f"vector, {n} envs", n, vector_steps) for n in (8, 64)
    ]
    for label, n, count in cases:
        shape = (count,) if n is None else (count, n)
        actions = np.random.default_rng(0).integers(0, 2, size=shape)
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for rep in range(repeats):
            for kind in kinds if rep % 2 == 0 else kinds[::-1]:
                t = _single(kind, count, actions) if n is None else _vector(kind, n, count, actions)
                times[kind].append(t)
        # Pair each wrapped run with the bare run of the same repeat, then take medians.
        over = {k: median([(w - b) / count * 1e6 for w, b in zip(times[k], times["bare"], strict=True)])
                for k in ("agentreel", "gymnasium")}
        bare_us = median(times["bare"]) / count * 1e6
        rows.append(Row("5", "gymnasium RecordEpisodeStatistics", f"overhead/step, {label}",
                        over["gymnasium"], "us", None, None, f"(bare step {bare_us:.1f} us)"))
        ours = over["agentreel"]
        ratio = ours / over["gymnasium"] if over["gymnasium"] > 0 else None
        rows.append(Row("5", "agentreel RecordEpisodeStatistics", f"overhead/step, {label}",
                        ours, "us", ratio, None, "<= peer", ours <= over["gymnasium"]))
    return rows
