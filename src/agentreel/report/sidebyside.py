"""Side-by-side episodes: two agents' videos of the same seed, in one synchronised video.

``agentreel compare A... --vs B... --video OUT.mp4`` finds episodes both
agents played with the same seed (:func:`agentreel.report.run_groups.episode_pairs`)
and writes them next to each other with :func:`make_side_by_side`:

* frame ``i`` of the output shows frame ``i`` of A on the left and of B on the
  right; the output has as many frames as the longer video (its episode length
  + 1, with the reset frame);
* the shorter episode's last frame is held until the longer one ends, and its
  label shows a red ``ENDED`` mark from its last frame on;
* above each half a black strip says which run and episode it is and the
  running return at that frame (from the sidecar's ``running_returns``, written
  by agentreel's recorder; older sidecars show the step and, at the end, the
  return). The video pixels themselves are untouched, so each half *is* its
  source video.

Decoding is PyAV's, labels are drawn with :mod:`agentreel.base.text`, encoding is
agentreel's video engine — as in :mod:`agentreel.report.timelapse`. B's frames are
scaled to A's size if they differ (:func:`~agentreel.report.timelapse.fit_frame`).

Example:
    >>> import numpy as np
    >>> a, b = np.full((40, 60, 3), 200, np.uint8), np.zeros((40, 60, 3), np.uint8)
    >>> layout = Layout(width=60, height=40, header=header_height(2), gap=GAP)
    >>> frame = compose(a, b, ["RUN A", "EP 0  R 1.0"], ["RUN B", "EP 0  R 2.0"], layout,
    ...                 ended=(False, True), scale=2)
    >>> frame.shape, bool((frame[layout.header:, :60] == a).all())
    ((76, 124, 3), True)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from agentreel.base.text import GLYPH_HEIGHT, GLYPH_WIDTH, LINE_SPACING, draw_text, text_size
from agentreel.core.records import VideoSaved
from agentreel.report.timelapse import decode_frames, fit_frame
from agentreel.video import VideoEngine, default_engine

__all__ = ["GAP", "Layout", "compose", "half_label", "header_height", "make_side_by_side"]

#: Pixels of grey between the two halves.
GAP = 4
_GAP_GREY = 64
_ENDED_RED = (255, 64, 64)


@dataclass(frozen=True)
class Layout:
    """Where things are in a side-by-side frame: A at ``x = 0``, B at ``x = width + gap``,
    both below a label strip ``header`` pixels high."""

    width: int
    height: int
    header: int
    gap: int

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the whole frame."""
        return 2 * self.width + self.gap, self.height + self.header

    def to_dict(self) -> dict[str, int]:
        """Plain values (stored in the output's sidecar tags)."""
        return {"width": self.width, "height": self.height, "header": self.header, "gap": self.gap}


def header_height(scale: int, lines: int = 2) -> int:
    """Height of the label strip for ``lines`` lines at font ``scale`` (even, for yuv420p).

    >>> header_height(3)
    54
    """
    text = lines * GLYPH_HEIGHT * scale + (lines - 1) * LINE_SPACING * scale
    height = text + 2 * scale
    return height + height % 2


