"""Creating and reading files without following links planted by someone else.

The rule every writer in agentreel follows (issue 12):

* a temporary file is created **exclusively** (``O_CREAT | O_EXCL | O_NOFOLLOW``);
  whatever was left under its name (an earlier run's leftover, or a symbolic link
  planted by another user of a shared folder) is unlinked first -- a link is
  removed, never followed;
* a final name is only ever replaced by ``os.replace`` (a rename: a link there is
  replaced, not written through);
* a file that is appended to (a log) is opened with ``O_NOFOLLOW``; a symbolic link,
  a FIFO or anything else that is not a regular file is refused with a clear error;
* every file is created with mode ``0o666`` and the process's umask decides the rest
  (no ``0600`` files from ``mkstemp``, no fixed ``0644``).

This module imports nothing from agentreel, so every layer may use it.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> target = os.path.join(folder, "outside.txt")
    >>> with open(target, "w") as fh:
    ...     _ = fh.write("precious")
    >>> os.symlink(target, os.path.join(folder, "x.tmp"))
    >>> with open_exclusive(os.path.join(folder, "x.tmp")) as fh:  # the link is removed
    ...     _ = fh.write(b"new")
    >>> open(target).read(), os.path.islink(os.path.join(folder, "x.tmp"))
    ('precious', False)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
from collections.abc import Callable
from typing import IO

__all__ = ["NotARegularFileError", "create_exclusive", "open_exclusive", "open_for_append",
           "read_regular", "remove_entry", "write_atomically"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

#: Mode bits of every file created; the umask removes what the user does not want.
FILE_MODE = 0o666


class NotARegularFileError(OSError):
    """A path that should be a regular file is a link, a FIFO, a directory or a device."""


def remove_entry(path: str | os.PathLike[str]) -> None:
    """Remove what is at ``path`` without following it (a link is unlinked; a directory
    is removed with its contents, links inside are not followed). Missing is fine."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def create_exclusive(path: str | os.PathLike[str]) -> int:
    """Create ``path`` as a new, empty regular file and return a read-write descriptor.

    Anything already at ``path`` (a leftover file, a planted link, a FIFO) is removed
    first, once; a link is never followed.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    try:
        return os.open(path, flags, FILE_MODE)
    except FileExistsError:
        remove_entry(path)
    return os.open(path, flags, FILE_MODE)


def open_exclusive(path: str | os.PathLike[str]) -> IO[bytes]:
    """:func:`create_exclusive`, as an unbuffered binary file object (every ``write``
    goes straight to the kernel, so nothing is held back from a crash)."""
    return os.fdopen(create_exclusive(path), "w+b", buffering=0)


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Let ``write(file)`` fill a new temporary file next to ``path``, then rename it onto
    ``path``. The temporary is created exclusively; a link at ``path`` is replaced."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open_exclusive(tmp) as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _refuse(path: str | os.PathLike[str], what: str, fix: str) -> NotARegularFileError:
    return NotARegularFileError(
        errno.ELOOP if what == "a symbolic link" else errno.EINVAL,
        f"{os.fspath(path)} is {what}, not a regular file; agentreel never writes through "
        f"links or into special files: {fix}", os.fspath(path))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def open_for_append(path: str | os.PathLike[str], *, truncate: bool = False,
                    fix: str = "remove it or choose another path") -> int:
    """Open (creating if missing) the regular file ``path`` for appending; return its fd.

    Raises :class:`NotARegularFileError` (an ``OSError``) when ``path`` is a symbolic
    link, a FIFO, a directory or a device; ``fix`` ends the message.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW | _NONBLOCK | _CLOEXEC
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, _kind(info.st_mode), fix)
    if truncate:
        flags |= os.O_TRUNC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise _refuse(path, "a symbolic link" if exc.errno == errno.ELOOP else
                          "a FIFO" if exc.errno == errno.ENXIO else "a directory", fix) from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _refuse(path, _kind(mode), fix)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    return fd


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The first ``limit`` bytes of the regular file ``path``, never blocking.

    Raises ``FileNotFoundError`` when missing and :class:`NotARegularFileError` for a
    link, FIFO, directory or device (none of them is opened for reading).
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, "a symbolic link", "it is ignored") from exc
        if exc.errno == errno.EISDIR:
            raise _refuse(path, "a directory", "it is ignored") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, _kind(mode), "it is ignored")
        return os.read(fd, limit)
    finally:
        os.close(fd)
