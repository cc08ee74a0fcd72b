"""Log every sub-env of an SB3 ``DummyVecEnv`` for ``VecVideoRecorder(..., replay=True)``.

SB3's ``DummyVecEnv`` resets a finished sub-env inside ``step_wait()``, without a
seed, before a ``VecEnvWrapper`` sees the step; only a wrapper *around the sub-env*
can read the env's random state at that reset. So :class:`SubEnvLogs` wraps each
sub-env in place with :class:`agentreel.RecordReplay` (``env_index=i``): every
sub-env episode is logged to ``FOLDER/replay.ndjson`` (seed, or RNG state at an
unseeded reset; the exact actions the sub-env received; rewards, flags and
observation digests), and nothing is rendered.

``SubprocVecEnv`` runs its sub-envs in other processes, out of reach from here: it
is refused with a :class:`~agentreel.replay.RebuildError` naming the fixes.

Example:
    >>> import tempfile
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    >>> logs = SubEnvLogs(venv, tempfile.mkdtemp())
    >>> _ = venv.reset()
    >>> _ = venv.step([0, 1])
    >>> [logs.position(i)[1] for i in range(2)], logs.position(0)[0].episode
    ([1, 1], 0)
    >>> venv.close()
"""

from __future__ import annotations

import os
from typing import Any

from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper

from agentreel.replay import RebuildError, RecordReplay
from agentreel.replay.log import EpisodeBuffer, LoggedEpisode

__all__ = ["SubEnvLogs", "base_vec_env"]

_SUBPROC_FIX = (
    "replay=True logs each sub-env from this process, and SubprocVecEnv runs them in other "
    "processes. Use make_vec_env(..., vec_env_cls=DummyVecEnv) (the SB3 default), or record "
    "live (replay=False), or log each sub-env yourself with "
    "agentreel.RecordReplay(env, folder, env_index=rank) inside your make_env and render the "
    "episodes later with `agentreel render FOLDER`")


def base_vec_env(venv: VecEnv) -> VecEnv:
    """The innermost ``VecEnv`` under any ``VecEnvWrapper`` layers."""
    while isinstance(venv, VecEnvWrapper):
        venv = venv.venv
    return venv


class SubEnvLogs:
    """Wraps each sub-env of ``venv``'s ``DummyVecEnv`` with :class:`~agentreel.RecordReplay`.

    Args:
        venv: the vector env (a ``DummyVecEnv``, possibly under ``VecEnvWrapper`` layers).
        folder: where ``replay.ndjson`` goes.
        env_fn: ``"module:callable"`` returning one sub-env, for sub-envs without a spec.

    Raises:
        RebuildError: ``venv`` is not a ``DummyVecEnv``, or a sub-env cannot be rebuilt.
    """

    def __init__(self, venv: VecEnv, folder: str | os.PathLike[str],
                 env_fn: str | None = None) -> None:
        base = base_vec_env(venv)
        if isinstance(base, SubprocVecEnv):
            raise RebuildError(_SUBPROC_FIX)
        if not isinstance(base, DummyVecEnv):
            raise RebuildError(f"replay=True needs SB3's DummyVecEnv (its sub-envs are logged "
                               f"one by one); got {type(base).__name__}. Record live "
                               "(replay=False) for it")
        already = [i for i, env in enumerate(base.envs) if isinstance(env, RecordReplay)]
        if already:
            raise RebuildError(f"sub-env(s) {already} are already wrapped with RecordReplay; "
                               "replay=True logs them itself: remove that wrapper")
        wrapped = [RecordReplay(env, folder, env_fn, env_index=i)
                   for i, env in enumerate(base.envs)]  # every recipe checked before any swap
        base.envs[:] = wrapped
        self.wrappers = wrapped

    def position(self, index: int) -> tuple[EpisodeBuffer | None, int]:
        """Sub-env ``index``'s episode in progress (its buffer) and its steps so far."""
        buffer = self.wrappers[index].logger.buffer
        return buffer, (0 if buffer is None else buffer.length)

    def logged(self, index: int, buffer: EpisodeBuffer) -> LoggedEpisode:
        """``buffer`` (an episode of sub-env ``index``, finished or not) as a logged episode."""
        logger = self.wrappers[index].logger
        terminated, truncated = buffer.ended
        row: dict[str, Any] = buffer.row(logger.writer.run, logger.action_space, terminated,
                                         truncated)
        # (not the live action space: see ReplayEngine._submit; the replayer has its own)
        return LoggedEpisode(row, logger.recipe, None, logger.first_reset)

    def close(self) -> None:
        """Close every sub-env's log (the sub-envs themselves belong to the vector env)."""
        for wrapper in self.wrappers:
            wrapper.logger.close()
