"""Scenarios for the fork tests: a recording process forks, the child exits or records.

Usage: python fork_child.py SCENARIO FOLDER [HOW]

* ``exits FOLDER HOW``: RecordVideo records a 40-step PatternEnv episode; at step 20 the
  process forks (HOW: ``os`` = ``os.fork()`` then a normal interpreter exit in the child,
  ``mp`` = a ``multiprocessing`` fork-context child that returns) and the child simply
  exits. Prints one JSON line: the parent's saved videos, whether its claim survived the
  child's exit, and any exception the parent's steps raised.
* ``records FOLDER HOW``: the parent finishes a clip (not waited for), forks; the child
  records its own 15-frame clip with the same (default) engine and exits 0 when it is
  complete; the parent then closes its engine. Prints one JSON line.
* ``orphan FOLDER``: starts the encoder, forks a child that sleeps, prints
  ``PIDS <encoder> <child>`` and sleeps until it is killed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from agentreel import RecordVideo  # noqa: E402
from agentreel.video import default_engine  # noqa: E402
from videotools import PatternEnv, decode_count  # noqa: E402


def encoder_pid(engine) -> int:
    """The encoder process id (public property where it exists)."""
    pid = getattr(engine, "encoder_pid", None)
    return pid if pid is not None else engine._transport.proc.pid


def fork_and_run(how: str, child_body) -> int:
    """Run ``child_body`` in a forked child that then exits normally; return its exit code."""
    if how == "mp":
        proc = multiprocessing.get_context("fork").Process(target=child_body)
        proc.start()
        proc.join()
        return proc.exitcode
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child_body() or 0
        finally:
            sys.exit(code)  # a normal exit: atexit handlers run, as in any script
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def scenario_exits(folder: str, how: str) -> None:
    env = RecordVideo(PatternEnv(length=40), folder, episode_trigger=lambda e: True,
                      disable_logger=True)
    env.reset(seed=0)
    error = None
    claim = os.path.join(folder, ".agentreel-claims", "rl-video-episode-0.mp4")
    claim_kept = None
    for t in range(40):
        if t == 20:
            fork_and_run(how, lambda: 0)
            claim_kept = os.path.exists(claim)
        try:
            env.step(0)
        except Exception as exc:  # what the parent's loop would see
            error = f"{type(exc).__name__}: {exc}"
            break
    env.close()
    videos = [{"path": v.path, "frames": v.frames, "error": v.error,
               "decoded": decode_count(v.path) if v.error is None else 0}
              for v in env.saved_videos]
    print(json.dumps({"videos": videos, "claim_kept": claim_kept, "error": error}), flush=True)


def scenario_records(folder: str, how: str) -> None:
    engine = default_engine()
    parent = engine.open(os.path.join(folder, "parent.mp4"), fps=30)
    for i in range(30):
        parent.add_frame(np.full((32, 48, 3), i * 7 % 256, np.uint8))
    parent.finish()

    def child() -> int:
        own = default_engine().open(os.path.join(folder, f"child-{os.getpid()}.mp4"), fps=30)
        for i in range(15):
            own.add_frame(np.full((32, 48, 3), 200 - i, np.uint8))
        saved = own.wait(timeout=60)
        ok = saved.error is None and saved.frames == 15 and decode_count(saved.path) == 15
        return 0 if ok else 3

    code = fork_and_run(how, child)
    start = time.monotonic()
    engine.close()
    saved = parent.result
    print(json.dumps({"child_exit": code, "close_seconds": round(time.monotonic() - start, 3),
                      "frames": saved.frames, "error": saved.error,
                      "decoded": decode_count(saved.path) if saved.error is None else 0,
                      "child_videos": sorted(f for f in os.listdir(folder)
                                             if f.startswith("child-"))}), flush=True)


def scenario_orphan(folder: str) -> None:
    engine = default_engine()
    stream = engine.open(os.path.join(folder, "orphan.mp4"), fps=30)
    for i in range(10):
        stream.add_frame(np.full((32, 48, 3), i, np.uint8))
    pid = os.fork()
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    print("PIDS", encoder_pid(engine), pid, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    name, target = sys.argv[1], sys.argv[2]
    if name == "exits":
        scenario_exits(target, sys.argv[3])
    elif name == "records":
        scenario_records(target, sys.argv[3])
    else:
        scenario_orphan(target)
