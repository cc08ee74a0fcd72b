"""Completion callbacks, each run on the thread that owns its video.

Two wrapped envs stepped on two threads share one engine; a video's ``on_saved`` runs
on the thread that recorded it (the one that last opened or finished it), the next
time that thread calls into the engine. A callback whose thread has ended runs on
whichever thread calls next.

>>> import threading
>>> queue = Callbacks()
>>> queue.add(threading.current_thread(), print, "saved")
>>> queue.run_mine()
saved
"""

from __future__ import annotations

import logging
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["Callbacks"]

logger = logging.getLogger("agentreel.video")


class Callbacks:
    """A queue of ``callback(argument)`` calls, each for one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[threading.Thread, Callable[[Any], None], Any]] = []

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, owner: threading.Thread, callback: Callable[[Any], None], argument: Any) -> None:
        """Queue ``callback(argument)`` for thread ``owner``."""
        with self._lock:
            self._entries.append((owner, callback, argument))

    def run_mine(self) -> None:
        """Run, in order, the calls queued for this thread (and for threads that ended).

        A callback that raises is logged and warned about; the others still run.
        """
        me = threading.current_thread()
        while self._entries:
            with self._lock:
                index = next((i for i, (owner, _, _) in enumerate(self._entries)
                              if owner is me or not owner.is_alive()), None)
                if index is None:
                    return
                _, callback, argument = self._entries.pop(index)
            try:
                callback(argument)
            except Exception:
                where = getattr(argument, "path", argument)
                logger.exception("agentreel: on_saved callback failed for %s", where)
                warnings.warn(f"agentreel: on_saved callback failed for {where}:\n"
                              + traceback.format_exc(), RuntimeWarning, stacklevel=3)

    def clear(self) -> None:
        """Drop every queued call (in a forked child: they belong to the parent; the lock
        may have been held by a thread that does not exist here)."""
        self._lock = threading.Lock()
        self._entries = []
