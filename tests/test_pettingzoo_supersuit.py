"""Per-agent episode statistics through SuperSuit's vector envs (slots mapped back to agents)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
ss = pytest.importorskip("supersuit")

import gymnasium as gym  # noqa: E402
from pettingzoo.butterfly import knights_archers_zombies_v11, pistonball_v6  # noqa: E402

from agentreel import read_episodes  # noqa: E402
from agentreel.pettingzoo import RecordEpisodeStatisticsParallel  # noqa: E402
from agentreel.pettingzoo.supersuit import SuperSuitEpisodeStatistics  # noqa: E402


def pistonball_venv(copies=2):
    venv = ss.pettingzoo_env_to_vec_env_v1(pistonball_v6.parallel_env(n_pistons=4, max_cycles=5))
    return ss.concat_vec_envs_v1(venv, copies, num_cpus=0, base_class="gymnasium")


def test_gymnasium_wrapper_breaks_on_supersuit_infos():
    """Why this exists (CleanRL #408): Gymnasium's vector wrapper refuses SuperSuit's list infos."""
    env = gym.wrappers.vector.RecordEpisodeStatistics(pistonball_venv())
    env.reset(seed=0)
    with pytest.raises(AssertionError, match="info"):
        env.step(np.zeros((8, 1), np.float32))


def test_slots_mapped_back_to_agents_and_copies(tmp_path):
    venv = SuperSuitEpisodeStatistics(pistonball_venv(), log=tmp_path / "episodes.jsonl")
    assert venv.agents_per_copy == [f"piston_{i}" for i in range(4)] and venv.copies == 2
    venv.reset(seed=10)
    rng = np.random.default_rng(0)
    sums = np.zeros(8)
    seen = {}
    for _ in range(5):   # one episode per copy (pistonball truncates at max_cycles)
        _, rewards, term, trunc, infos = venv.step(rng.uniform(-1, 1, (8, 1)).astype(np.float32))
        sums += rewards
        for i, info in enumerate(infos):
            if "episode" in info:
                seen[i] = info["episode"]
    venv.close()
    assert sorted(seen) == list(range(8))
    for i, stats in seen.items():
        assert (stats["agent"], stats["copy"]) == (f"piston_{i % 4}", i // 4)
        assert stats["r"] == pytest.approx(sums[i], abs=1e-4) and stats["l"] == 5
    records = read_episodes(tmp_path / "episodes.jsonl")
    assert sorted((r.env_index, r.seed) for r in records) == [(0, 10), (1, 11)]
    for r in records:
        agents = r.extras["agents"]
        assert [agents[f"piston_{k}"]["return"] for k in range(4)] == pytest.approx(
            sums[4 * r.env_index: 4 * r.env_index + 4], abs=1e-4)
        assert r.episode_return == pytest.approx(sums[4 * r.env_index: 4 * r.env_index + 4].sum(), abs=1e-3)
    assert len(venv.return_queue["piston_2"]) == 2 and len(venv.team_return_queue) == 2


def kaz_venv(inner: bool):
    env = knights_archers_zombies_v11.parallel_env(max_cycles=40, spawn_delay=1, line_death=True)
    if inner:
        env = RecordEpisodeStatisticsParallel(env)
    venv = ss.pettingzoo_env_to_vec_env_v1(ss.black_death_v3(env))
    return ss.concat_vec_envs_v1(venv, 1, base_class="gymnasium")


def run_one_episode(venv, seed):
    venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    sums, inner_stats = np.zeros(4), {}
    while not venv.team_return_queue:
        _, rewards, _, _, infos = venv.step(rng.integers(6, size=4))
        sums += rewards
        for i, info in enumerate(infos):
            if "episode" in info and not inner_stats.get(i):
                inner_stats[i] = dict(info["episode"])
    return sums, inner_stats


def test_agents_leaving_early_with_the_wrapper_inside(tmp_path):
    """Inside (before conversion) the exits are seen exactly; the outer wrapper adopts them."""
    venv = SuperSuitEpisodeStatistics(kaz_venv(inner=True), log=tmp_path)
    sums, first_stats = run_one_episode(venv, seed=3)
    venv.close()
    agents = venv.agents_per_copy
    ep = venv.last_episode
    # seeded run: knight_0 and archer_0 leave at steps 16 and 27 of 40 (their slots' info then)
    assert ep.lengths == {"archer_0": 27, "archer_1": 40, "knight_0": 16, "knight_1": 40}
    assert {agents[i]: s["l"] for i, s in first_stats.items()} == ep.lengths
    assert set(ep.terminated_agents) == {"archer_0", "knight_0"}
    assert set(ep.truncated_agents) == {"archer_1", "knight_1"}
    assert ep.returns == pytest.approx(dict(zip(agents, sums, strict=True)))
    (record,) = read_episodes(tmp_path / "episodes.jsonl")
    assert record.extras["agents"]["knight_0"]["length"] == 16 and record.length == 40
    assert record.seed == 3 and record.env_index == 0


def test_agents_leaving_early_outside_only_sees_what_supersuit_reports():
    """SuperSuit 3.11's black_death_v3 hides exits: returns right, lengths and flags not."""
    venv = SuperSuitEpisodeStatistics(kaz_venv(inner=False))
    sums, _ = run_one_episode(venv, seed=3)
    ep = venv.last_episode
    assert ep.returns == pytest.approx(dict(zip(venv.agents_per_copy, sums, strict=True)))
    assert set(ep.lengths.values()) == {41}     # one step after the last agent left
    assert set(ep.terminated_agents) == set(ep.truncated_agents) == set(venv.agents_per_copy)


def test_refuses_what_it_cannot_map():
    with pytest.raises(TypeError, match="base_class='gymnasium'"):
        SuperSuitEpisodeStatistics(pistonball_v6.parallel_env())
    with pytest.raises(ValueError, match="whole number of copies"):
        SuperSuitEpisodeStatistics(pistonball_venv(), agents=["a", "b", "c"])


def test_inner_and_outer_ending_on_the_same_step_share_one_stats_entry():
    inner = RecordEpisodeStatisticsParallel(pistonball_v6.parallel_env(n_pistons=4, max_cycles=5))
    venv = ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(inner), 2, base_class="gymnasium")
    venv = SuperSuitEpisodeStatistics(venv)
    venv.reset(seed=0)
    seen = {}
    while len(venv.team_return_queue) < 2:
        _, _, _, _, infos = venv.step(np.random.default_rng(0).uniform(-1, 1, (8, 1)).astype(np.float32))
        seen.update({i: info["episode"] for i, info in enumerate(infos) if "episode" in info})
    stats = seen[6]
    assert (stats["agent"], stats["copy"]) == ("piston_2", 1)
    assert "team" in stats   # the inner wrapper's stats, adopted (no clash on the shared key)
    assert stats["team"]["lengths"]["piston_2"] == stats["l"]
