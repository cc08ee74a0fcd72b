"""The caller's side of the frame path: copy frames into rings, with back-pressure.

:class:`FramePath` is the part of :class:`~agentreel.video.engine.VideoEngine` that
runs on every ``add_frame``: it gives a video its ring on the first frame (a larger
start-up ring while the encoder cannot encode yet), copies each frame into the next
free slot, announces frames to the encoder in batches, and blocks only while the ring
is full (the time is counted in the engine's statistics).

>>> import numpy as np, os, tempfile
>>> from agentreel.video import VideoEngine
>>> engine = VideoEngine(backend="thread", queue_frames=2)
>>> stream = engine.open(os.path.join(tempfile.mkdtemp(), "a.mp4"), fps=30)
>>> for _ in range(5):
...     stream.add_frame(np.zeros((16, 16, 3), np.uint8))
>>> stream.frames, engine.stats.frames
(5, 5)
>>> engine.close()
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from agentreel.video.callbacks import Callbacks
from agentreel.video.interrupts import deferred_interrupts
from agentreel.video.link import EncoderLink
from agentreel.video.messages import EncodeSpec, Frames, Open
from agentreel.video.presets import PresetPolicy
from agentreel.video.ring import FrameRing, RingPool
from agentreel.video.stream import VideoStream
from agentreel.video.transport import EncoderGone

__all__ = ["FramePath"]

#: How often a caller blocked on a full ring re-reads the ring's counter (s), in case
#: the encoder's wake-up message crossed the caller's "waiting" flag.
_SLOT_POLL = 0.002
#: While the encoder starts, a new video's ring holds up to this many bytes of frames
#: (at most ``_STARTUP_SLOTS``), so the first recorded steps never wait for its start-up.
_STARTUP_BYTES = 64 * 2**20
_STARTUP_SLOTS = 256


class FramePath:
    """Frames into rings (a base of the engine; it sets every attribute below)."""

    _lock: threading.RLock
    _link: EncoderLink
    _pool: RingPool
    _presets: PresetPolicy
    _callbacks: Callbacks
    _streams: dict[int, VideoStream]
    _queue_frames: int
    _announce_every: int
    _frames: int
    _wait: float
    _max_wait: float

    def _add(self, stream: VideoStream, rgb: np.ndarray | None, shape: tuple = (),
             fill: Callable[[np.ndarray], None] | None = None) -> None:
        """Queue ``rgb``, or the frame of ``shape`` that ``fill(slot)`` writes in place."""
        shape = tuple(rgb.shape) if rgb is not None else shape
        with self._lock:
            if stream._state != "open":
                raise RuntimeError(f"add_frame() on a video that was already finished: {stream.path}")
            if stream._broken is None and stream._ring is None:
                self._bind(stream, shape)
            if stream.shape is None:
                stream.shape = shape  # type: ignore[assignment]
            ring = stream._ring
            if stream._broken is None and ring is not None \
                    and stream._written - ring.consumed >= ring.slots:
                self._wait_for_slot(stream, ring)
            self._frames += 1
            if stream._broken is None and ring is not None:
                slot = ring.frames[stream._written % ring.slots]
                if rgb is not None:
                    np.copyto(slot, rgb)
                elif fill is not None:
                    fill(slot)
                # Takes and counts the frame at once (stream.frames adds it up from this):
                # an interrupt after here cannot leave the file longer than its sidecar.
                stream._written += 1
                ring.written = stream._written  # for the encoder, if we die
                if stream._written - stream._announced >= self._announce_every:
                    self._announce(stream)
            else:
                stream._unwritten += 1
        if self._callbacks:
            self._callbacks.run_mine()

    def _announce(self, stream: VideoStream) -> None:
        """Tell the encoder about the frames copied into the ring so far."""
        if stream._written > stream._announced:
            with deferred_interrupts():
                if self._link.send(Frames(stream._sid, stream._written)):
                    stream._announced = stream._written
        if self._awaiting_done():
            self._link.pump(0)  # completed videos' callbacks run soon after, not at the next video

    def _awaiting_done(self) -> bool:
        """True while a finished or aborted video waits for the encoder's "done"."""
        return any(s._state in ("finishing", "aborting") for s in self._streams.values())

    def _wait_for_slot(self, stream: VideoStream, ring: FrameRing) -> None:
        """Block (back-pressure) until the encoder has read the oldest frame of the ring."""
        start = time.perf_counter()
        self._announce(stream)
        ring.caller_waiting = True
        try:
            self._link.wait_until(lambda: stream._broken is not None
                                  or stream._written - ring.consumed < ring.slots, _SLOT_POLL)
        finally:
            if stream._ring is ring:  # (a lost encoder's ring is gone)
                ring.caller_waiting = False
        waited = time.perf_counter() - start
        stream._wait += waited
        self._wait += waited
        self._max_wait = max(self._max_wait, waited)

    def _bind(self, stream: VideoStream, shape: tuple) -> None:
        """Give the stream a ring (bigger while the encoder starts) and open it there."""
        with deferred_interrupts():
            transport = self._link.ensure()
            slots = self._queue_frames
            if not transport.ready:
                slots = max(slots, min(_STARTUP_SLOTS, _STARTUP_BYTES // math.prod(shape)))
            ring = self._pool.take(slots, shape)
            stream._gen = self._link.generation
            stream._started = time.perf_counter()
            stream._written = stream._announced = 0
            try:
                if ring is None:
                    ring = FrameRing.create(slots, shape, shared=transport.shared)
                    transport.send_ring(ring)
                ring.reset()  # the encoder let go of a pooled ring when it sent "done"
                stream._ring = ring
                spec = EncodeSpec(stream.path, stream.fps, stream.format, stream.quality,
                                  *self._presets.settings_for(shape), tiles=stream._tiles)
                transport.send(Open(stream._sid, spec, ring.name))
            except EncoderGone as exc:
                self._link.lose(str(exc))
