"""The worker: run one shard of episodes, committing each finished episode to disk.

A worker (a local process or a Ray task) runs the episodes of a
:class:`~agentreel.evaluate.plan.ShardTask` through the same pieces as
``agentreel record`` (:func:`agentreel.app.run.recording_env`,
:func:`agentreel.app.run.play_episode`) and writes into the run folder ``OUT``:

* videos are encoded into its own staging folder ``OUT/.agentreel-parts/shard-{k}-attempt-{a}/``
  and, once complete, moved to their final name ``OUT/{ENV}-episode-{i}.mp4``
  (``i`` the *global* episode index) with a sidecar whose ``tags.episode_id`` is ``i``;
* then the episode's record (``index = i``, ``seed = base seed + i``) is appended
  to the worker's own log ``OUT/.agentreel-parts/shard-{k}-attempt-{a}.jsonl``.

The record line is the commit: an episode whose line exists is finished, with
its video in place. A worker killed mid-episode leaves at most a ``.partial``
file in its staging folder (the driver deletes it) and, if it died between
moving a video and writing the line, a final-name video that the rerun of that
episode overwrites.

Example:
    >>> import os, tempfile
    >>> out = tempfile.mkdtemp()
    >>> task = ShardTask("CartPole-v1", "random", out, shard=1, attempt=0, indices=(3, 4), seed=0)
    >>> report = run_shard(task)
    >>> report.episodes, sorted(f for f in os.listdir(out) if f.endswith(".mp4"))
    (2, ['CartPole-v1-episode-3.mp4', 'CartPole-v1-episode-4.mp4'])
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from agentreel.app.policies import load_policy
from agentreel.app.run import episode_seed, play_episode, recording_env, safe_name
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.core.videofiles import sidecar_path
from agentreel.evaluate.plan import PARTS_DIR, ShardTask
from agentreel.log.jsonl import JsonlSink
from agentreel.video import default_engine

__all__ = ["ShardReport", "run_shard", "TOKEN_NAME"]

#: The file in ``PARTS_DIR`` holding the driver's token.
TOKEN_NAME = "token"


@dataclass(frozen=True)
class ShardReport:
    """What a worker returns when its shard is done (``cpu_seconds``: this process's CPU
    time, not its encoder's; far below ``seconds`` means the worker waited for a CPU)."""

    shard: int
    attempt: int
    episodes: int
    steps: int
    seconds: float
    cpu_seconds: float
    host: str
    pid: int


def check_folder(task: ShardTask) -> Path:
    """The parts folder of the run, after checking that it is the driver's.

    Raises:
        RuntimeError: the folder or its token is missing or different (on a cluster:
            ``--out`` is not on a filesystem shared with this node).
    """
    parts = Path(task.out) / PARTS_DIR
    try:
        found = (parts / TOKEN_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        found = None
    if task.token and found != task.token:
        raise RuntimeError(
            f"the run folder {task.out} is not visible from worker host {socket.gethostname()}: "
            "on a cluster --out must be on a filesystem shared by every node (e.g. NFS)"
        )
    return parts


class _Committer:
    """Moves each finished video into place, then commits its episode's record."""

    def __init__(self, task: ShardTask, stage: Path, sink: JsonlSink) -> None:
        self.task = task
        self.stage = stage
        self.sink = sink
        self.prefix = safe_name(task.env_id)
        self.pending: dict[int, EpisodeRecord] = {}  # ended, waiting for their video
        self.videos: dict[int, str] = {}  # videos in place, waiting for their record
        self.committed = 0
        self.steps = 0

    def global_index(self, local: int) -> int:
        return self.task.indices[local]

    def trigger(self, local: int) -> bool:
        return local < len(self.task.indices) and self.task.records_video(self.global_index(local))

    def episode_ended(self, record: EpisodeRecord) -> None:
        index = self.global_index(record.index)
        record = record.replace(index=index)
        if self.task.records_video(index) and index not in self.videos:
            self.pending[index] = record
        else:
            self._commit(record, self.videos.pop(index, None))

    def video_saved(self, event: VideoSaved) -> None:
        if event.episode_id is None or not 0 <= event.episode_id < len(self.task.indices):
            return
        index = self.global_index(event.episode_id)
        name = None
        if event.error is None and os.path.exists(event.path):
            name = self._place(event, index)
        record = self.pending.pop(index, None)
        if record is not None:
            self._commit(record, name)
        elif name is not None:
            self.videos[index] = name

    def _place(self, event: VideoSaved, index: int) -> str:
        name = f"{self.prefix}-episode-{index}"
        final = Path(self.task.out) / f"{name}.{event.format}"
        os.replace(event.path, final)
        tags = {**event.tags, "name": name, "episode_id": index,
                "seed": episode_seed(self.task.seed, index)}
        side = {"path": final.name, "frames": event.frames, "fps": float(event.fps),
                "width": event.width, "height": event.height, "format": event.format,
                "tags": tags}
        target = Path(sidecar_path(str(final)))
        temporary = self.stage / f"{name}.json.tmp"
        temporary.write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, target)
        return final.name

    def _commit(self, record: EpisodeRecord, video: str | None) -> None:
        self.sink.write(record.replace(video=video))
        self.committed += 1

    def flush(self) -> None:
        """Commit episodes whose video never came (it failed; the error was logged)."""
        for index in sorted(self.pending):
            self._commit(self.pending.pop(index), None)


def run_shard(task: ShardTask) -> ShardReport:
    """Run ``task.indices`` (episode ``i`` seeded with ``task.seed + i``), committing each.

    This is the function local worker processes and Ray tasks execute.

    Raises:
        RuntimeError: unusable env, or a run folder this worker cannot see.
        ValueError: a bad policy spec.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    parts = check_folder(task)
    sink = JsonlSink(parts / f"{task.name}.jsonl")  # first: its existence says "started"
    stage = parts / task.name
    stage.mkdir(parents=True, exist_ok=True)
    committer = _Committer(task, stage, sink)
    try:
        env = recording_env(task.env_id, str(stage), trigger=committer.trigger,
                            video_format=task.video_format, on_video_saved=committer.video_saved,
                            on_episode_end=committer.episode_ended, sidecar=False,
                            buffer_length=max(1, len(task.indices)))
        try:
            act = load_policy(task.policy, env, task.env_id)
            for index in task.indices:
                committer.steps += play_episode(env, act, episode_seed(task.seed, index),
                                                index=index)
        finally:
            env.close()  # returns once every video is complete (and committed)
        committer.flush()
    finally:
        sink.close()
        # Stop this process's encoder: a pool or Ray worker may not run atexit hooks.
        default_engine().close()
    return ShardReport(shard=task.shard, attempt=task.attempt, episodes=committer.committed,
                       steps=committer.steps, seconds=time.perf_counter() - started,
                       cpu_seconds=time.process_time() - cpu_started, host=socket.gethostname(), pid=os.getpid())