def half_label(name: str, video: VideoSaved, index: int, width: int, scale: int) -> list[str]:
    """The two label lines of one half at frame ``index``: the run, then episode and return.

    >>> from pathlib import Path
    >>> v = VideoSaved(path=Path("a.mp4"), name="a", frames=3, fps=30.0, width=60, height=40,
    ...              format="mp4", episode_id=4, episode_return=2.0, episode_length=2,
    ...              tags={"running_returns": [0.0, 1.0, 2.0]})
    >>> half_label("runs/ppo-1", v, 1, 600, 2), half_label("x", v, 9, 600, 2)[1]
    (['RUNS/PPO-1', 'EP 4  R 1.0'], 'EP 4  R 2.0')
    """
    episode = "?" if video.episode is None else str(video.episode)
    returns = video.tags.get("running_returns")
    last = max(video.frames - 1, 0)
    if isinstance(returns, list) and returns:
        second = f"EP {episode}  R {float(returns[min(index, len(returns) - 1)]):.1f}"
    elif index >= last and video.display_return is not None:
        second = f"EP {episode}  R {video.display_return:.1f}"
    else:
        second = f"EP {episode}  STEP {min(index, last)}"
    first = name.upper()
    fits = max(3, (width - 2 * scale) // ((GLYPH_WIDTH + 1) * scale))
    if len(first) > fits:  # keep the end of a long path: it names the run
        first = ".." + first[-(fits - 2):]
    return [first, second]


def compose(
    frame_a: np.ndarray,
    frame_b: np.ndarray,
    lines_a: Sequence[str],
    lines_b: Sequence[str],
    layout: Layout,
    *,
    ended: tuple[bool, bool] = (False, False),
    scale: int = 2,
) -> np.ndarray:
    """One side-by-side frame: labels on a black strip, A left, B right (see :class:`Layout`)."""
    width, height = layout.size
    out = np.zeros((height, width, 3), dtype=np.uint8)
    out[:, layout.width : layout.width + layout.gap] = _GAP_GREY
    for left, frame, lines, done in ((0, frame_a, lines_a, ended[0]),
                                     (layout.width + layout.gap, frame_b, lines_b, ended[1])):
        out[layout.header :, left : left + layout.width] = fit_frame(
            np.asarray(frame)[..., :3], layout.width, layout.height)
        y = scale
        for line in lines:
            draw_text(out, line, (left + scale, y), scale=scale)
            y += (GLYPH_HEIGHT + LINE_SPACING) * scale
        if done:  # on the last line, right-aligned
            mark_x = left + layout.width - text_size("ENDED", scale)[0] - scale
            draw_text(out, "ENDED", (mark_x, y - (GLYPH_HEIGHT + LINE_SPACING) * scale),
                      scale=scale, color=_ENDED_RED)
    return out


def _frames(path: str | Path) -> Iterator[np.ndarray]:
    try:
        yield from decode_frames(path)
    except (av.error.FFmpegError, OSError) as exc:
        raise ValueError(f"cannot decode {path}: {exc}") from exc


def make_side_by_side(
    a: VideoSaved,
    b: VideoSaved,
    out: str | os.PathLike[str],
    *,
    name_a: str = "A",
    name_b: str = "B",
    fps: float | None = None,
    scale: int | None = None,
    engine: VideoEngine | None = None,
    quality: int | None = None,
    tags: dict[str, Any] | None = None,
) -> VideoSaved:
    """Write ``a`` and ``b`` side by side into ``out`` (see the module docstring).

    Args:
        a, b: whole-episode videos (with sidecars) of the same seed.
        out: the output (``.mp4``, ``.webm`` or ``.gif``).
        name_a, name_b: the run names shown above each half.
        fps: frame rate (default: A's).
        scale: font scale (default: from A's frame height, at least 2).
        engine, quality: as for :meth:`VideoEngine.open`.
        tags: extra tags for the output's sidecar.

    Returns:
        The engine's :class:`~agentreel.video.VideoSaved`; ``tags["layout"]`` says
        where each half is, ``tags["frames_a"]``/``["frames_b"]`` how many frames each had.

    Raises:
        ValueError: a video cannot be decoded or holds no frames, or ``out`` is one of them.
    """
    out = Path(out)
    if out.resolve() in {Path(a.path).resolve(), Path(b.path).resolve()}:
        raise ValueError(f"the side-by-side video would overwrite one of its inputs: {out}")
    source_a, source_b = _frames(a.path), _frames(b.path)
    frame_a, frame_b = next(source_a, None), next(source_b, None)
    if frame_a is None or frame_b is None:
        raise ValueError(f"{a.path if frame_a is None else b.path} holds no frames")
    height, width = frame_a.shape[:2]
    if scale is None:
        scale = max(1, round(height / 200))
    layout = Layout(width, height, header_height(scale), GAP)
    rate = float(fps) if fps is not None else (a.fps or b.fps or 30.0)
    engine = engine or default_engine()
    stream = engine.open(out, fps=rate, quality=quality, sidecar=True,
                         tags={"name": out.stem, **(tags or {}), "layout": layout.to_dict()})
    counts = [0, 0]
    try:
        index = 0
        live = [True, True]
        while True:
            if index > 0:
                nxt_a = next(source_a, None) if live[0] else None
                nxt_b = next(source_b, None) if live[1] else None
                live = [nxt_a is not None, nxt_b is not None]
                if not any(live):
                    break
                frame_a = nxt_a if nxt_a is not None else frame_a
                frame_b = nxt_b if nxt_b is not None else frame_b
            counts = [counts[0] + live[0], counts[1] + live[1]]
            stream.add_frame(compose(
                frame_a, frame_b,
                half_label(name_a, a, counts[0] - 1, width, scale),
                half_label(name_b, b, counts[1] - 1, width, scale),
                layout, ended=(not live[0], not live[1]), scale=scale))
            index += 1
        stream.finish(tags={"frames_a": counts[0], "frames_b": counts[1]})
        saved = stream.wait()
    except BaseException:
        if not stream.done:
            stream.abort()
        raise
    if saved.error:
        raise ValueError(f"writing the side-by-side video {out} failed: {saved.error}")
    return saved
