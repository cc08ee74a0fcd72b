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
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from agentreel.base.env_kinds import reject_multi_agent_env
from agentreel.clips.keep import KeepRule
from agentreel.clips.overlay import OverlayFn
from agentreel.clips.recorder import ClipRecorder
from agentreel.clips.video_wrapper import (
    RecorderAttributes,
    frame_from_render,
    prepare_recording,
    serve_recorders,
)
from agentreel.core.episode_tracker import EpisodeTracker
from agentreel.core.records import EpisodeRecord, VideoSaved, final_info_value, float_return
from agentreel.core.sub_env import SubEnvSlot, building_rank
from agentreel.replay.lazy_recorder import LazyReplayRecorder
from agentreel.replay.wrapper import EpisodeLogger, bind_logged_step

logger = logging.getLogger("agentreel")


class RecordVideo(RecorderAttributes, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Records videos of episodes, or of fixed-length clips, from ``env.render()``.

    Same constructor, attributes and file names as Gymnasium 1.4's ``RecordVideo``:
    ``{name_prefix}-episode-{episode_id}.mp4`` and ``{name_prefix}-step-{step_id}.mp4``
    in ``video_folder``; with no trigger, episodes 0, 1, 8, 27, ..., 729, 1000, 2000, ...
    are recorded (:func:`~agentreel.base.triggers.capped_cubic_video_schedule`).
    An episode's video holds the reset frame plus one frame per step; with
    ``video_length=N`` a clip holds ``N + 1`` frames and may span episodes.

    Differences you will notice (all fixes): no frames kept in memory; the video of
    an episode is complete on disk when the episode ends; ``close()`` returns once
    every video is complete; odd frame sizes are padded to even and files are
    yuv420p with ``+faststart`` so browsers play them; gray, RGBA and float frames
    are converted (bad ones raise at capture, naming the problem); ``depth_array`` frames
    are recorded as gray images, each scaled from its nearest to its farthest depth;
    ``rgbd_tuple`` records the RGB part; ``render_fps: None``
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
        on_video_saved: called with a :class:`~agentreel.core.records.VideoSaved` per finished video
            (complete on disk, or with ``error`` set), on the thread that steps the env.
        sidecar: also write ``NAME.json`` next to each video with its ids, frames and episode stats.
        keep: a rule from :mod:`agentreel.clips.keep` (``best(3)``, ``worst(3)``, ``failures()``,
            ``successes()``, ``new_best()``) or any ``callable(episode) -> bool``. Episodes are
            recorded speculatively and each video is kept or discarded when its episode ends;
            the rule sees an :class:`~agentreel.core.records.EpisodeRecord` (``is_success`` of the
            final ``info`` in ``extras``). With ``keep`` and no trigger, every episode is a
            candidate. Only whole-episode videos are judged: step-triggered or
            ``video_length > 0`` clips are kept as usual, and an episode cut short by a
            ``reset()``/``close()`` before it ended is discarded. The sidecar's ``"kept"``
            says why a video was kept, and ``on_video_saved`` is called only for kept ones.
        on_episode_end: called with an :class:`~agentreel.core.records.EpisodeRecord` for every
            finished episode, recorded or not (``video`` is the path its video will have,
            ``None`` when not recorded or not kept).
        overlay: ``True`` burns ``STEP n R x`` (steps and running return) into the recorded
            frames, or pass an :class:`agentreel.clips.overlay.Overlay` or ``callable(frame, state)``.
            What ``render()`` returns to you is not changed.
        max_saved_videos: how many :class:`~agentreel.clips.recorder.VideoSaved` events
            :attr:`saved_videos` keeps (the newest; default 1000, so a long run's memory
            stays bounded); ``None`` keeps every one.
        replay: ``True``: never render in the agent's loop. Every episode is logged to
            ``video_folder/replay.ndjson`` (:class:`~agentreel.replay.RecordReplay`'s log) and
            the episodes the trigger or ``keep=`` rule selects are replayed, verified and
            encoded in a background process into the same files, sidecars and
            ``VideoSaved`` events. A replay that diverges writes no video; its
            ``VideoSaved.error`` names the episode and the step. Whole episodes only (no
            ``step_trigger``, ``video_length`` or ``overlay``).
        env_fn: with ``replay=True``, ``"module:callable"`` that rebuilds the env when its
            ``env.spec`` cannot.

    Several writers, one folder: each file name is claimed first (:mod:`agentreel.clips.claims`);
    if another live process or wrapper holds ``NAME``, this clip is written as
    ``NAME-<pid>.mp4`` with a warning, so no writer overwrites another live writer's file.
    A name left by a killed or finished earlier run is replaced with a warning.

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
        max_saved_videos: int | None = 1000,
        replay: bool = False,
        env_fn: str | None = None,
    ) -> None:
        reject_multi_agent_env(env, "RecordVideo")
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
            max_saved_videos=max_saved_videos,
            replay=replay,
            env_fn=env_fn,
        )
        gym.Wrapper.__init__(self, env)
        setup = prepare_recording(
            env, video_folder, episode_trigger=episode_trigger, step_trigger=step_trigger,
            video_length=video_length, name_prefix=name_prefix, fps=fps,
            disable_logger=disable_logger, gc_trigger=gc_trigger, format=format, quality=quality,
            on_video_saved=on_video_saved, sidecar=sidecar, keep=keep,
            on_episode_end=on_episode_end, overlay=overlay, max_saved_videos=max_saved_videos,
            replay=replay,
        )
        self.disable_logger = disable_logger
        self.render_history: list[Any] = []
        self._keeper = setup.keeper
        self._close_hooks: list[Callable[[], object]] = []
        self._tracker = EpisodeTracker()
        self._replay = EpisodeLogger(env, video_folder, env_fn) if replay else None
        self._lazy: LazyReplayRecorder | None = None
        if self._replay is None:
            self._recorders = [ClipRecorder(video_folder, name_prefix=name_prefix,
                                            overlay=setup.overlay, progress=self._tracker,
                                            **setup.recorder_settings)]
        else:  # episodes are judged when they end; only kept ones get a name and a stream
            self._replay.track_ends = True
            logged = self._replay
            self._replay_engine = logged.replay_engine()
            self._lazy = LazyReplayRecorder(
                video_folder, engine=self._replay_engine, logger=logged, name_prefix=name_prefix,
                progress=self._tracker, **setup.recorder_settings)
            self._recorders = [self._lazy]
            serve_recorders(self._replay_engine, setup.keeper, self._recorders)
            logged.on_end = self._lazy.end_logged
            bind_logged_step(self, RecordVideo, logged)  # (what step() does with replay=True)
            self._replay.on_autoreset = self._recorder.begin_episode
        # Built inside make_env for a vector env: several sub-envs may share the folder.
        rank = building_rank(f"video:{name_prefix}", self._recorder.video_folder)
        self._sub_env = None if rank is None else SubEnvSlot(
            self._recorder.video_folder, name_prefix, rank)

    @property
    def name_prefix(self) -> str:
        """Prefix of the file names."""
        return self._recorder.name_prefix

    # -- the Gymnasium API ------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env; start a recording if the episode trigger fires."""
        replay = self._replay
        if replay is not None:
            replay.before_reset(seed, options)
            obs, info = self.env.reset(seed=seed, options=options)
            replay.after_reset(obs)
        else:
            obs, info = self.env.reset(seed=seed, options=options)
        recorder = self._recorders[0]
        if self._sub_env is not None and recorder.episode_id == -1 and self._sub_env.shared():
            # other sub-envs record into this folder with this prefix: the rank goes in the name
            recorder.name_prefix = f"{self._sub_env.name}-env-{self._sub_env.rank}"
            recorder.env_index = self._sub_env.rank
        recorder.begin_episode()  # (a clip cut short is tagged with the old totals)
        if replay is None:  # (replay=True: the logger counts; the replayer renders)
            self._tracker.reset(seed=seed)
            if recorder.recording:
                self._capture_frame()
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; record the rendered frame while recording."""
        if self._replay is not None:  # replay=True: log the step (the instance's own step)
            return self._replay.step_env(action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        # Gymnasium's RecordVideo never looks at the reward: any reward is accepted
        # (None, arrays); overlays and tags read float_return's value (issue 12).
        ended = self._tracker.step(float_return(reward), terminated, truncated)
        if self._tracker.restarted:
            # Stepping on without reset(): the env autoresets (Gymnasium's Autoreset
            # wrapper) and this step's frame is the next episode's first.
            self._recorder.begin_episode()
        self._recorder.begin_step()
        if self._recorder.recording:
            self._capture_frame()
        if ended is not None:
            self._recorder.end_episode(ended, final_info_value(info, "is_success"))
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        """Render; in ``*_list`` modes the frames rendered for the recording are returned too."""
        render_out = super().render()
        if self.render_history:
            history, self.render_history = self.render_history, []
            return history + list(render_out)  # type: ignore[arg-type]  # (a list here)
        return render_out

    def close(self) -> None:
        """Close the env, then wait until every pending video is complete on disk."""
        try:
            super().close()
        finally:
            try:
                self._close_recorders()
            finally:
                if self._sub_env is not None:
                    self._sub_env.release()
                if self._replay is not None:
                    self._replay.close()
                    self._replay_engine.close()

    def _capture_frame(self) -> None:
        rendered = self.env.render()
        if isinstance(rendered, list):
            if not rendered:
                logger.warning(
                    "agentreel: env.render() returned an empty list (render() was just called); "
                    "no frame captured for this step."
                )
                return
            self.render_history += rendered
        frame = frame_from_render(rendered, self.env.render_mode)
        if not isinstance(frame, np.ndarray):
            self._recorder.stop()
            logger.warning(
                "agentreel: recording stopped: env.render() returned %s instead of an image array; "
                "create the env with render_mode='rgb_array'.", type(frame).__name__,
            )
            return
        self._recorder.capture_or_end(frame)
