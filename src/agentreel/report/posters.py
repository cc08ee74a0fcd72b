"""Poster frames for the report's video cards: the last frame of each video, as a small JPEG.

A ``<video preload="metadata">`` shows black until it is played; with a poster a
gallery of 50 episodes can be scanned by eye. The poster is the video's last
frame (how the episode ended), scaled to at most ``max_width`` pixels and embedded
as a ``data:`` URI, so the page stays self-contained and the run folder is not
touched. Only the last group of pictures is decoded (a seek to the end), so a
poster costs about the same for a long episode as for a short one. PyAV encodes
the JPEG: no Pillow needed.

Example:
    >>> import tempfile, numpy as np
    >>> from agentreel.video import default_engine
    >>> path = tempfile.mkdtemp() + "/clip.mp4"
    >>> stream = default_engine().open(path, fps=30)
    >>> for shade in (0, 128, 255):
    ...     stream.add_frame(np.full((64, 96, 3), shade, np.uint8))
    >>> stream.finish(); _ = stream.wait()
    >>> uri = poster_data_uri(path)
    >>> uri.startswith("data:image/jpeg;base64,/9j/")
    True
    >>> bool(last_frame(path).mean() > 240)   # the last frame: white
    True
"""

from __future__ import annotations

import base64
import fractions
import os

import av
import numpy as np

__all__ = ["last_frame", "poster_jpeg", "poster_data_uri"]


def _last_video_frame(path: str | os.PathLike[str]) -> av.VideoFrame | None:
    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        last = None
        if stream.duration:
            try:
                container.seek(int(stream.duration), stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                container.seek(0)
        for frame in container.decode(stream):
            last = frame
        if last is None and stream.duration:  # the seek went past every key frame: decode all
            container.seek(0)
            for frame in container.decode(stream):
                last = frame
        return last


def last_frame(path: str | os.PathLike[str]) -> np.ndarray | None:
    """The last frame of a video as RGB ``uint8`` (``None`` if the file holds no frame)."""
    frame = _last_video_frame(path)
    return None if frame is None else frame.to_ndarray(format="rgb24")


def poster_jpeg(path: str | os.PathLike[str], max_width: int = 320) -> bytes | None:
    """The last frame of ``path`` as JPEG bytes, at most ``max_width`` wide (even sizes)."""
    frame = _last_video_frame(path)
    if frame is None:
        return None
    scale = min(1.0, max_width / frame.width)
    width = max(2, int(frame.width * scale) // 2 * 2)
    height = max(2, int(round(frame.height * scale / 2)) * 2)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = fractions.Fraction(1, 25)
    codec.options = {"qmin": "2", "qmax": "5"}
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    packets = list(codec.encode(picture)) + list(codec.encode(None))
    return b"".join(bytes(packet) for packet in packets) or None


def poster_data_uri(path: str | os.PathLike[str], max_width: int = 320) -> str | None:
    """:func:`poster_jpeg` as a ``data:image/jpeg;base64,...`` URI; ``None`` if it cannot be made."""
    try:
        data = poster_jpeg(path, max_width)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    if not data:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
