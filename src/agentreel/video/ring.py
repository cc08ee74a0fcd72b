"""Frame rings: the memory the caller copies frames into and the encoder reads them from.

A ring is ``slots`` frames of one shape plus a small header of counters, in one block
of memory. The caller and the encoder build the same :class:`FrameRing` views of it:
with the thread backend the very same object, with the process backend the encoder
maps the block from a file descriptor it received over its control socket. The memory
has no name anywhere: an anonymous ``memfd`` on Linux, an already-unlinked temporary
file on other POSIX systems. The kernel frees it when both sides have let go, even if
both are killed, so nothing accumulates in ``/dev/shm`` and no ``multiprocessing``
resource-tracker process is needed. (Windows uses the thread backend.)

The counters and :meth:`FrameRing.copy_slot` need no numpy (the encoder process takes
frames before it has imported numpy); :attr:`FrameRing.frames` imports it on first use.

Example:
    >>> ring = FrameRing.create(2, (4, 4, 3), shared=True)
    >>> ring.frames[1] = 7
    >>> other = FrameRing.attach(os.dup(ring.fd), ring.size, 2, (4, 4, 3))
    >>> int(other.frames[1, 0, 0, 0]), other.consumed
    (7, 0)
    >>> other.consumed = 1; ring.consumed
    1
    >>> other.close(); ring.close()
"""

from __future__ import annotations

import contextlib
import itertools
import math
import mmap
import os
import tempfile
from collections.abc import Callable
from typing import Any

__all__ = ["READ_SLACK", "FrameRing", "ring_bytes"]

_COUNTER = itertools.count()

#: Bytes of slack after the frames of a ring: FFmpeg's SIMD converters may read
#: a little past a frame's last row, which must not cross into an unmapped page.
READ_SLACK = 4096

# The header: int64 counters after the frames (and the slack).
# CONSUMED: frames of the current video the encoder has read (their slots are free
#   again); written by the encoder, read by the caller without a message.
# CALLER_WAITING: 1 while the caller is blocked on a full ring; the encoder then sends
#   a wake-up message after each frame it frees.
# WRITTEN: frames the caller has copied in, announced or not; the encoder reads it only
#   once the caller is gone (its socket closed), to encode every frame it was given.
_CONSUMED, _CALLER_WAITING, _WRITTEN = 0, 1, 2
_HEADER_WORDS = 8


def ring_bytes(slots: int, shape: tuple) -> int:
    """Size of a frame ring: ``slots`` frames of ``shape`` uint8, slack, header.

    >>> ring_bytes(2, (4, 4, 3))
    4288
    """
    return _header_offset(slots, shape) + 8 * _HEADER_WORDS


