"""The clip logic shared by the single-env and vector ``RecordVideo`` wrappers.

A :class:`ClipRecorder` owns the ids (``episode_id``, ``step_id``), asks the
triggers when to start a clip, streams captured frames to the video engine and
finishes a clip when its episode ends or it reaches ``video_length`` frames.
It knows nothing of Gymnasium and counts no returns: the wrappers follow
episodes with :mod:`agentreel.core.episode_tracker` and translate ``reset()``/``step()``
into :meth:`ClipRecorder.begin_episode`, :meth:`ClipRecorder.begin_step`,
:meth:`ClipRecorder.capture` and :meth:`ClipRecorder.end_episode`; the recorder
reads the running return and length from the tracker it is given (``progress``).

Example (frames are numpy arrays, here a tiny grey square):
    >>> import numpy as np, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> from agentreel.core.episode_tracker import EpisodeTracker
    >>> episode = EpisodeTracker()
    >>> rec = ClipRecorder(folder, name_prefix="demo", episode_trigger=lambda i: True,
    ...                    progress=episode)
    >>> rec.begin_episode(); episode.reset(); rec.capture(np.zeros((4, 4, 3), np.uint8))
    >>> ended = episode.step(1.0, terminated=True, truncated=False)
    >>> rec.begin_step(); rec.capture(np.zeros((4, 4, 3), np.uint8)); rec.end_episode(ended)
    >>> rec.close()
    >>> [saved.frames for saved in rec.saved]
    [2]
"""

from __future__ import annotations

import gc
import logging
import os
import warnings
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentreel.base.hooks import call_hook
from agentreel.base.tiling import tile_frames
from agentreel.base.triggers import Trigger, fires
from agentreel.clips.claims import NameClaims
from agentreel.clips.keeper import VideoKeeper
from agentreel.clips.overlay import OverlayFn, OverlayState
from agentreel.core.records import EpisodeRecord, VideoSaved, float_return
from agentreel.core.videofiles import check_format, check_fps, prepare_folder
from agentreel.video import FrameError, VideoEngine, VideoStream, default_engine, normalize_frame

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.core.episode_tracker import EpisodeEnd, EpisodeProgress

logger = logging.getLogger("agentreel")

#: Whole-episode clips longer than this many frames carry no running returns in their sidecar.
MAX_RUNNING_RETURNS = 100_000


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
        return check_fps(fps)
    meta_fps = metadata.get("render_fps") if metadata else None
    if meta_fps is None:
        if metadata and "render_fps" in metadata:
            logger.warning(
                "The environment's metadata has render_fps=None; recording at %s fps. "
                "Pass fps= to RecordVideo to choose.", fallback,
            )
        return float(fallback)
    try:
        return check_fps(meta_fps)
    except ValueError:
        logger.warning(
            "The environment's metadata has an unusable render_fps=%r; recording at %s fps. "
            "Pass fps= to RecordVideo to choose.", meta_fps, fallback,
        )
        return float(fallback)


def check_video_length(video_length: object) -> float:
    """``0`` means whole episodes (``inf``); otherwise a positive frame count."""
    if isinstance(video_length, bool) or not isinstance(video_length, int) or video_length < 0:
        raise ValueError(
            f"video_length must be 0 (record whole episodes) or a positive number of steps, "
            f"got {video_length!r}"
        )
    return float("inf") if video_length == 0 else video_length


VideoHook = Callable[[VideoSaved], object]
EpisodeHook = Callable[[EpisodeRecord], object]

class _NoProgress:
    """Progress of a recorder that follows no tracker: always the start of an episode."""

    episode_return = 0.0
    length = 0


