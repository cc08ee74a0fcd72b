"""Training timelapse: a run's videos joined in episode order, each frame labelled.

The seed tutorial records every 250th training episode "to create timelapse
videos of learning"; :func:`make_timelapse` makes that video. Each part is
decoded with PyAV, every frame gets a label (``EP 250  RETURN 21.0``) drawn
with agentreel's own bitmap font (:mod:`agentreel.base.text`), and the frames are
encoded by agentreel's video engine — no ffmpeg binary, no Pillow.

Sizes: the timelapse has the size of the first video. A part of another size
is scaled (nearest neighbour, keeping its aspect ratio) to fit inside that
size and centred on black bars (letterbox/pillarbox).

Frame rate: the first video's, unless ``fps`` is given; every frame of every
part is kept (the timelapse has exactly the sum of its parts' frames).

Example:
    >>> import tempfile, os
    >>> from agentreel.app.run import record_run
    >>> folder = record_run("CartPole-v1", episodes=2, out=tempfile.mkdtemp(),
    ...                     policy="random", seed=0, progress=False, report=False).out
    >>> saved = make_timelapse(folder, os.path.join(folder, "timelapse.mp4"))
    >>> saved.frames == sum(v.frames for v in load_run(folder).videos)
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from agentreel.base.text import auto_scale, label, text_size
from agentreel.core.records import VideoSaved
from agentreel.report.folder import RunFolder, load_run
from agentreel.video import VideoEngine, default_engine

__all__ = ["TimelapsePart", "decode_frames", "fit_frame", "make_timelapse", "part_label"]


@dataclass(frozen=True)
class TimelapsePart:
    """One video joined into a timelapse and how many frames it gave."""

    path: str
    label: str
    frames: int


def decode_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Yield the RGB ``uint8`` frames of a video file, one at a time (PyAV)."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` scaled (nearest neighbour, aspect kept) into ``width x height``, centred on black.

    >>> fit_frame(np.full((10, 20, 3), 255, np.uint8), 40, 40)[:, 20].ravel()[::3].tolist()[:12]
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255]
    """
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    factor = min(width / w, height / h)
    new_w, new_h = max(1, round(w * factor)), max(1, round(h * factor))
    rows = np.minimum((np.arange(new_h) + 0.5) * h / new_h, h - 1).astype(np.intp)
    cols = np.minimum((np.arange(new_w) + 0.5) * w / new_w, w - 1).astype(np.intp)
    scaled = frame[rows][:, cols]
    out = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = scaled[..., :3]
    return out


def part_label(video: VideoSaved, width: int, scale: int) -> str:
    """The label of a part: the longest of a few forms that fits ``width`` at ``scale``.

    >>> from pathlib import Path
    >>> v = VideoSaved(path=Path("a.mp4"), name="a", frames=1, fps=30.0, width=600, height=400,
    ...              format="mp4", episode_id=250, episode_return=21.0, episode_length=21)
    >>> part_label(v, 600, 3), part_label(v, 80, 1)
    ('EPISODE 250  RETURN 21.0', 'EP 250 R 21')
    """
    episode = video.episode
    ret = video.display_return
    ep = "?" if episode is None else str(episode)
    if ret is None:
        forms = [f"EPISODE {ep}", f"EP {ep}"]
        if video.step_id is not None and video.step_id >= 0:
            forms.insert(0, f"EPISODE {ep}  STEP {video.step_id}")
    else:
        forms = [f"EPISODE {ep}  RETURN {ret:.1f}", f"EP {ep}  RETURN {ret:.1f}",
                 f"EP {ep} R {ret:.1f}", f"EP {ep} R {ret:.0f}"]
    step = video.record.extras.get("training_step") if video.record is not None else None
    if ret is not None and isinstance(step, int):  # an evaluation during training (agentreel.sb3)
        forms = [f"STEP {step}  RETURN {ret:.1f}", f"STEP {step} R {ret:.1f}",
                 f"{step} R {ret:.0f}"]
    for form in forms:
        if text_size(form, scale)[0] + 4 * scale <= width:
            return form
    return forms[-1]


def make_timelapse(
    run: RunFolder | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fps: float | None = None,
    labels: bool = True,
    scale: int | None = None,
    whole_episodes_only: bool = True,
    engine: VideoEngine | None = None,
    quality: int | None = None,
) -> VideoSaved:
    """Join ``run``'s videos in episode order into one labelled video at ``out``.

    Args:
        run: a run folder or :class:`~agentreel.report.Run`.
        out: the timelapse file (``.mp4``, ``.webm`` or ``.gif``, by suffix).
        fps: frame rate (default: the first video's).
        labels: draw ``EPISODE n  RETURN r`` on every frame (top-left corner).
        scale: font scale (default: about 6% of the frame height).
        whole_episodes_only: skip clips that are not one whole episode (step-triggered
            or ``video_length`` clips), when the run has any whole-episode clip.
        engine: the video engine (default: the shared one).
        quality: encoder quality (CRF), as for :meth:`VideoEngine.open`.

    Returns:
        The engine's :class:`~agentreel.core.records.VideoSaved` (``frames``, ``fps``,
        size, and ``tags["parts"]``: the joined files with their labels and frame counts).

    Raises:
        ValueError: the run has no videos, or a video cannot be decoded.
    """
    run = load_run(run)
    videos = list(run.videos)
    if whole_episodes_only and any(v.whole_episode for v in videos):
        videos = [v for v in videos if v.whole_episode]
    if not videos:
        raise ValueError(
            f"no videos in {run.folder}: a timelapse joins the videos RecordVideo wrote "
            "(PREFIX-episode-N.mp4, or any name with sidecar=True; agentreel record writes both)"
        )
    out = Path(out)
    if out.resolve() in {v.path for v in videos}:
        raise ValueError(f"the timelapse would overwrite one of its parts: {out}")
    rate = float(fps) if fps is not None else (videos[0].fps or 30.0)
    engine = engine or default_engine()
    stream: Any = None
    parts: list[dict[str, Any]] = []
    size: tuple[int, int] | None = None
    try:
        for video in videos:
            count = 0
            text = ""
            try:
                for frame in decode_frames(video.path):
                    if size is None:
                        size = (frame.shape[1], frame.shape[0])
                        stream = engine.open(out, fps=rate, quality=quality,
                                             tags={"name": out.stem, "timelapse_of": str(run.folder)})
                        if scale is None:
                            scale = auto_scale(size[1])
                    frame = fit_frame(frame, *size)
                    if labels:
                        scale = scale or auto_scale(size[1])
                        if count == 0:
                            text = part_label(video, size[0], scale)
                        frame = label(frame, text, scale=scale)
                    stream.add_frame(frame)
                    count += 1
            except (av.error.FFmpegError, OSError) as exc:
                raise ValueError(f"cannot decode {video.path}: {exc}") from exc
            parts.append({"path": str(video.path), "label": text, "frames": count})
        if stream is None:
            raise ValueError(f"the videos in {run.folder} hold no frames")
        stream.finish(tags={"parts": parts})
        saved = stream.wait()
    except BaseException:
        if stream is not None and not stream.done:
            stream.abort()
        raise
    if saved.error:
        raise ValueError(f"writing the timelapse {out} failed: {saved.error}")
    return saved
