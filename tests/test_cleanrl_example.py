"""examples/cleanrl_ppo.py: a CleanRL-style PPO whose only change is agentreel's import.

It trains for a few thousand steps; the videos of env 0 follow Gymnasium's schedule and
names and decode completely, and the episodes it logs to TensorBoard are every episode
its ``RecordEpisodeStatistics`` reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from videotools import decode  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_cleanrl_ppo_example_records_and_logs(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "cleanrl_ppo.py"),
                           "--total-timesteps", "2048", "--update-epochs", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    (run_name,) = os.listdir(tmp_path / "videos")
    folder = tmp_path / "videos" / run_name
    names = sorted(f for f in os.listdir(folder) if not f.startswith("."))
    assert names == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4", "rl-video-episode-8.mp4"]
    for name in names:
        video = decode(folder / name)
        assert 9 <= video.count <= 501 and (video.width, video.height) == (600, 400)
    printed = [float(m) for m in re.findall(r"episodic_return=([\d.]+)", proc.stdout)]
    acc = EventAccumulator(str(tmp_path / "runs" / run_name), size_guidance={"scalars": 0})
    acc.Reload()
    logged = [e.value for e in acc.Scalars("charts/episodic_return")]
    assert len(printed) > 40 and logged == printed
    assert sum(e.value for e in acc.Scalars("charts/episodic_length")) <= 2048
