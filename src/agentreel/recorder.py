"""The clip logic shared by the single-env and vector ``RecordVideo`` wrappers.

A :class:`ClipRecorder` owns the ids (``episode_id``, ``step_id``), asks the
triggers when to start a clip, streams captured frames to the video engine and
finishes a clip when its episode ends or it reaches ``video_length`` frames.
It knows nothing of Gymnasium: the wrappers translate ``reset()``/``step()``
into :meth:`ClipRecorder.begin_episode`, :meth:`ClipRecorder.begin_step`,
:meth:`ClipRecorder.capture` and :meth:`ClipRecorder.end_episode`.

Example (frames are numpy arrays, here a tiny grey square):
    >>> import numpy as np, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> rec = ClipRecorder(folder, name_prefix="demo", episode_trigger=lambda i: True)
    >>> rec.begin_episode(); rec.capture(np.zeros((4, 4, 3), np.uint8))
    >>> rec.begin_step(); rec.capture(np.zeros((4, 4, 3), np.uint8)); rec.end_episode()
    >>> rec.close()
    >>> [saved.frames for saved in rec.saved]
    [2]
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import math
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentreel.claims import NameClaims
from agentreel.keep import KeepRule, Verdict
from agentreel.overlay import OverlayFn, OverlayState
from agentreel.records import EpisodeRecord
from agentreel.triggers import Trigger, fires
from agentreel.video import (
    SavedVideo,
    VideoEngine,
    VideoStream,
    default_engine,
    normalize_frame,
    sidecar_path,
)

logger = logging.getLogger("agentreel")

FORMATS = ("mp4", "webm", "gif")


@dataclass(frozen=True)
class VideoSaved:
    """A video that is complete on disk (or failed to be written).

    Attributes:
        path: the final file path.
        name: the clip's name (``{name_prefix}-episode-{id}`` or ``...-step-{id}``).
        episode_id: the episode the clip started in.
        step_id: the step the clip started at (``-1`` when it started at a reset).
        frames: the number of frames in the file.
        fps: its frame rate.
        width, height: its size in pixels (even).
        format: ``"mp4"``, ``"webm"`` or ``"gif"``.
        episode_return, episode_length: of the recorded episode, when the clip is
            one whole episode.
        env_index: the sub-environment for per-env vector recordings.
        error: why writing failed (then ``path`` does not exist).
        tags: everything the recorder attached (ids, ``terminated``/``truncated``, ``kept``).
        kept: why a keep rule kept this video (e.g. ``"best(3): return 57 ranks 2"``),
            ``None`` when no rule was asked.
    """

    path: str
    name: str
    episode_id: int | None
    step_id: int | None
    frames: int
    fps: float
    width: int
    height: int
    format: str
    episode_return: float | None = None
    episode_length: int | None = None
    env_index: int | None = None
    error: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    kept: str | None = None

    @classmethod
    def from_saved(cls, saved: SavedVideo) -> VideoSaved:
        """Build the public event from the engine's report."""
        tags = dict(saved.tags)
        return cls(
            path=saved.path,
            name=str(tags.get("name", os.path.splitext(os.path.basename(saved.path))[0])),
            episode_id=tags.get("episode_id"),
            step_id=tags.get("step_id"),
            frames=saved.frames,
            fps=saved.fps,
            width=saved.width,
            height=saved.height,
            format=saved.format,
            episode_return=tags.get("episode_return"),
            episode_length=tags.get("episode_length"),
            env_index=tags.get("env_index"),
            error=saved.error,
            tags=tags,
            kept=tags.get("kept"),
        )


def resolve_fps(fps: float | None, metadata: dict[str, Any], *, fallback: float = 30.0) -> float:
    """The frame rate to record at: ``fps``, else ``metadata["render_fps"]``, else 30.

    ``render_fps: None`` (or 0, negative, non-numeric) in the metadata falls back to
    30 with one warning instead of crashing at save time (Gymnasium/moviepy did).

    >>> resolve_fps(None, {"render_fps": 50})
    50.0
    >>> resolve_fps(12, {})
    12.0
    """
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
        return float(fps)
    meta_fps = metadata.get("render_fps") if metadata else None
    if meta_fps is None:
        if metadata and "render_fps" in metadata:
            logger.warning(
                "The environment's metadata has render_fps=None; recording at %s fps. "
                "Pass fps= to RecordVideo to choose.", fallback,
            )
        return float(fallback)
    if isinstance(meta_fps, bool) or not isinstance(meta_fps, (int, float)) or not math.isfinite(meta_fps) or meta_fps <= 0:
        logger.warning(
            "The environment's metadata has an unusable render_fps=%r; recording at %s fps. "
            "Pass fps= to RecordVideo to choose.", meta_fps, fallback,
        )
        return float(fallback)
    return float(meta_fps)


