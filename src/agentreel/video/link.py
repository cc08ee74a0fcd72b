"""The engine's line to its encoder: start it, talk to it, wait on it, replace it.

:class:`EncoderLink` owns the current transport (:mod:`agentreel.video.transport`).
Every wait goes through :meth:`EncoderLink.wait_until`, which never waits longer than
``stall_timeout`` for an encoder that makes no progress (no message, no frame read, no
CPU time: stopped or starved): it warns halfway, then abandons that encoder; its videos
fail and the next video starts a fresh one. Taking a message and handling it, and
sending one, happen with Ctrl-C held back (:mod:`agentreel.video.interrupts`), so an
interrupt never loses a message or leaves half of one on the socket.

>>> link = EncoderLink("thread", stall_timeout=10, on_message=print, on_lost=print)
>>> link.ensure().kind
'thread'
>>> link.stop()
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

from agentreel.video.interrupts import deferred_interrupts
from agentreel.video.messages import Done, Ready, Started
from agentreel.video.transport import EncoderGone, ProcessTransport, ThreadTransport, Transport

__all__ = ["DEFAULT_STALL_TIMEOUT", "EncoderLink", "loudly", "stall_timeout_from"]

logger = logging.getLogger("agentreel.video")

#: Default bound on a wait for an encoder that makes no progress (s);
#: ``AGENTREEL_ENCODER_TIMEOUT`` overrides it.
DEFAULT_STALL_TIMEOUT = 10.0


def stall_timeout_from(value: float | None) -> float:
    """``value``, else ``AGENTREEL_ENCODER_TIMEOUT``, else the default; checked.

    >>> stall_timeout_from(2)
    2.0
    """
    if value is None:
        text = os.environ.get("AGENTREEL_ENCODER_TIMEOUT", "")
        try:
            value = float(text) if text.strip() else DEFAULT_STALL_TIMEOUT
        except ValueError:
            raise ValueError("AGENTREEL_ENCODER_TIMEOUT must be a number of seconds, "
                             f"got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"stall_timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def loudly(msg: str) -> None:
    """Log an error and warn (RuntimeWarning): the user must notice."""
    logger.error(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=4)


class EncoderLink:
    """The current encoder of an engine, and how to wait on it.

    ``on_message(msg)`` handles a :class:`~agentreel.video.messages.Done`;
    ``on_lost(why)`` fails the videos of an encoder that died or was abandoned
    (:attr:`generation` tells which videos were its).
    """

    def __init__(self, backend: str, stall_timeout: float,
                 on_message: Callable[[Any], None], on_lost: Callable[[str], None],
                 frames_read: Callable[[], int] = lambda: 0) -> None:
        self.backend = backend
        self.stall_timeout = stall_timeout
        self.transport: Transport | None = None
        self.generation = 0  # +1 for each encoder started
        self.ready_at = 0.0  # when the current encoder said it was ready
        self._on_message, self._on_lost, self._frames_read = on_message, on_lost, frames_read
        self._received = 0
        self._startup_failures = 0

    def ensure(self) -> Transport:
        """The running encoder (started now if there is none).

        The start happens with Ctrl-C held back: an interrupt landing after the process
        was spawned but before it was noted left it running unowned, and the retried call
        started another (hundreds, under interrupts every few ms on a slow machine).
        """
        if self.transport is None:
            with deferred_interrupts():
                if self.backend == "process":
                    try:
                        self.transport = ProcessTransport()
                    except Exception as exc:
                        self._fallback(f"could not start the encoder process ({exc!r})")
                if self.transport is None:
                    self.transport = ThreadTransport()
                self.generation += 1
        return self.transport

    def _fallback(self, why: str) -> None:
        self.backend = "thread"
        loudly(f"agentreel: {why}; encoding videos in a thread instead (slower)")

    def send(self, msg: Any) -> bool:
        """Send ``msg``; False (and the encoder is lost) when it is gone."""
        try:
            with deferred_interrupts():
                self.ensure().send(msg)
            return True
        except EncoderGone as exc:
            self.lose(str(exc))
            return False

    def pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a message, then handle all that are queued."""
        transport = self.transport
        if transport is None:
            return
        try:
            if not transport.poll(timeout):
                return
            with deferred_interrupts():  # a message taken is a message handled
                msg = transport.recv()
                while msg is not None:
                    self._received += 1
                    self._handle(transport, msg)
                    msg = transport.recv() if self.transport is transport else None
        except EncoderGone as exc:
            self.lose(str(exc))

    def _handle(self, transport: Transport, msg: Any) -> None:
        if isinstance(msg, Started):
            transport.started, transport.started_at = True, msg.at
        elif isinstance(msg, Ready):
            transport.ready, transport.ready_at = True, msg.at
            self.ready_at = time.perf_counter()
        elif isinstance(msg, Done):
            self._on_message(msg)

    def _progress(self) -> tuple[int, int, int]:
        transport = self.transport
        return self._received, self._frames_read(), transport.cpu_ticks() if transport else 0

    def wait_until(self, done: Callable[[], bool], interval: float,
                   timeout: float | None = None) -> None:
        """Handle messages until ``done()``; abandon an encoder stuck for ``stall_timeout``.

        Raises:
            TimeoutError: ``timeout`` s passed first.
        """
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        last, mark, warned = now, self._progress(), False
        while not done() and self.transport is not None:
            self.pump(interval if deadline is None else max(0.0, min(interval, deadline - now)))
            now = time.monotonic()
            if done():
                return
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"videos not complete after {timeout} s")
            progress = self._progress()
            if progress != mark:
                last, mark, warned = now, progress, False
            elif not warned and now - last >= self.stall_timeout / 2:
                warned = True
                loudly(f"agentreel: waiting for the video encoder ({self._name()}): no progress "
                       f"for {now - last:.1f} s (stopped or starved?); its videos are abandoned "
                       f"after {self.stall_timeout:g} s (stall_timeout, AGENTREEL_ENCODER_TIMEOUT)")
            elif now - last >= self.stall_timeout:
                self.lose(f"the video encoder ({self._name()}) made no progress for "
                          f"{self.stall_timeout:g} s; its videos were abandoned and a new "
                          "encoder records the next ones", abandoned=True)

    def _name(self) -> str:
        pid = self.transport.pid if self.transport is not None else None
        return f"pid {pid}" if pid is not None else "thread"

    def lose(self, why: str, abandoned: bool = False) -> None:
        """The encoder died or is abandoned: kill it, fail its videos, start afresh later."""
        with deferred_interrupts():
            transport, self.transport = self.transport, None
            if transport is None:
                return
            if not abandoned:
                self._take_last_words(transport)
            transport.kill()
            loudly(f"agentreel: {why}")
            self._on_lost(why)
            if abandoned or not isinstance(transport, ProcessTransport):
                return
            if not transport.ready:  # an import error or two deaths before saying hello
                self._startup_failures += 1
                code = transport.proc.returncode
                if (code is not None and code > 0) or self._startup_failures >= 2:
                    self._fallback("the encoder process exited at start-up")
            else:
                self._startup_failures = 0

    def _take_last_words(self, transport: Transport) -> None:
        """Messages a dead encoder sent before it died (videos it finished) still count."""
        try:
            for _ in range(100_000):
                msg = transport.recv()
                if msg is None:
                    return
                self._handle(transport, msg)
        except EncoderGone:
            pass

    def stop(self) -> None:
        """Let the encoder complete its videos and exit (killed after ``stall_timeout``)."""
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.stop(timeout=self.stall_timeout)

    def disown(self) -> None:
        """In a forked child: the encoder is the parent's; drop it untouched."""
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.disown()
