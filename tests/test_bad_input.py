"""Bad input: each case gives a correct video, or an immediate error that names the
problem and the fix -- and the next episode records normally.

Cases already covered elsewhere (not repeated here): size change mid-clip
(test_record_video.test_size_change_raises_at_capture_and_the_wrapper_keeps_working),
render modes None/human/ansi (test_render_modes_without_images_are_refused),
render_fps None, bad fps/video_length/trigger/format arguments and a folder that is a
file (test_bad_arguments_are_refused_early), single bad frames
(test_video_frames, test_video_engine.test_bad_frames_raise_and_stream_continues).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentreel import RecordEpisodeStatistics, RecordVideo
from agentreel.episode_tracker import EpisodeTracker
from agentreel.recorder import ClipRecorder
from agentreel.video import FrameError, VideoEngine
from videotools import PatternEnv, decode


def run_episodes(env, n):
    for _ in range(n):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated


# --------------------------------------------------------------------------- frames (property)
_ENGINE: VideoEngine | None = None


def _engine() -> VideoEngine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = VideoEngine(backend="thread", queue_frames=4)
    return _ENGINE


@st.composite
def any_frame(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 9), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(["uint8", "int16", "int64", "uint16", "float16", "float32",
                                  "float64", "bool", "complex64", "object"]))
    low, high = draw(st.sampled_from([(0, 1), (0, 255), (-5, 5), (0, 1000), (-1e9, 1e9)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.uniform(low, high, size=shape)
    if draw(st.booleans()) and values.size:
        values.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return values.astype(dtype)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(any_frame(), min_size=1, max_size=4))
def test_random_frames_are_recorded_or_refused_with_a_frame_error(tmp_path_factory, frames):
    """Whatever the frame, capture() either takes it or raises FrameError (a ValueError
    whose message says what was received); the clip goes on and the video holds exactly
    the accepted frames; the next clip records normally."""
    folder = tmp_path_factory.mktemp("frames")
    episode = EpisodeTracker()
    rec = ClipRecorder(folder, name_prefix="p", episode_trigger=lambda i: True, engine=_engine(),
                       progress=episode)
    good = np.full((6, 8, 3), 120, np.uint8)
    rec.begin_episode()
    episode.reset()
    rec.capture(good)
    accepted = 1
    for frame in frames:
        try:
            rec.capture(frame)
        except FrameError as exc:
            message = str(exc)
            assert len(message) > 30 and any(word in message for word in (
                "shape", "dtype", "frame", "values")), message
        else:
            accepted += 1
    rec.end_episode(episode.end(terminated=True, truncated=False))
    rec.begin_episode()  # the next episode records normally
    episode.reset()
    rec.capture(good)
    rec.end_episode(episode.end(terminated=True, truncated=False))
    rec.close()
    assert decode(folder / "p-episode-0.mp4").count == accepted
    assert decode(folder / "p-episode-1.mp4").count == 1


# --------------------------------------------------------------------------- render() output
class RenderEnv(PatternEnv):
    """PatternEnv whose render() returns ``bad`` at step ``at`` of episode 0."""

    def __init__(self, bad, at=2, **kwargs):
        super().__init__(**kwargs)
        self.bad, self.at = bad, at

    def render(self):
        if self.episode == 0 and self.t == self.at:
            return self.bad() if callable(self.bad) else self.bad
        return super().render()


def test_render_returning_none_stops_the_clip_loudly_and_the_next_episode_records(tmp_path, caplog):
    env = RecordVideo(RenderEnv(None, length=5), str(tmp_path), episode_trigger=lambda i: True)
    with caplog.at_level(logging.WARNING, logger="agentreel"):
        run_episodes(env, 2)
    env.close()
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "returned NoneType" in message and "render_mode='rgb_array'" in message
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 2  # frames up to the bad one
    assert decode(tmp_path / "rl-video-episode-1.mp4").count == 6


def test_render_returning_a_list_in_rgb_array_mode_records_its_newest_frame(tmp_path):
    base = PatternEnv(length=4)
    base.render = lambda: [np.zeros((48, 64, 3), np.uint8), base.picture()]
    env = RecordVideo(base, str(tmp_path), episode_trigger=lambda i: True)
    run_episodes(env, 1)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 5


class ModeEnv(PatternEnv):
    metadata = {"render_modes": ["depth_array", "rgbd_tuple", "rgb_array"], "render_fps": 25}

    def render(self):
        rgb = self.picture()
        depth = np.linspace(0.2, 40.0, rgb.shape[0] * rgb.shape[1]).reshape(rgb.shape[:2])
        if self.render_mode == "depth_array":
            return depth.astype(np.float32) * (1 + self.t)  # metres, not [0, 1]
        return rgb, depth.astype(np.float32)


def test_rgbd_tuple_records_the_rgb_part(tmp_path):
    env = RecordVideo(ModeEnv(length=3, render_mode="rgbd_tuple"), str(tmp_path),
                      episode_trigger=lambda i: True)
    run_episodes(env, 2)
    env.close()
    video = decode(tmp_path / "rl-video-episode-1.mp4")
    assert video.count == 4 and video.width == 64


def test_depth_array_is_recorded_as_a_normalised_gray_video(tmp_path):
    """Depth in metres is not an image in [0, 1]: it used to raise at every frame
    (wedging the loop); now each frame is scaled to its own near..far range."""
    env = RecordVideo(ModeEnv(length=3, render_mode="depth_array"), str(tmp_path),
                      episode_trigger=lambda i: True)
    run_episodes(env, 2)
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == 4
    first = video.frames[0].astype(int)
    assert first[0, 0, 0] < 40 and first[-1, -1, 0] > 215  # near dark, far bright


@pytest.mark.parametrize(("render_fps", "expected"), [(0, 30.0), (-5, 30.0), (12.5, 12.5),
                                                      (float("nan"), 30.0), ("fast", 30.0)])
def test_unusable_render_fps_falls_back_to_30_and_float_is_kept(tmp_path, caplog, render_fps,
                                                                  expected):
    with caplog.at_level(logging.WARNING, logger="agentreel"):
        env = RecordVideo(PatternEnv(render_fps=render_fps), str(tmp_path),
                          episode_trigger=lambda i: True)
    run_episodes(env, 1)
    env.close()
    assert env.frames_per_sec == expected
    assert decode(tmp_path / "rl-video-episode-0.mp4").fps == pytest.approx(expected)
    if expected != render_fps:
        assert any("render_fps" in r.getMessage() and "fps=" in r.getMessage()
                   for r in caplog.records)


# --------------------------------------------------------------------------- triggers, arguments
def test_a_raising_trigger_is_named_and_the_next_episode_records(tmp_path):
    def trigger(episode_id):
        if episode_id == 1:
            raise KeyError("boom")
        return True

    env = RecordVideo(PatternEnv(length=3), str(tmp_path), episode_trigger=trigger)
    run_episodes(env, 1)
    with pytest.raises(RuntimeError, match=r"episode_trigger raised KeyError for id 1"):
        env.reset()
    run_episodes(env, 1)  # episode 2
    env.close()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".mp4")) == [
        "rl-video-episode-0.mp4", "rl-video-episode-2.mp4"]
    assert decode(tmp_path / "rl-video-episode-2.mp4").count == 4


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"video_length": -3}, ValueError, "video_length must be 0"),
    ({"step_trigger": "every 10"}, TypeError, "step_trigger must be a callable"),
    ({"gc_trigger": 1}, TypeError, "gc_trigger must be a callable"),
])
def test_bad_arguments_name_the_fix(tmp_path, kwargs, error, words):
    with pytest.raises(error, match=words):
        RecordVideo(PatternEnv(), str(tmp_path), **kwargs)


# --------------------------------------------------------------------------- folders and disks
@contextlib.contextmanager
def mounted(path, *options):
    """A small tmpfs at ``path`` (tests run as root); skip if mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_video_folder_is_refused_at_construction(tmp_path):
    """chmod does not stop root, so the folder is a read-only mount."""
    with mounted(tmp_path / "ro", "ro", "size=64k") as folder:
        with pytest.raises(PermissionError, match="not writable; choose another folder"):
            RecordVideo(PatternEnv(), str(folder))
        with pytest.raises(OSError, match="cannot be created .*choose another folder"):
            RecordVideo(PatternEnv(), str(folder / "sub"))


