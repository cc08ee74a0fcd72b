"""Weights & Biases: per-episode scalars with ``run.log`` and videos as ``wandb.Video``.

No monkeypatching of Gymnasium (``wandb.init(monitor_gym=True)`` patches it): the
tracker receives finished episodes as a sink and finished videos as a hook, and
logs the saved file itself (``wandb.Video(path)``). ``pip install "agentreel[wandb]"``.

Example (offline, so it needs no account or network)::

    import os
    os.environ["WANDB_MODE"] = "offline"
    tracker = WandbTracker(project="cartpole")          # starts a run, finishes it on close
    env = RecordVideo(env, "videos", on_video_saved=tracker)
    env = RecordEpisodeStatistics(env, log=tracker)
    ...
    env.close(); tracker.close()
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from agentreel.base.extras import require
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.trackers.base import Tracker

__all__ = ["WandbTracker"]


class WandbTracker(Tracker):
    """Log episodes and videos to a W&B run.

    Args:
        run: the run to log to; default ``wandb.run`` if one is active, else a new run
            from ``wandb.init(**init_kwargs)`` that :meth:`close` finishes.
        prefix: scalar names ``{prefix}/return``, ``{prefix}/length``, ...; the episode
            count is logged as ``{prefix}/index`` and used as their x-axis
            (``run.define_metric``), so your own ``wandb.log`` steps are not disturbed.
        video_key: the key of the videos (``{video_key}/env-{i}`` for per-env videos),
            plotted against ``{video_key}/episode``.
        step: ``step(record) -> int`` for ``{prefix}/index`` (default: episode count).
        **init_kwargs: passed to ``wandb.init`` when a run is started here.
    """

    def __init__(self, run: Any = None, *, prefix: str = "episode", video_key: str = "video",
                 step: Callable[[EpisodeRecord], int] | None = None, **init_kwargs: Any) -> None:
        self._wandb = require("wandb", "wandb")
        super().__init__(prefix=prefix, step=step)
        self.owns_run = False
        if run is None:
            run = self._wandb.run
        if run is None:
            run = self._wandb.init(**init_kwargs)
            self.owns_run = True
        self.run = run
        self.video_key = video_key
        run.define_metric(f"{prefix}/index")
        run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/index")
        run.define_metric(f"{video_key}/episode")
        run.define_metric(f"{video_key}*", step_metric=f"{video_key}/episode")

    def log_scalars(self, scalars: dict[str, float], step: int, record: EpisodeRecord) -> None:
        self.run.log({**scalars, f"{self.prefix}/index": step})

    def log_video(self, video: VideoSaved) -> None:
        key = self.video_key if video.env_index is None else f"{self.video_key}/env-{video.env_index}"
        caption = os.path.basename(video.path)
        if video.kept:
            caption += f" ({video.kept})"
        media = self._wandb.Video(video.path, caption=caption, format=video.format)
        self.run.log({key: media, f"{self.video_key}/episode": self.video_step(video)})

    def _close(self) -> None:
        if self.owns_run:
            self.run.finish()

    def __repr__(self) -> str:
        return f"WandbTracker(run={getattr(self.run, 'id', None)!r})"
