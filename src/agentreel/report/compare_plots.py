"""Plots of comparisons: performance profiles, sample-efficiency (IQM) curves, interval bars.

Only drawing (the rliable split): the numbers come from
:mod:`agentreel.analysis.intervals`. matplotlib is imported when a function is
called (``pip install "agentreel[plot]"``); figures use ``matplotlib.figure.Figure``,
never pyplot's global state.

Example:
    >>> from agentreel.analysis.intervals import performance_profiles
    >>> profiles = performance_profiles({"A": [[0.2, 0.4], [0.6, 0.8]],
    ...                                  "B": [[0.5, 0.7], [0.9, 1.0]]}, [0, 0.5, 1], seed=0)
    >>> fig = plot_profiles(profiles)
    >>> len(fig.axes[0].lines)
    2
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentreel.analysis.intervals import Curve, Estimate, Profile
from agentreel.base.extras import require
from agentreel.report.plots import save_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_intervals", "plot_iqm_curves", "plot_profiles"]


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    require("matplotlib", "plot")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _draw_bands(ax: Any, series: Mapping[str, Any], x_attr: str, marker: str | None = None) -> None:
    """One line (``values``) and its CI band (``low``..``high``) per named series."""
    for i, (name, s) in enumerate(series.items()):
        color = f"C{i % 10}"
        x = getattr(s, x_attr)
        ax.plot(x, s.values, color=color, linewidth=2.0, marker=marker, label=name)
        ax.fill_between(x, s.low, s.high, color=color, alpha=0.2, linewidth=0)


def _finish(fig: Figure, ax: Any, path: str | os.PathLike[str] | None) -> Figure:
    """Grid and legend on ``ax``; save ``fig`` to ``path`` when given."""
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_profiles(
    profiles: Mapping[str, Profile],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    xlabel: str = "normalised score (tau)",
) -> Figure:
    """Performance profiles: the fraction of runs scoring above tau, one line and band each."""
    fig = _figure()
    ax = fig.add_subplot()
    _draw_bands(ax, profiles, "taus")
    first = next(iter(profiles.values()))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or f"Performance profiles ({100 * first.confidence:g}% CI bands, "
                 f"stratified bootstrap)")
    return _finish(fig, ax, path)


def plot_iqm_curves(
    curves: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    xlabel: str = "environment steps",
    ylabel: str = "IQM of returns",
) -> Figure:
    """Sample-efficiency curves: IQM (over runs and tasks) against steps, with CI bands."""
    fig = _figure()
    ax = fig.add_subplot()
    _draw_bands(ax, curves, "x", marker=".")
    first: Curve | None = next(iter(curves.values()), None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    pct = f"{100 * first.confidence:g}%" if first is not None else ""
    ax.set_title(title or f"IQM against steps ({pct} CI bands, stratified bootstrap over runs)")
    return _finish(fig, ax, path)


def plot_intervals(
    estimates: Mapping[str, Mapping[str, Estimate]],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Interval estimates as bars: one panel per metric, one row per algorithm.

    ``estimates`` maps a metric's title to ``{algorithm: Estimate}``.
    """
    fig = _figure(3.0 * max(1, len(estimates)), 0.6 + 0.5 * max(
        len(v) for v in estimates.values()))
    axes = fig.subplots(1, len(estimates), squeeze=False)[0]
    for ax, (metric, by_alg) in zip(axes, estimates.items(), strict=True):
        for row, est in enumerate(by_alg.values()):
            color = f"C{row % 10}"
            ax.barh(row, est.high - est.low, left=est.low, height=0.6, color=color, alpha=0.6)
            ax.plot([est.point, est.point], [row - 0.3, row + 0.3], color="black", linewidth=1.5)
        ax.set_yticks(range(len(by_alg)), list(by_alg) if ax is axes[0] else [""] * len(by_alg))
        ax.set_title(metric, fontsize="medium")
        ax.grid(True, axis="x", alpha=0.3)
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig
