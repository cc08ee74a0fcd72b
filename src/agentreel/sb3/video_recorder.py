"""``agentreel.sb3.VecVideoRecorder``: SB3's ``VecVideoRecorder`` on agentreel's video engine.

Same arguments, file names and attributes as
``stable_baselines3.common.vec_env.VecVideoRecorder(venv, video_folder,
record_video_trigger, video_length=200, name_prefix="rl-video")``: when
``record_video_trigger(step)`` fires, a clip of ``video_length + 1`` frames (SB3's
tiled image of every sub-env) is written as
``{name_prefix}-step-{step}-to-step-{step + video_length}.mp4``. Unlike SB3's, no frame
is kept in memory (they stream to agentreel's encoder process), nothing is encoded on
the training loop, each file appears under its final name only when complete, and
moviepy is not needed.

Keyword-only extras (as in :class:`agentreel.RecordVideo`): ``format``, ``quality``,
``keep`` (clips judged by the rewards collected during the clip), ``on_video_saved``,
``overlay``, ``sidecar``, ``fps``, ``per_env`` (one file per sub-env,
``{name_prefix}-env-{i}-step-{a}-to-step-{b}.mp4``) and ``replay`` (the training loop
never renders: each sub-env's episodes are logged to ``video_folder/replay.ndjson`` and
the clips are re-rendered from the log in a background process, into the same files;
see :mod:`agentreel.sb3.clip_replay`).

Example:
    >>> import tempfile
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> folder = tempfile.mkdtemp()
    >>> venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, env_kwargs={"render_mode": "rgb_array"})
    >>> venv = VecVideoRecorder(venv, folder, record_video_trigger=lambda step: step == 0,
    ...                         video_length=10)
    >>> _ = venv.reset()
    >>> for _ in range(12):
    ...     _ = venv.step([venv.action_space.sample() for _ in range(2)])
    >>> venv.close()
    >>> [(v.name, v.frames) for v in venv.saved_videos]
    [('rl-video-step-0-to-step-10', 11)]

    The same clip, rendered by replay (the loop never calls ``render()``):
    >>> venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    >>> venv = VecVideoRecorder(venv, tempfile.mkdtemp(), lambda step: step == 0,
    ...                         video_length=10, replay=True)
    >>> _ = venv.reset()
    >>> for _ in range(12):
    ...     _ = venv.step([venv.action_space.sample() for _ in range(2)])
    >>> venv.close()
    >>> [(v.name, v.frames, v.error) for v in venv.saved_videos]
    [('rl-video-step-0-to-step-10', 11, None)]
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv
from stable_baselines3.common.vec_env import VecVideoRecorder as SB3VecVideoRecorder
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnvObs,
    VecEnvStepReturn,
    VecEnvWrapper,
    tile_images,
)

from agentreel.base.triggers import check_trigger, fires
from agentreel.clips.keep import KeepRule, as_keep_rule
from agentreel.clips.keeper import VideoKeeper
from agentreel.clips.overlay import OverlayFn, OverlayState, as_overlay
from agentreel.clips.recorder import ClipRecorder, VideoHook, resolve_fps
from agentreel.clips.video_wrapper import run_close_hooks, serve_recorders
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.core.videofiles import check_format
from agentreel.sb3.clip_replay import ClipReplayEngine
from agentreel.sb3.replay_logging import SubEnvLogs, base_vec_env
from agentreel.video import normalize_frame

__all__ = ["RenderModeError", "VecVideoRecorder"]

logger = logging.getLogger("agentreel")


class RenderModeError(AssertionError, ValueError):
    """The env does not render ``rgb_array`` images.

    An ``AssertionError``, like SB3's (which asserts), and a ``ValueError``; raised
    explicitly, so it is not lost under ``python -O``.
    """


class _FrameCount:
    """Stands in for SB3's ``recorded_frames`` list: its length, without the frames."""

    def __init__(self, recorders: list[ClipRecorder]) -> None:
        self._recorders = recorders

    def __len__(self) -> int:
        return max((r.clip_frames for r in self._recorders), default=0)

    def __repr__(self) -> str:
        return f"<{len(self)} frames streamed to the encoder>"


def _stock_tiled_render(venv: VecEnv) -> Callable[[], Any] | None:
    """``get_images`` of the base env when ``venv.render()`` is SB3's own (the base env's
    images tiled by ``tile_images``, no wrapper overriding ``render``), else ``None``."""
    inner = venv
    while isinstance(inner, VecEnvWrapper):
        if type(inner).render is not VecEnvWrapper.render:
            return None
        inner = inner.venv
    if not isinstance(inner, (DummyVecEnv, SubprocVecEnv)) or type(inner).render not in (
            VecEnv.render, DummyVecEnv.render):
        return None
    return inner.get_images


