"""The text of a format-2 episode line, built without a JSON encoder.

A finished episode is one JSON object on one line (the format is documented in
:mod:`agentreel.replay.log`). Writing it is the logger's whole per-episode cost, paid
between two steps of the agent, so the line is assembled from preformatted pieces:
the fixed fields in one f-string, the binary columns with :mod:`array` (no numpy
for the common cases), integer columns stored one byte per value when every value
fits, a reward column left out when every step had the same reward, and zlib only
for payloads big enough to gain from it, and only when it does. What varies rarely
(an action leaf's description, the RNG state's layout) is cached.

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

import json
import sys
import zlib
from array import array
from binascii import b2a_base64
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from agentreel.replay.codec import NotReplayable, encode_action_leaves

__all__ = ["EpisodeEncoder", "ZLIB_MIN_BYTES", "episode_sum", "json_float", "rng_text"]

#: Payloads of fewer bytes are stored without zlib (``"zlib"`` absent): deflate's fixed
#: cost per stream exceeds what it saves on a few hundred bytes. Larger ones are stored
#: compressed only when that makes them smaller.
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


def rng_text(state: dict[str, Any] | None, inc_text: str | None = None) -> str:
    """numpy's ``bit_generator.state`` as JSON text (PCG64 without the JSON encoder);
    ``inc_text``: PCG64's ``inc`` as text, when the caller has it already."""
    if state is None:
        return "null"
    if state.get("bit_generator") == "PCG64":  # numpy's layout: ints in a fixed shape
        inner = state["state"]
        return (f'{{"bit_generator":"PCG64","state":{{"state":{inner["state"]},'
                f'"inc":{inc_text or inner["inc"]}}},"has_uint32":{state["has_uint32"]},'
                f'"uinteger":{state["uinteger"]}}}')
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
        self._inc: tuple[Any, str] = (None, "")  # PCG64's inc and its text
        self._reward: tuple[Any, str] = (None, "")  # a constant reward and its text
        #: The leaf of one-byte integer actions, by the type the agent passed them as.
        self._byte_leaves: dict[type, str] = {} if not self._single else {
            kind: self._leaf((name, "<i8", (), True)) for kind, name in ((np.int64, "np0"),
                                                                       (int, "py:int"))}

    # -- actions ------------------------------------------------------------------------
    def actions(self, actions: Sequence[Any], action_type: type | None = None) -> tuple[str, bytes]:
        """``(leaves JSON text, bytes)`` of one episode's actions (see the format).

        ``action_type``: the type of every action, when the caller knows it (else checked).
        Raises :class:`~agentreel.replay.codec.NotReplayable` when an action leaf
        changed type during the episode.
        """
        if action_type is not None and actions:  # the commonest case, checked first
            leaf = self._byte_leaves.get(action_type)
            if leaf is not None:
                try:
                    return leaf, bytes(actions)  # every value in [0, 256): one byte each
                except ValueError:
                    pass
        if self._single and actions:
            first = type(actions[0])
            if first is np.ndarray:
                fast = self._arrays(actions)
            elif first is np.int64 or first is int:
                fast = self._int64s(actions, first, action_type is first)
            else:
                fast = None
            if fast is not None:
                return fast
        leaves, blob = encode_action_leaves(self.space, actions, 0)
        return json.dumps(leaves, separators=(",", ":")), blob

    def _int64s(self, actions: Sequence[Any], kind: type,
                uniform: bool = False) -> tuple[str, bytes] | None:
        if not uniform and len(set(map(type, actions))) != 1:
            return None  # mixed types: the general path explains
        try:
            stored = bytes(actions)  # every value in [0, 256): one byte each
        except ValueError:
            if not _LITTLE:
                return None
            try:
                raw = array(_INT64, actions).tobytes()
            except OverflowError:
                return None
            return self._leaf(("np0" if kind is np.int64 else "py:int", "<i8", (), False)), raw
        return self._leaf(("np0" if kind is np.int64 else "py:int", "<i8", (), True)), stored

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
        line of text, ending in a newline; ``episode_return`` if known (else it is added up)."""
        return self.encode(buffer, run, end_time, episode_return)[0]

    def encode(self, buffer: Any, run: str, end_time: float,
               episode_return: Any = None) -> tuple[str, Any]:
        """``(line, episode return)``: :meth:`line`, and the return it holds (computed by
        :func:`episode_sum` when not given)."""
        steps = buffer.steps
        actions, rewards, digests = steps[0::3], steps[1::3], steps[2::3]
        count = len(rewards)
        try:
            leaves, blob = self.actions(actions, buffer.action_type)
            action_text = f'"actions":{leaves},'
        except NotReplayable as exc:
            action_text, blob = f'"not_replayable":{json.dumps(str(exc))},', b""
        reward_text, reward_bytes, total = self._rewards(rewards)
        if episode_return is None:
            episode_return = episode_sum(rewards) if total is None else total
        digest_column = array(_U4, digests)
        digest_column.insert(0, buffer.first_digest or 0)
        if not _LITTLE:
            digest_column.byteswap()
        data = b"".join((blob, reward_bytes, digest_column.tobytes()))
        packed = ""
        if len(data) >= ZLIB_MIN_BYTES:
            # Level 1 with zlib's default window and memory: ~34 us for 2 KB here, where
            # level 6 with little memory took 150-190 us on float actions that it cannot
            # shrink. Kept only when smaller (random float actions come out larger).
            squeezed = zlib.compress(data, 1)
            if len(squeezed) < len(data):
                data, packed = squeezed, ',"zlib":true'
        flags = buffer.end_flags
        optional = ""
        if buffer.hidden:
            optional += f'"hidden":{json.dumps(buffer.hidden, separators=(",", ":"))},'
        if buffer.options is not None:
            optional += f'"options":{json.dumps(buffer.options, separators=(",", ":"))},'
        index = "null" if buffer.env_index is None else int(buffer.env_index)
        seed = "null" if buffer.seed is None else int(buffer.seed)
        rng = "null" if buffer.rng is None else self._rng_text(buffer.rng)
        return (f'{{"type":"episode","run":"{run}","env_index":{index},'
                f'"episode":{int(buffer.episode)},"seed":{seed},"rng":{rng},'
                f'{optional}"steps":{count},"return":{json_float(float(episode_return))},'
                f'"terminated":{"true" if flags & 1 else "false"},'
                f'"truncated":{"true" if flags & 2 else "false"},"end_time":{end_time:.6f},'
                f'{action_text}{reward_text}"data":"{b2a_base64(data, newline=False).decode()}"'
                f'{packed}}}\n'), episode_return

    def _rng_text(self, state: dict[str, Any]) -> str:
        """:func:`rng_text`, with the text of PCG64's ``inc`` (fixed per generator) cached."""
        if state.get("bit_generator") != "PCG64":
            return rng_text(state)
        inc = state["state"]["inc"]
        cached_inc, inc_text = self._inc
        if inc != cached_inc:
            inc_text = str(inc)
            self._inc = (inc, inc_text)
        return rng_text(state, inc_text)

    def _rewards(self, rewards: list[Any]) -> tuple[str, bytes, Any]:
        """``('"reward":R,', b"", total)`` when every reward is ``R``, else ``("", float64
        bytes, None)``. ``total`` is the episode's return when it is known exactly without
        adding (every reward the same whole number, as a Python float), else ``None``."""
        if not rewards:
            return "", b"", None
        first = rewards[0]
        count = len(rewards)
        if isinstance(first, float) and rewards.count(first) == count:
            if first is self._reward[0]:  # (the env's constant reward: its text is cached)
                text = self._reward[1]
            else:
                text = f'"reward":{json_float(float(first))},'
                self._reward = (first, text)
            total = None
            if type(first) is float and first.is_integer() and abs(first) * count < 2.0 ** 53:
                # Every running sum is a whole number below 2**53, so adding in order is
                # exact and equals the product (+ 0.0: a sum of -0.0 from 0.0 is 0.0).
                total = first * count + 0.0
            return text, b"", total
        column = None
        if type(first) is not np.ndarray:
            try:
                column = array("d", rewards)
            except (TypeError, ValueError):
                column = None
        if column is None:
            return "", np.asarray(rewards, dtype="<f8").tobytes(), None
        if column.count(column[0]) == len(column):
            return f'"reward":{json_float(column[0])},', b"", None
        if not _LITTLE:
            column.byteswap()
        return "", column.tobytes(), None


def episode_sum(rewards: Sequence[Any]) -> Any:
    """The rewards added in order with ``+``, from ``0.0`` (as Gymnasium's statistics do).

    >>> episode_sum([1.0, 2.5])
    3.5
    """
    total: Any = 0.0
    for reward in rewards:
        total += reward
    return total
