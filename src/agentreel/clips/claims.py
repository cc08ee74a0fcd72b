"""Exclusive claims on video file names, so two live writers never write one file.

Several processes (or several wrappers in one process) may record into one
``video_folder`` with the same ``name_prefix``. Before a recorder starts a clip it
*claims* the final file name: it creates ``video_folder/.agentreel-claims/NAME.EXT``
holding its process id, exclusively (the claim is written whole into a draft, then
hard-linked under its name, so no reader ever sees it empty, even when its writer is
killed half-way: issue 13; where hard links are refused, ``O_CREAT | O_EXCL``
then a write). Against other processes
the claim holds until this process exits (not only while the clip is encoded: a slower
sibling run must not replace a finished video of a live run either); within the
process, until the recorder is closed (a later wrapper may then reuse the name, as in
Gymnasium). Claim files are removed when the process exits normally; a killed
process's claims are stale and are taken over or swept by the next run.

* Free name (the normal, single-writer case): the name is used as is, so file names
  are exactly Gymnasium's.
* Name held by another **live** writer (another process, or another recorder of this
  process): the clip is written as ``NAME-<pid>.EXT`` instead (``NAME-<pid>-2.EXT``,
  ... when that is taken too), and a warning says so. Nothing is overwritten.
* Name held by a **dead** process (a crashed or killed earlier run in the same
  folder): the stale claim is taken over. A finished video left under that name is
  replaced, with a warning (Gymnasium's behaviour for a restarted run); the leftover
  ``NAME.EXT.partial`` of the crashed recording is first moved aside to
  ``NAME.crashed-<pid>.EXT.partial`` so the new recording does not truncate it, and
  a stale ``NAME.json`` sidecar (which describes the old file) is removed.

A claim from another machine sharing the folder (NFS) cannot be checked for
liveness; the hostname is stored and such claims are treated as live.

**Junk in the claims folder never blocks** (issue 12): claims are read without
following links and without blocking (``O_NOFOLLOW | O_NONBLOCK``), at most
:data:`CLAIM_SIZE_LIMIT` bytes; an entry that is not a regular file (a FIFO, a link,
a directory, a device) is stale and is removed with a warning; a claims folder that is
itself a link or a file is replaced by a real folder. After a few numbered variants of
a name the recorder tries random, unguessable ones, so forged claims (of a live pid,
or of another host) can change a file name but never make ``reset()`` fail.

Example:
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> a, b = NameClaims(folder), NameClaims(folder)
    >>> os.path.basename(a.claim(os.path.join(folder, "v-episode-0.mp4")))
    'v-episode-0.mp4'
    >>> os.path.basename(b.claim(os.path.join(folder, "v-episode-0.mp4"))) == f"v-episode-0-{os.getpid()}.mp4"
    True
    >>> a.release_all(); b.release_all()
    >>> _release_at_exit()  # what happens when this process exits
    >>> os.listdir(folder)
    []
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import itertools
import logging
import os
import secrets
import socket
import stat
import threading
import time
import zlib

from agentreel.base.safe_files import (
    FILE_MODE,
    NotARegularFileError,
    create_exclusive,
    read_regular,
    remove_entry,
)
from agentreel.core.videofiles import sidecar_path

__all__ = ["CLAIMS_FOLDER", "NameClaims", "create_claim", "is_scratch", "pid_alive",
           "sweep_scratch"]

logger = logging.getLogger("agentreel")

#: The hidden folder inside ``video_folder`` that holds the claim files.
CLAIMS_FOLDER = ".agentreel-claims"

_HOST = socket.gethostname()

#: Claims held by open recorders of this process (absolute claim-file paths).
_held_here: set[str] = set()
#: Claim files this process created; they stay (as this process's) until it exits.
_created_here: set[str] = set()
_held_lock = threading.Lock()


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (zombies count as dead).

    >>> pid_alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is someone else's
    try:  # a zombie (killed, not yet reaped) no longer writes anything
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), or ``""`` if unknown.

    A claim stores it next to the pid: process ids are reused (``pid_max`` is 32768
    on many machines), so a live process with a dead writer's pid is told apart
    by its start time.

    >>> process_start(os.getpid()) == process_start(os.getpid())
    True
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


_my_start: tuple[int, str] = (0, "")


def _own_start() -> str:
    """This process's start time (recomputed after a fork: a child is another process)."""
    global _my_start
    pid = os.getpid()
    if _my_start[0] != pid:
        _my_start = (pid, process_start(pid))
    return _my_start[1]


