"""First-clip start-up: the worst ``step()`` of a fresh process, first clip included.

Each run is a new Python process (so the encoder starts from nothing, as in a user's
script): build ``agentreel.RecordVideo`` over CartPole-v1 (600x400 frames, every
episode recorded), reset and take ``--steps`` steps right away, timing every
``reset()`` and ``step()``. The same loop without the wrapper, ``step()`` +
``render()`` (render-only), runs in its own fresh processes alternately: its worst
step is the host's own noise. Printed per kind: the median and the largest over the
runs of the worst step (ms) and of its step index (0 is the first ``reset()``), the worst
``step()`` alone, the worst step after the first 100 (steady state), and the load average
before and after. For agentreel also the load-independent evidence: the caller's longest
wait on a full ring (:attr:`VideoEngine.stats`) and when the encoder process could take
frames and encode them (ms after its spawn; ``Started``/``Ready`` were added with the
start-up backlog, so older versions print nan).

Usage::

    python bench/startup.py [--runs 5] [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def child(kind: str, steps: int) -> dict:
    """One fresh-process loop; returns the worst step, where it was, the steady worst."""
    import warnings

    warnings.filterwarnings("ignore")
    import gymnasium as gym
    import numpy as np

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    folder = tempfile.mkdtemp(prefix="agentreel-startup-")
    if kind == "agentreel":
        import agentreel

        env = agentreel.RecordVideo(env, folder, episode_trigger=lambda e: True)
    actions = np.random.default_rng(0).integers(0, 2, size=steps)
    times = []
    start = time.perf_counter()
    env.reset(seed=0)
    if kind == "render-only":
        env.render()
    times.append(time.perf_counter() - start)
    for i in range(steps):
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(actions[i])
        if kind == "render-only":
            env.render()
        if terminated or truncated:
            env.reset()
            if kind == "render-only":
                env.render()
        times.append(time.perf_counter() - start)
    extra = {}
    if kind == "agentreel":
        from agentreel.video import default_engine

        engine = default_engine()
        engine.poll()
        transport = engine._transport
        extra["ring_wait_ms"] = 1000 * engine.stats.max_wait_seconds
        if transport is not None and transport.kind == "process":
            spawned = getattr(transport, "spawned_at", 0.0)
            extra["started_ms"] = 1000 * (transport.started_at - spawned) \
                if getattr(transport, "started_at", 0) else float("nan")
            extra["ready_ms"] = 1000 * (transport.ready_at - spawned) \
                if getattr(transport, "ready_at", 0) else float("nan")
    env.close()
    worst = max(range(len(times)), key=times.__getitem__)
    return {"worst_ms": 1000 * times[worst], "worst_at": worst,
            "worst_step_ms": 1000 * max(times[1:]),
            "steady_worst_ms": 1000 * max(times[101:] or [0.0]), **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--child", choices=["agentreel", "render-only"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.steps)), flush=True)
        return 0
    print(f"load average before: {os.getloadavg()}")
    results: dict[str, list[dict]] = {"render-only": [], "agentreel": []}
    for _ in range(args.runs):
        for kind in results:
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--steps",
                                  str(args.steps)], capture_output=True, text=True, check=True)
            results[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for kind, runs in results.items():
        worst = [r["worst_ms"] for r in runs]
        steady = [r["steady_worst_ms"] for r in runs]
        steps = [r["worst_step_ms"] for r in runs]
        print(f"{kind:12s} worst step incl. first clip: median {statistics.median(worst):6.1f} ms,"
              f" max {max(worst):6.1f} ms (at steps {[r['worst_at'] for r in runs]}); "
              f"worst step() (not reset): median {statistics.median(steps):6.1f} ms; "
              f"steady-state worst: median {statistics.median(steady):5.1f} ms")
        if kind == "agentreel":
            waits = [r["ring_wait_ms"] for r in runs]
            started = [f"{r.get('started_ms', float('nan')):.0f}" for r in runs]
            ready = [f"{r.get('ready_ms', float('nan')):.0f}" for r in runs]
            print(f"{'':12s} caller's longest wait on the ring: max {max(waits):6.1f} ms; encoder "
                  f"took frames at {started} ms, could encode at {ready} ms after its spawn")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
