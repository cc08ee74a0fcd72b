"""agentreel.sb3's VecVideoRecorder and VecMonitor side by side with the installed SB3 classes.

Same seeded runs, same actions: the same file names, frame counts and pictures, the same
attributes, the same ``info["episode"]`` values and types, the same ``monitor.csv``
columns and rows, the same errors for bad arguments.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("moviepy")  # SB3's recorder needs it

from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.monitor import load_results  # noqa: E402
from stable_baselines3.common.vec_env import VecMonitor as SB3VecMonitor  # noqa: E402
from stable_baselines3.common.vec_env import VecVideoRecorder as SB3VecVideoRecorder  # noqa: E402

from agentreel import read_episodes  # noqa: E402
from agentreel.sb3 import VecMonitor, VecVideoRecorder  # noqa: E402
from videotools import decode, psnr  # noqa: E402

ATTRIBUTES = ("step_id", "recording", "video_length", "name_prefix", "frames_per_sec")


def _venv(n_envs=2, render_mode="rgb_array", seed=0):
    kwargs = {} if render_mode is None else {"render_mode": render_mode}
    return make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed, env_kwargs=kwargs)


def _actions(steps, n_envs, seed=0):
    return np.random.default_rng(seed).integers(0, 2, size=(steps, n_envs))


def _names(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))


def _run_recorder(cls, folder, steps=45, **kwargs):
    venv = cls(_venv(), str(folder), record_video_trigger=lambda s: s % 15 == 0,
               video_length=8, **kwargs)
    states = []
    venv.reset()
    states.append({a: getattr(venv, a) for a in ATTRIBUTES} | {"len": len(venv.recorded_frames)})
    for actions in _actions(steps, 2):
        venv.step(actions)
        states.append({a: getattr(venv, a) for a in ATTRIBUTES}
                      | {"len": len(venv.recorded_frames)})
    names = (venv.video_name, venv.video_path, venv.video_folder)
    venv.close()
    return states, names


def test_vec_video_recorder_matches_sb3_names_frames_attributes(tmp_path, capsys):
    ours_states, ours_names = _run_recorder(VecVideoRecorder, tmp_path / "ours")
    sb3_states, sb3_names = _run_recorder(SB3VecVideoRecorder, tmp_path / "sb3")
    capsys.readouterr()  # moviepy's progress output
    assert ours_states == sb3_states
    assert ours_names[0] == sb3_names[0] == "rl-video-step-45-to-step-53.mp4"
    assert ours_names[1] == str(tmp_path / "ours" / ours_names[0])
    assert sb3_names[1] == str(tmp_path / "sb3" / sb3_names[0])
    assert ours_names[2] == str(tmp_path / "ours")
    names = _names(tmp_path / "sb3")
    assert names == ["rl-video-step-0-to-step-8.mp4", "rl-video-step-15-to-step-23.mp4",
                     "rl-video-step-30-to-step-38.mp4", "rl-video-step-45-to-step-53.mp4"]
    assert _names(tmp_path / "ours") == names
    for name in names:
        ours, theirs = decode(tmp_path / "ours" / name), decode(tmp_path / "sb3" / name)
        # SB3's: 9 frames (video_length + 1); the one still open at close() has 1 frame
        assert ours.count == theirs.count == (1 if "45" in name else 9), name
        assert (ours.width, ours.height) == (theirs.width, theirs.height)
        assert ours.pix_fmt == "yuv420p"
        assert min(psnr(a, b) for a, b in zip(ours.frames, theirs.frames, strict=True)) > 30


def test_vec_video_recorder_per_env_overlay_and_format(tmp_path):
    seen = []
    venv = VecVideoRecorder(_venv(n_envs=3), str(tmp_path), lambda s: s == 2, video_length=5,
                            per_env=True, overlay=True, sidecar=True, on_video_saved=seen.append)
    venv.reset()
    for actions in _actions(10, 3):
        venv.step(actions)
    venv.close()
    assert _names(tmp_path) == [f"rl-video-env-{i}-step-2-to-step-7.mp4" for i in range(3)]
    assert sorted(v.env_index for v in seen) == [0, 1, 2]
    for i in range(3):
        video = decode(tmp_path / f"rl-video-env-{i}-step-2-to-step-7.mp4")
        assert video.count == 6
        assert (video.width, video.height) == (600, 400)  # one sub-env, not SB3's tiled image


def test_vec_video_recorder_keep_best_clips(tmp_path):
    from agentreel.clips.keep import best

    venv = VecVideoRecorder(_venv(n_envs=1), str(tmp_path), lambda s: s % 10 == 0,
                            video_length=4, keep=best(2))
    venv.reset()
    for actions in _actions(60, 1):
        venv.step(actions)
    venv.close()
    assert len(_names(tmp_path)) == 2
    assert len(venv.saved_videos) == 2


def test_bad_arguments_give_sb3s_errors(tmp_path):
    for cls in (VecVideoRecorder, SB3VecVideoRecorder):
        with pytest.raises(AssertionError) as error:
            cls(_venv(render_mode="human"), str(tmp_path), lambda s: True)
        assert str(error.value) == "The render_mode must be 'rgb_array', not human"
    # a non-callable trigger: SB3 fails with TypeError at reset(); agentreel at construction
    with pytest.raises(TypeError):
        SB3VecVideoRecorder(_venv(), str(tmp_path), 5).reset()
    with pytest.raises(TypeError, match="record_video_trigger"):
        VecVideoRecorder(_venv(), str(tmp_path), 5)
    with pytest.raises(ValueError, match="video_length"):
        VecVideoRecorder(_venv(), str(tmp_path), lambda s: True, video_length=-1)
    with pytest.raises(KeyError):  # a missing info keyword: SB3's KeyError, at the episode end
        monitor = VecMonitor(_venv(n_envs=1, render_mode=None), info_keywords=("nope",))
        monitor.reset()
        for _ in range(600):
            monitor.step(np.array([0]))


def _run_monitor(cls, filename, steps=400):
    venv = cls(_venv(n_envs=3, render_mode=None), filename, info_keywords=("TimeLimit.truncated",))
    episodes = []
    venv.reset()
    for actions in _actions(steps, 3):
        _, _, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones):
            episodes.append((i, infos[i]["episode"]))
    venv.close()
    return episodes


def test_vec_monitor_matches_sb3_info_and_monitor_csv(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "sb3").mkdir()
    ours = _run_monitor(VecMonitor, str(tmp_path / "ours"))
    theirs = _run_monitor(SB3VecMonitor, str(tmp_path / "sb3"))
    assert len(ours) == len(theirs) > 20
    for (i, a), (j, b) in zip(ours, theirs, strict=True):
        assert i == j
        assert list(a) == list(b) == ["r", "l", "t", "TimeLimit.truncated"]
        assert (a["r"], a["l"]) == (b["r"], b["l"])
        assert (type(a["r"]), type(a["l"]), type(a["t"])) == (type(b["r"]), type(b["l"]), type(b["t"]))
        assert a["TimeLimit.truncated"] == b["TimeLimit.truncated"]
    ours_csv, sb3_csv = load_results(str(tmp_path / "ours")), load_results(str(tmp_path / "sb3"))
    assert list(ours_csv.columns) == list(sb3_csv.columns)
    assert ours_csv[["r", "l", "TimeLimit.truncated"]].equals(sb3_csv[["r", "l", "TimeLimit.truncated"]])
    head = [(tmp_path / d / "monitor.csv").read_text().splitlines()[1] for d in ("ours", "sb3")]
    assert head[0] == head[1] == "r,l,t,TimeLimit.truncated"
    # agentreel's log beside it: unique indexes in end order, the right sub-env
    records = read_episodes(tmp_path / "ours" / "episodes.jsonl")
    assert [r.index for r in records] == list(range(len(ours)))
    assert [r.env_index for r in records] == [int(i) for i, _ in ours]
    assert [r.episode_return for r in records] == [float(e["r"]) for _, e in ours]
    assert [r.elapsed for r in records] == [e["t"] for _, e in ours]


def test_vec_monitor_filename_prefix_like_sb3(tmp_path):
    for cls, name in ((VecMonitor, "ours"), (SB3VecMonitor, "sb3")):
        venv = cls(_venv(n_envs=1, render_mode=None), str(tmp_path / name / "run"))
        venv.close()
    assert sorted(os.listdir(tmp_path / "sb3")) == ["run.monitor.csv"]
    assert sorted(os.listdir(tmp_path / "ours")) == ["run.episodes.jsonl", "run.monitor.csv"]
    venv = VecMonitor(_venv(n_envs=1, render_mode=None))  # no filename: no file, as in SB3
    assert venv.monitor_path is None and venv.results_writer is None
    venv.close()


def test_missing_extra_names_the_install_command(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    for name in [m for m in sys.modules if m.startswith("agentreel.sb3")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r'pip install "agentreel\[sb3\]"'):
        importlib.import_module("agentreel.sb3")


def test_a_second_reset_at_the_same_step_replaces_the_clip_like_sb3(tmp_path, capsys):
    for cls, name in ((VecVideoRecorder, "ours"), (SB3VecVideoRecorder, "sb3")):
        venv = cls(_venv(), str(tmp_path / name), lambda s: s == 0, video_length=5)
        venv.reset()
        venv.reset()  # the trigger fires again at step 0: the clip starts over
        for actions in _actions(6, 2):
            venv.step(actions)
        venv.close()
    capsys.readouterr()
    assert _names(tmp_path / "ours") == _names(tmp_path / "sb3") == ["rl-video-step-0-to-step-5.mp4"]
    assert decode(tmp_path / "ours" / "rl-video-step-0-to-step-5.mp4").count == 6


@pytest.mark.parametrize("n_envs", [3, 4])
def test_tiled_frames_match_sb3s_render(tmp_path, capsys, n_envs):
    """Frames are tiled as SB3's ``tile_images`` does (3 envs: a black 4th cell)."""
    decoded = {}
    for name, cls in (("ours", VecVideoRecorder), ("sb3", SB3VecVideoRecorder)):
        venv = cls(_venv(n_envs), str(tmp_path / name), lambda s: s == 0, video_length=5)
        venv.reset()
        for actions in _actions(5, n_envs):
            venv.step(actions)
        venv.close()
        decoded[name] = decode(tmp_path / name / "rl-video-step-0-to-step-5.mp4")
    capsys.readouterr()
    ours, theirs = decoded["ours"], decoded["sb3"]
    assert ours.count == theirs.count == 6
    assert (ours.width, ours.height) == (theirs.width, theirs.height) == (1200, 800)
    assert min(psnr(a, b) for a, b in zip(ours.frames, theirs.frames, strict=True)) > 30
    last_cell = ours.frames[0][400:, 600:].mean()
    assert last_cell < 5 if n_envs == 3 else 200 < last_cell < 254  # black, or a CartPole


def test_a_wrapper_overriding_render_is_what_gets_recorded(tmp_path):
    """A VecEnvWrapper with its own ``render()`` is recorded through it, as SB3 does."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class WhiteRender(VecEnvWrapper):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            return self.venv.step_wait()

        def render(self, mode=None):
            return np.full((64, 96, 3), 255, np.uint8)

    venv = VecVideoRecorder(WhiteRender(_venv(4)), str(tmp_path), lambda s: s == 0, video_length=3)
    venv.reset()
    for actions in _actions(3, 4):
        venv.step(actions)
    venv.close()
    video = decode(tmp_path / "rl-video-step-0-to-step-3.mp4")
    assert (video.count, video.width, video.height) == (4, 96, 64)
    assert min(frame.mean() for frame in video.frames) > 250
