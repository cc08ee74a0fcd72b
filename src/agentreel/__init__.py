"""agentreel: record reinforcement-learning agents.

Drop-in replacements for Gymnasium's recording wrappers::

    from agentreel import RecordEpisodeStatistics, RecordVideo
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo

The names below are imported on first use (PEP 562), so importing a light submodule
(the video encoder process runs ``python -m agentreel.video.worker``) does not load
Gymnasium and the wrappers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it. (``__version__`` too: reading the
#: package metadata costs the encoder process's start-up ~10 ms it does not need.)
_LAZY = {
    "__version__": "agentreel._version",
    "EpisodeRecord": "agentreel.core.records",
    "JsonlSink": "agentreel.log",
    "LoggingSink": "agentreel.log",
    "MonitorCsvSink": "agentreel.log",
    "RecordEpisodeStatistics": "agentreel.wrappers.statistics",
    "RecordReplay": "agentreel.replay",
    "RecordVideo": "agentreel.wrappers.recording",
    "Run": "agentreel.report.run",
    "VideoSaved": "agentreel.core.records",
    "capped_cubic_video_schedule": "agentreel.base.triggers",
    "read_episodes": "agentreel.log",
    "trackers": "agentreel.trackers",
}

__all__ = [
    "EpisodeRecord",
    "JsonlSink",
    "LoggingSink",
    "MonitorCsvSink",
    "RecordEpisodeStatistics",
    "RecordReplay",
    "RecordVideo",
    "Run",
    "VideoSaved",
    "__version__",
    "capped_cubic_video_schedule",
    "read_episodes",
    "trackers",
]

if TYPE_CHECKING:
    from agentreel import trackers
    from agentreel._version import __version__
    from agentreel.base.triggers import capped_cubic_video_schedule
    from agentreel.core.records import EpisodeRecord, VideoSaved
    from agentreel.log import JsonlSink, LoggingSink, MonitorCsvSink, read_episodes
    from agentreel.report.run import Run
    from agentreel.wrappers.recording import RecordVideo
    from agentreel.wrappers.statistics import RecordEpisodeStatistics


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentreel' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"agentreel.{name}" else getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
