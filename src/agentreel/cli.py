"""The ``agentreel`` command line.

    agentreel record CartPole-v1                 # 10 episodes, every one recorded, report.html
    agentreel record CartPole-v1 --episodes 100 --every 10 --policy random --out runs/rand
    agentreel record CartPole-v1 --num-envs 4    # a vector env, one video per sub-env episode
    agentreel record CartPole-v1 -n 1000 --workers 4 --seed 0   # 4 local worker processes
    agentreel record CartPole-v1 -n 1000 --backend ray --address auto   # on a Ray cluster
    agentreel summary runs/rand runs/demo        # a table, one row per run, plus the aggregate
    agentreel plot runs/rand -o curve.png        # learning curve (needs agentreel[plot])
    agentreel timelapse runs/rand -o timelapse.mp4
    agentreel report runs/rand runs/demo -o report.html
    agentreel compare runs/a-* --vs runs/b-*     # IQM, P(B > A) with CIs (cli_compare)
    agentreel render runs/rand --best 3 --workers 2   # videos from a RecordReplay log

Errors are one line on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from agentreel.analysis.summary import format_number
from agentreel.app.cli_render import add_render_command
from agentreel.app.env_setup import headless_mujoco_gl, import_modules
from agentreel.core.records import FORMATS

EPILOG = """\
A run folder holds episodes.jsonl + monitor.csv (one row per episode) and the
videos, each with a NAME.json sidecar; every command after `record` reads it.

examples:
  agentreel record CartPole-v1
  agentreel record CartPole-v1 -n 100 --every 10 --policy random -o runs/random
  agentreel record CartPole-v1 -n 1000 --every 100 --workers 4 --seed 0
  agentreel summary runs/random runs/demo --json
  agentreel plot runs/random -o curve.png --x steps
  agentreel timelapse runs/random -o timelapse.mp4
  agentreel report runs/random -o report.html

