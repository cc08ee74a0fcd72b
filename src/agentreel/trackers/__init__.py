"""Experiment trackers: TensorBoard, Weights & Biases and MLflow, without monkeypatching.

Each tracker is a sink (``write(record)``/``close()``) for per-episode scalars plus a
``VideoSaved`` hook for the videos; the packages are optional extras, imported only
when a tracker is made (a missing one raises an ``ImportError`` naming
``pip install "agentreel[tensorboard]"``, ``[wandb]`` or ``[mlflow]``).

:func:`attach` wires several into a wrapper stack at once::

    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), "videos")
    env = RecordEpisodeStatistics(env)
    trackers = agentreel.trackers.attach(env, tensorboard="runs/cartpole",
                                         wandb={"project": "cartpole"}, mlflow=True)
    ...                      # run episodes as usual
    env.close()              # completes the videos, logs them, then closes the trackers
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentreel.base.hooks import call_hook
from agentreel.log.sinks import CompositeSink
from agentreel.trackers.base import Tracker, episode_scalars
from agentreel.trackers.gif import GifClip, video_to_gif
from agentreel.trackers.mlflow_sink import MlflowTracker
from agentreel.trackers.tensorboard_sink import TensorBoardTracker
from agentreel.trackers.wandb_sink import WandbTracker

__all__ = [
    "GifClip",
    "MlflowTracker",
    "TensorBoardTracker",
    "Tracker",
    "Trackers",
    "WandbTracker",
    "attach",
    "episode_scalars",
    "video_to_gif",
]


class Trackers(CompositeSink):
    """The trackers :func:`attach` made: a composite sink with one attribute per kind.

    Attributes:
        tensorboard, wandb, mlflow: the tracker of that kind, or ``None``.
    """

    def __init__(self, trackers: Iterable[Tracker]) -> None:
        super().__init__(trackers)
        self.tensorboard = self._find(TensorBoardTracker)
        self.wandb = self._find(WandbTracker)
        self.mlflow = self._find(MlflowTracker)

    def _find(self, kind: type) -> Any:
        return next((t for t in self.sinks if isinstance(t, kind)), None)

    def on_video_saved(self, video: Any) -> None:
        """Hand a saved video to every tracker (each one's failure is reported, not raised)."""

        for tracker in self.sinks:
            hook = getattr(tracker, "on_video_saved", None)
            if hook is not None:
                call_hook("on_video_saved", hook, video, str(video.path))

    def flush(self) -> None:
        """Flush the trackers that can be flushed."""
        for tracker in self.sinks:
            flush = getattr(tracker, "flush", None)
            if callable(flush):
                flush()

    def __repr__(self) -> str:
        return f"Trackers({self.sinks!r})"


def _make(kind: str, value: Any) -> Tracker | None:
    if value is None or value is False:
        return None
    if isinstance(value, Tracker):
        return value
    if kind == "tensorboard":
        return TensorBoardTracker(value)
    if kind == "wandb":
        if value is True:
            return WandbTracker()
        if isinstance(value, dict):
            return WandbTracker(**value)
        return WandbTracker(run=value)
    if value is True:
        return MlflowTracker()
    if isinstance(value, dict):
        return MlflowTracker(**value)
    return MlflowTracker(run_id=str(value))


def _wrappers(env: Any) -> list[Any]:
    """The wrapper chain from ``env`` inwards: Gymnasium's ``.env``, SB3's ``VecEnvWrapper.venv``."""
    chain, seen = [], set()
    while env is not None and id(env) not in seen:
        seen.add(id(env))
        chain.append(env)
        inner = vars(env).get("venv") if hasattr(env, "__dict__") else None
        env = inner if inner is not None else getattr(env, "env", None)
    return chain


def _is_statistics(wrapper: Any) -> bool:
    """agentreel's statistics wrappers (and ``agentreel.sb3.VecMonitor``) take sinks."""
    return hasattr(type(wrapper), "add_sink") and hasattr(type(wrapper), "last_record")


def _is_video(wrapper: Any) -> bool:
    """agentreel's video wrappers (and ``agentreel.sb3.VecVideoRecorder``) take hooks."""
    return hasattr(type(wrapper), "add_hooks") and hasattr(type(wrapper), "saved_videos")


def attach(env: Any, *, tensorboard: Any = None, wandb: Any = None, mlflow: Any = None,
           others: Iterable[Tracker] = ()) -> Trackers:
    """Attach trackers to the ``RecordEpisodeStatistics`` and ``RecordVideo`` in ``env``'s stack.

    Walks the wrapper chain from ``env`` inwards (``env.env``, or ``venv`` for SB3's
    ``VecEnvWrapper``) and finds agentreel's statistics and video wrappers (single,
    vector, or :mod:`agentreel.sb3`'s ``VecMonitor`` and ``VecVideoRecorder``). Episodes go to the trackers as a
    sink, saved videos through ``add_hooks``; nothing is patched. The trackers are
    closed when the env is closed, after its last video is complete.

    Args:
        env: the outermost wrapper.
        tensorboard: a log directory, or a :class:`TensorBoardTracker`.
        wandb: ``True`` (the active run, else ``wandb.init()``), a dict of
            ``wandb.init`` arguments, a run, or a :class:`WandbTracker`.
        mlflow: ``True`` (the active run, else a new one), a run id, a dict of
            :class:`MlflowTracker` arguments, or an :class:`MlflowTracker`.
        others: any further :class:`Tracker` objects.

    Returns:
        A :class:`Trackers` (``.tensorboard``, ``.wandb``, ``.mlflow``).

    Raises:
        ValueError: no agentreel ``RecordEpisodeStatistics`` or ``RecordVideo`` in the stack.
    """
    chain = _wrappers(env)
    stats = next((w for w in chain if _is_statistics(w)), None)
    video = next((w for w in chain if _is_video(w)), None)
    if stats is None and video is None:
        raise ValueError(
            "attach() found no agentreel RecordEpisodeStatistics or RecordVideo in the wrapper "
            "stack; wrap the env with them first (from agentreel import ...)"
        )
    made = [t for t in (_make("tensorboard", tensorboard), _make("wandb", wandb),
                        _make("mlflow", mlflow)) if t is not None]
    trackers = Trackers([*made, *others])
    # Whichever of the two wrappers is outermost closes last: it closes the trackers.
    stats_outer = stats is not None and (video is None or chain.index(stats) < chain.index(video))
    if stats is not None:
        stats.add_sink(trackers, owned=stats_outer)
    if video is not None:
        video.add_hooks(on_video_saved=trackers.on_video_saved,
                        on_close=None if stats_outer else trackers.close)
    return trackers
