"""The per-sink backlog: a sink wrapper that holds records while its sink fails with ``OSError``.

A full disk or a vanished network share must not break the agent's loop, and
must not lose what the sink could not take: :class:`BacklogSink` reports the
failure loudly (``logging`` error + ``RuntimeWarning``), keeps the records (up to
:data:`BACKLOG_LIMIT`) and writes them, in order, before the next record once
the sink works again -- or at :meth:`BacklogSink.retry`. Any other error from
the sink propagates (a bug should stop the run loudly).

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> class Flaky:
    ...     def __init__(self): self.broken, self.rows = True, []
    ...     def write(self, record):
    ...         if self.broken: raise OSError("disk full")
    ...         self.rows.append(record.index)
    ...     def close(self): pass
    >>> inner = Flaky(); sink = BacklogSink(inner)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sink.write(EpisodeRecord(index=0, episode_return=1.0, length=1))
    >>> inner.broken = False
    >>> sink.write(EpisodeRecord(index=1, episode_return=1.0, length=1))
    >>> inner.rows, sink.held
    ([0, 1], 0)
"""

from __future__ import annotations

import logging
import warnings
from collections import deque

from agentreel.core.records import EpisodeRecord
from agentreel.log.sinks import Sink

logger = logging.getLogger("agentreel")

#: Records held in memory per failing sink before the oldest are dropped.
BACKLOG_LIMIT = 100_000


class BacklogSink:
    """Wrap ``sink``: on ``OSError`` hold records back and write them once it works again.

    Attributes:
        sink: the wrapped sink.
        dropped: records lost because the backlog was full.
    """

    def __init__(self, sink: Sink, limit: int = BACKLOG_LIMIT) -> None:
        self.sink = sink
        self._backlog: deque[EpisodeRecord] | None = None
        self._limit = limit
        self.dropped = 0

    @property
    def held(self) -> int:
        """Records waiting for the sink to work again."""
        return 0 if self._backlog is None else len(self._backlog)

    def write(self, record: EpisodeRecord) -> None:
        """Write the held records, then ``record``; on ``OSError`` keep them for later."""
        if self._backlog is None:
            try:
                self.sink.write(record)
                return
            except OSError as exc:
                self._backlog = deque([record], maxlen=self._limit)
                self._report(exc)
                return
        if len(self._backlog) == self._backlog.maxlen:
            self.dropped += 1
        self._backlog.append(record)
        self.retry()

    def retry(self) -> None:
        """Try to write the held records now (in order); keep what still fails."""
        backlog = self._backlog
        if backlog is None:
            return
        while backlog:
            try:
                self.sink.write(backlog[0])
            except OSError as exc:
                self._report(exc)
                return
            backlog.popleft()
        self._backlog = None
        logger.warning("agentreel: the episode log %r works again; every held record is "
                       "written", self.sink)

    def close(self) -> None:
        """Close the wrapped sink."""
        self.sink.close()

    def __repr__(self) -> str:
        return f"BacklogSink({self.sink!r})"

    def _report(self, exc: OSError) -> None:
        newest = self._backlog[-1].index if self._backlog else "?"
        message = (f"agentreel: could not write episode {newest} to {self.sink!r}: "
                   f"{exc}; {self.held} record(s) held in memory and retried at the next "
                   "episode (free some space or fix the path); the agent's loop goes on")
        logger.error(message)
        warnings.warn(message, RuntimeWarning, stacklevel=5)
