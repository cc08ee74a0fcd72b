"""agentreel.vector.RecordEpisodeStatistics: parity, autoreset modes, partial resets, log."""

from __future__ import annotations

import warnings
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics as GymVecStats
from hypothesis import given, settings
from hypothesis import strategies as st

import agentreel
from agentreel import EpisodeRecord
from agentreel.vector import RecordEpisodeStatistics as VecStats
from helpers.fixed_length_env import FixedLengthEnv

LENGTHS = (2, 5)


def fixed_envs(mode: AutoresetMode, lengths=LENGTHS, vector_cls=SyncVectorEnv, **kwargs):
    fns = [partial(FixedLengthEnv, length=n, **kwargs) for n in lengths]
    return vector_cls(fns, autoreset_mode=mode)


def strip_masks(episode: dict) -> dict:
    return {k: v for k, v in episode.items() if not k.startswith("_")}


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("num_envs", [1, 3])
def test_matches_make_vec_with_single_env_wrappers(num_envs):
    ours = VecStats(gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync"))
    ref = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync",
                       wrappers=(agentreel.RecordEpisodeStatistics,))
    ours.reset(seed=123)
    ref.reset(seed=123)
    ours.action_space.seed(1)
    ended = 0
    for _ in range(300):
        actions = ours.action_space.sample()
        _, _, _, _, info = ours.step(actions)
        _, _, _, _, ref_info = ref.step(actions)
        assert ("episode" in info) == ("episode" in ref_info)
        if "episode" in info:
            ended += int(info["_episode"].sum())
            mine, theirs = dict(info["episode"]), strip_masks(ref_info["episode"])
            t1, t2 = mine.pop("t"), theirs.pop("t")
            assert t1.shape == t2.shape == (num_envs,) and t1.dtype == t2.dtype == np.float64
            assert data_equivalence(mine, theirs, exact=True)
            assert data_equivalence(info["_episode"], ref_info["_episode"], exact=True)
            assert mine["r"].dtype == np.float64 and mine["l"].dtype == np.int64
            assert np.all(t1[~info["_episode"]] == 0)
    assert ended >= 5
    ours.close()
    ref.close()


def test_matches_gymnasium_vector_wrapper_without_partial_resets():
    ours = VecStats(gym.make_vec("CartPole-v1", num_envs=3), buffer_length=4)
    theirs = GymVecStats(gym.make_vec("CartPole-v1", num_envs=3), buffer_length=4)
    ours.reset(seed=5)
    theirs.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(250):
        actions = rng.integers(0, 2, size=3)
        *_, i1 = ours.step(actions)
        *_, i2 = theirs.step(actions)
        assert i1.keys() == i2.keys()
        if "episode" in i1:
            for k in ("r", "l"):
                np.testing.assert_array_equal(i1["episode"][k], i2["episode"][k])
                assert i1["episode"][k].dtype == i2["episode"][k].dtype
            np.testing.assert_array_equal(i1["_episode"], i2["_episode"])
        np.testing.assert_array_equal(ours.episode_returns, theirs.episode_returns)
        np.testing.assert_array_equal(ours.episode_lengths, theirs.episode_lengths)
        np.testing.assert_array_equal(ours.prev_dones, theirs.prev_dones)
        assert ours.episode_count == theirs.episode_count
        assert list(ours.return_queue) == list(theirs.return_queue)
        assert list(ours.length_queue) == list(theirs.length_queue)
        assert [type(x) for x in ours.length_queue] == [type(x) for x in theirs.length_queue]
        assert [type(x) for x in ours.time_queue] == [type(x) for x in theirs.time_queue]
    assert ours.episode_count > 5
    assert ours.return_queue.maxlen == 4


# --------------------------------------------------------------------------- autoreset


