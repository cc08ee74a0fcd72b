"""Compatibility: ``agentreel.overlay`` is now :mod:`agentreel.clips.overlay` (same objects)."""

from agentreel.clips.overlay import (
    Overlay,
    OverlayFn,
    OverlayState,
    as_overlay,
)

__all__ = [
    "Overlay",
    "OverlayFn",
    "OverlayState",
    "as_overlay",
]
