"""Replay log format 2: old logs still read, newer ones refused clearly, and the compact
encodings (one byte per small integer action, one number for constant rewards, zlib for
large payloads only) give back exactly what the agent did."""

from __future__ import annotations

import base64
import json
import shutil
import zlib
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agentreel import RecordReplay
from agentreel.replay import read_replay, replay_frames
from agentreel.replay.lines import EpisodeEncoder
from helpers import replay_envs  # noqa: F401  (registers the test envs)

FORMAT1 = Path(__file__).parent / "helpers" / "replay_format1.ndjson"


def test_a_format_1_log_still_reads_and_replays(tmp_path):
    shutil.copy(FORMAT1, tmp_path / "replay.ndjson")  # written by agentreel before format 2
    log = read_replay(tmp_path)
    assert [e.episode for e in log.episodes] == [0, 1, 2]
    assert log.episodes[0].seed == 5 and log.episodes[1].seed is None
    for episode in log.episodes:
        assert len(list(replay_frames(episode, render=False))) == episode.steps + 1
        assert episode.rewards().sum() == episode.episode_return
        assert set(episode.actions(gym.spaces.Discrete(2))) <= {0, 1}


def test_a_log_of_a_newer_format_is_refused_with_the_fix(tmp_path):
    header = json.loads(FORMAT1.read_text().splitlines()[0])
    header["format"] = 99
    (tmp_path / "replay.ndjson").write_text(json.dumps(header) + "\n")
    with pytest.raises(ValueError, match="format 99 is newer.*upgrade agentreel"):
        read_replay(tmp_path)


@pytest.mark.parametrize("actions", [
    [np.int64(1), np.int64(0), np.int64(1)],            # one byte each
    [1, 0, 1],                                          # Python ints stay Python ints
    [np.int64(1), np.int64(0), np.int64(1)] * 200,      # long episode: zlib
])
def test_compact_integer_actions_come_back_with_their_types(tmp_path, actions):
    env = RecordReplay(gym.make("agentreel-test/NoisyPictures-v0", length=len(actions)),
                       tmp_path)
    env.reset(seed=0)
    taken = []
    for action in actions:
        taken.append(action)
        if any(env.step(action)[2:4]):
            break
    env.close()
    assert len(taken) == len(actions)
    (episode,) = read_replay(tmp_path).episodes
    assert episode.row.get("zlib", False) == (len(actions) > 100)
    back = episode.actions(gym.spaces.Discrete(2))
    assert back == taken and [type(a) for a in back] == [type(a) for a in taken]
    assert len(list(replay_frames(episode, render=False))) == len(taken) + 1


def test_large_and_negative_actions_and_varying_rewards_are_stored_whole():
    space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    encoder = EpisodeEncoder(gym.spaces.Discrete(1000))
    leaves, blob = encoder.actions([np.int64(999), np.int64(-3)])  # do not fit a byte
    assert "stored" not in leaves and np.frombuffer(blob, "<i8").tolist() == [999, -3]
    arrays = [np.array([0.5, -1.0, 1 / 3], np.float32), np.array([0, 0, 1], np.float32)]
    leaves, blob = EpisodeEncoder(space).actions(arrays)
    assert np.frombuffer(blob, np.float32).reshape(2, 3).tobytes() == b"".join(
        a.tobytes() for a in arrays)
    assert encoder._rewards([1.0, -0.5]) == ("", np.array([1.0, -0.5]).tobytes(), None)
    assert encoder._rewards([np.float32(2.0)] * 3) == ('"reward":2.0,', b"", None)


def test_bytes_per_step_of_cartpole_stay_small(tmp_path):
    env = RecordReplay(gym.make("CartPole-v1"), tmp_path)
    env.action_space.seed(0)
    steps = 0
    for episode in range(40):
        env.reset(seed=0 if episode == 0 else None)
        while True:
            steps += 1
            if any(env.step(env.action_space.sample())[2:4]):
                break
    env.close()
    per_step = (tmp_path / "replay.ndjson").stat().st_size / steps
    assert per_step < 30  # format 1 took 30.7 B/step (BENCHMARKS.md)


