"""Section 2: peak RSS while recording one long episode (child processes included).

CartPole-v1 with its step limit raised, balanced by
:func:`agentreel.app.policies.cartpole_controller`, one episode of N steps recorded
whole. Each (variant, N) runs in a fresh ``python bench/memory.py child ...``
process; the parent samples the RSS of that process *and its descendants* (the
agentreel encoder process, moviepy's ffmpeg) with psutil every 20 ms.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

from common import Row, child_print, median, quiet, run_child

VARIANTS = ("render-only", "agentreel", "gymnasium")


def child(variant: str, steps: int, folder: str) -> None:
    """Run one long episode (called in the child process)."""
    quiet()
    import gymnasium as gym

    from agentreel.app.policies import cartpole_controller

    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=steps)
    if variant == "agentreel":
        import agentreel

        env = agentreel.RecordVideo(env, folder, episode_trigger=lambda e: True)
    elif variant == "gymnasium":
        env = gym.wrappers.RecordVideo(env, folder, episode_trigger=lambda e: True)
    start = time.perf_counter()
    obs, _ = env.reset(seed=0)
    if variant == "render-only":
        env.render()
    n = 0
    while True:
        obs, _, term, trunc, _ = env.step(cartpole_controller(obs))
        if variant == "render-only":
            env.render()
        n += 1
        if term or trunc:
            break
    env.close()
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
               if f.endswith(".mp4"))
    child_print({"steps": n, "seconds": time.perf_counter() - start,
                 "bytes_per_frame": size / (n + 1) if size else None})


def bench(lengths: list[int], repeats: int = 1, gym_max: int | None = None) -> list[Row]:
    """Peak RSS per variant and length (median over ``repeats`` fresh processes)."""
    peak: dict[tuple[str, int], list[float]] = {}
    tmp = tempfile.mkdtemp(prefix="agentreel-bench-mem-")
    try:
        for rep in range(repeats):
            for steps in lengths:
                order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]
                for variant in order:
                    if variant == "gymnasium" and gym_max is not None and steps > gym_max:
                        continue
                    folder = os.path.join(tmp, f"{variant}-{steps}-{rep}")
                    os.makedirs(folder)
                    res = run_child("memory", [variant, steps, folder])
                    peak.setdefault((variant, steps), []).append(res["peak_rss"] / 2**20)
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for steps in lengths:
        base = median(peak[("render-only", steps)])
        rows.append(Row("2", "render-only (limit)", f"peak RSS, {steps}-step episode", base, "MB"))
        gym_rss = median(peak.get(("gymnasium", steps), []))
        if ("gymnasium", steps) in peak:
            rows.append(Row("2", "gymnasium.RecordVideo", f"peak RSS, {steps}-step episode",
                            gym_rss, "MB", None, None, f"(+{gym_rss - base:,.0f} MB)"))
        ours = median(peak[("agentreel", steps)])
        target = steps >= 10_000
        rows.append(Row(
            "2", "agentreel.RecordVideo (+ encoder)", f"peak RSS, {steps}-step episode", ours, "MB",
            ours / gym_rss if gym_rss == gym_rss else None, None,
            f"<= limit + 100 MB (+{ours - base:,.0f} MB)" if target else f"(+{ours - base:,.0f} MB)",
            (ours - base <= 100) if target else None,
        ))
    return rows


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
