"""``agentreel.sb3.VecVideoRecorder(..., replay=True)``: the training loop never renders,
each clip is re-rendered by replaying the sub-envs in a background process, and the files
match the live recorder's on the same seeded run (names, frame counts, pictures, sidecars).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny networks: threads only contend on the shared 2-core machine

from gymnasium.envs.classic_control import CartPoleEnv  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402
from stable_baselines3.common.vec_env.base_vec_env import tile_images  # noqa: E402

from agentreel import RecordReplay  # noqa: E402
from agentreel.replay import RebuildError, read_replay  # noqa: E402
from agentreel.sb3 import VecVideoRecorder  # noqa: E402
from helpers.replay_envs import CountRenders  # noqa: E402  (importing registers the test envs)
from videotools import assert_same_pictures, decode  # noqa: E402


def _mp4s(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))


def _sidecar(path):
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k not in ("created", "end_time", "wall_time")}


def _train(folder, *, replay, n_envs=3, timesteps=2000):
    """A short seeded PPO run on CartPole whose clips cross episode ends; the last one is
    still open when training stops (closed by ``close()``)."""
    venv = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0,
                        env_kwargs={"render_mode": "rgb_array"}, wrapper_class=CountRenders)
    saved = []
    venv = VecVideoRecorder(venv, str(folder), lambda step: step in (0, 300, 750),
                            video_length=40, sidecar=True, on_video_saved=saved.append,
                            replay=replay)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=1, seed=0,
                device="cpu")
    CountRenders.calls = 0
    model.learn(total_timesteps=timesteps)
    renders = CountRenders.calls
    venv.close()
    return saved, renders


def test_ppo_replay_clips_match_live_clips(tmp_path):
    live_saved, live_renders = _train(tmp_path / "live", replay=False)
    replay_saved, replay_renders = _train(tmp_path / "replay", replay=True)
    assert live_renders > 0                      # live recording renders in the loop ...
    assert replay_renders == 0                   # ... replay never does
    names = ["rl-video-step-0-to-step-40.mp4", "rl-video-step-300-to-step-340.mp4",
             "rl-video-step-750-to-step-790.mp4"]
    assert _mp4s(tmp_path / "live") == _mp4s(tmp_path / "replay") == names
    assert [v.error for v in replay_saved] == [None] * 3
    assert [v.frames for v in replay_saved] == [v.frames for v in live_saved] == [41, 41, 19]
    for name in names:
        live, replayed = tmp_path / "live" / name, tmp_path / "replay" / name
        assert_same_pictures(live, replayed)
        assert decode(replayed).width == 1200 and decode(replayed).height == 800  # 2x2 tiles
        stem = name[:-4] + ".json"
        assert _sidecar(tmp_path / "replay" / stem) == _sidecar(tmp_path / "live" / stem)
    logged = read_replay(tmp_path / "replay").episodes
    assert sorted({e.env_index for e in logged}) == [0, 1, 2]
    assert all(e.seed == i for i, e in ((e.env_index, e) for e in logged if e.episode == 0))
    assert all(e.seed is None and e.row["rng"] for e in logged if e.episode > 0)


def _fixed_actions(steps, n_envs):
    return np.random.default_rng(7).integers(0, 2, size=(steps, n_envs)) * 0  # all left: short


def test_training_process_never_renders_and_render_mode_is_free(tmp_path):
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=1, env_kwargs={"render_mode": "rgb_array"},
                        wrapper_class=CountRenders)
    venv = VecVideoRecorder(venv, str(tmp_path / "a"), lambda s: s % 20 == 0, video_length=10,
                            replay=True)
    CountRenders.calls = 0
    venv.reset()
    for actions in _fixed_actions(50, 2):
        venv.step(actions)
    venv.close()
    assert CountRenders.calls == 0
    assert _mp4s(tmp_path / "a") == ["rl-video-step-0-to-step-10.mp4",
                                     "rl-video-step-20-to-step-30.mp4",
                                     "rl-video-step-40-to-step-50.mp4"]
    assert decode(tmp_path / "a" / "rl-video-step-20-to-step-30.mp4").count == 11
    # no renderer at all in the training process: render_mode=None sub-envs still get clips
    venv = VecVideoRecorder(make_vec_env("CartPole-v1", n_envs=2, seed=1),
                            str(tmp_path / "b"), lambda s: s == 3, video_length=5, replay=True)
    venv.reset()
    for actions in _fixed_actions(10, 2):
        venv.step(actions)
    venv.close()
    video = decode(tmp_path / "b" / "rl-video-step-3-to-step-8.mp4")
    assert (video.count, video.width, video.height) == (6, 600, 800)


def _live_frames(steps, n_envs, seed):
    venv = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed,
                        env_kwargs={"render_mode": "rgb_array"})
    venv.reset()
    frames, dones = [tile_images(venv.get_images())], []
    for actions in _fixed_actions(steps, n_envs):
        dones.append(venv.step(actions)[2])
        frames.append(tile_images(venv.get_images()))
    venv.close()
    return frames, np.array(dones)


@pytest.mark.parametrize("start", [0, 5])
def test_clip_across_episode_ends_has_the_live_arrays(tmp_path, start):
    """Before encoding: the replayed frames of a clip that starts mid-episode (5) and
    crosses several episode ends of each sub-env equal the live ``venv.render()`` arrays."""
    from agentreel.replay.clip_jobs import clip_frames
    from agentreel.sb3.clip_replay import ClipReplayEngine
    from agentreel.sb3.replay_logging import SubEnvLogs

    steps, length = 30, 22
    live, dones = _live_frames(steps, 2, seed=3)
    assert dones[start:start + length].sum(axis=0).min() >= 2  # every sub-env resets in the clip
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=3)  # no render_mode: never rendered here
    engine = ClipReplayEngine(SubEnvLogs(venv, tmp_path))
    stream = engine.open(tmp_path / "clip.mp4", fps=50, tags={"name": "clip", "step_id": start})
    venv.reset()
    if start == 0:
        stream.add_frame(None)
    for step, actions in enumerate(_fixed_actions(steps, 2), 1):
        venv.step(actions)
        if start <= step <= start + length:
            stream.add_frame(None)
    caches: dict = {}
    replayed = list(clip_frames(stream.job(), caches))
    for cache in caches.values():
        cache.close()
    venv.close()
    assert len(replayed) == length + 1
    assert all(np.array_equal(a, b) for a, b in zip(replayed, live[start:start + length + 1],
                                                    strict=True))


@pytest.mark.parametrize("per_env", [False, True])
def test_clip_spanning_episode_ends_matches_live_file(tmp_path, per_env):
    def record(folder, replay):
        venv = make_vec_env("CartPole-v1", n_envs=2, seed=5, env_kwargs={"render_mode": "rgb_array"})
        venv = VecVideoRecorder(venv, str(folder), lambda s: s == 4, video_length=25,
                                per_env=per_env, replay=replay)
        venv.reset()
        dones = [venv.step(actions)[2] for actions in _fixed_actions(40, 2)]
        venv.close()
        return np.array(dones)

    dones = record(tmp_path / "live", False)
    record(tmp_path / "replay", True)
    assert dones[4:29].sum(axis=0).min() >= 2  # the clip crosses episode ends of both sub-envs
    names = _mp4s(tmp_path / "live")
    assert names == _mp4s(tmp_path / "replay") == (
        ["rl-video-env-0-step-4-to-step-29.mp4", "rl-video-env-1-step-4-to-step-29.mp4"]
        if per_env else ["rl-video-step-4-to-step-29.mp4"])
    for name in names:
        assert_same_pictures(tmp_path / "live" / name, tmp_path / "replay" / name)
        assert decode(tmp_path / "replay" / name).count == 26


def test_non_deterministic_env_gives_a_clear_error_and_no_video(tmp_path, caplog):
    seen = []
    venv = make_vec_env("agentreel-test/GlobalNoise-v0", n_envs=2, seed=0,
                        env_kwargs={"render_mode": "rgb_array"})
    venv = VecVideoRecorder(venv, str(tmp_path), lambda s: s == 0, video_length=10,
                            replay=True, on_video_saved=seen.append)
    venv.reset()
    for _ in range(12):
        venv.step(np.ones(2, dtype=np.int64))
    venv.close()
    assert len(seen) == 1 and seen[0].frames == 0
    error = seen[0].error or ""
    assert "clip rl-video-step-0-to-step-10" in error
    assert "sub-env 0" in error and "vector step 3" in error
    assert "not deterministic" in error
    assert _mp4s(tmp_path) == []
    assert [v.error for v in venv.saved_videos] == [seen[0].error]
    assert "rl-video-step-0-to-step-10" in caplog.text


def _subproc_fix_works(tmp_path):
    """The fix the SubprocVecEnv error names: RecordReplay(env_index=rank) in make_env; the
    episodes of every sub-env (other processes) are then rendered by ``agentreel render``."""
    import gymnasium as gym

    from agentreel.replay.render import render_episodes

    def make_env(rank):
        return lambda: RecordReplay(gym.make("CartPole-v1"), tmp_path, env_index=rank)

    venv = SubprocVecEnv([make_env(i) for i in range(2)], start_method="fork")
    venv.seed(0)
    venv.reset()
    for actions in _fixed_actions(25, 2):
        venv.step(actions)
    venv.close()
    rendered = render_episodes(tmp_path, episodes=[0])
    assert sorted(r.name for r in rendered) == ["rl-video-env-0-episode-0",
                                                "rl-video-env-1-episode-0"]
    assert all(r.error is None and r.frames > 1 for r in rendered)


def test_bad_input_raises_at_construction_naming_the_fix(tmp_path):
    no_spec = DummyVecEnv([lambda: CartPoleEnv(render_mode="rgb_array") for _ in range(2)])
    with pytest.raises(RebuildError, match="env_fn="):
        VecVideoRecorder(no_spec, str(tmp_path), lambda s: s == 0, replay=True)
    assert not any(isinstance(env, RecordReplay) for env in no_spec.envs)  # nothing wrapped
    subproc = make_vec_env("CartPole-v1", n_envs=2, vec_env_cls=SubprocVecEnv,
                           vec_env_kwargs={"start_method": "fork"},
                           env_kwargs={"render_mode": "rgb_array"})
    try:
        with pytest.raises(RebuildError, match=r"DummyVecEnv.*RecordReplay"):
            VecVideoRecorder(subproc, str(tmp_path), lambda s: s == 0, replay=True)
    finally:
        subproc.close()
    _subproc_fix_works(tmp_path / "subproc-fix")
    venv = make_vec_env("CartPole-v1", n_envs=2, env_kwargs={"render_mode": "rgb_array"})
    with pytest.raises(ValueError, match="overlay"):
        VecVideoRecorder(venv, str(tmp_path), lambda s: s == 0, replay=True, overlay=True)
    with pytest.raises(ValueError, match="replay=True"):
        VecVideoRecorder(venv, str(tmp_path), lambda s: s == 0, env_fn="helpers.x:y")
    venv.close()


def test_the_named_fix_works_env_fn_for_an_env_without_spec(tmp_path):
    def run(folder, **kwargs):
        venv = DummyVecEnv([lambda: CartPoleEnv(render_mode="rgb_array") for _ in range(2)])
        venv.seed(4)
        venv = VecVideoRecorder(venv, str(folder), lambda s: s == 2, video_length=12, **kwargs)
        venv.reset()
        for actions in _fixed_actions(20, 2):
            venv.step(actions)
        venv.close()

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True, env_fn="gymnasium.envs.classic_control:CartPoleEnv")
    name = "rl-video-step-2-to-step-14.mp4"
    assert _mp4s(tmp_path / "replay") == _mp4s(tmp_path / "live") == [name]
    assert_same_pictures(tmp_path / "live" / name, tmp_path / "replay" / name)


def test_keep_best_keeps_the_same_clips_as_live_and_renders_only_those(tmp_path):
    from agentreel.clips.keep import best

    def run(folder, replay):
        venv = make_vec_env("CartPole-v1", n_envs=2, seed=2, env_kwargs={"render_mode": "rgb_array"})
        seen = []
        venv = VecVideoRecorder(venv, str(folder), lambda s: s % 12 == 0, video_length=5,
                                keep=best(1), replay=replay, on_video_saved=seen.append)
        venv.reset()
        for actions in np.random.default_rng(1).integers(0, 2, size=(60, 2)):
            venv.step(actions)
        venv.close()
        return seen

    live = run(tmp_path / "live", False)
    replayed = run(tmp_path / "replay", True)
    names = _mp4s(tmp_path / "live")
    assert len(names) == 1 and _mp4s(tmp_path / "replay") == names
    assert_same_pictures(tmp_path / "live" / names[0], tmp_path / "replay" / names[0])
    assert [v.error for v in replayed] == [None] * len(replayed)
    assert len(replayed) <= len(live)  # clips dropped before their turn are never rendered


def test_ctrl_c_mid_clip_writes_the_same_clip_as_live_recording(tmp_path):
    """At Ctrl-C, live recording's engine closes the open clip with its frames so far; with
    replay=True that clip was never replayed (no file). Both now leave the same file."""
    from videotools import ctrl_c_at

    child = Path(__file__).parent / "helpers" / "sb3_ctrl_c_child.py"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    for mode in ("live", "replay"):
        ctrl_c_at("MID", child, str(tmp_path / mode), mode, env=env)
    assert _mp4s(tmp_path / "live") == _mp4s(tmp_path / "replay") != []
    for name in _mp4s(tmp_path / "live"):
        live, replayed = tmp_path / "live" / name, tmp_path / "replay" / name
        frames = decode(live).count
        assert frames == decode(replayed).count == 31  # the reset frame and 30 steps
        assert json.loads(live.with_suffix(".json").read_text())["frames"] == frames
        assert json.loads(replayed.with_suffix(".json").read_text())["frames"] == frames
        assert_same_pictures(live, replayed)

