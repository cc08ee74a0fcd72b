"""``VecVideoRecorder(..., replay=True)``'s frame source: clips re-rendered by replay.

A clip of SB3's ``VecVideoRecorder`` is ``video_length + 1`` consecutive vector steps
of the whole vector env. With ``replay=True`` nothing is rendered while training:
each time the recorder would have captured a frame, :class:`ClipReplayStream` notes,
per sub-env, which logged episode it is in and how many steps into it
(:class:`~agentreel.sb3.replay_logging.SubEnvLogs`). When the clip is finished (and
kept by the ``keep=`` rule, if any) it goes as a :class:`~agentreel.replay.clip_jobs.ClipJob`
to one background process (:class:`ClipReplayEngine`, a
:class:`~agentreel.replay.dispatcher.ReplayEngine` serving clips), which replays each
sub-env over the clip's steps and encodes the tiled frames
(:mod:`agentreel.replay.clip_jobs`).

Example (the frames of a clip, replayed here rather than in the background process):
    >>> import tempfile
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> from agentreel.replay.clip_jobs import clip_frames
    >>> venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    >>> engine = ClipReplayEngine(SubEnvLogs(venv, tempfile.mkdtemp()))
    >>> stream = engine.open("clip.mp4", fps=50, tags={"name": "clip", "step_id": 0})
    >>> _ = venv.reset(); stream.add_frame(None)
    >>> _ = venv.step([0, 1]); stream.add_frame(None)
    >>> [frame.shape for frame in clip_frames(stream.job(), {})]
    [(800, 600, 3), (800, 600, 3)]
    >>> venv.close()
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from agentreel.replay.clip_jobs import BOOTSTRAP, ClipJob, TilePlan
from agentreel.replay.dispatcher import ReplayEngine, ReplayStream
from agentreel.replay.log import EpisodeBuffer
from agentreel.sb3.replay_logging import SubEnvLogs
from agentreel.video import SavedVideo

__all__ = ["ClipReplayEngine", "ClipReplayStream"]


class ClipReplayStream(ReplayStream):
    """One clip: notes where each sub-env is at every frame; replayed once finished."""

    def __init__(self, engine: ClipReplayEngine, path: str, tiles: list[int], *,
                 fps: float, format: str, quality: int | None, tags: dict[str, Any],
                 on_saved: Callable[[SavedVideo], None] | None, sidecar: bool) -> None:
        super().__init__(engine, path, None, fps=fps, format=format, quality=quality, tags=tags,
                         on_saved=on_saved, sidecar=sidecar)
        self._logs = engine.logs
        self._tiles = tiles
        self._buffers: list[list[EpisodeBuffer]] = [[] for _ in tiles]
        self._positions: list[list[tuple[int, int]]] = [[] for _ in tiles]

    def add_frame(self, frame: Any) -> None:
        """A frame the live recorder would capture now (``frame`` is ignored)."""
        for buffers, positions, index in zip(self._buffers, self._positions, self._tiles,
                                             strict=True):
            buffer, steps = self._logs.position(index)
            if buffer is None:
                positions.append((-1, 0))
                continue
            if not buffers or buffers[-1] is not buffer:
                buffers.append(buffer)
            positions.append((len(buffers) - 1, steps))
        self.frames += 1

    def job(self) -> ClipJob:
        """The clip so far, as a job for the replay process."""
        tags = self.options["tags"]
        plans = [TilePlan(index, [self._logs.logged(index, b) for b in buffers], positions)
                 for index, buffers, positions in zip(self._tiles, self._buffers,
                                                      self._positions, strict=True)]
        return ClipJob(str(tags.get("name", os.path.basename(self.path))),
                       int(tags.get("step_id", 0)), plans, tiled="env_index" not in tags)

    def release(self) -> None:
        """Drop the references to the episodes (once the job is built or the clip dropped)."""
        self._buffers = [[] for _ in self._tiles]

    def abort(self) -> None:
        """Drop the clip: nothing is rendered, no callback."""
        super().abort()
        self.release()

    def finish(self, tags: dict[str, Any] | None = None) -> None:
        """The clip is over (or cut short): replay it into the video, in the background."""
        if self._submitted or self.done:  # (done: rendered, failed or aborted)
            return
        self.options["tags"].update(tags or {})
        if self.frames == 0:
            self._result = SavedVideo(self.path, 0, 0.0, 0, 0, self.options["format"],
                                      error="no frames")
            return
        self._submitted = True
        self._engine._submit(self)


class ClipReplayEngine(ReplayEngine):
    """Stands in for the video engine of ``VecVideoRecorder(..., replay=True)``'s recorders.

    ``open()`` gives a :class:`ClipReplayStream` for all sub-envs tiled, or for sub-env
    ``tags["env_index"]`` alone (``per_env=True``).
    """

    bootstrap = BOOTSTRAP

    def __init__(self, logs: SubEnvLogs) -> None:
        first = logs.wrappers[0].logger
        super().__init__(lambda: None, first.recipe, first.action_space, first.writer.run,
                         lambda: first.first_reset)
        self.logs = logs

    def open(self, path: str | os.PathLike[str], *, fps: float, format: str | None = None,
             quality: int | None = None, tags: dict | None = None,
             on_saved: Callable[[SavedVideo], None] | None = None,
             sidecar: bool = False) -> ClipReplayStream:
        """A stream for a clip starting now."""
        self.poll()
        tags = dict(tags or {})
        tiles = [int(tags["env_index"])] if "env_index" in tags \
            else list(range(len(self.logs.wrappers)))
        return ClipReplayStream(self, os.fspath(path), tiles, fps=fps, format=format or "mp4",
                                quality=quality, tags=tags, on_saved=on_saved, sidecar=sidecar)

    def _submit(self, stream: ReplayStream) -> None:
        if not isinstance(stream, ClipReplayStream):
            raise TypeError(f"{stream.path} is not a clip")
        stream.episode = stream.job()  # type: ignore[assignment]  # the job the process runs
        stream.release()
        self._queued.append(stream)
        self._send_next()
