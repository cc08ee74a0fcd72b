"""``agentreel.vector.RecordReplay``: every sub-env episode logged as its own replayable episode.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel.vector import RecordReplay
    >>> from agentreel.replay import read_replay
    >>> folder = tempfile.mkdtemp()
    >>> envs = RecordReplay(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"), folder)
    >>> _ = envs.reset(seed=0)
    >>> _ = envs.action_space.seed(0)
    >>> for _ in range(200):
    ...     _ = envs.step(envs.action_space.sample())
    >>> envs.close()
    >>> sorted({e.env_index for e in read_replay(folder).episodes})
    [0, 1]
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import iterate

from agentreel.core.episode_tracker import VectorEpisodeTracker, sub_env_seeds
from agentreel.replay.codec import copy_action, obs_digest, rng_state
from agentreel.replay.dispatcher import ReplayEngine
from agentreel.replay.hidden import capture_hidden
from agentreel.replay.log import EpisodeBuffer, ReplayLogWriter
from agentreel.replay.recipe import RebuildError, recipe_of
from agentreel.replay.wrapper import jsonable_options

__all__ = ["VectorEpisodeLogger", "VectorRecordReplay"]


def _base(env: Any) -> Any:
    while isinstance(env, gym.vector.VectorWrapper):
        env = env.env
    return env


class VectorEpisodeLogger:
    """The logging side of :class:`VectorRecordReplay` (also used by the vector
    ``RecordVideo(replay=True, per_env=True)``): call :meth:`reset` and :meth:`step`
    with what the vector env's own calls returned."""

    def __init__(self, env: gym.vector.VectorEnv, folder: str | os.PathLike[str],
                 env_fn: str | None = None) -> None:
        self.env = env
        self.num_envs = env.num_envs
        base = _base(env)
        mode = AutoresetMode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        if mode == AutoresetMode.SAME_STEP:
            raise ValueError("RecordReplay cannot log a vector env with SAME_STEP autoreset "
                             "(a sub-env resets inside step(), before its random state can be "
                             "read); use AutoresetMode.NEXT_STEP (the default)")
        if isinstance(base, SyncVectorEnv):
            self._sync: list[gym.Env] | None = list(base.envs)
            sub: Any = base.envs[0]
        elif isinstance(base, AsyncVectorEnv):
            self._sync = None
            sub = type("SubEnv", (), {"spec": base.get_attr("spec")[0]})()
        elif env_fn is None:
            raise RebuildError(f"{type(base).__name__} has no separate sub-envs to rebuild; "
                               "use gym.make_vec(..., vectorization_mode='sync' or 'async'), "
                               "or pass env_fn='module:callable'")
        else:
            raise RebuildError(f"{type(base).__name__} has no sub-envs whose random state can be "
                               "read; use a SyncVectorEnv or AsyncVectorEnv")
        self._base = base
        self.recipe = recipe_of(sub, env_fn)
        self.writer = ReplayLogWriter(folder, self.recipe, env.single_action_space, env.num_envs)
        self.tracker = VectorEpisodeTracker(env.num_envs, mode)
        self.buffers: list[EpisodeBuffer | None] = [None] * env.num_envs
        self.first_resets: list[dict[str, Any] | None] = [None] * env.num_envs
        self.started = [0] * env.num_envs
        self._end_state: dict[int, tuple[Any, Any]] = {}
        self._fast_obs = isinstance(env.single_observation_space, gym.spaces.Box)

    def _random_states(self, indices: list[int]) -> dict[int, tuple[Any, Any]]:
        if not indices:
            return {}
        if self._sync is not None:
            return {i: (rng_state(self._sync[i].unwrapped.np_random),
                        capture_hidden(self._sync[i])) for i in indices}
        generators = self._base.get_attr("np_random")
        return {i: (rng_state(generators[i]), None) for i in indices}

    def _obs(self, obs: Any) -> list[Any]:
        if self._fast_obs:
            return list(obs)
        return list(iterate(self.env.observation_space, obs))

    def _begin(self, i: int, seed: int | None, state: tuple[Any, Any] | None, obs_i: Any,
               options: Any = None) -> None:
        rng, hidden = state if state is not None else (None, None)
        buffer = EpisodeBuffer(self.started[i], seed, rng, hidden, env_index=i,
                               first_digest=obs_digest(obs_i))
        buffer.options = options
        self.started[i] += 1
        self.buffers[i] = buffer
        if self.first_resets[i] is None:
            self.first_resets[i] = self.writer.write_first_reset(buffer)

    def before_reset(self, seed: Any, options: dict[str, Any] | None) -> Any:
        """Read the random states that the sub-envs about to be reset without a seed start from."""
        mask = None if options is None else options.get("reset_mask")
        chosen = list(range(self.num_envs)) if mask is None else \
            [int(i) for i in np.flatnonzero(mask)]
        seeds = sub_env_seeds(seed, self.num_envs)
        return seed, options, chosen, seeds, self._random_states(
            [i for i in chosen if seeds[i] is None])

    def after_reset(self, before: Any, obs: Any) -> None:
        """The sub-envs reset; each begins a new logged episode."""
        seed, options, chosen, seeds, states = before
        mask = None if options is None else options.get("reset_mask")
        self.tracker.reset(seed, None if mask is None else np.asarray(mask, dtype=bool))
        rest = None if options is None else {k: v for k, v in options.items() if k != "reset_mask"}
        data, ok = jsonable_options(rest or None)
        per_obs = self._obs(obs)
        for i in chosen:
            self._begin(i, seeds[i], states.get(i), per_obs[i],
                        data if ok else {"not_json": repr(rest)})

    def step(self, actions: Any, obs: Any, rewards: Any, terminations: Any,
             truncations: Any) -> None:
        """Log one vector step; write each sub-env episode that ended."""
        result = self.tracker.step(rewards, terminations, truncations)
        per_action = list(iterate(self.env.action_space, actions))
        per_obs = self._obs(obs)
        for i in range(self.num_envs):
            if result.restarted[i]:  # this sub-env's autoreset step: a new, unseeded episode
                self._begin(i, None, self._end_state.pop(i, None), per_obs[i])
                continue
            buffer = self.buffers[i]
            if buffer is None:
                continue
            buffer.add(copy_action(per_action[i]), rewards[i], terminations[i], truncations[i],
                       obs_digest(per_obs[i]))
        if result.any_done:
            done = [int(i) for i in np.flatnonzero(result.dones)]
            for i in done:
                buffer = self.buffers[i]
                if buffer is not None:
                    self.writer.write(buffer, terminated=bool(terminations[i]),
                                      truncated=bool(truncations[i]))
                self.buffers[i] = None
            self._end_state.update(self._random_states(done))

    def close(self) -> None:
        """Close the log."""
        self.writer.close()

    def replay_engine(self, index: int) -> ReplayEngine:
        """A :class:`ReplayEngine` rendering sub-env ``index``'s episodes in the background."""
        return ReplayEngine(lambda: self.buffers[index], self.recipe,
                            self.env.single_action_space, self.writer.run,
                            lambda: self.first_resets[index])


