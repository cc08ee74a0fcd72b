"""The video engine: streams frames off the caller's thread into video files.

Frames are validated on the caller's thread (:func:`normalize_frame`), copied
into a small shared-memory ring per open video (sized on its first frame,
``queue_frames`` slots; anonymous memfd memory on Linux, see
:mod:`agentreel.video.sharedmem`) and announced to the encoder in batches of
tiny messages; the encoder frees slots through a counter in the ring's memory,
so the caller makes about one system call per ``queue_frames / 2`` frames. The
encoder — by default one reused background *process* (``python -m
agentreel.video.worker``), optionally a thread — converts RGB→yuv420p, encodes
and writes the file atomically. The caller waits only when a video's ring is
full (back-pressure, measured in :attr:`VideoEngine.stats`).

Example::

    >>> import numpy as np, os, tempfile
    >>> engine = VideoEngine()
    >>> stream = engine.open(os.path.join(tempfile.mkdtemp(), "clip.mp4"), fps=30)
    >>> for _ in range(10):
    ...     stream.add_frame(np.zeros((64, 64, 3), np.uint8))
    >>> stream.finish()
    >>> stream.wait().frames
    10
    >>> engine.close()

Completion callbacks (``on_saved``) always run on the thread that calls into
the engine (``open``, ``add_frame``, ``poll``, ``flush``, ``wait``,
``close``), never on a background thread.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from agentreel.records import VideoSaved as SavedVideo  # the one video event type
from agentreel.video.frames import normalize_frame
from agentreel.video.sharedmem import (
    CALLER_WAITING,
    CONSUMED,
    WRITTEN,
    create_shared,
    ring_bytes,
    ring_views,
)
from agentreel.video.spec import (
    AUTO_LADDER,
    FORMATS,
    auto_start_level,
    fps_fraction,
    quality_range,
)
from agentreel.videofiles import check_format, check_fps, prepare_folder, sidecar_json

__all__ = ["EngineStats", "SavedVideo", "VideoEngine", "VideoStream", "default_engine"]

logger = logging.getLogger("agentreel.video")

#: How often blocking waits wake up to check that the encoder is alive (s).
_POLL_INTERVAL = 0.05
#: How often a caller blocked on a full ring re-reads the ring's counter (s),
#: in case the encoder's wake-up message crossed the caller's "waiting" flag.
_SLOT_POLL = 0.002
#: How long ``close()`` lets the encoder process exit before killing it (s).
_STOP_TIMEOUT = 10.0

#: Finished videos' rings kept for reuse, per frame shape, and in bytes overall.
#: A fresh shared-memory ring costs a page fault per 4 KiB on its first use (about
#: 0.2 ms per 600x400 frame, paid on the caller's thread); a reused one does not.
_POOL_PER_SHAPE = 2
_POOL_MAX_BYTES = 64 * 2**20


@dataclass(frozen=True)
class EngineStats:
    """Back-pressure statistics: frames accepted, total and longest wait (s)."""

    frames: int
    wait_seconds: float
    max_wait_seconds: float


class _WorkerDied(Exception):
    pass


# --------------------------------------------------------------------------
# Transports: how messages reach the encoder.
# --------------------------------------------------------------------------
#: How the encoder process starts: like ``python -m agentreel.video.worker``, but
#: without running ``agentreel/__init__.py``, which imports Gymnasium and the
#: wrappers. The encoder needs only ``agentreel.video.{encoder,worker}`` (numpy
#: and PyAV): this keeps ~25 MB of imports out of its memory and ~0.2 s out of
#: its start-up. argv: ``[src_root, "--fd", N]``.
_WORKER_BOOTSTRAP = """\
import os, sys, types
root = sys.argv.pop(1)
for name in ("agentreel", "agentreel.video"):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(root, *name.split("."))]
    sys.modules[name] = module
