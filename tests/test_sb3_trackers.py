"""agentreel.trackers.attach on agentreel.sb3's wrappers during real SB3 training."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("tensorboard")
torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from agentreel import read_episodes  # noqa: E402
from agentreel.sb3 import VecMonitor, VecVideoRecorder  # noqa: E402
from agentreel.trackers import attach  # noqa: E402


def test_attach_tensorboard_to_sb3_wrappers_during_ppo_training(tmp_path):
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, env_kwargs={"render_mode": "rgb_array"})
    venv = VecMonitor(venv, str(tmp_path))
    venv = VecVideoRecorder(venv, str(tmp_path), lambda s: s % 128 == 0, video_length=20)
    trackers = attach(venv, tensorboard=tmp_path / "tb")
    PPO("MlpPolicy", venv, n_steps=64, n_epochs=1, batch_size=64, seed=0).learn(512)
    venv.close()
    assert trackers.tensorboard.closed  # closed once the last video was complete and logged
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    records = read_episodes(tmp_path / "episodes.jsonl")
    returns = [event.value for event in acc.Scalars("episode/return")]
    assert returns == [r.episode_return for r in records] and len(records) > 5
    videos = sorted(f for f in os.listdir(tmp_path) if f.endswith(".mp4"))
    assert len(videos) == 3  # steps 0, 128 and 256 of 256 vector steps
    assert len(acc.Images("video")) == len(videos)
