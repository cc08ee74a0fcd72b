"""Calling a user's callback: an error is reported loudly and the agent's loop goes on.

Used for every callback agentreel calls (``on_video_saved``, ``on_episode_end``,
``on_close``, trackers' video hooks).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("agentreel")


def call_hook(kind: str, hook: Callable[[Any], object], arg: Any, about: str, *,
              goes_on: str = "the recording goes on", stacklevel: int = 3) -> None:
    """Call ``hook(arg)``; if it raises, say so loudly (log + ``RuntimeWarning``) and go on.

    ``about`` names what the call was for; ``goes_on`` says what happens next.

    >>> call_hook("on_video_saved", print, "hello", "a video")
    hello
    """
    try:
        hook(arg)
    except Exception as exc:  # a user's callback must not kill the agent's loop
        message = (f"agentreel: {kind} callback {hook!r} raised {type(exc).__name__}: {exc} "
                   f"({about}); {goes_on}")
        logger.error(message, exc_info=True)
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)
