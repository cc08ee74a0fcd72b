"""Concurrency: many writers, one folder -- no shared final name, no corrupt file or line.

Policy under test (see agentreel.clips.claims and RELIABILITY.md): a recorder claims each
final file name before writing it; a name held by another live recorder is
disambiguated as ``NAME-<pid>.mp4`` (with a warning), so two live writers never
write one file, and one writer never replaces another live writer's finished video.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from agentreel import RecordEpisodeStatistics
from agentreel.vector import RecordVideo as VectorRecordVideo
from videotools import PatternEnv, decode

HELPERS = Path(__file__).parent / "helpers"
EPISODES = 4
LENGTH = 20


def test_eight_processes_record_into_one_folder(tmp_path):
    """5 processes share a name_prefix, 3 have their own; all log to one JSONL file."""
    videos, log = tmp_path / "videos", tmp_path / "shared.jsonl"
    start, end = tmp_path / "go", tmp_path / "end"
    prefixes = ["rl-video"] * 5 + ["a", "b", "c"]
    procs = [subprocess.Popen(
        [sys.executable, str(HELPERS / "recording_child.py"), str(videos), str(log),
         "--episodes", str(EPISODES), "--length", str(LENGTH), "--prefix", prefix,
         "--start-file", str(start), "--end-file", str(end), "--step-sleep", "0.002"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for prefix in prefixes]
    time.sleep(0.5)
    start.write_text("go")  # all children start recording together
    # ... and all live until every one has closed its wrapper: a writer that starts
    # after another has exited is a restart, which replaces (with a warning).
    deadline = time.monotonic() + 180
    while len(list(tmp_path.glob("end.*"))) < len(procs) and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.02)
    end.write_text("end")
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0 and "CLOSED" in out, err
    saved = [line.split()[1:] for out, _ in outputs for line in out.splitlines()
             if line.startswith("SAVED")]
    paths = [path for path, _, _ in saved]
    assert len(paths) == 8 * EPISODES and len(set(paths)) == len(paths)  # no shared name
    assert all(error == "None" and int(frames) == LENGTH + 1 for _, frames, error in saved)
    on_disk = sorted(videos.glob("*.mp4"))
    assert sorted(str(p) for p in on_disk) == sorted(paths)  # nothing overwritten
    for video in on_disk:  # no corrupted file; each sidecar describes its own video
        meta = json.loads(video.with_suffix(".json").read_text())
        assert meta["path"] == video.name and decode(video).count == meta["frames"] == LENGTH + 1
    # Gymnasium's names for whoever claimed first, NAME-<pid> for the others.
    assert {f"rl-video-episode-{k}.mp4" for k in range(EPISODES)} <= {p.name for p in on_disk}
    assert sum("another live recorder" in err for _, err in outputs) >= 1
    assert not list(videos.rglob("*.partial")) and not (videos / ".agentreel-claims").exists()
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]  # no interleaved or torn line
    assert collections.Counter(r["index"] for r in records) == {k: 8 for k in range(EPISODES)}


def _pattern_env(length: int, log: str):
    def make():
        return RecordEpisodeStatistics(PatternEnv(length=length, height=16, width=24), log=log)
    return make


def test_async_vector_env_per_env_recording_two_wrappers_one_folder(tmp_path):
    """Sub-envs in worker processes append to one JSONL; two per-env vector wrappers in
    one process share a folder and a prefix: the second one's names are disambiguated."""
    log = str(tmp_path / "episodes.jsonl")
    lengths = [3, 4, 5]
    envs = [VectorRecordVideo(
        gym.vector.AsyncVectorEnv([_pattern_env(n, log) for n in lengths]), str(tmp_path),
        per_env=True, episode_trigger=lambda i: True, sidecar=True) for _ in range(2)]
    for env in envs:
        env.reset(seed=0)
    steps = 12
    for _ in range(steps):
        for env in envs:
            env.step(np.zeros(len(lengths), dtype=np.int64))
    saved = [v for env in envs for v in env.saved_videos]
    for env in envs:
        env.close()
    saved = [v for env in envs for v in env.saved_videos]
    paths = [v.path for v in saved]
    assert len(paths) == len(set(paths))
    first = {Path(v.path).name for v in envs[0].saved_videos}
    assert "rl-video-env-0-episode-0.mp4" in first
    for video in saved:
        assert video.error is None
        meta = json.loads(Path(video.path).with_suffix(".json").read_text())
        assert decode(video.path).count == video.frames == meta["frames"]
    lines = Path(log).read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    # next-step autoreset: a sub-env of length n ends an episode every n + 1 steps
    assert len(records) == 2 * sum(steps // (n + 1) for n in lengths)
