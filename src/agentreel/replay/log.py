"""The replay log: one JSON Lines file, a header line then one line per finished episode.

File ``FOLDER/replay.ndjson`` (newline-delimited JSON, i.e. JSON Lines, named
``.ndjson`` so that episode-log readers, which take every ``*.jsonl`` of a run folder,
leave it alone), written only by appending whole lines
(:class:`~agentreel.log._appendfile.AppendFile`: one ``os.write`` per line), so a
process killed with SIGKILL leaves every finished episode readable and at most
the unfinished episode missing. Readable with any JSON parser, base64 and zlib.
Format 2 (written since the second replay speed round; format 1 is still read):

* header: ``{"type": "replay-header", "format": 2, "run": ID, "recipe": RECIPE,
  "action_space": TEXT, "num_envs": N or null, "digest": "crc32", "created": UNIX_TIME}``
  (``RECIPE``: see :mod:`agentreel.replay.recipe`). A restarted run appends a
  new header with a new ``run`` id; episodes name the run they belong to, and are
  read by the format of their run's header (a log may hold runs of both formats).
* episode: ``{"type": "episode", "run": ID, "env_index": I or null, "episode": K,
  "seed": S or null, "rng": STATE or null, "hidden": {...} or absent, "options": ... or
  absent, "steps": L, "return": R, "terminated": B, "truncated": B, "end_time": T,
  "actions": [LEAF, ...], "reward": R0 or absent, "data": BASE64, "zlib": true or absent}``
  where ``K`` counts the episodes of sub-env ``I`` (of the env) from 0; ``STATE`` is
  numpy's ``bit_generator.state`` of the env's ``np_random`` at an unseeded reset
  (PCG64's 128-bit ``state`` and ``inc`` are plain JSON integers: parse them as big
  integers); ``hidden`` holds env-specific random state numpy does not cover (``"ale"``:
  ALE's ``cloneState(include_rng=True).serialize()``, as ``base64(zlib(bytes))``).
  ``DATA`` is ``base64(BYTES)``, or ``base64(zlib(BYTES))`` when ``"zlib": true`` (large
  payloads that zlib shrinks); ``BYTES`` is, in this order: each action ``LEAF``'s column (at its
  ``"offset"``), then, unless ``"reward"`` is present, ``L`` little-endian float64
  rewards, then ``L + 1`` little-endian uint32 observation digests (CRC-32 of the reset
  observation first, then of each step's). So the digests are the last ``4 (L + 1)``
  bytes and the rewards the ``8 L`` before them. ``"reward": R0`` means every step's
  reward was ``R0`` (no reward column). Flags are not stored: only an episode's last step
  ends it, so every step's terminated/truncated is false except the last's, which are the
  episode's ``terminated``/``truncated``. ``LEAF`` is ``{"path": [keys], "kind": "np" |
  "np0" | "py:int" | "py:float" | "py:bool" | "str", "dtype": "<i8", "shape": [...],
  "offset": OFFSET, "stored": "u1" or absent}``: ``L`` values of ``dtype`` and ``shape``
  in C order, or with ``"stored": "u1"`` one byte per value (each value was an integer in
  ``[0, 256)``: widen the bytes to ``dtype``); ``"str"`` leaves hold ``"values"`` in the
  JSON instead. ``"np0"`` marks numpy scalars, ``"py:*"`` Python scalars. An episode
  whose actions changed type mid-episode has ``"not_replayable"`` instead of ``"actions"``.
* first reset: ``{"type": "first-reset", "run": ID, "env_index": I or null, "seed": S,
  "rng": STATE, "options": ...}``, once per env (or sub-env), at its first ``reset()``.
  Replay repeats that reset and renders once before the episode it replays, because some
  renderers fix their camera at their first frame (MuJoCo's free camera looks at where
  the body was then), so frames match the live recording's.

Format 1 differs in the episode line only: ``"actions": {"steps": L, "leaves": [LEAF,
...]}`` (no ``"stored"``), ``"columns": {"rewards": [OFFSET, "<f8"], "flags": [OFFSET,
"u1"], "digests": [OFFSET, "<u4"]}`` and ``"data": base64(zlib(BYTES))`` always, where
``BYTES`` holds every column at its ``OFFSET`` (``flags``: ``L`` uint8, bit 0 terminated,
bit 1 truncated). A header of a later format than this module reads is an error that
says to upgrade agentreel.

Example:
    >>> import tempfile
    >>> from gymnasium import spaces
    >>> log = ReplayLogWriter(tempfile.mkdtemp(), {"kind": "env_fn", "env_fn": "m:f"},
    ...                       spaces.Discrete(2))
    >>> buf = EpisodeBuffer(episode=0, seed=3, first_digest=0)
    >>> buf.add(1, 1.0, False, False, 7)
    >>> log.write(buf, terminated=False, truncated=False)  # the episode's return
    1.0
    >>> log.close()
    >>> [e.steps for e in read_replay(log.path).episodes], read_replay(log.path).episodes[0].actions(spaces.Discrete(2))
    ([1], [1])
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agentreel.log._appendfile import AppendFile
from agentreel.replay.codec import NotReplayable, decode_actions, unpack
from agentreel.replay.lines import EpisodeEncoder

__all__ = ["EpisodeBuffer", "LoggedEpisode", "ReplayLog", "ReplayLogWriter", "read_replay",
           "LOG_NAME"]

#: The log's file name inside its folder.
LOG_NAME = "replay.ndjson"
FORMAT = 2
#: The formats :func:`read_replay` reads.
READABLE_FORMATS = (1, 2)


class EpisodeBuffer:
    """One episode being logged: its start (seed or RNG state) and its steps.

    :attr:`steps` is flat: each step appends three items, the action, the reward and
    the observation digest (one list extend per step: everything else is done once,
    when the episode is written); :meth:`columns` splits them. Only an episode's last
    step can end it, so its flags are :attr:`end_flags`. :attr:`line` is its log line
    once :class:`ReplayLogWriter` wrote it. :attr:`action_type`, when not
    ``None``, is the type of every action logged so far (the logger knows it; the line
    encoder then need not check).

    >>> buf = EpisodeBuffer(episode=0, seed=3, first_digest=0)
    >>> buf.add(1, 0.5, False, False, 7); buf.add(0, 1.0, True, False, 9)
    >>> buf.length, buf.columns(), buf.ended
    (2, ([1, 0], [0.5, 1.0], [7, 9]), (True, False))
    """

    __slots__ = ("episode", "env_index", "seed", "rng", "hidden", "options", "steps",
                 "first_digest", "end_flags", "action_type", "line")

    def __init__(self, episode: int, seed: int | None = None, rng: dict | None = None,
                 hidden: dict | None = None, env_index: int | None = None,
                 first_digest: int | None = None) -> None:
        self.episode = episode
        self.env_index = env_index
        self.seed = seed
        self.rng = rng
        self.hidden = hidden
        self.options: dict[str, Any] | None = None
        self.steps: list[Any] = []  # action, reward, digest, action, reward, digest, ...
        self.first_digest = first_digest  # CRC-32 of the reset observation
        self.end_flags = 0  # bit 0 terminated, bit 1 truncated (of the last step)
        self.action_type: type | None = None
        self.line: str | None = None  # the episode's log line, once written

    def add(self, action: Any, reward: Any, terminated: Any, truncated: Any, digest: int) -> None:
        """One step: the action taken and what came back."""
        self.steps += (action, reward, digest)
        self.end_flags = (1 if terminated else 0) | (2 if truncated else 0)

    @property
    def length(self) -> int:
        """The number of steps logged so far."""
        return len(self.steps) // 3

    def columns(self) -> tuple[list[Any], list[Any], list[int]]:
        """``(actions, rewards, digests)`` of the steps so far (new lists)."""
        steps = self.steps
        return steps[0::3], steps[1::3], steps[2::3]

    @property
    def ended(self) -> tuple[bool, bool]:
        """``(terminated, truncated)`` of the last step so far."""
        return bool(self.end_flags & 1), bool(self.end_flags & 2)

    @property
    def rewards(self) -> list[Any]:
        """The rewards so far, as the env returned them."""
        return self.steps[1::3]

    def row(self, run: str, space: spaces.Space, terminated: bool, truncated: bool,
            episode_return: float | None = None) -> dict:
        """The episode's JSON object (format 2, see the module docs); ``episode_return`` if known."""
        self.end_flags = (1 if terminated else 0) | (2 if truncated else 0)
        return json.loads(EpisodeEncoder(space).line(self, run, time.time(), episode_return))


