"""The CLI's multi-agent parts: ``agentreel record pettingzoo....`` and per-agent summaries/plots.

``cli.py`` only calls these; PettingZoo is imported only for ``record``.

Example:
    >>> is_pettingzoo_spec("pettingzoo.butterfly.pistonball_v6"), is_pettingzoo_spec("CartPole-v1")
    (True, False)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from agentreel.analysis.agents import is_multi_agent, summarize_agents
from agentreel.analysis.summary import format_number

__all__ = ["agent_summary_lines", "add_agent_summaries", "cmd_record_pettingzoo",
           "is_pettingzoo_spec", "plot_agent_run"]


def is_pettingzoo_spec(env_id: str) -> bool:
    """``env_id`` names a PettingZoo env module (``pettingzoo.<family>.<env>``)."""
    return env_id.startswith("pettingzoo.")


def cmd_record_pettingzoo(args: argparse.Namespace) -> int:
    """``agentreel record pettingzoo.<family>.<env>[:env|:parallel_env][,key=value...]``."""
    if args.num_envs != 1 or args.workers is not None or args.backend != "local":
        raise ValueError("--num-envs, --workers and --backend are not supported for PettingZoo envs")
    from agentreel.analysis import summarize_records
    from agentreel.base.extras import require

    require("pettingzoo", "pettingzoo")
    from agentreel.pettingzoo.run import record_pettingzoo_run

    result = record_pettingzoo_run(
        args.env_id, episodes=args.episodes, out=args.out, every=args.every, policy=args.policy,
        seed=args.seed, progress=False if args.quiet else None, video_format=args.format,
        report=not args.no_report)
    print(f"Recorded {len(result.records)} episodes of {args.env_id}, {result.steps:,} env steps, "
          f"in {result.seconds:.1f} s -> {result.out}")
    for i, line in enumerate(str(summarize_records(result.records, seed=0)).splitlines()):
        print(f"  team return: {line}" if i == 0 else f"  {line}")
    for line in agent_summary_lines(result.records):
        print(f"  {line}")
    print(f"  videos: {len(result.videos)} ({args.format}), log: episodes.jsonl, monitor.csv")
    if result.report is not None:
        print(f"  report: {result.report}")
    return 0


def agent_summary_lines(records: Sequence[Any], seed: int = 0) -> list[str]:
    """One line per agent (mean return ± std, min, max, mean length); ``[]`` when single-agent.

    >>> from agentreel.core.records import EpisodeRecord
    >>> rows = [EpisodeRecord(i, 1.0, 2, extras={"agents": {"a": {"return": 1.0, "length": 2}}})
    ...         for i in range(2)]
    >>> agent_summary_lines(rows)
    ['agent a: mean 1.00 ± 0.00, min 1.00, max 1.00, mean length 2.0 over 2 episodes']
    """
    lines = []
    for agent, s in summarize_agents(list(records), seed=seed).items():
        lines.append(f"agent {agent}: mean {format_number(s.mean)} ± {format_number(s.std)}, "
                     f"min {format_number(s.min)}, max {format_number(s.max)}, mean length "
                     f"{format_number(s.mean_length, 1)} over {s.count} episodes")
    return lines


def add_agent_summaries(rows: list[dict[str, Any]], runs: Sequence[Any], seed: int) -> None:
    """Give each multi-agent run's JSON row an ``"agents"`` mapping of per-agent summaries."""
    for row, run in zip(rows, runs, strict=True):
        if is_multi_agent(run.records):
            row["agents"] = {agent: s.to_dict()
                             for agent, s in summarize_agents(run.records, seed=seed).items()}


def print_agent_summaries(runs: Sequence[Any], seed: int) -> None:
    """Print the per-agent lines of each multi-agent run (nothing for single-agent runs)."""
    for run in runs:
        lines = agent_summary_lines(run.records, seed)
        if lines:
            print(f"{run.name}: per agent (the table's return is the team return, the sum)")
            for line in lines:
                print(f"  {line}")


def plot_agent_run(runs: Sequence[Any], args: argparse.Namespace) -> bool:
    """For one multi-agent run, plot a curve per agent and the team; False when not that case."""
    if len(runs) != 1 or not is_multi_agent(runs[0].records):
        return False
    from agentreel.report.agent_plots import plot_agent_curves

    plot_agent_curves(runs[0].records, metric=args.metric, window=args.window, path=args.out,
                      title=args.title)
    print(f"wrote {args.out} (one curve per agent, and the team)")
    return True
