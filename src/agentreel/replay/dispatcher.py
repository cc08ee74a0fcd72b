"""``RecordVideo(..., replay=True)``'s frame source: a background process that replays.

:class:`ReplayEngine` stands where a :class:`~agentreel.video.VideoEngine` stands for
a :class:`~agentreel.clips.recorder.ClipRecorder`: ``open()`` gives a stream, ``finish()``
completes it, ``abort()`` drops it, completion callbacks run on the caller's thread
in :meth:`ReplayEngine.poll`. Nothing is rendered in the agent's process: a stream
only remembers which logged episode it belongs to; when it is finished (its episode
kept by the trigger or the ``keep=`` rule) the episode is sent to one background
replay process, which rebuilds the env, replays and verifies the episode, and
encodes the frames with agentreel's own :class:`~agentreel.video.VideoEngine` into
the path the recorder chose (a keep rule's hidden folder, or the final name), with
the same sidecar. An aborted stream (an episode the rule dropped) costs nothing.
A replay that diverges writes no video and comes back as a ``SavedVideo`` whose
``error`` names the episode and step. The replay process runs in its own session (a
terminal's Ctrl-C stops the agent, not the replays), and at interpreter exit the videos
still to replay are finished (:meth:`ReplayEngine.finish_at_exit`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import select
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from gymnasium import spaces

from agentreel.base.scheduling import run_in_idle_time
from agentreel.replay.log import EpisodeBuffer, LoggedEpisode
from agentreel.video import SavedVideo
from agentreel.video.lifecycle import track

__all__ = ["ReplayEngine", "ReplayStream"]

logger = logging.getLogger("agentreel")

#: Videos handed to the replay process at once (the rest wait here, so that a video a
#: keep rule evicts meanwhile is never rendered).
_IN_FLIGHT = 2

_BOOTSTRAP = """
import sys
from agentreel.replay.dispatcher import serve
sys.exit(serve(int(sys.argv[1])))
"""


def serve(fd: int) -> int:
    """The replay process: render episode jobs from the connection ``fd`` until it closes."""
    from agentreel.replay.job_loop import serve_jobs
    from agentreel.replay.player import EnvCache, render_episode

    envs = EnvCache()
    return serve_jobs(fd, lambda episode, path, engine, cancelled, options: render_episode(
        episode, path, engine=engine, envs=envs, cancelled=cancelled, **options),
        close=envs.close)


class ReplayStream:
    """One episode's video, to be rendered by replay once it is finished.

    Cheap to open and to drop (most speculative episodes are dropped): the video's
    options are assembled only when it is finished.
    """

    __slots__ = ("_engine", "path", "buffer", "frames", "_open", "_options", "on_saved",
                 "_result", "_submitted", "_aborted", "episode")

    def __init__(self, engine: ReplayEngine, path: str, buffer: EpisodeBuffer | None, *,
                 fps: float, format: str, quality: int | None, tags: dict[str, Any],
                 on_saved: Callable[[SavedVideo], None] | None, sidecar: bool) -> None:
        self._engine = engine
        self.path = path
        self.buffer = buffer
        self.frames = 0
        self._open = (fps, format, quality, tags, sidecar)
        self._options: dict[str, Any] | None = None
        self.on_saved = on_saved
        self._result: SavedVideo | None = None
        self._submitted = False
        self._aborted = False
        self.episode: LoggedEpisode | None = None

    @property
    def options(self) -> dict[str, Any]:
        """``fps``, ``format``, ``quality``, ``tags`` and ``sidecar`` of the video."""
        if self._options is None:
            fps, format, quality, tags, sidecar = self._open
            self._options = {"fps": fps, "format": format, "quality": quality,
                             "tags": dict(tags), "sidecar": sidecar}
        return self._options

    @property
    def done(self) -> bool:
        """True once the video is on disk (or failed, or was aborted)."""
        return self._result is not None or self._aborted

    @property
    def result(self) -> SavedVideo | None:
        """The :class:`SavedVideo`, once :attr:`done`."""
        if self._result is None and self._aborted:
            self._result = SavedVideo(self.path, 0, 0.0, 0, 0, self._open[1], error="aborted")
        return self._result

    def add_frame(self, frame: Any) -> None:
        """Frames come from replay, not from the agent's loop."""
        raise RuntimeError("a replayed video takes no frames from the agent's loop")

    def finish(self, tags: dict[str, Any] | None = None) -> None:
        """The episode is over (or cut short): replay it into the video, in the background."""
        if self._submitted or self.done:
            return
        self.options["tags"].update(tags or {})
        if self.buffer is None or self.buffer.first_digest is None:
            self._result = SavedVideo(self.path, 0, 0.0, 0, 0, self.options["format"],
                                      error="no frames")
            return
        self._submitted = True
        self._engine._submit(self)

    def abort(self) -> None:
        """Drop the video: nothing is rendered, no callback."""
        if self._result is None and not self._submitted:
            self._aborted = True

    def wait(self, timeout: float | None = None) -> SavedVideo:
        """Block until the video is complete (finishing it first if needed)."""
        if not self._submitted and not self.done:
            self.finish()
        if self._aborted:
            return self.result  # type: ignore[return-value]  # (set by result)
        self._engine._wait_for(self, timeout)
        if self._result is None:
            raise RuntimeError(f"{self.path}: the replay process gave no result")
        return self._result


