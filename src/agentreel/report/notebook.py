"""Show runs and videos inline in Jupyter (and other notebooks that use ``_repr_html_``).

:class:`agentreel.Run` and :class:`agentreel.report.RunVideo` call these
functions from their ``_repr_html_``; :func:`show_video` wraps any video file.

Notebook front-ends resolve relative URLs differently (Jupyter serves files
below the server's root, VS Code and Colab do not serve files at all), so a
video is *embedded* as a ``data:`` URL when it is small (``EMBED_LIMIT`` bytes,
8 MB by default; a CartPole episode is ~50 kB) and otherwise referenced by its
path relative to the current working directory, the notebook's folder.

Example:
    >>> import tempfile
    >>> from agentreel.app.run import record_run
    >>> from agentreel.report import Run
    >>> folder = record_run("CartPole-v1", episodes=1, out=tempfile.mkdtemp(),
    ...                     policy="random", seed=0, progress=False, report=False).out
    >>> html = Run(folder)._repr_html_()
    >>> "<table" in html and "data:video/mp4;base64," in html
    True
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentreel.base.media_html import EMBED_LIMIT, video_element, video_src
from agentreel.core.records import VideoSaved

if TYPE_CHECKING:  # pragma: no cover
    from agentreel.report.folder import RunFolder

__all__ = ["EMBED_LIMIT", "VideoFile", "run_html", "show_video", "video_html", "video_src"]

#: At most this many videos are shown inline for a run.
MAX_INLINE_VIDEOS = 12


def video_html(video: VideoSaved, *, width: int | None = 320, embed: bool | None = None) -> str:
    """HTML for one recorded video with its caption (episode, return, length)."""
    return video_element(video.path, video.caption, width, embed)


def run_html(run: RunFolder, *, max_videos: int = MAX_INLINE_VIDEOS, embed: bool | None = None) -> str:
    """HTML for a run: its summary table and up to ``max_videos`` of its videos."""
    summary = run.summary()
    rows = [
        ("episodes", str(summary.count)),
        ("mean return", f"{summary.mean:.2f} ± {summary.std:.2f} (std)"),
        (f"{100 * summary.confidence:g}% CI of mean",
         f"[{summary.mean_ci[0]:.2f}, {summary.mean_ci[1]:.2f}]"),
        ("median / IQM", f"{summary.median:.2f} / {summary.iqm:.2f}"),
        ("min / max", f"{summary.min:.2f} / {summary.max:.2f}"),
    ]
    if summary.success_rate is not None:
        rows.append(("success rate", f"{100 * summary.success_rate:.1f}%"))
    if summary.mean_length is not None:
        rows.append(("mean length", f"{summary.mean_length:.1f}"))
    table = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
                    for k, v in rows)
    shown = run.videos[:max_videos]
    videos = "".join(video_html(v, width=240, embed=embed) for v in shown)
    more = ""
    if len(run.videos) > len(shown):
        more = (f"<p>… and {len(run.videos) - len(shown)} more videos: "
                "<code>run.report()</code> writes a page with all of them.</p>")
    return (f"<div><h4>Run {escape(run.name)} <small>({escape(str(run.folder))})</small></h4>"
            f"<table>{table}</table><div>{videos}</div>{more}</div>")


class VideoFile:
    """Any video file, displayed inline in a notebook (see :func:`show_video`)."""

    def __init__(self, path: str | os.PathLike[str], *, caption: str | None = None,
                 width: int | None = 320, embed: bool | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no video at {self.path}")
        self.caption = caption if caption is not None else self.path.name
        self.width = width
        self.embed = embed

    def __repr__(self) -> str:
        return f"VideoFile({str(self.path)!r})"

    def _repr_html_(self) -> str:
        return video_element(self.path, self.caption, self.width, self.embed)


def show_video(path: str | os.PathLike[str], **kwargs: Any) -> VideoFile:
    """Wrap a video file so that a notebook displays it inline.

    ``agentreel.report.notebook.show_video("timelapse.mp4")`` as a cell's last line
    shows a player (keyword arguments: ``caption``, ``width``, ``embed``).
    """
    return VideoFile(path, **kwargs)
