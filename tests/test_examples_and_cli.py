"""The seed tutorial's scripts (examples/) and the ``agentreel`` command, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentreel import read_episodes
from videotools import decode

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_evaluation_example_writes_what_the_tutorial_promises(tmp_path):
    proc = run([sys.executable, str(ROOT / "examples" / "evaluate_every_episode.py")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "cartpole-agent"
    assert sorted(os.listdir(folder)) == [f"eval-episode-{i}.mp4" for i in range(4)]
    lengths = [int(line.split(":")[1].split()[0]) for line in proc.stdout.splitlines()
               if line.startswith("Episode ") and "steps" in line]
    assert len(lengths) == 4
    for i, length in enumerate(lengths):
        assert decode(folder / f"eval-episode-{i}.mp4").count == length + 1
    queue_line = next(line for line in proc.stdout.splitlines() if line.startswith("Episode lengths:"))
    assert queue_line == f"Episode lengths: {lengths}"


def test_training_example_records_every_250th_episode(tmp_path):
    proc = run([sys.executable, str(ROOT / "examples" / "train_with_periodic_recording.py")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "cartpole-training"
    assert sorted(os.listdir(folder)) == sorted(f"training-episode-{i}.mp4" for i in (0, 250, 500, 750))
    assert "Episode 999: reward=" in proc.stderr  # the tutorial's logging lines
    for name in os.listdir(folder):
        assert decode(folder / name).count >= 9


def test_cli_record_writes_videos_log_and_prints_a_summary(tmp_path):
    proc = run([sys.executable, "-m", "agentreel.cli", "record", "CartPole-v1", "--episodes", "3",
                "--out", "run", "--policy", "random", "--seed", "1", "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = read_episodes(tmp_path / "run")
    assert [r.index for r in records] == [0, 1, 2]
    returns = [r.episode_return for r in records]
    mean = sum(returns) / 3
    assert f"mean {mean:.2f}" in proc.stdout
    for record in records:
        video = decode(tmp_path / "run" / f"CartPole-v1-episode-{record.index}.mp4")
        assert video.count == record.length + 1
        side = json.loads((tmp_path / "run" / f"CartPole-v1-episode-{record.index}.json").read_text())
        assert side["tags"]["episode_return"] == record.episode_return

    proc = run([sys.executable, "-m", "agentreel.cli", "summary", "run", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["episodes"] == 3


def test_cli_default_run_uses_the_demo_agent(tmp_path):
    import gymnasium as gym

    from agentreel.app.policies import demo_policy
    from agentreel.app.run import play_episode

    proc = run([sys.executable, "-m", "agentreel.cli", "record", "CartPole-v1", "-n", "3", "-q",
                "--seed", "5"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "agentreel-runs" / "CartPole-v1-001"
    records = read_episodes(run_dir)
    agent, env = demo_policy("CartPole-v1"), gym.make("CartPole-v1")
    assert [r.length for r in records] == [play_episode(env, agent, 5 + i, index=i)
                                           for i in range(3)]
    for record in records:
        assert decode(run_dir / f"CartPole-v1-episode-{record.index}.mp4").count == record.length + 1


@pytest.mark.parametrize(("args", "message"), [
    (["record", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["record", "CartPole-v1", "--episodes", "0"], "--episodes"),
    (["record", "CartPole-v1", "--policy", "nosuchmodule:act"], "nosuchmodule"),
    (["summary", "empty"], "no episodes"),
])
def test_cli_errors_are_one_clear_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    proc = run([sys.executable, "-m", "agentreel.cli", *args], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_help_is_useful():
    proc = run([sys.executable, "-m", "agentreel.cli", "record", "--help"], ROOT)
    assert proc.returncode == 0
    for flag in ("--episodes", "--every", "--policy", "--out", "--seed"):
        assert flag in proc.stdout


def test_cli_output_has_no_sdl_noise_on_a_headless_machine(tmp_path):
    """pygame printed 'error: XDG_RUNTIME_DIR is invalid ...' into the command's output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "SDL_VIDEODRIVER")}
    proc = subprocess.run([sys.executable, "-m", "agentreel.cli", "record", "CartPole-v1", "-n", "1",
                           "--policy", "random", "-q", "--out", "run"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "XDG_RUNTIME_DIR" not in proc.stdout + proc.stderr
    assert "error" not in proc.stderr.lower()
