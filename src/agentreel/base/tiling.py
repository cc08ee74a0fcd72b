"""Tile the frames of a vector env's sub-environments into one grid image.

Any number of tiles works: the grid is padded with black cells rather than
falling back to a 1xN strip when N is prime.

Example:
    >>> grid_shape(7, 400, 600)        # 7 CartPole frames, square video wanted
    (4, 2)
    >>> import numpy as np
    >>> tile_frames([np.full((2, 2, 3), i, np.uint8) for i in range(3)], 2, 2).shape
    (4, 4, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def grid_shape(n_tiles: int, tile_height: int, tile_width: int,
               aspect_ratio: tuple[float, float] = (1, 1)) -> tuple[int, int]:
    """Rows and columns whose picture is closest to ``aspect_ratio`` (width, height).

    Only grids without an empty row or column are considered; among equally close
    ones the grid with fewer empty cells wins.
    """
    if n_tiles < 1:
        raise ValueError(f"need at least one frame to tile, got {n_tiles}")
    if len(aspect_ratio) != 2 or min(aspect_ratio) <= 0:
        raise ValueError(f"video_aspect_ratio must be two positive numbers (width, height), got {aspect_ratio!r}")
    target = aspect_ratio[0] / aspect_ratio[1]
    candidates = []
    for rows in range(1, n_tiles + 1):
        cols = math.ceil(n_tiles / rows)
        if (rows - 1) * cols >= n_tiles:  # a whole empty row
            continue
        aspect = (cols * tile_width) / (rows * tile_height)
        closeness = round(abs(math.log(aspect / target)), 9)
        candidates.append((closeness, rows * cols - n_tiles, rows, cols))
    _, _, rows, cols = min(candidates)  # rows == 1 is always a candidate
    return rows, cols


def tile_frames(frames: Sequence[np.ndarray], rows: int, cols: int) -> np.ndarray:
    """Place equally sized ``(H, W, C)`` frames row by row on a black grid."""
    first = frames[0]
    height, width = first.shape[:2]
    grid = np.empty((rows * height, cols * width) + first.shape[2:], dtype=first.dtype)
    tile_into(grid, frames, rows, cols)
    return grid


def tile_into(out: np.ndarray, frames: Sequence[np.ndarray], rows: int, cols: int) -> None:
    """Write the grid of :func:`tile_frames` into ``out`` (empty cells black), in place.

    ``out`` may hold an older picture (a reused frame slot): every pixel is written.

    >>> out = np.full((4, 4, 3), 9, np.uint8)
    >>> tile_into(out, [np.full((2, 2, 3), 1, np.uint8)] * 3, 2, 2); int(out[3, 3, 0])
    0
    """
    first = frames[0]
    height, width = first.shape[:2]
    for index, frame in enumerate(frames):
        if frame.shape != first.shape:
            raise ValueError(
                f"sub-environment {index} rendered a frame of shape {frame.shape}, but sub-environment 0 "
                f"rendered {first.shape}; tiled recording needs equal frame sizes "
                "(use per_env=True to record each sub-environment to its own file)"
            )
        row, col = divmod(index, cols)
        out[row * height:(row + 1) * height, col * width:(col + 1) * width] = frame
    for index in range(len(frames), rows * cols):
        row, col = divmod(index, cols)
        out[row * height:(row + 1) * height, col * width:(col + 1) * width] = 0


def pack_into(out: np.ndarray, frames: Sequence[np.ndarray]) -> None:
    """Copy equally sized frames one after another into the start of ``out``'s memory.

    The cheap half of tiling across processes: each frame is one contiguous copy,
    about twice as fast as writing it row by row into a grid on memory that is not
    in the cache; :func:`unpack_tiles_into` builds the grid on the other side.
    ``out`` must be C-contiguous and hold at least all the frames' bytes.

    >>> out = np.zeros((2, 4, 3), np.uint8)
    >>> pack_into(out, [np.full((2, 2, 3), 5, np.uint8)]); out.reshape(-1)[:13].tolist()[-2:]
    [5, 0]
    """
    flat = out.reshape(-1)
    start = 0
    for frame in frames:
        end = start + frame.size
        np.copyto(flat[start:end].reshape(frame.shape), frame)
        start = end


def unpack_tiles_into(out: np.ndarray, packed: np.ndarray, rows: int, cols: int,
                      count: int) -> None:
    """Tile the ``count`` frames that :func:`pack_into` put in ``packed`` into ``out``.

    ``packed`` and ``out`` have the grid's shape ``(rows * H, cols * W, 3)``; empty
    cells come out black.

    >>> tiles = [np.full((2, 2, 3), i + 1, np.uint8) for i in range(3)]
    >>> packed, grid = np.zeros((4, 4, 3), np.uint8), np.empty((4, 4, 3), np.uint8)
    >>> pack_into(packed, tiles); unpack_tiles_into(grid, packed, 2, 2, 3)
    >>> bool((grid == tile_frames(tiles, 2, 2)).all())
    True
    """
    height, width = packed.shape[0] // rows, packed.shape[1] // cols
    size = height * width * packed.shape[2]
    flat = packed.reshape(-1)
    tiles = [flat[k * size:(k + 1) * size].reshape(height, width, -1) for k in range(count)]
    tile_into(out, tiles, rows, cols)
