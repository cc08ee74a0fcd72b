"""agentreel.pettingzoo.RecordEpisodeStatistics on real PettingZoo envs: per agent and team."""

from __future__ import annotations

import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.butterfly import knights_archers_zombies_v11, pistonball_v6  # noqa: E402
from pettingzoo.classic import connect_four_v3  # noqa: E402
from pettingzoo.utils.wrappers import BaseParallelWrapper  # noqa: E402

from agentreel import read_episodes  # noqa: E402
from agentreel.pettingzoo import (  # noqa: E402
    RecordEpisodeStatistics,
    RecordEpisodeStatisticsParallel,
)
from pettingzoo_loops import play_aec, play_parallel  # noqa: E402


def kaz(parallel: bool = False, **kwargs):
    make = knights_archers_zombies_v11.parallel_env if parallel else knights_archers_zombies_v11.env
    return make(max_cycles=150, spawn_delay=2, line_death=True, **kwargs)


def check_against_loop(env, played, record):
    """The wrapper's episode equals what the test's own loop summed."""
    ep = env.last_episode
    assert ep.returns == pytest.approx(played.returns)
    assert ep.lengths == played.moves
    assert ep.length == played.env_steps
    assert ep.team_return == pytest.approx(sum(played.returns.values()))
    assert set(ep.terminated_agents) == played.terminated
    assert set(ep.truncated_agents) == played.truncated
    agents = record.extras["agents"]
    assert {a: v["return"] for a, v in agents.items()} == pytest.approx(played.returns)
    assert {a: v["length"] for a, v in agents.items()} == played.moves
    assert record.episode_return == pytest.approx(sum(played.returns.values()))
    assert record.length == played.env_steps
    for agent, info in played.infos_at_end.items():   # the ending agent's info, seen by the loop
        stats = info["episode"]
        assert stats["r"] == pytest.approx(played.returns[agent])
        assert stats["l"] == played.moves[agent]
        assert stats["t"] >= 0


def test_connect_four_aec_per_agent_returns_and_logs(tmp_path):
    env = RecordEpisodeStatistics(connect_four_v3.env(), log=tmp_path, buffer_length=3)
    for seed in range(4):
        played = play_aec(env, seed)
        check_against_loop(env, played, env.last_record)
        assert played.dead_steps == 2 and sorted(played.returns.values()) in ([-1.0, 1.0], [0.0, 0.0])
        # both agents end on the same (winning) move: both infos hold the team stats
        team = played.infos_at_end["player_0"]["episode"]["team"]
        assert team["l"] == played.env_steps and team["returns"] == pytest.approx(played.returns)
    env.close()
    assert env.episode_count == 4 and len(env.team_return_queue) == 3
    assert list(env.return_queue["player_0"]) == [r.extras["agents"]["player_0"]["return"]
                                                  for r in read_episodes(tmp_path / "episodes.jsonl")[1:]]
    rows = read_episodes(tmp_path / "episodes.jsonl")
    assert [r.index for r in rows] == [0, 1, 2, 3] and rows[0].seed == 0
    assert set(rows[0].extras["agents"]) == {"player_0", "player_1"}
    # monitor.csv: SB3 reads it; r is the team return, l the moves
    monitor = pytest.importorskip("stable_baselines3.common.monitor")
    frame = monitor.load_results(str(tmp_path))
    assert list(frame["r"]) == pytest.approx([r.episode_return for r in rows])
    assert list(frame["l"]) == [r.length for r in rows]


def test_agents_leaving_early_aec():
    env = RecordEpisodeStatistics(kaz())
    played = play_aec(env, seed=0)
    record = env.last_record
    check_against_loop(env, played, record)
    lengths = sorted(env.last_episode.lengths.values())
    assert lengths[0] < lengths[-1], "some agent should leave before the others"
    # the first agent to leave had its stats in its info while the others played on
    first = min(played.moves, key=played.moves.get)
    assert "team" not in played.infos_at_end[first]["episode"]
    assert record.terminated and not record.truncated
    env.close()


def test_agents_leaving_early_parallel():
    env = RecordEpisodeStatisticsParallel(kaz(parallel=True))
    played = play_parallel(env, seed=1)
    check_against_loop(env, played, env.last_record)
    assert len(set(env.last_episode.lengths.values())) > 1
    env.close()


def test_pistonball_parallel_20_agents():
    env = RecordEpisodeStatisticsParallel(pistonball_v6.parallel_env(max_cycles=12))
    for seed in (0, 1):
        played = play_parallel(env, seed)
        check_against_loop(env, played, env.last_record)
        assert len(env.last_episode.agents) == 20
    assert len(env.return_queue) == 20 and all(len(q) == 2 for q in env.return_queue.values())
    assert list(env.team_length_queue) == [12, 12] or env.last_record.terminated
    env.close()


def test_reset_mid_episode_drops_the_unfinished_episode():
    env = RecordEpisodeStatistics(kaz())
    play_aec(env, seed=3, max_moves=17)            # cut short by the next reset()
    assert env.episode_count == 0 and env.episode_lengths
    played = play_aec(env, seed=4)
    check_against_loop(env, played, env.last_record)
    assert env.episode_count == 1 and env.last_record.index == 0 and env.last_record.seed == 4

    penv = RecordEpisodeStatisticsParallel(pistonball_v6.parallel_env(max_cycles=10))
    play_parallel(penv, seed=0, max_steps=4)
    played = play_parallel(penv, seed=1)
    check_against_loop(penv, played, penv.last_record)
    assert penv.episode_count == 1 and penv.last_record.length == 10


class HitsInfo(BaseParallelWrapper):
    """Puts a per-agent counter into each agent's info (for info_keywords)."""

    def step(self, actions):
        obs, rew, term, trunc, infos = self.env.step(actions)
        self.count = getattr(self, "count", 0) + 1
        infos = {a: {**infos[a], "hits": self.count * 10 + i} for i, a in enumerate(infos)}
        return obs, rew, term, trunc, infos


def test_info_keywords_per_agent_and_stats_key(tmp_path):
    env = RecordEpisodeStatisticsParallel(HitsInfo(pistonball_v6.parallel_env(n_pistons=4, max_cycles=5)),
                                          info_keywords=("hits",), stats_key="ep",
                                          log=tmp_path / "episodes.jsonl")
    played = play_parallel(env, seed=0)
    env.close()
    agents = read_episodes(tmp_path / "episodes.jsonl")[0].extras["agents"]
    last = played.env_steps * 10
    assert {a: v["hits"] for a, v in agents.items()} == {f"piston_{i}": last + i for i in range(4)}
    assert all("ep" in info for info in played.infos_at_end.values())


def test_stats_key_clash_is_an_error():
    class Clash(HitsInfo):
        def step(self, actions):
            obs, rew, term, trunc, infos = super().step(actions)
            return obs, rew, term, trunc, {a: {"episode": 1} for a in infos}

    env = RecordEpisodeStatisticsParallel(Clash(pistonball_v6.parallel_env(n_pistons=4, max_cycles=2)))
    with pytest.raises(ValueError, match="stats_key"):
        play_parallel(env, seed=0)
