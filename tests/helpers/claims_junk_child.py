"""Child for the claims-folder attack test: plant junk, then record two episodes.

Usage: python claims_junk_child.py VIDEO_DIR KIND

KIND is what an attacker plants in ``VIDEO_DIR/.agentreel-claims/`` before the
recorder starts: ``fifo`` (a named pipe under the first video's claim name),
``devzero`` (a symlink to /dev/zero there), ``directory`` (a directory there) or
``forged`` (1,000 forged claims of a live process: every name the recorder would try
for the first video) or ``linkedfolder`` (the claims folder itself is a symlink to a
folder outside, ``VIDEO_DIR/../outside``). Prints ``SAVED <name> <frames>`` per video, then ``CLOSED``.
Run with a timeout: on the code before issue 12 the fifo hangs ``reset()``.
"""

from __future__ import annotations

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agentreel import RecordVideo  # noqa: E402
from agentreel.clips.claims import CLAIMS_FOLDER  # noqa: E402
from videotools import PatternEnv  # noqa: E402


def plant(claims: str, kind: str) -> None:
    if kind == "linkedfolder":
        outside = os.path.join(os.path.dirname(os.path.abspath(claims)), "..", "outside")
        os.makedirs(outside, exist_ok=True)
        os.makedirs(os.path.dirname(claims), exist_ok=True)
        os.symlink(outside, claims)
        return
    os.makedirs(claims, exist_ok=True)
    first = os.path.join(claims, "rl-video-episode-0.mp4")
    if kind == "fifo":
        os.mkfifo(first)
    elif kind == "devzero":
        os.symlink("/dev/zero", first)
    elif kind == "directory":
        os.mkdir(first)
        open(os.path.join(first, "inside"), "w").close()
    elif kind == "forged":
        # pid 1 is alive on every Linux machine: each claim looks like a live writer's.
        forged = f"1 {socket.gethostname()}\n"
        pid = os.getpid()
        names = ["rl-video-episode-0.mp4", f"rl-video-episode-0-{pid}.mp4"]
        names += [f"rl-video-episode-0-{pid}-{k}.mp4" for k in range(2, 1000)]
        for name in names:
            with open(os.path.join(claims, name), "w") as fh:
                fh.write(forged)
    else:
        raise SystemExit(f"unknown kind {kind}")


def main() -> None:
    folder, kind = sys.argv[1], sys.argv[2]
    plant(os.path.join(folder, CLAIMS_FOLDER), kind)
    env = RecordVideo(PatternEnv(length=3), folder, episode_trigger=lambda i: True)
    for _ in range(2):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    env.close()
    for video in env.saved_videos:
        print("SAVED", os.path.basename(video.path), video.frames, flush=True)
    print("CLOSED", flush=True)


if __name__ == "__main__":
    main()
