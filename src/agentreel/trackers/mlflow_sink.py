"""MLflow: per-episode metrics and the video files as run artifacts.

``pip install "agentreel[mlflow]"``. Uses ``MlflowClient`` with an explicit run id,
so it works beside your own ``mlflow.log_*`` calls.

Example::

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    tracker = MlflowTracker(experiment="cartpole")        # starts a run, ends it on close
    env = RecordVideo(env, "videos", on_video_saved=tracker)
    env = RecordEpisodeStatistics(env, log=tracker)
    ...
    env.close(); tracker.close()
    # MlflowClient().list_artifacts(tracker.run_id, "videos")
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from agentreel.base.extras import require
from agentreel.core.records import EpisodeRecord, VideoSaved
from agentreel.trackers.base import Tracker

__all__ = ["MlflowTracker"]


class MlflowTracker(Tracker):
    """Log episodes as metrics and videos as artifacts of an MLflow run.

    Args:
        run_id: the run to log to; default the active run (``mlflow.active_run()``),
            else a new run that :meth:`close` ends.
        experiment: the experiment name for a new run (created if missing; default
            MLflow's default experiment).
        run_name: the name of a new run.
        artifact_path: the artifact folder of the videos (``{artifact_path}/env-{i}``
            for per-env videos).
        sidecars: also upload each video's JSON sidecar when there is one.
        prefix, step: as in :class:`~agentreel.trackers.base.Tracker`; metric names
            are ``{prefix}/return``, ``{prefix}/length``, ``{prefix}/duration``, ...
        tracking_uri: passed to ``MlflowClient`` (default: MLflow's current URI).
    """

    def __init__(self, run_id: str | None = None, *, experiment: str | None = None,
                 run_name: str | None = None, artifact_path: str = "videos",
                 sidecars: bool = True, prefix: str = "episode",
                 step: Callable[[EpisodeRecord], int] | None = None,
                 tracking_uri: str | None = None) -> None:
        mlflow = require("mlflow", "mlflow")
        self._entities = require("mlflow.entities", "mlflow")
        super().__init__(prefix=prefix, step=step)
        self.client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri)
        self.owns_run = False
        if run_id is None:
            active = mlflow.active_run()
            if active is not None:
                run_id = active.info.run_id
        if run_id is None:
            experiment_id = "0"
            if experiment is not None:
                found = self.client.get_experiment_by_name(experiment)
                experiment_id = (found.experiment_id if found is not None
                                 else self.client.create_experiment(experiment))
            run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
            self.owns_run = True
        self.run_id = run_id
        self.artifact_path = artifact_path
        self.sidecars = sidecars

    def log_scalars(self, scalars: dict[str, float], step: int, record: EpisodeRecord) -> None:
        stamp = int(record.end_time * 1000)
        metrics = [self._entities.Metric(key, value, stamp, step) for key, value in scalars.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def log_video(self, video: VideoSaved) -> None:
        folder = (self.artifact_path if video.env_index is None
                  else f"{self.artifact_path}/env-{video.env_index}")
        self.client.log_artifact(self.run_id, video.path, folder)
        side = os.path.splitext(video.path)[0] + ".json"
        if self.sidecars and os.path.exists(side):
            self.client.log_artifact(self.run_id, side, folder)

    def _close(self) -> None:
        if self.owns_run:
            self.client.set_terminated(self.run_id, end_time=int(time.time() * 1000))

    def __repr__(self) -> str:
        return f"MlflowTracker(run_id={self.run_id!r})"

    @property
    def run(self) -> Any:
        """The MLflow run (``MlflowClient.get_run``)."""
        return self.client.get_run(self.run_id)
