"""Read episode logs back as :class:`EpisodeRecord` lists.

``read_episodes`` takes a ``.jsonl`` file, a ``monitor.csv`` file, or a
directory. In a directory it reads every ``*.jsonl`` and every
``*monitor.csv`` (not recursively) and merges them in end-time order.

**When both formats describe the same run** (the rule): a JSON Lines file and a
monitor file in the same directory are the same run when their names share a
*run prefix* — the name minus ``monitor.csv`` for the CSV, and minus
``.jsonl`` and then a trailing ``episodes`` for the JSON Lines file, ignoring
separators ``.``, ``_``, ``-``. So ``monitor.csv`` pairs with
``episodes.jsonl`` (what ``log=<directory>`` writes) and ``3.monitor.csv`` with
``3.episodes.jsonl`` or ``3.jsonl``. The JSON Lines file wins, because it holds
everything (Gymnasium's ``t``, terminated/truncated, seeds, sub-env index); the
paired CSV is skipped.

What a monitor file cannot hold comes back as defaults: ``duration`` 0.0,
``terminated``/``truncated`` False, ``seed`` None. Its ``t`` (seconds since the
file's ``t_start``, Stable-Baselines3's meaning) becomes ``elapsed``, and
``end_time`` is ``t_start + t``; extra columns go to ``extras``.

**Never the emptier of two paired logs, silently:** when the paired CSV holds more
episodes than the JSON Lines file (for example the JSON Lines file was emptied, or
written by a crashed older version), the CSV is read instead, with a ``UserWarning``
naming both files and their counts.

A last line cut short (no line end, e.g. written by a tool that is not crash
safe) is ignored; a malformed line anywhere else is an error naming the file and
the line (a line that is not a JSON object, a field of the wrong type such as
``"terminated": "false"``, a return beyond ±1e100: see
:meth:`~agentreel.core.records.EpisodeRecord.from_dict`).

Example:
    >>> import os, tempfile
    >>> from agentreel.log.sinks import as_sink
    >>> from agentreel.core.records import EpisodeRecord
    >>> folder = tempfile.mkdtemp()
    >>> sink = as_sink(folder)
    >>> sink.write(EpisodeRecord(index=0, episode_return=2.0, length=2))
    >>> sink.close()
    >>> [(r.index, r.episode_return) for r in read_episodes(folder)]  # jsonl preferred
    [(0, 2.0)]
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from agentreel.core.records import EpisodeRecord
from agentreel.log.jsonl import read_jsonl
from agentreel.log.monitor_csv import read_monitor_csv

__all__ = ["log_files", "read_episodes", "read_file", "read_jsonl", "read_monitor_csv",
           "run_prefix"]

_SEPARATORS = "._-"


def read_episodes(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """All episodes in a ``.jsonl`` file, a ``monitor.csv`` file, or a directory of them.

    A single file's records come back in file order; several files are merged
    by ``end_time`` (stable), and when their indexes repeat (one log per sub-env,
    e.g. ``0.monitor.csv``, ``1.monitor.csv``) the episodes are numbered again in
    that order. See the module docstring for the pairing rule.
    """
    path = Path(path)
    if path.is_dir():
        files = log_files(path)
        records = [rec for f in files for rec in _fuller(path, f)]
        if len(files) > 1:
            records.sort(key=lambda r: r.end_time)
            if len({r.index for r in records}) < len(records):
                # one log per sub-env (each counting from 0): number the run's episodes
                records = [r.replace(index=i) for i, r in enumerate(records)]
        return records
    if not path.exists():
        raise FileNotFoundError(f"no episode log at {path}")
    return read_file(path)


def read_file(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """Read one log file; the format is chosen by its suffix (``.jsonl`` or ``.csv``)."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        return read_jsonl(path)
    if path.suffix.lower() == ".csv":
        return read_monitor_csv(path)
    raise ValueError(f"{path}: not an episode log (expected .jsonl or monitor .csv)")


def log_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The log files :func:`read_episodes` reads in ``folder``, after pairing."""
    folder = Path(folder)
    jsonl = sorted(p for p in folder.glob("*.jsonl") if p.is_file())
    monitors = sorted(p for p in folder.glob("*monitor.csv") if p.is_file())
    covered = {run_prefix(p) for p in jsonl}
    return jsonl + [p for p in monitors if run_prefix(p) not in covered]


def _fuller(folder: Path, path: Path) -> list[EpisodeRecord]:
    """``path``'s records, or its paired monitor file's when that holds more episodes."""
    records = read_file(path)
    if path.suffix.lower() != ".jsonl":
        return records
    prefix = run_prefix(path)
    for monitor in folder.glob("*monitor.csv"):
        if not monitor.is_file() or run_prefix(monitor) != prefix:
            continue
        with open(monitor, "rb") as handle:
            rows = handle.read().count(b"\n") - 2  # the two header lines
        if rows <= len(records):
            continue
        try:
            from_csv = read_monitor_csv(monitor)
        except ValueError:
            continue
        if len(from_csv) > len(records):
            warnings.warn(
                f"{path} holds {len(records)} episodes but its paired {monitor.name} holds "
                f"{len(from_csv)}: reading {monitor} (the fuller log)", UserWarning,
                stacklevel=3)
            return from_csv
    return records


def run_prefix(path: str | os.PathLike[str]) -> str:
    """The name two files of the same run share (see the module docstring)."""
    name = Path(path).name
    if name.endswith("monitor.csv"):
        stem = name[: -len("monitor.csv")]
    else:
        stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else Path(name).stem
        stem = stem.rstrip(_SEPARATORS)
        if stem.endswith("episodes"):
            stem = stem[: -len("episodes")]
    return stem.rstrip(_SEPARATORS)
