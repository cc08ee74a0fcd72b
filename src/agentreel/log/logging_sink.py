"""A sink that writes one line per episode through Python's standard ``logging``.

Replaces the hand-written logging of Gymnasium's recording tutorial::

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    env = RecordEpisodeStatistics(env, log=LoggingSink())
    # Episode 12: reward=23.0, length=23, time=0.05s

Example:
    >>> import logging, sys
    >>> from agentreel.core.records import EpisodeRecord
    >>> handler = logging.StreamHandler(sys.stdout)
    >>> logging.getLogger("demo").addHandler(handler)
    >>> sink = LoggingSink("demo", level=logging.WARNING)
    >>> sink.write(EpisodeRecord(index=12, episode_return=23.0, length=23, duration=0.05))
    Episode 12: reward=23.0, length=23, time=0.05s
    >>> logging.getLogger("demo").removeHandler(handler)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from agentreel.core.records import EpisodeRecord

__all__ = ["LoggingSink", "format_episode"]


def format_episode(record: EpisodeRecord, extra_keys: Sequence[str] = ()) -> str:
    """The tutorial's line: ``Episode 12: reward=23.0, length=23, time=0.05s``.

    Vector sub-envs get ``[env 2]``; ``extra_keys`` found in ``record.extras`` are appended.

    >>> format_episode(EpisodeRecord(index=3, episode_return=1.25, length=4, duration=0.1,
    ...                              env_index=2, extras={"is_success": True}), ["is_success"])
    'Episode 3 [env 2]: reward=1.2, length=4, time=0.10s, is_success=True'
    """
    where = "" if record.env_index is None else f" [env {record.env_index}]"
    line = (f"Episode {record.index}{where}: reward={record.episode_return:.1f}, "
            f"length={record.length}, time={record.duration:.2f}s")
    for key in extra_keys:
        if key in record.extras:
            line += f", {key}={record.extras[key]}"
    return line


class LoggingSink:
    """Log each finished episode as one line.

    Args:
        logger: a logger name (default ``"agentreel.episodes"``) or a :class:`logging.Logger`.
        level: the level of each line (default ``logging.INFO``).
        every: log every ``every``-th episode only (by ``record.index``); 1 logs all.
        extra_keys: keys of ``record.extras`` to append (``info_keywords=`` of the wrapper).
        format: ``format(record) -> str`` to replace :func:`format_episode`.

    Nothing is configured on the logger: set up handlers as usual
    (``logging.basicConfig(level=logging.INFO, format="%(message)s")``).
    """

    def __init__(
        self,
        logger: str | logging.Logger = "agentreel.episodes",
        *,
        level: int = logging.INFO,
        every: int = 1,
        extra_keys: Sequence[str] = (),
        format: Callable[[EpisodeRecord], str] | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number >= 1, got {every!r}")
        if isinstance(extra_keys, str):
            raise TypeError("extra_keys must be a sequence of keys, not one string")
        self.logger = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        self.level = level
        self.every = every
        self.extra_keys = tuple(extra_keys)
        self.format = format

    def write(self, record: EpisodeRecord) -> None:
        """Log one line for ``record`` (skipped unless ``record.index % every == 0``)."""
        if record.index % self.every or not self.logger.isEnabledFor(self.level):
            return
        text = self.format(record) if self.format else format_episode(record, self.extra_keys)
        self.logger.log(self.level, text)

    def close(self) -> None:
        """Nothing to release (handlers belong to the logging configuration)."""

    def __repr__(self) -> str:
        return f"LoggingSink({self.logger.name!r})"
