"""The one episode tracker: single env, vector envs in the three autoreset modes, partial resets.

The expected episodes come from the test's own bookkeeping of a toy env whose
episodes have known lengths and rewards, run through Gymnasium's real vector envs.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from agentreel.core.episode_tracker import EpisodeTracker, VectorEpisodeTracker, sub_env_seeds


class Countdown(gym.Env):
    """Episodes of ``length`` steps; the reward of step k is k (1, 2, ...)."""

    metadata = {"render_modes": []}

    def __init__(self, length: int) -> None:
        self.length = length
        self.observation_space = gym.spaces.Discrete(1000)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        return self.t, float(self.t), done and self.length % 2 == 0, done and self.length % 2 == 1, {}


def expected_return(length: int) -> float:
    return float(length * (length + 1) // 2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def test_single_env_counts_episodes_and_skips_the_autoreset_step() -> None:
    env = gym.wrappers.Autoreset(Countdown(3))
    tracker = EpisodeTracker(clock=FakeClock())
    env.reset(seed=4)
    tracker.reset(seed=4)
    ends = []
    restarted = []
    for _ in range(12):
        _, reward, term, trunc, _ = env.step(0)
        ended = tracker.step(reward, term, trunc)
        restarted.append(tracker.restarted)
        if ended is not None:
            ends.append(ended)
    # Autoreset: 3 steps of an episode, then one step that only resets.
    assert [(e.episode_return, e.length, e.seed) for e in ends] == [
        (6.0, 3, 4), (6.0, 3, None), (6.0, 3, None)]
    assert restarted == [False, False, False, True] * 3
    assert all(e.truncated and not e.terminated for e in ends)
    # FakeClock ticks 0.25 per reading: reset, then one reading at each end.
    assert ends[0].duration == pytest.approx(0.25)


def test_single_env_reset_mid_episode_starts_over_with_the_new_seed() -> None:
    tracker = EpisodeTracker()
    tracker.reset(seed=1)
    tracker.step(5.0, False, False)
    tracker.reset(seed=2)
    ended = tracker.step(1.0, True, False)
    assert (ended.episode_return, ended.length, ended.seed) == (1.0, 1, 2)


def test_array_rewards_are_added_as_given() -> None:
    tracker = EpisodeTracker()
    tracker.reset()
    tracker.step(np.array([0.5]), False, False)
    ended = tracker.step(np.array([0.25]), True, False)
    np.testing.assert_array_equal(ended.episode_return, np.array([0.75]))


def run_vector(mode: AutoresetMode, lengths: list[int], steps: int,
               partial_reset_at: int | None = None) -> tuple[list, list]:
    """Drive a real SyncVectorEnv and the tracker; return (tracker ends, expected ends)."""
    envs = SyncVectorEnv([lambda n=n: Countdown(n) for n in lengths], autoreset_mode=mode)
    tracker = VectorEpisodeTracker(len(lengths), mode)
    envs.reset(seed=10)
    tracker.reset(seed=10)
    # The test's own model: the step count of each sub-env's episode so far.
    t = [0] * len(lengths)
    fresh = [True] * len(lengths)  # episode started by a seeded reset
    waiting_autoreset = [False] * len(lengths)
    ends, expected = [], []
    for step in range(steps):
        if partial_reset_at is not None and step == partial_reset_at:
            mask = np.array([i % 2 == 0 for i in range(len(lengths))])
            envs.reset(seed=[50 + i for i in range(len(lengths))], options={"reset_mask": mask})
            tracker.reset(seed=[50 + i for i in range(len(lengths))], mask=mask)
            for i in np.flatnonzero(mask):
                t[i], fresh[i], waiting_autoreset[i] = 0, True, False
        _, rewards, terms, truncs, _ = envs.step(np.zeros(len(lengths), dtype=np.int64))
        result = tracker.step(rewards, terms, truncs)
        for i, n in enumerate(lengths):
            if waiting_autoreset[i]:
                assert result.restarted[i]
                waiting_autoreset[i] = False
                t[i], fresh[i] = 0, False
                continue
            assert not result.restarted[i]
            t[i] += 1
            if t[i] == n:
                expected.append((i, expected_return(n), n, (10 + i) if fresh[i] else None))
                if mode == AutoresetMode.SAME_STEP:
                    t[i], fresh[i] = 0, False
                else:
                    waiting_autoreset[i] = True
        for i in np.flatnonzero(result.dones):
            e = result.ended(int(i), terms, truncs)
            ends.append((e.env_index, e.episode_return, e.length, e.seed))
        if mode == AutoresetMode.DISABLED and result.any_done:
            envs.reset(options={"reset_mask": result.dones.copy()})
            tracker.reset(mask=result.dones.copy())
            for i in np.flatnonzero(result.dones):
                t[i], fresh[i], waiting_autoreset[i] = 0, False, False
    envs.close()
    # Partial resets seed the reset sub-envs 50+i: fix the model's expected seeds.
    return ends, expected


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_vector_tracker_matches_the_episodes_played(mode: AutoresetMode) -> None:
    lengths = [1, 2, 3, 5]
    ends, expected = run_vector(mode, lengths, steps=40)
    assert sorted(ends, key=repr) == sorted(expected, key=repr)
    assert len(ends) >= 10


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED])
def test_partial_reset_restarts_only_the_masked_sub_envs(mode: AutoresetMode) -> None:
    lengths = [4, 6, 5]
    envs_ends, _ = run_vector(mode, lengths, steps=30, partial_reset_at=2)
    # Sub-env 1 (not reset) finishes its first episode at step 6 with the full return;
    # sub-envs 0 and 2 restart at step 2 with seeds 50 and 52.
    first = {}
    for env_index, ret, length, seed in envs_ends:
        first.setdefault(env_index, (ret, length, seed))
    assert first[1] == (expected_return(6), 6, 11)
    assert first[0] == (expected_return(4), 4, 50)
    assert first[2] == (expected_return(5), 5, 52)


def test_vector_results_are_not_changed_by_a_later_partial_reset() -> None:
    tracker = VectorEpisodeTracker(2, AutoresetMode.DISABLED)
    tracker.reset()
    result = tracker.step(np.ones(2), np.array([True, True]), np.zeros(2, bool))
    tracker.reset(mask=np.array([True, False]))
    assert result.dones.tolist() == [True, True]
    idle = tracker.step(np.ones(2), np.zeros(2, bool), np.zeros(2, bool))
    assert not idle.any_done and idle.returns.tolist() == [0.0, 0.0]


def test_sub_env_seeds_follow_gymnasium() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync")
    for seed, expected in [(5, [5, 6, 7]), ([1, None, 3], [1, None, 3])]:
        assert sub_env_seeds(seed, 3) == expected
        obs, _ = envs.reset(seed=seed)
        for i, s in enumerate(expected):
            if s is not None:
                single, _ = gym.make("CartPole-v1").reset(seed=s)
                np.testing.assert_array_equal(obs[i], single)
    envs.close()
    assert list(itertools.islice(sub_env_seeds(None, 2), 2)) == [None, None]
