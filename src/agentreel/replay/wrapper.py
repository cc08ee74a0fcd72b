"""``RecordReplay``: log every episode's replay data; never render.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordReplay
    >>> from agentreel.replay import read_replay
    >>> folder = tempfile.mkdtemp()
    >>> env = RecordReplay(gym.make("CartPole-v1"), folder)
    >>> _ = env.reset(seed=1)
    >>> done = False
    >>> while not done:
    ...     _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    ...     done = terminated or truncated
    >>> env.close()
    >>> [(e.episode, e.seed) for e in read_replay(folder).episodes]
    [(0, 1)]
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from time import perf_counter
from typing import Any, SupportsFloat
from zlib import crc32

import gymnasium as gym
import numpy as np

from agentreel.replay.codec import copy_action, obs_digest, rng_state
from agentreel.replay.dispatcher import ReplayEngine
from agentreel.replay.hidden import capture_hidden, has_hidden
from agentreel.replay.log import EpisodeBuffer, ReplayLogWriter
from agentreel.replay.recipe import recipe_of

__all__ = ["EpisodeLogger", "LoggedEnd", "RecordReplay", "bind_logged_step", "jsonable_options"]

#: A finished episode as :meth:`EpisodeLogger.end` reports it (with ``track_ends``): its
#: buffer (``end_flags`` set), its return, and the ``time.perf_counter()`` of its start
#: (its duration is taken when asked for: most episodes are not).
LoggedEnd = tuple[EpisodeBuffer, Any, float]


def jsonable_options(options: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """``(options, ok)``: the reset options as JSON data, ``ok`` False if they are not JSON."""
    if options is None:
        return None, True
    try:
        return json.loads(json.dumps(options)), True
    except (TypeError, ValueError):
        return None, False


def _has_autoreset(env: gym.Env) -> bool:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.Autoreset):
            return True
        env = env.env
    return False


class EpisodeLogger:
    """The logging side of :class:`RecordReplay`, also used by ``RecordVideo(replay=True)``.

    Call :meth:`before_reset` and :meth:`after_reset` around the env's ``reset()``, and
    :meth:`step_env` instead of its ``step()`` (the wrappers bind it as their ``step``:
    one Python call a step). :attr:`buffer` is the episode in progress (``None`` after it
    ended).
    :attr:`on_autoreset` (if set) is called when a step begins a new episode without a
    ``reset()`` (Gymnasium's ``Autoreset`` wrapper). With :attr:`track_ends` set,
    :meth:`end` returns the :data:`LoggedEnd` of an episode it ended (else ``None``:
    ``RecordReplay`` needs no account of it).
    """

    def __init__(self, env: gym.Env, folder: str | os.PathLike[str],
                 env_fn: str | None = None, env_index: int | None = None) -> None:
        self.env = env
        self.env_index = env_index
        self.recipe = recipe_of(env, env_fn)
        self.action_space = env.action_space
        self.writer = ReplayLogWriter(folder, self.recipe, env.action_space)
        self.buffer: EpisodeBuffer | None = None
        self._steps: list[Any] | None = None  # the buffer's (flat) steps
        #: The episode in progress's steps when :meth:`step_env` may append to them as they
        #: come (actions that need no copy); ``None`` otherwise.
        self._fast_steps: list[Any] | None = None
        #: The one action type :meth:`step_env` logs without a look (a scalar type seen
        #: before; arrays are copied, so never this).
        self._fast_type: type | None = None
        #: The last finished episode (``None`` before one ended).
        self.last_episode: EpisodeBuffer | None = None
        self.first_reset: dict[str, Any] | None = None
        self.episodes_started = 0
        #: Steps taken outside the episode in progress: those of earlier episodes (ended
        #: or cut short) and steps with no episode open (see :meth:`steps_taken`).
        self.steps_done = 0
        self.on_autoreset: Callable[[], None] | None = None
        #: Called by :meth:`step_env` with each ended episode's :data:`LoggedEnd` and
        #: last ``info`` (with :attr:`track_ends`).
        self.on_end: Callable[[LoggedEnd, Any], None] | None = None
        #: Return a :data:`LoggedEnd` for each finished episode (``RecordVideo`` does).
        self.track_ends = False
        self._ended = False  # an episode ended and no new one began (autoreset follows)
        self._start_time = 0.0
        self._start: tuple[Any, ...] = (None, None, None, None)
        self._autoreset = _has_autoreset(env)
        self._end_state: tuple[Any, Any] = (None, None)
        self._simple = not isinstance(env.action_space, (gym.spaces.Dict, gym.spaces.Tuple))
        self._unwrapped = env.unwrapped
        self._hidden = has_hidden(env)

    def _random_state(self) -> tuple[dict[str, Any], dict[str, str] | None]:
        env = self._unwrapped
        return rng_state(env.np_random), capture_hidden(env) if self._hidden else None

    def before_reset(self, seed: int | None, options: dict[str, Any] | None) -> None:
        """Capture what replay needs to repeat this reset (the RNG state when unseeded)."""
        if seed is not None:
            self._start = (seed, None, None, options)
        else:
            self._start = (None, *self._random_state(), options)

    def after_reset(self, obs: Any) -> None:
        """A new episode began with ``obs``."""
        seed, rng, hidden, options = self._start
        buffer = self._begin(seed, rng, hidden, obs)
        if options is not None:
            data, ok = jsonable_options(options)
            buffer.options = data if ok else {"not_json": repr(options)}
        if self.episodes_started == 1:
            self.first_reset = self.writer.write_first_reset(buffer)

    def steps_taken(self) -> int:
        """Every step logged or seen so far, the episode in progress's included (what
        Gymnasium's ``RecordVideo`` counts in ``step_id``, plus one)."""
        buffer = self.buffer
        return self.steps_done + (0 if buffer is None else buffer.length)

    def _begin(self, seed: int | None, rng: Any, hidden: Any, obs: Any) -> EpisodeBuffer:
        if self.buffer is not None:  # cut short by this reset: its steps were taken
            self.steps_done += self.buffer.length
        buffer = self.buffer = EpisodeBuffer(self.episodes_started, seed, rng, hidden,
                                             self.env_index, obs_digest(obs))
        self._steps = buffer.steps
        if self._simple:
            self._fast_steps = buffer.steps
            buffer.action_type = self._fast_type  # (until another type comes)
        self.episodes_started += 1
        self._ended = False
        if self.track_ends:
            self._start_time = perf_counter()
        return buffer

    def step_env(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env with ``action``, log the step and return what the env returned.

        The per-step work is a CRC-32 of the observation and one list extend; the episode
        is encoded and written only when it ends, and then passed, with its last
        ``info``, to :attr:`on_end` when set (see :attr:`track_ends`).
        """
        result = self.env.step(action)
        obs, reward, terminated, truncated, info = result
        steps = self._fast_steps
        if steps is None or type(action) is not self._fast_type:
            ended = self._step_copying(action, obs, reward, terminated, truncated)
        else:
            try:  # obs_digest's common case, inlined (this runs on every step)
                digest = crc32(obs)  # a C-contiguous array (most observations): its bytes
            except (TypeError, ValueError, BufferError):
                digest = obs_digest(obs)
            steps += (action, reward, digest)
            if not (terminated or truncated):
                return result
            ended = self.end(terminated, truncated)
        if ended is not None and self.on_end is not None:
            self.on_end(ended, info)
        return result

    def _step_copying(self, action: Any, obs: Any, reward: Any, terminated: Any,
                      truncated: Any) -> LoggedEnd | None:
        """A step outside an episode, with an action that must be copied, or with one of
        a type :meth:`step_env` has not seen; the episode's end if it ended."""
        steps, buffer = self._steps, self.buffer
        if steps is None or buffer is None:
            self._outside_episode(obs)
            return None
        kind = type(action)
        if kind is np.ndarray:
            action = action.copy()  # the agent may reuse its array
            buffer.action_type = None
        elif not self._simple:
            action = copy_action(action)
        else:  # a scalar of a new type: logged without a look from now on
            buffer.action_type = None if steps else kind  # (None: mixed types)
            self._fast_type = kind
        steps += (action, reward, obs_digest(obs))
        if terminated or truncated:
            return self.end(terminated, truncated)
        return None

    def _outside_episode(self, obs: Any) -> None:
        """A step with no episode open: before any reset, or an autoreset step."""
        self.steps_done += 1
        if not self._ended:
            return  # step() before reset(): the env itself complains
        # The env reset itself (Autoreset): this step begins a new, unseeded episode.
        rng, hidden = self._end_state
        self._begin(None, rng, hidden, obs)
        if self.on_autoreset is not None:
            self.on_autoreset()

    def end(self, terminated: Any, truncated: Any) -> LoggedEnd | None:
        """The step just logged ended the episode: write it (see :attr:`track_ends`)."""
        buffer = self.buffer
        if buffer is None:  # (never: end follows a logged step)
            raise RuntimeError("no episode in progress")
        self.buffer = self._steps = self._fast_steps = None
        self.last_episode = buffer
        self.steps_done += buffer.length
        self._ended = True
        episode_return = self.writer.write(buffer, terminated=terminated, truncated=truncated)
        if self._autoreset:
            self._end_state = self._random_state()
        if not self.track_ends:
            return None
        return buffer, episode_return, self._start_time

    def close(self) -> None:
        """Close the log (the unfinished episode, if any, is not written)."""
        self.writer.close()

    def replay_engine(self) -> ReplayEngine:
        """A :class:`ReplayEngine` that renders this logger's episodes in the background."""
        return ReplayEngine(lambda: self.buffer, self.recipe, self.action_space, self.writer.run,
                            lambda: self.first_reset)


def bind_logged_step(wrapper: gym.Wrapper, wrapper_class: type, logger: EpisodeLogger) -> None:
    """Make ``logger.step_env`` the ``wrapper``'s own ``step`` when its class's ``step`` does
    just that (it is not a subclass's override): one Python call a step fewer
    (BENCHMARKS.md, seventh round)."""
    if type(wrapper).step is wrapper_class.step:  # type: ignore[attr-defined]
        wrapper.step = logger.step_env  # type: ignore[method-assign]


class RecordReplay(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Logs each episode so that it can be replayed and rendered later; never renders.

    Per episode, one line is appended to ``folder/replay.ndjson`` when it ends (see
    :mod:`agentreel.replay.log` for the format): the reset seed, or for an unseeded
    reset the env's ``np_random`` state (and ALE's own generator state), the exact
    actions, and per step the reward, the terminated/truncated flags and a CRC-32 of
    the observation. How to rebuild the env (its ``env.spec``, or ``env_fn``) is in the
    log's header. Render the episodes later with ``agentreel render FOLDER`` or
    :func:`agentreel.replay.render_episodes`.

    Args:
        env: the env; it must be rebuildable in another process: made by ``gym.make``
            from an importable entry point, with wrappers that record their arguments.
        folder: where ``replay.ndjson`` goes (created if missing).
        env_fn: ``"module:callable"`` returning the env (called with ``render_mode=``),
            for envs without a usable spec.
        env_index: for a sub-env of a vector env built elsewhere (e.g. wrapped inside
            Stable-Baselines3's ``make_vec_env(wrapper_class=...)``): logged as the episodes'
            ``env_index``. Several processes may append to one folder's log.

    Raises:
        RebuildError: (a ``ValueError``) at construction when the env cannot be rebuilt.
    """

    def __init__(self, env: gym.Env, folder: str | os.PathLike[str],
                 env_fn: str | None = None, *, env_index: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, folder=os.fspath(folder), env_fn=env_fn,
                                                 env_index=env_index)
        gym.Wrapper.__init__(self, env)
        self.logger = EpisodeLogger(env, folder, env_fn, env_index)
        bind_logged_step(self, RecordReplay, self.logger)

    @property
    def log_path(self) -> str:
        """The path of the replay log."""
        return str(self.logger.writer.path)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the env and start logging its new episode."""
        self.logger.before_reset(seed, options)
        obs, info = self.env.reset(seed=seed, options=options)
        self.logger.after_reset(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and log the step."""
        return self.logger.step_env(action)

    def close(self) -> None:
        """Close the env and the log."""
        try:
            super().close()
        finally:
            self.logger.close()
