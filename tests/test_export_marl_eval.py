"""`agentreel export --format marl-eval`: marl-eval's published raw-data schema, read back."""

from __future__ import annotations

import json

import pytest

from agentreel.cli import main
from agentreel.core.records import EpisodeRecord
from agentreel.log import JsonlSink, MonitorCsvSink
from agentreel.report.export_marl_eval import check_marl_eval, to_marl_eval


def write_run(folder, returns, lengths, env_id="pistonball_v6"):
    folder.mkdir()
    records = [EpisodeRecord(i, r, n, extras={"agents": {"a": {"return": r / 2, "length": n},
                                                          "b": {"return": r / 2, "length": n}}})
               for i, (r, n) in enumerate(zip(returns, lengths, strict=True))]
    for sink in (JsonlSink(folder / "episodes.jsonl"), MonitorCsvSink(folder / "monitor.csv", env_id=env_id)):
        for r in records:
            sink.write(r)
        sink.close()
    return records


def read_like_marl_eval(data):
    """Walk the file as marl-eval's README describes it: env -> task -> algorithm -> run -> step."""
    table = {}
    for env, tasks in data.items():
        for task, algorithms in tasks.items():
            for algorithm, runs in algorithms.items():
                for run, steps in runs.items():
                    *logged, last = steps
                    assert last == "absolute_metrics"
                    for step in logged:
                        assert isinstance(steps[step]["step_count"], int)
                    table[(env, task, algorithm, run)] = (
                        [steps[s]["step_count"] for s in logged],
                        [sum(steps[s]["return"]) / len(steps[s]["return"]) for s in logged],
                        steps["absolute_metrics"]["return"])
    return table


def test_cli_export_two_runs(tmp_path, capsys):
    a = write_run(tmp_path / "seed0", [1.0, 2.0, 3.0, 4.0, 5.0], [10, 10, 12, 12, 9])
    write_run(tmp_path / "seed1", [0.0, 2.0, 2.0, 6.0], [5, 5, 5, 5])
    out = tmp_path / "me.json"
    assert main(["export", "--format", "marl-eval", str(tmp_path / "seed0"), str(tmp_path / "seed1"),
                 "-o", str(out), "--algorithm", "random", "--episodes-per-step", "2"]) == 0
    assert "2 runs x 2 evaluation steps" in capsys.readouterr().out
    data = json.loads(out.read_text())
    check_marl_eval(data)
    table = read_like_marl_eval(data)
    # env and task from monitor.csv's env_id; the fifth episode of seed0 is cut (2 whole steps each)
    assert table[("pistonball_v6", "pistonball_v6", "random", "run_0")] == (
        [20, 44], [1.5, 3.5], [3.0, 4.0])
    assert table[("pistonball_v6", "pistonball_v6", "random", "run_1")] == ([10, 20], [1.0, 4.0], [2.0, 6.0])
    assert a[0].episode_return == 1.0


@pytest.mark.parametrize("breakage,why", [
    (lambda run: run.pop("absolute_metrics"), "absolute_metrics"),
    (lambda run: run["step_1"].pop("episode_length"), "same metrics"),
    (lambda run: run["step_1"].update(step_count=1), "step_count"),
    (lambda run: run["step_0"].update({"return": [float("nan")]}), "finite numbers"),
])
def test_check_refuses_what_marl_eval_cannot_read(breakage, why):
    data = to_marl_eval([[EpisodeRecord(i, 1.0, 3) for i in range(4)]], environment="e", task="t",
                        algorithm="a", episodes_per_step=2)
    breakage(data["e"]["t"]["a"]["run_0"])
    with pytest.raises(ValueError, match=why):
        check_marl_eval(data)


def test_runs_must_share_the_shape():
    data = to_marl_eval([[EpisodeRecord(i, 1.0, 3) for i in range(4)]], environment="e", task="t",
                        algorithm="a", episodes_per_step=2)
    other = to_marl_eval([[EpisodeRecord(i, 1.0, 3) for i in range(4)]], environment="e", task="t",
                         algorithm="b", episodes_per_step=1)
    data["e"]["t"]["b"] = other["e"]["t"]["b"]
    with pytest.raises(ValueError, match="same steps"):
        check_marl_eval(data)
    with pytest.raises(ValueError, match="episodes-per-step"):
        to_marl_eval([[EpisodeRecord(0, 1.0, 3)]], environment="e", task="t", algorithm="a",
                     episodes_per_step=2)