class ReplayLogWriter:
    """Appends a header now and one line per finished episode (see the module docs).

    Args:
        folder: where ``replay.ndjson`` goes (created if missing).
        recipe: how to rebuild the env (:func:`~agentreel.replay.recipe.recipe_of`).
        action_space: the (single) action space, to split actions into leaves.
        num_envs: the number of sub-envs for a vector env, else ``None``.
    """

    def __init__(self, folder: str | os.PathLike[str], recipe: dict[str, Any],
                 action_space: spaces.Space, num_envs: int | None = None) -> None:
        self.path = Path(folder) / LOG_NAME
        self.run = uuid.uuid4().hex[:12]
        self.action_space = action_space
        self._file = AppendFile(self.path)
        self._encoder = EpisodeEncoder(action_space)
        header = {"type": "replay-header", "format": FORMAT, "run": self.run, "recipe": recipe,
                  "action_space": repr(action_space), "num_envs": num_envs, "digest": "crc32",
                  "created": round(time.time(), 6)}
        self._file.append(json.dumps(header, separators=(",", ":")) + "\n")

    def write_first_reset(self, buffer: EpisodeBuffer) -> dict[str, Any]:
        """Log how the env's (or sub-env's) very first episode began (see ``first-reset``)."""
        row = {"type": "first-reset", "run": self.run, "env_index": buffer.env_index,
               "seed": buffer.seed, "rng": buffer.rng, "options": buffer.options}
        if buffer.hidden:
            row["hidden"] = buffer.hidden
        self._file.append(json.dumps(row, separators=(",", ":")) + "\n")
        return row

    def write(self, buffer: EpisodeBuffer, *, terminated: bool, truncated: bool) -> Any:
        """Append the finished episode in ``buffer`` (one system call); return its return.

        The return is the rewards added in order from ``0.0``, as Gymnasium's statistics
        add them (:func:`~agentreel.replay.lines.episode_sum`).
        """
        buffer.end_flags = (1 if terminated else 0) | (2 if truncated else 0)
        text, episode_return = self._encoder.encode(buffer, self.run, time.time())
        self._file.append(text)
        buffer.line = text
        return episode_return

    def close(self) -> None:
        """Close the file (idempotent); nothing is buffered."""
        self._file.close()

    def __deepcopy__(self, memo: dict[int, object]) -> ReplayLogWriter:
        return self  # an open file is shared, not copied (Gymnasium deep-copies wrapper args)


