"""Soak: a long run with periodic recording leaks no memory, threads, processes or files.

CI runs 20,000 steps; the full soak is on demand::

    AGENTREEL_SOAK_STEPS=200000 python -m pytest tests/test_soak.py -s

RecordVideo (every 10th episode, sidecars) over RecordEpisodeStatistics(log=dir) over
a PatternEnv with 100-step episodes of 48x64 frames. The process tree (this process
and its encoder) is sampled with psutil every 10 episodes after warm-up
(the first 10% of the steps, at least 2,000): resident memory of each process, threads,
child processes and open files, at one phase of the recording cycle (half-way between two recorded
episodes: no video open or in flight). Figures are printed (``-s``) and must stay within:
RSS drift < 20 MB per process, no more threads, processes or open files than at the
end of warm-up.
"""

from __future__ import annotations

import gc
import os
import time

import psutil

from agentreel import RecordEpisodeStatistics, RecordVideo
from agentreel.video import default_engine
from videotools import PatternEnv, decode

STEPS = int(os.environ.get("AGENTREEL_SOAK_STEPS", "20000"))
LENGTH = 100
MB = 2**20


def sample(proc: psutil.Process) -> dict:
    children = proc.children(recursive=True)
    tree = [proc, *children]
    return {
        "rss": proc.memory_info().rss,
        "child_rss": sum(c.memory_info().rss for c in children),
        "threads": sum(p.num_threads() for p in tree),
        "processes": len(children),
        "fds": sum(p.num_fds() for p in tree),
    }


def test_soak_no_growth_in_memory_threads_processes_or_files(tmp_path):
    proc = psutil.Process()
    env = PatternEnv(length=LENGTH, height=48, width=64)
    env = RecordEpisodeStatistics(env, log=str(tmp_path / "log"))
    env = RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda i: i % 10 == 0,
                      sidecar=True)
    warmup = max(2000, STEPS // 10)
    baseline, samples = None, []
    started = time.perf_counter()
    env.reset(seed=0)
    for step in range(1, STEPS + 1):
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            env.reset()
            # Sample in the same phase of the recording cycle: half-way between two
            # recorded episodes (no video open or being encoded).
            if step >= warmup and env.episode_id % 10 == 5:
                default_engine().flush()  # the last video is complete (steps are fast)
                if baseline is None:
                    gc.collect()
                    baseline = sample(proc)
                else:
                    samples.append(sample(proc))
    elapsed = time.perf_counter() - started
    env.close()

    peak = {key: max(s[key] for s in samples) for key in baseline}
    figures = {
        "steps": STEPS,
        "steps_per_s": round(STEPS / elapsed),
        "videos": len(env.saved_videos),
        "rss_MB": round(baseline["rss"] / MB, 1),
        "rss_drift_MB": round((peak["rss"] - baseline["rss"]) / MB, 2),
        "encoder_rss_MB": round(baseline["child_rss"] / MB, 1),
        "encoder_rss_drift_MB": round((peak["child_rss"] - baseline["child_rss"]) / MB, 2),
        "threads": (baseline["threads"], peak["threads"]),
        "processes": (baseline["processes"], peak["processes"]),
        "fds": (baseline["fds"], peak["fds"]),
    }
    print("\nsoak:", figures)
    assert peak["rss"] - baseline["rss"] < 20 * MB, figures
    assert peak["child_rss"] - baseline["child_rss"] < 20 * MB, figures
    assert peak["threads"] <= baseline["threads"], figures
    assert peak["processes"] <= baseline["processes"], figures
    assert peak["fds"] <= baseline["fds"], figures
    episodes = STEPS // LENGTH
    assert len(env.saved_videos) == episodes // 10 + 1  # (the last reset starts one more)
    rows = (tmp_path / "log" / "monitor.csv").read_text().splitlines()[2:]
    assert len(rows) == episodes
    last = [v for v in env.saved_videos if v.episode_id == episodes - 10]
    assert decode(last[0].path).count == last[0].frames == LENGTH + 1