#: Bytes read from a claim file at most (a real claim is ~40 bytes).
CLAIM_SIZE_LIMIT = 256

#: What :func:`_read_claim` returns for an entry that is not a regular file.
_JUNK = (-1, "", "")


def _read_claim(path: str) -> tuple[int, str, str] | None:
    """``(pid, host, start)`` in a claim file; ``None`` if missing; ``(0, "", "")`` if
    unreadable; :data:`_JUNK` if it is not a regular file (never opened, never followed)."""
    try:
        data = read_regular(path, CLAIM_SIZE_LIMIT)
    except FileNotFoundError:
        return None
    except NotARegularFileError:
        return _JUNK
    except OSError:
        return (0, "", "")
    parts = data.decode("utf-8", "replace").split()
    try:
        return (int(parts[0]), parts[1] if len(parts) > 1 else _HOST,
                parts[2] if len(parts) > 2 else "")
    except (ValueError, IndexError):
        return (0, "", "")  # torn or empty: its writer died while creating it


#: A claim file still empty after this many seconds was torn by its writer's death.
_TORN_AFTER = 5.0


def _live(claim_file: str, holder: tuple[int, str, str]) -> bool:
    """Whether a claim belongs to a writer that may still be writing."""
    pid, host, start = holder
    if pid < 0:  # junk (a FIFO, link, directory...): nobody's claim
        return False
    if pid == 0:  # empty or unreadable: being created right now, or torn long ago
        try:
            return time.time() - os.lstat(claim_file).st_mtime < _TORN_AFTER
        except OSError:
            return False
    if host != _HOST:
        return True  # another machine's process: cannot check, assume it is alive
    if pid == os.getpid() or not pid_alive(pid):
        return False
    # The pid is taken: by the writer, or by a newer process that reuses its id.
    return not start or start == process_start(pid)


#: Where hard links are refused (some FUSE and SMB mounts), claims are created in place.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK,
                  errno.EXDEV}

#: A short tag for this machine in scratch-file names (hostnames may hold dots).
_HOST_TAG = format(zlib.crc32(_HOST.encode()), "08x")


def _scratch_path(claim_file: str, kind: str) -> str:
    """A scratch file of this thread next to ``claim_file``: ``NAME.<pid>-<thread>-<host>.<kind>``."""
    return f"{claim_file}.{os.getpid()}-{threading.get_ident()}-{_HOST_TAG}.{kind}"


#: The suffixes of a claim's scratch files (:func:`create_claim`'s drafts, takeovers).
_SCRATCH_KINDS = (".draft", ".takeover")


def is_scratch(name: str) -> bool:
    """Whether ``name`` in a claims folder is a scratch file, not a claim.

    >>> is_scratch("v.mp4.123-456-0abc1234.draft"), is_scratch("v.mp4")
    (True, False)
    """
    return name.endswith(_SCRATCH_KINDS)


def _remove_if_writer_dead(folder: str, name: str) -> None:
    """Remove a scratch file left by a dead process of this machine (never this process's)."""
    try:
        _, tag, _kind = name.rsplit(".", 2)
        pid_text, _thread, host = tag.split("-")
        pid = int(pid_text)
    except ValueError:
        return
    if host == _HOST_TAG and pid != os.getpid() and not pid_alive(pid):
        remove_entry(os.path.join(folder, name))


