"""The encoder process's end of its control socket (see :mod:`agentreel.video.worker`).

>>> import socket
>>> ours, theirs = socket.socketpair()
>>> channel = SocketChannel(theirs.detach())
>>> channel.pending()
False
>>> channel.close(); ours.close()
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from agentreel.video.messages import NewRing
from agentreel.video.ring import FrameRing

__all__ = ["SocketChannel"]

#: How often a waiting encoder process checks that the engine's process is alive (s).
_PARENT_CHECK = 1.0


class SocketChannel:
    """The encoder process's end of the control socket (a multiprocessing Connection).

    A :class:`~agentreel.video.messages.NewRing` is followed by the ring's descriptor,
    received here and mapped. EOF, or this process being re-parented (the engine's
    process died while another process holds a copy of the socket), ends the loop.
    """

    def __init__(self, fd: int, parent: int | None = None, wake: int | None = None) -> None:
        from multiprocessing.connection import Connection

        self.conn = Connection(fd)
        self.parent = parent
        self.wake = wake  # readable once PyAV is loaded: pending(timeout) returns then

    def pending(self, timeout: float = 0.0) -> bool:
        from multiprocessing.connection import wait

        try:
            if timeout <= 0 or self.wake is None:
                return bool(self.conn.poll(timeout))
            return self.conn in wait([self.conn, self.wake], timeout)
        except (OSError, EOFError, ValueError):
            return True  # receive() reports it

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
