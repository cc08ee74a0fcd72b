"""Bad input: each case gives a correct video, or an immediate error that names the
problem and the fix -- and the next episode records normally.

Cases already covered elsewhere (not repeated here): size change mid-clip
(test_record_video.test_a_size_change_ends_the_clip_loudly_and_the_wrapper_keeps_working),
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
from agentreel.clips.recorder import ClipRecorder
from agentreel.core.episode_tracker import EpisodeTracker
from agentreel.video import FrameError, VideoEngine
from videotools import PatternEnv, decode, play_episodes

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
        play_episodes(env, 2)
    env.close()
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "returned NoneType" in message and "render_mode='rgb_array'" in message
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 2  # frames up to the bad one
    assert decode(tmp_path / "rl-video-episode-1.mp4").count == 6


def test_render_returning_a_list_in_rgb_array_mode_records_its_newest_frame(tmp_path):
    base = PatternEnv(length=4)
    base.render = lambda: [np.zeros((48, 64, 3), np.uint8), base.picture()]
    env = RecordVideo(base, str(tmp_path), episode_trigger=lambda i: True)
    play_episodes(env, 1)
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
    play_episodes(env, 2)
    env.close()
    video = decode(tmp_path / "rl-video-episode-1.mp4")
    assert video.count == 4 and video.width == 64


def test_depth_array_is_recorded_as_a_normalised_gray_video(tmp_path):
    """Depth in metres is not an image in [0, 1]: it used to raise at every frame
    (wedging the loop); now each frame is scaled to its own near..far range."""
    env = RecordVideo(ModeEnv(length=3, render_mode="depth_array"), str(tmp_path),
                      episode_trigger=lambda i: True)
    play_episodes(env, 2)
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
    play_episodes(env, 1)
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
    play_episodes(env, 1)
    with pytest.raises(RuntimeError, match=r"episode_trigger raised KeyError for id 1"):
        env.reset()
    play_episodes(env, 1)  # episode 2
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
        play_episodes(rec, 1)
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
        play_episodes(env, 1)  # both files own a page now: later lines fit in part, then fail
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


# --------------------------------------------------------------------------- issue 12
class FinalInfoEnv(PatternEnv):
    """PatternEnv whose last step's info holds values JSON cannot encode."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated:
            info = {"tags": {"b", "a"}, "raw": b"\x00\xff", "thing": object(), "ok": 3}
        return obs, reward, terminated, truncated, info


