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
    # The encoder has read every frame announced to it (frames are announced in batches:
    # the last few wait in the ring, whose header still tells the encoder, if we die,
    # how many were written). A loaded machine starts the encoder late.
    deadline = time.monotonic() + 60
    while stream._ring.consumed < stream._announced and time.monotonic() < deadline:
        engine.poll()
        time.sleep(0.01)
    time.sleep(1.5)  # let the encoder write fragments
    print("READY", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
