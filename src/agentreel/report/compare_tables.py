"""A :class:`~agentreel.analysis.comparison.Comparison` as text, Markdown or LaTeX tables.

Only presentation: the numbers come from :func:`agentreel.analysis.comparison.compare_scores`.

Example:
    >>> import numpy as np
    >>> from agentreel.analysis.comparison import compare_scores
    >>> c = compare_scores({"A": np.array([[1.0], [2.0]]), "B": np.array([[3.0], [4.0]])},
    ...                    ["CartPole-v1"], n_resamples=200, seed=0)
    >>> print(markdown_table(c).splitlines()[0])
    | task | algorithm | runs | IQM [95% CI] | mean [95% CI] | optimality gap [95% CI] |
"""

from __future__ import annotations

from agentreel.analysis.comparison import TABLE_METRICS, Comparison, MetricRow
from agentreel.analysis.intervals import Estimate
from agentreel.analysis.summary import format_number

__all__ = ["latex_table", "markdown_table", "table_rows", "text_report"]

_TITLES = {"iqm": "IQM", "mean": "mean", "optimality_gap": "optimality gap"}
ALL_TASKS = "all tasks"


def _cell(est: Estimate) -> str:
    return f"{format_number(est.point)} [{format_number(est.low)}, {format_number(est.high)}]"


def headers(comparison: Comparison, unit_word: str = "runs") -> list[str]:
    """The column titles."""
    pct = f"{100 * comparison.confidence:g}%"
    return ["task", "algorithm", unit_word, *(f"{_TITLES[m]} [{pct} CI]" for m in TABLE_METRICS)]


def table_rows(comparison: Comparison) -> list[list[str]]:
    """Cells of the table: per task (task name on its first row only), then all tasks."""
    rows = []
    groups: list[tuple[str, list[MetricRow]]] = [
        (task, [r for r in comparison.per_task if r.task == task]) for task in comparison.tasks]
    if len(comparison.tasks) > 1:
        groups.append((ALL_TASKS, comparison.aggregate))
    for task, metric_rows in groups:
        for i, row in enumerate(metric_rows):
            rows.append([task if i == 0 else "", row.algorithm, str(row.n_runs),
                         *(_cell(row.metrics[m]) for m in TABLE_METRICS)])
    return rows


def _versus_lines(comparison: Comparison) -> list[str]:
    lines = []
    for v in comparison.versus:
        p, d = v.improvement, v.iqm_difference
        lines.append(f"P({v.b} > {v.a}) = {p.point:.2f} [{p.low:.2f}, {p.high:.2f}]; "
                     f"IQM({v.b}) - IQM({v.a}) = {format_number(d.point)} "
                     f"[{format_number(d.low)}, {format_number(d.high)}]")
        lines.append(v.sentence)
    return lines


def text_report(comparison: Comparison, unit_word: str = "runs") -> str:
    """The plain-text table, the P(improvement) lines, the sentence and the notes."""
    head = headers(comparison, unit_word)
    rows = table_rows(comparison)
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(head)]
    for row in rows:
        if row[0] == ALL_TASKS:
            out.append("-" * len(line(head)))
        out.append(line(row))
    out.append("")
    out += _versus_lines(comparison)
    if isinstance(comparison.gamma, list):
        target = "each task's best score seen (" + ", ".join(
            f"{t} {format_number(g)}" for t, g in zip(comparison.tasks, comparison.gamma,
                                                      strict=True)) + ")"
    else:
        target = f"{comparison.gamma:g}"
    out.append(f"CI: {100 * comparison.confidence:g}% stratified percentile bootstrap "
               f"({comparison.n_resamples:,} resamples, seed {comparison.seed}); IQM: "
               f"interquartile mean; optimality gap: how far the scores fall short of "
               f"{target}, lower is better")
    out += comparison.notes
    return "\n".join(out)


def markdown_table(comparison: Comparison, unit_word: str = "runs") -> str:
    """A Markdown (GitHub) table plus the P(improvement) lines."""
    head = headers(comparison, unit_word)
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(
        " --- " if i < 2 else " ---: " for i in range(len(head))) + "|"]
    for row in table_rows(comparison):
        cells = [f"**{c}**" if row[0] == ALL_TASKS and c else c for c in row]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out += [f"{line}  " for line in _versus_lines(comparison)]
    return "\n".join(out)


def _tex(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    text = text.replace("\\", "\0")
    for char in "&%$#_{}":
        text = text.replace(char, "\\" + char)
    text = text.replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}")
    return text.replace("\0", r"\textbackslash{}")


def latex_table(comparison: Comparison, unit_word: str = "runs") -> str:
    """A LaTeX ``table`` (booktabs rules) ready to paste into a paper.

    >>> import numpy as np
    >>> from agentreel.analysis.comparison import compare_scores
    >>> c = compare_scores({"my_algo": np.ones((2, 1)), "B": np.ones((2, 1))}, ["T"],
    ...                    n_resamples=10, seed=0)
    >>> "my\\\\_algo" in latex_table(c), latex_table(c).count("\\\\midrule")
    (True, 1)
    """
    head = headers(comparison, unit_word)
    pct = f"{100 * comparison.confidence:g}\\%"
    out = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{llr" + "c" * len(TABLE_METRICS) + "}",
           r"\toprule", " & ".join(_tex(h).replace(f"{100 * comparison.confidence:g}\\%", pct)
                                   for h in head) + r" \\", r"\midrule"]
    for row in table_rows(comparison):
        if row[0] == ALL_TASKS:
            out.append(r"\addlinespace")
        out.append(" & ".join(_tex(c) for c in row) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    caption = "; ".join(
        f"$P(\\mathrm{{{_tex(v.b)}}} > \\mathrm{{{_tex(v.a)}}}) = {v.improvement.point:.2f}$ "
        f"[{v.improvement.low:.2f}, {v.improvement.high:.2f}]" for v in comparison.versus)
    out += [f"\\caption{{Scores with {pct} stratified bootstrap confidence intervals "
            f"({comparison.n_resamples} resamples). {caption}.}}", r"\end{table}"]
    return "\n".join(out)
