"""``RecordVideo(replay=True)``'s clips: nothing is created for an episode until it is kept.

With ``replay=True`` the agent's loop renders nothing, so an episode's video needs
nothing while the episode runs. :class:`LazyReplayRecorder` only notes, at
``reset()``, that the episode trigger chose the episode. When the episode ends, the
``keep=`` rule (if any) judges it; only an episode it keeps (or, without a rule, every
chosen one) gets its file name claimed and a stream on the
:class:`~agentreel.replay.dispatcher.ReplayEngine`, which renders the logged episode in
the background. An episode the rule drops costs its record and the verdict: no name,
no tags, no stream, no file.

A chosen episode cut short (``reset()`` or ``close()`` before it ended, or
``stop_recording()``) is discarded under a keep rule and otherwise becomes a video
tagged ``"incomplete"``, as in live recording. Clips started by ``start_recording()``
are :class:`~agentreel.clips.recorder.ClipRecorder`'s own.

Example (a rule that keeps episode 1 only: one stream is ever opened):
    >>> import gymnasium as gym, tempfile
    >>> from agentreel import RecordVideo
    >>> folder = tempfile.mkdtemp()
    >>> env = RecordVideo(gym.make("CartPole-v1"), folder, replay=True,
    ...                   keep=lambda episode: episode.index == 1)
    >>> for episode in range(3):
    ...     _ = env.reset(seed=episode)
    ...     done = False
    ...     while not done:
    ...         _, _, terminated, truncated, _ = env.step(0)
    ...         done = terminated or truncated
    >>> env._replay_engine.opened
    1
    >>> env.close()
    >>> [video.name for video in env.saved_videos]
    ['rl-video-episode-1']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import accumulate
from time import perf_counter
from typing import TYPE_CHECKING, Any

from agentreel.base.hooks import call_hook
from agentreel.base.triggers import fires
from agentreel.clips.recorder import ClipRecorder
from agentreel.core.episode_tracker import EpisodeEnd, episode_record
from agentreel.core.records import EpisodeRecord, final_info_value, float_return
from agentreel.replay.dispatcher import ReplayEngine
from agentreel.replay.log import EpisodeBuffer

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.replay.wrapper import EpisodeLogger, LoggedEnd

__all__ = ["LazyReplayRecorder", "running_returns"]

#: A chosen episode in progress: its log buffer, ``episode_id`` and ``step_id`` at reset.
Chosen = tuple["EpisodeBuffer | None", int, int]


class LazyReplayRecorder(ClipRecorder):
    """A :class:`~agentreel.clips.recorder.ClipRecorder` for ``replay=True``: lazy episode clips.

    Args:
        video_folder: as for :class:`~agentreel.clips.recorder.ClipRecorder`.
        engine: the replay engine that renders kept episodes from the log.
        logger: the :class:`~agentreel.replay.wrapper.EpisodeLogger` of the episodes.
        settings: the other :class:`~agentreel.clips.recorder.ClipRecorder` arguments.
    """

    def __init__(self, video_folder: str | os.PathLike[str], *, engine: ReplayEngine,
                 logger: EpisodeLogger, **settings: Any) -> None:
        self._chosen: Chosen | None = None
        self._named: str | None = None
        self._stem: tuple[Any, Any, Any, str] = (None, None, None, "")
        self._replayer = engine
        #: The log of the episodes (its ``buffer`` is the episode in progress).
        self.logger = logger
        super().__init__(video_folder, engine=engine, **settings)  # type: ignore[arg-type]  # (a stand-in)
        self.running_returns = lambda: _buffer_returns(logger.last_episode)

    @property
    def step_id(self) -> int:
        """Gymnasium's ``step_id`` (steps taken minus one), counted by the log: the agent's
        loop does no counting of its own with ``replay=True``."""
        return self._step_offset + self.logger.steps_taken()

    @step_id.setter
    def step_id(self, value: int) -> None:
        self._step_offset = value - self.logger.steps_taken()

    @property
    def recording(self) -> bool:
        """True while a clip is open or the episode in progress is chosen for a video."""
        return self._stream is not None or self._chosen is not None

    @property
    def video_name(self) -> str | None:
        """The name of the open clip, or of the chosen episode's video (before any claim)."""
        if self._chosen is not None:
            return f"{self.name_prefix}-episode-{self._chosen[1]}"
        return self._named

    @video_name.setter
    def video_name(self, name: str | None) -> None:
        self._named = name

    def begin_episode(self) -> None:
        """A new episode starts: note whether the trigger chose it (nothing else yet)."""
        if self._chosen is not None:
            self._cut_short()
        self.episode_id += 1
        if self._stream is not None:  # a clip start_recording() opened ends with its episode
            self.stop()
        if fires("episode_trigger", self.episode_trigger, self.episode_id):
            self._chosen = (self.logger.buffer, self.episode_id, self.step_id)

    def end_logged(self, ended: LoggedEnd, info: Any) -> None:
        """The logged episode ended (:meth:`~agentreel.replay.wrapper.EpisodeLogger.end`'s
        account of it); ``info`` is its last step's. A chosen episode is judged, and only
        if it is kept its name claimed, its stream opened and submitted."""
        buffer, episode_return, started = ended
        flags, length = buffer.end_flags, buffer.length
        chosen, self._chosen = self._chosen, None
        if chosen is None:  # not chosen, or a clip of start_recording(): the usual way
            if self._stream is not None or self.episode_hooks:
                duration = round(perf_counter() - started, 6)
                self.end_episode(EpisodeEnd(episode_return, length, duration, bool(flags & 1),
                                            bool(flags & 2), buffer.seed),
                                 final_info_value(info, "is_success"))
            return
        keeper = self.keeper
        if keeper is not None and not self.episode_hooks and keeper.rule.drops(
                episode_return if type(episode_return) is float else float_return(episode_return),
                length):
            self._replayer.poll()  # dropped, and nobody asks for its record
            return
        record: EpisodeRecord | None = None
        if self.episode_hooks or keeper is not None:
            success = final_info_value(info, "is_success")
            duration = round(perf_counter() - started, 6)
            record = episode_record(self.episode_id, episode_return, length, duration,
                                    bool(flags & 1), bool(flags & 2), buffer.seed,
                                    self.env_index,
                                    None if success is None else {"is_success": success})
        self._end_chosen(chosen, record, episode_return, length, bool(flags & 1),
                         bool(flags & 2))

    def _end_chosen(self, chosen: Chosen, record: EpisodeRecord | None, episode_return: Any,
                    length: int, terminated: bool, truncated: bool) -> None:
        buffer, episode_id, step_id = chosen
        wanted = self._episode_path(episode_id)
        keeper = self.keeper
        kept = None
        if keeper is not None and record is not None:
            verdict = keeper.judge(record, wanted)
            kept = verdict.reason if verdict.keep else None
        video: str | None = None
        if keeper is None or kept is not None:
            tags: dict[str, Any] = {"running_returns": _buffer_returns(buffer),
                                    "episode_return": float_return(episode_return),
                                    "episode_length": int(length), "terminated": bool(terminated),
                                    "truncated": bool(truncated)}
            if kept is not None:
                tags["kept"] = kept
            video = self._replay_clip(buffer, wanted, episode_id, step_id, tags)
        else:
            self._replayer.poll()  # (deliver the videos completed meanwhile, as every episode end)
        if self.episode_hooks and record is not None:
            record = record.replace(video=video)
            for hook in list(self.episode_hooks):
                call_hook("on_episode_end", hook, record, f"episode {record.index}")

    def _episode_path(self, episode_id: int) -> str:
        """``video_folder/{name_prefix}-episode-{episode_id}.{format}`` (its stem cached)."""
        folder, prefix, format, stem = self._stem
        if folder is not self.video_folder or prefix is not self.name_prefix \
                or format is not self.format:
            folder, prefix, format = self.video_folder, self.name_prefix, self.format
            stem = os.path.join(folder, f"{prefix}-episode-")
            self._stem = (folder, prefix, format, stem)
        return f"{stem}{episode_id}.{format}"

    def stop(self, *, terminated: bool | None = None, truncated: bool | None = None,
             episode: EpisodeRecord | None = None, ended: EpisodeEnd | None = None,
             frame_error: str | None = None) -> str | None:
        """Finish the open clip, or cut the chosen episode short (see the module docs)."""
        if self._stream is None and self._chosen is not None:
            return self._cut_short()
        return super().stop(terminated=terminated, truncated=truncated, episode=episode,
                            ended=ended, frame_error=frame_error)

    def _cut_short(self) -> str | None:
        """The chosen episode stops before its end: discarded if judged, else incomplete."""
        chosen, self._chosen = self._chosen, None
        if chosen is None or self.keeper is not None:
            return None
        buffer, episode_id, step_id = chosen
        wanted = self._episode_path(episode_id)
        return self._replay_clip(buffer, wanted, episode_id, step_id, {
            "running_returns": _buffer_returns(buffer), "incomplete": True})  # (as live)

    def _replay_clip(self, buffer: EpisodeBuffer | None, wanted: str, episode_id: int,
                     step_id: int, end_tags: dict[str, Any]) -> str:
        """Claim the video's name, open its replay stream and submit it; its final path."""
        path = self._claims.claim(wanted)  # another live writer's name: a -{pid} variant
        keeper = self.keeper
        if path != wanted and keeper is not None:
            keeper.rename(wanted, path)
        tags: dict[str, Any] = {"name": os.path.splitext(os.path.basename(path))[0],
                                "episode_id": episode_id, "step_id": step_id}
        if self.env_index is not None:
            tags["env_index"] = self.env_index
        tags.update(end_tags)

        def on_saved(saved: Any) -> None:
            self._saved(saved, path)

        if buffer is None:  # (never: an episode is chosen after its reset was logged)
            raise RuntimeError(f"{wanted} belongs to no logged episode")
        stream = self._replayer.open_episode(
            buffer, path if keeper is None else keeper.pending_path(path), fps=self.fps,
            format=self.format, quality=self.quality, tags=tags, on_saved=on_saved,
            sidecar=self.sidecar)
        stream.finish()
        self._pending.append(stream)  # type: ignore[arg-type]  # (a stand-in stream)
        self._pending = [s for s in self._pending if not s.done]
        self.engine.poll()
        return path


def running_returns(rewards: Sequence[Any]) -> list[float]:
    """The running return at each frame of an episode with these rewards (the reset frame first).

    >>> running_returns([1.0, 0.5])
    [0.0, 1.0, 1.5]
    """
    return [round(total, 6) for total in accumulate(map(float_return, rewards), initial=0.0)]


def _buffer_returns(buffer: EpisodeBuffer | None) -> list[float]:
    return running_returns(buffer.rewards if buffer is not None else ())
