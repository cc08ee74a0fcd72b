"""Compatibility: ``agentreel.timelapse`` is now :mod:`agentreel.report.timelapse` (same objects)."""

from agentreel.report.timelapse import (
    TimelapsePart,
    decode_frames,
    fit_frame,
    make_timelapse,
    part_label,
)

__all__ = [
    "TimelapsePart",
    "decode_frames",
    "fit_frame",
    "make_timelapse",
    "part_label",
]
