"""HTML for one video file: a player with a caption, for notebooks and the report.

A video is *embedded* as a ``data:`` URL when it is small (:data:`EMBED_LIMIT`
bytes, 8 MB by default; a CartPole episode is ~50 kB) and otherwise referenced
by its path relative to a folder (the notebook's working directory, or the
report page's folder): notebook front-ends resolve relative URLs differently
(Jupyter serves files below the server's root, VS Code and Colab serve none).

Example:
    >>> relative_src("/runs/a/ep 1.mp4", "/runs")
    'a/ep%201.mp4'
"""

from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path
from urllib.parse import quote

__all__ = ["EMBED_LIMIT", "mime_type", "relative_src", "video_element", "video_src"]

#: Videos up to this many bytes are embedded as data URLs.
EMBED_LIMIT = 8 * 1024 * 1024


def mime_type(path_or_format: str | os.PathLike[str]) -> str:
    """The MIME type of a video file (by suffix) or format: ``video/<format>``, GIFs are images.

    >>> mime_type("a/b.webm"), mime_type("gif")
    ('video/webm', 'image/gif')
    """
    text = os.fspath(path_or_format)
    fmt = (os.path.splitext(text)[1] or "." + text)[1:].lower()
    return "image/gif" if fmt == "gif" else f"video/{fmt}"


def relative_src(target: str | os.PathLike[str], page_dir: str | os.PathLike[str]) -> str:
    """The URL of ``target`` relative to a page in ``page_dir`` (``/``-separated, %-quoted).

    >>> relative_src("/runs/a/b.mp4", "/runs/a")
    'b.mp4'
    """
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.abspath(page_dir))
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(os.path.abspath(target)).as_uri()
    return quote(Path(rel).as_posix())


def video_src(path: str | os.PathLike[str], *, embed: bool | None = None) -> str:
    """A URL for ``path`` in a notebook: a ``data:`` URL (embedded) or a relative path.

    ``embed=None`` embeds files up to :data:`EMBED_LIMIT` bytes.
    """
    path = Path(path)
    if embed is None:
        embed = path.is_file() and path.stat().st_size <= EMBED_LIMIT
    if embed:
        mime = mime_type(path)
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return relative_src(path, os.getcwd())


def video_element(path: str | os.PathLike[str], caption: str, width: int | None = 320,
                  embed: bool | None = None) -> str:
    """A ``<figure>`` with a player (an ``<img>`` for GIFs) and the caption."""
    path = Path(path)
    src = escape(video_src(path, embed=embed), quote=True)
    style = f"width:{width}px;max-width:100%" if width else "max-width:100%"
    if path.suffix.lower() == ".gif":
        media = f'<img src="{src}" style="{style}" alt="{escape(caption, quote=True)}">'
    else:
        media = f'<video controls muted preload="metadata" playsinline style="{style}" src="{src}"></video>'
    return (f'<figure style="margin:4px;display:inline-block;vertical-align:top">{media}'
            f'<figcaption style="font-size:12px">{escape(caption)}</figcaption></figure>')

