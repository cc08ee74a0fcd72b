"""Child for the Ctrl-C stress test: SIGINT lands at random instants while recording.

Usage: python interrupt_child.py FOLDER TRIALS SEED

Each trial records three short clips with one process-backend engine while a thread
sends SIGINT to the main thread at random instants (every 0-4 ms). The loop catches
every ``KeyboardInterrupt`` and goes on, as a user's loop that handles Ctrl-C would;
then the interrupter stops and ``close()`` is called. Prints one JSON line: each
clip's state after ``close()`` (done, frames, error, frames decoded back, the
stream's own count, which its sidecar is written from). A child
still running after ``CHILD_SECONDS`` hangs: the stacks go to stderr, exit code 1. It also counts the encoder
processes started (an interrupted start used to leave its process behind and start
another at the next call: hundreds of encoders, a machine brought to a crawl).
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


import numpy as np  # noqa: E402

from agentreel.video import VideoEngine  # noqa: E402
from videotools import decode_count  # noqa: E402

#: A child still running after this long hangs (generous: the machine may be loaded).
CHILD_SECONDS = 150


class SpawnCounter:
    """Count the encoder processes ``subprocess.Popen`` starts (the real Popen runs)."""

    def __init__(self) -> None:
        self.count = 0
        self.real = subprocess.Popen
        counter = self

        class Counting(subprocess.Popen):  # type: ignore[type-arg]
            def __init__(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
                super().__init__(args, *rest, **kwargs)
                if "agentreel.video.worker" in args:
                    counter.count += 1

        subprocess.Popen = Counting  # type: ignore[misc]


class Interrupter:
    """Send SIGINT to the main thread at random instants until stopped."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0
        self.stopped = threading.Event()
        self.go = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.target = threading.main_thread().ident

    def run(self) -> None:
        self.go.wait()
        while not self.stopped.wait(self.rng.uniform(0, 0.004)):
            signal.pthread_kill(self.target, signal.SIGINT)
            self.count += 1

    def __enter__(self) -> Interrupter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.go.set()
        while self.thread.is_alive():
            with contextlib.suppress(KeyboardInterrupt):
                self.thread.join()


def trial(engine: VideoEngine, folder: str, index: int, rng: random.Random) -> tuple[list, int]:
    """Record three clips under interrupts, then close(). Every step of the plan is
    retried when an interrupt lands in it (an interrupted ``add_frame`` may have taken
    its frame or not: the test compares the decoded file with what the engine reports)."""
    plan: list[tuple] = []
    for clip in range(3):
        plan.append(("open", clip, os.path.join(folder, f"t{index}-c{clip}.mp4")))
        plan += [("frame", clip, i) for i in range(rng.randint(5, 25))]
        plan += [("finish", clip), ("poll",), ("sleep", rng.uniform(0, 0.01))]
    streams: dict[int, object] = {}
    deadlines: dict[int, float] = {}
    frame = np.zeros((24, 32, 3), np.uint8)

    def run(step: tuple) -> None:
        kind = step[0]
        if kind == "open" and step[1] not in streams:
            try:
                streams[step[1]] = engine.open(step[2], fps=30)
            except ValueError:  # it was opened just before the interrupt landed
                streams[step[1]] = next(s for s in list(engine._streams.values())
                                        if s.path == step[2])
        elif kind == "frame" and step[1] in streams:
            frame[:] = (step[2] * 9) % 256
            streams[step[1]].add_frame(frame)
        elif kind == "finish" and step[1] in streams:
            streams[step[1]].finish()
        elif kind == "poll":
            engine.poll()
        elif kind == "sleep":
            # A retried sleep sleeps only what is left: interrupts come every 0-4 ms, so
            # a sleep started afresh on each retry could never finish (a livelock of the
            # test itself on an idle machine, where the interrupter is never late).
            deadline = deadlines.setdefault(id(step), time.monotonic() + step[1])
            time.sleep(max(0.0, deadline - time.monotonic()))

    with Interrupter(rng) as interrupter:
        position = 0
        while position < len(plan):
            try:
                interrupter.go.set()  # (from here on every instant is protected)
                while position < len(plan):
                    with contextlib.suppress(RuntimeError):  # add_frame() after an
                        run(plan[position])  # interrupted finish()
                    position += 1
            except KeyboardInterrupt:
                pass
    for _ in range(3):  # interrupts still in flight land here
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(0.01)
    engine.close()
    return [streams[k] for k in sorted(streams)], interrupter.count


def main() -> None:
    folder, trials, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    # SIGINT raises KeyboardInterrupt, as in a terminal, even when the test run was started
    # in the background (a shell without job control ignores SIGINT for background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.dump_traceback_later(CHILD_SECONDS, exit=True)
    spawns = SpawnCounter()
    engine = VideoEngine(backend="process")
    clips, interrupts = [], 0
    for index in range(trials):
        streams, count = trial(engine, folder, index, rng)
        interrupts += count
        for stream in streams:
            result = stream.result
            clips.append({
                "path": stream.path, "done": result is not None,
                "frames": None if result is None else result.frames,
                "stream_frames": stream.frames,
                "error": None if result is None else result.error,
                "decoded": decode_count(stream.path) if result and result.error is None else 0,
            })
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps({"clips": clips, "interrupts": interrupts,
                      "encoders_started": spawns.count}), flush=True)


if __name__ == "__main__":
    main()
