"""``agentreel.sb3.VecMonitor``: Stable-Baselines3's ``VecMonitor`` plus agentreel's episode log.

Everything SB3 users rely on is SB3's: ``info["episode"] = {"r": float32, "l": int32,
"t": seconds since the monitor started}`` (plus ``info_keywords``) on the step that ends
a sub-env's episode, so ``model.ep_info_buffer``, ``rollout/ep_rew_mean`` and
``EvalCallback`` work unchanged; ``filename`` names the same ``monitor.csv`` (a folder
gives ``FOLDER/monitor.csv``, ``logs/run`` gives ``logs/run.monitor.csv``), which
``stable_baselines3.common.monitor.load_results`` reads.

In addition, next to that file, agentreel's ``episodes.jsonl`` (``FOLDER/episodes.jsonl``,
``logs/run.episodes.jsonl``): one :class:`~agentreel.core.records.EpisodeRecord` per episode
with a unique ``index`` across sub-envs (the order episodes ended in), the sub-env's
``env_index``, Gymnasium's per-episode ``duration``, and ``terminated``/``truncated``.
Each row is on disk when its episode ends (crash-safe appends).

Example:
    >>> import tempfile
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> from agentreel import read_episodes
    >>> folder = tempfile.mkdtemp()
    >>> venv = VecMonitor(make_vec_env("CartPole-v1", n_envs=2, seed=0), folder)
    >>> _ = venv.reset()
    >>> for _ in range(60):
    ...     _ = venv.step([venv.action_space.sample() for _ in range(2)])
    >>> venv.close()
    >>> records = read_episodes(folder)
    >>> sorted(r.index for r in records) == list(range(len(records))), {r.env_index for r in records}
    (True, {0, 1})
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env import VecMonitor as SB3VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from agentreel.core.records import EpisodeRecord
from agentreel.log import EpisodeEmitter, JsonlSink, MonitorCsvSink
from agentreel.log.sinks import LogTarget

__all__ = ["VecMonitor", "monitor_paths"]


def monitor_paths(filename: str) -> tuple[str, str]:
    """The ``monitor.csv`` SB3 writes for ``filename``, and agentreel's JSON Lines log beside it.

    >>> monitor_paths("/tmp/logs/run")
    ('/tmp/logs/run.monitor.csv', '/tmp/logs/run.episodes.jsonl')
    >>> monitor_paths("/tmp/logs/monitor.csv")
    ('/tmp/logs/monitor.csv', '/tmp/logs/episodes.jsonl')
    """
    if not filename.endswith(Monitor.EXT):
        if os.path.isdir(filename):
            filename = os.path.join(filename, Monitor.EXT)
        else:
            filename = filename + "." + Monitor.EXT
    csv_path = os.path.realpath(filename)
    return csv_path, csv_path[: -len(Monitor.EXT)] + "episodes.jsonl"


class VecMonitor(SB3VecMonitor):
    """SB3's ``VecMonitor(venv, filename=None, info_keywords=())`` with agentreel's episode log.

    It is an instance of SB3's ``VecMonitor`` (so ``evaluate_policy`` and
    ``is_vecenv_wrapped`` see a monitor).

    Args:
        venv: the vectorized env (``DummyVecEnv``, ``SubprocVecEnv``, a wrapper of one).
        filename: as in SB3: ``None`` writes no file; a folder or a path prefix gives the
            ``monitor.csv`` SB3 would write, plus ``episodes.jsonl`` beside it.
        info_keywords: keys of the final ``info`` copied into ``info["episode"]``, the
            CSV's extra columns and each record's ``extras``.
        log: (keyword-only) more sinks for the records: a folder, a path, a sink such
            as :class:`agentreel.LoggingSink` or a tracker, or a list of them.
        on_episode_end: (keyword-only) called with each :class:`EpisodeRecord`.
    """

    def __init__(
        self,
        venv: VecEnv,
        filename: str | None = None,
        info_keywords: tuple[str, ...] = (),
        *,
        log: LogTarget = None,
        on_episode_end: Callable[[EpisodeRecord], object] | None = None,
    ) -> None:
        super().__init__(venv, filename=None, info_keywords=info_keywords)
        spec = getattr(venv, "spec", None)
        env_id = spec.id if spec is not None else None
        # sinks opened from log= paths are the emitter's to close; sink objects stay the caller's
        self._emitter = EpisodeEmitter(log, on_episode_end, env_id=env_id,
                                       extra_keys=tuple(info_keywords))
        self.monitor_path: str | None = None
        self.episodes_path: str | None = None
        if filename:
            self.monitor_path, self.episodes_path = monitor_paths(filename)
            os.makedirs(os.path.dirname(self.monitor_path), exist_ok=True)
            self._emitter.add_sink(MonitorCsvSink(
                self.monitor_path, env_id=str(env_id), extra_keys=tuple(info_keywords),
                t_start=self.t_start), owned=True)
            self._emitter.add_sink(JsonlSink(self.episodes_path), owned=True)
        self._episode_starts = np.full(self.num_envs, time.perf_counter())

    # -- SB3's VecEnv API -------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset every sub-env; running returns and lengths start over (as in SB3)."""
        obs = super().reset()
        self._episode_starts[:] = time.perf_counter()
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        """Step; on each finished episode set ``info["episode"]`` and log one record."""
        obs, rewards, dones, infos = self.venv.step_wait()
        self.episode_returns += rewards
        self.episode_lengths += 1
        new_infos = list(infos[:])
        now = time.perf_counter()
        for i in range(len(dones)):
            if not dones[i]:
                continue
            info = infos[i].copy()
            episode_info = {"r": self.episode_returns[i], "l": self.episode_lengths[i],
                            "t": round(time.time() - self.t_start, 6)}
            for key in self.info_keywords:
                episode_info[key] = info[key]
            info["episode"] = episode_info
            self._emit(i, info, episode_info, now)
            self.episode_count += 1
            self.episode_returns[i] = 0
            self.episode_lengths[i] = 0
            self._episode_starts[i] = now
            new_infos[i] = info
        return obs, rewards, dones, new_infos

    def _emit(self, env_index: int, info: dict[str, Any], episode_info: dict[str, Any],
              now: float) -> None:
        if not self._emitter.wants_records:
            return
        truncated = bool(info.get("TimeLimit.truncated", False))
        self._emitter.emit(EpisodeRecord(
            index=self.episode_count,
            episode_return=float(episode_info["r"]),
            length=int(episode_info["l"]),
            duration=round(now - self._episode_starts[env_index], 6),
            terminated=not truncated,
            truncated=truncated,
            end_time=self.t_start + episode_info["t"],
            elapsed=episode_info["t"],
            env_index=env_index,
            extras={key: episode_info[key] for key in self.info_keywords},
        ))

    def close(self) -> None:
        """Close the log files, then the wrapped env."""
        try:
            self._emitter.close()
        finally:
            self.venv.close()

    # -- agentreel ---------------------------------------------------------------------------
    def add_sink(self, sink: Any, *, owned: bool = False) -> None:
        """Also write every finished episode to ``sink`` (e.g. a tracker) from now on."""
        self._emitter.add_sink(sink, owned=owned)

    @property
    def last_record(self) -> EpisodeRecord | None:
        """The record of the most recently finished episode."""
        return self._emitter.last_record

