"""The two event types: a finished episode and a saved video.

Every sink, reader, summary, plot and report works on :class:`EpisodeRecord`
or its dictionary form (one JSON Lines row). Every video -- reported by the
video engine, handed to ``on_video_saved``, read back from its sidecar by
:class:`agentreel.Run` -- is a :class:`VideoSaved`.

Two clocks, both kept:

* ``duration`` is Gymnasium's ``t``: seconds from the episode's ``reset()`` to
  its last ``step()``.
* ``elapsed`` is Stable-Baselines3's ``t``: seconds from the start of the log
  (``t_start`` in ``monitor.csv``) to the end of the episode.

Example:
    >>> rec = EpisodeRecord(index=0, episode_return=21.0, length=21, duration=0.01)
    >>> EpisodeRecord.from_dict(rec.to_dict()) == rec
    True
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The container formats agentreel writes (and the suffixes of its video files).
FORMATS = ("mp4", "webm", "gif")


@dataclass
class EpisodeRecord:
    """One finished episode.

    Attributes:
        index: the episode's number in its run, counted from 0.
        episode_return: the sum of the episode's rewards.
        length: the number of ``step()`` calls in the episode.
        duration: seconds from ``reset()`` to the final step (Gymnasium's ``t``).
        terminated: the episode ended in a terminal state.
        truncated: the episode was cut off (time limit).
        seed: the seed passed to ``reset()``, when one was given.
        end_time: wall-clock time (``time.time()``) at the end of the episode.
        elapsed: seconds since the log started (Stable-Baselines3's ``t``), set by
            the sink that writes the record when not known before.
        env_index: the sub-environment's index in a vector env, else ``None``.
        video: the path of the episode's video, when one was kept.
        extras: keys copied from the final ``info`` (``info_keywords=``).
    """

    index: int
    episode_return: float
    length: int
    duration: float = 0.0
    terminated: bool = False
    truncated: bool = False
    seed: int | None = None
    end_time: float = field(default_factory=time.time)
    elapsed: float | None = None
    env_index: int | None = None
    video: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-serialisable Python values."""
        return {
            "index": int(self.index),
            "return": float(self.episode_return),
            "length": int(self.length),
            "duration": float(self.duration),
            "terminated": bool(self.terminated),
            "truncated": bool(self.truncated),
            "seed": None if self.seed is None else int(self.seed),
            "end_time": float(self.end_time),
            "elapsed": None if self.elapsed is None else float(self.elapsed),
            "env_index": None if self.env_index is None else int(self.env_index),
            "video": self.video,
            "extras": {k: to_plain(v) for k, v in self.extras.items()},
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> EpisodeRecord:
        """Build a record from :meth:`to_dict`'s form (unknown keys go to ``extras``)."""
        known = {"index", "return", "length", "duration", "terminated", "truncated",
                 "seed", "end_time", "elapsed", "env_index", "video", "extras"}
        extras = dict(row.get("extras") or {})
        extras.update({k: v for k, v in row.items() if k not in known})
        return cls(
            index=int(row["index"]),
            episode_return=float(row["return"]),
            length=int(row["length"]),
            duration=float(row.get("duration") or 0.0),
            terminated=bool(row.get("terminated", False)),
            truncated=bool(row.get("truncated", False)),
            seed=row.get("seed"),
            end_time=float(row.get("end_time") or 0.0),
            elapsed=row.get("elapsed"),
            env_index=row.get("env_index"),
            video=row.get("video"),
            extras=extras,
        )

    def replace(self, **changes: Any) -> EpisodeRecord:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def to_plain(value: Any) -> Any:
    """Turn numpy scalars and arrays into plain Python values for JSON.

    >>> import numpy as np
    >>> to_plain(np.float32(1.5)), to_plain(np.arange(2))
    (1.5, [0, 1])
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


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
class VideoSaved:
    """A video that is complete on disk (or failed to be written).

    The video engine reports one when a file is done, ``on_video_saved`` receives
    it, and :class:`agentreel.Run` reads one back from each sidecar (then
    ``record`` is the episode it shows). The ids and episode numbers come from the
    recorder's ``tags`` when not given.

    Attributes:
        path: the final file path (a ``Path`` when read back from a run folder).
        frames: the number of frames in the file.
        fps: its frame rate.
        width, height: its size in pixels (even).
        format: one of :data:`FORMATS`.
        tags: everything the recorder attached (ids, ``terminated``/``truncated``, ``kept``).
        error: why writing failed (then ``path`` does not exist).
        name: the clip's name (``{name_prefix}-episode-{id}`` or ``...-step-{id}``).
        episode_id: the episode the clip started in.
        step_id: the step the clip started at (``-1`` when it started at a reset).
        episode_return, episode_length: of the recorded episode, when the clip is
            one whole episode.
        env_index: the sub-environment for per-env vector recordings.
        kept: why a keep rule kept this video (e.g. ``"best(3): return 57 ranks 2"``),
            ``None`` when no rule was asked.
        record: the episode's :class:`EpisodeRecord`, when joined to a run's log.

    Example:
        >>> v = VideoSaved(path="v/run-episode-3.mp4", frames=22, fps=50.0, width=600,
        ...                height=400, format="mp4",
        ...                tags={"episode_id": 3, "episode_return": 21.0, "episode_length": 21})
        >>> v.name, v.episode_id, v.whole_episode, v.caption
        ('run-episode-3', 3, True, 'episode 3 · return 21.0 · length 21')
    """

    path: str | Path
    frames: int
    fps: float
    width: int
    height: int
    format: str
    tags: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    name: str = ""
    episode_id: int | None = None
    step_id: int | None = None
    episode_return: float | None = None
    episode_length: int | None = None
    env_index: int | None = None
    kept: str | None = None
    record: EpisodeRecord | None = None

    def __post_init__(self) -> None:
        tags = self.tags
        derived = {
            "name": self.name or str(tags.get("name") or Path(os.fspath(self.path)).stem),
            "episode_id": _from_tag(self.episode_id, tags, "episode_id", _opt_int),
            "step_id": _from_tag(self.step_id, tags, "step_id", _opt_int),
            "episode_return": _from_tag(self.episode_return, tags, "episode_return", _opt_float),
            "episode_length": _from_tag(self.episode_length, tags, "episode_length", _opt_int),
            "env_index": _from_tag(self.env_index, tags, "env_index", _opt_int),
            "kept": self.kept if self.kept is not None else tags.get("kept"),
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)

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
        return " · ".join(parts)

    def replace(self, **changes: Any) -> VideoSaved:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def _repr_html_(self) -> str:
        from agentreel.media_html import video_element

        return video_element(self.path, self.caption)


def _from_tag(given: Any, tags: dict[str, Any], key: str, parse: Any) -> Any:
    return given if given is not None else parse(tags.get(key))
