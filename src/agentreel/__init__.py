"""agentreel: record reinforcement-learning agents.

Drop-in replacements for Gymnasium's recording wrappers::

    from agentreel import RecordEpisodeStatistics, RecordVideo
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo
"""

from __future__ import annotations

from agentreel.records import EpisodeRecord

__version__ = "0.1.0"

__all__ = ["EpisodeRecord", "__version__"]
