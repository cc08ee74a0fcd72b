"""The messages between the engine and the encoder: small named tuples, never frames.

==================================================  ==================================
engine → encoder                                    encoder → engine
==================================================  ==================================
:class:`NewRing` (+ its descriptor, process only)   (nothing: the memory is mapped)
:class:`Open`                                       :class:`Started` once, at
                                                    start; :class:`Ready` once
                                                    PyAV is loaded
:class:`Frames`                                     :class:`Free` only while the
                                                    caller waits for a slot
:class:`Finish`                                     :class:`Done`
:class:`Abort`                                      :class:`Done` (no error)
:class:`Forget`                                     (nothing: the ring is unmapped)
:class:`Stop`                                       (the encoder exits)
==================================================  ==================================

Frame ``i`` of a video is in slot ``i % slots`` of its ring (:mod:`agentreel.video.ring`).
:class:`Frames` says that every frame below ``upto`` is in the ring (the engine announces
them in batches); the encoder reads them in order and counts them in the ring's header,
which the engine reads to reuse slots without any message. :class:`Finish` carries the
video's frame count: frames not announced yet are encoded first.

>>> Frames(sid=3, upto=8)
Frames(sid=3, upto=8)
>>> Done(3, 8, None).error is None
True
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "Abort", "Done", "EncodeSpec", "Finish", "Forget", "Frames", "Free", "NewRing", "Open",
    "Ready", "Started", "Stop",
]


class EncodeSpec(NamedTuple):
    """How to encode one video."""

    path: str
    fps: Any  # a Fraction
    format: str
    quality: int | None = None
    preset: str | None = None
    x264_params: str | None = None
    #: ``(rows, cols, count)`` when each slot holds ``count`` tiles one after another
    #: (:meth:`~agentreel.video.stream.VideoStream.add_tiles`): the encoder lays them out
    #: in a ``rows x cols`` grid, empty cells black. ``None``: slots hold whole frames.
    tiles: tuple[int, int, int] | None = None


class NewRing(NamedTuple):
    """A ring to map, named ``name`` in later messages. With the process backend its
    descriptor follows on the socket and ``ring`` is None; with threads ``ring`` is the
    :class:`~agentreel.video.ring.FrameRing` itself."""

    name: str
    size: int
    slots: int
    shape: tuple
    ring: Any = None


class Open(NamedTuple):
    """Start video ``sid`` reading frames from ring ``ring`` (a name)."""

    sid: int
    spec: EncodeSpec
    ring: str


class Frames(NamedTuple):
    """Frames ``[.., upto)`` of video ``sid`` are in its ring."""

    sid: int
    upto: int


class Finish(NamedTuple):
    """Video ``sid`` has ``total`` frames: complete it (and write ``sidecar`` text beside it)."""

    sid: int
    total: int
    sidecar: str | None = None


class Abort(NamedTuple):
    """Discard video ``sid``."""

    sid: int


class Forget(NamedTuple):
    """Unmap ring ``ring``: the engine no longer reuses it."""

    ring: str


class Stop(NamedTuple):
    """Complete finished videos, close open ones as ``.partial`` files, exit."""


class Started(NamedTuple):
    """The encoder process runs (``pid``) and takes frames out of the rings; it may
    still be loading PyAV (frames then wait in its bounded backlog); ``at`` is its
    ``time.monotonic()`` then (the same clock in every process on Linux)."""

    pid: int
    at: float = 0.0


class Ready(NamedTuple):
    """The encoder is up and can encode (process id ``pid``, ``time.monotonic()`` ``at``)."""

    pid: int
    at: float = 0.0


class Free(NamedTuple):
    """A slot of video ``sid``'s ring was freed while the caller waited for one."""

    sid: int


class Done(NamedTuple):
    """Video ``sid`` is complete with ``frames`` frames, or failed (``error``)."""

    sid: int
    frames: int
    error: str | None
