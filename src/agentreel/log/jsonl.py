"""The JSON Lines episode log: one :meth:`EpisodeRecord.to_dict` object per line.

Each record is appended with one ``os.write`` on an ``O_APPEND`` descriptor, so
it is on disk (in the page cache) when the episode ends, a killed process leaves
no partial line, and several processes may append to the same file at once.

Example:
    >>> import os, tempfile
    >>> from agentreel.core.records import EpisodeRecord
    >>> path = os.path.join(tempfile.mkdtemp(), "episodes.jsonl")
    >>> sink = JsonlSink(path)
    >>> sink.write(EpisodeRecord(index=0, episode_return=3.0, length=3))
    >>> sink.close()
    >>> from agentreel.log.reader import read_episodes
    >>> [r.episode_return for r in read_episodes(path)]
    [3.0]
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

from agentreel.core.records import EpisodeRecord, is_encodable
from agentreel.log._appendfile import AppendFile, complete_lines


class JsonlSink:
    """Append each finished episode to a ``.jsonl`` file as one JSON object.

    Args:
        path: the file; it is appended to (never truncated), so several runs or
            processes may share it.
        fsync: ``os.fsync`` after every record (survives power loss, slower).
        t_start: the time (``time.time()``) that ``elapsed`` counts from for
            records that do not carry it yet; defaults to when the sink opened.

    A record whose ``elapsed`` is ``None`` is written with ``elapsed = end_time -
    t_start`` (Stable-Baselines3's meaning of ``t``, rounded to 6 places); the
    record itself is not changed. ``duration`` is Gymnasium's ``t`` (seconds since
    the episode's reset).

    An ``extras`` value JSON cannot encode (a ``set``, ``bytes``, an object) is written
    as its ``repr()`` string, with one ``RuntimeWarning`` per key: the row is never lost.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False,
                 t_start: float | None = None) -> None:
        self.t_start = time.time() if t_start is None else float(t_start)
        self._file = AppendFile(path, fsync=fsync)
        self.path = self._file.path
        self._warned_keys: set[str] = set()

    def write(self, record: EpisodeRecord) -> None:
        """Append ``record`` as one line."""
        for key, value in record.extras.items():
            if str(key) not in self._warned_keys and not is_encodable(value):
                self._warned_keys.add(str(key))
                warnings.warn(
                    f"agentreel: info[{key!r}] is a {type(value).__name__}, which JSON cannot "
                    f"encode; {self.path.name} stores its repr() string instead (once per key)",
                    RuntimeWarning, stacklevel=4)
        row = record.to_dict()
        if row["elapsed"] is None:
            row["elapsed"] = round(record.end_time - self.t_start, 6)
        line = json.dumps(row, separators=(",", ":")) + "\n"
        self._file.append(line)

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"

    def __deepcopy__(self, memo: dict[int, object]) -> JsonlSink:
        return self


def read_jsonl(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """Read a JSON Lines episode log (one :meth:`EpisodeRecord.to_dict` per line)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(complete_lines(text), start=1):
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{number}: not an episode record: {exc}") from exc
    return records
