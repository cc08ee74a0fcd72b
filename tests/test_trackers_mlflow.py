"""MLflow tracker with a local store: MlflowClient lists the per-episode metrics and the video artifacts."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("mlflow")
import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from agentreel import RecordEpisodeStatistics, RecordVideo, read_episodes  # noqa: E402
from agentreel.clips.keep import best  # noqa: E402
from agentreel.trackers import MlflowTracker, attach  # noqa: E402
from videotools import PatternEnv, decode  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite store for the module (creating its tables takes seconds)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("agentreel", artifact_location=(root / "artifacts").as_uri())
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)


def play(env, episodes: int) -> None:
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated


def test_metrics_and_video_artifacts_listed_by_mlflow_client(store, tmp_path):
    env = PatternEnv(length=4)
    env = RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda i: i != 1, sidecar=True)
    env = RecordEpisodeStatistics(env, log=str(tmp_path / "log.jsonl"))
    trackers = attach(env, mlflow={"experiment": "agentreel", "run_name": "eval"})
    tracker = trackers.mlflow
    assert isinstance(tracker, MlflowTracker) and tracker.owns_run
    play(env, 3)
    env.close()

    client = MlflowClient(tracking_uri=store)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "eval"
    assert set(run.data.metrics) == {"episode/return", "episode/length", "episode/duration"}
    log = read_episodes(tmp_path / "log.jsonl")
    history = client.get_metric_history(tracker.run_id, "episode/return")
    assert sorted((m.step, m.value) for m in history) == [(i, r.episode_return) for i, r in enumerate(log)]
    lengths = client.get_metric_history(tracker.run_id, "episode/length")
    assert sorted(m.value for m in lengths) == [4.0, 4.0, 4.0]

    listed = sorted(a.path for a in client.list_artifacts(tracker.run_id, "videos"))
    assert listed == ["videos/rl-video-episode-0.json", "videos/rl-video-episode-0.mp4",
                      "videos/rl-video-episode-2.json", "videos/rl-video-episode-2.mp4"]
    local = client.download_artifacts(tracker.run_id, "videos", str(tmp_path / "download"))
    assert decode(os.path.join(local, "rl-video-episode-2.mp4")).count == 5
    with open(os.path.join(local, "rl-video-episode-2.json")) as file:
        side = json.load(file)
    assert side["tags"]["episode_length"] == 4


def test_active_run_is_used_and_left_open_keep_rule_uploads_kept_videos(store, tmp_path):
    with mlflow.start_run(experiment_id=MlflowClient(store).get_experiment_by_name(
            "agentreel").experiment_id) as active:
        env = RecordVideo(PatternEnv(length=3), str(tmp_path), keep=best(1))
        env = RecordEpisodeStatistics(env)
        trackers = attach(env, mlflow=True)
        assert trackers.mlflow.run_id == active.info.run_id and not trackers.mlflow.owns_run
        play(env, 2)
        env.close()
        assert mlflow.active_run() is not None  # still the user's to end
    client = MlflowClient(store)
    assert [a.path for a in client.list_artifacts(active.info.run_id, "videos")] == [
        "videos/rl-video-episode-0.mp4"]  # episode 1 ties with 0: not better, never saved
    assert len(client.get_metric_history(active.info.run_id, "episode/length")) == 2
