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
``terminated``/``truncated`` False, ``seed`` None; ``env_index`` is the rank in a
name like ``3.monitor.csv`` (SB3's ``make_vec_env(monitor_dir=...)``), else None. Its ``t`` (seconds since the
file's ``t_start``, Stable-Baselines3's meaning) becomes ``elapsed``, and
``end_time`` is ``t_start + t``; extra columns go to ``extras``.

A last line cut short (no line end, e.g. written by a tool that is not crash
safe) is ignored; a malformed line anywhere else is an error.

Example:
    >>> import os, tempfile
    >>> from agentreel.log.sinks import as_sink
    >>> from agentreel.records import EpisodeRecord
    >>> folder = tempfile.mkdtemp()
    >>> sink = as_sink(folder)
    >>> sink.write(EpisodeRecord(index=0, episode_return=2.0, length=2))
    >>> sink.close()
    >>> [(r.index, r.episode_return) for r in read_episodes(folder)]  # jsonl preferred
    [(0, 2.0)]
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from agentreel.records import EpisodeRecord

_SEPARATORS = "._-"
#: ``{rank}.monitor.csv``: one sub-env's file, as SB3's ``make_vec_env(monitor_dir=...)`` writes it.
RANKED_MONITOR = re.compile(r"\d+\.monitor\.csv")


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
        records = [rec for f in files for rec in read_file(f)]
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


def _complete_lines(text: str) -> list[str]:
    lines = text.split("\n")
    # The piece after the last line end is either "" or a line cut short.
    return lines[:-1]


def read_jsonl(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """Read a JSON Lines episode log (one :meth:`EpisodeRecord.to_dict` per line)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(_complete_lines(text), start=1):
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not an episode record: {exc}") from exc
    return records


def read_monitor_csv(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """Read a Stable-Baselines3 ``monitor.csv`` (ours or SB3's own)."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    lines = _complete_lines(text)
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
                index=number, episode_return=float(row["r"]), length=int(float(row["l"])),
                end_time=t_start + t, elapsed=t, extras=extras, env_index=rank,
            ))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: row {number + 1} is not an episode: {exc}") from exc
    return records


def _parse_cell(text: str) -> Any:
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
