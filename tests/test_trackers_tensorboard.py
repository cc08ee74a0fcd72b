"""TensorBoard tracker: scalars and animated-GIF video summaries, read back with TensorBoard's reader;
attach() on single and vector stacks; the GIF helper; the install hint when an extra is missing."""

from __future__ import annotations

import io
import json
import sys

import av
import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import agentreel.trackers  # noqa: E402
from agentreel import RecordEpisodeStatistics, RecordVideo, read_episodes  # noqa: E402
from agentreel.clips.keep import best  # noqa: E402
from agentreel.trackers import TensorBoardTracker, attach, video_to_gif  # noqa: E402
from agentreel.vector import RecordEpisodeStatistics as VectorStats  # noqa: E402
from agentreel.vector import RecordVideo as VectorRecordVideo  # noqa: E402
from videotools import PatternEnv, decode  # noqa: E402


def play(env, episodes: int) -> None:
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated


def read_tb(logdir) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def gif_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_scalars_and_gif_summaries_read_back_with_tensorboards_reader(tmp_path):
    env = PatternEnv(length=6, height=48, width=64)
    env = RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda i: i % 2 == 0)
    env = RecordEpisodeStatistics(env, log=str(tmp_path / "log.jsonl"), info_keywords=())
    trackers = attach(env, tensorboard=tmp_path / "tb")
    assert trackers.tensorboard is not None and trackers.wandb is None
    play(env, 4)
    env.close()
    assert trackers.tensorboard.closed  # closed by env.close(), after the last video

    log = read_episodes(tmp_path / "log.jsonl")
    acc = read_tb(tmp_path / "tb")
    assert {"episode/return", "episode/length", "episode/duration"} <= set(acc.Tags()["scalars"])
    returns = acc.Scalars("episode/return")
    assert [e.step for e in returns] == [0, 1, 2, 3]
    assert [e.value for e in returns] == pytest.approx([r.episode_return for r in log])
    assert [e.value for e in acc.Scalars("episode/length")] == [r.length for r in log]
    assert [e.value for e in acc.Scalars("episode/duration")] == pytest.approx(
        [r.duration for r in log], abs=1e-6)

    assert acc.Tags()["images"] == ["video"]
    images = acc.Images("video")
    assert [im.step for im in images] == [0, 2]
    for image in images:
        data = image.encoded_image_string
        assert data[:6] == b"GIF89a"
        assert (image.width, image.height) == (64, 48)
        frames = gif_frames(data)
        assert len(frames) == 7  # the whole episode: reset frame + 6 steps
    # the GIF shows the video's pictures: compare with the mp4 frame by frame
    video = decode(tmp_path / "videos" / "rl-video-episode-2.mp4")
    for gif_frame, mp4_frame in zip(gif_frames(images[1].encoded_image_string), video.frames,
                                    strict=True):
        assert np.abs(gif_frame.astype(int) - mp4_frame.astype(int)).mean() < 8


def test_video_to_gif_subsamples_and_scales(tmp_path):
    env = RecordVideo(PatternEnv(length=99, height=96, width=128), str(tmp_path),
                      episode_trigger=lambda i: True, fps=50)
    play(env, 1)
    env.close()
    gif = video_to_gif(tmp_path / "rl-video-episode-0.mp4", max_frames=25, max_size=64)
    assert gif.data[:6] == b"GIF89a"
    assert (gif.width, gif.height, gif.frames) == (64, 48, 25)
    assert gif.fps == pytest.approx(12.5)  # 100 frames at 50 fps → 25 frames at 12.5 fps: same 2 s
    frames = gif_frames(gif.data)
    assert len(frames) == 25 and frames[0].shape == (48, 64, 3)
    assert len({f.tobytes() for f in frames}) > 20  # the pattern changes from frame to frame


def test_vector_stack_with_keep_rule_and_video_wrapper_outermost(tmp_path):
    envs = gym.vector.SyncVectorEnv([lambda: PatternEnv(length=4) for _ in range(2)])
    envs = VectorStats(envs)
    envs = VectorRecordVideo(envs, str(tmp_path / "v"), per_env=True, keep=best(1), sidecar=True)
    tb = TensorBoardTracker(tmp_path / "tb", video_tag="clips")
    trackers = attach(envs, others=[tb])
    envs.reset(seed=0)
    for _ in range(12):
        envs.step(envs.action_space.sample())
    envs.close()
    assert tb.closed and trackers.tensorboard is tb
    acc = read_tb(tmp_path / "tb")
    assert len(acc.Scalars("episode/return")) == tb.episodes >= 4
    tags = acc.Tags()["images"]
    assert tags and all(t.startswith("clips/env-") for t in tags)
    for tag in tags:
        assert all(im.encoded_image_string[:6] == b"GIF89a" for im in acc.Images(tag))
    kept = [json.loads(p.read_text())["tags"]["kept"] for p in (tmp_path / "v").glob("*.json")]
    assert kept == ["best(1): return 4.0 ranks 1"]


def test_attach_needs_agentreel_wrappers_and_missing_extras_name_the_install(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="RecordEpisodeStatistics or RecordVideo"):
        attach(gym.make("CartPole-v1"), tensorboard=tmp_path)
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r'pip install "agentreel\[wandb\]"'):
        agentreel.trackers.WandbTracker()
    with pytest.raises(ImportError, match=r'pip install "agentreel\[mlflow\]"'):
        agentreel.trackers.MlflowTracker()


def test_tracker_used_directly_as_sink_and_hook(tmp_path):
    tb = TensorBoardTracker(tmp_path / "tb")
    env = RecordVideo(PatternEnv(length=3), str(tmp_path / "v"), episode_trigger=lambda i: i == 1,
                      on_video_saved=tb)
    env = RecordEpisodeStatistics(env, log=tb)
    play(env, 3)
    env.close()
    assert not tb.closed  # a sink object passed in stays the caller's to close
    tb.close()
    acc = read_tb(tmp_path / "tb")
    assert [im.step for im in acc.Images("video")] == [1]
    assert len(acc.Scalars("episode/length")) == 3


def test_docstring_examples():
    import doctest

    import agentreel.trackers.base
    import agentreel.trackers.gif
    import agentreel.trackers.tensorboard_sink

    for module in (agentreel.trackers.gif, agentreel.trackers.base,
                   agentreel.trackers.tensorboard_sink):
        assert doctest.testmod(module).failed == 0
