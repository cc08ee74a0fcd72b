"""The sink contract, fan-out, and turning a ``log=`` argument into sinks.

A sink is any object with ``write(record)`` and ``close()``. ``log=`` in the
statistics wrappers accepts:

* a path ending in ``.csv`` (e.g. ``run/monitor.csv``) → :class:`MonitorCsvSink`;
* a path ending in ``.jsonl`` → :class:`JsonlSink`;
* a directory (an existing one, or a path with no suffix) → both
  ``monitor.csv`` and ``episodes.jsonl`` inside it;
* a sink object, or a list/tuple of any of these → a :class:`CompositeSink`.

**Rerun policy** (issue 12): a rerun into the same directory is a new run, and the
earlier run is kept. If ``monitor.csv`` or ``episodes.jsonl`` there already holds
episodes, both files are moved (with a ``UserWarning``) into a new subfolder
``earlier-run-N/`` (N = 1, 2, ...), and the new run starts fresh files. So the two
files always describe the same run, agentreel's readers and Stable-Baselines3's
``load_results`` agree, and no row is destroyed. A ``.csv`` path is treated the same
way (moved to ``earlier-run-N/`` next to it, where SB3's ``Monitor`` would truncate);
a ``.jsonl`` path is appended to (several processes may share one).

Example:
    >>> import tempfile
    >>> from agentreel.core.records import EpisodeRecord
    >>> folder = tempfile.mkdtemp()
    >>> sink = as_sink(folder, env_id="CartPole-v1")
    >>> sink.write(EpisodeRecord(index=0, episode_return=1.0, length=1))
    >>> sink.close()
    >>> sorted(p.name for p in __import__("pathlib").Path(folder).iterdir())
    ['episodes.jsonl', 'monitor.csv']
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentreel.core.records import EpisodeRecord
from agentreel.log.jsonl import JsonlSink
from agentreel.log.monitor_csv import MonitorCsvSink

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
            move_earlier_run(path.parent, [path])
            return [MonitorCsvSink(path, env_id=env_id, extra_keys=extra_keys, t_start=t_start)]
        if suffix == ".jsonl":
            return [JsonlSink(path, t_start=t_start)]
        if suffix:
            raise ValueError(
                f"log={str(path)!r}: expected a .csv or .jsonl file or a directory "
                f"(unknown suffix {suffix!r})"
            )
    path.mkdir(parents=True, exist_ok=True)
    move_earlier_run(path, [path / MONITOR_NAME, path / JSONL_NAME])
    # One start time for both files, so their ``t``/``elapsed`` agree (in any order).
    return [MonitorCsvSink(path / MONITOR_NAME, env_id=env_id, extra_keys=extra_keys,
                           t_start=t_start),
            JsonlSink(path / JSONL_NAME, t_start=t_start)]


def _episode_lines(path: Path) -> int:
    """Episode lines in a log file (0 when missing, or not a regular file: never followed)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return 0
        with open(path, "rb") as handle:
            lines = handle.read().count(b"\n")
    except OSError:
        return 0
    return max(0, lines - 2) if path.suffix.lower() == ".csv" else lines


def move_earlier_run(folder: Path, files: Sequence[Path]) -> Path | None:
    """Move ``files`` into ``folder/earlier-run-N/`` if any of them holds episodes.

    Returns the new subfolder (``None`` when there was nothing to keep). See the
    rerun policy in the module docstring.
    """
    episodes = max((_episode_lines(f) for f in files), default=0)
    if not episodes:
        return None
    number = 1
    while True:
        keep = folder / f"earlier-run-{number}"
        try:
            keep.mkdir()
            break
        except FileExistsError:
            number += 1
    for file in files:
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(file).st_mode):  # a planted link stays, to be refused
                os.replace(file, keep / file.name)
    warnings.warn(
        f"agentreel: the log {folder} already held a run ({episodes} episodes); it was moved "
        f"to {keep} and a new log starts (pass another log= folder to keep runs apart)",
        UserWarning, stacklevel=5)
    return keep
