"""SB3 training with agentreel.sb3.VecVideoRecorder against SB3's own and against no recording.

Two workloads (issue 15), each run in fresh child processes (``python
bench/sb3_recorders.py child ...``) so that the peak RSS of the process tree (the
agent, agentreel's encoder process, moviepy's ffmpeg) belongs to one variant; the
variants alternate, medians over repeats:

* ``training``: PPO (``MlpPolicy``, ``n_steps=512``, one torch thread) on 4 CartPole-v1
  envs (``DummyVecEnv``) for 20,000 env steps, a 200-step video (SB3's default
  ``video_length``) every 2,000 env steps (``record_video_trigger=lambda s: s % 500 == 0``:
  500 vector steps of 4 envs). Reported: ``learn()`` time and its slowdown against no
  recording (goal <= 5 %) in wall time and in CPU seconds of the process tree (agent +
  encoder or ffmpeg; the fair figure when the machine is shared), and the peak RSS and its growth from the first to the
  second half of the run (goal flat, where SB3's grows);
* ``long clip``: one clip with ``video_length=1000`` (1,001 frames of SB3's tiled
  image of the 4 envs, 1200x800), random actions: peak RSS of each recorder.

    python bench/sb3_recorders.py            # 3 repeats of each
    python bench/sb3_recorders.py --quick    # 1 repeat, 8,000 training steps
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from common import Row, child_print, load, median, print_table, quiet, run_child

VARIANTS = ("none", "agentreel", "sb3")
MB = 1024 * 1024


def _venv(variant: str, folder: str, every: int, video_length: int):
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("CartPole-v1", n_envs=4, seed=0, env_kwargs={"render_mode": "rgb_array"})
    if variant == "agentreel":
        from agentreel.sb3 import VecVideoRecorder

        venv = VecVideoRecorder(venv, folder, lambda s: s % every == 0, video_length=video_length)
    elif variant == "sb3":
        from stable_baselines3.common.vec_env import VecVideoRecorder

        venv = VecVideoRecorder(venv, folder, lambda s: s % every == 0, video_length=video_length)
    return venv


def child(workload: str, variant: str, steps: int, folder: str) -> None:
    """One run (in the child process)."""
    quiet()
    import contextlib
    import io

    import numpy as np
    import torch

    torch.set_num_threads(1)
    if workload == "training":
        from stable_baselines3 import PPO

        venv = _venv(variant, folder, every=500, video_length=200)
        model = PPO("MlpPolicy", venv, n_steps=512, seed=0, verbose=0)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # SB3's recorder prints per video
            model.learn(steps)
        seconds = time.perf_counter() - start
    else:
        venv = _venv(variant, folder, every=10**9, video_length=1000)
        venv.reset()
        if variant != "none":
            venv.record_video_trigger = lambda s: s == 0
            venv.reset()  # starts the clip at step 0
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(steps):
                venv.step(rng.integers(0, 2, size=4))
                if variant == "none":
                    venv.render()  # the frames a recorder would take, thrown away
        seconds = time.perf_counter() - start
    with contextlib.redirect_stdout(io.StringIO()):
        venv.close()
    videos = sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))
    child_print({"seconds": seconds, "cpu": _tree_cpu_seconds(), "videos": len(videos)})


def _tree_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process, its live children (agentreel's encoder)
    and its reaped ones (moviepy's ffmpeg): the fair measure on a shared, overloaded machine."""
    import resource

    import psutil

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for proc in psutil.Process().children(recursive=True):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    """Both workloads, variants alternating; returns the table rows."""
    repeats = repeats or (1 if quick else 3)
    steps = 8_000 if quick else 20_000
    rows: list[Row] = []
    results: dict[tuple[str, str], list[dict]] = {}
    print(f"# sb3: load average before {load():.2f}", flush=True)
    for workload, n in (("training", steps), ("long clip", 1_001)):
        for _ in range(repeats):
            for variant in VARIANTS:
                folder = tempfile.mkdtemp(prefix="agentreel-sb3-bench-")
                try:
                    res = run_child("sb3_recorders", [workload.replace(" ", "-"), variant, n, folder])
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                res["load"] = load()
                results.setdefault((workload, variant), []).append(res)
                print(f"#   {workload} {variant}: {res['seconds']:.1f} s wall, {res['cpu']:.1f} s CPU, "
                      f"{res['videos']} videos, "
                      f"peak {res['peak_rss'] / MB:,.0f} MB "
                      f"(halves {res['rss_first_half'] / MB:,.0f} / {res['rss_second_half'] / MB:,.0f}),"
                      f" load {res['load']:.2f}", flush=True)
    for key, what in (("seconds", "wall time"), ("cpu", "CPU time (process tree)")):
        base = median([r[key] for r in results[("training", "none")]])
        rows.append(Row("sb3", "no recording", f"PPO, {steps} steps, {what}", base * 1000, "ms"))
        for variant, label in (("agentreel", "agentreel.sb3.VecVideoRecorder"),
                               ("sb3", "SB3 VecVideoRecorder")):
            secs = median([r[key] for r in results[("training", variant)]])
            slowdown = (secs / base - 1) * 100
            rows.append(Row("sb3", label, f"slowdown vs no recording, {what}", slowdown, "%",
                            target="<= 5 %" if variant == "agentreel" else "",
                            met=slowdown <= 5 if variant == "agentreel" else None))
    peaks = {v: median([r["peak_rss"] for r in results[("training", v)]]) / MB for v in VARIANTS}
    growth = {v: median([r["rss_second_half"] - r["rss_first_half"]
                         for r in results[("training", v)]]) / MB for v in VARIANTS}
    for variant, label in (("none", "no recording"), ("agentreel", "agentreel.sb3.VecVideoRecorder"),
                           ("sb3", "SB3 VecVideoRecorder")):
        rows.append(Row("sb3", label, f"peak RSS, training (2nd-half growth {growth[variant]:+.0f} MB)",
                        peaks[variant], "MB",
                        vs_peer=peaks[variant] / peaks["sb3"] if variant == "agentreel" else None))
    clip = {v: median([r["peak_rss"] for r in results[("long clip", v)]]) / MB for v in VARIANTS}
    for variant, label in (("none", "render only, no recording"),
                           ("agentreel", "agentreel.sb3.VecVideoRecorder"),
                           ("sb3", "SB3 VecVideoRecorder")):
        rows.append(Row("sb3", label, f"peak RSS, one 1,000-step clip (+{clip[variant] - clip['none']:,.0f} MB)",
                        clip[variant], "MB",
                        vs_peer=clip[variant] / clip["sb3"] if variant == "agentreel" else None))
    print(f"# sb3: load average after {load():.2f}", flush=True)
    return rows


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2].replace("-", " "), sys.argv[3], int(sys.argv[4]), sys.argv[5])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    quiet()
    print_table(run(args.quick, args.repeats))
