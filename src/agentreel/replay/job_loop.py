"""The loop of a background replay process: take render jobs, send back their videos.

Both replay processes (per-episode videos of ``RecordVideo(replay=True)``, and the
step-range clips of ``agentreel.sb3.VecVideoRecorder(replay=True)``) run
:func:`serve_jobs` with their own ``render`` function. A job is
``(job_id, what, path, options)``; the answer is ``(job_id, SavedVideo)``. A job that
fails is answered with the error on its ``SavedVideo``; the loop ends when the
connection closes, on ``None``, or when the agent's process is gone.

Example (the loop in this process, over a pipe):
    >>> import multiprocessing, os, tempfile, threading
    >>> from agentreel.video import SavedVideo
    >>> here, there = multiprocessing.Pipe()
    >>> def render(what, path, engine, cancelled, options):
    ...     raise ValueError(f"cannot render {what}")
    >>> worker = threading.Thread(target=serve_jobs, args=(there.fileno(), render),
    ...                           kwargs={"idle": False})
    >>> worker.start(); here.send((7, "episode 3", "/tmp/x.mp4", {"fps": 30}))
    >>> job_id, saved = here.recv(); here.send(None); worker.join()
    >>> job_id, saved.error
    (7, 'ValueError: cannot render episode 3')
"""

from __future__ import annotations

import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from agentreel.base.scheduling import run_in_idle_time
from agentreel.replay.player import ReplayCancelled, replay_video_engine
from agentreel.video import SavedVideo, VideoEngine

__all__ = ["RenderJob", "serve_jobs"]

#: ``render(what, path, engine, cancelled, options) -> SavedVideo``
RenderJob = Callable[[Any, str, VideoEngine, Callable[[], bool], dict[str, Any]], SavedVideo]


def serve_jobs(fd: int, render: RenderJob, *, idle: bool = True,
               close: Callable[[], None] | None = None) -> int:
    """Answer render jobs on the connection ``fd`` until it closes; returns the exit code.

    ``render`` draws and encodes one job with the engine given (a thread encoder
    with replay's fixed x264 settings); ``cancelled()`` turns true once the agent's
    process is gone. ``idle`` makes this process run only in CPU time nothing else
    wants (:func:`run_in_idle_time`: the agent comes first); ``close`` is called at
    the end (e.g. to close cached envs).
    """
    conn = Connection(fd)
    parent = os.getppid()

    def orphaned() -> bool:  # the agent died: stop at the next frame
        return os.getppid() != parent

    if idle:
        run_in_idle_time()  # (again: threads started before the agent lowered us at spawn)
    # The encoder runs as a thread of this (already background) process: one process
    # fewer to start, and PyAV encodes without holding the GIL.
    engine = replay_video_engine("thread")
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):  # the agent is gone (or closed us)
                return 0
            if job is None:
                return 0
            job_id, what, path, options = job
            try:
                saved = render(what, path, engine, orphaned, options)
            except ReplayCancelled:
                return 0
            except Exception as exc:  # reported on the job's VideoSaved
                saved = SavedVideo(path=path, frames=0, fps=float(options.get("fps") or 0),
                                   width=0, height=0, format=options.get("format") or "mp4",
                                   tags=options.get("tags", {}),
                                   error=f"{type(exc).__name__}: {exc}")
            try:
                conn.send((job_id, saved))
            except (EOFError, OSError):
                return 0
    finally:
        try:
            if close is not None:
                close()
        finally:
            engine.close()