def test_an_info_value_json_cannot_encode_never_raises_and_both_logs_hold_the_row(tmp_path):
    """Issue 12.1: a set, bytes or an object in the final info with info_keywords=:
    step() raised TypeError and only monitor.csv got the row; now both logs hold it,
    with repr() as the documented fallback and one warning per key."""
    env = RecordEpisodeStatistics(FinalInfoEnv(length=2), log=str(tmp_path),
                                  info_keywords=("tags", "raw", "thing", "ok"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        play_episodes(env, 3)
    env.close()
    assert env.episode_count == 3
    fallback = [str(w.message) for w in caught if "repr" in str(w.message)]
    assert len(fallback) == 3 and all(k in " ".join(fallback) for k in ("tags", "raw", "thing"))
    from agentreel.log.reader import read_jsonl, read_monitor_csv

    jsonl = read_jsonl(tmp_path / "episodes.jsonl")
    csv_rows = read_monitor_csv(tmp_path / "monitor.csv")
    assert len(jsonl) == len(csv_rows) == 3
    assert jsonl[0].extras == {"tags": repr({"b", "a"}), "raw": repr(b"\x00\xff"),
                               "thing": jsonl[0].extras["thing"], "ok": 3}
    assert jsonl[0].extras["thing"].startswith("<object object at")
    assert csv_rows[0].extras["raw"] == repr(b"\x00\xff") and csv_rows[0].extras["ok"] == 3
    from agentreel.log import read_episodes

    assert len(read_episodes(tmp_path)) == 3


def test_a_reader_never_silently_prefers_an_emptier_log(tmp_path):
    """Issue 12.1: an empty episodes.jsonl next to a full monitor.csv made the folder read
    as 0 episodes. The fuller file wins, with a warning naming both."""
    env = RecordEpisodeStatistics(PatternEnv(length=2), log=str(tmp_path))
    play_episodes(env, 4)
    env.close()
    (tmp_path / "episodes.jsonl").write_text("")
    from agentreel.log import read_episodes

    with pytest.warns(UserWarning, match="monitor.csv"):
        records = read_episodes(tmp_path)
    assert [r.length for r in records] == [2, 2, 2, 2]


class BadLastFrameEnv(PatternEnv):
    """The frame of the last step of episode 0 has another size."""

    def render(self):
        if self.episode == 0 and self.t == self.length:
            return np.zeros((self.height + 8, self.width, 3), np.uint8)
        return super().render()


def test_a_bad_frame_on_the_last_step_costs_no_step_and_no_statistics(tmp_path):
    """Issue 12.2: RecordVideo raised after env.step() ran, so an outer
    RecordEpisodeStatistics never saw the episode end. Now step() returns normally, the
    clip ends with its frames so far, and the failure is reported loudly
    (RuntimeWarning + VideoSaved.error)."""
    events = []
    video = RecordVideo(BadLastFrameEnv(length=4), str(tmp_path / "v"),
                        episode_trigger=lambda i: True, on_video_saved=events.append)
    stats = RecordEpisodeStatistics(video, log=str(tmp_path / "log"))
    with pytest.warns(RuntimeWarning, match="could not be recorded"):
        stats.reset()
        results = [stats.step(0) for _ in range(4)]
    assert results[-1][2] is True and results[-1][4]["episode"]["l"] == 4
    play_episodes(stats, 1)
    stats.close()
    assert stats.episode_count == 2
    assert len((tmp_path / "log" / "monitor.csv").read_text().splitlines()) == 2 + 2
    first, second = events
    assert first.error and "(56, 64, 3)" in first.error and first.frames == 4
    assert decode(first.path).count == 4  # the frames before the bad one are kept
    assert second.error is None and decode(second.path).count == 5


class RewardEnv(PatternEnv):
    def __init__(self, reward, **kwargs):
        super().__init__(**kwargs)
        self.reward = reward

    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        return obs, self.reward, terminated, truncated, info


def _play(env, steps):
    """Reset, step, reset after each episode; what each step returns, or the exception."""
    out = []
    try:
        env.reset(seed=0)
        for _ in range(steps):
            out.append(env.step(0))
            if out[-1][2] or out[-1][3]:
                env.reset()
    except Exception as exc:  # compared with Gymnasium's
        return out, exc
    return out, None


@pytest.mark.parametrize("reward", [np.array([0.5]), np.array([0.5, -1.0]), None],
                         ids=["array1", "vector", "none"])
def test_rewards_gymnasium_accepts_behave_exactly_as_in_gymnasium(tmp_path, reward):
    """Issue 12.3: side by side with Gymnasium 1.4 on the same run: what info["episode"]
    and the queues hold, and whether (and what) each wrapper raises."""
    import gymnasium.wrappers as gw

    ours = RecordEpisodeStatistics(RewardEnv(reward, length=3))
    theirs = gw.RecordEpisodeStatistics(RewardEnv(reward, length=3))
    (our_steps, our_error), (their_steps, their_error) = _play(ours, 6), _play(theirs, 6)
    assert type(our_error) is type(their_error)
    assert str(our_error) == str(their_error)
    assert len(our_steps) == len(their_steps)
    if their_error is None:
        ours_r, theirs_r = our_steps[2][4]["episode"]["r"], their_steps[2][4]["episode"]["r"]
        assert type(ours_r) is type(theirs_r) and np.array_equal(ours_r, theirs_r)
        assert all(np.array_equal(a, b) for a, b in zip(ours.return_queue, theirs.return_queue, strict=True))
        assert list(ours.length_queue) == list(theirs.length_queue) == [3, 3]
    ours.close()
    # RecordVideo: Gymnasium's passes any reward through untouched.
    our_video = RecordVideo(RewardEnv(reward, length=3), str(tmp_path / "ours"),
                            episode_trigger=lambda i: True)
    their_video = gw.RecordVideo(RewardEnv(reward, length=3), str(tmp_path / "theirs"),
                                 episode_trigger=lambda i: True)
    (our_steps, our_error), (their_steps, their_error) = _play(our_video, 6), _play(their_video, 6)
    our_video.close()
    their_video.close()
    assert our_error is None and their_error is None
    assert all(a[1] is b[1] or np.array_equal(a[1], b[1]) for a, b in zip(our_steps, their_steps, strict=True))
    assert sorted(p.name for p in (tmp_path / "ours").glob("*.mp4")) == sorted(
        p.name for p in (tmp_path / "theirs").glob("*.mp4"))
    assert decode(tmp_path / "ours" / "rl-video-episode-1.mp4").count == 4


@pytest.mark.parametrize("fps", [1e-6, 0.01, 1e12, 10_000])
def test_out_of_range_fps_is_refused_at_construction(tmp_path, fps):
    """Issue 12.11: fps=1e-6 or 1e12 was accepted, then every video failed at save time."""
    with pytest.raises(ValueError, match=r"fps.*between"):
        RecordVideo(PatternEnv(), str(tmp_path), fps=fps)
    import gymnasium as gym

    from agentreel.vector import RecordVideo as VectorRecordVideo

    envs = gym.vector.SyncVectorEnv([lambda: PatternEnv()] * 2)
    with pytest.raises(ValueError, match=r"fps.*between"):
        VectorRecordVideo(envs, str(tmp_path), fps=fps)
    envs.close()


def test_saved_videos_keeps_as_many_events_as_asked(tmp_path):
    """Issue 12.12: saved_videos silently kept only the newest 1,000 events; the bound is
    now the max_saved_videos parameter (None: keep all)."""
    env = RecordVideo(PatternEnv(length=1), str(tmp_path), episode_trigger=lambda i: True,
                      max_saved_videos=3)
    play_episodes(env, 5)
    env.close()
    assert [v.episode_id for v in env.saved_videos] == [2, 3, 4]
    env = RecordVideo(PatternEnv(length=1), str(tmp_path / "all"), episode_trigger=lambda i: True,
                      max_saved_videos=None)
    play_episodes(env, 5)
    env.close()
    assert len(env.saved_videos) == 5
    with pytest.raises(ValueError, match="max_saved_videos"):
        RecordVideo(PatternEnv(), str(tmp_path), max_saved_videos=0)


CORRUPT_LINES = {
    "a list": "[1, 2]",
    "a number": "7",
    "env_index a list": '{"index": 1, "return": 1.0, "length": 2, "env_index": [0]}',
    "env_index a dict": '{"index": 1, "return": 1.0, "length": 2, "env_index": {"a": 1}}',
    "env_index a string": '{"index": 1, "return": 1.0, "length": 2, "env_index": "zero"}',
    "terminated a string": '{"index": 1, "return": 1.0, "length": 2, "terminated": "false"}',
    "a huge return": '{"index": 1, "return": 1e308, "length": 2}',
}


@pytest.mark.parametrize("command", ["summary", "report", "plot"])
@pytest.mark.parametrize("case", sorted(CORRUPT_LINES))
def test_a_corrupt_run_folder_gives_one_line_naming_file_and_line_and_exit_2(
        tmp_path, capsys, command, case):
    """Issue 12.10: a JSONL line that is a list or a number, env_index of the wrong type,
    "terminated": "false" (counted as True), a return of 1e308 ("arange: cannot compute
    length"): one line on stderr naming the file and the line, exit status 2."""
    from agentreel.cli import main

    run = tmp_path / "run"
    env = RecordEpisodeStatistics(PatternEnv(length=2), log=str(run))
    play_episodes(env, 3)
    env.close()
    lines = (run / "episodes.jsonl").read_text().splitlines()
    lines[1] = CORRUPT_LINES[case]
    (run / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    extra = {"report": ["-o", str(tmp_path / "r.html")], "plot": ["-o", str(tmp_path / "p.png")],
             "summary": []}[command]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main([command, str(run), *extra])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 2, err
    assert len(err) == 1 and err[0].startswith("agentreel: error:"), err
    assert "episodes.jsonl:2" in err[0], err
