"""``agentreel render RUN``: render episodes of a recorded (or crashed) run from its replay log."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["add_render_command", "cmd_render"]


def add_render_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Register ``render`` on the CLI's subparsers."""
    render = commands.add_parser(
        "render", formatter_class=formatter,
        help="render episodes of a run from its replay log (RecordReplay), in parallel",
        description="Replay episodes logged by agentreel.RecordReplay (or RecordVideo(..., "
        "replay=True)) and encode them as videos with sidecars in the run folder, so report "
        "and timelapse show them. Every step is verified against the log; an episode that "
        "diverges gets no video and an error naming the step. With no selection every "
        "episode is rendered; several selections add up.",
    )
    render.add_argument("run", metavar="RUN", help="the run folder holding replay.ndjson")
    render.add_argument("--episodes", type=int, nargs="+", default=None, metavar="K",
                        help="episode numbers to render")
    render.add_argument("--best", type=int, default=None, metavar="K",
                        help="the K episodes with the highest returns")
    render.add_argument("--worst", type=int, default=None, metavar="K",
                        help="the K episodes with the lowest returns")
    render.add_argument("--failures", action="store_true",
                        help="episodes that ended terminated")
    render.add_argument("--every", type=int, default=None, metavar="N",
                        help="every N-th episode (0, N, 2N, ...)")
    render.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    render.add_argument("--backend", default="local", choices=("local", "ray"),
                        help="local processes or Ray tasks (pip install 'agentreel[ray]')")
    render.add_argument("--address", default=None, help="Ray cluster address (with --backend ray)")
    render.add_argument("--name-prefix", default="rl-video", help="video file name prefix")
    render.add_argument("--format", default="mp4", choices=("mp4", "webm", "gif"),
                        help="video format")
    render.add_argument("--fps", type=float, default=None,
                        help="frame rate (default: the env's render_fps)")
    render.add_argument("--overwrite", action="store_true",
                        help="render again episodes whose video exists")
    render.set_defaults(handler=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    """``agentreel render``: 0 when every selected episode has its video, else 1."""
    from agentreel.replay.render import render_episodes

    for flag in ("best", "worst", "every"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be at least 1, got {value}")
    if args.address is not None and args.backend != "ray":
        raise ValueError("--address is for --backend ray (the address of a Ray cluster)")
    start = time.perf_counter()
    results = render_episodes(
        args.run, episodes=args.episodes, best=args.best, worst=args.worst,
        failures=args.failures, every=args.every, workers=args.workers, backend=args.backend,
        address=args.address, name_prefix=args.name_prefix, format=args.format, fps=args.fps,
        overwrite=args.overwrite)
    failed = [r for r in results if r.error]
    made = [r for r in results if not r.error and not r.skipped]
    for r in results:
        if r.error:
            print(f"agentreel: {r.name}: {r.error}", file=sys.stderr)
        elif r.skipped:
            print(f"{r.name}: exists, skipped (--overwrite to render it again)")
        else:
            print(f"{r.path}: {r.frames} frames")
    frames = sum(r.frames for r in made)
    seconds = time.perf_counter() - start
    print(f"rendered {len(made)} of {len(results)} episodes ({frames} frames, {seconds:.1f} s)"
          + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
