"""How the engine reaches its encoder: a child process over a socket, or a thread.

Both transports carry the same :mod:`~agentreel.video.messages`, and on the other end
both run :func:`agentreel.video.worker.serve`. The engine uses ``send``, ``send_ring``,
``poll`` (wait for a message) and ``recv`` (take one without waiting); a dead encoder
raises :class:`EncoderGone`.

>>> transport = ThreadTransport()
>>> transport.send(Stop())
>>> transport.stop()
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from agentreel.video.messages import NewRing, Stop
from agentreel.video.ring import FrameRing

__all__ = ["EncoderGone", "ProcessTransport", "ThreadTransport", "Transport"]

#: How long ``stop()`` lets the encoder process exit before killing it (s).
STOP_TIMEOUT = 10.0


class EncoderGone(Exception):
    """The encoder died (or its thread stopped)."""


class ProcessTransport:
    """The encoder in a child process (``python -m agentreel.video.worker``).

    Control messages go over a socketpair; frames stay in shared rings, whose
    descriptors follow their :class:`~agentreel.video.messages.NewRing` message.
    The child exits when this process dies (EOF, or it is re-parented), whatever
    other processes inherited.
    """

    kind = "process"
    shared = True

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        #: When it was spawned, took frames, could encode (``time.monotonic()``; 0 = not yet).
        self.spawned_at, self.started_at, self.ready_at = time.monotonic(), 0.0, 0.0
        ours, theirs = socket.socketpair()
        try:
            env = os.environ.copy()
            # The child imports this very copy of agentreel.
            src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (src_root, env.get("PYTHONPATH", "")) if p)
            cmd = [sys.executable, "-m", "agentreel.video.worker",
                   "--fd", str(theirs.fileno()), "--parent", str(os.getpid())]
            # Its own session: Ctrl-C in a terminal (SIGINT to the foreground process
            # group) must not kill it while it starts, before it can ignore SIGINT; the
            # engine finishes its videos at exit, then stops it.
            self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),),
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.started = False  # it takes frames (PyAV may still be loading)
        self.ready = False  # it encodes

    @property
    def pid(self) -> int | None:
        """The encoder's process id."""
        return self.proc.pid

    def cpu_ticks(self) -> int:
        """CPU time the encoder has used so far (clock ticks; 0 where /proc is missing).

        Busy but silent work (starting up, completing a long video) is progress too.
        """
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            return 0

    def send(self, msg: Any) -> None:
        try:
            self.conn.send(msg)
        except (OSError, EOFError, ValueError) as exc:
            raise EncoderGone(self._why()) from exc

    def send_ring(self, ring: FrameRing) -> None:
        """Hand a new ring to the encoder (its descriptor follows the message)."""
        from multiprocessing import reduction

        try:
            self.send(NewRing(ring.name, ring.size, ring.slots, ring.shape))
            fd = ring.fd
            if fd is None:  # a new ring holds its descriptor until release_fd()
                raise ValueError("this ring's descriptor was already released")
            reduction.send_handle(self.conn, fd, self.proc.pid)
        except (OSError, ValueError) as exc:
            raise EncoderGone(self._why()) from exc
        finally:
            ring.release_fd()

    def poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a message; True when one is waiting."""
        try:
            if self.conn.poll(timeout):
                return True
        except (OSError, EOFError, ValueError) as exc:
            raise EncoderGone(self._why()) from exc
        if self.proc.poll() is not None:
            raise EncoderGone(self._why())
        return False

    def recv(self) -> Any:
        """The waiting message, or None (never blocks)."""
        try:
            return self.conn.recv() if self.conn.poll(0) else None
        except (OSError, EOFError, ValueError) as exc:
            raise EncoderGone(self._why()) from exc

    def _why(self) -> str:
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=1.0)
        return f"encoder process {self.proc.pid} died (exit code {self.proc.returncode})"

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the encoder to complete its videos and exit; kill it after ``timeout`` s."""
        with contextlib.suppress(Exception):
            self.conn.send(Stop())
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """Kill the encoder now (a stopped process too)."""
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.proc.kill()
                self.proc.wait(timeout=5.0)

    def disown(self) -> None:
        """In a forked child: drop this process's copy of the socket, touch nothing else."""
        with contextlib.suppress(Exception):
            self.conn.close()


class _QueueChannel:
    """The encoder thread's end of two queues (see :func:`~agentreel.video.worker.serve`)."""

    def __init__(self, inbox: queue.SimpleQueue, outbox: queue.SimpleQueue) -> None:
        self._inbox, self.reply = inbox, outbox.put
        self._held: list[Any] = []

    def pending(self, timeout: float = 0.0) -> bool:
        if self._held or not self._inbox.empty():
            return True
        if timeout > 0:
            with contextlib.suppress(queue.Empty):
                self._held.append(self._inbox.get(timeout=timeout))
        return bool(self._held)

    def receive(self) -> Any:
        return self._held.pop() if self._held else self._inbox.get()


class ThreadTransport:
    """The encoder in a daemon thread of this process (same messages, plain-memory rings)."""

    kind = "thread"
    shared = False
    pid = None

    def __init__(self) -> None:
        from agentreel.video.worker import EncoderServer, serve

        self._in: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self._held: list[Any] = []
        channel = _QueueChannel(self._in, self._out)
        self._thread = threading.Thread(target=serve, args=(EncoderServer(channel.reply), channel),
                                        name="agentreel-encoder", daemon=True)
        self._thread.start()
        self.started = self.ready = True
        self.spawned_at = self.started_at = self.ready_at = time.monotonic()

    @staticmethod
    def cpu_ticks() -> int:
        """(Not measured for a thread.)"""
        return 0

    def send(self, msg: Any) -> None:
        if not self._thread.is_alive():
            raise EncoderGone("encoder thread stopped")
        self._in.put(msg)

    def send_ring(self, ring: FrameRing) -> None:
        self.send(NewRing(ring.name, ring.size, ring.slots, ring.shape, ring))

    def poll(self, timeout: float) -> bool:
        if self._held or not self._out.empty():
            return True
        try:
            self._held.append(self._out.get(timeout=timeout) if timeout > 0
                              else self._out.get_nowait())
            return True
        except queue.Empty:
            if not self._thread.is_alive():
                raise EncoderGone("encoder thread stopped") from None
            return False

    def recv(self) -> Any:
        if self._held:
            return self._held.pop()
        try:
            return self._out.get_nowait()
        except queue.Empty:
            return None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self._thread.is_alive():
            self._in.put(Stop())
            self._thread.join(timeout)

    def kill(self) -> None:
        """A thread cannot be killed: ask it to stop, wait a little, let it go."""
        self.stop(timeout=1.0)

    def disown(self) -> None:
        """In a forked child the thread does not exist: nothing to do."""


Transport = ProcessTransport | ThreadTransport
