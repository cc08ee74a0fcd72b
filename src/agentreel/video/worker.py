"""The encoder: a message loop that turns ring frames into video files.

It runs in a dedicated process (``python -m agentreel.video.worker --fd N``, started
by :class:`agentreel.video.VideoEngine`) or in a thread (``backend="thread"``). Both run
:func:`serve`: one loop over an :class:`EncoderServer` and a channel (a socket or two
queues). The messages are in :mod:`agentreel.video.messages`, the frame memory in
:mod:`agentreel.video.ring`.

The engine reuses the ring of a finished video for the next video of the same shape,
so the encoder keeps rings mapped until told to :class:`~agentreel.video.messages.Forget`
them (or it stops). If the engine's process dies (the socket reaches EOF, or this
process is re-parented), every open recording is closed as a complete ``.partial``
file and the process exits; the final names are never written.

Start-up: the encoder process says :class:`~agentreel.video.messages.Started` and takes
frames out of the rings at once, while PyAV loads in a background thread
(:mod:`agentreel.video.preload`, a few hundred ms); frames it cannot encode yet wait in
its backlog, so the caller's first video never waits for that import. The backlog holds
at most :data:`BACKLOG_BYTES` (128 MiB) of frames: past that, frames stay in the rings
and the caller waits as usual (back-pressure). It is encoded once PyAV is loaded, a frame
at a time between messages, and freed as it is encoded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from agentreel.video.messages import (
    Abort,
    Done,
    EncodeSpec,
    Finish,
    Forget,
    Frames,
    Free,
    NewRing,
    Open,
    Ready,
    Started,
    Stop,
)
from agentreel.video.preload import EncoderLoader
from agentreel.video.ring import FrameRing

__all__ = ["EncoderServer", "main", "serve"]

Reply = Callable[[Any], None]

#: Finished videos with frames still in their rings that may wait for a pause between
#: messages; one more and the oldest is completed at once (each holds its ring until it
#: is complete). Finished videos whose frames all went to the backlog do not count:
#: that is bounded by :data:`BACKLOG_BYTES` (so the first clips, finished while PyAV
#: loads, never make the caller wait for a completion).
_MAX_FINISHING = 2

#: Most bytes of frames taken out of the rings and not encoded yet (while PyAV loads,
#: then until the encoder catches up); past it frames wait in the rings.
BACKLOG_BYTES = 128 * 2**20

#: While PyAV loads, the loop also wakes when the import ends; at the latest after (s):
_LOAD_POLL = 1.0


class _Open:
    """One recording inside the encoder."""

    __slots__ = ("sid", "spec", "writer", "ring", "error", "frames", "read", "taken",
                 "announced", "backlog", "tiles")

    def __init__(self, sid: int, spec: EncodeSpec) -> None:
        self.sid = sid
        self.spec: EncodeSpec | None = spec  # until its writer is made
        self.writer: Any = None  # a VideoFileWriter
        self.ring: FrameRing | None = None
        self.error: str | None = None
        self.frames = 0  # frames encoded
        self.read = 0  # frames handled (encoded, or dropped after an error)
        self.taken = 0  # frames taken out of the ring (its slots are free)
        self.announced = 0  # frames the engine said are in the ring
        self.backlog: deque[Any] = deque()  # copies of frames [read, taken)
        self.tiles = spec.tiles  # (rows, cols, count): slots hold packed tiles


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class EncoderServer:
    """Handle engine messages; ``reply`` sends a message back to the engine.

    >>> import tempfile, os
    >>> from agentreel.video.messages import NewRing, Open, EncodeSpec, Frames, Finish
    >>> out = []
    >>> server = EncoderServer(out.append)
    >>> ring = FrameRing.create(2, (4, 4, 3), shared=False)
    >>> server.handle(NewRing(ring.name, ring.size, 2, (4, 4, 3), ring))
    True
    >>> path = os.path.join(tempfile.mkdtemp(), "v.mp4")
    >>> server.handle(Open(1, EncodeSpec(path, 30, "mp4"), ring.name))
    True
    >>> server.handle(Frames(1, 1)) and server.handle(Finish(1, 3))
    True
    >>> out  # finishing waits until no message is waiting:
    []
    >>> while server.idle():  # (a frame at a time, then the file)
    ...     pass
    >>> out
    [Done(sid=1, frames=3, error=None)]
    """

    def __init__(self, reply: Reply, loader: EncoderLoader | None = None,
                 say_ready: bool = False) -> None:
        self._reply = reply
        self._loader = loader if loader is not None else EncoderLoader.now()
        self._say_ready = say_ready  # (the process tells the engine once PyAV is loaded)
        self._loaded = False
        self._backlog_bytes = 0
        self._open: dict[int, _Open] = {}
        self._rings: dict[str, tuple[FrameRing, bool]] = {}  # name -> (ring, mapped here)
        self._grids: dict[tuple, Any] = {}  # shape -> the array packed tiles are laid out in
        # Finished videos not completed yet: (sid, frame count, sidecar).
        self._finishing: deque[tuple[int, int, str | None]] = deque()

    def check_loaded(self) -> bool:
        """True once PyAV is loaded (the first time, the engine is told: ``Ready``).

        Raises the import's error when PyAV could not be loaded.
        """
        if not self._loaded and self._loader.loaded:
            self._loader.get()
            self._loaded = True
            if self._say_ready:
                self._reply(Ready(os.getpid(), time.monotonic()))
        return self._loaded

    @property
    def busy(self) -> bool:
        """True while :meth:`idle` has work: backlog frames, finished videos."""
        return self._loaded and (bool(self._finishing) or any(
            rec.read < rec.announced and rec.ring is not None for rec in self._open.values()))

    def idle(self) -> bool:
        """Encode one backlog frame, else complete the oldest finished video; False if
        there is nothing to do (or PyAV is not loaded yet).

        Call it when no message is waiting. Completing a video (its last frames,
        the encoder's delayed frames, the final file) takes several milliseconds;
        done between messages rather than when ``finish`` arrives, it never holds
        up the frames of the next video, whose ring the caller is filling.
        """
        if not self.check_loaded():
            return False
        if self._finishing:  # oldest first: a frame at a time, then its file
            rec = self._open.get(self._finishing[0][0])
            if rec is not None and rec.ring is not None and rec.read < self._finishing[0][1]:
                self._encode(rec, rec.read + 1)
                return True
            return self._complete_oldest()
        for rec in self._open.values():
            if rec.read < rec.announced:
                self._encode(rec, rec.read + 1)
                return True
        return False

    def _in_rings(self) -> int:
        """Finished videos with frames not yet taken out of their rings."""
        count = 0
        for sid, total, _ in self._finishing:
            rec = self._open.get(sid)
            count += rec is None or rec.taken < total
        return count

    def _complete_oldest(self) -> bool:
        if not self._finishing:
            return False
        sid, total, sidecar = self._finishing.popleft()
        try:
            rec = self._open.get(sid)
            if rec is not None:
                self._encode(rec, total)
            self._finish(sid, sidecar)
        except Exception:  # a bug here must not hang the engine
            traceback.print_exc()
            self._forget_backlog(self._open.pop(sid, None))
            self._reply(Done(sid, 0, "encoder error: see stderr"))
        return True

    def handle(self, msg: Any) -> bool:
        """Process one message; return False when the server should stop."""
        if isinstance(msg, Frames):
            self._frames(msg.sid, msg.upto)
        elif isinstance(msg, Open):
            self._start(msg.sid, msg.spec, msg.ring)
        elif isinstance(msg, Finish):
            self._finishing.append((msg.sid, msg.total, msg.sidecar))
            rec = self._open.get(msg.sid)
            if rec is not None and rec.ring is not None and self._backlog_bytes:
                rec.announced = max(rec.announced, msg.total)
                self._take(rec)
            if self._in_rings() > _MAX_FINISHING and self.check_loaded():
                self._complete_oldest()
        elif isinstance(msg, Abort):
            self._abort(msg.sid)
        elif isinstance(msg, NewRing):
            self._rings[msg.name] = (msg.ring, msg.ring.attached)
        elif isinstance(msg, Forget):
            self._let_go(msg.ring)
        elif isinstance(msg, Stop):
            self.close_all()  # (finished videos are completed first)
            return False
        return True

    # -- handlers ------------------------------------------------------------
    def _start(self, sid: int, spec: EncodeSpec, ring_name: str) -> None:
        rec = _Open(sid, spec)
        self._open[sid] = rec
        try:
            rec.ring = self._rings[ring_name][0]
        except KeyError as exc:
            rec.error, rec.spec = _error_text(exc), None
            return
        if self.check_loaded():
            self._writer(rec)

    def _writer(self, rec: _Open) -> Any:
        """The recording's writer, made on first use (PyAV must be loaded: waits for it)."""
        spec, rec.spec = rec.spec, None
        if spec is None or rec.ring is None:
            return rec.writer
        try:
            height, width = rec.ring.shape[0], rec.ring.shape[1]
            rec.writer = self._loader.get()(
                spec.path,
                fps=spec.fps,
                format=spec.format,
                width=width,
                height=height,
                quality=spec.quality,
                **({"preset": spec.preset} if spec.preset else {}),
                x264_params=spec.x264_params,
            )
        except Exception as exc:  # unwritable folder, bad codec options, ...
            rec.error = _error_text(exc)
            self._drop_writer(rec)
        return rec.writer

    def _frames(self, sid: int, upto: int) -> None:
        """Frames of ``sid`` up to (not including) ``upto`` are in its ring: encode them
        now, or (PyAV still loading, or older frames waiting) take them into the backlog."""
        rec = self._open.get(sid)
        if rec is None or rec.ring is None:
            return
        rec.announced = max(rec.announced, upto)
        if self.check_loaded() and not self._backlog_bytes:
            self._encode(rec, upto)
        else:
            self._take(rec)

    def _take(self, rec: _Open) -> None:
        """Copy announced frames out of the ring into the backlog while it has room."""
        ring = rec.ring
        if ring is None:
            return
        size = ring.nbytes // ring.slots
        while rec.taken < rec.announced and self._backlog_bytes + size <= BACKLOG_BYTES:
            rec.backlog.append(ring.copy_slot(rec.taken % ring.slots))
            self._backlog_bytes += size
            rec.taken += 1
            ring.consumed = rec.taken
            if ring.caller_waiting:
                self._reply(Free(rec.sid))

    def _forget_backlog(self, rec: _Open | None) -> None:
        if rec is not None:
            self._backlog_bytes -= sum(len(frame) for frame in rec.backlog)
            rec.backlog.clear()

    def _encode(self, rec: _Open, upto: int) -> None:
        """Encode the frames of ``rec`` up to (not including) ``upto``: backlog first."""
        ring = rec.ring
        if ring is None:
            return
        rec.announced = max(rec.announced, upto)
        writer = self._writer(rec)
        while rec.read < upto:
            backlogged = bool(rec.backlog)
            if backlogged:
                import numpy as np  # (loaded with PyAV)

                copy = rec.backlog.popleft()
                self._backlog_bytes -= len(copy)
                pixels = np.frombuffer(copy, np.uint8).reshape(ring.shape)
            else:
                pixels = ring.frames[rec.read % ring.slots]
            if rec.tiles is not None:
                pixels = self._grid_of(pixels, rec.tiles)
            frame = None
            if writer is not None and rec.error is None:
                try:
                    frame = writer.convert(pixels)
                except Exception as exc:
                    rec.error = _error_text(exc)
                    self._drop_writer(rec)
                    writer = None
            rec.read += 1
            if backlogged:
                self._take(rec)  # room again: free a ring slot
            else:
                # The slot's pixels have been converted: free it before spending
                # time in the encoder.
                rec.taken = rec.read
                ring.consumed = rec.read
                if ring.caller_waiting:
                    self._reply(Free(rec.sid))
            if frame is not None and rec.writer is not None:
                try:
                    rec.writer.encode(frame)
                    rec.frames += 1
                except Exception as exc:  # disk full, ...
                    rec.error = _error_text(exc)
                    self._drop_writer(rec)

    def _grid_of(self, packed: Any, tiles: tuple[int, int, int]) -> Any:
        """The grid picture of a slot of packed tiles (in an array reused per shape)."""
        from agentreel.base.tiling import unpack_tiles_into  # (numpy is loaded with PyAV)

        grid = self._grids.get(packed.shape)
        if grid is None:
            import numpy as np

            grid = self._grids[packed.shape] = np.empty(packed.shape, np.uint8)
        unpack_tiles_into(grid, packed, *tiles)
        return grid

    def _finish(self, sid: int, sidecar: str | None) -> None:
        rec = self._open.pop(sid, None)
        if rec is None:
            self._reply(Done(sid, 0, "unknown recording (encoder restarted?)"))
            return
        self._writer(rec)
        self._forget_backlog(rec)
        frames, error = rec.frames, rec.error
        if rec.writer is not None and error is None:
            try:
                frames = rec.writer.finish()
                if sidecar is not None:
                    from agentreel.core.videofiles import write_sidecar

                    write_sidecar(rec.writer.path, sidecar)
            except Exception as exc:
                error = _error_text(exc)
                with contextlib.suppress(Exception):
                    rec.writer.abort()
                with contextlib.suppress(FileNotFoundError):
                    os.remove(rec.writer.path)
        rec.ring = None
        self._reply(Done(sid, frames, error))

    def _abort(self, sid: int) -> None:
        rec = self._open.pop(sid, None)
        if rec is not None:
            self._forget_backlog(rec)
            self._drop_writer(rec)
            rec.ring = None
        self._reply(Done(sid, 0, None))

    def _let_go(self, name: str) -> None:
        ring, mapped_here = self._rings.pop(name, (None, False))
        if ring is not None and mapped_here:
            ring.close()

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _drop_writer(rec: _Open) -> None:
        if rec.writer is not None:
            with contextlib.suppress(Exception):
                rec.writer.abort()
            rec.writer = None

    def close_all(self) -> None:
        """Complete finished videos, close open ones as complete ``.partial`` files.

        This is what happens when the engine is gone. Frames the engine copied
        into a ring but had not announced yet are encoded first (the ring's
        header counts them).
        """
        self._loader.get()  # (waits for PyAV)
        self.check_loaded()
        while self.idle():
            pass
        for rec in self._open.values():
            if rec.ring is not None:
                with contextlib.suppress(Exception):
                    self._encode(rec, rec.ring.written)
            if rec.writer is not None:
                with contextlib.suppress(Exception):
                    rec.writer.close_partial()
            rec.ring = None
        self._open.clear()
        for name in list(self._rings):
            self._let_go(name)


class Channel(Protocol):
    """How :func:`serve` talks to the engine."""

    def pending(self, timeout: float = 0.0) -> bool:
        """True when a message is waiting (or arrives within ``timeout`` s)."""

    def receive(self) -> Any:
        """The next message (blocking); raises ``EOFError`` once the engine is gone."""

    def reply(self, msg: Any) -> None:
        """Send a message to the engine (dropped if it is gone)."""


def serve(server: EncoderServer, channel: Channel) -> None:
    """The encoder loop: handle messages, complete finished videos between them.

    Returns after :class:`~agentreel.video.messages.Stop`, or once the engine is gone
    (its open videos are then kept as complete ``.partial`` files). Raises when PyAV
    cannot be loaded.
    """
    while True:
        loaded = server.check_loaded()
        if server.busy and not channel.pending():
            server.idle()
            continue
        if not loaded and not channel.pending(_LOAD_POLL):
            continue
        try:
            msg = channel.receive()
        except EOFError:
            server.close_all()  # the engine died: complete finished videos, keep partials
            return
        try:
            if not server.handle(msg):
                return
        except Exception:  # a bug in the server must not hang the engine
            traceback.print_exc()
            if isinstance(msg, (Finish, Abort)):
                channel.reply(Done(msg.sid, 0, "encoder error: see stderr"))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the encoder process: serve the control connection on ``--fd``."""
    import faulthandler
    import signal

    faulthandler.enable()  # a crash in FFmpeg/PyAV leaves a traceback on stderr
    wake_read, wake_write = os.pipe()
    # Meanwhile frames go to the backlog; the loop wakes when PyAV is loaded.
    loader = EncoderLoader.in_background(lambda: os.write(wake_write, b"!"))

    parser = argparse.ArgumentParser(prog="python -m agentreel.video.worker")
    parser.add_argument("--fd", type=int, required=True, help="inherited control socket fd")
    parser.add_argument("--parent", type=int, help="exit when this process is no longer our parent")
    args = parser.parse_args(argv)
    # Ctrl-C goes to the whole process group; the engine decides when we stop
    # (it finishes its videos at exit), so ignore it here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from agentreel.video.socket_channel import SocketChannel

    channel = SocketChannel(args.fd, args.parent, wake_read)
    server = EncoderServer(channel.reply, loader, say_ready=True)
    channel.reply(Started(os.getpid(), time.monotonic()))
    try:
        serve(server, channel)
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
