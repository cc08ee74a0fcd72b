"""MP4s shorter than one fragment are written straight from memory (no .partial, no remux)."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from agentreel.video import encoder
from agentreel.video.encoder import VideoFileWriter, _remux_faststart
from agentreel.video.spec import AUTO_LADDER, DEFAULT_PRESET
from videotools import complete_fragment_samples, decode, psnr

H, W = 96, 128
SETTINGS = [(DEFAULT_PRESET, None), *AUTO_LADDER]  # AUTO_LADDER turns on B-frames / mbtree
IDS = ["default", *(f"auto{level}" for level in range(len(AUTO_LADDER)))]


def frames(n: int) -> list[np.ndarray]:
    """Smooth, distinct RGB frames (a gradient with a moving box)."""
    yy, xx = np.mgrid[0:H, 0:W]
    out = []
    for i in range(n):
        f = np.zeros((H, W, 3), np.uint8)
        f[..., 0] = xx * 255 // (W - 1)
        f[..., 1] = yy * 255 // (H - 1)
        f[..., 2] = 128
        f[H // 4 : H // 4 + 16, 3 * i % (W - 16) :][:, :16] = (255, 255, 0)
        out.append(f)
    return out


def writer(path: str, fps: float = 50, settings: tuple[str, str | None] = SETTINGS[0]) -> VideoFileWriter:
    preset, params = settings
    return VideoFileWriter(path, fps=fps, width=W, height=H, preset=preset, x264_params=params)


def times(path: str) -> list[Fraction]:
    """Presentation time of every decoded frame, in seconds, exactly."""
    with av.open(path) as c:
        stream = c.streams.video[0]
        return [Fraction(f.pts) * stream.time_base for f in c.decode(stream)]


def packets(path: str) -> list[tuple[int | None, int | None, int, bool]]:
    with av.open(path) as c:
        return [(p.pts, p.dts, p.size, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.dts is not None]


def top_boxes(path: str) -> list[bytes]:
    with open(path, "rb") as fh:
        data = fh.read()
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        kinds.append(data[pos + 4 : pos + 8])
        pos += int.from_bytes(data[pos : pos + 4], "big")
    return kinds


@pytest.fixture
def opened(monkeypatch):
    """Every file path PyAV is asked to open for writing while the test runs."""
    paths: list[str] = []
    real_open = av.open

    def spy(file, mode="r", *args, **kwargs):
        if mode == "w" and isinstance(file, str | os.PathLike):
            paths.append(os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(encoder.av, "open", spy)
    return paths


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_short_mp4_written_directly_and_decodes(tmp_path, opened, settings):
    path = str(tmp_path / "short.mp4")
    src = frames(22)  # a CartPole-like episode: 0.44 s at 50 fps
    w = writer(path, 50, settings)
    for f in src:
        w.write(f)
        assert os.listdir(tmp_path) == []  # nothing on disk while recording
    assert w.finish() == 22
    # Only the +faststart temporary, in its private folder (issue 12: never a name in the
    # shared folder a link could be planted at); never a fragmented .partial.
    assert len(opened) == 1 and opened[0].endswith(".faststart/short.mp4"), opened
    assert os.listdir(tmp_path) == ["short.mp4"]
    video = decode(path)
    assert video.count == 22 and (video.width, video.height) == (W, H)
    assert video.codec == "h264" and video.pix_fmt == "yuv420p"
    assert min(psnr(a, b) for a, b in zip(video.frames, src, strict=True)) > 30
    assert times(path) == [Fraction(i, 50) for i in range(22)]  # frame i at i / fps, first at 0
    assert top_boxes(path)[:2] == [b"ftyp", b"moov"]  # faststart: moov before mdat
    with av.open(path) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range) == (6, 6, 6, 1)


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize(("fps", "n"), [(50, 22), (50, 1), (29.97, 29), (25, 7)])
def test_direct_file_matches_the_fragmented_remux_path(tmp_path, settings, fps, n):
    """Same packets and timestamps as the path that writes a fragmented .partial and remuxes it."""
    src = frames(n)
    direct = writer(str(tmp_path / "direct.mp4"), fps, settings)
    fragmented = writer(str(tmp_path / "frag.mp4"), fps, settings)
    for f in src:
        direct.write(f)
        fragmented.write(f)
    direct.finish()
    fragmented.close_partial()
    ref = str(tmp_path / "ref.mp4")
    _remux_faststart(fragmented.partial_path, ref)
    assert packets(direct.path) == packets(ref)
    assert times(direct.path) == times(ref) == [Fraction(i) / encoder.fps_fraction(fps) for i in range(n)]
    with av.open(direct.path) as a, av.open(ref) as b:
        sa, sb = a.streams.video[0], b.streams.video[0]
        assert sa.time_base == sb.time_base and sa.average_rate == sb.average_rate
        assert sa.codec_context.extradata == sb.codec_context.extradata
        assert sa.codec_context.profile == sb.codec_context.profile


def test_long_mp4_opens_partial_at_one_fragment(tmp_path):
    path = str(tmp_path / "long.mp4")
    src = frames(60)
    w = writer(path, fps=30)
    for i, f in enumerate(src, 1):
        w.write(f)
        assert os.path.exists(w.partial_path) == (i >= 30), i  # at 1 s of video
        assert not os.path.exists(path)
    assert complete_fragment_samples(w.partial_path)[1] > 0  # a real fragment on disk
    assert w.finish() == 60
    assert os.listdir(tmp_path) == ["long.mp4"]
    video = decode(path)
    assert video.count == 60
    assert min(psnr(a, b) for a, b in zip(video.frames, src, strict=True)) > 30
    assert times(path) == [Fraction(i, 30) for i in range(60)]


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("n", [1, 22])
def test_close_partial_while_in_memory_leaves_complete_partial(tmp_path, settings, n):
    path = str(tmp_path / "crash.mp4")
    src = frames(n)
    w = writer(path, 50, settings)
    for f in src:
        w.write(f)
    w.close_partial()  # the parent died: keep what we have
    w.close_partial()  # idempotent
    assert os.listdir(tmp_path) == ["crash.mp4.partial"]
    with open(w.partial_path, "rb") as fh:
        assert b"mvex" in fh.read()  # fragmented, as before
    video = decode(w.partial_path)
    assert video.count == n
    assert min(psnr(a, b) for a, b in zip(video.frames, src, strict=True)) > 30


@pytest.mark.parametrize("n", [5, 60])
def test_abort_leaves_nothing(tmp_path, n):
    w = writer(str(tmp_path / "gone.mp4"), fps=30)
    for f in frames(n):
        w.write(f)
    w.abort()
    w.abort()
    assert os.listdir(tmp_path) == []


def test_finish_into_a_removed_folder_raises_and_leaves_nothing(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    w = writer(str(folder / "x.mp4"))
    for f in frames(5):
        w.write(f)
    folder.rmdir()
    with pytest.raises(OSError):
        w.finish()
    w.abort()
    assert os.listdir(tmp_path) == []
