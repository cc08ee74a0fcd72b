"""A tiny built-in bitmap font to write labels onto video frames with numpy.

No Pillow, no FreeType, no ffmpeg ``drawtext``: each character is a 5x7 grid
of pixels stored in this file, scaled up by an integer factor and painted into
a ``uint8`` frame of shape ``(H, W, 3)`` (RGB), ``(H, W, 4)`` (RGBA) or
``(H, W)`` (grey). The timelapse uses it for its "EP 12  RETURN 200.0"
labels; overlays can use it too.

Characters: digits, letters (lower case is drawn as upper case), space and
``. : - = ± # /`` plus a few more (``( ) [ ] + , _ % ' ! ? < > *``). Any other
character is drawn as ``?``. ``\\n`` starts a new line.

Example:
    >>> import numpy as np
    >>> frame = np.zeros((40, 120, 3), np.uint8)
    >>> _ = draw_text(frame, "EP 3 R=21.0", (2, 2), scale=2)
    >>> bool(frame.any()), text_size("EP 3 R=21.0", scale=2)
    (True, (130, 14))
    >>> label(np.zeros((60, 80, 3), np.uint8), "Hi").shape
    (60, 80, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

__all__ = [
    "GLYPH_HEIGHT",
    "GLYPH_WIDTH",
    "CHARACTERS",
    "auto_scale",
    "draw_text",
    "label",
    "text_mask",
    "text_size",
]

#: Width and height of one glyph in font pixels (before scaling).
GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7
#: Font pixels between two characters and between two lines.
CHAR_SPACING = 1
LINE_SPACING = 2

# Each glyph: 7 rows of 5 columns, "#" = ink. Drawn for this module.
_GLYPHS: dict[str, tuple[str, ...]] = {
    " ": (".....", ".....", ".....", ".....", ".....", ".....", "....."),
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("####.", "....#", "....#", ".###.", "....#", "....#", "####."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    ":": (".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    "=": (".....", ".....", "#####", ".....", "#####", ".....", "....."),
    "±": ("..#..", "..#..", "#####", "..#..", "..#..", ".....", "#####"),
    "#": (".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."),
    "/": (".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
    "(": ("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."),
    ")": (".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."),
    "[": (".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."),
    "]": (".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    ",": (".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."),
    "_": (".....", ".....", ".....", ".....", ".....", ".....", "#####"),
    "%": ("##..#", "##..#", "...#.", "..#..", ".#...", "#..##", "#..##"),
    "'": ("..#..", "..#..", ".#...", ".....", ".....", ".....", "....."),
    "!": ("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
    "<": ("...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."),
    ">": (".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."),
    "*": (".....", "#.#.#", ".###.", "#####", ".###.", "#.#.#", "....."),
}

#: Every character the font draws (lower-case letters are drawn as upper case).
CHARACTERS = "".join(sorted(_GLYPHS))


@cache
def _glyph(char: str) -> np.ndarray:
    rows = _GLYPHS.get(char.upper(), _GLYPHS["?"])
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
    return int(scale)


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``text`` drawn at ``scale``.

    >>> text_size("AB"), text_size("AB", scale=3), text_size("A\\nBC")
    ((11, 7), (33, 21), (11, 16))
    """
    scale = _check_scale(scale)
    lines = str(text).split("\n")
    longest = max(len(line) for line in lines)
    width = longest * GLYPH_WIDTH + max(longest - 1, 0) * CHAR_SPACING
    height = len(lines) * GLYPH_HEIGHT + (len(lines) - 1) * LINE_SPACING
    return width * scale, height * scale


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """A boolean image of ``text``: True where the ink is, shape ``(height, width)``.

    >>> m = text_mask("1")
    >>> m.shape, int(m.sum())
    ((7, 5), 10)
    """
    scale = _check_scale(scale)
    lines = str(text).split("\n")
    width, height = text_size(text, 1)
    mask = np.zeros((height, width), dtype=bool)
    for row, line in enumerate(lines):
        top = row * (GLYPH_HEIGHT + LINE_SPACING)
        for col, char in enumerate(line):
            left = col * (GLYPH_WIDTH + CHAR_SPACING)
            mask[top : top + GLYPH_HEIGHT, left : left + GLYPH_WIDTH] = _glyph(char)
    if scale > 1:
        mask = mask.repeat(scale, axis=0).repeat(scale, axis=1)
    return mask


def _colour(value: int | Sequence[int], channels: int) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=np.int64))
    if arr.ndim != 1 or np.any(arr < 0) or np.any(arr > 255):
        raise ValueError(f"a colour is an int or a sequence of ints in 0..255, got {value!r}")
    if channels == 0:
        return arr[:1].astype(np.uint8) if arr.size == 1 else np.array(
            [int(round(arr[:3].mean()))], dtype=np.uint8)
    if arr.size == 1:
        arr = np.repeat(arr, min(channels, 3))
    if channels == 4 and arr.size == 3:
        arr = np.append(arr, 255)
    if arr.size != channels:
        raise ValueError(f"colour {value!r} does not fit a frame with {channels} channels")
    return arr.astype(np.uint8)


