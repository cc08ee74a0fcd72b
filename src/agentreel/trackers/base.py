"""What every tracker shares: a sink for finished episodes plus a ``VideoSaved`` hook.

A tracker is used in two places at once::

    tracker = SomeTracker(...)
    env = RecordVideo(env, "videos", on_video_saved=tracker)   # videos
    env = RecordEpisodeStatistics(env, log=tracker)            # per-episode scalars
    ...
    env.close(); tracker.close()

or both at once with :func:`agentreel.trackers.attach`.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable
from numbers import Real
from typing import Any

from agentreel.core.records import EpisodeRecord, VideoSaved

__all__ = ["Tracker", "episode_scalars"]

logger = logging.getLogger("agentreel")


def episode_scalars(record: EpisodeRecord, prefix: str = "episode") -> dict[str, float]:
    """The numbers of a finished episode: return, length, duration and numeric extras.

    >>> episode_scalars(EpisodeRecord(index=3, episode_return=2.5, length=4, duration=0.25,
    ...                               extras={"is_success": True, "note": "x"}))
    {'episode/return': 2.5, 'episode/length': 4.0, 'episode/duration': 0.25, 'episode/is_success': 1.0}
    """
    values: dict[str, float] = {
        f"{prefix}/return": float(record.episode_return),
        f"{prefix}/length": float(record.length),
        f"{prefix}/duration": float(record.duration),
    }
    for key, value in record.extras.items():
        if hasattr(value, "item") and getattr(value, "size", 1) == 1:
            value = value.item()
        if isinstance(value, (bool, Real)) and math.isfinite(float(value)):
            values[f"{prefix}/{key}"] = float(value)
    return values


class Tracker:
    """Base class: ``write(record)``/``close()`` (a sink) and ``tracker(video)`` (a hook).

    Subclasses implement :meth:`log_scalars`, :meth:`log_video` and :meth:`_close`.

    Args:
        prefix: the scalars are named ``{prefix}/return``, ``{prefix}/length``,
            ``{prefix}/duration`` and ``{prefix}/{key}`` for numeric ``extras``.
        step: ``step(record) -> int``, the x-axis value of an episode's scalars;
            default: the number of episodes this tracker has written before it.
    """

    def __init__(self, *, prefix: str = "episode",
                 step: Callable[[EpisodeRecord], int] | None = None) -> None:
        self.prefix = prefix
        self.step = step
        self.episodes = 0
        self.videos = 0
        self.closed = False

    # -- the sink -------------------------------------------------------------------------
    def write(self, record: EpisodeRecord) -> None:
        """Log a finished episode's scalars."""
        if self.closed:
            raise RuntimeError(f"{self!r} is closed")
        step = self.episodes if self.step is None else int(self.step(record))
        self.log_scalars(episode_scalars(record, self.prefix), step, record)
        self.episodes += 1

    def close(self) -> None:
        """Flush and finish (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._close()

    # -- the hook -------------------------------------------------------------------------
    def on_video_saved(self, video: VideoSaved) -> None:
        """Log a finished video (one that failed to be written is skipped)."""
        if video.error is not None or not os.path.exists(video.path):
            return
        if self.closed:
            message = f"agentreel: {self!r} is closed; video {video.path} not logged"
            logger.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            return
        self.log_video(video)
        self.videos += 1

    def __call__(self, video: VideoSaved) -> None:
        """``on_video_saved=tracker`` works: same as :meth:`on_video_saved`."""
        self.on_video_saved(video)

    # -- for subclasses -------------------------------------------------------------------
    def log_scalars(self, scalars: dict[str, float], step: int, record: EpisodeRecord) -> None:
        raise NotImplementedError

    def log_video(self, video: VideoSaved) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release resources (called once)."""

    @staticmethod
    def video_step(video: VideoSaved) -> int:
        """The step of a video: its episode id (the step id for step-triggered clips)."""
        if video.episode_id is not None and video.episode_id >= 0:
            return int(video.episode_id)
        return max(int(video.step_id or 0), 0)

    def __deepcopy__(self, memo: dict[int, Any]) -> Tracker:
        return self  # holds files and connections: share, never copy
