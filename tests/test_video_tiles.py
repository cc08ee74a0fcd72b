"""VideoStream.add_tiles: the caller packs tiles, the encoder lays out the grid.

The pictures must be those of ``add_frame(tile_frames(...))``: tiles in row order,
empty cells black, through both backends and through the encoder's start-up backlog
(frames queued before PyAV is loaded in a fresh encoder process).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from agentreel.base.tiling import tile_frames
from agentreel.video import FrameError, VideoEngine
from videotools import decode

COLOURS = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]


def _tiles(step: int) -> list[np.ndarray]:
    """Three 32x48 tiles of flat colours whose brightness changes with ``step``."""
    tiles = []
    for colour in COLOURS:
        tile = np.empty((32, 48, 3), np.uint8)
        tile[:] = [max(0, c - 4 * step) for c in colour]
        tiles.append(tile)
    return tiles


@pytest.mark.parametrize("backend", ["process", "thread"])
def test_tiles_are_laid_out_as_tile_frames_would(tmp_path, backend):
    engine = VideoEngine(backend=backend, queue_frames=2)  # a fresh encoder: start-up backlog
    try:
        tiled = engine.open(str(tmp_path / "tiled.mp4"), fps=10)
        whole = engine.open(str(tmp_path / "whole.mp4"), fps=10)
        for step in range(12):
            tiled.add_tiles(_tiles(step), 2, 2)
            whole.add_frame(tile_frames(_tiles(step), 2, 2))
        saved, reference = tiled.wait(60), whole.wait(60)
    finally:
        engine.close()
    assert saved.error is None and (saved.width, saved.height, saved.frames) == (96, 64, 12)
    got, want = decode(saved.path), decode(reference.path)
    assert got.count == want.count == 12
    for step, (frame, same) in enumerate(zip(got.frames, want.frames, strict=True)):
        assert np.abs(frame.astype(int) - same.astype(int)).max() <= 2
        for index, colour in enumerate(COLOURS):  # each tile in its own cell
            row, col = divmod(index, 2)
            cell = frame[row * 32 + 8:row * 32 + 24, col * 48 + 8:col * 48 + 40]
            expected = np.array([max(0, c - 4 * step) for c in colour])
            assert np.abs(cell.astype(int) - expected).max() <= 12, (step, index)
        assert frame[40:56, 56:88].max() <= 12  # the empty fourth cell is black


def test_a_tiled_video_keeps_its_grid(tmp_path):
    engine = VideoEngine(backend="thread")
    try:
        stream = engine.open(str(tmp_path / "a.mp4"), fps=10)
        stream.add_tiles(_tiles(0), 2, 2)
        with pytest.raises(FrameError, match="add_tiles"):
            stream.add_frame(tile_frames(_tiles(0), 2, 2))
        with pytest.raises(FrameError, match="same grid"):
            stream.add_tiles(_tiles(0)[:2], 2, 2)
        with pytest.raises(FrameError, match="tile 1"):
            stream.add_tiles([_tiles(0)[0], np.zeros((32, 48), np.uint8), _tiles(0)[2]], 2, 2)
        stream.add_tiles(_tiles(1), 2, 2)
        saved = stream.wait(60)
    finally:
        engine.close()
    assert saved.error is None and decode(saved.path).count == 2


def test_bad_grids_are_refused_before_anything_is_queued(tmp_path):
    engine = VideoEngine(backend="thread")
    try:
        stream = engine.open(str(tmp_path / "a.mp4"), fps=10)
        with pytest.raises(ValueError, match="do not fit a 1x2 grid"):
            stream.add_tiles(_tiles(0), 1, 2)
        with pytest.raises(ValueError, match="even height"):
            stream.add_tiles([np.zeros((3, 4, 3), np.uint8)], 1, 1)
        assert stream.frames == 0
        stream.add_frame(np.zeros((8, 8, 3), np.uint8))  # still open for whole frames
        with pytest.raises(FrameError, match="same grid"):
            stream.add_tiles(_tiles(0), 2, 2)
        assert stream.wait(60).frames == 1
    finally:
        engine.close()
    assert os.path.exists(tmp_path / "a.mp4")
