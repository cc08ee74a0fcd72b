"""The text of a format-2 episode line, built without a JSON encoder.

A finished episode is one JSON object on one line (the format is documented in
:mod:`agentreel.replay.log`). Writing it is the logger's whole per-episode cost, paid
between two steps of the agent, so the line is assembled from preformatted pieces:
the fixed fields in one f-string, the binary columns with :mod:`array` (no numpy
for the common cases), integer columns stored one byte per value when every value
fits, a reward column left out when every step had the same reward, and zlib only
for payloads big enough to gain from it. What varies rarely (an action leaf's
description, the RNG state's layout) is cached.

Example:
    >>> from gymnasium import spaces
    >>> import json, numpy as np
    >>> encoder = EpisodeEncoder(spaces.Discrete(3))
    >>> leaves, blob = encoder.actions([np.int64(2), np.int64(0)])
    >>> json.loads(leaves)[0]["stored"], blob
    ('u1', b'\\x02\\x00')
    >>> json_float(float("inf")), json_float(0.5)
    ('Infinity', '0.5')
"""

from __future__ import annotations

import base64
import json
import sys
import zlib
from array import array
from collections.abc import Sequence
from functools import reduce
from operator import add
from typing import Any

import numpy as np
from gymnasium import spaces

from agentreel.replay.codec import NotReplayable, encode_action_leaves

__all__ = ["EpisodeEncoder", "ZLIB_MIN_BYTES", "json_float", "rng_text"]

#: Payloads of fewer bytes are stored without zlib (``"zlib"`` absent): deflate's fixed
#: cost per stream exceeds what it saves on a few hundred bytes.
ZLIB_MIN_BYTES = 1024

_LITTLE = sys.byteorder == "little"
_U4 = "I" if array("I").itemsize == 4 else "L"  # a 4-byte unsigned array type code
_INT64 = "q"  # 8 bytes everywhere


def json_float(value: float) -> str:
    """A float as JSON text (``repr`` round-trips exactly; JSON's names for non-finite)."""
    if value - value == 0.0:
        return repr(value)
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def rng_text(state: dict[str, Any] | None) -> str:
    """numpy's ``bit_generator.state`` as JSON text (PCG64 without the JSON encoder)."""
    if state is None:
        return "null"
    inner = state.get("state")
    if state.get("bit_generator") == "PCG64" and isinstance(inner, dict) and len(state) == 4:
        return (f'{{"bit_generator":"PCG64","state":{{"state":{int(inner["state"])},'
                f'"inc":{int(inner["inc"])}}},"has_uint32":{int(state["has_uint32"])},'
                f'"uinteger":{int(state["uinteger"])}}}')
    return json.dumps(state, separators=(",", ":"))


def _narrowed(raw: bytes, itemsize: int, count: int) -> bytes | None:
    """Each little-endian integer's low byte, when every other byte is zero; else ``None``."""
    low = raw[::itemsize]
    if raw.count(0) - low.count(0) == (itemsize - 1) * count:
        return low
    return None


