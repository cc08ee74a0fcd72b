"""The driver's side of the files: watch the workers' logs, then merge them into one run.

Workers append committed episodes to ``OUT/.agentreel-parts/*.jsonl`` (see
:mod:`agentreel.evaluate.worker`). :class:`PartsWatcher` reads what is new in
those files (for the progress bar and to know which episodes are done), and
:func:`merge_run` writes the run folder's single ``episodes.jsonl`` and
``monitor.csv``, sorted by episode index, then removes the parts folder.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from agentreel.log import JsonlSink, read_episodes
    >>> out = Path(tempfile.mkdtemp())
    >>> for name, index in (("shard-1-attempt-0", 1), ("shard-0-attempt-0", 0)):
    ...     sink = JsonlSink(out / PARTS_DIR / f"{name}.jsonl")
    ...     sink.write(EpisodeRecord(index=index, episode_return=float(index), length=1))
    ...     sink.close()
    >>> watcher = PartsWatcher(out / PARTS_DIR)
    >>> sorted(watcher.poll())
    [0, 1]
    >>> _ = merge_run(out, watcher.records(), env_id="CartPole-v1", t_start=0.0)
    >>> [r.index for r in read_episodes(out)], (out / PARTS_DIR).exists()
    ([0, 1], False)
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from agentreel.core.records import EpisodeRecord
from agentreel.evaluate.plan import PARTS_DIR
from agentreel.log.jsonl import JsonlSink
from agentreel.log.monitor_csv import MonitorCsvSink
from agentreel.log.sinks import JSONL_NAME, MONITOR_NAME

__all__ = ["PartsWatcher", "merge_run", "PARTS_DIR"]


class PartsWatcher:
    """Incrementally read the workers' JSON Lines logs in ``folder``.

    Each :meth:`poll` reads only the bytes appended since the last one (whole
    lines only), so polling a long run stays cheap. The first record of an
    episode index wins; a later duplicate (which the driver's rerun logic never
    produces) is counted in :attr:`duplicates` and dropped.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._offsets: dict[Path, int] = {}
        self._records: dict[int, EpisodeRecord] = {}
        self.duplicates = 0
        self.steps = 0
        self.last: EpisodeRecord | None = None

    def poll(self) -> list[int]:
        """Read new lines; return the episode indices committed since the last poll."""
        new: list[int] = []
        for path in sorted(self.folder.glob("*.jsonl")):
            offset = self._offsets.get(path, 0)
            try:
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1  # only whole lines; the rest is still being written
            self._offsets[path] = offset + end
            for line in data[:end].decode("utf-8").splitlines():
                if line.strip():
                    self._add(EpisodeRecord.from_dict(json.loads(line)), new)
        return new

    def _add(self, record: EpisodeRecord, new: list[int]) -> None:
        if record.index in self._records:
            self.duplicates += 1
            return
        self._records[record.index] = record
        self.steps += record.length
        self.last = record
        new.append(record.index)

    @property
    def done(self) -> set[int]:
        """The episode indices committed so far."""
        return set(self._records)

    def records(self) -> list[EpisodeRecord]:
        """The committed records, sorted by episode index."""
        return [self._records[i] for i in sorted(self._records)]


def merge_run(out: str | os.PathLike[str], records: Iterable[EpisodeRecord], *, env_id: str,
              t_start: float) -> list[EpisodeRecord]:
    """Write ``OUT/episodes.jsonl`` and ``OUT/monitor.csv`` from ``records``, then drop the parts.

    Records are written in episode-index order, with ``elapsed`` (Stable-Baselines3's
    ``t``) counted from ``t_start``, the run's start. Both files are written
    in the parts folder and moved into place, so they appear complete.

    Returns:
        The records as written.
    """
    out = Path(out)
    parts = out / PARTS_DIR
    merged_dir = parts / "merged"
    merged_dir.mkdir(parents=True, exist_ok=True)
    ordered = sorted(records, key=lambda r: r.index)
    extra_keys = sorted({key for r in ordered for key in r.extras})
    monitor = MonitorCsvSink(merged_dir / MONITOR_NAME, env_id=env_id, extra_keys=extra_keys,
                             t_start=t_start)
    jsonl = JsonlSink(merged_dir / JSONL_NAME, t_start=t_start)
    written = []
    try:
        for record in ordered:
            record = record.replace(elapsed=round(record.end_time - t_start, 6))
            monitor.write(record)
            jsonl.write(record)
            written.append(record)
    finally:
        monitor.close()
        jsonl.close()
    for name in (MONITOR_NAME, JSONL_NAME):
        os.replace(merged_dir / name, out / name)
    shutil.rmtree(parts, ignore_errors=True)
    return written
