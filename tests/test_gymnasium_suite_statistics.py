"""Gymnasium 1.4's own checks for RecordEpisodeStatistics, rewritten with agentreel's classes.

The same checks Gymnasium's test suite makes for its single-env and vector
statistics wrappers, so the drop-in contract is tested exactly where Gymnasium
tests itself.
"""

from __future__ import annotations

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import data_equivalence

import agentreel
import agentreel.vector


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("buffer_length", [2, 5])
def test_record_episode_statistics(env_id, buffer_length):
    env = agentreel.RecordEpisodeStatistics(gym.make(env_id, disable_env_checker=True),
                                            buffer_length)
    env.action_space.seed(0)
    for _ in range(5):
        env.reset(seed=len(env.return_queue))
        assert env.episode_returns == 0.0
        assert env.episode_lengths == 0
        assert env.spec is not None
        for _ in range(env.spec.max_episode_steps):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                assert "episode" in info
                assert all(item in info["episode"] for item in ("r", "l", "t"))
                break
    assert len(env.return_queue) == buffer_length
    assert len(env.length_queue) == buffer_length
    assert len(env.time_queue) == buffer_length
    assert env.return_queue.maxlen == env.length_queue.maxlen == buffer_length


def test_record_episode_statistics_reset_info():
    env = agentreel.RecordEpisodeStatistics(gym.make("CartPole-v1", disable_env_checker=True))
    ob_space = env.observation_space
    obs, info = env.reset()
    assert ob_space.contains(obs)
    assert isinstance(info, dict)
    assert "episode" not in info


@pytest.mark.parametrize("num_envs", [1, 3])
def test_vector_record_episode_statistics_matches_wrapped_single_envs(num_envs):
    vec_env = agentreel.vector.RecordEpisodeStatistics(
        gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
    )
    wrapped = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync",
                           wrappers=(agentreel.RecordEpisodeStatistics,))

    vec_env.action_space.seed(42)
    obs, info = vec_env.reset(seed=123)
    wrapped_obs, wrapped_info = wrapped.reset(seed=123)
    assert data_equivalence(obs, wrapped_obs)
    assert data_equivalence(info, wrapped_info)

    checked = 0
    for _ in range(200):
        action = vec_env.action_space.sample()
        obs, reward, terminated, truncated, info = vec_env.step(action)
        (wrapped_obs, wrapped_reward, wrapped_terminated, wrapped_truncated,
         wrapped_info) = wrapped.step(action)

        assert data_equivalence(obs, wrapped_obs)
        assert data_equivalence(reward, wrapped_reward)
        assert data_equivalence(terminated, wrapped_terminated)
        assert data_equivalence(truncated, wrapped_truncated)

        if "episode" in info:
            checked += 1
            assert "episode" in wrapped_info
            # The single-env infos are batched with a mask per inner key.
            for key in ("_r", "_l", "_t"):
                wrapped_info["episode"].pop(key)
            vec_time = info["episode"].pop("t")
            wrapped_time = wrapped_info["episode"].pop("t")
            assert vec_time.shape == wrapped_time.shape
            assert vec_time.dtype == wrapped_time.dtype
        assert data_equivalence(info, wrapped_info)
    assert checked > 0
    vec_env.close()
    wrapped.close()


def test_constructor_arguments_recorded_and_spec_round_trip():
    env = agentreel.RecordEpisodeStatistics(
        gym.make("CartPole-v1"), buffer_length=7, stats_key="ep",
        info_keywords=("is_success",), env_id="custom",
    )
    spec = env.spec
    assert spec.additional_wrappers[-1].entry_point == (
        "agentreel.wrappers.statistics:RecordEpisodeStatistics"
    )
    assert spec.additional_wrappers[-1].kwargs == {
        "buffer_length": 7, "stats_key": "ep", "info_keywords": ("is_success",),
        "log": None, "env_id": "custom", "on_episode_end": None,
    }
    remade = gym.make(spec)
    assert isinstance(remade, agentreel.RecordEpisodeStatistics)
    assert remade.spec == spec
    assert remade._saved_kwargs == env._saved_kwargs
    assert remade.return_queue.maxlen == 7 and remade._stats_key == "ep"
    assert remade._info_keywords == ("is_success",)

    remade.reset(seed=0)
    done = False
    while not done:
        _, _, te, tr, info = remade.step(remade.action_space.sample())
        done = te or tr
    assert set(info["ep"]) == {"r", "l", "t"}
    assert type(info["ep"]["r"]) is float and type(info["ep"]["l"]) is int


def test_statistics_restart_for_each_episode_of_an_autoresetting_env():
    """Newer Gymnasium test: with Autoreset inside, the step after an episode's end
    only resets the env and belongs to no episode."""
    from gymnasium.wrappers import Autoreset

    env = agentreel.RecordEpisodeStatistics(Autoreset(gym.make("CartPole-v1", disable_env_checker=True)))
    env.reset(seed=0)
    env.action_space.seed(0)
    lengths: list[int] = []
    length, autoreset = 0, False
    while len(lengths) < 3:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        length = 0 if autoreset else length + 1
        autoreset = terminated or truncated
        if autoreset:
            assert info["episode"]["r"] == length  # CartPole pays 1 per step
            assert info["episode"]["l"] == length
            lengths.append(length)
        else:
            assert "episode" not in info
    assert list(env.return_queue) == lengths
    assert list(env.length_queue) == lengths