def sweep_scratch(folder: str) -> None:
    """Remove the drafts and takeover files that killed writers left in a claims folder."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if is_scratch(name):
            _remove_if_writer_dead(folder, name)


def create_claim(claim_file: str) -> bool:
    """Create ``claim_file`` holding this process's claim; ``False`` if it exists already.

    The claim is written whole into a draft that is then hard-linked under its name, so
    nobody ever reads it empty; a writer killed half-way leaves only its draft, which
    names its dead pid and is swept (:func:`sweep_scratch`).

    >>> import tempfile
    >>> claim = os.path.join(tempfile.mkdtemp(), "v.mp4")
    >>> create_claim(claim), create_claim(claim)
    (True, False)
    >>> open(claim).read().split()[0] == str(os.getpid()), len(os.listdir(os.path.dirname(claim)))
    (True, 1)
    """
    text = f"{os.getpid()} {_HOST} {_own_start()}\n".encode()
    draft = _scratch_path(claim_file, "draft")
    fd = create_exclusive(draft)  # a leftover or planted entry there is removed, never followed
    try:
        os.write(fd, text)
    finally:
        os.close(fd)
    try:
        os.link(draft, claim_file)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        return _create_in_place(claim_file, text)
    finally:
        _remove_quietly(draft)
    return True


def _create_in_place(claim_file: str, text: bytes) -> bool:
    """:func:`create_claim` without hard links: empty for an instant (see :data:`_TORN_AFTER`)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(claim_file, flags, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.write(fd, text)
    finally:
        os.close(fd)
    return True


class NameClaims:
    """The names one recorder holds in ``video_folder`` (see the module docstring).

    Args:
        video_folder: the folder the videos go to.
    """

    def __init__(self, video_folder: str) -> None:
        self.video_folder = video_folder
        self.folder = os.path.join(video_folder, CLAIMS_FOLDER)
        self._mine: dict[str, str] = {}  # final path -> claim file
        self._warned = False

    def claim(self, path: str) -> str:
        """Claim ``path`` (or, if a live writer holds it, a free variant); return the path to use."""
        if path in self._mine:
            return path  # ours already (the same clip name recorded again by this recorder)
        self._ensure_folder()
        stem, ext = os.path.splitext(path)
        pid = os.getpid()
        # Built lazily: the first name is free in nearly every call. After a few numbered
        # variants, random ones: forged claims cannot exhaust them.
        candidates = itertools.chain(
            (path, f"{stem}-{pid}{ext}"), (f"{stem}-{pid}-{k}{ext}" for k in range(2, 10)),
            (f"{stem}-{pid}-{secrets.token_hex(4)}{ext}" for _ in range(50)),
        )
        for candidate in candidates:
            if self._try(candidate):
                if candidate != path:
                    logger.warning(
                        "agentreel: %s is being written by another live recorder (same "
                        "video_folder and name_prefix); writing this video as %s instead. Give "
                        "each process its own name_prefix or video_folder to avoid this.",
                        path, os.path.basename(candidate),
                    )
                return candidate
        raise FileExistsError(f"could not claim a file name for {path!r} in {self.video_folder!r}")

    def release_all(self) -> None:
        """The recorder is closed: its names are free for later recorders of this process.

        Other processes still see them claimed until this process exits (then the claim
        files are removed), so a slower sibling run never replaces a video of a live
        one. Stale claims of dead writers are removed here too.
        """
        mine, self._mine = self._mine, {}
        with _held_lock:
            _held_here.difference_update(mine.values())
        self._sweep_stale()
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)

    # -- internals --------------------------------------------------------------------
    def _ensure_folder(self) -> None:
        """Make the claims folder; a link or file planted under its name is replaced."""
        try:
            info = os.lstat(self.folder)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISDIR(info.st_mode):
                return
            logger.warning("agentreel: %s is not a folder (a link or a file); replacing it "
                           "with the claims folder", self.folder)
            remove_entry(self.folder)
        os.makedirs(self.folder, exist_ok=True)

    def _claim_file(self, path: str) -> str:
        return os.path.join(self.folder, os.path.basename(path))

    def _try(self, path: str) -> bool:
        claim_file = self._claim_file(path)
        stale_pid: int | None = None
        with _held_lock:
            if claim_file in _held_here:
                return False  # another recorder of this process holds it
            for _ in range(3):
                if self._create(claim_file):
                    break
                holder = _read_claim(claim_file)
                if holder is None:
                    continue  # released meanwhile: try again
                if _live(claim_file, holder):
                    return False
                if not self._take_over(claim_file, holder):
                    continue
                stale_pid = holder[0]
                break
            else:
                return False
            _held_here.add(claim_file)
        self._mine[path] = claim_file
        # No live writer has this name: what is left under it is an earlier run's.
        self._leftovers(path, stale_pid)
        if os.path.exists(path):
            level = logging.INFO if self._warned else logging.WARNING
            self._warned = True
            logger.log(
                level, "agentreel: overwriting %s, a video of an earlier run in this folder; "
                "pass another video_folder or name_prefix to keep such videos.", path,
            )
            _remove_quietly(sidecar_path(path))  # it describes the old file
        return True

    @staticmethod
    def _create(claim_file: str) -> bool:
        try:
            created = create_claim(claim_file)
        except FileNotFoundError:  # another recorder removed the empty claims folder
            os.makedirs(os.path.dirname(claim_file), exist_ok=True)
            created = create_claim(claim_file)
        if created:
            _created_here.add(claim_file)
        return created

    @staticmethod
    def _remove_stale(claim_file: str, holder: tuple[int, str, str]) -> bool:
        """Remove a dead writer's claim; False if it changed (another process took it)."""
        grab = _scratch_path(claim_file, "takeover")
        try:
            os.rename(claim_file, grab)  # atomic: of several contenders one wins
        except FileNotFoundError:
            return False
        if _read_claim(grab) != holder:
            # A live claim was created between our read and the rename: put it back.
            with contextlib.suppress(OSError):
                os.link(grab, claim_file)
            _remove_quietly(grab)
            return False
        if holder == _JUNK:
            logger.warning("agentreel: removed %s from the claims folder: not a claim file "
                           "(a FIFO, link, directory or device)", claim_file)
        remove_entry(grab)
        return True

    @staticmethod
    def _take_over(claim_file: str, holder: tuple[int, str, str]) -> bool:
        """Replace a dead writer's claim by ours; False if another process got there first."""
        return NameClaims._remove_stale(claim_file, holder) and NameClaims._create(claim_file)

    def _sweep_stale(self) -> None:
        """Remove the claims of dead writers on this machine (a crashed run's leftovers)."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if is_scratch(name):
                _remove_if_writer_dead(self.folder, name)
                continue
            claim_file = os.path.join(self.folder, name)
            holder = _read_claim(claim_file)
            if holder is None or holder[0] == os.getpid() or _live(claim_file, holder):
                continue
            with _held_lock:
                if claim_file not in _held_here:
                    self._remove_stale(claim_file, holder)

    @staticmethod
    def _leftovers(path: str, dead_pid: int | None) -> None:
        """Keep a crashed writer's unfinished recording: move ``NAME.EXT.partial`` aside."""
        partial = path + ".partial"
        if os.path.islink(partial):
            _remove_quietly(partial)  # a planted link is no recording: remove it, never follow
            return
        if not os.path.exists(partial):
            return
        stem, ext = os.path.splitext(path)
        kept = f"{stem}.crashed-{dead_pid if dead_pid else 'earlier'}{ext}.partial"
        try:
            os.replace(partial, kept)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                logger.error("agentreel: could not move aside %s: %s", partial, exc)
            return
        logger.warning("agentreel: an earlier run's unfinished recording %s was kept as %s",
                       partial, kept)


@atexit.register
def _release_at_exit() -> None:
    """A run that never called ``close()`` leaves no claims behind on a normal exit."""
    with _held_lock:
        held = list(_created_here)
        _held_here.clear()
        _created_here.clear()
    for claim_file in held:
        _remove_quietly(claim_file)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(claim_file))


def _forget_parents_claims() -> None:
    """In a forked child: the claims are the parent's; its exit must not remove them."""
    global _held_lock
    _held_lock = threading.Lock()
    _held_here.clear()
    _created_here.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parents_claims)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
