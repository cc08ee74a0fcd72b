"""What the engine and the encoder agree on, without importing PyAV.

The caller's process only validates and copies frames; it never encodes. So the
engine imports these constants and helpers from here rather than from
:mod:`agentreel.video.encoder`, and PyAV (about 17 MB of resident memory) is
loaded only where videos are encoded: in the encoder process (or thread).

>>> fps_fraction(29.97)
Fraction(2997, 100)
"""

from __future__ import annotations

import os
from fractions import Fraction

from agentreel.core.records import FORMATS  # the one list of formats, beside the video event type
from agentreel.core.videofiles import check_format, check_fps, prepare_folder, sidecar_path
from agentreel.video.presets import AUTO_LADDER, AUTO_MANY_CPUS, auto_start_level

__all__ = [
    "AUTO_LADDER",
    "AUTO_MANY_CPUS",
    "DEFAULT_PRESET",
    "DEFAULT_QUALITY",
    "FORMATS",
    "PARTIAL_SUFFIX",
    "auto_start_level",
    "check_video_args",
    "fps_fraction",
    "quality_range",
    "sidecar_path",
]

#: Suffix of the file that is being written (never ends in the video suffix).
PARTIAL_SUFFIX = ".partial"

#: x264 preset of a :class:`~agentreel.video.encoder.VideoFileWriter` when none is
#: given (the engine passes its own, see :mod:`agentreel.video.presets`).
DEFAULT_PRESET = "veryfast"

#: Default constant-rate-factor per format (lower = better quality, larger file).
DEFAULT_QUALITY = {"mp4": 23, "webm": 32, "gif": 0}

_QUALITY_RANGE = {"mp4": (0, 51), "webm": (4, 63), "gif": (0, 0)}

def quality_range(fmt: str) -> tuple[int, int]:
    """Allowed ``quality`` values (a CRF) for ``fmt``.

    >>> quality_range("mp4")
    (0, 51)
    """
    return _QUALITY_RANGE[fmt]


def fps_fraction(fps: float | Fraction) -> Fraction:
    """Exact frame rate as a Fraction: ``29.97`` → ``2997/100``, 15 → 15.

    Floats are read as their shortest decimal form, so the time base of the
    file is ``1/fps`` exactly as the user wrote it.

    >>> fps_fraction(29.97)
    Fraction(2997, 100)
    >>> fps_fraction(Fraction(30000, 1001))
    Fraction(30000, 1001)
    """
    frac = fps if isinstance(fps, Fraction) else Fraction(repr(float(fps)))
    return frac.limit_denominator(1_000_000)


_SUFFIX_FORMATS = {f".{fmt}": fmt for fmt in FORMATS}


def check_video_args(
    path: str | os.PathLike, fps: object, format: str | None, quality: object
) -> tuple[str, Fraction, str, int | None]:
    """Check a video's arguments and create its folder; returns ``(path, fps, format, quality)``.

    ``format`` defaults from the suffix (else mp4); ``quality`` is dropped for gif.

    >>> import tempfile
    >>> check_video_args(os.path.join(tempfile.mkdtemp(), "a.gif"), 10, None, 5)[1:]
    (Fraction(10, 1), 'gif', None)

    Raises:
        ValueError: bad fps, format or quality.
        OSError: the folder cannot be created or written to, or ``path`` is a folder.
    """
    path = os.fspath(path)
    rate = check_fps(fps)  # fps as a float
    suffix_format = _SUFFIX_FORMATS.get(os.path.splitext(path)[1].lower())
    if format is None:
        format = suffix_format or "mp4"
    else:
        check_format(format)
        if suffix_format is not None and suffix_format != format:
            raise ValueError(f"format={format!r} does not match the file name {path!r}")
    if quality is not None and format != "gif":
        lo, hi = quality_range(format)
        if isinstance(quality, bool) or not isinstance(quality, int) or not lo <= quality <= hi:
            raise ValueError(f"quality for {format} must be an int in [{lo}, {hi}], got {quality!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"video path is a directory: {path!r}")
    prepare_folder(os.path.dirname(os.path.abspath(path)))
    exact = fps if isinstance(fps, Fraction) else fps_fraction(rate)
    return path, exact, format, quality if format != "gif" else None  # type: ignore[return-value]
