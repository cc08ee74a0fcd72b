"""Compatibility: ``agentreel.records`` is now :mod:`agentreel.core.records` (same objects)."""

from agentreel.core.records import (
    FORMATS,
    MAX_ABS_RETURN,
    EpisodeRecord,
    VideoSaved,
    check_return,
    encodable,
    float_return,
    is_encodable,
    to_plain,
)

__all__ = [
    "EpisodeRecord",
    "FORMATS",
    "MAX_ABS_RETURN",
    "VideoSaved",
    "check_return",
    "encodable",
    "float_return",
    "is_encodable",
    "to_plain",
]
