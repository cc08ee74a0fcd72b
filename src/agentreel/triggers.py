"""Compatibility: ``agentreel.triggers`` is now :mod:`agentreel.base.triggers` (same objects)."""

from agentreel.base.triggers import (
    AllOf,
    AnyOf,
    Schedule,
    at,
    capped_cubic,
    capped_cubic_video_schedule,
    check_schedule,
    check_trigger,
    every,
    fires,
    first,
    logarithmic,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "Schedule",
    "at",
    "capped_cubic",
    "capped_cubic_video_schedule",
    "check_schedule",
    "check_trigger",
    "every",
    "fires",
    "first",
    "logarithmic",
]
