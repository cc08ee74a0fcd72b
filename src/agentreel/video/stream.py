"""One video being recorded (:class:`VideoStream`) and what the engine reports about it.

Get streams from :meth:`agentreel.video.VideoEngine.open`; the engine does the work.

>>> SavedVideo("v.mp4", 3, 30.0, 64, 48, "mp4").error is None
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentreel.base.tiling import pack_into
from agentreel.core.records import VideoSaved as SavedVideo  # the one video event type
from agentreel.core.videofiles import sidecar_json
from agentreel.video.frames import FrameError, normalize_frame
from agentreel.video.ring import FrameRing

__all__ = ["EngineStats", "SavedVideo", "VideoStream"]


@dataclass(frozen=True)
class EngineStats:
    """Back-pressure statistics: frames accepted, total and longest wait (s)."""

    frames: int
    wait_seconds: float
    max_wait_seconds: float


class VideoStream:
    """One video being recorded; get it from :meth:`VideoEngine.open`.

    Attributes:
        path: the final file name.
        frames: frames accepted so far.
        shape: the normalised ``(H, W, 3)`` of the first frame, or None.
    """

    def __init__(self, engine: Any, sid: int, path: str, *, fps: Any, format: str,
                 quality: int | None, tags: dict,
                 on_saved: Callable[[SavedVideo], None] | None, sidecar: bool) -> None:
        self._engine = engine
        self._sid = sid
        self.path = path
        self.fps = fps
        self.format = format
        self.quality = quality
        self.tags = tags
        self.on_saved = on_saved
        self.sidecar = sidecar
        self.shape: tuple[int, int, int] | None = None
        self._state = "open"  # open → finishing/aborting → done
        self._gen: int | None = None  # the encoder generation it was opened on
        self._ring: FrameRing | None = None
        self._written = 0  # frames copied into the ring
        self._unwritten = 0  # frames accepted while the video had no ring (it broke)
        self._announced = 0  # frames the encoder was told about
        self._broken: str | None = None
        self._aborted = False
        self._inherited = False  # a forked child's copy of its parent's video
        #: ``(rows, cols, count)`` once :meth:`add_tiles` gave the first frame.
        self._tiles: tuple[int, int, int] | None = None
        self._wait = 0.0
        self._started = 0.0
        #: The thread its callback runs on: the one that last opened/finished it.
        self._owner = threading.current_thread()
        self._result: SavedVideo | None = None

    @property
    def frames(self) -> int:
        """Frames accepted so far: those handed to the encoder and those a broken video
        dropped. Counting a frame and handing it over is one store (``_written``), so a
        Ctrl-C can never leave the file one frame longer than its sidecar says."""
        return self._written + self._unwritten

    @property
    def done(self) -> bool:
        """True once the file is complete on disk (or the stream failed/was aborted)."""
        return self._result is not None

    @property
    def result(self) -> SavedVideo | None:
        """The :class:`SavedVideo`, once :attr:`done`."""
        return self._result

    def add_frame(self, frame: Any) -> None:
        """Append one frame (see :func:`normalize_frame` for what is accepted).

        Raises :class:`FrameError` at once for a bad frame; the stream stays
        usable. Blocks only while this video's ring is full (and never longer
        than the engine's ``stall_timeout`` on a stuck encoder).

        >>> stream.add_frame(env.render())  # doctest: +SKIP
        """
        self._takes("add_frame", None)
        rgb = normalize_frame(frame, expected_shape=self.shape)
        self._engine._add(self, rgb)

    def add_frame_into(self, shape: tuple[int, int, int],
                       fill: Callable[[np.ndarray], None]) -> None:
        """Append a frame that ``fill(out)`` writes straight into the frame queue.

        ``out`` is a ``shape`` uint8 array (even H and W) that may hold an older frame:
        ``fill`` must write every pixel. This saves the copy of a frame that is
        assembled anyway (e.g. a grid of tiles); otherwise use :meth:`add_frame`.

        >>> stream.add_frame_into((400, 1200, 3), lambda out: tile_into(out, tiles, 1, 2))  # doctest: +SKIP
        """
        self._takes("add_frame_into", None)
        dims = tuple(int(n) for n in shape)
        if len(dims) != 3 or dims[2] != 3 or dims[0] % 2 or dims[1] % 2 or min(dims) < 1:
            raise ValueError(f"add_frame_into needs an (even H, even W, 3) shape, got {dims}")
        self._check_size(dims)
        self._engine._add(self, None, dims, fill)

    def add_tiles(self, tiles: Sequence[np.ndarray], rows: int, cols: int) -> None:
        """Append the grid of ``tiles`` (equal ``(H, W, 3)`` uint8 arrays, row by row on a
        ``rows x cols`` grid, empty cells black) as one frame.

        Same picture as ``add_frame(tile_frames(tiles, rows, cols))``, but the caller only
        copies each tile once, whole, into the frame queue; the encoder lays out the grid.
        Every frame of the video must come this way, with the same grid and tile count.

        >>> stream.add_tiles(envs.render(), 2, 2)  # doctest: +SKIP
        """
        if not 0 < len(tiles) <= rows * cols:
            raise ValueError(f"{len(tiles)} tiles do not fit a {rows}x{cols} grid")
        self._takes("add_tiles", (int(rows), int(cols), len(tiles)))
        first = tiles[0]
        for index, tile in enumerate(tiles):
            if not isinstance(tile, np.ndarray) or tile.dtype != np.uint8 or tile.ndim != 3 \
                    or tile.shape != first.shape or tile.shape[2] != 3:
                raise FrameError(f"tile {index} is not an (H, W, 3) uint8 array of tile 0's "
                                 f"shape {getattr(first, 'shape', None)}: got "
                                 f"{getattr(tile, 'shape', type(tile).__name__)}")
        shape = (rows * first.shape[0], cols * first.shape[1], 3)
        if shape[0] % 2 or shape[1] % 2:
            raise ValueError(f"a tiled video needs an even height and width, got {shape[:2]}")
        self._check_size(shape)
        self._engine._add(self, None, shape, lambda out: pack_into(out, tiles))

    def _takes(self, method: str, tiles: tuple[int, int, int] | None) -> None:
        """Raise unless the video is open and its frames so far came the same way
        (whole frames: ``tiles`` None; else the same grid of :meth:`add_tiles`)."""
        if self._state != "open":
            raise RuntimeError(f"{method}() on a video that was already finished: {self.path}")
        if self._tiles != tiles:
            if self.frames:
                raise FrameError(f"every frame of a video needs the same grid: this video "
                                 f"started with {_frames_as(self._tiles)}, {method}() gives "
                                 f"{_frames_as(tiles)}")
            self._tiles = tiles

    def _check_size(self, shape: tuple[int, ...]) -> None:
        if self.shape is not None and shape != self.shape:
            raise FrameError(f"frame size changed: this video started with frames of shape "
                             f"{self.shape} but got {shape}")

    def finish(self, tags: dict | None = None) -> None:
        """Request completion without waiting; ``tags`` are merged into the result.

        A stream with no frames writes nothing: its result has
        ``error="no frames"`` and ``on_saved`` is not called. Calling
        ``finish`` again is a no-op.
        """
        self._engine._finish(self, tags)

    def abort(self) -> None:
        """Discard the video: no final file, temporary files removed, no callback."""
        self._engine._abort(self)

    def wait(self, timeout: float | None = None) -> SavedVideo:
        """Block until this video is complete (finishing it first if still open)."""
        if self._state == "open":
            self.finish()
        return self._engine._wait_for(self, timeout)

    def saved(self, frames: int, error: str | None) -> SavedVideo:
        """The report of this stream with ``frames`` frames written (or ``error``)."""
        height, width = (self.shape or (0, 0, 3))[:2]
        return SavedVideo(path=self.path, frames=int(frames), fps=float(self.fps),
                          width=int(width), height=int(height), format=self.format,
                          tags=self.tags, error=error)

    def orphan(self, why: str) -> None:
        """This process is a forked child: the video is the parent's; never touch it."""
        self._inherited = True
        self._ring, self._gen, self._broken = None, None, why
        if self._state != "open":
            self._result, self._state = self.saved(0, why), "done"

    def sidecar_text(self) -> str:
        """The JSON written next to the video (``sidecar=True``)."""
        height, width = (self.shape or (0, 0, 3))[:2]
        return sidecar_json(self.path, frames=self.frames, fps=self.fps, width=width,
                            height=height, format=self.format, tags=self.tags)

    def __repr__(self) -> str:
        return f"VideoStream({self.path!r}, frames={self.frames}, state={self._state})"


def _frames_as(tiles: tuple[int, int, int] | None) -> str:
    """How a video takes its frames, in words (for errors)."""
    if tiles is None:
        return "whole frames"
    rows, cols, count = tiles
    return f"{count} tiles on a {rows}x{cols} grid (add_tiles)"