@dataclass
class LoggedEpisode:
    """One episode read back from a replay log (columns decoded on demand)."""

    row: dict[str, Any] = field(repr=False)
    recipe: dict[str, Any] = field(repr=False)
    action_space: spaces.Space | None = field(default=None, repr=False)
    first_reset: dict[str, Any] | None = field(default=None, repr=False)
    _blob: bytes | None = field(default=None, repr=False, compare=False)

    def data(self) -> bytes:
        """The episode's unpacked binary data (actions, rewards, flags, digests)."""
        if self._blob is None:
            row = self.row
            if "columns" in row or row.get("zlib"):  # format 1 always, format 2 when large
                self._blob = unpack(row["data"])
            else:
                self._blob = base64.b64decode(row["data"])
        return self._blob

    def _column(self, name: str, count: int) -> np.ndarray:
        columns = self.row.get("columns")
        if columns is not None:  # format 1
            offset, dtype = columns[name]
            return np.frombuffer(self.data(), dtype=dtype, count=count, offset=offset)
        data, steps = self.data(), self.steps
        digests_at = len(data) - 4 * (steps + 1)
        if name == "digests":
            return np.frombuffer(data, dtype="<u4", count=count, offset=digests_at)
        if name == "rewards":
            if "reward" in self.row:
                return np.full(steps, float(self.row["reward"]), dtype=np.float64)
            return np.frombuffer(data, dtype="<f8", count=count, offset=digests_at - 8 * steps)
        flags = np.zeros(steps, dtype=np.uint8)  # only the last step can end an episode
        if steps:
            flags[-1] = (1 if self.terminated else 0) | (2 if self.truncated else 0)
        return flags

    @property
    def episode(self) -> int:
        """The episode's number within its sub-env (or env), from 0."""
        return int(self.row["episode"])

    @property
    def env_index(self) -> int | None:
        """The sub-env for vector envs, else ``None``."""
        return self.row.get("env_index")

    @property
    def steps(self) -> int:
        """The episode's length."""
        return int(self.row["steps"])

    @property
    def episode_return(self) -> float:
        """The sum of the logged rewards."""
        return float(self.row["return"])

    @property
    def terminated(self) -> bool:
        """The episode ended in a terminal state."""
        return bool(self.row["terminated"])

    @property
    def truncated(self) -> bool:
        """The episode was cut off."""
        return bool(self.row["truncated"])

    @property
    def seed(self) -> int | None:
        """The reset seed, ``None`` for an unseeded reset."""
        return self.row.get("seed")

    @property
    def label(self) -> str:
        """``episode K`` or ``episode K of sub-env I``, for messages."""
        where = "" if self.env_index is None else f" of sub-env {self.env_index}"
        return f"episode {self.episode}{where}"

    def actions(self, space: spaces.Space | None = None) -> list[Any]:
        """The actions, exactly as the agent passed them (decoded along ``space``)."""
        if "not_replayable" in self.row:
            raise NotReplayable(f"{self.label} cannot be replayed: {self.row['not_replayable']}")
        space = space or self.action_space
        if space is None:
            raise ValueError("the action space is needed to decode actions")
        actions = self.row["actions"]
        if isinstance(actions, list):  # format 2: the leaves
            actions = {"steps": self.steps, "leaves": actions}
        return decode_actions(space, actions, self.data())

    def rewards(self) -> np.ndarray:
        """The logged rewards (float64)."""
        return self._column("rewards", self.steps)

    def flags(self) -> np.ndarray:
        """Per step: bit 0 terminated, bit 1 truncated."""
        return self._column("flags", self.steps)

    def digests(self) -> np.ndarray:
        """CRC-32 of the reset observation, then of each step's observation."""
        return self._column("digests", self.steps + 1)