class ClipRecorder:
    """Starts, feeds and finishes clips for one stream of frames.

    Args:
        video_folder: where the videos go (created if missing).
        name_prefix: prefix of every file name.
        episode_trigger, step_trigger: when to start a clip (see :mod:`agentreel.base.triggers`).
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
        on_episode_end: called with an :class:`~agentreel.core.records.EpisodeRecord` for
            every finished episode (``video`` set when its video is kept).
        overlay: ``overlay(frame, state) -> frame`` applied to recorded frames.
        progress: the running return and length of the followed episode (an
            :class:`~agentreel.core.episode_tracker.EpisodeTracker` or a sub-env's
            progress view), read for overlays and clip tags; the wrapper steps it.
        max_saved: how many :class:`VideoSaved` events :attr:`saved` keeps (``None``: all).
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
        progress: EpisodeProgress | None = None,
        max_saved: int | None = 1000,
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
        self.saved: deque[VideoSaved] = deque(maxlen=max_saved)  # the newest saved videos
        self._stream: VideoStream | None = None
        self._pending: list[VideoStream] = []
        self._clip_is_episode = False
        self._clip_returns: list[float] = []  # running return at each frame of an episode clip
        self._clip_final_path: str | None = None
        self._speculative = self._claim_later = False
        self._final: list[str] = []
        #: ``replay=True``: returns a finished episode's running returns (read only for
        #: the clips that are kept, instead of one note per frame).
        self.running_returns: Callable[[], list[float]] | None = None
        self.progress: EpisodeProgress = progress if progress is not None else _NoProgress()
        self._end_tags: dict[str, Any] = {}
        self._claims = NameClaims(self.video_folder)
        # Start the encoder process now: its start-up then overlaps the env's own
        # set-up instead of stalling the first recorded frames (BENCHMARKS.md).
        self.engine.start()

    @property
    def on_video_saved(self) -> VideoHook | None:
        """The first ``on_video_saved`` hook (see :meth:`add_hooks` for more)."""
        return self.video_hooks[0] if self.video_hooks else None

    def add_hooks(self, *, on_video_saved: VideoHook | None = None,
                  on_episode_end: EpisodeHook | None = None) -> None:
        """Add callbacks; each is called in turn, and one that raises does not stop the others."""
        for name, hook in (("on_video_saved", on_video_saved), ("on_episode_end", on_episode_end)):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable, got {hook!r}")
        if on_video_saved is not None:
            self.video_hooks.append(on_video_saved)
        if on_episode_end is not None:
            self.episode_hooks.append(on_episode_end)

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
        return float_return(self.progress.episode_return)  # nan for a vector reward

    @property
    def episode_length(self) -> int:
        """Steps taken in the current episode."""
        return int(self.progress.length)

    # -- events from the wrapper ----------------------------------------------------------
    def begin_episode(self) -> None:
        """A new episode starts (a reset): maybe end a whole-episode clip, maybe start one."""
        self.episode_id += 1
        if self.recording and self.video_length == float("inf"):
            self.stop()
        if fires("episode_trigger", self.episode_trigger, self.episode_id):
            self.start(f"{self.name_prefix}-episode-{self.episode_id}", whole_episode=True)

    def begin_step(self) -> None:
        """A step happened: count its id and maybe start a step-triggered clip."""
        self.step_id += 1
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
                step=self.episode_length, episode_return=self.episode_return,
                episode_id=self.episode_id, env_index=self.env_index))
        self._stream.add_frame(frame)
        self._after_frame()

    def _after_frame(self) -> None:
        self.note_frame_return()  # then end the clip when it is full
        if self._stream is not None and self._stream.frames > self.video_length:
            self.stop()

    def note_frame_return(self) -> None:
        """Keep the running return at this frame (side-by-side labels); ``replay=True``
        recorders call it for each frame the replayer will render."""
        if self._clip_is_episode and len(self._clip_returns) < MAX_RUNNING_RETURNS:
            self._clip_returns.append(round(self.episode_return, 6))

    def capture_tiles(self, tiles: list[Any], rows: int, cols: int) -> None:
        """Like :meth:`capture` for the ``rows x cols`` grid of ``tiles`` (vector envs)."""
        if self._stream is None:
            return
        if self.overlay is not None:
            self.capture(tile_frames(tiles, rows, cols))
            return
        self._stream.add_tiles(tiles, rows, cols)
        self._after_frame()

    def capture_or_end(self, frame: Any) -> None:
        """:meth:`capture`, except that a frame that cannot be recorded ends the clip.

        What the wrappers call from ``step()``/``reset()``: raising there would cost the
        caller the step's results (and an outer statistics wrapper the episode's end).
        Instead the failure is reported loudly (``logging`` error + ``RuntimeWarning``),
        the clip is finished with the frames accepted so far, marked incomplete, and its
        :class:`VideoSaved` carries the reason in ``error`` (``tags["frame_error"]``).
        """
        self._capture_or_end(lambda: self.capture(frame))

    def capture_tiles_or_end(self, tiles: list[Any], rows: int, cols: int) -> None:
        """:meth:`capture_tiles` with :meth:`capture_or_end`'s handling of a bad frame."""
        self._capture_or_end(lambda: self.capture_tiles(tiles, rows, cols))

    def _capture_or_end(self, capture: Callable[[], None]) -> None:
        try:
            capture()
        except FrameError as exc:
            name, frames = self.video_name, self.clip_frames
            message = (f"agentreel: frame {frames + 1} of {name} could not be recorded: {exc}; "
                       f"the clip ends here with its {frames} frame(s) so far and the agent's "
                       "loop goes on")
            logger.error(message)
            warnings.warn(message, RuntimeWarning, stacklevel=5)
            self.stop(frame_error=message)

    def end_episode(self, ended: EpisodeEnd, success: Any = None,
                    extras: dict[str, Any] | None = None) -> None:
        """The episode just ended: a whole-episode clip is finished now, not at the next reset.

        ``ended`` is the tracker's account of the episode; ``success`` is the final
        ``info["is_success"]`` when the env reports one; ``extras`` go into the record's
        ``extras`` and the whole-episode clip's tags (its sidecar), e.g. a multi-agent
        episode's per-agent results.
        """
        whole_clip = self.recording and self.video_length == float("inf")
        needs_record = self.episode_hooks or (whole_clip and self._speculative)
        record = None
        if needs_record:
            record = ended.to_record(self.episode_id, extras={
                **(extras or {}), **({} if success is None else {"is_success": success})})
            record.env_index = self.env_index
        video: str | None = None
        if whole_clip:
            self._end_tags = dict(extras or {})
            video = self.stop(terminated=ended.terminated, truncated=ended.truncated,
                              episode=record, ended=ended)
        if self.episode_hooks and record is not None:
            record = record.replace(video=video)
            for hook in list(self.episode_hooks):
                call_hook("on_episode_end", hook, record, f"episode {record.index}")

    # -- clips -----------------------------------------------------------------------------
    def start(self, name: str, *, whole_episode: bool = False, judged: bool = False) -> None:
        """Start clip ``name``, finishing any open clip first.

        ``judged=True``: under a keep rule, judge this clip too (not only whole episodes),
        by the record the caller passes to :meth:`stop` (SB3's fixed-length clips).

        The file name is claimed first (:mod:`agentreel.clips.claims`): if another live
        recorder holds ``name``, the clip is written as ``{name}-{pid}`` instead.
        """
        if self.recording:
            self.stop()
        self._speculative = self.keeper is not None and (
            judged or (whole_episode and self.video_length == float("inf")))
        # A clip that is rendered only once kept (replay=True) claims its name then.
        self._claim_later = self._speculative and getattr(self.engine, "renders_later", False)
        path = os.path.join(self.video_folder, f"{name}.{self.format}")
        if not self._claim_later:
            path = self._claims.claim(path)
            name = os.path.splitext(os.path.basename(path))[0]
        tags: dict[str, Any] = {
            "name": name,
            "episode_id": self.episode_id,
            "step_id": self.step_id,
        }
        if self.env_index is not None:
            tags["env_index"] = self.env_index
        self._clip_is_episode = whole_episode
        self._clip_returns = []
        self._clip_final_path = path
        open_path = (self.keeper.pending_path(path)
                     if self._speculative and self.keeper is not None and not self._claim_later
                     else path)
        final = self._final = [path]  # a later claim may change it

        def on_saved(saved: VideoSaved) -> None:
            self._saved(saved, final[0])

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
             episode: EpisodeRecord | None = None, ended: EpisodeEnd | None = None,
             frame_error: str | None = None) -> str | None:
        """Finish the open clip; the file is completed in the background.

        Returns the path the video will have, or ``None`` when it is discarded: under a
        keep rule, a whole-episode clip is judged here (``episode`` is the finished
        episode's record, ``ended`` the tracker's account of it); one stopped before its
        episode ended is discarded.

        A whole-episode clip stopped before its episode ended (``terminated`` is
        ``None``: a ``reset()``, ``close()``, a bad frame) is tagged
        ``"incomplete": True`` and carries no ``episode_return``/``episode_length``.
        """
        stream, self._stream = self._stream, None
        self.video_name = None
        if stream is None:
            return None
        speculative, self._speculative = self._speculative, False
        kept: str | None = None
        if speculative:
            if episode is not None and self.keeper is not None:
                verdict = self.keeper.judge(episode, self._clip_final_path or stream.path)
                kept = verdict.reason if verdict.keep else None
            if kept is None:  # dropped: no tags to build (an aborted stream reports nothing)
                self._end_tags = {}
                stream.abort()  # close() still waits for it: the hidden folder ends up empty
                self._pending.append(stream)
                self._pending = [s for s in self._pending if not s.done]
                self.engine.poll()
                return None
        tags: dict[str, Any] = {}
        if frame_error is not None:
            tags["frame_error"] = frame_error
        if self._clip_is_episode:
            # side-by-side labels read it; a replayed clip's frames are rendered later (0 now)
            if self._clip_returns and stream.frames in (0, len(self._clip_returns)):
                tags["running_returns"] = self._clip_returns
            elif self.running_returns is not None and terminated is not None:
                tags["running_returns"] = self.running_returns  # computed if kept (below)
            if terminated is None or frame_error is not None:
                tags["incomplete"] = True  # cut short: not the episode's return or length
            else:
                source = ended if ended is not None else self.progress
                tags["episode_return"] = float_return(source.episode_return)
                tags["episode_length"] = int(source.length)
                tags["terminated"] = bool(terminated)
                tags["truncated"] = bool(truncated)
            tags.update(self._end_tags)
        self._end_tags = {}
        if kept is not None:
            tags["kept"] = kept
            if self._claim_later:
                self._claim_kept(stream, tags)
        if callable(tags.get("running_returns")):  # replay: computed for kept clips only
            tags["running_returns"] = tags["running_returns"]()
        if not stream.done:
            stream.finish(tags=tags)  # (a no-op after abort)
        self._pending.append(stream)
        self._pending = [s for s in self._pending if not s.done]  # keep only unfinished ones
        self.engine.poll()
        return self._clip_final_path

    def _claim_kept(self, stream: Any, tags: dict[str, Any]) -> None:
        """Claim a kept clip's name now; another live writer's name gets a variant."""
        wanted = self._clip_final_path or stream.path
        path = self._final[0] = self._clip_final_path = self._claims.claim(wanted)
        if path != wanted and self.keeper is not None:
            self.keeper.rename(wanted, path)
            tags["name"] = os.path.splitext(os.path.basename(path))[0]
        if self.keeper is not None:
            stream.path = self.keeper.pending_path(path)

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

    def _saved(self, saved: VideoSaved, final_path: str) -> None:
        if saved.path != final_path and self.keeper is not None:  # a judged video
            if not self.keeper.settle(saved, final_path) and saved.error is None:
                return  # evicted while it was being encoded
            saved = saved.replace(path=final_path)
        if saved.error is None and saved.tags.get("frame_error"):  # ended by a bad frame
            saved = saved.replace(error=saved.tags["frame_error"])
        event = saved
        self.saved.append(event)
        if event.error:
            logger.error("agentreel: could not write %s: %s", event.path, event.error)
        elif self.log_saves:
            logger.info("agentreel: saved %s (%d frames)", event.path, event.frames)
        for hook in list(self.video_hooks):
            call_hook("on_video_saved", hook, event, str(event.path))
        if self.gc_trigger is not None and fires("gc_trigger", self.gc_trigger, self.episode_id):
            gc.collect()
