"""``VecVideoRecorder(..., replay=True)``'s frame source: clips re-rendered by replay.

A clip of SB3's ``VecVideoRecorder`` is ``video_length + 1`` consecutive vector steps
of the whole vector env. With ``replay=True`` nothing is rendered while training:
each time the recorder would have captured a frame, :class:`ClipReplayStream` notes,
per sub-env, which logged episode it is in and how many steps into it
(:class:`~agentreel.sb3.replay_logging.SubEnvLogs`). When the clip is finished (and
kept by the ``keep=`` rule, if any) a :class:`ClipJob` goes to one background
process (:class:`ClipReplayEngine`, a :class:`~agentreel.replay.dispatcher.ReplayEngine`
serving clips), which replays each sub-env over the clip's steps: an episode that
began before the clip is replayed from its reset without rendering until the clip
starts, and at an episode boundary the sub-env goes on with its next logged episode
(the reset frame, as SB3's autoreset shows it). Every step is verified against the log
(:func:`agentreel.replay.replay_frames`); the frames are tiled as ``venv.render()``
tiles them and encoded by agentreel's video engine into the path, tags and sidecar
the live recorder would have used. A clip whose replay diverges is written as no
video; its ``VideoSaved.error`` names the clip, the sub-env and the vector step.

Example (the frames a clip job yields, without the background process):
    >>> import tempfile
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> from agentreel.sb3.replay_logging import SubEnvLogs
    >>> venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    >>> logs = SubEnvLogs(venv, tempfile.mkdtemp())
    >>> engine = ClipReplayEngine(logs)
    >>> stream = engine.open("clip.mp4", fps=50, tags={"name": "clip", "step_id": 0})
    >>> _ = venv.reset(); stream.add_frame(None)
    >>> _ = venv.step([0, 1]); stream.add_frame(None)
    >>> [frame.shape for frame in clip_frames(stream.job(), {})]
    [(800, 600, 3), (800, 600, 3)]
    >>> venv.close()
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import tile_images

from agentreel.replay.dispatcher import ReplayEngine, ReplayStream
from agentreel.replay.log import EpisodeBuffer, LoggedEpisode
from agentreel.replay.player import EnvCache, ReplayCancelled, replay_frames
from agentreel.sb3.replay_logging import SubEnvLogs
from agentreel.video import SavedVideo, VideoEngine

__all__ = ["ClipJob", "ClipReplayEngine", "ClipReplayError", "ClipReplayStream", "TilePlan",
           "clip_frames", "serve"]

_BOOTSTRAP = """
import sys
from agentreel.sb3.clip_replay import serve
sys.exit(serve(int(sys.argv[1])))
"""


class ClipReplayError(RuntimeError):
    """A clip could not be replayed; the message names the clip, the sub-env and the step."""


@dataclass
class TilePlan:
    """One sub-env's part of a clip: its episodes and, per clip frame, where it was.

    ``positions[f]`` is ``(e, k)``: at frame ``f`` the sub-env had taken ``k`` steps of
    ``episodes[e]`` (``e == -1``: it had no logged episode then).
    """

    env_index: int
    episodes: list[LoggedEpisode] = field(default_factory=list)
    positions: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ClipJob:
    """A clip to replay: its name, first vector step, and one plan per tile."""

    name: str
    start_step: int
    tiles: list[TilePlan]
    tiled: bool

    @property
    def frames(self) -> int:
        """The clip's frame count."""
        return len(self.tiles[0].positions) if self.tiles else 0


