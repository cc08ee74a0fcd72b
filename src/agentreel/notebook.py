"""Compatibility: ``agentreel.notebook`` is now :mod:`agentreel.report.notebook` (same objects)."""

from agentreel.report.notebook import (
    EMBED_LIMIT,
    VideoFile,
    run_html,
    show_video,
    video_html,
    video_src,
)

__all__ = [
    "EMBED_LIMIT",
    "VideoFile",
    "run_html",
    "show_video",
    "video_html",
    "video_src",
]
