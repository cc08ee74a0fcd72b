"""``agentreel compare`` and the comparison options of ``plot`` and ``report``.

    agentreel compare runs/ppo-* --vs runs/dqn-*          # B = the --vs runs, A = the others
    agentreel compare --label ppo runs/ppo-* --label dqn runs/dqn-*
    agentreel compare runs/ppo-s0 runs/dqn-s0             # labels from folder names
    agentreel compare A... --vs B... --markdown | --latex | --json
    agentreel compare A... --vs B... --video ab.mp4 --pairs largest-gap
    agentreel plot A... --vs B... --profile -o profile.png
    agentreel plot A... --vs B... --iqm-curve -o iqm.png

Registered by :mod:`agentreel.cli` (a few lines); errors are one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_compare_parser", "add_group_options", "add_plot_options", "cmd_compare",
           "cmd_plot_compare", "cmd_report_compare", "groups_from_args", "comparison_of"]

COMPARE_EPILOG = """\
examples:
  agentreel compare runs/ppo-s0 runs/ppo-s1 --vs runs/dqn-s0 runs/dqn-s1
  agentreel compare --label ppo runs/ppo-* --label dqn runs/dqn-* --markdown
  agentreel compare runs/a-* --vs runs/b-* --norm CartPole-v1=0:500 --json
  agentreel compare runs/a-* --vs runs/b-* --video ab.mp4 --pairs largest-gap

Runs are grouped by algorithm (A and B with --vs; --label NAME RUN...; else the
folder name without its seed suffix, ppo-seed3 -> ppo) and by task (the env id
in monitor.csv). A run's score is the mean return of its episodes; with a single
run per task, episodes are the samples instead (--unit)."""


def add_group_options(parser: argparse.ArgumentParser) -> None:
    """``--vs`` and ``--label``: how runs are split into algorithms."""
    parser.add_argument("--vs", nargs="+", default=None, metavar="RUN",
                        help="runs of algorithm B (the positional runs are A)")
    parser.add_argument("--label", nargs="+", action="append", default=None,
                        metavar=("NAME", "RUN"),
                        help="a labelled group: --label NAME RUN [RUN ...] (repeatable)")


def add_compare_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Register ``agentreel compare``."""
    compare = commands.add_parser(
        "compare", formatter_class=formatter,
        help="compare algorithms: IQM, mean, optimality gap with CIs, P(B > A), side-by-side videos",
        description="Compare groups of runs (algorithms) across tasks with rliable's "
        "statistics: per task and over all tasks the IQM, mean and optimality gap with "
        "stratified bootstrap confidence intervals; the probability that B improves on A and "
        "the IQM difference, each with its interval; a one-line verdict.",
        epilog=COMPARE_EPILOG,
    )
    compare.add_argument("runs", nargs="*", metavar="RUN", help="run folders (algorithm A)")
    add_group_options(compare)
    fmt = compare.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the same data as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown table")
    fmt.add_argument("--latex", action="store_true", help="print a LaTeX table")
    _stat_options(compare)
    compare.add_argument("--video", default=None, metavar="OUT.mp4",
                         help="also write same-seed episodes of A and B side by side")
    compare.add_argument("--pairs", default="largest-gap", choices=("largest-gap", "best", "worst"),
                         help="which shared seeds --video shows")
    compare.add_argument("--count", type=int, default=1,
                         help="how many pairs --video writes (OUT, OUT-2, ...)")
    compare.set_defaults(handler=cmd_compare)


def _stat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", default="auto", choices=("auto", "run", "episode"),
                        help="the bootstrap's sample: a run (its mean return) or an episode; "
                        "auto: run when every algorithm has 2+ runs per task")
    parser.add_argument("--norm", action="append", default=None, metavar="TASK=LOW:HIGH",
                        help="normalise TASK's scores: (score - LOW) / (HIGH - LOW) (repeatable)")
    parser.add_argument("--gamma", type=float, default=None,
                        help="optimality-gap target (default: 1 with --norm, else each "
                        "task's best score seen)")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval coverage")


def add_plot_options(plot: argparse.ArgumentParser) -> None:
    """``agentreel plot --profile | --iqm-curve`` (and the grouping options they use)."""
    kind = plot.add_mutually_exclusive_group()
    kind.add_argument("--profile", action="store_true",
                      help="performance profiles of the groups (fraction of runs above each score)")
    kind.add_argument("--iqm-curve", action="store_true",
                      help="sample-efficiency curves: IQM over runs against steps, with CI bands")
    add_group_options(plot)
    plot.add_argument("--norm", action="append", default=None, metavar="TASK=LOW:HIGH",
                      help="normalise TASK's scores (--profile, --iqm-curve)")
    plot.add_argument("--unit", default="auto", choices=("auto", "run", "episode"),
                      help="--profile's sample: a run or an episode")


