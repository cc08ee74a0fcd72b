"""``agentreel export --format marl-eval RUN... -o results.json``: recorded runs in other tools' formats.

Example:
    >>> parser = __import__("argparse").ArgumentParser()
    >>> commands = parser.add_subparsers(dest="command")
    >>> register_export(commands)
    >>> parser.parse_args(["export", "--format", "marl-eval", "runs/a"]).format
    'marl-eval'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["cmd_export", "register_export"]


def register_export(commands: Any) -> None:
    """Add the ``export`` sub-command to the CLI's sub-parsers."""
    export = commands.add_parser(
        "export", help="write recorded runs in another tool's format (marl-eval)",
        description="Write runs as marl-eval raw-data JSON (environment -> task -> algorithm -> "
        "run -> step, with absolute_metrics): each RUN is one independent run; its episodes are "
        "cut into evaluation steps of --episodes-per-step episodes; metrics: return (team "
        "return for multi-agent runs) and episode_length.")
    export.add_argument("runs", nargs="+", metavar="RUN", help="run folders or log files")
    export.add_argument("--format", required=True, choices=("marl-eval",), help="output format")
    export.add_argument("--out", "-o", default="marl_eval.json", help="the JSON file to write")
    export.add_argument("--environment", default=None,
                        help="environment name (default: the first run's env id)")
    export.add_argument("--task", default=None, help="task name (default: the environment name)")
    export.add_argument("--algorithm", default="agent", help="algorithm name")
    export.add_argument("--episodes-per-step", type=int, default=None, metavar="N",
                        help="episodes per evaluation step (default: all, one step)")
    export.set_defaults(handler=cmd_export)


def _env_id(run: Any) -> str | None:
    monitor = Path(run.folder) / "monitor.csv"
    try:
        with open(monitor, encoding="utf-8") as handle:
            first = handle.readline()
        return str(json.loads(first.lstrip("#")).get("env_id") or "") or None
    except (OSError, ValueError, AttributeError):
        return None


def cmd_export(args: argparse.Namespace) -> int:
    """``agentreel export``."""
    from agentreel.report import Run
    from agentreel.report.export_marl_eval import to_marl_eval, write_marl_eval

    runs = [Run(path, name=path) for path in args.runs]
    environment = args.environment or _env_id(runs[0]) or "environment"
    data = to_marl_eval([run.records for run in runs], environment=environment,
                        task=args.task or environment, algorithm=args.algorithm,
                        episodes_per_step=args.episodes_per_step)
    path = write_marl_eval(data, args.out)
    steps = len(next(iter(next(iter(next(iter(data.values())).values())).values()))["run_0"]) - 1
    print(f"wrote {path}: {len(runs)} run{'s' if len(runs) != 1 else ''} x {steps} evaluation "
          f"step{'s' if steps != 1 else ''} (marl-eval raw data)")
    return 0
