"""The video engine: streams frames off the caller's thread into video files.

Frames are validated on the caller's thread, copied into a small ring per open video
(:mod:`~agentreel.video.ring`) and announced to the encoder in batches of tiny messages
(:mod:`~agentreel.video.messages`); the encoder, a reused background process or a thread
(:mod:`~agentreel.video.transport`), frees slots through a counter in the ring, converts
RGB→yuv420p, encodes and writes the file atomically. The caller waits only when a
video's ring is full (back-pressure, in :attr:`VideoEngine.stats`).

Start-up: :meth:`VideoEngine.start` spawns the encoder when a wrapper is built; it takes
frames out of the rings before it imports PyAV (:mod:`~agentreel.video.worker`). Memory
bound while it starts: a start-up ring of at most 64 MiB (256 frames) per video opened
before the encoder is ready, plus the encoder's backlog of at most 128 MiB
(``worker.BACKLOG_BYTES``); past both the caller waits as usual.

    >>> import numpy as np, os, tempfile
    >>> engine = VideoEngine()
    >>> stream = engine.open(os.path.join(tempfile.mkdtemp(), "clip.mp4"), fps=30)
    >>> for _ in range(10):
    ...     stream.add_frame(np.zeros((64, 64, 3), np.uint8))
    >>> stream.finish()
    >>> stream.wait().frames
    10
    >>> engine.close()

Promises (tested, RELIABILITY.md): ``on_saved`` runs on the thread that recorded its
video; a forked child never touches its parent's encoder, rings or videos; Ctrl-C at
any instant leaves no video waiting forever; no call waits longer than
``stall_timeout`` for an encoder that makes no progress (it warns, abandons that
encoder's videos and starts a fresh one).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable

from agentreel.video.callbacks import Callbacks
from agentreel.video.frame_path import FramePath
from agentreel.video.interrupts import deferred_interrupts
from agentreel.video.lifecycle import track
from agentreel.video.link import EncoderLink, loudly, stall_timeout_from
from agentreel.video.messages import Abort, Done, Finish, Forget
from agentreel.video.presets import PresetPolicy
from agentreel.video.ring import RingPool
from agentreel.video.spec import check_video_args
from agentreel.video.stream import EngineStats, SavedVideo, VideoStream
from agentreel.video.transport import EncoderGone, Transport

__all__ = ["EngineStats", "SavedVideo", "VideoEngine", "VideoStream", "default_engine"]

#: How often blocking waits wake up to check on the encoder (s).
_POLL_INTERVAL = 0.05

class VideoEngine(FramePath):
    """Encode videos in the background; one engine serves any number of videos.

    Args:
        backend: ``"process"`` (default: a reused encoder process fed through shared
            memory; falls back to ``"thread"`` with a warning if it cannot start) or
            ``"thread"`` (encoder thread in this process; slower when the caller keeps
            the GIL busy).
        queue_frames: frames buffered per open video before ``add_frame`` blocks
            (memory ≈ ``queue_frames × H × W × 3`` bytes per video).
        preset: x264 preset for MP4, or ``"auto"`` (default, see
            :mod:`agentreel.video.presets`).
        adapt_preset: ``False`` keeps ``"auto"`` at the level it starts at, whatever the
            caller waited (for background renderers: their waits slow no agent).
        stall_timeout: the longest any call waits for an encoder that makes no progress
            (default 10 s, or ``AGENTREEL_ENCODER_TIMEOUT``). It warns after half of it;
            past it the videos that encoder holds fail (``SavedVideo.error``) and a
            fresh encoder records the next ones.

    >>> engine = VideoEngine(backend="thread", queue_frames=4)
    >>> engine.stats.frames
    0
    >>> engine.close()
    """

    def __init__(self, *, backend: str = "process", queue_frames: int = 8,
                 preset: str = "auto", stall_timeout: float | None = None,
                 adapt_preset: bool = True) -> None:
        if backend not in ("process", "thread"):
            raise ValueError(f"backend must be 'process' or 'thread', got {backend!r}")
        if isinstance(queue_frames, bool) or not isinstance(queue_frames, int) or queue_frames < 1:
            raise ValueError(f"queue_frames must be an int >= 1, got {queue_frames!r}")
        self._presets = PresetPolicy(preset, adaptive=adapt_preset)
        if sys.platform == "win32":
            backend = "thread"  # inherited descriptors (pass_fds) are POSIX-only
        self._link = EncoderLink(backend, stall_timeout_from(stall_timeout), self._on_done,
                                 self._on_lost, self._frames_read)
        self._queue_frames = queue_frames
        self._announce_every = max(1, queue_frames // 2)  # frames per "frames" message
        self._lock = threading.RLock()
        self._sids = itertools.count(1)
        self._streams: dict[int, VideoStream] = {}
        self._pool = RingPool()
        self._callbacks = Callbacks()
        self._frames = 0
        self._wait = 0.0
        self._max_wait = 0.0
        track(self)  # closed at exit; forgets its parent after fork

    # -- public --------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend in use (``"thread"`` after a fallback)."""
        return self._link.backend

    @property
    def stats(self) -> EngineStats:
        """Frames accepted and time ``add_frame`` spent blocked on a full queue."""
        return EngineStats(self._frames, self._wait, self._max_wait)

    @property
    def encoder_pid(self) -> int | None:
        """The encoder process's id (None before it starts, and for threads)."""
        transport = self._link.transport
        return transport.pid if transport is not None else None

    @property
    def stall_timeout(self) -> float:
        """The longest wait (s) for an encoder that makes no progress before it is abandoned."""
        return self._link.stall_timeout

    @stall_timeout.setter
    def stall_timeout(self, seconds: float) -> None:
        self._link.stall_timeout = stall_timeout_from(seconds)

    @property
    def _transport(self) -> Transport | None:
        return self._link.transport

    def start(self) -> None:
        """Start the encoder now, in the background (otherwise it starts at the first
        :meth:`open`); wrappers call this when they are built."""
        with self._lock:
            self._link.ensure()

    def open(self, path: str | os.PathLike, *, fps: float, format: str | None = None,
             quality: int | None = None, tags: dict | None = None,
             on_saved: Callable[[SavedVideo], None] | None = None,
             sidecar: bool = False) -> VideoStream:
        """Start a video at ``path``; nothing appears under that name until it is complete.

        Args:
            path: final file name; its folder is created if missing.
            fps: frames per second (> 0, finite; e.g. 29.97 is stored as 2997/100).
            format: ``"mp4"``, ``"webm"`` or ``"gif"``; default from the suffix, else mp4.
            quality: CRF (mp4 0–51, default 23; webm 4–63, default 32; gif: ignored).
            tags: anything (ids, ...), returned untouched in :class:`SavedVideo`.
            on_saved: called with the :class:`SavedVideo` when the file is complete
                (or failed), on the thread that recorded the video.
            sidecar: also write ``NAME.json`` next to ``NAME.mp4`` (path, frames,
                fps, width, height, format, tags), atomically.

        Raises:
            ValueError: bad fps, format or quality, or the path is already being recorded.
            OSError: the folder cannot be created or written to.
        """
        path, exact_fps, format, quality = check_video_args(path, fps, format, quality)
        with self._lock:
            if any(other.path == path for other in self._streams.values()):
                raise ValueError(f"{path!r} is already being recorded")
            self._link.ensure()
            stream = VideoStream(self, next(self._sids), path, fps=exact_fps, format=format,
                                 quality=quality, tags=dict(tags or {}), on_saved=on_saved,
                                 sidecar=sidecar)
            self._streams[stream._sid] = stream
            self._link.pump(0)
        self._callbacks.run_mine()
        return stream

    def poll(self) -> None:
        """Run the callbacks of this thread's videos completed so far (never blocks)."""
        with self._lock:
            self._link.pump(0)
        self._callbacks.run_mine()

    def flush(self, timeout: float | None = None) -> None:
        """Block until every finished or aborted video is complete (this thread's callbacks
        run). Videos still open are not waited for.

        Raises:
            TimeoutError: if ``timeout`` seconds pass first.
        """
        try:
            with self._lock:
                self._link.wait_until(lambda: not self._awaiting_done(), _POLL_INTERVAL, timeout)
        finally:
            self._callbacks.run_mine()

    def close(self) -> None:
        """Finish open videos, wait for all of them, stop the encoder. Idempotent.

        The engine can be used again afterwards (a new encoder starts lazily).
        """
        with self._lock:
            for stream in list(self._streams.values()):
                if stream._state == "open":
                    self._finish(stream, None, run_callbacks=False)
            self.flush()
            self._link.stop()
            self._pool.discard_all()
        self._callbacks.run_mine()

    # -- the encoder's reports ----------------------------------------------------------
    def _on_done(self, msg: Done) -> None:
        stream = self._streams.get(msg.sid)
        if stream is not None:
            self._complete(stream, msg.frames, msg.error)

    def _on_lost(self, why: str) -> None:
        """The encoder died or was abandoned: its videos fail, its rings go."""
        self._pool.discard_all()
        for stream in list(self._streams.values()):
            if stream._gen != self._link.generation:
                continue
            lost = f"{why}; the partial file may remain at {stream.path}.partial"
            if stream._state == "open":
                stream._broken = lost
                self._release(stream, reuse=False)
            else:
                self._complete(stream, 0, lost)

    def _frames_read(self) -> int:
        return sum(s._ring.consumed for s in self._streams.values() if s._ring is not None)

    def _finish(self, stream: VideoStream, tags: dict | None, run_callbacks: bool = True) -> None:
        with self._lock, deferred_interrupts():
            if stream._state != "open":
                return
            stream._owner = threading.current_thread()
            stream.tags.update(tags or {})
            if stream._broken is not None:
                self._complete(stream, stream.frames, stream._broken,
                               notify=not stream._inherited)
            elif stream._ring is None:
                stream._state = "finishing"
                self._complete(stream, 0, "no frames", notify=False)
            else:
                if stream.format == "mp4" and stream._started >= self._link.ready_at:
                    # (waits behind the encoder's start-up say nothing about its speed)
                    self._presets.observe(time.perf_counter() - stream._started, stream._wait)
                stream._state = "finishing"
                text = stream.sidecar_text() if stream.sidecar else None
                self._link.send(Finish(stream._sid, stream._written, text))
            self._link.pump(0)
        if run_callbacks:
            self._callbacks.run_mine()

    def _abort(self, stream: VideoStream) -> None:
        with self._lock, deferred_interrupts():
            if stream._state != "open":
                return
            stream._aborted = True
            if stream._ring is not None and stream._broken is None:
                stream._state = "aborting"
                self._link.send(Abort(stream._sid))
            else:
                self._complete(stream, 0, "aborted", notify=False)

    def _wait_for(self, stream: VideoStream, timeout: float | None) -> SavedVideo:
        try:
            with self._lock:
                self._link.wait_until(lambda: stream._result is not None, _POLL_INTERVAL,
                                      timeout)
        except TimeoutError:
            raise TimeoutError(f"{stream.path} not complete after {timeout} s") from None
        finally:
            self._callbacks.run_mine()
        if stream._result is None:  # (cannot happen: a lost encoder fails its videos)
            self._complete(stream, 0, "the encoder was lost")
        return stream._result  # type: ignore[return-value]

    def _complete(self, stream: VideoStream, frames: int, error: str | None,
                  notify: bool = True) -> None:
        self._streams.pop(stream._sid, None)
        # The encoder has let go of the ring (it sent "done"): reuse it.
        self._release(stream, reuse=stream._gen == self._link.generation)
        if stream._aborted and error is None:
            error, notify = "aborted", False
        saved = stream.saved(frames, error)
        stream._result = saved
        stream._state = "done"
        if error is not None and notify:
            loudly(f"agentreel: could not write video {stream.path}: {error}")
        if notify and stream.on_saved is not None:
            self._callbacks.add(stream._owner, stream.on_saved, saved)

    def _release(self, stream: VideoStream, reuse: bool = False) -> None:
        ring, stream._ring = stream._ring, None
        if ring is not None:
            alive = reuse and self._link.transport is not None
            self._pool.give_back(ring, alive and ring.slots == self._queue_frames,
                                 self._forget if alive else None)

    def _forget(self, ring_name: str) -> None:
        """The encoder keeps rings mapped for reuse: tell it to let this one go."""
        with contextlib.suppress(EncoderGone):
            if self._link.transport is not None:
                self._link.transport.send(Forget(ring_name))

    def _forget_parent(self) -> None:
        """In a forked child: everything belongs to the parent. Drop it untouched."""
        self._lock = threading.RLock()
        self._link.disown()
        for stream in self._streams.values():
            stream.orphan("recorded by the parent process (this process is a forked child)")
        self._streams = {}
        self._pool = RingPool()
        self._callbacks.clear()


_default: VideoEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> VideoEngine:
    """The process-wide engine (created on first use, closed at interpreter exit).

    >>> default_engine() is default_engine()
    True
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = VideoEngine()
        return _default


def _new_lock_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)
