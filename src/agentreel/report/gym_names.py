"""Videos without a sidecar, read from Gymnasium's file names and the file itself.

Gymnasium's ``RecordVideo`` (and agentreel's without ``sidecar=True``) writes
``PREFIX-episode-N.mp4`` and ``PREFIX-step-N.mp4`` and nothing else. Those names
carry the recorder's ids, so such a folder is readable without sidecars: the
frames, rate and size are read from the file (PyAV), the episode from the name.
agentreel's per-env names ``PREFIX-env-I-episode-K`` are read the same way.

Example:
    >>> parse_video_name("training-episode-250"), parse_video_name("eval-step-1000")
    ({'episode_id': 250}, {'step_id': 1000})
    >>> parse_video_name("rl-video-env-2-episode-7"), parse_video_name("timelapse")
    ({'env_index': 2, 'episode_id': 7}, None)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av

__all__ = ["parse_video_name", "probe_video", "MISSING_SIDECAR_HINT", "MISSING_LOG_HINT"]

_PATTERNS = (
    re.compile(r"^.+-env-(?P<env_index>\d+)-episode-(?P<episode_id>\d+)$"),
    re.compile(r"^.+-episode-(?P<episode_id>\d+)$"),
    re.compile(r"^.+-step-(?P<step_id>\d+)$"),
)

#: How to get what a folder of plain videos lacks (said by the report, timelapse and summary).
MISSING_SIDECAR_HINT = ("RecordVideo(..., sidecar=True) writes a NAME.json beside each video "
                        "with its episode's return and length")
MISSING_LOG_HINT = ("RecordEpisodeStatistics(env, log=FOLDER) writes each episode's return and "
                    "length to FOLDER/episodes.jsonl and monitor.csv")


def parse_video_name(stem: str) -> dict[str, int] | None:
    """The ids in a recorder's file name (without suffix), or ``None`` for any other name."""
    for pattern in _PATTERNS:
        match = pattern.match(stem)
        if match:
            return {key: int(value) for key, value in match.groupdict().items()}
    return None


def probe_video(path: str | Path) -> dict[str, Any] | None:
    """``frames, fps, width, height, format`` of a video file, or ``None`` if it cannot be read.

    The frame count comes from the container; a container that does not store it
    (some WebM and GIF files) is decoded to count.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            frames = int(stream.frames or 0)
            width, height = stream.codec_context.width, stream.codec_context.height
            if frames <= 0:
                frames = sum(1 for _ in container.decode(stream))
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    return {"frames": frames, "fps": float(rate) if rate else 30.0, "width": int(width),
            "height": int(height), "format": Path(path).suffix.lstrip(".").lower()}
