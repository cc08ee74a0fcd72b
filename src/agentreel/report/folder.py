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
    >>> run = Run(folder)
    >>> len(run.records), [v.episode for v in run.videos]
    (2, [0, 1])
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentreel.analysis.agents import AGENTS_KEY, agent_returns_text
from agentreel.log import read_episodes
from agentreel.records import EpisodeRecord

__all__ = ["Run", "RunVideo", "load_run", "find_videos", "VIDEO_SUFFIXES"]

#: File suffixes of the videos a sidecar may describe.
VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class RunVideo:
    """One recorded video of a run, described by its sidecar.

    Attributes:
        path: absolute path of the video file.
        name: the clip's name (file name without suffix).
        frames, fps, width, height, format: from the sidecar.
        episode_id, step_id, env_index: the recorder's ids (``tags``).
        episode_return, episode_length: from the tags, for whole-episode clips.
        record: the joined :class:`EpisodeRecord`, when one was found.
        tags: all the sidecar's tags.

    ``RunVideo`` displays itself in a notebook (``_repr_html_``).
    """

    path: Path
    name: str
    frames: int
    fps: float
    width: int
    height: int
    format: str
    episode_id: int | None = None
    step_id: int | None = None
    env_index: int | None = None
    episode_return: float | None = None
    episode_length: int | None = None
    record: EpisodeRecord | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def whole_episode(self) -> bool:
        """True when the clip is exactly one episode (its tags carry the episode's return)."""
        return self.episode_return is not None

    @property
    def duration(self) -> float:
        """Length in seconds, ``frames / fps``."""
        return self.frames / self.fps if self.fps > 0 else 0.0

    @property
    def episode(self) -> int | None:
        """The episode number shown to people: the joined record's index, else ``episode_id``."""
        if self.record is not None:
            return self.record.index
        return self.episode_id

    @property
    def display_return(self) -> float | None:
        """The episode's return: from the tags, else from the joined record."""
        if self.episode_return is not None:
            return self.episode_return
        return self.record.episode_return if self.record is not None else None

    @property
    def display_length(self) -> int | None:
        """The episode's length: from the tags, else from the joined record."""
        if self.episode_length is not None:
            return self.episode_length
        return self.record.length if self.record is not None else None

    @property
    def caption(self) -> str:
        """A one-line description, e.g. ``episode 3 · return 200.0 · length 200``."""
        parts = []
        episode = self.episode
        parts.append(f"episode {episode}" if episode is not None else self.name)
        if self.env_index is not None:
            parts.append(f"env {self.env_index}")
        if not self.whole_episode and self.step_id is not None and self.step_id >= 0:
            parts.append(f"from step {self.step_id}")
        ret, length = self.display_return, self.display_length
        if ret is not None:
            parts.append(f"return {ret:.1f}")
        if length is not None:
            parts.append(f"length {length}")
        if self.agent_returns:
            parts.append(self.agent_returns)
        return " · ".join(parts)

    @property
    def agent_returns(self) -> str:
        """Each agent's return (``piston_0 1.2, piston_1 0.8, ...``) for multi-agent episodes, else ``""``."""
        agents = self.tags.get(AGENTS_KEY)
        if isinstance(agents, dict) and self.whole_episode:
            return agent_returns_text(EpisodeRecord(0, 0.0, 0, extras={AGENTS_KEY: agents}))
        return agent_returns_text(self.record) if self.record is not None else ""

    def _repr_html_(self) -> str:
        from agentreel.notebook import video_html

        return video_html(self)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"path", "frames", "fps"} <= data.keys():
        return None
    return data


