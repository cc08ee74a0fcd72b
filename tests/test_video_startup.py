"""The first clip never waits for the encoder process to load PyAV.

The encoder process's import of PyAV is held back for real: a gate package named ``av``
placed first on the encoder's ``PYTHONPATH`` blocks on a FIFO until the test opens it,
then loads the real PyAV (so the encoder works normally afterwards). While the gate is
closed the engine must keep accepting frames without the caller waiting (the encoder
takes them out of the rings into its bounded backlog), and every frame must be in the
decoded video. No timed assertion: the gate makes the order of events deterministic.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time

import numpy as np
import pytest

from agentreel.video import VideoEngine
from videotools import decode

GATE_PACKAGE = '''
import os, sys
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.environ["AGENTREEL_TEST_AV_GATE"], "rb"):  # blocks until the test opens it
    pass
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["av"]
import av  # the real PyAV replaces this module
'''


@pytest.fixture
def av_gate(tmp_path, monkeypatch):
    """Hold the encoder process's ``import av`` until the returned ``open_gate()``."""
    package = tmp_path / "gate" / "av"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(GATE_PACKAGE)
    fifo = tmp_path / "av-gate"
    os.mkfifo(fifo)
    monkeypatch.setenv("AGENTREEL_TEST_AV_GATE", str(fifo))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(package.parent), os.environ.get("PYTHONPATH", "")) if p))
    opened = []

    def open_gate(timeout: float = 10.0) -> None:
        """Let the import go on (nothing to do if no encoder waits at the gate)."""
        deadline = time.monotonic() + timeout
        while not opened and time.monotonic() < deadline:
            try:  # (no reader yet: the encoder has not reached its import)
                opened.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                time.sleep(0.01)

    yield open_gate
    for fd in opened:
        os.close(fd)


def frame(i: int, shape: tuple) -> np.ndarray:
    """Frame ``i``: a flat grey level that tells frames apart after encoding."""
    return np.full(shape, (i * 7) % 200 + 20, np.uint8)


def wait_started(engine: VideoEngine, timeout: float = 15.0) -> None:
    """Wait until the encoder process runs its loop (it may still be loading PyAV)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.poll()
        if getattr(engine._transport, "started", False):
            return
        time.sleep(0.01)


def open_when_caller_waits(stream, open_gate, timeout: float = 60.0) -> None:
    """Open the gate once the caller is blocked on its full ring."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ring = stream._ring
        if ring is not None and ring.caller_waiting:
            break
        time.sleep(0.005)
    open_gate()


def test_first_clip_never_waits_while_the_encoder_loads(tmp_path, av_gate):
    # 400 frames: more than the largest start-up ring (256 slots) today's encoder
    # leaves the caller before it is ready, while it cannot load PyAV at all.
    engine = VideoEngine(stall_timeout=3)
    try:
        engine.start()
        wait_started(engine)
        shape = (64, 96, 3)
        stream = engine.open(str(tmp_path / "first.mp4"), fps=30)
        for i in range(400):
            stream.add_frame(frame(i, shape))
            time.sleep(0.002)  # an env's step + render
        stats = engine.stats
        transport = engine._transport
        held_back = transport is not None and not transport.ready
        av_gate()
        saved = stream.wait(timeout=60)
    finally:
        engine.close()
    assert stats.frames == 400 and stats.max_wait_seconds == 0.0
    assert saved.error is None and saved.frames == 400
    assert held_back  # (all that time, the encoder could not encode yet)
    decoded = decode(tmp_path / "first.mp4")
    assert decoded.count == 400
    levels = [int(np.median(f)) for f in decoded.frames]
    assert all(abs(level - int(frame(i, shape)[0, 0, 0])) <= 3 for i, level in enumerate(levels))


def test_start_up_memory_is_bounded_and_nothing_is_lost(tmp_path, av_gate):
    # 480x640 frames: the start-up ring holds 72, the encoder's backlog 145 (128 MiB);
    # with PyAV held back, the caller must then wait for the encoder (back-pressure)
    # instead of the encoder's memory growing, and get every frame into the video.
    engine = VideoEngine()
    try:
        engine.start()
        wait_started(engine)
        shape = (480, 640, 3)
        stream = engine.open(str(tmp_path / "big.mp4"), fps=30)
        opener = threading.Thread(target=open_when_caller_waits, args=(stream, av_gate))
        opener.start()
        for i in range(260):
            stream.add_frame(frame(i, shape))
        saved = stream.wait(timeout=120)
        opener.join()
        pid = engine.encoder_pid
        peak = 0
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
            peak = next((int(line.split()[1]) * 1024 for line in status
                         if line.startswith("VmHWM:")), 0)
        stats = engine.stats
    finally:
        engine.close()
    assert saved.error is None and saved.frames == 260
    assert stats.max_wait_seconds > 0  # held back at ring + backlog, not at 260 frames
    print('encoder peak RSS MiB', peak / 2**20)
    assert peak < 400 * 2**20  # (PyAV ~100 MiB + ring 64 MiB + backlog 128 MiB)
    decoded = decode(tmp_path / "big.mp4")
    assert decoded.count == 260
    levels = [int(np.median(f)) for f in decoded.frames]
    assert all(abs(level - int(frame(i, shape)[0, 0, 0])) <= 3 for i, level in enumerate(levels))
