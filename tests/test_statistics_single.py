"""agentreel.RecordEpisodeStatistics (single env): Gymnasium parity and the extras."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import RecordEpisodeStatistics as GymStats

import agentreel
from agentreel import EpisodeRecord, RecordEpisodeStatistics
from helpers.fixed_length_env import FixedLengthEnv


def run_episodes(env, episodes: int, seed: int | None = None) -> list[dict]:
    infos = []
    for n in range(episodes):
        env.reset(seed=None if seed is None else seed + n)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
        infos.append(info)
    return infos


# --------------------------------------------------------------------------- parity


def test_step_by_step_parity_with_gymnasium_cartpole():
    ours = RecordEpisodeStatistics(gym.make("CartPole-v1"), buffer_length=3)
    theirs = GymStats(gym.make("CartPole-v1"), buffer_length=3)
    actions = np.random.default_rng(7).integers(0, 2, size=200)

    ours.reset(seed=42)
    theirs.reset(seed=42)
    finished = 0
    for action in actions:
        o1, r1, te1, tr1, i1 = ours.step(int(action))
        o2, r2, te2, tr2, i2 = theirs.step(int(action))
        np.testing.assert_array_equal(o1, o2)
        assert (r1, te1, tr1) == (r2, te2, tr2)
        assert i1.keys() == i2.keys()
        assert ours.episode_count == theirs.episode_count
        assert ours.episode_returns == theirs.episode_returns
        assert type(ours.episode_returns) is type(theirs.episode_returns)
        assert ours.episode_lengths == theirs.episode_lengths
        if "episode" in i2:
            finished += 1
            e1, e2 = i1["episode"], i2["episode"]
            assert e1.keys() == e2.keys() == {"r", "l", "t"}
            for k in ("r", "l"):
                assert e1[k] == e2[k]
                assert type(e1[k]) is type(e2[k])
            assert type(e1["t"]) is type(e2["t"]) is float
            assert e1["t"] == round(e1["t"], 6) and e1["t"] >= 0
        if te1 or tr1:
            ours.reset()
            theirs.reset()
        assert list(ours.return_queue) == list(theirs.return_queue)
        assert list(ours.length_queue) == list(theirs.length_queue)
        assert [type(x) for x in ours.return_queue] == [type(x) for x in theirs.return_queue]
        assert [type(x) for x in ours.length_queue] == [type(x) for x in theirs.length_queue]
        assert [type(x) for x in ours.time_queue] == [type(x) for x in theirs.time_queue]
        assert len(ours.time_queue) == len(theirs.time_queue)
    assert finished >= 3, "200 random CartPole steps should finish several episodes"
    assert ours.return_queue.maxlen == theirs.return_queue.maxlen == 3


def test_same_attributes_as_gymnasium():
    ours = RecordEpisodeStatistics(gym.make("CartPole-v1"), buffer_length=4, stats_key="ep")
    theirs = GymStats(gym.make("CartPole-v1"), buffer_length=4, stats_key="ep")
    for name in ("episode_count", "episode_start_time", "episode_returns", "episode_lengths",
                 "_stats_key"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("return_queue", "length_queue", "time_queue"):
        assert getattr(ours, name).maxlen == 4


def test_info_values_are_python_scalars_even_with_numpy_rewards():
    env = RecordEpisodeStatistics(gym.make("Pendulum-v1", max_episode_steps=7))
    env.action_space.seed(0)
    (info,) = run_episodes(env, 1, seed=0)
    ep = info["episode"]
    assert type(ep["r"]) is float and type(ep["l"]) is int and type(ep["t"]) is float
    assert ep["l"] == 7
    assert env.last_record.episode_return == pytest.approx(ep["r"])


def test_exact_return_and_length_with_fixed_env():
    env = RecordEpisodeStatistics(FixedLengthEnv(length=4, reward=0.5))
    infos = run_episodes(env, 3)
    assert [i["episode"]["l"] for i in infos] == [4, 4, 4]
    assert [i["episode"]["r"] for i in infos] == [2.0, 2.0, 2.0]
    assert env.episode_count == 3


# --------------------------------------------------------------------------- errors


def test_stats_key_clash_is_value_error_naming_the_key():
    env = RecordEpisodeStatistics(FixedLengthEnv(length=1, clash_key="episode"))
    env.reset()
    with pytest.raises(ValueError, match="'episode'"):
        env.step(0)
    # a different key works
    env = RecordEpisodeStatistics(FixedLengthEnv(length=1, clash_key="episode"), stats_key="ep")
    env.reset()
    assert env.step(0)[4]["ep"]["l"] == 1


def test_step_before_reset_raises_for_a_raw_env():
    env = RecordEpisodeStatistics(FixedLengthEnv(length=3))
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        env.step(0)
    assert env.episode_lengths == 0


@pytest.mark.parametrize("error", [RuntimeError, gym.error.ResetNeeded])
def test_step_before_reset_through_gym_make_also_raises(error):
    env = RecordEpisodeStatistics(gym.make("CartPole-v1"))
    with pytest.raises(error, match=r"reset\(\)"):
        env.step(0)


# --------------------------------------------------------------------------- records


def test_record_fields_seed_terminated_truncated_and_extras():
    env = RecordEpisodeStatistics(FixedLengthEnv(length=3), info_keywords=("is_success", "nope"))
    env.reset(seed=11)
    for _ in range(3):
        env.step(0)
    rec = env.last_record
    assert isinstance(rec, EpisodeRecord)
    assert (rec.index, rec.episode_return, rec.length) == (0, 3.0, 3)
    assert rec.seed == 11 and rec.terminated and not rec.truncated
    assert rec.extras == {"is_success": True}
    assert rec.env_index is None
    assert rec.duration >= 0

    env.reset()  # unseeded
    for _ in range(3):
        env.step(0)
    assert env.last_record.seed is None and env.last_record.index == 1

    trunc = RecordEpisodeStatistics(gym.make("CartPole-v1", max_episode_steps=3))
    trunc.reset(seed=0)
    done = False
    while not done:
        _, _, te, tr, _ = trunc.step(0 if trunc.episode_lengths % 2 else 1)
        done = te or tr
    assert trunc.last_record.truncated and not trunc.last_record.terminated


def test_log_directory_writes_both_files_and_callback_sees_records(tmp_path):
    seen: list[EpisodeRecord] = []
    env = RecordEpisodeStatistics(FixedLengthEnv(length=2), log=tmp_path / "run",
                                  info_keywords=("is_success",), on_episode_end=seen.append,
                                  env_id="Fixed-v0")
    run_episodes(env, 3, seed=5)
    env.close()
    rows = (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(r)["seed"] for r in rows] == [5, 6, 7]
    csv_lines = (tmp_path / "run" / "monitor.csv").read_text().splitlines()
    assert json.loads(csv_lines[0][1:])["env_id"] == "Fixed-v0"
    assert csv_lines[1] == "r,l,t,is_success"
    assert len(csv_lines) == 2 + 3
    assert [r.index for r in seen] == [0, 1, 2]
    assert all(r.elapsed is not None for r in seen)
    back = agentreel.read_episodes(tmp_path / "run")
    assert [r.to_dict() for r in back] == [r.to_dict() for r in seen]


def test_env_id_defaults_to_spec_id(tmp_path):
    env = RecordEpisodeStatistics(gym.make("CartPole-v1"), log=tmp_path / "m.monitor.csv")
    env.close()
    first = (tmp_path / "m.monitor.csv").read_text().splitlines()[0]
    assert json.loads(first[1:])["env_id"] == "CartPole-v1"


def test_raising_callback_warns_and_loop_continues():
    calls = []

    def bad(record):
        calls.append(record.index)
        raise KeyError("boom")

    env = RecordEpisodeStatistics(FixedLengthEnv(length=1), on_episode_end=bad)
    with pytest.warns(RuntimeWarning, match="on_episode_end"):
        run_episodes(env, 2)
    assert calls == [0, 1]
    assert env.episode_count == 2 and len(env.return_queue) == 2


def test_non_callable_callback_is_rejected_at_construction():
    with pytest.raises(TypeError, match="on_episode_end"):
        RecordEpisodeStatistics(FixedLengthEnv(), on_episode_end="not a function")


class ListSink:
    def __init__(self):
        self.records, self.closed, self.flushed = [], False, 0

    def write(self, record):
        self.records.append(record)

    def close(self):
        self.closed = True

    def flush(self):
        self.flushed += 1


def test_close_closes_owned_sinks_but_not_borrowed_ones(tmp_path):
    borrowed = ListSink()
    env = RecordEpisodeStatistics(FixedLengthEnv(length=1),
                                  log=[borrowed, tmp_path / "e.jsonl"])
    run_episodes(env, 2)
    env.close()
    env.close()  # idempotent
    assert len(borrowed.records) == 2 and not borrowed.closed and borrowed.flushed == 1
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 2
    assert env._emitter.sink.sinks[1]._file.closed


def test_no_log_means_no_files_and_no_sink(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = RecordEpisodeStatistics(FixedLengthEnv(length=2))
    run_episodes(env, 2)
    env.close()
    assert env._emitter.sink is None
    assert list(tmp_path.iterdir()) == []
    assert env.last_record.index == 1


def test_constructor_arguments_recorded_by_keyword():
    sink = ListSink()
    env = RecordEpisodeStatistics(FixedLengthEnv(), 7, "ep", info_keywords=("a",), log=sink,
                                  env_id="X")
    assert env._saved_kwargs == {"buffer_length": 7, "stats_key": "ep", "info_keywords": ("a",),
                                 "log": sink, "env_id": "X", "on_episode_end": None}
    assert env._saved_kwargs["log"] is sink


def test_reset_mid_episode_discards_the_partial_episode():
    env = RecordEpisodeStatistics(FixedLengthEnv(length=3))
    env.reset()
    env.step(0)
    env.reset()
    for _ in range(3):
        _, _, _, _, info = env.step(0)
    assert info["episode"]["l"] == 3 and env.episode_count == 1
