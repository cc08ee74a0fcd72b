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

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562): the encoder process starts as
# ``python -m agentreel.video.worker``, which runs this file first and must not pay
# for the engine (nor PyAV) before it can start taking frames.
_LAZY = {
    "EngineStats": "agentreel.video.engine",
    "SavedVideo": "agentreel.video.engine",
    "VideoEngine": "agentreel.video.engine",
    "VideoStream": "agentreel.video.engine",
    "default_engine": "agentreel.video.engine",
    "FrameError": "agentreel.video.frames",
    "normalize_frame": "agentreel.video.frames",
    "sidecar_path": "agentreel.video.spec",
}

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

if TYPE_CHECKING:
    from agentreel.video.engine import (
        EngineStats,
        SavedVideo,
        VideoEngine,
        VideoStream,
        default_engine,
    )
    from agentreel.video.frames import FrameError, normalize_frame
    from agentreel.video.spec import sidecar_path


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentreel.video' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
