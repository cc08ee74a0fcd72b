"""Sweep x264 settings on real episodes: encoder CPU per frame and bytes per frame.

Usage::

    python bench/x264_sweep.py [--episodes 30] [--repeats 3] [--source cartpole]
    python bench/x264_sweep.py --source pistonball --episodes 2   # 880x560 frames
    python bench/x264_sweep.py --source tiled --episodes 4        # 2x2 CartPoles, 1200x800

``--source`` picks the frames: single CartPoles (600x400, the default), PettingZoo's
pistonball (880x560, needs ``pettingzoo[butterfly]``) or four CartPoles tiled 2x2 as
the vector recorder does (1200x800, one clip of 100 vector steps per "episode").

Each candidate encodes the same random-policy episodes (one file per episode,
as every-episode recording does) through :class:`VideoFileWriter`, so the
figures include the per-file costs (encoder start, first I-frame, flush,
faststart remux). CPU time (``time.process_time``) is reported rather than
wall time because the machine may be shared; candidates alternate and the
median over repeats is printed. This is how ``AUTO_LADDER`` was chosen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import av
import gymnasium as gym
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from agentreel.video.encoder import AUTO_LADDER, CHROMA_INTERPOLATION, VideoFileWriter

CANDIDATES: dict[str, tuple[str, str | None, str | Interpolation]] = {
    "veryfast (old default)": ("veryfast", None, "BILINEAR"),
    "superfast": ("superfast", None, "BILINEAR"),
    "ultrafast": ("ultrafast", None, "BILINEAR"),
    "ladder 0, bilinear chroma": (*AUTO_LADDER[0], "BILINEAR"),
    "ladder 0": (*AUTO_LADDER[0], "POINT"),
    "ladder 1": (*AUTO_LADDER[1], "POINT"),
    "ladder 1, point + full-width chroma input (the engine's)": (
        *AUTO_LADDER[1], CHROMA_INTERPOLATION),
    "ladder 2": (*AUTO_LADDER[2], "POINT"),
    "ladder 2, point + full-width chroma input (the engine's)": (
        *AUTO_LADDER[2], CHROMA_INTERPOLATION),
    "ultrafast+mbtree": ("ultrafast", "mbtree=1:rc-lookahead=5", "POINT"),
    "ultrafast+cabac+mbtree": ("ultrafast", "cabac=1:mbtree=1:rc-lookahead=5", "POINT"),
    "ultrafast+cabac+bframes+mbtree": (
        "ultrafast", "cabac=1:bframes=3:mbtree=1:rc-lookahead=5", "POINT"),
    "ultrafast+cabac+bframes+mbtree, lookahead 3": (
        "ultrafast", "cabac=1:bframes=2:mbtree=1:rc-lookahead=3", "POINT"),
    "ultrafast+cabac+bframes": ("ultrafast", "cabac=1:bframes=3", "POINT"),
    "ultrafast+cabac": ("ultrafast", "cabac=1", "POINT"),
}


def episodes(count: int) -> list[list[np.ndarray]]:
    """Frames of ``count`` random-policy CartPole episodes (reset frame + one per step)."""
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.action_space.seed(0)
    out = []
    for seed in range(count):
        env.reset(seed=seed)
        frames = [env.render()]
        while True:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            frames.append(env.render())
            if term or trunc:
                break
        out.append(frames)
    return out


def pistonball_episodes(count: int) -> list[list[np.ndarray]]:
    """Frames of ``count`` seeded random-policy pistonball episodes (125 steps each)."""
    from pettingzoo.butterfly import pistonball_v6

    env = pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=125)
    out = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        env.reset(seed=seed)
        frames = [env.render()]
        while env.agents:
            env.step({a: rng.uniform(-1, 1, (1,)).astype(np.float32) for a in env.agents})
            frames.append(env.render())
        out.append(frames)
    env.close()
    return out


def tiled_clips(count: int, clip: int = 100) -> list[list[np.ndarray]]:
    """``count`` clips of ``clip`` steps of four CartPoles tiled 2x2 (1200x800)."""
    from agentreel.base.tiling import tile_frames

    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync",
                        render_mode="rgb_array")
    actions = np.random.default_rng(0).integers(0, 2, size=(count * clip, 4))
    envs.reset(seed=0)
    out = []
    for k in range(count):
        frames = []
        for i in range(clip):
            envs.step(actions[k * clip + i])
            frames.append(tile_frames(list(envs.render()), 2, 2))
        out.append(frames)
    envs.close()
    return out


SOURCES = {"cartpole": episodes, "pistonball": pistonball_episodes, "tiled": tiled_clips}


def encode_all(clips: list[list[np.ndarray]], folder: str, preset: str, params: str | None,
               interpolation: str | Interpolation) -> tuple[float, int]:
    """CPU seconds and total bytes to encode every clip to its own file."""
    reformatter = VideoReformatter()
    total = 0
    start = time.process_time()
    for k, clip in enumerate(clips):
        path = os.path.join(folder, f"{k}.mp4")
        writer = VideoFileWriter(path, fps=50, width=clip[0].shape[1], height=clip[0].shape[0],
                                 preset=preset, x264_params=params)
        for frame in clip:
            src = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")
            writer.encode(reformatter.reformat(src, format="yuv420p", interpolation=interpolation,
                                               threads=1))
        writer.finish()
        total += os.path.getsize(path)
        os.remove(path)
    return time.process_time() - start, total


def main() -> None:
    """Print one line per candidate."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--source", choices=sorted(SOURCES), default="cartpole")
    parser.add_argument("--only", nargs="+", help="candidates to run (names as printed)")
    args = parser.parse_args()
    clips = SOURCES[args.source](args.episodes)
    candidates = {n: c for n, c in CANDIDATES.items() if not args.only or n in args.only}
    frames = sum(len(c) for c in clips)
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    size: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for name, (preset, params, interp) in candidates.items():
                seconds, size[name] = encode_all(clips, folder, preset, params, interp)
                cpu[name].append(seconds)
    height, width = clips[0][0].shape[:2]
    print(f"{len(clips)} episodes, {frames} frames ({width}x{height}); "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'candidate':46} {'CPU us/frame':>12} {'bytes/frame':>12}")
    for name in candidates:
        print(f"{name:46} {statistics.median(cpu[name]) / frames * 1e6:12.0f} "
              f"{size[name] / frames:12.1f}")


if __name__ == "__main__":
    main()