from agentreel.video.worker import main
sys.exit(main(sys.argv[1:]))
"""


class _ProcessTransport:
    """Encoder in a child process; control over a socketpair, frames in shm."""

    kind = "process"

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        if not hasattr(os, "memfd_create"):
            # Named segments need multiprocessing's resource tracker: start it
            # now (in open()) rather than at the first frame.
            from multiprocessing import resource_tracker

            with contextlib.suppress(Exception):
                resource_tracker.ensure_running()
        ours, theirs = socket.socketpair()
        try:
            env = os.environ.copy()
            # Make sure the child imports this very copy of agentreel.
            src_root = os.path.dirname(
                os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            )
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (src_root, env.get("PYTHONPATH", "")) if p
            )
            cmd = [sys.executable, "-c", _WORKER_BOOTSTRAP, src_root, "--fd", str(theirs.fileno())]
            self.proc = subprocess.Popen(
                cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False

    def send(self, msg: tuple) -> None:
        try:
            self.conn.send(msg)
        except (OSError, EOFError, ValueError) as exc:
            raise _WorkerDied(self._why()) from exc

    def recv(self, timeout: float) -> tuple | None:
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (OSError, EOFError, ValueError) as exc:
            raise _WorkerDied(self._why()) from exc
        if self.proc.poll() is not None:
            raise _WorkerDied(self._why())
        return None

    def _why(self) -> str:
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=1.0)
        return f"encoder process {self.proc.pid} died (exit code {self.proc.returncode})"

    def make_ring(self, slots: int, shape: tuple) -> tuple[Any, np.ndarray, np.ndarray, Any]:
        size = ring_bytes(slots, shape)  # frames + READ_SLACK for FFmpeg's over-reads + header
        block = create_shared(size)
        ring, header = ring_views(block.buf, slots, shape)
        if block.fd is not None:
            # Anonymous memory: hand the encoder its descriptor right after this
            # message (it reads the two together), then let ours go.
            from multiprocessing import reduction

            try:
                self.send(("ring", block.name, size))
                reduction.send_handle(self.conn, block.fd, self.proc.pid)
            except (OSError, ValueError) as exc:
                raise _WorkerDied(self._why()) from exc
            finally:
                block.release_fd()
        return block.name, ring, header, block

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(("stop",))
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.kill()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.proc.kill()
                self.proc.wait(timeout=5.0)


class _ThreadTransport:
    """Encoder in a daemon thread of this process (same messages, no shm)."""

    kind = "thread"

    def __init__(self) -> None:
        from agentreel.video.worker import EncoderServer

        self._in: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self._server = EncoderServer(self._out.put)
        self._thread = threading.Thread(target=self._run, name="agentreel-encoder", daemon=True)
        self._thread.start()
        self.ready = True

    def _run(self) -> None:
        while True:
            if self._server.busy and self._in.empty():
                self._server.idle()
                continue
            msg = self._in.get()
            try:
                if not self._server.handle(msg):
                    return
            except Exception:
                traceback.print_exc()
                if msg[0] in ("finish", "abort"):
                    self._out.put(("done", msg[1], 0, "encoder error: see stderr"))

    def send(self, msg: tuple) -> None:
        if not self._thread.is_alive():
            raise _WorkerDied("encoder thread stopped")
        self._in.put(msg)

    def recv(self, timeout: float) -> tuple | None:
        try:
            if timeout <= 0:
                return self._out.get_nowait()
            return self._out.get(timeout=timeout)
        except queue.Empty:
            if not self._thread.is_alive():
                raise _WorkerDied("encoder thread stopped") from None
            return None

    @staticmethod
    def make_ring(slots: int, shape: tuple) -> tuple[Any, np.ndarray, np.ndarray, Any]:
        memory = np.zeros(ring_bytes(slots, shape), dtype=np.uint8)
        ring, header = ring_views(memory, slots, shape)
        return memory, ring, header, None

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        if self._thread.is_alive():
            self._in.put(("stop",))
            self._thread.join(timeout)

    def kill(self) -> None:
        self.stop(timeout=1.0)


# --------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------
class VideoStream:
    """One video being recorded; get it from :meth:`VideoEngine.open`.

    Attributes:
        path: the final file name.
        frames: frames accepted so far.
        shape: the normalised ``(H, W, 3)`` of the first frame, or None.
    """

    def __init__(
        self,
        engine: VideoEngine,
        sid: int,
        path: str,
        *,
        fps: float,
        format: str,
        quality: int | None,
        tags: dict,
        on_saved: Callable[[SavedVideo], None] | None,
        sidecar: bool,
    ) -> None:
        self._engine = engine
        self._sid = sid
        self.path = path
        self.fps = fps
        self.format = format
        self.quality = quality
        self.tags = tags
        self.on_saved = on_saved
        self.sidecar = sidecar
        self.frames = 0
        self.shape: tuple[int, int, int] | None = None
        self._state = "open"  # open → finishing/aborting → done
        self._gen: int | None = None
        self._ring: np.ndarray | None = None
        self._header: np.ndarray | None = None
        self._shm: Any = None
        self._ref: Any = None
        self._written = 0  # frames copied into the ring
        self._announced = 0  # frames the encoder was told about
        self._broken: str | None = None
        self._aborted = False
        self._wait = 0.0
        self._started = 0.0
        self._result: SavedVideo | None = None

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
        usable. Blocks only while this video's ring is full.

        >>> stream.add_frame(env.render())  # doctest: +SKIP
        """
        if self._state != "open":
            raise RuntimeError(f"add_frame() on a video that was already finished: {self.path}")
        rgb = normalize_frame(frame, expected_shape=self.shape)
        self._engine._add(self, rgb)

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

    def __repr__(self) -> str:
        return f"VideoStream({self.path!r}, frames={self.frames}, state={self._state})"


