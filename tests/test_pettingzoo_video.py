"""agentreel.pettingzoo.RecordVideo / RecordVideoParallel on real PettingZoo envs.

Each video is decoded: frame counts follow the documented rule (parallel: L + 1;
AEC: moves + 1), pictures match what render() returned (PSNR > 30 dB), and the
names and counts are compared with PettingZoo's own wrappers on the same seeded run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.butterfly import knights_archers_zombies_v11, pistonball_v6  # noqa: E402
from pettingzoo.classic import connect_four_v3  # noqa: E402
from pettingzoo.utils import wrappers as pz_wrappers  # noqa: E402

from agentreel.pettingzoo import RecordVideo, RecordVideoParallel  # noqa: E402
from pettingzoo_loops import play_aec, play_parallel  # noqa: E402
from videotools import decode, decode_count, psnr  # noqa: E402


def kaz(**kwargs):
    return knights_archers_zombies_v11.env(render_mode="rgb_array", max_cycles=20, spawn_delay=2,
                                           line_death=True, **kwargs)


def assert_same_pictures(path, frames):
    video = decode(path)
    assert video.count == len(frames)
    h, w = frames[0].shape[:2]
    assert (video.height, video.width) == (h + h % 2, w + w % 2)   # odd sizes padded to even
    step = max(1, len(frames) // 12)  # a dozen frames spread over the video, and the last
    pairs = list(zip(video.frames, frames, strict=True))
    worst = min(psnr(got[:h, :w], want) for got, want in pairs[::step] + pairs[-1:])
    assert worst > 30, f"PSNR {worst:.1f} dB"


def test_pistonball_parallel_every_episode(tmp_path):
    records = []
    env = RecordVideoParallel(pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=8),
                              tmp_path, episode_trigger=lambda i: True, sidecar=True,
                              on_episode_end=records.append)
    runs = [play_parallel(env, seed, render=True) for seed in (0, 1)]
    env.close()
    for i, played in enumerate(runs):
        path = tmp_path / f"rl-video-episode-{i}.mp4"
        assert decode_count(path) == played.env_steps + 1
        assert_same_pictures(path, played.frames)
        side = json.loads(path.with_suffix(".json").read_text())
        agents = side["tags"]["agents"] if "tags" in side else side["agents"]
        assert {a: v["return"] for a, v in agents.items()} == pytest.approx(played.returns)
    assert (decode(tmp_path / "rl-video-episode-0.mp4").width,
            decode(tmp_path / "rl-video-episode-0.mp4").height) == (880, 560)
    assert [r.extras["agents"]["piston_3"]["return"] for r in records] == pytest.approx(
        [p.returns["piston_3"] for p in runs])
    assert [r.video for r in records] == [str(tmp_path / f"rl-video-episode-{i}.mp4") for i in (0, 1)]


def test_connect_four_aec_one_frame_per_move(tmp_path):
    env = RecordVideo(connect_four_v3.env(render_mode="rgb_array"), tmp_path,
                      episode_trigger=lambda i: True)
    played = play_aec(env, seed=0, render=True)
    env.close()
    assert played.dead_steps == 2
    path = tmp_path / "rl-video-episode-0.mp4"
    assert decode_count(path) == played.env_steps + 1 == len(played.frames)
    assert_same_pictures(path, played.frames)
    assert env.saved_videos[0].episode_return == pytest.approx(sum(played.returns.values()))


def test_agents_leaving_early_aec_video(tmp_path):
    env = RecordVideo(kaz(), tmp_path, episode_trigger=lambda i: True, overlay=False)
    played = play_aec(env, seed=2, render=True)
    env.close()
    assert played.terminated and played.dead_steps == 4    # archer_1 left at move 13
    path = tmp_path / "rl-video-episode-0.mp4"
    assert decode_count(path) == played.env_steps + 1
    assert_same_pictures(path, played.frames)


# -- side by side with PettingZoo's own wrappers ------------------------------------------------

def names_and_counts(folder):
    return {p.name: decode_count(p) for p in sorted(folder.glob("*.mp4"))}


@pytest.mark.parametrize("kwargs", [dict(episode_trigger=lambda i: i % 2 == 0),
                                    dict(step_trigger=lambda s: s % 5 == 0, video_length=3)])
def test_parallel_side_by_side_with_pettingzoo(tmp_path, kwargs):
    counts = {}
    for name, wrapper in (("pz", pz_wrappers.RecordVideoParallel), ("ar", RecordVideoParallel)):
        folder = tmp_path / name
        env = wrapper(pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=4), str(folder),
                      **kwargs)
        for seed in range(3):
            play_parallel(env, seed)
        env.close()
        counts[name] = names_and_counts(folder)
    assert counts["ar"] == counts["pz"] and counts["ar"]


def test_aec_side_by_side_with_pettingzoo_differs_by_dead_steps(tmp_path):
    """Same names; PettingZoo's AEC videos add one (repeated) frame per dead step, ours do not."""
    counts, plays = {}, {}
    for name, wrapper in (("pz", pz_wrappers.RecordVideo), ("ar", RecordVideo)):
        folder = tmp_path / name
        env = wrapper(connect_four_v3.env(render_mode="rgb_array"), str(folder),
                      episode_trigger=lambda i: True)
        plays[name] = [play_aec(env, seed) for seed in (0,)]
        env.reset(seed=9)   # PettingZoo's wrapper writes an episode's video only at the next reset
        env.close()
        counts[name] = names_and_counts(folder)
    assert set(counts["ar"]) == set(counts["pz"]) == {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    for i, played in enumerate(plays["ar"]):
        name = f"rl-video-episode-{i}.mp4"
        assert counts["ar"][name] == played.env_steps + 1
        assert counts["pz"][name] == played.env_steps + 1 + played.dead_steps
    # the frames PettingZoo adds are copies of the final board
    pz_frames = decode(tmp_path / "pz" / "rl-video-episode-0.mp4").frames
    assert psnr(pz_frames[-1], pz_frames[-1 - plays["pz"][0].dead_steps]) > 40


def test_aec_step_clips_side_by_side_names(tmp_path):
    """step_id counts every step() call (dead steps too), so step-triggered names match PettingZoo's."""
    names = {}
    for name, wrapper in (("pz", pz_wrappers.RecordVideo), ("ar", RecordVideo)):
        folder = tmp_path / name
        env = wrapper(kaz(), str(folder), step_trigger=lambda s: s in (10, 50, 72), video_length=4)
        play_aec(env, seed=2)
        env.close()
        names[name] = names_and_counts(folder)
    assert set(names["ar"]) == set(names["pz"]) == {f"rl-video-step-{s}.mp4" for s in (10, 50, 72)}
    assert names["ar"]["rl-video-step-10.mp4"] == names["pz"]["rl-video-step-10.mp4"] == 5


def test_attributes_match_pettingzoo(tmp_path):
    theirs = pz_wrappers.RecordVideoParallel(pistonball_v6.parallel_env(render_mode="rgb_array"),
                                             str(tmp_path / "pz"))
    ours = RecordVideoParallel(pistonball_v6.parallel_env(render_mode="rgb_array"), str(tmp_path / "ar"))
    for attr in ("name_prefix", "step_id", "episode_id", "recording", "video_length",
                 "frames_per_sec", "disable_logger", "render_history", "step_trigger"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.video_folder == str(tmp_path / "ar") and theirs.video_folder == str(tmp_path / "pz")
    assert [ours.episode_trigger(i) for i in range(30)] == [theirs.episode_trigger(i) for i in range(30)]
    ours.reset(seed=0)
    theirs.reset(seed=0)
    assert np.array_equal(ours.render(), theirs.render())
    for env in (ours, theirs):
        env.close()
