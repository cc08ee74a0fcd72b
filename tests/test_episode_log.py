"""The episode log: formats, SB3 round trip, crash safety, concurrent appends, reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentreel import (
    EpisodeRecord,
    JsonlSink,
    MonitorCsvSink,
    RecordEpisodeStatistics,
    read_episodes,
)
from agentreel.log import CompositeSink, as_sink, open_sinks
from agentreel.log.reader import log_files, run_prefix
from helpers.fixed_length_env import FixedLengthEnv

HELPERS = Path(__file__).parent / "helpers"


def rec(index: int, end_time: float, **kw) -> EpisodeRecord:
    return EpisodeRecord(index=index, episode_return=float(index) + 0.5, length=index + 1,
                         end_time=end_time, **kw)


# --------------------------------------------------------------------------- monitor.csv


def test_monitor_csv_exact_format(tmp_path):
    path = tmp_path / "monitor.csv"
    sink = MonitorCsvSink(path, env_id="CartPole-v1", extra_keys=["is_success"])
    t0 = sink.t_start
    r = EpisodeRecord(index=0, episode_return=1.23456789, length=3, end_time=t0 + 2.5,
                      extras={"is_success": True})
    sink.write(r)
    sink.write(EpisodeRecord(index=1, episode_return=2.0, length=2, end_time=t0 + 3.0))
    sink.close()
    raw = path.read_bytes().decode()
    first, rest = raw.split("\n", 1)
    assert first.startswith("#")
    assert json.loads(first[1:]) == {"t_start": t0, "env_id": "CartPole-v1"}
    # the csv module's default dialect, as SB3's DictWriter writes it
    assert rest == "r,l,t,is_success\r\n1.234568,3,2.5,True\r\n2.0,2,3.0,\r\n"
    assert r.elapsed is None  # the sink does not change the record


def test_monitor_csv_env_id_none_written_like_sb3(tmp_path):
    sink = MonitorCsvSink(tmp_path / "monitor.csv")
    sink.close()
    header = json.loads((tmp_path / "monitor.csv").read_text().splitlines()[0][1:])
    assert header["env_id"] == "None"


def test_monitor_csv_append_mode_keeps_t_start(tmp_path):
    path = tmp_path / "monitor.csv"
    first = MonitorCsvSink(path)
    first.write(rec(0, first.t_start + 1))
    first.close()
    again = MonitorCsvSink(path, override_existing=False)
    assert again.t_start == first.t_start
    again.write(rec(1, first.t_start + 2))
    again.close()
    assert [r.elapsed for r in read_episodes(path)] == [1.0, 2.0]
    fresh = MonitorCsvSink(path)  # the default starts over, like SB3
    fresh.close()
    assert read_episodes(path) == []


def test_sb3_load_results_reads_our_monitor_csv(tmp_path):
    pytest.importorskip("pandas")
    from stable_baselines3.common.monitor import load_results

    env = RecordEpisodeStatistics(FixedLengthEnv(length=4, reward=0.25), log=tmp_path,
                                  info_keywords=("is_success",))
    seen = []
    env._emitter.callback = seen.append
    for _ in range(5):
        env.reset()
        for _ in range(4):
            env.step(0)
    env.close()
    frame = load_results(str(tmp_path))
    assert list(frame["r"]) == [1.0] * 5
    assert list(frame["l"]) == [4] * 5
    assert list(frame["is_success"]) == [True] * 5
    assert list(frame["t"]) == pytest.approx([r.elapsed for r in seen], abs=1e-6)


def test_we_read_sb3_monitor_files(tmp_path):
    import gymnasium as gym
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make("CartPole-v1"), str(tmp_path / "0"), info_keywords=())
    env.reset(seed=0)
    lengths = []
    for _ in range(3):
        done, n = False, 0
        while not done:
            _, _, te, tr, _ = env.step(env.action_space.sample())
            n += 1
            done = te or tr
        lengths.append(n)
        env.reset()
    env.close()
    back = read_episodes(tmp_path)
    assert [r.length for r in back] == lengths
    assert [r.episode_return for r in back] == [float(n) for n in lengths]


# --------------------------------------------------------------------------- jsonl


def test_jsonl_lines_are_to_dict_and_round_trip(tmp_path):
    path = tmp_path / "e.jsonl"
    sink = JsonlSink(path, fsync=True)
    records = [rec(0, 100.0, seed=3, terminated=True, extras={"x": [1, 2]}, elapsed=1.0),
               rec(1, 101.0, env_index=2, elapsed=7.0)]
    for r in records:
        sink.write(r)
    sink.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [r.to_dict() for r in records]
    assert read_episodes(path) == records
    with pytest.raises(ValueError, match="closed"):
        sink.write(records[0])


@pytest.mark.parametrize("make_sink, name", [(JsonlSink, "e.jsonl"),
                                             (MonitorCsvSink, "monitor.csv")])
def test_sinks_write_elapsed_from_their_start_without_changing_the_record(
        tmp_path, make_sink, name):
    """Sinks never mutate the record they are given (issue 13.5): the file has the
    elapsed time, the caller's record is untouched."""
    sink = make_sink(tmp_path / name, t_start=1000.0)
    r = rec(0, 1002.25)
    sink.write(r)
    sink.close()
    assert r.elapsed is None
    assert read_episodes(tmp_path / name)[0].elapsed == 2.25


