"""``RecordVideo``: a drop-in for ``gymnasium.wrappers.RecordVideo`` that streams.

Frames go to a background encoder as they are rendered, so memory stays flat
however long the episode, ``reset()`` never stalls on encoding, and an
episode's video is complete on disk as soon as the episode ends.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordVideo
    >>> env = gym.make("CartPole-v1", render_mode="rgb_array")
    >>> env = RecordVideo(env, tempfile.mkdtemp(), episode_trigger=lambda i: True)
    >>> _ = env.reset(seed=0)
    >>> done = False
    >>> while not done:
    ...     _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    ...     done = terminated or truncated
    >>> env.close()
    >>> env.saved_videos[0].name
    'rl-video-episode-0'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from agentreel.keep import KeepRule, as_keep_rule
from agentreel.overlay import OverlayFn, as_overlay
from agentreel.recorder import (
    ClipRecorder,
    EpisodeHook,
    VideoHook,
    VideoKeeper,
    VideoSaved,
    call_hook,
    check_video_length,
    final_info_value,
    resolve_fps,
)
from agentreel.records import EpisodeRecord
from agentreel.triggers import capped_cubic_video_schedule, check_trigger, every

logger = logging.getLogger("agentreel")

UNRECORDABLE_RENDER_MODES = (None, "human", "ansi")


def check_render_mode(render_mode: str | None) -> None:
    """Raise the drop-in ``ValueError`` for render modes that give no image."""
    if render_mode in UNRECORDABLE_RENDER_MODES:
        raise ValueError(
            f"Render mode is {render_mode}, which is incompatible with RecordVideo. "
            "Initialize your environment with a render_mode that returns an image, such as rgb_array."
        )


def default_episode_trigger(keep: KeepRule | None) -> Callable[[int], bool]:
    """With no trigger given: every episode under a keep rule, else Gymnasium's schedule."""
    return every(1) if keep is not None else capped_cubic_video_schedule


def warn_keep_with_clips(keep: KeepRule | None, video_length: int) -> None:
    """Keep rules judge whole episodes; say so when clips are fixed-length."""
    if keep is not None and video_length:
        logger.warning(
            "agentreel: keep=%r judges whole-episode videos, but video_length=%d records "
            "fixed-length clips, which are all kept.", keep, video_length,
        )


def run_close_hooks(hooks: list[Callable[[], object]]) -> None:
    """Run (and forget) the ``on_close`` hooks; a failing one is reported, not raised."""
    pending, hooks[:] = list(hooks), []
    for hook in pending:
        call_hook("on_close", lambda _, hook=hook: hook(), None, "closing RecordVideo")


def warn_if_overwriting(folder: str, name_prefix: str, suffix: str) -> None:
    """Say so when videos of this prefix already exist (they will be replaced)."""
    if not os.path.isdir(folder):
        return
    existing = [f for f in os.listdir(folder) if f.startswith(name_prefix + "-") and f.endswith(suffix)]
    if existing:
        logger.warning(
            "agentreel: %d %s video(s) with prefix %r already exist in %s and will be overwritten "
            "by videos of the same name; pass another video_folder or name_prefix to keep them.",
            len(existing), suffix, name_prefix, folder,
        )


