"""Plots of recorded runs (optional extra: ``pip install "agentreel[plot]"``).

This module only draws: the numbers come from :mod:`agentreel.analysis`.
matplotlib is imported when a function is called, not when this module is
imported, and a missing matplotlib raises an ``ImportError`` that names the
extra. Figures are built with ``matplotlib.figure.Figure`` rather than
``pyplot``, so they need no display (safe on a headless server) and never
change the user's global backend or pyplot state. To draw into an
interactive window, pass an ``ax`` from ``pyplot``.

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> run = [EpisodeRecord(index=i, episode_return=float(i % 7), length=20)
    ...        for i in range(30)]
    >>> fig = plot_learning_curve(run, window=5)
    >>> len(fig.axes[0].lines)  # raw values and their moving average
    2
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agentreel.analysis.curves import (
    METRICS,
    X_AXES,
    aggregate_curves,
    default_window,
    learning_curve,
)
from agentreel.base.extras import require
from agentreel.base.safe_files import write_atomically
from agentreel.core.records import EpisodeRecord

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_learning_curve", "save_figure", "SAVE_FORMATS"]

#: File suffixes :func:`save_figure` accepts.
SAVE_FORMATS = (".png", ".svg", ".pdf")


def _normalise_runs(runs: Any) -> list[list[EpisodeRecord]]:
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty: give a list of EpisodeRecord or a list of such lists")
    if all(isinstance(r, EpisodeRecord) for r in runs):
        return [runs]
    out = []
    for i, run in enumerate(runs):
        if isinstance(run, EpisodeRecord) or not isinstance(run, Sequence):
            raise ValueError(
                "runs must be a list of EpisodeRecord (one run) or a list of such lists "
                f"(one per run); item {i} is a {type(run).__name__}"
            )
        run = list(run)
        if not run:
            raise ValueError(f"run {i} has no episodes")
        out.append(run)
    return out


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    # A SubFigure's .figure is its root Figure; a Figure's .figure is itself.
    return cast("Figure", getattr(fig, "figure", None) or fig)


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: png, svg or pdf), atomically.

    The file is written under a temporary name in the same folder and renamed
    into place, so a reader never sees half a file. Missing folders are created.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise ValueError(
            f"cannot tell the image format from {str(path)!r}; "
            f"use a path ending in one of {', '.join(SAVE_FORMATS)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new file that respects the umask, created exclusively, renamed into place.
    write_atomically(path, lambda handle: fig.savefig(handle, format=suffix[1:], dpi=dpi))
    return path


def plot_learning_curve(
    runs: Sequence[EpisodeRecord] | Sequence[Sequence[EpisodeRecord]],
    *,
    x: str = "episodes",
    metric: str = "return",
    window: int | None = None,
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    show_runs: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 2_000,
    seed: int | None = 0,
    title: str | None = None,
) -> Figure:
    """Plot episode returns (or lengths) against episodes, steps or time.

    * One run (a list of :class:`EpisodeRecord`): the raw per-episode values
      (faint) and their trailing moving average — two lines.
    * Several runs (a list of such lists, e.g. one per seed): each run's moving
      average (faint, when ``show_runs``), the mean over runs (bold) and a band
      — the percentile-bootstrap interval of that mean, resampling runs. The
      runs are put on a common grid first: every episode number they all
      reach for ``x="episodes"``, else 200 evenly spaced points over the
      x-range all runs cover, with linear interpolation (see
      :func:`agentreel.analysis.aggregate_curves`). With ``show_runs`` that is
      ``n_runs + 1`` lines plus one filled band.

    Args:
        runs: one run or a list of runs.
        x: ``"episodes"``, ``"steps"`` (cumulative steps) or ``"time"`` (seconds).
        metric: ``"return"`` or ``"length"``.
        window: moving-average window; ``None`` picks one per run
            (:func:`agentreel.analysis.default_window`, from the shortest run
            when there are several so all runs use the same window).
        path: if given, the figure is also written there (``.png``, ``.svg`` or
            ``.pdf``, chosen by the suffix).
        ax: draw into these axes instead of a new figure.
        labels: the run's legend label (one run) or one label per run.
        show_runs: draw each run's moving average when there are several runs.
        confidence, n_resamples, seed: the band's bootstrap settings.
        title: the axes' title.

    Returns:
        The figure drawn into (``ax``'s root figure when ``ax`` was given).

    Raises:
        ImportError: matplotlib is missing (``pip install "agentreel[plot]"``).
        ValueError: empty runs, unknown ``x``/``metric``, wrong number of
            labels, or an unsupported file suffix.
    """
    require("matplotlib", "plot")
    from matplotlib.figure import Figure

    if x not in X_AXES:
        raise ValueError(f"x must be one of {list(X_AXES)}, got {x!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if path is not None and Path(path).suffix.lower() not in SAVE_FORMATS:
        raise ValueError(
            f"cannot tell the image format from {str(path)!r}; "
            f"use a path ending in one of {', '.join(SAVE_FORMATS)}"
        )
    all_runs = _normalise_runs(runs)
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(all_runs):
            raise ValueError(f"got {len(labels)} label(s) for {len(all_runs)} run(s)")
    if window is None:
        window = default_window(min(len(r) for r in all_runs))
    curves = [learning_curve(run, x=x, metric=metric, window=window) for run in all_runs]

    if ax is None:
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = _root_figure(ax)

    if len(curves) == 1:
        c = curves[0]
        w = min(window, c.y.size)
        ax.plot(c.x, c.y, color="C0", alpha=0.3, linewidth=0.8, marker=".", markersize=3,
                label=f"per episode ({c.y.size})")
        name = labels[0] if labels else "moving average"
        ax.plot(c.x, c.y_smoothed, color="C0", linewidth=2.0, label=f"{name} (window {w})")
    else:
        if show_runs:
            for i, c in enumerate(curves):
                label = labels[i] if labels else None
                ax.plot(c.x, c.y_smoothed, color=f"C{i % 10}", alpha=0.35, linewidth=1.0,
                        label=label)
        agg = aggregate_curves(
            [(c.x, c.y_smoothed) for c in curves],
            integer_grid=(x == "episodes"),
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
        )
        ax.plot(agg.x, agg.mean, color="black", linewidth=2.0,
                label=f"mean of {agg.n_runs} runs (window {window})")
        ax.fill_between(agg.x, agg.low, agg.high, color="black", alpha=0.15, linewidth=0,
                        label=f"{100 * confidence:g}% CI (bootstrap over runs)")

    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel(METRICS[metric])
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        save_figure(fig, path)
    return fig
