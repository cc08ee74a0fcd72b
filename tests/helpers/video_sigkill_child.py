"""Child for the crash test: record frames, report progress, then sleep until killed.

Usage: python video_sigkill_child.py PATH FRAMES
Prints "WORKER <pid>" then "READY" once FRAMES frames were handed over and the
encoder has had time to write them; then sleeps forever (the test SIGKILLs it).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from agentreel.video import VideoEngine


def main() -> None:
    path, frames = sys.argv[1], int(sys.argv[2])
    engine = VideoEngine(backend="process")
    stream = engine.open(path, fps=30)
    frame = np.zeros((48, 64, 3), np.uint8)
    for i in range(frames):
        frame[:] = (i * 3) % 256
        stream.add_frame(frame)
    print("WORKER", engine._transport.proc.pid, flush=True)
    deadline = time.monotonic() + 60  # the encoder has read every frame (a loaded machine
    while stream._ring.consumed < frames and time.monotonic() < deadline:  # starts it late)
        engine.poll()
        time.sleep(0.01)
    time.sleep(1.5)  # let the encoder write fragments
    print("READY", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
