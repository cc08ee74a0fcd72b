"""``agentreel.sb3.RecordEvalCallback``: SB3's ``EvalCallback`` that also records what it evaluates.

Every ``eval_freq`` calls it runs ``n_eval_episodes`` on the eval env with SB3's
``evaluate_policy`` (deterministic by default), exactly as ``EvalCallback`` does
(same arguments, ``evaluations.npz`` under ``log_path``, ``best_model.zip`` under
``best_model_save_path``, ``callback_on_new_best``, ``callback_after_eval``,
``eval/mean_reward`` and ``eval/mean_ep_length`` in the logger), and in addition:

* writes each evaluation episode's video into ``video_folder`` as
  ``{name_prefix}-step-{training_step}-episode-{k}.mp4`` (with its sidecar), and each
  episode's record to ``video_folder/episodes.jsonl`` and ``monitor.csv``, tagged
  with the training step (``extras["training_step"]``); the folder is an ordinary
  run folder for ``agentreel report``, ``agentreel timelapse`` (labelled with the
  training step) and ``agentreel plot --x steps`` (plotted at the training step);
* logs ``eval/mean_reward_ci_low``, ``eval/mean_reward_ci_high`` (95 % percentile
  bootstrap interval of the mean) and ``eval/iqm_reward`` to SB3's logger;
* with ``keep=`` (:mod:`agentreel.clips.keep`) keeps only the videos a rule wants, e.g.
  ``keep=best(3)``: the three best evaluation episodes of the whole run.

Example::

    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from agentreel.sb3 import RecordEvalCallback

    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1, env_kwargs={"render_mode": "rgb_array"})
    callback = RecordEvalCallback(eval_env, eval_freq=2000, n_eval_episodes=5,
                                  video_folder="runs/ppo/eval", best_model_save_path="runs/ppo")
    PPO("MlpPolicy", "CartPole-v1").learn(20_000, callback=callback)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, sync_envs_normalization
from stable_baselines3.common.vec_env.base_vec_env import VecEnvWrapper

from agentreel.analysis import bootstrap_ci, iqm
from agentreel.clips.keep import KeepRule, as_keep_rule
from agentreel.clips.keeper import VideoKeeper
from agentreel.clips.overlay import OverlayFn, as_overlay
from agentreel.clips.recorder import VideoHook, resolve_fps
from agentreel.core.records import EpisodeRecord
from agentreel.core.videofiles import check_format
from agentreel.log import EpisodeEmitter
from agentreel.sb3.episode_recorder import EvalEpisodeRecorder
from agentreel.sb3.video_recorder import RenderModeError

__all__ = ["RecordEvalCallback", "eval_statistics"]


def eval_statistics(returns: Any, *, confidence: float = 0.95, n_resamples: int = 2000,
                    seed: int | None = 0) -> dict[str, float]:
    """Mean, its percentile-bootstrap interval, and the IQM of one evaluation's returns.

    >>> eval_statistics([1.0, 2.0, 3.0, 4.0])["iqm_reward"]
    2.5
    """
    values = np.asarray(returns, dtype=np.float64)
    low, high = bootstrap_ci(values, "mean", confidence=confidence, n_resamples=n_resamples,
                             seed=seed)
    return {"mean_reward": float(values.mean()), "mean_reward_ci_low": float(low),
            "mean_reward_ci_high": float(high), "iqm_reward": float(iqm(values))}


class RecordEvalCallback(EvalCallback):
    """``EvalCallback`` with a video of every evaluation episode (see the module docstring).

    The positional arguments are ``EvalCallback``'s; the rest are keyword-only.

    Args:
        eval_env: the eval env (a ``VecEnv`` or a ``gym.Env``), built with
            ``render_mode="rgb_array"``.
        video_folder: where videos and records go (created if missing).
        name_prefix: first part of the file names.
        keep: a keep rule judging the evaluation videos by their episode's return.
        format, quality, overlay, on_video_saved, fps: as in :class:`agentreel.RecordVideo`.
        confidence: of the interval logged for the mean reward.
        on_episode_end: called with each evaluation episode's record.

    Raises:
        RenderModeError: the eval env does not render ``rgb_array`` images.
    """

    def __init__(
        self,
        eval_env: Any,
        callback_on_new_best: BaseCallback | None = None,
        callback_after_eval: BaseCallback | None = None,
        n_eval_episodes: int = 5,
        eval_freq: int = 10000,
        log_path: str | None = None,
        best_model_save_path: str | None = None,
        deterministic: bool = True,
        render: bool = False,
        verbose: int = 1,
        warn: bool = True,
        *,
        video_folder: str = "eval",
        name_prefix: str = "eval",
        keep: KeepRule | Callable[[EpisodeRecord], bool] | None = None,
        format: str = "mp4",
        quality: int | None = None,
        overlay: bool | OverlayFn = False,
        on_video_saved: VideoHook | None = None,
        fps: float | None = None,
        confidence: float = 0.95,
        on_episode_end: Callable[[EpisodeRecord], object] | None = None,
    ) -> None:
        super().__init__(eval_env, callback_on_new_best, callback_after_eval, n_eval_episodes,
                         eval_freq, log_path, best_model_save_path, deterministic, render,
                         verbose, warn)
        venv: VecEnv = self.eval_env
        if venv.render_mode != "rgb_array":
            raise RenderModeError(
                f"The render_mode must be 'rgb_array', not {venv.render_mode}: build the eval env "
                "with render_mode='rgb_array' (e.g. env_kwargs={'render_mode': 'rgb_array'})")
        if not isinstance(n_eval_episodes, int) or n_eval_episodes < 1:
            raise ValueError(f"n_eval_episodes must be a positive int, got {n_eval_episodes!r}")
        self.confidence = confidence
        self.video_folder = os.path.abspath(video_folder)
        rule = as_keep_rule(keep)
        self._keeper = None if rule is None else VideoKeeper(rule, self.video_folder)
        metadata = venv.get_attr("metadata")[0] if hasattr(venv, "get_attr") else venv.metadata
        self._emitter = EpisodeEmitter(self.video_folder, on_episode_end,
                                       env_id=_env_id(venv), extra_keys=("training_step",))
        self.recorder = EvalEpisodeRecorder(
            venv, self.video_folder, on_record=self._emitter.emit, name_prefix=name_prefix,
            fps=resolve_fps(fps, metadata), keeper=self._keeper, overlay=as_overlay(overlay),
            format=check_format(format), quality=quality, sidecar=True,
            on_video_saved=on_video_saved)
        self.eval_env = self.recorder
        self.evaluation_statistics: list[dict[str, float]] = []

    @property
    def keep(self) -> KeepRule | None:
        """The keep rule (``None``: every evaluation video is kept)."""
        return None if self._keeper is None else self._keeper.rule

    @property
    def saved_videos(self) -> list[Any]:
        """The evaluation videos completed (and still kept) so far."""
        evicted = self._keeper.evicted if self._keeper is not None else ()
        return [v for r in self.recorder.recorders for v in r.saved if v.path not in evicted]

    def _init_callback(self) -> None:
        inner = self.recorder.venv
        while isinstance(inner, VecEnvWrapper) and not isinstance(self.training_env, type(inner)):
            inner = inner.venv
        if not isinstance(self.training_env, type(inner)):
            warnings.warn(f"Training and eval env are not of the same type {self.training_env} "
                          f"!= {self.recorder.venv}", stacklevel=2)
        if self.best_model_save_path is not None:
            os.makedirs(self.best_model_save_path, exist_ok=True)
        if self.log_path is not None:
            os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.init_callback(self.model)

    def _on_step(self) -> bool:
        if not (self.eval_freq > 0 and self.n_calls % self.eval_freq == 0):
            return True
        if self.model.get_vec_normalize_env() is not None:
            sync_envs_normalization(self.training_env, self.recorder.venv)
        self._is_success_buffer = []
        self.recorder.begin_evaluation(self.num_timesteps, self.n_eval_episodes)
        try:
            returns, lengths = evaluate_policy(
                self.model, self.recorder, n_eval_episodes=self.n_eval_episodes,
                render=self.render, deterministic=self.deterministic, return_episode_rewards=True,
                warn=self.warn, callback=self._log_success_callback)
        finally:
            self.recorder.end_evaluation()
        returns, lengths = list(returns), list(lengths)  # type: ignore[arg-type]
        self._save_evaluations(returns, lengths)
        stats = eval_statistics(returns, confidence=self.confidence, seed=self.num_timesteps)
        self.evaluation_statistics.append({"training_step": self.num_timesteps, **stats})
        mean_reward = stats["mean_reward"]
        self.last_mean_reward = mean_reward
        if self.verbose >= 1:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean_reward:.2f} "
                  f"+/- {np.std(returns):.2f} (95% CI {stats['mean_reward_ci_low']:.2f} to "
                  f"{stats['mean_reward_ci_high']:.2f}, IQM {stats['iqm_reward']:.2f})")
            print(f"Episode length: {np.mean(lengths):.2f} +/- {np.std(lengths):.2f}")
        for key, value in stats.items():
            self.logger.record(f"eval/{key}", value)
        self.logger.record("eval/mean_ep_length", float(np.mean(lengths)))
        if self._is_success_buffer:
            self.logger.record("eval/success_rate", float(np.mean(self._is_success_buffer)))
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(self.num_timesteps)
        continue_training = True
        if mean_reward > self.best_mean_reward:
            if self.verbose >= 1:
                print("New best mean reward!")
            if self.best_model_save_path is not None:
                self.model.save(os.path.join(self.best_model_save_path, "best_model"))
            self.best_mean_reward = mean_reward
            if self.callback_on_new_best is not None:
                continue_training = self.callback_on_new_best.on_step()
        if self.callback is not None:
            continue_training = continue_training and self._on_event()
        return continue_training

    def _save_evaluations(self, returns: list[float], lengths: list[int]) -> None:
        if self.log_path is None:
            return
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append(returns)
        self.evaluations_length.append(lengths)
        extra: dict[str, Any] = {}
        if self._is_success_buffer:
            self.evaluations_successes.append(self._is_success_buffer)
            extra["successes"] = self.evaluations_successes
        np.savez(self.log_path, timesteps=self.evaluations_timesteps,
                 results=self.evaluations_results, ep_lengths=self.evaluations_length, **extra)

    def _on_training_end(self) -> None:
        """Wait until every evaluation video is on disk (each record already is)."""
        self.finish()

    def finish(self) -> None:
        """Complete every pending video; training may go on afterwards."""
        for recorder in self.recorder.recorders:
            recorder.close()
        if self._keeper is not None:
            self._keeper.close()

    def close(self) -> None:
        """Complete every pending video, close the episode log and the eval env."""
        self.finish()
        self._emitter.close()
        self.recorder.close()


def _env_id(venv: VecEnv) -> str | None:
    try:
        spec = venv.get_attr("spec")[0]
    except (AttributeError, IndexError):
        return None
    return getattr(spec, "id", None)
