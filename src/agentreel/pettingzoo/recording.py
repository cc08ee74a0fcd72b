"""``RecordVideo`` (AEC) and ``RecordVideoParallel``: drop-ins for PettingZoo 1.27's, that stream.

Same constructor, attributes and file names as ``pettingzoo.utils.wrappers``'
two wrappers (``{name_prefix}-episode-{episode_id}.mp4``,
``{name_prefix}-step-{step_id}.mp4``; ``episode_id`` and ``step_id`` start at -1
and grow at each ``reset()``/``step()``), on agentreel's engine: frames stream
to a background encoder (flat memory), each video is complete on disk when its
episode ends, and keep rules, hooks, overlay and sidecars work as in
:class:`agentreel.RecordVideo`.

**What a frame is.** Parallel: the reset frame plus one frame per ``step()``,
so an episode of ``L`` steps has ``L + 1`` frames (as PettingZoo's).
AEC: the reset frame plus one frame per *move*, a ``step()`` of an agent that
is still playing; a dead step (``step(None)`` for an agent already terminated
or truncated, which only removes it) changes nothing on screen and adds no
frame. An AEC episode with ``M`` moves has ``M + 1`` frames. PettingZoo's
``RecordVideo`` adds a frame for every ``step()`` call, dead steps included, so
its videos hold one repeated frame per agent that leaves (connect four: 2 at
the end; knights-archers-zombies: one freeze per agent killed). ``step_id``
still counts every ``step()`` call, so step-triggered file names match.

**When an episode ends**: after the step that leaves no live agent; the video
is finished then (PettingZoo's waits for the next ``reset()`` or ``close()``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper, BaseWrapper

from agentreel.clips.keep import KeepRule
from agentreel.clips.overlay import OverlayFn
from agentreel.clips.recorder import ClipRecorder
from agentreel.clips.video_wrapper import RecorderAttributes, prepare_recording
from agentreel.core.multi_agent_tracker import MultiAgentEpisodeTracker, MultiAgentStep
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.pettingzoo.checks import check_env
from agentreel.pettingzoo.protocol import (
    AecTurn,
    agent_results,
    count_aec_step,
    count_parallel_step,
)

__all__ = ["RecordVideo", "RecordVideoParallel"]

logger = logging.getLogger("agentreel")

_DOC_ARGS = """
    Args:
        env: a PettingZoo env whose ``render_mode`` returns images (``rgb_array``).
        video_folder: folder for the videos (created if missing).
        episode_trigger: ``f(episode_id) -> bool``: record this episode. With no trigger,
            episodes 0, 1, 8, 27, ..., 729, 1000, 2000, ... are recorded.
        step_trigger: ``f(step_id) -> bool``: start a clip at this ``step()`` call.
        video_length: ``0`` records whole episodes; ``N > 0`` records clips of ``N + 1`` frames.
        name_prefix: prefix of the file names.
        fps: frame rate; default ``env.metadata["render_fps"]``, else 30.
        disable_logger: when False, log a line for every saved video.
        gc_trigger: ``f(episode_id) -> bool``: run ``gc.collect()`` after a video. PettingZoo's
            default collects after every video; agentreel keeps no frames, so its default never does.
        format, quality, on_video_saved, sidecar, keep, on_episode_end, overlay: as in
            :class:`agentreel.RecordVideo` (keyword-only). Records and sidecars of whole
            episodes carry each agent's results under ``"agents"``; the episode's return is
            the team return.
"""


class _MultiAgentVideo(RecorderAttributes):
    """The part both wrappers share: set-up, frames, the episode's end."""

    env: Any

    def _setup(self, env: Any, video_folder: str, kwargs: dict[str, Any]) -> None:
        setup = prepare_recording(env, video_folder, **kwargs)
        self.disable_logger = kwargs["disable_logger"]
        self.render_history: list[Any] = []
        self._keeper = setup.keeper
        self._close_hooks: list[Callable[[], object]] = []
        self._tracker = MultiAgentEpisodeTracker()
        self._recorders = [ClipRecorder(video_folder, name_prefix=kwargs["name_prefix"],
                                        overlay=setup.overlay, progress=self._tracker,
                                        **setup.recorder_settings)]

    @property
    def name_prefix(self) -> str:
        """Prefix of the file names."""
        return self._recorder.name_prefix

    def _begin_episode(self, seed: int | None) -> None:
        self._recorder.begin_episode()  # (a clip cut short is tagged with the old totals)
        self._tracker.reset(self.env.agents, seed)
        if self._recorder.recording:
            self._capture_frame()

    def _counted_step(self, counted: tuple[MultiAgentStep, float] | None, move: bool) -> None:
        recorder = self._recorder
        recorder.begin_step()
        if counted is None or not move:  # a dead step, or a step outside any episode
            if recorder.recording and recorder.clip_frames == 0:
                self._capture_frame()  # a clip that starts at this step needs its first frame
            return
        if recorder.recording:
            self._capture_frame()
        episode = counted[0].episode
        if episode is not None:
            recorder.end_episode(episode.team_end(), extras=agent_results(episode))

    def _capture_frame(self) -> None:
        frame = self.env.render()
        if isinstance(frame, list):
            if not frame:
                return
            self.render_history += frame
            frame = frame[-1]
        if not isinstance(frame, np.ndarray):
            self._recorder.stop()
            logger.warning("agentreel: recording stopped: env.render() returned %s instead of an "
                           "image array; create the env with render_mode='rgb_array'.",
                           type(frame).__name__)
            return
        self._recorder.capture(frame)

    def render(self) -> Any:
        """Render; frames rendered for the recording in ``*_list`` modes are returned too."""
        render_out = self.env.render()
        if self.render_history:
            history, self.render_history = self.render_history, []
            return history + (render_out if isinstance(render_out, list) else [render_out])
        return render_out

    def close(self) -> None:
        """Close the env, then wait until every pending video is complete on disk."""
        try:
            self.env.close()
        finally:
            self._close_recorders()


class RecordVideo(_MultiAgentVideo, BaseWrapper):
    __doc__ = """Records videos of an AEC env's episodes (drop-in for PettingZoo's ``RecordVideo``).

    One frame per move (see the module's docstring); step-triggered file names count
    every ``step()`` call, as PettingZoo's do.
    """ + _DOC_ARGS + """
    Example:
        >>> import tempfile
        >>> from pettingzoo.classic import tictactoe_v3
        >>> env = RecordVideo(tictactoe_v3.env(render_mode="rgb_array"), tempfile.mkdtemp(),
        ...                   episode_trigger=lambda i: True)
        >>> env.reset(seed=0)
        >>> moves = 0
        >>> for agent in env.agent_iter():
        ...     obs, _, terminated, truncated, _ = env.last()
        ...     if terminated or truncated:
        ...         env.step(None)
        ...     else:
        ...         env.step(int(obs["action_mask"].argmax())); moves += 1
        >>> env.close()
        >>> env.saved_videos[0].name, env.saved_videos[0].frames == moves + 1
        ('rl-video-episode-0', True)
    """

    def __init__(
        self,
        env: Any,
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
        check_env(env, "RecordVideo", "aec", video=True)
        BaseWrapper.__init__(self, env)
        self._setup(env, video_folder, dict(
            episode_trigger=episode_trigger, step_trigger=step_trigger, video_length=video_length,
            name_prefix=name_prefix, fps=fps, disable_logger=disable_logger, gc_trigger=gc_trigger,
            format=format, quality=quality, on_video_saved=on_video_saved, sidecar=sidecar,
            keep=keep, on_episode_end=on_episode_end, overlay=overlay))

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Reset the env; start a recording if the episode trigger fires."""
        self.env.reset(seed=seed, options=options)
        self._begin_episode(seed)

    def step(self, action: Any) -> None:
        """Step the env; record a frame for a move while recording."""
        turn = AecTurn(self.env)
        self.env.step(action)
        self._counted_step(count_aec_step(self._tracker, self.env, turn), turn.live)


class RecordVideoParallel(_MultiAgentVideo, BaseParallelWrapper):
    __doc__ = """Records videos of a parallel env's episodes (drop-in for PettingZoo's ``RecordVideoParallel``).

    The reset frame plus one frame per ``step()``.
    """ + _DOC_ARGS + """
    Example:
        >>> import tempfile
        >>> from pettingzoo.butterfly import pistonball_v6
        >>> env = pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=3)
        >>> env = RecordVideoParallel(env, tempfile.mkdtemp(), episode_trigger=lambda i: True)
        >>> _ = env.reset(seed=0)
        >>> while env.agents:
        ...     _ = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
        >>> env.close()
        >>> video = env.saved_videos[0]
        >>> video.name, video.frames, (video.width, video.height)
        ('rl-video-episode-0', 4, (880, 560))
    """

    def __init__(
        self,
        env: Any,
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
        check_env(env, "RecordVideoParallel", "parallel", video=True)
        BaseParallelWrapper.__init__(self, env)
        self._setup(env, video_folder, dict(
            episode_trigger=episode_trigger, step_trigger=step_trigger, video_length=video_length,
            name_prefix=name_prefix, fps=fps, disable_logger=disable_logger, gc_trigger=gc_trigger,
            format=format, quality=quality, on_video_saved=on_video_saved, sidecar=sidecar,
            keep=keep, on_episode_end=on_episode_end, overlay=overlay))

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """Reset the env; start a recording if the episode trigger fires."""
        obs, infos = self.env.reset(seed=seed, options=options)
        self._begin_episode(seed)
        return obs, infos

    def step(self, actions: dict[Any, Any]) -> tuple[Any, Any, Any, Any, Any]:
        """Step the env; record the frame while recording."""
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        self._counted_step(count_parallel_step(self._tracker, self.env, rewards, terminations,
                                               truncations), True)
        return obs, rewards, terminations, truncations, infos
