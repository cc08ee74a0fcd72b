"""The ``agentreel`` command line.

    agentreel record CartPole-v1                 # 10 episodes, every one recorded
    agentreel record CartPole-v1 --episodes 100 --every 10 --policy random --out runs/rand
    agentreel summary runs/rand                  # read a run back

Errors are one line on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="agentreel",
        description="Record reinforcement-learning agents: episode videos, statistics and summaries.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    record = commands.add_parser(
        "record",
        help="run a policy on an environment, recording videos and an episode log",
        description="Run a policy for N episodes on a Gymnasium environment, recording videos "
        "(every K-th episode), monitor.csv and episodes.jsonl, then print a summary.",
    )
    record.add_argument("env_id", help="a Gymnasium environment id, e.g. CartPole-v1")
    record.add_argument("--episodes", "-n", type=int, default=10, help="episodes to run (default 10)")
    record.add_argument("--out", "-o", default=None,
                        help="output folder (default: a new agentreel-runs/<env-id>-NNN)")
    record.add_argument("--every", type=int, default=1,
                        help="record a video every K-th episode (default 1: every episode)")
    record.add_argument("--policy", default="auto",
                        help="random | demo | package.module:callable | path/to/sb3_model.zip "
                        "(default auto: the built-in demo controller where there is one, else random)")
    record.add_argument("--seed", type=int, default=None, help="seed of the first episode (then +1 each)")
    record.add_argument("--format", default="mp4", choices=("mp4", "webm", "gif"), help="video format")
    record.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    record.set_defaults(handler=cmd_record)

    summary = commands.add_parser(
        "summary", help="summarise recorded runs",
        description="Print a summary (count, mean, std, min, max of returns) of recorded runs.",
    )
    summary.add_argument("runs", nargs="+", help="run folders or log files (episodes.jsonl, monitor.csv)")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.set_defaults(handler=cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``agentreel`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("agentreel: interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, ImportError, OSError) as exc:
        print(f"agentreel: error: {exc}", file=sys.stderr)
        return 2


def cmd_record(args: argparse.Namespace) -> int:
    """``agentreel record``."""
    from agentreel.run import record_run

    result = record_run(
        args.env_id, episodes=args.episodes, out=args.out, every=args.every,
        policy=args.policy, seed=args.seed, progress=not args.quiet, video_format=args.format,
    )
    returns = np.array([r.episode_return for r in result.records])
    lengths = np.array([r.length for r in result.records])
    print(f"Recorded {len(returns)} episodes of {args.env_id} in {result.seconds:.1f} s -> {result.out}")
    print(f"  return: mean {returns.mean():.2f} ± {returns.std():.2f} (std), "
          f"min {returns.min():.2f}, max {returns.max():.2f}")
    print(f"  length: mean {lengths.mean():.1f} steps")
    print(f"  videos: {len(result.videos)}, log: episodes.jsonl, monitor.csv")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """``agentreel summary``."""
    from agentreel.log import read_episodes

    rows = []
    for run in args.runs:
        records = read_episodes(run)
        if not records:
            raise ValueError(f"no episodes found in {run}")
        returns = np.array([r.episode_return for r in records], dtype=float)
        rows.append({
            "run": run, "episodes": len(records), "mean": float(returns.mean()),
            "std": float(returns.std()), "min": float(returns.min()), "max": float(returns.max()),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'run':40s} {'episodes':>8s} {'mean':>10s} {'std':>10s} {'min':>10s} {'max':>10s}")
    for row in rows:
        print(f"{row['run'][:40]:40s} {row['episodes']:8d} {row['mean']:10.2f} {row['std']:10.2f} "
              f"{row['min']:10.2f} {row['max']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