class VectorRecordReplay(gym.vector.VectorWrapper):
    """Logs each sub-env's episodes to ``folder/replay.ndjson``; never renders.

    The same log as :class:`agentreel.RecordReplay`, with ``env_index`` set: episode
    ``K`` of sub-env ``I`` replays on a single env built from the sub-env's spec.
    Works on ``SyncVectorEnv`` and ``AsyncVectorEnv`` under ``NEXT_STEP`` (the default)
    and ``DISABLED`` autoreset; ``SAME_STEP`` resets a sub-env inside ``step()``, before
    its random state can be read, so it is refused. ALE's own generator state is captured
    for ``SyncVectorEnv`` only.

    Args:
        env: the vector env.
        folder: where ``replay.ndjson`` goes.
        env_fn: ``"module:callable"`` returning one sub-env (called with ``render_mode=``).
    """

    def __init__(self, env: gym.vector.VectorEnv, folder: str | os.PathLike[str],
                 env_fn: str | None = None) -> None:
        super().__init__(env)
        self.logger = VectorEpisodeLogger(env, folder, env_fn)

    @property
    def log_path(self) -> str:
        """The path of the replay log."""
        return str(self.logger.writer.path)

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset (all sub-envs, or those in ``options["reset_mask"]``) and log new episodes."""
        before = self.logger.before_reset(seed, options)
        # gymnasium's VectorEnv.reset declares seed: int | None; Sync/AsyncVectorEnv take a list
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]
        self.logger.after_reset(before, obs)
        return obs, info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step every sub-env and log each one's step."""
        obs, rewards, terminations, truncations, info = self.env.step(actions)
        self.logger.step(actions, obs, rewards, terminations, truncations)
        return obs, rewards, terminations, truncations, info

    def close(self, **kwargs: Any) -> None:
        """Close the env and the log."""
        try:
            self.env.close(**kwargs)
        finally:
            self.logger.close()
