"""Compatibility: ``agentreel.statistics`` is now :mod:`agentreel.wrappers.statistics` (same objects)."""

from agentreel.wrappers.statistics import (
    RecordEpisodeStatistics,
    StepBeforeResetError,
)

__all__ = [
    "RecordEpisodeStatistics",
    "StepBeforeResetError",
]