class NoiseEnv(PatternEnv):
    """Incompressible frames while ``noisy`` (large videos), plain ones otherwise."""

    noisy = True

    def render(self):
        if self.noisy:
            return np.random.default_rng(self.t).integers(0, 256, (128, 128, 3), np.uint8)
        return np.zeros((128, 128, 3), np.uint8)


def test_full_disk_fails_videos_loudly_statistics_keep_flowing_and_recording_recovers(tmp_path):
    log = tmp_path / "log"
    with mounted(tmp_path / "small", "size=200k") as folder:
        env = NoiseEnv(length=30, height=128, width=128)
        stats = RecordEpisodeStatistics(env, log=str(log))
        rec = RecordVideo(stats, str(folder), episode_trigger=lambda i: True)
        episodes = []
        with pytest.warns(RuntimeWarning, match="No space left on device"):
            for _ in range(3):
                rec.reset()
                done = False
                while not done:
                    _, _, terminated, truncated, info = rec.step(0)
                    done = terminated or truncated
                episodes.append(info["episode"]["l"])  # statistics keep flowing
            rec._recorder.engine.flush()
        assert episodes == [30, 30, 30] and len(stats.return_queue) == 3
        failed = [v for v in rec.saved_videos if v.error]
        assert failed and all("No space left" in v.error for v in failed)
        assert not [f for f in os.listdir(folder) if f.endswith(".partial")]  # space given back
        env.noisy = False  # small videos fit again: the next episode records normally
        run_episodes(rec, 1)
        rec.close()
        assert decode(folder / "rl-video-episode-3.mp4").count == 31
    rows = (log / "monitor.csv").read_text().splitlines()[2:]
    assert len(rows) == 4


def test_full_disk_under_the_log_is_reported_and_nothing_is_lost_or_torn(tmp_path):
    """The log's disk fills up: the episode is reported loudly (not raised into the
    agent's loop), its statistics are still returned, and the rows are written once
    there is room again -- with no torn line in between."""
    with mounted(tmp_path / "small", "size=64k") as folder:
        env = RecordEpisodeStatistics(PatternEnv(length=2), log=str(folder / "log"))
        run_episodes(env, 1)  # both files own a page now: later lines fit in part, then fail
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 512)
        os.close(fd)
        with pytest.warns(RuntimeWarning, match="could not write episode"):
            for _ in range(250):  # rows must cross a page boundary to hit the full disk
                env.reset()
                env.step(0)
                _, _, _, _, info = env.step(0)
                assert info["episode"]["l"] == 2
        filler.unlink()
        env.reset()
        env.step(0)
        env.step(0)
        env.close()
        csv_lines = (folder / "log" / "monitor.csv").read_text().splitlines()
        assert len(csv_lines) == 2 + 252 and all(len(r.split(",")) == 3 for r in csv_lines[2:])
        jsonl = (folder / "log" / "episodes.jsonl").read_text().splitlines()
        import json

        assert [json.loads(line)["index"] for line in jsonl] == list(range(252))
