"""The crash-safe episode log: sinks that store :class:`EpisodeRecord` and a reader.

Every record is on disk when its episode ends. Two file formats:
Stable-Baselines3's ``monitor.csv`` (:class:`MonitorCsvSink`) and JSON Lines
(:class:`JsonlSink`); :func:`read_episodes` reads both back.
"""

from __future__ import annotations

from agentreel.log.emitter import EpisodeEmitter
from agentreel.log.jsonl import JsonlSink
from agentreel.log.logging_sink import LoggingSink
from agentreel.log.monitor_csv import MonitorCsvSink
from agentreel.log.reader import read_episodes
from agentreel.log.sinks import CompositeSink, Sink, as_sink, open_sinks

__all__ = [
    "CompositeSink",
    "EpisodeEmitter",
    "JsonlSink",
    "LoggingSink",
    "MonitorCsvSink",
    "Sink",
    "as_sink",
    "open_sinks",
    "read_episodes",
]
