"""Memory shared between the caller and the encoder process, for frame rings.

On Linux the memory is an anonymous ``memfd``: it has no name in ``/dev/shm``,
its file descriptor is handed to the encoder over the control socket, and the
kernel frees it when both processes have let go, even if both are killed. So
nothing can leak, and no ``multiprocessing`` resource-tracker process is needed
(Python starts one per process for named segments: ~14 MB each). Elsewhere a
named :class:`multiprocessing.shared_memory.SharedMemory` segment is used.

Example:
    >>> block = create_shared(4096)
    >>> block.buf[0] = 7
    >>> attached = attach_fd(os.dup(block.fd), 4096) if block.fd is not None else block
    >>> attached.buf[0]
    7
    >>> attached.close(); block.close(); block.unlink()
"""

from __future__ import annotations

import contextlib
import itertools
import math
import mmap
import os
import sys
from typing import Any

import numpy as np

_COUNTER = itertools.count()

#: Bytes of slack after the frames of a ring: FFmpeg's SIMD converters may read
#: a little past a frame's last row, which must not cross into an unmapped page.
READ_SLACK = 4096

#: The ring's header: int64 counters after the frames (and the slack).
#: ``CONSUMED``: frames of the current video the encoder has read (their slots
#: are free again); written by the encoder, read by the caller without a message.
#: ``CALLER_WAITING``: 1 while the caller is blocked on a full ring; the encoder
#: then sends a wake-up message after each frame it frees. ``WRITTEN``: frames
#: the caller has copied in, announced or not; the encoder reads it only once
#: the caller is gone (its socket closed), to encode every frame it was given.
CONSUMED, CALLER_WAITING, WRITTEN = 0, 1, 2
_HEADER_WORDS = 8


def ring_bytes(slots: int, shape: tuple) -> int:
    """Size of a frame ring: ``slots`` frames of ``shape`` uint8, slack, header.

    >>> ring_bytes(2, (4, 4, 3))
    4288
    """
    return _header_offset(slots, shape) + 8 * _HEADER_WORDS


def _header_offset(slots: int, shape: tuple) -> int:
    return -(-(slots * math.prod(shape) + READ_SLACK) // 64) * 64  # 64-byte aligned


def ring_views(buffer: Any, slots: int, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The frames ``(slots, *shape)`` and the int64 header of a ring's memory.

    Both processes (or threads) build the same views of the same bytes.

    >>> frames, header = ring_views(bytearray(ring_bytes(2, (4, 4, 3))), 2, (4, 4, 3))
    >>> frames.shape, int(header[CONSUMED])
    ((2, 4, 4, 3), 0)
    """
    frames = np.ndarray((slots, *shape), dtype=np.uint8, buffer=buffer)
    offset = _header_offset(slots, shape)
    header = np.ndarray((_HEADER_WORDS,), dtype=np.int64, buffer=buffer, offset=offset)
    return frames, header


class AnonymousMemory:
    """A ``memfd`` mapped into this process; ``fd`` is open until :meth:`release_fd`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.name = f"agentreel-{os.getpid()}-{next(_COUNTER)}"
        self.fd: int | None = os.memfd_create(self.name, os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self._map = mmap.mmap(self.fd, size)
        except BaseException:
            os.close(self.fd)
            raise
        self.buf = memoryview(self._map)

    def release_fd(self) -> None:
        """Close the descriptor once the encoder has its own copy (the mapping stays)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Unmap (raises ``BufferError`` while numpy views of :attr:`buf` exist)."""
        self.buf.release()
        self._map.close()
        self.release_fd()

    def unlink(self) -> None:
        """Nothing to remove: anonymous memory has no name."""


class AttachedMemory:
    """The encoder's mapping of memory it received as a file descriptor."""

    def __init__(self, fd: int, size: int) -> None:
        try:
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.buf = memoryview(self._map)

    def close(self) -> None:
        """Unmap (raises ``BufferError`` while numpy views of :attr:`buf` exist)."""
        self.buf.release()
        self._map.close()


def create_shared(size: int) -> Any:
    """Anonymous memory where the OS has it (Linux), else a named segment."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return AnonymousMemory(size)
    from multiprocessing import shared_memory

    block = shared_memory.SharedMemory(create=True, size=size)
    block.fd = None  # type: ignore[attr-defined]  # tells callers: attach by name
    return block


def attach_fd(fd: int, size: int) -> AttachedMemory:
    """Map memory received as a descriptor (takes ownership of ``fd``)."""
    return AttachedMemory(fd, size)


def attach_name(name: str) -> Any:
    """Attach to a named segment the engine created, without taking ownership of it."""
    from multiprocessing import shared_memory

    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    block = shared_memory.SharedMemory(name=name)
    # Before 3.13 attaching registers the segment with this process's resource
    # tracker, which would unlink it (and warn) when we exit. The engine owns it.
    from multiprocessing import resource_tracker

    with contextlib.suppress(Exception):
        resource_tracker.unregister(block._name, "shared_memory")  # type: ignore[attr-defined]
    return block