`agentreel COMMAND --help` describes each command."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples' line breaks; show a default when there is a meaningful one."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="agentreel",
        description="Record reinforcement-learning agents (episode videos and statistics) and "
        "turn the recorded runs into summaries, plots, a training timelapse and an HTML report.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    from agentreel._version import __version__

    parser.add_argument("--version", action="version", version=f"agentreel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    record = commands.add_parser(
        "record", formatter_class=_Formatter,
        help="run a policy on an environment, recording videos, the episode log and a report",
        description="Run a policy for N episodes on a Gymnasium environment, recording videos "
        "(every K-th episode) with JSON sidecars, monitor.csv and episodes.jsonl, then print a "
        "summary and write report.html into the run folder.",
        epilog="examples:\n  agentreel record CartPole-v1\n"
        "  agentreel record CartPole-v1 -n 50 --every 5 --policy random --seed 0\n"
        "  agentreel record CartPole-v1 --policy mypkg.agents:act\n"
        "  agentreel record CartPole-v1 --policy ppo_cartpole.zip --num-envs 4\n"
        "  agentreel record CartPole-v1 -n 1000 --every 50 --workers 4 --seed 0\n"
        "  agentreel record CartPole-v1 -n 1000 --backend ray --address auto\n\n"
        "parallel evaluation (--workers or --backend ray): episode i is seeded with\n"
        "SEED+i, so returns are the same for any number of workers; a worker that dies\n"
        "is reported and its unfinished episodes are rerun once. With Ray on several\n"
        "machines, --out must be on a filesystem every node shares.",
    )
    record.add_argument("env_id", help="a Gymnasium environment id, e.g. CartPole-v1 or ALE/Pong-v5 "
                        "(the plugin packages ale_py, gymnasium_robotics, minigrid and shimmy "
                        "are imported when installed), or a PettingZoo env module, e.g. "
                        "pettingzoo.butterfly.pistonball_v6[:env][,max_cycles=50] (README, Multi-agent)")
    record.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help="import MODULE first, e.g. a package that registers your "
                        "environments (repeatable; modules in the current folder are found)")
    record.add_argument("--max-episode-steps", type=int, default=None, metavar="N",
                        help="end every episode after N steps (Gymnasium's TimeLimit)")
    record.add_argument("--episodes", "-n", type=int, default=10, help="episodes to run")
    record.add_argument("--out", "-o", default=None,
                        help="run folder (default: a new agentreel-runs/<env-id>-NNN)")
    record.add_argument("--every", type=int, default=1,
                        help="record a video of every K-th episode (1: every episode)")
    record.add_argument("--policy", default="auto",
                        help="random | demo | package.module:callable | path/to/sb3_model.zip; "
                        "auto: the built-in demo agent where there is one (CartPole: a controller that "
                        "slips less every episode), else random")
    record.add_argument("--seed", type=int, default=None,
                        help="seed of the first episode (then +1 each; sub-env i gets seed+i); "
                        "without it one is drawn and printed, so the run can be repeated")
    record.add_argument("--num-envs", type=int, default=1,
                        help="run K sub-environments in a synchronous vector env "
                        "(one video per sub-env episode)")
    record.add_argument("--workers", "-w", type=int, default=None, metavar="K",
                        help="run the episodes in K parallel worker processes (each episode i "
                        "seeded with SEED+i; one merged log and report)")
    record.add_argument("--backend", default="local", choices=("local", "ray"),
                        help="where --workers run: local processes, or a Ray cluster "
                        '(pip install "agentreel[ray]"; --workers defaults to its CPUs)')
    record.add_argument("--address", default=None, metavar="ADDR",
                        help="Ray cluster address (e.g. auto or ray://head:10001; default: "
                        "start a local Ray instance)")
    record.add_argument("--format", default="mp4", choices=FORMATS, help="video format")
    record.add_argument("--no-report", action="store_true", help="do not write report.html")
    record.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar (it is drawn on stderr only when stderr is a terminal)")
    record.set_defaults(handler=cmd_record)

    summary = commands.add_parser(
        "summary", formatter_class=_Formatter,
        help="print a table of episode-return statistics, one row per run",
        description="Summarise recorded runs: episodes, mean, std, median, IQM (interquartile "
        "mean), min, max, success rate (from an is_success info key) and the 95% bootstrap "
        "confidence interval of the mean. With several runs (e.g. seeds) a last line "
        "aggregates them: the mean of the run means with a bootstrap interval.",
    )
    summary.add_argument("runs", nargs="+", metavar="RUN",
                         help="run folders or log files (episodes.jsonl, monitor.csv)")
    summary.add_argument("--json", action="store_true",
                         help='print JSON: {"runs": [...], "aggregate": {...} or null}')
    summary.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (reproducible)")
    summary.set_defaults(handler=cmd_summary)

    plot = commands.add_parser(
        "plot", formatter_class=_Formatter,
        help="plot learning curves (needs: pip install \"agentreel[plot]\")",
        description="Plot episode return (or length) against episodes, environment steps or "
        "wall time: raw values and a moving average for one run; for several runs their mean "
        "with a bootstrap confidence band. PNG, SVG or PDF by the output's suffix. "
        'Needs matplotlib: pip install "agentreel[plot]".',
    )
    plot.add_argument("runs", nargs="*", metavar="RUN", help="run folders or log files")
    plot.add_argument("--out", "-o", default="curve.png", help="image file (.png, .svg or .pdf)")
    plot.add_argument("--x", default="episodes", choices=("episodes", "steps", "time"),
                      help="x axis")
    plot.add_argument("--metric", default="return", choices=("return", "length"), help="y axis")
    plot.add_argument("--window", type=int, default=None,
                      help="moving-average window (default: a tenth of the episodes, 1..50)")
    plot.add_argument("--title", default=None, help="the plot's title")
    plot.set_defaults(handler=cmd_plot)
    from agentreel.app import cli_compare

    cli_compare.add_plot_options(plot)
    cli_compare.add_compare_parser(commands, _Formatter)

    timelapse = commands.add_parser(
        "timelapse", formatter_class=_Formatter,
        help="join a run's videos in episode order into one labelled video",
        description="Join a run's recorded episodes, in episode order, into one video with "
        "each frame labelled with its episode number and return (drawn by agentreel, no "
        "ffmpeg binary needed). Videos of another size than the first are scaled to fit and "
        "padded with black bars.",
    )
    timelapse.add_argument("run", metavar="RUN", help="a run folder")
    timelapse.add_argument("--out", "-o", default=None,
                           help="output video (.mp4, .webm or .gif; default RUN/timelapse.mp4)")
    timelapse.add_argument("--fps", type=float, default=None,
                           help="frame rate (default: the first video's)")
    timelapse.add_argument("--no-labels", action="store_true", help="do not draw labels")
    timelapse.set_defaults(handler=cmd_timelapse)

    report = commands.add_parser(
        "report", formatter_class=_Formatter,
        help="write one self-contained HTML page: summary, learning curve, video gallery",
        description="Write an HTML report of one or more runs: the summary table, the learning "
        "curve and a gallery of the recorded videos (episode, return, length), sortable by "
        "return. CSS, JavaScript and plots are inline; videos are linked relative to the "
        "page, so it opens from disk with no server and no network.",
    )
    report.add_argument("runs", nargs="*", metavar="RUN", help="run folders")
    report.add_argument("--out", "-o", default=None,
                        help="the page (default: RUN/report.html for one run, else ./report.html)")
    report.add_argument("--title", default=None, help="the page's title")
    report.set_defaults(handler=cmd_report)
    cli_compare.add_group_options(report)  # runs with labels: a comparison section

    from agentreel.app.cli_export import register_export

    register_export(commands)  # agentreel export --format marl-eval (agentreel.app.cli_export)
    add_render_command(commands, _Formatter)
    return parser


