"""PettingZoo pistonball, every episode recorded: agentreel vs PettingZoo's RecordVideoParallel vs render-only.

Each (variant, repeat) runs in a fresh ``python bench/pettingzoo_bench.py child ...``
process playing the same seeded random policy for N episodes of
``pistonball_v6.parallel_env(render_mode="rgb_array")`` (20 pistons, 880x560 frames,
``max_cycles`` steps per episode):

* ``render-only``: the physical limit, ``env.render()`` after ``reset()`` and every
  ``step()`` (what any recorder must at least do), frames dropped;
* ``agentreel``: :class:`agentreel.pettingzoo.RecordVideoParallel`, every episode;
* ``pettingzoo``: ``pettingzoo.utils.wrappers.RecordVideoParallel`` (moviepy), every episode.

Steps/s counts env steps over the whole run including ``close()`` (so every video
is on disk). Peak RSS covers the process and its children (agentreel's encoder
process, moviepy's ffmpeg), sampled every 20 ms; "flat" compares the peak of the
run's second half with its first half. The load average is printed with every figure,
and so are the figures that do not depend on it: the agent process's CPU per step
(``time.process_time``), the encoding process's CPU per frame (agentreel's encoder,
start-up included; moviepy's ffmpeg) and the bytes per frame of the videos.

Usage: ``python bench/pettingzoo_bench.py [--episodes 3] [--max-cycles 125] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from common import (
    Row,
    child_print,
    cpu_note,
    folder_bytes,
    helper_cpu_seconds,
    load,
    machine,
    median,
    print_table,
    quiet,
    run_child,
)

VARIANTS = ("render-only", "agentreel", "pettingzoo")


def child(variant: str, episodes: int, max_cycles: int, folder: str) -> None:
    """Play ``episodes`` seeded episodes (called in the child process)."""
    quiet()
    import numpy as np
    from pettingzoo.butterfly import pistonball_v6

    env = pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=max_cycles)
    if variant == "agentreel":
        from agentreel.pettingzoo import RecordVideoParallel

        env = RecordVideoParallel(env, folder, episode_trigger=lambda e: True)
    elif variant == "pettingzoo":
        from pettingzoo.utils.wrappers import RecordVideoParallel as PZRecordVideoParallel

        env = PZRecordVideoParallel(env, folder, episode_trigger=lambda e: True)
    steps = frames = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    for episode in range(episodes):
        rng = np.random.default_rng(episode)
        env.reset(seed=episode)
        frames += 1
        if variant == "render-only":
            env.render()
        while env.agents:
            env.step({a: rng.uniform(-1, 1, (1,)).astype(np.float32) for a in env.agents})
            steps += 1
            frames += 1
            if variant == "render-only":
                env.render()
    env.close()
    seconds = time.perf_counter() - start
    caller_cpu = time.process_time() - cpu_start
    videos = [f for f in os.listdir(folder) if f.endswith(".mp4")]
    child_print({"steps": steps, "seconds": seconds, "videos": len(videos), "load": load(),
                 "frames": frames, "caller_cpu": caller_cpu,
                 "helper_cpu": helper_cpu_seconds(variant) if variant != "render-only" else 0.0,
                 "video_bytes": folder_bytes(folder)})


def bench(episodes: int, max_cycles: int, repeats: int) -> tuple[list[Row], list[str]]:
    """Steps/s and peak RSS per variant (median over ``repeats`` fresh processes)."""
    results: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    notes = []
    tmp = tempfile.mkdtemp(prefix="agentreel-bench-pz-")
    try:
        for rep in range(repeats):
            order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                folder = os.path.join(tmp, f"{variant}-{rep}")
                os.makedirs(folder)
                before = load()
                res = run_child("pettingzoo_bench", [variant, episodes, max_cycles, folder])
                res["load_before"] = before
                results[variant].append(res)
                notes.append(f"rep {rep} {variant:<11}: {res['steps'] / res['seconds']:7.1f} steps/s, "
                             f"peak {res['peak_rss'] / 2**20:6.0f} MB (halves "
                             f"{res.get('rss_first_half', 0) / 2**20:.0f}/"
                             f"{res.get('rss_second_half', 0) / 2**20:.0f} MB), "
                             f"{res['videos']} videos, load {before:.1f} -> {res['load']:.1f}; "
                             + cpu_note(res))
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def rate(v: str) -> float:
        return median([r["steps"] / r["seconds"] for r in results[v]])

    def peak(v: str, key: str = "peak_rss") -> float:
        return median([r.get(key, 0) / 2**20 for r in results[v]])

    limit, ours, theirs = rate("render-only"), rate("agentreel"), rate("pettingzoo")
    rows = [
        Row("pz", "render-only (limit)", "steps/s", limit, "steps/s"),
        Row("pz", "pettingzoo.RecordVideoParallel", "steps/s", theirs, "steps/s",
            vs_limit=theirs / limit),
        Row("pz", "agentreel.pettingzoo.RecordVideoParallel", "steps/s", ours, "steps/s",
            vs_peer=ours / theirs, vs_limit=ours / limit, target=">= 0.85x render-only",
            met=ours / limit >= 0.85),
    ]
    for v, name in (("render-only", "render-only (limit)"),
                    ("pettingzoo", "pettingzoo.RecordVideoParallel"),
                    ("agentreel", "agentreel.pettingzoo.RecordVideoParallel")):
        first, second = peak(v, "rss_first_half"), peak(v, "rss_second_half")
        flat = second <= first * 1.05 + 5
        rows.append(Row("pz", name, "peak RSS (2nd half vs 1st)", peak(v), "MB",
                        vs_peer=peak(v) / peak("pettingzoo") if v == "agentreel" else None,
                        vs_limit=second / first if first else None,
                        target="flat" if v == "agentreel" else "",
                        met=flat if v == "agentreel" else None))
    return rows, notes


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--max-cycles", type=int, default=125)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    quiet()
    info = machine()
    print(f"machine: {info}")
    print(f"pistonball_v6 parallel, 20 agents, 880x560, {args.episodes} episodes x "
          f"{args.max_cycles} steps, every episode recorded, {args.repeats} repeats")
    rows, notes = bench(args.episodes, args.max_cycles, args.repeats)
    for note in notes:
        print(note)
    print_table(rows)
    print(f"load average at the end: {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    main()
