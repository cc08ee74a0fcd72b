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
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
            "extras": {str(k): encodable(v) for k, v in self.extras.items()},
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> EpisodeRecord:
        """Build a record from :meth:`to_dict`'s form (unknown keys go to ``extras``).

        Every field is checked, so no value is silently misread: a ``ValueError`` names
        the field when a value has the wrong type (``"terminated": "false"``, an
        ``env_index`` that is a list) or is out of range (a return beyond
        ±:data:`MAX_ABS_RETURN`, which would overflow the statistics).

        >>> EpisodeRecord.from_dict({"index": 0, "return": 1, "length": 1, "terminated": "no"})
        Traceback (most recent call last):
        ...
        ValueError: "terminated" must be true or false, got 'no'
        """
        if not isinstance(row, dict):
            raise ValueError(f"a record is a JSON object, got {type(row).__name__} {row!r:.60}")
        for key in ("index", "return", "length"):
            if key not in row:
                raise ValueError(f"the record has no {key!r} field")
        known = {"index", "return", "length", "duration", "terminated", "truncated",
                 "seed", "end_time", "elapsed", "env_index", "video", "extras"}
        raw_extras = row.get("extras") or {}
        if not isinstance(raw_extras, dict):
            raise ValueError(f'"extras" must be an object, got {raw_extras!r:.60}')
        extras = dict(raw_extras)
        extras.update({k: v for k, v in row.items() if k not in known})
        video = row.get("video")
        if video is not None and not isinstance(video, str):
            raise ValueError(f'"video" must be a path or null, got {video!r:.60}')
        elapsed = row.get("elapsed")
        return cls(
            index=_integer(row, "index"),
            episode_return=check_return(_number(row, "return")),
            length=_integer(row, "length"),
            duration=_number(row, "duration", 0.0),
            terminated=_flag(row, "terminated"),
            truncated=_flag(row, "truncated"),
            seed=_integer(row, "seed", None, minimum=None),
            end_time=_number(row, "end_time", 0.0),
            elapsed=None if elapsed is None else _number(row, "elapsed"),
            env_index=_integer(row, "env_index", None),
            video=video,
            extras=extras,
        )

    def replace(self, **changes: Any) -> EpisodeRecord:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def float_return(value: Any) -> float:
    """An episode return (or one reward) as the single float a log or a video tag holds.

    Scalars and one-element arrays give their value. Gymnasium's wrappers accept any
    reward that supports ``+`` (a vector reward of a multi-objective env); such a
    return has no single value: ``nan`` (the statistics wrapper keeps the whole vector
    in the record's ``extras["vector_return"]``). ``None`` gives ``nan`` too.

    >>> import numpy as np
    >>> float_return(np.array([1.5])), float_return(2), float_return(np.array([1.0, 2.0]))
    (1.5, 2.0, nan)
    """
    try:
        return float(value)  # the fast, usual case: a Python or numpy scalar
    except (TypeError, ValueError):
        pass
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return float("nan")
    return float(array.reshape(-1)[0]) if array.size == 1 else float("nan")


#: Largest episode return a log may hold: beyond it sums and squares overflow.
MAX_ABS_RETURN = 1e100


def check_return(value: float) -> float:
    """``value`` if it is a usable episode return (NaN is kept: it is what was logged).

    >>> check_return(1e308)
    Traceback (most recent call last):
    ...
    ValueError: "return" 1e+308 is beyond ±1e+100 (the statistics would overflow)
    """
    if abs(value) > MAX_ABS_RETURN:
        raise ValueError(f'"return" {value!r} is beyond ±{MAX_ABS_RETURN:g} '
                         "(the statistics would overflow)")
    return value


def _number(row: dict[str, Any], key: str, default: float | None = None) -> float:
    value = row.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key!r} must be a number, got {value!r:.60}")
    return float(value)


def _integer(row: dict[str, Any], key: str, default: Any = ..., *,
             minimum: int | None = 0) -> Any:
    value = row.get(key)
    if value is None and default is not ...:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key!r} must be a whole number, got {value!r:.60}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{key!r} must be >= {minimum}, got {value}")
    return value


def _flag(row: dict[str, Any], key: str) -> bool:
    value = row.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f'"{key}" must be true or false, got {value!r:.60}')
    return value


def encodable(value: Any) -> Any:
    """``value`` as plain JSON-encodable Python values; ``repr(value)`` if JSON cannot
    encode it (a ``set``, ``bytes``, an arbitrary object): the documented fallback, so
    an episode's row is never lost to an odd ``info`` value.

    >>> encodable({"a": (1, 2)}), encodable({1, 2}), encodable(b"x")
    ({'a': [1, 2]}, '{1, 2}', "b'x'")
    """
    try:
        plain = to_plain(value)
        json.dumps(plain)
        return plain
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except Exception:  # a broken __repr__ must not cost the row either
            return f"<unrepresentable {type(value).__name__}>"


def is_encodable(value: Any) -> bool:
    """True when JSON can encode ``value`` after :func:`to_plain` (no fallback needed).

    >>> is_encodable([1, "a"]), is_encodable({1})
    (True, False)
    """
    try:
        json.dumps(to_plain(value))
    except (TypeError, ValueError, RecursionError):
        return False
    return True


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
        from agentreel.base.media_html import video_element

        return video_element(self.path, self.caption)


def _from_tag(given: Any, tags: dict[str, Any], key: str, parse: Any) -> Any:
    return given if given is not None else parse(tags.get(key))


def final_info_value(info: dict[str, Any], key: str, index: int | None = None) -> Any:
    """``info[key]`` of an episode's last step; for vector infos, sub-env ``index``'s entry.

    Vector infos hold arrays with a ``"_" + key`` mask; under same-step autoreset the
    last step's values are in ``info["final_info"]``. Returns ``None`` when absent.

    >>> final_info_value({"is_success": True}, "is_success")
    True
    >>> import numpy as np
    >>> final_info_value({"is_success": np.array([0, 1]), "_is_success": np.array([0, 1], bool)},
    ...                  "is_success", 1)
    1
    """
    if not isinstance(info, dict):
        return None
    if index is None:
        return info.get(key)
    for source in (info.get("final_info"), info):
        if not isinstance(source, dict) or key not in source:
            continue
        mask = source.get("_" + key)
        try:
            if mask is not None and not bool(mask[index]):
                continue
            value = source[key][index]
        except (TypeError, IndexError, KeyError):
            continue
        return value.item() if hasattr(value, "item") else value
    return None
