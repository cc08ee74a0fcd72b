"""Hold Ctrl-C for the few microseconds the engine needs to keep its books straight.

A ``KeyboardInterrupt`` may land between any two bytecodes. Landing between sending a
message and recording that it was sent, or between receiving a message and handling
it, or halfway through writing one to the encoder's socket, left the engine waiting
forever for a reply that would never come. :func:`deferred_interrupts` keeps SIGINT
for the length of such a step and delivers it right after, to whatever handler was
installed: the interrupt still reaches the caller, one step later.

>>> with deferred_interrupts():
...     pass
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["deferred_interrupts"]


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Deliver SIGINT at the end of the block instead of inside it (main thread only;
    signal handlers only ever run there, so other threads need nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN / SIG_DFL: no exception can come from it
        yield
        return
    held: list = []
    try:
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            previous(signal.SIGINT, held[0])
