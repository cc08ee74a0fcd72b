"""The video engine: numpy frames in, complete video files out (no gymnasium here).

>>> import numpy as np, os, tempfile
>>> from agentreel.video import VideoEngine
>>> engine = VideoEngine()
>>> stream = engine.open(os.path.join(tempfile.mkdtemp(), "v.mp4"), fps=30, tags={"episode": 0})
>>> stream.add_frame(np.zeros((64, 64, 3), np.uint8))
>>> stream.finish()
>>> engine.flush()
>>> engine.close()

See :mod:`agentreel.video.engine` for the design (shared-memory ring → encoder
process → fragmented ``.partial`` → atomic rename).
"""

from __future__ import annotations

from agentreel.video.engine import (
    EngineStats,
    SavedVideo,
    VideoEngine,
    VideoStream,
    default_engine,
)
from agentreel.video.frames import FrameError, normalize_frame
from agentreel.video.spec import sidecar_path

__all__ = [
    "EngineStats",
    "FrameError",
    "SavedVideo",
    "VideoEngine",
    "VideoStream",
    "default_engine",
    "normalize_frame",
    "sidecar_path",
]
