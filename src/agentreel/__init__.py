"""agentreel: record reinforcement-learning agents.

Drop-in replacements for Gymnasium's recording wrappers::

    from agentreel import RecordEpisodeStatistics, RecordVideo
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo
"""

from __future__ import annotations

from agentreel import trackers  # agentreel.trackers.attach(env, ...)
from agentreel.log import JsonlSink, LoggingSink, MonitorCsvSink, read_episodes
from agentreel.recorder import VideoSaved
from agentreel.recording import RecordVideo
from agentreel.records import EpisodeRecord
from agentreel.replay import RecordReplay
from agentreel.report.folder import Run
from agentreel.statistics import RecordEpisodeStatistics
from agentreel.triggers import capped_cubic_video_schedule

__version__ = "0.1.0"

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
    "capped_cubic_video_schedule",
    "__version__",
    "read_episodes",
    "trackers",
]
