"""The rank of a sub-environment whose wrappers are built inside ``make_env``.

Stable-Baselines3 and CleanRL users build their wrappers inside a ``make_env`` function
that a vector env calls once per sub-env (``DummyVecEnv([make_env] * 4)``,
``SubprocVecEnv``, ``make_vec_env(..., wrapper_class=...)``, Gymnasium's
``SyncVectorEnv``/``AsyncVectorEnv``). Those helpers pass the wrapper no rank, so
:func:`building_rank` finds it where the helper keeps it while it builds the sub-env:

* ``make_vec_env``: its per-rank builder's ``rank``; Gymnasium's ``AsyncVectorEnv``
  worker: its ``index``;
* ``DummyVecEnv`` / ``SyncVectorEnv`` (one process): the order in which the vector env
  builds its sub-envs (one count per kind of wrapper and folder);
* a ``SubprocVecEnv`` worker (no rank in sight): the lowest rank not yet taken in the
  folder, claimed with an exclusive file (``.agentreel-claims/NAME.sub-env-K``), so
  ranks are distinct but follow the order the worker processes start in;
* anything else (a wrapper built outside a vector env): ``None``.

:class:`SubEnvSlot` registers a wrapper's rank in its folder so that wrappers can ask
whether other live sub-envs share the folder and name (then the rank goes into the
names) or not (then Gymnasium's names stay).

Example:
    >>> building_rank("video", "/tmp") is None   # not inside a vector env's construction
    True
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import weakref
from types import FrameType
from typing import Any

from agentreel.clips.claims import (
    CLAIMS_FOLDER,
    _live,
    _read_claim,
    create_claim,
    is_scratch,
    sweep_scratch,
)

__all__ = ["SubEnvSlot", "building_rank", "log_folder", "rank_log_target"]

_SB3_MAKE_VEC_ENV = ("stable_baselines3.common.env_util", "_init")
_SB3_SUBPROC_WORKER = ("stable_baselines3.common.vec_env.subproc_vec_env", "_worker")
_GYM_ASYNC_WORKER = ("gymnasium.vector.async_vector_env", "_async_worker")
_IN_PROCESS_VECTOR_ENVS = {("stable_baselines3.common.vec_env.dummy_vec_env", "DummyVecEnv"),
                           ("gymnasium.vector.sync_vector_env", "SyncVectorEnv")}

_counts: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_mine: set[str] = set()  # registration files of open wrappers of this process


def _where(frame: FrameType) -> tuple[str, str]:
    return frame.f_globals.get("__name__", ""), frame.f_code.co_name


def building_rank(kind: str, folder: str, *, depth: int = 1) -> int | None:
    """The rank of the sub-env being built by a vector env right now, else ``None``.

    ``kind`` and ``folder`` tell apart the wrappers counted in one vector env (e.g.
    ``"video:rl-video"``); ``depth`` skips the caller's own frames.
    """
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        where = _where(frame)  # (f_locals is read only from the few frames that matter)
        if where == _SB3_MAKE_VEC_ENV and isinstance(frame.f_locals.get("rank"), int):
            return int(frame.f_locals["rank"])
        if where == _GYM_ASYNC_WORKER and isinstance(frame.f_locals.get("index"), int):
            return int(frame.f_locals["index"])
        if where[1] == "__init__" and "self" in frame.f_code.co_varnames:
            owner = frame.f_locals.get("self")
            if owner is not None and (type(owner).__module__, type(owner).__name__) in \
                    _IN_PROCESS_VECTOR_ENVS:
                return _next_in(owner, f"{kind}:{folder}")
        if where == _SB3_SUBPROC_WORKER:
            return _claim_free_rank(kind, folder)
        frame = frame.f_back
    return None


def _next_in(vector_env: Any, key: str) -> int:
    with _lock:
        counts = _counts.setdefault(vector_env, {})
        rank = counts.get(key, 0)
        counts[key] = rank + 1
    return rank


def _registration(folder: str, name: str, rank: int) -> str:
    return os.path.join(folder, CLAIMS_FOLDER, f"{name}.sub-env-{rank}")


_worker_rank: dict[int, int] = {}  # pid -> the rank this worker process claimed


def _claim_free_rank(kind: str, folder: str) -> int:
    """A worker process builds one sub-env: every wrapper in it shares one claimed rank."""
    pid = os.getpid()
    if pid in _worker_rank:
        return _worker_rank[pid]
    for rank in range(10_000):
        if _try_register(_registration(folder, "worker", rank)):
            _worker_rank[pid] = rank
            return rank
    raise FileExistsError(f"no free sub-env rank for {kind!r} in {folder!r}")


def rank_log_target(log: Any, rank: int) -> Any:
    """A sub-env's own log files: a folder gives ``{rank}.monitor.csv`` and
    ``{rank}.episodes.jsonl`` in it (SB3's ``make_vec_env(monitor_dir=...)`` naming),
    ``x.csv`` gives ``{rank}.x.csv``; JSON Lines files (safe to share) and sink objects
    stay as they are.

    >>> rank_log_target("runs/ppo", 2)
    ['runs/ppo/2.monitor.csv', 'runs/ppo/2.episodes.jsonl']
    """
    if isinstance(log, (list, tuple)):
        return [rank_log_target(item, rank) for item in log]
    if not isinstance(log, (str, os.PathLike)):
        return log
    path = os.fspath(log)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".jsonl":
        return path
    if suffix == ".csv":
        head, tail = os.path.split(path)
        return os.path.join(head, f"{rank}.{tail}")
    return [os.path.join(path, f"{rank}.monitor.csv"), os.path.join(path, f"{rank}.episodes.jsonl")]


def log_folder(log: Any) -> str | None:
    """The folder a ``log=`` target writes into (``None`` for sink objects only)."""
    if isinstance(log, (list, tuple)):
        return next((f for f in map(log_folder, log) if f is not None), None)
    if not isinstance(log, (str, os.PathLike)):
        return None
    path = os.path.abspath(os.fspath(log))
    return os.path.dirname(path) if os.path.splitext(path)[1] else path


def _try_register(path: str) -> bool:
    """Create ``path`` exclusively (taking over a dead writer's); True if it is now ours."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for _ in range(3):
        if create_claim(path):
            with _lock:
                _mine.add(path)
            return True
        holder = _read_claim(path)
        if holder is not None and (_live(path, holder) or path in _mine):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)  # a dead (or closed) writer's: free again
    return False


class SubEnvSlot:
    """A wrapper's rank, registered in its folder while the wrapper is open.

    Args:
        folder: the shared folder (videos or logs).
        name: what the wrappers share (e.g. the video ``name_prefix``).
        rank: the sub-env's rank (:func:`building_rank`).
    """

    def __init__(self, folder: str, name: str, rank: int) -> None:
        self.folder = folder
        self.name = name
        self.rank = rank
        self.path = _registration(folder, name, rank)
        self.registered = _try_register(self.path)

    def shared(self) -> bool:
        """True when another live sub-env's wrapper uses the same folder and name."""
        claims = os.path.join(self.folder, CLAIMS_FOLDER)
        prefix = f"{self.name}.sub-env-"
        try:
            names = [n for n in os.listdir(claims) if n.startswith(prefix) and not is_scratch(n)]
        except FileNotFoundError:
            return False
        for entry in names:
            path = os.path.join(claims, entry)
            if path == self.path:
                continue
            holder = _read_claim(path)
            if path in _mine or (holder is not None and _live(path, holder)):
                return True
        return False

    def release(self) -> None:
        """The wrapper is closed: its rank is free again."""
        if self.registered:
            self.registered = False
            _remove(self.path)


def _remove(path: str) -> None:
    with _lock:
        _mine.discard(path)
    with contextlib.suppress(OSError):
        os.remove(path)
    sweep_scratch(os.path.dirname(path))  # what writers killed while registering left
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))


@atexit.register
def _release_at_exit() -> None:
    for path in list(_mine):
        _remove(path)
