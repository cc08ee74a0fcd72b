"""Read a run folder back: its episode records and its videos, joined.

A run folder is what ``agentreel record`` (or the wrappers with ``log=folder``
and ``sidecar=True``) writes: ``episodes.jsonl`` / ``monitor.csv`` (one row per
episode) and videos ``NAME.mp4`` each with a JSON sidecar ``NAME.json`` (keys
``path, frames, fps, width, height, format, tags``). Only sidecars describe
videos: a video file without one is not listed.

How a video is joined to its episode's :class:`~agentreel.records.EpisodeRecord`:

* single-env runs: ``tags["episode_id"]`` is the record's ``index``;
* per-env vector recordings (``tags["env_index"]`` set, names
  ``PREFIX-env-{i}-episode-{k}``): the ``k``-th record (``k = episode_id``) of
  sub-env ``i``, in log order;
* a tiled vector video in a run whose records carry ``env_index`` counts
  episodes of sub-env 0, so it is joined like a per-env video of env 0.

Example:
    >>> import tempfile
    >>> from agentreel.run import record_run
    >>> folder = record_run("CartPole-v1", episodes=2, out=tempfile.mkdtemp(),
    ...                     policy="random", seed=0, progress=False, report=False).out
    >>> run = RunFolder(folder)
    >>> len(run.records), [v.episode for v in run.videos]
    (2, [0, 1])
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentreel.log.reader import read_episodes
from agentreel.records import EpisodeRecord, VideoSaved
from agentreel.videofiles import VIDEO_SUFFIXES, find_videos

__all__ = ["RunFolder", "RunVideo", "load_run", "find_videos", "join_videos", "VIDEO_SUFFIXES"]

#: A video of a run: the :class:`~agentreel.records.VideoSaved` read back from its
#: sidecar, with ``record`` set to its episode when one was found.
RunVideo = VideoSaved


def join_videos(videos: list[VideoSaved], records: list[EpisodeRecord]) -> list[VideoSaved]:
    """Attach each video's :class:`EpisodeRecord` (rules in the module docstring), sorted.

    The result is in episode order: by the joined record's position in the log,
    then by ``episode_id``, ``env_index`` and ``step_id``.
    """
    by_index = {r.index: r for r in records}
    per_env: dict[int, list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        if r.env_index is not None:
            per_env[int(r.env_index)].append(r)
    vector_run = bool(per_env)
    position = {id(r): i for i, r in enumerate(records)}
    joined = []
    for video in videos:
        record = None
        if video.episode_id is not None and video.episode_id >= 0:
            env = video.env_index if video.env_index is not None else (0 if vector_run else None)
            if env is None:
                record = by_index.get(video.episode_id)
            elif video.episode_id < len(per_env.get(env, [])):
                record = per_env[env][video.episode_id]
        joined.append(_with_record(video, record))

    def order(v: VideoSaved) -> tuple:
        pos = position[id(v.record)] if v.record is not None else len(records)
        return (pos, v.episode_id if v.episode_id is not None else -1,
                v.env_index if v.env_index is not None else -1,
                v.step_id if v.step_id is not None else -1, v.name)

    return sorted(joined, key=order)


def _with_record(video: VideoSaved, record: EpisodeRecord | None) -> VideoSaved:
    return video.replace(record=record)


class RunFolder:
    """A recorded run read back from its folder: records, videos and a summary (data only).

    :class:`agentreel.Run` adds the report, the timelapse and notebook display;
    everything that only reads a run (the report, the timelapse) takes a ``RunFolder``.

    Args:
        path: the run folder, or one of its log files (``episodes.jsonl``,
            ``monitor.csv``; videos are then looked for next to it).
        name: a display name (default: the folder's name).

    Raises:
        ValueError: no episodes in the folder ("empty run folder").
        FileNotFoundError: the path does not exist.
    """

    def __init__(self, path: str | os.PathLike[str], *, name: str | None = None) -> None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no run folder or episode log at {path}")
        self.folder = path if path.is_dir() else path.parent
        self.source = path
        self.name = name or (path.name if path.is_dir() else f"{path.parent.name}/{path.name}")
        self.records: list[EpisodeRecord] = read_episodes(path)
        if not self.records:
            raise ValueError(
                f"no episodes found in {path} (expected episodes.jsonl or monitor.csv with "
                "at least one episode)"
            )
        self.videos: list[VideoSaved] = join_videos(find_videos(self.folder), self.records)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.source)!r}: {len(self.records)} episodes, {len(self.videos)} videos)"

    def __len__(self) -> int:
        return len(self.records)

    def returns(self) -> list[float]:
        """Per-episode returns in log order."""
        return [r.episode_return for r in self.records]

    def summary(self, *, seed: int | None = 0, n_resamples: int = 10_000) -> Any:
        """:func:`agentreel.analysis.summarize_records` of this run (seeded: reproducible)."""
        from agentreel.analysis import summarize_records

        return summarize_records(self.records, seed=seed, n_resamples=n_resamples)

    def video_for(self, episode: int) -> VideoSaved | None:
        """The whole-episode video of episode ``episode`` (a record index), if one was kept."""
        for video in self.videos:
            if video.whole_episode and video.episode == episode:
                return video
        return None


def load_run(path: str | RunFolder | os.PathLike[str]) -> RunFolder:
    """``path`` read as a :class:`RunFolder` (a ``RunFolder`` or ``Run`` is returned as is)."""
    return path if isinstance(path, RunFolder) else RunFolder(path)