class EpisodeEncoder:
    """Builds format-2 episode lines for one action space (caches per action type)."""

    def __init__(self, space: spaces.Space) -> None:
        self.space = space
        self._single = not isinstance(space, (spaces.Dict, spaces.Tuple))
        self._leaf_text: dict[tuple[Any, ...], str] = {}

    # -- actions ------------------------------------------------------------------------
    def actions(self, actions: Sequence[Any]) -> tuple[str, bytes]:
        """``(leaves JSON text, bytes)`` of one episode's actions (see the format).

        Raises :class:`~agentreel.replay.codec.NotReplayable` when an action leaf
        changed type during the episode.
        """
        if self._single and actions:
            first = type(actions[0])
            if first is np.ndarray:
                fast = self._arrays(actions)
            elif first is np.int64 or first is int:
                fast = self._int64s(actions, first)
            else:
                fast = None
            if fast is not None:
                return fast
        leaves, blob = encode_action_leaves(self.space, actions, 0)
        return json.dumps(leaves, separators=(",", ":")), blob

    def _int64s(self, actions: Sequence[Any], kind: type) -> tuple[str, bytes] | None:
        if not _LITTLE:
            return None
        for action in actions:
            if type(action) is not kind:
                return None  # mixed types: the general path explains
        try:
            raw = array(_INT64, actions).tobytes()
        except OverflowError:
            return None
        stored = _narrowed(raw, 8, len(actions))
        text = self._leaf(("np0" if kind is np.int64 else "py:int", "<i8", (),
                           stored is not None))
        return text, raw if stored is None else stored

    def _arrays(self, actions: Sequence[Any]) -> tuple[str, bytes] | None:
        first = actions[0]
        dtype, shape = first.dtype, first.shape
        for action in actions:
            if type(action) is not np.ndarray or action.dtype != dtype or action.shape != shape:
                return None
        if dtype.hasobject:
            return None
        raw = np.asarray(actions, dtype=dtype).tobytes()
        stored = None
        if dtype.kind in "iu" and dtype.itemsize > 1 and dtype.byteorder in ("<", "=") \
                and _LITTLE:
            stored = _narrowed(raw, dtype.itemsize, len(raw) // dtype.itemsize)
        return (self._leaf(("np", dtype.str, tuple(shape), stored is not None)),
                raw if stored is None else stored)

    def _leaf(self, key: tuple[Any, ...]) -> str:
        text = self._leaf_text.get(key)
        if text is None:
            kind, dtype, shape, narrow = key
            leaf: dict[str, Any] = {"path": [], "kind": kind, "dtype": dtype,
                                    "shape": list(shape), "offset": 0}
            if narrow:
                leaf["stored"] = "u1"
            text = self._leaf_text[key] = json.dumps([leaf], separators=(",", ":"))
        return text

    # -- the line ------------------------------------------------------------------------
    def line(self, buffer: Any, run: str, end_time: float,
             episode_return: float | None = None) -> str:
        """The episode in ``buffer`` (an :class:`~agentreel.replay.log.EpisodeBuffer`) as one
        line of text, ending in a newline."""
        steps = buffer.steps
        count = len(steps)
        actions, rewards, digests = zip(*steps, strict=True) if count else ((), (), ())
        if episode_return is None:
            episode_return = reduce(add, rewards, 0.0)
        try:
            leaves, blob = self.actions(actions)
            action_text = f'"actions":{leaves},'
        except NotReplayable as exc:
            action_text, blob = f'"not_replayable":{json.dumps(str(exc))},', b""
        reward_text, reward_bytes = self._rewards(rewards)
        digest_column = array(_U4, (buffer.first_digest or 0, *digests))
        if not _LITTLE:
            digest_column.byteswap()
        data = b"".join((blob, reward_bytes, digest_column.tobytes()))
        packed = ""
        if len(data) >= ZLIB_MIN_BYTES:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 12, 2)
            data = compressor.compress(data) + compressor.flush()
            packed = ',"zlib":true'
        flags = buffer.end_flags
        optional = ""
        if buffer.hidden:
            optional += f'"hidden":{json.dumps(buffer.hidden, separators=(",", ":"))},'
        if buffer.options is not None:
            optional += f'"options":{json.dumps(buffer.options, separators=(",", ":"))},'
        index = "null" if buffer.env_index is None else int(buffer.env_index)
        seed = "null" if buffer.seed is None else int(buffer.seed)
        return (f'{{"type":"episode","run":"{run}","env_index":{index},'
                f'"episode":{int(buffer.episode)},"seed":{seed},"rng":{rng_text(buffer.rng)},'
                f'{optional}"steps":{count},"return":{json_float(float(episode_return))},'
                f'"terminated":{"true" if flags & 1 else "false"},'
                f'"truncated":{"true" if flags & 2 else "false"},"end_time":{end_time:.6f},'
                f'{action_text}{reward_text}"data":"{base64.b64encode(data).decode("ascii")}"'
                f'{packed}}}\n')

    @staticmethod
    def _rewards(rewards: Sequence[Any]) -> tuple[str, bytes]:
        """``('"reward":R,', b"")`` when every reward is ``R``, else ``("", float64 bytes)``."""
        if not rewards:
            return "", b""
        column = None
        if type(rewards[0]) is not np.ndarray:
            try:
                column = array("d", rewards)
            except (TypeError, ValueError):
                column = None
        if column is None:
            return "", np.asarray(rewards, dtype="<f8").tobytes()
        first = column[0]
        if column.count(first) == len(column):
            return f'"reward":{json_float(first)},', b""
        if not _LITTLE:
            column.byteswap()
        return "", column.tobytes()
