"""agentreel: record reinforcement-learning agents.

Drop-in replacements for Gymnasium's recording wrappers::

    from agentreel import RecordEpisodeStatistics, RecordVideo
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo
"""

from __future__ import annotations

from agentreel import trackers  # agentreel.trackers.attach(env, ...)
from agentreel._version import __version__
from agentreel.log import JsonlSink, LoggingSink, MonitorCsvSink, read_episodes
from agentreel.recording import RecordVideo
from agentreel.records import EpisodeRecord, VideoSaved
from agentreel.replay import RecordReplay
from agentreel.report.run import Run
from agentreel.statistics import RecordEpisodeStatistics
from agentreel.triggers import capped_cubic_video_schedule

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
