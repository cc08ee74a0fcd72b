"""Read a run folder back: its episode records and its videos, joined.

A run folder is what ``agentreel record`` (or the wrappers with ``log=folder``
and ``sidecar=True``) writes: ``episodes.jsonl`` / ``monitor.csv`` (one row per
episode) and videos ``NAME.mp4`` each with a JSON sidecar ``NAME.json`` (keys
``path, frames, fps, width, height, format, tags``). A video without a sidecar
is listed when its name is a recorder's (Gymnasium's ``PREFIX-episode-N`` and
``PREFIX-step-N``, agentreel's ``PREFIX-env-I-episode-K``): its ids come from the
name, its frames, rate and size from the file (:mod:`agentreel.report.gym_names`),
so the folder the tutorial's script writes is readable as it is. A folder with
such videos and no episode log is a run with videos only (``records == []``);
``RunFolder.notes`` says what is missing and how to record it.

How a video is joined to its episode's :class:`~agentreel.core.records.EpisodeRecord`:

* single-env runs: ``tags["episode_id"]`` is the record's ``index``;
* per-env vector recordings (``tags["env_index"]`` set, names
  ``PREFIX-env-{i}-episode-{k}``): the ``k``-th record (``k = episode_id``) of
  sub-env ``i``, in log order;
* a tiled vector video in a run whose records carry ``env_index`` counts
  episodes of sub-env 0, so it is joined like a per-env video of env 0;
* a step clip without a sidecar (``PREFIX-step-N``, ``N`` counted over the whole
  run) belongs to the episode whose steps hold step ``N``;
* a sidecar-less episode video is a whole episode when its frame count is the
  joined episode's length + 1 (or its length): it then shows that return and length.

Example:
    >>> import tempfile
    >>> from agentreel.app.run import record_run
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

from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.core.videofiles import VIDEO_SUFFIXES, find_videos
from agentreel.log.reader import read_episodes
from agentreel.report.gym_names import (
    MISSING_LOG_HINT,
    MISSING_SIDECAR_HINT,
    parse_video_name,
    probe_video,
)

__all__ = ["RunFolder", "RunVideo", "load_run", "find_videos", "join_videos", "VIDEO_SUFFIXES"]

#: A video of a run: the :class:`~agentreel.core.records.VideoSaved` read back from its
#: sidecar, with ``record`` set to its episode when one was found.
RunVideo = VideoSaved


def _sidecar_less(video: VideoSaved) -> bool:
    return video.tags.get("sidecar") is False


def find_run_videos(folder: Path) -> tuple[list[VideoSaved], list[str]]:
    """The videos of ``folder`` (with a sidecar or a recorder's name), and the video
    files it cannot describe (no sidecar and another name)."""
    videos = find_videos(folder)
    described = {Path(v.path).resolve() for v in videos}
    unreadable = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix.lower() not in VIDEO_SUFFIXES or not path.is_file():
            continue
        if path.resolve() in described:
            continue
        ids = parse_video_name(path.stem)
        facts = probe_video(path) if ids is not None else None
        if ids is None or facts is None:
            unreadable.append(path.name)
            continue
        videos.append(VideoSaved(path=path.resolve(), tags={"name": path.stem, **ids,
                                                            "sidecar": False}, **facts))
    return videos, unreadable


def _episode_at_step(records: list[EpisodeRecord], step: int) -> EpisodeRecord | None:
    """The record whose steps hold global step ``step`` (0-based, counted over the run)."""
    end = 0
    for record in records:
        end += record.length
        if step < end:
            return record
    return None


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
        if _sidecar_less(video) and video.episode_id is None and video.step_id is not None:
            record = None if vector_run else _episode_at_step(records, video.step_id)
        elif video.episode_id is not None and video.episode_id >= 0:
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
    if (_sidecar_less(video) and record is not None and video.episode_id is not None
            and video.frames in (record.length, record.length + 1)):  # a whole episode
        return video.replace(record=record, episode_return=record.episode_return,
                             episode_length=record.length)
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
        ValueError: no episode log and no videos in the folder ("no episodes found").
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
        found, unreadable = find_run_videos(self.folder)
        #: What this folder lacks and how to record it (shown by the report and the CLI).
        self.notes: list[str] = []
        if unreadable:
            self.notes.append(
                f"{len(unreadable)} video file(s) have no sidecar and no recorder's name, so "
                f"they are not shown (e.g. {unreadable[0]}); {MISSING_SIDECAR_HINT} (sidecar=True)"
            )
        if not self.records:
            if not found:
                raise ValueError(
                    f"no episodes found in {path}: no episode log (episodes.jsonl or monitor.csv) "
                    f"and no recorded videos. {MISSING_LOG_HINT} (log=)"
                    + (f"; {self.notes[0]}" if self.notes else "")
                )
            self.notes.insert(0, f"no episode log in {self.folder}, so there are no returns: "
                                 f"{MISSING_LOG_HINT} (log=)")
        self.videos: list[VideoSaved] = join_videos(found, self.records)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.source)!r}: {len(self.records)} episodes, {len(self.videos)} videos)"

    def __len__(self) -> int:
        return len(self.records)

    def require_records(self) -> RunFolder:
        """This run, or a ``ValueError`` saying how to get an episode log when it has none."""
        if not self.records:
            raise ValueError(
                f"{self.name} has {len(self.videos)} video(s) but no episode log, so there are "
                f"no returns: {MISSING_LOG_HINT} (log=)"
            )
        return self

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
