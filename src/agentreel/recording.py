"""Compatibility: ``agentreel.recording`` is now :mod:`agentreel.wrappers.recording` (same objects)."""

from agentreel.wrappers.recording import (
    RecordVideo,
)

__all__ = [
    "RecordVideo",
]
