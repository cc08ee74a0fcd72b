"""The report's comparison section: runs with labels compared like ``agentreel compare``.

``agentreel report A... --vs B...`` (or ``--label NAME RUN...``) adds, above the
per-run sections: the comparison table (per task and over all tasks: IQM, mean,
optimality gap with stratified-bootstrap intervals), P(B > A) and the IQM
difference with intervals, the one-line verdict, the performance profiles (when
matplotlib is installed) and side-by-side videos of the largest-gap seeds
(written next to the page as ``NAME-pair-K.mp4`` and linked relatively).

Only presentation: the numbers come from :mod:`agentreel.analysis.comparison`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from agentreel.analysis.comparison import Comparison, compare_scores
from agentreel.report.compare_tables import headers, table_rows
from agentreel.report.run_groups import Group, episode_pairs, score_matrices

__all__ = ["comparison_section"]


def _table(comparison: Comparison, unit_word: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(comparison, unit_word))
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in table_rows(comparison))
    return f'<table class="summary comparison"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _profile_img(scores: dict[str, np.ndarray], seed: int) -> str:
    try:
        import matplotlib
    except ImportError:
        return '<p class="note">Performance profiles need matplotlib (pip install "agentreel[plot]").</p>'
    from agentreel.analysis.intervals import performance_profiles
    from agentreel.report.compare_plots import plot_profiles

    best = np.max([np.abs(v).max(axis=0) for v in scores.values()], axis=0)
    scaled = {k: v / np.where(best == 0, 1.0, best) for k, v in scores.items()}
    low = min(0.0, min(float(v.min()) for v in scaled.values()))
    taus = np.linspace(low, max(float(v.max()) for v in scaled.values()), 101)
    profiles = performance_profiles(scaled, taus, n_resamples=2000, seed=seed)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "agentreel"}):
        fig = plot_profiles(profiles, xlabel="score / best score of its task")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return (f'<img class="chart" alt="performance profiles" '
            f'src="data:image/svg+xml;base64,{data}">')


def _videos(groups: Sequence[Group], page: Path, count: int) -> str:
    from agentreel.report.html import relative_src
    from agentreel.report.sidebyside import make_side_by_side

    try:
        pairs = episode_pairs(groups[0], groups[1], "largest-gap", count)
    except ValueError as exc:
        return f'<p class="note">No side-by-side videos: {escape(str(exc))}.</p>'
    cards = []
    for k, pair in enumerate(pairs, start=1):
        out = page.parent / f"{page.stem}-pair-{k}.mp4"
        saved = make_side_by_side(pair.a, pair.b, out, name_a=groups[0].label,
                                  name_b=groups[1].label, tags={"task": pair.task, "pair": pair.key})
        src = escape(relative_src(out, page.parent), quote=True)
        caption = (f"{escape(pair.task)}, {escape(pair.key)}: {escape(groups[0].label)} "
                   f"{pair.a.display_return or 0:.1f} vs {escape(groups[1].label)} "
                   f"{pair.b.display_return or 0:.1f} (gap {pair.gap:+.1f})")
        cards.append(f'<figure style="margin:0 0 1em 0"><video controls muted preload="metadata" '
                     f'playsinline width="{saved.width}" height="{saved.height}" '
                     f'style="max-width:100%;height:auto" src="{src}"></video>'
                     f"<figcaption>{caption}</figcaption></figure>")
    return f'<div class="pairs">{"".join(cards)}</div>'


def comparison_section(groups: Sequence[Group], page: str | Path, *, seed: int = 0,
                       n_resamples: int = 2000, videos: int = 2) -> str:
    """The comparison section's HTML; side-by-side videos are written next to ``page``."""
    page = Path(page)
    data = score_matrices(groups)
    best = np.max([v.max(axis=0) for v in data.scores.values()], axis=0)
    comparison = compare_scores(data.scores, data.tasks, gamma=best, n_resamples=n_resamples,
                                seed=seed, notes=data.notes)
    unit_word = "runs" if data.unit == "run" else "episodes"
    lines = "".join(f"<p><b>{escape(v.sentence)}</b></p>" for v in comparison.versus)
    notes = " ".join(comparison.notes)
    parts: list[Any] = [
        '<section id="comparison"><h2>Comparison</h2>', lines, _table(comparison, unit_word),
        f'<p class="note">{comparison.confidence * 100:g}% stratified percentile bootstrap '
        f"({comparison.n_resamples:,} resamples, seed {seed}). P(B &gt; A): the probability that "
        f"a run of B scores higher than a run of A on a task, averaged over tasks. Optimality "
        f"gap: how far scores fall short of each task's best score seen. {escape(notes)}</p>",
        "<h3>Performance profiles</h3>", f'<div class="chart-box">{_profile_img(data.scores, seed)}</div>',
        "<h3>Side by side: the seeds where they differ most</h3>", _videos(groups, page, videos),
        "</section>",
    ]
    return "".join(parts)
