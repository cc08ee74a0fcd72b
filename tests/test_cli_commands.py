"""The ``agentreel`` sub-commands, run as a user would (subprocesses in a temporary folder)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentreel.analysis import summarize_records, summarize_runs
from agentreel.app.run import Progress
from agentreel.report import Run
from videotools import decode

ROOT = Path(__file__).resolve().parents[1]


def agentreel(*args: str, cwd: Path, prelude: str = "pass") -> subprocess.CompletedProcess:
    code = f"import sys; {prelude}; from agentreel.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, text: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "XDG_RUNTIME_DIR" not in line]
    assert len(lines) == 1 and lines[0].startswith("agentreel: error:"), proc.stderr
    assert text in lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    for name, seed in (("a", 1), ("b", 2)):
        proc = agentreel("record", "CartPole-v1", "-n", "3", "--policy", "random", "--seed",
                         str(seed), "-o", name, "--no-report", cwd=root)
        assert proc.returncode == 0, proc.stderr
    return root


def test_record_with_no_other_argument_in_an_empty_folder(tmp_path):
    proc = agentreel("record", "CartPole-v1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "agentreel-runs" / "CartPole-v1-001"
    run = Run(folder)
    assert len(run.records) == 10 and len(run.videos) == 10
    # the demo agent learns: early falls, then the full 500 steps (issue 14 item 11)
    returns = run.returns()
    assert len(set(returns)) >= 4 and min(returns) < 200 and max(returns) == 500.0
    assert sum(returns[:3]) < sum(returns[-3:])
    assert any(r.terminated for r in run.records) and any(r.truncated for r in run.records)
    summary = summarize_records(run.records, seed=0)
    assert f"mean {summary.mean:.2f}" in proc.stdout and "over 10 episodes" in proc.stdout
    assert (folder / "monitor.csv").exists() and (folder / "episodes.jsonl").exists()
    best = max(run.records, key=lambda r: r.episode_return)
    worst = min(run.records, key=lambda r: r.episode_return)
    html = (folder / "report.html").read_text()
    assert re.search(rf'Best: <a href="#run-0-video-\d+">episode {best.index}</a>', html)
    assert re.search(rf'worst: <a href="#run-0-video-\d+">episode {worst.index}</a>', html)
    seed = int(re.search(r"seed (\d+)", proc.stdout).group(1))  # the run repeats from it
    again = agentreel("record", "CartPole-v1", "--seed", str(seed), "-o", "again", "--no-report",
                      cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert Run(tmp_path / "again").returns() == returns
    assert f"report: {folder / 'report.html'}" in proc.stdout
    assert (folder / "report.html").read_text().count("<video ") == 10
    assert "[" not in proc.stderr.replace("XDG", "")  # no progress bar when stderr is not a tty


def test_record_with_a_vector_env(tmp_path):
    proc = agentreel("record", "CartPole-v1", "-n", "4", "--num-envs", "3", "--policy", "random",
                     "--seed", "0", "-o", "vec", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = Run(tmp_path / "vec")
    assert len(run.records) >= 4 and {r.env_index for r in run.records} <= {0, 1, 2}
    assert len(run.videos) == len(run.records)
    for video in run.videos:
        assert video.env_index is not None and video.record.env_index == video.env_index
        assert decode(video.path).count == video.record.length + 1
    assert "(3 envs, seed 0)" in proc.stdout and (tmp_path / "vec" / "report.html").exists()


def test_docstring_examples_of_the_job():
    import doctest

    import agentreel.app.run

    assert doctest.testmod(agentreel.app.run).failed == 0


def test_progress_bar_draws_episodes_and_steps_on_a_terminal():
    class Tty:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return True

    tty = Tty()
    bar = Progress(4, stream=tty)
    assert bar.enabled
    bar.update(steps=120, episodes=2, last_return=60.0, force=True)
    bar.close()
    assert "2/4 episodes" in tty.text and "120 steps" in tty.text and "last return 60.0" in tty.text
    assert tty.text.startswith("\r") and tty.text.endswith("\n")
    assert not Progress(4, stream=open(os.devnull, "w")).enabled  # noqa: SIM115


def test_summary_table_one_row_per_run_and_an_aggregate(runs):
    proc = agentreel("summary", "a", "b", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:9] == ["run", "episodes", "mean", "std", "median", "IQM", "min",
                                    "max", "success"]
    a, b = Run(runs / "a").records, Run(runs / "b").records
    sa = summarize_records(a, seed=0)
    row = lines[1].split()
    assert row[0] == "a" and row[1] == "3" and row[2] == f"{sa.mean:.2f}"
    assert f"[{sa.mean_ci[0]:.2f}, {sa.mean_ci[1]:.2f}]" in lines[1]
    agg = summarize_runs([[r.episode_return for r in a], [r.episode_return for r in b]], seed=0)
    last = next(line for line in lines if line.startswith("all 2 runs"))
    assert f"{agg.mean:.2f}" in last and f"[{agg.mean_ci[0]:.2f}, {agg.mean_ci[1]:.2f}]" in last

    proc = agentreel("summary", "a", "b", "--json", cwd=runs)
    data = json.loads(proc.stdout)
    assert [r["run"] for r in data["runs"]] == ["a", "b"]
    assert data["runs"][0]["mean"] == pytest.approx(sa.mean)
    assert data["runs"][0]["iqm"] == pytest.approx(sa.iqm)
    assert data["aggregate"]["mean"] == pytest.approx(agg.mean)
    assert json.loads(agentreel("summary", "a", "--json", cwd=runs).stdout)["aggregate"] is None


def test_plot_writes_images(runs):
    proc = agentreel("plot", "a", "-o", "curve.png", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert (runs / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = agentreel("plot", "a", "b", "-o", "curve.svg", "--metric", "length",
                     "--window", "2", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in (runs / "curve.svg").read_text()
    proc = agentreel("plot", "b", "-o", "steps.pdf", "--x", "steps", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert (runs / "steps.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_without_matplotlib_names_the_extra(runs):
    proc = agentreel("plot", "a", "-o", "x.png", cwd=runs, prelude="sys.modules['matplotlib'] = None")
    one_line_error(proc, 'pip install "agentreel[plot]"')


def test_timelapse_and_report_commands(runs):
    proc = agentreel("timelapse", "a", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    parts = sum(decode(v.path).count for v in Run(runs / "a").videos)
    assert decode(runs / "a" / "timelapse.mp4").count == parts
    assert f"{parts} frames" in proc.stdout

    proc = agentreel("report", "a", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert (runs / "a" / "report.html").exists() and "file://" in proc.stdout
    proc = agentreel("report", "a", "b", "-o", "site/both.html", "--title", "Two seeds", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    html = (runs / "site" / "both.html").read_text()
    assert "<title>Two seeds</title>" in html and 'src="../a/CartPole-v1-episode-0.mp4"' in html


@pytest.mark.parametrize(("args", "message"), [
    (["record", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["record", "CartPole-v1", "--num-envs", "0"], "--num-envs"),
    (["record", "CartPole-v1", "--policy", "model.zip"], "model.zip"),
    (["summary", "empty"], "no episodes found in empty"),
    (["plot", "empty"], "no episodes found in empty"),
    (["report", "empty"], "no episodes found in empty"),
    (["timelapse", "empty"], "no episodes found in empty"),
    (["summary", "missing"], "no run folder"),
])
def test_errors_are_one_clear_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    one_line_error(agentreel(*args, cwd=tmp_path), message)


def test_help_of_every_command_is_useful():
    proc = agentreel("--help", cwd=ROOT)
    assert proc.returncode == 0
    for command in ("record", "summary", "plot", "timelapse", "report"):
        assert command in proc.stdout
    expected = {
        "record": ["--episodes", "--every", "--policy", "--seed", "--num-envs", "--out", "--quiet"],
        "summary": ["--json", "IQM", "bootstrap"],
        "plot": ["--out", "--x", "--metric", "--window", "agentreel[plot]"],
        "timelapse": ["--out", "--fps", "episode"],
        "report": ["--out", "no server", "sortable"],
    }
    for command, words in expected.items():
        proc = agentreel(command, "--help", cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        text = " ".join(proc.stdout.split())
        for word in words:
            assert word in text, (command, word)
