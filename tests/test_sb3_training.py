"""Real SB3 PPO training with agentreel.sb3's wrappers and callback (a few thousand steps).

Checks what a user would look at: every video decodes with the promised frame count,
episode indexes are unique and each ``env_index`` is the sub-env that ended the episode,
SB3's ``load_results`` reads as many rows as episodes reached ``ep_info_buffer``, and
every report link points to the video of its episode.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny networks: threads only contend on the shared 2-core machine

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402
from stable_baselines3.common.monitor import load_results  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402

from agentreel import Run, read_episodes  # noqa: E402
from agentreel.analysis import learning_curve  # noqa: E402
from agentreel.cli import main as cli_main  # noqa: E402
from agentreel.clips.keep import best  # noqa: E402
from agentreel.report.html import write_report  # noqa: E402
from agentreel.sb3 import RecordEvalCallback, VecMonitor, VecVideoRecorder  # noqa: E402
from helpers.sb3_episode_infos import EpisodeInfos  # noqa: E402
from videotools import decode_count  # noqa: E402


def _train(tmp_path, vec_env_cls, n_envs, total, **vec_kwargs):
    venv = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0, vec_env_cls=vec_env_cls,
                        env_kwargs={"render_mode": "rgb_array"}, vec_env_kwargs=vec_kwargs)
    venv = VecMonitor(venv, str(tmp_path))
    venv = VecVideoRecorder(venv, str(tmp_path), record_video_trigger=lambda s: s % 200 == 0,
                            video_length=40, sidecar=True)
    infos = EpisodeInfos()
    model = PPO("MlpPolicy", venv, n_steps=128, n_epochs=1, batch_size=128, seed=0, verbose=0)
    model.learn(total, callback=infos)
    venv.close()
    return infos.seen, venv


def _check_run(tmp_path, seen, venv):
    records = read_episodes(tmp_path / "episodes.jsonl")
    assert len(records) == len(seen) > 10
    assert [r.index for r in records] == list(range(len(records)))  # unique, in end order
    assert [(r.env_index, r.episode_return, r.length) for r in records] == seen
    assert len(load_results(str(tmp_path))) == len(seen)
    videos = sorted(f for f in os.listdir(tmp_path) if f.endswith(".mp4"))
    assert videos and videos == sorted(os.path.basename(v.path) for v in venv.saved_videos)
    for name in videos:
        start, end = map(int, re.fullmatch(r"rl-video-step-(\d+)-to-step-(\d+)\.mp4", name).groups())
        assert end - start == 40
        assert decode_count(tmp_path / name) == 41 or name == venv.video_name, name


def test_ppo_on_dummy_vec_env(tmp_path):
    seen, venv = _train(tmp_path, DummyVecEnv, 4, 1024)
    _check_run(tmp_path, seen, venv)


def test_ppo_on_subproc_vec_env(tmp_path):
    seen, venv = _train(tmp_path, SubprocVecEnv, 2, 768, start_method="forkserver")
    _check_run(tmp_path, seen, venv)


def _figures(page):
    """(video file, caption text) of every card of a report."""
    text = page.read_text(encoding="utf-8")
    cards = re.findall(r'<figure class="clip".*?src="([^"]+)".*?<figcaption>(.*?)</figcaption>',
                       text, flags=re.S)
    return [(html.unescape(src), re.sub(r"<[^>]+>", "", html.unescape(cap))) for src, cap in cards]


def test_eval_callback_records_every_eval_episode(tmp_path):
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1,
                            env_kwargs={"render_mode": "rgb_array", "max_episode_steps": 60})
    folder = tmp_path / "eval"
    callback = RecordEvalCallback(eval_env, eval_freq=256, n_eval_episodes=3, verbose=0,
                                  video_folder=str(folder), best_model_save_path=str(tmp_path),
                                  log_path=str(tmp_path))
    train = VecMonitor(make_vec_env("CartPole-v1", n_envs=2, seed=0), str(tmp_path / "train"))
    model = PPO("MlpPolicy", train, n_steps=128, n_epochs=1, batch_size=128, seed=0, verbose=0)
    model.set_logger(configure(str(tmp_path / "log"), ["csv"]))
    model.learn(1536, callback=callback)
    steps = [512, 1024, 1536]
    names = sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))
    assert names == sorted(f"eval-step-{s}-episode-{k}.mp4" for s in steps for k in range(3))
    records = read_episodes(folder)
    assert [r.index for r in records] == list(range(9))
    assert [r.extras["training_step"] for r in records] == [s for s in steps for _ in range(3)]
    for record in records:
        # SB3 resets a finished sub-env inside step(): reset frame + L - 1 frames
        assert decode_count(record.video) == record.length
        side = json.loads(Path(record.video[:-4] + ".json").read_text())
        assert side["tags"]["episode_id"] == record.index
        assert side["tags"]["episode_return"] == record.episode_return
    # SB3's EvalCallback outputs, and mean, CI and IQM in the logger
    assert os.path.isfile(tmp_path / "best_model.zip")
    assert len(np.load(tmp_path / "evaluations.npz")["results"]) == 3
    header = (tmp_path / "log" / "progress.csv").read_text().splitlines()[0].strip().split(",")
    for key in ("eval/mean_reward", "eval/mean_reward_ci_low", "eval/mean_reward_ci_high",
                "eval/iqm_reward", "eval/mean_ep_length"):
        assert key in header
    means = [np.mean([r.episode_return for r in records[3 * i: 3 * i + 3]]) for i in range(3)]
    assert [s["mean_reward"] for s in callback.evaluation_statistics] == pytest.approx(means)
    assert callback.best_mean_reward == pytest.approx(max(means))
    # the report: every card links the video of the episode its caption names
    page = write_report([folder], tmp_path / "report.html")
    cards = _figures(page)
    assert len(cards) == 9
    by_index = {r.index: r for r in records}
    for src, caption in cards:
        index = int(re.search(r"Episode (\d+)", caption).group(1))
        assert os.path.basename(src) == os.path.basename(by_index[index].video), caption
        assert f"return {by_index[index].episode_return:.1f}" in caption
    # plot --x steps: evaluations at their training steps, beside the training curve
    assert learning_curve(records, x="steps", window=1).x.tolist() == [s for s in steps for _ in range(3)]
    train_steps = learning_curve(read_episodes(tmp_path / "train.episodes.jsonl"), x="steps").x
    assert 1300 < train_steps[-1] <= 1536  # every env step of the finished training episodes
    assert cli_main(["plot", str(tmp_path / "train.episodes.jsonl"), str(folder), "--x", "steps",
                     "-o", str(tmp_path / "curve.png")]) in (0, None)
    assert (tmp_path / "curve.png").stat().st_size > 1000
    # the timelapse is labelled with the training step
    result = Run(folder).timelapse(tmp_path / "timelapse.mp4")
    labels = [part["label"] for part in result.tags["parts"]]
    assert labels[0].startswith("STEP 512 ") and labels[-1].startswith("STEP 1536 ")


def test_eval_callback_keep_best(tmp_path):
    eval_env = make_vec_env("CartPole-v1", n_envs=2, seed=1,
                            env_kwargs={"render_mode": "rgb_array", "max_episode_steps": 60})
    callback = RecordEvalCallback(eval_env, eval_freq=128, n_eval_episodes=3, verbose=0,
                                  video_folder=str(tmp_path), keep=best(2))
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=128, n_epochs=1, batch_size=128, seed=0)
    model.learn(384, callback=callback)
    records = read_episodes(tmp_path)
    assert len(records) == 9
    kept = sorted(f for f in os.listdir(tmp_path) if f.endswith(".mp4"))
    assert len(kept) == 2
    top = sorted(records, key=lambda r: -r.episode_return)[:2]
    assert sorted(r.episode_return for r in top) == sorted(
        json.loads((tmp_path / (k[:-4] + ".json")).read_text())["tags"]["episode_return"]
        for k in kept)
