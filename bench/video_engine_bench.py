"""Benchmark the video engine: recording throughput while the caller renders.

Usage::

    python bench/video_engine_bench.py [--frames 1500] [--presets]

For each backend it renders CartPole (600x400) frames in the main thread and
hands every frame to ``add_frame`` (the real workload: the caller is busy
rendering while the encoder works), and reports frames/s of the whole loop
relative to rendering alone, back-pressure waits, and bytes/frame of the file.
``--presets`` also measures x264 presets in isolation (one core, no caller).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from fractions import Fraction

import av
import gymnasium as gym
import numpy as np

from agentreel.video import VideoEngine
from agentreel.video.encoder import AUTO_LADDER
from agentreel.video.spec import auto_start_level


def render_loop(n: int, on_frame=None) -> float:
    """Step+render CartPole n times with a random policy; return seconds."""
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(n):
        frame = env.render()
        if on_frame is not None:
            on_frame(frame)
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


def bench_backend(backend: str, n: int, folder: str, episode: int) -> dict:
    engine = VideoEngine(backend=backend)
    engine.start()
    time.sleep(1.0)  # let the encoder process import (done at env creation in practice)
    paths = []
    state = {"stream": None, "count": 0}

    def on_frame(frame):
        if state["stream"] is None or state["count"] >= episode:
            if state["stream"] is not None:
                state["stream"].finish()
            path = os.path.join(folder, f"{backend}-{len(paths)}.mp4")
            paths.append(path)
            state["stream"] = engine.open(path, fps=30)
            state["count"] = 0
        t = time.perf_counter()
        state["stream"].add_frame(frame)
        state["max_call"] = max(state.get("max_call", 0.0), time.perf_counter() - t)
        state["count"] += 1

    elapsed = render_loop(n, on_frame)
    state["stream"].finish()
    t = time.perf_counter()
    engine.flush()
    drain = time.perf_counter() - t
    stats = engine.stats
    engine.close()
    size = sum(os.path.getsize(p) for p in paths)
    return {
        "fps": n / elapsed,
        "wait": stats.wait_seconds,
        "max_wait": stats.max_wait_seconds,
        "max_call": state["max_call"],
        "drain": drain,
        "bytes_per_frame": size / n,
    }


def bench_presets(frames: np.ndarray) -> None:
    print("\nx264 presets, one core, 600x400 CartPole frames, crf 23 (fragmented mp4, GOP 250)")
    print(f"{'preset':10} {'frames/s':>9} {'bytes/frame':>12}")
    for preset in ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]:
        buf = io.BytesIO()
        with av.open(buf, "w", format="mp4", options={
            "movflags": "empty_moov+default_base_moof", "frag_duration": "1000000"}) as c:
            s = c.add_stream("libx264", rate=Fraction(30))
            s.width, s.height, s.pix_fmt = 600, 400, "yuv420p"
            s.options = {"preset": preset, "crf": "23", "g": "250"}
            s.codec_context.thread_type = "FRAME"
            s.codec_context.thread_count = 1
            t = time.perf_counter()
            for i, f in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(f, format="rgb24")
                vf.pts = i
                for p in s.encode(vf):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
            dt = time.perf_counter() - t
        print(f"{preset:10} {len(frames) / dt:9.0f} {buf.getbuffer().nbytes / len(frames):12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--episode", type=int, default=500, help="frames per video")
    parser.add_argument("--presets", action="store_true")
    args = parser.parse_args()
    base = render_loop(args.frames)
    render_fps = args.frames / base
    start = AUTO_LADDER[auto_start_level(len(os.sched_getaffinity(0)))]
    print(f"render only: {render_fps:.0f} frames/s  (preset auto, starting at {start}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'backend':8} {'frames/s':>9} {'x render':>9} {'wait s':>7} {'max wait ms':>12} "
          f"{'max call ms':>12} {'drain s':>8} {'bytes/frame':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for backend in ["process", "thread"]:
            r = bench_backend(backend, args.frames, folder, args.episode)
            print(f"{backend:8} {r['fps']:9.0f} {r['fps'] / render_fps:9.2f} {r['wait']:7.2f} "
                  f"{r['max_wait'] * 1e3:12.1f} {r['max_call'] * 1e3:12.1f} {r['drain']:8.2f} "
                  f"{r['bytes_per_frame']:12.1f}")
    if args.presets:
        frames = []
        env = gym.make("CartPole-v1", render_mode="rgb_array")
        env.reset(seed=0)
        while len(frames) < 300:
            frames.append(env.render())
            if any(env.step(env.action_space.sample())[2:4]):
                env.reset()
        bench_presets(np.stack(frames))


if __name__ == "__main__":
    main()
