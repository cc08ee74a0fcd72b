"""Learning curves of a multi-agent run: one line per agent, plus the team (``agentreel[plot]``).

Like :mod:`agentreel.report.plots`, this only draws (the numbers come from
:mod:`agentreel.analysis.agents`), builds a ``matplotlib.figure.Figure`` without
``pyplot``, and names the extra when matplotlib is missing.

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> run = [EpisodeRecord(i, 3.0 * i, 5, extras={"agents": {"a": {"return": 1.0 * i, "length": 5},
    ...                                                        "b": {"return": 2.0 * i, "length": 5}}})
    ...        for i in range(10)]
    >>> fig = plot_agent_curves(run, window=2)
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['team (sum)', 'a', 'b']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentreel.analysis.agents import agent_ids, agent_series, is_multi_agent
from agentreel.analysis.curves import METRICS, default_window, moving_average
from agentreel.base.extras import require
from agentreel.core.records import EpisodeRecord

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_agent_curves"]


def _smoothed(x: list[int], y: list[float], window: int | None) -> tuple[list[float], list[float]]:
    w = min(window or default_window(len(y)), len(y))
    xs, ys = moving_average(y, w, x=x)
    return list(map(float, xs)), list(map(float, ys))


def plot_agent_curves(records: Sequence[EpisodeRecord], *, metric: str = "return",
                      window: int | None = None, path: str | os.PathLike[str] | None = None,
                      title: str | None = None) -> Figure:
    """Each agent's (and the team's) moving-average ``metric`` against the episode number.

    The team line is the team return (sum over agents) or the episode length in env
    steps. ``path`` also saves the figure (png, svg or pdf).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    records = list(records)
    if not is_multi_agent(records):
        raise ValueError("these records carry no per-agent results (extras['agents']); "
                         "record with agentreel.pettingzoo's wrappers")
    require("matplotlib", "plot")
    from matplotlib.figure import Figure

    from agentreel.report.plots import save_figure

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    team_y = [float(r.episode_return if metric == "return" else r.length) for r in records]
    ax.plot(*_smoothed([r.index for r in records], team_y, window), color="black", linewidth=2.2,
            label="team (sum)" if metric == "return" else "episode (env steps)")
    for agent in agent_ids(records):
        ax.plot(*_smoothed(*agent_series(records, agent, metric), window), linewidth=1, label=agent)
    ax.set_xlabel("episode")
    ax.set_ylabel(f"{METRICS[metric]} (moving average)")
    ax.set_title(title or f"{METRICS[metric]} per agent")
    ax.legend(fontsize="small", ncol=max(1, len(ax.lines) // 12), loc="best")
    if path is not None:
        save_figure(fig, path)
    return fig
