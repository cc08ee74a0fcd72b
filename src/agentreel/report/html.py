"""The HTML report: one self-contained page per set of runs.

The page holds everything but the videos: CSS and JavaScript are inline, the
learning curve is an embedded image (matplotlib's SVG when the ``plot`` extra
is installed, else a small SVG drawn by :mod:`agentreel.report.svg`). Videos
are referenced by paths *relative to the page*, so keep the page where it was
written relative to the run folders (or move them together). It opens from
disk: no server, no network, no CDN.

Sections: a summary table (one row per run, plus the aggregate across runs),
the learning curve, then per run a gallery of its videos (each captioned with
episode, return and length, and showing its last frame as a poster until played:
:mod:`agentreel.report.posters`) and a table of its episodes. Clicking a column
header (Episode, Return, Length, ...) sorts that run's table *and* gallery;
clicking again reverses the order. The summary table sorts the same way.

Example:
    >>> import os, tempfile
    >>> from agentreel.app.run import record_run
    >>> folder = record_run("CartPole-v1", episodes=2, out=tempfile.mkdtemp(),
    ...                     policy="random", seed=0, progress=False, report=False).out
    >>> page = write_report([folder], os.path.join(folder, "report.html"))
    >>> text = page.read_text()
    >>> text.count("<video "), 'src="CartPole-v1-episode-0.mp4"' in text
    (2, True)
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from agentreel.analysis import summarize_runs
from agentreel.analysis.summary import format_number
from agentreel.base.media_html import mime_type, relative_src
from agentreel.base.safe_files import write_atomically
from agentreel.core.records import VideoSaved
from agentreel.report.agents import agents_section, video_agent_returns
from agentreel.report.folder import RunFolder, load_run
from agentreel.report.gym_names import MISSING_LOG_HINT
from agentreel.report.posters import poster_data_uri

__all__ = ["render_report", "write_report", "relative_src", "learning_curve_html", "summary_rows"]

_CSS = """
:root { --fg:#1d2430; --muted:#5b6577; --line:#dfe3ea; --bg:#f6f7f9; --card:#fff; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--fg); background:var(--bg); }
header { padding:20px 28px 12px; background:#111827; color:#f3f4f6; }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; color:#9ca3af; font-size:13px; }
main { padding:8px 28px 40px; max-width:1400px; }
h2 { font-size:18px; margin:28px 0 10px; }
h3 { font-size:15px; margin:22px 0 8px; color:var(--muted); }
table { border-collapse:collapse; background:var(--card); border:1px solid var(--line);
        font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
thead th { background:#eef1f5; font-weight:600; }
th[data-sort-key] { cursor:pointer; user-select:none; }
th[data-sort-key] button { all:unset; cursor:pointer; }
th[data-sort-key]:hover { background:#e2e7ef; }
th[aria-sort=ascending]::after { content:" \\25B2"; font-size:10px; }
th[aria-sort=descending]::after { content:" \\25BC"; font-size:10px; }
tfoot td { font-weight:600; background:#f9fafb; }
.note { color:var(--muted); font-size:13px; margin:6px 0 0; }
.chart-box { background:var(--card); border:1px solid var(--line); padding:8px; display:inline-block;
             max-width:100%; }
.chart-box img, .chart-box svg { max-width:100%; height:auto; display:block; }
.toolbar { margin:4px 0 10px; font-size:13px; color:var(--muted); }
.toolbar button { font:inherit; margin-left:4px; padding:3px 10px; border:1px solid var(--line);
                  border-radius:4px; background:var(--card); cursor:pointer; }
.toolbar button[aria-pressed=true] { border-color:var(--accent); color:var(--accent); }
.gallery { display:grid; grid-template-columns:repeat(auto-fill, minmax(260px, 1fr)); gap:14px; }
.clip { margin:0; background:var(--card); border:1px solid var(--line); border-radius:6px;
        overflow:hidden; }
.clip video, .clip img { width:100%; height:auto; display:block; background:#000; }
.clip figcaption { padding:6px 10px; font-size:13px; }
.clip figcaption b { font-variant-numeric:tabular-nums; }
.empty { color:var(--muted); font-style:italic; }
a { color:var(--accent); }
"""

_JS = """
(function () {
  "use strict";
  function value(el, key) {
    var v = parseFloat(el.getAttribute("data-" + key));
    return isNaN(v) ? null : v;
  }
  function compare(a, b, key, mul) {
    var x = value(a, key), y = value(b, key);
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return mul * (x - y);
  }
  function sortScope(scope, key, dir) {
    var mul = dir === "ascending" ? 1 : -1;
    var boxes = scope.querySelectorAll("[data-sortable]");
    Array.prototype.forEach.call(boxes, function (box) {
      var items = Array.prototype.slice.call(box.children);
      items.sort(function (a, b) {
        return compare(a, b, key, mul) || compare(a, b, "order", 1);
      });
      items.forEach(function (el) { box.appendChild(el); });
    });
    var controls = scope.querySelectorAll("[data-sort-key]");
    Array.prototype.forEach.call(controls, function (ctl) {
      var on = ctl.getAttribute("data-sort-key") === key;
      if (ctl.tagName === "TH") {
        if (on) { ctl.setAttribute("aria-sort", dir); } else { ctl.removeAttribute("aria-sort"); }
      } else {
        ctl.setAttribute("aria-pressed", on ? "true" : "false");
      }
    });
    scope.setAttribute("data-sorted-by", key);
    scope.setAttribute("data-sorted-dir", dir);
  }
  document.addEventListener("click", function (event) {
    var ctl = event.target.closest ? event.target.closest("[data-sort-key]") : null;
    if (!ctl) return;
    var scope = ctl.closest("[data-sort-scope]");
    if (!scope) return;
    var key = ctl.getAttribute("data-sort-key");
    var same = scope.getAttribute("data-sorted-by") === key;
    var dir = same && scope.getAttribute("data-sorted-dir") === "descending" ? "ascending" : "descending";
    sortScope(scope, key, dir);
  });
})();
"""


def _attr(value: Any) -> str:
    return escape(str(value), quote=True)


def summary_rows(runs: Sequence[RunFolder], *, seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Per-run summary dictionaries and, for several runs, the aggregate (or ``None``).

    Each row is ``{"run", "path", **Summary.to_dict()}``; the aggregate is
    :func:`agentreel.analysis.summarize_runs`'s ``to_dict()`` (stratified
    bootstrap; hierarchical when every run has a single episode).
    """
    rows = []
    for run in runs:
        row: dict[str, Any] = {"run": run.name, "path": str(run.source)}
        row.update(run.require_records().summary(seed=seed).to_dict())
        rows.append(row)
    if len(runs) < 2:
        return rows, None
    scores = [run.returns() for run in runs]
    method = "hierarchical" if max(len(s) for s in scores) == 1 else "stratified"
    aggregate = summarize_runs(scores, method=method, seed=seed, warn_layout=False).to_dict()
    return rows, aggregate


def learning_curve_html(runs: Sequence[RunFolder], *, engine: str = "auto", metric: str = "return") -> str:
    """The learning-curve figure as HTML: an embedded matplotlib SVG, or the fallback SVG.

    Args:
        engine: ``"auto"`` (matplotlib when installed), ``"matplotlib"`` or ``"svg"``.
    """
    labels = [run.name for run in runs]
    records = [run.records for run in runs]
    if engine not in ("auto", "matplotlib", "svg"):
        raise ValueError(f"plot engine must be auto, matplotlib or svg, got {engine!r}")
    if engine in ("auto", "matplotlib"):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            if engine == "matplotlib":
                raise
        else:
            return _matplotlib_img(records, labels, metric)
    from agentreel.report.svg import svg_learning_curve

    return svg_learning_curve(records, labels=labels, metric=metric)


def _matplotlib_img(records: list, labels: list[str], metric: str) -> str:
    import matplotlib

    from agentreel.report.plots import plot_learning_curve

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "agentreel"}):
        fig = plot_learning_curve(records if len(records) > 1 else records[0],
                                  labels=labels, metric=metric)
        from matplotlib.ticker import MaxNLocator

        for ax in fig.axes:  # episode numbers are whole numbers
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return (f'<img class="chart" alt="learning curve: episode {metric} per episode" '
            f'src="data:image/svg+xml;base64,{data}">')


def _video_element(video: VideoSaved, page_dir: Path) -> str:
    src = relative_src(video.path, page_dir)
    size = f'width="{video.width}" height="{video.height}"' if video.width and video.height else ""
    if video.format == "gif":
        return f'<img src="{_attr(src)}" {size} loading="lazy" alt="{_attr(video.caption)}">'
    mime = mime_type(video.format)
    poster = poster_data_uri(video.path)  # the last frame: cards are not black until played
    poster_attr = f' poster="{poster}"' if poster else ""
    return (f'<video controls muted preload="metadata" playsinline {size} src="{_attr(src)}"'
            f'{poster_attr} data-frames="{video.frames}" data-fps="{video.fps:g}" type="{mime}"></video>')


def _data_attrs(order: int, episode: int | None, ret: float | None, length: int | None,
                duration: float | None = None) -> str:
    parts = [f'data-order="{order}"']
    for key, val in (("episode", episode), ("return", ret), ("length", length), ("duration", duration)):
        if val is not None:
            parts.append(f'data-{key}="{val!r}"' if isinstance(val, float) else f'data-{key}="{val}"')
    return " ".join(parts)


def _sort_th(label: str, key: str, *, active: bool = False, title: str = "") -> str:
    sort = ' aria-sort="ascending"' if active else ""
    tip = f' title="{_attr(title)}"' if title else ""
    return (f'<th data-sort-key="{key}"{sort}{tip}><button type="button">{escape(label)}</button></th>')


def _summary_section(runs: Sequence[RunFolder], seed: int) -> str:
    rows, aggregate = summary_rows(runs, seed=seed)
    pct = f"{100 * rows[0]['confidence']:g}%"
    head = "".join([
        "<th>Run</th>",
        _sort_th("Episodes", "count"), _sort_th("Mean return", "mean"), _sort_th("Std", "std"),
        _sort_th("Median", "median"), _sort_th("IQM", "iqm", title="interquartile mean"),
        _sort_th("Min", "min"), _sort_th("Max", "max"), _sort_th("Success", "success"),
        f"<th>{pct} CI of mean</th>", _sort_th("Mean length", "mean_length"),
    ])
    body = []
    for i, (run, row) in enumerate(zip(runs, rows, strict=True)):
        success = row["success_rate"]
        attrs = " ".join(
            [f'data-order="{i}"'] + [f'data-{k}="{row[k]!r}"' for k in
                                     ("count", "mean", "std", "median", "iqm", "min", "max")]
            + ([f'data-success="{success!r}"'] if success is not None else [])
            + ([f'data-mean_length="{row["mean_length"]!r}"'] if row["mean_length"] is not None else [])
        )
        lo, hi = row["mean_ci"]
        body.append(
            f"<tr {attrs}><td><a href=\"#run-{i}\">{escape(run.name)}</a></td>"
            f"<td>{row['count']}</td><td>{format_number(row['mean'])}</td><td>{format_number(row['std'])}</td>"
            f"<td>{format_number(row['median'])}</td><td>{format_number(row['iqm'])}</td><td>{format_number(row['min'])}</td>"
            f"<td>{format_number(row['max'])}</td>"
            f"<td>{'n/a' if success is None else f'{100 * success:.1f}%'}</td>"
            f"<td>[{format_number(lo)}, {format_number(hi)}]</td><td>{format_number(row['mean_length'], 1)}</td></tr>"
        )
    foot = ""
    if aggregate is not None:
        lo, hi = aggregate["mean_ci"]
        total = sum(aggregate["episodes_per_run"])
        foot = (
            f"<tfoot><tr><td>all {aggregate['n_runs']} runs (mean of run means)</td><td>{total}</td>"
            f"<td>{format_number(aggregate['mean'])}</td><td>{format_number(aggregate['std_of_means'])}</td><td></td>"
            f"<td>{format_number(aggregate['iqm'])}</td><td></td><td></td><td></td>"
            f"<td>[{format_number(lo)}, {format_number(hi)}]</td><td></td></tr></tfoot>"
        )
    note = (f"Episode returns. Std is the population standard deviation; IQM the interquartile "
            f"mean; CI the {pct} percentile-bootstrap interval of the mean "
            f"({rows[0]['n_resamples']:,} resamples, seeded).")
    if aggregate is not None:
        note += (f" The last line weighs every run equally; its Std column is the std of the run "
                 f"means and its interval a {aggregate['method']} bootstrap.")
    return (
        '<section id="summary" data-sort-scope="summary"><h2>Summary</h2>'
        f'<table class="summary"><thead><tr>{head}</tr></thead>'
        f'<tbody data-sortable>{"".join(body)}</tbody>{foot}</table>'
        f'<p class="note">{escape(note)}</p></section>'
    )


def _run_section(i: int, run: RunFolder, page_dir: Path, max_rows: int) -> str:
    videos = run.videos
    vector = any(r.env_index is not None for r in run.records)
    cards = []
    for j, video in enumerate(videos):
        ret, length = video.display_return, video.display_length
        attrs = _data_attrs(j, video.episode, ret, length)
        caption = [f"<b>Episode {video.episode}</b>" if video.episode is not None
                   else f"<b>{escape(video.name)}</b>"]
        if video.env_index is not None:
            caption.append(f"env {video.env_index}")
        if not video.whole_episode and video.step_id is not None and video.step_id >= 0:
            caption.append(f"clip from step {video.step_id}")
        caption.append(f"return <b>{format_number(ret, 1)}</b>" if ret is not None else "return n/a")
        caption.append(f"length <b>{length}</b>" if length is not None else "length n/a")
        agents = video_agent_returns(video)
        if agents:
            caption.append(escape(agents))
        anchor = f"run-{i}-video-{j}"
        cards.append(
            f'<figure class="clip" id="{anchor}" {attrs}>{_video_element(video, page_dir)}'
            f'<figcaption>{" · ".join(caption)}</figcaption></figure>'
        )
    video_of = {id(v.record): f"run-{i}-video-{j}" for j, v in enumerate(videos)
                if v.record is not None and v.whole_episode}
    extremes = _best_and_worst(run, video_of)
    rows = []
    shown = run.records[:max_rows]
    for j, rec in enumerate(shown):
        attrs = _data_attrs(j, rec.index, rec.episode_return, rec.length, rec.duration)
        outcome = "terminated" if rec.terminated else ("truncated" if rec.truncated else "")
        link = video_of.get(id(rec))
        cell = f'<a href="#{link}">watch</a>' if link else ""
        env = f"<td>{rec.env_index if rec.env_index is not None else ''}</td>" if vector else ""
        rows.append(
            f"<tr {attrs}><td>{rec.index}</td>{env}<td>{format_number(rec.episode_return)}</td>"
            f"<td>{rec.length}</td><td>{rec.duration:.3f}</td><td>{outcome}</td><td>{cell}</td></tr>"
        )
    head = (_sort_th("Episode", "episode", active=True) + ("<th>Env</th>" if vector else "")
            + _sort_th("Return", "return") + _sort_th("Length", "length")
            + _sort_th("Duration (s)", "duration") + "<th>Outcome</th><th>Video</th>")
    more = ""
    if len(run.records) > len(shown):
        more = (f'<p class="note">The table lists the first {len(shown):,} of '
                f"{len(run.records):,} episodes.</p>")
    gallery = (f'<div class="gallery" data-sortable>{"".join(cards)}</div>' if cards
               else '<p class="empty">No videos in this run folder.</p>')
    notes = "".join(f'<p class="note missing">{escape(note)}</p>' for note in run.notes)
    toolbar = ('<div class="toolbar">Sort videos by '
               '<button type="button" data-sort-key="episode" aria-pressed="true">episode</button>'
               '<button type="button" data-sort-key="return" aria-pressed="false">return</button>'
               '<button type="button" data-sort-key="length" aria-pressed="false">length</button>'
               "</div>") if len(cards) > 1 else ""
    return (
        f'<section class="run" id="run-{i}" data-sort-scope="run-{i}" data-sorted-by="episode" '
        f'data-sorted-dir="ascending">'
        f"<h2>{escape(run.name)}: {len(videos)} video{'s' if len(videos) != 1 else ''}, "
        f"{len(run.records)} episode{'s' if len(run.records) != 1 else ''}</h2>"
        f'<p class="note">{escape(str(run.folder.resolve()))}</p>{notes}{extremes}'
        f"{toolbar}{gallery}<h3>Episodes</h3>"
        f'<table class="episodes"><thead><tr>{head}</tr></thead>'
        f'<tbody data-sortable>{"".join(rows)}</tbody></table>{more}</section>'
    )


def _best_and_worst(run: RunFolder, video_of: dict[int, str]) -> str:
    """One line naming the run's best and worst episodes, linked to their videos."""
    if len({r.episode_return for r in run.records}) < 2:
        return ""

    def name(record: Any) -> str:
        link = video_of.get(id(record))
        text = f"episode {record.index}"
        text = f'<a href="#{link}">{text}</a>' if link else text
        return f"{text} (return {format_number(record.episode_return, 1)})"

    best = max(run.records, key=lambda r: r.episode_return)
    worst = min(run.records, key=lambda r: r.episode_return)
    return f'<p class="extremes">Best: {name(best)} · worst: {name(worst)}</p>'


def render_report(
    runs: Sequence[RunFolder | str | os.PathLike[str]],
    *,
    page_dir: str | os.PathLike[str] = ".",
    title: str | None = None,
    plot: str = "auto",
    seed: int = 0,
    max_rows: int = 5000,
    extra_sections: Sequence[str] = (),
) -> str:
    """The report page as a string; video paths are made relative to ``page_dir``.

    Args:
        runs: run folders (or :class:`Run` objects).
        page_dir: the folder the page will be saved in.
        title: the page's title (default: the run names).
        plot: ``"auto"``, ``"matplotlib"`` or ``"svg"`` (see :func:`learning_curve_html`).
        seed: seed of the bootstrap intervals (the same page for the same runs).
        max_rows: at most this many rows in each run's episode table.
        extra_sections: HTML sections placed after the summary (e.g. the comparison,
            :func:`agentreel.report.comparison.comparison_section`).
    """
    loaded = [load_run(r) for r in runs]
    if not loaded:
        raise ValueError("no runs given: pass at least one run folder")
    page_dir = Path(page_dir)
    title = title or "agentreel report: " + ", ".join(r.name for r in loaded)
    from agentreel._version import __version__

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    episodes = sum(len(r.records) for r in loaded)
    videos = sum(len(r.videos) for r in loaded)
    logged = [r for r in loaded if r.records]  # a folder of videos only has no returns
    if logged:
        curve = learning_curve_html(logged, engine=plot)
        overview = (f"{_summary_section(logged, seed)}"
                    f"{agents_section(logged, seed=seed, plot=plot)}{''.join(extra_sections)}"
                    f'<section id="curve"><h2>Learning curve</h2>'
                    f'<div class="chart-box">{curve}</div></section>')
    else:
        overview = ('<section id="summary"><h2>Summary</h2><p class="empty">No episode log, so '
                    f"no returns to summarise or plot: {escape(MISSING_LOG_HINT)} (log=).</p></section>"
                    + "".join(extra_sections))
    sections = "".join(_run_section(i, run, page_dir, max_rows) for i, run in enumerate(loaded))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{len(loaded)} run{'s' if len(loaded) != 1 else ''}, "
        f"{episodes} episodes, {videos} videos · generated {stamp} by agentreel {__version__}</p></header>"
        f"<main>{overview}{sections}</main><script>{_JS}</script></body></html>\n"
    )


def write_report(
    runs: Sequence[RunFolder | str | os.PathLike[str]],
    path: str | os.PathLike[str] = "report.html",
    **kwargs: Any,
) -> Path:
    """Write :func:`render_report` to ``path`` atomically and return the path.

    Keyword arguments go to :func:`render_report` (``title``, ``plot``, ``seed``,
    ``max_rows``). The folder is created if missing.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report is an HTML page; use a path ending in .html, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(runs, page_dir=path.parent, **kwargs)
    # A new file that respects the umask (mkstemp's are 0600), renamed into place.
    write_atomically(path, lambda handle: handle.write(page.encode("utf-8")))
    return path
