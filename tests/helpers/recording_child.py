"""Child for the reliability tests: record every episode until killed (or done).

Usage: python recording_child.py VIDEO_DIR LOG_DIR [--episodes N] [--length L]
       [--fps F] [--keep] [--prefix P] [--step-sleep S] [--size HxW]

RecordVideo (every episode, sidecars) over RecordEpisodeStatistics(log=LOG_DIR) over
PatternEnv. Prints ``READY <encoder pid>`` once set up, ``DONE <k>`` after the step
that ended episode ``k`` returned (its log lines are written and its video handed
to the encoder by then), ``SAVED <path> <frames> <error>`` per video after
``env.close()``, then ``CLOSED``. LOG_DIR is anything ``log=`` takes (a ``.jsonl``
path may be shared by several children).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agentreel import RecordEpisodeStatistics, RecordVideo  # noqa: E402
from agentreel.clips.keep import best  # noqa: E402
from agentreel.video import default_engine  # noqa: E402
from videotools import PatternEnv  # noqa: E402


def main() -> None:
    # Ctrl-C as in a terminal, even when this test run was started in the background
    # (a shell without job control starts background jobs with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser()
    parser.add_argument("video_dir")
    parser.add_argument("log_dir")
    parser.add_argument("--episodes", type=int, default=10**9)
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--fps", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--prefix", default="rl-video")
    parser.add_argument("--step-sleep", type=float, default=0.004)
    parser.add_argument("--size", default="32x48")
    parser.add_argument("--start-file", help="wait until this file exists before the first reset")
    parser.add_argument("--end-file", help="after close(), touch END_FILE.<pid>, then wait "
                        "until END_FILE exists before exiting")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))

    env = PatternEnv(length=args.length, height=height, width=width, render_fps=args.fps)
    env = RecordEpisodeStatistics(env, log=args.log_dir)
    env = RecordVideo(env, args.video_dir, episode_trigger=lambda i: True, sidecar=True,
                      name_prefix=args.prefix, keep=best(3) if args.keep else None)
    if args.start_file:
        deadline = time.monotonic() + 120
        while not os.path.exists(args.start_file) and time.monotonic() < deadline:
            time.sleep(0.005)
    env.reset(seed=0)
    transport = default_engine()._transport
    print("READY", getattr(getattr(transport, "proc", None), "pid", 0), flush=True)
    done = 0
    while done < args.episodes:
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            print("DONE", done, flush=True)
            done += 1
            if done < args.episodes:
                env.reset()
        time.sleep(args.step_sleep)
    env.close()
    for video in env.saved_videos:
        print("SAVED", video.path, video.frames, video.error, flush=True)
    print("CLOSED", flush=True)
    if args.end_file:
        open(f"{args.end_file}.{os.getpid()}", "w").close()
        deadline = time.monotonic() + 120
        while not os.path.exists(args.end_file) and time.monotonic() < deadline:
            time.sleep(0.005)


if __name__ == "__main__":
    main()
