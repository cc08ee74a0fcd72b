"""agentreel.RecordVideo: the drop-in contract, decoded videos, and the fixes over Gymnasium."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest

from agentreel import RecordVideo, capped_cubic_video_schedule
from videotools import PatternEnv, decode, mp4s, psnr


def run_episodes(env, episodes: int, *, capture: list | None = None):
    """Run whole episodes; optionally keep env.render() of every step for comparison."""
    for _ in range(episodes):
        env.reset()
        if capture is not None:
            capture.append([env.render()])
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if capture is not None:
                capture[-1].append(env.render())
            done = terminated or truncated


# -- Gymnasium's own behaviour, checked the way its test-suite does --------------------------


def test_file_names_for_episode_and_step_triggers(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(tmp_path), name_prefix="video-prefix",
                      episode_trigger=lambda x: x in [1, 4], step_trigger=lambda x: x in [0, 25])
    env.reset(seed=123)
    env.action_space.seed(123)
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    assert mp4s(tmp_path) == {"video-prefix-step-0.mp4", "video-prefix-step-25.mp4",
                              "video-prefix-episode-1.mp4", "video-prefix-episode-4.mp4"}


@pytest.mark.parametrize("trigger", [None, lambda x: x in [0, 3, 5, 10, 12]])
def test_episode_trigger_counts(tmp_path, trigger):
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path),
                      episode_trigger=trigger)
    env.reset(seed=0)
    episodes = 0
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
            episodes += 1
    env.close()
    assert env.episode_trigger is not None
    if trigger is None:
        assert env.episode_trigger is capped_cubic_video_schedule
    assert len(mp4s(tmp_path)) == sum(env.episode_trigger(i) for i in range(episodes + 1))


def test_default_trigger_with_list_render_mode(tmp_path):
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array_list"), str(tmp_path))
    env.reset(seed=0)
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    assert len(mp4s(tmp_path)) == sum(capped_cubic_video_schedule(i) for i in range(env.episode_id + 1))


def test_step_trigger_and_both_triggers(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(tmp_path / "a"), step_trigger=lambda x: x % 100 == 0)
    env.reset(seed=1)
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    assert len(mp4s(tmp_path / "a")) == 2

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(tmp_path / "b"), step_trigger=lambda x: x == 100,
                      episode_trigger=lambda x: x == 0 or x == 3)
    env.reset(seed=123)
    env.action_space.seed(123)
    for _ in range(199):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    assert len(mp4s(tmp_path / "b")) == 3


def test_video_length_gives_n_plus_one_frames(tmp_path):
    env = RecordVideo(PatternEnv(length=1000), str(tmp_path), step_trigger=lambda x: x == 0,
                      video_length=10)
    env.reset(seed=123)
    for _ in range(10):
        env.step(0)
    assert env.recording  # after N captured frames it is still recording
    env.step(0)
    assert not env.recording  # and stops with the next
    env.close()
    assert mp4s(tmp_path) == {"rl-video-step-0.mp4"}
    assert decode(tmp_path / "rl-video-step-0.mp4").count == 11


def test_video_length_clip_spans_episodes(tmp_path):
    env = RecordVideo(PatternEnv(length=3), str(tmp_path), episode_trigger=lambda x: x == 0,
                      video_length=7)
    run_episodes(env, 4)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 8


def test_new_trigger_cuts_the_open_clip(tmp_path):
    env = RecordVideo(PatternEnv(length=50), str(tmp_path), step_trigger=lambda x: x in (0, 5))
    env.reset()
    for _ in range(10):
        env.step(0)
    env.close()
    assert decode(tmp_path / "rl-video-step-0.mp4").count == 5  # steps 0..4, then cut
    assert decode(tmp_path / "rl-video-step-5.mp4").count == 5  # steps 5..9


def test_list_render_mode_still_returns_every_frame(tmp_path):
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array_list"), str(tmp_path),
                      episode_trigger=lambda x: True)
    env.reset(seed=0)
    n_steps = 10
    for _ in range(n_steps):
        env.step(env.action_space.sample())
    render_out = env.render()
    assert isinstance(render_out, list)
    assert len(render_out) == n_steps + 1
    assert env.render() == []
    env.close()


@pytest.mark.parametrize("mode", [None, "human", "ansi"])
def test_render_modes_without_images_are_refused(tmp_path, mode):
    env = PatternEnv(render_mode=mode)
    with pytest.raises(ValueError, match="such as rgb_array"):
        RecordVideo(env, str(tmp_path))


def test_half_built_wrapper_does_not_raise_in_del(tmp_path, capsys):
    with pytest.raises(ValueError):
        RecordVideo(PatternEnv(render_mode=None), str(tmp_path))
    gc.collect()
    assert "Exception ignored" not in capsys.readouterr().err


def test_constructor_arguments_round_trip_through_the_spec(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(tmp_path), name_prefix="spec", video_length=3, fps=12)
    spec = env.spec
    recorded = spec.additional_wrappers[-1]
    assert recorded.entry_point == "agentreel.wrappers.recording:RecordVideo"
    assert recorded.kwargs["name_prefix"] == "spec" and recorded.kwargs["fps"] == 12
    remade = gym.make(spec)
    assert isinstance(remade, RecordVideo)
    assert remade.name_prefix == "spec" and remade.frames_per_sec == 12 and remade.video_length == 3
    remade.close()
    env.close()


def test_ids_start_at_minus_one_and_count(tmp_path):
    env = RecordVideo(PatternEnv(length=3), str(tmp_path), episode_trigger=lambda x: False)
    assert (env.episode_id, env.step_id) == (-1, -1)
    run_episodes(env, 2)
    assert (env.episode_id, env.step_id) == (1, 5)
    env.close()


# -- what the files hold ---------------------------------------------------------------------


def test_episode_video_holds_reset_frame_plus_one_per_step_with_matching_pixels(tmp_path):
    env = RecordVideo(PatternEnv(length=7, height=60, width=80), str(tmp_path),
                      episode_trigger=lambda x: True, fps=10)
    rendered: list = []
    run_episodes(env, 3, capture=rendered)
    env.close()
    for episode in range(3):
        video = decode(tmp_path / f"rl-video-episode-{episode}.mp4")
        assert video.count == 7 + 1
        assert (video.width, video.height) == (80, 60)
        assert video.pix_fmt == "yuv420p"
        assert video.fps == pytest.approx(10)
        for got, want in zip(video.frames, rendered[episode], strict=True):
            assert psnr(got, want) > 30


def test_cartpole_videos_match_rendered_frames(tmp_path):
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path),
                      episode_trigger=lambda x: True)
    env.action_space.seed(3)
    rendered: list = []
    env.reset(seed=3)
    rendered.append(env.render())
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        rendered.append(env.render())
        done = terminated or truncated
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == len(rendered)
    assert (video.height, video.width) == rendered[0].shape[:2]
    assert min(psnr(a, b) for a, b in zip(video.frames, rendered, strict=True)) > 30


def test_episode_video_is_complete_before_the_next_reset(tmp_path):
    env = RecordVideo(PatternEnv(length=4), str(tmp_path), episode_trigger=lambda x: True)
    run_episodes(env, 1)
    assert not env.recording
    env._recorder.engine.flush()  # the file is finished in the background, no reset needed
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 5
    env.close()


@pytest.mark.parametrize(("kind", "height", "width"), [("rgb", 45, 63), ("gray", 40, 40),
                                                       ("float", 32, 48), ("rgba", 31, 30)])
def test_odd_sizes_and_other_pixel_kinds_are_converted(tmp_path, kind, height, width):
    env = RecordVideo(PatternEnv(length=3, height=height, width=width, kind=kind), str(tmp_path),
                      episode_trigger=lambda x: True)
    run_episodes(env, 1)
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == 4
    assert video.width % 2 == 0 and video.height % 2 == 0
    assert (video.height - height, video.width - width) in {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert video.pix_fmt == "yuv420p"
    assert video.frames[0].mean() > 20  # not a silent black video


class ShapeShiftingEnv(PatternEnv):
    """Renders a bigger frame at one step of the first episode."""

    def picture(self):
        frame = super().picture()
        if self.episode == 0 and self.t == 2:
            return np.zeros((self.height + 8, self.width, 3), np.uint8)
        return frame


def test_a_size_change_ends_the_clip_loudly_and_the_wrapper_keeps_working(tmp_path):
    """A frame of another size cannot go into the open clip. It used to raise FrameError
    out of step() (after env.step ran: the caller lost the step); since issue 12 the clip
    ends with its frames so far, a RuntimeWarning names both shapes, the VideoSaved
    event carries the reason in ``error``, and the next episode records normally."""
    events = []
    env = RecordVideo(ShapeShiftingEnv(length=4), str(tmp_path), episode_trigger=lambda x: True,
                      on_video_saved=events.append)
    env.reset()
    env.step(0)
    with pytest.warns(RuntimeWarning) as caught:
        result = env.step(0)
    message = str(caught[0].message)
    assert "(56, 64, 3)" in message and "(48, 64, 3)" in message
    assert result[1] == 1.0  # the step's results reach the caller
    env.step(0)
    env.step(0)
    run_episodes(env, 1)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 2  # frames before the bad one
    assert events[0].error and "(56, 64, 3)" in events[0].error
    assert events[0].tags["incomplete"] is True and events[0].episode_length is None
    assert decode(tmp_path / "rl-video-episode-1.mp4").count == 5


def test_render_fps_none_falls_back_to_30_with_one_warning(tmp_path, caplog):
    """Seed 004: metadata render_fps None crashed Gymnasium's encoder at save time."""
    with caplog.at_level(logging.WARNING, logger="agentreel"):
        env = RecordVideo(PatternEnv(render_fps=None), str(tmp_path), episode_trigger=lambda x: True)
        run_episodes(env, 2)
        env.close()
    assert env.frames_per_sec == 30
    assert sum("render_fps" in r.getMessage() for r in caplog.records) == 1
    assert decode(tmp_path / "rl-video-episode-1.mp4").fps == pytest.approx(30)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), "30"])
