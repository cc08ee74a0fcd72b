"""Compatibility: ``agentreel.plots`` is now :mod:`agentreel.report.plots` (same objects)."""

from agentreel.report.plots import (
    SAVE_FORMATS,
    plot_learning_curve,
    save_figure,
)

__all__ = [
    "SAVE_FORMATS",
    "plot_learning_curve",
    "save_figure",
]
