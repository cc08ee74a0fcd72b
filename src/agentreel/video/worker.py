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
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from agentreel.core.videofiles import write_sidecar
from agentreel.video.encoder import VideoFileWriter
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
    Stop,
)
from agentreel.video.ring import FrameRing

__all__ = ["EncoderServer", "main", "serve"]

Reply = Callable[[Any], None]

#: Finished videos that may wait for a pause between messages; one more and the
#: oldest is completed at once (each holds its ring until it is complete).
_MAX_FINISHING = 2

#: How often a waiting encoder process checks that the engine's process is alive (s).
_PARENT_CHECK = 1.0


class _Open:
    """One recording inside the encoder."""

    __slots__ = ("writer", "ring", "error", "frames", "read")

    def __init__(self) -> None:
        self.writer: VideoFileWriter | None = None
        self.ring: FrameRing | None = None
        self.error: str | None = None
        self.frames = 0  # frames encoded
        self.read = 0  # frames taken out of the ring


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
    >>> server.idle()
    True
    >>> out
    [Done(sid=1, frames=3, error=None)]
    """

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._open: dict[int, _Open] = {}
        self._rings: dict[str, tuple[FrameRing, bool]] = {}  # name -> (ring, mapped here)
        # Finished videos not completed yet: (sid, frame count, sidecar).
        self._finishing: deque[tuple[int, int, str | None]] = deque()

    @property
    def busy(self) -> bool:
        """True while finished videos wait for :meth:`idle` to complete them."""
        return bool(self._finishing)

    def idle(self) -> bool:
        """Complete the oldest finished video; False if there is none.

        Call it when no message is waiting. Completing a video (its last frames,
        the encoder's delayed frames, the final file) takes several milliseconds;
        done between messages rather than when ``finish`` arrives, it never holds
        up the frames of the next video, whose ring the caller is filling.
        """
        if not self._finishing:
            return False
        sid, total, sidecar = self._finishing.popleft()
        try:
            self._frames(sid, total)
            self._finish(sid, sidecar)
        except Exception:  # a bug here must not hang the engine
            traceback.print_exc()
            self._open.pop(sid, None)
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
            if len(self._finishing) > _MAX_FINISHING:
                self.idle()
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
        rec = _Open()
        self._open[sid] = rec
        try:
            rec.ring = self._rings[ring_name][0]
            height, width = rec.ring.shape[0], rec.ring.shape[1]
            rec.writer = VideoFileWriter(
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

    def _frames(self, sid: int, upto: int) -> None:
        """Encode the frames of ``sid`` announced up to (not including) ``upto``."""
        rec = self._open.get(sid)
        if rec is None or rec.ring is None:
            return
        ring = rec.ring
        while rec.read < upto:
            frame = None
            if rec.writer is not None and rec.error is None:
                try:
                    frame = rec.writer.convert(ring.frames[rec.read % ring.slots])
                except Exception as exc:
                    rec.error = _error_text(exc)
                    self._drop_writer(rec)
            # The slot's pixels have been converted: free it before spending
            # time in the encoder.
            rec.read += 1
            ring.consumed = rec.read
            if ring.caller_waiting:
                self._reply(Free(sid))
            if frame is not None and rec.writer is not None:
                try:
                    rec.writer.encode(frame)
                    rec.frames += 1
                except Exception as exc:  # disk full, ...
                    rec.error = _error_text(exc)
                    self._drop_writer(rec)

    def _finish(self, sid: int, sidecar: str | None) -> None:
        rec = self._open.pop(sid, None)
        if rec is None:
            self._reply(Done(sid, 0, "unknown recording (encoder restarted?)"))
            return
        frames, error = rec.frames, rec.error
        if rec.writer is not None and error is None:
            try:
                frames = rec.writer.finish()
                if sidecar is not None:
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
        while self.idle():
            pass
        for sid, rec in self._open.items():
            if rec.ring is not None:
                with contextlib.suppress(Exception):
                    self._frames(sid, rec.ring.written)
            if rec.writer is not None:
                with contextlib.suppress(Exception):
                    rec.writer.close_partial()
            rec.ring = None
        self._open.clear()
        for name in list(self._rings):
            self._let_go(name)


class Channel(Protocol):
    """How :func:`serve` talks to the engine."""

    def pending(self) -> bool:
        """True when a message is waiting."""

    def receive(self) -> Any:
        """The next message (blocking); raises ``EOFError`` once the engine is gone."""

    def reply(self, msg: Any) -> None:
        """Send a message to the engine (dropped if it is gone)."""


def serve(server: EncoderServer, channel: Channel) -> None:
    """The encoder loop: handle messages, complete finished videos between them.

    Returns after :class:`~agentreel.video.messages.Stop`, or once the engine is gone
    (its open videos are then kept as complete ``.partial`` files).
    """
    while True:
        if server.busy and not channel.pending():
            server.idle()
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


class SocketChannel:
    """The encoder process's end of the control socket (a multiprocessing Connection).

    A :class:`~agentreel.video.messages.NewRing` is followed by the ring's descriptor,
    received here and mapped. EOF, or this process being re-parented (the engine's
    process died while another process holds a copy of the socket), ends the loop.
    """

    def __init__(self, fd: int, parent: int | None = None) -> None:
        from multiprocessing.connection import Connection

        self.conn = Connection(fd)
        self.parent = parent

    def pending(self) -> bool:
        return bool(self.conn.poll(0))

    def receive(self) -> Any:
        while not self.conn.poll(_PARENT_CHECK):
            if self.parent is not None and os.getppid() != self.parent:
                raise EOFError("the engine's process died")
        try:
            msg = self.conn.recv()
            if isinstance(msg, NewRing):
                from multiprocessing import reduction

                ring = FrameRing.attach(reduction.recv_handle(self.conn), msg.size, msg.slots,
                                        msg.shape, msg.name)
                msg = msg._replace(ring=ring)
        except OSError as exc:
            raise EOFError(str(exc)) from exc
        return msg

    def reply(self, msg: Any) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(msg)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the encoder process: serve the control connection on ``--fd``."""
    import faulthandler
    import signal

    faulthandler.enable()  # a crash in FFmpeg/PyAV leaves a traceback on stderr

    parser = argparse.ArgumentParser(prog="python -m agentreel.video.worker")
    parser.add_argument("--fd", type=int, required=True, help="inherited control socket fd")
    parser.add_argument("--parent", type=int, help="exit when this process is no longer our parent")
    args = parser.parse_args(argv)
    # Ctrl-C goes to the whole process group; the engine decides when we stop
    # (it finishes its videos at exit), so ignore it here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = SocketChannel(args.fd, args.parent)
    server = EncoderServer(channel.reply)
    channel.reply(Ready(os.getpid()))
    try:
        serve(server, channel)
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
