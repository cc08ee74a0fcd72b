"""Turn a saved video into a small animated GIF, in memory (PyAV decode → palette → PyAV GIF).

TensorBoard shows animated GIFs in its image dashboard; this is how
:class:`~agentreel.trackers.TensorBoardTracker` puts videos there without moviepy.
Frames are subsampled to at most ``max_frames`` (the GIF plays at the matching
lower rate, so it lasts as long as the video), scaled so the longer side is at
most ``max_size`` pixels, and mapped to one 256-colour palette made from the
clip's most frequent colours.

Example:
    >>> import numpy as np, os, tempfile
    >>> from agentreel.video import VideoEngine
    >>> engine = VideoEngine(); path = os.path.join(tempfile.mkdtemp(), "v.mp4")
    >>> stream = engine.open(path, fps=20)
    >>> for i in range(40):
    ...     stream.add_frame(np.full((64, 96, 3), i * 6, np.uint8))
    >>> _ = stream.wait(); engine.close()
    >>> gif = video_to_gif(path, max_frames=10, max_size=48)
    >>> gif.data[:6], gif.frames, (gif.width, gif.height), gif.fps
    (b'GIF89a', 10, (48, 32), 5.0)
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["GifClip", "video_to_gif"]

_BITS = 5  # colour bins of 5 bits per channel (32768 bins) choose the palette


@dataclass(frozen=True)
class GifClip:
    """An encoded GIF: ``data`` (bytes starting ``GIF89a``), size, frame count and rate."""

    data: bytes
    width: int
    height: int
    frames: int
    fps: float


def _scaled(width: int, height: int, max_size: int) -> tuple[int, int]:
    scale = min(1.0, max_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _read_frames(path: str, max_frames: int, max_size: int) -> tuple[list[np.ndarray], float]:
    """Decoded, scaled RGB frames (every ``stride``-th) and the rate they play at."""
    import av  # PyAV is loaded only where GIFs are made (its memory cost: BENCHMARKS.md)

    with av.open(path) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        total = int(stream.frames or 0)
        stride = max(1, math.ceil(total / max_frames)) if total else 1
        width, height = _scaled(stream.codec_context.width, stream.codec_context.height, max_size)
        frames = [
            frame.to_ndarray(width=width, height=height, format="rgb24")
            for i, frame in enumerate(container.decode(stream))
            if i % stride == 0
        ]
    if len(frames) > max_frames:  # frame count unknown up front: subsample now
        extra = math.ceil(len(frames) / max_frames)
        frames, stride = frames[::extra], stride * extra
    return frames, rate / stride


def _palette(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A 256-colour palette from the most frequent colour bins, and a bin → index table."""
    shift = 8 - _BITS
    bins = np.concatenate([
        ((f[..., 0].astype(np.int32) >> shift) << (2 * _BITS))
        | ((f[..., 1].astype(np.int32) >> shift) << _BITS)
        | (f[..., 2].astype(np.int32) >> shift)
        for f in frames
    ]).ravel()
    counts = np.bincount(bins, minlength=1 << (3 * _BITS))
    used = np.flatnonzero(counts)
    chosen = used[np.argsort(-counts[used], kind="stable")[:256]]
    mask = (1 << _BITS) - 1

    def centres(b: np.ndarray) -> np.ndarray:  # bin → colour, spanning 0..255
        rgb = np.stack([(b >> (2 * _BITS)) & mask, (b >> _BITS) & mask, b & mask], axis=-1)
        return (rgb * 255 + mask // 2) // mask

    colours = centres(chosen).astype(np.float32)
    table = np.zeros(1 << (3 * _BITS), dtype=np.uint8)
    wanted = centres(used).astype(np.float32)
    for start in range(0, len(wanted), 4096):  # nearest palette colour for each used bin
        part = wanted[start:start + 4096]
        dist = ((part[:, None, :] - colours[None, :, :]) ** 2).sum(axis=-1)
        table[used[start:start + 4096]] = dist.argmin(axis=1).astype(np.uint8)
    palette = np.zeros((256, 4), dtype=np.uint8)
    palette[: len(colours)] = np.column_stack([
        colours.astype(np.uint8), np.full(len(colours), 255, np.uint8)])
    return palette, table


def video_to_gif(path: str | os.PathLike[str], *, max_frames: int = 64, max_size: int = 160,
                 ) -> GifClip:
    """Encode the video at ``path`` as an animated GIF in memory.

    Args:
        path: any video PyAV can read (the mp4/webm/gif agentreel wrote).
        max_frames: keep at most this many frames (evenly spaced).
        max_size: the longer side of the GIF in pixels (never enlarged).

    Raises:
        ValueError: the video holds no frames.
    """
    if max_frames < 1 or max_size < 1:
        raise ValueError("max_frames and max_size must be >= 1")
    frames, fps = _read_frames(os.fspath(path), max_frames, max_size)
    if not frames:
        raise ValueError(f"{os.fspath(path)!r} holds no frames")
    palette, table = _palette(frames)
    # PyAV takes the pal8 palette as rows of (A, R, G, B) bytes.
    words = palette[:, [3, 0, 1, 2]].copy()
    height, width = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(100)
    out = io.BytesIO()
    import av

    with av.open(out, "w", format="gif") as container:
        stream = container.add_stream("gif", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
        shift = 8 - _BITS
        for i, rgb in enumerate(frames):
            bins = (((rgb[..., 0].astype(np.int32) >> shift) << (2 * _BITS))
                    | ((rgb[..., 1].astype(np.int32) >> shift) << _BITS)
                    | (rgb[..., 2].astype(np.int32) >> shift))
            frame = av.VideoFrame.from_ndarray((table[bins], words),  # type: ignore[arg-type]
                                               format="pal8")  # (pal8 takes indices + palette)
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return GifClip(out.getvalue(), width, height, len(frames), float(rate))
