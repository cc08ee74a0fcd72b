"""TensorBoard: per-episode scalars and videos as animated GIF image summaries.

Written with TensorBoard's own event-file writer and summary protos (``pip install
"agentreel[tensorboard]"``; no torch, no TensorFlow, no moviepy). Each saved video is
decoded, subsampled and scaled, encoded as an animated GIF by agentreel
(:func:`agentreel.trackers.gif.video_to_gif`) and stored as an image summary, which
TensorBoard's *Images* tab plays.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordEpisodeStatistics, RecordVideo
    >>> logdir, videos = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> tb = TensorBoardTracker(logdir)
    >>> env = gym.make("CartPole-v1", render_mode="rgb_array")
    >>> env = RecordVideo(env, videos, episode_trigger=lambda i: i == 0, on_video_saved=tb)
    >>> env = RecordEpisodeStatistics(env, log=tb)
    >>> for _ in range(2):
    ...     _ = env.reset(seed=0); done = False
    ...     while not done:
    ...         _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    ...         done = terminated or truncated
    >>> env.close(); tb.close()
    >>> tb.episodes, tb.videos
    (2, 1)
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import time
import warnings
from collections.abc import Callable

from agentreel.base.extras import require
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.trackers.base import Tracker
from agentreel.trackers.gif import video_to_gif

__all__ = ["TensorBoardTracker"]

logger = logging.getLogger("agentreel")


class TensorBoardTracker(Tracker):
    """Write episodes and videos to a TensorBoard log directory.

    Args:
        logdir: the run's log directory (``tensorboard --logdir`` its parent).
        prefix: scalar names ``{prefix}/return``, ``{prefix}/length``, ...
        video_tag: the image summary's tag (``{video_tag}/env-{i}`` for per-env videos).
        max_frames, max_size: GIF frames kept (evenly spaced) and longer side in pixels.
        step: ``step(record) -> int`` for the scalars' x-axis (default: episode count).
            Videos are placed at their episode id.
        flush_secs: how often the event file is flushed in the background.

    GIFs are made on one background thread, so a saved video costs the agent's loop
    nothing; :meth:`close` waits for them.
    """

    def __init__(self, logdir: str | os.PathLike[str], *, prefix: str = "episode",
                 video_tag: str = "video", max_frames: int = 64, max_size: int = 160,
                 step: Callable[[EpisodeRecord], int] | None = None,
                 flush_secs: float = 10.0) -> None:
        writer_mod = require("tensorboard.summary.writer.event_file_writer", "tensorboard")
        self._summary_pb2 = require("tensorboard.compat.proto.summary_pb2", "tensorboard")
        self._event_pb2 = require("tensorboard.compat.proto.event_pb2", "tensorboard")
        super().__init__(prefix=prefix, step=step)
        self.logdir = os.path.abspath(os.fspath(logdir))
        os.makedirs(self.logdir, exist_ok=True)
        self.video_tag = video_tag
        self.max_frames = max_frames
        self.max_size = max_size
        self.writer = writer_mod.EventFileWriter(self.logdir, flush_secs=flush_secs)
        self._gifs = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentreel-gif")
        self._jobs: list[concurrent.futures.Future] = []

    def log_scalars(self, scalars: dict[str, float], step: int, record: EpisodeRecord) -> None:
        summary = self._summary_pb2.Summary
        values = [summary.Value(tag=tag, simple_value=value) for tag, value in scalars.items()]
        event = self._event_pb2.Event(wall_time=record.end_time, step=step,
                                      summary=summary(value=values))
        self.writer.add_event(event)

    def log_video(self, video: VideoSaved) -> None:
        self._jobs = [job for job in self._jobs if not job.done()]
        self._jobs.append(self._gifs.submit(self._write_gif, video, time.time()))

    def _write_gif(self, video: VideoSaved, wall_time: float) -> None:
        try:
            gif = video_to_gif(video.path, max_frames=self.max_frames, max_size=self.max_size)
        except Exception as exc:  # e.g. the file was evicted by a keep rule meanwhile
            message = f"agentreel: TensorBoard GIF of {video.path} failed: {exc}"
            logger.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=1)
            return
        summary = self._summary_pb2.Summary
        image = summary.Image(height=gif.height, width=gif.width, colorspace=3,
                              encoded_image_string=gif.data)
        tag = self.video_tag if video.env_index is None else f"{self.video_tag}/env-{video.env_index}"
        event = self._event_pb2.Event(wall_time=wall_time, step=self.video_step(video),
                                      summary=summary(value=[summary.Value(tag=tag, image=image)]))
        self.writer.add_event(event)

    def flush(self) -> None:
        """Wait for pending GIFs and write everything to disk."""
        if self.closed:
            return
        for job in list(self._jobs):
            job.result()
        self.writer.flush()

    def _close(self) -> None:
        self._gifs.shutdown(wait=True)
        self.writer.close()

    def __repr__(self) -> str:
        return f"TensorBoardTracker({self.logdir!r})"
