"""Bit-exact actions, observation digests and RNG states, as plain bytes and JSON.

Everything a replay log holds is encoded here, in forms any language can read:

* **Actions** are split into *leaves* following the action space (``Dict``
  keys in the space's order, ``Tuple`` items in order, anything else one
  leaf). Each leaf of an episode is one column: the numpy ``dtype`` string and
  ``shape`` of the values exactly as the agent passed them, and their bytes,
  step after step. A leaf the agent gave as a Python ``int``/``float``/``bool``
  is marked ``"py"`` so replay hands back the same Python type; a string leaf
  (``Text`` spaces) is stored as a JSON list of strings.
* **Observation digests** are ``zlib.crc32`` (standard CRC-32) of each
  observation leaf's bytes in C order, chained leaf to leaf (``crc32(b, prev)``);
  one little-endian ``uint32`` per observation.
* **Payloads** (columns of bytes) are ``zlib``-compressed then base64-encoded
  (:func:`pack` / :func:`unpack`; format 2 compresses large payloads only).
* A leaf with ``"stored": "u1"`` (format 2) holds each integer's low byte only: every
  value was in ``[0, 256)``; readers widen it back to ``dtype``.
* **RNG states** are numpy's ``bit_generator.state`` dictionaries (JSON-able).

Example:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> space = spaces.Dict({"move": spaces.Discrete(3), "force": spaces.Box(-1, 1, (2,))})
    >>> actions = [{"move": 2, "force": np.array([0.5, -0.25], np.float32)}] * 3
    >>> column = encode_actions(space, actions)
    >>> decode_actions(space, column)[1]["force"].tolist(), type(decode_actions(space, column)[0]["move"])
    ([0.5, -0.25], <class 'int'>)
    >>> obs_digest(np.zeros(3)) == obs_digest(np.zeros(3)), obs_digest({"a": 1}) != obs_digest({"a": 2})
    (True, True)
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
from gymnasium import spaces

__all__ = ["NotReplayable", "decode_actions", "encode_actions", "obs_digest", "pack", "unpack",
           "rng_state", "restore_rng"]

_PY_TYPES: dict[type, str] = {int: "int", float: "float", bool: "bool"}
_FROM_PY = {"int": int, "float": float, "bool": bool}


class NotReplayable(ValueError):
    """The episode's actions cannot be logged bit-exactly (the reason says why)."""


def pack(data: bytes) -> str:
    """``base64(zlib(data))``: the text form of every binary column.

    A small window and little memory (a standard zlib stream all the same): an
    episode's columns are a few KB, and setting up a default compressor (256 KB of
    state) would cost more than compressing them.

    >>> unpack(pack(b"abc"))
    b'abc'
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 12, 2)
    return base64.b64encode(compressor.compress(data) + compressor.flush()).decode("ascii")


def unpack(text: str) -> bytes:
    """The bytes of :func:`pack`'s text."""
    return zlib.decompress(base64.b64decode(text))


# -- observations -------------------------------------------------------------------
def _leaves(value: Any) -> Iterator[Any]:
    """The leaves of a nested observation/action (dicts in key order, tuples in order)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def obs_digest(obs: Any) -> int:
    """CRC-32 of an observation's bytes (leaf by leaf, chained); an ``int`` in ``[0, 2**32)``."""
    if isinstance(obs, np.ndarray) and obs.flags.c_contiguous:
        return zlib.crc32(obs)  # type: ignore[arg-type]  # numpy declares __buffer__ only for Python >= 3.12
    crc = 0
    for leaf in _leaves(obs):
        if isinstance(leaf, str):
            crc = zlib.crc32(leaf.encode("utf-8"), crc)
        else:
            crc = zlib.crc32(np.ascontiguousarray(leaf), crc)  # type: ignore[arg-type]  # as above
    return crc


def digests_bytes(digests: Sequence[int]) -> bytes:
    """Digests as little-endian ``uint32`` bytes."""
    return np.asarray(digests, dtype="<u4").tobytes()


# -- actions ---------------------------------------------------------------------------
def _space_paths(space: spaces.Space, prefix: str = "") -> list[tuple[str, tuple[Any, ...]]]:
    """``(name, key path)`` of each action leaf of ``space``."""
    if isinstance(space, spaces.Dict):
        out = []
        for key, sub in space.spaces.items():
            out += [(f"{prefix}{key}{'/' + n if n else ''}", (key, *p))
                    for n, p in _space_paths(sub)]
        return out
    if isinstance(space, spaces.Tuple):
        out = []
        for i, sub in enumerate(space.spaces):
            out += [(f"{prefix}{i}{'/' + n if n else ''}", (i, *p)) for n, p in _space_paths(sub)]
        return out
    return [("", ())]