def test_bad_fps_argument_is_refused_early(tmp_path, bad):
    with pytest.raises(ValueError, match="fps"):
        RecordVideo(PatternEnv(), str(tmp_path), fps=bad)


def test_bad_arguments_are_refused_early(tmp_path):
    with pytest.raises(ValueError, match="video_length"):
        RecordVideo(PatternEnv(), str(tmp_path), video_length=-1)
    with pytest.raises(TypeError, match="episode_trigger"):
        RecordVideo(PatternEnv(), str(tmp_path), episode_trigger=3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        RecordVideo(PatternEnv(), str(tmp_path / "file"))
    with pytest.raises(ValueError, match="format"):
        RecordVideo(PatternEnv(), str(tmp_path), format="avi")


def test_on_video_saved_and_sidecar(tmp_path):
    events = []
    env = RecordVideo(PatternEnv(length=6), str(tmp_path), episode_trigger=lambda x: x % 2 == 0,
                      on_video_saved=events.append, sidecar=True)
    run_episodes(env, 4)
    env.close()
    assert [e.episode_id for e in events] == [0, 2]
    assert all(e.frames == 7 and e.episode_length == 6 and e.episode_return == 6.0 for e in events)
    assert all(os.path.exists(e.path) for e in events)
    import json

    side = json.loads((tmp_path / "rl-video-episode-2.json").read_text())
    assert side["frames"] == 7 and side["tags"]["episode_id"] == 2


def test_a_failing_callback_is_reported_and_recording_goes_on(tmp_path, caplog):
    def boom(event):
        raise RuntimeError("callback broke")

    with caplog.at_level(logging.ERROR, logger="agentreel"):
        env = RecordVideo(PatternEnv(length=2), str(tmp_path), episode_trigger=lambda x: True,
                          on_video_saved=boom)
        run_episodes(env, 2)
        env.close()
    assert len(mp4s(tmp_path)) == 2
    assert "callback broke" in caplog.text


@pytest.mark.parametrize("fmt", ["webm", "gif"])
def test_other_formats(tmp_path, fmt):
    env = RecordVideo(PatternEnv(length=5), str(tmp_path), episode_trigger=lambda x: True, format=fmt)
    run_episodes(env, 1)
    env.close()
    video = decode(tmp_path / f"rl-video-episode-0.{fmt}")
    assert video.count == 6


def test_no_partial_or_temporary_files_left(tmp_path):
    env = RecordVideo(PatternEnv(length=5), str(tmp_path), episode_trigger=lambda x: True)
    run_episodes(env, 3)
    env.close()
    # (the hidden claims folder stays until this process exits: see agentreel.clips.claims)
    assert sorted(f for f in os.listdir(tmp_path) if f != ".agentreel-claims") == [
        f"rl-video-episode-{i}.mp4" for i in range(3)]


def test_no_gc_collect_by_default(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(1) or 0)
    env = RecordVideo(PatternEnv(length=2), str(tmp_path), episode_trigger=lambda x: True)
    run_episodes(env, 3)
    env.close()
    assert calls == []


def test_video_survives_process_death_right_after_the_episode(tmp_path):
    """Gymnasium loses a finished episode's video when the process dies before the next reset."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from videotools import PatternEnv
        from agentreel import RecordVideo
        env = RecordVideo(PatternEnv(length=30), {str(tmp_path)!r}, episode_trigger=lambda x: True)
        env.reset()
        done = False
        while not done:
            _, _, done, _, _ = env.step(0)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9
    path = tmp_path / "rl-video-episode-0.mp4"
    for _ in range(200):  # the encoder process finishes the file after its parent died
        if path.exists():
            break
        import time

        time.sleep(0.05)
    assert decode(path).count == 31


def test_memory_stays_flat_over_a_long_recorded_episode(tmp_path):
    psutil = pytest.importorskip("psutil")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import psutil
        from videotools import PatternEnv
        from agentreel import RecordVideo
        record = sys.argv[1] == "record"
        env = PatternEnv(length=5000, height=400, width=600)
        if record:
            env = RecordVideo(env, {str(tmp_path)!r}, episode_trigger=lambda x: True)
        proc = psutil.Process()
        env.reset()
        peak = 0
        for i in range(5000):
            env.step(0)
            if not record:
                env.render()
            if i % 100 == 0:
                peak = max(peak, proc.memory_info().rss)
        env.close()
        print(peak)
    """)
    peaks = {}
    for mode in ("plain", "record"):
        out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True,
                             timeout=600, check=True)
        peaks[mode] = int(out.stdout.split()[-1])
    assert psutil is not None
    growth_mb = (peaks["record"] - peaks["plain"]) / 2**20
    # Gymnasium would hold 5,000 frames of 600x400 (3.4 GB) here.
    assert growth_mb < 150, growth_mb
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 5001