def drive(envs, steps: int):
    """Step ``envs``; under DISABLED, reset exactly the done sub-envs via a mask."""
    disabled = envs.metadata["autoreset_mode"] == AutoresetMode.DISABLED
    ended = []  # (step, env index, r, l)
    for step in range(steps):
        _, _, term, trunc, info = envs.step(np.zeros(envs.num_envs, dtype=np.int64))
        if "episode" in info:
            for i in np.flatnonzero(info["_episode"]):
                ended.append((step, int(i), float(info["episode"]["r"][i]),
                              int(info["episode"]["l"][i])))
            assert np.all(info["episode"]["r"][~info["_episode"]] == 0)
            assert np.all(info["episode"]["l"][~info["_episode"]] == 0)
        done = term | trunc
        if disabled and done.any():
            envs.reset(options={"reset_mask": done})
    return ended


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_every_autoreset_mode_with_different_episode_lengths(mode):
    records: list[EpisodeRecord] = []
    envs = VecStats(fixed_envs(mode), on_episode_end=records.append)
    envs.reset(seed=0)
    ended = drive(envs, 30)
    for _, i, r, ln in ended:
        assert ln == LENGTHS[i] and r == float(LENGTHS[i]), (mode, ended)
    # NEXT_STEP spends one extra step per episode on the reset.
    per_episode = [n + (mode == AutoresetMode.NEXT_STEP) for n in LENGTHS]
    expected = sum(30 // p for p in per_episode)
    assert len(ended) == expected == envs.episode_count == len(records)
    first_steps = {i: min(s for s, j, *_ in ended if j == i) for i in range(2)}
    assert first_steps == {0: 1, 1: 4}
    assert [r.index for r in records] == list(range(expected))
    assert [r.env_index for r in records] == [i for _, i, *_ in ended]
    assert list(envs.length_queue) == [ln for *_, ln in ended][-100:]
    envs.close()


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_seeds_recorded_for_reset_episodes_only(mode):
    records: list[EpisodeRecord] = []
    envs = VecStats(fixed_envs(mode), on_episode_end=records.append)
    envs.reset(seed=10)
    drive(envs, 12)
    by_env = {i: [r.seed for r in records if r.env_index == i] for i in range(2)}
    assert by_env[0][0] == 10 and by_env[1][0] == 11
    if mode != AutoresetMode.DISABLED:  # autoreset episodes have no known seed
        assert by_env[0][1:] == [None] * (len(by_env[0]) - 1)
    envs.close()


@pytest.mark.parametrize("vector_cls", [SyncVectorEnv, AsyncVectorEnv])
def test_partial_reset_keeps_other_sub_envs_totals(vector_cls):
    """Gymnasium 1.4 wipes every sub-env here (B would report l=3)."""
    envs = VecStats(fixed_envs(AutoresetMode.DISABLED, vector_cls=vector_cls))
    envs.reset(seed=0)
    acts = np.zeros(2, dtype=np.int64)
    for _ in range(2):
        _, _, term, _, info = envs.step(acts)
    assert term.tolist() == [True, False] and info["episode"]["l"].tolist() == [2, 0]
    options = {"reset_mask": np.array([True, False])}
    envs.reset(options=options)
    assert list(options) == ["reset_mask"], "the caller's options must not be mutated"
    np.testing.assert_array_equal(envs.episode_lengths, [0, 2])
    for _ in range(2):
        _, _, term, _, info = envs.step(acts)
    assert term.tolist() == [True, False] and info["episode"]["l"].tolist() == [2, 0]
    envs.reset(options={"reset_mask": term.copy()})
    _, _, term, _, info = envs.step(acts)
    assert term.tolist() == [False, True]
    assert info["episode"]["l"].tolist() == [0, 5]
    assert info["episode"]["r"].tolist() == [0.0, 5.0]
    assert envs.length_queue[-1] == 5
    envs.close()


@pytest.mark.parametrize("vector_cls", [SyncVectorEnv, AsyncVectorEnv])
def test_partial_reset_mid_episode_under_next_step(vector_cls):
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP, lengths=(3, 3), vector_cls=vector_cls))
    envs.reset()
    acts = np.zeros(2, dtype=np.int64)
    envs.step(acts)
    mask = np.array([False, True])
    envs.reset(options={"reset_mask": mask, "other": 1})
    np.testing.assert_array_equal(envs.episode_lengths, [1, 0])
    _, _, term, _, info = envs.step(acts)
    _, _, term, _, info = envs.step(acts)
    assert term.tolist() == [True, False] and info["episode"]["l"].tolist() == [3, 0]
    _, _, term, _, info = envs.step(acts)
    assert term.tolist() == [False, True] and info["episode"]["l"].tolist() == [0, 3]
    envs.close()


