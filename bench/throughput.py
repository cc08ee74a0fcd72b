"""Sections 1 and 3: every-episode recording throughput, worst stall, bytes per frame.

CartPole-v1 (600x400 frames), random policy, every episode recorded. Three loops
run alternately in this process, on the same seeds (so the same frames):

* ``render-only``: ``step()`` + ``render()`` each step, nothing encoded (the limit);
* ``agentreel``: ``agentreel.RecordVideo(episode_trigger=lambda e: True)``;
* ``gymnasium``: ``gymnasium.wrappers.RecordVideo`` (moviepy) with the same trigger.

Throughput counts ``close()`` (the last video's completion) in the elapsed time.
The worst stall is the longest single ``step()`` or ``reset()`` call. Bytes per
frame are the files' total size over the frames recorded, from the same runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

import gymnasium as gym
import numpy as np
from common import Row, Stopwatch, median

ENV_ID = "CartPole-v1"


def _actions(steps: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=steps)


def run_loop(kind: str, steps: int, seed: int, folder: str) -> dict[str, Any]:
    """One timed loop of ``steps`` steps; ``kind`` is render-only, agentreel or gymnasium."""
    env = gym.make(ENV_ID, render_mode="rgb_array")
    if kind == "agentreel":
        import agentreel

        env = agentreel.RecordVideo(env, folder, episode_trigger=lambda e: True)
    elif kind == "gymnasium":
        env = gym.wrappers.RecordVideo(env, folder, episode_trigger=lambda e: True)
    actions = _actions(steps, seed)
    watch = Stopwatch()
    render = kind == "render-only"
    episodes = 0
    start = time.perf_counter()
    watch.call(env.reset, seed=seed)
    if render:
        watch.call(env.render)
    for i in range(steps):
        if render:
            t = time.perf_counter()
            _, _, term, trunc, _ = env.step(actions[i])
            env.render()
            watch.worst = max(watch.worst, time.perf_counter() - t)
        else:
            _, _, term, trunc, _ = watch.call(env.step, actions[i])
        if term or trunc:
            episodes += 1
            watch.call(env.reset)
            if render:
                watch.call(env.render)
    env.close()
    elapsed = time.perf_counter() - start
    frames = steps + episodes + 1  # every step plus every reset frame
    size = 0
    if kind != "render-only":
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                   if f.endswith(".mp4"))
    return {"steps_per_s": steps / elapsed, "worst_stall_ms": watch.worst * 1e3,
            "bytes_per_frame": size / frames if size else float("nan"), "episodes": episodes}


def bench(steps: int, repeats: int) -> list[Row]:
    """Run the three loops ``repeats`` times, alternating; return the table rows."""
    kinds = ["render-only", "agentreel", "gymnasium"]
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    # A warm-up: imports, pygame, the encoder process's first start.
    tmp = tempfile.mkdtemp(prefix="agentreel-bench-")
    try:
        run_loop("agentreel", 200, 0, os.path.join(tmp, "warm"))
        for rep in range(repeats):
            order = kinds if rep % 2 == 0 else kinds[::-1]
            for kind in order:
                folder = os.path.join(tmp, f"{kind}-{rep}")
                os.makedirs(folder)
                results[kind].append(run_loop(kind, steps, 1000 + rep, folder))
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sps = {k: median([r["steps_per_s"] for r in results[k]]) for k in kinds}
    stall = {k: median([r["worst_stall_ms"] for r in results[k]]) for k in kinds}
    bpf = {k: median([r["bytes_per_frame"] for r in results[k]]) for k in kinds}
    limit = sps["render-only"]
    n = f"{steps} steps"
    rows = [
        Row("1", "render-only (limit)", f"steps/s, {n}", sps["render-only"], "steps/s", None, 1.0),
        Row("1", "gymnasium.RecordVideo", f"steps/s, {n}", sps["gymnasium"], "steps/s",
            None, sps["gymnasium"] / limit),
        Row("1", "agentreel.RecordVideo", f"steps/s, {n}", sps["agentreel"], "steps/s",
            sps["agentreel"] / sps["gymnasium"], sps["agentreel"] / limit,
            ">= 0.85x limit", sps["agentreel"] / limit >= 0.85),
        Row("1", "render-only (limit)", "worst step+render", stall["render-only"], "ms"),
        Row("1", "gymnasium.RecordVideo", "worst step()/reset()", stall["gymnasium"], "ms"),
        Row("1", "agentreel.RecordVideo", "worst step()/reset()", stall["agentreel"], "ms",
            stall["agentreel"] / stall["gymnasium"], None, "<= 20 ms", stall["agentreel"] <= 20),
        Row("3", "gymnasium.RecordVideo", "bytes/frame (same frames)", bpf["gymnasium"], "B"),
        Row("3", "agentreel.RecordVideo", "bytes/frame (same frames)", bpf["agentreel"], "B",
            bpf["agentreel"] / bpf["gymnasium"], None, "<= 1.5x peer",
            bpf["agentreel"] / bpf["gymnasium"] <= 1.5),
    ]
    return rows
