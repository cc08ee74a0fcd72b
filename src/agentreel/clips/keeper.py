"""The file side of a keep rule (:mod:`agentreel.clips.keep`): speculative videos kept or discarded.

Whole-episode videos judged by a rule are encoded into a hidden folder and moved
into ``video_folder`` (sidecar first, then the video) only if the rule keeps them.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import stat
from collections.abc import Hashable

from agentreel.base.safe_files import remove_entry
from agentreel.clips.keep import KeepRule, Verdict
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.core.videofiles import sidecar_path

__all__ = ["PENDING_FOLDER", "VideoKeeper"]

logger = logging.getLogger("agentreel")

#: The hidden folder inside ``video_folder`` where speculative (``keep=``) videos are encoded.
PENDING_FOLDER = ".agentreel-pending"


class VideoKeeper:
    """The file side of a keep rule (:mod:`agentreel.clips.keep`), shared by a wrapper's recorders.

    Whole-episode videos judged by a rule are encoded into a hidden folder
    (``video_folder/.agentreel-pending``). When the episode ends, the rule decides:
    a rejected video is discarded while still being encoded; a kept one is moved into
    ``video_folder`` (sidecar first, then the video, each by an atomic rename) once it
    is complete -- but only if the rule still wants it then. Videos the rule evicts are
    deleted (with their sidecar) at the moment they are evicted, before anything new is
    moved in; one still being encoded is deleted from the hidden folder when it
    completes. So the final names in ``video_folder`` are always a subset of what the
    rule currently keeps: with ``best(k)`` never more than ``k``.

    All of this runs on the thread that drives the env (the engine's callbacks do).
    """

    def __init__(self, rule: KeepRule, video_folder: str) -> None:
        self.rule = rule
        self.video_folder = video_folder
        self.pending_folder = os.path.join(video_folder, PENDING_FOLDER)
        self._kept: dict[str, str] = {}  # final path -> "encoding" | "final"
        self.evicted: set[str] = set()  # final paths deleted after they were kept
        # A program stopped by Ctrl-C (or ending without close()) leaves no empty folder.
        atexit.register(_remove_if_empty, self.pending_folder, os.getpid())

    def pending_path(self, final_path: str) -> str:
        """Where the speculative video of ``final_path`` is encoded.

        A link or file planted under the hidden folder's name is replaced by a real
        folder first (videos are never encoded through a link to elsewhere).
        """
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISDIR(os.lstat(self.pending_folder).st_mode):
                logger.warning("agentreel: %s is not a folder (a link or a file); replacing it",
                               self.pending_folder)
                remove_entry(self.pending_folder)
        return os.path.join(self.pending_folder, os.path.basename(final_path))

    def judge(self, episode: EpisodeRecord, final_path: str) -> Verdict:
        """Ask the rule about a finished episode; delete what it evicts."""
        verdict = self.rule.offer(episode, final_path)
        for key in verdict.evict:
            self._evict(key)
        if verdict.keep:
            self._kept[final_path] = "encoding"
            self.evicted.discard(final_path)
        return verdict

    def rename(self, final_path: str, new_path: str) -> None:
        """A kept video that is not in place yet will go to ``new_path`` instead."""
        self._kept[new_path] = self._kept.pop(final_path, "encoding")
        self.rule.rename(final_path, new_path)

    def wants(self, final_path: str) -> bool:
        """The rule kept ``final_path``'s video and has not evicted it (it is not in place yet)."""
        return self._kept.get(final_path) == "encoding"

    def settle(self, saved: VideoSaved, final_path: str) -> bool:
        """A judged video is complete: move it into place if still kept; True if moved."""
        if saved.error is not None:
            if self._kept.pop(final_path, None) is not None:
                self.rule.forget(final_path)
            return False
        if self._kept.get(final_path) != "encoding":  # evicted while it was encoded
            _remove(str(saved.path), sidecar_path(saved.path))
            return False
        try:
            side = sidecar_path(saved.path)
            if os.path.exists(side):
                os.replace(side, sidecar_path(final_path))
            os.replace(saved.path, final_path)
        except OSError as exc:
            logger.error("agentreel: could not move %s into place: %s", saved.path, exc)
            self._kept.pop(final_path, None)
            self.rule.forget(final_path)
            return False
        self._kept[final_path] = "final"
        return True

    def close(self) -> None:
        """Remove the hidden folder if nothing is left in it."""
        _remove_if_empty(self.pending_folder)

    def _evict(self, final_path: Hashable) -> None:
        state = self._kept.pop(str(final_path), None)
        if state == "final":
            _remove(str(final_path), sidecar_path(str(final_path)))
            self.evicted.add(str(final_path))
        # "encoding": not in place yet; settle() deletes it when it completes


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error("agentreel: could not delete %s: %s", path, exc)


def _remove_if_empty(folder: str, pid: int | None = None) -> None:
    """Remove ``folder`` if it is empty (and, with ``pid``, only in that process: a forked
    child's exit leaves its parent's folder alone)."""
    if pid is None or os.getpid() == pid:
        with contextlib.suppress(OSError):
            os.rmdir(folder)

