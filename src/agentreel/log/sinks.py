"""The sink contract, fan-out, and turning a ``log=`` argument into sinks.

A sink is any object with ``write(record)`` and ``close()``. ``log=`` in the
statistics wrappers accepts:

* a path ending in ``.csv`` (e.g. ``run/monitor.csv``) → :class:`MonitorCsvSink`;
* a path ending in ``.jsonl`` → :class:`JsonlSink`;
* a directory (an existing one, or a path with no suffix) → both
  ``monitor.csv`` and ``episodes.jsonl`` inside it;
* a sink object, or a list/tuple of any of these → a :class:`CompositeSink`.

Example:
    >>> import tempfile
    >>> from agentreel.records import EpisodeRecord
    >>> folder = tempfile.mkdtemp()
    >>> sink = as_sink(folder, env_id="CartPole-v1")
    >>> sink.write(EpisodeRecord(index=0, episode_return=1.0, length=1))
    >>> sink.close()
    >>> sorted(p.name for p in __import__("pathlib").Path(folder).iterdir())
    ['episodes.jsonl', 'monitor.csv']
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentreel.log.jsonl import JsonlSink
from agentreel.log.monitor_csv import MonitorCsvSink
from agentreel.records import EpisodeRecord

#: File names used when ``log=`` is a directory.
MONITOR_NAME = "monitor.csv"
JSONL_NAME = "episodes.jsonl"


@runtime_checkable
class Sink(Protocol):
    """Receives finished episodes (Acme's logger contract: write and close)."""

    def write(self, record: EpisodeRecord) -> None:
        """Store one finished episode."""

    def close(self) -> None:
        """Flush and release resources."""


LogTarget = str | os.PathLike | Sink | Sequence[Any] | None


class CompositeSink:
    """Fan one record out to several sinks, in order.

    Every sink gets the record even if an earlier one raises; the first error
    is re-raised afterwards. ``close()`` closes every child the same way.

    Example:
        >>> class Count:
        ...     n = 0
        ...     def write(self, record): self.n += 1
        ...     def close(self): pass
        >>> a, b = Count(), Count()
        >>> CompositeSink([a, b]).write(EpisodeRecord(index=0, episode_return=0.0, length=1))
        >>> a.n, b.n
        (1, 1)
    """

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks: list[Sink] = list(sinks)

    def write(self, record: EpisodeRecord) -> None:
        """Write ``record`` to every child sink."""
        _each(self.sinks, lambda s: s.write(record))

    def close(self) -> None:
        """Close every child sink."""
        _each(self.sinks, lambda s: s.close())

    def __repr__(self) -> str:
        return f"CompositeSink({self.sinks!r})"

    def __deepcopy__(self, memo: dict[int, object]) -> CompositeSink:
        return self


def _each(sinks: Iterable[Sink], action: Any) -> None:
    error: BaseException | None = None
    for sink in sinks:
        try:
            action(sink)
        except Exception as exc:  # every sink gets its turn; the first error wins
            if error is None:
                error = exc
    if error is not None:
        raise error


def is_sink(obj: object) -> bool:
    """True for objects with callable ``write`` and ``close``."""
    return callable(getattr(obj, "write", None)) and callable(getattr(obj, "close", None))


def as_sink(target: LogTarget, *, env_id: str | None = None,
            extra_keys: Sequence[str] = (), t_start: float | None = None) -> Sink | None:
    """Turn a path, directory, sink or list of them into one sink (``None`` stays ``None``).

    Args:
        target: see the module docstring.
        env_id: written into the header of any ``monitor.csv`` created.
        extra_keys: extra columns of any ``monitor.csv`` created.
        t_start: the log's start time (``time.time()``) written in the files it opens.
    """
    sink, _owned = open_sinks(target, env_id=env_id, extra_keys=extra_keys, t_start=t_start)
    return sink


def open_sinks(target: LogTarget, *, env_id: str | None = None, extra_keys: Sequence[str] = (),
               t_start: float | None = None) -> tuple[Sink | None, list[Sink]]:
    """Like :func:`as_sink`, also returning the sinks it opened from paths.

    The caller owns (and should close) the opened sinks; sink objects passed in
    belong to whoever made them and may be shared, so they are not listed.
    """
    owned: list[Sink] = []
    start = time.time() if t_start is None else float(t_start)
    sink = _build(target, env_id, tuple(extra_keys), start, owned)
    return sink, owned


def _build(target: LogTarget, env_id: str | None, extra_keys: tuple[str, ...], t_start: float,
           owned: list[Sink]) -> Sink | None:
    if target is None:
        return None
    if isinstance(target, (str, os.PathLike)):
        opened = _open_path(Path(target), env_id, extra_keys, t_start)
        owned.extend(opened)
        return opened[0] if len(opened) == 1 else CompositeSink(opened)
    if is_sink(target):
        return target  # type: ignore[return-value]
    if isinstance(target, (list, tuple)):
        children = [_build(t, env_id, extra_keys, t_start, owned) for t in target]
        return CompositeSink([c for c in children if c is not None])
    raise TypeError(
        "log= must be a path (.csv, .jsonl or a directory), an object with write() and "
        f"close(), or a list of those; got {type(target).__name__}"
    )


def _open_path(path: Path, env_id: str | None, extra_keys: tuple[str, ...],
               t_start: float) -> list[Sink]:
    suffix = path.suffix.lower()
    if not path.is_dir():
        if suffix == ".csv":
            return [MonitorCsvSink(path, env_id=env_id, extra_keys=extra_keys, t_start=t_start)]
        if suffix == ".jsonl":
            return [JsonlSink(path, t_start=t_start)]
        if suffix:
            raise ValueError(
                f"log={str(path)!r}: expected a .csv or .jsonl file or a directory "
                f"(unknown suffix {suffix!r})"
            )
    path.mkdir(parents=True, exist_ok=True)
    # One start time for both files, so their ``t``/``elapsed`` agree (in any order).
    return [MonitorCsvSink(path / MONITOR_NAME, env_id=env_id, extra_keys=extra_keys,
                           t_start=t_start),
            JsonlSink(path / JSONL_NAME, t_start=t_start)]
