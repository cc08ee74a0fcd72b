"""Record everything, render what matters: the cost of RecordReplay and of replayed videos.

Per env (CartPole-v1, ALE/Pong-v5, HalfCheetah-v5 with MUJOCO_GL=egl), one random-policy
run of N steps in each of four rows, alternating, repeated (median steps/s):

* ``plain``: the loop alone (no wrapper, no rendering: ``render_mode=None``);
* ``RecordReplay``: every episode logged;
* ``RecordVideo(keep=best(3), replay=True)``: every episode logged, the 3 best re-rendered
  in a background process;
* ``RecordVideo(keep=best(3))``: today's live recording (renders and encodes every episode).

Also: ``close()`` time of the two video rows (until the kept videos are on disk after
the last episode), the replay log's bytes per step, and the replay renderer's frames/s
(``replay_frames``: rebuild, step, verify, render) against the render-only loop (step +
render) over the same steps. Ratios are within one run; the load average is printed
with each figure (the machine may be shared).

Usage::

    MUJOCO_GL=egl python bench/replay_bench.py              # CartPole 20k, Pong 3k, Cheetah 300
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
    # id: (steps, max_episode_steps, make kwargs)
    "CartPole-v1": (20_000, None, {}),
    "ALE/Pong-v5": (3_000, 300, {}),
    "HalfCheetah-v5": (300, 50, {}),
}


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
    elif row == "RecordReplay":
        env = RecordReplay(make(env_id, None, max_steps, kwargs), folder)
    elif row == "replay video":
        env = RecordVideo(make(env_id, None, max_steps, kwargs), folder, keep=best(3),
                          replay=True)
    else:
        env = RecordVideo(make(env_id, "rgb_array", max_steps, kwargs), folder, keep=best(3))
    start = time.perf_counter()
    done_steps, episodes = loop(env, steps)
    elapsed = time.perf_counter() - start
    closed = time.perf_counter()
    env.close()
    close_s = time.perf_counter() - closed
    log = os.path.join(folder, "replay.ndjson")
    size = os.path.getsize(log) if os.path.exists(log) else 0
    videos = [f for f in os.listdir(folder) if f.endswith(".mp4")]
    return {"sps": done_steps / elapsed, "steps": done_steps, "episodes": episodes,
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
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="override the step count")
    args = parser.parse_args()
    quiet()
    rows = ("plain", "RecordReplay", "replay video", "live video")
    for env_id in args.only:
        steps, max_steps, kwargs = ENVS[env_id]
        steps = args.steps or steps
        print(f"\n## {env_id}: random policy, {steps} steps, "
              f"episodes of at most {max_steps or 'the default'} steps; load {load():.2f}")
        results: dict[str, list[dict]] = {row: [] for row in rows}
        for _ in range(args.repeats):
            for row in rows:
                results[row].append(run_row(row, env_id, steps, max_steps, kwargs))
        plain = statistics.median(r["sps"] for r in results["plain"])
        print(f"{'row':<34}{'steps/s':>10}{'x plain':>9}{'close s':>9}{'B/step':>8}"
              f"{'videos':>7}{'load':>7}")
        for row in rows:
            sps = statistics.median(r["sps"] for r in results[row])
            close_s = statistics.median(r["close_s"] for r in results[row])
            per_step = statistics.median(r["bytes_per_step"] for r in results[row])
            last = results[row][-1]
            label = {"plain": "plain loop", "RecordReplay": "RecordReplay",
                     "replay video": "RecordVideo(best(3), replay=True)",
                     "live video": "RecordVideo(best(3)) live"}[row]
            print(f"{label:<34}{sps:>10.0f}{sps / plain:>9.2f}{close_s:>9.2f}{per_step:>8.1f}"
                  f"{last['videos']:>7}{last['load']:>7.2f}")
        folder = results["RecordReplay"][-1]["folder"]
        replay_fps, render_fps = renderer_rates(env_id, folder, max_steps, kwargs,
                                                frames_wanted=min(steps, 150))
        print(f"replay renderer {replay_fps:.1f} frames/s vs render-only loop {render_fps:.1f} "
              f"frames/s: {replay_fps / render_fps:.2f}x (load {load():.2f})")


if __name__ == "__main__":
    main()
