"""What the single-env and vector ``RecordVideo`` wrappers share.

:func:`prepare_recording` validates the constructor arguments both wrappers take
(early, with errors that name the fix) and turns them into the settings of their
:class:`~agentreel.clips.recorder.ClipRecorder` objects. :class:`RecorderAttributes`
gives both wrappers Gymnasium's attribute surface (``episode_id``, ``recording``,
``episode_trigger``, ...), hooks and clean-up, read from those recorders, so the
two wrappers only translate ``reset()``/``step()`` and never copy each other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from agentreel.base.hooks import call_hook
from agentreel.base.triggers import capped_cubic_video_schedule, check_trigger, every
from agentreel.clips.keep import KeepRule, as_keep_rule
from agentreel.clips.overlay import OverlayFn, as_overlay
from agentreel.clips.recorder import (
    ClipRecorder,
    EpisodeHook,
    VideoHook,
    VideoKeeper,
    VideoSaved,
    check_video_length,
    resolve_fps,
)

logger = logging.getLogger("agentreel")

UNRECORDABLE_RENDER_MODES = (None, "human", "ansi")


def check_render_mode(render_mode: str | None) -> None:
    """Raise the drop-in ``ValueError`` for render modes that give no image."""
    if render_mode in UNRECORDABLE_RENDER_MODES:
        raise ValueError(
            f"Render mode is {render_mode}, which is incompatible with RecordVideo. "
            "Initialize your environment with a render_mode that returns an image, such as rgb_array."
        )


def depth_to_image(frame: Any) -> Any:
    """A ``depth_array`` frame (distances, e.g. metres) as a gray image in [0, 1].

    Each frame is scaled from its own nearest to its farthest finite value (near is
    dark); infinite or NaN depths (nothing hit) become white. Anything else is
    returned unchanged, for :func:`~agentreel.video.normalize_frame` to judge.

    >>> import numpy as np
    >>> depth_to_image(np.array([[1.0, 3.0]], np.float32)).tolist()
    [[0.0, 1.0]]
    """
    if not (isinstance(frame, np.ndarray) and np.issubdtype(frame.dtype, np.floating)
            and (frame.ndim == 2 or frame.ndim == 3 and frame.shape[2] == 1)):
        return frame
    finite = np.isfinite(frame)
    if not finite.any():
        return np.ones(frame.shape, np.float32)
    near, far = float(frame[finite].min()), float(frame[finite].max())
    scaled = (frame.astype(np.float32) - near) / max(far - near, 1e-12)
    return np.where(finite, np.clip(scaled, 0.0, 1.0), 1.0).astype(np.float32)


def frame_from_render(rendered: Any, render_mode: str | None) -> Any:
    """The image to record from one env's ``render()`` output.

    ``*_list`` modes give a list: the newest frame; ``rgbd_tuple`` gives
    ``(rgb, depth)``: the RGB part; ``depth_array`` frames become gray images
    (:func:`depth_to_image`). Anything else is returned as is (an empty list stays
    empty), for the caller or :func:`~agentreel.video.normalize_frame` to judge.

    >>> import numpy as np
    >>> float(frame_from_render([np.zeros((2, 2, 3)), np.ones((2, 2, 3))], "rgb_array_list").max())
    1.0
    """
    frame = rendered[-1] if isinstance(rendered, list) and rendered else rendered
    if isinstance(frame, tuple) and frame and isinstance(frame[0], np.ndarray):
        return frame[0]  # rgbd_tuple: record the RGB part
    if render_mode in ("depth_array", "depth_array_list"):
        return depth_to_image(frame)  # distances, not an image in [0, 1]
    return frame


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


def run_close_hooks(hooks: list[Callable[[], object]]) -> None:
    """Run (and forget) the ``on_close`` hooks; a failing one is reported, not raised."""
    pending, hooks[:] = list(hooks), []
    for hook in pending:
        call_hook("on_close", _call_without_argument(hook), None, "closing RecordVideo")


def _call_without_argument(hook: Callable[[], object]) -> Callable[[Any], object]:
    return lambda _: hook()


def check_replay_arguments(step_trigger: Any, video_length: int, overlay: Any) -> None:
    """``replay=True`` renders whole logged episodes; say so for what it cannot do."""
    for given, name in ((step_trigger is not None, "step_trigger"), (bool(video_length), "video_length"),
                        (overlay is not False and overlay is not None, "overlay")):
        if given:
            raise ValueError(f"replay=True renders whole episodes from the replay log and does "
                             f"not support {name}= yet; record live (replay=False) for it")


def serve_recorders(engine: Any, keeper: VideoKeeper | None,
                    recorders: Sequence[ClipRecorder]) -> None:
    """Wire a replay engine (``replay=True``) to the recorders it stands in for: it
    renders only what the keep rule still wants, and at exit it first stops their open
    clips, as their ``close()`` would (``ReplayEngine.exit_hooks``)."""
    engine.wanted = wanted_by(keeper)
    engine.exit_hooks.append(partial(_stop_open_clips, recorders))


def _stop_open_clips(recorders: Sequence[ClipRecorder]) -> None:
    for recorder in recorders:
        if recorder.recording:
            recorder.stop()


def wanted_by(keeper: VideoKeeper | None) -> Callable[[str], bool]:
    """``wanted(path)``: a video at ``path`` is still wanted by the keep rule (if any)."""
    if keeper is None:
        return lambda path: True

    def wanted(path: str) -> bool:
        if os.path.dirname(path) != keeper.pending_folder:
            return True
        return keeper.wants(os.path.join(keeper.video_folder, os.path.basename(path)))

    return wanted


@dataclass
class RecordingSetup:
    """Validated constructor arguments: settings for ClipRecorders, keeper and overlay."""

    recorder_settings: dict[str, Any]
    keeper: VideoKeeper | None
    overlay: OverlayFn | None


def prepare_recording(
    env: Any,
    video_folder: str,
    *,
    episode_trigger: Callable[[int], bool] | None,
    step_trigger: Callable[[int], bool] | None,
    video_length: int,
    name_prefix: str,
    fps: float | None,
    disable_logger: bool,
    gc_trigger: Callable[[int], bool] | None,
    format: str,
    quality: int | None,
    on_video_saved: VideoHook | None,
    sidecar: bool,
    keep: KeepRule | Callable[..., bool] | None,
    on_episode_end: EpisodeHook | None,
    overlay: bool | OverlayFn,
    max_saved_videos: int | None = 1000,
    replay: bool = False,
) -> RecordingSetup:
    """Check every argument now (not at the first frame or at save time)."""
    if replay:
        check_replay_arguments(step_trigger, video_length, overlay)
    else:
        check_render_mode(env.render_mode)
    for name, trigger in (("episode_trigger", episode_trigger), ("step_trigger", step_trigger),
                          ("gc_trigger", gc_trigger)):
        check_trigger(name, trigger)
    rule = as_keep_rule(keep)
    if episode_trigger is None and step_trigger is None:
        episode_trigger = default_episode_trigger(rule)
    length = check_video_length(video_length)
    if max_saved_videos is not None and (isinstance(max_saved_videos, bool) or not isinstance(
            max_saved_videos, int) or max_saved_videos < 1):
        raise ValueError("max_saved_videos must be a positive number of events or None (keep "
                         f"every one), got {max_saved_videos!r}")
    warn_keep_with_clips(rule, video_length)
    frames_per_sec = resolve_fps(fps, env.metadata)
    warn_if_overwriting(os.path.abspath(video_folder), name_prefix, f".{format}")
    keeper = None if rule is None else VideoKeeper(rule, os.path.abspath(video_folder))
    settings = dict(
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
        keeper=keeper,
        on_episode_end=on_episode_end,
        max_saved=max_saved_videos,
    )
    return RecordingSetup(settings, keeper, as_overlay(overlay))


class RecorderAttributes:
    """Gymnasium's ``RecordVideo`` attributes, hooks and clean-up over ``self._recorders``.

    The first recorder follows sub-env 0 (or the only env): ids and settings are its.
    """

    _recorders: list[ClipRecorder]
    _keeper: VideoKeeper | None
    _close_hooks: list[Callable[[], object]]

    @property
    def _first(self) -> ClipRecorder:
        return self._recorders[0]

    @property
    def _recorder(self) -> ClipRecorder:
        return self._recorders[0]

    # -- hooks ---------------------------------------------------------------------------
    def add_hooks(self, *, on_video_saved: VideoHook | None = None,
                  on_episode_end: EpisodeHook | None = None,
                  on_close: Callable[[], object] | None = None) -> None:
        """Add callbacks after construction (e.g. a tracker's); they run after earlier ones.

        ``on_close()`` runs at the end of ``close()``, once every video is complete.
        """
        for recorder in self._recorders:
            recorder.add_hooks(on_video_saved=on_video_saved, on_episode_end=on_episode_end)
        if on_close is not None:
            self._close_hooks.append(on_close)

    @property
    def keep(self) -> KeepRule | None:
        """The keep rule (``None``: every recorded video is kept)."""
        return None if self._keeper is None else self._keeper.rule

    # -- Gymnasium-compatible attributes ---------------------------------------------------
    @property
    def episode_trigger(self) -> Callable[[int], bool] | None:
        """The episode trigger (Gymnasium's default schedule when none was given)."""
        return self._first.episode_trigger

    @episode_trigger.setter
    def episode_trigger(self, trigger: Callable[[int], bool] | None) -> None:
        checked = check_trigger("episode_trigger", trigger)
        for recorder in self._recorders:
            recorder.episode_trigger = checked

    @property
    def step_trigger(self) -> Callable[[int], bool] | None:
        """The step trigger."""
        return self._first.step_trigger

    @step_trigger.setter
    def step_trigger(self, trigger: Callable[[int], bool] | None) -> None:
        checked = check_trigger("step_trigger", trigger)
        for recorder in self._recorders:
            recorder.step_trigger = checked

    @property
    def gc_trigger(self) -> Callable[[int], bool] | None:
        """When to run ``gc.collect()`` after a video (``None``: never)."""
        return self._first.gc_trigger

    @property
    def video_folder(self) -> str:
        """The absolute path of the video folder."""
        return self._first.video_folder

    @property
    def frames_per_sec(self) -> float:
        """Frame rate of the videos."""
        return self._first.fps

    @property
    def video_length(self) -> float:
        """Frames per clip after the first, ``inf`` for whole episodes."""
        return self._first.video_length

    @property
    def episode_id(self) -> int:
        """Episodes (of sub-env 0) started so far minus one (``-1`` before the first reset)."""
        return self._first.episode_id

    @property
    def step_id(self) -> int:
        """Steps taken so far minus one."""
        return self._first.step_id

    @property
    def recording(self) -> bool:
        """True while a clip is being recorded."""
        return any(recorder.recording for recorder in self._recorders)

    @property
    def _video_name(self) -> str | None:
        return self._first.video_name

    @property
    def saved_videos(self) -> list[VideoSaved]:
        """The videos completed and still kept, in id order: the newest ``max_saved_videos``
        (default 1000) per recorder, all with ``max_saved_videos=None``."""
        evicted = self._keeper.evicted if self._keeper is not None else ()
        videos = [v for r in self._recorders for v in r.saved if v.path not in evicted]
        return sorted(videos, key=lambda v: (v.episode_id or 0, v.step_id or 0, v.env_index or 0))

    # -- clips -------------------------------------------------------------------------------
    def start_recording(self, video_name: str) -> None:
        """Start a clip named ``video_name`` now, finishing any open clip."""
        self._first.start(video_name)

    def stop_recording(self) -> None:
        """Finish the open clips; their files are completed in the background."""
        for recorder in self._recorders:
            recorder.stop()

    def _close_recorders(self) -> None:
        """Wait until every pending video is complete on disk, then run ``on_close`` hooks."""
        for recorder in self._recorders:
            recorder.close()
        if self._keeper is not None:
            self._keeper.close()
        run_close_hooks(self._close_hooks)

    def __del__(self) -> None:
        """Finish clips left open (their files are still completed); never raises."""
        for recorder in getattr(self, "_recorders", ()):
            try:
                if recorder.recording:
                    recorder.stop()
            except Exception:  # interpreter shutdown: nothing sensible left to do
                pass
