"""``agentreel.Run``: a run folder read back, with its report, timelapse and notebook view.

The reading is :class:`~agentreel.report.folder.RunFolder`'s (data only); this
class adds what is built from it, so that the report, the timelapse and the
notebook helpers depend on the reader and nothing depends on them.

Example::

    run = agentreel.Run("agentreel-runs/CartPole-v1-001")
    run.summary().mean, len(run.videos)
    run.report()     # FOLDER/report.html
    run              # in Jupyter: summary + videos
    run.videos[0]    # one video, inline
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentreel.report.folder import RunFolder

__all__ = ["Run"]


class Run(RunFolder):
    """A recorded run read back from its folder: records, videos and a summary.

    Built like :class:`~agentreel.report.folder.RunFolder` (same arguments and
    errors). In a notebook, a ``Run`` displays its summary table and its videos inline.
    """

    def report(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Path:
        """Write the HTML report of this run (default ``FOLDER/report.html``)."""
        from agentreel.report.html import write_report

        return write_report([self], path or self.folder / "report.html", **kwargs)

    def timelapse(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
        """Write the training timelapse (default ``FOLDER/timelapse.mp4``)."""
        from agentreel.report.timelapse import make_timelapse

        return make_timelapse(self, path or self.folder / "timelapse.mp4", **kwargs)

    def _repr_html_(self) -> str:
        from agentreel.report.notebook import run_html

        return run_html(self)
