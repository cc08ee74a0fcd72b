"""Where a finished episode goes: the log's sinks, then the user's callback.

Shared by the single-env and vector statistics wrappers so that neither holds
its own copy of the delivery rules:

* sinks opened from paths belong to the emitter and are closed by
  :meth:`EpisodeEmitter.close`; sink objects passed in belong to the caller (they
  may be shared by several envs) and are only flushed, if they can be;
* a sink that fails with ``OSError`` (a full disk, a vanished network share) is
  reported loudly (``logging`` error + ``RuntimeWarning``) and does not break the
  agent's loop: the records it could not take are kept (up to
  :data:`BACKLOG_LIMIT` per sink) and written, in order, as soon as it works
  again -- at the next episode or at :meth:`EpisodeEmitter.close`;
* any other error from a sink propagates (a bug should stop the run loudly), but
  the wrapper's own statistics are already updated by then;
* an error from ``on_episode_end`` is reported with ``warnings.warn`` and the
  ``agentreel`` logger and does not break the agent's loop.

Example:
    >>> from agentreel.records import EpisodeRecord
    >>> seen = []
    >>> emitter = EpisodeEmitter(log=None, on_episode_end=seen.append)
    >>> emitter.emit(EpisodeRecord(index=0, episode_return=1.0, length=1))
    >>> len(seen), emitter.last_record.length
    (1, 1)
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentreel.log.sinks import CompositeSink, LogTarget, Sink, _each, is_sink, open_sinks
from agentreel.records import EpisodeRecord

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.episode_tracker import EpisodeEnd

logger = logging.getLogger("agentreel")

EpisodeCallback = Callable[[EpisodeRecord], object]

#: Records held in memory per failing sink before the oldest are dropped.
BACKLOG_LIMIT = 100_000


class EpisodeEmitter:
    """Deliver each finished :class:`EpisodeRecord` to the log and the callback.

    Args:
        log: a path, directory, sink or list of them (see :func:`agentreel.log.as_sink`).
        on_episode_end: called with every finished record, after the log.
        env_id: written into the header of a ``monitor.csv`` it opens.
        extra_keys: extra columns of a ``monitor.csv`` it opens.
    """

    def __init__(self, log: LogTarget = None, on_episode_end: EpisodeCallback | None = None,
                 *, env_id: str | None = None, extra_keys: Sequence[str] = ()) -> None:
        if on_episode_end is not None and not callable(on_episode_end):
            raise TypeError(f"on_episode_end must be callable, got {on_episode_end!r}")
        self.callback = on_episode_end
        self.sink, self._owned = open_sinks(log, env_id=env_id, extra_keys=extra_keys)
        self._last: EpisodeRecord | tuple[Any, ...] | None = None
        self.closed = False
        self._backlog: dict[int, deque[EpisodeRecord]] = {}  # id(sink) -> records held back
        self.dropped = 0  # records lost because a backlog was full

    @property
    def wants_records(self) -> bool:
        """True when a sink or a callback consumes records (else only ``last_record`` does)."""
        return self.sink is not None or self.callback is not None

    @property
    def last_record(self) -> EpisodeRecord | None:
        """The newest record (built now if it was only noted by :meth:`emit_end`)."""
        if isinstance(self._last, tuple):
            ended, index, extras, end_time = self._last
            self._last = ended.to_record(index, extras=extras, end_time=end_time)
        return self._last

    def emit_end(self, ended: EpisodeEnd, index: int, *,
                 extras: Mapping[str, Any] | None = None, end_time: float | None = None) -> None:
        """Emit ``ended.to_record(index, ...)``, built lazily when only ``last_record`` reads it.

        With no sink and no callback the record is built only if ``last_record`` is
        read: the statistics wrappers stay cheaper than Gymnasium's per step.

        >>> from agentreel.episode_tracker import EpisodeEnd
        >>> emitter = EpisodeEmitter()
        >>> emitter.emit_end(EpisodeEnd(2.0, 2, 0.1, True, False), index=3)
        >>> emitter.last_record.index
        3
        """
        end_time = time.time() if end_time is None else end_time
        if not self.wants_records:
            self._last = (ended, index, extras, end_time)
        else:
            self.emit(ended.to_record(index, extras=extras, end_time=end_time))

    def emit(self, record: EpisodeRecord) -> None:
        """Write ``record`` to the log, then call the callback."""
        self._last = record
        if not self.wants_records:
            return
        error: Exception | None = None
        for sink in _leaves(self.sink):
            try:
                self._write(sink, record)
            except Exception as exc:  # every sink gets its turn; the first error wins
                if error is None:
                    error = exc
        if error is not None:
            raise error
        if self.callback is not None:
            try:
                self.callback(record)
            except Exception as exc:
                message = (f"agentreel: on_episode_end callback {self.callback!r} raised "
                           f"{type(exc).__name__}: {exc} (episode {record.index}); "
                           "the episode is still recorded and the loop goes on")
                logger.error(message, exc_info=True)
                warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _write(self, sink: object, record: EpisodeRecord | None) -> None:
        """Write the sink's backlog, then ``record``; on ``OSError`` keep them for later."""
        backlog = self._backlog.get(id(sink))
        if backlog is None and record is not None:
            try:
                sink.write(record)  # type: ignore[attr-defined]
                return
            except OSError as exc:
                backlog = self._backlog[id(sink)] = deque(maxlen=BACKLOG_LIMIT)
                backlog.append(record)
                self._report(sink, exc, backlog)
                return
        if backlog is None:
            return
        if record is not None:
            if len(backlog) == backlog.maxlen:
                self.dropped += 1
            backlog.append(record)
        while backlog:
            try:
                sink.write(backlog[0])  # type: ignore[attr-defined]
            except OSError as exc:
                self._report(sink, exc, backlog)
                return
            backlog.popleft()
        del self._backlog[id(sink)]
        logger.warning("agentreel: the episode log %r works again; every held record is "
                       "written", sink)

    def _report(self, sink: object, exc: OSError, backlog: deque) -> None:
        message = (f"agentreel: could not write episode {backlog[-1].index} to {sink!r}: "
                   f"{exc}; {len(backlog)} record(s) held in memory and retried at the next "
                   "episode (free some space or fix the path); the agent's loop goes on")
        logger.error(message)
        warnings.warn(message, RuntimeWarning, stacklevel=5)

    def add_sink(self, sink: Sink, *, owned: bool = False) -> None:
        """Also write every record to ``sink`` from now on; ``owned=True``: :meth:`close` closes it."""
        if not is_sink(sink):
            raise TypeError(f"a sink needs write(record) and close(), got {sink!r}")
        self.sink = sink if self.sink is None else CompositeSink([self.sink, sink])
        if owned:
            self._owned.append(sink)

    def close(self) -> None:
        """Close the sinks this emitter opened and flush borrowed ones (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for sink in _leaves(self.sink):  # a last try for records held back by a full disk
            self._write(sink, None)
        lost = sum(len(b) for b in self._backlog.values()) + self.dropped
        if lost:
            message = (f"agentreel: {lost} episode record(s) could not be written to the log "
                       "(see the errors above) and are lost")
            logger.error(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        owned_ids = {id(leaf) for s in self._owned for leaf in _leaves(s)}
        borrowed = [s for s in _leaves(self.sink) if id(s) not in owned_ids]
        owned, self._owned = self._owned, []
        _each(owned, lambda s: s.close())
        _each([s for s in borrowed if callable(getattr(s, "flush", None))],
              lambda s: s.flush())


def _leaves(sink: object) -> list[object]:
    from agentreel.log.sinks import CompositeSink

    if sink is None:
        return []
    if isinstance(sink, CompositeSink):
        return [leaf for child in sink.sinks for leaf in _leaves(child)]
    return [sink]


class EmitsEpisodes:
    """``add_sink`` and ``last_record`` for a wrapper that owns an ``_emitter``."""

    _emitter: EpisodeEmitter

    def add_sink(self, sink: Sink, *, owned: bool = False) -> None:
        """Also write every finished episode to ``sink`` (e.g. a tracker) from now on.

        With ``owned=True`` the sink is closed by ``close()``; otherwise it is only
        flushed there and stays the caller's to close.
        """
        self._emitter.add_sink(sink, owned=owned)

    @property
    def last_record(self) -> EpisodeRecord | None:
        """The record of the most recently finished episode (``None`` before the first)."""
        return self._emitter.last_record
