"""The one record type for a finished episode.

Every sink, reader, summary, plot and report works on :class:`EpisodeRecord`
or its dictionary form (one JSON Lines row).

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
import time
from dataclasses import dataclass, field
from typing import Any


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
