"""Tell a statistics wrapper which video an episode got, so its log names it.

A statistics wrapper (single or vector) that writes a log looks down its wrapper
stack for an agentreel ``RecordVideo`` and listens to that wrapper's
``on_episode_end`` hook. The inner wrapper ends an episode (and knows its video's
final path) during the same ``step()`` in which the statistics wrapper emits
the episode's record, so the newest note per sub-env is the episode at hand.

In the log the video is named by its file name when it lies in the log's folder
(the run-folder contract of ``agentreel record``), else by its absolute path.

Example:
    >>> import tempfile, gymnasium as gym
    >>> from agentreel import RecordEpisodeStatistics, RecordVideo
    >>> folder = tempfile.mkdtemp()
    >>> env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), folder,
    ...                   episode_trigger=lambda i: i == 0)
    >>> env = RecordEpisodeStatistics(env, log=folder)
    >>> for seed in (0, 1):
    ...     _ = env.reset(seed=seed)
    ...     done = False
    ...     while not done:
    ...         *_, terminated, truncated, _ = env.step(env.action_space.sample())
    ...         done = terminated or truncated
    >>> env.close()
    >>> from agentreel import read_episodes
    >>> [r.video for r in read_episodes(folder)]
    ['rl-video-episode-0.mp4', None]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentreel.core.records import EpisodeRecord

__all__ = ["EpisodeVideos", "find_video_wrapper"]


def find_video_wrapper(env: Any) -> Any | None:
    """The nearest agentreel ``RecordVideo`` (single or vector) inside ``env``'s wrapper stack."""
    from agentreel.clips.video_wrapper import RecorderAttributes

    seen = 0
    while env is not None and seen < 100:
        if isinstance(env, RecorderAttributes):
            return env
        env = env.__dict__.get("env") if hasattr(env, "__dict__") else None
        seen += 1
    return None


def _log_folder(log: Any) -> Path | None:
    if not isinstance(log, (str, os.PathLike)):
        return None
    path = Path(log)
    folder = path if path.is_dir() or not path.suffix else path.parent
    return folder.resolve()


class EpisodeVideos:
    """The newest ended episode's video per sub-env, as the inner ``RecordVideo`` reported it."""

    def __init__(self, log: Any = None) -> None:
        self._folder = _log_folder(log)
        self._latest: dict[int | None, str | None] = {}

    @classmethod
    def attach(cls, env: Any, log: Any) -> EpisodeVideos | None:
        """Listen to the ``RecordVideo`` inside ``env``; ``None`` when there is none."""
        wrapper = find_video_wrapper(env)
        if wrapper is None:
            return None
        notes = cls(log)
        wrapper.add_hooks(on_episode_end=notes.note)
        return notes

    def note(self, record: EpisodeRecord) -> None:
        """The inner wrapper ended an episode (``record.video``: its video's path, or ``None``)."""
        self._latest[record.env_index] = record.video

    def pop(self, env_index: int | None = None) -> str | None:
        """The video of the episode of sub-env ``env_index`` that ended in this step."""
        path = self._latest.pop(env_index, None)
        if path is None:
            return None
        absolute = Path(path).resolve()
        if self._folder is not None and absolute.parent == self._folder:
            return absolute.name
        return str(absolute)