def test_reset_mask_validated_like_gymnasium_before_the_inner_reset():
    envs = VecStats(fixed_envs(AutoresetMode.DISABLED))
    envs.reset()
    bad = [
        ([True, False], TypeError),
        (np.array([True]), ValueError),
        (np.array([1, 0]), TypeError),
        (np.array([False, False]), ValueError),
    ]
    for mask, error in bad:
        options = {"reset_mask": mask}
        with pytest.raises(error, match="reset_mask"):
            envs.reset(options=options)
        assert options == {"reset_mask": mask}


def test_options_without_mask_are_passed_through_unmutated():
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP))
    options = {"foo": 1}
    envs.reset(options=options)
    assert options == {"foo": 1}


def test_same_step_partial_reset_right_after_an_episode_end():
    """Found by the property test below: a partial reset must not re-arm NEXT_STEP logic."""
    envs = VecStats(fixed_envs(AutoresetMode.SAME_STEP, lengths=(1, 1)))
    envs.reset()
    acts = np.zeros(2, dtype=np.int64)
    assert envs.step(acts)[4]["episode"]["l"].tolist() == [1, 1]
    envs.reset(options={"reset_mask": np.array([True, False])})
    assert envs.step(acts)[4]["episode"]["l"].tolist() == [1, 1]


# --------------------------------------------------------------------------- info_keywords, log


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_info_keywords_taken_per_sub_env(mode):
    records: list[EpisodeRecord] = []
    envs = VecStats(fixed_envs(mode), info_keywords=("is_success", "env_length"),
                    on_episode_end=records.append)
    envs.reset()
    drive(envs, 12)
    assert records
    for rec in records:
        assert rec.extras["is_success"] is True or rec.extras["is_success"] == np.True_
        assert rec.extras["env_length"] == LENGTHS[rec.env_index]


def test_log_gets_one_record_per_sub_env_episode(tmp_path):
    envs = VecStats(fixed_envs(AutoresetMode.SAME_STEP), log=tmp_path,
                    info_keywords=("is_success",), env_id="Fixed-v0")
    envs.reset(seed=3)
    drive(envs, 10)
    envs.close()
    back = agentreel.read_episodes(tmp_path)
    assert [r.index for r in back] == list(range(len(back)))
    assert len(back) == 10 // 2 + 10 // 5
    assert {r.env_index for r in back} == {0, 1}
    assert all(r.length == LENGTHS[r.env_index] for r in back)
    assert all(r.extras == {"is_success": True} for r in back)
    lines = (tmp_path / "monitor.csv").read_text().splitlines()
    assert len(lines) == 2 + len(back)


# --------------------------------------------------------------------------- errors, contract


def test_stats_key_clash_raises_value_error():
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP, lengths=(1, 1), clash_key="episode"))
    envs.reset()
    with pytest.raises(ValueError, match="'episode'"):
        envs.step(np.zeros(2, dtype=np.int64))
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP, lengths=(1, 1), clash_key="_ep"),
                    stats_key="ep")
    envs.reset()
    with pytest.raises(ValueError, match="'ep'"):
        envs.step(np.zeros(2, dtype=np.int64))


def test_step_before_reset_raises():
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP))
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        envs.step(np.zeros(2, dtype=np.int64))


