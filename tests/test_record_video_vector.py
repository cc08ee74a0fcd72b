"""agentreel.vector.RecordVideo: Gymnasium's contract, tiling, per-env files, autoreset modes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from agentreel.vector import RecordVideo
from videotools import PatternEnv, decode, mp4s, psnr


def cartpoles(n: int) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array") for _ in range(n)])


def patterns(lengths, mode=AutoresetMode.NEXT_STEP, asynchronous=False, **kwargs):
    fns = [lambda n=n: PatternEnv(length=n, **kwargs) for n in lengths]
    cls = AsyncVectorEnv if asynchronous else SyncVectorEnv
    return cls(fns, autoreset_mode=mode)


def drive(env, steps: int, *, reset_on_done: bool = True, seed: int = 123):
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if reset_on_done and (np.any(terminated) or np.any(truncated)):
            env.reset()


# -- Gymnasium's own behaviour, checked the way its test-suite does --------------------------


def test_file_names(tmp_path):
    env = RecordVideo(cartpoles(10), str(tmp_path), name_prefix="video-prefix",
                      episode_trigger=lambda x: x in [1, 4], step_trigger=lambda x: x in [0, 25],
                      video_aspect_ratio=(1, 1))
    drive(env, 100)
    env.close()
    assert mp4s(tmp_path) == {"video-prefix-step-0.mp4", "video-prefix-step-25.mp4",
                              "video-prefix-episode-1.mp4", "video-prefix-episode-4.mp4"}


@pytest.mark.parametrize("trigger", [None, lambda x: x in [0, 3, 5, 10, 12]])
def test_episode_trigger(tmp_path, trigger):
    env = RecordVideo(cartpoles(10), str(tmp_path), episode_trigger=trigger)
    env.reset()
    episodes = 0
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if np.any(terminated) or np.any(truncated):
            env.reset()
            episodes += 1
    env.close()
    assert len(mp4s(tmp_path)) == sum(env.episode_trigger(i) for i in range(episodes + 1))


def test_step_trigger_and_both(tmp_path):
    env = RecordVideo(cartpoles(10), str(tmp_path / "a"), step_trigger=lambda x: x % 100 == 0)
    drive(env, 199)
    env.close()
    assert len(mp4s(tmp_path / "a")) == 2
    env = RecordVideo(cartpoles(10), str(tmp_path / "b"), step_trigger=lambda x: x == 100,
                      episode_trigger=lambda x: x == 0 or x == 3)
    drive(env, 199)
    env.close()
    assert len(mp4s(tmp_path / "b")) == 3


def test_video_length(tmp_path):
    env = RecordVideo(cartpoles(10), str(tmp_path), step_trigger=lambda x: x == 0, video_length=10)
    env.reset(seed=123)
    env.action_space.seed(123)
    for _ in range(10):
        env.step(env.action_space.sample())
    assert env.recording
    env.step(env.action_space.sample())
    assert not env.recording
    env.close()
    assert len(mp4s(tmp_path)) == 1
    assert decode(tmp_path / "rl-video-step-0.mp4").count == 11


def test_render_mode_without_images_is_refused(tmp_path):
    envs = SyncVectorEnv([lambda: PatternEnv(render_mode=None)])
    with pytest.raises(ValueError, match="such as rgb_array"):
        RecordVideo(envs, str(tmp_path))


# -- tiling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "rows", "cols"), [(1, 1, 1), (4, 2, 2), (7, 4, 2), (5, 3, 2)])
def test_any_number_of_envs_tiles_into_a_padded_grid(tmp_path, n, rows, cols):
    env = RecordVideo(patterns([3] * n, height=40, width=60), str(tmp_path),
                      episode_trigger=lambda x: x == 0)
    drive(env, 3, reset_on_done=False)
    env.close()
    assert (env.frame_rows, env.frame_cols) == (rows, cols)
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (video.height, video.width) == (rows * 40, cols * 60)
    assert video.count == 4
    if rows * cols > n:  # the padding cells are black
        last = video.frames[0][(rows - 1) * 40:, (cols - 1) * 60:]
        assert last.mean() < 10


def test_tiles_show_each_sub_env(tmp_path):
    envs = patterns([3, 3, 3], height=40, width=60)
    rendered = []
    env = RecordVideo(envs, str(tmp_path), episode_trigger=lambda x: x == 0)
    env.reset(seed=0)
    rendered.append(envs.render())
    for _ in range(3):
        env.step(np.zeros(3, dtype=int))
        rendered.append(envs.render())
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    for got, frames in zip(video.frames, rendered, strict=True):
        assert psnr(got[:40, :60], frames[0]) > 30
        assert psnr(got[40:80, :60], frames[2]) > 30


def test_record_first_only(tmp_path):
    env = RecordVideo(patterns([3, 3, 3], height=40, width=60), str(tmp_path), record_first_only=True,
                      episode_trigger=lambda x: x == 0)
    drive(env, 3, reset_on_done=False)
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (video.height, video.width, video.count) == (40, 60, 4)


# -- autoreset modes: episode boundaries and frame counts ------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
def test_next_step_autoreset_episodes_hold_the_terminal_frame(tmp_path, asynchronous):
    env = RecordVideo(patterns([3, 5], asynchronous=asynchronous), str(tmp_path),
                      record_first_only=True, episode_trigger=lambda x: True)
    drive(env, 12, reset_on_done=False)
    env.close()
    # sub-env 0: 3-step episodes, each with its reset frame: steps 0-2, autoreset 3, 4-6, autoreset 7, ...
    for episode in range(3):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 4


def test_same_step_autoreset_counts_episodes(tmp_path):
    env = RecordVideo(patterns([3, 5], mode=AutoresetMode.SAME_STEP), str(tmp_path),
                      record_first_only=True, episode_trigger=lambda x: True)
    drive(env, 9, reset_on_done=False)
    env.close()
    assert env.episode_id == 3
    # the terminal frame is not observable under same-step autoreset: reset frame + 2 steps
    for episode in range(3):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 3


def test_per_env_files_under_disabled_autoreset_with_partial_resets(tmp_path):
    envs = patterns([2, 5], mode=AutoresetMode.DISABLED)
    env = RecordVideo(envs, str(tmp_path), per_env=True, episode_trigger=lambda x: True, sidecar=True)
    env.reset(seed=0)
    for _ in range(10):
        _, _, terminated, truncated, _ = env.step(np.zeros(2, dtype=int))
        done = np.logical_or(terminated, truncated)
        if done.any():
            env.reset(options={"reset_mask": done})
    env.close()
    # sub-env 0 (2-step episodes): 5 whole episodes in 10 steps; sub-env 1 (5-step): 2
    for k in range(5):
        assert decode(tmp_path / f"rl-video-env-0-episode-{k}.mp4").count == 3
    for k in range(2):
        assert decode(tmp_path / f"rl-video-env-1-episode-{k}.mp4").count == 6
    # the unfinished episode 5 of sub-env 0 was started by the last partial reset
    assert decode(tmp_path / "rl-video-env-0-episode-5.mp4").count == 1
    assert decode(tmp_path / "rl-video-env-1-episode-2.mp4").count == 1


def test_partial_reset_of_other_envs_does_not_duplicate_frames(tmp_path):
    envs = patterns([20, 2], mode=AutoresetMode.DISABLED)
    env = RecordVideo(envs, str(tmp_path), record_first_only=True, episode_trigger=lambda x: x == 0)
    env.reset(seed=0)
    for _ in range(6):
        _, _, terminated, truncated, _ = env.step(np.zeros(2, dtype=int))
        done = np.logical_or(terminated, truncated)
        if done.any():
            env.reset(options={"reset_mask": done})  # only sub-env 1 ever finishes
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == 7  # reset frame + 6 steps, no extra frame per partial reset
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(video.frames, video.frames[1:], strict=False)]
    assert min(diffs) > 1  # every frame differs from the one before


def test_caller_options_are_not_mutated(tmp_path):
    env = RecordVideo(patterns([2, 5], mode=AutoresetMode.DISABLED), str(tmp_path), per_env=True)
    env.reset(seed=0)
    options = {"reset_mask": np.array([True, False])}
    env.reset(options=options)
    assert "reset_mask" in options
    env.close()


def test_per_env_with_async_vector_env(tmp_path):
    env = RecordVideo(patterns([3, 4], asynchronous=True), str(tmp_path), per_env=True,
                      episode_trigger=lambda x: True)
    drive(env, 8, reset_on_done=False)
    env.close()
    assert decode(tmp_path / "rl-video-env-0-episode-0.mp4").count == 4
    assert decode(tmp_path / "rl-video-env-1-episode-0.mp4").count == 5
