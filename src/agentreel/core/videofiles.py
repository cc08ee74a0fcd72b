"""Video files on disk: their formats, their folder, and their JSON sidecars.

The one home of these facts for every layer (the video engine, the recorder,
the run-folder reader, the CLI):

* :data:`~agentreel.core.records.FORMATS` and :func:`check_format`;
* :func:`check_fps`, the frame-rate rule;
* :func:`prepare_folder`, the video-folder rule (created, a directory, writable);
* the sidecar ``NAME.json`` next to ``NAME.mp4``: :func:`sidecar_path`,
  :func:`sidecar_json` and :func:`write_sidecar` write it, :func:`read_sidecar`
  and :func:`find_videos` read it back as :class:`~agentreel.core.records.VideoSaved`.

A sidecar holds ``path`` (the file name), ``frames``, ``fps``, ``width``,
``height``, ``format`` and the recorder's ``tags``.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> video = os.path.join(folder, "demo-episode-0.mp4")
    >>> open(video, "wb").close()
    >>> write_sidecar(video, sidecar_json(video, frames=3, fps=30, width=64, height=64,
    ...                                   format="mp4", tags={"episode_id": 0}))
    >>> [(v.name, v.frames, v.episode_id) for v in find_videos(folder)]
    [('demo-episode-0', 3, 0)]
"""

from __future__ import annotations

import json
import math
import os
from numbers import Real
from pathlib import Path
from typing import Any

from agentreel.base.safe_files import open_exclusive
from agentreel.core.records import FORMATS, VideoSaved, _opt_float, _opt_int

__all__ = ["FORMATS", "VIDEO_SUFFIXES", "check_format", "check_fps", "find_videos",
           "prepare_folder", "read_sidecar", "sidecar_json", "sidecar_path", "write_sidecar"]

#: File suffixes of the videos agentreel writes.
VIDEO_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)

#: Suffix of a sidecar being written (renamed into place when complete).
_PARTIAL = ".partial"


def check_format(fmt: object) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else a ``ValueError`` naming them.

    >>> check_format("webm")
    'webm'
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return str(fmt)


#: The frame rates every format stores correctly (an MP4 at 5,000 fps decodes to nothing;
#: 1e-6 or 1e12 failed every video at save time).
MIN_FPS, MAX_FPS = 0.1, 1000.0


def check_fps(fps: object) -> float:
    """``fps`` as a float if it is a number of frames per second in
    :data:`MIN_FPS` .. :data:`MAX_FPS`.

    >>> check_fps(50)
    50.0
    >>> check_fps(1e12)
    Traceback (most recent call last):
    ...
    ValueError: fps must be between 0.1 and 1000 frames per second (what the video formats can store), got 1000000000000.0
    """
    if isinstance(fps, bool) or not isinstance(fps, Real) or not math.isfinite(float(fps)) \
            or float(fps) <= 0:
        raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
    if not MIN_FPS <= float(fps) <= MAX_FPS:
        raise ValueError(f"fps must be between {MIN_FPS:g} and {MAX_FPS:g} frames per second "
                         f"(what the video formats can store), got {fps!r}")
    return float(fps)


def prepare_folder(video_folder: str | os.PathLike[str]) -> str:
    """Make the video folder (absolute path) or fail now with a clear message."""
    folder = os.path.abspath(os.fspath(video_folder))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"video_folder {folder!r} is a file; pass a directory path for the videos"
        )
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        # OSError(errno, ...) gives the matching subclass (PermissionError, ...).
        raise OSError(exc.errno, f"video_folder {folder!r} cannot be created ({exc.strerror}): "
                      "its parent is not writable; choose another folder") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"video_folder {folder!r} is not writable; choose another folder")
    return folder


def sidecar_path(video_path: str | os.PathLike[str]) -> str:
    """Where the JSON sidecar of a video goes: ``folder/NAME.mp4`` → ``folder/NAME.json``.

    >>> sidecar_path("videos/rl-video-episode-0.mp4")
    'videos/rl-video-episode-0.json'
    """
    return os.path.splitext(os.fspath(video_path))[0] + ".json"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    return str(obj)


def sidecar_json(video_path: str | os.PathLike[str], *, frames: int, fps: float, width: int,
                 height: int, format: str, tags: dict[str, Any]) -> str:
    """The sidecar's text for a video (numpy values in ``tags`` become plain ones)."""
    data = {
        "path": os.path.basename(os.fspath(video_path)),
        "frames": int(frames),
        "fps": float(fps),
        "width": int(width),
        "height": int(height),
        "format": format,
        "tags": tags,
    }
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def write_sidecar(video_path: str | os.PathLike[str], text: str) -> None:
    """Write ``NAME.json`` next to ``NAME.EXT`` atomically (a complete file or none)."""
    path = sidecar_path(video_path)
    tmp = path + _PARTIAL
    with open_exclusive(tmp) as fh:  # never through a link planted at NAME.json.partial
        fh.write(text.encode("utf-8"))
    os.replace(tmp, path)  # a link at NAME.json is replaced, not written through


def read_sidecar(path: str | os.PathLike[str]) -> VideoSaved | None:
    """The video a sidecar describes, or ``None`` (not a sidecar, unreadable, or no video).

    The video is looked for next to the sidecar; a sidecar whose video is missing
    (deleted, or never completed) gives ``None``.
    """
    side = Path(path)
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"path", "frames", "fps"} <= data.keys():
        return None
    video_path = side.parent / Path(str(data["path"])).name
    if video_path.suffix.lower() not in VIDEO_SUFFIXES or not video_path.is_file():
        return None
    tags = data["tags"] if isinstance(data.get("tags"), dict) else {}
    return VideoSaved(
        path=video_path.resolve(),
        frames=_opt_int(data.get("frames")) or 0,
        fps=_opt_float(data.get("fps")) or 0.0,
        width=_opt_int(data.get("width")) or 0,
        height=_opt_int(data.get("height")) or 0,
        format=str(data.get("format") or video_path.suffix.lstrip(".")),
        tags=dict(tags),
    )


def find_videos(folder: str | os.PathLike[str]) -> list[VideoSaved]:
    """Every video in ``folder`` that has a sidecar, in file-name order (not joined to records)."""
    found = (read_sidecar(side) for side in sorted(Path(folder).glob("*.json")))
    return [video for video in found if video is not None]