@dataclass
class ReplayLog:
    """A replay log read back: its headers and its finished episodes, in file order."""

    path: Path
    headers: list[dict[str, Any]]
    episodes: list[LoggedEpisode]
    skipped: int = 0

    def find(self, episode: int, env_index: int | None = None) -> LoggedEpisode:
        """The newest logged ``episode`` (of sub-env ``env_index``); ``KeyError`` if absent."""
        for logged in reversed(self.episodes):
            if logged.episode == episode and logged.env_index == env_index:
                return logged
        raise KeyError(f"episode {episode} is not in {self.path}")


def read_replay(path: str | os.PathLike[str], *,
                action_space: spaces.Space | None = None) -> ReplayLog:
    """Read ``replay.ndjson`` (or the folder holding it).

    Actions are decoded with ``action_space`` when given, else with the space of the
    env the header's recipe rebuilds (built once, lazily, by :mod:`agentreel.replay.player`).
    A line that is not valid JSON (a log cut by a full disk) is skipped with a warning.
    """
    file = Path(path)
    if file.is_dir():
        file = file / LOG_NAME
    if not file.is_file():
        raise FileNotFoundError(f"no replay log at {file}: record the run with "
                                "agentreel.RecordReplay or RecordVideo(..., replay=True)")
    headers: dict[str, dict[str, Any]] = {}
    first: dict[tuple[str, Any], dict[str, Any]] = {}
    episodes: list[LoggedEpisode] = []
    skipped = 0
    with open(file, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                skipped += 1
                warnings.warn(f"{file}:{number}: not a whole JSON line; skipped", RuntimeWarning,
                              stacklevel=2)
                continue
            if row.get("type") == "replay-header":
                if row.get("format") not in READABLE_FORMATS:
                    raise ValueError(f"{file}:{number}: replay log format {row.get('format')!r}"
                                     f" is newer than this agentreel reads (formats "
                                     f"{', '.join(map(str, READABLE_FORMATS))}); upgrade agentreel")
                headers[row["run"]] = row
            elif row.get("type") == "first-reset":
                first[(row.get("run"), row.get("env_index"))] = row
            elif row.get("type") == "episode" and row.get("run") in headers:
                recipe = headers[row["run"]]["recipe"]
                start = first.get((row["run"], row.get("env_index")))
                episodes.append(LoggedEpisode(row, recipe, action_space, start))
    return ReplayLog(file, list(headers.values()), episodes, skipped)
