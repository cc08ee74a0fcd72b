"""The encoder: a message loop that turns shared-memory frames into files.

It runs either in a dedicated process (``python -m agentreel.video.worker
--fd N``, started by :class:`agentreel.video.VideoEngine`) or in a thread
(``backend="thread"``); both use :class:`EncoderServer`.

Protocol (small picklable tuples; frames never travel through the pipe):

==========================================  ===================================
engine → encoder                            encoder → engine
==========================================  ===================================
``("ring", name, size)`` + a descriptor       (nothing: the memory is mapped)
``("open", sid, spec, ring, slots, shape)``   ``("ready", pid)`` once at start
``("frames", sid, upto)``                     ``("free", sid)`` only while the
                                              caller waits for a slot
``("finish", sid, total, sidecar_json)``      ``("done", sid, frames, error)``
``("abort", sid)``                            ``("done", sid, 0, None)``
``("forget", ring)``                          (nothing: the ring is unmapped)
``("stop",)``                                 (the process exits)
==========================================  ===================================

Frame ``i`` of a video is in slot ``i % slots`` of its ring. ``frames`` says
that every frame below ``upto`` is in the ring (the engine announces them in
batches, not one by one); the encoder reads them in order and counts them in
the ring's header (``CONSUMED``, see :func:`~agentreel.video.sharedmem.ring_views`),
which the engine reads to reuse slots without any message. Only when the engine
is blocked on a full ring (``CALLER_WAITING`` set) does the encoder wake it.
``finish`` carries the video's frame count: frames not yet announced are
encoded first.

``ring`` names shared memory (process) or is the ring array itself (thread).
On Linux the memory is an anonymous memfd whose descriptor follows the
``("ring", ...)`` message on the socket (see :mod:`agentreel.video.sharedmem`);
elsewhere ``ring`` is a named segment the encoder attaches to. The engine reuses the ring of a finished video for the next video of
the same shape, so the encoder keeps segments mapped until told to ``forget``
them (or it stops). If the control pipe reaches EOF (the parent died), every open
recording is closed as a complete ``.partial`` file and the process exits;
the final names are never written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from agentreel.video.encoder import VideoFileWriter
from agentreel.video.sharedmem import (
    CALLER_WAITING,
    CONSUMED,
    WRITTEN,
    attach_fd,
    attach_name,
    ring_views,
)
from agentreel.videofiles import write_sidecar

__all__ = ["EncoderServer", "main"]

Reply = Callable[[tuple], None]

#: Finished videos that may wait for a pause between messages; one more and the
#: oldest is completed at once (each holds its ring until it is complete).
_MAX_FINISHING = 2


class _Open:
    """One recording inside the encoder."""

    __slots__ = ("writer", "ring", "header", "shm", "error", "frames", "read")

    def __init__(self) -> None:
        self.writer: VideoFileWriter | None = None
        self.ring: np.ndarray | None = None
        self.header: np.ndarray | None = None
        self.shm: Any = None
        self.error: str | None = None
        self.frames = 0  # frames encoded
        self.read = 0  # frames taken out of the ring


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class EncoderServer:
    """Handle engine messages; ``reply`` sends a message back to the engine.

    >>> import numpy as np, tempfile, os
    >>> from agentreel.video.sharedmem import ring_bytes
    >>> out = []
    >>> server = EncoderServer(out.append)
    >>> memory = np.zeros(ring_bytes(2, (4, 4, 3)), np.uint8)  # frames + header
    >>> path = os.path.join(tempfile.mkdtemp(), "v.mp4")
    >>> server.handle(("open", 1, {"path": path, "fps": 30, "format": "mp4"}, memory, 2, (4, 4, 3)))
    True
    >>> server.handle(("frames", 1, 1)) and server.handle(("finish", 1, 3, None))
    True
    >>> out  # finishing waits until no message is waiting:
    []
    >>> server.idle()
    True
    >>> out
    [('done', 1, 3, None)]
    """

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._open: dict[int, _Open] = {}
        self._mapped: dict[str, Any] = {}  # shared-memory segments kept attached for reuse
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
            self._reply(("done", sid, 0, "encoder error: see stderr"))
        return True

    def handle(self, msg: tuple) -> bool:
        """Process one message; return False when the server should stop."""
        kind = msg[0]
        if kind == "frames":
            self._frames(msg[1], msg[2])
        elif kind == "open":
            self._start(*msg[1:])
        elif kind == "finish":
            self._finishing.append((msg[1], msg[2], msg[3]))
            if len(self._finishing) > _MAX_FINISHING:
                self.idle()
        elif kind == "abort":
            self._abort(msg[1])
        elif kind == "ring":
            # Anonymous memory: ``msg`` is followed by its descriptor, which the
            # process loop receives and passes to :meth:`adopt`.
            pass
        elif kind == "forget":
            shm = self._mapped.pop(msg[1], None)
            if shm is not None:
                with contextlib.suppress(Exception):
                    shm.close()
        elif kind == "stop":
            self.close_all()  # (finished videos are completed first)
            return False
        return True

    def adopt(self, name: str, fd: int, size: int) -> None:
        """Map frame memory received as a descriptor, to be named ``name`` in ``open``."""
        self._mapped[name] = attach_fd(fd, size)

    # -- handlers ------------------------------------------------------------
    def _start(self, sid: int, spec: dict, ring: Any, slots: int, shape: tuple) -> None:
        rec = _Open()
        self._open[sid] = rec
        try:
            if isinstance(ring, np.ndarray):  # thread backend: the memory itself
                memory = ring
            else:
                shm = self._mapped.get(ring)
                if shm is None:
                    shm = self._mapped[ring] = attach_name(ring)
                memory = shm.buf
            rec.ring, rec.header = ring_views(memory, slots, shape)
            height, width = shape[0], shape[1]
            rec.writer = VideoFileWriter(
                spec["path"],
                fps=spec["fps"],
                format=spec["format"],
                width=width,
                height=height,
                quality=spec.get("quality"),
                **({"preset": spec["preset"]} if spec.get("preset") else {}),
                x264_params=spec.get("x264_params"),
            )
        except Exception as exc:  # unwritable folder, bad codec options, ...
            rec.error = _error_text(exc)
            self._drop_writer(rec)

    def _frames(self, sid: int, upto: int) -> None:
        """Encode the frames of ``sid`` announced up to (not including) ``upto``."""
        rec = self._open.get(sid)
        if rec is None or rec.ring is None or rec.header is None:
            return
        slots = rec.ring.shape[0]
        while rec.read < upto:
            frame = None
            if rec.writer is not None and rec.error is None:
                try:
                    frame = rec.writer.convert(rec.ring[rec.read % slots])
                except Exception as exc:
                    rec.error = _error_text(exc)
                    self._drop_writer(rec)
            # The slot's pixels have been converted: free it before spending
            # time in the encoder.
            rec.read += 1
            rec.header[CONSUMED] = rec.read
            if rec.header[CALLER_WAITING]:
                self._reply(("free", sid))
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
            self._reply(("done", sid, 0, "unknown recording (encoder restarted?)"))
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
        self._detach(rec)
        self._reply(("done", sid, frames, error))

    def _abort(self, sid: int) -> None:
        rec = self._open.pop(sid, None)
        if rec is not None:
            self._drop_writer(rec)
            self._detach(rec)
        self._reply(("done", sid, 0, None))

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _drop_writer(rec: _Open) -> None:
        if rec.writer is not None:
            with contextlib.suppress(Exception):
                rec.writer.abort()
            rec.writer = None

    @staticmethod
    def _detach(rec: _Open) -> None:
        rec.ring = rec.header = None
        if rec.shm is not None:
            with contextlib.suppress(Exception):
                rec.shm.close()
            rec.shm = None

    def close_all(self) -> None:
        """Complete finished videos, close open ones as complete ``.partial`` files.

        This is what happens when the parent is gone. Frames the engine copied
        into a ring but had not announced yet are encoded first (the ring's
        header counts them).
        """
        while self.idle():
            pass
        for sid, rec in self._open.items():
            if rec.header is not None:
                with contextlib.suppress(Exception):
                    self._frames(sid, int(rec.header[WRITTEN]))
            if rec.writer is not None:
                with contextlib.suppress(Exception):
                    rec.writer.close_partial()
            self._detach(rec)
        self._open.clear()
        for shm in self._mapped.values():
            with contextlib.suppress(Exception):
                shm.close()
        self._mapped.clear()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the encoder process: serve the control connection on ``--fd``."""
    import faulthandler
    import signal
    from multiprocessing.connection import Connection

    faulthandler.enable()  # a crash in FFmpeg/PyAV leaves a traceback on stderr

    parser = argparse.ArgumentParser(prog="python -m agentreel.video.worker")
    parser.add_argument("--fd", type=int, required=True, help="inherited control socket fd")
    args = parser.parse_args(argv)
    # Ctrl-C goes to the whole process group; the parent decides when we stop
    # (it finishes its videos at exit), so ignore it here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(args.fd)

    def reply(msg: tuple) -> None:
        with contextlib.suppress(OSError):
            conn.send(msg)

    server = EncoderServer(reply)
    reply(("ready", os.getpid()))
    try:
        while True:
            try:
                if server.busy and not conn.poll(0):
                    server.idle()
                    continue
                msg = conn.recv()
            except (EOFError, OSError):
                server.close_all()  # parent died: complete finished videos, keep partial files
                return 0
            try:
                if msg and msg[0] == "ring":
                    from multiprocessing import reduction

                    server.adopt(msg[1], reduction.recv_handle(conn), msg[2])
                    continue
                if not server.handle(msg):
                    return 0
            except Exception:  # a bug in the server must not hang the engine
                traceback.print_exc()
                if msg and msg[0] in ("finish", "abort"):
                    reply(("done", msg[1], 0, "encoder error: see stderr"))
    finally:
        with contextlib.suppress(Exception):
            conn.close()


if __name__ == "__main__":
    sys.exit(main())
