"""Section 4: vector recording: 4 CartPole envs, tiled 2x2, recorded continuously.

Clips of ``L`` vector steps are started every ``L`` steps (``step_trigger``), so
every step is recorded:

* ``agentreel.vector.RecordVideo``;
* ``gymnasium.wrappers.vector.RecordVideo`` (frames kept, moviepy at clip end);
* Stable-Baselines3 ``VecVideoRecorder`` over a ``DummyVecEnv`` (same);
* ``render-only``: the same vector env, ``step()`` + ``render()`` (all four
  frames) each step, nothing recorded: the limit any recorder can reach;
* ``render+copy``: render-only plus one copy of the four frames into a shared-memory
  slot (a ring of 8, as agentreel's), each frame whole (``pack_into``, the cheapest
  copy): the limit of any recorder that encodes in another process, which must copy
  each frame out of the agent's memory once.

Each run is a fresh child process (peak RSS of the process tree); env-steps/s
count all four sub-envs. "Flat memory" compares the peak RSS of the second
half of the run with that of the first half; the run holds four clips, so the
steady state (a clip being recorded while the previous one is completed) is
reached in the first half and the second half shows growth with length only.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

from common import Row, child_print, folder_bytes, helper_cpu_seconds, median, quiet, run_child

VARIANTS = ("agentreel", "gymnasium", "sb3", "render-only", "render+copy")
NUM_ENVS = 4


def child(variant: str, steps: int, clip: int, folder: str) -> None:
    """Run ``steps`` vector steps with continuous recording (in the child process)."""
    quiet()
    import gymnasium as gym
    import numpy as np

    actions = np.random.default_rng(0).integers(0, 2, size=(steps, NUM_ENVS))
    waited = close_s = 0.0  # agentreel's waits for a ring slot; the time in close()
    if variant == "sb3":
        from stable_baselines3.common.vec_env import DummyVecEnv, VecVideoRecorder

        venv = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array")] * NUM_ENVS)
        # SB3 checks its trigger only while not recording and not at the step a
        # clip ends, so "s % clip == 0" would record every other clip: ask always.
        venv = VecVideoRecorder(venv, folder, record_video_trigger=lambda s: True,
                                video_length=clip)
        start = time.perf_counter()
        cpu_start = time.process_time()
        venv.seed(0)
        venv.reset()
        for i in range(steps):
            venv.step(actions[i])
        venv.close()
    else:
        envs = gym.make_vec("CartPole-v1", num_envs=NUM_ENVS, vectorization_mode="sync",
                            render_mode="rgb_array")
        render = variant in ("render-only", "render+copy")
        copy_into = None
        if variant == "render+copy":
            from multiprocessing import shared_memory

            from agentreel.base.tiling import pack_into

            shm = shared_memory.SharedMemory(create=True, size=8 * 800 * 1200 * 3)
            ring = np.ndarray((8, 800, 1200, 3), np.uint8, buffer=shm.buf)

            def copy_into(i: int, frames) -> None:
                pack_into(ring[i % 8], frames)
        if variant == "agentreel":
            from agentreel.vector import RecordVideo
        elif not render:
            from gymnasium.wrappers.vector import RecordVideo
        if not render:
            envs = RecordVideo(envs, folder, step_trigger=lambda s: s % clip == 0,
                               video_length=clip)
        start = time.perf_counter()
        cpu_start = time.process_time()
        envs.reset(seed=0)
        if render:
            envs.render()
        for i in range(steps):
            envs.step(actions[i])
            if render:
                frames = envs.render()
                if copy_into is not None:
                    copy_into(i, frames)
        if variant == "agentreel":
            from agentreel.video import default_engine

            waited = default_engine().stats.wait_seconds
        closing = time.perf_counter()
        envs.close()
        close_s = time.perf_counter() - closing
        if copy_into is not None:
            del ring
            shm.close()
            shm.unlink()
    elapsed = time.perf_counter() - start
    caller_cpu = time.process_time() - cpu_start
    files = [f for f in os.listdir(folder) if f.endswith(".mp4")]
    child_print({"env_steps_per_s": steps * NUM_ENVS / elapsed, "files": len(files),
                 "caller_ms_per_step": caller_cpu / steps * 1e3,
                 "encoder_ms_per_frame": (helper_cpu_seconds(variant) / steps * 1e3
                                          if not variant.startswith("render") else 0.0),
                 "bytes_per_frame": folder_bytes(folder) / steps,
                 "wait_share": waited / elapsed, "close_share": close_s / elapsed})


def bench(steps: int, clip: int, repeats: int) -> list[Row]:
    """Alternate the three variants ``repeats`` times in fresh processes."""
    res: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    tmp = tempfile.mkdtemp(prefix="agentreel-bench-vec-")
    try:
        for rep in range(repeats):
            for variant in VARIANTS if rep % 2 == 0 else VARIANTS[::-1]:
                folder = os.path.join(tmp, f"{variant}-{rep}")
                os.makedirs(folder)
                res[variant].append(run_child("vector", [variant, steps, clip, folder]))
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sps = {v: median([r["env_steps_per_s"] for r in res[v]]) for v in VARIANTS}
    rss = {v: median([r["peak_rss"] / 2**20 for r in res[v]]) for v in VARIANTS}
    growth = {v: median([(r["rss_second_half"] - r["rss_first_half"]) / 2**20 for r in res[v]])
              for v in VARIANTS}
    what = f"{NUM_ENVS} envs, {steps} steps, clips of {clip}"
    names = {"agentreel": "agentreel.vector.RecordVideo", "render-only": "render-only (limit)",
             "render+copy": "render + copy to shared memory (out-of-process limit)",
             "gymnasium": "gymnasium vector RecordVideo", "sb3": "SB3 VecVideoRecorder"}
    rows = [Row("4", names["sb3"], f"env-steps/s ({what})", sps["sb3"], "steps/s")]
    rows.append(Row("4", names["gymnasium"], f"env-steps/s ({what})", sps["gymnasium"], "steps/s",
                    sps["gymnasium"] / sps["sb3"]))
    rows.append(Row("4", names["render-only"], f"env-steps/s ({what})", sps["render-only"],
                    "steps/s", sps["render-only"] / sps["sb3"], 1.0))
    rows.append(Row("4", names["render+copy"], f"env-steps/s ({what})", sps["render+copy"],
                    "steps/s", sps["render+copy"] / sps["sb3"],
                    sps["render+copy"] / sps["render-only"]))
    rows.append(Row("4", names["agentreel"], f"env-steps/s ({what})", sps["agentreel"], "steps/s",
                    sps["agentreel"] / sps["sb3"], sps["agentreel"] / sps["render-only"],
                    ">= 3x SB3", sps["agentreel"] / sps["sb3"] >= 3))
    rows.append(Row("4", names["agentreel"], "env-steps/s vs the out-of-process limit",
                    sps["agentreel"] / sps["render+copy"], "x"))
    # Figures that do not depend on the machine's load: CPU of the agent's process per
    # vector step, CPU of the encoding process per tiled frame, bytes per frame.
    cpu = {v: median([r["caller_ms_per_step"] for r in res[v]]) for v in VARIANTS}
    for v in ("render-only", "render+copy", "agentreel", "gymnasium", "sb3"):
        rows.append(Row("4", names[v], "caller CPU per vector step", cpu[v], "ms",
                        None, cpu[v] / cpu["render-only"]))
    # Where agentreel's wall time beyond render-only goes: waiting for a free ring slot
    # (the encoder behind) and close() (the last clip's frames still to encode).
    for key, label in (("wait_share", "share of the run waiting for the encoder"),
                       ("close_share", "share of the run in close()")):
        share = median([r.get(key, 0.0) for r in res["agentreel"]])
        rows.append(Row("4", names["agentreel"], label, 100 * share, "%"))
    for v in ("agentreel", "gymnasium", "sb3"):
        enc = median([r["encoder_ms_per_frame"] for r in res[v]])
        size = median([r["bytes_per_frame"] for r in res[v]])
        rows.append(Row("4", names[v], "encoder CPU per frame (1200x800)", enc, "ms"))
        rows.append(Row("4", names[v], "bytes per frame", size, "bytes"))
    for v in ("sb3", "gymnasium", "agentreel"):
        flat = growth[v] <= 20  # (shrinking is flat too)
        rows.append(Row("4", names[v], "peak RSS (2nd-half growth)", rss[v], "MB",
                        rss[v] / rss["sb3"] if v != "sb3" else None, None,
                        f"flat ({growth[v]:+,.0f} MB)" if v == "agentreel" else f"({growth[v]:+,.0f} MB)",
                        flat if v == "agentreel" else None))
    return rows


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