def test_log_files_agree_whatever_the_sink_order(tmp_path):
    """``elapsed`` is set once, before the sinks, from one start time that the files
    opened by the log also use: monitor.csv's ``t`` and the JSON line's ``elapsed`` agree
    even with the JSON Lines sink first (no "CSV sink first" rule)."""
    from agentreel.log.emitter import EpisodeEmitter

    emitter = EpisodeEmitter(log=[tmp_path / "episodes.jsonl", tmp_path / "monitor.csv"])
    seen = []
    emitter.callback = seen.append
    for i in range(3):
        emitter.emit(rec(i, time.time() + 0.25 * i))
    emitter.close()
    from_csv = read_episodes(tmp_path / "monitor.csv")
    from_jsonl = read_episodes(tmp_path / "episodes.jsonl")
    assert [r.elapsed for r in from_csv] == [r.elapsed for r in from_jsonl]
    assert [r.elapsed for r in seen] == [r.elapsed for r in from_jsonl]


def test_jsonl_appends_never_truncates(tmp_path):
    for i in range(2):
        sink = JsonlSink(tmp_path / "e.jsonl")
        sink.write(rec(i, 10.0 + i))
        sink.close()
    assert [r.index for r in read_episodes(tmp_path / "e.jsonl")] == [0, 1]


# --------------------------------------------------------------------------- as_sink


class ListSink:
    def __init__(self):
        self.records = []

    def write(self, record):
        self.records.append(record)

    def close(self):
        pass


def test_as_sink_dispatch(tmp_path):
    assert as_sink(None) is None
    assert isinstance(as_sink(tmp_path / "a.csv"), MonitorCsvSink)
    assert isinstance(as_sink(tmp_path / "x.monitor.csv"), MonitorCsvSink)
    assert isinstance(as_sink(str(tmp_path / "b.jsonl")), JsonlSink)
    both = as_sink(tmp_path / "newdir")
    assert isinstance(both, CompositeSink)
    assert [type(s) for s in both.sinks] == [MonitorCsvSink, JsonlSink]
    assert {p.name for p in (tmp_path / "newdir").iterdir()} == {"monitor.csv", "episodes.jsonl"}
    mine = ListSink()
    assert as_sink(mine) is mine
    sink, owned = open_sinks([mine, tmp_path / "c.jsonl"])
    assert isinstance(sink, CompositeSink) and sink.sinks[0] is mine
    assert len(owned) == 1 and isinstance(owned[0], JsonlSink)
    with pytest.raises(ValueError, match="suffix"):
        as_sink(tmp_path / "bad.txt")
    with pytest.raises(TypeError, match="log="):
        as_sink(42)


def test_composite_writes_every_sink_even_if_one_fails():
    class Broken(ListSink):
        def write(self, record):
            raise OSError("disk full")

    good = ListSink()
    sink = CompositeSink([Broken(), good])
    with pytest.raises(OSError, match="disk full"):
        sink.write(rec(0, 1.0))
    assert len(good.records) == 1


# --------------------------------------------------------------------------- reader


def test_directory_prefers_jsonl_over_its_paired_monitor(tmp_path):
    sink = as_sink(tmp_path)
    for i in range(3):
        sink.write(rec(i, 50.0 + i, duration=0.1))
    sink.close()
    assert [p.name for p in log_files(tmp_path)] == ["episodes.jsonl"]
    back = read_episodes(tmp_path)
    assert [r.index for r in back] == [0, 1, 2]
    assert all(r.duration == 0.1 for r in back)  # only the jsonl knows duration


def test_run_prefix_rule():
    assert run_prefix("monitor.csv") == run_prefix("episodes.jsonl") == ""
    assert run_prefix("3.monitor.csv") == run_prefix("3.episodes.jsonl") == "3"
    assert run_prefix("3.jsonl") == "3"
    assert run_prefix("a_monitor.csv") == run_prefix("a-episodes.jsonl") == "a"
    assert run_prefix("b.monitor.csv") != run_prefix("a.jsonl")


