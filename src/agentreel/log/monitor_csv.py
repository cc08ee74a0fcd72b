"""Stable-Baselines3's ``monitor.csv`` format, written crash-safely.

The file is exactly what ``stable_baselines3.common.monitor.Monitor`` writes, so
``stable_baselines3.common.monitor.load_results(folder)`` reads it; the reader,
:func:`read_monitor_csv`, sits here beside the writer (as in SB3's ``monitor.py``):

* line 1: ``#`` followed by the JSON object ``{"t_start": <unix time>, "env_id": "<id>"}``;
* line 2: the CSV header ``r,l,t`` followed by any extra keys;
* one row per episode: return (rounded to 6 places), length, and ``t`` =
  seconds from ``t_start`` to the end of the episode (rounded to 6 places).

That ``t`` is Stable-Baselines3's, and is the record's ``elapsed``; Gymnasium's
``t`` (seconds since the episode's reset, the record's ``duration``) is not part
of this format. String extras that a spreadsheet would run as a formula (starting
with ``= + - @``, tab or CR) are written with a leading ``'`` (:func:`neutralise`);
``read_episodes`` takes it away again. Rows are written like the ``csv`` module's default dialect
(``\\r\\n`` line ends), each with a single ``os.write``, so a row is on disk when
the episode ends and a killed process never leaves half a row.

Example:
    >>> import os, tempfile
    >>> from agentreel.core.records import EpisodeRecord
    >>> folder = tempfile.mkdtemp()
    >>> sink = MonitorCsvSink(os.path.join(folder, "monitor.csv"), env_id="CartPole-v1")
    >>> sink.write(EpisodeRecord(index=0, episode_return=12.0, length=12))
    >>> sink.close()
    >>> open(os.path.join(folder, "monitor.csv")).read().splitlines()[1]
    'r,l,t'
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentreel.core.records import EpisodeRecord, check_return, encodable
from agentreel.log._appendfile import AppendFile, complete_lines

#: The columns every monitor file starts with.
BASE_COLUMNS = ("r", "l", "t")
#: ``{rank}.monitor.csv``: one sub-env's file, as SB3's ``make_vec_env(monitor_dir=...)``
#: writes it; its rows are read with ``env_index = rank``.
RANKED_MONITOR = re.compile(r"\d+\.monitor\.csv")


def read_t_start(path: str | os.PathLike[str]) -> float | None:
    """The ``t_start`` in a monitor file's first line, or ``None`` if it has none."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    if not first.startswith("#"):
        return None
    try:
        return float(json.loads(first[1:])["t_start"])
    except (ValueError, KeyError, TypeError):
        return None


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell value a spreadsheet will not run as a formula (the leading-quote rule).

    A string starting with ``= + - @``, a tab or a carriage return gets a leading
    ``'``, unless it is a plain number (``"-1.5"``); a string that already starts with
    ``'`` gets one too, so the reader can always take exactly one away.

    >>> neutralise("=1+2"), neutralise("-1.5"), neutralise(-1.5), neutralise("'x")
    ("'=1+2", '-1.5', -1.5, "''x")
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith("'"):
        return "'" + value
    if value.startswith(FORMULA_STARTS):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def _csv_line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


class MonitorCsvSink:
    """Write each finished episode as one row of a Stable-Baselines3 ``monitor.csv``.

    Args:
        path: the file. Stable-Baselines3's reader ``load_results(folder)`` only
            looks for names ending in ``monitor.csv``.
        env_id: written in the header as ``str(env_id)`` (like SB3, ``None``
            becomes ``"None"``).
        extra_keys: columns after ``r,l,t``, filled from ``record.extras`` (an
            empty cell when a record lacks the key).
        override_existing: start a fresh file (the default, like SB3). With
            ``False`` rows are appended to an existing file and timed from its
            ``t_start``.
        fsync: ``os.fsync`` after every row.
        t_start: the log's start time (``time.time()``); defaults to now.

    Several processes must not share one monitor file (SB3 gives each its own,
    e.g. ``0.monitor.csv``); a JSON Lines log may be shared.
    """

    def __init__(self, path: str | os.PathLike[str], env_id: str | None = None,
                 extra_keys: Sequence[str] | None = None, *, override_existing: bool = True,
                 fsync: bool = False, t_start: float | None = None) -> None:
        self.env_id = env_id
        self.extra_keys: tuple[str, ...] = tuple(extra_keys or ())
        clash = set(self.extra_keys) & set(BASE_COLUMNS)
        if clash:
            raise ValueError(f"extra_keys may not repeat the base columns r, l, t: {sorted(clash)}")
        existing = None if override_existing else read_t_start(path)
        self._file = AppendFile(path, truncate=override_existing, fsync=fsync)
        self.path = self._file.path
        if existing is not None and not self._file.is_empty():
            self.t_start = existing
        else:
            self.t_start = time.time() if t_start is None else float(t_start)
            header = "#" + json.dumps({"t_start": self.t_start, "env_id": str(env_id)}) + "\n"
            # Both header lines in one write: a crash never leaves half a header.
            self._file.append(header + _csv_line((*BASE_COLUMNS, *self.extra_keys)))

    def write(self, record: EpisodeRecord) -> None:
        """Append ``record`` as one row (``t`` counted from this file's ``t_start``)."""
        t = round(record.end_time - self.t_start, 6)
        extras = record.extras
        row = [round(float(record.episode_return), 6), int(record.length), t]
        row.extend(neutralise(encodable(extras.get(k, ""))) for k in self.extra_keys)
        self._file.append(_csv_line(row))

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __repr__(self) -> str:
        return f"MonitorCsvSink({str(self.path)!r})"

    def __deepcopy__(self, memo: dict[int, object]) -> MonitorCsvSink:
        return self


def read_monitor_csv(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """Read a Stable-Baselines3 ``monitor.csv`` (ours or SB3's own)."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    lines = complete_lines(text)
    if not lines:
        return []
    if not lines[0].startswith("#"):
        raise ValueError(f"{path}: a monitor file starts with '#' and a JSON header")
    try:
        header = json.loads(lines[0][1:])
        t_start = float(header.get("t_start", 0.0))
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"{path}:1: bad monitor header: {exc}") from exc
    body = "\n".join(lines[1:]) + "\n"
    # SB3's make_vec_env(monitor_dir=...) names each sub-env's file by its rank
    rank = int(path.name.split(".")[0]) if RANKED_MONITOR.fullmatch(path.name) else None
    records = []
    for number, row in enumerate(csv.DictReader(io.StringIO(body))):
        try:
            t = float(row["t"])
            extras = {k: _parse_cell(v) for k, v in row.items()
                      if k not in ("r", "l", "t") and k is not None and v not in ("", None)}
            records.append(EpisodeRecord(
                index=number, episode_return=check_return(float(row["r"])),
                length=int(float(row["l"])),
                end_time=t_start + t, elapsed=t, extras=extras, env_index=rank,
            ))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{number + 3}: row {number + 1} is not an episode: "
                             f"{exc}") from exc
    return records


def _parse_cell(text: str) -> Any:
    if text.startswith("'"):  # neutralised on write (see neutralise): the original
        return text[1:]
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