# --------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------
_X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)


_SUFFIX_FORMATS = {f".{fmt}": fmt for fmt in FORMATS}


class VideoEngine:
    """Encode videos in the background; one engine serves any number of videos.

    Args:
        backend: ``"process"`` (default: a reused encoder process fed through
            shared memory; falls back to ``"thread"`` with a warning if it
            cannot start) or ``"thread"`` (encoder thread in this process;
            slower when the caller keeps the GIL busy).
        queue_frames: frames buffered per open video before ``add_frame``
            blocks (memory ≈ ``queue_frames × H × W × 3`` bytes per video).
        preset: x264 preset for MP4, or ``"auto"`` (default): a step of
            :data:`~agentreel.video.spec.AUTO_LADDER`. With 4 or more usable
            CPUs, start at ``"superfast"`` with macroblock-tree rate control
            on (files of ``"veryfast"``'s size for ~30% less CPU) and, when a
            video made the caller wait for more than 2% of its recording
            time, use the next faster step (files ~1.1x larger, ~25% less
            CPU again) for the following videos; step back after three
            videos without waits. With fewer CPUs the encoder competes with
            the caller's own loop, so the faster step is used throughout.

    >>> engine = VideoEngine(backend="thread", queue_frames=4)
    >>> engine.stats.frames
    0
    >>> engine.close()
    """

    def __init__(
        self, *, backend: str = "process", queue_frames: int = 8, preset: str = "auto"
    ) -> None:
        if backend not in ("process", "thread"):
            raise ValueError(f"backend must be 'process' or 'thread', got {backend!r}")
        if isinstance(queue_frames, bool) or not isinstance(queue_frames, int) or queue_frames < 1:
            raise ValueError(f"queue_frames must be an int >= 1, got {queue_frames!r}")
        if preset != "auto" and preset not in _X264_PRESETS:
            raise ValueError(f"preset must be 'auto' or one of {_X264_PRESETS}, got {preset!r}")
        if sys.platform == "win32" and backend == "process":
            backend = "thread"  # inherited fds (pass_fds) are POSIX-only
        self._backend = backend
        self._queue_frames = queue_frames
        self._preset = preset
        self._auto_floor = auto_start_level(_usable_cpus())
        self._auto_level = self._auto_floor
        self._ready_at = 0.0
        self._calm_streams = 0
        self._lock = threading.RLock()
        self._transport: _ProcessTransport | _ThreadTransport | None = None
        self._generation = 0
        self._sids = itertools.count(1)
        self._streams: dict[int, VideoStream] = {}
        # Rings of completed videos, ready for the next video of the same shape:
        # shape -> [(ref, ring, header, shm)], all of the current transport generation.
        self._pool: dict[tuple, list[tuple[Any, np.ndarray, np.ndarray, Any]]] = {}
        self._callbacks: deque[tuple[Callable[[SavedVideo], None], SavedVideo]] = deque()
        self._startup_failures = 0
        self._frames = 0
        self._wait = 0.0
        self._max_wait = 0.0
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- public --------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend in use (``"thread"`` after a fallback)."""
        return self._backend

    @property
    def stats(self) -> EngineStats:
        """Frames accepted and time ``add_frame`` spent blocked on a full queue."""
        return EngineStats(self._frames, self._wait, self._max_wait)

    def start(self) -> None:
        """Start the encoder now (otherwise it starts at the first :meth:`open`)."""
        with self._lock:
            self._ensure_transport()

    def open(
        self,
        path: str | os.PathLike,
        *,
        fps: float,
        format: str | None = None,
        quality: int | None = None,
        tags: dict | None = None,
        on_saved: Callable[[SavedVideo], None] | None = None,
        sidecar: bool = False,
    ) -> VideoStream:
        """Start a video at ``path``; nothing appears under that name until it is complete.

        Args:
            path: final file name; its folder is created if missing.
            fps: frames per second (> 0, finite; e.g. 29.97 is stored as 2997/100).
            format: ``"mp4"``, ``"webm"`` or ``"gif"``; default from the suffix, else mp4.
            quality: CRF (mp4 0–51, default 23; webm 4–63, default 32; gif: ignored).
            tags: anything (ids, ...), returned untouched in :class:`SavedVideo`.
            on_saved: called with the :class:`SavedVideo` when the file is
                complete (or failed), on the caller's thread.
            sidecar: also write ``NAME.json`` next to ``NAME.mp4`` (path, frames,
                fps, width, height, format, tags), atomically.

        Raises:
            ValueError: bad fps, format or quality, or the path is already being recorded.
            OSError: the folder cannot be created or written to.
        """
        path = os.fspath(path)
        check_fps(fps)
        suffix_format = _SUFFIX_FORMATS.get(os.path.splitext(path)[1].lower())
        if format is None:
            format = suffix_format or "mp4"
        else:
            check_format(format)
            if suffix_format is not None and suffix_format != format:
                raise ValueError(f"format={format!r} does not match the file name {path!r}")
        if quality is not None and format != "gif":
            lo, hi = quality_range(format)
            if isinstance(quality, bool) or not isinstance(quality, int) or not lo <= quality <= hi:
                raise ValueError(f"quality for {format} must be an int in [{lo}, {hi}], got {quality!r}")
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise IsADirectoryError(f"video path is a directory: {path!r}")
        prepare_folder(folder)
        with self._lock:
            for other in self._streams.values():
                if other.path == path:
                    raise ValueError(f"{path!r} is already being recorded")
            self._ensure_transport()
            stream = VideoStream(
                self,
                next(self._sids),
                path,
                fps=fps_fraction(fps) if not isinstance(fps, Fraction) else fps,
                format=format,
                quality=quality if format != "gif" else None,
                tags=dict(tags or {}),
                on_saved=on_saved,
                sidecar=sidecar,
            )
            self._streams[stream._sid] = stream
            self._drain()
        self._run_callbacks()
        return stream

    def poll(self) -> None:
        """Run the callbacks of videos completed so far (never blocks)."""
        with self._lock:
            self._drain()
        self._run_callbacks()

    def flush(self, timeout: float | None = None) -> None:
        """Block until every finished or aborted video is complete and its callback ran.

        Videos still open (not finished) are not waited for.

        Raises:
            TimeoutError: if ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with self._lock:
                while self._awaiting_done():
                    self._pump(_wait_slice(deadline))
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TimeoutError(f"videos not complete after {timeout} s")
        finally:
            self._run_callbacks()

    def close(self) -> None:
        """Finish open videos, wait for all of them, stop the encoder. Idempotent.

        The engine can be used again afterwards (a new encoder starts lazily).
        """
        with self._lock:
            for stream in list(self._streams.values()):
                if stream._state == "open":
                    self._finish(stream, None, run_callbacks=False)
            self.flush()
            transport, self._transport = self._transport, None
            if transport is not None:
                transport.stop()
            self._clear_pool(notify=False)
        self._run_callbacks()

    # -- internals -----------------------------------------------------------
    def _ensure_transport(self) -> _ProcessTransport | _ThreadTransport:
        if self._transport is None:
            if self._backend == "process":
                try:
                    self._transport = _ProcessTransport()
                except Exception as exc:
                    self._fallback(f"could not start the encoder process ({exc!r})")
            if self._transport is None:
                self._transport = _ThreadTransport()
            self._generation += 1
        return self._transport

    def _fallback(self, why: str) -> None:
        self._backend = "thread"
        msg = f"agentreel: {why}; encoding videos in a thread instead (slower)"
        logger.error(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)

    def _send(self, msg: tuple) -> bool:
        try:
            self._ensure_transport().send(msg)
            return True
        except _WorkerDied as exc:
            self._worker_died(str(exc))
            return False

    def _pump(self, timeout: float) -> None:
        """Handle one message (waiting up to ``timeout``), then all that are queued."""
        transport = self._transport
        if transport is None:
            return
        try:
            msg = transport.recv(timeout)
            while msg is not None:
                self._handle(msg)
                msg = transport.recv(0)
        except _WorkerDied as exc:
            self._worker_died(str(exc))

    def _drain(self) -> None:
        self._pump(0)

    def _handle(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "free":
            pass  # a wake-up: the ring's header says which slots are free
        elif kind == "done":
            stream = self._streams.get(msg[1])
            if stream is not None:
                self._complete(stream, msg[2], msg[3])
        elif kind == "ready" and self._transport is not None:
            self._transport.ready = True
            self._ready_at = time.perf_counter()

    def _worker_died(self, why: str) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            # Messages sent before it died ("ready", finished videos) still count.
            with contextlib.suppress(_WorkerDied):
                for _ in range(100_000):
                    msg = transport.recv(0)
                    if msg is None:
                        break
                    if msg[0] == "ready":
                        transport.ready = True
                    elif msg[0] == "done":
                        stream = self._streams.get(msg[1])
                        if stream is not None:
                            self._complete(stream, msg[2], msg[3])
        never_ready = transport is not None and not transport.ready
        if transport is not None:
            transport.kill()
        self._clear_pool(notify=False)
        gen = self._generation
        msg = f"agentreel: {why}"
        logger.error(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
        for stream in list(self._streams.values()):
            if stream._gen != gen:
                continue
            partial = f"; the partial file may remain at {stream.path}.partial"
            if stream._state == "open":
                stream._broken = why + partial
                self._release(stream, reuse=False)
            else:
                self._complete(stream, 0, why + partial)
        if never_ready and transport is not None and transport.kind == "process":
            # An import error or similar (exit code > 0), or two deaths in a row
            # before saying hello: the process backend does not work here.
            self._startup_failures += 1
            code = transport.proc.returncode
            if (code is not None and code > 0) or self._startup_failures >= 2:
                self._fallback("the encoder process exited at start-up")
        elif transport is not None:
            self._startup_failures = 0

    def _add(self, stream: VideoStream, rgb: np.ndarray) -> None:
        with self._lock:
            if stream._state != "open":
                raise RuntimeError(f"add_frame() on a video that was already finished: {stream.path}")
            if stream._broken is None and stream._ring is None:
                self._bind(stream, rgb.shape)
            if stream.shape is None:
                stream.shape = tuple(rgb.shape)  # type: ignore[assignment]
            ring, header = stream._ring, stream._header
            if stream._broken is None and ring is not None and header is not None:
                slots = ring.shape[0]
                if stream._written - int(header[CONSUMED]) >= slots:
                    self._wait_for_slot(stream, header, slots)
                if stream._broken is None:
                    np.copyto(ring[stream._written % slots], rgb)
                    stream._written += 1
                    header[WRITTEN] = stream._written  # for the encoder, if we die
                    if stream._written - stream._announced >= max(1, slots // 2):
                        self._announce(stream)
            stream.frames += 1
            self._frames += 1
        if self._callbacks:
            self._run_callbacks()

    def _announce(self, stream: VideoStream) -> None:
        """Tell the encoder about the frames copied into the ring so far."""
        if stream._written > stream._announced:
            stream._announced = stream._written
            self._send(("frames", stream._sid, stream._written))
        if self._awaiting_done():
            self._drain()  # completed videos' callbacks run soon after, not at the next video

    def _awaiting_done(self) -> bool:
        """True while a finished or aborted video waits for the encoder's "done"."""
        return any(s._state in ("finishing", "aborting") for s in self._streams.values())

    def _wait_for_slot(self, stream: VideoStream, header: np.ndarray, slots: int) -> None:
        """Block (back-pressure) until the encoder has read the oldest frame of the ring."""
        start = time.perf_counter()
        self._announce(stream)
        header[CALLER_WAITING] = 1
        try:
            while stream._broken is None and stream._written - int(header[CONSUMED]) >= slots:
                self._pump(_SLOT_POLL)
        finally:
            if stream._broken is None:
                header[CALLER_WAITING] = 0
        waited = time.perf_counter() - start
        stream._wait += waited
        self._wait += waited
        self._max_wait = max(self._max_wait, waited)

    def _bind(self, stream: VideoStream, shape: tuple) -> None:
        transport = self._ensure_transport()
        slots = self._queue_frames
        pooled = self._pool.get(tuple(shape))
        if pooled:
            ref, ring, header, shm = pooled.pop()
        else:
            ref, ring, header, shm = transport.make_ring(slots, tuple(shape))
        header[:] = 0  # the encoder let go of a pooled ring when it sent "done"
        stream._ring, stream._header, stream._shm, stream._ref = ring, header, shm, ref
        stream._written = stream._announced = 0
        stream._gen = self._generation
        stream._started = time.perf_counter()
        spec = {
            "path": stream.path,
            "fps": stream.fps,
            "format": stream.format,
            "quality": stream.quality,
            "preset": self._current_preset(),
            "x264_params": self._current_x264_params(),
        }
        self._send(("open", stream._sid, spec, ref, slots, tuple(shape)))

    def _finish(self, stream: VideoStream, tags: dict | None, run_callbacks: bool = True) -> None:
        with self._lock:
            if stream._state != "open":
                return
            if tags:
                stream.tags.update(tags)
            if stream._broken is not None:
                self._complete(stream, stream.frames, stream._broken)
            elif stream._ring is None:
                stream._state = "finishing"
                self._complete(stream, 0, "no frames", notify=False)
            else:
                stream._state = "finishing"
                self._adapt_preset(stream)
                text = self._sidecar_text(stream) if stream.sidecar else None
                self._send(("finish", stream._sid, stream._written, text))
            self._drain()
        if run_callbacks:
            self._run_callbacks()

    def _current_preset(self) -> str:
        if self._preset != "auto":
            return self._preset
        return AUTO_LADDER[self._auto_level][0]

    def _current_x264_params(self) -> str | None:
        if self._preset != "auto":
            return None
        return AUTO_LADDER[self._auto_level][1]

    def _adapt_preset(self, stream: VideoStream) -> None:
        """``preset="auto"``: go faster after a video that made the caller wait."""
        if self._preset != "auto" or stream.format != "mp4" or stream._started < self._ready_at:
            return  # (waits behind the encoder's start-up say nothing about its speed)
        elapsed = time.perf_counter() - stream._started
        if elapsed > 0 and stream._wait > 0.02 * elapsed:
            self._auto_level = min(self._auto_level + 1, len(AUTO_LADDER) - 1)
            self._calm_streams = 0
        elif stream._wait == 0.0:
            self._calm_streams += 1
            if self._calm_streams >= 3 and self._auto_level > self._auto_floor:
                self._auto_level -= 1
                self._calm_streams = 0

    def _abort(self, stream: VideoStream) -> None:
        with self._lock:
            if stream._state != "open":
                return
            stream._aborted = True
            if stream._ring is not None and stream._broken is None:
                stream._state = "aborting"
                self._send(("abort", stream._sid))
            else:
                self._complete(stream, 0, "aborted", notify=False)

    def _wait_for(self, stream: VideoStream, timeout: float | None) -> SavedVideo:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with self._lock:
                while stream._result is None:
                    self._pump(_wait_slice(deadline))
                    if (
                        stream._result is None
                        and deadline is not None
                        and time.monotonic() >= deadline
                    ):
                        raise TimeoutError(f"{stream.path} not complete after {timeout} s")
        finally:
            self._run_callbacks()
        return stream._result

    def _complete(
        self, stream: VideoStream, frames: int, error: str | None, notify: bool = True
    ) -> None:
        self._streams.pop(stream._sid, None)
        # The encoder has let go of the ring (it sent "done"): reuse it.
        self._release(stream, reuse=stream._gen == self._generation)
        if stream._aborted and error is None:
            error = "aborted"
            notify = False
        height, width = (stream.shape or (0, 0, 3))[:2]
        saved = SavedVideo(
            path=stream.path,
            frames=int(frames),
            fps=float(stream.fps),
            width=int(width),
            height=int(height),
            format=stream.format,
            tags=stream.tags,
            error=error,
        )
        stream._result = saved
        stream._state = "done"
        if error is not None and notify:
            msg = f"agentreel: could not write video {stream.path}: {error}"
            logger.error(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
        if notify and stream.on_saved is not None:
            self._callbacks.append((stream.on_saved, saved))

    def _release(self, stream: VideoStream, reuse: bool = False) -> None:
        ring, stream._ring = stream._ring, None
        header, stream._header = stream._header, None
        shm, stream._shm = stream._shm, None
        ref, stream._ref = stream._ref, None
        if ring is None:
            return
        if reuse and self._transport is not None and stream.shape is not None:
            pooled = self._pool.setdefault(tuple(ring.shape[1:]), [])
            total = sum(r.nbytes for entries in self._pool.values() for _, r, _, _ in entries)
            if len(pooled) < _POOL_PER_SHAPE and total + ring.nbytes <= _POOL_MAX_BYTES:
                pooled.append((ref, ring, header, shm))
                return
        del ring, header  # views of the memory: drop them so it can be unmapped
        self._discard_ring(ref, shm, notify=reuse)

    def _discard_ring(self, ref: Any, shm: Any, notify: bool) -> None:
        if shm is None:
            return
        if notify and self._transport is not None:
            # The encoder keeps rings mapped for reuse: tell it to let this one go.
            with contextlib.suppress(_WorkerDied):
                self._transport.send(("forget", ref))
        with contextlib.suppress(Exception):
            shm.close()
        with contextlib.suppress(Exception):
            shm.unlink()

    def _clear_pool(self, notify: bool) -> None:
        pool, self._pool = self._pool, {}
        for entries in pool.values():
            for ref, _ring, _header, shm in entries:
                self._discard_ring(ref, shm, notify)

    @staticmethod
    def _sidecar_text(stream: VideoStream) -> str:
        height, width = (stream.shape or (0, 0, 3))[:2]
        return sidecar_json(stream.path, frames=stream.frames, fps=stream.fps, width=width,
                            height=height, format=stream.format, tags=stream.tags)

    def _run_callbacks(self) -> None:
        while self._callbacks:
            try:
                callback, saved = self._callbacks.popleft()
            except IndexError:
                return
            try:
                callback(saved)
            except Exception:
                logger.exception("agentreel: on_saved callback failed for %s", saved.path)
                warnings.warn(
                    f"agentreel: on_saved callback failed for {saved.path}:\n"
                    + traceback.format_exc(),
                    RuntimeWarning,
                    stacklevel=3,
                )


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _wait_slice(deadline: float | None) -> float:
    if deadline is None:
        return _POLL_INTERVAL
    return max(0.0, min(_POLL_INTERVAL, deadline - time.monotonic()))


def _close_at_exit(ref: weakref.ref) -> None:
    engine = ref()
    if engine is not None:
        try:
            engine.close()
        except Exception:
            logger.exception("agentreel: closing the video engine at exit failed")


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
