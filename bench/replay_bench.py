"""Record everything, render what matters: the cost of RecordReplay and of replayed videos.

Per env (CartPole-v1, ALE/Pong-v5, HalfCheetah-v5 with MUJOCO_GL=egl), one random-policy
run of N steps in each of four rows, alternating, repeated (median steps/s):

* ``plain``: the loop alone (no wrapper, no rendering: ``render_mode=None``);
* ``no-op wrapper``: a pass-through ``gymnasium.Wrapper`` (the floor for any Python
  wrapper: one more ``step()`` call);
* ``RecordReplay``: every episode logged;
* ``RecordVideo(keep=best(3), replay=True)``: every episode logged, the 3 best re-rendered
  in a background process;
* ``RecordVideo(keep=best(3))``: today's live recording (renders and encodes every episode),
  over fewer steps (its rate is what matters; it renders every step).

Each row reports wall steps/s (the median over repeats, its ratio to the plain loop's
median, and ``paired``: the median of each repeat's ratio to that repeat's plain run,
seconds apart, which this VM's drift of tens of percent a minute disturbs least) and
the agent process's CPU time per step (its least disturbed repeat, and the paired
ratio of CPU times; ``time.process_time()``: the replay renderer and
encoders are other processes).

Also: ``close()`` time of the two video rows (until the kept videos are on disk after
the last episode), the replay log's bytes per step, and the replay renderer's frames/s
(``replay_frames``: rebuild, step, verify, render) against the render-only loop (step +
render) over the same steps. Ratios are within one run; the load average is printed
with each figure (the machine may be shared).

Usage::

    MUJOCO_GL=egl python bench/replay_bench.py          # CartPole 20k, Pong 2k, Cheetah 300
    MUJOCO_GL=egl python bench/replay_bench.py --quick  # a quarter of the steps, 1 repeat
    python bench/replay_bench.py --only CartPole-v1 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import load, quiet  # noqa: E402

ENVS = {
    # id: (steps, max_episode_steps, make kwargs, steps of the live row)
    "CartPole-v1": (20_000, None, {}, 3_000),
    "ALE/Pong-v5": (2_000, 200, {}, 1_000),
    "HalfCheetah-v5": (300, 50, {}, 300),
}
ROWS = ("plain", "no-op wrapper", "RecordReplay", "replay video", "live video")
LABELS = {"plain": "plain loop", "no-op wrapper": "no-op gymnasium.Wrapper",
          "RecordReplay": "RecordReplay", "replay video": "RecordVideo(best(3), replay=True)",
          "live video": "RecordVideo(best(3)) live"}


def make(env_id: str, render_mode: str | None, max_steps: int | None, kwargs: dict):
    import gymnasium as gym

    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    extra = {} if max_steps is None else {"max_episode_steps": max_steps}
    return gym.make(env_id, render_mode=render_mode, **extra, **kwargs)


def loop(env, steps: int) -> tuple[int, int]:
    """The random-policy loop: ``steps`` steps (finishing the last episode); returns steps, episodes."""
    env.action_space.seed(0)
    done_steps, episodes = 0, 0
    while done_steps < steps:
        env.reset(seed=episodes if episodes == 0 else None)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
            done_steps += 1
        episodes += 1
    return done_steps, episodes


def run_row(row: str, env_id: str, steps: int, max_steps: int | None, kwargs: dict) -> dict:
    from agentreel import RecordReplay, RecordVideo
    from agentreel.clips.keep import best

    folder = tempfile.mkdtemp(prefix="replay-bench-")
    if row == "plain":
        env = make(env_id, None, max_steps, kwargs)
    elif row == "no-op wrapper":
        import gymnasium as gym

        env = gym.Wrapper(make(env_id, None, max_steps, kwargs))
    elif row == "RecordReplay":
        env = RecordReplay(make(env_id, None, max_steps, kwargs), folder)
    elif row == "replay video":
        env = RecordVideo(make(env_id, None, max_steps, kwargs), folder, keep=best(3),
                          replay=True)
    else:
        env = RecordVideo(make(env_id, "rgb_array", max_steps, kwargs), folder, keep=best(3))
    start, cpu = time.perf_counter(), time.process_time()
    done_steps, episodes = loop(env, steps)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    closed = time.perf_counter()
    env.close()
    close_s = time.perf_counter() - closed
    log = os.path.join(folder, "replay.ndjson")
    size = os.path.getsize(log) if os.path.exists(log) else 0
    videos = [f for f in os.listdir(folder) if f.endswith(".mp4")]
    return {"sps": done_steps / elapsed, "cpu_us": cpu / done_steps * 1e6, "steps": done_steps, "episodes": episodes,
            "close_s": close_s, "bytes_per_step": size / done_steps, "videos": len(videos),
            "load": load(), "folder": folder}


def renderer_rates(env_id: str, folder: str, max_steps: int | None, kwargs: dict,
                   frames_wanted: int) -> tuple[float, float]:
    """(replay renderer frames/s, render-only loop frames/s) over about ``frames_wanted`` frames."""
    from agentreel.replay import read_replay, replay_frames
    from agentreel.replay.player import EnvCache

    episodes = read_replay(folder).episodes
    cache = EnvCache()
    frames, start = 0, time.perf_counter()
    for episode in episodes:
        for _ in replay_frames(episode, cache.get(episode)):
            frames += 1
        if frames >= frames_wanted:
            break
    replay_fps = frames / (time.perf_counter() - start)
    cache.close()
    env = make(env_id, "rgb_array", max_steps, kwargs)
    env.action_space.seed(0)
    env.reset(seed=0)
    env.render()
    count, start = 0, time.perf_counter()
    while count < frames:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        env.render()
        count += 1
        if terminated or truncated:
            env.reset()
            env.render()
            count += 1
    render_fps = count / (time.perf_counter() - start)
    env.close()
    return replay_fps, render_fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--repeats", type=int, default=None, help="default 2 (--quick: 1)")
    parser.add_argument("--steps", type=int, default=None, help="override the step count")
    parser.add_argument("--quick", action="store_true", help="a quarter of the steps, 1 repeat")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 2)
    quiet()
    for env_id in args.only:
        steps, max_steps, kwargs, live_steps = ENVS[env_id]
        if args.quick:
            steps, live_steps = max(steps // 4, 100), max(live_steps // 4, 100)
        steps = args.steps or steps
        live_steps = min(live_steps, steps)
        print(f"\n## {env_id}: random policy, {steps} steps (live row {live_steps}), episodes "
              f"of at most {max_steps or 'the default'} steps, {repeats} repeat(s); "
              f"load {load():.2f}")
        run_row("plain", env_id, min(steps, 500), max_steps, kwargs)  # warm-up, not counted
        results: dict[str, list[dict]] = {row: [] for row in ROWS}
        fast = [row for row in ROWS if row != "live video"]
        for repeat in range(repeats):
            # The rows in a rotated order each repeat: a fixed order favours whichever row
            # follows another (caches and the CPU's state after the row before it).
            turn = repeat % len(fast)
            for row in fast[turn:] + fast[:turn] + ["live video"]:
                results[row].append(run_row(row, env_id, live_steps if row == "live video"
                                            else steps, max_steps, kwargs))
        plain = statistics.median(r["sps"] for r in results["plain"])
        print(f"{'row':<34}{'steps/s':>9}{'x plain':>8}{'paired':>7}{'CPU us/step':>12}"
              f"{'paired CPU':>12}{'close s':>8}{'B/step':>7}{'videos':>7}{'load':>6}")
        for row in ROWS:
            sps = statistics.median(r["sps"] for r in results[row])
            # The median of each repeat's ratio to the plain run of the same repeat (run
            # seconds apart): this VM's speed drifts by tens of percent over a minute.
            paired = statistics.median(r["sps"] / p["sps"]
                                       for r, p in zip(results[row], results["plain"], strict=True))
            paired_cpu = statistics.median(p["cpu_us"] / r["cpu_us"]
                                           for r, p in zip(results[row], results["plain"],
                                                           strict=True))
            cpu = min(r["cpu_us"] for r in results[row])  # the least disturbed repeat
            close_s = statistics.median(r["close_s"] for r in results[row])
            per_step = statistics.median(r["bytes_per_step"] for r in results[row])
            last = results[row][-1]
            print(f"{LABELS[row]:<34}{sps:>9.0f}{sps / plain:>8.2f}{paired:>7.2f}{cpu:>12.1f}"
                  f"{paired_cpu:>12.2f}{close_s:>8.2f}{per_step:>7.1f}{last['videos']:>7}"
                  f"{last['load']:>6.2f}")
        folder = results["RecordReplay"][-1]["folder"]
        replay_fps, render_fps = renderer_rates(env_id, folder, max_steps, kwargs,
                                                frames_wanted=min(steps, 150))
        print(f"replay renderer {replay_fps:.1f} frames/s vs render-only loop {render_fps:.1f} "
              f"frames/s: {replay_fps / render_fps:.2f}x (load {load():.2f})")


if __name__ == "__main__":
    main()
