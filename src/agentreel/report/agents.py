"""The report's per-agent section for multi-agent runs: a summary table and a curve per agent.

Single-agent runs add nothing (the function returns ``""``).

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> class FakeRun:
    ...     name = "demo"
    ...     records = [EpisodeRecord(i, 3.0, 5, extras={"agents": {"a": {"return": 1.0, "length": 5},
    ...                                                            "b": {"return": 2.0, "length": 4}}})
    ...                for i in range(3)]
    >>> html = agents_section([FakeRun()], plot="none")
    >>> "<td>a</td>" in html and "<td>team (sum)</td>" in html
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import Any

from agentreel.analysis.agents import (
    AGENTS_KEY,
    agent_returns_text,
    is_multi_agent,
    summarize_agents,
)
from agentreel.analysis.summary import format_number, summarize_records
from agentreel.core.records import EpisodeRecord

__all__ = ["agents_section", "video_agent_returns"]


def _row(name: str, summary: Any) -> str:
    cells = [summary.count, format_number(summary.mean), format_number(summary.std),
             format_number(summary.min), format_number(summary.max),
             format_number(summary.mean_length, 1)]
    return f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _curve(records: list, plot: str) -> str:
    if plot == "none":
        return ""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return '<p class="note">Per-agent curves need matplotlib: pip install "agentreel[plot]".</p>'
    from agentreel.report.agent_plots import plot_agent_curves

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "agentreel"}):
        fig = plot_agent_curves(records)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return (f'<img class="chart" alt="learning curve per agent" '
            f'src="data:image/svg+xml;base64,{data}">')


def agents_section(runs: Sequence[Any], *, seed: int = 0, plot: str = "auto") -> str:
    """HTML: for each multi-agent run, each agent's return summary and learning curves.

    ``plot="none"`` leaves the curves out.
    """
    parts = []
    for run in runs:
        records = list(run.records)
        if not is_multi_agent(records):
            continue
        team = summarize_records(records, seed=seed, n_resamples=2_000)
        rows = [_row("team (sum)", team)]
        rows += [_row(agent, s) for agent, s in summarize_agents(records, seed=seed).items()]
        head = "".join(f"<th>{h}</th>" for h in ("Agent", "Episodes", "Mean return", "Std", "Min",
                                                 "Max", "Mean length"))
        parts.append(
            f"<h3>{escape(run.name)}: per agent</h3>"
            f'<table class="summary agents"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            '<p class="note">Team: the sum of the agents\' returns; its length is the episode\'s '
            "env steps. Agents: their own returns and moves (an agent that left early has fewer)."
            f"</p><div class=\"chart-box\">{_curve(records, plot)}</div>"
        )
    if not parts:
        return ""
    return f'<section id="agents"><h2>Per agent</h2>{"".join(parts)}</section>'


def video_agent_returns(video: Any) -> str:
    """Each agent's return for a video's caption (``a 1.0, b 2.0``), ``""`` when single-agent.

    From the sidecar's ``"agents"`` tag of a whole-episode video, else from its joined record.

    >>> class V:
    ...     tags = {"agents": {"a": {"return": 1.0}}}
    ...     record = None
    >>> video_agent_returns(V())
    'a 1.0'
    """
    agents = (getattr(video, "tags", None) or {}).get(AGENTS_KEY)
    if isinstance(agents, dict):
        return agent_returns_text(EpisodeRecord(0, 0.0, 0, extras={AGENTS_KEY: agents}))
    record = getattr(video, "record", None)
    return agent_returns_text(record) if record is not None else ""
