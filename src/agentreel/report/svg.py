"""A small dependency-free SVG learning-curve plot, used when matplotlib is missing.

The report embeds matplotlib's figure when the ``plot`` extra is installed;
otherwise it draws this simpler chart, so the report works without it. It
presents :func:`agentreel.analysis.learning_curve`'s numbers: per-episode
values (faint) and their moving average (bold), one colour per run.

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> run = [EpisodeRecord(index=i, episode_return=float(i), length=10) for i in range(5)]
    >>> svg = svg_learning_curve([run], labels=["demo"])
    >>> svg.startswith("<svg") and "polyline" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

from agentreel.analysis import METRICS, X_AXES, default_window, learning_curve
from agentreel.core.records import EpisodeRecord

__all__ = ["format_tick", "nice_ticks", "tick_step", "svg_learning_curve", "PALETTE"]

#: Line colours, one per run (matplotlib's default cycle, so both plots look alike).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times a power of ten).

    The first tick is at or below ``low``, the last at or above ``high``. A range of
    one value is widened around it (by 1 %, at least 1).

    >>> nice_ticks(0, 23)
    [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    >>> nice_ticks(0, 9)
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    >>> nice_ticks(500, 500)
    [494.0, 496.0, 498.0, 500.0, 502.0, 504.0, 506.0]
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        pad = max(abs(low) * 0.01, 1.0)
        low, high = low - pad, high + pad
    step = tick_step(low, high, count)
    ticks = [math.floor(low / step) * step]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(ticks[0] + step * len(ticks))
    return [float(round(t, 10)) + 0.0 for t in ticks]


def tick_step(low: float, high: float, count: int = 5) -> float:
    """The step of :func:`nice_ticks`: 1, 2 or 5 times a power of ten, about ``count`` per range.

    >>> tick_step(0, 9), tick_step(499, 501)
    (2.0, 0.5)
    """
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-12)))


def format_tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the step needs, so neighbours never read alike.

    >>> format_tick(500.0, 0.5), format_tick(499.5, 0.5), format_tick(2e7, 5e6), format_tick(-0.0, 1)
    ('500.0', '499.5', '20000000', '0')
    """
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def svg_learning_curve(
    runs: Sequence[Sequence[EpisodeRecord]],
    *,
    labels: Sequence[str] | None = None,
    x: str = "episodes",
    metric: str = "return",
    window: int | None = None,
    width: int = 720,
    height: int = 360,
) -> str:
    """An ``<svg>`` element (a string) plotting each run's learning curve.

    Args:
        runs: one list of records per run.
        labels: legend labels, one per run.
        x, metric, window: as for :func:`agentreel.report.plots.plot_learning_curve`.
        width, height: the drawing's size in CSS pixels (it scales to its container).
    """
    runs = [list(r) for r in runs]
    if not runs or any(not r for r in runs):
        raise ValueError("every run needs at least one episode to plot")
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"got {len(labels)} label(s) for {len(runs)} run(s)")
    if window is None:
        window = default_window(min(len(r) for r in runs))
    curves = [learning_curve(r, x=x, metric=metric, window=window) for r in runs]
    xs = np.concatenate([np.asarray(c.x, dtype=float) for c in curves])
    ys = np.concatenate([np.asarray(c.y, dtype=float) for c in curves])
    finite = ys[np.isfinite(ys)]
    xticks = nice_ticks(float(xs.min()), float(xs.max()))
    yticks = nice_ticks(float(finite.min()), float(finite.max())) if finite.size else [0.0, 1.0]
    xstep, ystep = xticks[1] - xticks[0], yticks[1] - yticks[0]
    left, right, top, bottom = 64, 16, 16, 48
    legend = len(runs) > 1 or labels is not None
    if legend:
        right = 160
    plot_w, plot_h = width - left - right, height - top - bottom
    x0, x1, y0, y1 = xticks[0], xticks[-1], yticks[0], yticks[-1]

    def px(v: np.ndarray) -> np.ndarray:
        return left + (np.asarray(v, dtype=float) - x0) / (x1 - x0) * plot_w

    def py(v: np.ndarray) -> np.ndarray:
        return top + plot_h - (np.asarray(v, dtype=float) - y0) / (y1 - y0) * plot_h

    def points(xv: np.ndarray, yv: np.ndarray) -> str:
        keep = np.isfinite(yv)
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(xv[keep]), py(yv[keep]), strict=True))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart" '
        f'aria-label="{escape(METRICS[metric])} against {escape(X_AXES[x])}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for t in xticks:
        xp = float(px(np.array([t]))[0])
        out.append(f'<line x1="{xp:.1f}" y1="{top}" x2="{xp:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        out.append(f'<text x="{xp:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{format_tick(t, xstep)}</text>')
    for t in yticks:
        yp = float(py(np.array([t]))[0])
        out.append(f'<line x1="{left}" y1="{yp:.1f}" x2="{left + plot_w}" y2="{yp:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{yp + 4:.1f}" text-anchor="end">{format_tick(t, ystep)}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle">'
               f"{escape(X_AXES[x])}</text>")
    out.append(f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle">{escape(METRICS[metric])}</text>')
    for i, c in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        xv, yv, ys_ = (np.asarray(a, dtype=float) for a in (c.x, c.y, c.y_smoothed))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-opacity="0.35" '
                   f'stroke-width="1" points="{points(xv, yv)}"/>')
        if xv.size == 1:
            out.append(f'<circle cx="{float(px(xv)[0]):.1f}" cy="{float(py(yv)[0]):.1f}" r="3" '
                       f'fill="{colour}"/>')
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.2" '
                   f'points="{points(xv, ys_)}"/>')
        if legend:
            name = labels[i] if labels is not None else f"run {i + 1}"
            ly = top + 14 + 18 * i
            out.append(f'<line x1="{width - right + 12}" y1="{ly - 4}" x2="{width - right + 32}" '
                       f'y2="{ly - 4}" stroke="{colour}" stroke-width="2.2"/>')
            out.append(f'<text x="{width - right + 38}" y="{ly}">{escape(str(name)[:18])}</text>')
    out.append(f'<text x="{left + 6}" y="{top + 14}" fill="#555">moving average, window {window}</text>')
    out.append("</svg>")
    return "\n".join(out)
