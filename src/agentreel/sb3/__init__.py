"""Stable-Baselines3 adapters: record where people train (``pip install "agentreel[sb3]"``).

* :class:`VecVideoRecorder` -- SB3's ``VecVideoRecorder`` on agentreel's video engine
  (same arguments, file names and attributes; frames streamed, never held in memory;
  ``replay=True``: the training loop never renders, clips are re-rendered by replay);
* :class:`VecMonitor` -- SB3's ``VecMonitor`` (same ``info["episode"]`` and
  ``monitor.csv``) that also writes agentreel's ``episodes.jsonl`` with a unique episode
  ``index`` and the sub-env's ``env_index``;
* :class:`RecordEvalCallback` -- SB3's ``EvalCallback`` that also records a video of
  every evaluation episode, labelled with the training step.

Change one import::

    from agentreel.sb3 import VecMonitor, VecVideoRecorder   # was: stable_baselines3.common.vec_env

Importing this package without Stable-Baselines3 raises an ``ImportError`` naming
``pip install "agentreel[sb3]"``.
"""

from __future__ import annotations

from agentreel.base.extras import require

require("stable_baselines3", "sb3")

from agentreel.sb3.eval_callback import RecordEvalCallback  # noqa: E402
from agentreel.sb3.monitor import VecMonitor  # noqa: E402
from agentreel.sb3.video_recorder import VecVideoRecorder  # noqa: E402

__all__ = ["RecordEvalCallback", "VecMonitor", "VecVideoRecorder"]