def quiet_headless_sdl() -> None:
    """On a machine with no display, tell SDL (pygame's renderer) not to look for one.

    The command only renders off-screen (``rgb_array``); without this, pygame prints
    ``error: XDG_RUNTIME_DIR is invalid ...`` into the command's output on servers.
    A display, or an ``SDL_VIDEODRIVER`` the user set, is left alone.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``agentreel`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    quiet_headless_sdl()
    headless_mujoco_gl()
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("agentreel: interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, ImportError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"agentreel: error: {message}", file=sys.stderr)
        return 2


def _load_runs(paths: list[str]) -> list[Any]:
    from agentreel.report import Run

    return [Run(path, name=path) for path in paths]


def _print_notes(runs: list[Any]) -> None:
    """What a run folder lacks (no log, videos it cannot describe) and how to record it."""
    for run in runs:
        for note in run.notes:
            print(f"agentreel: note: {note}", file=sys.stderr)


def cmd_record(args: argparse.Namespace) -> int:
    """``agentreel record`` (parallel when ``--workers`` or ``--backend ray`` is given)."""
    from agentreel.analysis import summarize_records
    from agentreel.app.cli_pettingzoo import cmd_record_pettingzoo, is_pettingzoo_spec

    if is_pettingzoo_spec(args.env_id):  # multi-agent: agentreel.app.cli_pettingzoo
        return cmd_record_pettingzoo(args)

    result: Any
    parallel = args.workers is not None or args.backend != "local" or args.address is not None
    import_modules(args.imports)
    if parallel:
        if args.imports or args.max_episode_steps is not None:
            raise ValueError("--import and --max-episode-steps cannot be combined with --workers/"
                             "--backend yet; for a plugin package use MODULE:ENV_ID")
        if args.num_envs != 1:
            raise ValueError("--num-envs cannot be combined with --workers/--backend: "
                             "each worker runs one environment")
        from agentreel.evaluate import evaluate

        result = evaluate(
            args.env_id, episodes=args.episodes, out=args.out, workers=args.workers,
            backend=args.backend, address=args.address, every=args.every, policy=args.policy,
            seed=args.seed, progress=False if args.quiet else None, video_format=args.format,
            report=not args.no_report,
        )
        how = f" ({result.workers} {result.backend} workers, seed {result.seed})"
    else:
        from agentreel.app.run import record_run

        result = record_run(
            args.env_id, episodes=args.episodes, out=args.out, every=args.every,
            policy=args.policy, seed=args.seed, progress=False if args.quiet else None,
            video_format=args.format, num_envs=args.num_envs, report=not args.no_report,
            max_episode_steps=args.max_episode_steps,
        )
        envs = f"{args.num_envs} envs, " if args.num_envs > 1 else ""
        how = f" ({envs}seed {result.seed})"
    print(f"Recorded {len(result.records)} episodes of {args.env_id}{how}, {result.steps:,} steps, "
          f"in {result.seconds:.1f} s -> {result.out}")
    summary = summarize_records(result.records, seed=0)
    for line in str(summary).splitlines():
        print(f"  {line}")
    print(f"  videos: {len(result.videos)} ({args.format}), log: episodes.jsonl, monitor.csv")
    for failure in getattr(result, "failures", []):
        print(f"  {failure}")
    if result.report is not None:
        print(f"  report: {result.report}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """``agentreel summary``."""
    from agentreel.report.html import summary_rows

    runs = _load_runs(args.runs)
    rows, aggregate = summary_rows(runs, seed=args.seed)
    for row in rows:  # the short names scripts expect
        row["episodes"] = row["count"]
    from agentreel.app.cli_pettingzoo import add_agent_summaries, print_agent_summaries

    add_agent_summaries(rows, runs, args.seed)
    if args.json:
        print(json.dumps({"runs": rows, "aggregate": aggregate}, indent=2))
        return 0
    pct = f"{100 * rows[0]['confidence']:g}%"
    headers = ["run", "episodes", "mean", "std", "median", "IQM", "min", "max", "success",
               f"{pct} CI of mean"]
    table = []
    for row in rows:
        success = row["success_rate"]
        table.append([
            row["run"], str(row["count"]), format_number(row["mean"]), format_number(row["std"]),
            format_number(row["median"]), format_number(row["iqm"]), format_number(row["min"]), format_number(row["max"]),
            "n/a" if success is None else f"{100 * success:.1f}%",
            f"[{format_number(row['mean_ci'][0])}, {format_number(row['mean_ci'][1])}]",
        ])
    if aggregate is not None:
        table.append([
            f"all {aggregate['n_runs']} runs", str(sum(aggregate["episodes_per_run"])),
            format_number(aggregate["mean"]), format_number(aggregate["std_of_means"]), "", format_number(aggregate["iqm"]),
            "", "", "", f"[{format_number(aggregate['mean_ci'][0])}, {format_number(aggregate['mean_ci'][1])}]",
        ])
    widths = [max(len(headers[i]), *(len(r[i]) for r in table)) for i in range(len(headers))]
    widths[0] = min(widths[0], 48)

    def line(cells: list[str]) -> str:
        first = cells[0] if len(cells[0]) <= widths[0] else "…" + cells[0][-(widths[0] - 1):]
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first.ljust(widths[0]), *rest]).rstrip()

    print(line(headers))
    for i, cells in enumerate(table):
        if aggregate is not None and i == len(table) - 1:
            print("-" * len(line(headers)))
        print(line(cells))
    note = (f"return per episode; std: population; IQM: interquartile mean; CI: {pct} "
            f"percentile bootstrap ({rows[0]['n_resamples']:,} resamples, seed {args.seed})")
    if aggregate is not None:
        note += (f"; last line: mean of run means, std of run means, "
                 f"{aggregate['method']} bootstrap")
    print(note)
    print_agent_summaries(runs, args.seed)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """``agentreel plot``."""
    from agentreel.base.extras import require

    require("matplotlib", "plot")  # fail before reading anything
    if args.profile or args.iqm_curve:
        from agentreel.app.cli_compare import cmd_plot_compare

        return cmd_plot_compare(args)
    if not args.runs:
        raise ValueError("give at least one run folder to plot")
    from agentreel.report.plots import plot_learning_curve

    runs = _load_runs(args.runs)
    from agentreel.app.cli_pettingzoo import plot_agent_run

    if plot_agent_run(runs, args):  # one multi-agent run: a curve per agent
        return 0
    records = [run.require_records().records for run in runs]
    plot_learning_curve(
        records[0] if len(records) == 1 else records, x=args.x, metric=args.metric,
        window=args.window, path=args.out, labels=[run.name for run in runs], title=args.title,
    )
    print(f"wrote {args.out}")
    return 0


def cmd_timelapse(args: argparse.Namespace) -> int:
    """``agentreel timelapse``."""
    from agentreel.report.timelapse import make_timelapse

    (run,) = _load_runs([args.run])
    _print_notes([run])
    out = Path(args.out) if args.out else run.folder / "timelapse.mp4"
    saved = make_timelapse(run, out, fps=args.fps, labels=not args.no_labels)
    parts = saved.tags.get("parts", [])
    print(f"wrote {out}: {len(parts)} videos, {saved.frames} frames, "
          f"{saved.frames / saved.fps:.1f} s at {saved.fps:g} fps")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``agentreel report``."""
    from agentreel.report import write_report

    if args.vs or args.label:
        from agentreel.app.cli_compare import cmd_report_compare

        return cmd_report_compare(args)
    if not args.runs:
        raise ValueError("give at least one run folder")
    runs = _load_runs(args.runs)
    _print_notes(runs)
    if args.out:
        out = Path(args.out)
    elif len(runs) == 1:
        out = runs[0].folder / "report.html"
    else:
        out = Path("report.html")
    path = write_report(runs, out, title=args.title)
    videos = sum(len(run.videos) for run in runs)
    print(f"wrote {path} ({len(runs)} run{'s' if len(runs) != 1 else ''}, {videos} videos); "
          f"open it in a browser: {path.resolve().as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
