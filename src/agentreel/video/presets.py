"""Which x264 settings the engine asks for: a fixed preset, or ``"auto"``.

``"auto"`` walks :data:`AUTO_LADDER`: it starts at :func:`auto_start_level` for the
CPUs this process may use and, when a video made the caller wait for more than 2% of
its recording time, uses the next faster step for the following videos; it steps back
after three videos without waits. Waits before the encoder said it was ready say
nothing about its speed and are ignored. With fewer than :data:`AUTO_MANY_CPUS` CPUs,
a video of large frames (:data:`AUTO_LARGE_FRAME_PIXELS` or more) starts at the
fastest step (:meth:`PresetPolicy.settings_for`): the encoder's work grows with the
pixels, and on few CPUs every millisecond it spends is taken from the agent's loop.
The measurements behind the ladder are in BENCHMARKS.md ("x264 settings", "Large
frames").

>>> policy = PresetPolicy("auto", cpus=2)
>>> policy.preset
'ultrafast'
>>> policy.settings_for((560, 880, 3)) == AUTO_LADDER[-1]   # pistonball's frames
True
>>> PresetPolicy("veryfast", cpus=2).x264_params is None
True
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["AUTO_LADDER", "AUTO_LARGE_FRAME_PIXELS", "AUTO_MANY_CPUS", "X264_PRESETS",
           "PresetPolicy", "auto_start_level", "usable_cpus"]

#: x264's presets, fastest first.
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)

#: ``preset="auto"`` ladder of x264 settings, (preset, x264-params), slowest first.
#: Level 0 keeps the macroblock-tree rate control (most of what makes "veryfast" files
#: small) at "superfast"'s cost; level 1 adds CABAC, B-frames, deblocking, AQ and
#: mbtree to "ultrafast": files nearly as small for about "ultrafast"'s CPU. Level 2
#: keeps only CABAC and mbtree: less encoder CPU per pixel, larger files (for large
#: frames on few CPUs, and when level 1 still made the caller wait).
AUTO_LADDER: tuple[tuple[str, str | None], ...] = (
    ("superfast", "mbtree=1:rc-lookahead=5"),
    ("ultrafast", "cabac=1:bframes=3:deblock=1:aq-mode=1:mbtree=1:rc-lookahead=5"),
    ("ultrafast", "cabac=1:mbtree=1:rc-lookahead=5"),
)

#: Frames of at least this many pixels (H × W) are "large": with fewer than
#: :data:`AUTO_MANY_CPUS` CPUs their videos use the last :data:`AUTO_LADDER` level
#: (e.g. PettingZoo's pistonball, 880×560; four CartPoles tiled 2×2, 1200×800; not a
#: single 600×400 CartPole or 640×480 frame).
AUTO_LARGE_FRAME_PIXELS = 400_000

#: With fewer usable CPUs than this, ``preset="auto"`` never goes below level 1 of
#: :data:`AUTO_LADDER`: the encoder then shares the CPUs with the agent's own loop,
#: and every millisecond it spends slows the agent.
AUTO_MANY_CPUS = 4

#: A video whose caller waited longer than this share of its recording time moves
#: ``"auto"`` one step faster.
_WAIT_SHARE = 0.02
#: Videos without any wait before ``"auto"`` steps back.
_CALM_VIDEOS = 3


def auto_start_level(cpus: int) -> int:
    """The :data:`AUTO_LADDER` level ``preset="auto"`` starts at (and returns to).

    >>> auto_start_level(2), auto_start_level(8)
    (1, 0)
    """
    return 0 if cpus >= AUTO_MANY_CPUS else 1


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class PresetPolicy:
    """The preset for the next MP4, adapted to the waits of the previous ones.

    ``adaptive=False`` keeps ``"auto"`` at its start level (waits change nothing): for
    encoders that are not the agent's loop, e.g. the replay renderer, whose waits on
    the encoder cost the agent nothing.

    Raises:
        ValueError: ``preset`` is neither ``"auto"`` nor an x264 preset.

    >>> policy = PresetPolicy("auto", cpus=8)
    >>> policy.observe(recorded_seconds=10.0, waited_seconds=1.0)
    >>> policy.preset
    'ultrafast'
    """

    def __init__(self, preset: str = "auto", cpus: int | None = None, *,
                 adaptive: bool = True) -> None:
        if preset != "auto" and preset not in X264_PRESETS:
            raise ValueError(f"preset must be 'auto' or one of {X264_PRESETS}, got {preset!r}")
        self.mode = preset
        self.adaptive = adaptive
        cpus = usable_cpus() if cpus is None else cpus
        self._few_cpus = cpus < AUTO_MANY_CPUS
        self._floor = auto_start_level(cpus)
        self._level = self._floor
        self._calm = 0

    @property
    def preset(self) -> str:
        """The x264 preset to use now."""
        return self.mode if self.mode != "auto" else AUTO_LADDER[self._level][0]

    @property
    def x264_params(self) -> str | None:
        """Extra x264 options to use now (``"auto"`` only)."""
        return None if self.mode != "auto" else AUTO_LADDER[self._level][1]

    def settings_for(self, shape: tuple) -> tuple[str, str | None]:
        """``(preset, x264_params)`` for a video of ``shape`` (H, W, ...) frames.

        The same as :attr:`preset` and :attr:`x264_params`, except that ``"auto"`` on
        fewer than :data:`AUTO_MANY_CPUS` CPUs encodes large frames
        (:data:`AUTO_LARGE_FRAME_PIXELS`) at the last, fastest level.

        >>> PresetPolicy("auto", cpus=2).settings_for((400, 600, 3)) == AUTO_LADDER[1]
        True
        >>> PresetPolicy("auto", cpus=8).settings_for((800, 1200, 3)) == AUTO_LADDER[0]
        True
        >>> PresetPolicy("veryfast", cpus=2).settings_for((800, 1200, 3))
        ('veryfast', None)
        """
        if self.mode != "auto":
            return self.mode, None
        level = self._level
        if self._few_cpus and int(shape[0]) * int(shape[1]) >= AUTO_LARGE_FRAME_PIXELS:
            level = len(AUTO_LADDER) - 1
        return AUTO_LADDER[level]

    def observe(self, recorded_seconds: float, waited_seconds: float) -> None:
        """An MP4 was recorded for ``recorded_seconds``, its caller blocked ``waited_seconds``."""
        if self.mode != "auto" or not self.adaptive:
            return
        if recorded_seconds > 0 and waited_seconds > _WAIT_SHARE * recorded_seconds:
            self._level = min(self._level + 1, len(AUTO_LADDER) - 1)
            self._calm = 0
        elif waited_seconds == 0.0:
            self._calm += 1
            if self._calm >= _CALM_VIDEOS and self._level > self._floor:
                self._level -= 1
                self._calm = 0
