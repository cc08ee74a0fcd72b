"""overlay=: step count and running return burnt into the recorded frames (not into render())."""

from __future__ import annotations

import doctest

import gymnasium as gym
import numpy as np
import pytest

import agentreel.clips.overlay
from agentreel import RecordVideo
from agentreel.base.text import label, text_size
from agentreel.clips.overlay import Overlay, OverlayState
from agentreel.vector import RecordVideo as VectorRecordVideo
from videotools import PatternEnv, decode


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def box(text: str, scale: int) -> tuple[slice, slice]:
    """The label's box at the top-left corner (margin = padding = scale)."""
    width, height = text_size(text, scale)
    return slice(scale, scale + height + 2 * scale), slice(scale, scale + width + 2 * scale)


def error(a: np.ndarray, b: np.ndarray, region) -> float:
    return float(np.abs(luma(a[region]) - luma(b[region])).mean())


def test_labels_show_step_and_return_in_the_video_but_not_in_render(tmp_path):
    env = PatternEnv(length=4, height=96, width=160)
    env = RecordVideo(env, str(tmp_path), episode_trigger=lambda i: True,
                      overlay=Overlay(scale=2))
    env.reset()
    raw = [env.render()]
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        raw.append(env.render())
        done = terminated or truncated
    env.close()
    for k, frame in enumerate(raw):  # what render() gives the user is untouched
        env.unwrapped.t = k
        np.testing.assert_array_equal(frame, env.unwrapped.picture())

    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == 5
    for k, (decoded, plain) in enumerate(zip(video.frames, raw, strict=True)):
        text = f"STEP {k} R {float(k):.1f}"  # PatternEnv pays 1 per step
        region = box(text, 2)
        expected = label(plain, text, scale=2)
        wrong = label(plain, f"STEP {k + 1} R {float(k + 1):.1f}", scale=2)
        assert error(decoded, expected, region) < 6  # the drawn text, up to compression
        assert error(decoded, plain, region) > 40  # clearly not the raw frame there
        assert error(decoded, expected, region) < error(decoded, wrong, region) / 2
        outside = (slice(60, 96), slice(100, 160))  # the rest of the picture is the env's
        assert error(decoded, plain, outside) < 4


def test_render_list_mode_history_stays_unlabelled(tmp_path):
    env = RecordVideo(PatternEnv(length=3, height=64, width=128, render_mode="rgb_array_list"),
                      str(tmp_path), episode_trigger=lambda i: True, overlay=True)
    env.reset()
    for _ in range(3):
        env.step(0)
    frames = env.render()
    env.close()
    assert len(frames) >= 4
    assert all(len(np.unique(f[..., 0])) == 1 for f in frames)  # solid colour: no label drawn
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert luma(video.frames[-1][2:10, 2:40]).max() > 200 > luma(frames[-1][2:10, 2:40]).max()


def test_custom_overlay_callable_gets_the_state(tmp_path):
    states: list[OverlayState] = []

    def mark(frame, state):
        states.append(state)
        out = frame.copy()
        out[:8, :8] = (255, 0, 0) if state.step % 2 else (0, 0, 255)
        return out

    env = RecordVideo(PatternEnv(length=3), str(tmp_path), episode_trigger=lambda i: True,
                      overlay=mark)
    env.reset()
    for _ in range(3):
        env.step(0)
    env.close()
    assert [(s.step, s.episode_return, s.episode_id) for s in states] == [
        (0, 0.0, 0), (1, 1.0, 0), (2, 2.0, 0), (3, 3.0, 0)]
    frames = decode(tmp_path / "rl-video-episode-0.mp4").frames
    assert [int(f[3, 3, 0] > 128) for f in frames] == [0, 1, 0, 1]


@pytest.mark.parametrize("mode", [gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP])
def test_vector_tiles_carry_their_own_numbers(tmp_path, mode):
    lengths = [2, 3]
    envs = gym.vector.SyncVectorEnv(
        [lambda n=n: PatternEnv(length=n, height=64, width=192) for n in lengths], autoreset_mode=mode)
    envs = VectorRecordVideo(envs, str(tmp_path), step_trigger=lambda s: s == 0, video_length=6,
                             overlay=Overlay(scale=2))
    envs.reset(seed=0)
    for _ in range(7):
        envs.step(envs.action_space.sample())
    envs.close()
    video = decode(tmp_path / "rl-video-step-0.mp4")
    assert video.count == 7
    cols = envs.frame_cols
    # The clip starts after the first step. Sub-env 0 lasts 2 steps, sub-env 1 lasts 3; under
    # next-step autoreset the step after the last one shows the new episode's reset (step 0),
    # under same-step autoreset the last step already shows it.
    expected = {
        gym.vector.AutoresetMode.NEXT_STEP: [[1, 2, 0, 1, 2, 0, 1], [1, 2, 3, 0, 1, 2, 3]],
        gym.vector.AutoresetMode.SAME_STEP: [[1, 0, 1, 0, 1, 0, 1], [1, 2, 0, 1, 2, 0, 1]],
    }[mode]
    for f, frame in enumerate(video.frames):
        for i in range(2):
            row, col = divmod(i, cols)
            picture = frame[row * 64:(row + 1) * 64, col * 192:(col + 1) * 192]
            errors = {}
            for k in range(4):
                text = f"STEP {k} R {float(k):.1f}"
                errors[k] = error(picture, label(np.zeros_like(picture), text, scale=2), box(text, 2))
            assert min(errors, key=errors.get) == expected[i][f], (f, i, errors)
            assert errors[expected[i][f]] < 6


def test_overlay_argument_validation_and_docs():
    with pytest.raises(TypeError, match="overlay="):
        RecordVideo(PatternEnv(), "/tmp/agentreel-overlay-unused", overlay="yes")
    assert doctest.testmod(agentreel.clips.overlay).failed == 0
