"""VideoEngine end to end: files decoded back with PyAV."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from agentreel.video import FrameError, SavedVideo, VideoEngine, default_engine
from agentreel.video.spec import AUTO_LADDER
from videotools import wait_gone

BACKENDS = ["process", "thread"]
HELPERS = os.path.join(os.path.dirname(__file__), "helpers")


@pytest.fixture(params=BACKENDS)
def engine(request):
    eng = VideoEngine(backend=request.param)
    yield eng
    eng.close()


def make_frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Smooth, distinct frames (a gradient with a moving box): compress well, PSNR is meaningful."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
        f[..., 1] = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
        f[..., 2] = 128
        x0 = (i * 2) % max(w - 8, 1)
        f[h // 4 : h // 4 + 8, x0 : x0 + 8] = (255, 255, 0)
        frames.append(f)
    return frames


def decode(path: str) -> tuple[list[av.VideoFrame], av.video.stream.VideoStream]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return frames, stream


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_mp4_roundtrip_count_size_pixfmt_psnr(engine, tmp_path):
    path = str(tmp_path / "clip.mp4")
    frames = make_frames(40)
    stream = engine.open(path, fps=30)
    for f in frames:
        stream.add_frame(f)
    assert stream.frames == 40 and stream.shape == (48, 64, 3)
    stream.finish()
    saved = stream.wait(timeout=60)
    assert saved.error is None and saved.frames == 40
    assert (saved.width, saved.height, saved.format) == (64, 48, "mp4")
    decoded, vstream = decode(path)
    assert len(decoded) == 40
    assert vstream.codec_context.name == "h264"
    assert decoded[0].format.name == "yuv420p"
    assert (decoded[0].width, decoded[0].height) == (64, 48)
    for i in (0, 17, 39):
        assert psnr(decoded[i].to_ndarray(format="rgb24"), frames[i]) > 30
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_faststart_moov_before_mdat(tmp_path):
    eng = VideoEngine(backend="thread")
    path = str(tmp_path / "fs.mp4")
    s = eng.open(path, fps=30)
    for f in make_frames(5):
        s.add_frame(f)
    s.wait(timeout=60)
    eng.close()
    with open(path, "rb") as fh:
        data = fh.read()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("fps", [29.97, 15, Fraction(30000, 1001)])
def test_frame_rate_and_duration(tmp_path, fps):
    eng = VideoEngine(backend="thread")
    path = str(tmp_path / "rate.mp4")
    s = eng.open(path, fps=fps)
    for f in make_frames(30):
        s.add_frame(f)
    saved = s.wait(timeout=60)
    eng.close()
    assert saved.fps == pytest.approx(float(fps))
    decoded, vstream = decode(path)
    assert len(decoded) == 30
    assert float(vstream.average_rate) == pytest.approx(float(fps), rel=1e-4)
    assert decoded[0].time == pytest.approx(0.0, abs=1e-6)
    assert decoded[-1].time == pytest.approx(29 / float(fps), rel=1e-3)


def test_odd_size_padded_even(engine, tmp_path):
    path = str(tmp_path / "odd.mp4")
    s = engine.open(path, fps=30)
    for f in make_frames(5, h=33, w=51):
        s.add_frame(f)
    saved = s.wait(timeout=60)
    assert (saved.width, saved.height) == (52, 34)
    decoded, _ = decode(path)
    assert (decoded[0].width, decoded[0].height) == (52, 34)


def test_gray_rgba_float_bool_frames(engine, tmp_path):
    path = str(tmp_path / "mixed.mp4")
    s = engine.open(path, fps=30)
    s.add_frame(np.full((48, 64), 100, np.uint8))
    s.add_frame(np.full((48, 64, 4), 100, np.uint8))
    s.add_frame(np.full((48, 64, 3), 100 / 255, np.float32))
    s.add_frame(np.ones((48, 64), bool))
    saved = s.wait(timeout=60)
    assert saved.frames == 4
    decoded, _ = decode(path)
    assert len(decoded) == 4
    assert abs(decoded[0].to_ndarray(format="rgb24").mean() - 100) < 4
    assert decoded[3].to_ndarray(format="rgb24").mean() > 240


def test_bad_frames_raise_and_stream_continues(engine, tmp_path):
    path = str(tmp_path / "bad.mp4")
    s = engine.open(path, fps=30)
    good = make_frames(3)
    s.add_frame(good[0])
    with pytest.raises(FrameError) as err:
        s.add_frame(np.zeros((20, 20, 3), np.uint8))
    assert "(48, 64, 3)" in str(err.value) and "(20, 20, 3)" in str(err.value)
    with pytest.raises(FrameError):
        s.add_frame(np.full((48, 64, 3), np.nan))
    with pytest.raises(FrameError):
        s.add_frame(np.zeros((48, 64, 3, 2), np.uint8))
    with pytest.raises(FrameError):
        s.add_frame(None)
    s.add_frame(good[1])
    s.add_frame(good[2])
    assert s.wait(timeout=60).frames == 3
    assert len(decode(path)[0]) == 3


@pytest.mark.parametrize("fmt", ["webm", "gif"])
def test_webm_and_gif(tmp_path, fmt):
    eng = VideoEngine(backend="process")
    path = str(tmp_path / f"clip.{fmt}")
    s = eng.open(path, fps=20)
    frames = make_frames(12)
    for f in frames:
        s.add_frame(f)
    saved = s.wait(timeout=60)
    eng.close()
    assert saved.error is None and saved.format == fmt
    decoded, vstream = decode(path)
    assert len(decoded) == 12
    if fmt == "webm":
        assert vstream.codec_context.name in ("vp9", "libvpx-vp9")
        assert decoded[0].format.name == "yuv420p"
        assert psnr(decoded[5].to_ndarray(format="rgb24"), frames[5]) > 25
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_final_name_absent_until_complete(tmp_path):
    eng = VideoEngine(backend="process")
    path = str(tmp_path / "late.mp4")
    s = eng.open(path, fps=30)
    for f in make_frames(60):  # more than x264's lookahead, so packets reach the file
        s.add_frame(f)
    deadline = time.monotonic() + 60  # the encoder process may still be starting (the
    while not os.path.exists(path + ".partial") and time.monotonic() < deadline:  # first
        eng.poll()  # frames wait in its start-up ring meanwhile)
        time.sleep(0.05)
    assert os.path.exists(path + ".partial")
    assert not os.path.exists(path)
    s.finish()
    eng.flush(timeout=60)
    assert os.path.exists(path) and not os.path.exists(path + ".partial")
    eng.close()


def test_abort_leaves_nothing(engine, tmp_path):
    called = []
    s = engine.open(str(tmp_path / "gone.mp4"), fps=30, on_saved=called.append)
    for f in make_frames(10):
        s.add_frame(f)
    s.abort()
    engine.flush(timeout=60)
    assert os.listdir(tmp_path) == []
    assert called == []
    assert s.wait(timeout=5).error == "aborted"


def test_zero_frames_writes_nothing(engine, tmp_path):
    called = []
    s = engine.open(str(tmp_path / "empty.mp4"), fps=30, on_saved=called.append)
    s.finish()
    engine.flush(timeout=10)
    assert s.wait().error == "no frames" and called == []
    assert os.listdir(tmp_path) == []


def test_flush_waits_and_callbacks_run_on_calling_thread(engine, tmp_path):
    seen: list[tuple[SavedVideo, int, bool]] = []

    def on_saved(video: SavedVideo) -> None:
        seen.append((video, threading.get_ident(), os.path.exists(video.path)))

    streams = []
    for k in range(3):
        s = engine.open(str(tmp_path / f"v{k}.mp4"), fps=30, tags={"k": k}, on_saved=on_saved)
        for f in make_frames(8 + k):
            s.add_frame(f)
        streams.append(s)
    for k, s in enumerate(streams):
        s.finish(tags={"done": k})
    engine.flush(timeout=60)
    assert len(seen) == 3
    assert {v.tags["k"] for v, _, _ in seen} == {0, 1, 2}
    for video, thread_id, existed in seen:
        assert thread_id == threading.get_ident()
        assert existed and video.error is None
        assert video.frames == 8 + video.tags["k"] and video.tags["done"] == video.tags["k"]


def test_interleaved_streams(engine, tmp_path):
    a = engine.open(str(tmp_path / "a.mp4"), fps=30)
    b = engine.open(str(tmp_path / "b.mp4"), fps=30)
    for f in make_frames(20):
        a.add_frame(f)
        b.add_frame(f[:24, :32])
    a.finish()
    b.finish()
    engine.flush(timeout=60)
    assert len(decode(a.path)[0]) == 20 and len(decode(b.path)[0]) == 20
    assert decode(b.path)[0][0].width == 32


def test_sidecar(tmp_path):
    eng = VideoEngine(backend="process")
    s = eng.open(str(tmp_path / "ep-3.mp4"), fps=15, tags={"episode_id": np.int64(3)}, sidecar=True)
    for f in make_frames(4):
        s.add_frame(f)
    s.finish(tags={"return": 1.5})
    eng.flush(timeout=60)
    eng.close()
    data = json.loads((tmp_path / "ep-3.json").read_text())
    assert data == {
        "path": "ep-3.mp4", "frames": 4, "fps": 15.0, "width": 64, "height": 48,
        "format": "mp4", "tags": {"episode_id": 3, "return": 1.5},
    }
    assert s.result.tags["episode_id"] is not None


def test_backends_identical_frame_counts(tmp_path):
    counts = {}
    for backend in BACKENDS:
        eng = VideoEngine(backend=backend)
        path = str(tmp_path / f"{backend}.mp4")
        s = eng.open(path, fps=30)
        for f in make_frames(37):
            s.add_frame(f)
        s.finish()
        eng.close()
        counts[backend] = len(decode(path)[0])
    assert counts == {"process": 37, "thread": 37}


def test_back_pressure_is_measured(tmp_path, monkeypatch):
    from agentreel.video import presets

    monkeypatch.setattr(presets, "usable_cpus", lambda: 8)  # auto starts at level 0
    eng = VideoEngine(backend="process", queue_frames=1)
    assert eng._presets.preset == "superfast"
    eng.start()
    deadline = time.monotonic() + 30
    while not eng._transport.ready and time.monotonic() < deadline:
        eng.poll()
        time.sleep(0.02)
    s = eng.open(str(tmp_path / "bp.mp4"), fps=30)
    for f in make_frames(60, h=240, w=320):
        s.add_frame(f)
    s.wait(timeout=60)
    stats = eng.stats
    eng.close()
    assert stats.frames == 60
    assert stats.wait_seconds > 0 and 0 < stats.max_wait_seconds <= stats.wait_seconds
    # preset="auto": a video that made the caller wait makes the next one faster
    assert eng._presets.preset == "ultrafast"


@pytest.mark.parametrize(("cpus", "start"), [(1, 1), (2, 1), (3, 1), (4, 0), (16, 0)])
def test_auto_preset_starts_cheaper_on_few_cpus(tmp_path, monkeypatch, cpus, start):
    """With few CPUs the encoder shares them with the agent: the cheaper x264 step is
    used from the first video and calm videos do not bring back the slower one."""
    from agentreel.video import presets

    monkeypatch.setattr(presets, "usable_cpus", lambda: cpus)
    eng = VideoEngine(backend="thread")
    try:
        for k in range(5):  # calm videos (thread backend, tiny frames: no waits)
            assert eng._presets.preset == AUTO_LADDER[start][0]
            assert eng._presets.x264_params == AUTO_LADDER[start][1]
            s = eng.open(str(tmp_path / f"v{k}.mp4"), fps=30)
            for f in make_frames(3):
                s.add_frame(f)
            s.wait(timeout=60)
        assert eng._presets.preset == AUTO_LADDER[start][0]
    finally:
        eng.close()


def test_bad_preset_rejected():
    with pytest.raises(ValueError, match="preset"):
        VideoEngine(preset="warp9")


@pytest.mark.parametrize(
    "kwargs",
    [{"fps": 0}, {"fps": -1}, {"fps": float("nan")}, {"fps": float("inf")}, {"fps": True},
     {"fps": 30, "format": "avi"}, {"fps": 30, "quality": 99}, {"fps": 30, "format": "gif"}],
)
def test_open_validates_early(tmp_path, kwargs):
    eng = VideoEngine(backend="thread")
    with pytest.raises(ValueError):
        eng.open(str(tmp_path / "x.mp4"), **kwargs)
    eng.close()
    assert os.listdir(tmp_path) == []


def test_open_rejects_same_path_twice(tmp_path):
    eng = VideoEngine(backend="thread")
    eng.open(str(tmp_path / "x.mp4"), fps=30)
    with pytest.raises(ValueError, match="already"):
        eng.open(str(tmp_path / "x.mp4"), fps=30)
    eng.close()


def test_write_error_reported_and_engine_keeps_working(engine, tmp_path):
    folder = tmp_path / "sub"
    bad = engine.open(str(folder / "bad.mp4"), fps=30)  # creates folder
    os.rmdir(folder)  # the encoder cannot create the partial file now
    results = []
    bad.on_saved = results.append
    with pytest.warns(RuntimeWarning, match="could not write"):
        for f in make_frames(5):
            bad.add_frame(f)
        bad.finish()
        engine.flush(timeout=60)
    assert results and results[0].error and not os.path.exists(bad.path)
    good = engine.open(str(tmp_path / "good.mp4"), fps=30)
    for f in make_frames(5):
        good.add_frame(f)
    assert good.wait(timeout=60).error is None


def test_worker_death_reported_and_restarted(tmp_path):
    eng = VideoEngine(backend="process")
    s = eng.open(str(tmp_path / "dies.mp4"), fps=30)
    for f in make_frames(5):
        s.add_frame(f)
    deadline = time.monotonic() + 30
    while not eng._transport.ready and time.monotonic() < deadline:
        eng.poll()
        time.sleep(0.02)
    eng._transport.proc.kill()
    with pytest.warns(RuntimeWarning, match="died"):
        for f in make_frames(5):
            s.add_frame(f)
        s.finish()
        saved = s.wait(timeout=30)
    assert saved.error and "died" in saved.error
    assert not os.path.exists(s.path)
    s2 = eng.open(str(tmp_path / "after.mp4"), fps=30)
    for f in make_frames(6):
        s2.add_frame(f)
    assert s2.wait(timeout=60).frames == 6
    assert eng.backend == "process"
    eng.close()
    assert len(decode(s2.path)[0]) == 6


def test_close_finishes_open_streams_and_is_idempotent(tmp_path):
    eng = VideoEngine(backend="process")
    s = eng.open(str(tmp_path / "c.mp4"), fps=30)
    for f in make_frames(7):
        s.add_frame(f)
    proc = eng._transport.proc
    eng.close()
    eng.close()
    assert proc.poll() is not None
    assert s.result.frames == 7 and len(decode(s.path)[0]) == 7


def test_default_engine_is_shared():
    assert default_engine() is default_engine()


def _run_child(tmp_path, frames):
    path = str(tmp_path / "crash.mp4")
    child = subprocess.Popen(
        [sys.executable, os.path.join(HELPERS, "video_sigkill_child.py"), path, str(frames)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    worker_pid = int(child.stdout.readline().split()[1])
    assert child.stdout.readline().strip() == "READY"
    return path, child, worker_pid


def test_sigkill_parent_worker_closes_partial_cleanly(tmp_path):
    path, child, worker_pid = _run_child(tmp_path, 90)
    child.send_signal(signal.SIGKILL)
    child.wait()
    wait_gone(worker_pid, timeout=15.0)
    assert not os.path.exists(path)
    decoded, _ = decode(path + ".partial")
    assert len(decoded) == 90  # worker saw EOF and flushed everything


def test_sigkill_everything_partial_decodes_up_to_last_fragment(tmp_path):
    path, child, worker_pid = _run_child(tmp_path, 90)
    os.killpg(child.pid, signal.SIGKILL)  # child and encoder process together
    child.wait()
    wait_gone(worker_pid, timeout=15.0)
    assert not os.path.exists(path)
    decoded, _ = decode(path + ".partial")
    assert len(decoded) >= 30


def test_memory_bounded_for_long_stream(tmp_path):
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    eng = VideoEngine(backend="process")
    s = eng.open(str(tmp_path / "long.mp4"), fps=30)
    frame = np.zeros((64, 96, 3), np.uint8)
    for _ in range(200):
        s.add_frame(frame)
    before = proc.memory_info().rss
    for i in range(5000):
        frame[:, :, 0] = i % 256
        s.add_frame(frame)
    growth = proc.memory_info().rss - before
    s.finish()
    eng.close()
    assert growth < 150 * 2**20
    assert s.result.frames == 5200


@pytest.mark.parametrize("shared", [True, False])
def test_frame_rings_leave_slack_for_ffmpeg_over_reads(shared):
    """FFmpeg's SIMD colour conversion reads past a frame's last row. A ring that
    ended exactly on a page boundary (e.g. 8 slots of 48x64 RGB = 18 pages) crashed
    the encoder process with SIGSEGV in swscale when the next page was unmapped."""
    from agentreel.video.ring import FrameRing

    ring = FrameRing.create(8, (48, 64, 3), shared=shared)
    assert ring.frames.shape == (8, 48, 64, 3)
    assert ring.size >= ring.frames.nbytes + 64
    # The counters after the frames must not sit in the over-read slack either.
    header_start = (np.asarray(ring._header).__array_interface__["data"][0]
                    - ring.frames.__array_interface__["data"][0])
    assert header_start >= ring.frames.nbytes + 4096
    ring.close()


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="anonymous memory is Linux-only")
def test_frame_rings_leave_nothing_in_dev_shm_and_start_no_resource_tracker(tmp_path):
    """Named segments leaked in /dev/shm whenever the process tree was SIGKILLed,
    and needed one multiprocessing resource-tracker process per side (~14 MB each).
    Checked in a fresh process, where nothing else has started a tracker."""
    pytest.importorskip("psutil")
    script = f"""
import os, json, numpy as np, psutil
from agentreel.video import VideoEngine
before = {{f for f in os.listdir("/dev/shm") if f.startswith("psm_")}}
eng = VideoEngine()
stream = eng.open({str(tmp_path / "v.mp4")!r}, fps=30)
for i in range(20):
    stream.add_frame(np.full((48, 64, 3), i * 10, np.uint8))
during = {{f for f in os.listdir("/dev/shm") if f.startswith("psm_")}}
tree = psutil.Process().children(recursive=True)
stream.finish()
print(json.dumps({{"frames": stream.wait().frames, "new_segments": sorted(during - before),
                  "children": [" ".join(p.cmdline()) for p in tree]}}))
eng.close()
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["frames"] == 20
    assert facts["new_segments"] == []
    assert len(facts["children"]) == 1  # the encoder process only
    assert not any("resource_tracker" in cmd for cmd in facts["children"])
