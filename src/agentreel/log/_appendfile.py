"""Crash-safe line appends: one ``os.write`` per line on an ``O_APPEND`` descriptor.

Why this shape: ``os.write`` is unbuffered, so a line is in the kernel's page
cache (and survives the process being killed with SIGKILL) the moment the call
returns; and with ``O_APPEND`` the kernel moves to the end of the file and
writes in one step, so several processes appending lines to one file never
interleave or overwrite each other's bytes. On a full disk a line that could be
written only in part is taken back (truncated away), so the file never holds a
torn line in its middle.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from agentreel.base.safe_files import open_for_append


class AppendFile:
    """A file that is only ever appended to, a whole line at a time.

    Args:
        path: the file; missing parent folders are created. A symbolic link, FIFO or
            directory there is refused (:class:`~agentreel.base.safe_files.NotARegularFileError`,
            an ``OSError``): agentreel never writes through links.
        truncate: empty the file first (a fresh log) instead of appending.
        fsync: also ``os.fsync`` after every line, so a line survives a power
            loss too, not only a crash of the process (slower).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
        >>> f = AppendFile(p)
        >>> f.append("hello\\n")
        >>> f.close()
        >>> open(p).read()
        'hello\\n'
    """

    def __init__(self, path: str | os.PathLike[str], *, truncate: bool = False,
                 fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link, never into a FIFO (it would block): see agentreel.base.safe_files.
        self._fd: int | None = open_for_append(
            self.path, truncate=truncate, fix="remove it or pass another log= path")
        self.fsync = fsync

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._fd is None

    def is_empty(self) -> bool:
        """True when nothing has been written to the file yet (by anyone)."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        return os.fstat(self._fd).st_size == 0

    def append(self, text: str) -> None:
        """Append ``text`` (one or more whole lines) with a single system call."""
        if self._fd is None:
            raise ValueError(f"cannot write to {self.path}: the log is closed")
        data = text.encode("utf-8")
        done = 0
        try:
            # A regular file takes the whole buffer in one call except on a nearly
            # full disk, where the kernel may write the part that fits and fail on
            # the rest.
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError:
            if done:
                self._take_back(done)
            raise
        if self.fsync:
            os.fsync(self._fd)

    def _take_back(self, count: int) -> None:
        """Remove the ``count`` bytes of a line that could not be finished (disk full).

        They are the file's last bytes unless another process appended after them in
        the meantime (a shared JSON Lines log on a full disk); then they stay, and
        the reader reports that line as corrupt.
        """
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            size = os.fstat(self._fd).st_size
            os.ftruncate(self._fd, max(0, size - count))

    def close(self) -> None:
        """Close the descriptor (idempotent). Nothing is buffered, so nothing is lost."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __deepcopy__(self, memo: dict[int, object]) -> AppendFile:
        # An open file is a resource, not a value: copies share it (Gymnasium
        # deep-copies wrapper arguments when it builds an env's spec).
        return self


def complete_lines(text: str) -> list[str]:
    """The lines of ``text`` that end with a line end (a last line cut short is dropped)."""
    lines = text.split("\n")
    # The piece after the last line end is either "" or a line cut short.
    return lines[:-1]