def _check_replay_arguments(venv: VecEnv, *, per_env: bool, overlay: Any,
                            env_fn: str | None) -> None:
    """``replay=True`` re-renders SB3's own picture of the sub-envs; refuse what it cannot."""
    if overlay is not False and overlay is not None:
        raise ValueError("replay=True does not support overlay= yet (it draws on live frames); "
                         "record live (replay=False) for it")
    if not per_env and _stock_tiled_render(venv) is None \
            and isinstance(base_vec_env(venv), DummyVecEnv):
        raise ValueError("replay=True re-renders SB3's tiled image of the sub-envs, but a "
                         f"wrapper of {venv} overrides render(); record live (replay=False)")
    if env_fn is not None and not isinstance(env_fn, str):
        raise TypeError(f"env_fn must be a string 'module:callable', got {env_fn!r}")


class VecVideoRecorder(SB3VecVideoRecorder):
    """Records clips of a ``VecEnv``; a drop-in for SB3's ``VecVideoRecorder``.

    Args:
        venv: the vectorized env; its sub-envs must use ``render_mode="rgb_array"``.
        video_folder: where the videos go (created if missing).
        record_video_trigger: ``trigger(step) -> bool``, asked at ``reset()`` and after
            each ``step()`` while no clip is being recorded.
        video_length: frames per clip after the first (a clip holds ``video_length + 1``).
        name_prefix: prefix of every file name.
        per_env: (keyword-only) one file per sub-env instead of SB3's tiled image.
        format, quality, on_video_saved, sidecar, overlay: as in :class:`agentreel.RecordVideo`.
        keep: a keep rule (:mod:`agentreel.clips.keep`) judging each clip by the rewards
            collected during it (all sub-envs' for a tiled clip, its own with ``per_env``).
        fps: the frame rate (default: the env's ``render_fps``, else 30).
        replay: (keyword-only) never render in the training process: each sub-env of the
            ``DummyVecEnv`` is wrapped with :class:`agentreel.RecordReplay` (its episodes are
            logged to ``video_folder/replay.ndjson``) and each clip is re-rendered by
            replaying the sub-envs in a background process, verified step by step, into
            the same file, tags, sidecar and ``on_video_saved`` event as a live clip. The
            sub-envs may use any ``render_mode``. A clip whose replay diverges (an env that
            is not deterministic) gets no file and a ``VideoSaved.error`` naming the clip,
            the sub-env and the step. Needs envs rebuildable from their spec (or ``env_fn``)
            and a ``DummyVecEnv`` (``SubprocVecEnv`` is refused, naming the fixes).
        env_fn: with ``replay``: ``"module:callable"`` returning one sub-env (called with
            ``render_mode=``), for sub-envs that cannot be rebuilt from their spec.

    Raises:
        RenderModeError: the env's ``render_mode`` is not ``"rgb_array"`` (an
            ``AssertionError`` with SB3's message; not checked with ``replay=True``).
        agentreel.replay.RebuildError: ``replay=True`` on envs that cannot be rebuilt or
            logged (a ``ValueError`` naming the fix), at construction.
        TypeError, ValueError: a bad argument, at construction.
    """

    video_name: str
    video_path: str
    # SB3 infers ``list | int`` from ``metadata.get("render_fps", 30)``; here it is resolve_fps()'s float
    frames_per_sec: float  # type: ignore[assignment]

    def __init__(
        self,
        venv: VecEnv,
        video_folder: str,
        record_video_trigger: Callable[[int], bool],
        video_length: int = 200,
        name_prefix: str = "rl-video",
        *,
        per_env: bool = False,
        format: str = "mp4",
        quality: int | None = None,
        keep: KeepRule | Callable[[EpisodeRecord], bool] | None = None,
        on_video_saved: VideoHook | None = None,
        sidecar: bool = False,
        overlay: bool | OverlayFn = False,
        fps: float | None = None,
        replay: bool = False,
        env_fn: str | None = None,
    ) -> None:
        VecEnvWrapper.__init__(self, venv)
        self.env = venv
        inner = venv
        while isinstance(inner, VecEnvWrapper):
            inner = inner.venv
        if isinstance(inner, (DummyVecEnv, SubprocVecEnv)):
            metadata = inner.get_attr("metadata")[0]
        else:
            metadata = inner.metadata
        self.env.metadata = metadata
        self.replay = bool(replay)
        if self.replay:
            _check_replay_arguments(venv, per_env=per_env, overlay=overlay, env_fn=env_fn)
        elif env_fn is not None:
            raise ValueError("env_fn= tells replay how to rebuild a sub-env; pass replay=True")
        elif self.env.render_mode != "rgb_array":
            raise RenderModeError(f"The render_mode must be 'rgb_array', not {self.env.render_mode}")
        if not callable(record_video_trigger):
            check_trigger("record_video_trigger", record_video_trigger)
        if isinstance(video_length, bool) or not isinstance(video_length, (int, np.integer)) \
                or video_length < 0:
            raise ValueError(f"video_length must be a number of steps >= 0 (a clip holds "
                             f"video_length + 1 frames), got {video_length!r}")
        self.frames_per_sec = resolve_fps(fps, metadata)
        self.record_video_trigger = record_video_trigger
        self.video_folder = os.path.abspath(video_folder)
        self.name_prefix = name_prefix
        self.step_id = 0
        self.video_length = int(video_length)
        self.recording = False
        self.per_env = bool(per_env)
        self.overlay = as_overlay(overlay)
        rule = as_keep_rule(keep)
        self._keeper = None if rule is None else VideoKeeper(rule, self.video_folder)
        settings: dict[str, Any] = dict(
            fps=self.frames_per_sec, format=check_format(format), quality=quality,
            sidecar=sidecar, on_video_saved=on_video_saved, keeper=self._keeper,
        )
        self._replay_logs: SubEnvLogs | None = None
        self._replay_engine: ClipReplayEngine | None = None
        if self.replay:  # every sub-env's recipe is checked here, before any recorder starts
            self._replay_logs = SubEnvLogs(venv, self.video_folder, env_fn)
            self._replay_engine = settings["engine"] = ClipReplayEngine(self._replay_logs)
        if self.per_env:
            self._recorders = [ClipRecorder(self.video_folder, name_prefix=f"{name_prefix}-env-{i}",
                                            env_index=i, **settings)
                               for i in range(self.num_envs)]
        else:
            self._recorders = [ClipRecorder(self.video_folder, name_prefix=name_prefix, **settings)]
        if self._replay_engine is not None:
            serve_recorders(self._replay_engine, self._keeper, self._recorders)
        self._close_hooks: list[Callable[[], object]] = []
        self._episode_returns = np.zeros(self.num_envs, dtype=np.float64)
        self._episode_steps = np.zeros(self.num_envs, dtype=np.int64)
        self._clip_rewards = np.zeros(self.num_envs, dtype=np.float64)
        self._clip_start = 0
        self._stock_images = _stock_tiled_render(venv)

    # -- SB3's VecEnv API --------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset; start a clip if the trigger fires at the current step."""
        obs = self.venv.reset()
        self._episode_returns[:] = 0.0
        self._episode_steps[:] = 0
        if self._video_enabled():
            self._start_video_recorder()
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        """Step; add a frame to the open clip, or start one if the trigger fires."""
        obs, rewards, dones, infos = self.venv.step_wait()
        self.step_id += 1
        rewards_f = np.asarray(rewards, dtype=np.float64).reshape(-1)
        self._episode_returns += rewards_f
        self._episode_steps += 1
        if self.recording:
            self._clip_rewards += rewards_f
        ended = np.asarray(dones, dtype=bool).reshape(-1)
        self._episode_returns[ended] = 0.0  # the frame below already shows the reset sub-env
        self._episode_steps[ended] = 0
        if self.recording:
            self._capture_frame()
            if len(self.recorded_frames) > self.video_length:
                self._stop_recording()
        elif self._video_enabled():
            self._start_video_recorder()
        return obs, rewards, dones, infos

    def close(self) -> None:
        """Close the env, finish the open clip, and wait until every video is on disk."""
        try:
            VecEnvWrapper.close(self)
        finally:
            try:
                if self.recording:
                    self._stop_recording()
                for recorder in self._recorders:
                    recorder.close()
                if self._keeper is not None:
                    self._keeper.close()
            finally:
                if self._replay_engine is not None:
                    self._replay_engine.close()
                if self._replay_logs is not None:
                    self._replay_logs.close()
            run_close_hooks(self._close_hooks)

    # -- SB3's recorder methods, streamed --------------------------------------------------------
    def _video_enabled(self) -> bool:
        return fires("record_video_trigger", self.record_video_trigger, self.step_id)

    def _start_video_recorder(self) -> None:
        self._start_recording()
        self._capture_frame()

    def _start_recording(self) -> None:
        span = f"step-{self.step_id}-to-step-{self.step_id + self.video_length}"
        if self.recording:
            self._stop_recording()
            if self._clip_start == self.step_id:  # the same name again (reset() at that step):
                for recorder in self._recorders:  # it replaces the clip, as in SB3, once done
                    recorder.close()
        self._clip_start = self.step_id
        self._clip_rewards[:] = 0.0
        for recorder in self._recorders:
            recorder.step_id = self.step_id
            recorder.start(f"{recorder.name_prefix}-{span}", judged=self._keeper is not None)
        first = self._recorders[0]
        self.video_name = f"{first.video_name}.{first.format}"
        self.video_path = os.path.join(self.video_folder, self.video_name)
        self.recording = True

    def _capture_frame(self) -> None:
        frame: np.ndarray | None
        if self.replay:  # the replay process renders this frame later, if the clip is kept
            for recorder in self._recorders:
                recorder.capture(None)
            return None
        if self.per_env or self.overlay is not None:
            raw = list(self.venv.get_images())
            if any(not isinstance(image, np.ndarray) for image in raw):
                return self._refuse_frame(raw)
            images = cast("list[np.ndarray]", raw)  # every image was just checked
            if self.overlay is not None:
                images = [self.overlay(normalize_frame(image), self._state(i))
                          for i, image in enumerate(images)]
            if self.per_env:
                for recorder, image in zip(self._recorders, images, strict=True):
                    recorder.capture(image)
                return None
            frame = tile_images(images)
        elif self._stock_images is not None and self._capture_tiled(self._stock_images()):
            return None
        else:
            frame = self.env.render()
        if not isinstance(frame, np.ndarray):
            return self._refuse_frame(frame)
        self._recorders[0].capture(frame)
        return None

    def _capture_tiled(self, images: Any) -> bool:
        """Tile ``images`` as SB3's ``tile_images`` does (each copied once, whole, into the
        video's frame queue; the encoder lays out the grid); ``False`` if they are not plain equal-sized
        uint8 RGB images with an even grid (then ``render()`` is used as usual)."""
        if not images or not all(isinstance(image, np.ndarray) for image in images):
            return False
        first = images[0]
        if first.dtype != np.uint8 or first.ndim != 3 or first.shape[2] != 3 \
                or any(image.shape != first.shape or image.dtype != np.uint8 for image in images):
            return False
        rows = math.ceil(math.sqrt(len(images)))
        cols = math.ceil(len(images) / rows)
        shape = (rows * first.shape[0], cols * first.shape[1], 3)
        if shape[0] % 2 or shape[1] % 2:
            return False
        self._recorders[0].capture_tiles(list(images), rows, cols)
        return True

    def _refuse_frame(self, frame: Any) -> None:
        self._stop_recording()
        logger.warning("Recording stopped: expected type of frame returned by render to be a "
                       "numpy array, got instead %s.", type(frame))

    def _state(self, env_index: int) -> OverlayState:
        return OverlayState(step=int(self._episode_steps[env_index]),
                            episode_return=float(self._episode_returns[env_index]),
                            env_index=env_index)

    def _stop_recording(self) -> None:
        """Finish the open clip(s); the files are completed in the background."""
        self.recording = False
        steps = self.step_id - self._clip_start
        for i, recorder in enumerate(self._recorders):
            if not recorder.recording:
                continue
            if recorder.clip_frames == 0:
                logger.warning("Ignored saving a video as there were zero frames to save.")
            judged = EpisodeRecord(
                index=self._clip_start, length=steps, env_index=recorder.env_index,
                episode_return=float(self._clip_rewards[i] if self.per_env
                                     else self._clip_rewards.sum()),
            ) if self._keeper is not None else None
            recorder.stop(episode=judged)

    # -- SB3 attributes -----------------------------------------------------------------------
    @property
    def recorded_frames(self) -> _FrameCount:  # type: ignore[override]
        """Frames in the open clip so far (``len()`` only: frames are not kept in memory)."""
        return _FrameCount(self._recorders)

    # -- agentreel -------------------------------------------------------------------------------
    def add_hooks(self, *, on_video_saved: VideoHook | None = None,
                  on_episode_end: Callable[[EpisodeRecord], object] | None = None,
                  on_close: Callable[[], object] | None = None) -> None:
        """Add callbacks (e.g. a tracker's); ``on_close()`` runs once every video is complete."""
        for recorder in self._recorders:
            recorder.add_hooks(on_video_saved=on_video_saved, on_episode_end=on_episode_end)
        if on_close is not None:
            self._close_hooks.append(on_close)

    @property
    def saved_videos(self) -> list[VideoSaved]:
        """The videos completed (and still kept) so far, in step order."""
        evicted = self._keeper.evicted if self._keeper is not None else ()
        videos = [v for r in self._recorders for v in r.saved if v.path not in evicted]
        return sorted(videos, key=lambda v: (v.step_id or 0, v.env_index or 0))

    @property
    def keep(self) -> KeepRule | None:
        """The keep rule (``None``: every clip is kept)."""
        return None if self._keeper is None else self._keeper.rule

    def __del__(self) -> None:
        """Finish a clip left open (its file is still completed); never raises."""
        try:
            if getattr(self, "recording", False):
                self._stop_recording()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass
