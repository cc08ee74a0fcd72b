"""A ``VecEnv`` wrapper that records whole evaluation episodes, one file each.

Used by :class:`agentreel.sb3.RecordEvalCallback` around its eval env. For each
evaluation (:meth:`EvalEpisodeRecorder.begin_evaluation`) every sub-env records the
episodes SB3's ``evaluate_policy`` will count (sub-env ``i`` runs
``(n_eval_episodes + i) // n_envs`` of them), each as
``{name_prefix}-step-{T}-episode-{k}.mp4`` where ``T`` is the training step and ``k``
counts this evaluation's episodes in the order they started. SB3's vector envs reset a
finished sub-env inside ``step()``, so the frame after the last step already shows the
next episode: a video of an episode of length ``L`` holds ``L`` frames (the reset
frame and the frames after steps 1 .. L-1).

Each finished episode becomes an :class:`~agentreel.core.records.EpisodeRecord` whose
``index`` counts every evaluation episode of the run, with ``extras``
``training_step``, ``evaluation`` and ``eval_episode``; its video's sidecar carries the
same ids (``episode_id`` is the record's ``index``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn, VecEnvWrapper

from agentreel.clips.keeper import VideoKeeper
from agentreel.clips.overlay import OverlayFn, OverlayState
from agentreel.clips.recorder import ClipRecorder
from agentreel.core.episode_tracker import EpisodeTracker
from agentreel.core.records import EpisodeRecord
from agentreel.video import normalize_frame

__all__ = ["EvalEpisodeRecorder"]


class EvalEpisodeRecorder(VecEnvWrapper):
    """Records the evaluation episodes of a ``VecEnv`` (see the module docstring).

    Args:
        venv: the eval env (``render_mode="rgb_array"``).
        video_folder: where the videos go.
        on_record: called with each finished episode's record (after its video is judged).
        name_prefix: first part of every file name.
        fps: frame rate.
        keeper: a keep rule's file side, judging the whole-episode videos.
        overlay: ``overlay(frame, state) -> frame`` for the recorded frames.
        recorder_settings: more :class:`ClipRecorder` settings (format, quality, sidecar, ...).
    """

    def __init__(self, venv: VecEnv, video_folder: str, *,
                 on_record: Callable[[EpisodeRecord], object], name_prefix: str = "eval",
                 fps: float = 30.0, keeper: VideoKeeper | None = None,
                 overlay: OverlayFn | None = None, **recorder_settings: Any) -> None:
        super().__init__(venv)
        self.on_record = on_record
        self.name_prefix = name_prefix
        self.overlay = overlay
        self._trackers = [EpisodeTracker() for _ in range(self.num_envs)]
        self._recorders = [
            ClipRecorder(video_folder, name_prefix=name_prefix, fps=fps, keeper=keeper,
                         progress=tracker, **recorder_settings)
            for tracker in self._trackers
        ]
        for i, recorder in enumerate(self._recorders):
            def forward(rec: EpisodeRecord, i: int = i) -> object:
                return self.on_record(self.record_for(rec, i))
            recorder.add_hooks(on_episode_end=forward)
        self.training_step = 0
        self.evaluation = -1
        self.episodes_recorded = 0  # over every evaluation: the next record's index
        self._targets = np.zeros(self.num_envs, dtype=np.int64)
        self._started = np.zeros(self.num_envs, dtype=np.int64)
        self._eval_episode = np.full(self.num_envs, -1, dtype=np.int64)
        self._next_eval_episode = 0
        self._active = False

    @property
    def recorders(self) -> list[ClipRecorder]:
        """One clip recorder per sub-env."""
        return self._recorders

    def begin_evaluation(self, training_step: int, n_eval_episodes: int) -> None:
        """The next ``reset()`` starts an evaluation at ``training_step``."""
        self.training_step = int(training_step)
        self.evaluation += 1
        self._targets = np.array([(n_eval_episodes + i) // self.num_envs
                                  for i in range(self.num_envs)], dtype=np.int64)
        self._started[:] = 0
        self._next_eval_episode = 0
        self._active = True

    def end_evaluation(self) -> None:
        """Stop recording until the next :meth:`begin_evaluation`."""
        self._active = False
        for recorder in self._recorders:
            if recorder.recording:  # cannot happen with evaluate_policy's counts; be safe
                recorder.stop()

    # -- SB3's VecEnv API ---------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        for i in range(self.num_envs):
            if self._recorders[i].recording:
                self._recorders[i].stop()
            self._begin(i)
        self._capture(range(self.num_envs))
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        for i in range(self.num_envs):
            recorder = self._recorders[i]
            if not recorder.recording:
                continue
            truncated = bool(dones[i]) and bool(infos[i].get("TimeLimit.truncated", False))
            ended = self._trackers[i].step(float(rewards[i]), bool(dones[i]) and not truncated,
                                           truncated)
            recorder.begin_step()
            if ended is not None:
                recorder.end_episode(ended, infos[i].get("is_success"))
                self._begin(i)
        self._capture([i for i in range(self.num_envs) if self._recorders[i].recording])
        return obs, rewards, dones, infos

    def close(self) -> None:
        try:
            self.venv.close()
        finally:
            for recorder in self._recorders:
                recorder.close()

    # -- recording ------------------------------------------------------------------------------
    def _begin(self, i: int) -> None:
        """Start sub-env ``i``'s next episode's video if evaluate_policy will count it."""
        if not self._active or self._started[i] >= self._targets[i]:
            return
        self._started[i] += 1
        recorder = self._recorders[i]
        recorder.episode_id = self.episodes_recorded - 1
        recorder.begin_episode()  # episode_id is now this record's index
        self._trackers[i].reset()
        recorder.step_id = self.training_step
        self.episodes_recorded += 1
        k = self._next_eval_episode
        self._next_eval_episode += 1
        self._eval_episode[i] = k
        recorder.start(f"{self.name_prefix}-step-{self.training_step}-episode-{k}",
                       whole_episode=True)

    def _capture(self, indices: Any) -> None:
        indices = list(indices)
        if not indices:
            return
        images = self.venv.get_images()
        for i in indices:
            recorder = self._recorders[i]
            frame = images[i]
            if self.overlay is not None:
                frame = self.overlay(normalize_frame(frame), OverlayState(
                    step=recorder.episode_length, episode_return=recorder.episode_return,
                    episode_id=recorder.episode_id))
            recorder.capture(frame)

    def record_for(self, record: EpisodeRecord, env_index: int) -> EpisodeRecord:
        """``record`` with this evaluation's ids in ``extras`` (called by the recorders' hook)."""
        extras = dict(record.extras)
        extras.update(training_step=self.training_step, evaluation=self.evaluation,
                      eval_episode=int(self._eval_episode[env_index]), eval_env=env_index)
        return record.replace(env_index=None, extras=extras)
