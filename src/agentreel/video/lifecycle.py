"""What every video engine of the process needs at exit and after ``fork()``.

Engines register here when they are built. At interpreter exit each one still alive is
closed (its open videos are finished and written). In a child started with
``os.fork()`` (or multiprocessing's fork start method), every engine drops what belongs
to the parent (its encoder, rings and videos) without touching it, and starts afresh
on first use.

>>> class Engine:
...     def close(self): print("closed")
...     def _forget_parent(self): print("forgot the parent's encoder")
>>> engine = Engine()
>>> track(engine)
>>> forget_parents_in_child()
forgot the parent's encoder
>>> close_at_exit(weakref.ref(engine))
closed
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from typing import Any

__all__ = ["close_at_exit", "forget_parents_in_child", "track"]

logger = logging.getLogger("agentreel.video")

_ENGINES: weakref.WeakSet[Any] = weakref.WeakSet()


def track(engine: Any, at_exit: str = "close") -> None:
    """Call ``engine.<at_exit>()`` at interpreter exit (``close`` unless the engine has an
    exit of its own) and make it forget its parent after fork."""
    _ENGINES.add(engine)
    atexit.register(close_at_exit, weakref.ref(engine), at_exit)


def close_at_exit(ref: weakref.ref, at_exit: str = "close") -> None:
    """Close the engine behind ``ref`` (``engine.<at_exit>()``) if it is still alive; an
    error is logged."""
    engine = ref()
    if engine is not None:
        try:
            getattr(engine, at_exit)()
        except Exception:
            logger.exception("agentreel: closing the video engine at exit failed")


def forget_parents_in_child() -> None:
    """In a forked child: every engine drops the parent's encoder, rings and videos."""
    for engine in list(_ENGINES):
        engine._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget_parents_in_child)