class RecordVideo(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Records videos of episodes, or of fixed-length clips, from ``env.render()``.

    Same constructor, attributes and file names as Gymnasium 1.4's ``RecordVideo``:
    ``{name_prefix}-episode-{episode_id}.mp4`` and ``{name_prefix}-step-{step_id}.mp4``
    in ``video_folder``; with no trigger, episodes 0, 1, 8, 27, ..., 729, 1000, 2000, ...
    are recorded (:func:`~agentreel.triggers.capped_cubic_video_schedule`).
    An episode's video holds the reset frame plus one frame per step; with
    ``video_length=N`` a clip holds ``N + 1`` frames and may span episodes.

    Differences you will notice (all fixes): no frames kept in memory; the video of
    an episode is complete on disk when the episode ends; ``close()`` returns once
    every video is complete; odd frame sizes are padded to even and files are
    yuv420p with ``+faststart`` so browsers play them; gray, RGBA and float frames
    are converted (bad ones raise at capture, naming the problem); ``render_fps: None``
    falls back to 30 fps with a warning; no ``gc.collect()`` after each video unless
    ``gc_trigger`` is given.

    Args:
        env: an env whose ``render_mode`` returns images (``rgb_array``, ``rgb_array_list``, ...).
        video_folder: folder for the videos (created if missing).
        episode_trigger: ``f(episode_id) -> bool``: start a recording at this episode.
        step_trigger: ``f(step_id) -> bool``: start a recording at this step.
        video_length: ``0`` records whole episodes; ``N > 0`` records clips of ``N + 1`` frames.
        name_prefix: prefix of the file names.
        fps: frame rate; default ``env.metadata["render_fps"]``, else 30.
        disable_logger: when False, log a line for every saved video.
        gc_trigger: ``f(episode_id) -> bool``: run ``gc.collect()`` after a video (default: never).
        format: ``"mp4"`` (H.264), ``"webm"`` or ``"gif"`` (keyword-only).
        quality: encoder quality, x264 CRF for mp4 (lower is better; default 23).
        on_video_saved: called with a :class:`~agentreel.recorder.VideoSaved` per finished video
            (complete on disk, or with ``error`` set), on the thread that steps the env.
        sidecar: also write ``NAME.json`` next to each video with its ids, frames and episode stats.
        keep: a rule from :mod:`agentreel.keep` (``best(3)``, ``worst(3)``, ``failures()``,
            ``successes()``, ``new_best()``) or any ``callable(episode) -> bool``. Episodes are
            recorded speculatively and each video is kept or discarded when its episode ends;
            the rule sees an :class:`~agentreel.records.EpisodeRecord` (``is_success`` of the
            final ``info`` in ``extras``). With ``keep`` and no trigger, every episode is a
            candidate. Only whole-episode videos are judged: step-triggered or
            ``video_length > 0`` clips are kept as usual, and an episode cut short by a
            ``reset()``/``close()`` before it ended is discarded. The sidecar's ``"kept"``
            says why a video was kept, and ``on_video_saved`` is called only for kept ones.
        on_episode_end: called with an :class:`~agentreel.records.EpisodeRecord` for every
            finished episode, recorded or not (``video`` is the path its video will have,
            ``None`` when not recorded or not kept).
        overlay: ``True`` burns ``STEP n R x`` (steps and running return) into the recorded
            frames, or pass an :class:`agentreel.overlay.Overlay` or ``callable(frame, state)``.
            What ``render()`` returns to you is not changed.

    A callback that raises is reported with ``logging`` and a ``RuntimeWarning``; the
    agent's loop goes on. More callbacks can be added later with :meth:`add_hooks`.
    """

    def __init__(
        self,
        env: gym.Env,
        video_folder: str,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        video_length: int = 0,
        name_prefix: str = "rl-video",
        fps: int | None = None,
        disable_logger: bool = True,
        gc_trigger: Callable[[int], bool] | None = None,
        *,
        format: str = "mp4",
        quality: int | None = None,
        on_video_saved: Callable[[VideoSaved], None] | None = None,
        sidecar: bool = False,
        keep: KeepRule | Callable[[EpisodeRecord], bool] | None = None,
        on_episode_end: Callable[[EpisodeRecord], None] | None = None,
        overlay: bool | OverlayFn = False,
    ) -> None:
        # Callbacks and rules are recorded as given, not deep-copied.
        gym.utils.RecordConstructorArgs.__init__(
            self,
            _disable_deepcopy=True,
            video_folder=video_folder,
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            video_length=video_length,
            name_prefix=name_prefix,
            fps=fps,
            disable_logger=disable_logger,
            gc_trigger=gc_trigger,
            format=format,
            quality=quality,
            on_video_saved=on_video_saved,
            sidecar=sidecar,
            keep=keep,
            on_episode_end=on_episode_end,
            overlay=overlay,
        )
        gym.Wrapper.__init__(self, env)
        check_render_mode(env.render_mode)
        check_trigger("episode_trigger", episode_trigger)
        check_trigger("step_trigger", step_trigger)
        check_trigger("gc_trigger", gc_trigger)
        rule = as_keep_rule(keep)
        overlay_fn = as_overlay(overlay)
        if episode_trigger is None and step_trigger is None:
            episode_trigger = default_episode_trigger(rule)
        length = check_video_length(video_length)
        warn_keep_with_clips(rule, video_length)
        frames_per_sec = resolve_fps(fps, self.metadata)
        warn_if_overwriting(os.path.abspath(video_folder), name_prefix, f".{format}")
        self.disable_logger = disable_logger
        self.render_history: list[Any] = []
        self._keeper = None if rule is None else VideoKeeper(rule, os.path.abspath(video_folder))
        self._close_hooks: list[Callable[[], object]] = []
        self._recorder = ClipRecorder(
            video_folder,
            name_prefix=name_prefix,
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            video_length=length,
            fps=frames_per_sec,
            format=format,
            quality=quality,
            sidecar=sidecar,
            on_video_saved=on_video_saved,
            gc_trigger=gc_trigger,
            log_saves=not disable_logger,
            keeper=self._keeper,
            on_episode_end=on_episode_end,
            overlay=overlay_fn,
        )

    # -- hooks -------------------------------------------------------------------------
    def add_hooks(self, *, on_video_saved: VideoHook | None = None,
                  on_episode_end: EpisodeHook | None = None,
                  on_close: Callable[[], object] | None = None) -> None:
        """Add callbacks after construction (e.g. a tracker's); they run after earlier ones.

        ``on_close()`` runs at the end of :meth:`close`, once every video is complete.

        >>> import gymnasium as gym, tempfile
        >>> env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), tempfile.mkdtemp())
        >>> seen = []
        >>> env.add_hooks(on_episode_end=seen.append)
        >>> _ = env.reset(seed=0)
        >>> while not seen:
        ...     _ = env.step(env.action_space.sample())
        >>> env.close(); seen[0].video.endswith("rl-video-episode-0.mp4")
        True
        """
        self._recorder.add_hooks(on_video_saved=on_video_saved, on_episode_end=on_episode_end)
        if on_close is not None:
            self._close_hooks.append(on_close)

    @property
    def keep(self) -> KeepRule | None:
        """The keep rule (``None``: every recorded video is kept)."""
        return None if self._keeper is None else self._keeper.rule

    # -- Gymnasium-compatible attributes -----------------------------------------------
    @property
    def episode_trigger(self) -> Callable[[int], bool] | None:
        """The episode trigger (Gymnasium's default schedule when none was given)."""
        return self._recorder.episode_trigger

    @episode_trigger.setter
    def episode_trigger(self, trigger: Callable[[int], bool] | None) -> None:
        self._recorder.episode_trigger = check_trigger("episode_trigger", trigger)

    @property
    def step_trigger(self) -> Callable[[int], bool] | None:
        """The step trigger."""
        return self._recorder.step_trigger

    @step_trigger.setter
    def step_trigger(self, trigger: Callable[[int], bool] | None) -> None:
        self._recorder.step_trigger = check_trigger("step_trigger", trigger)

    @property
    def gc_trigger(self) -> Callable[[int], bool] | None:
        """When to run ``gc.collect()`` after a video (``None``: never)."""
        return self._recorder.gc_trigger

    @property
    def video_folder(self) -> str:
        """The absolute path of the video folder."""
        return self._recorder.video_folder

    @property
    def name_prefix(self) -> str:
        """Prefix of the file names."""
        return self._recorder.name_prefix

    @property
    def frames_per_sec(self) -> float:
        """Frame rate of the videos."""
        return self._recorder.fps

    @property
    def video_length(self) -> float:
        """Frames per clip after the first, ``inf`` for whole episodes."""
        return self._recorder.video_length

    @property
    def episode_id(self) -> int:
        """Episodes started so far minus one (``-1`` before the first reset)."""
        return self._recorder.episode_id

    @property
    def step_id(self) -> int:
        """Steps taken so far minus one."""
        return self._recorder.step_id

    @property
    def recording(self) -> bool:
        """True while a clip is being recorded."""
        return self._recorder.recording

    @property
    def _video_name(self) -> str | None:
        return self._recorder.video_name

    @property
    def saved_videos(self) -> list[VideoSaved]:
        """The videos this wrapper has completed and still keeps, oldest first (the newest 1000)."""
        evicted = self._keeper.evicted if self._keeper is not None else ()
        return [v for v in self._recorder.saved if v.path not in evicted]

    # -- the Gymnasium API ------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env; start a recording if the episode trigger fires."""
        obs, info = super().reset(seed=seed, options=options)
        self._recorder.begin_episode()
        if self._recorder.recording:
            self._capture_frame()
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; record the rendered frame while recording."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._recorder.begin_step(reward)
        if self._recorder.recording:
            self._capture_frame()
        if terminated or truncated:
            self._recorder.end_episode(terminated, truncated,
                                       final_info_value(info, "is_success"))
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        """Render; in ``*_list`` modes the frames rendered for the recording are returned too."""
        render_out = super().render()
        if self.render_history:
            history, self.render_history = self.render_history, []
            return history + list(render_out)
        return render_out

    def start_recording(self, video_name: str) -> None:
        """Start a clip named ``video_name`` now, finishing any open clip."""
        self._recorder.start(video_name)

    def stop_recording(self) -> None:
        """Finish the open clip; its file is completed in the background."""
        self._recorder.stop()

    def close(self) -> None:
        """Close the env, then wait until every pending video is complete on disk."""
        try:
            super().close()
        finally:
            self._recorder.close()
            if self._keeper is not None:
                self._keeper.close()
            run_close_hooks(self._close_hooks)

    def _capture_frame(self) -> None:
        frame = self.env.render()
        if isinstance(frame, list):
            if not frame:
                logger.warning(
                    "agentreel: env.render() returned an empty list (render() was just called); "
                    "no frame captured for this step."
                )
                return
            self.render_history += frame
            frame = frame[-1]
        if isinstance(frame, tuple) and frame and isinstance(frame[0], np.ndarray):
            frame = frame[0]  # rgbd_tuple: record the RGB part
        if not isinstance(frame, np.ndarray):
            self._recorder.stop()
            logger.warning(
                "agentreel: recording stopped: env.render() returned %s instead of an image array; "
                "create the env with render_mode='rgb_array'.", type(frame).__name__,
            )
            return
        self._recorder.capture(frame)

    def __del__(self) -> None:
        """Finish a clip left open (its file is still completed); never raises."""
        recorder = getattr(self, "_recorder", None)
        if recorder is None:
            return
        try:
            if recorder.recording:
                recorder.stop()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass
