"""What the engine and the encoder agree on, without importing PyAV.

The caller's process only validates and copies frames; it never encodes. So the
engine imports these constants and helpers from here rather than from
:mod:`agentreel.video.encoder`, and PyAV (about 17 MB of resident memory) is
loaded only where videos are encoded: in the encoder process (or thread).

>>> fps_fraction(29.97)
Fraction(2997, 100)
"""

from __future__ import annotations

from fractions import Fraction

from agentreel.records import FORMATS  # the one list of formats, beside the video event type
from agentreel.videofiles import sidecar_path  # the sidecar's one module

__all__ = [
    "AUTO_LADDER",
    "AUTO_MANY_CPUS",
    "DEFAULT_PRESET",
    "DEFAULT_QUALITY",
    "FORMATS",
    "PARTIAL_SUFFIX",
    "auto_start_level",
    "fps_fraction",
    "quality_range",
    "sidecar_path",
]

#: Suffix of the file that is being written (never ends in the video suffix).
PARTIAL_SUFFIX = ".partial"

#: x264 preset used for MP4. Chosen by measurement on CartPole frames (see
#: bench/video_engine_bench.py): "veryfast" gives ~112 bytes/frame (moviepy's
#: "medium" gives ~99), at ~550 frames/s on one core; "superfast" is faster
#: (~650 frames/s) but files are about twice as large.
DEFAULT_PRESET = "veryfast"

#: ``preset="auto"`` ladder of x264 settings, (preset, x264-params), slowest
#: first. Chosen by measurement on CartPole episodes (bench/x264_sweep.py, 40
#: episodes, median of 5): most of what makes "veryfast" files small is the
#: macroblock-tree rate control (mbtree with a lookahead), which "superfast" and
#: "ultrafast" switch off. Level 0 (superfast + mbtree) writes veryfast's file
#: sizes (161 bytes/frame) for 1.67 ms of encoder CPU per 600x400 frame instead
#: of 2.41; level 1 (ultrafast + CABAC + B-frames + deblocking + AQ + mbtree)
#: 177 bytes/frame for 1.26 ms, as cheap as plain "ultrafast" (1.31 ms, 413
#: bytes/frame, so it is not on the ladder).
AUTO_LADDER: tuple[tuple[str, str | None], ...] = (
    ("superfast", "mbtree=1:rc-lookahead=5"),
    ("ultrafast", "cabac=1:bframes=3:deblock=1:aq-mode=1:mbtree=1:rc-lookahead=5"),
)

#: With fewer usable CPUs than this, ``preset="auto"`` never goes below level 1
#: of :data:`AUTO_LADDER`: the encoder then shares the CPUs with the agent's own
#: loop, and every millisecond it spends slows the agent (measured on 2 CPUs:
#: level 0 cost 0.81-0.93x of render-only throughput over 20k steps).
AUTO_MANY_CPUS = 4


def auto_start_level(cpus: int) -> int:
    """The :data:`AUTO_LADDER` level ``preset="auto"`` starts at (and returns to).

    >>> auto_start_level(2), auto_start_level(8)
    (1, 0)
    """
    return 0 if cpus >= AUTO_MANY_CPUS else 1

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