def test_warns_before_overwriting_videos_of_an_earlier_run(tmp_path, caplog):
    env = RecordVideo(PatternEnv(length=2), str(tmp_path), episode_trigger=lambda x: True)
    run_episodes(env, 1)
    env.close()
    with caplog.at_level(logging.WARNING, logger="agentreel"), warnings.catch_warnings():
        env = RecordVideo(PatternEnv(length=2), str(tmp_path), episode_trigger=lambda x: True)
    env.close()
    assert "overwritten" in caplog.text


def test_each_episode_of_an_autoresetting_env_gets_its_video(tmp_path):
    """With Gymnasium's Autoreset inside, reset() is called once; Gymnasium's RecordVideo
    then records the first episode only. The step after an episode's end starts the next."""
    from gymnasium.wrappers import Autoreset

    env = RecordVideo(Autoreset(PatternEnv(length=3)), str(tmp_path), episode_trigger=lambda x: True)
    env.reset()
    for _ in range(12):  # 3 episodes of 3 steps, each followed by its autoreset step
        env.step(0)
    env.close()
    assert env.episode_id == 3
    for episode in range(3):
        video = decode(tmp_path / f"rl-video-episode-{episode}.mp4")
        assert video.count == 4  # reset frame + 3 steps, the terminal frame included
    assert decode(tmp_path / "rl-video-episode-3.mp4").count == 1