def groups_from_args(args: argparse.Namespace) -> list[Any]:
    """The algorithm groups the arguments describe (errors name the fix)."""
    from agentreel.report.run_groups import Group, label_from_name, load_group, run_task

    positional = list(args.runs or [])
    if args.label:
        if args.vs:
            raise ValueError("use either --vs or --label, not both")
        groups = []
        for entry in args.label:
            if len(entry) < 2:
                raise ValueError(f"--label {entry[0]} names no runs: --label NAME RUN [RUN ...]")
            groups.append(load_group(entry[0], entry[1:]))
        if positional:
            groups.insert(0, load_group("A", positional))
    elif args.vs:
        if not positional:
            raise ValueError("--vs needs runs of A before it: agentreel compare A... --vs B...")
        name_a, name_b = (_common_label(positional) or "A"), (_common_label(args.vs) or "B")
        if name_a == name_b:
            name_a, name_b = "A", "B"
        groups = [load_group(name_a, positional), load_group(name_b, args.vs)]
    else:
        loaded = load_group("runs", positional).runs
        tasks = sorted({run_task(run) for run in loaded})
        if len(tasks) > 1:
            raise ValueError(f"the runs are of several tasks ({', '.join(tasks)}) and have no "
                             "labels: say which algorithm each run is with --vs or --label")
        by_label: dict[str, list[Any]] = {}
        for run in loaded:
            by_label.setdefault(label_from_name(Path(run.name).name), []).append(run)
        groups = [Group(label, runs) for label, runs in by_label.items()]
    total = sum(len(g.runs) for g in groups)
    if total < 2:
        raise ValueError(f"need at least 2 runs to compare, got {total}")
    if len(groups) < 2:
        raise ValueError(f"all {total} runs have the label {groups[0].label!r}: say which "
                         "algorithm each run is with --vs or --label")
    return groups


def _common_label(paths: list[str]) -> str | None:
    """The folder names' shared start without seed suffixes (``ppo-Hopper-s1``, ``ppo-Ant-s2`` -> ``ppo``)."""
    import os

    from agentreel.report.run_groups import label_from_name

    labels = [label_from_name(Path(p).resolve().name) for p in paths]
    common = os.path.commonprefix(labels).rstrip("-_. ")
    return common or None


def _parse_norms(entries: list[str] | None) -> dict[str, tuple[float, float]]:
    norms = {}
    for entry in entries or []:
        task, sep, bounds = entry.rpartition("=")
        low, sep2, high = bounds.partition(":")
        try:
            if not (sep and sep2 and task):
                raise ValueError
            norms[task] = (float(low), float(high))
        except ValueError:
            raise ValueError(f"--norm {entry!r}: expected TASK=LOW:HIGH, e.g. CartPole-v1=0:500") from None
    return norms


def scored(args: argparse.Namespace, groups: list[Any]) -> tuple[Any, Any]:
    """The groups' score matrices, normalised as asked, and the optimality gap's target."""
    from agentreel.analysis.aggregate import normalize_scores
    from agentreel.report.run_groups import ScoreData, score_matrices

    data = score_matrices(groups, unit=args.unit)
    norms = _parse_norms(getattr(args, "norm", None))
    unknown = sorted(set(norms) - set(data.tasks))
    if unknown:
        raise ValueError(f"--norm names task(s) {', '.join(unknown)} that no run has "
                         f"(tasks: {', '.join(data.tasks)})")
    scores = data.scores
    notes = list(data.notes)
    if norms:
        low = [norms.get(t, (0.0, 1.0))[0] for t in data.tasks]
        high = [norms.get(t, (0.0, 1.0))[1] for t in data.tasks]
        scores = {k: normalize_scores(v, low, high) for k, v in scores.items()}
        notes.append("normalised: " + ", ".join(f"{t} {lo:g}..{hi:g}" for t, (lo, hi)
                                               in sorted(norms.items())))
    gamma: Any = getattr(args, "gamma", None)
    if gamma is None and norms:
        gamma = 1.0
    elif gamma is None:  # raw returns: the gap is measured against each task's best score seen
        gamma = np.max([v.max(axis=0) for v in scores.values()], axis=0)
        if len(data.tasks) > 1:
            notes.append("raw returns of tasks with different scales are pooled in the 'all "
                         "tasks' rows; pass --norm TASK=LOW:HIGH for a meaningful aggregate")
    return ScoreData(scores, data.tasks, data.unit, notes), gamma


