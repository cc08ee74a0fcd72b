"""`agentreel record pettingzoo....` and the read-back commands on multi-agent runs."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pettingzoo")

from agentreel import read_episodes  # noqa: E402
from agentreel.cli import main  # noqa: E402
from videotools import decode_count  # noqa: E402

POLICY = '''
CALLS = []

def act(observation, agent):
    CALLS.append(agent)
    return observation["action_mask"].argmax() if isinstance(observation, dict) else [0.5]
'''


def test_record_aec_connect_four_then_summary_plot_report(tmp_path, capsys):
    out = tmp_path / "c4"
    assert main(["record", "pettingzoo.classic.connect_four_v3", "-n", "3", "--seed", "0",
                 "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "Recorded 3 episodes" in printed and "agent player_0: mean" in printed
    records = read_episodes(out / "episodes.jsonl")
    assert len(records) == 3 and [r.seed for r in records] == [0, 1, 2]
    for r in records:
        agents = r.extras["agents"]
        assert set(agents) == {"player_0", "player_1"}
        assert sum(a["length"] for a in agents.values()) == r.length
        assert r.episode_return == pytest.approx(sum(a["return"] for a in agents.values()))
        # AEC: the reset frame plus one per move
        assert decode_count(out / f"connect_four_v3-episode-{r.index}.mp4") == r.length + 1
    # monitor.csv: the team return as r
    monitor = pytest.importorskip("stable_baselines3.common.monitor")
    assert list(monitor.load_results(str(out))["r"]) == pytest.approx([r.episode_return for r in records])

    assert main(["summary", str(out), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["runs"][0]
    assert row["agents"]["player_0"]["count"] == 3
    assert row["agents"]["player_1"]["mean"] == pytest.approx(
        sum(r.extras["agents"]["player_1"]["return"] for r in records) / 3)
    assert main(["summary", str(out)]) == 0
    assert "agent player_1: mean" in capsys.readouterr().out

    pytest.importorskip("matplotlib")
    assert main(["plot", str(out), "-o", str(tmp_path / "curve.svg")]) == 0
    svg = (tmp_path / "curve.svg").read_text()
    assert "player_0" in svg and "team (sum)" in svg

    html = (out / "report.html").read_text()
    assert 'id="agents"' in html and "<td>player_1</td>" in html
    first = records[0].extras["agents"]
    assert f"player_0 {first['player_0']['return']:.1f}, player_1 {first['player_1']['return']:.1f}" in html


def test_record_parallel_pistonball_policy_gets_agent_ids(tmp_path, monkeypatch, capsys):
    (tmp_path / "pz_policy.py").write_text(POLICY)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "pb"
    assert main(["record", "pettingzoo.butterfly.pistonball_v6,max_cycles=4,n_pistons=5", "-n", "2",
                 "--policy", "pz_policy:act", "--every", "2", "-o", str(out), "-q",
                 "--no-report"]) == 0
    import pz_policy

    assert [f"piston_{i}" for i in range(5)] * 8 == pz_policy.CALLS
    records = read_episodes(out / "episodes.jsonl")
    assert [r.length for r in records] == [4, 4]
    assert sorted(p.name for p in out.glob("*.mp4")) == ["pistonball_v6-episode-0.mp4"]
    assert decode_count(out / "pistonball_v6-episode-0.mp4") == 5


def test_bad_specs_name_the_fix(tmp_path, capsys):
    assert main(["record", "pettingzoo.classic.connect_four_v3:oops", "-o", str(tmp_path)]) == 2
    assert ":env (AEC) or :parallel_env" in capsys.readouterr().err
    assert main(["record", "pettingzoo.classic.connect_four_v3,max_cycles", "-o", str(tmp_path)]) == 2
    assert "key=value" in capsys.readouterr().err