def draw_text(
    frame: np.ndarray,
    text: str,
    xy: tuple[int, int] = (0, 0),
    *,
    scale: int = 1,
    color: int | Sequence[int] = (255, 255, 255),
    background: int | Sequence[int] | None = None,
    padding: int | None = None,
) -> np.ndarray:
    """Paint ``text`` into ``frame`` in place, its top-left corner at ``xy = (x, y)``.

    Args:
        frame: a ``uint8`` array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``; it is modified.
        text: the text (``\\n`` for several lines).
        xy: pixel position of the text's top-left corner (of the box when
            ``background`` is given). Parts outside the frame are clipped.
        scale: integer magnification of the 5x7 font.
        color: ink colour, an int (grey) or an RGB(A) triple.
        background: if given, a filled box of this colour is painted behind the text.
        padding: box margin in pixels around the text (default ``scale``).

    Returns:
        ``frame`` itself.

    >>> f = np.zeros((9, 7), np.uint8)
    >>> int(draw_text(f, "1", (1, 1), color=200).max())
    200
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError("frame must be a numpy uint8 array (H, W), (H, W, 3) or (H, W, 4)")
    if frame.ndim == 2:
        channels = 0
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        channels = frame.shape[2]
    else:
        raise ValueError(f"frame must have shape (H, W), (H, W, 3) or (H, W, 4), got {frame.shape}")
    scale = _check_scale(scale)
    pad = scale if padding is None else int(padding)
    ink = _colour(color, channels)
    mask = text_mask(text, scale)
    x, y = int(xy[0]), int(xy[1])
    if background is not None:
        fill = _colour(background, channels)
        box_h, box_w = mask.shape[0] + 2 * pad, mask.shape[1] + 2 * pad
        _paint(frame, np.ones((box_h, box_w), dtype=bool), x, y, fill)
        x, y = x + pad, y + pad
    _paint(frame, mask, x, y, ink)
    return frame


def _paint(frame: np.ndarray, mask: np.ndarray, x: int, y: int, value: np.ndarray) -> None:
    height, width = frame.shape[:2]
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + mask.shape[0], height), min(x + mask.shape[1], width)
    if top >= bottom or left >= right:
        return
    visible = mask[top - y : bottom - y, left - x : right - x]
    region = frame[top:bottom, left:right]
    if frame.ndim == 2:
        region[visible] = value[0]
    else:
        region[visible] = value


def auto_scale(frame_height: int, lines: int = 1, fraction: float = 0.06) -> int:
    """A font scale so that ``lines`` of text take about ``fraction`` of the frame's height.

    >>> auto_scale(400), auto_scale(64), auto_scale(1080)
    (3, 1, 9)
    """
    return max(1, int(frame_height * fraction * lines / GLYPH_HEIGHT))


def label(
    frame: np.ndarray,
    text: str,
    *,
    corner: str = "top-left",
    scale: int | None = None,
    color: int | Sequence[int] = (255, 255, 255),
    background: int | Sequence[int] | None = (0, 0, 0),
    margin: int | None = None,
) -> np.ndarray:
    """A copy of ``frame`` with ``text`` in a box in one corner.

    Args:
        frame: a ``uint8`` frame (see :func:`draw_text`); it is not modified.
        text: the label.
        corner: ``"top-left"``, ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``.
        scale: font scale; ``None`` picks one from the frame's height (:func:`auto_scale`).
        color, background: ink and box colours (``background=None``: no box).
        margin: distance from the frame's edges in pixels (default ``scale``).

    >>> out = label(np.zeros((50, 100, 3), np.uint8), "EP 1", corner="bottom-right", scale=2)
    >>> bool(out[-20:, -40:].any()), bool(out[:20, :40].any())
    (True, False)
    """
    corners = ("top-left", "top-right", "bottom-left", "bottom-right")
    if corner not in corners:
        raise ValueError(f"corner must be one of {', '.join(corners)}, got {corner!r}")
    out = np.array(frame, dtype=np.uint8, copy=True)
    if scale is None:
        scale = auto_scale(out.shape[0], lines=1)
    scale = _check_scale(scale)
    margin = scale if margin is None else int(margin)
    pad = scale if background is not None else 0
    width, height = text_size(text, scale)
    width, height = width + 2 * pad, height + 2 * pad
    x = margin if corner.endswith("left") else out.shape[1] - margin - width
    y = margin if corner.startswith("top") else out.shape[0] - margin - height
    return draw_text(out, text, (x, y), scale=scale, color=color, background=background,
                     padding=pad)
