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
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
