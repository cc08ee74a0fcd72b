"""``agentreel record`` as a newcomer runs it: own policy, failures, vector counts, seeds, the log.

Each test runs the command in a subprocess in a temporary folder and reads back what it left.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

from agentreel import RecordEpisodeStatistics, RecordVideo, read_episodes
from agentreel.report import Run
from videotools import decode


def agentreel(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command the way its console script does: the script's own folder, not the
    current one, is first on ``sys.path`` (unlike ``python -c`` or ``python -m``)."""
    launcher = cwd.parent / f"{cwd.name}-bin" / "agentreel"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text("import sys\nfrom agentreel.cli import main\n"
                        "if __name__ == '__main__':\n    sys.exit(main())\n")
    return subprocess.run([sys.executable, str(launcher), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


def one_line_error(proc: subprocess.CompletedProcess, *texts: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agentreel: error:"), proc.stderr
    for text in texts:
        assert text in lines[0], lines[0]
    return lines[0]


# -- item 3: your own policy from the current folder ---------------------------------------


def test_policy_module_in_the_current_folder_imports_like_python_m(tmp_path):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "agents.py").write_text(textwrap.dedent("""\
        CALLS = []

        def act(observation):
            CALLS.append(1)
            return 1  # always push right: the pole falls within a few steps
    """))
    proc = agentreel("record", "CartPole-v1", "-n", "2", "--policy", "mypkg.agents:act",
                     "--seed", "0", "-o", "run", "-q", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = read_episodes(tmp_path / "run")
    assert len(records) == 2 and all(r.length < 20 for r in records)


# -- item 4: a run that never started leaves nothing behind --------------------------------


def _write_failing_policy(folder: Path) -> None:
    (folder / "broken_policy.py").write_text(textwrap.dedent("""\
        def act(observation):
            raise RuntimeError("this policy is broken")
    """))


@pytest.mark.parametrize(("args", "message"), [
    (["NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["CartPole-v1", "--policy", "nosuchmodule:act"], "nosuchmodule"),
    (["CartPole-v1", "--policy", "broken_policy:act"], "this policy is broken"),
    (["CartPole-v1", "--policy", "nofile.zip"], "nofile.zip"),
])
def test_a_run_that_never_started_leaves_no_run_folder(tmp_path, args, message):
    _write_failing_policy(tmp_path)
    proc = agentreel("record", *args, "-q", cwd=tmp_path)
    one_line_error(proc, message)
    assert not (tmp_path / "agentreel-runs").exists(), list((tmp_path / "agentreel-runs").rglob("*"))
    # the next run gets the first number again
    proc = agentreel("record", "CartPole-v1", "-n", "1", "-q", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "agentreel-runs").iterdir()] == ["CartPole-v1-001"]


def test_a_failed_run_into_an_existing_folder_keeps_what_was_there(tmp_path):
    _write_failing_policy(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = agentreel("record", "CartPole-v1", "--policy", "broken_policy:act", "-o", "mine", "-q",
                     cwd=tmp_path)
    one_line_error(proc, "this policy is broken")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def test_a_vector_run_that_never_started_leaves_nothing(tmp_path):
    _write_failing_policy(tmp_path)
    proc = agentreel("record", "CartPole-v1", "--num-envs", "2", "--policy", "broken_policy:act",
                     "-q", cwd=tmp_path)
    one_line_error(proc, "this policy is broken")
    assert not (tmp_path / "agentreel-runs").exists()


def test_a_parallel_run_that_never_started_leaves_nothing(tmp_path):
    _write_failing_policy(tmp_path)
    proc = agentreel("record", "CartPole-v1", "--workers", "2", "-n", "4",
                     "--policy", "broken_policy:act", "-q", cwd=tmp_path)
    assert proc.returncode == 2 and "this policy is broken" in proc.stderr, proc.stderr
    assert not (tmp_path / "agentreel-runs").exists(), list((tmp_path / "agentreel-runs").rglob("*"))


# -- item 5: -n N means exactly N episodes with any number of envs ---------------------------


@pytest.mark.parametrize(("episodes", "num_envs", "every", "policy"), [
    (5, 4, 1000, "balance:act"),  # every episode lasts 200 steps: 4 end on the same step
    (5, 3, 2, "random"),
    (3, 4, 1, "random"),
])
def test_num_envs_runs_exactly_n_episodes(tmp_path, episodes, num_envs, every, policy):
    (tmp_path / "balance.py").write_text(
        "from agentreel.app.policies import batched, cartpole_controller\n"
        "act = batched(cartpole_controller)  # balances until the time limit\n")
    env_id = "CartPole-v0" if policy == "balance:act" else "CartPole-v1"  # v0: 200 steps
    proc = agentreel("record", env_id, "-n", str(episodes), "--num-envs", str(num_envs),
                     "--every", str(every), "--policy", policy, "--seed", "3", "-o", "vec", "-q",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "vec"
    records = read_episodes(folder)
    assert len(records) == episodes
    assert len(read_episodes(folder / "monitor.csv")) == episodes
    assert f"Recorded {episodes} episodes" in proc.stdout
    run = Run(folder)
    assert all(v.record is not None for v in run.videos)  # no video of an unlogged episode
    per_env: dict[int, int] = {}
    for record in records:
        per_env[record.env_index] = per_env.get(record.env_index, 0) + 1
    expected = sum(len(range(0, count, every)) for count in per_env.values())
    assert len(run.videos) == expected
    assert len(list(folder.glob("*.mp4"))) == expected
    for video in run.videos:
        assert decode(video.path).count == video.record.length + 1
    assert f"over {episodes} episodes" in proc.stdout


# -- item 6: a seed is drawn and printed in every mode ---------------------------------------


@pytest.mark.parametrize("extra", [[], ["--num-envs", "2"]])
def test_a_run_without_seed_prints_and_logs_a_drawn_seed_that_repeats_it(tmp_path, extra):
    proc = agentreel("record", "CartPole-v1", "-n", "3", "--policy", "random", "-o", "first",
                     "-q", "--no-report", *extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"seed (\d+)", proc.stdout)
    assert match, proc.stdout
    seed = int(match.group(1))
    first = read_episodes(tmp_path / "first")
    assert first[0].seed is not None
    if not extra:
        assert [r.seed for r in first] == [seed, seed + 1, seed + 2]
    again = agentreel("record", "CartPole-v1", "-n", "3", "--policy", "random", "-o", "again",
                      "-q", "--no-report", "--seed", str(seed), *extra, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"seed {seed}" in again.stdout
    repeated = read_episodes(tmp_path / "again")
    assert [(r.episode_return, r.length, r.env_index) for r in repeated] == \
        [(r.episode_return, r.length, r.env_index) for r in first]


# -- item 7: the log names each episode's video ----------------------------------------------


def test_cli_log_names_the_video_of_each_recorded_episode(tmp_path):
    proc = agentreel("record", "CartPole-v1", "-n", "4", "--every", "2", "--policy", "random",
                     "--seed", "0", "-o", "run", "-q", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert [row["video"] for row in rows] == [
        "CartPole-v1-episode-0.mp4", None, "CartPole-v1-episode-2.mp4", None]
    for row in rows:
        if row["video"]:
            assert decode(tmp_path / "run" / row["video"]).count == row["length"] + 1


def test_vector_cli_log_names_the_video_of_each_recorded_episode(tmp_path):
    proc = agentreel("record", "CartPole-v1", "-n", "5", "--num-envs", "2", "--policy", "random",
                     "--seed", "0", "-o", "run", "-q", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and all(row["video"] for row in rows)
    seen: dict[int, int] = {}
    for row in rows:
        k = seen.get(row["env_index"], 0)
        seen[row["env_index"]] = k + 1
        assert row["video"] == f"CartPole-v1-env-{row['env_index']}-episode-{k}.mp4"
        assert decode(tmp_path / "run" / row["video"]).count == row["length"] + 1


def test_wrappers_with_log_and_sidecar_name_the_video_in_the_log(tmp_path):
    folder = tmp_path / "run"
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(folder), name_prefix="eval", episode_trigger=lambda i: i != 1,
                      sidecar=True)
    env = RecordEpisodeStatistics(env, log=str(folder))
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            *_, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
    env.close()
    rows = [json.loads(line) for line in (folder / "episodes.jsonl").read_text().splitlines()]
    assert [row["video"] for row in rows] == ["eval-episode-0.mp4", None, "eval-episode-2.mp4"]
    assert [r.video for r in read_episodes(folder)] == [row["video"] for row in rows]
