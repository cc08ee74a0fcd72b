"""Where a finished episode goes: the log's sinks, then the user's callback.

Shared by the single-env and vector statistics wrappers so that neither holds
its own copy of the delivery rules. The emitter is built from Acme-style sink
wrappers, put together once here:

* the ``elapsed`` of a record (seconds since the log began, SB3's ``t``) is set
  once, before any sink sees it, from the emitter's start time (which the log
  files it opens also write in their headers); sinks never change a record;
* every sink sits behind a :class:`~agentreel.log.backlog.BacklogSink`: one that
  fails with ``OSError`` (a full disk) is reported loudly and its records are
  kept and written once it works again -- at the next episode or at
  :meth:`EpisodeEmitter.close` -- while the agent's loop goes on;
* a :class:`~agentreel.log.sinks.CompositeSink` fans the record out: any other
  error from a sink propagates after every sink had its turn (a bug should stop
  the run loudly), but the wrapper's own statistics are already updated by then;
* sinks opened from paths belong to the emitter and are closed by
  :meth:`EpisodeEmitter.close`; sink objects passed in belong to the caller (they
  may be shared by several envs) and are only flushed, if they can be;
* an error from ``on_episode_end`` is reported with ``warnings.warn`` and the
  ``agentreel`` logger and does not break the agent's loop.

Example:
    >>> from agentreel.core.records import EpisodeRecord
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

from agentreel.base.hooks import call_hook
from agentreel.core.records import EpisodeRecord
from agentreel.log.backlog import BacklogSink
from agentreel.log.sinks import CompositeSink, LogTarget, Sink, _each, is_sink, open_sinks

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.core.episode_tracker import EpisodeEnd

logger = logging.getLogger("agentreel")

EpisodeCallback = Callable[[EpisodeRecord], object]


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
        self.t_start = time.time()
        self.sink, self._owned = open_sinks(log, env_id=env_id, extra_keys=extra_keys,
                                            t_start=self.t_start)
        self._outlets = [BacklogSink(leaf) for leaf in leaves(self.sink)]
        self._out = CompositeSink(self._outlets)
        self._last: EpisodeRecord | tuple[Any, ...] | None = None
        self.closed = False

    @property
    def wants_records(self) -> bool:
        """True when a sink or a callback consumes records (else only ``last_record`` does)."""
        return self.sink is not None or self.callback is not None

    @property
    def last_record(self) -> EpisodeRecord | None:
        """The newest record (built now if it was only noted by :meth:`emit_end`)."""
        last = self._last
        if isinstance(last, tuple):
            ended, index, extras, end_time = last
            last = self._last = ended.to_record(index, extras=extras, end_time=end_time)
        return last

    def emit_end(self, ended: EpisodeEnd, index: int, *,
                 extras: Mapping[str, Any] | None = None, end_time: float | None = None,
                 video: str | None = None) -> None:
        """Emit ``ended.to_record(index, ...)``, built lazily when only ``last_record`` reads it.

        ``video`` names the episode's video file, when one was kept.

        With no sink and no callback the record is built only if ``last_record`` is
        read: the statistics wrappers stay cheaper than Gymnasium's per step.

        >>> from agentreel.core.episode_tracker import EpisodeEnd
        >>> emitter = EpisodeEmitter()
        >>> emitter.emit_end(EpisodeEnd(2.0, 2, 0.1, True, False), index=3)
        >>> emitter.last_record.index
        3
        """
        end_time = time.time() if end_time is None else end_time
        if not self.wants_records:
            self._last = (ended, index, extras, end_time)
        else:
            record = ended.to_record(index, extras=extras, end_time=end_time)
            self.emit(record if video is None else record.replace(video=video))

    def emit(self, record: EpisodeRecord) -> None:
        """Write ``record`` to the log (with ``elapsed`` set), then call the callback."""
        if self._outlets and record.elapsed is None:
            record = record.replace(elapsed=round(record.end_time - self.t_start, 6))
        self._last = record
        if not self.wants_records:
            return
        self._out.write(record)
        if self.callback is not None:
            call_hook("on_episode_end", self.callback, record, f"episode {record.index}",
                      goes_on="the episode is still recorded and the loop goes on", stacklevel=5)

    def add_sink(self, sink: Sink, *, owned: bool = False) -> None:
        """Also write every record to ``sink`` from now on; ``owned=True``: :meth:`close` closes it."""
        if not is_sink(sink):
            raise TypeError(f"a sink needs write(record) and close(), got {sink!r}")
        self.sink = sink if self.sink is None else CompositeSink([self.sink, sink])
        self._outlets.extend(BacklogSink(leaf) for leaf in leaves(sink))
        self._out = CompositeSink(self._outlets)
        if owned:
            self._owned.append(sink)

    def close(self) -> None:
        """Close the sinks this emitter opened and flush borrowed ones (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for outlet in self._outlets:  # a last try for records held back by a full disk
            outlet.retry()
        lost = sum(outlet.held + outlet.dropped for outlet in self._outlets)
        if lost:
            message = (f"agentreel: {lost} episode record(s) could not be written to the log "
                       "(see the errors above) and are lost")
            logger.error(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        owned_ids = {id(leaf) for s in self._owned for leaf in leaves(s)}
        borrowed = [s for s in leaves(self.sink) if id(s) not in owned_ids]
        owned, self._owned = self._owned, []
        _each(owned, lambda s: s.close())
        _each([s for s in borrowed if callable(getattr(s, "flush", None))],
              lambda s: s.flush())


def leaves(sink: object) -> list[Sink]:
    """The sinks inside ``sink``, with composites flattened (``None``: none)."""
    if sink is None:
        return []
    if isinstance(sink, CompositeSink):
        return [leaf for child in sink.sinks for leaf in leaves(child)]
    return [sink]  # type: ignore[list-item]


def spec_env_id(env: Any) -> str | None:
    """The registered id of ``env`` (``env.spec.id``), or ``None``."""
    try:
        spec = env.spec
    except Exception:  # a broken spec property must not stop the wrapper
        return None
    return getattr(spec, "id", None)


class EmitsEpisodes:
    """The episode log of a statistics wrapper: queues, count, ``add_sink``, ``last_record``.

    Attributes (Gymnasium's): ``episode_count`` and the ``return_queue``,
    ``length_queue`` and ``time_queue`` of the last ``buffer_length`` episodes.
    """

    _emitter: EpisodeEmitter
    _stats_key: str
    _info_keywords: tuple[str, ...]
    episode_count: int
    return_queue: deque[Any]
    length_queue: deque[Any]
    time_queue: deque[Any]

    def _start_log(self, env: Any, buffer_length: int, stats_key: str,
                   info_keywords: Sequence[str], log: LogTarget, env_id: str | None,
                   on_episode_end: EpisodeCallback | None) -> None:
        """Check and keep the log arguments both statistics wrappers take."""
        if isinstance(info_keywords, str):
            raise TypeError("info_keywords must be a sequence of keys, not one string")
        self._stats_key = stats_key
        self._info_keywords = tuple(info_keywords)
        self.episode_count = 0
        self.time_queue = deque(maxlen=buffer_length)
        self.return_queue = deque(maxlen=buffer_length)
        self.length_queue = deque(maxlen=buffer_length)
        self._emitter = EpisodeEmitter(
            log, on_episode_end, env_id=env_id if env_id is not None else spec_env_id(env),
            extra_keys=self._info_keywords,
        )

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
