"""agentreel: record reinforcement-learning agents.

Drop-in replacements for Gymnasium's recording wrappers::

    from agentreel import RecordEpisodeStatistics, RecordVideo
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo
"""

from __future__ import annotations

from agentreel.log import JsonlSink, MonitorCsvSink, read_episodes
from agentreel.records import EpisodeRecord
from agentreel.statistics import RecordEpisodeStatistics

__version__ = "0.1.0"

__all__ = [
    "EpisodeRecord",
    "JsonlSink",
    "MonitorCsvSink",
    "RecordEpisodeStatistics",
    "__version__",
    "read_episodes",
]