def _tile_frames(job: ClipJob, plan: TilePlan, envs: EnvCache) -> Iterator[Any]:
    """Sub-env ``plan.env_index``'s frame for each frame of the clip, replayed and verified."""
    positions, count, first = plan.positions, len(plan.positions), 0
    while first < count:
        index, _ = positions[first]
        if index < 0:
            raise ClipReplayError(
                f"clip {job.name}: sub-env {plan.env_index} had no logged episode at vector step "
                f"{job.start_step + first} (was the env reset before VecVideoRecorder wrapped "
                "it? wrap it first, then reset)")
        end = first
        while end < count and positions[end][0] == index:
            end += 1
        wanted = [positions[f][1] for f in range(first, end)]
        episode = plan.episodes[index]
        step_zero = job.start_step + first - wanted[0]  # the vector step of its reset
        env = envs.get(episode)
        steps = replay_frames(episode, env, render=False)
        served = 0
        try:
            for step, _ in enumerate(steps):
                if served < len(wanted) and wanted[served] == step:
                    frame = env.render()
                    while served < len(wanted) and wanted[served] == step:
                        yield frame
                        served += 1
                if served == len(wanted):
                    break
        except Exception as exc:  # divergence (or an env that cannot be rebuilt)
            at = step_zero + getattr(exc, "step", 0)
            raise ClipReplayError(f"clip {job.name}: sub-env {plan.env_index} did not replay as "
                                  f"logged (vector step {at}): {exc}") from exc
        finally:
            steps.close()
        if served < len(wanted):
            raise ClipReplayError(f"clip {job.name}: {episode.label} has {episode.steps} logged "
                                  f"steps, fewer than the clip shows")
        first = end


def clip_frames(job: ClipJob, caches: dict[int, EnvCache]) -> Iterator[np.ndarray]:
    """The clip's frames, as the live recorder captured them (tiled as ``venv.render()``).

    ``caches`` holds one :class:`~agentreel.replay.player.EnvCache` per sub-env (filled
    as needed; reuse it across clips, close its caches when done).
    """
    sources = [_tile_frames(job, plan, caches.setdefault(plan.env_index, EnvCache()))
               for plan in job.tiles]
    try:
        for _ in range(job.frames):
            images = [next(source) for source in sources]
            yield tile_images(images) if job.tiled else images[0]
    finally:
        for source in sources:
            source.close()


def render_clip(job: ClipJob, path: str, *, engine: VideoEngine, caches: dict[int, EnvCache],
                fps: float, format: str, quality: int | None, tags: dict[str, Any],
                sidecar: bool, cancelled: Callable[[], bool]) -> SavedVideo:
    """Replay ``job`` into the video ``path`` (nothing is written if a sub-env diverges)."""
    stream = engine.open(path, fps=fps, format=format, quality=quality, tags=tags,
                         sidecar=sidecar)
    try:
        for frame in clip_frames(job, caches):
            if cancelled():
                raise ReplayCancelled(f"rendering of clip {job.name} was cancelled")
            stream.add_frame(frame)
    except BaseException:
        stream.abort()
        raise
    stream.finish()
    return stream.wait()


def serve(fd: int) -> int:
    """The clip replay process: render clip jobs from the connection ``fd`` until it closes."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    parent = os.getppid()

    def orphaned() -> bool:  # the agent died: stop at the next frame
        return os.getppid() != parent

    with contextlib.suppress(OSError):
        os.nice(10)  # the training loop comes first
    engine = VideoEngine(backend="thread")
    caches: dict[int, EnvCache] = {}
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return 0
            if job is None:
                return 0
            job_id, clip, path, options = job
            try:
                saved = render_clip(clip, path, engine=engine, caches=caches,
                                    cancelled=orphaned, **options)
            except ReplayCancelled:
                return 0
            except Exception as exc:  # reported on the clip's VideoSaved
                saved = SavedVideo(path=path, frames=0, fps=float(options.get("fps") or 0),
                                   width=0, height=0, format=options.get("format") or "mp4",
                                   tags=options.get("tags", {}),
                                   error=f"{type(exc).__name__}: {exc}")
            try:
                conn.send((job_id, saved))
            except (EOFError, OSError):
                return 0
    finally:
        for cache in caches.values():
            cache.close()
        engine.close()


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

    def finish(self, tags: dict[str, Any] | None = None) -> None:
        """The clip is over (or cut short): replay it into the video, in the background."""
        if self._submitted or self._result is not None:
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

    bootstrap = _BOOTSTRAP

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
        self._queued.append(stream)
        self._send_next()
