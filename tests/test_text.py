"""agentreel.base.text: the built-in bitmap font used for timelapse labels and overlays."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from agentreel.base import text
from agentreel.base.text import (
    CHARACTERS,
    GLYPH_HEIGHT,
    GLYPH_WIDTH,
    auto_scale,
    draw_text,
    label,
    text_mask,
    text_size,
)

REQUIRED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .:-=±#/"


def test_docstring_examples():
    assert doctest.testmod(text).failed == 0


def test_every_required_character_has_its_own_glyph():
    assert set(REQUIRED) <= set(CHARACTERS)
    bitmaps = {c: text_mask(c).tobytes() for c in CHARACTERS}
    # no two characters look the same, and only space is blank
    assert len(set(bitmaps.values())) == len(bitmaps)
    assert [c for c in CHARACTERS if not text_mask(c).any()] == [" "]


def test_lower_case_is_drawn_as_upper_case_and_unknown_as_question_mark():
    assert np.array_equal(text_mask("return"), text_mask("RETURN"))
    assert np.array_equal(text_mask("€"), text_mask("?"))


@pytest.mark.parametrize("scale", [1, 2, 5])
def test_size_and_mask_agree_and_scale(scale):
    for s in ("A", "EP 12  RETURN 200.0", "two\nlines", ""):
        mask = text_mask(s, scale)
        assert mask.shape == text_size(s, scale)[::-1]
    assert text_size("AB", scale) == (scale * (2 * GLYPH_WIDTH + 1), scale * GLYPH_HEIGHT)
    big = text_mask("8", scale)
    assert np.array_equal(big[::scale, ::scale], text_mask("8"))
    assert big.sum() == text_mask("8").sum() * scale * scale


def test_draw_text_paints_exactly_the_mask_in_place():
    frame = np.zeros((20, 40, 3), np.uint8)
    out = draw_text(frame, "7=", (3, 2), scale=2, color=(10, 200, 30))
    assert out is frame
    mask = text_mask("7=", 2)
    region = frame[2 : 2 + mask.shape[0], 3 : 3 + mask.shape[1]]
    assert np.array_equal(region[mask], np.tile([10, 200, 30], (mask.sum(), 1)))
    assert not region[~mask].any()
    assert frame.sum() == region.sum()


def test_background_box_and_padding():
    frame = np.full((30, 60, 3), 255, np.uint8)
    draw_text(frame, "1", (5, 5), scale=1, color=255, background=0, padding=2)
    w, h = text_size("1")
    box = frame[5 : 5 + h + 4, 5 : 5 + w + 4]
    assert box[..., 0].min() == 0
    inner = box[2 : 2 + h, 2 : 2 + w, 0]
    assert np.array_equal(inner == 255, text_mask("1"))
    assert (frame[:5] == 255).all() and (frame[:, :5] == 255).all()


def test_grey_and_rgba_frames():
    grey = np.zeros((10, 10), np.uint8)
    draw_text(grey, "1", (1, 1), color=128)
    assert set(np.unique(grey)) == {0, 128}
    rgba = np.zeros((10, 10, 4), np.uint8)
    draw_text(rgba, "1", (1, 1), color=(255, 0, 0))
    assert rgba[..., 3].max() == 255 and rgba[..., 1].max() == 0


def test_text_outside_the_frame_is_clipped_not_an_error():
    frame = np.zeros((8, 8, 3), np.uint8)
    draw_text(frame, "HELLO WORLD", (-3, -2), scale=3)
    draw_text(frame, "X", (100, 100))
    assert frame.shape == (8, 8, 3) and frame.any()


def test_label_corners_copy_and_auto_scale():
    frame = np.full((120, 200, 3), 255, np.uint8)
    for corner, (rows, cols) in {
        "top-left": (slice(0, 40), slice(0, 100)),
        "top-right": (slice(0, 40), slice(100, None)),
        "bottom-left": (slice(80, None), slice(0, 100)),
        "bottom-right": (slice(80, None), slice(100, None)),
    }.items():
        out = label(frame, "EP 1", corner=corner)
        changed = (out != frame).any(axis=2)
        assert changed[rows, cols].any() and changed.sum() == changed[rows, cols].sum(), corner
    assert (frame == 255).all()  # the input is untouched
    assert auto_scale(400) == 3 and auto_scale(10) == 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: text_mask("A", 0), "scale"),
    (lambda: draw_text(np.zeros((4, 4), np.float32), "A"), "uint8"),
    (lambda: draw_text(np.zeros((4, 4, 2), np.uint8), "A"), "shape"),
    (lambda: draw_text(np.zeros((4, 4, 3), np.uint8), "A", color=(1, 2)), "colour"),
    (lambda: draw_text(np.zeros((4, 4, 3), np.uint8), "A", color=300), "colour"),
    (lambda: label(np.zeros((4, 4, 3), np.uint8), "A", corner="middle"), "corner"),
])
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
