"""The per-env pattern: agentreel's RecordVideo / RecordEpisodeStatistics built inside
``make_env`` for SB3's vector envs, every sub-env sharing one folder, during real PPO training.

Before: 4 sub-envs gave ``-<pid>`` video names with "another live recorder" warnings, log
rows whose ``index`` repeated and ``env_index`` null, and report cards linking the wrong
video. Now: names carry the rank (``rl-video-env-1-episode-3.mp4``), rows carry
``env_index`` and unique indexes, and each report card links its own episode's video.
"""

from __future__ import annotations

import html
import json
import os
import re

import gymnasium as gym
import pytest

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.monitor import load_results  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402

from agentreel import RecordEpisodeStatistics, RecordVideo, Run, read_episodes  # noqa: E402
from agentreel.report.html import write_report  # noqa: E402
from helpers.sb3_episode_infos import EpisodeInfos  # noqa: E402
from videotools import decode_count  # noqa: E402

NAME = re.compile(r"rl-video-env-(\d+)-episode-(\d+)\.mp4")




def _train(venv, steps):
    infos = EpisodeInfos()
    PPO("MlpPolicy", venv, n_steps=64, n_epochs=1, batch_size=64, seed=0).learn(steps, callback=infos)
    venv.close()
    return infos.seen


def _check_folder(folder, seen, n_envs, tmp_path):
    names = sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))
    assert names and all(NAME.fullmatch(n) for n in names), names  # no "-<pid>" names
    assert {int(NAME.fullmatch(n).group(1)) for n in names} == set(range(n_envs))
    records = read_episodes(folder)
    assert len(records) == len(seen) > 10
    assert sorted(r.index for r in records) == list(range(len(records)))
    assert len(load_results(str(folder))) == len(seen)
    for env in range(n_envs):  # each row's env_index is the sub-env that ended the episode
        ours = [(r.episode_return, r.length) for r in records if r.env_index == env]
        assert ours == [(r, n) for i, r, n in seen if i == env]
    run = Run(folder)
    whole = [v for v in run.videos if "terminated" in v.tags]  # (not the clip cut by close())
    assert len(whole) >= n_envs
    for video in whole:
        env, k = map(int, NAME.fullmatch(video.path.name).groups())
        record = [r for r in records if r.env_index == env][k]
        assert video.record is not None and video.record.index == record.index
        assert video.episode_return == record.episode_return
        assert decode_count(video.path) == video.episode_length + 1 == record.length + 1
    page = write_report([folder], tmp_path / "report.html")
    text = page.read_text(encoding="utf-8")
    cards = re.findall(r'<figure class="clip".*?src="([^"]+)".*?<figcaption>(.*?)</figcaption>',
                       text, flags=re.S)
    by_index = {r.index: r for r in records}
    checked = 0
    for src, caption in cards:
        caption = re.sub(r"<[^>]+>", "", html.unescape(caption))
        side = json.loads((folder / (os.path.basename(html.unescape(src))[:-4] + ".json")).read_text())
        if "terminated" not in side["tags"]:
            continue  # an unfinished episode's clip, cut by close(): no record
        record = by_index[int(re.search(r"Episode (\d+)", caption).group(1))]
        assert f"env {record.env_index}" in caption
        assert side["tags"]["env_index"] == record.env_index
        assert side["tags"]["episode_return"] == record.episode_return, caption
        checked += 1
    assert checked == len(whole)


def test_dummy_vec_env_with_wrappers_inside_make_env(tmp_path, recwarn):
    folder = tmp_path / "run"

    def make_env():
        env = gym.make("CartPole-v1", render_mode="rgb_array")
        env = RecordVideo(env, str(folder), episode_trigger=lambda k: k % 5 == 0, sidecar=True)
        return RecordEpisodeStatistics(env, log=str(folder))

    seen = _train(DummyVecEnv([make_env] * 3), 576)
    assert not [w for w in recwarn if "another live recorder" in str(w.message)]
    assert sorted(f for f in os.listdir(folder) if f.endswith("monitor.csv")) == [
        "0.monitor.csv", "1.monitor.csv", "2.monitor.csv"]
    _check_folder(folder, seen, 3, tmp_path)


def test_make_vec_env_subproc_with_record_video_as_wrapper_class(tmp_path):
    folder = tmp_path / "run"
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv,
                        vec_env_kwargs={"start_method": "forkserver"},
                        env_kwargs={"render_mode": "rgb_array"}, monitor_dir=str(folder),
                        wrapper_class=RecordVideo,
                        wrapper_kwargs={"video_folder": str(folder), "sidecar": True,
                                        "episode_trigger": lambda k: k % 4 == 0})
    seen = _train(venv, 512)
    _check_folder(folder, seen, 2, tmp_path)


def test_one_recording_sub_env_keeps_gymnasiums_names(tmp_path):
    """CleanRL's pattern (RecordVideo on env 0 only): Gymnasium's names, no rank."""
    folder = tmp_path / "videos"

    def make_env(idx):
        def thunk():
            env = gym.make("CartPole-v1", render_mode="rgb_array")
            if idx == 0:
                env = RecordVideo(env, str(folder), episode_trigger=lambda k: k < 2)
            return RecordEpisodeStatistics(env)
        return thunk

    envs = gym.vector.SyncVectorEnv([make_env(i) for i in range(2)])
    envs.reset(seed=0)
    for _ in range(150):
        envs.step(envs.action_space.sample())
    envs.close()
    assert sorted(f for f in os.listdir(folder) if not f.startswith(".")) == [
        "rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
