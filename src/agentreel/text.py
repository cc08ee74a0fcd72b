"""Compatibility: ``agentreel.text`` is now :mod:`agentreel.base.text` (same objects)."""

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

__all__ = [
    "CHARACTERS",
    "GLYPH_HEIGHT",
    "GLYPH_WIDTH",
    "auto_scale",
    "draw_text",
    "label",
    "text_mask",
    "text_size",
]