def test_directory_merges_runs_in_end_time_order(tmp_path):
    csv_sink = MonitorCsvSink(tmp_path / "0.monitor.csv", t_start=1000.0)
    jsonl_sink = JsonlSink(tmp_path / "1.jsonl")
    csv_sink.write(rec(0, 1001.0))
    csv_sink.write(rec(1, 1004.0))
    jsonl_sink.write(rec(0, 1002.0, env_index=1))
    jsonl_sink.write(rec(1, 1003.0, env_index=1))
    csv_sink.close()
    jsonl_sink.close()
    (tmp_path / "notes.txt").write_text("ignored")
    back = read_episodes(tmp_path)
    assert [r.end_time for r in back] == pytest.approx([1001.0, 1002.0, 1003.0, 1004.0])
    # 0.monitor.csv is SB3's file of sub-env 0 (make_vec_env(monitor_dir=...)): its rank
    assert [r.env_index for r in back] == [0, 1, 1, 0]
    assert [r.index for r in back] == [0, 1, 2, 3]  # one log per sub-env: numbered again


def test_reader_ignores_a_torn_last_line_but_not_a_corrupt_middle_one(tmp_path):
    path = tmp_path / "e.jsonl"
    good = json.dumps(rec(0, 1.0).to_dict())
    path.write_text(good + "\n" + good[:20])
    assert len(read_episodes(path)) == 1
    path.write_text(good + "\n{not json\n" + good + "\n")
    with pytest.raises(ValueError, match=":2:"):
        read_episodes(path)
    csv_path = tmp_path / "monitor.csv"
    csv_path.write_text('#{"t_start": 5.0, "env_id": "x"}\nr,l,t\n1.0,2,3.0\n4.0,5')
    (only,) = read_episodes(csv_path)
    assert (only.episode_return, only.length, only.elapsed, only.end_time) == (1.0, 2, 3.0, 8.0)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_episodes(tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(ValueError):
        read_episodes(tmp_path / "x.txt")
    (tmp_path / "monitor.csv").write_text("r,l,t\n1,2,3\n")
    with pytest.raises(ValueError, match="#"):
        read_episodes(tmp_path / "monitor.csv")


# --------------------------------------------------------------------------- crash safety


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("child never became ready")
        time.sleep(0.01)


def assert_clean_files(log_dir: Path) -> tuple[int, int]:
    jsonl = (log_dir / "episodes.jsonl").read_bytes()
    csv = (log_dir / "monitor.csv").read_bytes()
    assert jsonl == b"" or jsonl.endswith(b"\n"), "partial JSON line"
    assert csv.endswith(b"\n"), "partial CSV row"
    rows = [json.loads(line) for line in jsonl.decode().splitlines()]
    csv_rows = csv.decode().splitlines()[2:]
    assert all(len(r.split(",")) == 4 for r in csv_rows)
    return len(rows), len(csv_rows)


@pytest.mark.parametrize("episodes", [0, 7])
def test_sigkill_after_n_episodes_leaves_n_rows_in_both_files(tmp_path, episodes):
    ready = tmp_path / "ready"
    log_dir = tmp_path / "log"
    proc = subprocess.Popen([sys.executable, str(HELPERS / "kill_target.py"), str(log_dir),
                             str(episodes), str(ready)], stderr=subprocess.PIPE)
    try:
        wait_for(ready, proc)
        assert ready.read_text() == str(episodes)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert assert_clean_files(log_dir) == (episodes, episodes)
    back = read_episodes(log_dir)
    assert [r.seed for r in back] == list(range(episodes))
    assert all(r.length == 3 and r.extras == {"is_success": True} for r in back)
    assert len(read_episodes(log_dir / "monitor.csv")) == episodes


def test_sigkill_while_writing_never_leaves_a_partial_line(tmp_path):
    ready = tmp_path / "ready"
    log_dir = tmp_path / "log"
    proc = subprocess.Popen([sys.executable, str(HELPERS / "kill_target.py"), str(log_dir),
                             "3", str(ready), "--forever"], stderr=subprocess.PIPE)
    try:
        wait_for(ready, proc)
        time.sleep(0.3)  # let it write a few hundred episodes
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    n_jsonl, n_csv = assert_clean_files(log_dir)
    assert n_jsonl > 3
    # the CSV row is written just before the JSON line of the same episode
    assert n_csv - n_jsonl in (0, 1)


def test_four_processes_append_to_one_jsonl(tmp_path):
    path = tmp_path / "shared.jsonl"
    start = tmp_path / "go"
    count = 300
    procs = [subprocess.Popen([sys.executable, str(HELPERS / "append_worker.py"), str(path),
                               str(w), str(count), str(start)]) for w in range(4)]
    time.sleep(0.5)
    start.write_text("go")
    for p in procs:
        assert p.wait(timeout=120) == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    rows = [json.loads(line) for line in lines[:-1]]  # every line parses
    assert len(rows) == 4 * count
    for w in range(4):
        mine = [r for r in rows if r["env_index"] == w]
        assert [r["index"] for r in mine] == list(range(count))
        assert all(r["extras"]["payload"] == chr(ord("a") + w) * 6000 for r in mine)


# --------------------------------------------------------------------------- docstring examples


@pytest.mark.parametrize("module", [
    "agentreel.log._appendfile", "agentreel.log.jsonl", "agentreel.log.monitor_csv",
    "agentreel.log.sinks", "agentreel.log.reader", "agentreel.log.emitter",
    "agentreel.wrappers.statistics", "agentreel.vector.statistics",
])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- issue 12
def _run(log, episodes: int, length: int = 2) -> None:
    env = RecordEpisodeStatistics(FixedLengthEnv(length=length), log=str(log))
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    env.close()


def test_rerunning_into_a_log_folder_keeps_the_earlier_run_and_both_files_agree(tmp_path):
    """Issue 12.4: a rerun appended episodes.jsonl (indexes 0,1,2,0,1,2) but truncated
    monitor.csv, so agentreel and SB3's load_results disagreed silently. Policy: a rerun
    is a new run; the earlier run's files move, with a warning, to earlier-run-N/."""
    from stable_baselines3.common.monitor import load_results

    _run(tmp_path, 3, length=2)
    with pytest.warns(UserWarning, match="earlier-run-1"):
        _run(tmp_path, 2, length=5)
    with pytest.warns(UserWarning, match="earlier-run-2"):
        _run(tmp_path, 4, length=7)
    for folder, lengths in ((tmp_path, [7] * 4), (tmp_path / "earlier-run-2", [5] * 2),
                            (tmp_path / "earlier-run-1", [2] * 3)):
        ours = read_episodes(folder)
        assert [r.length for r in ours] == lengths
        assert [r.index for r in ours] == list(range(len(lengths)))
        assert list(load_results(str(folder))["l"]) == lengths


_FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1:A9)",
             "\t=1+2", "\r=1+2", "'already quoted", "plain text", "-1.5", -1.5, 7]