def check_video_length(video_length: object) -> float:
    """``0`` means whole episodes (``inf``); otherwise a positive frame count."""
    if isinstance(video_length, bool) or not isinstance(video_length, int) or video_length < 0:
        raise ValueError(
            f"video_length must be 0 (record whole episodes) or a positive number of steps, "
            f"got {video_length!r}"
        )
    return float("inf") if video_length == 0 else video_length


def check_format(fmt: str) -> str:
    """Validate the container format early."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def prepare_folder(video_folder: str | os.PathLike[str]) -> str:
    """Make the video folder (absolute path) or fail now with a clear message."""
    folder = os.path.abspath(os.fspath(video_folder))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"video_folder {folder!r} is a file; pass a directory path for the videos"
        )
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        # OSError(errno, ...) gives the matching subclass (PermissionError, ...).
        raise OSError(exc.errno, f"video_folder {folder!r} cannot be created ({exc.strerror}): "
                      "its parent is not writable; choose another folder") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"video_folder {folder!r} is not writable; choose another folder")
    return folder


VideoHook = Callable[[VideoSaved], object]
EpisodeHook = Callable[[EpisodeRecord], object]

#: The hidden folder inside ``video_folder`` where speculative (``keep=``) videos are encoded.
PENDING_FOLDER = ".agentreel-pending"


def call_hook(kind: str, hook: Callable[[Any], object], arg: Any, about: str) -> None:
    """Call a user's callback; if it raises, say so loudly (log + warning) and go on.

    >>> call_hook("on_video_saved", print, "hello", "a video")
    hello
    """
    try:
        hook(arg)
    except Exception as exc:  # a user's callback must not kill the agent's loop
        message = (f"agentreel: {kind} callback {hook!r} raised {type(exc).__name__}: {exc} "
                   f"({about}); the recording goes on")
        logger.error(message, exc_info=True)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def final_info_value(info: dict[str, Any], key: str, index: int | None = None) -> Any:
    """``info[key]`` of an episode's last step; for vector infos, sub-env ``index``'s entry.

    Vector infos hold arrays with a ``"_" + key`` mask; under same-step autoreset the
    last step's values are in ``info["final_info"]``. Returns ``None`` when absent.

    >>> final_info_value({"is_success": True}, "is_success")
    True
    >>> import numpy as np
    >>> final_info_value({"is_success": np.array([0, 1]), "_is_success": np.array([0, 1], bool)},
    ...                  "is_success", 1)
    1
    """
    if not isinstance(info, dict):
        return None
    if index is None:
        return info.get(key)
    for source in (info.get("final_info"), info):
        if not isinstance(source, dict) or key not in source:
            continue
        mask = source.get("_" + key)
        try:
            if mask is not None and not bool(mask[index]):
                continue
            value = source[key][index]
        except (TypeError, IndexError, KeyError):
            continue
        return value.item() if hasattr(value, "item") else value
    return None


class VideoKeeper:
    """The file side of a keep rule (:mod:`agentreel.keep`), shared by a wrapper's recorders.

    Whole-episode videos judged by a rule are encoded into a hidden folder
    (``video_folder/.agentreel-pending``). When the episode ends, the rule decides:
    a rejected video is discarded while still being encoded; a kept one is moved into
    ``video_folder`` (sidecar first, then the video, each by an atomic rename) once it
    is complete -- but only if the rule still wants it then. Videos the rule evicts are
    deleted (with their sidecar) at the moment they are evicted, before anything new is
    moved in; one still being encoded is deleted from the hidden folder when it
    completes. So the final names in ``video_folder`` are always a subset of what the
    rule currently keeps: with ``best(k)`` never more than ``k``.

    All of this runs on the thread that drives the env (the engine's callbacks do).
    """

    def __init__(self, rule: KeepRule, video_folder: str) -> None:
        self.rule = rule
        self.video_folder = video_folder
        self.pending_folder = os.path.join(video_folder, PENDING_FOLDER)
        self._kept: dict[str, str] = {}  # final path -> "encoding" | "final"
        self.evicted: set[str] = set()  # final paths deleted after they were kept

    def pending_path(self, final_path: str) -> str:
        """Where the speculative video of ``final_path`` is encoded."""
        return os.path.join(self.pending_folder, os.path.basename(final_path))

    def judge(self, episode: EpisodeRecord, final_path: str) -> Verdict:
        """Ask the rule about a finished episode; delete what it evicts."""
        verdict = self.rule.offer(episode, final_path)
        for key in verdict.evict:
            self._evict(key)
        if verdict.keep:
            self._kept[final_path] = "encoding"
            self.evicted.discard(final_path)
        return verdict

    def settle(self, saved: SavedVideo, final_path: str) -> bool:
        """A judged video is complete: move it into place if still kept; True if moved."""
        if saved.error is not None:
            if self._kept.pop(final_path, None) is not None:
                self.rule.forget(final_path)
            return False
        if self._kept.get(final_path) != "encoding":  # evicted while it was encoded
            _remove(saved.path, sidecar_path(saved.path))
            return False
        try:
            side = sidecar_path(saved.path)
            if os.path.exists(side):
                os.replace(side, sidecar_path(final_path))
            os.replace(saved.path, final_path)
        except OSError as exc:
            logger.error("agentreel: could not move %s into place: %s", saved.path, exc)
            self._kept.pop(final_path, None)
            self.rule.forget(final_path)
            return False
        self._kept[final_path] = "final"
        return True

    def close(self) -> None:
        """Remove the hidden folder if nothing is left in it."""
        with contextlib.suppress(OSError):
            os.rmdir(self.pending_folder)

    def _evict(self, final_path: Hashable) -> None:
        state = self._kept.pop(final_path, None)  # type: ignore[arg-type]
        if state == "final":
            _remove(str(final_path), sidecar_path(str(final_path)))
            self.evicted.add(str(final_path))
        # "encoding": not in place yet; settle() deletes it when it completes


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error("agentreel: could not delete %s: %s", path, exc)


class ClipRecorder:
    """Starts, feeds and finishes clips for one stream of frames.

    Args:
        video_folder: where the videos go (created if missing).
        name_prefix: prefix of every file name.
        episode_trigger, step_trigger: when to start a clip (see :mod:`agentreel.triggers`).
        video_length: ``0`` for whole episodes, else frames per clip after the first
            (a clip holds ``video_length + 1`` frames and may span episodes).
        fps: frame rate of the files.
        format: ``"mp4"`` (H.264, yuv420p), ``"webm"`` or ``"gif"``.
        quality: encoder quality (x264 CRF for mp4; lower is better), ``None`` for the default.
        sidecar: write ``NAME.json`` next to each video.
        on_video_saved: called with a :class:`VideoSaved` on the caller's thread.
        gc_trigger: run ``gc.collect()`` after a video when it returns True (off by default:
            agentreel keeps no frames in memory).
        engine: the :class:`~agentreel.video.VideoEngine` to use (the shared default).
        env_index: the sub-environment this recorder follows, for per-env vector recording.
        keeper: a :class:`VideoKeeper` whose rule judges whole-episode videos.
        on_episode_end: called with an :class:`~agentreel.records.EpisodeRecord` for
            every finished episode (``video`` set when its video is kept).
        overlay: ``overlay(frame, state) -> frame`` applied to recorded frames.
    """

    def __init__(
        self,
        video_folder: str | os.PathLike[str],
        *,
        name_prefix: str = "rl-video",
        episode_trigger: Trigger | None = None,
        step_trigger: Trigger | None = None,
        video_length: float = float("inf"),
        fps: float = 30.0,
        format: str = "mp4",
        quality: int | None = None,
        sidecar: bool = False,
        on_video_saved: VideoHook | None = None,
        gc_trigger: Trigger | None = None,
        log_saves: bool = False,
        engine: VideoEngine | None = None,
        env_index: int | None = None,
        keeper: VideoKeeper | None = None,
        on_episode_end: EpisodeHook | None = None,
        overlay: OverlayFn | None = None,
    ) -> None:
        self.video_folder = prepare_folder(video_folder)
        self.name_prefix = name_prefix
        self.episode_trigger = episode_trigger
        self.step_trigger = step_trigger
        self.video_length = video_length
        self.fps = fps
        self.format = check_format(format)
        self.quality = quality
        self.sidecar = sidecar
        self.video_hooks: list[VideoHook] = []
        self.episode_hooks: list[EpisodeHook] = []
        self.add_hooks(on_video_saved=on_video_saved, on_episode_end=on_episode_end)
        self.gc_trigger = gc_trigger
        self.log_saves = log_saves
        self.env_index = env_index
        self.keeper = keeper
        self.overlay = overlay
        self._engine = engine
        self.episode_id = -1
        self.step_id = -1
        self.video_name: str | None = None
        self.saved: deque[VideoSaved] = deque(maxlen=1000)  # the newest saved videos
        self._stream: VideoStream | None = None
        self._pending: list[VideoStream] = []
        self._clip_is_episode = False
        self._clip_final_path: str | None = None
        self._speculative = False
        self._episode_return = 0.0
        self._episode_length = 0
        self._episode_start = time.perf_counter()
        self._claims = NameClaims(self.video_folder)
        # Start the encoder process now: its start-up (~0.3 s) then overlaps the
        # env's own set-up instead of stalling the first recorded frames.
        self.engine.start()

    @property
    def on_video_saved(self) -> VideoHook | None:
        """The first ``on_video_saved`` hook (see :meth:`add_hooks` for more)."""
        return self.video_hooks[0] if self.video_hooks else None

    def add_hooks(self, *, on_video_saved: VideoHook | None = None,
                  on_episode_end: EpisodeHook | None = None) -> None:
        """Add callbacks; each is called in turn, and one that raises does not stop the others."""
        for name, hook, hooks in (("on_video_saved", on_video_saved, self.video_hooks),
                                  ("on_episode_end", on_episode_end, self.episode_hooks)):
            if hook is None:
                continue
            if not callable(hook):
                raise TypeError(f"{name} must be callable, got {hook!r}")
            hooks.append(hook)

    # -- state -------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True while a clip is open."""
        return self._stream is not None

    @property
    def engine(self) -> VideoEngine:
        """The video engine (the process-wide default unless one was given)."""
        if self._engine is None:
            self._engine = default_engine()
        return self._engine

    @property
    def clip_frames(self) -> int:
        """Frames accepted into the open clip so far."""
        return self._stream.frames if self._stream is not None else 0

    @property
    def episode_return(self) -> float:
        """The running return of the current episode."""
        return self._episode_return

    @property
    def episode_length(self) -> int:
        """Steps taken in the current episode."""
        return self._episode_length

    # -- events from the wrapper ----------------------------------------------------------
    def begin_episode(self) -> None:
        """A new episode starts (a reset): maybe end a whole-episode clip, maybe start one."""
        self.episode_id += 1
        if self.recording and self.video_length == float("inf"):
            self.stop()
        self._episode_return = 0.0
        self._episode_length = 0
        self._episode_start = time.perf_counter()
        if fires("episode_trigger", self.episode_trigger, self.episode_id):
            self.start(f"{self.name_prefix}-episode-{self.episode_id}", whole_episode=True)

    def begin_step(self, reward: float = 0.0, *, in_episode: bool = True) -> None:
        """A step happened: count it and maybe start a step-triggered clip.

        ``in_episode=False`` for a vector env's autoreset step, which belongs to no episode.
        """
        self.step_id += 1
        if in_episode:
            self._episode_return += float(reward)
            self._episode_length += 1
        if fires("step_trigger", self.step_trigger, self.step_id):
            self.start(f"{self.name_prefix}-step-{self.step_id}", whole_episode=False)

    def capture(self, frame: Any) -> None:
        """Add a frame to the open clip (if any); end the clip at ``video_length + 1`` frames.

        A malformed frame raises :class:`~agentreel.video.FrameError` here, at capture;
        the clip stays open and later frames are still recorded.
        """
        if self._stream is None:
            return
        if self.overlay is not None:
            frame = self.overlay(normalize_frame(frame), OverlayState(
                step=self._episode_length, episode_return=self._episode_return,
                episode_id=self.episode_id, env_index=self.env_index))
        self._stream.add_frame(frame)
        if self._stream.frames > self.video_length:
            self.stop()

    def capture_into(self, shape: tuple[int, int, int], fill: Callable[[Any], None]) -> None:
        """Like :meth:`capture` for a frame that ``fill(out)`` writes in place (tiles)."""
        if self._stream is None:
            return
        if self.overlay is not None:
            frame = np.empty(shape, np.uint8)
            fill(frame)
            self.capture(frame)
            return
        self._stream.add_frame_into(shape, fill)
        if self._stream.frames > self.video_length:
            self.stop()

    def end_episode(self, terminated: bool = False, truncated: bool = False,
                    success: Any = None) -> None:
        """The episode just ended: a whole-episode clip is finished now, not at the next reset.

        ``success`` is the final ``info["is_success"]`` when the env reports one.
        """
        whole_clip = self.recording and self.video_length == float("inf")
        needs_record = self.episode_hooks or (whole_clip and self._speculative)
        record = self._record(terminated, truncated, success) if needs_record else None
        video: str | None = None
        if whole_clip:
            video = self.stop(terminated=terminated, truncated=truncated, episode=record)
        if self.episode_hooks and record is not None:
            record = record.replace(video=video)
            for hook in list(self.episode_hooks):
                call_hook("on_episode_end", hook, record, f"episode {record.index}")

    def _record(self, terminated: bool, truncated: bool, success: Any) -> EpisodeRecord:
        return EpisodeRecord(
            index=self.episode_id,
            episode_return=self._episode_return,
            length=self._episode_length,
            duration=round(time.perf_counter() - self._episode_start, 6),
            terminated=bool(terminated),
            truncated=bool(truncated),
            env_index=self.env_index,
            extras={} if success is None else {"is_success": success},
        )

    # -- clips -----------------------------------------------------------------------------
    def start(self, name: str, *, whole_episode: bool = False) -> None:
        """Start clip ``name``, finishing any open clip first.

        The file name is claimed first (:mod:`agentreel.claims`): if another live
        recorder holds ``name``, the clip is written as ``{name}-{pid}`` instead.
        """
        if self.recording:
            self.stop()
        path = self._claims.claim(os.path.join(self.video_folder, f"{name}.{self.format}"))
        name = os.path.splitext(os.path.basename(path))[0]
        tags: dict[str, Any] = {
            "name": name,
            "episode_id": self.episode_id,
            "step_id": self.step_id,
        }
        if self.env_index is not None:
            tags["env_index"] = self.env_index
        self._clip_is_episode = whole_episode and self._episode_length == 0
        self._speculative = (self.keeper is not None and self._clip_is_episode
                             and self.video_length == float("inf"))
        self._clip_final_path = path
        open_path = self.keeper.pending_path(path) if self._speculative else path

        def on_saved(saved: SavedVideo, final_path: str = path) -> None:
            self._saved(saved, final_path)

        self._stream = self.engine.open(
            open_path,
            fps=self.fps,
            format=self.format,
            quality=self.quality,
            tags=tags,
            on_saved=on_saved,
            sidecar=self.sidecar,
        )
        self.video_name = name

    def stop(self, *, terminated: bool | None = None, truncated: bool | None = None,
             episode: EpisodeRecord | None = None) -> str | None:
        """Finish the open clip; the file is completed in the background.

        Returns the path the video will have, or ``None`` when it is discarded: under a
        keep rule, a whole-episode clip is judged here (``episode`` is the finished
        episode); one stopped before its episode ended is discarded.
        """
        stream, self._stream = self._stream, None
        self.video_name = None
        if stream is None:
            return None
        speculative, self._speculative = self._speculative, False
        tags: dict[str, Any] = {}
        if self._clip_is_episode:
            tags["episode_return"] = self._episode_return
            tags["episode_length"] = self._episode_length
            if terminated is not None:
                tags["terminated"] = bool(terminated)
                tags["truncated"] = bool(truncated)
        kept: str | None = None
        if speculative:
            if episode is not None and self.keeper is not None:
                verdict = self.keeper.judge(episode, self._clip_final_path or stream.path)
                kept = verdict.reason if verdict.keep else None
            if kept is None:
                stream.abort()  # close() still waits for it: the hidden folder ends up empty
            else:
                tags["kept"] = kept
        if not stream.done:
            stream.finish(tags=tags)  # (a no-op after abort)
        self._pending.append(stream)
        self._pending = [s for s in self._pending if not s.done]  # keep only unfinished ones
        self.engine.poll()
        return None if speculative and kept is None else self._clip_final_path

    def close(self) -> None:
        """Finish the open clip and wait until every video of this recorder is on disk."""
        if self.recording:
            self.stop()
        pending, self._pending = self._pending, []
        try:
            for stream in pending:
                stream.wait()
            if self._engine is not None:
                self._engine.poll()
        finally:
            self._claims.release_all()

    def _saved(self, saved: SavedVideo, final_path: str) -> None:
        if saved.path != final_path and self.keeper is not None:  # a judged video
            if not self.keeper.settle(saved, final_path) and saved.error is None:
                return  # evicted while it was being encoded
            saved = dataclasses.replace(saved, path=final_path)
        event = VideoSaved.from_saved(saved)
        self.saved.append(event)
        if event.error:
            logger.error("agentreel: could not write %s: %s", event.path, event.error)
        elif self.log_saves:
            logger.info("agentreel: saved %s (%d frames)", event.path, event.frames)
        for hook in list(self.video_hooks):
            call_hook("on_video_saved", hook, event, event.path)
        if self.gc_trigger is not None and fires("gc_trigger", self.gc_trigger, self.episode_id):
            gc.collect()