def _header_offset(slots: int, shape: tuple) -> int:
    return -(-(slots * math.prod(shape) + READ_SLACK) // 64) * 64  # 64-byte aligned


class _Mapping:
    """A file descriptor's memory mapped here; ``fd`` stays open until :meth:`release_fd`."""

    def __init__(self, fd: int, size: int, *, resize: bool) -> None:
        self.fd: int | None = fd
        try:
            if resize:
                os.ftruncate(fd, size)
            self.map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise

    def release_fd(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        self.map.close()
        self.release_fd()


def _anonymous_fd(name: str) -> int:
    """A descriptor of nameless memory: memfd where the OS has it, else an unlinked file."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create(name, os.MFD_CLOEXEC)
        except OSError:  # e.g. a seccomp profile without memfd_create
            pass
    handle, path = tempfile.mkstemp(prefix=f"{name}-")
    os.unlink(path)
    return handle


class FrameRing:
    """``slots`` frames of ``shape`` (uint8) and the counters both sides share.

    Frame ``i`` of a video is in slot ``i % slots``. Get one with :meth:`create`
    (caller side) or :meth:`attach` (encoder process side).
    """

    def __init__(self, memory: Any, slots: int, shape: tuple, mapping: _Mapping | None = None,
                 name: str = "") -> None:
        self.slots = slots
        self.shape = tuple(shape)
        self.size = ring_bytes(slots, self.shape)
        self.name = name or f"agentreel-{os.getpid()}-{next(_COUNTER)}"
        self._mapping = mapping
        #: True on the encoder's side of a process ring (mapped by :meth:`attach`).
        self.attached = False
        self._memory = memory
        self._view = memoryview(memory).cast("B")
        start = _header_offset(slots, self.shape)
        self._header = self._view[start:start + 8 * _HEADER_WORDS].cast("q")
        self._slot_bytes = math.prod(self.shape)
        self._frames: Any = None

    @property
    def frames(self) -> Any:
        """The slots as one ``(slots, H, W, 3)`` uint8 numpy array (a view of the ring)."""
        if self._frames is None:
            import numpy as np

            self._frames = np.ndarray((self.slots, *self.shape), dtype=np.uint8,
                                      buffer=self._memory)
        return self._frames

    def copy_slot(self, index: int) -> bytes:
        """A copy of slot ``index``'s pixels (no numpy needed).

        >>> ring = FrameRing.create(2, (2, 2, 3), shared=False)
        >>> ring.frames[1] = 9
        >>> ring.copy_slot(1) == bytes([9] * 12)
        True
        """
        start = index * self._slot_bytes
        return self._view[start:start + self._slot_bytes].tobytes()

    @classmethod
    def create(cls, slots: int, shape: tuple, *, shared: bool) -> FrameRing:
        """A new ring: in shared memory (``shared``, for an encoder process) or plain memory."""
        size = ring_bytes(slots, tuple(shape))
        if not shared:
            import numpy as np

            return cls(np.zeros(size, np.uint8), slots, shape)
        name = f"agentreel-{os.getpid()}-{next(_COUNTER)}"
        mapping = _Mapping(_anonymous_fd(name), size, resize=True)
        return cls(mapping.map, slots, shape, mapping, name)

    @classmethod
    def attach(cls, fd: int, size: int, slots: int, shape: tuple, name: str = "") -> FrameRing:
        """Map a ring received as a descriptor (takes ownership of ``fd``)."""
        mapping = _Mapping(fd, size, resize=False)
        mapping.release_fd()
        ring = cls(mapping.map, slots, shape, mapping, name)
        ring.attached = True
        return ring

    @property
    def fd(self) -> int | None:
        """The descriptor to hand to the encoder process (None once released, or unshared)."""
        return self._mapping.fd if self._mapping is not None else None

    def release_fd(self) -> None:
        """Close the descriptor once the encoder has its own copy (the mapping stays)."""
        if self._mapping is not None:
            self._mapping.release_fd()

    @property
    def nbytes(self) -> int:
        """Bytes of frame memory."""
        return self.slots * self._slot_bytes

    # -- the shared counters ----------------------------------------------------------
    @property
    def consumed(self) -> int:
        """Frames of the current video the encoder has read (their slots are free)."""
        return int(self._header[_CONSUMED])

    @consumed.setter
    def consumed(self, value: int) -> None:
        self._header[_CONSUMED] = value

    @property
    def written(self) -> int:
        """Frames the caller has copied in (read by an encoder whose caller is gone)."""
        return int(self._header[_WRITTEN])

    @written.setter
    def written(self, value: int) -> None:
        self._header[_WRITTEN] = value

    @property
    def caller_waiting(self) -> bool:
        """True while the caller is blocked on a full ring."""
        return bool(self._header[_CALLER_WAITING])

    @caller_waiting.setter
    def caller_waiting(self, value: bool) -> None:
        self._header[_CALLER_WAITING] = int(value)

    def reset(self) -> None:
        """Zero the counters for a new video (a reused ring)."""
        for word in range(_HEADER_WORDS):
            self._header[word] = 0

    def close(self) -> None:
        """Let go of the memory (views of :attr:`frames` must not be used afterwards)."""
        mapping, self._mapping = self._mapping, None
        if mapping is not None:
            self._frames = self._memory = None
            for view in (self._header, self._view):
                with contextlib.suppress(BufferError):
                    view.release()
            try:
                mapping.close()
            except BufferError:  # a view is still referenced somewhere: unmapped with it
                mapping.release_fd()

    def __repr__(self) -> str:
        return f"FrameRing({self.name!r}, slots={self.slots}, shape={self.shape})"


class RingPool:
    """Rings of completed videos kept for the next video of the same shape and size.

    A fresh shared ring costs a page fault per 4 KiB on its first use, paid on the
    caller's thread; a reused one does not. At most ``per_shape`` rings per shape and
    ``max_bytes`` overall are kept.

    >>> pool = RingPool()
    >>> ring = FrameRing.create(2, (4, 4, 3), shared=False)
    >>> pool.put(ring), pool.take(2, (4, 4, 3)) is ring, pool.take(2, (4, 4, 3))
    (True, True, None)
    """

    def __init__(self, per_shape: int = 2, max_bytes: int = 64 * 2**20) -> None:
        self.per_shape = per_shape
        self.max_bytes = max_bytes
        self._rings: dict[tuple, list[FrameRing]] = {}

    def take(self, slots: int, shape: tuple) -> FrameRing | None:
        """A pooled ring of this size, or None."""
        rings = self._rings.get((slots, tuple(shape)))
        return rings.pop() if rings else None

    def put(self, ring: FrameRing) -> bool:
        """Keep ``ring`` for reuse; False (not kept) when the pool is full."""
        rings = self._rings.setdefault((ring.slots, ring.shape), [])
        total = sum(r.nbytes for kept in self._rings.values() for r in kept)
        if len(rings) >= self.per_shape or total + ring.nbytes > self.max_bytes:
            return False
        rings.append(ring)
        return True

    def give_back(self, ring: FrameRing, reuse: bool,
                  forget: Callable[[str], None] | None = None) -> None:
        """Keep ``ring`` (``reuse``, room left), else unmap it, first telling the encoder
        through ``forget(name)`` when it still maps it."""
        if reuse and self.put(ring):
            return
        if forget is not None:
            forget(ring.name)
        ring.close()

    def discard_all(self) -> None:
        """Unmap every pooled ring (the encoder that mapped them is gone)."""
        rings = [ring for kept in self._rings.values() for ring in kept]
        self._rings = {}
        for ring in rings:
            ring.close()