def _get(action: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        action = action[key]
    return action


def copy_action(action: Any) -> Any:
    """A copy the agent cannot change afterwards (arrays copied, containers rebuilt)."""
    if isinstance(action, np.ndarray):
        return action.copy()
    if isinstance(action, dict):
        return {k: copy_action(v) for k, v in action.items()}
    if isinstance(action, tuple):
        return tuple(copy_action(v) for v in action)
    return action


def _leaf_kind(value: Any) -> tuple[str, str, list[int]]:
    """``(kind, dtype, shape)``: kind ``"py"``, ``"np"`` (array or numpy scalar) or ``"str"``."""
    if isinstance(value, str):
        return "str", "", []
    kind = _PY_TYPES.get(type(value))
    if kind is not None:
        return "py:" + kind, np.asarray(value).dtype.str, []
    array = np.asarray(value)
    if array.dtype == object:
        raise NotReplayable(f"an action leaf of type {type(value).__name__} is not an array")
    scalar = "np0" if isinstance(value, np.generic) else "np"
    return scalar, array.dtype.str, list(array.shape)


def _uniform(values: list[Any]) -> bool:
    """Every value has the first one's type (and, for arrays, dtype and shape)."""
    first = values[0]
    if type(first) is np.ndarray:
        return all(type(v) is np.ndarray and v.dtype == first.dtype and v.shape == first.shape
                   for v in values)
    return len(set(map(type, values))) == 1


def encode_actions(space: spaces.Space, actions: Sequence[Any]) -> dict[str, Any]:
    """One episode's actions as ``{"steps": L, "leaves": [...], "data": pack(bytes)}``.

    Every leaf keeps the dtype, shape and Python type the agent passed at the
    episode's first step; a later step that differs raises :class:`NotReplayable`.
    """
    leaves, blob = encode_action_leaves(space, actions, 0)
    return {"steps": len(actions), "leaves": leaves, "data": pack(blob)}


def encode_action_leaves(space: spaces.Space, actions: Sequence[Any],
                         offset: int) -> tuple[list[dict[str, Any]], bytes]:
    """The leaf descriptions and their bytes, placed from ``offset`` in a shared blob."""
    leaves = []
    chunks: list[bytes] = []
    paths = _space_paths(space)
    for name, path in paths:
        values = [_get(a, path) for a in actions] if path else list(actions)
        if values and not _uniform(values):
            kinds = sorted({str(_leaf_kind(v)) for v in values})
            raise NotReplayable(f"action leaf {name or 'action'!r} changed type during the "
                                f"episode ({' then '.join(kinds)})")
        kind, dtype, shape = _leaf_kind(values[0]) if values else ("np", "<i8", [])
        leaf: dict[str, Any] = {"path": list(path), "kind": kind, "dtype": dtype, "shape": shape}
        if kind == "str":
            leaf["values"] = values
        else:
            column = np.asarray(values, dtype=dtype) if values else np.zeros(0, dtype)
            leaf["offset"] = offset + sum(len(c) for c in chunks)
            chunks.append(column.tobytes())
        leaves.append(leaf)
    return leaves, b"".join(chunks)


def decode_actions(space: spaces.Space, column: dict[str, Any],
                   data: bytes | None = None) -> list[Any]:
    """The actions :func:`encode_actions` stored, with their dtypes and Python types.

    ``data``: the unpacked blob the leaves point into, when it is not ``column["data"]``.
    """
    if data is None:
        data = unpack(column["data"])
    steps = int(column["steps"])
    per_leaf: list[list[Any]] = []
    for leaf in column["leaves"]:
        if leaf["kind"] == "str":
            per_leaf.append(list(leaf["values"]))
            continue
        dtype = np.dtype(leaf["dtype"])
        shape = tuple(leaf["shape"])
        count = steps * int(np.prod(shape, dtype=np.int64))
        stored = np.dtype(leaf.get("stored", dtype))  # format 2: "u1", one byte a value
        array = np.frombuffer(data, dtype=stored, count=count,
                              offset=leaf["offset"]).astype(dtype).reshape((steps, *shape))
        kind = leaf["kind"]
        if kind.startswith("py:"):
            per_leaf.append([_FROM_PY[kind[3:]](x) for x in array.tolist()])
        elif kind == "np0":
            per_leaf.append([array[i][()] for i in range(steps)])
        else:
            per_leaf.append([array[i].copy() for i in range(steps)])
    return [_assemble(space, [column_[i] for column_ in per_leaf]) for i in range(steps)]


def _assemble(space: spaces.Space, values: list[Any]) -> Any:
    """Rebuild one nested action from its leaves (in :func:`_space_paths` order)."""
    it = iter(values)

    def build(sub: spaces.Space) -> Any:
        if isinstance(sub, spaces.Dict):
            return {key: build(s) for key, s in sub.spaces.items()}
        if isinstance(sub, spaces.Tuple):
            return tuple(build(s) for s in sub.spaces)
        return next(it)

    return build(space)


# -- random number generators -------------------------------------------------------------
def rng_state(generator: np.random.Generator) -> dict[str, Any]:
    """A numpy ``Generator``'s bit-generator state as JSON-able data.

    PCG64 (numpy's default) gives plain ints (128-bit: parse them as big integers);
    bit generators holding arrays (MT19937) get lists.
    """
    state = generator.bit_generator.state
    if state.get("bit_generator") == "PCG64":
        return cast("dict[str, Any]", state)  # numpy declares a Mapping; it is a fresh dict
    return json.loads(json.dumps(state, default=_jsonable))


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """A new ``Generator`` in exactly ``state`` (from :func:`rng_state`).

    >>> g = np.random.default_rng(5); s = rng_state(g)
    >>> restore_rng(s).random() == g.random()
    True
    """
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a replay log")
