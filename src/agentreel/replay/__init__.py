"""Record every episode without rendering it; render the ones worth watching later.

* :class:`RecordReplay` (and ``agentreel.vector.RecordReplay``) log each episode's
  replay data to ``FOLDER/replay.ndjson`` (format: :mod:`agentreel.replay.log`);
* :func:`replay_frames` replays one logged episode, verifying every step;
* :func:`render_episodes` renders chosen episodes of a log into videos, in parallel;
* ``RecordVideo(..., replay=True)`` re-renders only the episodes its trigger or
  ``keep=`` rule selects, in a background process.
"""

from __future__ import annotations

from agentreel.replay.codec import NotReplayable
from agentreel.replay.log import LOG_NAME, LoggedEpisode, ReplayLog, read_replay
from agentreel.replay.player import ReplayDivergence, replay_frames
from agentreel.replay.recipe import RebuildError
from agentreel.replay.wrapper import RecordReplay

__all__ = ["LOG_NAME", "LoggedEpisode", "NotReplayable", "RebuildError", "RecordReplay",
           "ReplayDivergence", "ReplayLog", "read_replay", "replay_frames"]
