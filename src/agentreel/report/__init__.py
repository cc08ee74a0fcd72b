"""Recorded runs turned into an HTML report (and read back as :class:`Run` objects).

* :class:`Run` — a run folder read back: records, videos joined to their
  episodes (via the videos' JSON sidecars), a summary; displays inline in notebooks.
* :func:`write_report` — one self-contained HTML page for one or more runs.

Example::

    from agentreel.report import Run, write_report
    write_report([Run("agentreel-runs/CartPole-v1-001")], "report.html")
"""

from __future__ import annotations

from agentreel.report.folder import RunFolder, RunVideo, find_videos, join_videos, load_run
from agentreel.report.html import render_report, write_report
from agentreel.report.run import Run

__all__ = ["Run", "RunFolder", "RunVideo", "find_videos", "join_videos", "load_run",
           "render_report", "write_report"]
