"""Child process for the concurrent-append test.

Usage: python append_worker.py PATH WORKER_ID N_RECORDS START_FILE

Waits for START_FILE to exist (so all workers start together), then appends
N_RECORDS records to the JSON Lines file PATH through one JsonlSink. Each
record's extras hold a large payload so that lines are several KiB long.
"""

from __future__ import annotations

import os
import sys
import time

from agentreel.core.records import EpisodeRecord
from agentreel.log import JsonlSink


def main() -> None:
    path, worker, count, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    deadline = time.monotonic() + 60
    while not os.path.exists(start) and time.monotonic() < deadline:
        time.sleep(0.001)
    sink = JsonlSink(path)
    payload = chr(ord("a") + worker) * 6000
    for i in range(count):
        sink.write(EpisodeRecord(index=i, episode_return=float(worker), length=i,
                                 env_index=worker, extras={"payload": payload}))
    sink.close()


if __name__ == "__main__":
    main()
