"""Parallel evaluation on local worker processes (``agentreel record --workers K``).

The acceptance criteria of issue #8: for the same seeds, returns are identical
with 1 and 2 workers (and with plain ``record``); the merged log has exactly N
rows; every video decodes (frames = length + 1); killing a worker mid-run still
gives N rows and no duplicates. The Ray backend is in ``test_evaluate_ray.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentreel.app.run import record_run
from agentreel.evaluate import ShardTask, evaluate, plan_shards, run_shard
from agentreel.evaluate.plan import PARTS_DIR
from agentreel.log import read_episodes
from agentreel.report import Run
from videotools import decode

EPISODES = 6
SEED = 0


def run_eval(out: Path, **kwargs):
    options = {"episodes": EPISODES, "policy": "random", "seed": SEED, "progress": False,
               "report": False, **kwargs}
    return evaluate("CartPole-v1", out=str(out), **options)


def returns(records) -> list[tuple[int, int, float, int]]:
    return [(r.index, r.seed, r.episode_return, r.length) for r in records]


def check_run_folder(folder: Path, episodes: int = EPISODES) -> list:
    """One log of N rows sorted by index, videos that decode and join their records."""
    records = read_episodes(folder)
    assert [r.index for r in records] == list(range(episodes))
    assert [r.seed for r in records] == [SEED + i for i in range(episodes)]
    assert {p.name for p in folder.glob("*.jsonl")} == {"episodes.jsonl"}
    assert len(read_episodes(folder / "monitor.csv")) == episodes
    assert not (folder / PARTS_DIR).exists()
    assert not list(folder.rglob("*.partial")) and not list(folder.rglob("*.tmp"))
    run = Run(folder)
    assert len(run.videos) == episodes
    for video in run.videos:
        record = video.record
        assert record is not None and video.episode_id == record.index
        assert video.name == f"CartPole-v1-episode-{record.index}"
        assert video.episode_return == record.episode_return
        assert record.video == video.path.name
        assert decode(video.path).count == record.length + 1 == video.frames
    return records


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    return run_eval(tmp_path_factory.mktemp("w1") / "run", workers=1)


def test_plan_shards_covers_every_episode_once_in_balanced_contiguous_blocks():
    for episodes in range(1, 30):
        for workers in range(1, 9):
            shards = plan_shards(episodes, workers)
            assert [i for s in shards for i in s] == list(range(episodes))
            assert len(shards) == min(episodes, workers)
            sizes = [len(s) for s in shards]
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    with pytest.raises(ValueError, match="workers"):
        plan_shards(3, 0)


def test_one_worker_matches_plain_record_and_writes_a_complete_run(one_worker, tmp_path):
    folder = Path(one_worker.out)
    records = check_run_folder(folder)
    plain = record_run("CartPole-v1", episodes=EPISODES, policy="random", seed=SEED,
                       out=str(tmp_path / "plain"), progress=False, report=False)
    assert returns(records) == returns(plain.records)
    assert len({r.episode_return for r in records}) > 1  # a real test: returns differ
    assert one_worker.workers == 1 and one_worker.backend == "local"
    assert one_worker.failures == [] and one_worker.reruns == 0
    assert one_worker.steps == sum(r.length for r in records)


def test_two_workers_give_identical_returns_and_a_report(one_worker, tmp_path):
    result = run_eval(tmp_path / "run", workers=2, report=True)
    records = check_run_folder(Path(result.out))
    assert returns(records) == returns(one_worker.records)
    assert result.workers == 2 and len(result.shards) == 2
    assert len({report.pid for report in result.shards}) == 2  # two processes really ran
    assert result.report is not None and result.report.read_text().count("<video ") == EPISODES
    sidecar = json.loads((Path(result.out) / "CartPole-v1-episode-4.json").read_text())
    assert sidecar["path"] == "CartPole-v1-episode-4.mp4" and sidecar["tags"]["episode_id"] == 4


def test_every_kth_episode_is_recorded_by_its_global_index(one_worker, tmp_path):
    result = run_eval(tmp_path / "run", workers=2, every=4)
    assert returns(result.records) == returns(one_worker.records)
    assert sorted(v.episode_id for v in result.videos) == [0, 4]
    assert [r.video for r in result.records] == [
        "CartPole-v1-episode-0.mp4", None, None, None, "CartPole-v1-episode-4.mp4", None]


def test_a_killed_worker_is_reported_and_its_unfinished_episodes_rerun_once(
        one_worker, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv("AGENTREEL_KILL_MARKER", str(marker))
    result = run_eval(tmp_path / "run", workers=2, policy="helpers.eval_policies:KillOnce")
    assert marker.exists()  # a worker really was killed
    records = check_run_folder(Path(result.out))  # N rows, no duplicates, all videos decode
    assert returns(records) == returns(one_worker.records)
    assert len(result.failures) == 1 and "died" in result.failures[0]
    assert "rerunning its" in result.failures[0]
    # the dead worker had committed 2 of its 3 episodes (see eval_policies): only 1 reruns
    assert result.reruns == 1 and "rerunning its 1 unfinished episode" in result.failures[0]
    assert len(result.shards) == 2  # the surviving worker and the rerun


def test_episodes_lost_twice_fail_the_run_but_keep_the_finished_ones(one_worker, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match=r"did not finish even after a rerun") as caught:
        run_eval(out, workers=2, policy="helpers.eval_policies:KillAlways")
    assert "died" in str(caught.value)
    kept = read_episodes(out)
    # each worker commits 1 episode, dies; each rerun commits 1 more, dies: 2 lost
    assert sorted(r.index for r in kept) == [0, 1, 3, 4]
    assert len({r.index for r in kept}) == len(kept)
    expected = {r.index: r.episode_return for r in one_worker.records}
    assert all(r.episode_return == expected[r.index] for r in kept)
    assert not (out / PARTS_DIR).exists()


def test_a_worker_error_is_raised_in_the_driver(tmp_path):
    with pytest.raises(ValueError, match="cannot import"):
        run_eval(tmp_path / "run", workers=2, policy="no_such_module_xyz:act")


def test_a_worker_that_cannot_see_the_drivers_folder_says_so(tmp_path):
    task = ShardTask("CartPole-v1", "random", str(tmp_path), shard=0, attempt=0, indices=(0,),
                     seed=0, token="abc")
    with pytest.raises(RuntimeError, match="shared by every node"):
        run_shard(task)


def test_a_folder_that_holds_a_run_is_refused(one_worker):
    with pytest.raises(ValueError, match="already holds a run"):
        run_eval(Path(one_worker.out), workers=2)


def agentreel(*args: str, cwd: Path, prelude: str = "pass") -> subprocess.CompletedProcess:
    code = f"import sys; {prelude}; from agentreel.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, text: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "XDG_RUNTIME_DIR" not in line]
    assert len(lines) == 1 and lines[0].startswith("agentreel: error:"), proc.stderr
    assert text in lines[0]


def test_cli_record_with_workers(one_worker, tmp_path):
    proc = agentreel("record", "CartPole-v1", "-n", str(EPISODES), "--workers", "2", "--policy",
                     "random", "--seed", str(SEED), "-o", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "(2 local workers, seed 0)" in proc.stdout and f"over {EPISODES} episodes" in proc.stdout
    records = check_run_folder(tmp_path / "run")
    assert returns(records) == returns(one_worker.records)
    assert (tmp_path / "run" / "report.html").exists()
    summary = agentreel("summary", "run", "--json", cwd=tmp_path)
    assert json.loads(summary.stdout)["runs"][0]["episodes"] == EPISODES


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "ray"], 'pip install "agentreel[ray]"'),
    (["--workers", "2", "--num-envs", "2"], "--num-envs cannot be combined"),
    (["--workers", "0"], "--workers must be an integer >= 1"),
    (["--workers", "2", "--address", "auto"], "--address is for --backend ray"),
    (["--workers", "2", "--policy", "nonsense"], "unknown policy"),
    (["--workers", "2", "--env-typo"], "unrecognized arguments"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    block_ray = "sys.modules['ray'] = None"  # as if ray were not installed
    proc = agentreel("record", "CartPole-v1", "-n", "2", *args, cwd=tmp_path, prelude=block_ray)
    if message == "unrecognized arguments":
        assert proc.returncode == 2 and message in proc.stderr
        return
    one_line_error(proc, message)
    assert not any(tmp_path.iterdir())  # nothing written


def test_unknown_env_is_one_line(tmp_path):
    proc = agentreel("record", "NoSuchEnv-v0", "--workers", "2", cwd=tmp_path)
    one_line_error(proc, "NoSuchEnv-v0")



@pytest.mark.parametrize("module", ["agentreel.evaluate", "agentreel.evaluate.plan",
                                    "agentreel.evaluate.worker", "agentreel.evaluate.backends",
                                    "agentreel.evaluate.merge", "agentreel.evaluate.runner"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_a_worker_that_died_before_starting_is_rerun_once_then_given_up(tmp_path):
    import io

    from agentreel.app.run import Progress
    from agentreel.evaluate.backends import Job, WorkerDied
    from agentreel.evaluate.merge import PartsWatcher
    from agentreel.evaluate.runner import EvaluationResult, _worker_died

    class Recorder:
        submitted: list = []

        def submit(self, task):
            self.submitted.append(task)
            return Job(task, None)

    runner, running, stream = Recorder(), [], io.StringIO()
    result = EvaluationResult(out=str(tmp_path), env_id="CartPole-v1")
    watcher = PartsWatcher(tmp_path)
    task = ShardTask("CartPole-v1", "random", str(tmp_path), shard=3, attempt=0,
                     indices=(6, 7), seed=0)
    bar = Progress(2, stream=stream, enabled=False)
    lost = _worker_died(Job(task, None), WorkerDied("killed"), runner, running, watcher, bar,
                        result)
    assert lost == [] and [t.indices for t in runner.submitted] == [(6, 7)]
    assert runner.submitted[0].attempt == 1 and result.reruns == 2
    assert "worker 3 died: it died before starting" in result.failures[0]
    assert result.failures[0] in stream.getvalue()  # reported even without a progress bar
    lost = _worker_died(running[0], WorkerDied("killed"), runner, running, watcher, bar, result)
    assert lost == [6, 7] and len(runner.submitted) == 1  # no second rerun
    assert "worker 3 (rerun) died" in result.failures[1] and "6-7 are lost" in result.failures[1]
