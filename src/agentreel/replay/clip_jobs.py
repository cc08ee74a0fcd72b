"""Clips of a vector env re-rendered by replay: the jobs and the background process.

The rendering side of ``agentreel.sb3.VecVideoRecorder(..., replay=True)``
(:mod:`agentreel.sb3.clip_replay` builds the jobs). It imports neither
Stable-Baselines3 nor torch, so the replay process starts quickly.

A clip of SB3's ``VecVideoRecorder`` is ``video_length + 1`` consecutive vector steps
of the whole vector env. With ``replay=True`` nothing is rendered while training:
each time the recorder would have captured a frame, its stream
(:class:`agentreel.sb3.clip_replay.ClipReplayStream`) notes,
per sub-env, which logged episode it is in and how many steps into it
(:class:`~agentreel.sb3.replay_logging.SubEnvLogs`). When the clip is finished (and
kept by the ``keep=`` rule, if any) a :class:`ClipJob` goes to one background
process (:class:`agentreel.sb3.clip_replay.ClipReplayEngine`, a
:class:`~agentreel.replay.dispatcher.ReplayEngine`
serving clips), which replays each sub-env over the clip's steps: an episode that
began before the clip is replayed from its reset without rendering until the clip
starts, and at an episode boundary the sub-env goes on with its next logged episode
(the reset frame, as SB3's autoreset shows it). Every step is verified against the log
(:func:`agentreel.replay.replay_frames`); the frames are tiled as ``venv.render()``
tiles them and encoded by agentreel's video engine into the path, tags and sidecar
the live recorder would have used. A clip whose replay diverges is written as no
video; its ``VideoSaved.error`` names the clip, the sub-env and the vector step.

Example (two sub-env episodes logged with RecordReplay, one clip of 3 frames tiled):
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordReplay
    >>> from agentreel.replay import read_replay
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     env = RecordReplay(gym.make("CartPole-v1"), folder, env_index=i)
    ...     _ = env.reset(seed=i)
    ...     while not any(env.step(0)[2:4]): pass
    ...     env.close()
    >>> episodes = read_replay(folder).episodes
    >>> job = ClipJob("clip", 0, [TilePlan(e.env_index, [e], [(0, 0), (0, 1), (0, 2)])
    ...                           for e in episodes], tiled=True)
    >>> caches = {}
    >>> [frame.shape for frame in clip_frames(job, caches)]
    [(800, 600, 3), (800, 600, 3), (800, 600, 3)]
    >>> for cache in caches.values(): cache.close()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from agentreel.base.tiling import tile_frames
from agentreel.replay.log import LoggedEpisode
from agentreel.replay.player import EnvCache, ReplayCancelled, replay_frames
from agentreel.video import SavedVideo, VideoEngine

__all__ = ["BOOTSTRAP", "ClipJob", "ClipReplayError", "TilePlan", "clip_frames", "clip_images",
           "render_clip", "serve", "tile_like_sb3"]

#: The program of the clip replay process.
BOOTSTRAP = """
import sys
from agentreel.replay.clip_jobs import serve
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


def _tile_frames(job: ClipJob, plan: TilePlan, envs: EnvCache) -> Generator[Any, None, None]:
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
        steps = cast("Generator[Any, None, None]", replay_frames(episode, env, render=False))
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


def _grid(count: int) -> tuple[int, int]:
    """SB3's ``tile_images`` grid (``venv.render()``): ``ceil(sqrt(n))`` rows."""
    rows = math.ceil(math.sqrt(count))
    return rows, math.ceil(count / rows)


def tile_like_sb3(images: list[np.ndarray]) -> np.ndarray:
    """The picture SB3's ``tile_images`` makes of ``images`` (what ``venv.render()`` shows)."""
    return tile_frames(images, *_grid(len(images)))


def clip_images(job: ClipJob, caches: dict[int, EnvCache]) -> Iterator[list[Any]]:
    """Per clip frame, each tile's image (its sub-env's ``render()``), replayed and verified.

    ``caches`` holds one :class:`~agentreel.replay.player.EnvCache` per sub-env (filled
    as needed; reuse it across clips, close its caches when done).
    """
    sources = [_tile_frames(job, plan, caches.setdefault(plan.env_index, EnvCache()))
               for plan in job.tiles]
    try:
        for _ in range(job.frames):
            yield [next(source) for source in sources]
    finally:
        for source in sources:
            source.close()


def clip_frames(job: ClipJob, caches: dict[int, EnvCache]) -> Iterator[np.ndarray]:
    """The clip's frames, as the live recorder captured them (tiled as ``venv.render()``)."""
    for images in clip_images(job, caches):
        yield tile_like_sb3(images) if job.tiled else images[0]


def _tiled_shape(images: list[Any]) -> tuple[int, int, int] | None:
    """The grid's shape when ``images`` can be tiled straight into the frame queue (equal
    uint8 RGB images, even grid: the live recorder's fast path), else ``None``."""
    first = images[0]
    if not all(isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
               and image.shape == first.shape and image.shape[2] == 3 for image in images):
        return None
    rows, cols = _grid(len(images))
    shape = (rows * first.shape[0], cols * first.shape[1], 3)
    return None if shape[0] % 2 or shape[1] % 2 else shape


def render_clip(job: ClipJob, path: str, *, engine: VideoEngine, caches: dict[int, EnvCache],
                fps: float, format: str, quality: int | None, tags: dict[str, Any],
                sidecar: bool, cancelled: Callable[[], bool]) -> SavedVideo:
    """Replay ``job`` into the video ``path`` (nothing is written if a sub-env diverges)."""
    stream = engine.open(path, fps=fps, format=format, quality=quality, tags=tags,
                         sidecar=sidecar)
    try:
        for images in clip_images(job, caches):
            if cancelled():
                raise ReplayCancelled(f"rendering of clip {job.name} was cancelled")
            shape = _tiled_shape(images) if job.tiled else None
            if shape is not None:  # tiled by the encoder: one copy fewer
                stream.add_tiles(images, *_grid(len(images)))
            else:
                stream.add_frame(tile_like_sb3(images) if job.tiled else images[0])
    except BaseException:
        stream.abort()
        raise
    stream.finish()
    return stream.wait()


def serve(fd: int) -> int:
    """The clip replay process: render clip jobs from the connection ``fd`` until it closes."""
    from agentreel.replay.job_loop import serve_jobs

    caches: dict[int, EnvCache] = {}

    def close() -> None:
        for cache in caches.values():
            cache.close()

    return serve_jobs(fd, lambda clip, path, engine, cancelled, options: render_clip(
        clip, path, engine=engine, caches=caches, cancelled=cancelled, **options), close=close)