def comparison_of(args: argparse.Namespace, groups: list[Any]) -> Any:
    """:func:`~agentreel.analysis.comparison.compare_scores` of the groups, as the options say."""
    from agentreel.analysis.comparison import compare_scores

    data, gamma = scored(args, groups)
    return compare_scores(data.scores, data.tasks, gamma=gamma, confidence=args.confidence,
                          n_resamples=args.resamples, seed=args.seed, notes=data.notes), data


def cmd_compare(args: argparse.Namespace) -> int:
    """``agentreel compare``."""
    from agentreel.report.compare_tables import latex_table, markdown_table, text_report

    if args.count < 1:
        raise ValueError(f"--count must be >= 1, got {args.count}")
    groups = groups_from_args(args)
    comparison, data = comparison_of(args, groups)
    unit_word = "runs" if data.unit == "run" else "episodes"
    videos = write_pair_videos(groups[0], groups[1], args.video, args.pairs, args.count) \
        if args.video else []
    if args.json:
        out = comparison.to_dict()
        out["unit"] = data.unit
        out["videos"] = videos
        print(json.dumps(out, indent=2))
        return 0
    if args.markdown:
        print(markdown_table(comparison, unit_word))
    elif args.latex:
        print(latex_table(comparison, unit_word))
    else:
        print(text_report(comparison, unit_word))
    for video in videos:
        print(f"wrote {video['path']}: {video['task']} {video['key']}, {video['a']} vs {video['b']}, "
              f"{video['frames']} frames")
    return 0


def write_pair_videos(a: Any, b: Any, out: str | Path, mode: str, count: int) -> list[dict[str, Any]]:
    """Side-by-side videos of up to ``count`` same-seed pairs; descriptions of what was written."""
    from agentreel.report.run_groups import episode_pairs
    from agentreel.report.sidebyside import make_side_by_side

    out = Path(out)
    pairs = episode_pairs(a, b, mode, count)
    written = []
    for i, pair in enumerate(pairs):
        path = out if i == 0 else out.with_name(f"{out.stem}-{i + 1}{out.suffix}")
        saved = make_side_by_side(pair.a, pair.b, path, name_a=_half_name(a.label, pair.a_run),
                                  name_b=_half_name(b.label, pair.b_run),
                                  tags={"task": pair.task, "pair": pair.key})
        written.append({"path": str(path), "task": pair.task, "key": pair.key,
                        "a": str(pair.a.path), "b": str(pair.b.path), "frames": saved.frames,
                        "return_a": pair.a.display_return, "return_b": pair.b.display_return})
    return written


def _half_name(label: str, run: Any) -> str:
    folder = run.folder.resolve().name
    return folder if folder.startswith(label) else f"{label}: {folder}"


def cmd_plot_compare(args: argparse.Namespace) -> int:
    """``agentreel plot --profile`` / ``--iqm-curve``."""
    from agentreel.report.compare_plots import plot_iqm_curves, plot_profiles

    groups = groups_from_args(args)
    norms = _parse_norms(args.norm)
    if args.profile:
        from agentreel.analysis.intervals import performance_profiles

        args.gamma = 1.0
        data, _ = scored(args, groups)
        scores = data.scores
        xlabel = "normalised score"
        if not norms:  # put the tasks on one scale: each task's best score seen is 1
            best = np.max([np.abs(v).max(axis=0) for v in scores.values()], axis=0)
            scores = {k: v / np.where(best == 0, 1.0, best) for k, v in scores.items()}
            xlabel = "score / best score of its task"
        high = max(float(v.max()) for v in scores.values())
        low = min(float(v.min()) for v in scores.values())
        taus = np.linspace(min(low, 0.0), high, 101)
        profiles = performance_profiles(scores, taus, n_resamples=2000, seed=0)
        plot_profiles(profiles, args.out, title=args.title, xlabel=xlabel)
    else:
        from agentreel.report.run_groups import iqm_curves

        plot_iqm_curves(iqm_curves(groups, norms=norms), args.out, title=args.title)
    print(f"wrote {args.out}")
    return 0


def cmd_report_compare(args: argparse.Namespace) -> int:
    """``agentreel report A... --vs B...``: the report with a comparison section."""
    from agentreel.report import write_report
    from agentreel.report.comparison import comparison_section

    groups = groups_from_args(args)
    out = Path(args.out) if args.out else Path("report.html")
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report is an HTML page; use a path ending in .html, got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    section = comparison_section(groups, out)
    runs = [run for group in groups for run in group.runs]
    title = args.title or "agentreel: " + " vs ".join(g.label for g in groups)
    path = write_report(runs, out, title=title, extra_sections=[section])
    print(f"wrote {path} ({len(runs)} runs in {len(groups)} groups, with a comparison); "
          f"open it in a browser: {path.resolve().as_uri()}")
    return 0
