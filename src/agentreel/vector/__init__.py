"""Drop-in replacements for ``gymnasium.wrappers.vector``'s recording wrappers."""

from __future__ import annotations

from agentreel.replay.vector import VectorRecordReplay as RecordReplay
from agentreel.vector.recording import RecordVideo
from agentreel.vector.statistics import RecordEpisodeStatistics

__all__: list[str] = ["RecordEpisodeStatistics", "RecordReplay", "RecordVideo"]