class ReplayEngine:
    """Sends finished episodes to a background replay process; delivers their videos.

    Args:
        current: returns the :class:`EpisodeBuffer` of the episode in progress
            (the episode a newly opened stream belongs to).
        recipe: how to rebuild the env; run: the log's run id; action_space: to decode
            actions; first_reset: returns the env's first-reset row (see the log format).
    """

    #: Streams render nothing until they are finished and kept: a recorder claims the
    #: file names of kept videos only (see ``ClipRecorder.start``).
    renders_later = True
    #: The program the replay process runs (a subclass may serve other jobs).
    bootstrap = _BOOTSTRAP

    def __init__(self, current: Callable[[], EpisodeBuffer | None], recipe: dict[str, Any],
                 action_space: spaces.Space, run: str,
                 first_reset: Callable[[], dict[str, Any] | None]) -> None:
        self._current = current
        self._recipe = recipe
        self._space = action_space
        self._run = run
        self._first_reset = first_reset
        self._ids = itertools.count(1)
        self._waiting: dict[int, ReplayStream] = {}
        self._queued: deque[ReplayStream] = deque()
        #: Streams opened so far (``RecordVideo(replay=True)`` opens one per kept episode).
        self.opened = 0
        #: Videos sent to the replay process so far (the others were dropped unrendered).
        self.rendered = 0
        #: ``wanted(path) -> bool``: asked just before a video is sent to be rendered;
        #: ``False`` (a keep rule evicted it meanwhile) skips the rendering.
        self.wanted: Callable[[str], bool] = lambda path: True
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._poller: Any = None  # select.poll of the connection, where the OS has one
        #: Called at exit before the videos are finished: the recorders stop their open
        #: clips, as their ``close()`` would (a live recording's engine finishes them).
        self.exit_hooks: list[Callable[[], object]] = []
        # Kept episodes not yet rendered when the program ends (Ctrl-C, or no close()) are
        # rendered before it exits, as a video engine finishes its open videos; a forked
        # child leaves its parent's replay process alone.
        track(self, at_exit="finish_at_exit")

    def start(self) -> None:
        """Start the replay process now (it then starts its own encoder).

        It is a fresh interpreter (not a fork, and it does not re-import your script),
        with this process's ``sys.path``, so ``env_fn`` modules import there too.
        """
        if self._process is not None and self._process.poll() is None:
            return
        ours, theirs = socket.socketpair()
        try:
            env = os.environ.copy()
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
            # Its own session, as the encoder's: a Ctrl-C in the terminal interrupts the
            # agent, whose exit then has the kept episodes finished; it must not kill them.
            self._process = subprocess.Popen(
                [sys.executable, "-c", self.bootstrap, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
            # Idle CPU time from its first instruction: its start-up (imports, the GL
            # context) would otherwise compete with the agent's loop at full priority.
            run_in_idle_time(self._process.pid)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        if hasattr(select, "poll"):  # (not on Windows: there every poll asks the connection)
            self._poller = select.poll()
            self._poller.register(self._conn.fileno(), select.POLLIN)

    def open(self, path: str | os.PathLike[str], *, fps: float, format: str | None = None,
             quality: int | None = None, tags: dict | None = None,
             on_saved: Callable[[SavedVideo], None] | None = None,
             sidecar: bool = False) -> ReplayStream:
        """A stream for the episode in progress."""
        self.opened += 1
        return ReplayStream(self, os.fspath(path), self._current(), fps=fps,
                            format=format or "mp4", quality=quality, tags=tags or {},
                            on_saved=on_saved, sidecar=sidecar)

    def open_episode(self, episode: EpisodeBuffer, path: str, *, fps: float, format: str,
                     quality: int | None, tags: dict[str, Any],
                     on_saved: Callable[[SavedVideo], None] | None,
                     sidecar: bool) -> ReplayStream:
        """A stream for the logged ``episode`` (one that has ended, or was cut short)."""
        self.opened += 1
        return ReplayStream(self, path, episode, fps=fps, format=format, quality=quality,
                            tags=tags, on_saved=on_saved, sidecar=sidecar)

    def _submit(self, stream: ReplayStream) -> None:
        buffer = stream.buffer
        if buffer is None:
            raise RuntimeError(f"{stream.path} belongs to no logged episode")
        if buffer.line is not None:  # the ended episode's line, as the log holds it
            row = json.loads(buffer.line)
        else:  # cut short: never written
            terminated, truncated = buffer.ended
            row = buffer.row(self._run, self._space, terminated, truncated)
        # Without the agent's action space: pickling it would materialise the live space's
        # __dict__, which slows every later sample()/contains() of the agent's loop (2.6k
        # instructions a CartPole step, BENCHMARKS.md); the replayer decodes with its own env's.
        stream.episode = LoggedEpisode(row, self._recipe, None, self._first_reset())
        stream.buffer = None
        self._queued.append(stream)
        self._send_next()

    def _send_next(self) -> None:
        """Keep at most :data:`_IN_FLIGHT` videos at the replay process; skip unwanted ones."""
        while self._queued and len(self._waiting) < _IN_FLIGHT:
            stream = self._queued.popleft()
            if not self.wanted(stream.path):  # evicted before it was rendered: costs nothing
                self._deliver(stream, SavedVideo(stream.path, 0, 0.0, 0, 0,
                                                 stream.options["format"],
                                                 tags=stream.options["tags"]))
                continue
            self._send(stream)

    def _send(self, stream: ReplayStream) -> None:
        self.start()
        self.rendered += 1
        job_id = next(self._ids)
        self._waiting[job_id] = stream
        try:
            if self._conn is None:
                raise OSError("no connection")
            self._conn.send((job_id, stream.episode, stream.path, stream.options))
        except (OSError, ValueError) as exc:
            self._fail_all(f"the replay process cannot be reached ({exc})")

    def poll(self) -> None:
        """Deliver the videos completed so far (never blocks)."""
        if not self._waiting:
            return  # nothing sent, nothing to deliver (most episode ends)
        if self._poller is not None and not self._poller.poll(0):
            return  # nothing to read: one system call, not multiprocessing's selector
        self._collect(block=False, timeout=0.0)

    def _collect(self, *, block: bool, timeout: float) -> bool:
        conn = self._conn
        if conn is None:
            return False
        got = False
        while self._waiting:
            try:
                if not conn.poll(timeout if block else 0):
                    break
                job_id, saved = conn.recv()
            except (EOFError, OSError):
                self._fail_all(self._why())
                return got
            got = True
            block = False
            stream = self._waiting.pop(job_id, None)
            if stream is not None:
                self._deliver(stream, saved)
            self._send_next()
        if block and not got and self._process is not None and self._process.poll() is not None:
            self._fail_all(self._why())
        return got

    def _why(self) -> str:
        code = None if self._process is None else self._process.poll()
        return f"the replay process died (exit code {code})"

    @staticmethod
    def _deliver(stream: ReplayStream, saved: SavedVideo) -> None:
        stream._result = saved
        stream.frames = saved.frames
        if stream.on_saved is not None:
            stream.on_saved(saved)

    def _fail_all(self, why: str) -> None:
        waiting, self._waiting = self._waiting, {}
        queued, self._queued = list(self._queued), deque()
        for stream in [*waiting.values(), *queued]:
            self._deliver(stream, SavedVideo(stream.path, 0, 0.0, 0, 0, stream.options["format"],
                                             tags=stream.options["tags"], error=why))
        self._shut()

    def _wait_for(self, stream: ReplayStream, timeout: float | None) -> None:
        waited = 0.0
        while stream._result is None:
            self._send_next()
            if not self._waiting:
                raise RuntimeError(f"{stream.path} was never sent to the replay process")
            self._collect(block=True, timeout=0.5)
            waited += 0.5
            if timeout is not None and waited >= timeout and stream._result is None:
                raise TimeoutError(f"{stream.path} not replayed after {timeout} s")

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every submitted video."""
        for stream in [*self._waiting.values(), *self._queued]:
            self._wait_for(stream, timeout)

    def close(self) -> None:
        """Wait for every submitted video, then stop the replay process."""
        try:
            self.flush()
        finally:
            self._shut()

    def finish_at_exit(self) -> None:
        """At interpreter exit: :meth:`close`, after the recorders' :attr:`exit_hooks`,
        saying why the exit waits; a second Ctrl-C abandons the videos left (each
        reported failed, as a video whose replay process died). Nothing if closed."""
        if self._process is None:
            return
        try:
            for hook in self.exit_hooks:
                try:
                    hook()
                except Exception:  # (one recorder's failure does not cost the others' videos)
                    logger.exception("agentreel: stopping a clip at exit failed")
            left = len(self._waiting) + len(self._queued)
            if left:
                logger.warning("agentreel: replaying %d kept video(s) before exiting "
                               "(Ctrl-C again abandons them)", left)
            self.flush()
        except KeyboardInterrupt:
            if self._process is not None:
                self._process.kill()
            self._fail_all("abandoned at exit (Ctrl-C)")
            logger.warning("agentreel: abandoned the kept videos not yet replayed")
        finally:
            self._shut()

    def _forget_parent(self) -> None:
        """In a forked child: the replay process and its videos are the parent's. Drop them
        untouched (the child's copy of the connection is closed, nothing is sent)."""
        conn, self._conn = self._conn, None
        self._process, self._poller = None, None
        self._waiting, self._queued = {}, deque()
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _shut(self) -> None:
        process, self._process = self._process, None
        conn, self._conn = self._conn, None
        self._poller = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            conn.close()
        if process is not None:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
