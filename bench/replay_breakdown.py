"""Where RecordReplay's time goes on CartPole: the logger with its parts switched off.

CartPole-v1, random policy (``replay_bench.loop``), all rows in one process, in a rotated
order, each repeat a fresh env: CPU time per step (``time.process_time``), the best of
the repeats (the least disturbed), and its difference from the plain loop. A row with a
part switched off measures what that part costs inside the loop, where it runs cold
once per episode, rather than in a loop of its own:

* ``plain``: no wrapper;
* ``no-op wrapper``: a pass-through ``gymnasium.Wrapper``;
* ``reset only, no RNG``: ``RecordReplay`` whose ``step`` is the env's own (no step
  logged), with the RNG state read skipped: what ``reset()`` costs;
* ``reset only``: the same, with numpy's RNG state read at each unseeded reset;
* ``steps, no episode end``: steps logged, but an ended episode is dropped unwritten;
* ``line, no write``: the line built, the ``os.write`` skipped;
* ``write, no line``: a fixed 600-byte line written instead of the episode's;
* ``RecordReplay``: everything.

The switched-off rows replace internals of :class:`agentreel.replay.wrapper.EpisodeLogger`
(benchmark only). Usage::

    python bench/replay_breakdown.py                     # 5000 steps, 9 repeats
    python bench/replay_breakdown.py --steps 20000 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROWS = ("plain", "no-op wrapper", "reset only, no RNG", "reset only", "steps, no episode end",
        "line, no write", "write, no line", "RecordReplay")


def make(row: str):
    """CartPole-v1 wrapped for ``row``."""
    import gymnasium as gym

    from agentreel import RecordReplay

    env = gym.make("CartPole-v1")
    if row == "plain":
        return env
    if row == "no-op wrapper":
        return gym.Wrapper(env)
    wrapped = RecordReplay(env, tempfile.mkdtemp())
    logger = wrapped.logger
    if row.startswith("reset only"):
        wrapped.step = env.step  # type: ignore[method-assign]
        if row.endswith("no RNG"):
            logger._random_state = lambda: (None, None)  # type: ignore[method-assign]
    elif row == "steps, no episode end":
        def drop(terminated, truncated):  # type: ignore[no-untyped-def]
            logger.buffer = logger._steps = logger._fast_steps = None
            logger._ended = True
        logger.end = drop  # type: ignore[method-assign]
    elif row == "line, no write":
        logger.writer._file.append = lambda text: None  # type: ignore[method-assign]
    elif row == "write, no line":
        fixed = "x" * 599 + "\n"
        logger.writer._encoder.encode = (  # type: ignore[method-assign]
            lambda buffer, run, end_time, episode_return=None: (fixed, 1.0))
    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    args = parser.parse_args()
    from replay_bench import loop

    best = {row: float("inf") for row in args.rows}
    for repeat in range(args.repeats):
        shift = repeat % len(args.rows)
        for row in args.rows[shift:] + args.rows[:shift]:
            env = make(row)
            loop(env, 300)  # warm up
            start = time.process_time()
            steps, _ = loop(env, args.steps)
            best[row] = min(best[row], (time.process_time() - start) / steps * 1e6)
            env.close()
    base = best[args.rows[0]]
    print(f"CartPole-v1, {args.steps} steps, best of {args.repeats}; load "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'row':24s} {'CPU us/step':>11s} {'x first':>8s} {'+us/step':>9s}")
    for row in args.rows:
        print(f"{row:24s} {best[row]:11.2f} {base / best[row]:8.3f} {best[row] - base:+9.2f}")


if __name__ == "__main__":
    main()
