"""W&B tracker in offline mode: the run directory holds the media files and the history rows.

The offline run's ``run-*.wandb`` file is read back here with a small reader of its
record format (a LevelDB-style log of ``wandb_internal_pb2.Record`` protos after a
7-byte ``:W&B`` header), so nothing goes over the network.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

from agentreel import RecordEpisodeStatistics, RecordVideo, read_episodes  # noqa: E402
from agentreel.trackers import WandbTracker, attach  # noqa: E402
from videotools import PatternEnv  # noqa: E402

BLOCK = 32 * 1024
HEADER = 7  # ":W&B" + magic (2 bytes) + version; chunk headers: crc (4), length (2), type (1)


def wandb_records(path: Path) -> list:
    """Every ``Record`` in an offline run file."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, pos = [], b"", HEADER
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # the rest of a block too small for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        if pos + 7 + length > len(data):  # still being written
            break
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        pending += chunk
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
        elif kind == 2:  # FIRST
            pending = chunk
    return records


def finished_records(run_dir: Path, timeout: float = 20.0) -> list:
    """The run file's records once wandb's service has written the run's ``exit`` record.

    ``run.finish()`` can return before the service has flushed an offline run file.
    """
    deadline = time.monotonic() + timeout
    while True:
        files = list(run_dir.glob("run-*.wandb"))
        records = wandb_records(files[0]) if len(files) == 1 else []
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"no complete run file in {run_dir}: {files}")
        time.sleep(0.05)


def history_rows(run_dir: Path) -> list[dict]:
    rows = []
    for record in finished_records(run_dir):
        if record.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                         for item in record.history.item})
    return rows


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    return tmp_path


def play(env, episodes: int) -> None:
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated


def test_offline_run_holds_media_files_and_history_rows(offline):
    env = PatternEnv(length=5)
    env = RecordVideo(env, str(offline / "videos"), episode_trigger=lambda i: i in (0, 2),
                      sidecar=True)
    env = RecordEpisodeStatistics(env, log=str(offline / "log.jsonl"))
    trackers = attach(env, wandb={"project": "agentreel-test", "dir": str(offline)})
    tracker = trackers.wandb
    assert isinstance(tracker, WandbTracker) and tracker.owns_run
    play(env, 3)
    env.close()
    assert tracker.closed

    (run_dir,) = (offline / "wandb").glob("offline-run-*")
    media = sorted((run_dir / "files" / "media" / "videos").glob("*.mp4"))
    assert len(media) == 2
    sources = sorted((offline / "videos").glob("*.mp4"))
    assert sorted(p.read_bytes() for p in media) == sorted(p.read_bytes() for p in sources)

    rows = history_rows(run_dir)
    episodes = [r for r in rows if "episode/return" in r]
    log = read_episodes(offline / "log.jsonl")
    assert [r["episode/index"] for r in episodes] == [0, 1, 2]
    assert [r["episode/return"] for r in episodes] == [e.episode_return for e in log]
    assert [r["episode/length"] for r in episodes] == [e.length for e in log]
    videos = [r for r in rows if "video/_type" in r]  # a media value is stored as nested keys
    assert [r["video/episode"] for r in videos] == [0, 2]
    assert all(r["video/_type"] == "video-file" for r in videos)
    assert [r["video/caption"] for r in videos] == ["rl-video-episode-0.mp4", "rl-video-episode-2.mp4"]
    assert sorted(Path(r["video/path"]).name for r in videos) == [p.name for p in media]


def test_logs_into_an_active_run_and_leaves_it_open(offline):
    import wandb

    run = wandb.init(project="agentreel-test", dir=str(offline))
    try:
        tracker = WandbTracker()
        assert tracker.run is run and not tracker.owns_run
        env = RecordEpisodeStatistics(PatternEnv(length=2), log=tracker)
        play(env, 2)
        env.close()
        tracker.close()
        run.log({"mine": 1.0})  # the user's run is still usable
    finally:
        run.finish()
    (run_dir,) = (offline / "wandb").glob("offline-run-*")
    rows = history_rows(run_dir)
    assert [r["episode/length"] for r in rows if "episode/length" in r] == [2, 2]
    assert any(r.get("mine") == 1.0 for r in rows)
