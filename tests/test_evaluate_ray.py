"""Parallel evaluation on a Ray cluster (``agentreel record --backend ray``), on a local instance.

One small Ray session for the whole module (Ray's start-up takes seconds).
Skipped when Ray is not installed (``pip install "agentreel[ray]"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from agentreel.evaluate import evaluate  # noqa: E402
from test_evaluate import EPISODES, SEED, check_run_folder, returns, run_eval  # noqa: E402

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    if ray.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    marker = tmp_path_factory.mktemp("ray-kill") / "killed"
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {"PYTHONPATH": path,
                                       "AGENTREEL_KILL_MARKER": str(marker)}})
    yield marker
    ray.shutdown()


@pytest.fixture(scope="module")
def local_returns(tmp_path_factory):
    return returns(run_eval(tmp_path_factory.mktemp("local") / "run", workers=2).records)


def test_ray_returns_equal_local_workers(ray_session, local_returns, tmp_path):
    result = run_eval(tmp_path / "run", backend="ray", workers=2, report=True)
    assert result.backend == "ray" and result.workers == 2
    records = check_run_folder(Path(result.out))
    assert returns(records) == local_returns
    assert ray.is_initialized()  # the session it found is left running for its owner
    assert result.report is not None and result.report.exists()


def test_ray_workers_default_to_the_cluster_cpus(ray_session, local_returns, tmp_path):
    result = evaluate("CartPole-v1", episodes=EPISODES, out=str(tmp_path / "run"),
                      backend="ray", policy="random", seed=SEED, progress=False, report=False)
    assert result.workers == 2
    assert returns(result.records) == local_returns


def test_ray_worker_killed_mid_run_is_rerun_once(ray_session, local_returns, tmp_path):
    result = run_eval(tmp_path / "run", backend="ray", workers=2,
                      policy="helpers.eval_policies:KillOnce")
    assert ray_session.exists()  # a Ray worker really was killed
    records = check_run_folder(Path(result.out))
    assert returns(records) == local_returns
    assert len(result.failures) == 1 and "WorkerCrashedError" in result.failures[0]
    assert result.reruns == 1


def test_ray_task_errors_are_raised_in_the_driver(ray_session, tmp_path):
    with pytest.raises(ValueError, match="cannot import"):
        run_eval(tmp_path / "run", backend="ray", workers=2, policy="no_such_module_xyz:act")