def test_missing_autoreset_mode_warns_and_assumes_next_step():
    inner = fixed_envs(AutoresetMode.NEXT_STEP)
    inner.metadata = {k: v for k, v in inner.metadata.items() if k != "autoreset_mode"}
    with pytest.warns(UserWarning, match="autoreset_mode"):
        envs = VecStats(inner)
    assert envs._autoreset_mode == AutoresetMode.NEXT_STEP
    inner.metadata = {**inner.metadata, "autoreset_mode": "next-step"}
    with pytest.raises(TypeError, match="AutoresetMode"):
        VecStats(inner)


def test_same_attributes_as_gymnasium_vector_wrapper():
    ours = VecStats(fixed_envs(AutoresetMode.NEXT_STEP), buffer_length=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GymVecStats(fixed_envs(AutoresetMode.NEXT_STEP), buffer_length=9)
    for name in ("episode_count", "episode_start_times", "episode_returns", "episode_lengths",
                 "prev_dones", "_stats_key"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert data_equivalence(a, b, exact=True), name
    for name in ("return_queue", "length_queue", "time_queue"):
        assert getattr(ours, name).maxlen == 9
    assert ours._saved_kwargs["buffer_length"] == 9
    assert isinstance(ours, gym.utils.RecordConstructorArgs)


# --------------------------------------------------------------------------- property


@settings(max_examples=100, deadline=None)
@given(
    mode=st.sampled_from(list(AutoresetMode)),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    ops=st.lists(st.one_of(st.just(None), st.integers(1, 15)), min_size=1, max_size=40),
)
def test_every_reported_episode_is_complete_whatever_the_resets(mode, lengths, ops):
    """Each sub-env's episodes last exactly its length, so every report must say so.

    ``ops`` is a schedule of steps (``None``) and partial resets (an int read as a
    bit mask over the sub-envs); under DISABLED the done sub-envs are also reset.
    """
    n = len(lengths)
    records: list[EpisodeRecord] = []
    envs = VecStats(fixed_envs(mode, lengths=lengths), on_episode_end=records.append)
    envs.reset(seed=0)
    reported = 0
    for op in ops:
        if op is None:
            _, _, term, trunc, info = envs.step(np.zeros(n, dtype=np.int64))
            if "episode" in info:
                idx = np.flatnonzero(info["_episode"])
                reported += len(idx)
                for i in idx:
                    assert info["episode"]["l"][i] == lengths[i]
                    assert info["episode"]["r"][i] == float(lengths[i])
            done = term | trunc
            if mode == AutoresetMode.DISABLED and done.any():
                envs.reset(options={"reset_mask": done})
        else:
            mask = np.array([bool(op >> i & 1) for i in range(n)])
            if mask.any():
                envs.reset(options={"reset_mask": mask})
        assert np.all(envs.episode_lengths <= np.array(lengths))
    assert reported == envs.episode_count == len(records)
    assert [r.index for r in records] == list(range(reported))
    assert all(r.length == lengths[r.env_index] for r in records)


@pytest.mark.parametrize("with_log", [False, True])
def test_last_record_when_several_sub_envs_end_on_one_step(tmp_path, with_log):
    """Without a log or callback only the newest record is built; it must still be right."""
    log = str(tmp_path / "episodes.jsonl") if with_log else None
    envs = VecStats(fixed_envs(AutoresetMode.NEXT_STEP, lengths=(3, 3, 3)), log=log)
    envs.reset(seed=0)
    for _ in range(3):
        envs.step(envs.action_space.sample())
    last = envs.last_record
    assert (last.index, last.env_index, last.length, last.episode_return) == (2, 2, 3, 3.0)
    assert envs.episode_count == 3 and list(envs.length_queue) == [3, 3, 3]
    envs.close()
    if with_log:
        rows = agentreel.read_episodes(log)
        assert [(r.index, r.env_index) for r in rows] == [(0, 0), (1, 1), (2, 2)]