def test_a_payload_zlib_cannot_shrink_is_stored_plain(tmp_path):
    # Random actions of 24 bytes a step (noise, as random float actions are for the
    # most part): 60 steps and their digests are 1.7 KB of payload, above the zlib
    # threshold, but deflate makes them larger, not smaller.
    space = gym.spaces.Box(0, 255, (24,), np.uint8)
    space.seed(0)
    actions = [space.sample() for _ in range(60)]
    base = gym.make("agentreel-test/NoisyPictures-v0", length=60)
    base.action_space = space  # (the env ignores its actions)
    env = RecordReplay(base, tmp_path)
    env.reset(seed=0)
    for action in actions:
        env.step(action)
    env.close()
    (episode,) = read_replay(tmp_path).episodes
    raw = base64.b64decode(episode.row["data"])
    assert "zlib" not in episode.row
    assert len(raw) == 60 * 24 + 61 * 4  # actions, then digests (the reward is constant)
    assert len(zlib.compress(raw, 1)) > len(raw)  # zlib would have grown it
    back = episode.actions(space)
    assert all(np.array_equal(a, b) for a, b in zip(back, actions, strict=True))


def _run_actions(folder, episodes):
    env = RecordReplay(gym.make("CartPole-v1"), folder)
    for number, actions in enumerate(episodes):
        env.reset(seed=number)
        for step, action in enumerate(actions):
            _, _, terminated, truncated, _ = env.step(action)
            assert not (terminated or truncated) or step == len(actions) - 1
            if terminated or truncated:
                break
        else:
            env.reset()  # cut short: not logged
    env.close()
    return read_replay(folder).episodes


def test_actions_that_change_type_mid_episode_are_refused_and_between_episodes_kept(tmp_path):
    # The logger takes actions of the type it saw last without a look; a change of
    # type inside an episode must still make that episode not replayable, and a
    # change between episodes must keep each episode's own types.
    env = gym.make("CartPole-v1")
    ends = []
    for seed, length in ((0, 0), (1, 0), (2, 0)):
        env.reset(seed=seed)
        while not any(env.step(0)[2:4]):
            length += 1
        ends.append(length + 1)
    mixed = [np.int64(0)] * (ends[0] - 1) + [0]
    ints = [0] * ends[1]
    numpy_ints = [np.int64(0)] * 2 + [0] * (ends[2] - 2)
    first, second, third = _run_actions(tmp_path, [mixed, ints, numpy_ints])
    assert "changed type" in first.row["not_replayable"]
    back = second.actions(gym.spaces.Discrete(2))
    assert back == ints and {type(a) for a in back} == {int}
    assert "changed type" in third.row["not_replayable"]


@pytest.mark.parametrize("rewards", [
    [1.0] * 23, [-0.0] * 4, [0.0] * 3, [3.0] * 7, [0.1] * 10, [2.0 ** 52] * 3,
    [1e300] * 2, [np.float64(1.0)] * 5, [np.float32(0.5)] * 4, [1.0, -1.0, 0.0],
])
def test_the_logged_return_is_the_rewards_added_in_order(rewards):
    from agentreel.replay.lines import episode_sum
    from agentreel.replay.log import EpisodeBuffer

    buffer = EpisodeBuffer(episode=0, seed=0, first_digest=0)
    for reward in rewards:
        buffer.add(0, reward, False, False, 0)
    line, total = EpisodeEncoder(gym.spaces.Discrete(2)).encode(buffer, "run", 0.0)
    expected = episode_sum(rewards)
    assert type(total) is type(expected) and repr(total) == repr(expected)
    assert json.loads(line)["return"] == float(expected)
