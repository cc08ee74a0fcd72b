"""``agentreel.vector.RecordVideo``: a drop-in for ``gymnasium.wrappers.vector.RecordVideo``.

Three layouts, one engine (the same :class:`~agentreel.clips.recorder.ClipRecorder` as
the single-env wrapper):

* tiled (default): every sub-env's frame in one grid; episodes counted on sub-env 0;
* ``record_first_only=True``: only sub-env 0;
* ``per_env=True`` (agentreel only): one file per sub-env episode, named
  ``{name_prefix}-env-{i}-episode-{k}.mp4`` where ``k`` counts sub-env ``i``'s episodes.

Example:
    >>> import gymnasium as gym, tempfile
    >>> from agentreel.vector import RecordVideo
    >>> envs = gym.make_vec("CartPole-v1", num_envs=3, render_mode="rgb_array")
    >>> envs = RecordVideo(envs, tempfile.mkdtemp(), step_trigger=lambda s: s == 0, video_length=5)
    >>> _ = envs.reset(seed=0)
    >>> for _ in range(6):
    ...     _ = envs.step(envs.action_space.sample())
    >>> envs.close()
    >>> [(v.name, v.frames) for v in envs.saved_videos]
    [('rl-video-step-0', 6)]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from agentreel.base.tiling import grid_shape
from agentreel.clips.keep import KeepRule
from agentreel.clips.overlay import OverlayFn, OverlayState
from agentreel.clips.recorder import ClipRecorder
from agentreel.clips.video_wrapper import (
    RecorderAttributes,
    frame_from_render,
    prepare_recording,
    serve_recorders,
)
from agentreel.core.episode_tracker import VectorEpisodeTracker, read_reset_mask
from agentreel.core.records import EpisodeRecord, VideoSaved, final_info_value
from agentreel.replay.vector import VectorEpisodeLogger
from agentreel.video import normalize_frame

logger = logging.getLogger("agentreel")


class RecordVideo(RecorderAttributes, VectorWrapper, gym.utils.RecordConstructorArgs):
    """Records videos of a vector env's sub-environments, tiled, first only, or one file each.

    Same constructor and file names as Gymnasium 1.4's vector ``RecordVideo``; the
    extra arguments are keyword-only. See :class:`agentreel.RecordVideo` for the
    shared arguments and for the fixes over Gymnasium; in addition here: any number
    of sub-envs tiles into a padded grid (a prime count does not give a 1xN strip),
    the terminal frame of an episode is kept under next-step and disabled autoreset,
    and partial resets (``options={"reset_mask": m}``) do not duplicate frames.
    Under same-step autoreset the vector env has already reset a finished
    sub-env before it can be rendered, so its terminal frame cannot be recorded.

    Args:
        per_env: write one file per sub-env episode instead of a tiled video.
        format, quality, on_video_saved, sidecar: as in :class:`agentreel.RecordVideo`.
        keep: a keep rule, as in :class:`agentreel.RecordVideo`. Tiled and first-only
            videos are judged by sub-env 0's episode; with ``per_env=True`` one rule
            judges every sub-env's episodes together (``best(3)`` keeps the 3 best
            episodes of all sub-envs, ``EpisodeRecord.env_index`` says which one).
        on_episode_end: called with an :class:`~agentreel.core.records.EpisodeRecord` per
            finished episode of a followed sub-env (sub-env 0, or each with ``per_env``).
        overlay: burn step count and running return into recorded frames (each tile is
            labelled with its own sub-env's numbers), as in :class:`agentreel.RecordVideo`.
    """

    def __init__(
        self,
        env: VectorEnv,
        video_folder: str,
        video_aspect_ratio: tuple[int, int] = (1, 1),
        record_first_only: bool = False,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        video_length: int = 0,
        name_prefix: str = "rl-video",
        fps: int | None = None,
        disable_logger: bool = True,
        gc_trigger: Callable[[int], bool] | None = None,
        *,
        per_env: bool = False,
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
        VectorWrapper.__init__(self, env)
        gym.utils.RecordConstructorArgs.__init__(
            self,
            _disable_deepcopy=True,
            video_folder=video_folder,
            video_aspect_ratio=video_aspect_ratio,
            record_first_only=record_first_only,
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            video_length=video_length,
            name_prefix=name_prefix,
            fps=fps,
            disable_logger=disable_logger,
            gc_trigger=gc_trigger,
            per_env=per_env,
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
        if replay and not per_env:
            raise ValueError("replay=True replays each sub-env's episodes on their own: "
                             "use it with per_env=True (tiled videos are recorded live)")
        if per_env and record_first_only:
            raise ValueError("choose one of per_env=True and record_first_only=True")
        grid_shape(1, 1, 1, video_aspect_ratio)  # validates the ratio now, not at the first frame
        setup = prepare_recording(
            env, video_folder, episode_trigger=episode_trigger, step_trigger=step_trigger,
            video_length=video_length, name_prefix=name_prefix, fps=fps,
            disable_logger=disable_logger, gc_trigger=gc_trigger, format=format, quality=quality,
            on_video_saved=on_video_saved, sidecar=sidecar, keep=keep,
            on_episode_end=on_episode_end, overlay=overlay, max_saved_videos=max_saved_videos,
            replay=replay,
        )
        self._replay = VectorEpisodeLogger(env, video_folder, env_fn) if replay else None
        self.autoreset_mode = env.metadata.get("autoreset_mode")
        if self.autoreset_mode is None:
            logger.warning("agentreel: %s does not declare its autoreset mode; assuming next-step.", env)
            self.autoreset_mode = AutoresetMode.NEXT_STEP
        self.record_first_only = record_first_only
        self.per_env = per_env
        self.video_aspect_ratio = video_aspect_ratio
        self.name_prefix = name_prefix
        self.disable_logger = disable_logger
        self.frame_rows = -1
        self.frame_cols = -1
        self.has_autoreset = False
        self.render_history: list[Any] = []
        self._keeper = setup.keeper
        self._close_hooks: list[Callable[[], object]] = []
        self._tracker = VectorEpisodeTracker(self.num_envs, self.autoreset_mode)
        # Tiled/first-only overlays label each tile with its sub-env's own numbers.
        self._tile_overlay = None if per_env else setup.overlay
        if per_env:
            self._replay_engines = [] if self._replay is None else \
                [self._replay.replay_engine(i) for i in range(self.num_envs)]

            def replay_setting(i: int) -> dict[str, Any]:  # a ReplayEngine stands in for the engine
                return {"engine": self._replay_engines[i]} if replay else {}

            self._recorders = [
                ClipRecorder(video_folder, name_prefix=f"{name_prefix}-env-{i}", env_index=i,
                             overlay=setup.overlay, progress=self._tracker.progress(i),
                             **setup.recorder_settings, **replay_setting(i))
                for i in range(self.num_envs)
            ]
            for engine, recorder in zip(self._replay_engines, self._recorders, strict=False):
                serve_recorders(engine, setup.keeper, [recorder])
        else:
            self._recorders = [ClipRecorder(video_folder, name_prefix=name_prefix,
                                            progress=self._tracker.progress(0),
                                            **setup.recorder_settings)]

    # -- the Gymnasium API ------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset (all, or the sub-envs of ``options["reset_mask"]``) and maybe start recordings."""
        mask = read_reset_mask(options, self.num_envs)
        before = None if self._replay is None else self._replay.before_reset(seed, options)
        obs, info = self.env.reset(seed=seed,  # type: ignore[arg-type]  # (a list works too)
                                   options=dict(options) if options else options)
        if self._replay is not None:
            self._replay.after_reset(before, obs)
        reset_envs = np.ones(self.num_envs, dtype=bool) if mask is None else mask
        self.has_autoreset = False
        # Recorders first: a clip cut short by this reset is tagged with the old totals.
        if self.per_env:
            for i in np.flatnonzero(reset_envs):
                self._recorders[i].begin_episode()
        elif reset_envs[0]:
            self._first.begin_episode()
        self._tracker.reset(seed, mask)
        if self.per_env:
            self._capture(only=reset_envs)
        elif reset_envs[0]:
            self._capture()
        return obs, info

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step; record the frames of the sub-envs being recorded."""
        obs, rewards, terminations, truncations, info = self.env.step(actions)
        if self._replay is not None:
            self._replay.step(actions, obs, rewards, terminations, truncations)
        result = self._tracker.step(rewards, terminations, truncations)
        dones = result.dones
        followed = range(self.num_envs) if self.per_env else (0,)
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        for i in followed:
            recorder = self._recorders[i if self.per_env else 0]
            if result.restarted[i]:
                recorder.begin_episode()  # this step was sub-env i's autoreset
            recorder.begin_step()
            if same_step and dones[i]:
                # The sub-env has already been reset: its frame starts the next episode.
                recorder.end_episode(result.ended(i, terminations, truncations),
                                     final_info_value(info, "is_success", i))
                recorder.begin_episode()
        self._capture()
        if not same_step:
            for i in followed:
                if dones[i]:
                    self._recorders[i if self.per_env else 0].end_episode(
                        result.ended(i, terminations, truncations),
                        final_info_value(info, "is_success", i))
        self.has_autoreset = bool(dones[0]) and self.autoreset_mode == AutoresetMode.NEXT_STEP
        return obs, rewards, terminations, truncations, info

    def close(self, **kwargs: Any) -> None:
        """Close the env, then wait until every pending video is complete on disk."""
        try:
            super().close(**kwargs)
        finally:
            try:
                self._close_recorders()
            finally:
                if self._replay is not None:
                    self._replay.close()
                    for engine in self._replay_engines:
                        engine.close()

    # -- frames ----------------------------------------------------------------------------
    def _capture(self, only: np.ndarray | None = None) -> None:
        """Render once and hand each recording its frame (``only``: sub-envs just reset)."""
        if self._replay is not None:
            return  # replay=True: frames come from the replay process, never from here
        wanted = [
            i for i, r in enumerate(self._recorders)
            if r.recording and (only is None or not self.per_env or only[i])
        ]
        if not wanted:
            return
        frames = self._render_all()
        if self.per_env:
            for i in wanted:
                self._recorders[i].capture_or_end(frames[i])
            return
        tiles = [normalize_frame(frames[0])] if self.record_first_only else [
            normalize_frame(f) for f in frames
        ]
        if self._tile_overlay is not None:
            steps, returns = self._tracker.lengths, self._tracker.returns
            tiles = [self._tile_overlay(tile, OverlayState(
                step=int(steps[i]), episode_return=float(returns[i]),
                episode_id=self.episode_id if i == 0 else None, env_index=i,
            )) for i, tile in enumerate(tiles)]
        if self.frame_rows == -1:
            height, width = tiles[0].shape[:2]
            self.frame_rows, self.frame_cols = grid_shape(len(tiles), height, width, self.video_aspect_ratio)
        rows, cols = self.frame_rows, self.frame_cols
        # Each tile is copied once, whole, into the video's frame queue; the encoder
        # lays out the grid.
        self._first.capture_tiles_or_end(tiles, rows, cols)

    def _render_all(self) -> Sequence[Any]:
        frames = self.env.render()
        if not isinstance(frames, Sequence) or len(frames) != self.num_envs:
            raise ValueError(
                f"RecordVideo expected env.render() to return one frame per sub-environment "
                f"({self.num_envs}), got {type(frames).__name__}"
                + (f" of length {len(frames)}" if isinstance(frames, Sequence) else "")
            )
        return [frame_from_render(f, self.env.render_mode) for f in frames]
