"""Multi-agent recording for PettingZoo envs (``pip install "agentreel[pettingzoo]"``).

Drop-ins for PettingZoo 1.27's ``pettingzoo.utils.wrappers.RecordVideo`` (AEC) and
``RecordVideoParallel`` on agentreel's video engine, and episode statistics per
agent and per team for both APIs::

    from agentreel.pettingzoo import RecordEpisodeStatistics, RecordVideo            # AEC
    from agentreel.pettingzoo import RecordEpisodeStatisticsParallel, RecordVideoParallel
"""

from __future__ import annotations

from agentreel.base.extras import require

require("pettingzoo", "pettingzoo")

from agentreel.pettingzoo.checks import WrongEnvError  # noqa: E402
from agentreel.pettingzoo.recording import RecordVideo, RecordVideoParallel  # noqa: E402
from agentreel.pettingzoo.statistics import (  # noqa: E402
    RecordEpisodeStatistics,
    RecordEpisodeStatisticsParallel,
)

__all__ = [
    "RecordEpisodeStatistics",
    "RecordEpisodeStatisticsParallel",
    "RecordVideo",
    "RecordVideoParallel",
    "WrongEnvError",
]
