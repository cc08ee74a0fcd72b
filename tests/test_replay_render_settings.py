"""The replay renderer encodes with the x264 settings a live recording starts with.

A live ``preset="auto"`` engine steps to faster, larger-file settings when the agent's
loop waited on it; a replay renderer is not the agent's loop, so its waits must not
change its settings (its videos would come out larger than live ones).
"""

from __future__ import annotations

import gymnasium as gym
import pytest

from agentreel import RecordReplay, RecordVideo
from agentreel.replay.render import render_episodes
from helpers import replay_envs  # noqa: F401  (registers the test envs)
from videotools import decode, x264_settings

ENV_ID = "agentreel-test/NoisyPictures-v0"  # 400x600 noise: the renderer waits on x264


def _play(env: gym.Env, episodes: int) -> None:
    for episode in range(episodes):
        env.reset(seed=episode)
        while not any(env.step(0)[2:4]):
            pass
    env.close()


def _live_settings(tmp_path) -> str:
    env = RecordVideo(gym.make(ENV_ID, render_mode="rgb_array", length=3), tmp_path / "live",
                      episode_trigger=lambda i: i == 0)
    _play(env, 1)
    return x264_settings(tmp_path / "live" / "rl-video-episode-0.mp4")


@pytest.mark.parametrize("how", ["agentreel render", "RecordVideo(replay=True)"])
def test_replayed_videos_keep_the_settings_a_live_recording_starts_with(tmp_path, how):
    run = tmp_path / "run"
    if how == "agentreel render":
        _play(RecordReplay(gym.make(ENV_ID), run), 4)
        rendered = render_episodes(run)
        assert [r.error for r in rendered] == [None] * 4
    else:
        _play(RecordVideo(gym.make(ENV_ID), run, replay=True, episode_trigger=lambda i: True), 4)
    videos = [run / f"rl-video-episode-{k}.mp4" for k in range(4)]
    assert [decode(v).count for v in videos] == [41] * 4
    settings = [x264_settings(v) for v in videos]
    assert settings == [_live_settings(tmp_path)] * 4