def find_videos(folder: str | os.PathLike[str]) -> list[RunVideo]:
    """Every video in ``folder`` that has a sidecar (not joined to records; see :func:`load_run`).

    Sidecars whose video file is missing (deleted, or never completed) are skipped.
    """
    folder = Path(folder)
    videos = []
    for side in sorted(folder.glob("*.json")):
        data = _read_sidecar(side)
        if data is None:
            continue
        video_path = folder / Path(str(data["path"])).name
        if video_path.suffix.lower() not in VIDEO_SUFFIXES or not video_path.is_file():
            continue
        tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
        fps = _opt_float(data.get("fps")) or 0.0
        videos.append(RunVideo(
            path=video_path.resolve(),
            name=str(tags.get("name") or video_path.stem),
            frames=_opt_int(data.get("frames")) or 0,
            fps=fps,
            width=_opt_int(data.get("width")) or 0,
            height=_opt_int(data.get("height")) or 0,
            format=str(data.get("format") or video_path.suffix.lstrip(".")),
            episode_id=_opt_int(tags.get("episode_id")),
            step_id=_opt_int(tags.get("step_id")),
            env_index=_opt_int(tags.get("env_index")),
            episode_return=_opt_float(tags.get("episode_return")),
            episode_length=_opt_int(tags.get("episode_length")),
            tags=dict(tags),
        ))
    return videos


def join_videos(videos: list[RunVideo], records: list[EpisodeRecord]) -> list[RunVideo]:
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

    def order(v: RunVideo) -> tuple:
        pos = position[id(v.record)] if v.record is not None else len(records)
        return (pos, v.episode_id if v.episode_id is not None else -1,
                v.env_index if v.env_index is not None else -1,
                v.step_id if v.step_id is not None else -1, v.name)

    return sorted(joined, key=order)


def _with_record(video: RunVideo, record: EpisodeRecord | None) -> RunVideo:
    return RunVideo(**{**video.__dict__, "record": record})


class Run:
    """A recorded run read back from its folder: records, videos and a summary.

    Args:
        path: the run folder, or one of its log files (``episodes.jsonl``,
            ``monitor.csv``; videos are then looked for next to it).
        name: a display name (default: the folder's name).

    Raises:
        ValueError: no episodes in the folder ("empty run folder").
        FileNotFoundError: the path does not exist.

    In a notebook, a ``Run`` displays its summary table and its videos inline.

    Example::

        run = agentreel.Run("agentreel-runs/CartPole-v1-001")
        run.summary().mean, len(run.videos)
        run              # in Jupyter: summary + videos
        run.videos[0]    # one video, inline
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
        self.videos: list[RunVideo] = join_videos(find_videos(self.folder), self.records)

    def __repr__(self) -> str:
        return f"Run({str(self.source)!r}: {len(self.records)} episodes, {len(self.videos)} videos)"

    def __len__(self) -> int:
        return len(self.records)

    def returns(self) -> list[float]:
        """Per-episode returns in log order."""
        return [r.episode_return for r in self.records]

    def summary(self, *, seed: int | None = 0, n_resamples: int = 10_000) -> Any:
        """:func:`agentreel.analysis.summarize_records` of this run (seeded: reproducible)."""
        from agentreel.analysis import summarize_records

        return summarize_records(self.records, seed=seed, n_resamples=n_resamples)

    def video_for(self, episode: int) -> RunVideo | None:
        """The whole-episode video of episode ``episode`` (a record index), if one was kept."""
        for video in self.videos:
            if video.whole_episode and video.episode == episode:
                return video
        return None

    def report(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Path:
        """Write the HTML report of this run (default ``FOLDER/report.html``)."""
        from agentreel.report.html import write_report

        return write_report([self], path or self.folder / "report.html", **kwargs)

    def timelapse(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
        """Write the training timelapse (default ``FOLDER/timelapse.mp4``)."""
        from agentreel.timelapse import make_timelapse

        return make_timelapse(self, path or self.folder / "timelapse.mp4", **kwargs)

    def _repr_html_(self) -> str:
        from agentreel.notebook import run_html

        return run_html(self)


def load_run(path: str | Run | os.PathLike[str]) -> Run:
    """``path`` as a :class:`Run` (a ``Run`` is returned as is)."""
    return path if isinstance(path, Run) else Run(path)
