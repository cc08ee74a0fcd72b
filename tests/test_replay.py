"""RecordReplay: the log, bit-exact actions, rebuild checks, verified replay, divergence,
RecordVideo(replay=True), vector envs, and ``agentreel render`` after a real SIGKILL."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agentreel import RecordEpisodeStatistics, RecordReplay, RecordVideo, Run
from agentreel.clips.keep import best
from agentreel.replay import (
    RebuildError,
    ReplayDivergence,
    read_replay,
    replay_frames,
)
from agentreel.replay.codec import decode_actions, encode_actions
from agentreel.replay.render import render_episodes
from helpers.replay_envs import CountRenders  # (importing registers the test envs)
from videotools import assert_same_pictures, ctrl_c_at, decode

HELPERS = Path(__file__).parent / "helpers"


def run_episodes(env, episodes, *, first_seed=0, policy=None, capture=True):
    """Seeded first reset, unseeded after it; returns the live frames when the env renders."""
    live = []
    for episode in range(episodes):
        env.reset(seed=first_seed if episode == 0 else None)
        frames = [env.render()] if capture and env.render_mode == "rgb_array" else []
        done = False
        while not done:
            action = policy() if policy else env.action_space.sample()
            _, _, terminated, truncated, _ = env.step(action)
            if frames:
                frames.append(env.render())
            done = terminated or truncated
        live.append(frames)
    return live


# -- the log ------------------------------------------------------------------------
def test_actions_of_every_space_round_trip_bit_exactly_with_their_types():
    space = gym.make("agentreel-test/Composite-v0").action_space
    space.seed(3)
    actions = [space.sample() for _ in range(4)]
    actions[0]["move"] = 2                      # a Python int stays a Python int
    actions[0]["more"] = (actions[0]["more"][0], actions[0]["more"][1], np.float64(0.1))
    for action in actions[1:]:
        action["move"] = int(action["move"])
        action["more"] = (action["more"][0], action["more"][1], np.float64(action["more"][2]))
    back = decode_actions(space, json.loads(json.dumps(encode_actions(space, actions))))
    for a, b in zip(actions, back, strict=True):
        assert type(b["move"]) is int and b["move"] == a["move"]
        assert b["force"].dtype == np.float32 and b["force"].tobytes() == a["force"].tobytes()
        for x, y in zip(a["more"], b["more"], strict=True):
            assert np.asarray(y).dtype == np.asarray(x).dtype
            assert np.asarray(y).tobytes() == np.asarray(x).tobytes()
    # float64 actions given to a float32 Box keep their float64 bits
    box = gym.spaces.Box(-1, 1, (3,), np.float32)
    given = [np.array([0.1, 0.2, 1 / 3])]
    (got,) = decode_actions(box, encode_actions(box, given))
    assert got.dtype == np.float64 and got.tobytes() == given[0].tobytes()
    text = gym.spaces.Text(5)
    assert decode_actions(text, encode_actions(text, ["ab", "c"])) == ["ab", "c"]


def test_the_log_is_readable_with_json_zlib_and_base64_only(tmp_path):
    env = RecordReplay(gym.make("CartPole-v1"), tmp_path)
    run_episodes(env, 2)
    env.close()
    lines = [json.loads(line) for line in (tmp_path / "replay.ndjson").read_text().splitlines()]
    header, episodes = lines[0], [row for row in lines if row["type"] == "episode"]
    assert header["type"] == "replay-header" and header["recipe"]["spec"]["id"] == "CartPole-v1"
    assert header["format"] == 2
    assert [row["episode"] for row in episodes] == [0, 1]
    assert episodes[0]["seed"] == 0 and episodes[1]["seed"] is None
    assert episodes[1]["rng"]["bit_generator"] == "PCG64"

    for row in episodes:  # the layout the module docs of agentreel.replay.log describe
        steps = row["steps"]
        data = base64.b64decode(row["data"])
        if row.get("zlib"):
            data = zlib.decompress(data)
        digests = np.frombuffer(data, dtype="<u4", offset=len(data) - 4 * (steps + 1))
        assert len(digests) == steps + 1
        rewards = ([row["reward"]] * steps if "reward" in row else
                   np.frombuffer(data, "<f8", steps, len(data) - 4 * (steps + 1) - 8 * steps))
        assert sum(rewards) == row["return"] == steps
        assert row["terminated"] or row["truncated"]
        (leaf,) = row["actions"]
        stored = leaf.get("stored", leaf["dtype"])
        actions = np.frombuffer(data, dtype=stored, count=steps, offset=leaf["offset"])
        assert leaf["dtype"] == "<i8" and set(actions.astype(leaf["dtype"])) <= {0, 1}
        assert stored == "u1"  # CartPole's actions fit a byte each


def test_an_env_that_cannot_be_rebuilt_is_refused_at_construction(tmp_path):
    from gymnasium.envs.classic_control import CartPoleEnv

    with pytest.raises(RebuildError, match="env_fn="):
        RecordReplay(CartPoleEnv(), tmp_path)                       # no spec

    class Unrecorded(gym.Wrapper):
        pass

    with pytest.raises(RebuildError, match="Unrecorded.*does not record its arguments"):
        RecordReplay(Unrecorded(gym.make("CartPole-v1")), tmp_path)
    with pytest.raises(RebuildError, match="cannot be imported"):
        RecordReplay(gym.make("CartPole-v1"), tmp_path, env_fn="no_such_module_xyz:make")
    with pytest.raises(ValueError, match="step_trigger"):
        RecordVideo(gym.make("CartPole-v1"), tmp_path, replay=True, step_trigger=lambda s: True)
    # env_fn rebuilds what a spec cannot
    env = RecordReplay(Unrecorded(gym.make("CartPole-v1")), tmp_path,
                       env_fn="helpers.replay_envs:make_global_noise")
    env.close()
    assert not list(tmp_path.glob("*.mp4"))


def test_composite_actions_replay_bit_exactly_and_a_changed_action_is_caught(tmp_path):
    env = RecordReplay(gym.make("agentreel-test/Composite-v0", render_mode="rgb_array"), tmp_path)
    env.action_space.seed(1)
    live = run_episodes(env, 3)
    env.close()
    log = read_replay(tmp_path)
    for episode in log.episodes:
        frames = list(replay_frames(episode))
        assert len(frames) == len(live[episode.episode]) == episode.steps + 1
        assert all(np.array_equal(a, b) for a, b in zip(frames, live[episode.episode], strict=True))
    # one float32 bit flipped in the logged actions: the observation digest catches it
    episode = log.episodes[1]
    data = bytearray(episode.data())
    force = next(leaf for leaf in episode.row["actions"] if leaf["path"] == ["force"])
    data[force["offset"] + 4 * 2] ^= 1                              # step 2's first force value
    episode.row["data"] = base64.b64encode(zlib.compress(bytes(data))).decode()
    episode.row["zlib"] = True
    episode = type(episode)(episode.row, episode.recipe, episode.action_space,
                            episode.first_reset)
    with pytest.raises(ReplayDivergence, match="episode 1 diverged at step 2: the observation"):
        list(replay_frames(episode, render=False))


# -- divergence ------------------------------------------------------------------------
def test_unseeded_global_randomness_is_detected_with_the_episode_step_and_hint(tmp_path):
    env = RecordReplay(gym.make("agentreel-test/GlobalNoise-v0"), tmp_path)
    run_episodes(env, 2, policy=lambda: 1)
    env.close()
    (first, _) = read_replay(tmp_path).episodes
    with pytest.raises(ReplayDivergence) as caught:
        list(replay_frames(first))
    message = str(caught.value)
    assert "replay of episode 0 diverged at step 3" in message
    assert "not deterministic" in message and "replay=False" in message
    assert caught.value.step == 3
    # the CLI writes no video for it, names the episode and step, and exits 1
    result = subprocess.run([sys.executable, "-m", "agentreel.cli", "render", str(tmp_path)],
                            capture_output=True, text=True, env=_cli_env(), timeout=120)
    assert result.returncode == 1, result.stderr
    assert "rl-video-episode-0: replay of episode 0 diverged at step 3" in result.stderr
    assert not list(tmp_path.glob("*.mp4"))


def test_record_video_replay_reports_divergence_on_the_episodes_video_saved(tmp_path):
    saved = []
    env = RecordVideo(gym.make("agentreel-test/GlobalNoise-v0", render_mode="rgb_array"),
                      tmp_path, episode_trigger=lambda i: i == 1, replay=True, sidecar=True,
                      on_video_saved=saved.append)
    run_episodes(env, 2, policy=lambda: 0)
    env.close()
    (event,) = saved
    assert event.name == "rl-video-episode-1" and event.episode_id == 1
    assert "replay of episode 1 diverged at step 3" in event.error
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob("rl-video*.json"))


# -- RecordVideo(replay=True) ----------------------------------------------------------
def test_replay_recording_keeps_the_same_videos_as_live_recording_without_rendering(tmp_path):
    def record(folder, replay):
        saved = []
        env = CountRenders(gym.make("CartPole-v1", render_mode="rgb_array"))
        env = RecordVideo(env, folder, keep=best(2), sidecar=True, replay=replay,
                          on_video_saved=saved.append)
        env.action_space.seed(7)
        CountRenders.calls = 0
        run_episodes(env, 8, capture=False)
        renders = CountRenders.calls
        env.close()
        return saved, renders, env

    live, live_renders, live_env = record(tmp_path / "live", False)
    replayed, replay_renders, env = record(tmp_path / "replay", True)
    assert replay_renders == 0 and live_renders > 0
    # the videos kept at the end are the same; replay skips hooks for videos the rule had
    # already evicted before their turn came (live recording announced and then deleted them)
    assert [v.name for v in env.saved_videos] == [v.name for v in live_env.saved_videos]
    assert {v.name for v in replayed} <= {v.name for v in live}
    kept = sorted(p.name for p in (tmp_path / "replay").glob("*.mp4"))
    assert kept == sorted(p.name for p in (tmp_path / "live").glob("*.mp4")) and len(kept) == 2
    for name in kept:
        assert_same_pictures(tmp_path / "live" / name, tmp_path / "replay" / name)
        side_live = json.loads((tmp_path / "live" / name).with_suffix(".json").read_text())
        side_replay = json.loads((tmp_path / "replay" / name).with_suffix(".json").read_text())
        assert side_replay == side_live
    assert {v.kept for v in env.saved_videos} == {v.kept for v in live_env.saved_videos}
    # episodes the rule dropped before their turn were never rendered
    assert env._replay_engine.rendered < 8
    assert len(read_replay(tmp_path / "replay").episodes) == 8      # all logged


# -- vector envs ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_each_sub_env_episode_replays_as_its_own_episode(tmp_path, mode):
    from agentreel.vector import RecordReplay as VectorRecordReplay

    envs = VectorRecordReplay(
        gym.make_vec("CartPole-v1", 2, vectorization_mode=mode, render_mode="rgb_array"),
        tmp_path)
    envs.action_space.seed(0)
    envs.reset(seed=10)
    live: dict[tuple[int, int], list] = {}
    counts, was_done = [0, 0], [False, False]
    frames = [[f] for f in envs.env.call("render")]
    for _ in range(60):
        _, _, terminations, truncations, _ = envs.step(envs.action_space.sample())
        rendered = envs.env.call("render")
        for i in range(2):
            if was_done[i]:                      # the autoreset step: a new episode's first frame
                frames[i] = [rendered[i]]
                was_done[i] = False
                continue
            frames[i].append(rendered[i])
            if terminations[i] or truncations[i]:
                live[(i, counts[i])] = frames[i]
                counts[i] += 1
                was_done[i] = True
    envs.close()
    log = read_replay(tmp_path)
    assert {e.env_index for e in log.episodes} == {0, 1}
    assert [e.seed for e in log.episodes if e.episode == 0] and \
        sorted(e.seed for e in log.episodes if e.episode == 0) == [10, 11]
    for episode in log.episodes:
        replayed = list(replay_frames(episode))
        expected = live[(episode.env_index, episode.episode)]
        assert len(replayed) == len(expected) == episode.steps + 1
        assert all(np.array_equal(a, b) for a, b in zip(replayed, expected, strict=True))


# -- crashes and agentreel render ----------------------------------------------------------
def _cli_env():
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"),
                                         str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    env["SDL_VIDEODRIVER"] = "dummy"
    return env


def test_sigkill_mid_run_leaves_a_log_agentreel_render_renders_every_finished_episode(tmp_path):
    run = tmp_path / "run"
    child = subprocess.Popen([sys.executable, str(HELPERS / "replay_child.py"), str(run)],
                             stdout=subprocess.PIPE, text=True, env=_cli_env())
    printed = []
    try:
        deadline = time.monotonic() + 60
        while len(printed) < 5 and time.monotonic() < deadline:
            printed.append(child.stdout.readline())
        time.sleep(0.013)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert len(printed) == 5
    logged = read_replay(run).episodes
    assert len(logged) >= 5
    assert [e.episode for e in logged] == list(range(len(logged)))
    result = subprocess.run([sys.executable, "-m", "agentreel.cli", "render", str(run),
                             "--workers", "2"], capture_output=True, text=True, env=_cli_env(),
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"rendered {len(logged)} of {len(logged)} episodes" in result.stdout
    for episode in logged:
        video = decode(run / f"rl-video-episode-{episode.episode}.mp4")
        assert video.count == episode.steps + 1
    # registered in the run folder: the report's run lists every video with its episode
    folder = Run(run)
    assert sorted(v.episode for v in folder.videos) == [e.episode for e in logged]
    assert all(v.record is not None and v.record.length == v.episode_length for v in folder.videos)
    # a second render skips what exists; --best selects
    again = render_episodes(run, best=1)
    assert len(again) == 1 and again[0].skipped


def test_render_selections_add_up(tmp_path):
    env = RecordEpisodeStatistics(RecordReplay(gym.make("CartPole-v1"), tmp_path))
    run_episodes(env, 6)
    env.close()
    from agentreel.replay.render import select_episodes

    episodes = read_replay(tmp_path).episodes
    returns = [e.episode_return for e in episodes]
    top = max(range(6), key=lambda i: (returns[i], -i))
    chosen = select_episodes(episodes, ids=[5], best=1, every=4)
    assert [e.episode for e in chosen] == sorted({5, top, 0, 4})
    assert len(select_episodes(episodes, failures=True)) == sum(e.terminated for e in episodes)
    assert len(select_episodes(episodes)) == 6


def test_vector_record_video_per_env_replay_matches_live_recording(tmp_path):
    from agentreel.vector import RecordVideo as VectorRecordVideo

    def record(folder, replay):
        envs = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync",
                            render_mode="rgb_array")
        envs = VectorRecordVideo(envs, folder, per_env=True, keep=best(2), sidecar=True,
                                 replay=replay)
        envs.action_space.seed(3)
        envs.reset(seed=20)
        for _ in range(70):
            envs.step(envs.action_space.sample())
        envs.close()
        return envs

    live = record(tmp_path / "live", False)
    replayed = record(tmp_path / "replay", True)
    names = [v.name for v in replayed.saved_videos]
    assert names == [v.name for v in live.saved_videos] and len(names) == 2
    for name in names:
        assert_same_pictures(tmp_path / "live" / f"{name}.mp4", tmp_path / "replay" / f"{name}.mp4")
    with pytest.raises(ValueError, match="per_env=True"):
        VectorRecordVideo(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync",
                                       render_mode="rgb_array"), tmp_path / "x", replay=True)


def test_ctrl_c_with_open_sub_env_episodes_leaves_the_same_videos_as_live(tmp_path):
    """``agentreel.vector.RecordVideo(per_env=True, replay=True)``: the sub-envs' episodes
    open at Ctrl-C are written with their frames so far, as live recording writes them."""
    for mode in ("live", "replay"):
        ctrl_c_at("MID", HELPERS / "vector_ctrl_c_child.py", str(tmp_path / mode), mode,
                  env=_cli_env())
    names = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert names == sorted(p.name for p in (tmp_path / "replay").glob("*.mp4"))
    assert len(names) == 2  # one per sub-env
    for name in names:
        live, replayed = tmp_path / "live" / name, tmp_path / "replay" / name
        assert decode(live).count == decode(replayed).count == 9  # the reset frame + 8 steps
        for video in (live, replayed):
            assert json.loads(video.with_suffix(".json").read_text())["frames"] == 9
        assert_same_pictures(live, replayed)


def test_sub_envs_wrapped_one_by_one_share_one_log(tmp_path):
    # e.g. Stable-Baselines3's make_vec_env(wrapper_class=...): one RecordReplay per sub-env
    envs = [RecordReplay(gym.make("CartPole-v1"), tmp_path, env_index=i) for i in range(2)]
    for i, env in enumerate(envs):
        env.action_space.seed(i)
        run_episodes(env, 2, first_seed=i)
        env.close()
    log = read_replay(tmp_path)
    assert sorted((e.env_index, e.episode) for e in log.episodes) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for episode in log.episodes:
        assert len(list(replay_frames(episode, render=False))) == episode.steps + 1


def test_the_replay_process_exits_when_the_agent_is_killed(tmp_path):
    from videotools import wait_gone

    child = subprocess.Popen([sys.executable, str(HELPERS / "replay_video_child.py"),
                              str(tmp_path)], stdout=subprocess.PIPE, text=True, env=_cli_env())
    try:
        replayer = int(child.stdout.readline())
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.mp4")) and time.monotonic() < deadline:
            time.sleep(0.1)                       # it has rendered videos meanwhile
        # (On a machine whose every core is busy, the replay process, in idle CPU time,
        # may have rendered nothing yet: it still holds the episodes sent to it.)
        os.kill(replayer, 0)                      # alive, with work, when the agent dies
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    wait_gone(replayer)                           # raises if it outlives the agent


@pytest.mark.parametrize("mode", ["replay", "live"])
def test_ctrl_c_leaves_the_kept_episodes_videos_on_disk(tmp_path, mode):
    """Ctrl-C in a terminal (SIGINT to the whole process group): the replay process died
    of it mid-render, and none of the 3 kept videos was written (a ``.agentreel-pending``
    folder was left, empty, as live recording left it). Now the agent's exit finishes
    them, and removes the empty folder."""
    from videotools import wait_gone

    episodes = 8
    lines, err = ctrl_c_at(f"DONE {episodes - 1}", HELPERS / "replay_ctrl_c_child.py",
                           str(tmp_path), str(episodes), *([mode] if mode == "live" else []),
                           env=_cli_env(), prefix=True)
    replayer = int(lines[0].split()[1])
    done = [line.split() for line in lines[1:]]
    if replayer:
        wait_gone(replayer)
    returns = {int(k): (float(r), int(n)) for _, k, r, n in done}
    kept = sorted(sorted(returns, key=lambda k: (-returns[k][0], k))[:3])  # ties: earlier
    videos = sorted(tmp_path.glob("*.mp4"))
    assert [v.name for v in videos] == [f"rl-video-episode-{k}.mp4" for k in kept], err
    for k, video in zip(kept, videos, strict=True):
        sidecar = json.loads(video.with_suffix(".json").read_text())
        assert decode(video).count == sidecar["frames"] == returns[k][1] + 1
    assert not list(tmp_path.rglob("*.partial"))
    assert not (tmp_path / ".agentreel-pending").exists()
    assert not (tmp_path / ".agentreel-claims").exists()


def test_ctrl_c_mid_episode_writes_its_clip_so_far_as_live_recording_does(tmp_path):
    """Live recording closes the clip open at Ctrl-C (``test_crash.py``); with replay=True
    the episode in progress was never replayed: its video was missing."""
    episodes = 3
    lines, err = ctrl_c_at("MID", HELPERS / "replay_ctrl_c_child.py", str(tmp_path),
                           str(episodes), "mid", env=_cli_env())
    done = [line.split() for line in lines[1:]]
    lengths = [int(line[3]) for line in done[:-1]] + [5]
    videos = [tmp_path / f"rl-video-episode-{k}.mp4" for k in range(episodes + 1)]
    assert sorted(tmp_path.glob("*.mp4")) == videos, err
    for video, length in zip(videos, lengths, strict=True):
        sidecar = json.loads(video.with_suffix(".json").read_text())
        assert decode(video).count == sidecar["frames"] == length + 1
    assert not list(tmp_path.rglob("*.partial"))


def test_a_second_ctrl_c_abandons_the_videos_still_replaying_at_exit(tmp_path):
    """The exit waits for the kept videos and says so; a second Ctrl-C ends it at once:
    the videos not yet replayed are reported failed, the finished ones stay complete."""
    from videotools import wait_gone

    episodes = 6  # ~2 s of replay each
    child = subprocess.Popen([sys.executable, str(HELPERS / "replay_ctrl_c_child.py"),
                              str(tmp_path), str(episodes), "slow"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_cli_env(),
                             start_new_session=True)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)
    reader.start()
    try:
        replayer = int(child.stdout.readline().split()[1])
        for _ in range(episodes):
            child.stdout.readline()
        os.killpg(child.pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while not any("before exiting" in line for line in errors):
            assert time.monotonic() < deadline, "".join(errors)
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGINT)  # the second Ctrl-C
        start = time.monotonic()
        child.wait(timeout=60)
        abandoned_in = time.monotonic() - start
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    reader.join(10)
    err = "".join(errors)
    assert abandoned_in < 10, err  # not the ~12 s the replays needed
    assert "abandoned the kept videos not yet replayed" in err, err
    assert "abandoned at exit (Ctrl-C)" in err  # each unrendered video reported failed
    wait_gone(replayer)
    videos = sorted(tmp_path.glob("*.mp4"))
    assert len(videos) < episodes
    for video in videos:  # the finished ones are complete
        assert decode(video).count == json.loads(video.with_suffix(".json").read_text())[
            "frames"] == 11
    assert not (tmp_path / ".agentreel-claims").exists()


def test_replay_recording_claims_the_file_names_of_kept_videos_only(tmp_path):
    """A speculative replayed episode costs no claim file (one per episode was 21 % of the
    loop on a loaded disk); the kept one is claimed, written and named as before."""
    from agentreel.clips.claims import CLAIMS_FOLDER

    env = RecordVideo(gym.make("CartPole-v1"), tmp_path, keep=lambda ep: ep.index == 2,
                      replay=True, sidecar=True)
    env.action_space.seed(3)
    run_episodes(env, 6, capture=False)
    claimed = sorted(os.listdir(tmp_path / CLAIMS_FOLDER))
    env.close()
    assert len(claimed) == 1 and "rl-video-episode-2" in claimed[0]
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == ["rl-video-episode-2.mp4"]
    tags = json.loads((tmp_path / "rl-video-episode-2.json").read_text())["tags"]
    assert tags["name"] == "rl-video-episode-2"
    assert tags["running_returns"] == [float(k) for k in range(tags["episode_length"] + 1)]


def test_a_kept_replayed_video_whose_name_another_live_writer_holds_gets_a_variant(tmp_path):
    """The name is claimed when the episode is kept: if another recorder holds it by then,
    the video takes the ``-{pid}`` variant, and the keep rule evicts it under that name."""
    from agentreel.clips.claims import NameClaims

    other = NameClaims(str(tmp_path))
    other.claim(str(tmp_path / "rl-video-episode-1.mp4"))
    names = []
    env = RecordVideo(gym.make("CartPole-v1"), tmp_path, replay=True,
                      keep=best(1, by=lambda episode: episode.index),  # each one evicts the last
                      on_video_saved=lambda saved: names.append(os.path.basename(saved.path)))
    env.action_space.seed(3)
    run_episodes(env, 2, capture=False)
    env._replay_engine.flush()
    env._recorder.engine.poll()
    variant = f"rl-video-episode-1-{os.getpid()}.mp4"
    assert variant in names and (tmp_path / variant).exists()
    run_episodes(env, 1, first_seed=5, capture=False)
    env.close()
    other.release_all()
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == ["rl-video-episode-2.mp4"]