def test_formula_like_strings_are_neutralised_in_monitor_csv(tmp_path):
    """Issue 12.8: string extras starting with = + - @ (or tab/CR) were written verbatim
    into monitor.csv, which spreadsheets evaluate. They are written with a leading quote;
    read_episodes gives the original back, and numbers stay numbers for load_results."""
    from stable_baselines3.common.monitor import load_results

    keys = [f"k{i}" for i in range(len(_FORMULAS))]
    sink = MonitorCsvSink(tmp_path / "monitor.csv", extra_keys=keys)
    sink.write(rec(0, time.time(), extras=dict(zip(keys, _FORMULAS, strict=True))))
    sink.close()
    import csv as csv_module

    with open(tmp_path / "monitor.csv", newline="") as fh:
        cells = list(csv_module.reader(fh))[2][3:]
    for cell in cells:
        assert not cell or cell[0] not in "=+-@\t\r" or cell == "-1.5", cells
    assert cells[:6] == ["'" + v for v in _FORMULAS[:6]]
    (back,) = read_episodes(tmp_path / "monitor.csv")
    assert [back.extras[k] for k in keys] == [*_FORMULAS[:8], -1.5, -1.5, 7]
    frame = load_results(str(tmp_path))
    assert frame["k9"][0] == -1.5 and frame["k10"][0] == 7 and frame["k7"][0] == "plain text"


UMASK_SCRIPT = r"""
import os, sys
os.umask(0o002)
sys.path.insert(0, sys.argv[2])
from agentreel import RecordEpisodeStatistics, RecordVideo
from agentreel.report.plots import plot_learning_curve
from agentreel.report import Run, write_report
from videotools import PatternEnv
folder = sys.argv[1]
env = RecordVideo(RecordEpisodeStatistics(PatternEnv(length=3), log=folder), folder,
                  episode_trigger=lambda i: True, sidecar=True)
for _ in range(2):
    env.reset()
    done = False
    while not done:
        done = any(env.step(0)[2:4])
env.close()
run = Run(folder)
write_report([run], os.path.join(folder, "report.html"))
plot_learning_curve(run.records, path=os.path.join(folder, "curve.png"))
print("OK")
"""


def test_every_file_agentreel_writes_respects_the_umask(tmp_path):
    """Issue 12.9: reports and plots were written 0600 (mkstemp) and logs always 0644,
    whatever the umask. Under umask 002 every file must be 0664."""
    tests = Path(__file__).parent
    proc = subprocess.run([sys.executable, "-c", UMASK_SCRIPT, str(tmp_path), str(tests)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777)
             for p in tmp_path.rglob("*") if p.is_file()}
    assert {"report.html", "curve.png", "monitor.csv", "episodes.jsonl",
            "rl-video-episode-0.mp4", "rl-video-episode-0.json"} <= set(modes)
    assert set(modes.values()) == {"0o664"}, modes
